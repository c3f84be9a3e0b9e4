// pg-replicate as data: the hosts' answers in, the plan, commands and refusals out, over fake
// transports (the main and the standby). The databases themselves are tested in the lab
// (test/replication/).
import test from 'ava';
import { FakeTransport } from '../../src/core/transport/fake.js';
import type { Catalog } from '../../src/plugins/pg-replicate/compare.js';
import { checkSchemas, keyMatch, tableSpec } from '../../src/plugins/pg-replicate/compare.js';
import { guardProblems, parseNodeState } from '../../src/plugins/pg-replicate/guards.js';
import { checkLocale, pgReplicate, replicatedSequences, truncatableSet } from '../../src/plugins/pg-replicate/index.js';
import {
  ledgerApplies, ledgerPath, nextHistory, onlyInsertsOrUpdates, readLedger, recentHorizon, unchangedTables, type Ledger, type NodeStamps,
} from '../../src/plugins/pg-replicate/stamps.js';
import { FLAVOURS, REPLICATION_EXCLUDED } from '../../src/xivo/flavour.js';
import { runTwo, type TwoHostCase } from '../helpers/replication-pair.js';

const SEP = '@@haplay@@';
const stateOutput = (conf: string | null, flags: string[], status = '') =>
  `${conf ?? `${SEP}absent`}\n${SEP}\n${flags.map((f) => f + '\n').join('')}${SEP}\n${status}`;
const MASTER = '{"node_type": "master", "remote_address": "10.0.0.12"}';
const SLAVE = '{"node_type": "slave", "remote_address": "10.0.0.11"}';
const STOPPED = 'inactive\n';
const RUNNING = 'active\n';
// ---------------------------------------------------------------------------------------------
// pg-replicate: the guards refuse before any database is touched.

const guardCases: TwoHostCase[] = [
  {
    title: 'refuses when the source is not the main',
    plugin: pgReplicate,
    params: {},
    main: [{ match: 'cat /etc/xivo/ha.conf', reply: { stdout: stateOutput(null, []) } }],
    standby: [{ match: 'cat /etc/xivo/ha.conf', reply: { stdout: stateOutput(SLAVE, ['is-secondary', 'disabled'], STOPPED) } }],
    expect: { error: /pbx-main is not the main: \/etc\/xivo\/ha.conf is absent \(HA disabled\).*hint: set the HA roles first/ },
  },
  {
    title: 'refuses when the standby is serving (asterisk running, telephony enabled)',
    plugin: pgReplicate,
    params: {},
    main: [{ match: 'cat /etc/xivo/ha.conf', reply: { stdout: stateOutput(MASTER, ['is-primary']) } }],
    standby: [{ match: 'cat /etc/xivo/ha.conf', reply: { stdout: stateOutput(SLAVE, ['is-secondary'], RUNNING) } }],
    expect: {
      error: /pbx-standby is serving: asterisk is running \(systemctl is-active asterisk\) and \/var\/lib\/xivo\/disabled is absent.*would erase it.*hint: fail back first/,
      standby: [/systemctl is-active asterisk/],
    },
  },
  {
    title: 'refuses a standby whose disabled flag is gone even with asterisk stopped',
    plugin: pgReplicate,
    params: {},
    main: [{ match: 'cat /etc/xivo/ha.conf', reply: { stdout: stateOutput(MASTER, ['is-primary']) } }],
    standby: [{ match: 'cat /etc/xivo/ha.conf', reply: { stdout: stateOutput(SLAVE, ['is-secondary'], STOPPED) } }],
    expect: { error: /pbx-standby is serving: \/var\/lib\/xivo\/disabled is absent/ },
  },
  {
    title: 'refuses a target that is not the standby, and says both problems',
    plugin: pgReplicate,
    params: {},
    main: [{ match: 'cat /etc/xivo/ha.conf', reply: { stdout: stateOutput(MASTER, []) } }],
    standby: [{ match: 'cat /etc/xivo/ha.conf', reply: { stdout: stateOutput(MASTER, ['is-primary', 'disabled'], STOPPED) } }],
    expect: { error: /pbx-main has no \/var\/lib\/wazo\/is-primary sentinel.*pbx-standby is not the standby: \/etc\/xivo\/ha.conf says node_type master/ },
  },
  {
    title: 'wazo words and paths: master/slave, wazo-service in the hint, /var/lib/wazo/disabled',
    plugin: pgReplicate,
    params: {},
    vars: { flavour: 'wazo' },
    main: [{ match: 'cat /etc/xivo/ha.conf', reply: { stdout: stateOutput(MASTER, ['is-primary']) } }],
    standby: [{ match: '/var/lib/wazo/disabled', reply: { stdout: stateOutput(SLAVE, ['is-secondary'], RUNNING) } }],
    expect: { error: /pbx-standby is serving: asterisk is running \(systemctl is-active asterisk\) and \/var\/lib\/wazo\/disabled is absent.*while the master was lost.*wazo-service stop wazo/ },
  },
  {
    title: 'the standby cannot be the main itself',
    plugin: pgReplicate,
    params: { standby: 'pbx-main' },
    expect: { error: /pbx-main cannot replicate onto itself/ },
  },
];
for (const c of guardCases) test(`pg-replicate: ${c.title}`, (t) => runTwo(t, c));

