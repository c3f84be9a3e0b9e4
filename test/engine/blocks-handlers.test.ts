import test from 'ava';
import { file, recap, run, statuses } from '../helpers/engine.js';

test('rescue runs on the hosts that failed in the block, always on every host; rescued hosts go on', async (t) => {
  const r = await run(`
- hosts: g
  tasks:
    - block:
        - name: risky
          step: { name: risky, fail: true }
          when: inventory_hostname == 'a'
        - name: after risky
          step: after
      rescue:
        - { name: fix, step: fix }
      always:
        - { name: cleanup, step: cleanup }
    - { name: next, step: next }
`);
  t.is(r.code, 0);
  t.deepEqual(statuses(r, 'after risky'), { b: 'ok', c: 'ok' });
  t.deepEqual(statuses(r, 'fix'), { a: 'ok' });
  t.deepEqual(Object.keys(statuses(r, 'cleanup')).sort(), ['a', 'b', 'c']);
  t.deepEqual(Object.keys(statuses(r, 'next')).sort(), ['a', 'b', 'c']);
  t.is(recap(r).a.rescued, 1);
  t.is(recap(r).a.failed, 0, 'a rescued failure is not counted as failed');
});

test('rescue and always also run when the failure is unreachability', async (t) => {
  const r = await run(`
- hosts: g
  tasks:
    - block:
        - { name: probe, step: probe }
      rescue:
        - name: note it on the control machine
          debug: { msg: "{{inventory_hostname}} is down" }
      always:
        - name: always
          debug: { msg: done }
`, { setup: (h, f) => void (f.unreachable = h === 'b') });
  t.deepEqual(statuses(r, 'probe'), { a: 'ok', b: 'unreachable', c: 'ok' });
  t.deepEqual(statuses(r, 'note it on the control machine'), { b: 'ok' });
  t.deepEqual(Object.keys(statuses(r, 'always')).sort(), ['a', 'b', 'c']);
  t.is(r.code, 3, 'the unreachable count stays in the recap');
});

test('a failing rescue leaves the host failed, after always ran', async (t) => {
  const r = await run(`
- hosts: a
  tasks:
    - block: [{ name: one, step: { name: one, fail: true } }]
      rescue: [{ name: two, step: { name: two, fail: true } }]
      always: [{ name: three, step: three }]
    - { name: four, step: four }
`);
  t.is(r.code, 2);
  t.deepEqual(r.log, ['a: step one', 'a: step two', 'a: step three']);
});

test('handlers run once at the end of the play, only for hosts that notified them, in handler order', async (t) => {
  const r = await run(`
- hosts: g
  tasks:
    - name: config
      kv: { key: conf, value: v1 }
      when: inventory_hostname != 'c'
      notify: restart
    - name: config again
      kv: { key: other, value: v1 }
      when: inventory_hostname == 'a'
      notify: [restart, reload]
    - { name: last task, step: last }
  handlers:
    - { name: reload, step: reload }
    - { name: restart, step: restart }
`);
  t.is(r.code, 0);
  const order = r.log.filter((l) => l.startsWith('a:'));
  t.deepEqual(order, ['a: step last', 'a: step reload', 'a: step restart']);
  t.deepEqual(statuses(r, 'restart'), { a: 'ok', b: 'ok' });
  t.deepEqual(statuses(r, 'reload'), { a: 'ok' });
  t.is(r.log.filter((l) => l === 'a: step restart').length, 1, 'notified twice, runs once');

  const again = await run(`
- hosts: a
  tasks:
    - { name: config, kv: { key: conf, value: v1 }, notify: restart }
  handlers:
    - { name: restart, step: restart }
`, { setup: (_h, f) => void f.files.set('/kv/conf', { data: Buffer.from('v1') }) });
  t.deepEqual(statuses(again, 'restart'), {}, 'no change, no handler');
});

test('a changed config never loses its restart: handlers run before a host stops on a later failure', async (t) => {
  const r = await run(`
- hosts: a
  tasks:
    - { name: config, kv: { key: conf, value: v2 }, notify: restart }
    - { name: breaks, step: { name: breaks, fail: true } }
    - { name: never, step: never }
  handlers:
    - { name: restart, step: restart }
`);
  t.is(r.code, 2);
  t.deepEqual(r.log, ['a: step breaks', 'a: step restart']);
  t.is(file(r, 'a', '/kv/conf'), 'v2');
});

test('handlers also run on hosts still going when any_errors_fatal stops the play', async (t) => {
  const r = await run(`
- hosts: g
  any_errors_fatal: true
  tasks:
    - { name: config, kv: { key: conf, value: v2 }, notify: restart }
    - name: breaks
      step: { name: breaks, fail: true }
      when: inventory_hostname == 'c'
  handlers:
    - { name: restart, step: restart }
`);
  t.deepEqual(Object.keys(statuses(r, 'restart')).sort(), ['a', 'b', 'c']);
});
