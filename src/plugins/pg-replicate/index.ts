// pg-replicate: the main's asterisk database onto the standby, as xivo-master-slave-db-replication
// does (domain.md §2), but proportional: tables whose stamps did not move are skipped (stamps.ts), the
// others are compared in the databases (decide.ts), only differing rows are copied, and everything
// lands in ONE transaction on the standby (copier.ts: replica role for the circular foreign keys,
// sequences set to the main's values), so a failure leaves the standby as it was.
import type pg from 'pg';
import { TaskFailed } from '../../core/errors.js';
import type { Change, Diff, Vars } from '../../core/types.js';
import { definePlugin, standbyFor, standbyPeer } from '../../kit/index.js';
import { flavourFor, REPLICATION_EXCLUDED } from '../../xivo/flavour.js';
import { checkSchemas, readCatalog, sequenceValues, tableSpec, type Catalog } from './compare.js';
import { Copier } from './copier.js';
import { closeDb, openDb, type DbTarget } from './db.js';
import { findDifferences, type TablePlan } from './decide.js';
import { guardProblems, nodeState } from './guards.js';
import {
  ledgerApplies, nextHistory, readLedger, readStamps, recentTables, unchangedTables, writeLedger, type Ledger, type NodeStamps,
} from './stamps.js';

export { truncatableSet } from './copier.js';

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
  verify_every: number;
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
    verify_every: {
      type: 'integer',
      minimum: 0,
      default: 3600,
      description:
        'Seconds between full comparisons. In between, a table whose PostgreSQL stamps (file node, insert/update/delete counters, columns) ' +
        'have not moved on either side since the last successful run is known equal and is not read. 0: compare every table on every run.',
    },
    max_row_copy: {
      type: 'integer',
      minimum: 1,
      default: 20000,
      description: 'Above this many differing rows in a table (or half its blocks), the table is reloaded whole instead of row by row.',
    },
  },
};


