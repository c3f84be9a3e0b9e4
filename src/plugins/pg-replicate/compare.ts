// What differs between the main's and the standby's databases, computed in the databases: per table,
// rows are grouped in blocks (integer keys: ranges of 512 ids; other keys: hash buckets of ~512 rows)
// and each block reduced to (row count, sum of 64-bit row hashes). Only blocks that differ are read
// row by row (key + hash), so the cost of a few changed rows is a few blocks, not the table.
import type pg from 'pg';
import { TaskFailed } from '../../core/errors.js';
import { arrayLiteral, ident, literal } from './db.js';

export interface Column {
  name: string;
  type: string;
  /** Its binary COPY form holds no cluster-specific oid: a built-in type, or an enum (sent by label). Arrays and
   *  composites of other types carry their element oids, which differ between two installs. */
  binarySafe?: boolean;
}

export interface TableInfo {
  name: string;
  columns: Column[];
  /** Primary key columns, in key order; empty when the table has none. */
  pk: string[];
  /** Planner estimate of the row count (0 when never analysed). */
  estimate: number;
}

export interface Catalog {
  encoding: string;
  collate: string;
  tables: Map<string, TableInfo>;
  /** Sequence name → owning table (null when owned by none). */
  sequences: Map<string, string | null>;
  /** [referencing table, referenced table] for every foreign key between public tables. */
  references: [string, string][];
}

export async function readCatalog(db: pg.Client): Promise<Catalog> {
  // One after the other: a pg client runs one query at a time.
  const enc = await db.query<{ enc: string; collate: string }>(
      'SELECT pg_encoding_to_char(encoding) AS enc, datcollate AS collate FROM pg_database WHERE datname = current_database()',
    );
  const tables = await db.query<{ name: string; cols: Column[]; pk: string[] | null; est: string }>(`
      SELECT c.relname AS name,
        (SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                   'binarySafe', a.atttypid < 16384 OR ty.typtype = 'e') ORDER BY a.attnum)
           FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '') AS cols,
        (SELECT json_agg(a.attname ORDER BY k.ord) FROM pg_index i
           CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          WHERE i.indrelid = c.oid AND i.indisprimary) AS pk,
        (CASE WHEN c.reltuples > 0 THEN c.reltuples ELSE c.relpages * 100 END)::bigint AS est
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname`);
  const seqs = await db.query<{ name: string; owner: string | null }>(`
      SELECT s.relname AS name, t.relname AS owner
      FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace
      LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
      LEFT JOIN pg_class t ON t.oid = d.refobjid
      WHERE n.nspname = 'public' AND s.relkind = 'S' ORDER BY s.relname`);
  const refs = await db.query<{ src: string; dst: string }>(`
      SELECT r.relname AS src, f.relname AS dst FROM pg_constraint k
      JOIN pg_class r ON r.oid = k.conrelid JOIN pg_class f ON f.oid = k.confrelid
      JOIN pg_namespace rn ON rn.oid = r.relnamespace JOIN pg_namespace fn ON fn.oid = f.relnamespace
      WHERE k.contype = 'f' AND rn.nspname = 'public' AND fn.nspname = 'public'`);
  return {
    encoding: enc.rows[0]?.enc ?? 'unknown',
    collate: enc.rows[0]?.collate ?? 'unknown',
    tables: new Map(tables.rows.map((r) => [r.name, { name: r.name, columns: r.cols ?? [], pk: r.pk ?? [], estimate: Number(r.est) }])),
    sequences: new Map(seqs.rows.map((r) => [r.name, r.owner])),
    references: refs.rows.map((r) => [r.src, r.dst]),
  };
}

const INT_TYPES = new Set(['smallint', 'integer', 'bigint']);
const BLOCK_ROWS = 512;

/** How one table is hashed, matched and copied: the same SQL on both sides. */
export interface TableSpec {
  name: string;
  /** `public."name"` */
  rel: string;
  columnList: string;
  kind: 'int' | 'single' | 'composite' | 'none';
  keyText: string;
  bucket: string;
  rowHash: string;
}

