// The inventory: hosts with their connection details and variables, and groups of hosts.
//
//   vars:   { flavour: xivo }                      # variables of every host (group "all")
//   hosts:  { pbx-main: { address: 10.0.0.1 } }    # each host, with its own variables
//   groups: { pbx: { hosts: [pbx-main], children: [cc], vars: {...} } }
import { dirname, isAbsolute, resolve } from 'node:path';
import { homedir } from 'node:os';
import { HaplayError } from './errors.js';
import { SYSTEM_INVENTORY } from './paths.js';
import { check, first } from './params.js';
import { selectHosts } from './patterns.js';
import type { ConnectionSpec, JSONSchema, Vars } from './types.js';
import { loadYamlFile, type Loaded, type LoadOptions } from './yaml.js';

const NAME = '^[A-Za-z0-9_][A-Za-z0-9_.-]*$';

export const inventorySchema: JSONSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['hosts'],
  properties: {
    vars: { type: 'object', description: 'Variables of every host (the group "all").' },
    hosts: {
      type: 'object',
      description: 'Every host, by name, with its connection details and variables.',
      propertyNames: { pattern: NAME },
      additionalProperties: { anyOf: [{ type: 'object' }, { type: 'null' }] },
    },
    groups: {
      type: 'object',
      propertyNames: { pattern: NAME, not: { const: 'all' } },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          hosts: { type: 'array', items: { type: 'string' }, uniqueItems: true },
          children: { type: 'array', items: { type: 'string' }, uniqueItems: true },
          vars: { type: 'object' },
        },
      },
    },
  },
};

interface Group {
  name: string;
  hosts: string[];
  children: string[];
  vars: Vars;
}

export class Inventory {
  readonly hostNames: string[];
  private readonly hostVars: Map<string, Vars>;
  private readonly groupMap: Map<string, Group>;
  private readonly allVars: Vars;
  private readonly varsCache = new Map<string, Vars>();
  // Group chains and diamonds (a group reached through many parents) are walked once per group:
  // without these, each path was walked again, exponentially many.
  private readonly membersCache = new Map<string, Set<string>>();
  private readonly depthCache = new Map<string, number>();

  constructor(
    readonly file: string,
    hosts: Record<string, Vars | null>,
    groups: Record<string, { hosts?: string[]; children?: string[]; vars?: Vars }>,
    allVars: Vars,
  ) {
    this.hostNames = Object.keys(hosts);
    // A host's variables sit beside its connection details or under `vars:`, like a group's.
    const flatten = (entry: Vars | null): Vars => {
      const { vars, ...rest } = entry ?? {};
      return vars && typeof vars === 'object' && !Array.isArray(vars) ? { ...rest, ...(vars as Vars) } : { ...rest };
    };
    this.hostVars = new Map(this.hostNames.map((h) => [h, flatten(hosts[h])]));
    this.groupMap = new Map(
      Object.entries(groups).map(([name, g]) => [
        name,
        { name, hosts: g.hosts ?? [], children: g.children ?? [], vars: g.vars ?? {} },
      ]),
    );
    this.allVars = allVars;
  }

  get groupNames(): string[] {
    return [...this.groupMap.keys()];
  }

  /** A group's own hosts and child groups (not flattened). */
  groupDef(name: string): { hosts: string[]; children: string[] } | undefined {
    const g = this.groupMap.get(name);
    return g && { hosts: [...g.hosts], children: [...g.children] };
  }

  hasHost(name: string): boolean {
    return this.hostVars.has(name);
  }

  hasGroup(name: string): boolean {
    return name === 'all' || this.groupMap.has(name);
  }

  /** Hosts of a group and of its child groups, in inventory order. */
  hostsOf(group: string): string[] {
    if (group === 'all') return [...this.hostNames];
    const found = this.members(group);
    return this.hostNames.filter((h) => found.has(h));
  }

