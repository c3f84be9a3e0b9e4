// Loads a playbook and validates all of it (plays, engine keys, every plugin's params, expressions,
// templates, notify targets) before any host is touched. Every problem is collected, each naming
// file › play › task › key and the line.
import { dirname } from 'node:path';
import { HaplayError, type Where } from './errors.js';
import { checkExpression } from './expr.js';
import { check, first, suggest } from './params.js';
import type { PluginRegistry } from './registry.js';
import { checkTemplate, isTemplate } from './template.js';
import type { JSONSchema, Vars } from './types.js';
import { loadYamlFile, type Loaded, type LoadOptions } from './yaml.js';

export interface Task {
  /** A plain task runs a plugin; a block groups tasks with rescue/always. */
  kind: 'task' | 'block';
  name: string;
  where: Where;
  plugin: string;
  params: unknown;
  when: (string | boolean)[];
  loop?: unknown;
  loopVar: string;
  loopLabel?: string;
  register?: string;
  changedWhen?: string | boolean | (string | boolean)[];
  failedWhen?: string | boolean | (string | boolean)[];
  retries?: number;
  until?: string | string[];
  delay: number;
  ignoreErrors: boolean;
  notify: string[];
  listen: string[];
  tags: string[];
  checkMode?: boolean;
  noLog: boolean;
  timeout?: number;
  vars: Vars;
  delegateTo?: string;
  runOnce: boolean;
  block: Task[];
  rescue: Task[];
  always: Task[];
}

export interface Play {
  name: string;
  where: Where;
  hosts: string;
  vars: Vars;
  serial: (number | string)[];
  maxFailPercentage?: number;
  anyErrorsFatal: boolean;
  tasks: Task[];
  handlers: Task[];
}

export interface Playbook {
  file: string;
  dir: string;
  plays: Play[];
}

const stringOrList = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };
const condition = {
  anyOf: [{ type: 'string' }, { type: 'boolean' }, { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'boolean' }] } }],
};

/** The keys the engine reads on every task; any other key names the task's plugin. */
export const taskKeysSchema: JSONSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', description: 'What the task does, in the operator\'s words.' },
    when: { ...condition, description: 'Run only if the expression (or every one of a list) is true.' },
    loop: { anyOf: [{ type: 'array' }, { type: 'string' }], description: 'Run once per item; the item is {{item}}.' },
    loop_control: {
      type: 'object',
      additionalProperties: false,
      properties: {
        loop_var: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Name of the item variable (default item).' },
        label: { type: 'string', description: 'What to show for each item (a template).' },
      },
    },
    register: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Store the result in this variable.' },
    changed_when: { ...condition, description: 'Overrides "changed" (result is bound to `result`).' },
    failed_when: { ...condition, description: 'Overrides "failed" (result is bound to `result`).' },
    retries: { type: 'integer', minimum: 0, description: 'With until: how many more attempts (default 3).' },
    until: { ...stringOrList, description: 'Repeat until the expression is true.' },
    delay: { type: 'number', minimum: 0, description: 'Seconds between attempts (default 5).' },
    ignore_errors: { type: 'boolean', description: 'A failure is reported "ignored" and the host goes on.' },
    notify: { ...stringOrList, description: 'Handlers to run at the end of the play when the task changed.' },
    listen: { ...stringOrList, description: 'Handlers only: further names that notify this handler.' },
    tags: { ...stringOrList, description: 'Select or skip with --tags / --skip-tags.' },
    check_mode: { type: 'boolean', description: 'true: never apply; false: apply even with --check (read-only probes).' },
    no_log: { type: 'boolean', description: 'Hide params, results and errors of this task from all output.' },
    timeout: { type: 'number', exclusiveMinimum: 0, description: 'Fail the task after this many seconds.' },
    vars: { type: 'object', description: 'Variables for this task only.' },
    delegate_to: { type: 'string', description: 'Run on this host instead (with the original host\'s variables).' },
    run_once: { type: 'boolean', description: 'Run on the first host of the batch only; every host registers the result.' },
    block: { type: 'array', description: 'Tasks run together, with rescue and always.' },
    rescue: { type: 'array', description: 'Run on hosts that failed (or were unreachable) in the block.' },
    always: { type: 'array', description: 'Run after the block and rescue, whatever happened.' },
  },
};

