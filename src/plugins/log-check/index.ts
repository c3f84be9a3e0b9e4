// Looks for patterns in a log file or in a command's output (xivocc-dcomp logs xuc, edge-dcomp logs -t
// kamailio), since the start of the run, a duration or ever; expects present, absent or a count. With
// wait it follows the log (Transport.spawn of tail -F / logs -f) until the lines appear or the timeout
// passes. Reading is all it does: the plan is always empty, the matching lines are registered.
import { TaskFailed } from '../../core/errors.js';
import { quote } from '../../core/shell.js';
import type { TaskContext, Transport, Vars } from '../../core/types.js';
import { definePlugin, failureLine } from '../../kit/index.js';
import { flavourFor } from '../../xivo/flavour.js';
import { NAMED_PATTERNS, namedRegex } from './patterns.js';
import { judge, matching, parseLines, sinceMs, type Expectation, type LogLine } from './parse.js';

export interface LogCheckParams {
  path?: string;
  command?: string;
  follow?: string;
  pattern?: string | string[];
  named?: string;
  address?: string;
  since: string;
  expect: 'present' | 'absent' | 'count';
  count?: number;
  min?: number;
  max?: number;
  wait: boolean;
  timeout: number;
  max_lines: number;
  keep: number;
  flavour?: 'xivo' | 'wazo';
}

const PROGRESS_EVERY_MS = 5000;
/** Fallback when the engine gives no run start (a plugin driven by hand): this process's start. */
const PROCESS_START = Date.now() - Math.round(process.uptime() * 1000);

const names = Object.keys(NAMED_PATTERNS);

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    path: { type: 'string', pattern: '^/', description: 'A log file on the host (its last max_lines lines are read).', examples: ['/var/log/xivo-sysconfd.log'] },
    command: {
      type: 'string',
      minLength: 1,
      description: "A command whose output (stdout and stderr) is the log, e.g. `xivocc-dcomp logs -t xuc`. Use -t on docker logs: the lines' own stamps do the `since` filtering.",
      examples: ['edge-dcomp logs -t kamailio'],
    },
    follow: {
      type: 'string',
      minLength: 1,
      description:
        'wait: the command that follows the log. Default: `tail -n max_lines -F PATH` for path, the named pattern\'s `... logs -f -t SVC`, or command with -f added after "logs".',
    },
    pattern: {
      anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }],
      description: 'A regular expression (JavaScript syntax), or a list of them: a line matches when any of them does.',
      examples: ['Destination down: OPTIONS sip:10\\.77\\.0\\.11:'],
    },
    named: {
      type: 'string',
      enum: names,
      description:
        'One of the log lines the XiVO documentation tells operators to watch, with its usual source (override it with path or command):\n' +
        names.map((n) => `- ${n}: ${NAMED_PATTERNS[n].what}; /${NAMED_PATTERNS[n].regex}/`).join('\n'),
    },
    address: { type: 'string', minLength: 1, description: 'Narrows a named pattern with {address} (Edge lines) to this PBX or CC address.' },
    since: {
      type: 'string',
      default: 'run',
      description:
        "Which lines count: run (stamped at or after the start of this haplay run, the host's clock skew corrected), a duration back from now (30s, 5m, 2h), an RFC 3339 time, or all (every line, stamped or not). Lines without a stamp take the stamp of the line before them.",
      examples: ['run', '10m', 'all'],
    },
    expect: {
      type: 'string',
      enum: ['present', 'absent', 'count'],
      default: 'present',
      description: 'present: at least one matching line; absent: none; count: count (exactly) or min/max.',
    },
    count: { type: 'integer', minimum: 0, description: 'expect count: exactly this many lines.' },
    min: { type: 'integer', minimum: 0, description: 'expect count: at least this many lines.' },
    max: { type: 'integer', minimum: 0, description: 'expect count: at most this many lines.' },
    wait: {
      type: 'boolean',
      default: false,
      description: 'Follow the log until the expectation holds (present, or count reaching min/count), or fail after timeout seconds. Progress is shown meanwhile.',
    },
    timeout: { type: 'number', exclusiveMinimum: 0, default: 60, description: 'wait: seconds before the task fails.' },
    max_lines: { type: 'integer', minimum: 1, default: 100000, description: 'Only the last lines of a file are read.' },
    keep: { type: 'integer', minimum: 0, default: 20, description: 'How many matching lines (the last ones) are registered in `lines`.' },
    flavour: { type: 'string', enum: ['xivo', 'wazo'], description: "For the named patterns' files (sysconfd log). Default: the host variable `flavour`, else xivo." },
  },
};

