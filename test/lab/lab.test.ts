// The lab itself: hosts, files, databases, stand-ins and faults, checked on what the hosts really hold.
import test from 'ava';
import dgram from 'node:dgram';
import fs from 'node:fs';
import { LAB, lab, labExec, labPsql, useLab } from '../helpers/lab.js';
import { run } from './run.js';

useLab(test);

const sshArgs = (addr: string, cmd: string) => ['ssh', '-i', LAB.privateKey, '-o', `UserKnownHostsFile=${LAB.knownHosts}`,
  '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=3', `root@${addr}`, cmd];

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 15000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test.serial('every host answers over SSH with its own hostname and its own clean /root', async (t) => {
  const machineRoot = fs.readdirSync('/root').sort();
  for (const [name, addr] of Object.entries(LAB.hosts)) {
    const r = await run(sshArgs(addr, 'cat /etc/hostname; hostname; ls -A /root'));
    t.is(r.code, 0, r.stderr);
    const [file, uts, ...home] = r.stdout.trim().split('\n');
    t.is(file, name);
    t.is(uts, name);
    t.deepEqual(home.sort(), ['.bashrc', '.profile', '.ssh']);
    t.notDeepEqual(home.sort(), machineRoot);
  }
});

test.serial('both PBXs run PostgreSQL with the asterisk schema, sample rows and their own network rows', async (t) => {
  for (const host of ['pbx-main', 'pbx-standby']) {
    t.true(Number(await labPsql(host, 'SELECT count(*) FROM userfeatures')) >= 100);
    t.true(Number(await labPsql(host, 'SELECT count(*) FROM cel')) >= 1000);
    t.is(await labPsql(host, "SELECT string_agg(var_name || '=' || var_val, ',' ORDER BY var_name) FROM staticsip WHERE var_name LIKE '%expiry'"),
      'defaultexpiry=120,maxexpiry=3600,minexpiry=60');
    t.is(await labPsql(host, 'SELECT address FROM netiface'), LAB.hosts[host as 'pbx-main']);
    t.is(await labPsql(host, 'SELECT hostname FROM resolvconf'), host);
    t.is(await labPsql(host, "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'asterisk'"), 'UTF8');
  }
  // the circular foreign key between wazo-auth users and tenants
  const fks = await labPsql('pbx-main', "SELECT conrelid::regclass || '>' || confrelid::regclass FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text IN ('auth_user', 'auth_tenant') AND NOT condeferrable ORDER BY 1");
  t.true(fks.includes('auth_user>auth_tenant') && fks.includes('auth_tenant>auth_user'));
  // the asterisk role logs in with its password through TCP on 127.0.0.1
  const r = await labExec('pbx-main', "PGPASSWORD=proformatique psql -h 127.0.0.1 -U asterisk -d asterisk -tAc 'SELECT current_user'");
  t.is(r.stdout.trim(), 'asterisk');
});

test.serial('sysconfd answers GET and applies POST with the documented side effects', async (t) => {
  const get = await labExec('pbx-standby', 'curl -s 127.0.0.1:8668/get_ha_config');
  t.is(get.stdout, '{"node_type": "disabled", "remote_address": ""}');
  const post = await labExec('pbx-standby', `curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"node_type": "slave", "remote_address": "10.77.0.11"}' 127.0.0.1:8668/update_ha_config`);
  t.is(post.stdout, '200');
  const files = await labExec('pbx-standby', 'cat /etc/xivo/ha.conf; echo "|"; grep "^host asterisk" /etc/postgresql/15/main/pg_hba.conf; tail -1 /etc/postgresql/15/main/postgresql.conf; cat /etc/cron.d/xivo-ha-slave; ls /var/lib/wazo');
  t.is(files.stdout, `{"node_type": "slave", "remote_address": "10.77.0.11"}|\nhost asterisk postgres 10.77.0.11/32 trust\nlisten_addresses = '*'\n* * * * * root /usr/sbin/xivo-check-master-status 10.77.0.11 >/dev/null\nis-secondary\nsounds\n`);
  // PostgreSQL was restarted with the new settings: the main can now reach the standby's database
  const remote = await labExec('pbx-main', "psql -h 10.77.0.12 -U postgres -d asterisk -tAc 'SELECT 1'");
  t.is(remote.stdout.trim(), '1', remote.stderr);
  const logged = await labExec('pbx-standby', 'grep "Updating resilience state" /var/log/xivo-sysconfd.log');
  t.regex(logged.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[\d+\] \(INFO\) \(xivo_sysconf\.modules\.ha\): Updating resilience state, from: False to: True$/m);

  await labExec('pbx-main', `curl -s -X POST -d '{"node_type": "master", "remote_address": "10.77.0.12"}' 127.0.0.1:8668/update_ha_config`);
  const main = await labExec('pbx-main', 'cat /etc/cron.d/xivo-ha-master; ls /var/lib/wazo; curl -sk https://127.0.0.1/configmgt/api/2.0/sysconfd/get_ha_config');
  t.is(main.stdout, '0 * * * * root /usr/sbin/xivo-master-slave-db-replication 10.77.0.12 >/dev/null\n0 * * * * root /usr/bin/xivo-sync >/dev/null\nis-primary\nsounds\n{"node_type": "master", "remote_address": "10.77.0.12"}');

  await labExec('pbx-standby', `curl -s -X POST -d '{"node_type": "disabled", "remote_address": ""}' 127.0.0.1:8668/update_ha_config`);
  const off = await labExec('pbx-standby', 'ls /etc/cron.d; ls /var/lib/wazo; grep -c "^host asterisk" /etc/postgresql/15/main/pg_hba.conf; grep -c "^listen_addresses" /etc/postgresql/15/main/postgresql.conf; tail -1 /var/log/xivo-sysconfd.log; grep -c "from: True to: False" /var/log/xivo-sysconfd.log');
  t.is(off.stdout.replace(/^.*\(INFO\) /m, ''), 'sounds\n0\n0\n(xivo_sysconf.modules.ha): Removing sentinel files.\n1\n');
});

