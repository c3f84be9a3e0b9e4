// pg-replicate: the main's asterisk database onto the standby, as xivo-master-slave-db-replication
// does (domain.md §2), but proportional: both databases hash their tables in blocks, only differing
// rows are copied, and everything lands in ONE transaction on the standby (replica role for the
// circular foreign keys, sequences set to the main's values), so a failure leaves the standby as it was.
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { TaskFailed } from '../../core/errors.js';
import type { Change, Diff, TaskContext, Vars } from '../../core/types.js';
import { definePlugin } from '../define.js';
import { flavourFor, REPLICATION_EXCLUDED } from '../ha/flavour.js';
import {
  blockHashes, checkSchemas, differingBlocks, keyMatch, readCatalog, rowHashes, sequenceValues, tableSpec,
  type Catalog, type TableInfo, type TableSpec,
} from './compare.js';
import { closeDb, ident, openDb, type DbTarget } from './db.js';
import { guardProblems, probeNode } from './guards.js';

export interface Endpoint {
  host: string;
  port: number;
}

export interface PgReplicateParams {
  standby?: string;
  exclude: string[];
  database: string;
  user: string;
  password?: string;
  port: number;
  direct?: { main?: Endpoint; standby?: Endpoint };
  force: boolean;
  parallel: number;
  max_row_copy: number;
}

const endpoint = {
  type: 'object',
  additionalProperties: false,
  required: ['host', 'port'],
  properties: { host: { type: 'string', minLength: 1 }, port: { type: 'integer', minimum: 1, maximum: 65535 } },
};

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    standby: { type: 'string', minLength: 1, description: 'Inventory name of the standby to copy onto. Default: the first host of group pbx_standby.' },
    exclude: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      default: [...REPLICATION_EXCLUDED],
      description:
        'Tables never copied, each with its sequence (<table>_id_seq and any sequence the table owns). Default: the documented set ' +
        '(network and support configuration, call logs, CEL, DHCP, mail, sessions, call-center statistics, queue log), the same for xivo and wazo.',
    },
    database: { type: 'string', minLength: 1, default: 'asterisk', description: 'Database to copy (its public schema).' },
    user: { type: 'string', minLength: 1, default: 'postgres', description: 'PostgreSQL user on both nodes.' },
    password: { type: 'string', description: 'Its password, when 127.0.0.1 is not trusted (write it as !secret).' },
    port: { type: 'integer', minimum: 1, maximum: 65535, default: 5432, description: "PostgreSQL's port as each node sees it (reached through the node's SSH connection)." },
    direct: {
      type: 'object',
      additionalProperties: false,
      properties: { main: endpoint, standby: endpoint },
      description: 'Connect to a database directly from the control machine instead of through SSH: { main: {host, port}, standby: {host, port} } (either or both).',
    },
    force: {
      type: 'boolean',
      default: false,
      description: 'Replicate even when the roles are wrong or the standby is serving. Its changes are then lost; a warning says so.',
    },
    parallel: { type: 'integer', minimum: 1, maximum: 8, default: 2, description: 'Connections per node used to hash tables in parallel.' },
    max_row_copy: {
      type: 'integer',
      minimum: 1,
      default: 20000,
      description: 'Above this many differing rows in a table (or half its blocks), the table is reloaded whole instead of row by row.',
    },
  },
};

interface TablePlan {
  info: TableInfo;
  spec: TableSpec;
  mode: 'whole' | 'rows';
  toDelete: string[];
  toCopy: string[];
  counts: { inserted: number; updated: number; deleted: number; mainRows: number; standbyRows: number };
  why?: string;
}