export const logCheck = definePlugin<LogCheckParams>({
  name: 'log-check',
  description: 'Look for patterns in a log file or a command\'s output (present, absent, a count), or wait for them (never changes anything)',
  doc: [
    'Give a pattern or a named pattern, and where to look: path (a file), command (its output), or nothing for a named pattern (its usual source).',
    "since decides which lines count. run is the default: lines stamped from the start of this haplay run on, so a check after a restart sees the new lines only. Timestamps are read at the start of each line (after a compose prefix such as `xuc-1 | `): RFC 3339 (docker -t, the CC's syslog), sysconfd's `2026-04-23 17:47:22,395`, nginx's `2026/04/23 16:00:40`, classic syslog; stamps without a zone are the host's local time.",
    'wait: true follows the log with `tail -F` or `... logs -f` (started beside the shell, ended when the task ends) until the lines are there, with progress, or fails after timeout.',
    'Registered: matched (the count), lines (the last `keep` matching lines), first_at/last_at (RFC 3339) and last_ms, since (RFC 3339 or null), source, waited (seconds).',
  ].join('\n\n'),
  schema,
  examples: [
    { title: 'xuc is ready after its restart', yaml: '- log-check:\n    named: xuc_ready\n    wait: true\n    timeout: 120' },
    {
      title: 'The Edge no longer sends to the main',
      yaml: '- log-check:\n    named: edge_destination_down\n    address: "{{hostvars.[pbx-main].address}}"\n    since: 10m',
    },
    { title: 'No resilience change today', yaml: "- log-check:\n    named: sysconfd_resilience\n    since: 24h\n    expect: absent" },
    { title: 'Any pattern in any log', yaml: "- log-check:\n    path: /var/log/syslog\n    pattern: ['ERROR', 'CRITICAL']\n    expect: count\n    max: 0" },
  ],

  async plan(p, ctx) {
    const spec = resolve(p, ctx);
    const t = ctx.transport;
    const clock = await hostClock(t);
    const runStart = typeof ctx.host.vars.run_started_at === 'string' ? Date.parse(ctx.host.vars.run_started_at) : PROCESS_START;
    const from = sinceMs(p.since, clock.now, runStart + clock.skew);
    if (from !== null && Number.isNaN(from)) throw new TaskFailed(`since: ${JSON.stringify(p.since)} is not run, all, a duration (5m) or an RFC 3339 time`);
    const exp: Expectation = { expect: p.expect, min: p.count ?? p.min, max: p.count ?? p.max };
    if (p.expect === 'count' && exp.min === undefined && exp.max === undefined) throw new TaskFailed('expect: count needs count, min or max');

    let lines: LogLine[];
    let waited = 0;
    if (p.wait) {
      if (p.expect === 'absent' || (p.expect === 'count' && exp.min === undefined)) {
        throw new TaskFailed('wait follows the log until lines appear: use it with expect present, or count with count/min');
      }
      const r = await follow(t, spec, from, clock.offset, exp, p, ctx);
      lines = r.lines;
      waited = r.waited;
    } else {
      lines = await readAll(t, spec, clock.offset, p.max_lines);
    }
    const hits = matching(lines, spec.regexes, from);
    const verdict = judge(hits.length, exp, spec.what);
    const result: Vars = {
      matched: hits.length,
      lines: hits.slice(-p.keep).map((l) => l.text),
      first_at: hits.length && hits[0].at !== null ? new Date(hits[0].at).toISOString() : null,
      last_at: hits.length && hits[hits.length - 1].at !== null ? new Date(hits[hits.length - 1].at!).toISOString() : null,
      last_ms: hits.length ? hits[hits.length - 1].at : null,
      since: from === null ? null : new Date(from).toISOString(),
      source: spec.source,
      pattern: spec.regexes.map((r) => r.source),
      ...(p.wait ? { waited } : {}),
    };
    if (!verdict.ok) {
      throw new TaskFailed(verdict.why + (from === null ? '' : ` since ${new Date(from).toISOString()}`), result, hint(p, hits.length));
    }
    return { changes: [], result, noop: verdict.why };
  },
});

interface Spec {
  regexes: RegExp[];
  what: string;
  /** What is read, for the result. */
  source: string;
  read: string;
  follow: string;
}

function resolve(p: LogCheckParams, ctx: TaskContext): Spec {
  if (p.path && p.command) throw new TaskFailed('log-check reads either path or command, not both');
  if (!p.pattern && !p.named) throw new TaskFailed('log-check needs pattern or named');
  const patterns = p.pattern === undefined ? [] : Array.isArray(p.pattern) ? p.pattern : [p.pattern];
  if (p.named) patterns.push(namedRegex(p.named, p.address));
  const regexes = patterns.map((s) => {
    try {
      return new RegExp(s);
    } catch (e) {
      throw new TaskFailed(`pattern ${JSON.stringify(s)} is not a valid regular expression: ${(e as Error).message}`);
    }
  });
  const what = p.named ? p.named + (p.address ? ` (${p.address})` : '') : patterns.map((s) => `/${s}/`).join(' or ');
  let path = p.path;
  let command = p.command;
  let followCmd = p.follow;
  if (!path && !command) {
    if (!p.named) throw new TaskFailed('log-check needs path or command (or a named pattern, which knows its source)');
    const src = NAMED_PATTERNS[p.named].source(flavourFor(p.flavour, ctx.host.vars));
    if ('path' in src) path = src.path;
    else {
      command = src.command;
      followCmd ??= src.follow;
    }
  }
  if (path) {
    return {
      regexes,
      what,
      source: path,
      read: `if [ -e ${quote(path)} ]; then tail -n ${p.max_lines} ${quote(path)}; else echo "no such file: ${path.replace(/["$`\\]/g, '')}" >&2; exit 66; fi`,
      follow: followCmd ?? `tail -n ${p.max_lines} -F ${quote(path)} 2>/dev/null`,
    };
  }
  const derived = / logs( |$)/.test(command!) ? command!.replace(/ logs( |$)/, ' logs -f$1') : undefined;
  return { regexes, what, source: command!, read: `${command} 2>&1`, follow: followCmd ?? derived ?? '' };
}