test.serial('xivo-service status prints one line per unit and exits 1 when stopped, 2 when failed', async (t) => {
  const ok = await labExec('pbx-main', 'xivo-service status all');
  t.is(ok.code, 0);
  t.true(ok.stdout.startsWith('Checking database...\n\tOK\nChecking services...\n'));
  t.regex(ok.stdout, /^\trunning\t\tasterisk$/m);
  t.regex(ok.stdout, /^\trunning\t\tpostgresql$/m);
  await labExec('pbx-main', 'systemctl stop asterisk');
  const stopped = await labExec('pbx-main', 'xivo-service status');
  t.is(stopped.code, 1);
  t.regex(stopped.stdout, /^\tstopped\t\tasterisk$/m);
  await labExec('pbx-main', 'systemctl start asterisk && kill -9 $(cat /run/hplab/xivo-confd.pid)');
  const failed = await labExec('pbx-main', 'xivo-service status');
  t.is(failed.code, 2);
  t.regex(failed.stdout, /^\tfailed\t\txivo-confd$/m);
  const restart = await labExec('pbx-main', 'xivo-service restart && xivo-service status all');
  t.is(restart.code, 0, restart.stdout);
  t.regex(restart.stdout, /Closing port 5060\.\n/);
  t.regex(restart.stdout, /XiVO fully booted\n/);
});

test.serial('xivo-manage-slave-services stop keeps the telephony group down, start brings it back', async (t) => {
  const stop = await labExec('pbx-standby', 'xivo-manage-slave-services stop; test -e /var/lib/xivo/disabled && echo disabled; systemctl is-active asterisk xivo-confd xivo-sysconfd monit; systemctl is-enabled monit');
  t.is(stop.stdout.split('\n').filter((l) => /^(disabled|active|inactive|enabled)$/.test(l)).join(' '), 'disabled inactive active active inactive disabled');
  t.regex(stop.stdout, /^asterisk is disabled$/m);
  const start = await labExec('pbx-standby', 'xivo-manage-slave-services start; test -e /var/lib/xivo/disabled || echo enabled; xivo-service status all >/dev/null; echo rc=$?');
  t.regex(start.stdout, /^enabled\nrc=0$/m);
});

test.serial('asterisk answers SIP OPTIONS on udp 5060', async (t) => {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, LAB.control, r));
  const callId = `lab-test-${Date.now()}@10.77.0.1`;
  const msg = ['OPTIONS sip:10.77.0.11:5060 SIP/2.0', `Via: SIP/2.0/UDP 10.77.0.1:${sock.address().port};branch=z9hG4bKlab1`,
    'From: <sip:test@10.77.0.1>;tag=abc', 'To: <sip:10.77.0.11:5060>', `Call-ID: ${callId}`, 'CSeq: 7 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n');
  const reply = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no SIP reply')), 3000);
    sock.on('message', (m) => { clearTimeout(timer); resolve(m.toString()); });
    sock.send(msg, 5060, LAB.hosts['pbx-main']);
  });
  sock.close();
  t.true(reply.startsWith('SIP/2.0 200 OK\r\n'));
  t.true(reply.includes(`Call-ID: ${callId}\r\n`));
  t.true(reply.includes('CSeq: 7 OPTIONS\r\n'));
  t.true(reply.includes('branch=z9hG4bKlab1'));
});