const ENGINE_KEYS = Object.keys((taskKeysSchema.properties ?? {}) as object).concat('loop_control');

export const playSchema: JSONSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['hosts'],
  properties: {
    name: { type: 'string' },
    hosts: { type: 'string', description: 'Host pattern: all, a group, a host, a:b, a:&b, a:!b, globs.' },
    vars: { type: 'object' },
    serial: {
      anyOf: [
        { type: 'integer', minimum: 1 },
        { type: 'string', pattern: '^\\d+%$' },
        { type: 'array', items: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', pattern: '^\\d+%$' }] } },
      ],
      description: 'Run the play on batches of hosts: a number, a percentage, or a list of them.',
    },
    max_fail_percentage: { type: 'number', minimum: 0, maximum: 100, description: 'Stop the play when more than this share of its hosts failed, counted across batches.' },
    any_errors_fatal: { type: 'boolean', description: 'A failure on one host stops the play on every host.' },
    tags: stringOrList,
    tasks: { type: 'array' },
    handlers: { type: 'array' },
  },
};

export function loadPlaybook(file: string, registry: PluginRegistry, opts: LoadOptions = {}): Playbook {
  return playbookFrom(loadYamlFile(file, opts), registry);
}

export function playbookFrom(loaded: Loaded, registry: PluginRegistry): Playbook {
  const { file, data, lineOf } = loaded;
  if (!Array.isArray(data)) {
    throw new HaplayError('E_PLAYBOOK', 'a playbook is a list of plays', {
      where: { file, line: 1 },
      hint: 'start each play with "- name: ..." and "hosts: ..."',
    });
  }
  const errors: HaplayError[] = [];
  const plays = data.map((raw, i) => loadPlay(raw, i, { file, lineOf, registry, errors }));
  if (errors.length) throw first(errors);
  return { file, dir: dirname(file), plays };
}

interface Ctx {
  file: string;
  lineOf: Loaded['lineOf'];
  registry: PluginRegistry;
  errors: HaplayError[];
}

function loadPlay(raw: unknown, index: number, c: Ctx): Play {
  const path = [index];
  const name = isObject(raw) && typeof raw.name === 'string' ? raw.name : `play #${index + 1}`;
  const where: Where = { file: c.file, play: name, line: c.lineOf(path) };
  const empty: Play = { name, where, hosts: 'all', vars: {}, serial: [], anyErrorsFatal: false, tasks: [], handlers: [] };
  if (!isObject(raw)) {
    c.errors.push(new HaplayError('E_PLAYBOOK', 'a play must be a mapping', { where }));
    return empty;
  }
  const problems = check(playSchema, raw, { code: 'E_PLAYBOOK', where, lineOf: (p) => c.lineOf([...path, ...p]) });
  c.errors.push(...problems);
  if (problems.length) return empty;
  const playTags = asList(raw.tags);
  const tasks = loadTasks(raw.tasks, [...path, 'tasks'], name, c, { tags: playTags });
  const handlers = loadTasks(raw.handlers, [...path, 'handlers'], name, c, { tags: playTags });
  const handlerNames = new Set(handlers.flatMap((h) => [h.name, ...h.listen]));
  for (const t of walk(tasks)) {
    for (const n of t.notify) {
      if (!handlerNames.has(n)) {
        c.errors.push(
          new HaplayError('E_PLAYBOOK', `notifies "${n}", which is no handler of this play`, {
            where: { ...t.where, key: 'notify' },
            hint: suggest(n, [...handlerNames]) ?? (handlerNames.size ? `handlers: ${[...handlerNames].join(', ')}` : 'add it under "handlers:"'),
          }),
        );
      }
    }
  }
  const serial = raw.serial === undefined ? [] : Array.isArray(raw.serial) ? raw.serial : [raw.serial];
  return {
    name,
    where,
    hosts: String(raw.hosts),
    vars: (raw.vars as Vars) ?? {},
    serial: serial as (number | string)[],
    maxFailPercentage: raw.max_fail_percentage as number | undefined,
    anyErrorsFatal: raw.any_errors_fatal === true,
    tasks,
    handlers,
  };
}

