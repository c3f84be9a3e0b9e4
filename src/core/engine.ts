// The play loop: plays in order; each play's hosts in batches (serial); task N finishes on every
// host of the batch before task N+1 starts; blocks with rescue/always; handlers at the end of the
// play and before a failing host stops; failure budgets counted across batches.
import pLimit from 'p-limit';
import { EXIT, HaplayError, isHaplayError } from './errors.js';
import { lockHost, ownerLine, type HostLock, type LockTiming } from './lock.js';
import { runOnHost, statusOf, type ExecEnv, type ItemOutcome } from './execute.js';
import type { Inventory } from './inventory.js';
import { walk, type Play, type Playbook, type Task } from './playbook.js';
import type { PluginRegistry } from './registry.js';
import { factsChanged, HostState, hostVarsOf, varsFor, type VarsSources } from './state.js';
import { isTemplate } from './template.js';
import type { HostStatus, Reporter, TaskResult, Transport, Vars } from './types.js';

export interface TransportProvider {
  get(host: string): Transport;
  closeAll(): Promise<void>;
}

export interface EngineOptions {
  inventory: Inventory;
  playbook: Playbook;
  registry: PluginRegistry;
  transports: TransportProvider;
  reporter: Reporter;
  check?: boolean;
  diff?: boolean;
  /** Host pattern that narrows every play. */
  limit?: string;
  tags?: string[];
  skipTags?: string[];
  extraVars?: Vars;
  forks?: number;
  verbose?: boolean;
  /** Values to mask in every output. */
  secret?: (value: string) => void;
  signal?: AbortSignal;
  /** Take each host's run lock before changing it (default: on, except in check mode). */
  lock?: boolean;
  /** How long to wait for another run's lock before giving up with exit code 5. */
  lockWaitSeconds?: number;
  /** The lock's directory and heartbeat timing (tests). */
  lockTiming?: LockTiming;
}

type Failures = Map<string, 'failed' | 'unreachable'>;

const EARLY_CONNECT_MS = 1000;

const HIDDEN = 'the output has been hidden because "no_log: true" was set for this task';

export class Engine {
  readonly hosts = new Map<string, HostState>();
  private readonly src: VarsSources;
  private readonly env: ExecEnv;
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly limitHosts?: Set<string>;
  private play!: Play;
  private playHosts: string[] = [];
  private playAborted = false;
  private currentTask = '';
  private currentNoLog = false;
  private readonly locks = new Map<string, Promise<HostLock>>();
  /** Hosts that did not connect within EARLY_CONNECT_MS once: later plays do not wait on them again. */
  private readonly slowToConnect = new Set<string>();
  private lockError?: HaplayError;

  constructor(private readonly o: EngineOptions) {
    this.src = {
      inventory: o.inventory,
      hosts: this.hosts,
      extraVars: o.extraVars ?? {},
      check: o.check ?? false,
      playbookDir: o.playbook.dir,
      runStartedAt: new Date().toISOString(),
    };
    for (const h of o.inventory.hostNames) this.hosts.set(h, new HostState(h));
    this.limit = pLimit(Math.max(1, o.forks ?? 20));
    this.limitHosts = o.limit ? new Set(o.inventory.select(o.limit)) : undefined;
    this.env = {
      registry: o.registry,
      check: o.check ?? false,
      diff: o.diff ?? false,
      transport: (h) => o.transports.get(h),
      hostvars: (h) => hostVarsOf(this.src, h),
      groups: o.inventory.groupsMap(),
      progress: (host, message) =>
        o.reporter.event({ type: 'progress', play: this.play?.name ?? '', task: this.currentTask, host, message: this.currentNoLog ? 'working (output hidden: no_log)' : message }),
      warn: (host, message) => o.reporter.event({ type: 'warning', host, message }),
      secret: (v) => o.secret?.(v),
      signal: o.signal ?? new AbortController().signal,
      lock: (h) => this.lockFor(h),
      confirmLocks: (hosts) => this.confirmLocks(hosts),
    };
  }

  /** Runs every play and returns the exit code. */
  async run(): Promise<number> {
    const started = Date.now();
    const { reporter, playbook } = this.o;
    reporter.event({ type: 'run_start', playbook: playbook.file, check: this.env.check, diff: this.env.diff, at: new Date().toISOString() });
    try {
      for (const play of playbook.plays) {
        if (this.env.signal.aborted || this.lockError) break;
        await this.runPlay(play);
      }
    } finally {
      await this.releaseLocks();
      await this.o.transports.closeAll();
    }
    const counts = Object.fromEntries([...this.hosts].filter(([, s]) => s.touched).map(([h, s]) => [h, s.counts]));
    const all = Object.values(counts);
    const exitCode = this.env.signal.aborted
      ? EXIT.INTERRUPTED
      : this.lockError
        ? EXIT.LOCKED
        : all.some((c) => c.failed > 0)
        ? EXIT.FAILED
        : all.some((c) => c.unreachable > 0)
          ? EXIT.UNREACHABLE
          : EXIT.OK;
    reporter.event({ type: 'recap', hosts: counts, durationMs: Date.now() - started, exitCode });
    return exitCode;
  }

