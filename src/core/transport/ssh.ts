// SSH transport: one connection per host for the whole run, a few persistent remote shells on it
// (see ssh-shell.ts for the framing), host keys checked against known_hosts, TCP through
// direct-tcpip. Errors speak the operator's language and carry E_UNREACHABLE / E_HOST_KEY / E_TIMEOUT.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { AnyAuthMethod, Client as ClientT, ClientChannel, ConnectConfig } from 'ssh2';
import type { ConnectionSpec, ExecOptions, ExecResult, Spawned, Transport, WriteOptions } from '../types.js';
import { HaplayError } from '../errors.js';
import { lazy } from '../lazy.js';
import { quote } from '../shell.js';
import { shellReadFile, shellWriteFile } from './fileops.js';
import {
  checkHostKey,
  fingerprint,
  formatKnownHostsLine,
  keyTypeOf,
  knownHostName,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
} from './known-hosts.js';
import { RemoteShell, type ShellJobError } from './ssh-shell.js';

const ssh2 = lazy<typeof import('ssh2')>('ssh2');

export interface SshTransportOptions {
  /** Remote shells per connection, so parallel exec calls on one host do not wait on each other. */
  maxShells?: number;
  /** First wait before a failed connect may be tried again; doubles up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Keepalive probes without answer before the connection is declared lost. */
  keepaliveCountMax?: number;
}

interface Connection {
  client: ClientT;
  lost: boolean;
  shells: Set<RemoteShell>;
  idle: RemoteShell[];
  opening: number;
  waiters: Array<{ resolve(s: RemoteShell): void; reject(e: unknown): void }>;
}

interface AuthPlan {
  methods: AnyAuthMethod[];
  /** What was offered, for "permission denied" messages. */
  offered: string[];
  /** Keys that could not be used at all (passphrase, unreadable), with the reason. */
  skipped: string[];
}

export class SshTransport implements Transport {
  readonly hostName: string;
  private conn: Connection | undefined;
  private connecting: Promise<Connection> | undefined;
  private lastFailure: { at: number; delayMs: number; error: HaplayError } | undefined;
  private readonly maxShells: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly keepaliveCountMax: number;

  constructor(
    readonly spec: ConnectionSpec,
    opts: SshTransportOptions = {},
  ) {
    this.hostName = spec.host;
    this.maxShells = Math.max(1, opts.maxShells ?? 4);
    this.retryDelayMs = opts.retryDelayMs ?? 1000;
    this.maxRetryDelayMs = opts.maxRetryDelayMs ?? 5000;
    this.keepaliveCountMax = opts.keepaliveCountMax ?? 2;
  }

  /** "pbx-main (10.77.0.11:22)" */
  private get label(): string {
    return `${this.hostName} (${this.spec.address}:${this.spec.port})`;
  }

  private get where() {
    return { host: this.hostName };
  }

  async connect(): Promise<void> {
    await this.connection();
  }

  private async connection(): Promise<Connection> {
    if (this.conn && !this.conn.lost) return this.conn;
    if (this.connecting) return this.connecting;
    const f = this.lastFailure;
    if (f && Date.now() - f.at < f.delayMs) {
      // Do not hammer a host that just failed: the same answer until the delay has passed.
      throw f.error;
    }
    this.connecting = this.open().then(
      (c) => {
        this.lastFailure = undefined;
        this.conn = c;
        return c;
      },
      (e: unknown) => {
        const error =
          e instanceof HaplayError
            ? e
            : new HaplayError('E_UNREACHABLE', `cannot reach ${this.label}: ${errText(e)}`, { where: this.where, cause: e });
        const delayMs = f ? Math.min(f.delayMs * 2, this.maxRetryDelayMs) : this.retryDelayMs;
        this.lastFailure = { at: Date.now(), delayMs, error };
        throw error;
      },
    );
    try {
      return await this.connecting;
    } finally {
      this.connecting = undefined;
    }
  }

