// Live terminal output with listr2. listr2 wants to run the work itself; here the engine runs it and
// only sends events, so the adapter builds one Listr per task: a title (TASK [...]) with one subtask
// per host, each subtask waiting for its host's result. Events go through one promise queue, so a
// host_result that arrives before its subtask has started is kept (in the host's slot) and applied when
// it starts. PLAY headers, warnings, diffs and the recap are printed plainly between the lists.
import type { Listr as ListrT } from 'listr2';
import { lazy } from '../lazy.js';
import type { HostStatus, Reporter, RunEvent } from '../types.js';
import type { Redactor } from '../redact.js';
import {
  aggregateStatus,
  flushed,
  formatDuration,
  TextFormat,
  type HostResultEvent,
  type OutputStream,
  type TaskStartEvent,
} from './format.js';

// Loaded only when a terminal gets live output (cron, CI and pipes get plain lines without it).
const listr2 = lazy<typeof import('listr2')>('listr2');

export type ListrRendererName = 'default' | 'simple' | 'verbose' | 'test' | 'silent';

export interface ListrReporterOptions {
  /** Noop reasons and registered results (printed under the task once it has rendered). */
  verbose?: boolean;
  /** Unified diffs, printed under the task once it has rendered. */
  diff?: boolean;
  redactor?: Redactor;
  /**
   * listr2 renderer: 'default' (live, needs process.stdout to be a TTY, else listr2 falls back to
   * 'simple'), 'simple' (a line per state change), 'test' (listr2's serialised events, for tests).
   */
  renderer?: ListrRendererName;
  /** Where everything goes; default process.stdout. */
  stream?: NodeJS.WriteStream;
  /** ANSI colours in the plain parts (headers, diffs, recap); default: on with the default renderer. */
  color?: boolean;
  /** Outside the live renderer, at most one progress line per host this often; default 5000 ms. */
  progressIntervalMs?: number;
  now?: () => number;
}

/** The part of listr2's task wrapper the adapter uses. */
interface TaskHandle {
  title: string | undefined;
  output: string | undefined;
  skip(message?: string): void;
}

interface HostSlot {
  host: string;
  /** Per-item results of a looping task, in arrival order. */
  items: HostResultEvent[];
  /** The host-level result (no `item`). */
  final?: HostResultEvent;
  settled: boolean;
  resolve: () => void;
  done: Promise<void>;
  /** Set when listr2 starts the subtask; until then progress waits in `progress`. */
  handle?: TaskHandle;
  progress?: string;
  lastProgressAt?: number;
}

interface TaskRun {
  start: TaskStartEvent;
  slots: Map<string, HostSlot>;
  /** Plain lines for after the list has rendered: diffs, -v results, warnings, results of unknown hosts. */
  after: string[];
  done: Promise<void>;
  /** listr2 itself failed: the results are printed as plain lines instead. */
  broken: boolean;
}

export class ListrReporter implements Reporter {
  private readonly fmt: TextFormat;
  private readonly renderer: ListrRendererName;
  private readonly stream: NodeJS.WriteStream;
  private readonly progressIntervalMs: number;
  private readonly now: () => number;
  private queue: Promise<void> = Promise.resolve();
  private current: TaskRun | null = null;

  constructor(opts: ListrReporterOptions = {}) {
    this.renderer = opts.renderer ?? 'default';
    this.stream = opts.stream ?? process.stdout;
    this.fmt = new TextFormat({
      color: opts.color ?? this.renderer === 'default',
      verbose: opts.verbose,
      diff: opts.diff,
      redactor: opts.redactor,
    });
    this.progressIntervalMs = opts.progressIntervalMs ?? 5000;
    this.now = opts.now ?? Date.now;
  }

  event(e: RunEvent): void {
    this.queue = this.queue.then(
      () => this.handle(e),
      () => this.handle(e),
    );
    this.queue = this.queue.catch((err: unknown) => this.write([`[WARNING]: reporter error: ${errorMessage(err)}`]));
  }

