// The control machine itself: every command is a child process of haplay.
import { spawn } from 'node:child_process';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ExecOptions, ExecResult, Spawned, Transport, WriteOptions } from '../types.js';
import { HaplayError } from '../errors.js';
import { shellReadFile, shellWriteFile } from './fileops.js';

export class LocalTransport implements Transport {
  constructor(readonly hostName: string = 'localhost') {}

  async connect(): Promise<void> {}

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      const timer =
        opts.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              child.kill('SIGKILL');
            }, opts.timeoutMs);
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new HaplayError('E_TASK_FAILED', `cannot run /bin/sh: ${e.message}`, { where: { host: this.hostName } }));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (timedOut) {
          reject(
            new HaplayError('E_TIMEOUT', `command did not finish within ${opts.timeoutMs} ms`, {
              where: { host: this.hostName },
            }),
          );
          return;
        }
        resolve({
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          code: code ?? 128 + signalNumber(signal),
        });
      });
      child.stdin.on('error', () => {}); // the command may exit before reading its input
      child.stdin.end(opts.stdin ?? '');
    });
  }

  readFile(path: string): Promise<Buffer | null> {
    return shellReadFile((c, o) => this.exec(c, o), this.hostName, path);
  }

  writeFile(path: string, data: string | Buffer, opts?: WriteOptions): Promise<void> {
    return shellWriteFile((c, o) => this.exec(c, o), this.hostName, path, data, opts);
  }

  openTcp(host: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  }

  async spawn(command: string): Promise<Spawned> {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => {});
    const exit = new Promise<number>((resolve) => {
      child.on('error', () => resolve(127));
      child.on('close', (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
    });
    return { stdout: child.stdout, stderr: child.stderr, exit, write: (d) => void child.stdin.write(d), end: () => child.stdin.end() };
  }

  async close(): Promise<void> {}
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const table: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return signal ? (table[signal] ?? 0) : 0;
}