  private async runPlay(play: Play): Promise<void> {
    this.play = play;
    this.playAborted = false;
    const selected = this.o.inventory.select(play.hosts).filter((h) => !this.limitHosts || this.limitHosts.has(h));
    const hosts = selected.filter((h) => !this.hosts.get(h)!.stopped);
    this.playHosts = hosts;
    this.o.reporter.event({ type: 'play_start', play: play.name, hosts });
    if (!hosts.length) {
      this.o.reporter.event({ type: 'warning', message: `play "${play.name}": no host matches "${play.hosts}"${this.o.limit ? ` with --limit ${this.o.limit}` : ''}; skipping it` });
      this.o.reporter.event({ type: 'play_end', play: play.name });
      return;
    }
    hosts.forEach((h) => (this.hosts.get(h)!.touched = true));
    await this.lockEarly([...hosts, ...this.peersOf(play).filter((h) => !hosts.includes(h))]);
    for (const batch of batches(hosts, play.serial)) {
      if (this.playAborted || this.env.signal.aborted || this.lockError) break;
      const failed = await this.runList(play.tasks, batch, 0);
      await this.flushHandlers(batch.filter((h) => !this.hosts.get(h)!.stopped));
      // Without an explicit budget, a batch that failed whole stops the rollout (as in Ansible).
      if (failed.size === batch.length && play.serial.length && play.maxFailPercentage === undefined && !this.playAborted) {
        this.warnStop(`every host of the batch ${batch.join(', ')} failed; the remaining batches are not run`);
      }
    }
    this.o.reporter.event({ type: 'play_end', play: play.name });
  }

  /** Runs tasks in lockstep; returns the hosts that failed and were not rescued (they ran no later task). */
  private async runList(tasks: Task[], hosts: string[], depth: number): Promise<Failures> {
    const failures: Failures = new Map();
    for (const task of tasks) {
      if (this.playAborted || this.env.signal.aborted || this.lockError) break;
      const live = hosts.filter((h) => !failures.has(h) && !this.hosts.get(h)!.stopped);
      if (!live.length) break;
      const f = task.kind === 'block' ? await this.runBlock(task, live, depth) : await this.runTask(task, live);
      f.forEach((kind, h) => failures.set(h, kind));
      if (depth === 0 && f.size) await this.stopHosts(f);
    }
    return failures;
  }

  private async runBlock(block: Task, hosts: string[], depth: number): Promise<Failures> {
    const failed = await this.runList(block.block, hosts, depth + 1);
    const remaining: Failures = new Map(failed);
    if (block.rescue.length && failed.size) {
      const rescueFailed = await this.runList(block.rescue, [...failed.keys()], depth + 1);
      for (const h of failed.keys()) {
        if (rescueFailed.has(h)) remaining.set(h, rescueFailed.get(h)!);
        else {
          remaining.delete(h);
          // A rescued failure is not a failure (as in Ansible); an unreachable host stays counted.
          const counts = this.hosts.get(h)!.counts;
          counts.rescued++;
          if (failed.get(h) === 'failed') counts.failed--;
        }
      }
    }
    if (block.always.length) {
      const alwaysFailed = await this.runList(block.always, hosts, depth + 1);
      alwaysFailed.forEach((kind, h) => remaining.set(h, kind));
    }
    return remaining;
  }

  /** A host whose failure is final: its pending handlers run first, then it stops for the rest of the run. */
  private async stopHosts(failures: Failures): Promise<void> {
    const withHandlers = [...failures.keys()].filter((h) => this.hosts.get(h)!.notified.size);
    if (withHandlers.length) await this.flushHandlers(withHandlers);
    failures.forEach((kind, h) => (this.hosts.get(h)!.stopped = kind));
    if (this.play.anyErrorsFatal && !this.playAborted) {
      this.warnStop(`any_errors_fatal: ${[...failures.keys()].join(', ')} failed, so the play stops on every host`);
    }
    const budget = this.play.maxFailPercentage;
    if (budget !== undefined && !this.playAborted) {
      const down = this.playHosts.filter((h) => this.hosts.get(h)!.stopped).length;
      const pct = (100 * down) / this.playHosts.length;
      if (pct > budget) {
        this.warnStop(`max_fail_percentage: ${down} of ${this.playHosts.length} hosts failed (${pct.toFixed(0)}% > ${budget}%), so the play stops`);
      }
    }
  }

