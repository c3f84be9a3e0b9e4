// Replication figures on the lab (best with `npm run lab -- up --profile bench`):
//   1. full first replication (standby's replicated tables emptied) with pg-replicate, against the upstream
//      method in the same run: pg_dump --data-only --schema=public with the -T exclusions on the main, the
//      TRUNCATE + dump script, psql on the standby in one transaction (ratio ≤ 1.0 wanted);
//   2. a no-change run of playbooks/replicate.yml (< 1 s wanted);
//   3. one row changed on the main, replicate.yml again (< 1 s wanted);
//   3 right after a run (the table is hashed by blocks) and, after a 130 s pause, as runs a minute apart
//   do (rows found by transaction id); 2 and 3 in-process (runPlaybook) and as whole `haplay` processes
//   (needs `npm run build`).
//   npx tsx bench/replicate.ts            (as root, lab up; takes the lab suite lock)
// The upstream pipeline runs the dump on the main and pipes the script to psql on the standby through
// the control machine (no network hop, which favours upstream).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runPlaybook } from '../src/core/run.js';
import { builtinPlugins } from '../src/plugins/index.js';
import type { RunEvent, Vars } from '../src/core/types.js';
import { REPLICATION_EXCLUDED } from '../src/xivo/flavour.js';
import { LAB_INVENTORY, REPO } from '../test/lab/config.js';
import { nsenterArgv } from '../test/lab/run.js';
import { labExec, labPsql } from '../test/helpers/lab.js';
import { readState } from '../test/lab/state.js';
import { acquireLab, releaseLab } from '../test/helpers/lab.js';

const MAIN = 'pbx-main';
const STANDBY = 'pbx-standby';

async function sh(host: string, cmd: string): Promise<string> {
  const r = await labExec(host, cmd);
  if (r.code !== 0) throw new Error(`${host}: ${cmd}: ${r.stderr}`);
  return r.stdout;
}

async function setRoles(): Promise<void> {
  await sh(MAIN, `printf '%s' '{"node_type": "master", "remote_address": "10.77.0.12"}' > /etc/xivo/ha.conf && mkdir -p /var/lib/wazo && rm -f /var/lib/wazo/is-secondary && touch /var/lib/wazo/is-primary`);
  await sh(STANDBY, `printf '%s' '{"node_type": "slave", "remote_address": "10.77.0.11"}' > /etc/xivo/ha.conf && mkdir -p /var/lib/wazo && rm -f /var/lib/wazo/is-primary && touch /var/lib/wazo/is-secondary && xivo-service stop xivo >/dev/null && xivo-service disable >/dev/null`);
}

async function haplay(playbook: string): Promise<{ ms: number; code: number; result: (task: string) => Vars }> {
  const events: RunEvent[] = [];
  const t0 = performance.now();
  const code = await runPlaybook({ playbook, plugins: builtinPlugins, inventory: LAB_INVENTORY, verbose: true }, { reporter: () => ({ event: (e) => void events.push(e), close: async () => {} }) });
  const ms = performance.now() - t0;
  const result = (task: string) => (events.filter((e) => e.type === 'host_result' && e.task === task).at(-1) as { result?: Vars } | undefined)?.result ?? {};
  return { ms, code, result };
}

/** Three runs, each after one userfeatures row changed on the main; checks one row was copied, by the expected path. */
async function oneRowRuns(run: () => Promise<{ ms: number; code: number; result: (task: string) => Vars }>, path: 'blocks' | 'recent' | 'cli'): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < 3; i++) {
    await labPsql(MAIN, `UPDATE userfeatures SET description = 'bench ${path} ${Date.now()}' WHERE id = ${100 + i}`);
    const r = await run();
    if (r.code !== 0) throw new Error(`one-row run failed (exit ${r.code})`);
    const db = r.result('copy the database (what differs)');
    if (path !== 'cli') {
      if (db.rows_copied_total !== 1) throw new Error(`one-row run copied ${db.rows_copied_total} rows`);
      const recent = (db.tables_by_recent_rows as string[]).includes('userfeatures');
      if (recent !== (path === 'recent')) throw new Error(`one-row run: expected the ${path} path`);
    }
    out.push(r.ms);
  }
  return out;
}

