// `haplay monitor`: the long-running process systemd keeps alive on the standby and on a CC
// (haplay-monitor.service). Standby: probes the main every few seconds, from itself and through
// its witnesses' open SSH connections, and runs failover.yml, failback.yml or a fence when the
// judgement in standby.ts says so. CC: runs cc-follow.yml on a schedule. Logs transitions only.
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadInventory, type Inventory } from '../core/inventory.js';
import { runPlaybook } from '../core/run.js';
import { sleep } from '../core/sleep.js';
import { createTransport } from '../core/transport/pool.js';
import type { Plugin, Reporter, RunEvent, Transport } from '../core/types.js';
import { direct, sipProbeDirect, sipProbeScript, sipVerdict, sshProbe } from '../xivo/probes.js';
import { DEFAULTS, START, step, type Memory, type Round, type Settings, type WitnessView } from './standby.js';

export const STATUS_FILE = '/var/lib/haplay/monitor.json';
export const PAUSE_FILE = '/var/lib/haplay/monitor.pause';
/** A pause older than this is an operator run that died: the monitor takes over again. */
const PAUSE_MAX_MS = 15 * 60_000;

export interface MonitorOptions {
  inventory: string;
  /** The built-in plugins the playbooks it runs use (handed in by the CLI). */
  plugins: Plugin[];
  /** Stop after this many rounds (tests); default: forever. */
  rounds?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

const stamp = () => new Date().toISOString();

export async function runMonitor(o: MonitorOptions): Promise<void> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${stamp()} haplay-monitor: ${l}\n`));
  const inv = loadInventory(o.inventory);
  const node = String(inv.varsFor(inv.hostNames[0]).haplay_node ?? '');
  const groups = inv.groupsMap();
  if (groups.pbx_standby?.includes(node)) return standbyLoop(o, inv, node, groups, log);
  if (groups.cc?.includes(node)) return ccLoop(o, inv, node, log);
  throw new Error(`${o.inventory}: haplay_node "${node}" is neither in pbx_standby nor in cc: nothing to monitor (ha-setup.yml writes this file)`);
}

function num(v: unknown, d: number): number {
  const n = Number(v);
  return v === undefined || v === null || v === '' || !Number.isFinite(n) ? d : n;
}

function settingsOf(vars: Record<string, unknown>): Settings & { intervalMs: number; timeoutMs: number } {
  return {
    failuresBeforeFailover: num(vars.failures_before_failover, DEFAULTS.failuresBeforeFailover),
    requireWitness: vars.require_witness !== false,
    autoFailback: vars.auto_failback !== false,
    holdTimeMs: num(vars.failback_hold_time, DEFAULTS.holdTimeMs / 1000) * 1000,
    cooldownMs: DEFAULTS.cooldownMs,
    intervalMs: num(vars.monitor_interval, 2) * 1000,
    timeoutMs: 1000,
  };
}

function writeStatus(status: unknown): void {
  try {
    mkdirSync(dirname(STATUS_FILE), { recursive: true });
    writeFileSync(`${STATUS_FILE}.tmp`, JSON.stringify(status, null, 1) + '\n');
    renameSync(`${STATUS_FILE}.tmp`, STATUS_FILE);
  } catch { /* a read-only /var/lib must not stop the monitor */ }
}

function paused(now: number): boolean {
  try {
    return now - statSync(PAUSE_FILE).mtimeMs < PAUSE_MAX_MS;
  } catch {
    return false;
  }
}

/** A quiet reporter into the journal: warnings, what changed or failed and, for a switch, each task's start. */
function journalReporter(log: (l: string) => void, playbook: string, tasks = false): Reporter {
  return {
    event(e: RunEvent) {
      // A switch is rare and someone will read it afterwards: each task's start dates its steps.
      if (tasks && e.type === 'task_start') log(`${playbook}: task: ${e.task} [${e.hosts.join(', ')}]`);
      if (e.type === 'warning') log(`${playbook}: warning: ${e.host ? `[${e.host}] ` : ''}${e.message}`);
      if (e.type === 'host_result' && (e.status === 'changed' || e.status === 'failed' || e.status === 'unreachable')) {
        log(`${playbook}: ${e.status}: [${e.host}] ${e.task}${e.msg ? ` => ${e.msg}` : e.changes?.length ? ` => ${e.changes.join('; ')}` : ''}`);
      }
    },
    async close() {},
  };
}

/** A signal for one run, tied to the monitor's: the engine's listeners die with the run. */
async function withRunSignal<T>(parent: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const c = new AbortController();
  const abort = () => c.abort(parent?.reason);
  parent?.addEventListener('abort', abort, { once: true });
  try {
    return await fn(c.signal);
  } finally {
    parent?.removeEventListener('abort', abort);
  }
}

async function play(o: MonitorOptions, log: (l: string) => void, name: string, extraVars: string[]): Promise<number> {
  const playbook = join(dirname(o.inventory), 'playbooks', name);
  log(`running ${name}${extraVars.length ? ` -e ${extraVars.join(' -e ')}` : ''}`);
  const started = Date.now();
  const code = await withRunSignal(o.signal, (signal) => runPlaybook(
    { playbook, plugins: o.plugins, inventory: o.inventory, extraVars, lockWaitSeconds: 30, signal },
    { reporter: () => journalReporter(log, name, true) },
  )).catch((e: Error) => {
    log(`${name} could not run: ${e.message}`);
    return 4;
  });
  log(`${name} ended with exit code ${code} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return code;
}

