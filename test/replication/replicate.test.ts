// Replication on the lab's real PBXs: pg-replicate and rsync through haplay's own SSH connections,
// checked on what the databases and disks hold, against the upstream method too.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { runPlaybook } from '../../src/core/run.js';
import { ConnectionPool } from '../../src/core/transport/pool.js';
import type { RunEvent, Transport, Vars } from '../../src/core/types.js';
import { builtinPlugins } from '../../src/plugins/index.js';
import { REPLICATION_EXCLUDED } from '../../src/xivo/flavour.js';
import { LAB, lab, labExec, labPsql, useLab } from '../helpers/lab.js';

useLab(test);

const MAIN = 'pbx-main';
const STANDBY = 'pbx-standby';
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const REPLICATE = path.join(REPO, 'playbooks/replicate.yml');

async function setRoles(): Promise<void> {
  const m = await labExec(MAIN, `printf '%s' '{"node_type": "master", "remote_address": "${LAB.hosts[STANDBY]}"}' > /etc/xivo/ha.conf && mkdir -p /var/lib/wazo && rm -f /var/lib/wazo/is-secondary && touch /var/lib/wazo/is-primary`);
  const s = await labExec(STANDBY, `printf '%s' '{"node_type": "slave", "remote_address": "${LAB.hosts[MAIN]}"}' > /etc/xivo/ha.conf && mkdir -p /var/lib/wazo && rm -f /var/lib/wazo/is-primary && touch /var/lib/wazo/is-secondary && xivo-service stop xivo >/dev/null && xivo-service disable >/dev/null`);
  if (m.code || s.code) throw new Error(`cannot set the HA roles: ${m.stderr} ${s.stderr}`);
}

// After useLab's hook (hooks may run concurrently): the first test sets the roles.
let rolesSet: Promise<void> | undefined;
const ready = () => (rolesSet ??= setRoles());

interface Run {
  code: number;
  events: RunEvent[];
  /** Registered result of a task, by task name. */
  result(task: string): Vars;
  status(task: string): string | undefined;
  msg(task: string): string;
  warnings: string[];
}

/** Runs a playbook against the lab in-process; `cut` drops the standby's database connection at its first COPY data. */
async function haplay(playbook: string, opts: { check?: boolean; extraVars?: string[]; cut?: boolean; onEvent?: (e: RunEvent) => void } = {}): Promise<Run> {
  const events: RunEvent[] = [];
  let cutDone = false;
  const code = await runPlaybook(
    { playbook, plugins: builtinPlugins, inventory: LAB.inventory, check: opts.check, diff: true, verbose: true, extraVars: opts.extraVars ?? [] },
    {
      reporter: () => ({ event: (e) => void (events.push(e), opts.onEvent?.(e)), close: async () => {} }),
      transports: (spec) => {
        const pool = new ConnectionPool(spec);
        return {
          get: (h) => {
            const t = pool.get(h);
            if (!opts.cut || h !== STANDBY) return t;
            const openTcp = async (host: string, port: number) => {
                const d: Duplex = await t.openTcp(host, port);
                const write = d.write.bind(d) as (...a: unknown[]) => boolean;
                (d as unknown as { write: (...a: unknown[]) => boolean }).write = (...a: unknown[]) => {
                  const chunk = a[0];
                  // 'd' = CopyData: the copy into the standby has started; cut the connection there.
                  if (!cutDone && Buffer.isBuffer(chunk) && chunk[0] === 0x64) {
                    cutDone = true;
                    d.destroy(new Error('lab: standby connection cut mid-copy'));
                    return false;
                  }
                  return write(...a);
                };
                return d;
            };
            return new Proxy(t, {
              get(target, prop) {
                if (prop === 'openTcp') return openTcp;
                const v = Reflect.get(target, prop) as unknown;
                return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
              },
            }) as Transport;
          },
          closeAll: () => pool.closeAll(),
        };
      },
    },
  );
  const hr = (task: string) => events.filter((e): e is Extract<RunEvent, { type: 'host_result' }> => e.type === 'host_result' && e.task === task).at(-1);
  return {
    code,
    events,
    result: (task) => hr(task)?.result ?? {},
    status: (task) => hr(task)?.status,
    msg: (task) => hr(task)?.msg ?? '',
    warnings: events.filter((e): e is Extract<RunEvent, { type: 'warning' }> => e.type === 'warning').map((e) => e.message),
  };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'haplay-repl-'));
