// One persistent remote shell on an SSH exec channel, and the framing that lets many commands run
// through it. Each command travels base64-encoded, runs in its own `/bin/sh -c` (so `exit`, `cd`,
// `set -e` cannot break the shell, and `$$` is the command's own, as with one SSH session per command), reads /dev/null or the given stdin bytes, and is bracketed on stdout and
// stderr by begin/end markers carrying a random per-command nonce and the exit status:
//
//   <<HAPLAY:nonce:begin>>\n  ...command output, any bytes...  <<HAPLAY:nonce:end:STATUS>>\n
//
// Output between the markers is returned exactly (no trimming; no trailing newline is invented).
// Bytes outside markers (stray output of background jobs of earlier commands) are dropped.
import { randomBytes } from 'node:crypto';
import type { ClientChannel } from 'ssh2';
import type { ExecOptions, ExecResult } from '../types.js';

/** How a command on a shell ended badly, decided by the transport (it knows the connection state). */
export type ShellFailure =
  | { kind: 'closed'; exited: boolean; exitCode?: number | null; signal?: string; stderr: string }
  | { kind: 'stuck' };

export interface ShellJobError extends Error {
  failure: ShellFailure;
  partial: { stdout: string; stderr: string };
}

/** Seconds the remote `timeout` waits after TERM before it sends KILL. */
export const KILL_GRACE_S = 2;
/** How long after the remote kill we give up on the shell answering at all. */
export const LOCAL_MARGIN_MS = 3000;

/** Builds the text sent to the shell for one command. Exported for tests. */
export function frameCommand(nonce: string, command: string, opts: ExecOptions = {}): string {
  const tag = `__HAPLAY_${nonce}`;
  const begin = `<<HAPLAY:${nonce}:begin>>`;
  const end = `<<HAPLAY:${nonce}:end:%d>>\\n`;
  const run =
    opts.timeoutMs !== undefined
      ? `timeout -k ${KILL_GRACE_S} ${seconds(opts.timeoutMs)} /bin/sh -c "$__haplay_c"`
      : `/bin/sh -c "$__haplay_c"`;
  const lines = [
    `printf '%s\\n' '${begin}'; printf '%s\\n' '${begin}' >&2`,
    `__haplay_c=$(base64 -d <<'${tag}'`,
    wrap(Buffer.from(command, 'utf8').toString('base64')),
    tag,
    `)`,
  ];
  if (opts.stdin === undefined) {
    lines.push(`${run} </dev/null`);
  } else {
    lines.push(`base64 -d <<'${tag}_IN' | ${run}`, wrap(Buffer.from(opts.stdin).toString('base64')), `${tag}_IN`);
  }
  lines.push(`__haplay_rc=$?`, `printf '${end}' "$__haplay_rc"; printf '${end}' "$__haplay_rc" >&2`, '');
  return lines.join('\n');
}

function seconds(ms: number): string {
  return `${Math.max(ms, 1) / 1000}s`;
}

function wrap(b64: string): string {
  if (b64 === '') return '';
  const out: string[] = [];
  for (let i = 0; i < b64.length; i += 1024) out.push(b64.slice(i, i + 1024));
  return out.join('\n');
}

/** Collects one stream of one command: drops bytes until the begin marker, keeps bytes until the end marker. */
export class FrameReader {
  private readonly begin: Buffer;
  private readonly endPrefix: Buffer;
  private state: 'pre' | 'body' | 'trailer' | 'done' = 'pre';
  private pre: Buffer = Buffer.alloc(0);
  private chunks: Buffer[] = [];
  /** Last bytes of the body, so an end marker split across chunks is still found. */
  private tail: Buffer = Buffer.alloc(0);
  private trailer: Buffer = Buffer.alloc(0);
  status: number | undefined;