  /**
   * Hosts that answer are locked before the play's first task, so a second run stops before doing
   * anything. A host that does not connect within EARLY_CONNECT_MS (the dead main of a failover) is
   * not waited for: it is locked by the first task that really runs there, if any.
   */
  private async lockEarly(hosts: string[]): Promise<void> {
    if (!this.lockingOn()) {
      // Check mode takes no lock, but connecting now still saves the first task the wait.
      for (const h of hosts) this.o.transports.get(h).connect().catch(() => undefined);
      return;
    }
    await Promise.all(
      hosts.map(async (h) => {
        const connecting = this.o.transports.get(h).connect().then(() => true, () => false);
        // Waited for once: a later play (failover.yml's fence) does not wait again on a dead main.
        const wait = this.slowToConnect.has(h) ? 0 : EARLY_CONNECT_MS;
        const timer = new Promise<boolean>((r) => setTimeout(() => r(false), wait).unref());
        if (await Promise.race([connecting, timer])) await this.lockFor(h).catch(() => undefined);
        else this.slowToConnect.add(h);
      }),
    );
  }

  /** Hosts the play's tasks reach besides their own: static delegate_to and the plugins' peers(). */
  private peersOf(play: Play): string[] {
    const out = new Set<string>();
    for (const t of walk([...play.tasks, ...play.handlers])) {
      if (t.kind !== 'task') continue;
      if (t.delegateTo && !isTemplate(t.delegateTo)) out.add(t.delegateTo);
      const params = t.params && typeof t.params === 'object' ? (t.params as Record<string, unknown>) : {};
      for (const h of this.o.registry.get(t.plugin)?.peers?.(params, this.env.groups) ?? []) out.add(h);
    }
    return [...out].filter((h) => this.o.inventory.hasHost(h) && !this.hosts.get(h)!.stopped);
  }

  private lockingOn(): boolean {
    return this.o.lock === true || (this.o.lock === undefined && !this.env.check);
  }

  /** Takes the host's run lock once per run; unreachable hosts are left for their first task to report. */
  private lockOf(host: string): Promise<HostLock> | undefined {
    if (!this.lockingOn()) return undefined;
    if (!this.o.inventory.hasHost(host)) return undefined; // localhost: the control machine
    let p = this.locks.get(host);
    if (!p) {
      p = lockHost(this.o.transports.get(host), ownerLine(this.o.playbook.file), this.o.lockWaitSeconds ?? 10, this.o.lockTiming);
      this.locks.set(host, p);
      p.then(
        // Said as soon as it is seen; the host's next task then fails with it (see lockFor).
        (l) => l.onLost((e) => this.o.reporter.event({ type: 'warning', host, message: e.message })),
        (e: unknown) => {
          this.locks.delete(host);
          if (isHaplayError(e) && e.code === 'E_LOCKED') this.stopForLock(e);
          // E_LOCK_UNSAFE: the host's tasks fail with it; nothing is changed there without a safe lock.
          else if (!isHaplayError(e) || (e.code !== 'E_UNREACHABLE' && e.code !== 'E_HOST_KEY' && e.code !== 'E_LOCK_UNSAFE')) {
            this.o.reporter.event({ type: 'warning', host, message: `${(e as Error).message}; going on without the lock on ${host}` });
          }
        },
      );
    }
    return p;
  }

  /** A lost lock stays lost for the run: the host's tasks fail with E_LOCK_LOST, nothing is re-taken. */
  private async lockFor(host: string): Promise<void> {
    const l = await this.lockOf(host);
    if (l?.lost) throw l.lost;
  }

  private async confirmLocks(hosts: string[]): Promise<void> {
    await Promise.all(hosts.map(async (h) => (await this.lockOf(h))?.check()));
  }

  private stopForLock(e: HaplayError): void {
    if (this.lockError) return;
    this.lockError = e;
    this.o.reporter.event({ type: 'warning', message: `${e.message}. Nothing more is done in this run.${e.hint ? ` (${e.hint})` : ''}` });
  }

  private async releaseLocks(): Promise<void> {
    const held = await Promise.allSettled([...this.locks.values()]);
    for (const r of held) if (r.status === 'fulfilled') r.value.release();
    this.locks.clear();
  }

  private warnStop(message: string): void {
    this.playAborted = true;
    this.o.reporter.event({ type: 'warning', message });
  }

