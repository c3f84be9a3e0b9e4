// Failover and failback on the lab, with real faults: the main taken down (cable pulled, every
// process killed), a partition between standby and main, a broken cron file. Every assertion reads
// what the hosts hold (processes, files, status exit codes), never what haplay says it did.
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LAB, lab, labExec, useLab } from '../helpers/lab.js';

useLab(test);

const ROOT = process.cwd();

interface Run {
  code: number;
  out: string;
  ms: number;
}

/** haplay PLAYBOOK -i lab inventory ARGS..., as an operator runs it (plain output: not a terminal). */
// The manual failover path, on a cluster set up with the upstream cron lines: haplay's own monitor
// would take over by itself (test/ha/unattended covers that).
const UPSTREAM = ['-e', 'ha_engine=upstream'];

function haplay(playbook: string, ...args: string[]): Promise<Run> {
  const start = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import=tsx', path.join(ROOT, 'src/cli/index.ts'), playbook, '-i', LAB.inventory, ...UPSTREAM, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const killer = setTimeout(() => child.kill('SIGTERM'), 240_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      const r = { code: code ?? 1, out, ms: Date.now() - start };
      if (process.env.HAPLAY_TEST_TRACE) console.error(`--- ${path.basename(playbook)} ${args.join(' ')} → ${r.code} in ${r.ms} ms\n${out}`);
      resolve(r);
    });
  });
}

const pb = (name: string) => path.join(ROOT, 'playbooks', name);

function inline(name: string, yaml: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'haplay-failover-')), name);
  fs.writeFileSync(file, yaml);
  return file;
}

/** What the standby's and the CC's monitor (cron, every 10 s) run. */
const MONITOR = inline(
  'monitor.yml',
  `- hosts: pbx_standby
  tasks:
    - ha-monitor: {}
- hosts: cc
  tasks:
    - ha-monitor: {}
`,
);

/** HA as the setup playbook leaves it: ha-setup.yml when it exists, else ha-config on both nodes and the standby's telephony stopped. */
async function setupHa(): Promise<void> {
  let r: Run;
  if (fs.existsSync(pb('ha-setup.yml'))) {
    r = await haplay(pb('ha-setup.yml'));
  } else {
    const file = inline(
      'setup.yml',
      `- hosts: pbx_main
  tasks:
    - ha-config: { node_type: main, remote_address: ${LAB.hosts['pbx-standby']} }
- hosts: pbx_standby
  tasks:
    - ha-config: { node_type: standby, remote_address: ${LAB.hosts['pbx-main']} }
    - service: { name: standby-services, state: stopped }
`,
    );
    r = await haplay(file);
  }
  if (r.code !== 0) throw new Error(`HA setup failed:\n${r.out}`);
  // The standby's monitor stops its telephony while the main serves.
  r = await haplay(MONITOR);
  if (r.code !== 0) throw new Error(`monitor failed:\n${r.out}`);
}

async function telephonyOn(host: string): Promise<{ asterisk: boolean; statusAll: number }> {
  const r = await labExec(host, 'systemctl is-active -q asterisk && echo asterisk-up; xivo-service status all >/dev/null 2>&1; echo "rc=$?"');
  return { asterisk: r.stdout.includes('asterisk-up'), statusAll: Number(/rc=(\d+)/.exec(r.stdout)?.[1]) };
}

async function nginxOnCc(): Promise<boolean> {
  const r = await labExec('cc', "xivocc-dcomp ps | awk '$3==\"nginx\"{print $4}'");
  return r.stdout.trim() === 'Up';
}

test.serial.before(async () => {
  await setupHa();
});

test.serial('a partition between standby and main, the main still serving: the standby does not start its telephony, and says why', async (t) => {
  await lab.partition('pbx-standby', 'pbx-main');
  try {
    const r = await haplay(pb('failover.yml'));
    t.not(r.code, 0, r.out);
    t.regex(r.out, /cannot reach the main/);
    t.regex(r.out, /split brain/);
    const sb = await telephonyOn('pbx-standby');
    t.false(sb.asterisk, 'asterisk must not run on the standby');
    t.true((await telephonyOn('pbx-main')).asterisk);
    // The monitor (action auto) leaves it stopped too, and says why.
    const m = await haplay(MONITOR, '-v');
    t.is(m.code, 0, m.out);
    t.regex(m.out, /no split brain/);
    t.false((await telephonyOn('pbx-standby')).asterisk);
  } finally {
    await lab.heal();
  }
});

test.serial('main taken down: failover.yml brings the standby to serving, CC and Edge switched; a second run changes nothing', async (t) => {
  t.timeout(600_000);
  const t0 = Date.now();
  await lab.fault('pbx-main', 'down');
  if (process.env.HAPLAY_TEST_TRACE) console.error(`fault down in ${Date.now() - t0} ms`);
  const first = await haplay(pb('failover.yml'));
  t.is(first.code, 0, first.out);
  t.log(`failover.yml: ${first.ms} ms`);
  t.regex(first.out, /down: nothing answers from the main/);
  const sb = await telephonyOn('pbx-standby');
  t.true(sb.asterisk);
  t.is(sb.statusAll, 0);
  t.true(await nginxOnCc());
  const sip = await labExec('edge', 'edge-dcomp logs -t kamailio | grep -c "Destination down: OPTIONS sip:10.77.0.11:5060"');
  t.true(Number(sip.stdout.trim()) >= 1);

  const second = await haplay(pb('failover.yml'));
  t.is(second.code, 0, second.out);
  t.regex(second.out, /changed=0/);
  t.log(second.out.split('\n').filter((l) => /changed|ok=/.test(l)).join('\n'));
});

test.serial('main back: failback.yml restores the main, the voicemail left on the standby is on the main, standby telephony stopped', async (t) => {
  t.timeout(600_000);
  const vm = '/var/spool/asterisk/voicemail/default/1001/INBOX/msg0099.txt';
  await labExec('pbx-standby', `printf '[message]\\norigmailbox=1001\\ncallerid="During outage" <1003>\\n' > ${vm}`);
  await lab.fault('pbx-main', 'up');
  const r = await haplay(pb('failback.yml'));
  t.is(r.code, 0, r.out);
  t.regex(r.out, /serving: the main answers SIP/);
  const onMain = await labExec('pbx-main', `cat ${vm}`);
  t.regex(onMain.stdout, /During outage/);
  t.true((await telephonyOn('pbx-main')).asterisk);
  t.is((await telephonyOn('pbx-main')).statusAll, 0);
  t.false((await telephonyOn('pbx-standby')).asterisk);
  t.true(await nginxOnCc());
  const cron = await labExec('pbx-main', 'cat /etc/cron.d/xivo-ha-master');
  t.regex(cron.stdout, /xivo-master-slave-db-replication 10\.77\.0\.12/);
});

test.serial('health.yml reports a broken cron file and exits non-zero', async (t) => {
  t.timeout(300_000);
  await labExec('pbx-standby', "sed -i 's/\\* \\* \\* \\* \\*/*\\/5 * * * */' /etc/cron.d/xivo-ha-slave");
  const r = await haplay(pb('health.yml'));
  t.not(r.code, 0, r.out);
  t.regex(r.out, /pbx-standby \(standby\) is off:[^\n]*xivo-ha-slave/);
  // read-only: the broken file is still broken
  t.regex((await labExec('pbx-standby', 'cat /etc/cron.d/xivo-ha-slave')).stdout, /^\*\/5 /);
});