interface Inherited {
  tags: string[];
  when?: (string | boolean)[];
  vars?: Vars;
  noLog?: boolean;
  checkMode?: boolean;
  delegateTo?: string;
  ignoreErrors?: boolean;
}

function loadTasks(raw: unknown, path: (string | number)[], play: string, c: Ctx, inherited: Inherited): Task[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    c.errors.push(new HaplayError('E_PLAYBOOK', 'must be a list of tasks', { where: { file: c.file, play, key: String(path.at(-1)), line: c.lineOf(path) } }));
    return [];
  }
  return raw.map((t, i) => loadTask(t, [...path, i], play, c, inherited)).filter((t): t is Task => t !== null);
}

function loadTask(raw: unknown, path: (string | number)[], play: string, c: Ctx, inh: Inherited): Task | null {
  const line = c.lineOf(path);
  const named = isObject(raw) && typeof raw.name === 'string' ? raw.name : undefined;
  const where: Where = { file: c.file, play, task: named ?? `#${Number(path.at(-1)) + 1}`, line };
  if (!isObject(raw)) {
    c.errors.push(new HaplayError('E_PLAYBOOK', 'a task must be a mapping', { where }));
    return null;
  }
  const lineOf = (p: (string | number)[]) => c.lineOf([...path, ...p]);
  const isBlock = 'block' in raw;
  const engine: Record<string, unknown> = {};
  const pluginKeys: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    if (ENGINE_KEYS.includes(k)) engine[k] = v;
    else if (c.registry.has(k)) pluginKeys.push(k);
    else {
      c.errors.push(
        new HaplayError(c.registry.names().length && !isBlock ? 'E_UNKNOWN_PLUGIN' : 'E_PLAYBOOK', `unknown key "${k}": neither a task keyword nor a plugin`, {
          where: { ...where, key: k, line: lineOf([k]) },
          hint: suggest(k, [...ENGINE_KEYS, ...c.registry.names()]) ?? 'run "haplay plugins" for the list of plugins',
        }),
      );
      return null;
    }
  }
  // Only loop, vars, delegate_to and loop_control.label are rendered (they take strings anyway): a
  // template in retries, timeout, check_mode... would never be rendered, so it is refused now.
  const problems = check(taskKeysSchema, engine, { code: 'E_PLAYBOOK', where, lineOf }).map((e) => {
    const key = e.where.key?.split('.')[0];
    const v = key === undefined ? undefined : engine[key];
    if (typeof v !== 'string' || !isTemplate(v)) return e;
    return new HaplayError(e.code, `${e.message}: "${key}" is not templated`, {
      where: e.where,
      hint: `write the value itself; only loop, vars, delegate_to and loop_control.label take {{templates}}`,
    });
  });
  c.errors.push(...problems);
  if (problems.length) return null;
  if (isBlock && pluginKeys.length) {
    c.errors.push(new HaplayError('E_PLAYBOOK', `a block cannot also run a plugin (${pluginKeys.join(', ')})`, { where }));
    return null;
  }
  if (!isBlock && pluginKeys.length !== 1) {
    c.errors.push(
      new HaplayError('E_PLAYBOOK', pluginKeys.length ? `a task runs one plugin; this one names ${pluginKeys.join(' and ')}` : 'the task names no plugin', {
        where,
        hint: pluginKeys.length ? 'split it into one task per plugin' : 'add a plugin key, e.g. "command: ..."; run "haplay plugins" for the list',
      }),
    );
    return null;
  }
  const plugin = pluginKeys[0] ?? 'block';
  // An unnamed no_log task is titled by its plugin alone: its params (a command line) may hold a secret.
  const noLog = (engine.no_log as boolean | undefined) ?? inh.noLog ?? false;
  const title = named ?? (isBlock ? 'block' : noLog ? plugin : displayName(plugin, raw[plugin]));
  const loopControl = (engine.loop_control ?? {}) as { loop_var?: string; label?: string };
  const task: Task = {
    kind: isBlock ? 'block' : 'task',
    name: title,
    where: { ...where, task: title, plugin: isBlock ? undefined : plugin },
    plugin,
    params: isBlock ? undefined : raw[plugin],
    when: [...(inh.when ?? []), ...asConditions(engine.when)],
    loop: engine.loop,
    loopVar: loopControl.loop_var ?? 'item',
    loopLabel: loopControl.label,
    register: engine.register as string | undefined,
    changedWhen: engine.changed_when as Task['changedWhen'],
    failedWhen: engine.failed_when as Task['failedWhen'],
    retries: engine.retries as number | undefined,
    until: engine.until as Task['until'],
    delay: (engine.delay as number | undefined) ?? 5,
    ignoreErrors: (engine.ignore_errors as boolean | undefined) ?? inh.ignoreErrors ?? false,
    notify: asList(engine.notify),
    listen: asList(engine.listen),
    tags: [...new Set([...inh.tags, ...asList(engine.tags)])],
    checkMode: (engine.check_mode as boolean | undefined) ?? inh.checkMode,
    noLog,
    timeout: engine.timeout as number | undefined,
    vars: { ...inh.vars, ...((engine.vars as Vars) ?? {}) },
    delegateTo: (engine.delegate_to as string | undefined) ?? inh.delegateTo,
    runOnce: engine.run_once === true,
    block: [],
    rescue: [],
    always: [],
  };
  checkStrings(task, engine, c, lineOf);
  if (isBlock) {
    const childInh: Inherited = {
      tags: task.tags,
      when: task.when,
      vars: task.vars,
      noLog: engine.no_log as boolean | undefined ?? inh.noLog,
      checkMode: task.checkMode,
      delegateTo: task.delegateTo,
      ignoreErrors: engine.ignore_errors as boolean | undefined ?? inh.ignoreErrors,
    };
    task.block = loadTasks(engine.block, [...path, 'block'], play, c, childInh);
    task.rescue = loadTasks(engine.rescue, [...path, 'rescue'], play, c, childInh);
    task.always = loadTasks(engine.always, [...path, 'always'], play, c, childInh);
    return task;
  }
  const p = c.registry.get(plugin)!;
  let params = raw[plugin];
  if (params === null || params === undefined) params = {};
  if (typeof params === 'string' && p.freeForm) params = { [p.freeForm]: params };
  task.params = params;
  c.errors.push(
    ...check(p.schema, params, {
      code: 'E_PARAMS',
      where: task.where,
      prefix: plugin,
      templatesPending: true,
      hideValues: task.noLog,
      lineOf: (k) => lineOf([plugin, ...k]),
    }),
  );
  return task;
}

