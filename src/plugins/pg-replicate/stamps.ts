// Which tables could have changed since the last successful replication, without reading them.
// Each table gets a stamp from PostgreSQL's own bookkeeping: its oid and file node (TRUNCATE, a
// rewrite or a restore change them), its cumulative insert/update/delete counters (every row written
// through SQL or COPY moves them) and its columns. The stamps of both sides are saved on the standby
// after each successful run; next run, a table whose stamps are the same on both sides is equal and is
// not hashed. Anything that could make the counters lie (a restart, a stats reset, track_counts off,
// another pair of nodes) drops the saved stamps, and every table is compared again now and then.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Transport } from '../../core/types.js';
import { quote } from '../../core/shell.js';
import type { TableInfo } from './compare.js';

export interface NodeStamps {
  /** Postmaster start, database oid and stats reset time: any change voids the counters. */
  node: string;
  /** Counters are only meaningful with track_counts on. */
  counting: boolean;
  tables: Map<string, string>;
}

const SELECT_TABLES = `
  SELECT c.relname AS name, c.oid::text || '/' || c.relfilenode::text || '/' || %COUNTS% AS stamp
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  %JOINS%
  WHERE n.nspname = 'public' AND c.relkind = 'r'`;

const NODE = `
  SELECT pg_postmaster_start_time()::text || '/' || d.oid::text || '/' || coalesce(s.stats_reset::text, '-') AS node,
         current_setting('track_counts') = 'on' AS counting
  FROM pg_database d LEFT JOIN pg_stat_database s ON s.datid = d.oid WHERE d.datname = current_database()`;

/** The stamps as every other session sees them now. */
export async function readStamps(db: pg.Client, tables: Map<string, TableInfo>): Promise<NodeStamps> {
  const counts = `coalesce(s.n_tup_ins, 0) || '/' || coalesce(s.n_tup_upd, 0) || '/' || coalesce(s.n_tup_del, 0)`;
  const sql = SELECT_TABLES.replace('%COUNTS%', counts).replace('%JOINS%', 'LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid');
  return collect(db, sql, tables);
}

/**
 * Inside the standby's replication transaction, just before COMMIT: what the stamps will be once this
 * transaction's own counts are published (committed counts + this transaction's). Another writer
 * meanwhile only makes the real counters larger, so a later run compares that table: the safe side.
 */
export async function readStampsInTransaction(db: pg.Client, tables: Map<string, TableInfo>): Promise<NodeStamps> {
  const sum = (col: string) => `(coalesce(s.${col}, 0) + coalesce(x.${col}, 0))`;
  const counts = `${sum('n_tup_ins')} || '/' || ${sum('n_tup_upd')} || '/' || ${sum('n_tup_del')}`;
  const joins = 'LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid LEFT JOIN pg_stat_xact_user_tables x ON x.relid = c.oid';
  return collect(db, SELECT_TABLES.replace('%COUNTS%', counts).replace('%JOINS%', joins), tables);
}

async function collect(db: pg.Client, sql: string, tables: Map<string, TableInfo>): Promise<NodeStamps> {
  const node = await db.query<{ node: string; counting: boolean }>(NODE);
  const r = await db.query<{ name: string; stamp: string }>(sql);
  const out = new Map<string, string>();
  for (const row of r.rows) {
    const info = tables.get(row.name);
    // The columns belong in the stamp: ALTER TABLE ... ADD COLUMN ... DEFAULT changes rows without counting.
    if (info) out.set(row.name, `${row.stamp}/${columnsHash(info)}`);
  }
  return { node: node.rows[0]?.node ?? '?', counting: node.rows[0]?.counting ?? false, tables: out };
}

function columnsHash(t: TableInfo): string {
  return createHash('sha1').update(t.columns.map((c) => `${c.name} ${c.type}`).join(',')).digest('hex').slice(0, 12);
}

/** What the standby keeps between runs: both sides' stamps for the tables found equal. */
export interface Ledger {
  version: 1;
  main: { host: string; node: string };
  standby: { host: string; node: string };
  /** When every table was last compared row by row (ISO time). */
  verified_at: string;
  /** table → [main stamp, standby stamp] */
  tables: Record<string, [string, string]>;
}

export const ledgerPath = (database: string) => `/var/lib/haplay/pg-replicate/${database}.json`;

export async function readLedger(t: Transport, database: string): Promise<Ledger | null> {
  try {
    const raw = await t.readFile(ledgerPath(database));
    if (!raw) return null;
    const l = JSON.parse(raw.toString('utf8')) as Ledger;
    return l.version === 1 && l.tables && typeof l.tables === 'object' ? l : null;
  } catch {
    // Unreadable or damaged: compare everything, the ledger is only a shortcut.
    return null;
  }
}

export async function writeLedger(t: Transport, database: string, ledger: Ledger): Promise<void> {
  const path = ledgerPath(database);
  const dir = path.slice(0, path.lastIndexOf('/'));
  const r = await t.exec(`mkdir -p ${quote(dir)} && chmod 700 ${quote(dir)}`);
  if (r.code !== 0) throw new Error(r.stderr.trim() || `mkdir exited ${r.code}`);
  await t.writeFile(path, JSON.stringify(ledger) + '\n', { mode: 0o600 });
}

/** Tables known equal on both sides: the ledger fits these nodes and both stamps are unchanged. */
export function unchangedTables(
  ledger: Ledger | null,
  main: NodeStamps,
  standby: NodeStamps,
  who: { main: string; standby: string },
  now: number,
  verifyEveryS: number,
): Set<string> {
  const out = new Set<string>();
  if (!ledger || !main.counting || !standby.counting) return out;
  if (ledger.main.host !== who.main || ledger.standby.host !== who.standby) return out;
  if (ledger.main.node !== main.node || ledger.standby.node !== standby.node) return out;
  const age = now - Date.parse(ledger.verified_at);
  if (!(age >= 0 && age < verifyEveryS * 1000)) return out;
  for (const [name, [m, s]] of Object.entries(ledger.tables)) {
    if (main.tables.get(name) === m && standby.tables.get(name) === s) out.add(name);
  }
  return out;
}
