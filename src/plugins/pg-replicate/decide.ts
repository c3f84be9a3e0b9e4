// Per table, what the copy must do: nothing, some rows (by key), or the whole table. Cheapest question
// first: a table empty on one side needs no hashing; the others are hashed per block on both sides in
// parallel, and only differing blocks are read row by row.
import type pg from 'pg';
import {
  blockHashes, differingBlocks, rowHashes, rowHashesByKey, rowHashesWhere, type Catalog, type TableInfo, type TableSpec,
} from './compare.js';
import { literal } from './db.js';

export interface TablePlan {
  info: TableInfo;
  spec: TableSpec;
  mode: 'whole' | 'rows';
  /** COPY format: binary is cheaper to produce and parse, used when no column carries a cluster-specific oid. */
  format: 'binary' | 'text';
  toDelete: string[];
  toCopy: string[];
  counts: { inserted: number; updated: number; deleted: number; mainRows: number; standbyRows: number };
  why?: string;
}

export interface DecideInput {
  mains: pg.Client[];
  standbys: pg.Client[];
  mainCat: Catalog;
  sbCat: Catalog;
  specs: TableSpec[];
  estimates: Map<string, number>;
  maxRowCopy: number;
  /** Tables changed on the main by inserts and updates only: table → transaction id from which rows are recent. */
  recent?: Map<string, string>;
}

/** The tables that differ, each with what to copy; viaRecent: the tables decided from their recent rows alone. */
export async function findDifferences(x: DecideInput): Promise<{ plans: TablePlan[]; viaRecent: string[] }> {
  const { mains, standbys } = x;
  const plans: TablePlan[] = [];
  const planFor = (spec: TableSpec, mode: TablePlan['mode'], mainRows: number, standbyRows: number, why?: string): TablePlan => {
    const info = x.mainCat.tables.get(spec.name)!;
    const sb = x.sbCat.tables.get(spec.name)!;
    const binary = [...info.columns, ...sb.columns].every((c) => c.binarySafe);
    return {
      info, spec, mode, format: binary ? 'binary' : 'text', toDelete: [], toCopy: [],
      counts: { inserted: 0, updated: 0, deleted: 0, mainRows, standbyRows }, why,
    };
  };

  // Changed by inserts and updates only: the rows written since the last run are found by their
  // transaction ids, so the cost follows the change, not the table.
  const specs: TableSpec[] = [];
  const viaRecent: string[] = [];
  for (const spec of x.specs) {
    const since = x.recent?.get(spec.name);
    const tp = since && spec.kind !== 'none' ? planFor(spec, 'rows', 0, 0) : undefined;
    if (tp && (await recentRows(tp, mains[0], standbys[0], since!, x.maxRowCopy))) {
      plans.push(tp);
      viaRecent.push(spec.name);
    } else specs.push(spec);
  }
  const moving = () => plans.filter((tp) => tp.mode === 'whole' || tp.toCopy.length + tp.toDelete.length > 0);
  if (!specs.length) return { plans: moving(), viaRecent };
  const [onMain, onStandby] = await Promise.all([nonEmpty(mains[0], specs), nonEmpty(standbys[0], specs)]);

  // Empty on one side: the whole table moves, counted instead of hashed.
  const mainOnly = specs.filter((s) => onMain.has(s.name) && !onStandby.has(s.name));
  const standbyOnly = specs.filter((s) => !onMain.has(s.name) && onStandby.has(s.name));
  const [mainCounts, sbCounts] = await Promise.all([rowCounts(mains[0], mainOnly), rowCounts(standbys[0], standbyOnly)]);
  for (const s of mainOnly) plans.push(planFor(s, 'whole', mainCounts.get(s.name) ?? 0, 0, 'empty on the standby'));
  for (const s of standbyOnly) plans.push(planFor(s, 'whole', 0, sbCounts.get(s.name) ?? 0, 'empty on the main'));

  const both = specs.filter((s) => onMain.has(s.name) && onStandby.has(s.name));
  const [mainBlocks, sbBlocks] = await Promise.all([blockHashes(mains, both, x.estimates), blockHashes(standbys, both, x.estimates)]);
  const work: ((conn: number) => Promise<void>)[] = [];
  for (const spec of both) {
    const a = mainBlocks.get(spec.name)!;
    const b = sbBlocks.get(spec.name)!;
    const diff = differingBlocks(a, b);
    if (!diff.length) continue;
    const sum = (m: Map<string, { rows: number }>, keys?: string[]) => (keys ?? [...m.keys()]).reduce((n, k) => n + (m.get(k)?.rows ?? 0), 0);
    const allBlocks = new Set([...a.keys(), ...b.keys()]).size;
    const inDiff = Math.max(sum(a, diff), sum(b, diff));
    let why: string | undefined;
    if (spec.kind === 'none') why = 'no primary key';
    else if (diff.length * 2 > allBlocks && allBlocks > 2) why = 'most of it differs';
    else if (inDiff > x.maxRowCopy * 2) why = `more than ${x.maxRowCopy} rows differ`;
    const tp = planFor(spec, why ? 'whole' : 'rows', sum(a), sum(b), why);
    plans.push(tp);
    if (!why) work.push((i) => compareRows(tp, mains[i], standbys[i], diff, x.maxRowCopy));
  }
  await runSpread(work, mains.length);
  // A block sum that differs while the rows are equal cannot happen; a table with no row to move is dropped.
  return { plans: moving(), viaRecent };
}

