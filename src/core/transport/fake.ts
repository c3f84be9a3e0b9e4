// A scripted transport for tests: commands are answered by rules, files live in memory, and the
// host can be made unreachable. Every call is recorded so tests can assert what a plugin ran.
import { PassThrough, type Duplex } from 'node:stream';
import type { ExecOptions, ExecResult, Spawned, Transport, WriteOptions } from '../types.js';
import { HaplayError } from '../errors.js';

export type FakeReply = Partial<ExecResult> | ((command: string, stdin: string) => Partial<ExecResult>);

export interface FakeRule {
  match: string | RegExp | ((command: string) => boolean);
  reply: FakeReply;
  /** Answer only this many times, then fall through to later rules. */
  times?: number;
}

export class FakeTransport implements Transport {
  readonly commands: string[] = [];
  readonly files = new Map<string, { data: Buffer; mode?: number; owner?: string; group?: string }>();
  unreachable = false;
  connects = 0;
  /** Delay of every exec, to exercise parallelism and timeouts. */
  latencyMs = 0;
  private rules: FakeRule[] = [];

  constructor(readonly hostName: string, rules: FakeRule[] = []) {
    this.rules = [...rules];
  }

  on(match: FakeRule['match'], reply: FakeReply, times?: number): this {
    this.rules.push({ match, reply, times });
    return this;
  }

  async connect(): Promise<void> {
    this.connects++;
    this.check();
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.check();
    this.commands.push(command);
    if (this.latencyMs) await sleepAbortable(this.latencyMs, opts.timeoutMs, this.hostName);
    this.check();
    const stdin = opts.stdin === undefined ? '' : Buffer.from(opts.stdin).toString('utf8');
    for (const rule of this.rules) {
      if (!matches(rule.match, command)) continue;
      if (rule.times !== undefined) {
        if (rule.times <= 0) continue;
        rule.times--;
      }
      const r = typeof rule.reply === 'function' ? rule.reply(command, stdin) : rule.reply;
      return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', code: r.code ?? 0 };
    }
    return { stdout: '', stderr: `fake: no rule for: ${command}`, code: 127 };
  }

  async readFile(path: string): Promise<Buffer | null> {
    this.check();
    return this.files.get(path)?.data ?? null;
  }

  async writeFile(path: string, data: string | Buffer, opts: WriteOptions = {}): Promise<void> {
    this.check();
    const old = this.files.get(path);
    this.files.set(path, {
      data: Buffer.from(data),
      mode: opts.mode ?? old?.mode ?? 0o644,
      owner: opts.owner ?? old?.owner,
      group: opts.group ?? old?.group,
    });
  }

  async openTcp(): Promise<Duplex> {
    this.check();
    return new PassThrough();
  }

  /** Commands started with spawn() that are still open; kill() ends one as if killed on the host. */
  readonly spawned: { command: string; kill(code?: number): void }[] = [];

  /**
   * Runs the command through the rules, then stays open until end() or kill(), echoing each line
   * written to it (as the run lock's holder does with heartbeats).
   */
  async spawn(command: string): Promise<Spawned> {
    const r = await this.exec(command);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.write(r.stdout);
    stderr.end(r.stderr);
    let open = r.code === 0;
    let done!: (code: number) => void;
    const exit = new Promise<number>((res) => (done = res));
    const finish = (code: number) => {
      open = false;
      stdout.end();
      done(code);
    };
    if (!open) finish(r.code);
    else this.spawned.push({ command, kill: (code = 137) => finish(code) });
    return {
      stdout,
      stderr,
      exit,
      write: (d) => void (open && !this.unreachable && stdout.write(d)),
      end: () => finish(r.code),
    };
  }

  async close(): Promise<void> {}

  private check(): void {
    if (this.unreachable) {
      throw new HaplayError('E_UNREACHABLE', `cannot reach ${this.hostName}: connection refused`, {
        where: { host: this.hostName },
      });
    }
  }
}

function matches(m: FakeRule['match'], command: string): boolean {
  if (typeof m === 'string') return command.includes(m);
  if (m instanceof RegExp) return m.test(command);
  return m(command);
}

function sleepAbortable(ms: number, timeoutMs: number | undefined, host: string): Promise<void> {
  if (timeoutMs !== undefined && timeoutMs < ms) {
    return new Promise((_, reject) =>
      setTimeout(
        () => reject(new HaplayError('E_TIMEOUT', `command did not finish within ${timeoutMs} ms`, { where: { host } })),
        timeoutMs,
      ),
    );
  }
  return new Promise((r) => setTimeout(r, ms));
}