function checkStrings(task: Task, engine: Record<string, unknown>, c: Ctx, lineOf: (p: (string | number)[]) => number | undefined): void {
  for (const key of ['when', 'changed_when', 'failed_when', 'until']) {
    for (const expr of asConditions(engine[key])) {
      if (typeof expr !== 'string') continue;
      const problem = checkExpression(expr);
      if (problem) {
        c.errors.push(new HaplayError('E_PLAYBOOK', `invalid expression "${clip(expr)}": ${problem}`, { where: { ...task.where, key, line: lineOf([key]) }, hint: 'expressions use jexl syntax: a.b == 1 and not c' }));
      }
    }
  }
  const visit = (v: unknown, keyPath: (string | number)[]) => {
    if (typeof v === 'string') {
      const problem = checkTemplate(v);
      if (problem) c.errors.push(new HaplayError('E_PLAYBOOK', `invalid template "${clip(v)}": ${problem}`, { where: { ...task.where, key: keyPath.join('.'), line: lineOf(keyPath) } }));
    } else if (Array.isArray(v)) v.forEach((x, i) => visit(x, [...keyPath, i]));
    else if (isObject(v)) Object.entries(v).forEach(([k, x]) => visit(x, [...keyPath, k]));
  };
  visit(task.params, [task.plugin]);
}

function displayName(plugin: string, params: unknown): string {
  if (typeof params === 'string') return `${plugin}: ${params.length > 50 ? params.slice(0, 47) + '...' : params}`;
  return plugin;
}

function asList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v.map(String) : [String(v)];
}

function asConditions(v: unknown): (string | boolean)[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]) as (string | boolean)[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Every task, depth first, blocks included. */
export function* walk(tasks: Task[]): Generator<Task> {
  for (const t of tasks) {
    yield t;
    yield* walk(t.block);
    yield* walk(t.rescue);
    yield* walk(t.always);
  }
}

/** A long value quoted in a message: its start is enough to find it. */
function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
