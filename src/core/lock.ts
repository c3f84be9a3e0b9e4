// Two haplay runs never change the same host at once. A run holds flock(1) on the host through a
// shell that lives as long as its SSH channel and hears from the run every few seconds: the lock
// is released when the run ends or crashes (the channel closes), and within HOLD_SECONDS when the
// network between them dies (a half-open connection can outlive the run for hours otherwise).
// The shell that holds the lock also echoes every heartbeat, so the run can tell its lock is still
// held: before each change it asks (check()), and a holder that died, a channel that closed with
// a lost connection, or heartbeats left unanswered for the hold time mean the lock is lost
// (E_LOCK_LOST): another run may have the host now, so this run changes nothing more there.
// The lock lives in a directory of its own (/run/haplay, mode 0700, owned by the user haplay runs
// as): in world-writable /run/lock another local user could plant a symlink (root would then
// truncate or print the file it points to) or hold the lock forever. A directory that is a symlink,
// belongs to someone else or is group/world-writable is refused (E_LOCK_UNSAFE), as are a lock or
// owner file that is a symlink.
import { hostname } from 'node:os';
import { HaplayError } from './errors.js';
import { quote } from './shell.js';
import type { Spawned, Transport } from './types.js';

/** Where hosts keep the run lock. */
export const LOCK_DIR = '/run/haplay';
const BUSY = 75;
const UNSAFE = 76;
const READY = 'HAPLAY_LOCKED';
const HEARTBEAT_MS = 10_000;
const HOLD_SECONDS = 35;
/** How long check() waits for the holder's answer before calling the lock lost. */
const CHECK_MS = 10_000;

export interface HostLock {
  /** Asks the holder whether it still holds the lock; throws E_LOCK_LOST when it does not answer. */
  check(): Promise<void>;
  /** Why the lock was lost, once it is known to be. */
  readonly lost: HaplayError | undefined;
  /** Called once, as soon as the loss is seen (the holder ended, or stopped answering). */
  onLost(cb: (e: HaplayError) => void): void;
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
  /** How long check() waits for the holder's answer. */
  checkMs?: number;
}