test('pg-replicate: HA state parsing and guard rules as data', (t) => {
  const s = parseNodeState('sb', stateOutput(SLAVE, ['is-secondary', 'disabled'], STOPPED), true);
  t.like(s, { nodeType: 'slave', secondary: true, primary: false, disabledFlag: true, asteriskRunning: false });
  const m = parseNodeState('m', stateOutput(MASTER, ['is-primary']), false);
  t.deepEqual(guardProblems(m, s, FLAVOURS.xivo, FLAVOURS.xivo), []);
  t.is(parseNodeState('x', stateOutput('not json', []), false).nodeType, 'unknown');
  t.is(guardProblems(m, { ...s, asteriskRunning: true }, FLAVOURS.xivo, FLAVOURS.xivo).length, 1);
});

// ---------------------------------------------------------------------------------------------
// pg-replicate: the SQL it builds and the decisions it takes from the catalogs.

const cat = (tables: Record<string, { cols: string[]; pk: string[]; types?: Record<string, string> }>, extra: Partial<Catalog> = {}): Catalog => ({
  encoding: 'UTF8',
  collate: 'C.UTF-8',
  tables: new Map(Object.entries(tables).map(([name, d]) => [name, { name, pk: d.pk, estimate: 1000, columns: d.cols.map((c) => ({ name: c, type: d.types?.[c] ?? 'integer' })) }])),
  sequences: new Map(),
  references: [],
  ...extra,
});

test('pg-replicate: integer keys hash in id ranges, other keys in hash buckets, tables without a key whole', (t) => {
  const c = cat({
    users: { cols: ['id', 'name'], pk: ['id'], types: { name: 'text' } },
    auth_user: { cols: ['uuid', 'tenant'], pk: ['uuid'], types: { uuid: 'uuid', tenant: 'uuid' } },
    user_line: { cols: ['user_id', 'line_id'], pk: ['user_id', 'line_id'] },
    nokey: { cols: ['a'], pk: [] },
  });
  const users = tableSpec(c.tables.get('users')!, 0);
  t.is(users.kind, 'int');
  t.is(users.bucket, '("id"::bigint >> 9)');
  t.is(users.rowHash, `('x' || left(md5(ROW("id", "name")::text), 16))::bit(64)::bigint`);
  t.is(keyMatch(users, c.tables.get('users')!, ['1', '5']), `"id" = ANY('{"1","5"}'::bigint[])`);
  const au = tableSpec(c.tables.get('auth_user')!, 0);
  t.is(au.kind, 'single');
  t.is(au.bucket, '((hashtext("uuid"::text) & 2147483647) % 2)');
  t.is(keyMatch(au, c.tables.get('auth_user')!, ['a-b']), `"uuid" = ANY('{"a-b"}'::uuid[])`);
  const ul = tableSpec(c.tables.get('user_line')!, 5000);
  t.is(ul.kind, 'composite');
  t.is(ul.bucket, '((hashtext(ROW("user_id", "line_id")::text) & 2147483647) % 10)');
  t.is(keyMatch(ul, c.tables.get('user_line')!, [`(1,2)`, `(3,"it's")`]), `ROW("user_id", "line_id")::text = ANY(E'{"(1,2)","(3,\\\\"it''s\\\\")"}'::text[])`);
  t.is(tableSpec(c.tables.get('nokey')!, 0).kind, 'none');
});

