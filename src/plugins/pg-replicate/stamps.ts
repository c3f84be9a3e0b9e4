// Which tables could have changed since the last successful replication, without reading them.
// Each table gets a stamp from PostgreSQL's own bookkeeping: its oid and file node (TRUNCATE, a
// rewrite or a restore change them), its cumulative insert/update/delete counters (every row written
// through SQL or COPY moves them) and its columns. The stamps of both sides are saved on the standby
// after each successful run; next run, a table whose stamps are the same on both sides is equal and is
// not hashed. Anything that could make the counters lie (a restart, a stats reset, track_counts off,
// another pair of nodes) drops the saved stamps, and every table is compared again now and then.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
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
  /** The server's clock (epoch seconds) and its oldest running transaction id when read: see recentHorizon(). */
  clock: number;
  xmin: string;
}

const SELECT_TABLES = `
  SELECT c.relname AS name, c.oid::text || '/' || c.relfilenode::text || '/' || %COUNTS% AS stamp
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  %JOINS%
  WHERE n.nspname = 'public' AND c.relkind = 'r'`;

const NODE = `
  SELECT pg_postmaster_start_time()::text || '/' || d.oid::text || '/' || coalesce(s.stats_reset::text, '-') AS node,
         current_setting('track_counts') = 'on' AS counting,
         extract(epoch FROM clock_timestamp())::float8 AS clock, txid_snapshot_xmin(txid_current_snapshot())::text AS xmin
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
  const node = await db.query<{ node: string; counting: boolean; clock: number; xmin: string }>(NODE);
  const r = await db.query<{ name: string; stamp: string }>(sql);
  const out = new Map<string, string>();
  for (const row of r.rows) {
    const info = tables.get(row.name);
    // The columns belong in the stamp: ALTER TABLE ... ADD COLUMN ... DEFAULT changes rows without counting.
    if (info) out.set(row.name, `${row.stamp}/${columnsHash(info)}`);
  }
  const n = node.rows[0];
  return { node: n?.node ?? '?', counting: n?.counting ?? false, tables: out, clock: Number(n?.clock ?? 0), xmin: n?.xmin ?? '0' };
}

function columnsHash(t: TableInfo): string {
  return createHash('sha1').update(t.columns.map((c) => `${c.name} ${c.type}`).join(',')).digest('hex').slice(0, 12);
}

/** What the standby keeps between runs: both sides' stamps for the tables found equal. */
export interface Ledger {
  version: 1;
  /** history: [server clock, oldest running transaction id] on the main at each successful run, newest last. */
  main: { host: string; node: string; history?: [number, string][] };
  standby: { host: string; node: string };
  /** When every table was last compared row by row (ISO time). */
  verified_at: string;
  /** table → [main stamp, standby stamp] */
  tables: Record<string, [string, string]>;
}

/**
 * The standby's record for one database. The name is a PostgreSQL identifier (any characters): it is
 * encoded so that it stays one file name inside the folder (`/` and `..` cannot climb out).
 */
export const ledgerPath = (database: string) =>
  `/var/lib/haplay/pg-replicate/${encodeURIComponent(database).replace(/^\./, '%2E')}.json`;

export async function readLedger(t: Transport, database: string): Promise<Ledger | null> {
  try {
    const raw = await t.readFile(ledgerPath(database));
    if (!raw) return null;
    const l = JSON.parse(raw.toString('utf8')) as Ledger;
    return wellFormed(l) ? l : null;
  } catch {
    // Unreadable or damaged: compare everything, the ledger is only a shortcut.
    return null;
  }
}

function wellFormed(l: Ledger): boolean {
  const str = (x: unknown) => typeof x === 'string';
  const side = (x: unknown) => !!x && typeof x === 'object' && str((x as Ledger['main']).host) && str((x as Ledger['main']).node);
  if (!l || l.version !== 1 || !side(l.main) || !side(l.standby) || !str(l.verified_at)) return false;
  if (!l.tables || typeof l.tables !== 'object') return false;
  const pairs = Object.values(l.tables).every((v) => Array.isArray(v) && v.length === 2 && v.every(str));
  const history = l.main.history ?? [];
  return pairs && Array.isArray(history) && history.every((h) => Array.isArray(h) && typeof h[0] === 'number' && str(h[1]));
}

export async function writeLedger(t: Transport, database: string, ledger: Ledger): Promise<void> {
  const path = ledgerPath(database);
  const dir = posix.dirname(path);
  const r = await t.exec(`mkdir -p ${quote(dir)} && chmod 700 ${quote(dir)}`);
  if (r.code !== 0) throw new Error(r.stderr.trim() || `mkdir exited ${r.code}`);
  await t.writeFile(path, JSON.stringify(ledger) + '\n', { mode: 0o600 });
}

/** Tables known equal on both sides: the ledger applies (ledgerApplies) and both stamps are unchanged. */
export function unchangedTables(ledger: Ledger | null, main: NodeStamps, standby: NodeStamps, applies: boolean): Set<string> {
  const out = new Set<string>();
  if (!applies) return out;
  for (const [name, [m, s]] of Object.entries(ledger!.tables)) {
    if (main.tables.get(name) === m && standby.tables.get(name) === s) out.add(name);
  }
  return out;
}

/** The saved stamps describe these two nodes as they run now, and the last full compare is recent. */
export function ledgerApplies(
  ledger: Ledger | null,
  main: NodeStamps,
  standby: NodeStamps,
  who: { main: string; standby: string },
  now: number,
  verifyEveryS: number,
): boolean {
  if (!ledger || !main.counting || !standby.counting) return false;
  if (ledger.main.host !== who.main || ledger.standby.host !== who.standby) return false;
  if (ledger.main.node !== main.node || ledger.standby.node !== standby.node) return false;
  const age = now - Date.parse(ledger.verified_at);
  return age >= 0 && age < verifyEveryS * 1000;
}

/** Tables the main changed by inserts and updates only, the standby not at all: table → horizon. */
export function recentTables(ledger: Ledger | null, main: NodeStamps, standby: NodeStamps, applies: boolean): Map<string, string> {
  const out = new Map<string, string>();
  const since = applies ? recentHorizon(ledger) : undefined;
  if (!since) return out;
  for (const [name, [m, s]] of Object.entries(ledger!.tables)) {
    const now = main.tables.get(name);
    if (now && now !== m && standby.tables.get(name) === s && onlyInsertsOrUpdates(m, now)) out.set(name, since);
  }
  return out;
}

// Rows changed on the main since the ledger's run carry a transaction id at least as new as the oldest
// one running then. But the counters of a transaction that committed shortly before that run may have
// been published after it (PostgreSQL 15 holds a session's counts up to ~10 s, more when it stays
// busy): its rows must be found too, so the horizon is taken from a run at least this long before.
export const HORIZON_MARGIN_S = 120;
const HISTORY = 12;

/**
 * The transaction id (32-bit, as xmin holds it) from which rows count as recent since the ledger's
 * run: the newest recorded run at least HORIZON_MARGIN_S before it. Undefined when there is none:
 * compare by blocks.
 */
export function recentHorizon(ledger: Ledger | null): string | undefined {
  const h = ledger?.main.history ?? [];
  const writtenAt = h.at(-1)?.[0];
  if (writtenAt === undefined) return undefined;
  const x = h.filter(([at]) => at <= writtenAt - HORIZON_MARGIN_S).at(-1)?.[1];
  if (x === undefined || !/^\d+$/.test(x)) return undefined;
  // Below 3 are special ids (frozen, bootstrap) that age() reports as infinitely old.
  const xid = BigInt(x) % 4294967296n;
  return String(xid < 3n ? 3n : xid);
}

export function nextHistory(ledger: Ledger | null, main: NodeStamps): [number, string][] {
  const old = ledger && ledger.main.node === main.node ? (ledger.main.history ?? []) : [];
  return [...old.filter(([at]) => at < main.clock), [main.clock, main.xmin] as [number, string]].slice(-HISTORY);
}

/** A table moved on the main by inserts and updates only (no delete, truncate, rewrite or column change). */
export function onlyInsertsOrUpdates(before: string, now: string): boolean {
  const a = before.split('/');
  const b = now.split('/');
  if (a.length !== 6 || b.length !== 6) return false;
  const [oid, node, , , del, cols] = a;
  return oid === b[0] && node === b[1] && del === b[4] && cols === b[5] && BigInt(b[2]) >= BigInt(a[2]) && BigInt(b[3]) >= BigInt(a[3]);
}
