import test from 'ava';
import type { Plugin } from '../../src/core/types.js';
import { recap, run, statuses } from '../helpers/engine.js';

test('task N finishes on every host before task N+1 starts (lockstep), hosts in parallel', async (t) => {
  const r = await run(`
- hosts: g
  tasks:
    - step: { name: one, sleep: 30 }
    - step: two
`);
  t.is(r.code, 0);
  const firstTwo = r.log.findIndex((l) => l.endsWith('step two'));
  const lastOne = r.log.map((l) => l.endsWith('step one')).lastIndexOf(true);
  t.true(lastOne < firstTwo, r.log.join('\n'));
  t.deepEqual(r.log.filter((l) => l.endsWith('step one')).length, 3);
});

test('--forks bounds how many hosts work at once', async (t) => {
  let running = 0;
  let peak = 0;
  await run(`
- hosts: g
  tasks: [{ step: x }]
`, {
    forks: 2,
    setup: (_h, f) => {
      const exec = f.exec.bind(f);
      f.exec = async (c, o) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return exec(c, o);
      };
    },
  });
  t.is(peak, 2);
});

test('a failed task stops that host only; the others go on; exit code 2', async (t) => {
  const r2 = await run(`
- hosts: g
  vars: { bad: b }
  tasks:
    - name: one
      step: { name: one, fail: true }
      when: inventory_hostname == bad
    - name: two
      step: two
`);
  t.is(r2.code, 2);
  t.deepEqual(statuses(r2, 'one'), { a: 'skipped', b: 'failed', c: 'skipped' });
  t.deepEqual(Object.keys(statuses(r2, 'two')).sort(), ['a', 'c']);
  t.false(r2.log.includes('b: step two'));
  t.is(recap(r2).b.failed, 1);
});

test('any_errors_fatal stops every host after the failing task', async (t) => {
  const r = await run(`
- hosts: g
  any_errors_fatal: true
  tasks:
    - name: one
      step: { name: one, fail: true }
      when: inventory_hostname == 'a'
    - name: two
      step: two
`);
  t.is(r.code, 2);
  t.deepEqual(statuses(r, 'two'), {});
  t.true(r.events.some((e) => e.type === 'warning' && /any_errors_fatal/.test(e.message)));
});

test('an unreachable host is reported unreachable, not failed, and the others go on; exit 3', async (t) => {
  const r = await run(`
- hosts: g
  tasks:
    - name: one
      step: one
    - name: two
      step: two
`, { setup: (h, f) => void (f.unreachable = h === 'c') });
  t.is(r.code, 3);
  t.deepEqual(statuses(r, 'one'), { a: 'ok', b: 'ok', c: 'unreachable' });
  t.deepEqual(Object.keys(statuses(r, 'two')).sort(), ['a', 'b']);
  const c = recap(r).c;
  t.is(c.unreachable, 1);
  t.is(c.failed, 0);
});

test('serial runs batches in order and the failure budget counts across batches', async (t) => {
  const inventory = `
hosts: { h1: {}, h2: {}, h3: {}, h4: {} }
groups: { g: { hosts: [h1, h2, h3, h4] } }
`;
  const r = await run(`
- hosts: g
  serial: 1
  max_fail_percentage: 30
  tasks:
    - name: work
      step: { name: work, fail: true }
      when: inventory_hostname == 'h1' or inventory_hostname == 'h2'
`, { inventory });
  // h1 fails: 25% is within the budget; h2 fails: 50% over all batches > 30%, so h3 and h4 never run.
  t.deepEqual(statuses(r, 'work'), { h1: 'failed', h2: 'failed' });
  t.deepEqual(r.log, ['h1: step work', 'h2: step work']);
  t.is(r.code, 2);

  const pct = await run(`
- hosts: g
  serial: "50%"
  tasks: [{ name: work, step: work }]
`, { inventory });
  t.deepEqual(pct.log, ['h1: step work', 'h2: step work', 'h3: step work', 'h4: step work']);
  const starts = pct.events.filter((e) => e.type === 'task_start').map((e) => (e.type === 'task_start' ? e.hosts : []));
  t.deepEqual(starts, [['h1', 'h2'], ['h3', 'h4']]);
});

test('plays run in order and a host failed in one play is left out of the next', async (t) => {
  const r = await run(`
- name: first
  hosts: g
  tasks:
    - name: break b
      step: { name: x, fail: true }
      when: inventory_hostname == 'b'
- name: second
  hosts: all
  tasks: [{ name: after, step: after }]
`);
  t.deepEqual(Object.keys(statuses(r, 'after')).sort(), ['a', 'c']);
  const plays = r.events.filter((e) => e.type === 'play_start').map((e) => (e.type === 'play_start' ? e.play : ''));
  t.deepEqual(plays, ['first', 'second']);
});

test('--limit narrows plays; tags and skip-tags select tasks', async (t) => {
  const pb = `
- hosts: g
  tasks:
    - { name: t1, step: one, tags: [setup] }
    - { name: t2, step: two, tags: [sync] }
    - { name: t3, step: three, tags: [always] }
`;
  const r = await run(pb, { limit: 'a:b', tags: ['sync'] });
  t.deepEqual(r.log.sort(), ['a: step three', 'a: step two', 'b: step three', 'b: step two']);
  const s = await run(pb, { limit: 'c', skipTags: ['sync'] });
  t.deepEqual(s.log, ['c: step one', 'c: step three']);
});

test("a plugin's peers are connected and locked with the play's hosts, before its first task", async (t) => {
  const reach: Plugin<{ other: string }> = {
    name: 'reach',
    description: 'test: reads another host',
    schema: { type: 'object', additionalProperties: false, required: ['other'], properties: { other: { type: 'string' } } },
    peers: (p) => [String(p.other)],
    async plan(p, ctx) {
      await (await ctx.transportFor(p.other)).exec('read-peer');
      return { changes: [] };
    },
  };
  const r = await run(
    `
- hosts: a
  tasks:
    - step: first
    - reach: { other: c }
`,
    { lock: true, plugins: [reach], setup: (_h, f) => f.on(/flock/, () => ({ stdout: 'HAPLAY_LOCKED\n' })) },
  );
  t.is(r.code, 0, JSON.stringify(r.events.filter((e) => e.type === 'warning')));
  const at = (re: RegExp) => r.log.findIndex((l) => re.test(l));
  t.true(at(/^c: [\s\S]*flock/) >= 0 && at(/^c: [\s\S]*flock/) < at(/^a: step first/), r.log.join('\n'));
  t.true(at(/^c: read-peer/) > at(/^a: step first/));
  t.is(r.log.filter((l) => /^c: [\s\S]*flock/.test(l)).length, 1, 'locked once');
  t.is(r.log.filter((l) => /^b: /.test(l)).length, 0, 'hosts outside the play and its peers are left alone');
});
