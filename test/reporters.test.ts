// Reporters fed a scripted run (two plays, loop items, a failed host, an unreachable host, a diff,
// a handler, a warning, the recap), written to in-memory streams.
import test from 'ava';
import { Writable } from 'node:stream';
import { EVENT_SCHEMA_VERSION, type RunEvent } from '../src/core/types.js';
import { Redactor, MASK } from '../src/core/redact.js';
import { PlainReporter } from '../src/core/reporters/plain.js';
import { JsonReporter } from '../src/core/reporters/json.js';
import { ListrReporter } from '../src/core/reporters/listr.js';
import { createReporter } from '../src/core/reporters/index.js';
import { aggregateStatus, formatDuration } from '../src/core/reporters/format.js';

const SECRET = 's3cr3t-pw';
const P1 = 'Configure HA';
const P2 = 'Replicate';
const HOSTS = ['pbx-main', 'pbx-standby-long'];

function script(): RunEvent[] {
  return [
    { type: 'run_start', playbook: 'site.yml', check: false, diff: true, at: '2024-01-01T00:00:00.000Z' },
    { type: 'play_start', play: P1, hosts: HOSTS },
    { type: 'task_start', play: P1, task: 'write ha.conf', plugin: 'ha-config', hosts: HOSTS, handler: false },
    { type: 'progress', play: P1, task: 'write ha.conf', host: 'pbx-main', message: 'reading ha.conf' },
    { type: 'host_result', play: P1, task: 'write ha.conf', host: 'pbx-standby-long', status: 'ok', noop: 'ha.conf already says slave', durationMs: 40 },
    {
      type: 'host_result', play: P1, task: 'write ha.conf', host: 'pbx-main', status: 'changed',
      changes: ['write /etc/xivo/ha.conf'],
      diff: [{ label: '/etc/xivo/ha.conf', before: 'node_type=disabled\nremote=10.0.0.2\n', after: `node_type=master\nremote=10.0.0.2\npassword=${SECRET}\n` }],
      result: { changed: true, failed: false, token: SECRET },
      durationMs: 1520,
    },
    { type: 'task_start', play: P1, task: 'packages', plugin: 'apt', hosts: HOSTS, handler: false },
    { type: 'host_result', play: P1, task: 'packages', host: 'pbx-main', item: 'rsync', status: 'ok', durationMs: 5 },
    { type: 'host_result', play: P1, task: 'packages', host: 'pbx-main', item: 'pg-tools', status: 'changed', changes: ['install pg-tools'], durationMs: 5 },
    { type: 'host_result', play: P1, task: 'packages', host: 'pbx-standby-long', item: 'rsync', status: 'failed', msg: `apt said: bad password ${SECRET}`, durationMs: 5 },
    { type: 'host_result', play: P1, task: 'packages', host: 'pbx-main', status: 'changed', changes: ['install pg-tools'], durationMs: 12 },
    { type: 'host_result', play: P1, task: 'packages', host: 'pbx-standby-long', status: 'failed', msg: 'one item failed', durationMs: 12 },
    { type: 'warning', message: `old xivo, login ${SECRET}`, host: 'pbx-standby-long' },
    { type: 'task_start', play: P1, task: 'restart xivo', plugin: 'service', hosts: ['pbx-main'], handler: true },
    { type: 'host_result', play: P1, task: 'restart xivo', host: 'pbx-main', status: 'changed', changes: ['restart xivo'], durationMs: 3000 },
    { type: 'play_end', play: P1 },
    { type: 'play_start', play: P2, hosts: [...HOSTS, 'pbx-dr'] },
    { type: 'task_start', play: P2, task: 'pg replicate', plugin: 'pg-replicate', hosts: [...HOSTS, 'pbx-dr'], handler: false },
    { type: 'host_result', play: P2, task: 'pg replicate', host: 'pbx-dr', status: 'unreachable', msg: 'ssh: connect ECONNREFUSED 10.0.0.9:22', durationMs: 100 },
    { type: 'host_result', play: P2, task: 'pg replicate', host: 'pbx-standby-long', status: 'skipped', durationMs: 0 },
    { type: 'host_result', play: P2, task: 'pg replicate', host: 'pbx-main', status: 'ignored', msg: 'pg not running', durationMs: 30 },
    { type: 'play_end', play: P2 },
    {
      type: 'recap', durationMs: 1420, exitCode: 2,
      hosts: {
        'pbx-main': { ok: 3, changed: 3, failed: 0, skipped: 0, unreachable: 0, rescued: 0, ignored: 1 },
        'pbx-standby-long': { ok: 1, changed: 0, failed: 1, skipped: 1, unreachable: 0, rescued: 0, ignored: 0 },
        'pbx-dr': { ok: 12, changed: 0, failed: 0, skipped: 0, unreachable: 1, rescued: 0, ignored: 0 },
      },
    },
  ];
}