function playbook(name: string, yaml: string): string {
  const f = path.join(tmp, `${name}.yml`);
  fs.writeFileSync(f, yaml);
  return f;
}
const DB_ONLY = playbook('db', '- hosts: pbx_main\n  tasks:\n    - name: db\n      pg-replicate: {}\n');
const DB_FORCE = playbook('dbforce', '- hosts: pbx_main\n  tasks:\n    - name: db\n      pg-replicate: { force: true }\n');
const DB_TASK = 'copy the database (what differs)';
const FILES_TASK = 'sync the configuration directories';

async function publicTables(host: string): Promise<string[]> {
  return (await labPsql(host, "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = 'public' AND relkind = 'r' ORDER BY 1")).split('\n');
}
const replicated = async () => (await publicTables(MAIN)).filter((t) => !REPLICATION_EXCLUDED.includes(t));
const excludedPresent = async () => (await publicTables(MAIN)).filter((t) => REPLICATION_EXCLUDED.includes(t));

/** Per table: row count and a digest of the sorted row texts. */
async function snapshot(host: string, tables: string[]): Promise<Record<string, string>> {
  const sql = tables
    .map((t) => `SELECT '${t}' || ' ' || count(*) || ' ' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM public."${t}" x`)
    .join(' UNION ALL ');
  const out = await labPsql(host, `SET TimeZone = 'UTC'; ${sql}`);
  return Object.fromEntries(out.split('\n').map((l) => [l.split(' ')[0], l.split(' ').slice(1).join(' ')]));
}

async function sequences(host: string): Promise<Record<string, string>> {
  const names = (await labPsql(host, "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = 'public' AND relkind = 'S' ORDER BY 1")).split('\n');
  const keep = names.filter((n) => !REPLICATION_EXCLUDED.some((t) => n === `${t}_id_seq`));
  const out = await labPsql(host, keep.map((n) => `SELECT '${n}' || ' ' || last_value || ' ' || is_called FROM public."${n}"`).join(' UNION ALL '));
  return Object.fromEntries(out.split('\n').map((l) => [l.split(' ')[0], l.split(' ').slice(1).join(' ')]));
}

test.serial('guards: refuses while the standby is serving, and when the roles are wrong; nothing copied', async (t) => {
  await ready();
  await labPsql(MAIN, "UPDATE userfeatures SET firstname = 'guard' WHERE id = 7");
  await labExec(STANDBY, 'xivo-service enable >/dev/null; xivo-service start xivo >/dev/null');
  const before = await snapshot(STANDBY, ['userfeatures']);
  const r = await haplay(REPLICATE);
  t.is(r.code, 2);
  t.is(r.status(DB_TASK), 'failed');
  t.regex(r.msg(DB_TASK), /pbx-standby is serving: asterisk is running .* replicating now would erase it/);
  t.regex(r.msg(DB_TASK), /hint: fail back first/);
  t.deepEqual(await snapshot(STANDBY, ['userfeatures']), before);

  await labExec(STANDBY, 'xivo-service stop xivo >/dev/null; xivo-service disable >/dev/null');
  await labExec(MAIN, 'rm -f /var/lib/wazo/is-primary');
  const r2 = await haplay(DB_ONLY);
  t.is(r2.code, 2);
  t.regex(r2.msg('db'), /pbx-main has no \/var\/lib\/wazo\/is-primary sentinel/);
  await labExec(MAIN, `printf '%s' '{"node_type": "slave", "remote_address": "10.77.0.12"}' > /etc/xivo/ha.conf`);
  const r3 = await haplay(DB_ONLY);
  t.regex(r3.msg('db'), /pbx-main is not the main: \/etc\/xivo\/ha.conf says node_type slave/);
  t.deepEqual(await snapshot(STANDBY, ['userfeatures']), before);
  await setRoles();
});

