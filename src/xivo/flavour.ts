// What differs between the two products haplay keeps available: XiVO (seed 000: Main/Standby wording,
// SIP expiry 1/5/2 min, xivo-sync, XiVO CC and Edge) and Wazo (seed 003: master/slave, 3/5/4 min,
// wazo-sync). One table, so that no plugin hard-codes a path of one flavour.
import { TaskFailed } from '../core/errors.js';

export type FlavourName = 'xivo' | 'wazo';

/** sysconfd's words for a node; the operator may write main/standby or master/slave. */
export type NodeType = 'master' | 'slave' | 'disabled';

export interface Flavour {
  name: FlavourName;
  /** The service tool (start|stop|restart|status|enable|disable [group]). */
  serviceTool: string;
  /** The group that holds asterisk and the telephony daemons. */
  telephonyGroup: string;
  /** Touched by `<tool> disable`: the telephony group then stays down. */
  disabledFlag: string;
  /** The file-sync tool the cron line calls on the main. */
  syncTool: string;
  syncLog: string;
  /** SIP registration expiry in seconds while HA is on, and the non-HA values restored on disable. */
  sipExpiry: { ha: SipExpiry; off: SipExpiry };
  /** provd's JSON database of configs (registrar configs live in configs/). */
  provdJsondb: string;
  /** What provd-template writes in registrar_backup/proxy_backup when HA is disabled. */
  provdDisabledValue: '' | null;
  /** Directories xivo-sync/wazo-sync copy from main to standby (before tenant sounds expansion). */
  syncPaths: string[];
  /** Per-tenant sounds: every <tenant>/<subdir> except subdirs starting with these prefixes. */
  tenantSounds?: { root: string; skipPrefixes: string[] };
  sysconfdLog: string;
  /** sysconfd's logger name in that log (ha-config writes its own lines in the same format). */
  sysconfdLogger: string;
  /**
   * Which provd registrar configs HA edits: XiVO's web UI edits config `default` only, Wazo's confd
   * every config of X_type registrar (domain.md §7).
   */
  provdScope: 'default' | 'registrars';
  /** Wazo's confd leaves provd alone on disable when the node was standby (provd does not run there). */
  provdKeepOnStandbyDisable: boolean;
  /** provd's unit, restarted after its configs changed. */
  provdUnit: string;
}

export interface SipExpiry {
  minexpiry: number;
  maxexpiry: number;
  defaultexpiry: number;
}

/** Tables never copied to the standby, each with its sequence (domain.md §2). */
export const REPLICATION_EXCLUDED = [
  'call_log',
  'call_log_participant',
  'cel',
  'dhcp',
  'queue_log',
  'session',
  'stat_agent',
  'stat_agent_periodic',
  'stat_call_on_queue',
  'stat_queue',
  'stat_queue_periodic',
  'mail',
  'monitoring',
  'netiface',
  'resolvconf',
];

const OFF: SipExpiry = { minexpiry: 60, maxexpiry: 3600, defaultexpiry: 120 };

export const FLAVOURS: Record<FlavourName, Flavour> = {
  xivo: {
    name: 'xivo',
    serviceTool: 'xivo-service',
    telephonyGroup: 'xivo',
    disabledFlag: '/var/lib/xivo/disabled',
    syncTool: '/usr/bin/xivo-sync',
    syncLog: '/var/log/xivo-sync.log',
    sipExpiry: { ha: { minexpiry: 60, maxexpiry: 300, defaultexpiry: 120 }, off: OFF },
    provdJsondb: '/var/lib/xivo-provd/jsondb',
    provdDisabledValue: '',
    syncPaths: [
      '/etc/asterisk/extensions_extra.d',
      '/etc/xivo/asterisk',
      '/var/lib/asterisk/agi-bin',
      '/var/lib/asterisk/moh',
      '/var/lib/xivo/sounds/acd',
      '/var/lib/xivo/sounds/playback',
    ],
    sysconfdLog: '/var/log/xivo-sysconfd.log',
    sysconfdLogger: 'xivo_sysconf.modules.ha',
    provdScope: 'default',
    provdKeepOnStandbyDisable: false,
    provdUnit: 'xivo-provd',
  },
  wazo: {
    name: 'wazo',
    serviceTool: 'wazo-service',
    telephonyGroup: 'wazo',
    disabledFlag: '/var/lib/wazo/disabled',
    syncTool: '/usr/bin/wazo-sync',
    syncLog: '/var/log/wazo-sync.log',
    sipExpiry: { ha: { minexpiry: 180, maxexpiry: 300, defaultexpiry: 240 }, off: OFF },
    provdJsondb: '/var/lib/wazo-provd/jsondb',
    provdDisabledValue: null,
    syncPaths: [
      '/etc/asterisk/extensions_extra.d',
      '/etc/xivo/asterisk',
      '/root/.config/wazo-auth-cli',
      '/var/lib/asterisk/agi-bin',
      '/var/lib/asterisk/moh',
      '/var/lib/wazo-auth-keys',
    ],
    tenantSounds: { root: '/var/lib/wazo/sounds/tenants', skipPrefixes: ['monitor', 'recording'] },
    sysconfdLog: '/var/log/wazo-sysconfd.log',
    sysconfdLogger: 'wazo_sysconfd.plugins.ha_config.ha',
    provdScope: 'registrars',
    provdKeepOnStandbyDisable: true,
    provdUnit: 'wazo-provd',
  },
};

