// sip-expiry's values and row comparison as data (the database side runs on the lab, test/ha).
import test from 'ava';
import { assertValid } from '../../src/core/params.js';
import { compareRows, sipExpiry, wantedExpiry, type Row, type SipExpiryParams } from '../../src/plugins/sip-expiry.js';

const params = (p: Record<string, unknown>) => {
  const copy = structuredClone(p);
  assertValid(sipExpiry.schema, copy, { code: 'E_PARAMS', where: {}, prefix: 'sip-expiry' });
  return copy as unknown as SipExpiryParams;
};
const rows = (min: string, max: string, def: string, commented = 0): Row[] => [
  { var_name: 'minexpiry', var_val: min, commented },
  { var_name: 'maxexpiry', var_val: max, commented: 0 },
  { var_name: 'defaultexpiry', var_val: def, commented: 0 },
];

const cases: [string, Record<string, unknown>, Record<string, unknown>, { minexpiry: number; maxexpiry: number; defaultexpiry: number }][] = [
  ['xivo on: 1/5/2 minutes', { state: 'on' }, {}, { minexpiry: 60, maxexpiry: 300, defaultexpiry: 120 }],
  ['wazo on: 3/5/4 minutes', { state: 'on' }, { flavour: 'wazo' }, { minexpiry: 180, maxexpiry: 300, defaultexpiry: 240 }],
  ['off: the chan_sip defaults', { state: 'off', flavour: 'wazo' }, {}, { minexpiry: 60, maxexpiry: 3600, defaultexpiry: 120 }],
  ['node_type standby means on', { node_type: 'standby' }, {}, { minexpiry: 60, maxexpiry: 300, defaultexpiry: 120 }],
  ['node_type main means on: the main gets the HA expiry too (xivo 1/5/2 minutes)', { node_type: 'main' }, {}, { minexpiry: 60, maxexpiry: 300, defaultexpiry: 120 }],
  ['node_type master means on (wazo 3/5/4 minutes)', { node_type: 'master' }, { flavour: 'wazo' }, { minexpiry: 180, maxexpiry: 300, defaultexpiry: 240 }],
  ['node_type slave means on (wazo 3/5/4 minutes)', { node_type: 'slave' }, { flavour: 'wazo' }, { minexpiry: 180, maxexpiry: 300, defaultexpiry: 240 }],
  ['node_type disabled means off', { node_type: 'disabled' }, {}, { minexpiry: 60, maxexpiry: 3600, defaultexpiry: 120 }],
  ['overrides win', { state: 'on', maxexpiry: 600 }, { flavour: 'wazo' }, { minexpiry: 180, maxexpiry: 600, defaultexpiry: 240 }],
];
for (const [title, p, vars, want] of cases) {
  test(`sip-expiry values: ${title}`, (t) => t.deepEqual(wantedExpiry(params(p), vars).want, want));
}

test('sip-expiry: state and node_type together, or neither, are refused', (t) => {
  t.throws(() => wantedExpiry(params({ state: 'on', node_type: 'main' }), {}), { message: /exactly one of state, node_type \(got both\)/ });
  t.throws(() => wantedExpiry(params({}), {}), { message: /exactly one of state, node_type$/ });
});

test('sip-expiry: values out of order are refused', (t) => {
  t.throws(() => wantedExpiry(params({ state: 'on', minexpiry: 400 }), {}), { message: /minexpiry <= defaultexpiry <= maxexpiry/ });
});

test('sip-expiry: the default db params are the asterisk database', (t) => {
  t.like(params({ state: 'on' }), { db_user: 'asterisk', db_name: 'asterisk', db_port: 5432 });
});

test('sip-expiry rows: equal values need nothing; a different, missing or commented row does', (t) => {
  const on = { minexpiry: 60, maxexpiry: 300, defaultexpiry: 120 };
  t.deepEqual(compareRows(rows('60', '300', '120'), on).differ, []);
  t.deepEqual(compareRows(rows('60', '3600', '120'), on), { before: { minexpiry: 60, maxexpiry: 3600, defaultexpiry: 120 }, differ: ['maxexpiry'] });
  t.deepEqual(compareRows(rows('60', '300', '120', 1), on).differ, ['minexpiry']);
  t.deepEqual(compareRows(rows('60', '300', '120').slice(1), on).differ, ['minexpiry']);
});
