// ha-config planning as data: the host's answers to the one probe in, the planned changes, the
// commands and the bytes written out (domain.md §1). Params go through the engine's own validator
// (ajv with formats), as in a playbook.
import test from 'ava';
import type { FakeRule } from '../../src/core/transport/fake.js';
import { haConfig } from '../../src/plugins/ha-config.js';
import { runCases } from '../helpers/plugin-cases.js';


const plugin = haConfig;
const PG = '/etc/postgresql/15/main';
const HBA = '# lab\nlocal   all             all                                     trust\nhost    all             all             127.0.0.1/32            trust\n';
const CONF = "# postgresql.conf\n#listen_addresses = 'localhost'\nport = 5432\n";
const MAIN_CONF = '{"node_type": "master", "remote_address": "10.77.0.12"}';
const STANDBY_CONF = '{"node_type": "slave", "remote_address": "10.77.0.11"}';
const MAIN_CRON = '0 * * * * root /usr/sbin/xivo-master-slave-db-replication 10.77.0.12 >/dev/null\n0 * * * * root /usr/bin/xivo-sync >/dev/null\n';
const STANDBY_CRON = '* * * * * root /usr/sbin/xivo-check-master-status 10.77.0.11 >/dev/null\n';

interface Host {
  files?: Record<string, string>;
  sentinels?: ('is-primary' | 'is-secondary')[];
  telephony?: string;
  pgdir?: string | null;
}

/** Answers the probe from a description of the host. */
function host(h: Host): FakeRule[] {
  const pg = h.pgdir === undefined ? PG : h.pgdir;
  const files: Record<string, string> = { [`${PG}/pg_hba.conf`]: HBA, [`${PG}/postgresql.conf`]: CONF, ...h.files };
  return [
    {
      match: 'pgdir=$(ls -d',
      reply: (cmd) => {
        if (pg === null) return { code: 3, stderr: 'no PostgreSQL cluster under /etc/postgresql/<version>/main' };
        const paths = ['/etc/xivo/ha.conf', '/etc/cron.d/xivo-ha-master', '/etc/cron.d/xivo-ha-slave', `${pg}/pg_hba.conf`, `${pg}/postgresql.conf`];
        const out = [`P\t${pg}`];
        for (const p of paths) out.push(files[p] === undefined ? `A\t${p}` : `F\t${p}\t${Buffer.from(files[p]).toString('base64')}`);
        for (const s of h.sentinels ?? []) out.push(`S\t/var/lib/wazo/${s}`);
        out.push(`T\t${cmd.includes('status xivo') || cmd.includes('status wazo') ? (h.telephony ?? 'running') : 'unchecked'}`);
        return { stdout: out.join('\n') + '\n' };
      },
    },
    { match: /^rm -f -- /, reply: {} },
    { match: /^mkdir -p \/var\/lib\/wazo && : > /, reply: {} },
    { match: 'systemctl restart postgresql', reply: {} },
    { match: 'xivo-manage-slave-services start', reply: {} },
    { match: 'Updating resilience state', reply: {} },
  ];
}

const files = (f: Record<string, string>) => f;