test.serial('CC: xivocc-dcomp restart xuc, then its readiness line appears in its logs', async (t) => {
  const before = (await labExec('cc', 'xivocc-dcomp logs xuc | grep -c "Listening for HTTP"')).stdout.trim();
  const r = await labExec('cc', 'xivocc-dcomp restart xuc');
  t.regex(r.stdout, /Container xivocc-xuc-1 {2}Started/);
  await until('xuc readiness', async () => {
    const n = (await labExec('cc', 'xivocc-dcomp logs xuc | grep -c "p.c.s.AkkaHttpServer - Listening for HTTP on /0.0.0.0:8090"')).stdout.trim();
    return Number(n) > Number(before);
  });
  const page = await run(['curl', '-sk', `https://${LAB.hosts.cc}/`]);
  t.regex(page.stdout, /XiVO CC/);
  t.is((await labExec('cc', 'test -f /var/log/syslog')).code, 0);
});

test.serial('fault down: the Edge prober logs Destination down, the host is unreachable; fault up: it boots and comes back', async (t) => {
  const since = () => labExec('edge', 'edge-dcomp logs -t kamailio').then((r) => r.stdout);
  const downLine = 'WARNING: <script>: Destination down: OPTIONS sip:10.77.0.11:5060;transport=udp (<null>)';
  const upLine = '<script>: Destination up: OPTIONS sip:10.77.0.11:5060;transport=udp';
  const count = (s: string, l: string) => s.split('\n').filter((x) => x.includes(l)).length;
  const base = await since();
  await lab.fault('pbx-main', 'down');
  const logs = await until('Destination down', async () => { const s = await since(); return count(s, downLine) > count(base, downLine) && s; });
  t.regex(logs, /^kamailio-1 \| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z 13\(20\) WARNING: <script>: Destination down: OPTIONS sip:10\.77\.0\.11:5060;transport=udp \(<null>\)$/m);
  t.not((await run(sshArgs(LAB.hosts['pbx-main'], 'true'))).code, 0);
  // nginx on the Edge falls back to the standby and says so
  await run(['curl', '-sk', '-m', '8', `https://${LAB.hosts.edge}/xivo/`]);
  const nginx = await labExec('edge', 'edge-dcomp logs -t nginx');
  t.regex(nginx.stdout, /^nginx-1 \| \S+Z .*upstream server temporarily disabled while connecting to upstream/m);
  await lab.fault('pbx-main', 'up');
  await until('Destination up', async () => count(await since(), upLine) > count(base, upLine));
  const ssh = await run(sshArgs(LAB.hosts['pbx-main'], 'xivo-service status all >/dev/null; echo $?'));
  t.is(ssh.stdout.trim(), '0');
});

test.serial('partition cuts two hosts apart, heal joins them', async (t) => {
  const ping = (from: string, to: string) => labExec(from, `ping -c1 -W1 ${to} >/dev/null && echo ok || echo ko`).then((r) => r.stdout.trim());
  await lab.partition('pbx-main', 'pbx-standby');
  t.is(await ping('pbx-main', LAB.hosts['pbx-standby']), 'ko');
  t.is(await ping('pbx-standby', LAB.hosts['pbx-main']), 'ko');
  t.is(await ping('pbx-main', LAB.hosts.cc), 'ok');
  t.is(await ping('pbx-standby', LAB.control), 'ok');
  await lab.heal();
  t.is(await ping('pbx-main', LAB.hosts['pbx-standby']), 'ok');
});

test.serial('slow adds latency to what the host sends, 0 removes it', async (t) => {
  const rtt = async () => {
    const r = await labExec('pbx-main', `ping -c3 -i0.2 -q ${LAB.hosts['pbx-standby']} | tail -1`);
    return Number(r.stdout.split('/')[4]);
  };
  const base = await rtt();
  await lab.slow('pbx-main', 150);
  const slowed = await rtt();
  t.true(slowed >= base + 140, `rtt ${base} -> ${slowed}`);
  await lab.slow('pbx-main', 0);
  t.true((await rtt()) < 100);
});

test.serial('reset restores a changed file and a changed row', async (t) => {
  await labExec('pbx-main', 'echo changed > /etc/asterisk/extensions_extra.d/lab-custom.conf; touch /etc/xivo/ha.conf');
  await labPsql('pbx-main', "UPDATE userfeatures SET firstname = 'Changed' WHERE id = 1");
  await lab.reset();
  const file = await labExec('pbx-main', 'head -1 /etc/asterisk/extensions_extra.d/lab-custom.conf; test -e /etc/xivo/ha.conf && echo ha');
  t.is(file.stdout, '[lab-custom]\n');
  t.is(await labPsql('pbx-main', 'SELECT firstname FROM userfeatures WHERE id = 1'), 'User1');
});

test.serial('down leaves no namespace, link, process or mount behind (then the lab comes back up)', async (t) => {
  await lab.down();
  t.deepEqual(await lab.leftovers(), []);
  await lab.down(); // idempotent
  await lab.up();
  const r = await run(sshArgs(LAB.hosts['pbx-standby'], 'hostname'));
  t.is(r.stdout.trim(), 'pbx-standby');
});
