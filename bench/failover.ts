// Unattended HA on the lab, measured with the units ha-setup.yml ships (no bench loop stands in for
// them): the standby's haplay-monitor.service, the CC's, the main's haplay-replicate.timer.
//   npm run build && npx tsx bench/failover.ts [N]      (root, lab up, no lab suite running)
//   BENCH_ONLY=faults,partitions,cost,rpo picks parts.
// - faults: N of each kind (main host down, Asterisk stopped on the main): fault → standby serving
//   (its `xivo-service status all` ready) and the CC switched (xuc ready after the standby's
//   telephony started). Target: median ≤ 20 s, worst ≤ 30 s.
// - partitions: each pair of {main, standby, cc} cut, and each of them isolated, 60 s each
//   (PARTITION_S), both PBXs' telephony sampled every second: seconds in which both serve.
// - cost: the monitor's CPU per probe round (from its status file) and its resident memory.
// - rpo: 10 changes on the main, each timed until it is on the standby (the timer's minute).
import { spawn } from 'node:child_process';
import path from 'node:path';
import * as lab from '../test/lab/lab.js';
import { acquireLab, releaseLab } from '../test/helpers/lab.js';
import { LAB_INVENTORY } from '../test/lab/config.js';

const ROOT = process.cwd();
const sh = async (host: string, cmd: string) => (await lab.exec(host, ['bash', '-c', cmd])).stdout.trim();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const only = (process.env.BENCH_ONLY ?? 'faults,partitions,cost,rpo').split(',');
const N = Number(process.argv[2] ?? 5);
const PARTITION_S = Number(process.env.PARTITION_S ?? 60);

function haplay(playbook: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [path.join(ROOT, 'dist/cli/index.js'), playbook, '-i', LAB_INVENTORY, ...args], { cwd: ROOT });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

async function monitorState(): Promise<string> {
  try {
    return JSON.parse(await sh('pbx-standby', 'cat /var/lib/haplay/monitor.json')).state;
  } catch {
    return '';
  }
}

async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(200);
  }
}

async function steadyState(): Promise<void> {
  await lab.reset();
  const r = await haplay(path.join(ROOT, 'playbooks/ha-setup.yml'));
  if (r.code !== 0) throw new Error(`ha-setup.yml failed:\n${r.out}`);
  await until('the monitor standing by', 60_000, async () => (await monitorState()) === 'standing-by');
  await sleep(3000);
}

const standbyReady = async () => (await sh('pbx-standby', 'xivo-service status all >/dev/null 2>&1 && echo ready')) === 'ready';
async function ccSwitched(): Promise<boolean> {
  const since = Number(await sh('pbx-standby', 'p=$(systemctl show -p MainPID --value asterisk); [ "$p" != 0 ] && echo $(( $(date +%s) - $(ps -o etimes= -p $p) ))'));
  if (!since) return false;
  const last = await sh('cc', "grep 'Listening for HTTP' /var/log/containers/xuc.log | tail -1 | cut -d' ' -f1");
  return last !== '' && Date.parse(last) / 1000 >= since - 1;
}