function sink(): { stream: Writable & NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream: stream as Writable & NodeJS.WriteStream, text: () => chunks.join('') };
}

function redactor(): Redactor {
  const r = new Redactor();
  r.add(SECRET);
  return r;
}

async function runPlain(opts: ConstructorParameters<typeof PlainReporter>[1] = {}, events = script()): Promise<string> {
  const out = sink();
  const rep = new PlainReporter(out.stream, { redactor: redactor(), ...opts });
  for (const e of events) rep.event(e);
  await rep.close();
  return out.text();
}

// ---------------------------------------------------------------------------------------------
// Redactor

test('Redactor masks every occurrence, longest secret first, and ignores very short values', (t) => {
  const r = new Redactor();
  r.add('ab');
  r.add('');
  r.add('pass');
  r.add('password1');
  t.is(r.size, 2);
  t.is(r.redact('ab password1 pass pass'), `ab ${MASK} ${MASK} ${MASK}`);
  t.is(r.redact('a.b*c'), 'a.b*c');
  r.add('a.b*c');
  t.is(r.redact('x a.b*c y'), `x ${MASK} y`, 'regexp characters in a secret are literal');
});

test('Redactor.redactDeep copies objects, masks nested strings and keys, cuts cycles', (t) => {
  const r = new Redactor();
  r.add('hunter2');
  const input: Record<string, unknown> = { a: 'x hunter2 y', list: ['hunter2', 3, null, true], hunter2: { deep: 'hunter2' }, buf: Buffer.from('hunter2') };
  input.self = input;
  const out = r.redactDeep(input) as Record<string, unknown>;
  t.deepEqual(out, { a: `x ${MASK} y`, list: [MASK, 3, null, true], [MASK]: { deep: MASK }, buf: MASK, self: '[Circular]' });
  t.is(input.a, 'x hunter2 y', 'the input is not modified');
  t.notThrows(() => JSON.stringify(new Redactor().redactDeep(input)), 'even without secrets the copy serialises');
});

// ---------------------------------------------------------------------------------------------
// PlainReporter

test('plain: ansible-like lines for plays, tasks, handlers, statuses, loop items and warnings', async (t) => {
  const text = await runPlain();
  const lines = text.split('\n');
  t.is(lines[0], 'PLAYBOOK [site.yml] (diff)');
  t.true(lines.some((l) => /^PLAY \[Configure HA\] \*{4,}$/.test(l)));
  t.true(lines.some((l) => /^PLAY \[Replicate\] \*{4,}$/.test(l)));
  for (const expected of [
    'TASK [write ha.conf]',
    'ok: [pbx-standby-long]',
    'changed: [pbx-main] => write /etc/xivo/ha.conf',
    'TASK [packages]',
    'ok: [pbx-main] (item=rsync)',
    'changed: [pbx-main] (item=pg-tools) => install pg-tools',
    `failed: [pbx-standby-long] (item=rsync) => apt said: bad password ${MASK}`,
    'failed: [pbx-standby-long] => one item failed',
    `[WARNING]: [pbx-standby-long] old xivo, login ${MASK}`,
    'RUNNING HANDLER [restart xivo]',
    'changed: [pbx-main] => restart xivo',
    'unreachable: [pbx-dr] => ssh: connect ECONNREFUSED 10.0.0.9:22',
    'skipped: [pbx-standby-long]',
    'ignored: [pbx-main] => pg not running',
  ]) {
    t.true(lines.includes(expected), `missing line: ${expected}\n${text}`);
  }
  t.false(text.includes('ha.conf already says slave'), 'noop reasons only with -v');
  t.false(text.includes('reading ha.conf'), 'progress of a fast task is not shown without -v');
  t.false(text.includes('\x1b['), 'no ANSI without color');
});

