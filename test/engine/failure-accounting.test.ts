// How failures are counted and what they stop: the recap and the exit code are what cron, systemd
// and CI read, so each rule is asserted on them and on which hosts the fake transports saw.
import test from 'ava';
import { HaplayError } from '../../src/core/errors.js';
import { MASK } from '../../src/core/redact.js';
import type { Plugin } from '../../src/core/types.js';
import { recap, run, statuses } from '../helpers/engine.js';

const FOUR = `
hosts: { h1: {}, h2: {}, h3: {}, h4: {} }
groups: { g: { hosts: [h1, h2, h3, h4] } }
`;

test('a host that was unreachable, rescued, and later fails still makes the run exit 2 (failed), not 3', async (t) => {
  const r = await run(`
- hosts: g
  tasks:
    - block:
        - name: reach it
          step: one
      rescue:
        - name: note it
          debug: { msg: "c did not answer" }
    - name: later check
      assert: { that: ["inventory_hostname != 'c'"] }
`, { setup: (h, f) => void (f.unreachable = h === 'c') });
  t.deepEqual(statuses(r, 'reach it'), { a: 'ok', b: 'ok', c: 'unreachable' });
  t.deepEqual(statuses(r, 'later check'), { a: 'ok', b: 'ok', c: 'failed' });
  t.like(recap(r).c, { unreachable: 1, rescued: 1, failed: 1 });
  t.is(r.code, 2);
});

test('a failure rescued in a block is not a failure: exit 0, rescued 1, failed 0', async (t) => {
  const r = await run(`
- hosts: a
  tasks:
    - block:
        - { name: breaks, step: { name: x, fail: true } }
      rescue:
        - { name: repair, step: repair }
`);
  t.like(recap(r).a, { failed: 0, rescued: 1 });
  t.is(r.code, 0);
});

test('with serial and no max_fail_percentage, a batch that fails whole stops the rollout: later batches never run', async (t) => {
  const r = await run(`
- hosts: g
  serial: 1
  tasks:
    - name: upgrade
      step: { name: upgrade, fail: true }
      when: inventory_hostname == 'h1'
`, { inventory: FOUR });
  t.deepEqual(r.log, ['h1: step upgrade']);
  t.deepEqual(statuses(r, 'upgrade'), { h1: 'failed' });
  t.true(r.events.some((e) => e.type === 'warning' && /every host of the batch h1 failed; the remaining batches are not run/.test(e.message)));
  t.is(r.code, 2);
});

test('with serial, a batch where only some hosts fail does not stop the rollout', async (t) => {
  const r = await run(`
- hosts: g
  serial: 2
  tasks:
    - name: upgrade
      step: { name: upgrade, fail: true }
      when: inventory_hostname == 'h1'
`, { inventory: FOUR });
  t.deepEqual(statuses(r, 'upgrade'), { h1: 'failed', h2: 'skipped', h3: 'skipped', h4: 'skipped' });
  t.is(r.code, 2);
});

test('a failure rate equal to max_fail_percentage is within the budget: the rollout goes on', async (t) => {
  // 1 of 4 hosts = 25%, budget 25%: not over it (as in Ansible, the play stops only above the budget).
  const r = await run(`
- hosts: g
  serial: 1
  max_fail_percentage: 25
  tasks:
    - name: upgrade
      step: { name: upgrade, fail: true }
      when: inventory_hostname == 'h1'
`, { inventory: FOUR });
  t.deepEqual(statuses(r, 'upgrade'), { h1: 'failed', h2: 'skipped', h3: 'skipped', h4: 'skipped' });
  t.false(r.events.some((e) => e.type === 'warning' && /max_fail_percentage/.test(e.message)));
  t.is(r.code, 2);
});

test('a failure rate just above max_fail_percentage stops the rollout', async (t) => {
  // 1 of 4 = 25% > 24%.
  const r = await run(`
- hosts: g
  serial: 1
  max_fail_percentage: 24
  tasks:
    - name: upgrade
      step: { name: upgrade, fail: true }
      when: inventory_hostname == 'h1'
`, { inventory: FOUR });
  t.deepEqual(statuses(r, 'upgrade'), { h1: 'failed' });
  t.true(r.events.some((e) => e.type === 'warning' && /max_fail_percentage: 1 of 4 hosts failed \(25% > 24%\)/.test(e.message)));
});

test('a loop stops at the first unreachable item: the host that went away is not tried for the rest', async (t) => {
  const r = await run(`
- hosts: a
  tasks:
    - name: each
      step: "{{item}}"
      loop: [i1, i2, i3, i4]
`, {
    setup: (_h, f) => {
      const exec = f.exec.bind(f);
      f.exec = async (cmd, o) => {
        const out = await exec(cmd, o);
        if (cmd === 'step i1') f.unreachable = true; // the host goes away after the first item
        return out;
      };
    },
  });
  t.deepEqual(r.log, ['a: step i1', 'a: step i2']);
  t.deepEqual(statuses(r, 'each'), { 'a[i1]': 'ok', 'a[i2]': 'unreachable' });
  t.like(recap(r).a, { unreachable: 1, failed: 0 });
  t.is(r.code, 3);
});

test('a host whose SSH host key does not match is unreachable (exit 3), not failed', async (t) => {
  const r = await run(`
- hosts: g
  tasks:
    - { name: one, step: one }
`, {
    setup: (h, f) => {
      if (h !== 'b') return;
      f.exec = async () => {
        throw new HaplayError('E_HOST_KEY', 'host key of b (10.0.0.2) does not match ~/.ssh/known_hosts', { where: { host: 'b' } });
      };
    },
  });
  t.deepEqual(statuses(r, 'one'), { a: 'ok', b: 'unreachable', c: 'ok' });
  t.like(recap(r).b, { unreachable: 1, failed: 0 });
  t.is(r.code, 3);
});

test('a secret inside an error a plugin carries in its result is masked in every output', async (t) => {
  // A plugin that keeps the driver's error object in its result (as a probe's "cause" would).
  const leaky: Plugin<{ password: string }> = {
    name: 'leaky',
    description: 'test: returns an Error holding its password',
    schema: { type: 'object', additionalProperties: false, required: ['password'], properties: { password: { type: 'string' } } },
    async plan(p) {
      return { changes: [], result: { cause: new Error(`authentication failed for user asterisk with password ${p.password}`) } };
    },
  };
  const r = await run(`
- hosts: a
  vars:
    db_password: !secret proformatique-s3cret
  tasks:
    - { name: login, leaky: { password: "{{db_password}}" } }
`, { verbose: true, plugins: [leaky] });
  t.is(r.code, 0);
  t.false(r.json.includes('proformatique-s3cret'), r.json);
  t.true(r.json.includes(`authentication failed for user asterisk with password ${MASK}`), r.json);
});