export async function lockHost(t: Transport, owner: string, waitSeconds: number, timing: LockTiming = {}): Promise<HostLock> {
  const holdSeconds = timing.holdSeconds ?? HOLD_SECONDS;
  const dir = timing.dir ?? LOCK_DIR;
  const lock = `${dir}/haplay.lock`;
  const ownerFile = `${dir}/haplay.owner`;
  // The shell that took the lock (fd 9) is the one that echoes heartbeats: while it answers, the
  // lock is held. bash's `read -t` ends it when no heartbeat comes; plain sh ends at EOF only.
  const echo = (t: string) => `while IFS= read -r ${t}l; do printf '%s\\n' "$l"; done`;
  const p = await t.spawn(
    [
      // Created private; an existing one must be a real directory of ours that nobody else can write.
      `d=${quote(dir)}`,
      `[ -e "$d" ] || [ -L "$d" ] || (umask 077 && mkdir -p -- "$d") || exit ${UNSAFE}`,
      `if [ -L "$d" ] || [ ! -d "$d" ]; then echo "$d is not a directory (a symlink?)" >&2; exit ${UNSAFE}; fi`,
      `if [ "$(stat -c %u -- "$d")" != "$(id -u)" ]; then echo "$d belongs to uid $(stat -c %u -- "$d"), not to $(id -u)" >&2; exit ${UNSAFE}; fi`,
      `if [ -n "$(find "$d" -maxdepth 0 -perm /022)" ]; then echo "$d is writable by its group or by everyone (mode $(stat -c %a -- "$d"))" >&2; exit ${UNSAFE}; fi`,
      `for f in ${quote(lock)} ${quote(ownerFile)}; do if [ -L "$f" ]; then echo "$f is a symlink" >&2; exit ${UNSAFE}; fi; done`,
      `exec 9>>${quote(lock)} || exit 1`,
      `flock -w ${Math.max(0, Math.round(waitSeconds))} -E ${BUSY} 9 || exit $?`,
      `printf '%s\\n' ${quote(owner)} > ${quote(ownerFile)}`,
      `echo ${READY}`,
      `command -v bash >/dev/null && exec bash -c ${quote(echo(`-t ${holdSeconds} `))}`,
      `exec sh -c ${quote(echo(''))}`,
    ].join('\n'),
  );
  let stderr = '';
  p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  let out = '';
  const locked = await new Promise<boolean>((resolve) => {
    p.stdout.on('data', function ready(b: Buffer) {
      out += b.toString();
      const i = out.indexOf(`${READY}\n`);
      if (i < 0) return;
      out = out.slice(i + READY.length + 1);
      p.stdout.off('data', ready);
      resolve(true);
    });
    void p.exit.then(() => resolve(false));
  });
  if (locked) return new HeldLock(p, t.hostName, out, { heartbeatMs: timing.heartbeatMs ?? HEARTBEAT_MS, holdMs: holdSeconds * 1000, checkMs: timing.checkMs ?? CHECK_MS });
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

/** A lock the holder confirms by echoing numbered heartbeats. */
class HeldLock implements HostLock {
  lost: HaplayError | undefined;
  private released = false;
  private seq = 0;
  private readonly sentAt = new Map<number, number>();
  /** When the newest answered heartbeat was sent: the holder's hold time runs from no earlier. */
  private answeredSentAt = Date.now();
  private readonly waiting = new Map<number, () => void>();
  private readonly listeners: ((e: HaplayError) => void)[] = [];
  private readonly beat: NodeJS.Timeout;

  constructor(
    private readonly p: Spawned,
    private readonly host: string,
    pending: string,
    private readonly o: { heartbeatMs: number; holdMs: number; checkMs: number },
  ) {
    let buf = pending;
    p.stdout.on('data', (b: Buffer) => {
      buf += b.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.answered(Number(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
    });
    void p.exit.then((code) => this.lose(`the process holding it on ${host} ended (exit ${code}): it was killed, or the connection to ${host} dropped`));
    this.beat = setInterval(() => {
      const silent = Date.now() - this.answeredSentAt;
      if (silent >= this.o.holdMs) this.lose(`${host} has not answered the lock's heartbeat for ${Math.round(silent / 1000)} s, so the host has let it go`);
      else this.send();
    }, o.heartbeatMs);
    this.beat.unref();
  }

  private send(): number {
    const n = ++this.seq;
    this.sentAt.set(n, Date.now());
    this.p.write(`${n}\n`);
    return n;
  }

  private answered(n: number): void {
    const at = this.sentAt.get(n);
    if (at === undefined) return;
    this.sentAt.delete(n);
    this.answeredSentAt = Math.max(this.answeredSentAt, at);
    this.waiting.get(n)?.();
    this.waiting.delete(n);
  }

  private lose(why: string): void {
    if (this.released || this.lost) return;
    clearInterval(this.beat);
    this.lost = new HaplayError('E_LOCK_LOST', `the run lock on ${this.host} was lost: ${why}. Another run may be changing it, so nothing more is changed there`, {
      where: { host: this.host },
      hint: `check what changed on ${this.host} (another run's log, its owner in ${LOCK_DIR}/haplay.owner), then run again`,
    });
    for (const w of this.waiting.values()) w();
    this.waiting.clear();
    for (const cb of this.listeners.splice(0)) cb(this.lost);
  }

  onLost(cb: (e: HaplayError) => void): void {
    if (this.lost) cb(this.lost);
    else this.listeners.push(cb);
  }

  async check(): Promise<void> {
    if (this.lost) throw this.lost;
    if (this.released) throw new HaplayError('E_INTERNAL', `the run lock on ${this.host} was already released`);
    const n = this.seq + 1;
    const started = Date.now();
    // Waiting before sending: the answer may come back within send() itself.
    const answered = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.o.checkMs);
      this.waiting.set(n, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.send();
    await answered;
    this.waiting.delete(n);
    if (!this.lost && this.sentAt.has(n)) this.lose(`${this.host} did not answer the lock's holder within ${Math.round((Date.now() - started) / 1000)} s`);
    if (this.lost) throw this.lost;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    clearInterval(this.beat);
    for (const w of this.waiting.values()) w();
    this.p.end();
  }
}
