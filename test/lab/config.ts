// Where the lab lives and which hosts it has: the single source of names and addresses.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const LAB_SRC = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(LAB_SRC, '../..');
export const LAB_DIR = path.join(REPO, '.lab');
export const NS_DIR = path.join(LAB_DIR, 'ns');
export const HOSTS_DIR = path.join(LAB_DIR, 'hosts');
export const STATE_FILE = path.join(LAB_DIR, 'state.json');
export const KEY = path.join(LAB_DIR, 'id_ed25519');
export const KNOWN_HOSTS = path.join(LAB_DIR, 'known_hosts');
export const FLEET_INVENTORY = path.join(LAB_DIR, 'fleet.yml');
export const LAB_INVENTORY = path.join(REPO, 'inventories', 'lab.yml');
export const STANDINS = path.join(LAB_SRC, 'standins');
export const SQL_DIR = path.join(LAB_SRC, 'sql');

export const BRIDGE = 'hplab0';
export const CONTROL_ADDRESS = '10.77.0.1';
export const PREFIX = 16;
export const PG_VERSION = '15';
export const PG_BIN = `/usr/lib/postgresql/${PG_VERSION}/bin`;

export type Role = 'pbx-main' | 'pbx-standby' | 'cc' | 'edge';
export type Profile = 'default' | 'bench';

export interface LabHost {
  name: string;
  address: string;
  role: Role;
  /** The other PBX of the pair (for PBXs). */
  peer?: string;
}

export const CORE_HOSTS: LabHost[] = [
  { name: 'pbx-main', address: '10.77.0.11', role: 'pbx-main', peer: 'pbx-standby' },
  { name: 'pbx-standby', address: '10.77.0.12', role: 'pbx-standby', peer: 'pbx-main' },
  { name: 'cc', address: '10.77.0.21', role: 'cc' },
  { name: 'edge', address: '10.77.0.31', role: 'edge' },
];

export const MAX_PAIRS = 50;

/** Fleet pair K (1..50): pbx-main-K at 10.77.1.(2K), pbx-standby-K at 10.77.1.(2K+1). */
export function fleetHosts(pairs: number): LabHost[] {
  const out: LabHost[] = [];
  for (let k = 1; k <= pairs; k++) {
    out.push({ name: `pbx-main-${k}`, address: `10.77.1.${2 * k}`, role: 'pbx-main', peer: `pbx-standby-${k}` });
    out.push({ name: `pbx-standby-${k}`, address: `10.77.1.${2 * k + 1}`, role: 'pbx-standby', peer: `pbx-main-${k}` });
  }
  return out;
}

export function allHosts(pairs: number): LabHost[] {
  return [...CORE_HOSTS, ...fleetHosts(pairs)];
}

export const isPbx = (h: LabHost) => h.role === 'pbx-main' || h.role === 'pbx-standby';

/** Network namespace of a host. */
export const netnsOf = (name: string) => `hplab-${name}`;

/**
 * Root-side veth name, within the 15-char limit: "hpl-" + a short id
 * (pm, ps, cc, ed, m<K>, s<K>).
 */
export function vethOf(name: string): string {
  const short: Record<string, string> = { 'pbx-main': 'pm', 'pbx-standby': 'ps', cc: 'cc', edge: 'ed' };
  if (short[name]) return `hpl-${short[name]}`;
  const m = /^pbx-(main|standby)-(\d+)$/.exec(name);
  if (!m) throw new Error(`no veth name for host ${name}`);
  return `hpl-${m[1] === 'main' ? 'm' : 's'}${m[2]}`;
}

export const hostDir = (name: string) => path.join(HOSTS_DIR, name);
/** The built tree of a host (overlay lower dir, the pristine snapshot). */
export const baseDir = (name: string) => path.join(hostDir(name), 'base');
export const upperDir = (name: string) => path.join(hostDir(name), 'upper');
export const workDir = (name: string) => path.join(hostDir(name), 'work');
/** Where the host's overlay is mounted (inside its own mount namespace only). */
export const fsDir = (name: string) => path.join(hostDir(name), 'fs');
export const mntNsFile = (name: string) => path.join(NS_DIR, `${name}.mnt`);
export const utsNsFile = (name: string) => path.join(NS_DIR, `${name}.uts`);

/** Directories of a host bind-mounted over the machine's paths (relative to /). */
export const HOST_DIRS = [
  'etc/xivo', 'etc/cron.d', 'etc/asterisk', 'etc/postgresql', 'etc/ssh', 'etc/nginx', 'etc/hplab',
  'var/lib/postgresql', 'var/lib/wazo', 'var/lib/xivo', 'var/lib/asterisk', 'var/lib/wazo-provd',
  'var/lib/xivo-provd', 'var/lib/wazo-auth-keys', 'var/spool/asterisk', 'var/log', 'var/www', 'root',
  // haplay's own units and files on a node (ha-setup's ha-engine writes them).
  'etc/systemd/system', 'etc/haplay', 'var/lib/haplay',
];
/** Where a host sees this checkout (read-only), for its `haplay` stand-in. */
export const CHECKOUT_MOUNT = 'opt/haplay-lab';
/** Single files of a host bind-mounted over the machine's files. */
export const HOST_FILES = ['etc/hostname', 'etc/hosts'];
/** Fresh tmpfs per host (emptied at each boot). */
export const HOST_TMPFS = ['run', 'tmp'];