export const pgReplicate = definePlugin<PgReplicateParams>({
  name: 'pg-replicate',
  description: "Copy the main's asterisk database to the standby: only what differs, in one transaction",
  doc: [
    "Runs on the main (hosts: pbx_main) and reaches the standby through its inventory connection; both databases are reached through the nodes' SSH connections (no database port to open) unless direct is given.",
    'Each table of the public schema (the excluded ones aside) is compared first with checksums computed in the databases, per block of primary keys, on both nodes in parallel; sequences are compared too. Nothing differs: ok. Otherwise one change per differing table ("copy userfeatures: 3 rows differ"), all applied in ONE transaction on the standby with session_replication_role = replica: the differing rows are deleted and copied again from the main (COPY streamed from one database to the other), tables without a primary key are reloaded whole, and every replicated sequence is set to the main\'s value. Any failure rolls back: the standby is left as it was.',
    'The end state is the one xivo-master-slave-db-replication produces (pg_dump --data-only of the same tables loaded after TRUNCATE), row for row. Check mode compares only and reports the tables and rows that would change; --diff lists the keys.',
    "Guards: the main's /etc/xivo/ha.conf must say master (and /var/lib/wazo/is-primary exist), the standby's slave (and is-secondary), and the standby must not be serving (asterisk running, or the disabled flag absent): its data would be lost. force: true overrides, with a warning. The two databases must have the same encoding, and the standby's must be UTF8.",
    'Registered: tables_checked, tables_differing, rows_differ {table: n}, rows_copied {table: n}, rows_copied_total, sequences_set, bytes, compare_ms, copy_ms, ms.',
  ].join('\n\n'),
  schema,
  examples: [
    { title: 'Every minute from cron (see playbooks/replicate.yml)', yaml: '- name: replicate the database\n  pg-replicate: {}\n  register: db' },
    {
      title: 'With a password and a direct connection to the standby',
      yaml: '- pg-replicate:\n    standby: pbx-standby\n    user: asterisk\n    password: !secret asterisk_db_password\n    direct: { standby: { host: 10.0.0.12, port: 5432 } }',
    },
  ],

  async plan(p, ctx) {
    const t0 = Date.now();
    const standbyName = p.standby ?? ctx.groups.pbx_standby?.[0];
    if (!standbyName) {
      throw new TaskFailed('no standby to replicate onto', undefined, 'give standby: NAME or put the standby in inventory group pbx_standby');
    }
    if (standbyName === ctx.host.name) throw new TaskFailed(`${standbyName} cannot replicate onto itself`, undefined, 'run the task on the main (hosts: pbx_main)');
    if (p.password) ctx.secret(p.password);
    const fm = flavourFor(undefined, ctx.host.vars);
    const fs = flavourFor(ctx.hostvars(standbyName).flavour, ctx.host.vars);
    const standbyT = await ctx.transportFor(standbyName);

    const [mainState, standbyState] = await Promise.all([probeNode(ctx.transport, fm, false), probeNode(standbyT, fs, true)]);
    const problems = guardProblems(mainState, standbyState, fm, fs);
    if (problems.length && !p.force) {
      throw new TaskFailed(
        `refusing to replicate ${ctx.host.name} → ${standbyName}: ${problems.map((x) => x.message).join('; ')}`,
        { guards: problems.map((x) => x.message) },
        [...new Set(problems.map((x) => x.hint))].join('; '),
      );
    }
    for (const x of problems) ctx.warn(`force: true: replicating anyway although ${x.message}`);

    const target = (host: string, transport = ctx.transport, direct?: Endpoint): DbTarget => ({
      host, transport, database: p.database, user: p.user, password: p.password, port: p.port, direct,
    });
    const dbs: pg.Client[] = [];
    const open = async (t: DbTarget) => {
      const c = await openDb(t);
      dbs.push(c);
      return c;
    };
    const closeAll = () => Promise.all(dbs.map(closeDb));
    let keepOpen = false;
    try {
      const mainT = target(ctx.host.name, ctx.transport, p.direct?.main);
      const sbT = target(standbyName, standbyT, p.direct?.standby);
      const mains = await Promise.all(Array.from({ length: p.parallel }, () => open(mainT)));
      const standbys = await Promise.all(Array.from({ length: p.parallel }, () => open(sbT)));
      const [mainCat, sbCat] = await Promise.all([readCatalog(mains[0]), readCatalog(standbys[0])]);
      checkLocale(mainCat, sbCat, ctx.host.name, standbyName, p.database);
      const excluded = new Set(p.exclude);
      checkSchemas(mainCat, sbCat, ctx.host.name, standbyName, excluded);

      const tables = [...mainCat.tables.values()].filter((t) => !excluded.has(t.name));
      const specs = tables.map((t) => tableSpec(t, sbCat.tables.get(t.name)?.estimate ?? 0));
      const estimates = new Map(tables.map((t) => [t.name, Math.max(t.estimate, sbCat.tables.get(t.name)?.estimate ?? 0)]));
      const seqNames = replicatedSequences(mainCat, excluded);
      const missingSeq = seqNames.filter((s) => !sbCat.sequences.has(s));
      if (missingSeq.length) {
        throw new TaskFailed(`sequences only on ${ctx.host.name} (main): ${missingSeq.join(', ')}`, undefined, 'the schemas differ: upgrade both nodes to the same version');
      }
      const [mainSeq, sbSeq] = await Promise.all([sequenceValues(mains[0], seqNames), sequenceValues(standbys[0], seqNames)]);
      const [mainBlocks, sbBlocks] = await Promise.all([blockHashes(mains, specs, estimates), blockHashes(standbys, specs, estimates)]);

      const plans: TablePlan[] = [];
      const work: ((conn: number) => Promise<void>)[] = [];
      for (const spec of specs) {
        const info = mainCat.tables.get(spec.name)!;
        const a = mainBlocks.get(spec.name)!;
        const b = sbBlocks.get(spec.name)!;
        const diff = differingBlocks(a, b);
        if (!diff.length) continue;
        const sum = (m: Map<string, { rows: number }>, keys?: string[]) =>
          (keys ?? [...m.keys()]).reduce((n, k) => n + (m.get(k)?.rows ?? 0), 0);
        const mainRows = sum(a);
        const standbyRows = sum(b);
        const tp: TablePlan = {
          info, spec, mode: 'whole', toDelete: [], toCopy: [],
          counts: { inserted: 0, updated: 0, deleted: 0, mainRows, standbyRows },
        };
        plans.push(tp);
        const allBlocks = new Set([...a.keys(), ...b.keys()]).size;
        const inDiff = Math.max(sum(a, diff), sum(b, diff));
        if (spec.kind === 'none') tp.why = 'no primary key';
        else if (standbyRows === 0 || mainRows === 0) tp.why = standbyRows === 0 ? 'empty on the standby' : 'empty on the main';
        else if (diff.length * 2 > allBlocks && allBlocks > 2) tp.why = 'most of it differs';
        else if (inDiff > p.max_row_copy * 2) tp.why = `more than ${p.max_row_copy} rows differ`;
        else {
          tp.mode = 'rows';
          work.push(async (i) => {
            const [x, y] = await Promise.all([rowHashes(mains[i], spec, info, diff), rowHashes(standbys[i], spec, info, diff)]);
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
            if (tp.toCopy.length + tp.toDelete.length > p.max_row_copy) {
              tp.mode = 'whole';
              tp.why = `more than ${p.max_row_copy} rows differ`;
            }
          });
        }
      }
      // Row-level comparisons, spread over the connections.
      await runSpread(work, p.parallel);
      // A block sum that differs while the rows are equal cannot happen; a table with no row to move is dropped.
      const differing = plans.filter((tp) => tp.mode === 'whole' || tp.toCopy.length + tp.toDelete.length > 0);
      const seqDiff = seqNames.filter((n) => !sameSeq(mainSeq.get(n), sbSeq.get(n)));
      const compareMs = Date.now() - t0;

      const rowsDiffer = Object.fromEntries(differing.map((tp) => [tp.info.name, rowsDifferOf(tp)]));
      const result: Vars = {
        standby: standbyName,
        tables_checked: specs.length,
        tables_differing: differing.map((tp) => tp.info.name),
        rows_differ: rowsDiffer,
        sequences_differing: seqDiff,
        rows_copied: {},
        rows_copied_total: 0,
        bytes: 0,
        compare_ms: compareMs,
        ms: compareMs,
      };
      if (!differing.length && !seqDiff.length) {
        return {
          changes: [],
          result,
          noop: `${standbyName} already has the main's data (${specs.length} tables and ${seqNames.length} sequences checked in ${compareMs} ms)`,
        };
      }

      const changes: Change[] = differing.map((tp) => ({
        summary: `copy ${tp.info.name}: ${summaryOf(tp)}`,
        diff: ctx.diff ? diffOf(tp) : undefined,
        apply: () => Promise.resolve(),
      }));
      if (seqDiff.length) {
        changes.push({
          summary: `set ${seqDiff.length} sequence${seqDiff.length > 1 ? 's' : ''} to the main's values: ${seqDiff.join(', ')}`,
          diff: ctx.diff
            ? {
                label: `${p.database} sequences`,
                before: seqDiff.map((n) => `${n} ${sbSeq.get(n)?.value}`).join('\n') + '\n',
                after: seqDiff.map((n) => `${n} ${mainSeq.get(n)?.value}`).join('\n') + '\n',
              }
            : undefined,
          apply: () => Promise.resolve(),
        });
      }
      if (ctx.check) return { changes, result };

      // Only the first connection of each side is kept for the copy.
      for (const c of [...mains.slice(1), ...standbys.slice(1)]) await closeDb(c);
      const copier = new Copier(mains[0], standbys[0], sbCat, differing, seqNames, standbyName, ctx, result, t0, () => closeAll());
      changes.forEach((c, i) => {
        c.apply = () => copier.step(i < differing.length ? differing[i] : undefined, i === changes.length - 1);
      });
      keepOpen = true;
      return { changes, result };
    } finally {
      if (!keepOpen) await closeAll();
    }
  },
});

