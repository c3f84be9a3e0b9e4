// sip-expiry against a staticsip table, rows in and rows out: the plugin speaks to a fake PostgreSQL
// (test/helpers/fake-pg.ts) through the fake transport, and the test reads the table afterwards.
// The lab's data has no commented row; here one is.
import test from 'ava';
import { FakeTransport } from '../../src/core/transport/fake.js';
import { sipExpiry } from '../../src/plugins/sip-expiry.js';
import { fakePgConnection, type FakeResult } from '../helpers/fake-pg.js';
import { makeTaskContext, runPlugin } from '../helpers/plugin-cases.js';

interface Row {
  id: number;
  cat_metric: number;
  var_metric: number;
  commented: number;
  filename: string;
  category: string;
  var_name: string;
  var_val: string | null;
}

/** The staticsip table, with just enough SQL for WHERE col = value [AND ...], SET col = value, ..., INSERT (cols) VALUES (...). */
function staticsip(rows: Row[]) {
  const value = (v: string, params: (string | null)[]): unknown => {
    v = v.trim();
    if (/^\$\d+$/.test(v)) return params[Number(v.slice(1)) - 1];
    if (/^-?\d+$/.test(v)) return Number(v);
    const s = /^'(.*)'$/.exec(v);
    if (s) return s[1].replace(/''/g, "'");
    throw new Error(`fake staticsip: cannot read value ${v}`);
  };
  const where = (cond: string, params: (string | null)[]) => (r: Row) =>
    cond.split(/\s+AND\s+/i).every((c) => {
      const any = /^(\w+) = ANY\((\$\d+)\)$/.exec(c.trim());
      if (any) {
        const list = String(value(any[2], params)).replace(/^\{|\}$/g, '').split(',').map((x) => x.replace(/^"|"$/g, ''));
        return list.includes(String(r[any[1] as keyof Row]));
      }
      const eq = /^(\w+) = (.+)$/.exec(c.trim());
      if (!eq) throw new Error(`fake staticsip: cannot read condition ${c}`);
      return String(r[eq[1] as keyof Row]) === String(value(eq[2], params));
    });
  const handler = (sql: string, params: (string | null)[]): FakeResult => {
    const q = sql.replace(/\s+/g, ' ').trim();
    if (/^(BEGIN|COMMIT|ROLLBACK)\b/.test(q)) return { command: q.split(' ')[0] };
    if (/to_regclass\('public.staticsip'\) IS NOT NULL AS present/.test(q)) return { fields: [{ name: 'present', type: 'bool' }], rows: [[true]], command: 'SELECT 1' };
    let m = /^SELECT (.+) FROM staticsip WHERE (.+?)(?: ORDER BY id)?$/.exec(q);
    if (m) {
      const cols = m[1].split(',').map((c) => c.trim() as keyof Row);
      const found = rows.filter(where(m[2], params)).sort((a, b) => a.id - b.id);
      return { fields: cols.map((c) => ({ name: c, type: c === 'commented' || c === 'id' ? 'int4' : 'text' })), rows: found.map((r) => cols.map((c) => r[c])), command: `SELECT ${found.length}` };
    }
    m = /^UPDATE staticsip SET (.+) WHERE (.+)$/.exec(q);
    if (m) {
      const sets = m[1].split(',').map((a) => /^\s*(\w+) = (.+)$/.exec(a)!).map(([, col, v]) => [col, value(v, params)] as const);
      const hit = rows.filter(where(m[2], params));
      for (const r of hit) for (const [col, v] of sets) (r as unknown as Record<string, unknown>)[col] = v;
      return { command: `UPDATE ${hit.length}` };
    }
    m = /^INSERT INTO staticsip \((.+)\) VALUES \((.+)\)$/.exec(q);
    if (m) {
      const cols = m[1].split(',').map((c) => c.trim());
      const vals = m[2].split(',').map((v) => value(v, params));
      const r = { id: Math.max(0, ...rows.map((x) => x.id)) + 1 } as Record<string, unknown>;
      cols.forEach((c, i) => (r[c] = vals[i]));
      rows.push(r as unknown as Row);
      return { command: 'INSERT 0 1' };
    }
    throw new Error(`fake staticsip: unexpected SQL: ${q}`);
  };
  return { rows, handler };
}

const row = (id: number, var_name: string, var_val: string, commented = 0): Row => ({ id, cat_metric: 0, var_metric: 0, commented, filename: 'sip.conf', category: 'general', var_name, var_val });
const general = (rows: Row[]) => rows.filter((r) => r.filename === 'sip.conf' && r.category === 'general').map((r) => `${r.var_name}=${r.var_val}${r.commented ? ' (commented)' : ''}`).sort();

async function runOn(db: ReturnType<typeof staticsip>, params: unknown, vars = {}) {
  const host = new FakeTransport('pbx-main');
  host.openTcp = async () => fakePgConnection(db.handler);
  const { ctx } = makeTaskContext(host, vars);
  return runPlugin(sipExpiry, params, ctx);
}

test('sip-expiry: a commented expiry row is set and uncommented, not left commented nor duplicated', async (t) => {
  const db = staticsip([row(1, 'minexpiry', '60', 1), row(2, 'maxexpiry', '3600'), row(3, 'defaultexpiry', '120'), row(4, 'allowguest', 'no', 1)]);
  const first = await runOn(db, { node_type: 'main' });
  t.deepEqual(first.plan.changes.map((c) => c.summary), ['set SIP expiry: minexpiry 60 → 60, maxexpiry 3600 → 300']);
  t.deepEqual(general(db.rows), ['allowguest=no (commented)', 'defaultexpiry=120', 'maxexpiry=300', 'minexpiry=60']);
  t.is(db.rows.length, 4, 'no row inserted beside the commented one');

  const again = await runOn(db, { node_type: 'main' });
  t.deepEqual(again.plan.changes, [], 'a second run changes nothing');
  t.regex(again.plan.noop ?? '', /SIP expiry already minexpiry 60, maxexpiry 300, defaultexpiry 120/);
});

test('sip-expiry: a missing expiry row is inserted (wazo, standby: 3/5/4 minutes)', async (t) => {
  const db = staticsip([row(1, 'minexpiry', '60'), row(2, 'maxexpiry', '3600')]);
  await runOn(db, { node_type: 'slave' }, { flavour: 'wazo' });
  t.deepEqual(general(db.rows), ['defaultexpiry=240', 'maxexpiry=300', 'minexpiry=180']);
});

test('sip-expiry: disabling HA restores the values of a node without HA', async (t) => {
  const db = staticsip([row(1, 'minexpiry', '60'), row(2, 'maxexpiry', '300'), row(3, 'defaultexpiry', '120')]);
  await runOn(db, { node_type: 'disabled' });
  t.deepEqual(general(db.rows), ['defaultexpiry=120', 'maxexpiry=3600', 'minexpiry=60']);
});