  private members(group: string): Set<string> {
    const cached = this.membersCache.get(group);
    if (cached) return cached;
    const found = new Set<string>();
    const seen = new Set<string>();
    const stack = [group];
    while (stack.length) {
      const g = stack.pop()!;
      if (seen.has(g)) continue;
      seen.add(g);
      const def = this.groupMap.get(g);
      if (!def) continue;
      def.hosts.forEach((h) => found.add(h));
      stack.push(...def.children);
    }
    this.membersCache.set(group, found);
    return found;
  }

  /** Every group a host belongs to, directly or through a child group. */
  groupsOf(host: string): string[] {
    return this.groupNames.filter((g) => this.members(g).has(host));
  }

  /** { group: [hosts] } for templates, with "all". */
  groupsMap(): Record<string, string[]> {
    return Object.fromEntries([['all', this.hostNames], ...this.groupNames.map((g) => [g, this.hostsOf(g)])]);
  }

  select(pattern: string): string[] {
    return selectHosts(pattern, this);
  }

  /**
   * Inventory variables of a host: "all" vars, then group vars from parents to children (a child
   * group overrides its parent, same depth in name order), then the host's own.
   */
  varsFor(host: string): Vars {
    const cached = this.varsCache.get(host);
    if (cached) return cached;
    const groups = this.groupsOf(host).sort((a, b) => this.depth(a) - this.depth(b) || a.localeCompare(b));
    const merged: Vars = { ...this.allVars };
    for (const g of groups) Object.assign(merged, this.groupMap.get(g)!.vars);
    Object.assign(merged, this.hostVars.get(host));
    this.varsCache.set(host, merged);
    return merged;
  }

  connectionSpec(host: string): ConnectionSpec {
    const v = this.varsFor(host);
    const base = dirname(this.file);
    const path = (p: unknown) => {
      if (typeof p !== 'string' || !p) return undefined;
      const expanded = p.startsWith('~/') ? homedir() + p.slice(1) : p;
      return isAbsolute(expanded) ? expanded : resolve(base, expanded);
    };
    const policy = String(v.host_key_checking ?? 'strict');
    return {
      host,
      connection: v.connection === 'local' ? 'local' : 'ssh',
      address: String(v.address ?? host),
      port: Number(v.port ?? 22),
      user: String(v.user ?? 'root'),
      privateKey: path(v.private_key),
      knownHosts: path(v.known_hosts),
      hostKeyPolicy: policy === 'accept-new' || policy === 'off' ? policy : 'strict',
      become: v.become === true,
      connectTimeoutMs: Number(v.connect_timeout ?? 10) * 1000,
      keepaliveMs: Number(v.keepalive ?? 15) * 1000,
    };
  }

  /** 1 + the longest chain of parents above the group: every group's, once, parents before children, without recursion. */
  private depth(group: string): number {
    if (!this.depthCache.size) {
      const pending = new Map(this.groupNames.map((g) => [g, 0]));
      for (const g of this.groupNames) for (const c of this.groupMap.get(g)!.children) pending.set(c, (pending.get(c) ?? 0) + 1);
      const ready = this.groupNames.filter((g) => pending.get(g) === 0);
      ready.forEach((g) => this.depthCache.set(g, 1));
      while (ready.length) {
        const g = ready.pop()!;
        for (const c of this.groupMap.get(g)!.children) {
          this.depthCache.set(c, Math.max(this.depthCache.get(c) ?? 1, this.depthCache.get(g)! + 1));
          pending.set(c, pending.get(c)! - 1);
          if (pending.get(c) === 0) ready.push(c);
        }
      }
    }
    return this.depthCache.get(group) ?? 1;
  }
}

export function loadInventory(file: string, opts: LoadOptions = {}): Inventory {
  return inventoryFrom(loadYamlFile(file, opts));
}