  constructor(nonce: string) {
    this.begin = Buffer.from(`<<HAPLAY:${nonce}:begin>>\n`);
    this.endPrefix = Buffer.from(`<<HAPLAY:${nonce}:end:`);
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /** Feeds bytes; returns true once the end marker has been read. */
  push(data: Buffer): boolean {
    if (this.state === 'done') return true;
    if (this.state === 'pre') {
      this.pre = this.pre.length ? Buffer.concat([this.pre, data]) : data;
      const i = this.pre.indexOf(this.begin);
      if (i < 0) {
        // Keep only what could still be the start of the marker.
        if (this.pre.length > this.begin.length) this.pre = this.pre.subarray(this.pre.length - this.begin.length);
        return false;
      }
      const rest = this.pre.subarray(i + this.begin.length);
      this.pre = Buffer.alloc(0);
      this.state = 'body';
      return rest.length ? this.push(rest) : false;
    }
    if (this.state === 'body') {
      const window = this.tail.length ? Buffer.concat([this.tail, data]) : data;
      const i = window.indexOf(this.endPrefix);
      if (i < 0) {
        this.chunks.push(data);
        const keep = Math.min(window.length, this.endPrefix.length - 1);
        this.tail = Buffer.from(window.subarray(window.length - keep));
        return false;
      }
      // Bytes of the window before i are body; part of them may be the tail already stored.
      const bodyInWindow = window.subarray(0, i);
      if (bodyInWindow.length >= this.tail.length) {
        this.chunks.push(bodyInWindow.subarray(this.tail.length));
      } else {
        // The marker started inside the stored tail: cut the body already collected.
        this.truncate(this.tail.length - bodyInWindow.length);
      }
      this.tail = Buffer.alloc(0);
      this.state = 'trailer';
      return this.push(window.subarray(i + this.endPrefix.length));
    }
    // trailer: "STATUS>>\n"
    this.trailer = this.trailer.length ? Buffer.concat([this.trailer, data]) : data;
    const m = /^(\d+)>>/.exec(this.trailer.toString('latin1'));
    if (!m) {
      if (this.trailer.length > 32) {
        // Not our marker after all (cannot happen with a random nonce); treat as status 255.
        this.status = 255;
        this.state = 'done';
        return true;
      }
      return false;
    }
    this.status = Number(m[1]);
    this.state = 'done';
    return true;
  }

  private truncate(n: number): void {
    while (n > 0 && this.chunks.length) {
      const last = this.chunks[this.chunks.length - 1];
      if (last.length <= n) {
        this.chunks.pop();
        n -= last.length;
      } else {
        this.chunks[this.chunks.length - 1] = last.subarray(0, last.length - n);
        n = 0;
      }
    }
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

interface Job {
  out: FrameReader;
  err: FrameReader;
  resolve(r: ExecResult): void;
  reject(e: ShellJobError): void;
  timer?: NodeJS.Timeout;
}

export class RemoteShell {
  dead = false;
  private job: Job | undefined;
  private exit: { code: number | null; signal?: string } | undefined;
  /** Stderr seen outside any command (sudo complaining, rc files), for error messages. */
  private looseStderr = '';

  constructor(private readonly channel: ClientChannel) {
    channel.on('data', (b: Buffer) => this.onData('out', b));
    channel.stderr.on('data', (b: Buffer) => this.onData('err', b));
    channel.on('exit', (code: number | null, signal?: string) => {
      this.exit = { code, signal };
    });
    channel.on('close', () => this.onClose());
    channel.on('error', () => this.onClose());
  }

  /** Runs one command. Only one at a time per shell: the caller queues. */
  run(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.dead) return Promise.reject(this.failure({ kind: 'closed', exited: !!this.exit, stderr: this.looseStderr }));
    if (this.job) throw new Error('RemoteShell.run while busy');
    const nonce = randomBytes(12).toString('hex');
    return new Promise<ExecResult>((resolve, reject) => {
      const job: Job = { out: new FrameReader(nonce), err: new FrameReader(nonce), resolve, reject };
      this.job = job;
      if (opts.timeoutMs !== undefined) {
        job.timer = setTimeout(() => {
          // The remote side did not answer even after its own kill: this shell is unusable.
          this.kill();
          this.finish(job, this.failure({ kind: 'stuck' }, job));
        }, opts.timeoutMs + KILL_GRACE_S * 1000 + LOCAL_MARGIN_MS);
      }
      this.channel.write(frameCommand(nonce, command, opts));
    });
  }

  /** Ends the shell: EOF makes /bin/sh exit after the current command. */
  end(): void {
    if (this.dead) return;
    this.channel.end();
  }

  /** Kills the shell and whatever it runs (signal request, then channel close). */
  kill(): void {
    if (this.dead) return;
    this.dead = true;
    try {
      this.channel.signal('KILL');
    } catch {
      /* not supported or already closed */
    }
    try {
      this.channel.close();
    } catch {
      /* already closed */
    }
  }

  private onData(which: 'out' | 'err', b: Buffer): void {
    const job = this.job;
    if (!job) {
      if (which === 'err' && this.looseStderr.length < 4096) this.looseStderr += b.toString('utf8');
      return;
    }
    (which === 'out' ? job.out : job.err).push(b);
    if (job.out.done && job.err.done) {
      this.finish(job, undefined, {
        stdout: job.out.text(),
        stderr: job.err.text(),
        code: job.out.status ?? job.err.status ?? 255,
      });
    }
  }

  private onClose(): void {
    if (this.dead && !this.job) return;
    this.dead = true;
    const job = this.job;
    if (job) {
      this.finish(
        job,
        this.failure(
          { kind: 'closed', exited: !!this.exit, exitCode: this.exit?.code, signal: this.exit?.signal, stderr: this.looseStderr },
          job,
        ),
      );
    }
  }

  private finish(job: Job, error?: ShellJobError, result?: ExecResult): void {
    if (this.job !== job) return;
    this.job = undefined;
    clearTimeout(job.timer);
    if (error) job.reject(error);
    else job.resolve(result!);
  }

  private failure(f: ShellFailure, job?: Job): ShellJobError {
    const e = new Error('remote shell failure') as ShellJobError;
    e.failure = f;
    e.partial = { stdout: job?.out.text() ?? '', stderr: job?.err.text() ?? '' };
    return e;
  }
}
