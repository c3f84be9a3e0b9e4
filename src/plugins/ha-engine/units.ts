// What ha-engine installs on a node: the systemd units that keep the cluster up once the operator
// has gone home, and where their files live. Plain text, so the package ships the same bytes in
// /lib/systemd/system (for /usr/bin/haplay); ha-engine writes a copy in /etc/systemd/system only for
// another haplay command (a checkout, the lab), which systemd then prefers.
export const HAPLAY_DIR = '/etc/haplay';
export const STATE_DIR = '/var/lib/haplay';
export const UNIT_DIR = '/etc/systemd/system';
/** Where the package's units are (not enabled by the package: ha-setup.yml does, per role). */
export const PACKAGE_UNIT_DIR = '/lib/systemd/system';
export const SLICE = `${HAPLAY_DIR}/inventory.yml`;
export const KEY = `${HAPLAY_DIR}/id_ed25519`;
export const KNOWN_HOSTS = `${HAPLAY_DIR}/known_hosts`;
export const PLAYBOOK_DIR = `${HAPLAY_DIR}/playbooks`;
/** The playbooks the units run (the monitor runs failover, failback and, on a CC, cc-follow). */
export const NODE_PLAYBOOKS = ['replicate.yml', 'failover.yml', 'failback.yml', 'cc-follow.yml'];

export type EngineRole = 'main' | 'standby' | 'cc' | 'none';

/** The units of each role, by file name; enabling the first of each list starts the others. */
export const ROLE_UNITS: Record<EngineRole, string[]> = {
  main: ['haplay-replicate.timer', 'haplay-replicate.service'],
  standby: ['haplay-monitor.service'],
  cc: ['haplay-monitor.service'],
  none: [],
};
/** Units that are enabled (the timer starts its service). */
export const ENABLED_UNITS = ['haplay-replicate.timer', 'haplay-monitor.service'];
export const ALL_UNITS = ['haplay-replicate.timer', 'haplay-replicate.service', 'haplay-monitor.service'];

export function unitFiles(haplay: string): Record<string, string> {
  return {
    'haplay-replicate.service': [
      '# haplay (ha-setup.yml enables it on the main). One replication run: database and files, main to standby.',
      '[Unit]',
      "Description=haplay: replicate the main's database and files to the standby",
      'Documentation=man:haplay(1)',
      'After=network-online.target postgresql.service',
      '',
      '[Service]',
      'Type=oneshot',
      `ExecStart=${haplay} ${PLAYBOOK_DIR}/replicate.yml -i ${SLICE}`,
      '',
    ].join('\n'),
    'haplay-replicate.timer': [
      '# haplay (ha-setup.yml enables it on the main). Replaces the hourly xivo-master-slave-db-replication and',
      '# xivo-sync cron lines: a run a minute after the previous one started.',
      '[Unit]',
      'Description=haplay: replication every minute',
      '',
      '[Timer]',
      'OnBootSec=60s',
      'OnUnitActiveSec=60s',
      'AccuracySec=1s',
      '',
      '[Install]',
      'WantedBy=timers.target',
      '',
    ].join('\n'),
    'haplay-monitor.service': [
      '# haplay (ha-setup.yml enables it on the standby and CCs). Replaces the xivo-check-master-status cron line (standby)',
      '# and xivocc-ha-monitoring (CC). See `haplay status` and docs/ha.md.',
      '[Unit]',
      'Description=haplay HA monitor: the standby takes over a dead main; a CC follows the serving PBX',
      'Documentation=man:haplay(1)',
      'After=network-online.target',
      'Wants=network-online.target',
      '',
      '[Service]',
      'Type=simple',
      `ExecStart=${haplay} monitor -i ${SLICE}`,
      'Restart=always',
      'RestartSec=2s',
      '',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n'),
  };
}

/**
 * Which unit files the node needs in UNIT_DIR: none where the package's copy already holds the same
 * bytes; a copy we wrote earlier that is no longer needed (role changed, package installed) goes.
 */
export function unitCopies(role: EngineRole, units: Record<string, string>, packaged: Map<string, string>, copies: Set<string>, sha: (s: string) => string): { write: string[]; remove: string[] } {
  const write = ROLE_UNITS[role].filter((u) => packaged.get(u) !== sha(units[u]));
  const remove = ALL_UNITS.filter((u) => copies.has(u) && !write.includes(u));
  return { write, remove };
}
