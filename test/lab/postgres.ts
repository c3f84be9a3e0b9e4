// PostgreSQL 15 of the PBXs, Debian layout (pg_createcluster): built once per profile as a template
// in a throwaway namespace, then copied into each PBX's tree and given its per-host rows.
import fs from 'node:fs';
import path from 'node:path';
import { LAB_DIR, PG_VERSION, Profile, SQL_DIR } from './config.js';
import { runOk, sh } from './run.js';

export const DB_HEAD = 'a1b2c3d4e5f6';

export const PROFILES: Record<Profile, Record<string, number>> = {
  default: { users: 300, queues: 10, agents: 40, cel_rows: 5000, queue_log_rows: 3000 },
  bench: { users: 30000, queues: 100, agents: 1000, cel_rows: 2000000, queue_log_rows: 2000000 },
};

const PG_PATHS = ['etc/postgresql', 'var/lib/postgresql', 'var/log/postgresql'];

export const templateDir = (profile: Profile) => path.join(LAB_DIR, 'template', profile);

/**
 * Runs `script` in a private mount + network namespace where `tree` is mounted as the PostgreSQL
 * directories, /run is empty, and (unless `create`) the cluster is started first and stopped after.
 */
async function withPg(tree: string, script: string, create = false): Promise<void> {
  const lines = [
    'set -euo pipefail',
    'ip link set lo up',
    ...PG_PATHS.map((p) => `mount --bind ${tree}/${p} /${p}`),
    'mount -t tmpfs tmpfs /run',
    'mkdir -p /run/postgresql && chown postgres:postgres /run/postgresql && chmod 2775 /run/postgresql',
    create ? '' : `pg_ctlcluster ${PG_VERSION} main start`,
    script,
    `pg_ctlcluster ${PG_VERSION} main stop -m fast`,
  ];
  await runOk(['unshare', '--mount', '--net', '--propagation', 'private', 'bash', '-c', lines.join('\n')], { cwd: '/' });
}

const psql = (user: string, db: string, extra = '') => `psql -X -q -h /run/postgresql -U ${user} -d ${db} -v ON_ERROR_STOP=1 ${extra}`;

/** Builds the template cluster of a profile (skipped when already built). */
export async function buildTemplate(profile: Profile): Promise<string> {
  const t = templateDir(profile);
  if (fs.existsSync(path.join(t, '.done'))) return t;
  fs.rmSync(t, { recursive: true, force: true });
  for (const p of PG_PATHS) fs.mkdirSync(path.join(t, p), { recursive: true });
  await runOk(['chown', '-R', 'postgres:postgres', path.join(t, 'var/lib/postgresql'), path.join(t, 'var/log/postgresql')]);
  const vars = Object.entries({ ...PROFILES[profile] }).map(([k, v]) => `-v ${k}=${v}`).join(' ');
  const hba = [
    '# haplay lab: local and loopback connections are trusted (haplay comes through an SSH tunnel).',
    'local   all             all                                     trust',
    'host    all             all             127.0.0.1/32            trust',
    'host    all             all             ::1/128                 trust',
    '',
  ].join('\n');
  const tuning = [
    '# haplay lab: a small footprint, and speed over durability (a throwaway lab).',
    'shared_buffers = 16MB', 'max_connections = 60', 'fsync = off', 'full_page_writes = off',
    'synchronous_commit = off', 'max_wal_size = 256MB', 'dynamic_shared_memory_type = posix', '',
  ].join('\n');
  const conf = `/etc/postgresql/${PG_VERSION}/main`;
  await withPg(t, [
    `pg_createcluster --locale C.UTF-8 -p 5432 ${PG_VERSION} main >/dev/null`,
    `cat > ${conf}/pg_hba.conf <<'HBA'\n${hba}HBA`,
    `cat > ${conf}/conf.d/lab.conf <<'CONF'\n${tuning}CONF`,
    `chown postgres:postgres ${conf}/pg_hba.conf ${conf}/conf.d/lab.conf`,
    `pg_ctlcluster ${PG_VERSION} main start`,
    `${psql('postgres', 'postgres')} -c "CREATE ROLE asterisk LOGIN PASSWORD 'proformatique'"`,
    `${psql('postgres', 'postgres')} -c "CREATE DATABASE asterisk OWNER asterisk ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0"`,
    `${psql('postgres', 'asterisk')} -c 'CREATE EXTENSION "uuid-ossp"'`,
    `${psql('asterisk', 'asterisk')} -f ${SQL_DIR}/schema.sql`,
    `${psql('asterisk', 'asterisk', `${vars} -v db_head=${DB_HEAD}`)} -f ${SQL_DIR}/data.sql`,
    `${psql('postgres', 'asterisk')} -c 'CHECKPOINT'`,
  ].join('\n'), true);
  fs.writeFileSync(path.join(t, '.done'), new Date().toISOString());
  return t;
}

/** Copies the template cluster into a host tree and sets its per-host rows. */
export async function installCluster(profile: Profile, tree: string, hostname: string, address: string): Promise<void> {
  const t = templateDir(profile);
  await sh(PG_PATHS.map((p) => `mkdir -p ${tree}/${path.dirname(p)} && cp -a ${t}/${p} ${tree}/${path.dirname(p)}/`).join('\n'));
  await withPg(tree, `${psql('asterisk', 'asterisk', `-v address=${address} -v hostname=${hostname}`)} -f ${SQL_DIR}/host.sql`);
}
