// The standby side of the copy: BEGIN on the first change, COMMIT on the last, ROLLBACK on any failure,
// so the standby is either left as it was or holds the main's data. The main is read in one
// REPEATABLE READ snapshot, as pg_dump does.
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { TaskFailed } from '../../core/errors.js';
import type { TaskContext, Vars } from '../../core/types.js';
import { keyMatch, sequenceValues, type Catalog } from './compare.js';
import { ident } from './db.js';
import type { TablePlan } from './decide.js';
import { readStampsInTransaction, type NodeStamps } from './stamps.js';

export interface CopierSetup {
  main: pg.Client;
  standby: pg.Client;
  sbCat: Catalog;
  tables: TablePlan[];
  sequences: string[];
  standbyName: string;
  ctx: TaskContext;
  t0: number;
  /** Called once the standby committed, with the standby's stamps as of that commit. */
  committed: (standbyStamps: NodeStamps) => Promise<void>;
  close: () => Promise<unknown>;
}

export class Copier {
  private begun = false;
  private finished = false;
  private copied: Record<string, number> = {};
  private bytes = 0;
  private truncated = new Set<string>();
  private readonly tCopy = Date.now();
  private readonly onAbort = () => void this.abort();

  constructor(private s: CopierSetup) {
    s.ctx.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  async step(tp: TablePlan | undefined, last: boolean): Promise<Vars | void> {
    if (this.finished) throw new TaskFailed('the replication transaction was already ended');
    let what = 'starting the transaction';
    try {
      if (!this.begun) await this.begin();
      what = tp ? `copying table ${tp.info.name}` : 'setting the sequences';
      if (tp) await this.copyTable(tp);
      if (!last) return;
      what = 'setting the sequences';
      const sequencesSet = await this.setSequences();
      what = 'committing';
      const stamps = await readStampsInTransaction(this.s.standby, this.s.sbCat.tables);
      await this.s.standby.query('COMMIT');
      this.finished = true;
      await this.s.main.query('COMMIT').catch(() => {});
      await this.s.committed(stamps).catch((e) =>
        this.s.ctx.warn(`replicated, but the replication record could not be saved (${(e as Error).message}): the next run compares every table`),
      );
      await this.end();
      const total = Object.values(this.copied).reduce((a, b) => a + b, 0);
      return {
        rows_copied: this.copied,
        rows_copied_total: total,
        sequences_set: sequencesSet,
        bytes: this.bytes,
        copy_ms: Date.now() - this.tCopy,
        ms: Date.now() - this.s.t0,
      };
    } catch (e) {
      await this.abort();
      if (e instanceof TaskFailed) throw e;
      const msg = (e as Error).message ?? String(e);
      throw new TaskFailed(
        `replication onto ${this.s.standbyName} failed while ${what}: ${msg}; the transaction was rolled back, the standby is unchanged`,
        { table: tp?.info.name, rows_copied: {} },
        localeHint(msg),
      );
    }
  }

  private async begin(): Promise<void> {
    // One snapshot of the main for every table, as pg_dump has.
    await this.s.main.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await this.s.standby.query('BEGIN');
    this.begun = true;
    // Foreign-key triggers off for this transaction: auth_user <-> auth_tenant reference each other.
    await this.s.standby.query('SET LOCAL session_replication_role = replica');
    const whole = new Set(this.s.tables.filter((t) => t.mode === 'whole').map((t) => t.info.name));
    const truncatable = truncatableSet(whole, this.s.sbCat.references);
    if (truncatable.length) await this.s.standby.query(`TRUNCATE ${truncatable.map((n) => `public.${ident(n)}`).join(', ')}`);
    this.truncated = new Set(truncatable);
  }

  private async copyTable(tp: TablePlan): Promise<void> {
    const { spec, info } = tp;
    const { main, standby } = this.s;
    let select: string;
    if (tp.mode === 'whole') {
      if (!this.truncated.has(info.name)) await standby.query(`DELETE FROM ${spec.rel}`);
      select = `${spec.rel} (${spec.columnList})`;
    } else {
      if (tp.toDelete.length) await standby.query(`DELETE FROM ${spec.rel} WHERE ${keyMatch(spec, info, tp.toDelete)}`);
      if (!tp.toCopy.length) {
        this.copied[info.name] = 0;
        return;
      }
      select = `(SELECT ${spec.columnList} FROM ${spec.rel} WHERE ${keyMatch(spec, info, tp.toCopy)})`;
    }
    this.s.ctx.progress(`copying ${info.name}`);
    const { default: copyStreams } = await import('pg-copy-streams');
    const opts = tp.format === 'binary' ? ' WITH (FORMAT binary)' : '';
    const src = main.query(copyStreams.to(`COPY ${select} TO STDOUT${opts}`));
    const dst = standby.query(copyStreams.from(`COPY ${spec.rel} (${spec.columnList}) FROM STDIN${opts}`));
    let bytes = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        cb(null, chunk);
      },
    });
    await pipeline(src, count, dst);
    this.bytes += bytes;
    this.copied[info.name] = dst.rowCount ?? 0;
  }

  private async setSequences(): Promise<number> {
    const names = this.s.sequences;
    if (!names.length) return 0;
    const values = await sequenceValues(this.s.main, names);
    const sql = names
      .filter((n) => values.has(n))
      .map((n) => `SELECT setval('public.${ident(n).replace(/'/g, "''")}', ${values.get(n)!.value}, ${values.get(n)!.called})`)
      .join(';\n');
    if (sql) await this.s.standby.query(sql);
    return values.size;
  }

  private async abort(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    if (this.begun) {
      await Promise.race([this.s.standby.query('ROLLBACK').catch(() => {}), new Promise((r) => setTimeout(r, 3000))]);
    }
    await this.end();
  }

  private async end(): Promise<void> {
    this.s.ctx.signal.removeEventListener('abort', this.onAbort);
    await this.s.close();
  }
}

/** Tables that can be emptied with TRUNCATE: every table referencing them is emptied too. */
export function truncatableSet(whole: Set<string>, references: [string, string][]): string[] {
  const set = new Set(whole);
  for (let changed = true; changed; ) {
    changed = false;
    for (const [src, dst] of references) {
      if (set.has(dst) && !set.has(src)) {
        set.delete(dst);
        changed = true;
      }
    }
  }
  return [...set].sort();
}

function localeHint(msg: string): string | undefined {
  if (/encoding|character with byte sequence|invalid byte sequence/i.test(msg)) {
    return 'the standby database must be UTF-8: recreate it with a UTF-8 locale (createdb -l en_US.UTF-8 -O asterisk -T template0, restore, rename)';
  }
  return undefined;
}