test('plain: the recap aligns host names and every column, with counts and run time', async (t) => {
  const text = await runPlain();
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith('PLAY RECAP'));
  t.true(at > 0);
  t.deepEqual(lines.slice(at + 1, at + 4), [
    'pbx-main         : ok=3  changed=3 failed=0 skipped=0 unreachable=0 rescued=0 ignored=1',
    'pbx-standby-long : ok=1  changed=0 failed=1 skipped=1 unreachable=0 rescued=0 ignored=0',
    'pbx-dr           : ok=12 changed=0 failed=0 skipped=0 unreachable=1 rescued=0 ignored=0',
  ]);
  t.true(lines.includes('ran in 1.42 s (exit code 2)'));
  t.is(text.endsWith('\n'), true);
});

test('plain: with diff, a unified diff sits under the result; without, none', async (t) => {
  const withDiff = await runPlain({ diff: true });
  const lines = withDiff.split('\n');
  const at = lines.indexOf('changed: [pbx-main] => write /etc/xivo/ha.conf');
  t.deepEqual(lines.slice(at + 1, at + 8), [
    '    --- before: /etc/xivo/ha.conf',
    '    +++ after: /etc/xivo/ha.conf',
    '    @@ -1,2 +1,3 @@',
    '    -node_type=disabled',
    '    +node_type=master',
    '     remote=10.0.0.2',
    `    +password=${MASK}`,
  ]);
  const without = await runPlain({ diff: false });
  t.false(without.includes('@@'));
});

test('plain: verbose shows noop reasons, durations and the registered result as indented JSON', async (t) => {
  const text = await runPlain({ verbose: true });
  t.true(text.includes('ok: [pbx-standby-long] => ha.conf already says slave (0.04 s)'));
  t.true(text.includes('changed: [pbx-main] => write /etc/xivo/ha.conf (1.52 s)'));
  t.true(text.includes(`    {\n      "changed": true,\n      "failed": false,\n      "token": "${MASK}"\n    }`));
  t.true(text.includes('  … [pbx-main] reading ha.conf'), 'with -v the first progress line shows at once');
});

test('plain: colour only when asked', async (t) => {
  const text = await runPlain({ color: true, diff: true });
  t.true(text.includes('\x1b[33mchanged: [pbx-main] => write /etc/xivo/ha.conf\x1b[0m'));
  t.true(text.includes('\x1b[31m-node_type=disabled\x1b[0m'));
});

