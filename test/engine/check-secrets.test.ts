import test from 'ava';
import { file, run, statuses } from '../helpers/engine.js';

const pb = `
- hosts: g
  tasks:
    - { name: conf, kv: { key: conf, value: new }, register: c }
    - { name: uses result, kv: { key: seen, value: "{{c.key}}" } }
    - { name: cmd, command: "touch /x" }
    - { name: probe, command: "cat /etc/hostname", register: h, check_mode: false, changed_when: false }
`;

test('check mode changes nothing, reports exactly what a real run changes, and registers results', async (t) => {
  const setup = (_h: string, f: import('../../src/core/transport/fake.js').FakeTransport) => {
    f.files.set('/kv/conf', { data: Buffer.from('old') });
    f.on('cat /etc/hostname', { stdout: 'pbx\n' });
    f.on('touch /x', {});
  };
  const check = await run(pb, { check: true, diff: true, setup });
  t.is(check.code, 0);
  t.is(file(check, 'a', '/kv/conf'), 'old');
  t.is(file(check, 'a', '/kv/seen'), undefined);
  t.false(check.log.some((l) => l.includes('touch')), 'commands do not run in check mode');
  t.true(check.log.includes('a: cat /etc/hostname'), 'check_mode: false probes still run');
  const predicted = check.events.filter((e) => e.type === 'host_result' && e.status === 'changed').map((e) => e.type === 'host_result' && `${e.host} ${e.task} ${e.changes}`).sort();
  const diff = check.events.find((e) => e.type === 'host_result' && e.task === 'conf');
  t.deepEqual(diff && diff.type === 'host_result' ? diff.diff : undefined, [{ label: '/kv/conf', before: 'old', after: 'new' }]);

  const real = await run(pb, { setup });
  const done = real.events.filter((e) => e.type === 'host_result' && e.status === 'changed').map((e) => e.type === 'host_result' && `${e.host} ${e.task} ${e.changes}`).sort();
  t.deepEqual(predicted, done);
  t.is(file(real, 'a', '/kv/conf'), 'new');
});

test('no_log and !secret values never appear in any event, diff or error', async (t) => {
  const r = await run(`
- hosts: a
  vars:
    db_password: !secret hunter2-s3cret
  tasks:
    - name: hidden
      kv: { key: pw, value: "{{db_password}}" }
      no_log: true
    - name: leaks into a message
      kv: { key: pw2, value: "{{db_password}}" }
    - name: fails with it
      command: "login {{db_password}}"
`, { diff: true, verbose: true, setup: (_h, f) => void f.on('login', { code: 1, stderr: 'bad password hunter2-s3cret' }) });
  t.is(file(r, 'a', '/kv/pw'), 'hunter2-s3cret', 'the secret is used');
  t.false(r.json.includes('hunter2-s3cret'), r.json);
  t.true(r.json.includes('********'));
  const hidden = r.events.find((e) => e.type === 'host_result' && e.task === 'hidden');
  t.is(hidden && hidden.type === 'host_result' ? hidden.diff : 'x', undefined);
  t.deepEqual(statuses(r, 'fails with it'), { a: 'failed' });
});
