// ha-setup.yml and ha-disable.yml on the lab, through the real CLI (npm test builds dist first):
// check mode predicts the first run, the second run changes nothing, the hosts hold exactly the
// documented bytes and rows, and setup then disable leaves both PBXs as the fresh lab.
import test from 'ava';
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { RunEvent } from '../../src/core/types.js';
import { LAB, lab, labExec, labPsql, useLab } from '../helpers/lab.js';

useLab(test);

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const PBX = ['pbx-main', 'pbx-standby'] as const;
const UPSTREAM = ['-e', 'ha_engine=upstream'];

interface Run {
  code: number;
  events: RunEvent[];
  stderr: string;
  ms: number;
}

function haplay(playbook: string, ...args: string[]): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile('node', ['dist/cli/index.js', playbook, '-i', LAB.inventory, '--json', ...args], { cwd: REPO, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      const events = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as RunEvent);
      resolve({ code, events, stderr, ms: Date.now() - t0 });
    });
  });
}

/** "host › task: change" for every planned or applied change. */
function changes(r: Run): string[] {
  return r.events.flatMap((e) => (e.type === 'host_result' && e.status === 'changed' ? (e.changes ?? []).map((c) => `${e.host} › ${e.task}: ${c}`) : []));
}
const changedTasks = (r: Run) => r.events.filter((e) => e.type === 'host_result' && e.status === 'changed');
const touchedHosts = (r: Run) => new Set(r.events.flatMap((e) => (e.type === 'host_result' && e.status !== 'skipped' ? [e.host] : [])));

/** Everything HA touches on a PBX, as bytes and rows. */
async function snapshot(host: string): Promise<Record<string, string>> {
  const files = [
    '/etc/xivo/ha.conf', '/etc/postgresql/15/main/pg_hba.conf', '/etc/postgresql/15/main/postgresql.conf',
    '/etc/cron.d/xivo-ha-master', '/etc/cron.d/xivo-ha-slave', '/var/lib/wazo/is-primary', '/var/lib/wazo/is-secondary',
    '/var/lib/xivo-provd/jsondb/configs/default', '/var/lib/xivo-provd/jsondb/configs/registrar-lab', '/root/.ssh/authorized_keys',
    '/root/.ssh/xivo_id_rsa', '/root/.ssh/xivo_id_rsa.pub', '/var/lib/xivo/disabled',
    '/etc/systemd/system/haplay-monitor.service', '/etc/systemd/system/haplay-replicate.timer', '/etc/systemd/system/haplay-replicate.service',
    '/etc/haplay/inventory.yml', '/etc/haplay/id_ed25519', '/etc/haplay/known_hosts',
  ];
  const r = await labExec(host, files.map((f) => `if [ -e ${f} ]; then printf '%s ' ${f}; sha256sum < ${f} | cut -c1-16; else echo "${f} absent"; fi`).join('\n') + '\necho "replication-record $(ls -A /var/lib/haplay/pg-replicate 2>/dev/null)"' + '\nls -A /etc/cron.d /var/lib/wazo /root/.ssh /etc/haplay /etc/systemd/system | tr "\\n" " "' + '\necho "haplay-units $(systemctl is-active haplay-monitor haplay-replicate.timer | tr "\\n" " ")"');
  const out: Record<string, string> = {};
  for (const l of r.stdout.trim().split('\n')) {
    const i = l.indexOf(' ');
    out[l.slice(0, i)] = l.slice(i + 1);
  }
  out.staticsip = await labPsql(host, "SELECT string_agg(var_name || '=' || var_val || '/' || commented, ',' ORDER BY id) FROM staticsip WHERE filename = 'sip.conf' AND category = 'general'");
  return out;
}
const read = async (host: string, file: string) => (await labExec(host, `cat ${file}`)).stdout;
const exists = async (host: string, file: string) => (await labExec(host, `test -e ${file}`)).code === 0;
const expiry = (host: string) =>
  labPsql(host, "SELECT string_agg(var_name || '=' || var_val, ',' ORDER BY var_name) FROM staticsip WHERE filename = 'sip.conf' AND category = 'general' AND var_name LIKE '%expiry'");

