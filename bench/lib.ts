// Small helpers for benchmarks: wall-clock timing of whole commands, repeated, with the median.
import { spawnSync } from 'node:child_process';

export interface Timing {
  runs: number[];
  median: number;
  min: number;
}

/** Runs argv `n` times and returns wall-clock seconds; a non-zero exit is an error (the bench is wrong). */
export function time(argv: string[], n: number, env: NodeJS.ProcessEnv = process.env): Timing {
  const runs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(argv[0], argv.slice(1), { env, encoding: 'utf8' });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
    runs.push(s);
  }
  const sorted = [...runs].sort((a, b) => a - b);
  return { runs, median: sorted[Math.floor(sorted.length / 2)], min: sorted[0] };
}

export function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

export const fmt = (s: number) => `${s.toFixed(2)} s`;