test('plain: progress is throttled to one line per host every 5 s, and waits for a slow task without -v', async (t) => {
  let now = 0;
  const events: Array<[number, RunEvent]> = [
    [0, { type: 'task_start', play: 'p', task: 'wait', plugin: 'wait-for', hosts: ['a', 'b'], handler: false }],
    [1000, { type: 'progress', play: 'p', task: 'wait', host: 'a', message: 'waiting 1 s' }],
    [5000, { type: 'progress', play: 'p', task: 'wait', host: 'a', message: 'waiting 5 s' }],
    [6000, { type: 'progress', play: 'p', task: 'wait', host: 'a', message: 'waiting 6 s' }],
    [6500, { type: 'progress', play: 'p', task: 'wait', host: 'b', message: 'b waiting 6.5 s' }],
    [9000, { type: 'progress', play: 'p', task: 'wait', host: 'a', message: 'waiting 9 s' }],
    [10000, { type: 'progress', play: 'p', task: 'wait', host: 'a', message: 'waiting 10 s' }],
  ];
  const shown = async (verbose: boolean): Promise<string[]> => {
    const out = sink();
    const rep = new PlainReporter(out.stream, { verbose, now: () => now });
    for (const [at, e] of events) {
      now = at;
      rep.event(e);
    }
    await rep.close();
    return out.text().split('\n').filter((l) => l.startsWith('  …'));
  };
  t.deepEqual(await shown(false), ['  … [a] waiting 5 s', '  … [b] b waiting 6.5 s', '  … [a] waiting 10 s']);
  t.deepEqual(await shown(true), ['  … [a] waiting 1 s', '  … [a] waiting 6 s', '  … [b] b waiting 6.5 s']);
});

test('plain: a multi-line failure message is indented under the status line', async (t) => {
  const text = await runPlain({}, [
    { type: 'task_start', play: 'p', task: 'cmd', plugin: 'command', hosts: ['a'], handler: false },
    { type: 'host_result', play: 'p', task: 'cmd', host: 'a', status: 'failed', msg: 'exit 1\nstderr: nope', durationMs: 1 },
  ]);
  t.true(text.includes('failed: [a] => exit 1\n    stderr: nope\n'));
});

// ---------------------------------------------------------------------------------------------
// JsonReporter

test('json: one parseable event per line with v and an ISO ts, nothing else', async (t) => {
  const out = sink();
  const rep = new JsonReporter(out.stream, { redactor: redactor() });
  const events = script();
  for (const e of events) rep.event(e);
  await rep.close();
  const text = out.text();
  t.true(text.endsWith('\n'));
  const lines = text.slice(0, -1).split('\n');
  t.is(lines.length, events.length);
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  parsed.forEach((p, i) => {
    t.is(p.v, EVENT_SCHEMA_VERSION);
    t.is(typeof p.ts, 'string');
    t.is(new Date(p.ts as string).toISOString(), p.ts as string);
    t.is(p.type, events[i]!.type);
  });
  const { v: _v, ts: _ts, ...recap } = parsed.at(-1)!;
  t.deepEqual(recap, events.at(-1) as unknown as Record<string, unknown>);
  const changed = parsed.find((p) => p.type === 'host_result' && p.host === 'pbx-main' && p.task === 'write ha.conf')!;
  t.deepEqual(changed.result, { changed: true, failed: false, token: MASK });
  t.deepEqual(changed.changes, ['write /etc/xivo/ha.conf']);
});

test('json: a secret with JSON-special characters is masked before serialisation, lines stay valid', async (t) => {
  const out = sink();
  const r = new Redactor();
  r.add('p"a\\ss');
  const rep = new JsonReporter(out.stream, { redactor: r, now: () => new Date(0) });
  const cyclic: Record<string, unknown> = { stdout: 'p"a\\ss', n: 10n };
  cyclic.me = cyclic;
  rep.event({ type: 'host_result', play: 'p', task: 't', host: 'h', status: 'ok', result: cyclic, durationMs: 1 });
  await rep.close();
  const line = JSON.parse(out.text()) as { ts: string; result: Record<string, unknown> };
  t.is(line.ts, '1970-01-01T00:00:00.000Z');
  t.deepEqual(line.result, { stdout: MASK, n: '10', me: '[Circular]' });
});

// ---------------------------------------------------------------------------------------------
// ListrReporter

interface ListrLogLine {
  event: string;
  data: unknown;
  task?: { title?: string; path?: string[] };
}