export function inventoryFrom(loaded: Loaded): Inventory {
  const { file, data, lineOf } = loaded;
  const where = { file };
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new HaplayError('E_INVENTORY', 'an inventory is a mapping with "hosts" and "groups"', {
      where,
      hint: 'see inventories/example.yml',
    });
  }
  const problems = check(inventorySchema, data, { code: 'E_INVENTORY', where, lineOf });
  if (problems.length) throw first(problems);
  const inv = data as { vars?: Vars; hosts: Record<string, Vars | null>; groups?: Record<string, Group> };
  const groups = inv.groups ?? {};
  const hosts = inv.hosts;
  const err = (message: string, path: (string | number)[], hint?: string) =>
    new HaplayError('E_INVENTORY', message, { where: { file, key: path.join('.'), line: lineOf(path) }, hint });
  const errors: HaplayError[] = [];
  const used = new Set<string>();
  for (const [g, def] of Object.entries(groups)) {
    if (Object.hasOwn(hosts, g) && (def.hosts ?? []).some((h) => h !== g)) {
      // allowed: a group named like its only host (e.g. "cc"); anything else is ambiguous in patterns
      errors.push(err(`group "${g}" has the name of a host but holds other hosts`, ['groups', g], 'rename the group or the host'));
    }
    (def.hosts ?? []).forEach((h, i) => {
      if (!Object.hasOwn(hosts, h)) errors.push(err(`group "${g}" lists unknown host "${h}"`, ['groups', g, 'hosts', i], 'declare it under "hosts:" first'));
      used.add(h);
    });
    (def.children ?? []).forEach((c, i) => {
      if (!Object.hasOwn(groups, c)) errors.push(err(`group "${g}" lists unknown child group "${c}"`, ['groups', g, 'children', i]));
    });
  }
  for (const h of Object.keys(hosts)) {
    if (!used.has(h)) errors.push(err(`host "${h}" is in no group`, ['hosts', h], 'add it to a group under "groups:" (a host in no group is usually a typo)'));
  }
  const cycle = findCycle(groups);
  if (cycle) errors.push(err(`groups form a cycle: ${cycle.join(' → ')}`, ['groups', cycle[0]], 'a group cannot contain itself through its children'));
  if (errors.length) throw first(errors);
  return new Inventory(file, hosts, groups, inv.vars ?? {});
}

/** A cycle of child groups, as the path that closes it; depth-first with its own stack (a chain of any length). */
function findCycle(groups: Record<string, { children?: string[] }>): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  for (const root of Object.keys(groups)) {
    if (state.has(root)) continue;
    const path: string[] = [root];
    const next: number[] = [0];
    state.set(root, 'visiting');
    while (path.length) {
      const g = path.at(-1)!;
      const children = groups[g]?.children ?? [];
      const i = next[next.length - 1]++;
      if (i >= children.length) {
        state.set(g, 'done');
        path.pop();
        next.pop();
        continue;
      }
      const c = children[i];
      if (state.get(c) === 'visiting') return [...path.slice(path.indexOf(c)), c];
      if (state.get(c) === 'done' || !Object.hasOwn(groups, c)) continue;
      state.set(c, 'visiting');
      path.push(c);
      next.push(0);
    }
  }
  return null;
}

/** Where the inventory comes from when -i is not given. */
export function defaultInventoryPath(cwd: string, env: NodeJS.ProcessEnv, exists: (p: string) => boolean): string {
  const local = resolve(cwd, 'inventory.yml');
  if (exists(local)) return local;
  if (env.HAPLAY_INVENTORY) return resolve(cwd, env.HAPLAY_INVENTORY);
  if (exists(SYSTEM_INVENTORY)) return SYSTEM_INVENTORY;
  throw new HaplayError('E_NO_INVENTORY', 'no inventory given', {
    hint: `pass -i FILE; without it haplay looked in ${local}, $HAPLAY_INVENTORY (unset) and ${SYSTEM_INVENTORY}`,
  });
}