async function fault(kind: 'host down' | 'asterisk stopped'): Promise<{ serving: number; cc: number }> {
  await steadyState();
  // The fault lands at a random point of the monitor's 2 s round.
  await sleep(Math.random() * 2000);
  const t0 = Date.now();
  if (kind === 'host down') await lab.fault('pbx-main', 'down');
  else await sh('pbx-main', 'systemctl stop asterisk');
  let serving = 0;
  await until('standby serving and CC switched', 300_000, async () => {
    if (!serving && (await standbyReady())) serving = (Date.now() - t0) / 1000;
    return serving > 0 && (await ccSwitched());
  });
  const cc = (Date.now() - t0) / 1000;
  if (kind === 'host down') await lab.fault('pbx-main', 'up');
  return { serving, cc };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)].toFixed(1)} s, worst ${s[s.length - 1].toFixed(1)} s (${s.map((x) => x.toFixed(1)).join(', ')})`;
};

await acquireLab();
process.on('exit', releaseLab);
await lab.up();

if (only.includes('faults')) {
  for (const kind of ['host down', 'asterisk stopped'] as const) {
    const serving: number[] = [];
    const cc: number[] = [];
    for (let i = 0; i < N; i++) {
      const r = await fault(kind);
      console.log(`  ${kind}: standby serving ${r.serving.toFixed(1)} s, CC switched ${r.cc.toFixed(1)} s`);
      serving.push(r.serving);
      cc.push(r.cc);
    }
    console.log(`fault (${kind}) → standby serving: ${stats(serving)}`);
    console.log(`fault (${kind}) → standby serving with the CC switched: ${stats(cc)} (target median ≤ 20 s, worst ≤ 30 s)`);
  }
}

if (only.includes('partitions')) {
  const cuts: [string, string[][]][] = [
    ['main | standby', [['pbx-main', 'pbx-standby']]],
    ['main | cc', [['pbx-main', 'cc']]],
    ['standby | cc', [['pbx-standby', 'cc']]],
    ['main isolated', [['pbx-main', 'pbx-standby'], ['pbx-main', 'cc'], ['pbx-main', 'edge']]],
    ['standby isolated', [['pbx-standby', 'pbx-main'], ['pbx-standby', 'cc'], ['pbx-standby', 'edge']]],
    ['cc isolated', [['cc', 'pbx-main'], ['cc', 'pbx-standby'], ['cc', 'edge']]],
  ];
  let total = 0;
  for (const [name, pairs] of cuts) {
    await steadyState();
    for (const [a, b] of pairs) await lab.partition(a, b);
    let both = 0;
    let standbyOnly = 0;
    for (let i = 0; i < PARTITION_S; i++) {
      const t = Date.now();
      const [m, s] = await Promise.all([sh('pbx-main', 'systemctl is-active asterisk'), sh('pbx-standby', 'systemctl is-active asterisk')]);
      if (m === 'active' && s === 'active') both++;
      if (m !== 'active' && s === 'active') standbyOnly++;
      await sleep(Math.max(0, 1000 - (Date.now() - t)));
    }
    await lab.heal();
    total += both;
    console.log(`partition ${name}, ${PARTITION_S} s: both PBXs serving ${both} s; standby alone ${standbyOnly} s; monitor ${await monitorState()}`);
  }
  console.log(`split brain over every partition: ${total} s in which both serve`);
}

if (only.includes('cost')) {
  await steadyState();
  const cpu: number[] = [];
  for (let i = 0; i < 30; i++) {
    cpu.push(Number(JSON.parse(await sh('pbx-standby', 'cat /var/lib/haplay/monitor.json')).round_cpu_ms));
    await sleep(2000);
  }
  const rss = Number(await sh('pbx-standby', "ps -o rss= -p $(pgrep -f '^node /opt/haplay-lab/dist/cli/index.js monitor' -n --ns $$)"));
  console.log(`monitor cost: CPU per probe round ${stats(cpu).replace(/ s/g, ' ms')} (target ≤ 20 ms); resident memory ${(rss / 1024).toFixed(1)} MiB (target ≤ 100 MiB)`);
}

if (only.includes('rpo')) {
  await steadyState();
  const delays: number[] = [];
  for (let i = 0; i < 10; i++) {
    const name = `rpo${Date.now()}`;
    await sh('pbx-main', `psql -X -q -tA -h /run/postgresql -U postgres -d asterisk -c "INSERT INTO userfeatures (firstname, lastname, tenant_uuid) SELECT '${name}', 'bench', tenant_uuid FROM userfeatures LIMIT 1"`);
    const t0 = Date.now();
    await until('the change on the standby', 200_000, async () =>
      (await sh('pbx-standby', `psql -X -q -tA -h /run/postgresql -U postgres -d asterisk -c "SELECT count(*) FROM userfeatures WHERE firstname = '${name}'"`)) === '1');
    delays.push((Date.now() - t0) / 1000);
    console.log(`  change ${i + 1}: on the standby after ${delays[i].toFixed(1)} s`);
    await sleep(Math.random() * 30_000);
  }
  console.log(`RPO under the timer, 10 changes: ${stats(delays)}`);
}
await lab.reset();