test.serial('first run: the standby gets every replicated row and sequence of the main; excluded tables stay as they were', async (t) => {
  await ready();
  // Make the two databases differ in many ways, excluded tables included.
  await labPsql(STANDBY, `SET session_replication_role = replica;
    DELETE FROM userfeatures WHERE id BETWEEN 10 AND 30; UPDATE auth_tenant SET name = 'standby-edit';
    INSERT INTO staticsip (filename, category, var_name, var_val) VALUES ('sip.conf', 'general', 'standby-only', 'x');
    DELETE FROM queuemember WHERE position < 5; SELECT setval('context_id_seq', 999);
    INSERT INTO cel (eventtype, eventtime, cid_name, cid_num, exten, context, channame, uniqueid, linkedid) VALUES ('X', now(), 'a', 'b', 'c', 'd', 'e', 'f', 'g')`);
  await labPsql(MAIN, `INSERT INTO userfeatures (firstname, lastname, tenant_uuid) SELECT 'New', 'Main', uuid FROM tenant LIMIT 1;
    UPDATE endpoint_sip_section_option SET value = 'g722' WHERE key = 'allow' AND ctid IN (SELECT ctid FROM endpoint_sip_section_option WHERE key = 'allow' LIMIT 3);
    INSERT INTO queue_log (time, callid, event) VALUES (now(), 'main-only', 'TEST'); UPDATE mail SET origin = 'main.example'`);
  const tables = await replicated();
  const excluded = await excludedPresent();
  const excludedBefore = await snapshot(STANDBY, excluded);
  t.notDeepEqual(await snapshot(STANDBY, tables), await snapshot(MAIN, tables));

  const r = await haplay(REPLICATE);
  t.is(r.code, 0, JSON.stringify(r.events.filter((e) => e.type === 'host_result'), null, 1));
  t.is(r.status(DB_TASK), 'changed');
  const res = r.result(DB_TASK);
  t.is(res.tables_checked, tables.length);
  t.true((res.rows_copied_total as number) > 0);
  for (const tb of ['userfeatures', 'auth_tenant', 'staticsip', 'queuemember', 'endpoint_sip_section_option']) {
    t.true((res.tables_differing as string[]).includes(tb), tb);
  }
  t.deepEqual(await snapshot(STANDBY, tables), await snapshot(MAIN, tables));
  t.deepEqual(await snapshot(STANDBY, excluded), excludedBefore, 'excluded tables untouched on the standby');
  t.notDeepEqual((await snapshot(STANDBY, ['netiface'])).netiface, (await snapshot(MAIN, ['netiface'])).netiface);
  t.deepEqual(await sequences(STANDBY), await sequences(MAIN));
  // The summary line of the run.
  const summary = r.events.find((e) => e.type === 'host_result' && e.task === 'summary') as { msg?: string } | undefined;
  t.regex(summary?.msg ?? '', new RegExp(`replicated pbx-main → pbx-standby: ${res.rows_copied_total} rows in \\d+ of ${tables.length} tables \\(\\d+ unchanged since the last run, not read\\)`));
});

test.serial('the end state equals the upstream method (pg_dump --data-only with the exclusions, TRUNCATE, load in one transaction)', async (t) => {
  await ready();
  const tables = await replicated();
  const ours = await snapshot(STANDBY, tables);
  const oursSeq = await sequences(STANDBY);
  const excl = REPLICATION_EXCLUDED.flatMap((x) => ['-T', x, '-T', `${x}_id_seq`]);
  const dump = await lab.exec(MAIN, ['su', 'postgres', '-c', `pg_dump --data-only --schema=public ${excl.join(' ')} asterisk 2>/dev/null`]);
  t.is(dump.code, 0, dump.stderr);
  const copied = dump.stdout.split('\n').filter((l) => l.startsWith('COPY ')).map((l) => l.split(' ')[1]);
  const script = ['SET session_replication_role = replica;', 'BEGIN;', `TRUNCATE ${copied.join(',')};`, dump.stdout, 'COMMIT;', 'SET session_replication_role = DEFAULT;'].join('\n');
  const load = await lab.exec(STANDBY, ['psql', '-X', '-q', '-h', '/run/postgresql', '-U', 'postgres', '-v', 'ON_ERROR_STOP=', '-d', 'asterisk', '-f', '-'], script);
  t.is(load.code, 0, load.stderr);
  t.deepEqual(await snapshot(STANDBY, tables), ours, 'same rows after the upstream load as after haplay');
  t.deepEqual(await sequences(STANDBY), oursSeq, 'same sequences');
});