  private selected(task: Task): boolean {
    const tags = this.o.tags ?? [];
    const skip = this.o.skipTags ?? [];
    if (skip.some((t) => task.tags.includes(t))) return false;
    if (!tags.length || task.tags.includes('always')) return true;
    return tags.some((t) => t === 'all' || task.tags.includes(t));
  }

  private async runTask(task: Task, hosts: string[], handler = false): Promise<Failures> {
    const failures: Failures = new Map();
    if (!this.selected(task)) return failures;
    this.currentTask = task.name;
    this.currentNoLog = task.noLog;
    const targets = task.runOnce ? hosts.slice(0, 1) : hosts;
    this.o.reporter.event({ type: 'task_start', play: this.play.name, task: task.name, plugin: task.plugin, hosts: targets, handler });
    const outcomes = await Promise.all(
      targets.map((h) =>
        this.limit(async () => {
          let vars: Vars;
          try {
            vars = varsFor(this.src, this.play, this.playHosts, h, task);
          } catch (e) {
            const result: TaskResult = { changed: false, failed: true, msg: (e as Error).message };
            const o: ItemOutcome = { status: statusOf(task, result), result, durationMs: 0 };
            this.report(task, h, o);
            return [h, o] as const;
          }
          const o = await runOnHost(this.env, task, h, vars, (item) => this.report(task, h, item));
          if (task.loop === undefined) this.report(task, h, o);
          return [h, o] as const;
        }),
      ),
    );
    for (const [h, o] of outcomes) {
      if (o.result.error_code === 'E_LOCKED' && !this.lockError) this.stopForLock(new HaplayError('E_LOCKED', String(o.result.msg)));
      const receivers = task.runOnce ? hosts : [h];
      for (const r of receivers) this.record(task, r, o.status, o.result, h === r);
      if (o.status === 'failed' || o.status === 'unreachable') failures.set(h, o.status);
    }
    return failures;
  }

  private record(task: Task, host: string, status: HostStatus, result: TaskResult, ranHere: boolean): void {
    const state = this.hosts.get(host)!;
    if (ranHere) state.count(status);
    const facts = result.facts;
    if (facts && typeof facts === 'object' && !result.failed) {
      Object.assign(state.facts, facts);
      factsChanged();
    }
    // After the facts: the name the operator chose for `register` wins over a plugin's fact.
    // A skipped task keeps an earlier value of the same name: "skipped" must not erase what was learnt.
    if (task.register && !(result.skipped && task.register in state.facts)) {
      state.facts[task.register] = result;
      factsChanged();
    }
    if (result.changed && !result.failed) task.notify.forEach((n) => state.notified.add(n));
  }

  private report(task: Task, host: string, o: ItemOutcome): void {
    const hide = task.noLog;
    const r = o.result;
    this.o.reporter.event({
      type: 'host_result',
      play: this.play.name,
      task: task.name,
      host,
      status: o.status,
      item: hide && o.item !== undefined ? '(hidden)' : o.item,
      msg: hide ? (r.failed || r.changed ? HIDDEN : undefined) : r.msg,
      noop: hide ? undefined : (r.noop as string | undefined),
      changes: hide ? undefined : r.changes,
      diff: hide ? undefined : r.diff,
      result: this.o.verbose && !hide ? r : undefined,
      durationMs: o.durationMs,
    });
  }

  /** Runs each notified handler once, in the order handlers are written, on the hosts that notified it. */
  private async flushHandlers(hosts: string[]): Promise<void> {
    for (const handler of this.play.handlers) {
      const names = [handler.name, ...handler.listen];
      const notified = hosts.filter((h) => names.some((n) => this.hosts.get(h)!.notified.has(n)));
      if (!notified.length) continue;
      notified.forEach((h) => names.forEach((n) => this.hosts.get(h)!.notified.delete(n)));
      const failed = await this.runTask(handler, notified, true);
      failed.forEach((kind, h) => (this.hosts.get(h)!.stopped = kind));
    }
  }
}

/** Splits hosts into batches: serial: [1, "50%"] → 1 host, then half of them, then half again... */
export function batches(hosts: string[], serial: (number | string)[]): string[][] {
  if (!serial.length) return [hosts];
  const out: string[][] = [];
  let i = 0;
  let step = 0;
  while (i < hosts.length) {
    const s = serial[Math.min(step, serial.length - 1)];
    const size = typeof s === 'string' ? Math.max(1, Math.floor((hosts.length * Number.parseInt(s, 10)) / 100)) : s;
    out.push(hosts.slice(i, i + size));
    i += size;
    step++;
  }
  return out;
}
