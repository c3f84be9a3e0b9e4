// One task on one host: when, loop, retries/until, plan, apply (unless checking), changed_when and
// failed_when. Returns plain results; the play loop decides what a failure means for the host.
import { HaplayError, isHaplayError, wrapPluginError } from './errors.js';
import { evaluate, isTrue } from './expr.js';
import { readFact } from './facts.js';
import { assertValid } from './params.js';
import type { Task } from './playbook.js';
import type { PluginRegistry } from './registry.js';
import { sleep } from './sleep.js';
import { render, renderDeep } from './template.js';
import type { Diff, HostStatus, Plan, TaskContext, TaskResult, Transport, Vars } from './types.js';

export interface ExecEnv {
  registry: PluginRegistry;
  check: boolean;
  diff: boolean;
  transport(host: string): Transport;
  hostvars(host: string): Vars;
  groups: Record<string, string[]>;
  progress(host: string, message: string): void;
  warn(host: string, message: string): void;
  secret(value: string): void;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
  /** Takes the run lock on a host this task is about to change (no-op in check mode). */
  lock(host: string): Promise<void>;
  /** Asks the hosts' lock holders that the locks are still held; throws E_LOCK_LOST if one is not. */
  confirmLocks(hosts: string[]): Promise<void>;
}

export interface ItemOutcome {
  status: HostStatus;
  result: TaskResult;
  item?: string;
  durationMs: number;
}

/** Runs a task on a host; a loop yields one outcome per item through `onItem`, then the aggregate. */
export async function runOnHost(
  env: ExecEnv,
  task: Task,
  host: string,
  vars: Vars,
  onItem: (o: ItemOutcome) => void,
): Promise<ItemOutcome> {
  const started = Date.now();
  if (task.loop === undefined) {
    const result = whenAllows(task, vars) ? await withRetries(env, task, host, vars) : skipped(task);
    return { status: statusOf(task, result), result, durationMs: Date.now() - started };
  }
  let items: unknown;
  try {
    items = renderDeep(task.loop, vars);
    if (!Array.isArray(items)) throw new HaplayError('E_TEMPLATE', `loop must be a list, got ${typeof items}`);
  } catch (e) {
    const result = failure(e);
    return { status: statusOf(task, result), result, durationMs: Date.now() - started };
  }
  const results: TaskResult[] = [];
  for (const item of items) {
    const itemStart = Date.now();
    const iv = { ...vars, [task.loopVar]: item };
    const r = whenAllows(task, iv) ? await withRetries(env, task, host, iv) : skipped(task);
    r[task.loopVar] = item;
    results.push(r);
    onItem({ status: statusOf(task, r), result: r, item: labelOf(task, item, iv), durationMs: Date.now() - itemStart });
    if (r.unreachable) break;
  }
  const result: TaskResult = {
    changed: results.some((r) => r.changed),
    failed: results.some((r) => r.failed && !r.unreachable),
    unreachable: results.some((r) => r.unreachable) || undefined,
    skipped: results.length > 0 && results.every((r) => r.skipped) ? true : undefined,
    results,
    msg: results.find((r) => r.failed)?.msg ?? (results.length ? undefined : 'no items'),
  };
  if (!results.length) result.skipped = true;
  return { status: statusOf(task, result), result, durationMs: Date.now() - started };
}

function whenAllows(task: Task, vars: Vars): boolean {
  return task.when.length === 0 || isTrue(task.when, vars);
}

function skipped(task: Task): TaskResult {
  return { changed: false, failed: false, skipped: true, msg: task.when.length ? 'condition was false' : undefined };
}

export function statusOf(task: Task, r: TaskResult): HostStatus {
  if (r.unreachable) return 'unreachable';
  if (r.failed) return task.ignoreErrors ? 'ignored' : 'failed';
  if (r.skipped) return 'skipped';
  return r.changed ? 'changed' : 'ok';
}

function labelOf(task: Task, item: unknown, vars: Vars): string {
  if (task.loopLabel) {
    try {
      return render(task.loopLabel, vars);
    } catch {
      /* fall through to the item itself */
    }
  }
  return typeof item === 'string' ? item : JSON.stringify(item);
}

async function withRetries(env: ExecEnv, task: Task, host: string, vars: Vars): Promise<TaskResult> {
  if (!task.until) return executeOnce(env, task, host, vars);
  const attempts = (task.retries ?? 3) + 1;
  let r: TaskResult = { changed: false, failed: true };
  for (let a = 1; a <= attempts; a++) {
    r = await executeOnce(env, task, host, vars);
    r.attempts = a;
    if (r.unreachable) return r;
    let done: boolean;
    try {
      done = isTrue(task.until, withResult(task, vars, r));
    } catch (e) {
      return { ...r, ...failure(e) };
    }
    if (done) return r;
    if (a < attempts) {
      env.progress(host, `"${[task.until].flat().join(' and ')}" not true yet; retrying in ${task.delay} s (${a}/${attempts - 1})`);
      // An interrupt ends the wait; the next attempt then stops at the aborted signal.
      await sleep(task.delay * 1000, env.signal).catch(() => {});
    }
  }
  return { ...r, failed: true, msg: `"${[task.until].flat().join(' and ')}" still false after ${attempts} attempts${r.msg ? `: ${r.msg}` : ''}` };
}