async function standbyLoop(o: MonitorOptions, inv: Inventory, node: string, groups: Record<string, string[]>, log: (l: string) => void): Promise<void> {
  const vars = inv.varsFor(node);
  const s = settingsOf(vars);
  const main = groups.pbx_main?.[0];
  if (!main) throw new Error(`${o.inventory}: no host in group pbx_main`);
  const mainVars = inv.varsFor(main);
  const mainAddress = String(mainVars.voip_address ?? mainVars.address ?? main);
  const witnessNames = [...new Set([...(groups.cc ?? []), ...(groups.edge ?? []), ...(groups.witness ?? [])])].filter((h) => h !== node && h !== main);
  // One SSH connection per witness, kept open between rounds; a lost one reconnects next round.
  const witnesses = new Map<string, Transport>(witnessNames.map((w) => [w, createTransport(inv.connectionSpec(w))]));
  let m: Memory = START;
  let lastSwitch: Record<string, unknown> | null = null;
  log(`watching the main ${main} (${mainAddress}) with ${witnessNames.length ? `witnesses ${witnessNames.join(', ')}` : 'no witness'}; every ${s.intervalMs / 1000} s, ${s.failuresBeforeFailover} silent rounds before a takeover`);
  try {
    for (let n = 0; !o.signal?.aborted && (o.rounds === undefined || n < o.rounds); n++) {
      const roundStart = Date.now();
      const cpuStart = process.cpuUsage();
      const [sip, ssh, self, ...views] = await Promise.all([
        sipProbeDirect(mainAddress, s.timeoutMs),
        sshProbe(direct, 'standby', mainAddress, s.timeoutMs),
        sipProbeDirect('127.0.0.1', s.timeoutMs),
        ...witnessNames.map((w) => witnessView(witnesses.get(w)!, w, mainAddress, s.timeoutMs)),
      ]);
      const r: Round = {
        now: Date.now(),
        mainSip: sip.ok,
        mainHost: sip.ok || ssh.ok,
        witnesses: views,
        selfServing: self.ok,
        paused: paused(Date.now()),
      };
      const before = m.state;
      const st = step(m, r, s);
      m = st.memory;
      const cpu = process.cpuUsage(cpuStart);
      if (m.state !== before || st.action) log(`Updating resilience state, from: ${before} to: ${m.state} (${st.reason})`);
      const evidence = [
        `sip from ${node}: ${sip.detail}`, `ssh from ${node}: ${ssh.detail}`,
        ...views.map((v) => `${v.name}: ${v.reached ? (v.sip ? 'the main answers SIP' : 'no SIP answer from the main') : 'not reached'}`),
      ];
      if (o.signal?.aborted) break; // stopping: leave no file behind a `systemctl stop`
      const doing = st.action ? ACTING[st.action] : m.state;
      writeStatus({ node, role: 'standby', state: doing, reason: st.reason, at: stamp(), serving: r.selfServing ? node : r.mainSip ? main : null, evidence, round_cpu_ms: (cpu.user + cpu.system) / 1000, last_switch: lastSwitch });
      if (st.action) {
        const name = st.action === 'handback' ? 'failback.yml' : 'failover.yml';
        const extra = st.action === 'takeover' ? ['takeover_rounds=1'] : st.action === 'fence' ? ['force=true', 'takeover_rounds=1'] : ['from_monitor=true'];
        const code = await play(o, log, name, extra);
        lastSwitch = { at: stamp(), action: st.action, reason: st.reason, exit_code: code };
        writeStatus({ node, role: 'standby', state: m.state, reason: st.reason, at: stamp(), evidence, last_switch: lastSwitch });
        if (st.action === 'handback' && code === 0) m = { ...m, mainWasGone: false, mainUpSince: null };
      }
      await sleep(Math.max(0, s.intervalMs - (Date.now() - roundStart)), o.signal).catch(() => {}); // stopping: the loop sees the signal
    }
  } finally {
    await Promise.all([...witnesses.values()].map((t) => t.close().catch(() => {})));
  }
}