test.serial('an invalid remote address is refused before any host is touched', async (t) => {
  const before = await Promise.all(PBX.map(snapshot));
  const r = await haplay('playbooks/ha-setup.yml', '-e', 'standby_address=10.77.0.300');
  t.is(r.code, 4, 'refused at load time, as invalid input');
  t.regex(r.stderr, /\[E_PARAMS\].*host pbx-main › key ha-config\.remote_address: must be a valid IPv4 address, not "10\.77\.0\.300"/);
  t.deepEqual(r.events, [], 'nothing ran: not even the run started');
  t.deepEqual(await Promise.all(PBX.map(snapshot)), before);
});

test.serial('setup with ha_engine upstream: check predicts, run sets the documented state (cron lines included), second run changes nothing; disable restores the fresh lab', async (t) => {
  // Other suites replicate on this lab: a node that never had HA has no replication record either.
  await Promise.all(PBX.map((h) => labExec(h, 'rm -rf /var/lib/haplay')));
  const fresh = Object.fromEntries(await Promise.all(PBX.map(async (h) => [h, await snapshot(h)] as const)));

  const check = await haplay('playbooks/ha-setup.yml', '--check', ...UPSTREAM);
  t.is(check.code, 0, check.stderr);
  t.deepEqual(await snapshot('pbx-main'), fresh['pbx-main'], 'check mode changed nothing on the main');
  t.deepEqual(await snapshot('pbx-standby'), fresh['pbx-standby'], 'check mode changed nothing on the standby');

  const first = await haplay('playbooks/ha-setup.yml', ...UPSTREAM);
  t.is(first.code, 0, first.stderr + JSON.stringify(first.events.filter((e) => e.type === 'host_result' && e.status === 'failed')));
  const pluginTasks = (c: string) => !/HA key|restart services|telephony while the main answers|copy the database|sync the configuration/.test(c);
  t.deepEqual(changes(first).filter(pluginTasks).sort(), changes(check).filter(pluginTasks).sort(), 'check mode predicted the plugin changes exactly');
  t.true(changedTasks(first).length > 0);

  // The documented bytes (domain.md §1) and rows (§6), and provd (§7).
  t.is(await read('pbx-main', '/etc/xivo/ha.conf'), '{"node_type": "master", "remote_address": "10.77.0.12"}');
  t.is(await read('pbx-standby', '/etc/xivo/ha.conf'), '{"node_type": "slave", "remote_address": "10.77.0.11"}');
  t.is(await read('pbx-main', '/etc/cron.d/xivo-ha-master'),
    '0 * * * * root /usr/sbin/xivo-master-slave-db-replication 10.77.0.12 >/dev/null\n0 * * * * root /usr/bin/xivo-sync >/dev/null\n');
  t.is(await read('pbx-standby', '/etc/cron.d/xivo-ha-slave'), '* * * * * root /usr/sbin/xivo-check-master-status 10.77.0.11 >/dev/null\n');
  t.false(await exists('pbx-main', '/etc/cron.d/xivo-ha-slave'));
  t.false(await exists('pbx-standby', '/etc/cron.d/xivo-ha-master'));
  t.true(await exists('pbx-main', '/var/lib/wazo/is-primary'));
  t.false(await exists('pbx-main', '/var/lib/wazo/is-secondary'));
  t.true(await exists('pbx-standby', '/var/lib/wazo/is-secondary'));
  t.false(await exists('pbx-standby', '/var/lib/wazo/is-primary'));
  const hba = await read('pbx-standby', '/etc/postgresql/15/main/pg_hba.conf');
  t.true(hba.endsWith('\nhost asterisk postgres 10.77.0.11/32 trust\n'));
  t.is(hba.split('\n').filter((l) => l.startsWith('host asterisk postgres')).length, 1);
  t.true((await read('pbx-standby', '/etc/postgresql/15/main/postgresql.conf')).endsWith("\nlisten_addresses = '*'\n"));
  t.false((await read('pbx-main', '/etc/postgresql/15/main/pg_hba.conf')).includes('host asterisk postgres'));
  for (const h of PBX) t.is(await expiry(h), 'defaultexpiry=120,maxexpiry=300,minexpiry=60', `${h} SIP expiry 1/5/2 min`);
  const provd = JSON.parse(await read('pbx-main', '/var/lib/xivo-provd/jsondb/configs/default'));
  t.like(provd, { registrar_backup: '10.77.0.12', proxy_backup: '10.77.0.12', registrar_main: '10.77.0.11' });
  t.is(JSON.parse(await read('pbx-main', '/var/lib/xivo-provd/jsondb/configs/registrar-lab')).registrar_backup, '', 'xivo edits config default only');
  t.is(JSON.parse(await read('pbx-standby', '/var/lib/xivo-provd/jsondb/configs/default')).registrar_backup, '', 'the standby keeps its provd configs');
  const pub = (await read('pbx-main', '/root/.ssh/xivo_id_rsa.pub')).trim();
  t.regex(pub, /^ssh-rsa \S+ XiVO HA$/);
  t.true((await read('pbx-standby', '/root/.ssh/authorized_keys')).split('\n').includes(pub));
  t.true(first.events.some((e) => e.type === 'host_result' && e.task === 'restart services' && e.host === 'pbx-main' && e.status === 'changed'), 'services restarted on the main');
  t.true(first.events.some((e) => e.type === 'host_result' && e.task === 'reminders (seeds)' && /resynchronise the devices/.test(e.msg ?? '')));

  // The standby stands by (telephony stopped, as its cron would) and holds the main's configuration.
  t.is((await labExec('pbx-standby', 'systemctl is-active asterisk; test -e /var/lib/xivo/disabled && echo disabled')).stdout, 'inactive\ndisabled\n');
  t.is(await labPsql('pbx-standby', 'SELECT count(*) FROM userfeatures'), await labPsql('pbx-main', 'SELECT count(*) FROM userfeatures'));

  const second = await haplay('playbooks/ha-setup.yml', ...UPSTREAM);
  t.is(second.code, 0, second.stderr);
  t.deepEqual(changes(second), [], 'second run changes nothing');
  t.log(`ha-setup: first run ${first.ms} ms, no-op run ${second.ms} ms`);

  const recheck = await haplay('playbooks/ha-setup.yml', '--check', ...UPSTREAM);
  t.deepEqual(changes(recheck), [], 'check mode after setup predicts nothing');

  const disable = await haplay('playbooks/ha-disable.yml', ...UPSTREAM);
  t.is(disable.code, 0, disable.stderr + JSON.stringify(disable.events.filter((e) => e.type === 'host_result' && e.status === 'failed')));
  t.deepEqual(await snapshot('pbx-main'), fresh['pbx-main'], 'main as fresh after disable');
  t.deepEqual(await snapshot('pbx-standby'), fresh['pbx-standby'], 'standby as fresh after disable');
  const again = await haplay('playbooks/ha-disable.yml', ...UPSTREAM);
  t.deepEqual(changes(again), [], 'disable twice: the second changes nothing');
});