async function compareRows(tp: TablePlan, main: pg.Client, standby: pg.Client, blocks: string[], maxRowCopy: number): Promise<void> {
  const [x, y] = await Promise.all([rowHashes(main, tp.spec, tp.info, blocks), rowHashes(standby, tp.spec, tp.info, blocks)]);
  for (const [k, h] of x) {
    const o = y.get(k);
    if (o === undefined) tp.counts.inserted++;
    else if (o !== h) tp.counts.updated++;
    else continue;
    tp.toCopy.push(k);
  }
  for (const [k, h] of y) {
    const o = x.get(k);
    if (o === undefined) tp.counts.deleted++;
    else if (o === h) continue;
    tp.toDelete.push(k);
  }
  if (tp.toCopy.length + tp.toDelete.length > maxRowCopy) {
    tp.mode = 'whole';
    tp.why = `more than ${maxRowCopy} rows differ`;
  }
}

/**
 * The rows of the main written since `since` (xmin as new or newer), compared with the standby's rows
 * of the same keys. False when that cannot be trusted: too many rows, or the row counts show a key
 * that left the main without a delete (an updated primary key), which only a full compare finds.
 */
async function recentRows(tp: TablePlan, main: pg.Client, standby: pg.Client, since: string, maxRowCopy: number): Promise<boolean> {
  const { spec, info } = tp;
  const count = `SELECT count(*) AS n FROM ${spec.rel}`;
  // A write meanwhile can fool the count check only by moving the stamps again: the next run looks again.
  const [recent, sb] = await Promise.all([
    rowHashesWhere(main, spec, `age(xmin) <= age('${since}'::xid)`, maxRowCopy + 1),
    standby.query<{ n: string }>(count),
  ]);
  if (recent.size > maxRowCopy) return false;
  const mainCount = Number((await main.query<{ n: string }>(count)).rows[0].n);
  const sbCount = Number(sb.rows[0].n);
  const theirs = recent.size ? await rowHashesByKey(standby, spec, info, [...recent.keys()]) : new Map<string, string>();
  for (const [k, h] of recent) {
    const o = theirs.get(k);
    if (o === h) continue;
    if (o === undefined) tp.counts.inserted++;
    else {
      tp.counts.updated++;
      tp.toDelete.push(k);
    }
    tp.toCopy.push(k);
  }
  tp.counts.mainRows = mainCount;
  tp.counts.standbyRows = sbCount;
  return mainCount === sbCount + tp.counts.inserted;
}

/** Names of the tables holding at least one row: one index or heap page each. */
async function nonEmpty(db: pg.Client, specs: TableSpec[]): Promise<Set<string>> {
  const sql = specs.map((s) => `SELECT ${literal(s.name)} AS t WHERE EXISTS (SELECT 1 FROM ${s.rel})`).join('\nUNION ALL\n');
  const r = await db.query<{ t: string }>(sql);
  return new Set(r.rows.map((x) => x.t));
}

async function rowCounts(db: pg.Client, specs: TableSpec[]): Promise<Map<string, number>> {
  if (!specs.length) return new Map();
  const sql = specs.map((s) => `SELECT ${literal(s.name)} AS t, count(*) AS n FROM ${s.rel}`).join('\nUNION ALL\n');
  const r = await db.query<{ t: string; n: string }>(sql);
  return new Map(r.rows.map((x) => [x.t, Number(x.n)]));
}

async function runSpread(work: ((conn: number) => Promise<void>)[], width: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, work.length) }, async (_, conn) => {
      while (next < work.length) await work[next++](conn);
    }),
  );
}