/** The whole `haplay` process, as cron starts it (node start-up and exit included). */
async function cli(playbook: string): Promise<{ ms: number; code: number }> {
  const t0 = performance.now();
  const code = await new Promise<number>((resolve) => {
    const p = spawn(process.execPath, [path.join(REPO, 'dist/cli/index.js'), playbook, '-i', LAB_INVENTORY], { stdio: 'ignore' });
    p.on('exit', (c) => resolve(c ?? 1));
  });
  return { ms: performance.now() - t0, code };
}

/** The upstream method (domain.md §2), timed end to end. */
async function upstream(): Promise<number> {
  const excl = REPLICATION_EXCLUDED.flatMap((t) => [`-T ${t}`, `-T ${t}_id_seq`]).join(' ');
  const t0 = performance.now();
  await sh(MAIN, [
    'cd /tmp',
    `su postgres -c "pg_dump --data-only --schema=public ${excl} asterisk -f /tmp/out_master_backup.sql" 2>/dev/null`,
    `{ echo 'SET session_replication_role = replica;'; echo 'BEGIN;'; echo "TRUNCATE $(grep '^COPY' out_master_backup.sql | cut -d' ' -f2 | paste -sd,);"; cat out_master_backup.sql; echo 'COMMIT;'; echo 'SET session_replication_role = DEFAULT;'; } > replication.sql`,
  ].join(' && '));
  const cat = [...nsenterArgv(MAIN), 'cat', '/tmp/replication.sql'];
  const psql = [...nsenterArgv(STANDBY), 'psql', '-X', '-q', '-h', '/run/postgresql', '-U', 'postgres', '-v', 'ON_ERROR_STOP=', '-d', 'asterisk', '-f', '-'];
  await new Promise<void>((resolve, reject) => {
    const a = spawn(cat[0], cat.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    const b = spawn(psql[0], psql.slice(1), { stdio: ['pipe', 'ignore', 'inherit'] });
    a.stdout.pipe(b.stdin);
    b.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql exited ${code}`))));
  });
  const ms = performance.now() - t0;
  await sh(MAIN, 'rm -f /tmp/replication.sql /tmp/out_master_backup.sql');
  return ms;
}

async function emptyStandby(): Promise<void> {
  const tables = (await labPsql(STANDBY, "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = 'public' AND relkind = 'r'"))
    .split('\n')
    .filter((t) => !REPLICATION_EXCLUDED.includes(t));
  await labPsql(STANDBY, `SET session_replication_role = replica; TRUNCATE ${tables.map((t) => `"${t}"`).join(', ')}`);
}

/** After a load, the vacuum and checkpoint it calls for, untimed: they would slow whatever is timed next. */
async function settle(): Promise<void> {
  await labPsql(STANDBY, 'VACUUM ANALYZE');
  await labPsql(STANDBY, 'CHECKPOINT');
}

async function main(): Promise<void> {
  await acquireLab();
  try {
    const state = readState();
    const profile = state?.profile ?? 'unknown';
    await setRoles();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'haplay-bench-'));
    const dbOnly = path.join(tmp, 'db.yml');
    fs.writeFileSync(dbOnly, '- hosts: pbx_main\n  tasks:\n    - name: db\n      pg-replicate: {}\n');
    const replicate = path.join(REPO, 'playbooks/replicate.yml');
    const rows = await labPsql(MAIN, `SELECT sum(n_live_tup) FILTER (WHERE relname NOT IN (${REPLICATION_EXCLUDED.map((t) => `'${t}'`).join(',')})) || ' replicated rows, ' || sum(n_live_tup) FILTER (WHERE relname IN ('cel', 'queue_log')) || ' cel+queue_log rows' FROM pg_stat_user_tables`);
    console.log(`lab profile ${profile}: ${rows}`);

    // Warm both ways once (page cache, SSH host keys), then measure.
    await haplay(replicate);

    // Three rounds, each method from the same emptied standby, alternating.
    const fulls: number[] = [];
    const ups: number[] = [];
    let copied: Vars = {};
    for (let i = 0; i < 3; i++) {
      await emptyStandby();
      const full = await haplay(dbOnly);
      if (full.code !== 0) throw new Error(`full replication failed (exit ${full.code})`);
      fulls.push(full.ms);
      copied = full.result('db');
      await settle();
      await emptyStandby();
      ups.push(await upstream());
      await settle();
    }
    // Leave the standby as pg-replicate would have it (the upstream load has the same rows).
    const again = await haplay(dbOnly);
    await settle();

    const noChange: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await haplay(replicate);
      if (r.code !== 0 || (r.result('copy the database (what differs)').rows_copied_total as number) !== 0) throw new Error('no-change run copied something');
      noChange.push(r.ms);
    }
    // One row, right after a run: no run 120 s older to take a horizon from, so the table is hashed by blocks.
    const oneRowBlocks = await oneRowRuns(() => haplay(replicate), 'blocks');
    // Then as under cron: runs a minute apart, so the rows written since are found by transaction id.
    console.log('waiting 130 s, as between cron runs, so the next runs have a horizon…');
    await new Promise((r) => setTimeout(r, 130_000));
    // The first run after the pause saves a ledger that has a run 130 s older: the runs after it use it.
    await labPsql(MAIN, `UPDATE userfeatures SET description = 'bench pause' WHERE id = 99`);
    await haplay(replicate);
    const oneRowRecent = await oneRowRuns(() => haplay(replicate), 'recent');
    // The same runs as cron starts them: a new process each time.
    const noChangeCli: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await cli(replicate);
      if (r.code !== 0) throw new Error(`haplay exited ${r.code}`);
      noChangeCli.push(r.ms);
    }
    const oneRowCli = await oneRowRuns(async () => ({ ...(await cli(replicate)), result: () => ({}) }), 'cli');
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const s = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(2)).join(', ');
    console.log(`full first replication (pg-replicate): median ${(med(fulls) / 1000).toFixed(2)} s (${s(fulls)}), ${copied.rows_copied_total} rows, ${((copied.bytes as number) / 1e6).toFixed(1)} MB (last: compare ${copied.compare_ms} ms, copy ${copied.copy_ms} ms)`);
    console.log(`upstream (pg_dump --data-only -T … | TRUNCATE + psql, one transaction): median ${(med(ups) / 1000).toFixed(2)} s (${s(ups)})`);
    console.log(`ratio pg-replicate / upstream: ${(med(fulls) / med(ups)).toFixed(2)} (per round: ${fulls.map((f, i) => (f / ups[i]).toFixed(2)).join(', ')}) (wanted ≤ 1.0)`);
    console.log(`after the upstream load, pg-replicate found ${again.result('db').rows_copied_total ?? 0} rows to copy`);
    console.log(`no-change replicate.yml (db + rsync): median ${med(noChange).toFixed(0)} ms (${noChange.map((x) => x.toFixed(0)).join(', ')}) (wanted < 1000)`);
    const ms = (xs: number[]) => `median ${med(xs).toFixed(0)} ms (${xs.map((x) => x.toFixed(0)).join(', ')})`;
    console.log(`one row changed, replicate.yml, right after a run (table hashed by blocks): ${ms(oneRowBlocks)} (wanted < 1000)`);
    console.log(`one row changed, replicate.yml, runs a minute apart (rows found by transaction id): ${ms(oneRowRecent)} (wanted < 1000)`);
    console.log(`whole haplay process (node dist/cli/index.js replicate.yml): no change ${ms(noChangeCli)}, one row ${ms(oneRowCli)}`);
  } finally {
    releaseLab();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    releaseLab();
    process.exit(1);
  },
);