test.serial('second run: ok, nothing copied, no file synced; the third reads no table', async (t) => {
  await ready();
  // The upstream load above rewrote the standby's tables: their stamps moved, so every table is compared.
  const r = await haplay(REPLICATE);
  t.is(r.code, 0);
  t.is(r.status(DB_TASK), 'ok');
  t.is(r.result(DB_TASK).rows_copied_total, 0);
  const n = r.result(DB_TASK).tables_checked as number;
  t.true(n > 20);
  t.regex(String(r.result(DB_TASK).noop ?? ''), new RegExp(`already has the main's data \\(${n} tables: all compared; \\d+ sequences; \\d+ ms\\)`));
  t.is(r.status(FILES_TASK), 'ok');

  const r2 = await haplay(REPLICATE);
  t.is(r2.status(DB_TASK), 'ok');
  t.like(r2.result(DB_TASK), { tables_checked: n, tables_unchanged: n, tables_compared: 0 });
  t.regex(String(r2.result(DB_TASK).noop ?? ''), new RegExp(`\\(${n} tables: ${n} unchanged since the last run, 0 compared;`));
  const ledger = JSON.parse((await labExec(STANDBY, 'stat -c %a /var/lib/haplay/pg-replicate/asterisk.json && cat /var/lib/haplay/pg-replicate/asterisk.json')).stdout.replace(/^600\n/, ''));
  t.like(ledger, { version: 1, main: { host: MAIN }, standby: { host: STANDBY } });
  t.is(Object.keys(ledger.tables).length, n);
  t.regex(ledger.tables.userfeatures[0], /^\d+\/\d+\/\d+\/\d+\/\d+\/[0-9a-f]{12}$/);
});

test.serial('a changed row on the main is the only row copied next run', async (t) => {
  await ready();
  await labPsql(MAIN, "UPDATE userfeatures SET firstname = 'Changed' WHERE id = 42");
  const check = await haplay(DB_ONLY, { check: true });
  t.is(check.status('db'), 'changed');
  t.deepEqual(check.result('db').rows_differ, { userfeatures: 1 });
  t.is(await labPsql(STANDBY, 'SELECT firstname FROM userfeatures WHERE id = 42'), 'User42', 'check mode changed nothing');

  const r = await haplay(DB_ONLY);
  t.is(r.code, 0);
  t.deepEqual(r.result('db').rows_copied, { userfeatures: 1 });
  t.is(r.result('db').rows_copied_total, 1);
  const ev = r.events.find((e) => e.type === 'host_result' && e.task === 'db') as { changes?: string[] };
  t.deepEqual(ev.changes, ['copy userfeatures: 1 row differs (1 changed)']);
  t.is(await labPsql(STANDBY, 'SELECT firstname FROM userfeatures WHERE id = 42'), 'Changed');

  // A delete and an insert: exactly those.
  await labPsql(MAIN, "SET session_replication_role = replica; DELETE FROM voicemail WHERE uniqueid = 3; INSERT INTO extensions (context, exten, type, typeval) VALUES ('default', '7777', 'user', '1')");
  const r2 = await haplay(DB_ONLY);
  t.deepEqual(r2.result('db').rows_copied, { extensions: 1, voicemail: 0 });
  t.deepEqual(await sequences(STANDBY), await sequences(MAIN));
  const tables = await replicated();
  t.deepEqual(await snapshot(STANDBY, tables), await snapshot(MAIN, tables));
});

test.serial('a standby connection cut mid-copy leaves the standby unchanged; the next run completes', async (t) => {
  await ready();
  await labPsql(MAIN, "UPDATE userfeatures SET lastname = 'cut' WHERE id < 50; UPDATE staticsip SET var_val = 'cut' WHERE var_name = 'realm'; DELETE FROM extensions WHERE exten = '7777'");
  const tables = await replicated();
  const before = await snapshot(STANDBY, tables);
  const seqBefore = await sequences(STANDBY);
  const r = await haplay(DB_ONLY, { cut: true });
  t.is(r.code, 2);
  t.regex(r.msg('db'), /failed while copying table \w+: .*rolled back, the standby is unchanged/);
  t.deepEqual(await snapshot(STANDBY, tables), before);
  t.deepEqual(await sequences(STANDBY), seqBefore);
  const r2 = await haplay(DB_ONLY);
  t.is(r2.code, 0);
  t.is(r2.status('db'), 'changed');
  t.deepEqual(await snapshot(STANDBY, tables), await snapshot(MAIN, tables));
});

