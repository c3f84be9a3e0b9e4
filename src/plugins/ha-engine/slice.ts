// The node's own inventory: only the hosts its units reach, only addresses and HA settings. The
// admin's keys, passwords and unrelated variables never leave the admin's inventory.
import type { Vars } from '../../core/types.js';
import { KEY, KNOWN_HOSTS, type EngineRole } from './units.js';

/** Groups a node's playbooks address, in this order. */
export const CLUSTER_GROUPS = ['pbx_main', 'pbx_standby', 'cc', 'edge', 'witness'];

/** Host variables carried to the node (everything else stays with the admin). */
const CARRIED = new Set([
  'address', 'port', 'flavour', 'voip_address', 'pbx', 'pbx_standby', 'haplay_command', 'tls_verify',
  'tls_fingerprint', 'auto_failback', 'failback_hold_time', 'monitor_interval', 'failures_before_failover',
  'cc_follow_interval', 'ha_engine',
]);

export interface Cluster {
  groups: Record<string, string[]>;
  hostvars(name: string): Vars;
}

/** Who a node's units connect to: its peers, whose root must accept the node's key. */
export function peersOf(node: string, role: EngineRole, c: Cluster): string[] {
  const g = (n: string) => c.groups[n] ?? [];
  const wanted =
    role === 'main' ? g('pbx_standby')
    : role === 'standby' ? [...g('pbx_main'), ...g('cc'), ...g('edge'), ...g('witness')]
    : role === 'cc' ? [...g('pbx_main'), ...g('pbx_standby')]
    : [];
  return [...new Set(wanted)].filter((h) => h !== node);
}

export function sliceOf(node: string, role: EngineRole, c: Cluster): Vars {
  const members = new Set([node, ...peersOf(node, role, c)]);
  const hosts: Vars = {};
  for (const h of [...members].sort()) {
    const v = c.hostvars(h);
    const kept: Vars = {};
    for (const k of [...CARRIED].sort()) if (v[k] !== undefined && v[k] !== null) kept[k] = v[k];
    if (h === node) kept.connection = 'local';
    hosts[h] = kept;
  }
  const groups: Vars = {};
  for (const name of CLUSTER_GROUPS) {
    const inGroup = (c.groups[name] ?? []).filter((h) => members.has(h));
    if (inGroup.length) groups[name] = { hosts: inGroup };
  }
  const pbx = ['pbx_main', 'pbx_standby'].filter((n) => groups[n]);
  if (pbx.length) groups.pbx = { children: pbx };
  return {
    vars: { haplay_node: node, user: 'root', private_key: KEY, known_hosts: KNOWN_HOSTS, host_key_checking: 'strict' },
    hosts,
    groups,
  };
}
