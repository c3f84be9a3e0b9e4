// Two haplay runs never change the same host at once. A run holds flock(1) on the host through a
// command that lives as long as its SSH channel and hears from the run every few seconds: the lock
// is released when the run ends or crashes (the channel closes), and within HOLD_SECONDS when the
// network between them dies (a half-open connection can outlive the run for hours otherwise).
// The lock lives in a directory of its own (/run/haplay, mode 0700, owned by the user haplay runs
// as): in world-writable /run/lock another local user could plant a symlink (root would then
// truncate or print the file it points to) or hold the lock forever. A directory that is a symlink,
// belongs to someone else or is group/world-writable is refused (E_LOCK_UNSAFE), as are a lock or
// owner file that is a symlink.
import { hostname } from 'node:os';
import { HaplayError } from './errors.js';
import { quote } from './shell.js';
import type { Transport } from './types.js';

/** Where hosts keep the run lock. */
export const LOCK_DIR = '/run/haplay';
const BUSY = 75;
const UNSAFE = 76;
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
  /** The lock's directory on the host (tests use a temporary one). Default LOCK_DIR. */
  dir?: string;
  /** How often the run tells the holder it is alive. */
  heartbeatMs?: number;
  /** How long the holder keeps the lock without hearing from the run. */
  holdSeconds?: number;
}

export async function lockHost(t: Transport, owner: string, waitSeconds: number, timing: LockTiming = {}): Promise<HostLock> {
  const holdSeconds = timing.holdSeconds ?? HOLD_SECONDS;
  // bash's `read -t` ends the holder when no heartbeat comes; plain cat (no bash) ends at EOF only.
  const wait = `command -v bash >/dev/null && exec bash -c 'while IFS= read -r -t ${holdSeconds} _; do :; done' || exec cat >/dev/null`;
  const dir = timing.dir ?? LOCK_DIR;
  const lock = `${dir}/haplay.lock`;
  const ownerFile = `${dir}/haplay.owner`;
  const holder = `printf '%s\\n' ${quote(owner)} > ${quote(ownerFile)}; echo ${READY}; ${wait}`;
  const p = await t.spawn(
    [
      // Created private; an existing one must be a real directory of ours that nobody else can write.
      `d=${quote(dir)}`,
      `[ -e "$d" ] || [ -L "$d" ] || (umask 077 && mkdir -p -- "$d") || exit ${UNSAFE}`,
      `if [ -L "$d" ] || [ ! -d "$d" ]; then echo "$d is not a directory (a symlink?)" >&2; exit ${UNSAFE}; fi`,
      `if [ "$(stat -c %u -- "$d")" != "$(id -u)" ]; then echo "$d belongs to uid $(stat -c %u -- "$d"), not to $(id -u)" >&2; exit ${UNSAFE}; fi`,
      `if [ -n "$(find "$d" -maxdepth 0 -perm /022)" ]; then echo "$d is writable by its group or by everyone (mode $(stat -c %a -- "$d"))" >&2; exit ${UNSAFE}; fi`,
      `for f in ${quote(lock)} ${quote(ownerFile)}; do if [ -L "$f" ]; then echo "$f is a symlink" >&2; exit ${UNSAFE}; fi; done`,
      `exec flock -w ${Math.max(0, Math.round(waitSeconds))} -E ${BUSY} ${quote(lock)} sh -c ${quote(holder)}`,
    ].join('\n'),
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
    const holderInfo = (await t.readFile(ownerFile).catch(() => null))?.toString().trim().slice(0, 500);
    throw new HaplayError('E_LOCKED', `${t.hostName} is busy: another haplay run holds its lock${holderInfo ? `: ${holderInfo}` : ''}`, {
      where: { host: t.hostName },
      hint: `waited ${waitSeconds} s; run again when it has finished (or raise --lock-wait)`,
    });
  }
  if (code === UNSAFE) {
    throw new HaplayError('E_LOCK_UNSAFE', `the run lock's directory on ${t.hostName} is not private: ${stderr.trim() || dir}`, {
      where: { host: t.hostName },
      hint: `${dir} must be a directory (not a symlink) owned by the user haplay runs as, mode 0700; remove it to let haplay create it`,
    });
  }
  throw new HaplayError('E_TASK_FAILED', `cannot take the run lock on ${t.hostName}: ${stderr.trim() || `exit ${code}`}`, {
    where: { host: t.hostName },
    hint: `haplay needs flock (util-linux) and a writable ${dir} on every host`,
  });
}
