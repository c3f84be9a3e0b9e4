// What the engine knows about each host during a run, and how a task's variables are layered:
// inventory group < inventory host < play vars < registered results and facts < task vars < extra vars.
import type { Inventory } from './inventory.js';
import type { Play, Task } from './playbook.js';
import { renderDeep } from './template.js';
import type { HostCounts, HostStatus, Vars } from './types.js';

export class HostState {
  /** Registered results and facts; they outlive the play, as in Ansible. */
  readonly facts: Vars = {};
  /** Handlers this host notified and that have not run yet. */
  readonly notified = new Set<string>();
  stopped: 'failed' | 'unreachable' | null = null;
  /** The host took part in at least one play, so it gets a recap line. */
  touched = false;
  readonly counts: HostCounts = { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0, rescued: 0, ignored: 0 };

  constructor(readonly name: string) {}

  count(status: HostStatus): void {
    if (status === 'changed') {
      this.counts.changed++;
      this.counts.ok++;
    } else if (status === 'ignored') {
      this.counts.ignored++;
      this.counts.ok++;
    } else this.counts[status]++;
  }
}

export interface VarsSources {
  inventory: Inventory;
  hosts: Map<string, HostState>;
  extraVars: Vars;
  check: boolean;
  playbookDir: string;
  /** When the run started (ISO 8601): log-check's `since: run`. */
  runStartedAt?: string;
}

/** Everything a task sees on one host. */
export function varsFor(src: VarsSources, play: Play, playHosts: string[], host: string, task?: Task): Vars {
  const inventoryVars = src.inventory.varsFor(host);
  const magic: Vars = {
    inventory_hostname: host,
    hostvars: hostvarsSnapshot(src),
    groups: src.inventory.groupsMap(),
    play_hosts: playHosts,
    check_mode: src.check,
    playbook_dir: src.playbookDir,
    run_started_at: src.runStartedAt,
  };
  // Play and task vars may themselves be templates over the layers below them.
  const base = { ...magic, ...inventoryVars, ...src.extraVars };
  const playVars = renderDeep(play.vars, base) as Vars;
  const facts = src.hosts.get(host)?.facts ?? {};
  const withFacts = { ...magic, ...inventoryVars, ...playVars, ...facts, ...src.extraVars };
  const taskVars = task ? (renderDeep(task.vars, withFacts) as Vars) : {};
  return { ...magic, ...inventoryVars, ...playVars, ...facts, ...taskVars, ...src.extraVars };
}

let snapshotCache: { key: unknown; version: number; value: Vars } | undefined;
let factsVersion = 0;

/** Call after any host's facts change, so `hostvars` is rebuilt. */
export function factsChanged(): void {
  factsVersion++;
}

/** A host's variables as other hosts see them (`hostvars`, ctx.hostvars): inventory, then facts. */
export function hostVarsOf(src: VarsSources, host: string): Vars {
  return { ...src.inventory.varsFor(host), ...(src.hosts.get(host)?.facts ?? {}) };
}

function hostvarsSnapshot(src: VarsSources): Vars {
  if (snapshotCache && snapshotCache.key === src && snapshotCache.version === factsVersion) return snapshotCache.value;
  const value = Object.fromEntries(src.inventory.hostNames.map((h) => [h, hostVarsOf(src, h)]));
  snapshotCache = { key: src, version: factsVersion, value };
  return value;
}
