// Two haplay runs never change the same host at once. A run holds flock(1) on the host through a
// command that lives as long as its SSH channel: the kernel releases the lock when the run ends,
// crashes or loses the network, so a lock can never be left behind.
import { hostname } from 'node:os';
import { HaplayError } from './errors.js';
import { quote } from './shell.js';
import type { Transport } from './types.js';

const LOCK = '/run/lock/haplay.lock';
const OWNER = '/run/lock/haplay.owner';
const BUSY = 75;
const READY = 'HAPLAY_LOCKED';

export interface HostLock {
  release(): void;
}

/** Who holds the lock, as the next run will read it. */
export function ownerLine(playbook: string): string {
  return `${playbook} (pid ${process.pid} on ${hostname()}, since ${new Date().toISOString()})`;
}

export async function lockHost(t: Transport, owner: string, waitSeconds: number): Promise<HostLock> {
  const holder = `printf '%s\\n' ${quote(owner)} > ${OWNER}; echo ${READY}; exec cat > /dev/null`;
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
  if (locked) return { release: () => p.end() };
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
