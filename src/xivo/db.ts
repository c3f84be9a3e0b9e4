// PostgreSQL on a host, reached through its own transport (an SSH direct-tcpip channel to
// 127.0.0.1:5432 as the host sees it), so no database port is ever opened to the network.
// Shared by the HA plugins (sip-expiry) and the replication plugins.
//
//   const rows = await withDb(ctx.transport, dbOptionsOf(params), async (db) =>
//     (await db.query('SELECT ...', [x])).rows);
//
// Every call runs inside one transaction (BEGIN ... COMMIT, ROLLBACK on any error).
import type { Duplex } from 'node:stream';
import type pg from 'pg';
import { TaskFailed, isHaplayError } from '../core/errors.js';
import type { Transport } from '../core/types.js';

export interface DbOptions {
  user: string;
  password?: string;
  database: string;
  /** As the host sees it; default 127.0.0.1. */
  host?: string;
  port?: number;
  /** Milliseconds for the connection and for each statement; default 15000. */
  timeoutMs?: number;
  /** READ ONLY transaction (plan-time reads). */
  readOnly?: boolean;
  /** Server settings for the session, sent at login (no extra round trip). */
  settings?: Record<string, string>;
  /** Statement timeout when it differs from timeoutMs; 0: none. */
  statementTimeoutMs?: number;
}

/** The startup `options` string: -c name=value, spaces and backslashes escaped as the server expects. */
export function startupOptions(settings: Record<string, string> = {}): string | undefined {
  const parts = Object.entries(settings).map(([k, v]) => `-c ${k}=${v.replace(/[\\ ]/g, '\\$&')}`);
  return parts.length ? parts.join(' ') : undefined;
}

/** The params every DB-using plugin accepts, with the asterisk database defaults (JSON Schema properties). */
export const dbSchemaProperties = {
  db_user: { type: 'string', minLength: 1, default: 'asterisk', description: 'PostgreSQL user (the asterisk database owner).' },
  db_password: {
    type: 'string',
    description:
      'PostgreSQL password, when the server asks for one (a real XiVO: "proformatique"; the lab trusts local TCP). Keep it out of playbooks: `db_password: !secret ...` masks it in every output.',
  },
  db_name: { type: 'string', minLength: 1, default: 'asterisk', description: 'Database holding the PBX configuration.' },
  db_port: { type: 'integer', minimum: 1, maximum: 65535, default: 5432, description: 'PostgreSQL port on the host (reached through the SSH connection).' },
} as const;

export interface DbParams {
  db_user: string;
  db_password?: string;
  db_name: string;
  db_port: number;
}

export function dbOptionsOf(p: DbParams, extra: Partial<DbOptions> = {}): DbOptions {
  return { user: p.db_user, password: p.db_password, database: p.db_name, port: p.db_port, ...extra };
}

/** The part of pg.Client a plugin needs. */
export type Db = Pick<pg.Client, 'query'>;

/** pg wants a net.Socket it can connect(); a tunnel is already connected, so it gets a socket-like face. */
export function socketLike(stream: Duplex): Duplex {
  const s = stream as Duplex & Record<string, unknown>;
  s.setNoDelay = () => s;
  s.setKeepAlive = () => s;
  s.connect = () => {
    process.nextTick(() => s.emit('connect'));
    return s;
  };
  return s;
}

/** Opens a client over the host's transport. The caller ends it. */
export async function connectDb(transport: Transport, o: DbOptions): Promise<pg.Client> {
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? 5432;
  const where = `PostgreSQL on ${transport.hostName} (${host}:${port} through the SSH connection)`;
  let stream: Duplex;
  try {
    stream = await transport.openTcp(host, port);
  } catch (e) {
    if (isHaplayError(e) && e.code !== 'E_TASK_FAILED') throw e;
    throw new TaskFailed(`cannot reach ${where}: ${(e as Error).message}`, undefined, 'is PostgreSQL running? (systemctl status postgresql)');
  }
  // Loaded on first use: most runs never open a database, and pg costs ~30 ms to import.
  const { default: pgLib } = await import('pg');
  const client = new pgLib.Client({
    user: o.user,
    password: o.password,
    database: o.database,
    host,
    port,
    stream: () => socketLike(stream),
    connectionTimeoutMillis: o.timeoutMs ?? 15000,
    statement_timeout: o.statementTimeoutMs ?? o.timeoutMs ?? 15000,
    options: startupOptions(o.settings),
    application_name: 'haplay',
  } as pg.ClientConfig);
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    stream.destroy();
    const msg = (e as Error).message;
    const auth = /password|authentication/i.test(msg);
    throw new TaskFailed(
      `cannot log in to ${where} as ${o.user} on database ${o.database}: ${msg}`,
      undefined,
      auth ? 'give db_password (XiVO default: proformatique), kept secret with !secret' : undefined,
    );
  }
  return client;
}

/** Runs fn inside one transaction on a fresh connection; commits, or rolls back on any error. */
export async function withDb<T>(transport: Transport, o: DbOptions, fn: (db: Db) => Promise<T>): Promise<T> {
  const client = await connectDb(transport, o);
  try {
    await client.query(o.readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
    try {
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      if (isHaplayError(e)) throw e;
      throw new TaskFailed(`database ${o.database} on ${transport.hostName}: ${(e as Error).message}`);
    }
  } finally {
    await client.end().catch(() => {});
  }
}
