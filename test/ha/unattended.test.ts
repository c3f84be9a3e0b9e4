// Unattended HA on the lab: after ha-setup.yml and no other command, the nodes' own units keep the
// cluster up (haplay-monitor.service on the standby and the CC, haplay-replicate.timer on the
// main). Faults come from the lab; every assertion reads what the hosts hold or run.
import test from 'ava';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { LAB, lab, labExec, labPsql, useLab } from '../helpers/lab.js';

useLab(test);

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

function haplay(playbook: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('node', ['dist/cli/index.js', playbook, '-i', LAB.inventory, ...args], { cwd: REPO, maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr }),
    );
  });
}

const active = async (host: string, unit: string) => (await labExec(host, `systemctl is-active ${unit}`)).stdout.trim();
const serves = async (host: string) => (await active(host, 'asterisk')) === 'active';
const monitorLog = async (host: string) => (await labExec(host, 'cat /var/log/hplab/haplay-monitor.log')).stdout;
const monitorPid = async (host: string) => (await labExec(host, "pgrep -f '^node /opt/haplay-lab/dist/cli/index.js monitor' -n --ns $$ || true")).stdout.trim();
const state = async () => {
  const r = await labExec('pbx-standby', 'cat /var/lib/haplay/monitor.json');
  return r.code === 0 ? (JSON.parse(r.stdout) as { state: string; reason: string }) : null;
};

/** Polls until `check` holds; fails with the monitor's log when it does not within `ms`. */
async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await check()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what}: not within ${ms / 1000} s\n--- standby monitor log ---\n${(await monitorLog('pbx-standby')).slice(-6000)}`);
}

/** Samples both PBXs' telephony once a second for `seconds`; returns the seconds the standby served. */
async function standbyServedSeconds(seconds: number): Promise<number> {
  let served = 0;
  for (let i = 0; i < seconds; i++) {
    const t0 = Date.now();
    if (await serves('pbx-standby')) served++;
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - t0))));
  }
  return served;
}

test.serial.before(async (t) => {
  t.timeout(400_000);
  const r = await haplay('playbooks/ha-setup.yml');
  if (r.code !== 0) throw new Error(`ha-setup failed:\n${r.out}`);
  await until('the standby monitor is standing by', 60_000, async () => (await state())?.state === 'standing-by');
});

test.serial('setup leaves the units running: the timer on the main, the monitor on the standby and the CC; no upstream cron line', async (t) => {
  t.is(await active('pbx-main', 'haplay-replicate.timer'), 'active');
  t.is(await active('pbx-standby', 'haplay-monitor'), 'active');
  t.is(await active('cc', 'haplay-monitor'), 'active');
  t.is(await active('pbx-main', 'haplay-monitor'), 'inactive');
  t.is((await labExec('pbx-main', 'ls -A /etc/cron.d')).stdout, '');
  t.is((await labExec('pbx-standby', 'ls -A /etc/cron.d')).stdout, '');
  t.is((await labExec('pbx-standby', 'stat -c %a /etc/haplay/inventory.yml /etc/haplay/id_ed25519')).stdout, '600\n600\n');
  t.true(await serves('pbx-main'));
  t.false(await serves('pbx-standby'));
});

test.serial('the monitor process killed: its supervisor restarts it and no switch happens', async (t) => {
  t.timeout(120_000);
  const before = await monitorPid('pbx-standby');
  t.regex(before, /^\d+$/);
  await labExec('pbx-standby', `kill -9 ${before}`);
  await until('a new monitor process', 30_000, async () => /^\d+$/.test(await monitorPid('pbx-standby')) && (await monitorPid('pbx-standby')) !== before);
  t.is(await standbyServedSeconds(15), 0, 'the standby never started its telephony');
  t.true(await serves('pbx-main'));
});

test.serial('a partition between standby and main while the witnesses still hear the main: the standby stays off for the whole minute', async (t) => {
  t.timeout(180_000);
  await lab.partition('pbx-standby', 'pbx-main');
  try {
    t.is(await standbyServedSeconds(60), 0);
    t.regex((await state())?.reason ?? '', /the main answers SIP \(from (cc|edge)\)/);
  } finally {
    await lab.heal();
  }
  t.true(await serves('pbx-main'));
});

test.serial('the standby cut off from the main and from every witness: degraded, no takeover', async (t) => {
  t.timeout(180_000);
  for (const h of ['pbx-main', 'cc', 'edge']) await lab.partition('pbx-standby', h);
  try {
    await until('the monitor says it is degraded', 60_000, async () => (await state())?.state === 'degraded');
    t.is(await standbyServedSeconds(20), 0);
    t.regex((await state())?.reason ?? '', /no witness answers \(cc, edge\).*force=true/);
  } finally {
    await lab.heal();
  }
  await until('standing by again', 60_000, async () => (await state())?.state === 'standing-by');
});

test.serial('RPO: a user created on the main reaches the standby by the replication timer alone', async (t) => {
  t.timeout(240_000);
  const name = `rpo${Date.now()}`;
  await labPsql('pbx-main', `INSERT INTO userfeatures (firstname, lastname, tenant_uuid) SELECT '${name}', 'unattended', tenant_uuid FROM userfeatures LIMIT 1`);
  const ms = await until('the user on the standby', 150_000, async () => (await labPsql('pbx-standby', `SELECT count(*) FROM userfeatures WHERE firstname = '${name}'`)) === '1');
  t.log(`the user was on the standby ${(ms / 1000).toFixed(1)} s after its creation (timer every 60 s)`);
  t.regex((await labExec('pbx-main', 'cat /var/log/hplab/haplay-replicate.log')).stdout, /PLAY RECAP/);
});

test.serial('Asterisk stopped on the main: the main is fenced, the standby serves, the Edge and the CC follow', async (t) => {
  t.timeout(400_000);
  const t0 = Date.now();
  await labExec('pbx-main', 'systemctl stop asterisk');
  const ms = await until('the standby serves', 180_000, () => serves('pbx-standby'));
  t.log(`Asterisk stopped → standby serving: ${(ms / 1000).toFixed(1)} s`);
  await until('the main fenced (telephony disabled, nginx stopped)', 180_000, async () =>
    (await labExec('pbx-main', 'test -e /var/lib/xivo/disabled && ! systemctl is-active -q nginx')).code === 0);
  t.false(await serves('pbx-main'));
  // The Edge's nginx now reaches the standby's web services (the main's nginx no longer answers).
  await until("the Edge's nginx sends to the standby", 120_000, async () =>
    (await labExec('edge', 'curl -sk --max-time 3 https://127.0.0.1/configmgt/api/2.0/sysconfd/get_ha_config')).stdout.includes('slave'));
  // The CC: xuc restarted after the standby's telephony started (its readiness line is newer).
  const since = Number((await labExec('pbx-standby', 'echo $(( $(date +%s) - $(ps -o etimes= -p $(systemctl show -p MainPID --value asterisk)) ))')).stdout.trim());
  await until('xuc restarted after the switch', 120_000, async () => {
    const l = (await labExec('cc', "grep 'Listening for HTTP' /var/log/containers/xuc.log | tail -1 | cut -d' ' -f1")).stdout.trim();
    return l !== '' && Date.parse(l) / 1000 >= since - 1;
  });
  await until('the monitor says the standby serves', 120_000, async () => (await state())?.state === 'serving');
  t.regex((await state())?.reason ?? '', /never went away/);
  t.log(`Asterisk stopped → fenced, CC and Edge switched: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // Repaired: the operator hands back by hand (a half-dead main is never handed back by itself).
  const back = await haplay('playbooks/failback.yml');
  t.is(back.code, 0, back.out);
  t.true(await serves('pbx-main'));
  t.false(await serves('pbx-standby'));
  await until('standing by again', 60_000, async () => (await state())?.state === 'standing-by');
});

