// Running commands on the machine and inside a lab host's namespaces.
import { spawn } from 'node:child_process';
import { mntNsFile, netnsOf, utsNsFile } from './config.js';

export interface RunResult { stdout: string; stderr: string; code: number }

export interface RunOptions { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number }

/** Runs argv, never throws on a non-zero exit. */
export function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd: opts.cwd ?? '/',
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      // Own session: what a host starts must not die with the caller's process group.
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ stdout, stderr, code: code ?? (signal ? 128 : 1) });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

export class CommandError extends Error {
  constructor(readonly argv: string[], readonly result: RunResult) {
    super(`command failed (exit ${result.code}): ${argv.join(' ')}\n${(result.stderr || result.stdout).trim()}`);
  }
}

/** Runs argv and throws a CommandError unless it exits 0. */
export async function runOk(argv: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new CommandError(argv.length > 8 ? [...argv.slice(0, 7), "…"] : argv, r);
  return r.stdout;
}

export const sh = (script: string, opts: RunOptions = {}) => runOk(['bash', '-euo', 'pipefail', '-c', script], opts);

/** The argv prefix that puts a command inside a host (network, mount and UTS namespaces). */
export function nsenterArgv(host: string): string[] {
  return ['nsenter', `--net=/run/netns/${netnsOf(host)}`, `--mount=${mntNsFile(host)}`, `--uts=${utsNsFile(host)}`, '--wd=/', '--'];
}

/** Environment of a command run inside a host: like root's login on a Debian server. */
export const HOST_ENV: NodeJS.ProcessEnv = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  USER: 'root',
  LOGNAME: 'root',
  LANG: 'C.UTF-8',
  SHELL: '/bin/bash',
};

/** Runs argv inside a host. */
export function runIn(host: string, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run([...nsenterArgv(host), ...argv], { ...opts, env: { ...HOST_ENV, ...opts.env } });
}

/** Runs a bash script inside a host. */
export function shIn(host: string, script: string, opts: RunOptions = {}): Promise<RunResult> {
  return runIn(host, ['bash', '-c', script], opts);
}

export async function shInOk(host: string, script: string, opts: RunOptions = {}): Promise<string> {
  const argv = [...nsenterArgv(host), 'bash', '-c', script];
  const r = await run(argv, { ...opts, env: { ...HOST_ENV, ...opts.env } });
  if (r.code !== 0) throw new CommandError([`[${host}]`, script], r);
  return r.stdout;
}

/** Runs async jobs with at most `limit` at once. */
export async function pool<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