test('pg-replicate: TRUNCATE only tables whose referencing tables are emptied too; the rest is deleted', (t) => {
  const refs: [string, string][] = [['auth_user', 'auth_tenant'], ['auth_tenant', 'auth_user'], ['context', 'tenant'], ['tenant', 'auth_tenant']];
  t.deepEqual(truncatableSet(new Set(['auth_user', 'auth_tenant']), refs), []);
  t.deepEqual(truncatableSet(new Set(['auth_user', 'auth_tenant', 'tenant', 'context']), refs), ['auth_tenant', 'auth_user', 'context', 'tenant']);
  t.deepEqual(truncatableSet(new Set(['context', 'staticsip']), refs), ['context', 'staticsip']);
});

test('pg-replicate: sequences of excluded tables are not copied (by owner or by <table>_id_seq)', (t) => {
  const c = cat({}, { sequences: new Map([['cel_id_seq', 'cel'], ['users_id_seq', 'users'], ['odd_name', 'queue_log'], ['netiface_id_seq', null], ['free', null]]) });
  t.deepEqual(replicatedSequences(c, new Set(REPLICATION_EXCLUDED)), ['users_id_seq', 'free']);
});

test('pg-replicate: schemas and locale must match, in the operator\'s words', (t) => {
  const a = cat({ users: { cols: ['id'], pk: ['id'] }, cel: { cols: ['id'], pk: ['id'] }, newtable: { cols: ['id'], pk: ['id'] } });
  const b = cat({ users: { cols: ['id'], pk: ['id'] } });
  const e = t.throws(() => checkSchemas(a, b, 'pbx-main', 'pbx-standby', new Set(['cel'])));
  t.is(e?.message, 'tables differ between the main and the standby: only on pbx-main (main): newtable');
  t.regex((e as { hint?: string }).hint ?? '', /upgrade both nodes to the same version/);
  const c2 = cat({ users: { cols: ['id', 'x'], pk: ['id'] } });
  t.throws(() => checkSchemas(c2, b, 'm', 's', new Set()), { message: /table users has different columns/ });
  const latin = { ...b, encoding: 'LATIN1', collate: 'fr_FR' };
  const l = t.throws(() => checkLocale(b, latin, 'pbx-main', 'pbx-standby', 'asterisk'));
  t.regex(l?.message ?? '', /asterisk database on pbx-standby \(standby\) is encoded LATIN1, not UTF8/);
  t.regex((l as { hint?: string }).hint ?? '', /createdb -l en_US.UTF-8 -O asterisk -T template0/);
  t.throws(() => checkLocale({ ...b, encoding: 'SQL_ASCII' }, b, 'pbx-main', 'pbx-standby', 'asterisk'), { message: /encoded differently: SQL_ASCII on pbx-main/ });
});

// ---------------------------------------------------------------------------------------------
// pg-replicate: which tables the saved stamps let it skip.

test('pg-replicate stamps: a table is skipped only when both sides, the nodes and the pair are as saved, and the last full compare is recent', (t) => {
  const now = Date.parse('2026-11-22T10:00:00Z');
  const stamps = (node: string, tables: Record<string, string>, counting = true): NodeStamps => ({ node, counting, tables: new Map(Object.entries(tables)), clock: 0, xmin: '0' });
  const main = stamps('m1', { a: 'ma', b: 'mb', c: 'mc' });
  const sb = stamps('s1', { a: 'sa', b: 'sb2', c: 'sc' });
  const ledger: Ledger = {
    version: 1,
    main: { host: 'pbx-main', node: 'm1' },
    standby: { host: 'pbx-standby', node: 's1' },
    verified_at: '2026-11-22T09:30:00Z',
    tables: { a: ['ma', 'sa'], b: ['mb', 'sb'], c: ['mc-old', 'sc'] },
  };
  const who = { main: 'pbx-main', standby: 'pbx-standby' };
  const skip = (l: Ledger | null, m = main, s = sb, w = who, at = now, every = 3600) => [...unchangedTables(l, m, s, ledgerApplies(l, m, s, w, at, every))].sort();
  t.deepEqual(skip(ledger), ['a'], 'b moved on the standby, c on the main');
  t.deepEqual(skip(null), [], 'no record: compare all');
  t.deepEqual(skip({ ...ledger, main: { host: 'pbx-main', node: 'm0' } }), [], 'the main restarted or its stats were reset');
  t.deepEqual(skip({ ...ledger, standby: { host: 'pbx-standby', node: 's0' } }), [], 'the standby restarted');
  t.deepEqual(skip(ledger, main, sb, { main: 'pbx-main', standby: 'pbx-other' }), [], 'another standby');
  t.deepEqual(skip(ledger, stamps('m1', { a: 'ma' }, false)), [], 'track_counts off on the main');
  t.deepEqual(skip(ledger, main, sb, who, now, 1800), [], 'older than verify_every: full compare');
  t.deepEqual(skip(ledger, main, sb, who, now, 0), [], 'verify_every 0: always');
  t.deepEqual(skip({ ...ledger, verified_at: '2026-11-22T11:00:00Z' }), [], 'a record from the future (clock change) is not trusted');
  t.deepEqual(skip({ ...ledger, verified_at: 'garbage' }), []);
});