export function tableSpec(main: TableInfo, standbyEstimate: number): TableSpec {
  const cols = main.columns.map((c) => ident(c.name));
  const columnList = cols.join(', ');
  const rowHash = `('x' || left(md5(ROW(${columnList})::text), 16))::bit(64)::bigint`;
  const rel = `public.${ident(main.name)}`;
  const pkTypes = main.pk.map((k) => main.columns.find((c) => c.name === k)?.type ?? '');
  const buckets = Math.min(100000, Math.max(1, Math.ceil(Math.max(main.estimate, standbyEstimate) / BLOCK_ROWS)));
  if (main.pk.length === 0) return { name: main.name, rel, columnList, kind: 'none', keyText: 'NULL', bucket: '0', rowHash };
  if (main.pk.length === 1 && INT_TYPES.has(pkTypes[0])) {
    const k = ident(main.pk[0]);
    // >> 9 is a floor division by 512, negative ids included: blocks are id ranges an index can serve.
    return { name: main.name, rel, columnList, kind: 'int', keyText: `${k}::text`, bucket: `(${k}::bigint >> 9)`, rowHash };
  }
  const keyText = main.pk.length === 1 ? `${ident(main.pk[0])}::text` : `ROW(${main.pk.map(ident).join(', ')})::text`;
  return {
    name: main.name,
    rel,
    columnList,
    kind: main.pk.length === 1 ? 'single' : 'composite',
    keyText,
    bucket: `((hashtext(${keyText}) & 2147483647) % ${buckets})`,
    rowHash,
  };
}

/** SQL matching the rows whose keys are given (text forms, as keyText produces them). */
export function keyMatch(spec: TableSpec, info: TableInfo, keys: string[]): string {
  if (spec.kind === 'int') return `${ident(info.pk[0])} = ANY(${arrayLiteral(keys)}::bigint[])`;
  if (spec.kind === 'single') {
    const type = info.columns.find((c) => c.name === info.pk[0])!.type;
    return `${ident(info.pk[0])} = ANY(${arrayLiteral(keys)}::${type}[])`;
  }
  return `${spec.keyText} = ANY(${arrayLiteral(keys)}::text[])`;
}

export interface Block {
  rows: number;
  sum: string;
}

/** Per table, per block: row count and hash sum. One round trip per connection for every table. */
export async function blockHashes(dbs: pg.Client[], specs: TableSpec[], estimates: Map<string, number>): Promise<Map<string, Map<string, Block>>> {
  const out = new Map<string, Map<string, Block>>(specs.map((s) => [s.name, new Map()]));
  if (!specs.length) return out;
  // Spread the tables over the connections, biggest first, so each side hashes in parallel.
  const groups: TableSpec[][] = dbs.map(() => []);
  const load = dbs.map(() => 0);
  for (const s of [...specs].sort((a, b) => (estimates.get(b.name) ?? 0) - (estimates.get(a.name) ?? 0))) {
    const i = load.indexOf(Math.min(...load));
    groups[i].push(s);
    load[i] += (estimates.get(s.name) ?? 0) + 100;
  }
  await Promise.all(
    groups.map(async (g, i) => {
      if (!g.length) return;
      const sql = g
        .map((s) => `SELECT ${literal(s.name)} AS t, ${s.bucket}::text AS b, count(*) AS n, sum(${s.rowHash})::text AS s FROM ${s.rel} GROUP BY 2`)
        .join('\nUNION ALL\n');
      const r = await dbs[i].query<{ t: string; b: string; n: string; s: string }>(sql);
      for (const row of r.rows) out.get(row.t)!.set(row.b, { rows: Number(row.n), sum: row.s });
    }),
  );
  return out;
}

