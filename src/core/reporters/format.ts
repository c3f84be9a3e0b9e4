// Text shared by the plain and listr reporters: status lines, diffs, the recap. Pure functions of an
// event; every string an operator reads passes through the Redactor at the end (`TextFormat.out`).
import { lazy } from '../lazy.js';
import type { Diff, HostCounts, HostStatus, RunEvent } from '../types.js';
import { Redactor } from '../redact.js';

const diffPkg = lazy<typeof import('diff')>('diff');

export type HostResultEvent = Extract<RunEvent, { type: 'host_result' }>;
export type TaskStartEvent = Extract<RunEvent, { type: 'task_start' }>;
export type RecapEvent = Extract<RunEvent, { type: 'recap' }>;
export type WarningEvent = Extract<RunEvent, { type: 'warning' }>;
export type RunStartEvent = Extract<RunEvent, { type: 'run_start' }>;

/** What a reporter writes to: process.stdout, a file stream, a test buffer. */
export interface OutputStream {
  write(chunk: string, cb?: (err?: Error | null) => void): boolean;
}

/** Resolves once everything written so far has been handed to the OS (the stream is not ended). */
export function flushed(stream: OutputStream): Promise<void> {
  return new Promise((resolve) => {
    try {
      stream.write('', () => resolve());
    } catch {
      resolve();
    }
  });
}

const ANSI = {
  reset: '\x1b[0m',
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  blue: '\x1b[34m',
  magenta: '\x1b[35m',
  cyan: '\x1b[36m',
} as const;
type Style = Exclude<keyof typeof ANSI, 'reset'>;

export const STATUS_STYLE: Record<HostStatus, Style> = {
  ok: 'green',
  changed: 'yellow',
  failed: 'red',
  skipped: 'cyan',
  unreachable: 'red',
  rescued: 'magenta',
  ignored: 'blue',
};

/** The order of the recap columns, as in ansible. */
export const COUNT_KEYS: (keyof HostCounts)[] = ['ok', 'changed', 'failed', 'skipped', 'unreachable', 'rescued', 'ignored'];

/** Worst first: the status that sums up a host whose loop items ended differently. */
const SEVERITY: HostStatus[] = ['unreachable', 'failed', 'ignored', 'rescued', 'changed', 'ok', 'skipped'];

/** The status of a looping host when the engine sent only per-item results. */
export function aggregateStatus(statuses: HostStatus[]): HostStatus {
  if (statuses.length === 0) return 'skipped';
  // All skipped → skipped; otherwise skipped items do not make the host "skipped".
  const notSkipped: HostStatus[] = statuses.filter((s) => s !== 'skipped');
  if (notSkipped.length === 0) return 'skipped';
  return SEVERITY.find((s) => notSkipped.includes(s)) ?? 'ok';
}

/** "1.42 s", "2 min 05 s", "1 h 02 min". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const totalS = Math.round(ms / 1000);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  return `${m} min ${String(s).padStart(2, '0')} s`;
}

/** JSON.stringify that survives bigints (as strings) and cycles (the Redactor cuts those). */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent) ?? 'null';
}

export interface TextFormatOptions {
  color?: boolean;
  verbose?: boolean;
  diff?: boolean;
  redactor?: Redactor;
}

export class TextFormat {
  readonly color: boolean;
  readonly verbose: boolean;
  readonly diff: boolean;
  readonly redactor: Redactor;

  constructor(opts: TextFormatOptions = {}) {
    this.color = opts.color ?? false;
    this.verbose = opts.verbose ?? false;
    this.diff = opts.diff ?? false;
    this.redactor = opts.redactor ?? new Redactor();
  }

  paint(style: Style, text: string): string {
    return this.color && text ? `${ANSI[style]}${text}${ANSI.reset}` : text;
  }

  /** The final pass over text about to be written: every secret masked. */
  out(text: string): string {
    return this.redactor.redact(text);
  }

  runHeader(e: RunStartEvent): string {
    const modes = [e.check ? 'check mode' : '', e.diff ? 'diff' : ''].filter(Boolean);
    return `PLAYBOOK [${e.playbook}]${modes.length ? ` (${modes.join(', ')})` : ''}`;
  }

  /** "PLAY [name] ****…" filled to 72 columns, at least four stars. */
  banner(title: string): string {
    const stars = '*'.repeat(Math.max(4, 72 - title.length - 1));
    return this.paint('bold', `${title} ${stars}`);
  }

  playHeader(play: string): string {
    return this.banner(`PLAY [${play}]`);
  }

  taskTitle(e: TaskStartEvent): string {
    return `${e.handler ? 'RUNNING HANDLER' : 'TASK'} [${e.task}]`;
  }