test.serial('the standby going down mid-copy (lab fault) keeps its old data; once it is back, the next run completes', async (t) => {
  await ready();
  await haplay(DB_ONLY);
  // Enough to copy that the cable is pulled in the middle: ~1 s of COPY into the standby.
  await labPsql(MAIN, `UPDATE userfeatures SET lastname = 'fault' WHERE id % 2 = 0;
    INSERT INTO staticsip (filename, category, var_name, var_val) SELECT 'hplab-bulk.conf', 'bulk', 'k' || g, repeat('v', 40) FROM generate_series(1, 150000) g`);
  const tables = await replicated();
  const before = await snapshot(STANDBY, tables);
  const seqBefore = await sequences(STANDBY);
  let faulted: Promise<void> | undefined;
  try {
    const r = await haplay(DB_ONLY, {
      onEvent: (e) => {
        if (!faulted && e.type === 'progress' && /^copying /.test(e.message)) {
          faulted = (async () => {
            await lab.fault(STANDBY, 'down');
            await new Promise((res) => setTimeout(res, 500));
            // Back up: a reboot; PostgreSQL recovers without the transaction that never committed.
            await lab.fault(STANDBY, 'up');
          })();
        }
      },
    });
    t.truthy(faulted, 'the fault came while copying');
    t.log(r.msg('db'));
    t.not(r.code, 0);
    t.regex(r.msg('db'), /replication onto pbx-standby failed while (copying table \w+|setting the sequences|committing): .*rolled back/);
  } finally {
    await faulted?.catch(() => undefined);
    await lab.fault(STANDBY, 'up');
    await setRoles();
  }
  t.deepEqual(await snapshot(STANDBY, tables), before, 'the standby holds what it held before the copy');
  t.deepEqual(await sequences(STANDBY), seqBefore);
  const r2 = await haplay(DB_ONLY);
  t.is(r2.code, 0, r2.msg('db'));
  t.deepEqual(await snapshot(STANDBY, tables), await snapshot(MAIN, tables));
  await labPsql(MAIN, "DELETE FROM staticsip WHERE filename = 'hplab-bulk.conf'");
  t.is((await haplay(DB_ONLY)).code, 0);
});

test.serial('force: true replicates onto a serving standby, with a warning', async (t) => {
  await ready();
  await labExec(STANDBY, 'xivo-service enable >/dev/null; xivo-service start xivo >/dev/null');
  await labPsql(MAIN, "UPDATE userfeatures SET firstname = 'forced' WHERE id = 8");
  const r = await haplay(DB_FORCE);
  t.is(r.code, 0);
  t.true(r.warnings.some((w) => /force: true: replicating anyway although pbx-standby is serving/.test(w)), r.warnings.join('\n'));
  t.is(await labPsql(STANDBY, 'SELECT firstname FROM userfeatures WHERE id = 8'), 'forced');
  await labExec(STANDBY, 'xivo-service stop xivo >/dev/null; xivo-service disable >/dev/null');
});

test.serial('stamps: a write on the standby, a TRUNCATE, a stats reset and verify_every: 0 are all seen; check mode saves nothing', async (t) => {
  await ready();
  await haplay(DB_ONLY);
  const settled = await haplay(DB_ONLY);
  t.is(settled.result('db').tables_compared, 0);
  const all = settled.result('db').tables_checked as number;
  const tables = await replicated();

  // Someone edits the standby directly: its counters moved, that table alone is compared and repaired.
  await labPsql(STANDBY, "UPDATE userfeatures SET firstname = 'standby-write' WHERE id = 5");
  const r = await haplay(DB_ONLY);
  t.like(r.result('db'), { tables_compared: 1, rows_copied: { userfeatures: 1 } });
  t.is(await labPsql(STANDBY, 'SELECT firstname FROM userfeatures WHERE id = 5'), await labPsql(MAIN, 'SELECT firstname FROM userfeatures WHERE id = 5'));

  // TRUNCATE counts no deleted row; the new file node gives it away.
  await labPsql(STANDBY, 'TRUNCATE staticsip');
  const r2 = await haplay(DB_ONLY);
  t.like(r2.result('db'), { tables_compared: 1, tables_differing: ['staticsip'] });
  t.deepEqual(await snapshot(STANDBY, tables), await snapshot(MAIN, tables));

  // Counters reset on the main: nothing they say can be trusted, every table is compared.
  await labPsql(MAIN, 'SELECT pg_stat_reset()');
  const r3 = await haplay(DB_ONLY);
  t.like(r3.result('db'), { tables_compared: all, rows_copied_total: 0 });
  t.is(r3.status('db'), 'ok');

  const always = playbook('verify', '- hosts: pbx_main\n  tasks:\n    - name: db\n      pg-replicate: { verify_every: 0 }\n');
  t.like((await haplay(always)).result('db'), { tables_compared: all, tables_unchanged: 0 });

  // Check mode neither reads differently nor leaves a record behind.
  await labExec(STANDBY, 'rm -f /var/lib/haplay/pg-replicate/asterisk.json');
  const c = await haplay(DB_ONLY, { check: true });
  t.like(c.result('db'), { tables_compared: all });
  t.is((await labExec(STANDBY, 'test -e /var/lib/haplay/pg-replicate/asterisk.json')).code, 1, 'no record written in check mode');
  t.deepEqual(await snapshot(STANDBY, tables), await snapshot(MAIN, tables));
});