/** Blocks whose count or hash differ (or exist on one side only). */
export function differingBlocks(a: Map<string, Block>, b: Map<string, Block>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => {
    const x = a.get(k);
    const y = b.get(k);
    return !x || !y || x.rows !== y.rows || x.sum !== y.sum;
  });
}

/** key → row hash, for the rows of the given blocks. */
export async function rowHashes(db: pg.Client, spec: TableSpec, info: TableInfo, blocks: string[]): Promise<Map<string, string>> {
  let where = `${spec.bucket} = ANY(${arrayLiteral(blocks)}::bigint[])`;
  if (spec.kind === 'int') {
    // A range the primary key index can serve, then the exact blocks.
    const nums = blocks.map(BigInt);
    const lo = nums.reduce((m, x) => (x < m ? x : m)) << 9n;
    const hi = (nums.reduce((m, x) => (x > m ? x : m)) + 1n) << 9n;
    where = `${ident(info.pk[0])} >= ${lo} AND ${ident(info.pk[0])} < ${hi} AND ${where}`;
  }
  return rowHashesWhere(db, spec, where);
}

/** key → row hash, for the rows of the given keys. */
export function rowHashesByKey(db: pg.Client, spec: TableSpec, info: TableInfo, keys: string[]): Promise<Map<string, string>> {
  return rowHashesWhere(db, spec, keyMatch(spec, info, keys));
}

/** key → row hash, for the rows matching `where` (at most `limit` of them). */
export async function rowHashesWhere(db: pg.Client, spec: TableSpec, where: string, limit?: number): Promise<Map<string, string>> {
  const r = await db.query<{ k: string; h: string }>(
    `SELECT ${spec.keyText} AS k, ${spec.rowHash}::text AS h FROM ${spec.rel} WHERE ${where}${limit === undefined ? '' : ` LIMIT ${limit}`}`,
  );
  return new Map(r.rows.map((x) => [x.k, x.h]));
}

export interface SequenceValue {
  value: string;
  called: boolean;
}

export async function sequenceValues(db: pg.Client, names: string[]): Promise<Map<string, SequenceValue>> {
  if (!names.length) return new Map();
  const sql = names.map((n) => `SELECT ${literal(n)} AS n, last_value::text AS v, is_called AS c FROM public.${ident(n)}`).join('\nUNION ALL\n');
  const r = await db.query<{ n: string; v: string; c: boolean }>(sql);
  return new Map(r.rows.map((x) => [x.n, { value: x.v, called: x.c }]));
}

/** Same tables, same columns and types on both sides (excluded tables aside), or a clear failure. */
export function checkSchemas(main: Catalog, standby: Catalog, mainHost: string, standbyHost: string, excluded: Set<string>): void {
  const onlyMain = [...main.tables.keys()].filter((t) => !excluded.has(t) && !standby.tables.has(t));
  const onlyStandby = [...standby.tables.keys()].filter((t) => !excluded.has(t) && !main.tables.has(t));
  const hint = 'the schemas differ: upgrade both nodes to the same version (same database migrations), then replicate';
  if (onlyMain.length || onlyStandby.length) {
    const parts = [
      onlyMain.length ? `only on ${mainHost} (main): ${onlyMain.join(', ')}` : '',
      onlyStandby.length ? `only on ${standbyHost} (standby): ${onlyStandby.join(', ')}` : '',
    ].filter(Boolean);
    throw new TaskFailed(`tables differ between the main and the standby: ${parts.join('; ')}`, { only_main: onlyMain, only_standby: onlyStandby }, hint);
  }
  for (const [name, t] of main.tables) {
    if (excluded.has(name)) continue;
    const s = standby.tables.get(name)!;
    const a = t.columns.map((c) => `${c.name} ${c.type}`).sort().join(', ');
    const b = s.columns.map((c) => `${c.name} ${c.type}`).sort().join(', ');
    if (a !== b) {
      throw new TaskFailed(`table ${name} has different columns on the main (${a}) and on the standby (${b})`, { table: name }, hint);
    }
  }
}
