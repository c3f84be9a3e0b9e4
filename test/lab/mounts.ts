// Each host's own view of the files: a persistent mount namespace (bound to .lab/ns/<host>.mnt) where the
// host's tree is bind-mounted over /etc/xivo, /var/lib/postgresql, /root, ... The tree is the built
// snapshot (base) under an overlay whose upper dir holds everything changed since: reset = wipe upper.
import fs from 'node:fs';
import path from 'node:path';
import {
  CHECKOUT_MOUNT, REPO, HOST_DIRS, HOST_FILES, HOST_TMPFS, LAB_DIR, NS_DIR, STANDINS, baseDir, fsDir, mntNsFile, upperDir, utsNsFile,
  workDir,
} from './config.js';
import { run, runOk } from './run.js';

const CREATED = path.join(LAB_DIR, 'mountpoints.json');

async function isMountpoint(p: string): Promise<boolean> {
  return (await run(['mountpoint', '-q', p])).code === 0;
}

/** A private bind of .lab/ns onto itself, required to bind namespace files there. */
export async function ensureNsDir(): Promise<void> {
  fs.mkdirSync(NS_DIR, { recursive: true });
  if (!(await isMountpoint(NS_DIR))) await runOk(['mount', '--bind', NS_DIR, NS_DIR]);
  await runOk(['mount', '--make-private', NS_DIR]);
}

/** Creates on the machine the empty directories the hosts mount over (remembered, removed by down). */
export function ensureMountpoints(): void {
  const created: string[] = fs.existsSync(CREATED) ? JSON.parse(fs.readFileSync(CREATED, 'utf8')) : [];
  for (const d of [...HOST_DIRS, 'usr/local/sbin', CHECKOUT_MOUNT]) {
    const segments = d.split('/');
    for (let i = 1; i <= segments.length; i++) {
      const p = '/' + segments.slice(0, i).join('/');
      if (!fs.existsSync(p)) {
        fs.mkdirSync(p);
        created.push(p);
      }
    }
  }
  fs.mkdirSync(LAB_DIR, { recursive: true });
  fs.writeFileSync(CREATED, JSON.stringify(created, null, 1));
}

export function removeMountpoints(): void {
  if (!fs.existsSync(CREATED)) return;
  const created: string[] = JSON.parse(fs.readFileSync(CREATED, 'utf8'));
  for (const p of created.reverse()) {
    try { fs.rmdirSync(p); } catch { /* not empty or already gone: leave it */ }
  }
  fs.rmSync(CREATED);
}

/** A namespace file is bound when the path resolves to nsfs (a device other than its directory's). */
function nsBound(f: string): boolean {
  try { return fs.statSync(f).dev !== fs.statSync(path.dirname(f)).dev; } catch { return false; }
}

export async function hostNsExists(name: string): Promise<boolean> {
  return nsBound(mntNsFile(name)) && nsBound(utsNsFile(name));
}

/**
 * Creates the host's mount + UTS namespaces. `overlay`: the tree is base + upper (normal life);
 * otherwise base itself (only while the snapshot is first built).
 */
export async function createHostNs(name: string, overlay: boolean): Promise<void> {
  if (await hostNsExists(name)) return;
  await destroyHostNs(name);
  // Again at each start: `apt purge haplay` (the installed-package suite) removes /etc/haplay and
  // /var/lib/haplay from this machine, which are mount points here.
  ensureMountpoints();
  const mnt = mntNsFile(name);
  const uts = utsNsFile(name);
  fs.writeFileSync(mnt, '');
  fs.writeFileSync(uts, '');
  let src = baseDir(name);
  const lines = ['set -e'];
  if (overlay) {
    for (const d of [upperDir(name), workDir(name), fsDir(name)]) fs.mkdirSync(d, { recursive: true });
    lines.push(`mount -t overlay overlay -o lowerdir=${baseDir(name)},upperdir=${upperDir(name)},workdir=${workDir(name)} ${fsDir(name)}`);
    src = fsDir(name);
  }
  for (const d of [...HOST_DIRS, ...HOST_FILES]) lines.push(`mount --bind ${src}/${d} /${d}`);
  // Everything that reaches into the checkout comes before the fresh /tmp and /run: the checkout
  // itself may live there (a CI clone in /tmp).
  lines.push(`mount --bind ${STANDINS} /usr/local/sbin`, 'mount -o remount,bind,ro /usr/local/sbin');
  lines.push(`mount --bind ${REPO} /${CHECKOUT_MOUNT}`, `mount -o remount,bind,ro /${CHECKOUT_MOUNT}`);
  // Drop this namespace's copies of the lab's own mounts (other hosts' namespace files, the overlay's
  // mount point): the binds above keep what they need, and nothing keeps other hosts alive.
  lines.push(`awk '{print $5}' /proc/self/mountinfo | grep '^${LAB_DIR}/' | sort -r | xargs -r -n1 umount -l`);
  for (const d of HOST_TMPFS) lines.push(`mount -t tmpfs -o mode=${d === 'tmp' ? '1777' : '755'},size=256m tmpfs /${d}`);
  lines.push(`hostname ${name}`);
  await runOk(['unshare', `--mount=${mnt}`, `--uts=${uts}`, '--propagation', 'private', 'bash', '-c', lines.join('\n')]);
}

/** Unbinds the namespace files; the namespaces die with their last process. */
export async function destroyHostNs(name: string): Promise<void> {
  for (const f of [mntNsFile(name), utsNsFile(name)]) {
    // umount can race with other hosts' namespace changes ("no mount point specified"): retry.
    for (let i = 0; i < 20 && nsBound(f); i++) {
      if ((await run(['umount', f])).code !== 0) await new Promise((r) => setTimeout(r, 25));
    }
    if (nsBound(f)) await runOk(['umount', '-l', f]);
    try { fs.rmSync(f, { force: true }); } catch { /* a stale mount from an earlier life: released by down */ }
  }
}

/** Back to the snapshot: forget every change made since (the host's namespace must be gone). */
export function wipeUpper(name: string): void {
  for (const d of [upperDir(name), workDir(name)]) {
    fs.rmSync(d, { recursive: true, force: true });
    fs.mkdirSync(d, { recursive: true });
  }
}

export async function releaseNsDir(): Promise<void> {
  if (await isMountpoint(NS_DIR)) await run(['umount', '-l', NS_DIR]);
}

/** Mounts still referring to the lab, as seen from the machine. */
export function labMounts(): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(LAB_DIR));
}