async function runListr(events: RunEvent[], opts: Partial<ConstructorParameters<typeof ListrReporter>[0]> = {}) {
  const out = sink();
  const rep = new ListrReporter({ renderer: 'test', stream: out.stream, redactor: redactor(), diff: true, ...opts });
  for (const e of events) rep.event(e);
  await rep.close();
  const text = out.text();
  const log = text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as ListrLogLine);
  /** The last STATE of a host's subtask under a task title. */
  const state = (taskTitle: string, host: string): string | undefined =>
    log.filter((l) => l.event === 'STATE' && l.task?.path?.[0] === taskTitle && l.task.path[1] === host)
      .map((l) => l.data as string)
      .at(-1);
  const title = (taskTitle: string, host: string): string | undefined =>
    log.filter((l) => l.task?.path?.[0] === taskTitle && l.task.path[1] === host).at(-1)?.task?.title;
  return { text, log, state, title };
}

test('listr: every host status of every task appears, with its final state, and close() resolves', async (t) => {
  const { text, log, state, title } = await runListr(script());
  t.is(state('TASK [write ha.conf]', 'pbx-main'), 'COMPLETED');
  t.is(title('TASK [write ha.conf]', 'pbx-main'), 'pbx-main: changed — write /etc/xivo/ha.conf (1.52 s)');
  t.is(title('TASK [write ha.conf]', 'pbx-standby-long'), 'pbx-standby-long: ok');
  t.is(state('TASK [packages]', 'pbx-main'), 'COMPLETED');
  t.is(title('TASK [packages]', 'pbx-main'), 'pbx-main: changed — install pg-tools [ok (item=rsync); changed (item=pg-tools) — install pg-tools]');
  t.is(state('TASK [packages]', 'pbx-standby-long'), 'FAILED');
  t.true(log.some((l) => l.event === 'MESSAGE' && (l.data as { error?: string }).error === 'one item failed'));
  t.is(state('RUNNING HANDLER [restart xivo]', 'pbx-main'), 'COMPLETED');
  t.is(state('TASK [pg replicate]', 'pbx-dr'), 'FAILED');
  t.is(title('TASK [pg replicate]', 'pbx-dr'), 'pbx-dr: unreachable');
  t.is(state('TASK [pg replicate]', 'pbx-standby-long'), 'SKIPPED');
  t.is(state('TASK [pg replicate]', 'pbx-main'), 'COMPLETED');
  t.is(title('TASK [pg replicate]', 'pbx-main'), 'pbx-main: ignored — pg not running');
  // The progress that arrived before the subtask started is not lost.
  t.true(log.some((l) => l.event === 'OUTPUT' && l.data === 'reading ha.conf'));
  // Plain parts: play headers, diff under the task, warning after it, the recap last.
  t.regex(text, /PLAY \[Configure HA\] \*+\n/);
  t.true(text.includes(`    +password=${MASK}`));
  t.true(text.includes(`[WARNING]: [pbx-standby-long] old xivo, login ${MASK}`));
  t.true(text.indexOf('PLAY RECAP') > text.lastIndexOf('"event":"STATE"'), 'the recap comes after every list has rendered');
  t.true(text.includes('pbx-dr           : ok=12 changed=0 failed=0 skipped=0 unreachable=1 rescued=0 ignored=0'));
  t.true(text.includes('ran in 1.42 s (exit code 2)'));
});

test('listr: a failed host does not stop the others; late results still complete their subtask', async (t) => {
  const out = sink();
  const rep = new ListrReporter({ renderer: 'test', stream: out.stream });
  rep.event({ type: 'task_start', play: 'p', task: 'slow', plugin: 'x', hosts: ['a', 'b'], handler: false });
  rep.event({ type: 'host_result', play: 'p', task: 'slow', host: 'a', status: 'failed', msg: 'boom', durationMs: 1 });
  await new Promise((r) => setTimeout(r, 50));
  rep.event({ type: 'progress', play: 'p', task: 'slow', host: 'b', message: 'still going' });
  await new Promise((r) => setTimeout(r, 50));
  rep.event({ type: 'host_result', play: 'p', task: 'slow', host: 'b', status: 'ok', durationMs: 100 });
  await rep.close();
  const log = out.text().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as ListrLogLine);
  const last = (host: string) => log.filter((l) => l.event === 'STATE' && l.task?.path?.[1] === host).at(-1);
  t.is(last('a')?.data, 'FAILED');
  t.is(last('b')?.data, 'COMPLETED');
  t.is(last('b')?.task?.title, 'b: ok');
  t.true(log.some((l) => l.event === 'OUTPUT' && l.data === 'still going'));
});

