// The two databases pg-replicate works on: through the node's SSH connection (ha/db.ts, shared with
// the HA plugins), or directly from the control machine when asked. Sessions get the same output
// settings on both sides, so equal rows hash equal.
import type pg from 'pg';
import { connectDb, startupOptions } from '../../xivo/db.js';
import { TaskFailed } from '../../core/errors.js';
import type { Transport } from '../../core/types.js';

export interface DbTarget {
  /** Inventory name, for messages. */
  host: string;
  transport: Transport;
  database: string;
  user: string;
  password?: string;
  /** PostgreSQL's port as the host sees it (tunnelled). */
  port: number;
  /** Connect straight from the control machine instead of through the SSH connection. */
  direct?: { host: string; port: number };
}

// Row texts are hashed on both sides: the same output settings make equal rows hash equal.
const SESSION: Record<string, string> = {
  DateStyle: 'ISO,YMD',
  IntervalStyle: 'postgres',
  TimeZone: 'UTC',
  extra_float_digits: '3',
  bytea_output: 'hex',
  client_encoding: 'UTF8',
  statement_timeout: '0',
};

export async function openDb(t: DbTarget): Promise<pg.Client> {
  if (!t.direct) {
    return connectDb(t.transport, {
      user: t.user, password: t.password, database: t.database, port: t.port, timeoutMs: 15000, statementTimeoutMs: 0, settings: SESSION,
    });
  }
  const { default: pgLib } = await import('pg');
  const client = new pgLib.Client({
    user: t.user, password: t.password, database: t.database, application_name: 'haplay pg-replicate',
    host: t.direct.host, port: t.direct.port, connectionTimeoutMillis: 15000, options: startupOptions(SESSION),
  });
  // An error on an idle client must not crash haplay: it surfaces on the next query instead.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    throw new TaskFailed(
      `cannot connect to the ${t.database} database of ${t.host} at ${t.direct.host}:${t.direct.port} as ${t.user}: ${(e as Error).message}`,
      undefined,
      'check that PostgreSQL listens there and its pg_hba.conf lets the control machine in, or drop direct to go through SSH',
    );
  }
  return client;
}

export async function closeDb(c: pg.Client | undefined): Promise<void> {
  if (!c) return;
  await Promise.race([c.end().catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
}

export const ident = (name: string) => '"' + name.replace(/"/g, '""') + '"';
export const literal = (s: string) => (s.includes('\\') ? `E'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'` : `'${s.replace(/'/g, "''")}'`);
/** A PostgreSQL array literal of text elements, as a SQL string literal. */
export const arrayLiteral = (items: string[]) => literal('{' + items.map((k) => '"' + k.replace(/[\\"]/g, '\\$&') + '"').join(',') + '}');