/** As if the ledger's previous run had been `seconds` earlier: what a run every minute from cron leaves. */
async function ageLedger(seconds: number): Promise<void> {
  const f = '/var/lib/haplay/pg-replicate/asterisk.json';
  const l = JSON.parse((await labExec(STANDBY, `cat ${f}`)).stdout);
  const h: [number, string][] = l.main.history;
  l.main.history = [[h[0][0] - seconds, h[0][1]], ...h.slice(-1)];
  const w = await lab.exec(STANDBY, ['sh', '-c', `cat > ${f}`], JSON.stringify(l));
  if (w.code !== 0) throw new Error(w.stderr);
}

test.serial('rows written since the last run are found by their transaction ids; an updated key falls back to a full compare', async (t) => {
  await ready();
  await haplay(DB_ONLY);
  await labPsql(MAIN, "UPDATE userfeatures SET lastname = 'moved' WHERE id = 9"); // a write, so the ledger is rewritten
  await haplay(DB_ONLY);
  await ageLedger(300);
  await labPsql(MAIN, "UPDATE userfeatures SET firstname = 'recent' WHERE id = 11; INSERT INTO extensions (context, exten, type, typeval) VALUES ('recent', '4242', 'user', '1')");
  const r = await haplay(DB_ONLY);
  t.is(r.code, 0, r.msg('db'));
  t.deepEqual((r.result('db').tables_by_recent_rows as string[]).sort(), ['extensions', 'userfeatures']);
  t.deepEqual(r.result('db').rows_copied, { extensions: 1, userfeatures: 1 });
  const tables = await replicated();
  t.deepEqual(await snapshot(STANDBY, tables), await snapshot(MAIN, tables));

  // A key changed in place: nothing was deleted, the count on the standby gives it away.
  await ageLedger(300);
  await labPsql(MAIN, "UPDATE extensions SET id = id + 1000000 WHERE context = 'recent' AND exten = '4242'");
  const r2 = await haplay(DB_ONLY);
  t.deepEqual(r2.result('db').tables_by_recent_rows, []);
  t.deepEqual(r2.result('db').rows_differ, { extensions: 2 });
  t.deepEqual(await snapshot(STANDBY, tables), await snapshot(MAIN, tables));
  t.is((await haplay(DB_ONLY)).status('db'), 'ok');
});

