// Failover time in the lab: from `lab fault pbx-main down` to the standby's services ready (xivo-service
// status all exit 0) with the CC's nginx switched, while a monitor runs every 10 s (the standby's
// ha-monitor, then the CC's, as a cron would). Then failover.yml on its own after another outage.
// Run as root with the lab up and no lab suite running: tsx bench/failover.ts
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as lab from '../test/lab/lab.js';
import { acquireLab, releaseLab } from '../test/helpers/lab.js';
import { LAB_INVENTORY } from '../test/lab/config.js';

const ROOT = process.cwd();
const sh = async (host: string, cmd: string) => (await lab.exec(host, ['bash', '-c', cmd])).stdout.trim();

function haplay(playbook: string, ...args: string[]): Promise<{ code: number; out: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [path.join(ROOT, 'dist/cli/index.js'), playbook, '-i', LAB_INVENTORY, ...args], { cwd: ROOT });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('close', (code) => resolve({ code: code ?? 1, out, ms: Date.now() - t0 }));
  });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'haplay-bench-'));
const MONITOR = path.join(dir, 'monitor.yml');
fs.writeFileSync(MONITOR, '- hosts: pbx_standby\n  tasks:\n    - ha-monitor: {}\n- hosts: cc\n  tasks:\n    - ha-monitor: {}\n');

async function steadyState(): Promise<void> {
  await lab.reset();
  const setup = fs.existsSync(path.join(ROOT, 'playbooks/ha-setup.yml')) ? path.join(ROOT, 'playbooks/ha-setup.yml') : null;
  if (!setup) throw new Error('playbooks/ha-setup.yml is needed');
  for (const pb of [setup, MONITOR]) {
    const r = await haplay(pb);
    if (r.code !== 0) throw new Error(`${pb} failed:\n${r.out}`);
  }
}

async function served(): Promise<boolean> {
  const out = await sh('pbx-standby', 'xivo-service status all >/dev/null 2>&1 && echo ready');
  const nginx = await sh('cc', "xivocc-dcomp ps | awk '$3==\"nginx\"{print $4}'");
  return out === 'ready' && nginx === 'Up';
}

async function withMonitor(): Promise<number> {
  await steadyState();
  const t0 = Date.now();
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const started = Date.now();
      const r = await haplay(MONITOR);
      console.log(`  monitor run: exit ${r.code}, ${r.ms} ms`);
      const wait = 10_000 - (Date.now() - started);
      if (!stop && wait > 0) await new Promise((res) => setTimeout(res, wait));
    }
  })();
  // The fault lands at a random point of the 10 s period.
  await new Promise((r) => setTimeout(r, Math.random() * 10_000));
  const tf = Date.now();
  await lab.fault('pbx-main', 'down');
  while (!(await served())) {
    if (Date.now() - tf > 180_000) throw new Error('not served after 180 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  const s = (Date.now() - tf) / 1000;
  stop = true;
  await loop;
  console.log(`  (bench ran ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return s;
}

async function playbookOnly(): Promise<{ ms: number; services: number }> {
  await steadyState();
  await lab.fault('pbx-main', 'down');
  const r = await haplay(path.join(ROOT, 'playbooks/failover.yml'), '--json');
  if (r.code !== 0) throw new Error(`failover.yml failed:\n${r.out}`);
  // The services' own start time: the ha-monitor task's apply minus its probing, plus the ready wait.
  let services = 0;
  for (const line of r.out.split('\n')) {
    try {
      const e = JSON.parse(line);
      if (e.type === 'host_result' && /wait until every service/.test(e.task)) services += e.durationMs;
    } catch {
      /* not an event */
    }
  }
  return { ms: r.ms, services };
}

await acquireLab();
process.on('exit', releaseLab);
const runs = Number(process.argv[2] ?? 3);
const monitor: number[] = [];
for (let i = 0; i < runs; i++) {
  const s = await withMonitor();
  console.log(`fault → standby ready + CC switched, monitor every 10 s: ${s.toFixed(1)} s`);
  monitor.push(s);
}
const pb = await playbookOnly();
console.log(`failover.yml alone: ${(pb.ms / 1000).toFixed(1)} s (of which waiting for status all: ${(pb.services / 1000).toFixed(1)} s)`);
const sorted = [...monitor].sort((a, b) => a - b);
console.log(`median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} s, max ${sorted[sorted.length - 1].toFixed(1)} s (target < 30 s)`);
await lab.reset();