export const pgReplicate = definePlugin<PgReplicateParams>({
  name: 'pg-replicate',
  description: "Copy the main's asterisk database to the standby: only what differs, in one transaction",
  doc: [
    "Runs on the main (hosts: pbx_main) and reaches the standby through its inventory connection; both databases are reached through the nodes' SSH connections (no database port to open) unless direct is given.",
    'Each table of the public schema (the excluded ones aside) is compared first with checksums computed in the databases, per block of primary keys, on both nodes in parallel; sequences are compared too. Nothing differs: ok.',
    "Tables unchanged since the last successful run are not read: the standby keeps each table's PostgreSQL stamps (file node, insert/update/delete counters, columns) for both sides in /var/lib/haplay/pg-replicate/DATABASE.json, and a table is compared only when a stamp moved. A table the main changed by inserts and updates only (the standby untouched) is compared by the rows written since the last runs alone, found by their transaction ids and checked by row counts (a key changed in place falls back to the block compare). A restart, a statistics reset, track_counts off or another pair of nodes voids the stamps, and every table is compared again every verify_every seconds. PostgreSQL publishes a session's counters up to ~10 s after its commit: a change made in those seconds may be copied by the next run rather than this one.",
    'Otherwise one change per differing table ("copy userfeatures: 3 rows differ"), all applied in ONE transaction on the standby with session_replication_role = replica: the differing rows are deleted and copied again from the main (COPY streamed from one database to the other, in binary where no column type is specific to one install), tables without a primary key are reloaded whole, and every replicated sequence is set to the main\'s value. Any failure rolls back: the standby is left as it was.',
    'The end state is the one xivo-master-slave-db-replication produces (pg_dump --data-only of the same tables loaded after TRUNCATE), row for row. Check mode compares only and reports the tables and rows that would change; --diff lists the keys.',
    "Guards: the main's /etc/xivo/ha.conf must say master (and /var/lib/wazo/is-primary exist), the standby's slave (and is-secondary), and the standby must not be serving (asterisk running, or the disabled flag absent): its data would be lost. force: true overrides, with a warning. The two databases must have the same encoding, and the standby's must be UTF8.",
    'Registered: tables_checked, tables_unchanged (skipped by their stamps), tables_compared, tables_by_recent_rows (compared by the rows written since the last run alone), tables_differing, rows_differ {table: n}, rows_copied {table: n}, rows_copied_total, sequences_set, bytes, compare_ms, copy_ms, ms.',
  ].join('\n\n'),
  schema,
  peers: standbyPeer('standby'),
  examples: [
    { title: 'Every minute from cron (see playbooks/replicate.yml)', yaml: '- name: replicate the database\n  pg-replicate: {}\n  register: db' },
    {
      title: 'With a password and a direct connection to the standby',
      yaml: '- pg-replicate:\n    standby: pbx-standby\n    user: asterisk\n    password: !secret asterisk_db_password\n    direct: { standby: { host: 10.0.0.12, port: 5432 } }',
    },
  ],

  async plan(p, ctx) {
    const t0 = Date.now();
    const standbyName = standbyFor(ctx, p.standby, 'standby', 'replicate onto');
    if (p.password) ctx.secret(p.password);
    const fm = flavourFor(undefined, ctx.host.vars);
    const fs = flavourFor(ctx.hostvars(standbyName).flavour, ctx.host.vars);
    const standbyT = await ctx.transportFor(standbyName);

    const [mainState, standbyState, ledger] = await Promise.all([
      ctx.fact(nodeState(ctx.transport.hostName, fm, false)),
      ctx.fact(nodeState(standbyName, fs, true), standbyName),
      readLedger(standbyT, p.database),
    ]);
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
      // One connection per side; the others only when there is hashing to share out.
      const [mains, standbys] = (await Promise.all([open(mainT), open(sbT)])).map((c) => [c]);
      const [mainCat, sbCat] = await Promise.all([readCatalog(mains[0]), readCatalog(standbys[0])]);
      checkLocale(mainCat, sbCat, ctx.host.name, standbyName, p.database);
      const excluded = new Set(p.exclude);
      checkSchemas(mainCat, sbCat, ctx.host.name, standbyName, excluded);

      const tables = [...mainCat.tables.values()].filter((t) => !excluded.has(t.name));
      const seqNames = replicatedSequences(mainCat, excluded);
      const missingSeq = seqNames.filter((s) => !sbCat.sequences.has(s));
      if (missingSeq.length) {
        throw new TaskFailed(`sequences only on ${ctx.host.name} (main): ${missingSeq.join(', ')}`, undefined, 'the schemas differ: upgrade both nodes to the same version');
      }
      // Stamps before anything is hashed: a write after this moment shows in the next run's stamps.
      const [mainStamps, sbStamps] = await Promise.all([readStamps(mains[0], mainCat.tables), readStamps(standbys[0], sbCat.tables)]);
      const [mainSeq, sbSeq] = await Promise.all([sequenceValues(mains[0], seqNames), sequenceValues(standbys[0], seqNames)]);
      const who = { main: ctx.host.name, standby: standbyName };
      const applies = ledgerApplies(ledger, mainStamps, sbStamps, who, Date.now(), p.verify_every);
      const unchanged = unchangedTables(ledger, mainStamps, sbStamps, applies);
      const recent = recentTables(ledger, mainStamps, sbStamps, applies);
      const toCompare = tables.filter((t) => !unchanged.has(t.name));
      const specs = toCompare.map((t) => tableSpec(t, sbCat.tables.get(t.name)?.estimate ?? 0));
      const estimates = new Map(toCompare.map((t) => [t.name, Math.max(t.estimate, sbCat.tables.get(t.name)?.estimate ?? 0)]));
      if (toCompare.some((t) => !recent.has(t.name))) {
        const more = (t: DbTarget) => Promise.all(Array.from({ length: p.parallel - 1 }, () => open(t)));
        const [m, sb] = await Promise.all([more(mainT), more(sbT)]);
        mains.push(...m);
        standbys.push(...sb);
      }
      const { plans: differing, viaRecent } = await findDifferences({ mains, standbys, mainCat, sbCat, specs, estimates, maxRowCopy: p.max_row_copy, recent });
      const seqDiff = seqNames.filter((n) => !sameSeq(mainSeq.get(n), sbSeq.get(n)));
      const compareMs = Date.now() - t0;

      // What the standby keeps for the next run: both stamps of every table now known equal.
      const fullCompare = toCompare.length === tables.length;
      const copying = new Set(differing.map((tp) => tp.info.name));
      const nextLedger = (sbAfter?: NodeStamps): Ledger => ({
        version: 1,
        main: { host: who.main, node: mainStamps.node, history: nextHistory(ledger, mainStamps) },
        standby: { host: who.standby, node: (sbAfter ?? sbStamps).node },
        verified_at: fullCompare || !ledger ? new Date(t0).toISOString() : ledger.verified_at,
        tables: Object.fromEntries(
          tables.map((t) => {
            const sb = copying.has(t.name) ? sbAfter?.tables.get(t.name) : sbStamps.tables.get(t.name);
            return [t.name, [mainStamps.tables.get(t.name), sb]] as const;
          }).filter((e): e is readonly [string, [string, string]] => !!e[1][0] && !!e[1][1]),
        ),
      });

      const rowsDiffer = Object.fromEntries(differing.map((tp) => [tp.info.name, rowsDifferOf(tp)]));
      const result: Vars = {
        standby: standbyName,
        tables_checked: tables.length,
        tables_unchanged: unchanged.size,
        tables_compared: toCompare.length,
        tables_by_recent_rows: viaRecent,
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
        const next = nextLedger();
        // Nothing moved: the saved stamps still hold, and the standby is not written to.
        const same = (l: Ledger | null) => JSON.stringify({ ...l, main: { ...l?.main, history: undefined } });
        if (!ctx.check && same(next) !== same(ledger)) {
          await writeLedger(standbyT, p.database, next).catch((e) => ctx.warn(`the replication record could not be saved on ${standbyName}: ${(e as Error).message}`));
        }
        const how = unchanged.size ? `${unchanged.size} unchanged since the last run, ${toCompare.length} compared` : 'all compared';
        return {
          changes: [],
          result,
          noop: `${standbyName} already has the main's data (${tables.length} tables: ${how}; ${seqNames.length} sequences; ${compareMs} ms)`,
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
      const copier = new Copier({
        main: mains[0], standby: standbys[0], sbCat, tables: differing, sequences: seqNames, standbyName, ctx, t0,
        committed: (sbAfter) => writeLedger(standbyT, p.database, nextLedger(sbAfter)),
        close: closeAll,
      });
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
