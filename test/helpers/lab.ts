// Lab integration suites: `useLab(test)` brings the lab up once (idempotent), takes an exclusive lock
// across ava's worker processes (lab suites run one at a time), resets the lab at the start of the suite
// and releases the lock at the end. Inside a lab suite, use test.serial.
import fs from 'node:fs';
import path from 'node:path';
import type { TestFn } from 'ava';
import { CONTROL_ADDRESS, CORE_HOSTS, KEY, KNOWN_HOSTS, LAB_DIR, LAB_INVENTORY } from '../lab/config.js';
import * as lab from '../lab/lab.js';
import type { RunResult } from '../lab/run.js';

export const LAB = {
  inventory: LAB_INVENTORY,
  privateKey: KEY,
  knownHosts: KNOWN_HOSTS,
  control: CONTROL_ADDRESS,
  /** host name -> address */
  hosts: Object.fromEntries(CORE_HOSTS.map((h) => [h.name, h.address])) as Record<'pbx-main' | 'pbx-standby' | 'cc' | 'edge', string>,
};

const LOCK = path.join(LAB_DIR, 'suite.lock');

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** The lab for one suite or benchmark at a time, across processes (a dead holder's lock is taken over). */
export async function acquireLab(): Promise<void> {
  fs.mkdirSync(LAB_DIR, { recursive: true });
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      fs.writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      return;
    } catch {
      const pid = Number(fs.readFileSync(path.join(LOCK, 'pid'), 'utf8') || 0);
      if (pid && !alive(pid)) fs.rmSync(LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export function releaseLab(): void {
  try {
    if (Number(fs.readFileSync(path.join(LOCK, 'pid'), 'utf8')) === process.pid) fs.rmSync(LOCK, { recursive: true, force: true });
  } catch { /* not ours or gone */ }
}

/**
 * Call first in a lab suite; a suite's own setup must be `test.serial.before` too: ava runs plain
 * `before` hooks concurrently, so a setup hook would race the lab's reset.
 */
export function useLab(test: TestFn): void {
  test.serial.before(async () => {
    await acquireLab();
    await lab.up();
    await lab.reset();
  });
  test.after.always(() => releaseLab());
}

/** Runs a command inside a lab host (a string goes through bash -c). */
export function labExec(host: string, cmd: string | string[]): Promise<RunResult> {
  return lab.exec(host, typeof cmd === 'string' ? ['bash', '-c', cmd] : cmd);
}

/** Runs SQL on a PBX's asterisk database as postgres; returns psql's unaligned, tuples-only output. */
export async function labPsql(host: string, sql: string): Promise<string> {
  const r = await lab.exec(host, ['psql', '-X', '-q', '-tA', '-h', '/run/postgresql', '-U', 'postgres', '-d', 'asterisk', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
  if (r.code !== 0) throw new Error(`psql on ${host} failed: ${r.stderr}`);
  return r.stdout.trim();
}

export { lab };
