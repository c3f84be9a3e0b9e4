// Two haplay runs never change the same host at once. A run holds flock(1) on the host through a
// command that lives as long as its SSH channel and hears from the run every few seconds: the lock
// is released when the run ends or crashes (the channel closes), and within HOLD_SECONDS when the
// network between them dies (a half-open connection can outlive the run for hours otherwise).
import { hostname } from 'node:os';
import { HaplayError } from './errors.js';
import { quote } from './shell.js';
import type { Transport } from './types.js';

const LOCK = '/run/lock/haplay.lock';
const OWNER = '/run/lock/haplay.owner';
const BUSY = 75;
const READY = 'HAPLAY_LOCKED';
const HEARTBEAT_MS = 10_000;
const HOLD_SECONDS = 35;

export interface HostLock {
  release(): void;
}

/** Who holds the lock, as the next run will read it. */
export function ownerLine(playbook: string): string {
  return `${playbook} (pid ${process.pid} on ${hostname()}, since ${new Date().toISOString()})`;
}

export interface LockTiming {
  /** How often the run tells the holder it is alive. */
  heartbeatMs?: number;
  /** How long the holder keeps the lock without hearing from the run. */
  holdSeconds?: number;
}

export async function lockHost(t: Transport, owner: string, waitSeconds: number, timing: LockTiming = {}): Promise<HostLock> {
  const holdSeconds = timing.holdSeconds ?? HOLD_SECONDS;
  // bash's `read -t` ends the holder when no heartbeat comes; plain cat (no bash) ends at EOF only.
  const wait = `command -v bash >/dev/null && exec bash -c 'while IFS= read -r -t ${holdSeconds} _; do :; done' || exec cat >/dev/null`;
  const holder = `printf '%s\\n' ${quote(owner)} > ${OWNER}; echo ${READY}; ${wait}`;
  const p = await t.spawn(
    `mkdir -p /run/lock && exec flock -w ${Math.max(0, Math.round(waitSeconds))} -E ${BUSY} ${LOCK} sh -c ${quote(holder)}`,
  );
  let stderr = '';
  p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const locked = await new Promise<boolean>((resolve) => {
    let out = '';
    p.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes(READY)) resolve(true);
    });
    void p.exit.then(() => resolve(false));
  });
  if (locked) {
    const beat = setInterval(() => p.write('\n'), timing.heartbeatMs ?? HEARTBEAT_MS);
    beat.unref();
    return {
      release: () => {
        clearInterval(beat);
        p.end();
      },
    };
  }
  const code = await p.exit;
  if (code === BUSY) {
    const holderInfo = (await t.readFile(OWNER).catch(() => null))?.toString().trim();
    throw new HaplayError('E_LOCKED', `${t.hostName} is busy: another haplay run holds its lock${holderInfo ? `: ${holderInfo}` : ''}`, {
      where: { host: t.hostName },
      hint: `waited ${waitSeconds} s; run again when it has finished (or raise --lock-wait)`,
    });
  }
  throw new HaplayError('E_TASK_FAILED', `cannot take the run lock on ${t.hostName}: ${stderr.trim() || `exit ${code}`}`, {
    where: { host: t.hostName },
    hint: 'haplay needs flock (util-linux) and a writable /run/lock on every host',
  });
}