test('pg-replicate stamps: rows count as recent from a run at least 120 s before the saved one; only inserts and updates qualify', (t) => {
  const ledger = (history: [number, string][]): Ledger => ({
    version: 1, main: { host: 'm', node: 'n', history }, standby: { host: 's', node: 'n' }, verified_at: '2026-11-22T10:00:00Z', tables: {},
  });
  t.is(recentHorizon(ledger([[1020, '500'], [1100, '600'], [1130, '650']])), undefined, 'no run 120 s before the last: compare by blocks');
  t.is(recentHorizon(ledger([[900, '400'], [1000, '500'], [1100, '600'], [1130, '650']])), '500', 'the newest run at least 120 s older');
  t.is(recentHorizon(ledger([[0, String(2n ** 32n + 7n)], [200, '9']])), '7', 'a 64-bit id as xmin holds it');
  t.is(recentHorizon(ledger([[0, String(2n ** 32n + 1n)], [200, '9']])), '3', 'never a special id');
  t.is(recentHorizon(null), undefined);

  const stamp = (ins: number, upd: number, del: number, node = '99', cols = 'abc') => `16400/${node}/${ins}/${upd}/${del}/${cols}`;
  t.true(onlyInsertsOrUpdates(stamp(10, 5, 2), stamp(12, 9, 2)));
  t.false(onlyInsertsOrUpdates(stamp(10, 5, 2), stamp(12, 9, 3)), 'a delete');
  t.false(onlyInsertsOrUpdates(stamp(10, 5, 2), stamp(12, 9, 2, '100')), 'a truncate or rewrite');
  t.false(onlyInsertsOrUpdates(stamp(10, 5, 2), stamp(12, 9, 2, '99', 'abd')), 'columns changed');
  t.false(onlyInsertsOrUpdates(stamp(10, 5, 2), stamp(3, 9, 2)), 'counters went back (a reset)');

  const main: NodeStamps = { node: 'n', counting: true, tables: new Map(), clock: 2000, xmin: '900' };
  const hist = Array.from({ length: 20 }, (_, i) => [i * 10, String(i)] as [number, string]);
  const next = nextHistory(ledger(hist), main);
  t.is(next.length, 12);
  t.deepEqual(next.at(-1), [2000, '900']);
  t.deepEqual(nextHistory({ ...ledger(hist), main: { host: 'm', node: 'other', history: hist } }, main), [[2000, '900']], 'another node start: history restarts');
});

test('pg-replicate stamps: a damaged or foreign record on the standby is ignored (everything is compared), never trusted', async (t) => {
  const good: Ledger = {
    version: 1, main: { host: 'pbx-main', node: 'n1', history: [[1, '5']] }, standby: { host: 'pbx-standby', node: 'n2' },
    verified_at: '2026-11-22T10:00:00Z', tables: { userfeatures: ['a', 'b'] },
  };
  const read = async (text: string | undefined) => {
    const sb = new FakeTransport('pbx-standby', []);
    if (text !== undefined) sb.files.set(ledgerPath('asterisk'), { data: Buffer.from(text) });
    return readLedger(sb, 'asterisk');
  };
  t.deepEqual(await read(JSON.stringify(good)), good);
  t.is(await read(undefined), null, 'none yet');
  t.is(await read('{"version": 1, "tables": '), null, 'cut short');
  t.is(await read(JSON.stringify({ ...good, version: 2 })), null, 'another format');
  t.is(await read(JSON.stringify({ ...good, tables: { userfeatures: 'a' } })), null);
  t.is(await read(JSON.stringify({ ...good, main: { host: 'pbx-main' } })), null);
  t.is(await read(JSON.stringify({ ...good, main: { ...good.main, history: [['x', 5]] } })), null);
});
