// Plugin cases as data: params and the host's answers in, the expected plan, commands, result and
// files out. One runner builds a TaskContext over a FakeTransport, validates the params the way the
// engine does (ajv, defaults applied, every error collected), plans, applies unless check, asserts.
import { check } from '../../src/core/params.js';
import type { ExecutionContext, TestFn } from 'ava';
import { render as renderTemplate } from '../../src/core/template.js';
import { evaluate as evaluateExpr } from '../../src/core/expr.js';
import { readFact } from '../../src/core/facts.js';
import { FakeTransport, type FakeRule } from '../../src/core/transport/fake.js';
import type { Plan, Plugin, TaskContext, Transport, Vars } from '../../src/core/types.js';

export interface FakeFile {
  data: string | Buffer;
  mode?: number;
  owner?: string;
  group?: string;
}

export interface PluginCase {
  title: string;
  plugin: Plugin;
  params: unknown;
  /** How the host answers commands. */
  host?: FakeRule[];
  /** Files the host has (readFile/writeFile of the fake transport). */
  files?: Record<string, string | Buffer | FakeFile>;
  vars?: Vars;
  check?: boolean;
  expect: {
    /** Summaries of the planned changes, in order. */
    changes?: string[];
    /** Every command run (plan and apply), in order: a string is a substring, a RegExp must match. */
    commands?: (string | RegExp)[];
    /** A subset of the registered result (plan result merged with what apply returned); {} means exactly empty. */
    result?: Vars;
    noop?: string | RegExp;
    /** The task fails (validation, plan or apply) with a message matching this. */
    error?: RegExp;
    /** Data attached to the failure (subset). */
    errorData?: Vars;
    /** File contents after the run; null means absent. */
    files?: Record<string, string | null>;
    /** Diffs of the changes, by position (subset). */
    diffs?: ({ before?: string | RegExp; after?: string | RegExp } | undefined)[];
  };
}

export interface ContextOptions {
  check?: boolean;
  diff?: boolean;
  signal?: AbortSignal;
  transports?: Record<string, Transport>;
  hostvars?: Record<string, Vars>;
  groups?: Record<string, string[]>;
}

export interface TestContext {
  ctx: TaskContext;
  progress: string[];
  warnings: string[];
  secrets: string[];
}

/** A TaskContext as the engine builds it, over any transport; progress, warnings and secrets are collected. */
export function makeTaskContext(transport: Transport, vars: Vars = {}, opts: ContextOptions = {}): TestContext {
  const progress: string[] = [];
  const warnings: string[] = [];
  const secrets: string[] = [];
  const hostVars = { inventory_hostname: transport.hostName, ...vars };
  const ctx: TaskContext = {
    host: { name: transport.hostName, vars: hostVars },
    transport,
    async transportFor(name) {
      const t = opts.transports?.[name];
      if (!t) throw new Error(`test context: no transport for ${name}`);
      return t;
    },
    hostvars: (name) => opts.hostvars?.[name] ?? {},
    groups: opts.groups ?? {},
    check: opts.check ?? false,
    diff: opts.diff ?? true,
    signal: opts.signal ?? new AbortController().signal,
    progress: (m) => progress.push(m),
    warn: (m) => warnings.push(m),
    render: (t, extra) => renderTemplate(t, { ...hostVars, ...extra }),
    evaluate: (e, extra) => evaluateExpr(e, { ...hostVars, ...extra }),
    secret: (s) => secrets.push(s),
    fact: async (f, h) => readFact(h === undefined ? transport : await ctx.transportFor(h), f),
  };
  return { ctx, progress, warnings, secrets };
}

/** Validates exactly as the engine does (its validators, formats and coercion): a copy with defaults applied. */
export function validateParams(plugin: Plugin, params: unknown): Vars {
  const copy = structuredClone(typeof params === 'string' && plugin.freeForm ? { [plugin.freeForm]: params } : params);
  const problems = check(plugin.schema, copy, { code: 'E_PARAMS', where: {}, prefix: plugin.name });
  if (problems.length) throw new Error(`invalid params for ${plugin.name}: ${problems.map((e) => `${e.where.key}: ${e.message}`).join('; ')}`);
  return copy as Vars;
}

/** Validates, plans and (unless check) applies: what the engine does for one host. */
export async function runPlugin(
  plugin: Plugin,
  params: unknown,
  ctx: TaskContext,
): Promise<{ plan: Plan; result: Vars }> {
  const plan = await plugin.plan(validateParams(plugin, params), ctx);
  let result: Vars = { ...plan.result };
  if (!ctx.check) {
    for (const c of plan.changes) result = { ...result, ...((await c.apply()) ?? {}) };
  }
  return { plan, result };
}

export function runCases(test: TestFn, cases: PluginCase[]): void {
  for (const c of cases) test(`${c.plugin.name}: ${c.title}`, (t) => runCase(t, c));
}

export async function runCase(t: ExecutionContext, c: PluginCase): Promise<void> {
  const transport = new FakeTransport('pbx1', c.host ?? []);
  for (const [path, f] of Object.entries(c.files ?? {})) {
    const file = typeof f === 'string' || Buffer.isBuffer(f) ? { data: f } : f;
    transport.files.set(path, { ...file, data: Buffer.from(file.data) });
  }
  const { ctx } = makeTaskContext(transport, c.vars, { check: c.check });
  const e = c.expect;

  let outcome: { plan: Plan; result: Vars } | undefined;
  let error: unknown;
  try {
    outcome = await runPlugin(c.plugin, c.params, ctx);
  } catch (err) {
    error = err;
  }

  if (e.error) {
    t.truthy(error, 'expected the task to fail');
    t.regex((error as Error)?.message ?? '', e.error);
    if (e.errorData) t.like((error as { data?: Vars }).data ?? {}, e.errorData);
  } else if (error) {
    throw error;
  }

  if (outcome) {
    if (e.changes) t.deepEqual(outcome.plan.changes.map((ch) => ch.summary), e.changes, 'planned changes');
    // An empty expected result means exactly nothing registered (ava's like() refuses {}).
    if (e.result) Object.keys(e.result).length ? t.like(outcome.result, e.result) : t.deepEqual(outcome.result, {});
    if (e.noop !== undefined) {
      if (typeof e.noop === 'string') t.is(outcome.plan.noop, e.noop);
      else t.regex(outcome.plan.noop ?? '', e.noop);
    }
    e.diffs?.forEach((d, i) => {
      if (!d) return;
      const got = outcome!.plan.changes[i]?.diff;
      t.truthy(got, `change ${i} has a diff`);
      for (const k of ['before', 'after'] as const) {
        const want: string | RegExp | undefined = d[k];
        if (want === undefined) continue;
        if (typeof want === 'string') t.is(got?.[k], want, `diff ${k}`);
        else t.regex(got?.[k] ?? '', want, `diff ${k}`);
      }
    });
  }

  if (e.commands) {
    t.is(transport.commands.length, e.commands.length, `commands run:\n${transport.commands.join('\n---\n')}`);
    e.commands.forEach((want, i) => {
      const got = transport.commands[i] ?? '';
      if (typeof want === 'string') t.true(got.includes(want), `command ${i} should contain ${JSON.stringify(want)}:\n${got}`);
      else t.regex(got, want, `command ${i}`);
    });
  }

  for (const [path, want] of Object.entries(e.files ?? {})) {
    const got = transport.files.get(path);
    if (want === null) t.is(got, undefined, `${path} should be absent`);
    else t.is(got?.data.toString('utf8'), want, `content of ${path}`);
  }
}