/** The standby side of the copy: BEGIN on the first change, COMMIT on the last, ROLLBACK on any failure. */
class Copier {
  private begun = false;
  private finished = false;
  private copied: Record<string, number> = {};
  private bytes = 0;
  private readonly tCopy = Date.now();
  private readonly onAbort = () => void this.abort();

  constructor(
    private main: pg.Client,
    private standby: pg.Client,
    private sbCat: Catalog,
    private tables: TablePlan[],
    private sequences: string[],
    private standbyName: string,
    private ctx: TaskContext,
    private result: Vars,
    private t0: number,
    private close: () => Promise<unknown>,
  ) {
    ctx.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  async step(tp: TablePlan | undefined, last: boolean): Promise<Vars | void> {
    if (this.finished) throw new TaskFailed('the replication transaction was already ended');
    let what = tp ? `copying table ${tp.info.name}` : 'setting the sequences';
    try {
      if (!this.begun) {
        what = 'starting the transaction';
        await this.begin();
      }
      what = tp ? `copying table ${tp.info.name}` : 'setting the sequences';
      if (tp) await this.copyTable(tp);
      if (!last) return;
      what = 'setting the sequences';
      const sequencesSet = await this.setSequences();
      what = 'committing';
      await this.standby.query('COMMIT');
      await this.main.query('COMMIT').catch(() => {});
      this.finished = true;
      await this.end();
      const total = Object.values(this.copied).reduce((a, b) => a + b, 0);
      const copyMs = Date.now() - this.tCopy;
      return {
        rows_copied: this.copied,
        rows_copied_total: total,
        sequences_set: sequencesSet,
        bytes: this.bytes,
        copy_ms: copyMs,
        ms: Date.now() - this.t0,
      };
    } catch (e) {
      await this.abort();
      if (e instanceof TaskFailed) throw e;
      const msg = (e as Error).message ?? String(e);
      throw new TaskFailed(
        `replication onto ${this.standbyName} failed while ${what}: ${msg}; the transaction was rolled back, the standby is unchanged`,
        { table: tp?.info.name, rows_copied: {} },
        localeHint(msg),
      );
    }
  }

  private async begin(): Promise<void> {
    // One snapshot of the main for every table, as pg_dump has.
    await this.main.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await this.standby.query('BEGIN');
    this.begun = true;
    // Foreign-key triggers off for this transaction: auth_user <-> auth_tenant reference each other.
    await this.standby.query('SET LOCAL session_replication_role = replica');
    const whole = new Set(this.tables.filter((t) => t.mode === 'whole').map((t) => t.info.name));
    const truncatable = truncatableSet(whole, this.sbCat.references);
    if (truncatable.length) await this.standby.query(`TRUNCATE ${truncatable.map((n) => `public.${ident(n)}`).join(', ')}`);
    this.truncated = new Set(truncatable);
  }

  private truncated = new Set<string>();

  private async copyTable(tp: TablePlan): Promise<void> {
    const { spec, info } = tp;
    let select: string;
    if (tp.mode === 'whole') {
      if (!this.truncated.has(info.name)) await this.standby.query(`DELETE FROM ${spec.rel}`);
      select = `${spec.rel} (${spec.columnList})`;
    } else {
      if (tp.toDelete.length) await this.standby.query(`DELETE FROM ${spec.rel} WHERE ${keyMatch(spec, info, tp.toDelete)}`);
      if (!tp.toCopy.length) {
        this.copied[info.name] = 0;
        return;
      }
      select = `(SELECT ${spec.columnList} FROM ${spec.rel} WHERE ${keyMatch(spec, info, tp.toCopy)})`;
    }
    this.ctx.progress(`copying ${info.name}`);
    const { default: copyStreams } = await import('pg-copy-streams');
    const src = this.main.query(copyStreams.to(`COPY ${select} TO STDOUT`));
    const dst = this.standby.query(copyStreams.from(`COPY ${spec.rel} (${spec.columnList}) FROM STDIN`));
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
    if (!this.sequences.length) return 0;
    const values = await sequenceValues(this.main, this.sequences);
    const sql = this.sequences
      .filter((n) => values.has(n))
      .map((n) => `SELECT setval('public.${ident(n).replace(/'/g, "''")}', ${values.get(n)!.value}, ${values.get(n)!.called})`)
      .join(';\n');
    if (sql) await this.standby.query(sql);
    return values.size;
  }

  private async abort(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    if (this.begun) {
      await Promise.race([this.standby.query('ROLLBACK').catch(() => {}), new Promise((r) => setTimeout(r, 3000))]);
    }
    await this.end();
  }

  private async end(): Promise<void> {
    this.ctx.signal.removeEventListener('abort', this.onAbort);
    await this.close();
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

/** Sequences copied: all of public, but those of excluded tables (by owner, or named <table>_id_seq). */
export function replicatedSequences(cat: Catalog, excluded: Set<string>): string[] {
  const byName = new Set([...excluded].map((t) => `${t}_id_seq`));
  return [...cat.sequences.entries()]
    .filter(([name, owner]) => !excluded.has(name) && !byName.has(name) && !(owner && excluded.has(owner)))
    .map(([name]) => name);
}

function sameSeq(a?: { value: string; called: boolean }, b?: { value: string; called: boolean }): boolean {
  return !!a && !!b && a.value === b.value && a.called === b.called;
}

export function checkLocale(main: Catalog, standby: Catalog, mainHost: string, standbyHost: string, db: string): void {
  const fix =
    `recreate the standby's ${db} database with a UTF-8 locale: createdb -l en_US.UTF-8 -O asterisk -T template0 ${db}_utf8, ` +
    `restore a dump into it, then rename it to ${db} (Wazo troubleshooting, "PostgreSQL localization errors")`;
  if (standby.encoding !== 'UTF8') {
    throw new TaskFailed(`the ${db} database on ${standbyHost} (standby) is encoded ${standby.encoding}, not UTF8 (locale ${standby.collate})`, { encoding: standby.encoding }, fix);
  }
  if (main.encoding !== standby.encoding) {
    throw new TaskFailed(
      `the ${db} databases are encoded differently: ${main.encoding} on ${mainHost} (main), ${standby.encoding} on ${standbyHost} (standby)`,
      { encoding_main: main.encoding, encoding_standby: standby.encoding },
      fix,
    );
  }
}

function localeHint(msg: string): string | undefined {
  if (/encoding|character with byte sequence|invalid byte sequence/i.test(msg)) {
    return 'the standby database must be UTF-8: recreate it with a UTF-8 locale (createdb -l en_US.UTF-8 -O asterisk -T template0, restore, rename)';
  }
  return undefined;
}

function rowsDifferOf(tp: TablePlan): number {
  if (tp.mode === 'rows') return tp.counts.inserted + tp.counts.updated + tp.counts.deleted;
  return Math.max(tp.counts.mainRows, tp.counts.standbyRows);
}

function summaryOf(tp: TablePlan): string {
  const c = tp.counts;
  if (tp.mode === 'rows') {
    const n = c.inserted + c.updated + c.deleted;
    const parts = [c.inserted && `${c.inserted} new`, c.updated && `${c.updated} changed`, c.deleted && `${c.deleted} deleted`].filter(Boolean);
    return `${n} row${n > 1 ? 's differ' : ' differs'} (${parts.join(', ')})`;
  }
  return `whole table, ${tp.why} (${c.mainRows} rows on the main, ${c.standbyRows} on the standby)`;
}

function diffOf(tp: TablePlan): Diff {
  const cap = (keys: string[]) => {
    const shown = keys.slice(0, 50).map((k) => `${tp.info.pk.join(',') || 'row'} ${k}`);
    if (keys.length > 50) shown.push(`… and ${keys.length - 50} more`);
    return shown.length ? shown.join('\n') + '\n' : '';
  };
  if (tp.mode === 'whole') {
    return {
      label: `${tp.info.name} (whole table: ${tp.why})`,
      before: `${tp.counts.standbyRows} rows\n`,
      after: `${tp.counts.mainRows} rows\n`,
    };
  }
  return { label: `${tp.info.name}: rows replaced (before: the standby's, after: the main's)`, before: cap(tp.toDelete), after: cap(tp.toCopy) };
}

async function runSpread(work: ((conn: number) => Promise<void>)[], width: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, work.length) }, async (_, conn) => {
      while (next < work.length) await work[next++](conn);
    }),
  );
}