  async close(): Promise<void> {
    this.queue = this.queue.then(() => this.finishTask());
    await this.queue.catch(() => undefined);
    await flushed(this.stream);
  }

  private async handle(e: RunEvent): Promise<void> {
    const f = this.fmt;
    switch (e.type) {
      case 'run_start':
        this.write([f.runHeader(e)]);
        return;
      case 'play_start':
        await this.finishTask();
        this.write(['', f.playHeader(e.play)]);
        return;
      case 'task_start':
        await this.finishTask();
        this.startTask(e);
        return;
      case 'host_result':
        this.hostResult(e);
        return;
      case 'progress':
        this.progress(e.host, e.task, e.message);
        return;
      case 'warning':
        if (this.current) this.current.after.push(f.warning(e));
        else this.write([f.warning(e)]);
        return;
      case 'play_end':
        await this.finishTask();
        return;
      case 'recap':
        await this.finishTask();
        this.write(f.recap(e));
        return;
      default:
        return;
    }
  }

  private startTask(e: TaskStartEvent): void {
    const slots = new Map<string, HostSlot>();
    for (const host of e.hosts) {
      let resolve!: () => void;
      const done = new Promise<void>((r) => (resolve = r));
      slots.set(host, { host, items: [], settled: false, resolve, done });
    }
    const run: TaskRun = { start: e, slots, after: [], done: Promise.resolve(), broken: false };
    this.current = run;
    const out = (s: string): string => this.fmt.out(s);
    try {
      const subtasks = [...slots.values()].map((slot) => ({
        title: out(slot.host),
        task: async (_ctx: unknown, t: TaskHandle): Promise<void> => {
          slot.handle = t;
          if (slot.progress !== undefined) t.output = out(slot.progress);
          await slot.done;
          this.finishHost(slot, t);
        },
      }));
      // Line renderers (and listr2's test renderer, which logs errors to "stderr") write everything to
      // our stream. The live renderer hijacks both streams while it draws, so it must get two distinct ones.
      const errStream = this.renderer !== 'default' ? this.stream : this.stream === process.stderr ? process.stdout : process.stderr;
      const { Listr, ListrLogger, ProcessOutput } = listr2();
      const logger = new ListrLogger({ processOutput: new ProcessOutput(this.stream, errStream), useIcons: true });
      const listr = new Listr(
        [
          {
            title: out(this.fmt.taskTitle(e)),
            task: (_ctx, t) => t.newListr(subtasks, { concurrent: true, exitOnError: false }),
          },
        ],
        {
          renderer: this.renderer,
          fallbackRenderer: 'simple',
          exitOnError: false,
          // The CLI owns SIGINT (exit 130, releasing locks); listr2's handler would exit 127.
          registerSignalListeners: false,
          rendererOptions: {
            logger,
            collapseSubtasks: false,
            collapseErrors: false,
            collapseSkips: false,
            showSkipMessage: false,
            showErrorMessage: true,
            formatOutput: 'wrap',
          },
          fallbackRendererOptions: { logger },
        } as ConstructorParameters<typeof ListrT>[1],
      );
      run.done = listr.run().then(
        () => undefined,
        () => {
          run.broken = true;
        },
      );
    } catch {
      run.broken = true;
    }
  }

  private hostResult(e: HostResultEvent): void {
    const run = this.current;
    const slot = run && run.start.task === e.task && run.start.play === e.play ? run.slots.get(e.host) : undefined;
    if (!run || !slot || slot.settled) {
      // Not a host of the running task (or no task): never lose it, print it plainly.
      const lines = [...this.fmt.hostLines(e), ...this.fmt.hostExtras(e)];
      if (run) run.after.push(...lines);
      else this.write(lines);
      return;
    }
    const extras = this.fmt.hostExtras(e);
    if (extras.length > 0) run.after.push(...this.fmt.hostLines(e), ...extras);
    if (e.item !== undefined) {
      slot.items.push(e);
      if (slot.handle) slot.handle.title = this.fmt.out(this.hostText(slot, undefined));
      return;
    }
    slot.final = e;
    this.settle(slot);
  }

