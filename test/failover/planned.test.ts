// The operator's other paths on the lab: a healthy cluster's health report, a planned switch while the
// main still serves (-e force=true), failback with the standby's database changes copied back
// (-e copy_database_back=true), and the documented upgrade order.
import test from 'ava';
import { execFile } from 'node:child_process';
import { LAB, labExec, labPsql, useLab } from '../helpers/lab.js';

useLab(test);

// Planned switches by hand, on a cluster set up with the upstream cron lines: haplay's own monitor
// stays out of it (test/ha/unattended covers it).
const UPSTREAM = ['-e', 'ha_engine=upstream'];

function haplay(playbook: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('node', ['dist/cli/index.js', `playbooks/${playbook}`, '-i', LAB.inventory, ...UPSTREAM, ...args], { maxBuffer: 1 << 24, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code) : 0, out: stdout + stderr }),
    );
  });
}

const asterisk = async (host: string) => (await labExec(host, 'systemctl is-active asterisk')).stdout.trim();
const changedCounts = (out: string) => [...out.matchAll(/^(\S+)\s*: ok=\d+\s+changed=(\d+)/gm)].map((m) => `${m[1]}=${m[2]}`);

test.serial.before(async () => {
  const r = await haplay('ha-setup.yml');
  if (r.code !== 0) throw new Error(`ha-setup failed:\n${r.out}`);
});

test.serial('health.yml on a healthy cluster: every host ok, exit 0', async (t) => {
  const r = await haplay('health.yml');
  t.is(r.code, 0, r.out);
  t.notRegex(r.out, /^failed: /m);
});

test.serial('planned switch (-e force=true): the main stops its telephony, the standby serves; again: nothing changes', async (t) => {
  t.timeout(300_000);
  const r = await haplay('failover.yml', '-e', 'force=true');
  t.is(r.code, 0, r.out);
  t.is(await asterisk('pbx-main'), 'inactive');
  t.is(await asterisk('pbx-standby'), 'active');
  t.is((await labExec('pbx-standby', 'xivo-service status all >/dev/null; echo $?')).stdout, '0\n');
  const again = await haplay('failover.yml', '-e', 'force=true');
  t.is(again.code, 0, again.out);
  t.true(changedCounts(again.out).every((c) => c.endsWith('=0')), changedCounts(again.out).join(' '));
});

test.serial('failback with -e copy_database_back=true: a user created on the standby meanwhile is on the main', async (t) => {
  t.timeout(300_000);
  await labPsql('pbx-standby', "INSERT INTO userfeatures (id, firstname, lastname, tenant_uuid) SELECT 990001, 'Made', 'DuringOutage', tenant_uuid FROM userfeatures LIMIT 1");
  t.is(await labPsql('pbx-main', "SELECT count(*) FROM userfeatures WHERE lastname = 'DuringOutage'"), '0');
  const r = await haplay('failback.yml', '-e', 'copy_database_back=true');
  t.is(r.code, 0, r.out);
  t.is(await labPsql('pbx-main', "SELECT firstname FROM userfeatures WHERE id = 990001"), 'Made');
  t.is(await asterisk('pbx-main'), 'active');
  t.is(await asterisk('pbx-standby'), 'inactive');
});

test.serial('upgrade.yml: standby then main, replication paused and resumed; the cron line is back', async (t) => {
  t.timeout(300_000);
  const r = await haplay('upgrade.yml');
  t.is(r.code, 0, r.out);
  const order = [...r.out.matchAll(/^(?:changed|ok): \[(pbx-\w+)\] => run: echo would upgrade/gm)].map((m) => m[1]);
  t.deepEqual(order, ['pbx-standby', 'pbx-main'], 'the standby is upgraded first');
  t.regex((await labExec('pbx-main', 'cat /etc/cron.d/xivo-ha-master')).stdout, /xivo-master-slave-db-replication 10\.77\.0\.12/);
  t.is(await asterisk('pbx-main'), 'active');
});
