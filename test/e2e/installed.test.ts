// The product as an operator has it: the haplay package built from this checkout and installed with
// apt (the lab's hosts share /usr and /lib with this machine), ha-setup.yml told that the nodes' haplay
// is /usr/bin/haplay. The nodes then run the package's units and its /usr/bin/haplay, not the checkout.
import test from 'ava';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { LAB, labExec, labPsql, useLab } from '../helpers/lab.js';

useLab(test);

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const sh = promisify(execFile);
const INSTALLED = ['-e', 'haplay_command=/usr/bin/haplay'];
const PKG_NODE = '^/usr/lib/haplay/node/bin/node /usr/lib/haplay/dist/cli/index.js';
let installedBefore = false;

function haplay(playbook: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('node', ['dist/cli/index.js', playbook, '-i', LAB.inventory, ...args], { cwd: REPO, maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr }),
    );
  });
}

const recap = (out: string, host: string) => new RegExp(`${host}\\s+: ok=\\d+\\s+changed=(\\d+)\\s+failed=0`).exec(out)?.[1];

async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

test.serial.before(async (t) => {
  t.timeout(600_000);
  installedBefore = (await sh('dpkg-query', ['-W', '-f', '${Status}', 'haplay']).catch(() => ({ stdout: '' }))).stdout === 'install ok installed';
  // Built from this checkout's dist, which npm test has just built (other suites are running it).
  await sh('bash', ['packaging/build-deb.sh'], { cwd: REPO, env: { ...process.env, HAPLAY_PACKAGE_PREBUILT: '1' }, maxBuffer: 64 << 20 });
  const deb = readdirSync(path.join(REPO, 'build')).find((f) => /^haplay_.*\.deb$/.test(f));
  if (!deb) throw new Error('packaging/build-deb.sh left no build/haplay_*.deb');
  await sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', `./build/${deb}`], { cwd: REPO, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const r = await haplay('playbooks/ha-setup.yml', ...INSTALLED);
  if (r.code !== 0) throw new Error(`ha-setup.yml failed:\n${r.out}`);
});

test.after.always(async () => {
  if (!installedBefore) await sh('apt-get', ['purge', '-y', '-qq', 'haplay'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).catch(() => undefined);
});

test.serial("the nodes run the package's units and its /usr/bin/haplay: no copy of a unit in /etc/systemd/system", async (t) => {
  t.is((await labExec('pbx-main', 'ls /lib/systemd/system/haplay-replicate.timer /lib/systemd/system/haplay-replicate.service')).code, 0);
  t.is((await labExec('pbx-main', 'ls -A /etc/systemd/system | grep ^haplay || true')).stdout, '');
  t.is((await labExec('pbx-standby', 'ls -A /etc/systemd/system | grep ^haplay || true')).stdout, '');
  t.is((await labExec('pbx-main', 'systemctl is-active haplay-replicate.timer')).stdout.trim(), 'active');
  await until("the standby's monitor from the package", 60_000, async () =>
    (await labExec('pbx-standby', `pgrep -f '${PKG_NODE} monitor -i /etc/haplay/inventory.yml' --ns $$`)).code === 0);
  await until('the standby monitor standing by', 60_000, async () =>
    /"state": "standing-by"/.test((await labExec('pbx-standby', 'cat /var/lib/haplay/monitor.json 2>/dev/null')).stdout));
  t.is((await labExec('cc', `pgrep -f '${PKG_NODE} monitor' --ns $$`)).code, 0);
});

test.serial("the main's installed haplay replicates to the standby with the node's own files (slice, key, known_hosts)", async (t) => {
  t.timeout(180_000);
  const name = `pkg${Date.now()}`;
  await labPsql('pbx-main', `INSERT INTO userfeatures (firstname, lastname, tenant_uuid) SELECT '${name}', 'installed', tenant_uuid FROM userfeatures LIMIT 1`);
  // What haplay-replicate.service runs, by hand, waiting out a timer run that may hold the lock.
  const r = await labExec('pbx-main', 'cd / && /usr/bin/haplay /etc/haplay/playbooks/replicate.yml -i /etc/haplay/inventory.yml --lock-wait 120');
  t.is(r.code, 0, r.stdout + r.stderr);
  // The timer may have copied the row first: this run then copies nothing, which is as good.
  t.regex(r.stdout, /replicated pbx-main → pbx-standby: \d+ rows in \d+ of \d+ tables/);
  t.regex(r.stdout, /pbx-main\s+: ok=\d+\s+changed=[01]\s+failed=0/);
  t.is(await labPsql('pbx-standby', `SELECT count(*) FROM userfeatures WHERE firstname = '${name}'`), '1');
});

test.serial("the installed `haplay status` on the standby reads the cluster: the main serves", async (t) => {
  const r = await labExec('pbx-standby', '/usr/bin/haplay status -i /etc/haplay/inventory.yml --json');
  t.is(r.code, 0, r.stdout + r.stderr);
  const s = JSON.parse(r.stdout) as { serving: string[] };
  t.deepEqual(s.serving, ['pbx-main']);
});

test.serial('a second ha-setup.yml changes nothing; ha-disable.yml leaves only what the package owns', async (t) => {
  t.timeout(300_000);
  const again = await haplay('playbooks/ha-setup.yml', ...INSTALLED);
  t.is(again.code, 0, again.out);
  for (const h of ['pbx-main', 'pbx-standby', 'cc']) t.is(recap(again.out, h), '0', `${h}:\n${again.out}`);
  const off = await haplay('playbooks/ha-disable.yml', ...INSTALLED);
  t.is(off.code, 0, off.out);
  t.is((await labExec('pbx-standby', 'systemctl is-active haplay-monitor.service')).stdout.trim(), 'inactive');
  t.is((await labExec('pbx-main', 'systemctl is-enabled haplay-replicate.timer')).stdout.trim(), 'disabled');
  t.is((await labExec('pbx-standby', 'ls -A /etc/haplay')).stdout, '');
  t.is((await labExec('pbx-standby', 'ls /lib/systemd/system/haplay-monitor.service')).code, 0, "the package's unit stays until apt remove");
});
