// The engine's front door: load and validate the inventory, the plugins and the playbook (all of it,
// before any host is touched), then run. The CLI and tests call these; the engine never sees argv.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Engine, type TransportProvider } from './engine.js';
import { HaplayError } from './errors.js';
import { defaultInventoryPath, loadInventory, type Inventory } from './inventory.js';
import { isTrue } from './expr.js';
import { findPlaybook } from './paths.js';
import { check, first } from './params.js';
import { loadPlaybook, walk, type Playbook } from './playbook.js';
import { Redactor, redactError } from './redact.js';
import { loadRegistry, type PluginRegistry } from './registry.js';
import { HostState, hostVarsOf, varsFor } from './state.js';
import { isTemplate, renderDeep } from './template.js';
import { ConnectionPool } from './transport/pool.js';
import type { ConnectionSpec, Plugin, Reporter, Vars } from './types.js';
import { loadYamlFile, parseYaml } from './yaml.js';

export interface RunRequest {
  playbook: string;
  /** The built-in plugins, handed in by the caller (the CLI, the monitor): the engine imports none. */
  plugins: Plugin[];
  inventory?: string;
  check?: boolean;
  diff?: boolean;
  limit?: string;
  tags?: string[];
  skipTags?: string[];
  /** `k=v`, `@file.yml` or an inline YAML/JSON mapping, in order (later wins). */
  extraVars?: string[];
  forks?: number;
  verbose?: boolean;
  /** Seconds to wait for another run's lock on a host (then exit code 5). */
  lockWaitSeconds?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export interface Prepared {
  inventory: Inventory;
  playbook: Playbook;
  registry: PluginRegistry;
  redactor: Redactor;
  extraVars: Vars;
}

/** Everything `haplay validate` checks, and what a run needs. Throws one HaplayError listing every problem. */
export async function prepare(req: RunRequest): Promise<Prepared> {
  const redactor = new Redactor();
  try {
    return await prepareWith(req, redactor);
  } catch (e) {
    // Printed as is by the CLI (exit 4): every secret learnt before the problem is masked here.
    throw redactError(e, redactor);
  }
}

async function prepareWith(req: RunRequest, redactor: Redactor): Promise<Prepared> {
  const cwd = req.cwd ?? process.cwd();
  checkNumbers(req);
  const onSecret = (v: string) => redactor.add(v);
  const playbookPath = findPlaybook(req.playbook, cwd, req.env ?? process.env, existsSync);
  const inventoryPath = req.inventory ? resolve(cwd, req.inventory) : defaultInventoryPath(cwd, req.env ?? process.env, existsSync);
  const inventory = loadInventory(inventoryPath, { onSecret });
  const registry = await loadRegistry(req.plugins, [dirname(playbookPath), cwd]);
  const playbook = loadPlaybook(playbookPath, registry, { onSecret });
  const extraVars = parseExtraVars(req.extraVars ?? [], cwd, onSecret);
  const prepared = { inventory, playbook, registry, redactor, extraVars };
  checkPrepared(prepared, req.limit);
  return prepared;
}

/** What is checked once every file has loaded: patterns, delegate_to, params rendered before the run. */
export function checkPrepared(p: Prepared, limit?: string): void {
  checkAgainstInventory(p.playbook, p.inventory, limit);
  checkRenderedParams(p, limit);
  checkPlugins(p, limit);
}

/** Plugins' own load-time checks against the inventory (Plugin.validate), for each host a task runs on. */
function checkPlugins(p: Prepared, limit?: string): void {
  const errors = new Map<string, HaplayError>();
  const src = { inventory: p.inventory, hosts: new Map<string, HostState>(), extraVars: p.extraVars, check: false, playbookDir: p.playbook.dir };
  const limited = limit ? new Set(p.inventory.select(limit)) : undefined;
  const groups = p.inventory.groupsMap();
  for (const play of p.playbook.plays) {
    const hosts = p.inventory.select(play.hosts).filter((h) => !limited || limited.has(h));
    for (const task of walk([...play.tasks, ...play.handlers])) {
      const validate = task.kind === 'task' ? p.registry.get(task.plugin)?.validate : undefined;
      if (!validate || !task.params || typeof task.params !== 'object') continue;
      for (const host of hosts) {
        let vars: Vars;
        try {
          vars = varsFor(src, play, hosts, host, task);
        } catch {
          continue; // needs a value only the run will have
        }
        for (const v of validate(task.params as Record<string, unknown>, { name: host, vars }, (h) => hostVarsOf(src, h), groups)) {
          const key = `${task.where.file}:${task.where.line}:${v.key}:${v.message}`;
          if (!errors.has(key)) errors.set(key, new HaplayError('E_PARAMS', v.message, { where: { ...task.where, host, key: v.key }, hint: v.hint }));
        }
      }
    }
  }
  if (errors.size) throw first([...errors.values()]);
}

/** --lock-wait and --forks: a word or a negative number is a usage error (exit 4), not NaN. */
function checkNumbers(req: RunRequest): void {
  const problems: HaplayError[] = [];
  if (req.lockWaitSeconds !== undefined && !(Number.isFinite(req.lockWaitSeconds) && req.lockWaitSeconds >= 0)) {
    problems.push(new HaplayError('E_USAGE', '--lock-wait must be a number of seconds, 0 or more', { where: { key: '--lock-wait' }, hint: 'e.g. --lock-wait 30' }));
  }
  if (req.forks !== undefined && !(Number.isInteger(req.forks) && req.forks >= 1)) {
    problems.push(new HaplayError('E_USAGE', '--forks must be a whole number, 1 or more', { where: { key: '--forks' }, hint: 'e.g. --forks 10' }));
  }
  if (problems.length) throw first(problems);
}

/**
 * Params that are templates are checked again once rendered for each host with what is known before
 * the run (inventory, play and extra vars): a bad remote_address in the inventory is refused now, with
 * exit code 4, not halfway through a setup. What needs run-time values (registered results, loop
 * items) is left to the run.
 */
function checkRenderedParams(p: Prepared, limit?: string): void {
  const errors = new Map<string, HaplayError>();
  const src = { inventory: p.inventory, hosts: new Map<string, HostState>(), extraVars: p.extraVars, check: false, playbookDir: p.playbook.dir };
  const limited = limit ? new Set(p.inventory.select(limit)) : undefined;
  for (const play of p.playbook.plays) {
    const hosts = p.inventory.select(play.hosts).filter((h) => !limited || limited.has(h));
    for (const task of walk([...play.tasks, ...play.handlers])) {
      if (task.kind !== 'task' || task.loop !== undefined || !hasTemplate(task.params)) continue;
      const plugin = p.registry.get(task.plugin)!;
      for (const host of hosts) {
        let rendered: unknown;
        try {
          const vars = varsFor(src, play, hosts, host, task);
          if (task.when.length && !isTrue(task.when, vars)) continue;
          rendered = renderDeep(task.params, vars);
        } catch {
          continue; // needs a value only the run will have
        }
        for (const e of check(plugin.schema, rendered, { code: 'E_PARAMS', where: { ...task.where, host }, prefix: task.plugin, hideValues: task.noLog })) {
          const key = `${task.where.file}:${task.where.line}:${e.where.key}:${e.message}`;
          if (!errors.has(key)) errors.set(key, e);
        }
      }
    }
  }
  if (errors.size) throw first([...errors.values()]);
}

function hasTemplate(v: unknown): boolean {
  if (typeof v === 'string') return isTemplate(v);
  if (Array.isArray(v)) return v.some(hasTemplate);
  if (v && typeof v === 'object') return Object.values(v).some(hasTemplate);
  return false;
}

/** Host patterns and delegate_to targets must name real hosts: found now, not halfway through a failover. */
function checkAgainstInventory(playbook: Playbook, inventory: Inventory, limit?: string): void {
  const errors: HaplayError[] = [];
  if (limit) {
    try {
      inventory.select(limit);
    } catch (e) {
      errors.push((e as HaplayError).at({ key: '--limit' }));
    }
  }
  for (const play of playbook.plays) {
    try {
      inventory.select(play.hosts);
    } catch (e) {
      errors.push((e as HaplayError).at({ ...play.where, key: 'hosts' }));
    }
    for (const t of walk([...play.tasks, ...play.handlers])) {
      const d = t.delegateTo;
      if (d && !isTemplate(d) && d !== 'localhost' && !inventory.hasHost(d)) {
        errors.push(new HaplayError('E_PATTERN', `delegate_to names unknown host "${d}"`, { where: { ...t.where, key: 'delegate_to' } }));
      }
    }
  }
  if (errors.length) throw first(errors);
}

export function parseExtraVars(specs: string[], cwd: string, onSecret?: (v: string) => void): Vars {
  const vars: Vars = {};
  for (const spec of specs) {
    if (spec.startsWith('@')) {
      const loaded = loadYamlFile(resolve(cwd, spec.slice(1)), { onSecret });
      if (!loaded.data || typeof loaded.data !== 'object' || Array.isArray(loaded.data)) {
        throw new HaplayError('E_VARS', `${spec.slice(1)} must hold a mapping of variables`, { where: { key: '-e' } });
      }
      Object.assign(vars, loaded.data);
    } else if (/^\s*[{]/.test(spec)) {
      // The same YAML reader as files: `!secret` works, and no warning echoes the text (it may hold a secret).
      let parsed: unknown;
      try {
        parsed = parseYaml(spec, '-e', { onSecret }).data;
      } catch (e) {
        throw new HaplayError('E_VARS', `cannot parse the -e mapping: ${(e as Error).message}`, { where: { key: '-e' } });
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new HaplayError('E_VARS', 'an inline -e must be a mapping', { where: { key: '-e' } });
      Object.assign(vars, parsed);
    } else {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(spec);
      if (!m) {
        throw new HaplayError('E_VARS', `cannot read -e "${spec}"`, { where: { key: '-e' }, hint: 'write -e name=value, -e @vars.yml or -e \'{"name": "value"}\'' });
      }
      // `-e force=true` must be a boolean and `-e port=5432` a number, as operators expect.
      let value: unknown = m[2];
      try {
        const v = parseYaml(m[2], '-e', { onSecret }).data;
        if (v === null || typeof v !== 'object') value = v ?? '';
      } catch {
        /* keep the string */
      }
      vars[m[1]] = value;
    }
  }
  return vars;
}

export interface RunDeps {
  reporter: (redactor: Redactor) => Reporter;
  /** Tests hand a fake; default: one SSH (or local) connection per host. */
  transports?: (spec: (host: string) => ConnectionSpec) => TransportProvider;
}

export async function runPlaybook(req: RunRequest, deps: RunDeps): Promise<number> {
  const p = await prepare(req);
  return runPrepared(p, req, deps);
}

export async function runPrepared(p: Prepared, req: RunRequest, deps: RunDeps): Promise<number> {
  try {
    return await runWith(p, req, deps);
  } catch (e) {
    throw redactError(e, p.redactor);
  }
}

async function runWith(p: Prepared, req: RunRequest, deps: RunDeps): Promise<number> {
  const reporter = deps.reporter(p.redactor);
  const specFor = (host: string): ConnectionSpec =>
    p.inventory.hasHost(host) ? p.inventory.connectionSpec(host) : localSpec(host);
  const transports = deps.transports ? deps.transports(specFor) : new ConnectionPool(specFor);
  const engine = new Engine({
    inventory: p.inventory,
    playbook: p.playbook,
    registry: p.registry,
    transports,
    reporter,
    check: req.check,
    diff: req.diff,
    limit: req.limit,
    tags: req.tags,
    skipTags: req.skipTags,
    extraVars: p.extraVars,
    forks: req.forks,
    verbose: req.verbose,
    lockWaitSeconds: req.lockWaitSeconds,
    secret: (v) => p.redactor.add(v),
    signal: req.signal,
  });
  try {
    return await engine.run();
  } finally {
    await reporter.close();
  }
}

/** `localhost` outside the inventory is the control machine itself, as in Ansible. */
function localSpec(host: string): ConnectionSpec {
  if (host !== 'localhost') {
    throw new HaplayError('E_PATTERN', `"${host}" is not in the inventory`, { hint: 'check delegate_to and transportFor() targets' });
  }
  return {
    host,
    connection: 'local',
    address: '127.0.0.1',
    port: 22,
    user: 'root',
    hostKeyPolicy: 'strict',
    become: false,
    connectTimeoutMs: 10000,
    keepaliveMs: 15000,
  };
}