function hint(p: LogCheckParams, n: number): string | undefined {
  if (p.expect === 'absent' || n > 0) return undefined;
  if (p.since === 'run') return 'only lines stamped since this run started count: since: 10m or since: all looks further back';
  return 'look further back with a longer since, or check the source';
}

/** The host's UTC offset (minutes) for zone-less stamps, its clock, and its skew from ours. */
async function hostClock(t: Transport): Promise<{ offset: number; now: number; skew: number }> {
  const before = Date.now();
  const r = await t.exec('date +%z; date +%s%3N');
  const after = Date.now();
  const [z = '+0000', ms = ''] = r.stdout.trim().split('\n');
  const m = /^([+-])(\d\d)(\d\d)$/.exec(z.trim());
  const offset = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
  const hostNow = Number(ms.trim());
  const mid = Math.round((before + after) / 2);
  if (!Number.isFinite(hostNow) || hostNow <= 0) return { offset, now: mid, skew: 0 };
  return { offset, now: hostNow, skew: hostNow - mid };
}

async function readAll(t: Transport, spec: Spec, offset: number, maxLines: number): Promise<LogLine[]> {
  const r = await t.exec(spec.read);
  // A log command may exit non-zero after printing the log (some compose wrappers do): only a
  // failure that printed nothing is one.
  if (r.code !== 0 && (spec.source.startsWith('/') || r.stdout.trim() === '')) {
    throw new TaskFailed(`cannot read ${spec.source} on ${t.hostName}: ${failureLine(r)}`, { rc: r.code });
  }
  const all = parseLines(r.stdout, offset);
  return all.length > maxLines ? all.slice(-maxLines) : all;
}

/** The follow command, ended when its standard input closes (Spawned.end) even if it writes nothing. */
export function followScript(cmd: string): string {
  return [
    // An asynchronous list reads /dev/null unless told otherwise: the watcher reads the real stdin (fd 3).
    'exec 3<&0',
    `setsid sh -c ${quote(cmd)} </dev/null 3<&- & p=$!`,
    '{ cat <&3 >/dev/null; kill -TERM -- -$p 2>/dev/null || kill -TERM $p 2>/dev/null; } & w=$!',
    'wait $p; rc=$?; kill $w 2>/dev/null; exit $rc',
  ].join('\n');
}

async function follow(
  t: Transport,
  spec: Spec,
  from: number | null,
  offset: number,
  exp: Expectation,
  p: LogCheckParams,
  ctx: TaskContext,
): Promise<{ lines: LogLine[]; waited: number }> {
  if (!spec.follow) throw new TaskFailed(`wait: give follow, the command that follows ${spec.source}`);
  const need = exp.expect === 'count' ? Math.max(1, exp.min ?? 1) : 1;
  const start = Date.now();
  const waited = () => Math.round((Date.now() - start) / 100) / 10;
  const child = await t.spawn(followScript(spec.follow));
  const lines: LogLine[] = [];
  let last: number | null = null;
  let buf = '';
  let hits = 0;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
  try {
    await new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (e?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearInterval(ticker);
        ctx.signal.removeEventListener('abort', onAbort);
        if (e) reject(e);
        else resolve();
      };
      const onLine = (text: string) => {
        if (text === '') return;
        const parsed = parseLines(text, offset)[0];
        if (!parsed) return;
        if (parsed.at === null) parsed.at = last;
        else last = parsed.at;
        lines.push(parsed);
        if (lines.length > p.max_lines) lines.shift();
        if (matching([parsed], spec.regexes, from).length) hits++;
        if (hits >= need) finish();
      };
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
      child.exit.then((code) => {
        if (buf) onLine(buf);
        finish(
          done
            ? undefined
            : new TaskFailed(`the command following ${spec.source} ended (exit ${code}) before ${spec.what} appeared${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}`, {
                matched: hits,
              }),
        );
      });
      const timer = setTimeout(() => {
        finish(
          new TaskFailed(`${spec.what}: ${hits ? `only ${hits} of ${need} lines` : 'no line'} after waiting ${p.timeout} s`, { matched: hits, waited: waited(), timed_out: true }, 'raise timeout if it is only slow; look at the source for errors'),
        );
      }, p.timeout * 1000);
      const ticker = setInterval(() => ctx.progress(`waiting for ${spec.what} in ${spec.source}: ${Math.round(waited())} s`), PROGRESS_EVERY_MS);
      const onAbort = () => finish(new TaskFailed(`stopped waiting for ${spec.what}: interrupted`));
      ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
  } finally {
    child.end();
    child.stdout.destroy();
    child.stderr.destroy();
  }
  return { lines, waited: waited() };
}
