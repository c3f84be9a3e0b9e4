// A throwaway OpenSSH server on 127.0.0.1 for the SSH transport tests and the bench: generated host
// and client keys in a temp dir, root login with the client key only, sshd in the foreground.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionSpec } from '../src/core/types.js';

export interface Sshd {
  dir: string;
  port: number;
  /** `ssh-ed25519 AAAA...` of the server. */
  hostKeyLine: string;
  hostKeyBlob: Buffer;
  /** Path of the client private key authorized for root. */
  clientKey: string;
  /** known_hosts file that trusts this server. */
  knownHosts: string;
  pid(): number;
  /** SIGKILL to sshd and every process under it (sessions, their commands): the connection drops. */
  killAll(): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  spec(over?: Partial<ConnectionSpec>): ConnectionSpec;
  log(): string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Every process whose ancestry leads to pid, from /proc. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(d), ppid);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) {
      if (pp === p) {
        out.push(c);
        walk(c);
      }
    }
  };
  walk(pid);
  return out;
}

function waitListening(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`sshd did not listen on ${port}`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

export async function startSshd(): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), 'haplay-sshd-'));
  const port = await freePort();
  const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'haplay-test', '-f', file]);
  keygen(join(dir, 'host_ed25519'));
  keygen(join(dir, 'client_ed25519'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_ed25519.pub')));
  const hostKeyLine = readFileSync(join(dir, 'host_ed25519.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
  const hostKeyBlob = Buffer.from(hostKeyLine.split(' ')[1], 'base64');
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKeyLine}\n`);
  const cfg = join(dir, 'sshd_config');
  writeFileSync(
    cfg,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'AllowTcpForwarding yes',
      'MaxSessions 10',
      // bash reads ~/.bashrc for a remote command only below SHLVL 2: this machine's root .bashrc
      // (pyenv init, ~1 s, and a lock that parallel shells fight over) stays out of the tests.
      'SetEnv SHLVL=1',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation directory
  let child: ChildProcess | undefined;
  let log = '';
  const sshd: Sshd = {
    dir,
    port,
    hostKeyLine,
    hostKeyBlob,
    clientKey: join(dir, 'client_ed25519'),
    knownHosts,
    pid: () => child?.pid ?? 0,
    log: () => log,
    async start() {
      child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr!.on('data', (b: Buffer) => {
        if (log.length < 20000) log += b.toString();
      });
      await waitListening(port, 5000);
    },
    killAll() {
      if (!child?.pid) return;
      const pids = [child.pid, ...descendants(child.pid)];
      for (const p of pids) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      child = undefined;
    },
    async stop() {
      const c = child;
      if (!c?.pid) return;
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      sshd.killAll();
      await exited;
    },
    spec(over = {}) {
      return {
        host: 'pbx-test',
        connection: 'ssh',
        address: '127.0.0.1',
        port,
        user: 'root',
        privateKey: join(dir, 'client_ed25519'),
        knownHosts,
        hostKeyPolicy: 'strict',
        become: false,
        connectTimeoutMs: 5000,
        keepaliveMs: 2000,
        ...over,
      };
    },
  };
  await sshd.start();
  return sshd;
}

export function removeSshdDir(s: Sshd): void {
  rmSync(s.dir, { recursive: true, force: true });
}