test.serial('main host down: the standby serves with no command typed; back, it is fenced, held, then handed back with the voicemail left meanwhile', async (t) => {
  t.timeout(900_000);
  await lab.fault('pbx-main', 'down');
  let up = false;
  try {
    const ms = await until('the standby serves', 180_000, () => serves('pbx-standby'));
    t.log(`main host down → standby serving: ${(ms / 1000).toFixed(1)} s`);
    await until('the monitor serving', 180_000, async () => (await state())?.state === 'serving');
    const vm = '/var/spool/asterisk/voicemail/default/1001/INBOX/msg0099.txt';
    await labExec('pbx-standby', `mkdir -p $(dirname ${vm}) && echo 'left during the outage' > ${vm}`);
    await lab.fault('pbx-main', 'up');
    up = true;
    const backAt = Date.now();
    await until('the returning main fenced', 240_000, async () => (await labExec('pbx-main', 'test -e /var/lib/xivo/disabled')).code === 0);
    t.true(await serves('pbx-standby'), 'the standby keeps the service while the main is held');
    // The monitor's own failback.yml has ended, and the monitor stands by again.
    await until('the monitor handed back and stands by', 480_000, async () =>
      /failback\.yml ended with exit code 0/.test(await monitorLog('pbx-standby')) && (await state())?.state === 'standing-by');
    const held = Date.now() - backAt;
    t.true(await serves('pbx-main'), 'the main serves again');
    t.false(await serves('pbx-standby'), 'the standby stands by');
    t.log(`main back → served again: ${(held / 1000).toFixed(1)} s (hold time 30 s)`);
    t.true(held >= 30_000, 'not handed back before the hold time');
    t.is((await labExec('pbx-main', `cat ${vm}`)).stdout, 'left during the outage\n');
    t.regex(await monitorLog('pbx-standby'), /running failback\.yml/);
  } finally {
    if (!up) await lab.fault('pbx-main', 'up');
  }
});

test.serial("the standby reboots: its monitor comes back by itself", async (t) => {
  t.timeout(240_000);
  await lab.fault('pbx-standby', 'down');
  await lab.fault('pbx-standby', 'up');
  await until('the monitor running again', 60_000, async () => (await active('pbx-standby', 'haplay-monitor')) === 'active');
  await until('standing by', 180_000, async () => (await state())?.state === 'standing-by');
  t.false(await serves('pbx-standby'));
  t.true(await serves('pbx-main'));
});