  /** What follows "=> " on a status line, or '' when there is nothing to add. */
  detail(e: Pick<HostResultEvent, 'status' | 'msg' | 'changes' | 'noop'>): string {
    const changes = e.changes?.filter(Boolean) ?? [];
    const msg = e.msg?.trim() ?? '';
    switch (e.status) {
      case 'changed':
        return changes.length ? changes.join('; ') : msg;
      case 'ok':
        // A plugin's own message (debug, a service status) always shows; the noop reason
        // ("ha.conf already says main") is for -v: a plain ok says enough.
        return msg || (this.verbose ? (e.noop ?? '') : '');
      case 'skipped':
        return this.verbose ? msg : '';
      default:
        return msg || changes.join('; ');
    }
  }

  /** `changed: [pbx-main] (item=ha) => write /etc/xivo/ha.conf` plus indented continuation lines of a multi-line message. */
  hostLines(e: HostResultEvent): string[] {
    const head = `${e.status}: [${e.host}]${e.item !== undefined ? ` (item=${e.item})` : ''}`;
    // Masked before the lines are split and indented: a multi-line secret is then still whole.
    const [first = '', ...rest] = this.redactor.redact(this.detail(e)).split('\n');
    const time = this.verbose ? this.paint('dim', ` (${formatDuration(e.durationMs)})`) : '';
    const lines = [this.paint(STATUS_STYLE[e.status], first ? `${head} => ${first}` : head) + time];
    for (const l of rest) lines.push(this.paint(STATUS_STYLE[e.status], `    ${l}`));
    return lines;
  }

  /** The unified diffs (when diff mode is on) and, with -v, the registered result, indented under the status line. */
  hostExtras(e: HostResultEvent): string[] {
    const lines: string[] = [];
    if (this.diff && e.diff) for (const d of e.diff) lines.push(...this.diffLines(d));
    if (this.verbose && e.result !== undefined) {
      const json = toJson(this.redactor.redactDeep(e.result), 2);
      for (const l of json.split('\n')) lines.push(`    ${l}`);
    }
    return lines;
  }

  /** A unified diff of before/after, indented by four spaces; nothing when the texts are equal. */
  diffLines(d: Diff): string[] {
    const before = this.redactor.redact(d.before ?? '');
    const after = this.redactor.redact(d.after ?? '');
    if (before === after) return [];
    const label = d.label ?? '';
    const { createTwoFilesPatch, FILE_HEADERS_ONLY } = diffPkg();
    const patch = createTwoFilesPatch(
      label ? `before: ${label}` : 'before',
      label ? `after: ${label}` : 'after',
      before,
      after,
      undefined,
      undefined,
      { context: 3, headerOptions: FILE_HEADERS_ONLY },
    );
    return patch
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => {
        let styled = l;
        if (l.startsWith('+++') || l.startsWith('---')) styled = this.paint('bold', l);
        else if (l.startsWith('+')) styled = this.paint('green', l);
        else if (l.startsWith('-')) styled = this.paint('red', l);
        else if (l.startsWith('@@')) styled = this.paint('cyan', l);
        return `    ${styled}`;
      });
  }

  progress(host: string, message: string): string {
    return this.paint('dim', `  … [${host}] ${message}`);
  }

  warning(e: WarningEvent): string {
    return this.paint('magenta', `[WARNING]: ${e.host ? `[${e.host}] ` : ''}${e.message}`);
  }

  /** PLAY RECAP with host names and every `key=value` column aligned, then the run time. */
  recap(e: RecapEvent): string[] {
    const hosts = Object.entries(e.hosts);
    const lines = ['', this.banner('PLAY RECAP')];
    const nameWidth = Math.max(0, ...hosts.map(([h]) => h.length));
    const widths = COUNT_KEYS.map((k) => Math.max(...hosts.map(([, c]) => `${k}=${c[k] ?? 0}`.length)));
    for (const [host, c] of hosts) {
      const worst: HostStatus =
        (c.unreachable ?? 0) > 0 ? 'unreachable' : (c.failed ?? 0) > 0 ? 'failed' : (c.changed ?? 0) > 0 ? 'changed' : 'ok';
      const cols = COUNT_KEYS.map((k, i) => {
        const text = `${k}=${c[k] ?? 0}`;
        const padded = i === COUNT_KEYS.length - 1 ? text : text.padEnd(widths[i]!);
        return (c[k] ?? 0) > 0 && k !== 'ok' ? this.paint(STATUS_STYLE[k as HostStatus], padded) : padded;
      });
      lines.push(`${this.paint(STATUS_STYLE[worst], host.padEnd(nameWidth))} : ${cols.join(' ')}`);
    }
    const exit = e.exitCode !== 0 ? ` (exit code ${e.exitCode})` : '';
    lines.push('', `ran in ${formatDuration(e.durationMs)}${exit}`);
    return lines;
  }
}