test('listr: hosts without a result, loop items without a summary, and strays never hang or vanish', async (t) => {
  const { text, state, title } = await runListr([
    { type: 'task_start', play: 'p', task: 'loop', plugin: 'x', hosts: ['a', 'b'], handler: false },
    { type: 'host_result', play: 'p', task: 'loop', host: 'a', item: 'one', status: 'ok', durationMs: 1 },
    { type: 'host_result', play: 'p', task: 'loop', host: 'a', item: 'two', status: 'changed', changes: ['make two'], durationMs: 1 },
    { type: 'host_result', play: 'p', task: 'loop', host: 'ghost', status: 'changed', changes: ['delegated'], durationMs: 1 },
  ]);
  t.is(state('TASK [loop]', 'a'), 'COMPLETED');
  t.is(title('TASK [loop]', 'a'), 'a: changed [ok (item=one); changed (item=two) — make two]');
  t.is(state('TASK [loop]', 'b'), 'SKIPPED');
  t.is(title('TASK [loop]', 'b'), 'b: no result');
  t.true(text.includes('changed: [ghost] => delegated'), 'a result for a host outside the task is printed plainly');
});

test('listr: the simple renderer shows every host status as lines', async (t) => {
  const { text } = await runListr(script(), { renderer: 'simple' });
  for (const s of [
    'pbx-main: changed — write /etc/xivo/ha.conf',
    'pbx-standby-long: failed',
    'one item failed',
    'pbx-dr: unreachable',
    'ssh: connect ECONNREFUSED 10.0.0.9:22',
    'pbx-standby-long: skipped',
    'pbx-main: ignored — pg not running',
    'pbx-main: changed — restart xivo',
  ]) {
    t.true(text.includes(s), `missing: ${s}\n${text}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Secrets and the factory

test('a secret value never appears in any reporter output', async (t) => {
  const outputs = [
    await runPlain({ verbose: true, diff: true }),
    await runPlain({ verbose: true, diff: true, color: true }),
    (await runListr(script(), { verbose: true })).text,
    (await runListr(script(), { verbose: true, renderer: 'simple' })).text,
  ];
  const json = sink();
  const rep = new JsonReporter(json.stream, { redactor: redactor() });
  for (const e of script()) rep.event(e);
  await rep.close();
  outputs.push(json.text());
  for (const o of outputs) {
    t.true(o.length > 0);
    t.false(o.includes(SECRET));
    t.true(o.includes(MASK));
  }
});

test('createReporter: json → JsonReporter, terminal → ListrReporter, otherwise PlainReporter', (t) => {
  const { stream } = sink();
  t.true(createReporter({ json: true, isTTY: true, stream }) instanceof JsonReporter);
  t.true(createReporter({ isTTY: true, stream }) instanceof ListrReporter);
  t.true(createReporter({ isTTY: false, stream }) instanceof PlainReporter);
  t.true(createReporter({ stream }) instanceof PlainReporter, 'a stream that is not a TTY gets plain lines');
});

test('helpers: loop status aggregation and durations', (t) => {
  t.is(aggregateStatus(['ok', 'changed', 'skipped']), 'changed');
  t.is(aggregateStatus(['ok', 'failed', 'changed']), 'failed');
  t.is(aggregateStatus(['skipped', 'skipped']), 'skipped');
  t.is(aggregateStatus(['skipped', 'ok']), 'ok');
  t.is(formatDuration(1420), '1.42 s');
  t.is(formatDuration(125_000), '2 min 05 s');
  t.is(formatDuration(3_720_000), '1 h 02 min');
});