  private progress(host: string, task: string, message: string): void {
    const run = this.current;
    const slot = run && run.start.task === task ? run.slots.get(host) : undefined;
    const now = this.now();
    // The live renderer shows only the latest line; other renderers print each one, so throttle them.
    const throttled = this.renderer !== 'default';
    const last = slot ? slot.lastProgressAt : undefined;
    if (throttled && last !== undefined && now - last < this.progressIntervalMs) return;
    if (!slot || slot.settled) {
      if (!slot) this.write([this.fmt.progress(host, message)]);
      return;
    }
    slot.lastProgressAt = now;
    slot.progress = message;
    if (slot.handle) slot.handle.output = this.fmt.out(message);
  }

  private settle(slot: HostSlot): void {
    if (slot.settled) return;
    slot.settled = true;
    slot.resolve();
  }

  /** Lets every host subtask finish (hosts without a result are shown as such), waits for the render, then prints what was held back. */
  private async finishTask(): Promise<void> {
    const run = this.current;
    if (!run) return;
    this.current = null;
    for (const slot of run.slots.values()) this.settle(slot);
    await run.done;
    const lines: string[] = [];
    if (run.broken) {
      lines.push(this.fmt.taskTitle(run.start));
      for (const slot of run.slots.values()) {
        for (const r of [...slot.items, ...(slot.final ? [slot.final] : [])]) lines.push(...this.fmt.hostLines(r));
      }
    }
    lines.push(...run.after);
    if (lines.length > 0) this.write(lines);
  }

  /** Sets the subtask's final state: completed with a status title, skipped, or failed with the message. */
  private finishHost(slot: HostSlot, t: TaskHandle): void {
    const out = (s: string): string => this.fmt.out(s);
    const status = this.statusOf(slot);
    if (status === undefined) {
      // The engine stopped before this host reported (interrupted, or a bug): say so, never hang.
      t.title = out(`${slot.host}: no result`);
      t.skip('no result');
      return;
    }
    const text = out(this.hostText(slot, status));
    if (status === 'skipped') {
      // collapseSkips is off: the title (with the host) stays, the reason goes in the skip message.
      t.title = text;
      t.skip(out(slot.final?.msg?.trim() || 'skipped'));
      return;
    }
    if (status === 'failed' || status === 'unreachable') {
      t.title = text;
      const msg = slot.final?.msg ?? [...slot.items].reverse().find((i) => i.msg)?.msg;
      throw new Error(out(msg?.trim() || status));
    }
    t.title = text;
  }

  private statusOf(slot: HostSlot): HostStatus | undefined {
    if (slot.final) return slot.final.status;
    if (slot.items.length > 0) return aggregateStatus(slot.items.map((i) => i.status));
    return undefined;
  }

  /**
   * `pbx-main: changed — write /etc/xivo/ha.conf`, then one line per loop item. Failures carry their
   * message in the error (shown under the title), so it is left out here. `status` undefined: still running.
   */
  private hostText(slot: HostSlot, status: HostStatus | undefined): string {
    const f = this.fmt;
    const head = status ? `${slot.host}: ${status}` : `${slot.host}: ${slot.items.length} item(s) done`;
    const detail = slot.final && status !== 'failed' && status !== 'unreachable' ? f.detail(slot.final).split('\n')[0] : '';
    const ms = slot.final?.durationMs ?? 0;
    const time = ms >= 1000 ? ` (${formatDuration(ms)})` : '';
    const first = `${head}${detail ? ` — ${detail}` : ''}${time}`;
    const items = slot.items.map((i) => {
      const d = f.detail(i).split('\n')[0];
      return `${i.status} (item=${i.item})${d ? ` — ${d}` : ''}`;
    });
    if (items.length === 0) return first;
    // The live renderer lays a multi-line title out under the host; line-based renderers get one line.
    if (this.renderer === 'default') return [first, ...items.map((l) => `  ${l}`)].join('\n');
    return `${first} [${items.join('; ')}]`;
  }

  private write(lines: string[]): void {
    this.stream.write(this.fmt.out(lines.join('\n') + '\n'));
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
