import test from 'ava';
import { file, run, statuses } from '../helpers/engine.js';

const layered = `
vars: { v: all, only_all: yes }
hosts:
  a: { v: host }
  b: {}
groups:
  parent: { children: [child], vars: { v: parent } }
  child: { hosts: [a, b], vars: { v: child } }
`;

test('variables: group < host < play < facts < task < extra vars; child group beats parent', async (t) => {
  const pb = (extra: string) => `
- hosts: all
  vars: { p: play }
  tasks:
    - { name: group-host, kv: { key: v, value: "{{v}}" } }
    - { name: play, kv: { key: p, value: "{{p}}" } }
    - { name: fact, set-fact: { p: fact } }
    - { name: after-fact, kv: { key: p2, value: "{{p}}" } }
    - { name: task, kv: { key: p3, value: "{{p}}" }, vars: { p: task } }
    ${extra}
`;
  const r = await run(pb(''), { inventory: layered });
  t.is(file(r, 'a', '/kv/v'), 'host');
  t.is(file(r, 'b', '/kv/v'), 'child');
  t.is(file(r, 'a', '/kv/p'), 'play');
  t.is(file(r, 'a', '/kv/p2'), 'fact');
  t.is(file(r, 'a', '/kv/p3'), 'task');
  const e = await run(pb(''), { inventory: layered, extraVars: { p: 'extra', v: 'extra' } });
  t.is(file(e, 'a', '/kv/p3'), 'extra');
  t.is(file(e, 'b', '/kv/v'), 'extra');
});

test('hostvars and groups are available to templates', async (t) => {
  const r = await run(`
- hosts: a
  tasks:
    - kv: { key: peer, value: "{{hostvars.b.address}} {{join groups.child ','}}" }
`, { inventory: layered.replace('b: {}', 'b: { address: 10.0.0.2 }') });
  t.is(file(r, 'a', '/kv/peer'), '10.0.0.2 a,b');
});

test('an unknown variable is an error naming it, not an empty string', async (t) => {
  const r = await run(`
- hosts: a
  tasks: [{ name: t, kv: { key: x, value: "{{nope}}" } }]
`);
  t.is(r.code, 2);
  const res = r.events.find((e) => e.type === 'host_result');
  t.regex(res && res.type === 'host_result' ? (res.msg ?? '') : '', /variable "nope" is not defined/);
  t.is(file(r, 'a', '/kv/x'), undefined);
});

test('when skips; register on a skipped task keeps the earlier value', async (t) => {
  const r = await run(`
- hosts: a
  tasks:
    - { name: first, step: first, register: out }
    - { name: skipped, step: second, register: out, when: "1 == 2" }
    - { name: use, kv: { key: out, value: "{{out.name}}" } }
`);
  t.deepEqual(statuses(r, 'skipped'), { a: 'skipped' });
  t.is(file(r, 'a', '/kv/out'), 'first');
});

test('loop with loop_var and label; when per item', async (t) => {
  const r = await run(`
- hosts: a
  tasks:
    - name: each
      kv: { key: "{{svc.name}}", value: "{{svc.state}}" }
      loop: [{ name: asterisk, state: up }, { name: provd, state: down }, { name: dird, state: up }]
      loop_control: { loop_var: svc, label: "{{svc.name}}" }
      when: svc.state == 'up'
      register: each
    - { name: count, kv: { key: n, value: "{{each.results.length}}" } }
`);
  t.deepEqual(statuses(r, 'each'), { 'a[asterisk]': 'changed', 'a[provd]': 'skipped', 'a[dird]': 'changed' });
  t.is(file(r, 'a', '/kv/asterisk'), 'up');
  t.is(file(r, 'a', '/kv/provd'), undefined);
  t.is(file(r, 'a', '/kv/n'), '3');
});

test('retries/until repeats until the condition holds', async (t) => {
  let calls = 0;
  const r = await run(`
- hosts: a
  tasks:
    - name: wait
      command: check-ready
      register: r
      until: r.stdout|trim == 'ready'
      retries: 5
      delay: 0
      changed_when: false
`, { setup: (_h, f) => void f.on('check-ready', () => ({ stdout: ++calls >= 3 ? 'ready\n' : 'starting\n' })) });
  t.is(r.code, 0);
  t.is(calls, 3);
  const bad = await run(`
- hosts: a
  tasks:
    - { name: never, command: check-ready, register: r, until: "r.stdout == 'x'", retries: 2, delay: 0 }
`, { setup: (_h, f) => void f.on('check-ready', { stdout: 'no' }) });
  t.is(bad.code, 2);
  const res = bad.events.find((e) => e.type === 'host_result');
  t.regex(res && res.type === 'host_result' ? (res.msg ?? '') : '', /still false after 3 attempts/);
});

test('changed_when, failed_when and ignore_errors', async (t) => {
  const r = await run(`
- hosts: a
  tasks:
    - { name: probe, command: probe, changed_when: false }
    - { name: grep, command: grep-it, register: g, failed_when: g.rc > 1 }
    - { name: broken, command: broken, ignore_errors: true }
    - { name: goes on, step: on }
`, {
    setup: (_h, f) => {
      f.on('probe', { stdout: 'x' });
      f.on('grep-it', { code: 1 });
      f.on('broken', { code: 3, stderr: 'boom' });
    },
  });
  t.deepEqual(statuses(r, 'probe'), { a: 'ok' });
  t.deepEqual(statuses(r, 'grep'), { a: 'changed' });
  t.deepEqual(statuses(r, 'broken'), { a: 'ignored' });
  t.deepEqual(statuses(r, 'goes on'), { a: 'ok' });
  t.is(r.code, 0);
});

test('delegate_to runs on another host with this host\'s variables; run_once runs once and every host registers', async (t) => {
  const r = await run(`
- hosts: g
  tasks:
    - name: on c
      kv: { key: "from-{{inventory_hostname}}", value: "x" }
      delegate_to: c
      when: inventory_hostname != 'c'
    - name: once
      step: once
      run_once: true
      register: o
    - { name: use, kv: { key: once, value: "{{o.name}}" } }
`);
  t.is(file(r, 'c', '/kv/from-a'), 'x');
  t.is(file(r, 'c', '/kv/from-b'), 'x');
  t.is(file(r, 'a', '/kv/from-a'), undefined);
  t.is(r.log.filter((l) => l.endsWith('step once')).length, 1);
  t.is(file(r, 'b', '/kv/once'), 'once');
});

test('timeout fails a task that hangs', async (t) => {
  const r = await run(`
- hosts: a
  tasks: [{ name: slow, step: { name: slow, sleep: 2000 }, timeout: 0.1 }]
`);
  t.is(r.code, 2);
  const res = r.events.find((e) => e.type === 'host_result');
  t.regex(res && res.type === 'host_result' ? (res.msg ?? '') : '', /did not finish within 0.1 s/);
});

test('a registered name wins over a plugin fact of the same name', async (t) => {
  const r = await run(`
- hosts: a
  tasks:
    - { name: facts, set-fact: { out: from-fact }, register: out }
    - { name: use, kv: { key: out, value: "{{out.changed}}" } }
`);
  t.is(file(r, 'a', '/kv/out'), 'false', 'out is the registered result, not the fact');
});