function withResult(task: Task, vars: Vars, result: TaskResult): Vars {
  return task.register ? { ...vars, result, [task.register]: result } : { ...vars, result };
}

async function executeOnce(env: ExecEnv, task: Task, host: string, vars: Vars): Promise<TaskResult> {
  const plugin = env.registry.get(task.plugin)!;
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  env.signal.addEventListener('abort', onAbort);
  let applied = 0;
  let plan: Plan | undefined;
  let result: TaskResult;
  try {
    const params = renderDeep(task.params, vars);
    assertValid(plugin.schema, params, { code: 'E_PARAMS', where: task.where, prefix: task.plugin, hideValues: task.noLog });
    const target = task.delegateTo ? render(task.delegateTo, vars) : host;
    const transport = env.transport(target);
    await env.lock(target); // once per host and run; a no-op after the first time
    const locked = new Set([target]);
    const ctx: TaskContext = {
      host: { name: host, vars },
      transport,
      transportFor: async (h, opts) => {
        const t = env.transport(h);
        await t.connect();
        if (!opts?.readOnly) {
          await env.lock(h);
          locked.add(h);
        }
        return t;
      },
      hostvars: env.hostvars,
      groups: env.groups,
      check: task.checkMode ?? env.check,
      diff: env.diff,
      signal: controller.signal,
      progress: (m) => env.progress(host, m),
      warn: (m) => env.warn(host, m),
      render: (t, extra) => render(t, extra ? { ...vars, ...extra } : vars),
      evaluate: (x, extra) => evaluate(x, extra ? { ...vars, ...extra } : vars),
      secret: env.secret,
      fact: async (f, h) => readFact(h === undefined ? transport : await ctx.transportFor(h), f),
    };
    const work = async () => {
      // No eager connect: debug, assert and set-fact must work on a host that is down (e.g. in rescue).
      plan = await plugin.plan(params, ctx);
      const data: Vars = {};
      if (!ctx.check) {
        for (const change of plan.changes) {
          // A lost lock means another run may own the host now: not one more change there.
          await env.confirmLocks([...locked]);
          // Counted before it runs: a change that fails halfway may still have touched the host.
          applied++;
          Object.assign(data, (await change.apply()) ?? {});
        }
      }
      return data;
    };
    const data = await withTimeout(work(), task.timeout, controller);
    const p = plan as Plan | undefined;
    result = {
      ...(p?.result ?? {}),
      ...data,
      changed: (p?.changes.length ?? 0) > 0,
      failed: false,
      changes: p?.changes.map((c) => c.summary) ?? [],
    };
    if (p && !p.changes.length && p.noop) result.noop = p.noop;
    const diffs = p?.changes.map((c) => c.diff).filter((d): d is Diff => d !== undefined) ?? [];
    if (env.diff && diffs.length) result.diff = diffs;
  } catch (e) {
    result = failure(e, task);
    const p = plan as Plan | undefined;
    if (p) {
      result.changes = p.changes.slice(0, applied).map((c) => c.summary);
      result.changed = applied > 0;
    }
  } finally {
    env.signal.removeEventListener('abort', onAbort);
  }
  if (result.unreachable) return result;
  try {
    const ev = withResult(task, vars, result);
    if (task.changedWhen !== undefined) result.changed = isTrue(task.changedWhen, ev);
    if (task.failedWhen !== undefined) {
      const failed = isTrue(task.failedWhen, ev);
      if (result.failed && !failed) delete result.msg;
      else if (failed && !result.failed) result.msg = `failed_when matched: ${[task.failedWhen].flat().join(' and ')}`;
      result.failed = failed;
    }
  } catch (e) {
    return { ...result, ...failure(e, task) };
  }
  return result;
}

function failure(e: unknown, task?: Task): TaskResult {
  const err = isHaplayError(e) ? e : wrapPluginError(e, task?.where ?? {});
  const unreachable = err.code === 'E_UNREACHABLE' || err.code === 'E_HOST_KEY';
  return {
    ...(err.data ?? {}),
    changed: false,
    failed: true,
    unreachable: unreachable || undefined,
    msg: err.message + (err.hint ? ` (hint: ${err.hint})` : ''),
    error_code: err.code,
  };
}

function withTimeout<T>(work: Promise<T>, seconds: number | undefined, controller: AbortController): Promise<T> {
  if (seconds === undefined) return work;
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new HaplayError('E_TIMEOUT', `task did not finish within ${seconds} s`, { hint: 'raise "timeout:" or find what hangs (run with -v)' }));
    }, seconds * 1000);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
