// Each HA setup plugin on its own, on the lab's real PBXs, in both flavours: check mode changes nothing
// and predicts the first run exactly, the first run leaves the documented bytes and rows, the second
// run changes nothing. (The playbooks are tested in playbooks.test.ts.)
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunEvent } from '../../src/core/types.js';
import { LAB, labExec, labPsql, useLab } from '../helpers/lab.js';

useLab(test);

const dir = mkdtempSync(join(tmpdir(), 'haplay-ha-plugin-'));

interface Run {
  code: number;
  changes: string[];
  stderr: string;
}

/** One task on one host, through the CLI; the changes it made (or would make, with --check). */
function task(host: string, yaml: string, ...args: string[]): Promise<Run> {
  const pb = join(dir, `t${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(pb, `- hosts: ${host}\n  tasks:\n    - ${yaml.trim().split('\n').join('\n      ')}\n`);
  return new Promise((resolve) => {
    execFile('node', ['dist/cli/index.js', pb, '-i', LAB.inventory, '--json', ...args], { maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      const events = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as RunEvent);
      const changes = events.flatMap((e) => (e.type === 'host_result' && e.status === 'changed' ? (e.changes ?? []) : []));
      resolve({ code: err ? Number(err.code) : 0, changes, stderr });
    });
  });
}

/** check predicts, run does it, second run is a no-op: the contract every plugin keeps. */
async function idempotent(t: import('ava').ExecutionContext, host: string, yaml: string, before: () => Promise<string>) {
  const fresh = await before();
  const check = await task(host, yaml, '--check');
  t.is(check.code, 0, check.stderr);
  t.is(await before(), fresh, 'check mode changed nothing');
  t.true(check.changes.length > 0, 'there was something to do');
  const first = await task(host, yaml);
  t.is(first.code, 0, first.stderr);
  t.deepEqual(first.changes, check.changes, 'check mode predicted the first run exactly');
  const second = await task(host, yaml);
  t.is(second.code, 0, second.stderr);
  t.deepEqual(second.changes, [], 'the second run changes nothing');
}

const read = async (host: string, f: string) => (await labExec(host, `cat ${f} 2>/dev/null || echo ABSENT`)).stdout;
const expiry = (host: string) =>
  labPsql(host, "SELECT string_agg(var_name || '=' || var_val || '/' || commented, ',' ORDER BY var_name) FROM staticsip WHERE category = 'general' AND var_name LIKE '%expiry'");

test.serial('ha-config, wazo flavour, written as files: a fresh node becomes master', async (t) => {
  const state = () => Promise.all(['/etc/xivo/ha.conf', '/etc/cron.d/xivo-ha-master', '/var/lib/wazo/is-primary'].map((f) => read('pbx-main', f))).then((x) => x.join('|'));
  await idempotent(t, 'pbx-main', 'ha-config: { node_type: master, remote_address: 10.77.0.12, flavour: wazo, prefer_sysconfd: false }', state);
  t.is(await read('pbx-main', '/etc/xivo/ha.conf'), '{"node_type": "master", "remote_address": "10.77.0.12"}');
  t.is(
    await read('pbx-main', '/etc/cron.d/xivo-ha-master'),
    '0 * * * * root /usr/sbin/xivo-master-slave-db-replication 10.77.0.12 >/dev/null\n0 * * * * root /usr/bin/wazo-sync >/dev/null\n',
  );
  t.is(await read('pbx-main', '/var/lib/wazo/is-primary'), '');
  t.is(await read('pbx-main', '/etc/cron.d/xivo-ha-slave'), 'ABSENT\n');
});

test.serial('ha-config, xivo flavour, through sysconfd: a fresh node becomes standby', async (t) => {
  const state = () => Promise.all(['/etc/xivo/ha.conf', '/etc/cron.d/xivo-ha-slave', '/etc/postgresql/15/main/pg_hba.conf'].map((f) => read('pbx-standby', f))).then((x) => x.join('|'));
  await idempotent(t, 'pbx-standby', 'ha-config: { node_type: standby, remote_address: 10.77.0.11 }', state);
  t.is(await read('pbx-standby', '/etc/xivo/ha.conf'), '{"node_type": "slave", "remote_address": "10.77.0.11"}');
  t.is(await read('pbx-standby', '/etc/cron.d/xivo-ha-slave'), '* * * * * root /usr/sbin/xivo-check-master-status 10.77.0.11 >/dev/null\n');
  t.true((await read('pbx-standby', '/etc/postgresql/15/main/pg_hba.conf')).endsWith('\nhost asterisk postgres 10.77.0.11/32 trust\n'));
  t.regex((await labExec('pbx-standby', 'grep -c "Updating resilience state, from: False to: True" /var/log/xivo-sysconfd.log')).stdout, /^1\n$/, 'sysconfd did it, once');
});

test.serial('sip-expiry: xivo 1/5/2 min and wazo 3/5/4 min while HA is on, the defaults when off', async (t) => {
  await idempotent(t, 'pbx-main', 'sip-expiry: { state: on }', () => expiry('pbx-main'));
  t.is(await expiry('pbx-main'), 'defaultexpiry=120/0,maxexpiry=300/0,minexpiry=60/0');
  await idempotent(t, 'pbx-standby', 'sip-expiry: { state: on, flavour: wazo }', () => expiry('pbx-standby'));
  t.is(await expiry('pbx-standby'), 'defaultexpiry=240/0,maxexpiry=300/0,minexpiry=180/0');
  await idempotent(t, 'pbx-standby', 'sip-expiry: { state: off, flavour: wazo }', () => expiry('pbx-standby'));
  t.is(await expiry('pbx-standby'), 'defaultexpiry=120/0,maxexpiry=3600/0,minexpiry=60/0');
});

test.serial('provd-template: xivo sets config default only; wazo sets every registrar config, and resets them to null', async (t) => {
  const xivo = () => read('pbx-main', '/var/lib/xivo-provd/jsondb/configs/default');
  await idempotent(t, 'pbx-main', 'provd-template: { node_type: main, remote_address: 10.77.0.12 }', xivo);
  t.like(JSON.parse(await xivo()), { registrar_backup: '10.77.0.12', proxy_backup: '10.77.0.12' });
  t.is(JSON.parse(await read('pbx-main', '/var/lib/xivo-provd/jsondb/configs/registrar-lab')).registrar_backup, '');

  const wazo = () => Promise.all(['default', 'registrar-lab'].map((c) => read('pbx-main', `/var/lib/wazo-provd/jsondb/configs/${c}`))).then((x) => x.join('|'));
  await idempotent(t, 'pbx-main', 'provd-template: { node_type: master, remote_address: 10.77.0.12, flavour: wazo }', wazo);
  for (const c of ['default', 'registrar-lab']) {
    t.like(JSON.parse(await read('pbx-main', `/var/lib/wazo-provd/jsondb/configs/${c}`)), { registrar_backup: '10.77.0.12', proxy_backup: '10.77.0.12' }, c);
  }
  await idempotent(t, 'pbx-main', 'provd-template: { node_type: disabled, flavour: wazo }', wazo);
  for (const c of ['default', 'registrar-lab']) {
    t.like(JSON.parse(await read('pbx-main', `/var/lib/wazo-provd/jsondb/configs/${c}`)), { registrar_backup: null, proxy_backup: null }, c);
  }
});

test.serial('service: stop and start a group with the host\'s tool, status parsed, wazo-service too', async (t) => {
  const asterisk = () => labExec('pbx-standby', 'systemctl is-active asterisk').then((r) => r.stdout);
  await idempotent(t, 'pbx-standby', 'service: { name: xivo, state: stopped }', asterisk);
  t.is(await asterisk(), 'inactive\n');
  await idempotent(t, 'pbx-standby', 'service: { name: wazo, state: started, flavour: wazo, ready: true, timeout: 60 }', asterisk);
  t.is(await asterisk(), 'active\n');
  t.is((await labExec('pbx-standby', 'wazo-service status all >/dev/null; echo $?')).stdout, '0\n');
});