test.serial('enum columns (binary COPY, sent by label) and arrays of enums (text COPY) replicate between nodes whose type oids differ', async (t) => {
  await ready();
  await haplay(DB_ONLY);
  // Different type oids on the two nodes, as on two separately installed PBXs.
  await labPsql(STANDBY, "CREATE TYPE hplab_shift AS ENUM ('x'); CREATE TYPE hplab_codec AS ENUM ('alaw', 'ulaw', 'g722')");
  await labPsql(MAIN, "CREATE TYPE hplab_codec AS ENUM ('alaw', 'ulaw', 'g722')");
  const alter = 'ALTER TABLE usersip ADD COLUMN codec hplab_codec; ALTER TABLE linefeatures ADD COLUMN codecs hplab_codec[]';
  await labPsql(STANDBY, alter);
  await labPsql(MAIN, `${alter}; UPDATE usersip SET codec = 'g722' WHERE id % 3 = 0; UPDATE linefeatures SET codecs = '{alaw,g722}' WHERE id % 2 = 0`);
  try {
    t.not(await labPsql(MAIN, "SELECT 'hplab_codec'::regtype::oid"), await labPsql(STANDBY, "SELECT 'hplab_codec'::regtype::oid"));
    const r = await haplay(DB_ONLY);
    t.is(r.code, 0, r.msg('db'));
    t.deepEqual((r.result('db').tables_differing as string[]).sort(), ['linefeatures', 'usersip']);
    const tables = ['usersip', 'linefeatures'];
    t.deepEqual(await snapshot(STANDBY, tables), await snapshot(MAIN, tables));
    t.is(await labPsql(STANDBY, "SELECT count(*) FROM linefeatures WHERE codecs = '{alaw,g722}'"), await labPsql(MAIN, 'SELECT count(*) FROM linefeatures WHERE id % 2 = 0'));
    t.is((await haplay(DB_ONLY)).status('db'), 'ok');
  } finally {
    const drop = 'ALTER TABLE usersip DROP COLUMN codec; ALTER TABLE linefeatures DROP COLUMN codecs; DROP TYPE hplab_codec';
    await labPsql(MAIN, drop);
    await labPsql(STANDBY, `${drop}; DROP TYPE hplab_shift`);
  }
});

test.serial('rsync: deletions and additions reach the standby, other directories are left alone, second run ok', async (t) => {
  await ready();
  await labExec(MAIN, 'rm /etc/asterisk/extensions_extra.d/lab-queues.conf && echo "[new]" > /etc/asterisk/extensions_extra.d/new.conf && echo changed >> /var/lib/asterisk/agi-bin/lab-agi.sh');
  await labExec(STANDBY, 'echo standby-only > /var/spool/asterisk/voicemail/default/1001/INBOX/msg0001.txt && echo keep > /etc/xivo/standby-local.conf');
  const r = await haplay(REPLICATE);
  t.is(r.code, 0);
  t.is(r.status(FILES_TASK), 'changed');
  const res = r.result(FILES_TASK);
  t.true((res.deleted as string[]).includes('/etc/asterisk/extensions_extra.d/lab-queues.conf'));
  t.true((res.created as string[]).includes('/etc/asterisk/extensions_extra.d/new.conf'), JSON.stringify(res));
  t.true((res.updated as string[]).includes('/var/lib/asterisk/agi-bin/lab-agi.sh'));
  const ls = await labExec(STANDBY, 'ls /etc/asterisk/extensions_extra.d; cat /var/spool/asterisk/voicemail/default/1001/INBOX/msg0001.txt /etc/xivo/standby-local.conf; md5sum < /var/lib/asterisk/agi-bin/lab-agi.sh');
  const main = await labExec(MAIN, 'md5sum < /var/lib/asterisk/agi-bin/lab-agi.sh');
  t.is(ls.stdout, `lab-custom.conf\nnew.conf\nstandby-only\nkeep\n${main.stdout}`);
  const r2 = await haplay(REPLICATE);
  t.is(r2.code, 0);
  t.is(r2.status(FILES_TASK), 'ok');
  t.is(r2.status(DB_TASK), 'ok');
});

test.serial('rsync failback pulls voicemail left on the standby back to the main without deleting the main\'s', async (t) => {
  await ready();
  const pb = playbook('failback', '- hosts: pbx_main\n  tasks:\n    - name: back\n      rsync: { direction: standby-to-main }\n');
  await labExec(MAIN, 'echo main-old > /var/spool/asterisk/voicemail/default/1002/INBOX/msg0009.txt');
  const check = await haplay(pb, { check: true });
  t.is(check.status('back'), 'changed');
  t.true((check.result('back').created as string[]).includes('/var/spool/asterisk/voicemail/default/1001/INBOX/msg0001.txt'));
  t.is((await labExec(MAIN, 'ls /var/spool/asterisk/voicemail/default/1001/INBOX/')).stdout.includes('msg0001.txt'), false, 'check mode copied nothing');
  const r = await haplay(pb);
  t.is(r.code, 0);
  t.is((await labExec(MAIN, 'cat /var/spool/asterisk/voicemail/default/1001/INBOX/msg0001.txt /var/spool/asterisk/voicemail/default/1002/INBOX/msg0009.txt')).stdout, 'standby-only\nmain-old\n');
  t.is((await haplay(pb)).status('back'), 'ok');
});
