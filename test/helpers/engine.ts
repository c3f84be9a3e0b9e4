// Runs a playbook written inline against fake hosts, and collects every event: the engine's tests
// assert on what the fake hosts were asked to do and on what the operator was shown.
import { Engine } from '../../src/core/engine.js';
import { inventoryFrom } from '../../src/core/inventory.js';
import { playbookFrom } from '../../src/core/playbook.js';
import { Redactor } from '../../src/core/redact.js';
import { PluginRegistry } from '../../src/core/registry.js';
import { JsonReporter } from '../../src/core/reporters/json.js';
import { FakeTransport } from '../../src/core/transport/fake.js';
import { TaskFailed } from '../../src/core/errors.js';
import type { Plugin, Reporter, RunEvent, Vars } from '../../src/core/types.js';
import { builtinPlugins } from '../../src/plugins/index.js';
import { parseYaml } from '../../src/core/yaml.js';
import { PassThrough } from 'node:stream';

/** Sets /kv/<key> to value: changed only when it differs. */
export const kv: Plugin<{ key: string; value: string }> = {
  name: 'kv',
  description: 'test: a key/value file',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['key', 'value'],
    properties: { key: { type: 'string' }, value: { type: 'string' } },
  },
  async plan(p, ctx) {
    const path = `/kv/${p.key}`;
    const cur = (await ctx.transport.readFile(path))?.toString();
    const result = { key: p.key, before: cur ?? null };
    if (cur === p.value) return { changes: [], result, noop: `${p.key} already ${p.value}` };
    return {
      result,
      changes: [
        {
          summary: `set ${p.key}`,
          diff: { label: path, before: cur ?? '', after: p.value },
          apply: async () => {
            await ctx.transport.writeFile(path, p.value);
            return { applied: true };
          },
        },
      ],
    };
  },
};

/** Runs `step <name>` on the host (so tests see the order) and fails when asked. */
export const step: Plugin<{ name: string; fail?: boolean; change?: boolean; sleep?: number }> = {
  name: 'step',
  description: 'test: one recorded command',
  freeForm: 'name',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: { name: { type: 'string' }, fail: { type: 'boolean', default: false }, change: { type: 'boolean', default: false }, sleep: { type: 'number' } },
  },
  async plan(p, ctx) {
    const r = await ctx.transport.exec(`step ${p.name}`);
    if (p.sleep) await new Promise((res) => setTimeout(res, p.sleep));
    if (p.fail) throw new TaskFailed(`step ${p.name} failed`, { rc: 1 });
    const result = { stdout: r.stdout, name: p.name };
    return p.change ? { result, changes: [{ summary: `did ${p.name}`, apply: async () => void (await ctx.transport.exec(`apply ${p.name}`)) }] } : { result, changes: [] };
  },
};

export const testRegistry = (more: Plugin[] = []) => new PluginRegistry([...builtinPlugins, kv, step, ...more]);

export interface RunResult {
  code: number;
  events: RunEvent[];
  hosts: Map<string, FakeTransport>;
  /** Every command, in the order hosts received them: "host: command". */
  log: string[];
  json: string;
  engine: Engine;
}

export interface RunOpts {
  inventory?: string;
  check?: boolean;
  diff?: boolean;
  limit?: string;
  tags?: string[];
  skipTags?: string[];
  extraVars?: Vars;
  forks?: number;
  verbose?: boolean;
  /** Take run locks (off by default so that logs hold only the tasks' commands). */
  lock?: boolean;
  setup?: (host: string, t: FakeTransport) => void;
  /** More plugins, beside the built-ins, kv and step. */
  plugins?: Plugin[];
}

const DEFAULT_INVENTORY = `
hosts: { a: {}, b: {}, c: {} }
groups:
  g: { hosts: [a, b, c] }
`;

export async function run(playbook: string, opts: RunOpts = {}): Promise<RunResult> {
  const inventory = inventoryFrom(parseYaml(opts.inventory ?? DEFAULT_INVENTORY, 'inventory.yml'));
  const redactor = new Redactor();
  const registry = testRegistry(opts.plugins);
  const pb = playbookFrom(parseYaml(playbook, '/pb/test.yml', { onSecret: (v) => redactor.add(v) }), registry);
  const hosts = new Map<string, FakeTransport>();
  const log: string[] = [];
  const get = (h: string) => {
    let t = hosts.get(h);
    if (!t) {
      t = new FakeTransport(h);
      t.on(/^(step|apply) /, (cmd) => ({ stdout: `${h} ${cmd}` }));
      opts.setup?.(h, t);
      const exec = t.exec.bind(t);
      t.exec = async (cmd, o) => {
        log.push(`${h}: ${cmd}`);
        return exec(cmd, o);
      };
      hosts.set(h, t);
    }
    return t;
  };
  inventory.hostNames.forEach(get);
  const events: RunEvent[] = [];
  const sink = new PassThrough();
  let json = '';
  sink.on('data', (b) => (json += b.toString()));
  const jsonReporter = new JsonReporter(sink as unknown as NodeJS.WriteStream, { redactor });
  const reporter: Reporter = {
    event: (e) => {
      events.push(e);
      jsonReporter.event(e);
    },
    close: () => jsonReporter.close(),
  };
  const engine = new Engine({
    inventory,
    playbook: pb,
    registry,
    transports: { get, closeAll: async () => {} },
    reporter,
    check: opts.check,
    diff: opts.diff,
    limit: opts.limit,
    tags: opts.tags,
    skipTags: opts.skipTags,
    extraVars: opts.extraVars,
    forks: opts.forks,
    verbose: opts.verbose,
    secret: (v) => redactor.add(v),
    lock: opts.lock ?? false,
    lockWaitSeconds: 1,
  });
  const code = await engine.run();
  await reporter.close();
  return { code, events, hosts, log, json, engine };
}

/** host → status of each host_result of the named task. */
export function statuses(r: RunResult, task: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of r.events) if (e.type === 'host_result' && e.task === task) out[e.host + (e.item !== undefined ? `[${e.item}]` : '')] = e.status;
  return out;
}

export function recap(r: RunResult) {
  const e = r.events.find((x) => x.type === 'recap');
  if (!e || e.type !== 'recap') throw new Error('no recap');
  return e.hosts;
}

export function file(r: RunResult, host: string, path: string): string | undefined {
  return r.hosts.get(host)?.files.get(path)?.data.toString();
}