runCases(test, [
  {
    title: 'a fresh node becomes main: ha.conf, main cron, is-primary; PostgreSQL untouched',
    plugin,
    params: { node_type: 'main', remote_address: '10.77.0.12', prefer_sysconfd: false },
    host: host({}),
    expect: {
      changes: ['create /etc/xivo/ha.conf', 'create /etc/cron.d/xivo-ha-master', 'create /var/lib/wazo/is-primary'],
      commands: ['pgdir=$(ls -d', 'Updating resilience state, from: %s to: %s', /^mkdir -p \/var\/lib\/wazo && : > \/var\/lib\/wazo\/is-primary$/],
      files: { '/etc/xivo/ha.conf': MAIN_CONF, '/etc/cron.d/xivo-ha-master': MAIN_CRON },
      diffs: [{ before: '', after: MAIN_CONF }, { before: '', after: MAIN_CRON }],
      result: { node_type: 'master', role: 'main', remote_address: '10.77.0.12', via: 'files', postgresql_dir: PG },
    },
  },
  {
    title: 'the log line says from False to True',
    plugin,
    params: { node_type: 'main', remote_address: '10.77.0.12', prefer_sysconfd: false },
    host: host({}),
    expect: { commands: ['pgdir', /\(xivo_sysconf\.modules\.ha\)' False True >> "\$f"$/, 'mkdir'] },
  },
  {
    title: 'a fresh node becomes standby: pg_hba and listen_addresses lines, one restart, standby cron, is-secondary; services not checked',
    plugin,
    params: { node_type: 'standby', remote_address: '10.77.0.11', prefer_sysconfd: false, log: false },
    host: host({}),
    expect: {
      changes: [
        'create /etc/xivo/ha.conf',
        `write ${PG}/pg_hba.conf`,
        `write ${PG}/postgresql.conf`,
        'restart postgresql',
        'create /etc/cron.d/xivo-ha-slave',
        'create /var/lib/wazo/is-secondary',
      ],
      commands: [/T\tunchecked/, 'systemctl restart postgresql', 'is-secondary'],
      files: {
        '/etc/xivo/ha.conf': STANDBY_CONF,
        [`${PG}/pg_hba.conf`]: HBA + 'host asterisk postgres 10.77.0.11/32 trust\n',
        [`${PG}/postgresql.conf`]: CONF + "listen_addresses = '*'\n",
        '/etc/cron.d/xivo-ha-slave': STANDBY_CRON,
        '/etc/cron.d/xivo-ha-master': null,
      },
    },
  },
  {
    title: 'a main already configured: nothing to do, and it says why',
    plugin,
    params: { node_type: 'main', remote_address: '10.77.0.12', prefer_sysconfd: false },
    host: host({ files: files({ '/etc/xivo/ha.conf': MAIN_CONF, '/etc/cron.d/xivo-ha-master': MAIN_CRON }), sentinels: ['is-primary'] }),
    expect: { changes: [], noop: /already match main/, commands: ['pgdir'] },
  },
  {
    title: 'wazo words and flavour from the host variable: master, wazo-sync in the cron line',
    plugin,
    params: { node_type: 'master', remote_address: '10.77.0.12', prefer_sysconfd: false, log: false },
    vars: { flavour: 'wazo' },
    host: host({}),
    expect: {
      changes: ['create /etc/xivo/ha.conf', 'create /etc/cron.d/xivo-ha-master', 'create /var/lib/wazo/is-primary'],
      commands: [/wazo-service status wazo/, 'mkdir'],
      files: { '/etc/cron.d/xivo-ha-master': MAIN_CRON.replace('/usr/bin/xivo-sync', '/usr/bin/wazo-sync') },
      result: { role: 'master', flavour: 'wazo' },
    },
  },
  {
    title: 'the param flavour wins over the host variable',
    plugin,
    params: { node_type: 'main', remote_address: '10.77.0.12', flavour: 'xivo', prefer_sysconfd: false, log: false },
    vars: { flavour: 'wazo' },
    host: host({}),
    expect: { files: { '/etc/cron.d/xivo-ha-master': MAIN_CRON }, result: { flavour: 'xivo' } },
  },
  {
    title: 'a main whose telephony is disabled (a former standby) gets the standby services started',
    plugin,
    params: { node_type: 'main', remote_address: '10.77.0.12', prefer_sysconfd: false, log: false },
    host: host({ files: files({ '/etc/xivo/ha.conf': MAIN_CONF, '/etc/cron.d/xivo-ha-master': MAIN_CRON }), sentinels: ['is-primary'], telephony: 'disabled' }),
    expect: {
      changes: ['start the standby services (xivo-manage-slave-services start; telephony disabled (/var/lib/xivo/disabled))'],
      commands: ['pgdir', /xivo-manage-slave-services start$/],
    },
  },
  {
    title: 'a main with a telephony unit down: started too, the reason is the status exit code',
    plugin,
    params: { node_type: 'main', remote_address: '10.77.0.12', prefer_sysconfd: false, log: false },
    host: host({ files: files({ '/etc/xivo/ha.conf': MAIN_CONF, '/etc/cron.d/xivo-ha-master': MAIN_CRON }), sentinels: ['is-primary'], telephony: 'down 1' }),
    expect: { changes: ['start the standby services (xivo-manage-slave-services start; xivo-service status xivo: exit 1)'] },
  },
  {
    title: 'standby to main: the other cron and sentinel go, PostgreSQL lines removed and one restart',
    plugin,
    params: { node_type: 'main', remote_address: '10.77.0.12', prefer_sysconfd: false, log: false },
    host: host({
      files: files({
        '/etc/xivo/ha.conf': STANDBY_CONF,
        '/etc/cron.d/xivo-ha-slave': STANDBY_CRON,
        [`${PG}/pg_hba.conf`]: HBA + 'host asterisk postgres 10.77.0.11/32 trust\n',
        [`${PG}/postgresql.conf`]: CONF + "listen_addresses = '*'\n",
      }),
      sentinels: ['is-secondary'],
    }),
    expect: {
      changes: [
        'write /etc/xivo/ha.conf',
        `write ${PG}/pg_hba.conf`,
        `write ${PG}/postgresql.conf`,
        'restart postgresql',
        'create /etc/cron.d/xivo-ha-master',
        'remove /etc/cron.d/xivo-ha-slave',
        'remove /var/lib/wazo/is-secondary',
        'create /var/lib/wazo/is-primary',
      ],
      files: { [`${PG}/pg_hba.conf`]: HBA, [`${PG}/postgresql.conf`]: CONF, '/etc/xivo/ha.conf': MAIN_CONF },
      diffs: [{ before: STANDBY_CONF, after: MAIN_CONF }],
    },
  },
  {
    title: 'disabled: a main goes back to a node that never had HA (no ha.conf, no cron, no sentinel)',
    plugin,
    params: { node_type: 'disabled', prefer_sysconfd: false, log: false },
    host: host({ files: files({ '/etc/xivo/ha.conf': MAIN_CONF, '/etc/cron.d/xivo-ha-master': MAIN_CRON }), sentinels: ['is-primary'] }),
    expect: {
      changes: ['remove /etc/xivo/ha.conf', 'remove /etc/cron.d/xivo-ha-master', 'remove /var/lib/wazo/is-primary'],
      commands: ['pgdir', "rm -f -- /etc/xivo/ha.conf", 'rm -f -- /etc/cron.d/xivo-ha-master', 'rm -f -- /var/lib/wazo/is-primary'],
      diffs: [{ before: MAIN_CONF, after: '' }],
      result: { node_type: 'disabled', remote_address: '' },
    },
  },
  {
    title: 'disabled: an ha.conf that already says disabled (as sysconfd writes it) is left alone',
    plugin,
    params: { node_type: 'disabled', prefer_sysconfd: false },
    host: host({ files: files({ '/etc/xivo/ha.conf': '{"node_type": "disabled", "remote_address": ""}' }) }),
    expect: { changes: [], noop: /already match disabled/ },
  },
  {
    title: 'check mode plans the same changes and runs only the probe',
    plugin,
    params: { node_type: 'standby', remote_address: '10.77.0.11', prefer_sysconfd: false },
    check: true,
    host: host({}),
    expect: {
      changes: ['create /etc/xivo/ha.conf', `write ${PG}/pg_hba.conf`, `write ${PG}/postgresql.conf`, 'restart postgresql', 'create /etc/cron.d/xivo-ha-slave', 'create /var/lib/wazo/is-secondary'],
      commands: ['pgdir'],
      files: { '/etc/xivo/ha.conf': null },
    },
  },
  {
    title: 'without sysconfd answering, prefer_sysconfd falls back to files',
    plugin,
    params: { node_type: 'main', remote_address: '10.77.0.12' },
    check: true,
    host: host({}),
    expect: { result: { via: 'files' }, changes: ['create /etc/xivo/ha.conf', 'create /etc/cron.d/xivo-ha-master', 'create /var/lib/wazo/is-primary'] },
  },
  {
    title: 'an invalid remote_address is refused before anything runs',
    plugin,
    params: { node_type: 'main', remote_address: '10.77.0.300' },
    host: host({}),
    expect: { error: /must be a valid IPv4 address, not "10\.77\.0\.300"/, commands: [] },
  },
  {
    title: 'a host name is refused as remote_address',
    plugin,
    params: { node_type: 'standby', remote_address: 'pbx-main' },
    expect: { error: /IPv4/, commands: [] },
  },
  {
    title: 'main without remote_address is refused',
    plugin,
    params: { node_type: 'main' },
    expect: { error: /missing required key "remote_address"/, commands: [] },
  },
  {
    title: 'an unknown node_type is refused with the valid words',
    plugin,
    params: { node_type: 'primary', remote_address: '10.77.0.12' },
    expect: { error: /must be one of "main", "standby", "disabled", "master", "slave"/ },
  },
  {
    title: 'an unknown flavour host variable fails in the operator\'s words',
    plugin,
    params: { node_type: 'main', remote_address: '10.77.0.12' },
    vars: { flavour: 'asterisk' },
    expect: { error: /unknown flavour "asterisk"/, commands: [] },
  },
  {
    title: 'no PostgreSQL cluster: a clear failure',
    plugin,
    params: { node_type: 'standby', remote_address: '10.77.0.11', prefer_sysconfd: false },
    host: host({ pgdir: null }),
    expect: { error: /no PostgreSQL cluster under \/etc\/postgresql\/<version>\/main on pbx1/ },
  },
]);