const ACTING = { takeover: 'taking-over', fence: 'fencing', handback: 'handing-back' } as const;

async function witnessView(t: Transport, name: string, mainAddress: string, timeoutMs: number): Promise<WitnessView> {
  // A witness whose probe could not run (no connection, a dropped one, a stuck shell) is no
  // evidence either way: it is "not reached".
  try {
    await t.connect();
    const r = await t.exec(sipProbeScript(mainAddress, timeoutMs), { timeoutMs: timeoutMs + 3000 });
    return { name, reached: true, sip: sipVerdict(r.stdout.split('\n')[0].replace(/\r$/, '')).ok };
  } catch {
    return { name, reached: false, sip: false };
  }
}

async function ccLoop(o: MonitorOptions, inv: Inventory, node: string, log: (l: string) => void): Promise<void> {
  const everyMs = num(inv.varsFor(node).cc_follow_interval, 10) * 1000;
  log(`following the serving PBX every ${everyMs / 1000} s (cc-follow.yml)`);
  for (let n = 0; !o.signal?.aborted && (o.rounds === undefined || n < o.rounds); n++) {
    const started = Date.now();
    const changes: string[] = [];
    const code = await withRunSignal(o.signal, (signal) => runPlaybook(
      { playbook: join(dirname(o.inventory), 'playbooks', 'cc-follow.yml'), plugins: o.plugins, inventory: o.inventory, lockWaitSeconds: 5, signal },
      { reporter: () => journalReporter((l) => changes.push(l), 'cc-follow.yml') },
    )).catch((e: Error) => { changes.push(`cc-follow.yml could not run: ${e.message}`); return 4; });
    for (const l of changes) log(`[RESILIENCE] ${l}`);
    if (o.signal?.aborted) break; // stopping: leave no file behind a `systemctl stop`
    writeStatus({ node, role: 'cc', state: code === 0 ? 'following' : 'failing', at: stamp(), exit_code: code, last_changes: changes });
    await sleep(Math.max(0, everyMs - (Date.now() - started)), o.signal).catch(() => {}); // stopping: the loop sees the signal
  }
}