test.serial('setup with ha_engine haplay (the default): units and their files on each node, no upstream cron line; check predicts, second run changes nothing; disable removes it all', async (t) => {
  t.timeout(600_000);
  await Promise.all(PBX.map((h) => labExec(h, 'rm -rf /var/lib/haplay')));
  const fresh = Object.fromEntries(await Promise.all(PBX.map(async (h) => [h, await snapshot(h)] as const)));
  const freshCcKeys = await read('cc', '/root/.ssh/authorized_keys');
  const check = await haplay('playbooks/ha-setup.yml', '--check');
  t.is(check.code, 0, check.stderr);
  t.deepEqual(await snapshot('pbx-standby'), fresh['pbx-standby'], 'check mode changed nothing');
  const first = await haplay('playbooks/ha-setup.yml');
  t.is(first.code, 0, first.stderr + JSON.stringify(first.events.filter((e) => e.type === 'host_result' && e.status === 'failed')));
  const engine = (r: Run) => changes(r).filter((c) => c.includes('replication timer, monitor')).sort();
  t.deepEqual(engine(first), engine(check), 'check mode predicted every ha-engine change');
  t.true(engine(first).length >= 3);

  t.false(await exists('pbx-main', '/etc/cron.d/xivo-ha-master'), 'no hourly upstream replication');
  t.false(await exists('pbx-standby', '/etc/cron.d/xivo-ha-slave'), 'no upstream check-master cron line');
  t.regex(await read('pbx-main', '/etc/systemd/system/haplay-replicate.service'),
    /\nExecStart=\/usr\/local\/sbin\/haplay \/etc\/haplay\/playbooks\/replicate\.yml -i \/etc\/haplay\/inventory\.yml\n/);
  t.regex(await read('pbx-main', '/etc/systemd/system/haplay-replicate.timer'), /\nOnUnitActiveSec=60s\n/);
  t.regex(await read('pbx-standby', '/etc/systemd/system/haplay-monitor.service'), /\nExecStart=\/usr\/local\/sbin\/haplay monitor -i \/etc\/haplay\/inventory\.yml\nRestart=always\n/);
  t.is((await labExec('pbx-main', 'systemctl is-active haplay-replicate.timer; systemctl is-enabled haplay-replicate.timer')).stdout, 'active\nenabled\n');
  for (const h of ['pbx-standby', 'cc']) t.is((await labExec(h, 'systemctl is-active haplay-monitor; systemctl is-enabled haplay-monitor')).stdout, 'active\nenabled\n', h);
  t.is((await labExec('pbx-standby', 'stat -c "%a %n" /etc/haplay/inventory.yml /etc/haplay/id_ed25519')).stdout, '600 /etc/haplay/inventory.yml\n600 /etc/haplay/id_ed25519\n');
  // The slice: the standby's peers only, no admin key path; the node's own key, authorised on its peers.
  const slice = await read('pbx-standby', '/etc/haplay/inventory.yml');
  t.regex(slice, /private_key: \/etc\/haplay\/id_ed25519/);
  t.notRegex(slice, /\.lab\//, 'nothing of the admin machine');
  const pub = (await read('pbx-standby', '/etc/haplay/id_ed25519.pub')).trim();
  t.regex(pub, /^ssh-ed25519 \S+ haplay@pbx-standby$/);
  for (const peer of ['pbx-main', 'cc', 'edge']) t.true((await read(peer, '/root/.ssh/authorized_keys')).split('\n').includes(pub), peer);
  // known_hosts holds the main's real host key: the standby reaches it with strict checking.
  const ssh = await labExec('pbx-standby', `ssh -i /etc/haplay/id_ed25519 -o UserKnownHostsFile=/etc/haplay/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes root@${LAB.hosts['pbx-main']} hostname`);
  t.is(ssh.stdout, 'pbx-main\n', ssh.stderr);

  const second = await haplay('playbooks/ha-setup.yml');
  t.is(second.code, 0, second.stderr);
  t.deepEqual(changes(second), [], 'second run changes nothing');
  const recheck = await haplay('playbooks/ha-setup.yml', '--check');
  t.deepEqual(changes(recheck), [], 'check mode after setup predicts nothing');

  const disable = await haplay('playbooks/ha-disable.yml');
  t.is(disable.code, 0, disable.stderr + JSON.stringify(disable.events.filter((e) => e.type === 'host_result' && e.status === 'failed')));
  t.deepEqual(await snapshot('pbx-main'), fresh['pbx-main'], 'main as fresh after disable');
  t.deepEqual(await snapshot('pbx-standby'), fresh['pbx-standby'], 'standby as fresh after disable');
  t.is(await read('cc', '/root/.ssh/authorized_keys'), freshCcKeys, "the CC's root keys as before");
  t.is((await labExec('cc', 'systemctl is-active haplay-monitor; ls -A /etc/haplay')).stdout, 'inactive\n');
  const again = await haplay('playbooks/ha-disable.yml');
  t.deepEqual(changes(again), [], 'disable twice: the second changes nothing');
});

test.serial('setup with the standby down fails clearly and leaves the main as it was', async (t) => {
  const before = await snapshot('pbx-main');
  await lab.fault('pbx-standby', 'down');
  try {
    const r = await haplay('playbooks/ha-setup.yml');
    t.not(r.code, 0);
    t.true([2, 3].includes(r.code), `exit ${r.code}`);
    const standby = r.events.find((e) => e.type === 'host_result' && e.host === 'pbx-standby' && e.status === 'unreachable');
    t.truthy(standby, 'the standby is reported unreachable');
    t.is(r.code, 3);
    t.true(r.events.some((e) => e.type === 'warning' && /any_errors_fatal/.test(e.message)), 'the play stops on every host, and says why');
    t.deepEqual(changes(r), []);
  } finally {
    await lab.fault('pbx-standby', 'up');
  }
  t.deepEqual(await snapshot('pbx-main'), before, 'the main is untouched');
});

