// Line-per-event output for cron, CI and log files: ansible-like, compact, no ANSI unless asked.
// Each event becomes whole lines written in one call, so interleaved writers never split a line.
import type { Reporter, RunEvent } from '../types.js';
import type { Redactor } from '../redact.js';
import { flushed, TextFormat, type OutputStream } from './format.js';

export interface PlainReporterOptions {
  /** Noop reasons, per-result durations, registered results as JSON, every progress line (throttled). */
  verbose?: boolean;
  /** Unified diffs of before/after under the result. */
  diff?: boolean;
  /** ANSI colours (off by default: logs and CI). */
  color?: boolean;
  /** Masks secrets in everything written. */
  redactor?: Redactor;
  /** At most one progress line per host this often; default 5000 ms. */
  progressIntervalMs?: number;
  /** Without -v, progress is shown only once a task has run this long; default 5000 ms. */
  slowTaskMs?: number;
  /** Clock in ms, for tests. */
  now?: () => number;
}

export class PlainReporter implements Reporter {
  private readonly fmt: TextFormat;
  private readonly progressIntervalMs: number;
  private readonly slowTaskMs: number;
  private readonly now: () => number;
  private taskStartedAt = 0;
  /** Last time a progress line was printed, per host, for the current task. */
  private readonly lastProgress = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly stream: OutputStream,
    opts: PlainReporterOptions = {},
  ) {
    this.fmt = new TextFormat({ color: opts.color, verbose: opts.verbose, diff: opts.diff, redactor: opts.redactor });
    this.progressIntervalMs = opts.progressIntervalMs ?? 5000;
    this.slowTaskMs = opts.slowTaskMs ?? 5000;
    this.now = opts.now ?? Date.now;
  }

  event(e: RunEvent): void {
    const lines = this.lines(e);
    if (lines.length > 0) this.stream.write(this.fmt.out(lines.join('\n') + '\n'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await flushed(this.stream);
  }

  private lines(e: RunEvent): string[] {
    const f = this.fmt;
    switch (e.type) {
      case 'run_start':
        return [f.runHeader(e)];
      case 'play_start':
        return ['', f.playHeader(e.play)];
      case 'task_start':
        this.taskStartedAt = this.now();
        this.lastProgress.clear();
        return [f.taskTitle(e)];
      case 'host_result':
        return [...f.hostLines(e), ...f.hostExtras(e)];
      case 'progress':
        return this.shouldShowProgress(e.host) ? [f.progress(e.host, e.message)] : [];
      case 'warning':
        return [f.warning(e)];
      case 'play_end':
        return [];
      case 'recap':
        return f.recap(e);
      default:
        return [];
    }
  }

  /** -v: the first progress line at once; otherwise only once the task is slow. Then one per host per interval. */
  private shouldShowProgress(host: string): boolean {
    const now = this.now();
    if (!this.fmt.verbose && now - this.taskStartedAt < this.slowTaskMs) return false;
    const last = this.lastProgress.get(host);
    if (last !== undefined && now - last < this.progressIntervalMs) return false;
    this.lastProgress.set(host, now);
    return true;
  }
}