  private async open(): Promise<Connection> {
    const spec = this.spec;
    const auth = this.authPlan();
    if (auth.methods.length === 0) {
      throw new HaplayError(
        'E_UNREACHABLE',
        `cannot log in to ${spec.user}@${spec.address}: no SSH key to offer` +
          (auth.skipped.length ? ` (${auth.skipped.join('; ')})` : ''),
        {
          where: this.where,
          hint: 'set the private key of the host in the inventory, start an ssh-agent (SSH_AUTH_SOCK), or create ~/.ssh/id_ed25519',
        },
      );
    }
    const hk = this.hostKeyCheck();
    const client = new (ssh2().Client)();
    const conn: Connection = { client, lost: false, shells: new Set(), idle: [], opening: 0, waiters: [] };
    const config: ConnectConfig = {
      host: spec.address,
      port: spec.port,
      username: spec.user,
      readyTimeout: spec.connectTimeoutMs,
      keepaliveInterval: spec.keepaliveMs,
      keepaliveCountMax: this.keepaliveCountMax,
      authHandler: auth.methods,
      hostVerifier: hk.verify,
      algorithms: { serverHostKey: hk.algorithms as never },
    };
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      client.once('ready', () => {
        settled = true;
        // Commands and tunnelled database round trips are small packets: without this, Nagle's
        // algorithm holds each one ~40 ms waiting for an ACK.
        client.setNoDelay(true);
        resolve();
      });
      client.on('error', (e: Error & { level?: string; code?: string }) => {
        if (!settled) {
          settled = true;
          reject(this.connectError(e, auth, hk.rejection()));
        }
        // After ready, errors (keepalive timeout, socket reset) are followed by 'close'.
      });
      client.on('close', () => {
        if (!settled) {
          settled = true;
          reject(hk.rejection() ?? new HaplayError('E_UNREACHABLE', `cannot reach ${this.label}: the connection was closed during login`, { where: this.where }));
        }
        this.lost(conn);
      });
      client.on('end', () => this.lost(conn));
      client.connect(config);
    });
    // The first shell proves the account works (and that sudo does, with become).
    try {
      const shell = await this.openShell(conn);
      conn.shells.add(shell);
      conn.idle.push(shell);
    } catch (e) {
      client.end();
      throw e;
    }
    return conn;
  }

  private lost(conn: Connection): void {
    if (conn.lost) return;
    conn.lost = true;
    const err = new HaplayError('E_UNREACHABLE', `connection to ${this.hostName} lost`, { where: this.where });
    for (const w of conn.waiters.splice(0)) w.reject(err);
    // Running commands are failed by their shells' channel 'close' (see shellError).
  }

  private shellCommand(): string {
    return this.spec.become && this.spec.user !== 'root' ? 'sudo -n /bin/sh' : '/bin/sh';
  }

  private openShell(conn: Connection): Promise<RemoteShell> {
    return new Promise<RemoteShell>((resolve, reject) => {
      if (conn.lost) {
        reject(new HaplayError('E_UNREACHABLE', `connection to ${this.hostName} lost`, { where: this.where }));
        return;
      }
      const cmd = this.shellCommand();
      conn.client.exec(cmd, (err: Error | undefined, channel: ClientChannel) => {
        if (err) {
          reject(
            new HaplayError('E_UNREACHABLE', `cannot start a shell on ${this.hostName}: ${errText(err)}`, {
              where: this.where,
              hint: /open failed|administratively/i.test(err.message)
                ? 'the SSH server refused a new session: check MaxSessions in sshd_config (haplay uses up to 4 per host)'
                : undefined,
            }),
          );
          return;
        }
        const shell = new RemoteShell(channel);
        // A first empty command: the shell answers, rc files and sudo did not get in the way.
        shell.run('true', { timeoutMs: this.spec.connectTimeoutMs }).then(
          () => resolve(shell),
          (e: ShellJobError) => {
            shell.kill();
            const f = e.failure;
            const said = f.kind === 'closed' ? f.stderr.trim() : '';
            if (cmd.startsWith('sudo') && !conn.lost) {
              reject(
                new HaplayError('E_UNREACHABLE', `cannot become root on ${this.hostName}: sudo -n /bin/sh failed${said ? `: ${said}` : ''}`, {
                  where: this.where,
                  hint: `let ${this.spec.user} run sudo without a password (NOPASSWD in sudoers), or connect as root`,
                }),
              );
            } else {
              reject(this.shellError(e, conn, 'starting a shell'));
            }
          },
        );
      });
    });
  }

  private acquire(conn: Connection): Promise<RemoteShell> {
    const idle = conn.idle.pop();
    if (idle) return Promise.resolve(idle);
    if (conn.shells.size + conn.opening < this.maxShells) {
      conn.opening++;
      return this.openShell(conn).then(
        (s) => {
          conn.opening--;
          conn.shells.add(s);
          return s;
        },
        (e: unknown) => {
          conn.opening--;
          // Could not open one more (MaxSessions?): wait for a busy one if there is any.
          if (conn.shells.size > 0 && !conn.lost) return new Promise<RemoteShell>((resolve, reject) => conn.waiters.push({ resolve, reject }));
          throw e;
        },
      );
    }
    return new Promise<RemoteShell>((resolve, reject) => conn.waiters.push({ resolve, reject }));
  }

  private release(conn: Connection, shell: RemoteShell): void {
    if (shell.dead || conn.lost) {
      conn.shells.delete(shell);
      const w = conn.waiters.shift();
      if (w) {
        // A replacement shell for the next waiter.
        this.acquire(conn).then(w.resolve, w.reject);
      }
      return;
    }
    const w = conn.waiters.shift();
    if (w) w.resolve(shell);
    else conn.idle.push(shell);
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const conn = await this.connection();
    const shell = await this.acquire(conn);
    const started = Date.now();
    try {
      const r = await shell.run(command, opts);
      if (opts.timeoutMs !== undefined && (r.code === 124 || r.code === 137) && Date.now() - started >= opts.timeoutMs) {
        throw new HaplayError('E_TIMEOUT', `command did not finish within ${duration(opts.timeoutMs)} on ${this.hostName} (killed)`, {
          where: this.where,
          data: { stdout: r.stdout, stderr: r.stderr, rc: r.code },
        });
      }
      return r;
    } catch (e) {
      if (e instanceof HaplayError) throw e;
      const se = e as ShellJobError;
      if (se.failure?.kind === 'stuck') {
        throw new HaplayError(
          'E_TIMEOUT',
          `command did not finish within ${duration(opts.timeoutMs ?? 0)} on ${this.hostName}, and the remote shell stopped answering (reset)`,
          { where: this.where, data: se.partial },
        );
      }
      throw this.shellError(se, conn, 'running a command');
    } finally {
      this.release(conn, shell);
    }
  }

  /** A shell went away under a command: connection loss (E_UNREACHABLE) or the shell itself died. */
  private shellError(e: ShellJobError, conn: Connection, doing: string): HaplayError {
    const f = e.failure;
    if (!f) return new HaplayError('E_INTERNAL', errText(e), { where: this.where, cause: e });
    if (f.kind === 'closed' && f.exited && !conn.lost) {
      const how = f.signal ? `killed by ${f.signal.startsWith('SIG') ? f.signal : `SIG${f.signal}`}` : `exit ${f.exitCode}`;
      return new HaplayError('E_TASK_FAILED', `the remote shell on ${this.hostName} ended (${how}) while ${doing}`, {
        where: this.where,
        hint: 'a command that kills its parent shell ($$ or $PPID) ends haplay\'s shell; the next command opens a new one',
        data: e.partial,
      });
    }
    // No exit status: the channel went down with the connection.
    conn.lost = true;
    this.lost(conn);
    return new HaplayError('E_UNREACHABLE', `connection to ${this.hostName} lost while ${doing}`, {
      where: this.where,
      data: e.partial,
    });
  }

  readFile(path: string): Promise<Buffer | null> {
    return shellReadFile((c, o) => this.exec(c, o), this.hostName, path);
  }

  writeFile(path: string, data: string | Buffer, opts?: WriteOptions): Promise<void> {
    return shellWriteFile((c, o) => this.exec(c, o), this.hostName, path, data, opts);
  }

  async openTcp(host: string, port: number): Promise<Duplex> {
    const conn = await this.connection();
    return new Promise<Duplex>((resolve, reject) => {
      try {
        conn.client.forwardOut('127.0.0.1', 0, host, port, (err: Error | undefined, channel: ClientChannel) => {
          if (!err) {
            resolve(channel);
            return;
          }
          if (conn.lost) {
            reject(new HaplayError('E_UNREACHABLE', `connection to ${this.hostName} lost while opening a tunnel`, { where: this.where }));
            return;
          }
          const why = errText(err).replace(/^\(SSH\) Channel open failure: /, '');
          reject(
            new HaplayError('E_TASK_FAILED', `cannot open a TCP connection to ${host}:${port} from ${this.hostName}: ${why}`, {
              where: this.where,
              hint: /prohibited|administratively/i.test(why) ? 'sshd must allow it: AllowTcpForwarding yes' : undefined,
            }),
          );
        });
      } catch (e) {
        reject(new HaplayError('E_UNREACHABLE', `connection to ${this.hostName} lost: ${errText(e)}`, { where: this.where }));
      }
    });
  }

  async spawn(command: string): Promise<Spawned> {
    const conn = await this.connection();
    const wrapped = this.spec.become && this.spec.user !== 'root' ? `sudo -n /bin/sh -c ${quote(command)}` : command;
    return new Promise<Spawned>((resolve, reject) => {
      conn.client.exec(wrapped, (err: Error | undefined, channel: ClientChannel) => {
        if (err) {
          reject(new HaplayError(conn.lost ? 'E_UNREACHABLE' : 'E_TASK_FAILED', `cannot start a command on ${this.hostName}: ${errText(err)}`, { where: this.where }));
          return;
        }
        const exit = new Promise<number>((res) => {
          let code: number | undefined;
          channel.on('exit', (c: number | null, signal?: string) => (code = c ?? 128 + (signal === 'KILL' ? 9 : signal === 'TERM' ? 15 : 1)));
          channel.on('close', () => res(code ?? 255));
        });
        resolve({
          stdout: channel,
          stderr: channel.stderr,
          exit,
          write: (d) => void channel.write(d),
          end: () => {
            channel.end();
            channel.close();
          },
        });
      });
    });
  }

  async close(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    if (!conn || conn.lost) return;
    for (const s of conn.shells) s.end();
    await new Promise<void>((resolve) => {
      // A channel still opening (a tunnel to an address that never answers) keeps a polite end()
      // waiting; the run is over, so do not wait long for it.
      const t = setTimeout(() => {
        conn.client.destroy();
        resolve();
      }, 300);
      conn.client.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      conn.client.end();
    });
  }

  // -------------------------------------------------------------------------------------------
  // Host keys.

  private hostKeyCheck(): {
    verify: (key: Buffer) => boolean;
    algorithms: string[];
    rejection: () => HaplayError | undefined;
  } {
    const spec = this.spec;
    const file = spec.knownHosts ?? join(homedir(), '.ssh', 'known_hosts');
    const name = knownHostName(spec.address, spec.port);
    let rejection: HaplayError | undefined;
    if (spec.hostKeyPolicy === 'off') {
      return { verify: () => true, algorithms: preferredHostKeyAlgorithms([], name), rejection: () => undefined };
    }
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        rejection = new HaplayError('E_HOST_KEY', `cannot read ${file}: ${errText(e)}`, { where: this.where });
      }
    }
    const entries = parseKnownHosts(text);
    const scan = `ssh-keyscan ${spec.port === 22 ? '' : `-p ${spec.port} `}${spec.address} >> ${quote(file)}`;
    const verify = (key: Buffer): boolean => {
      if (rejection) return false;
      const type = keyTypeOf(key).replace(/^ssh-/, '');
      const v = checkHostKey(entries, name, key);
      switch (v.status) {
        case 'known':
          return true;
        case 'revoked':
          rejection = new HaplayError(
            'E_HOST_KEY',
            `the ${type} host key of ${this.label} (${fingerprint(key)}) is marked @revoked in ${file}:${v.entry.line}`,
            { where: this.where, hint: 'the host must get a new host key; a revoked key is never accepted' },
          );
          return false;
        case 'changed': {
          const was = v.known.map((e) => `${e.keyType.replace(/^ssh-/, '')} ${fingerprint(e.key)} at line ${e.line}`).join(', ');
          rejection = new HaplayError(
            'E_HOST_KEY',
            `the host key of ${this.label} has changed: it shows ${type} ${fingerprint(key)}, ${file} has ${was}. Someone may be intercepting the connection, or the host was reinstalled`,
            {
              where: this.where,
              hint: `if the host was reinstalled, check the new key and replace the old one: ssh-keygen -R ${quote(name)} -f ${quote(file)} && ${scan}`,
            },
          );
          return false;
        }
        case 'unknown':
          if (spec.hostKeyPolicy === 'accept-new') {
            try {
              mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
              const needsNewline = existsSync(file) && text !== '' && !readFileSync(file, 'utf8').endsWith('\n');
              appendFileSync(file, (needsNewline ? '\n' : '') + formatKnownHostsLine(name, key) + '\n', { mode: 0o600 });
              return true;
            } catch (e) {
              rejection = new HaplayError('E_HOST_KEY', `cannot add the host key of ${this.label} to ${file}: ${errText(e)}`, {
                where: this.where,
              });
              return false;
            }
          }
          rejection = new HaplayError(
            'E_HOST_KEY',
            `the host key of ${this.label} is not in ${file} (it shows ${type} ${fingerprint(key)})`,
            { where: this.where, hint: `check the fingerprint, then add it: ${scan}; or use the accept-new host key policy` },
          );
          return false;
      }
    };
    return { verify, algorithms: preferredHostKeyAlgorithms(entries, name), rejection: () => rejection };
  }

  // -------------------------------------------------------------------------------------------
  // Authentication.

  private authPlan(): AuthPlan {
    const spec = this.spec;
    const plan: AuthPlan = { methods: [], offered: [], skipped: [] };
    const addKey = (path: string, explicit: boolean): void => {
      let data: Buffer;
      try {
        data = readFileSync(path);
      } catch (e) {
        if (explicit) plan.skipped.push(`cannot read ${path}: ${errText(e)}`);
        return;
      }
      const parsed = ssh2().utils.parseKey(data);
      if (parsed instanceof Error) {
        plan.skipped.push(
          /encrypted|passphrase/i.test(parsed.message)
            ? `${path} is protected by a passphrase (load it into ssh-agent: ssh-add ${path})`
            : `${path} is not a usable private key: ${parsed.message}`,
        );
        return;
      }
      plan.methods.push({ type: 'publickey', username: spec.user, key: data });
      plan.offered.push(`the key ${path}`);
    };
    if (spec.privateKey) {
      addKey(spec.privateKey, true);
      if (plan.methods.length) return plan;
      // The named key is unusable (passphrase): the agent may hold it.
    }
    const sock = process.env.SSH_AUTH_SOCK;
    if (sock) {
      plan.methods.push({ type: 'agent', username: spec.user, agent: sock });
      plan.offered.push(`the keys of ssh-agent (${sock})`);
    }
    if (!spec.privateKey) {
      for (const f of ['id_ed25519', 'id_rsa', 'id_ecdsa']) {
        const p = join(homedir(), '.ssh', f);
        if (existsSync(p)) addKey(p, false);
      }
    }
    return plan;
  }

  private connectError(e: Error & { level?: string; code?: string }, auth: AuthPlan, hostKey: HaplayError | undefined): HaplayError {
    if (hostKey) return hostKey;
    const spec = this.spec;
    const where = this.where;
    if (e.level === 'client-authentication') {
      const what = auth.offered.length === 1 ? `${auth.offered[0]} was refused` : `${joinList(auth.offered)} were refused`;
      return new HaplayError('E_UNREACHABLE', `permission denied (publickey) for ${spec.user}@${spec.address}: ${what}`, {
        where,
        hint: `authorize the public key for ${spec.user} on ${this.hostName} (ssh-copy-id -i KEY.pub ${spec.port === 22 ? '' : `-p ${spec.port} `}${spec.user}@${spec.address}) or set the right private key in the inventory`,
        cause: e,
      });
    }
    if (e.level === 'client-timeout' || /timed out/i.test(e.message)) {
      return new HaplayError('E_UNREACHABLE', `cannot reach ${this.label}: connection timed out after ${duration(spec.connectTimeoutMs)}`, {
        where,
        hint: 'is the host up, and is port ' + spec.port + ' open from here?',
        cause: e,
      });
    }
    const byCode: Record<string, string> = {
      ECONNREFUSED: 'connection refused (is sshd running?)',
      EHOSTUNREACH: 'no route to host',
      ENETUNREACH: 'network unreachable',
      ETIMEDOUT: `connection timed out after ${duration(spec.connectTimeoutMs)}`,
      ECONNRESET: 'connection reset by the host',
      ENOTFOUND: `cannot resolve ${spec.address}`,
      EAI_AGAIN: `cannot resolve ${spec.address} (DNS not answering)`,
    };
    const why = (e.code && byCode[e.code]) || e.message;
    return new HaplayError('E_UNREACHABLE', `cannot reach ${this.label}: ${why}`, { where, cause: e });
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function joinList(xs: string[]): string {
  return xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}