/** Both products keep ha.conf, the cron files and the sentinels in the same places. */
export const HA_PATHS = {
  haConf: '/etc/xivo/ha.conf',
  cronMain: '/etc/cron.d/xivo-ha-master',
  cronStandby: '/etc/cron.d/xivo-ha-slave',
  sentinelDir: '/var/lib/wazo',
  isPrimary: '/var/lib/wazo/is-primary',
  isSecondary: '/var/lib/wazo/is-secondary',
  haKey: '/root/.ssh/xivo_id_rsa',
  /** The standby's host key as the main's HA sync learnt it: kept apart so that disabling HA removes it. */
  haKnownHosts: '/root/.ssh/xivo_known_hosts',
  /** Starts/stops the telephony of a standby (domain.md §5); the same name in both products. */
  standbyServices: 'xivo-manage-slave-services',
  cronDir: '/etc/cron.d',
  postgresqlEtc: '/etc/postgresql',
  sysconfd: { host: '127.0.0.1', port: 8668 },
} as const;

/** Every word a playbook may use for a node's role: XiVO's, Wazo's, and disabled. */
export const ROLE_WORDS = ['main', 'standby', 'disabled', 'master', 'slave'];

/** main/standby (XiVO) and master/slave (Wazo) both mean the same two roles. */
export function nodeTypeOf(role: string): NodeType {
  switch (role) {
    case 'main':
    case 'master':
      return 'master';
    case 'standby':
    case 'slave':
      return 'slave';
    default:
      return 'disabled';
  }
}

/** The operator's word for a role, in the flavour's vocabulary. */
export function roleWord(flavour: FlavourName, t: NodeType): string {
  if (t === 'disabled') return 'disabled';
  if (flavour === 'xivo') return t === 'master' ? 'main' : 'standby';
  return t;
}


/** The PBX-wide groups of the service tool (domain.md §10). */
export const SERVICE_GROUPS = ['all', 'default', 'xivo', 'wazo', 'xivo-nomonit', 'wazo-nomonit'] as const;

/** The cron lines sysconfd writes for a node (domain.md §1 step 3); null: no file. */
export function cronFor(flavour: Flavour, t: NodeType, remote: string): { main: string | null; standby: string | null } {
  if (t === 'master') {
    return {
      main: `0 * * * * root /usr/sbin/xivo-master-slave-db-replication ${remote} >/dev/null\n0 * * * * root ${flavour.syncTool} >/dev/null\n`,
      standby: null,
    };
  }
  if (t === 'slave') return { main: null, standby: `* * * * * root /usr/sbin/xivo-check-master-status ${remote} >/dev/null\n` };
  return { main: null, standby: null };
}

/** The flavour of a task: its own param, else the host variable `flavour`, else xivo. */
export function flavourFor(param: unknown, hostVars: Record<string, unknown>): Flavour {
  const v = param ?? hostVars.flavour ?? 'xivo';
  if (v !== 'xivo' && v !== 'wazo') {
    throw new TaskFailed(`unknown flavour ${JSON.stringify(v)}`, undefined, 'flavour is xivo or wazo (host variable "flavour", or -e flavour=wazo)');
  }
  return FLAVOURS[v];
}
