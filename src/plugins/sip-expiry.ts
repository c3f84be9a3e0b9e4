// SIP registration expiry for HA (haplay plugins sip-expiry): the chan_sip `general` rows of the asterisk
// database's staticsip table, read and written through PostgreSQL over the SSH connection.
import { TaskFailed } from '../core/errors.js';
import type { Vars } from '../core/types.js';
import { definePlugin } from '../kit/index.js';
import { dbOptionsOf, dbSchemaProperties, withDb, type Db, type DbParams } from '../xivo/db.js';
import { flavourFor, nodeTypeOf, type Flavour, type SipExpiry, ROLE_WORDS } from '../xivo/flavour.js';

export interface SipExpiryParams extends DbParams {
  state?: 'on' | 'off';
  node_type?: 'main' | 'standby' | 'disabled' | 'master' | 'slave';
  flavour?: 'xivo' | 'wazo';
  minexpiry?: number;
  maxexpiry?: number;
  defaultexpiry?: number;
}

const KEYS = ['minexpiry', 'maxexpiry', 'defaultexpiry'] as const;
const seconds = (what: string) => ({ type: 'integer', minimum: 1, maximum: 86400, description: `${what} in seconds; default from the flavour (see above).` });

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: ['on', 'off'], description: 'on: the HA values; off: the values of a node without HA. Give state or node_type.' },
    node_type: {
      type: 'string',
      enum: ROLE_WORDS,
      description: 'Instead of state: main/standby (master/slave) mean on, disabled means off (as the XiVO web UI does on both nodes).',
    },
    flavour: { type: 'string', enum: ['xivo', 'wazo'], description: 'Default: the host variable `flavour`, else xivo.' },
    minexpiry: seconds('Minimum registration expiry'),
    maxexpiry: seconds('Maximum registration expiry'),
    defaultexpiry: seconds('Default registration expiry'),
    ...dbSchemaProperties,
  },
};

const ROWS = "filename = 'sip.conf' AND category = 'general'";

export const sipExpiry = definePlugin<SipExpiryParams>({
  name: 'sip-expiry',
  description: 'Set the SIP registration expiry for HA (or restore the values of a node without HA) in the asterisk database',
  doc: [
    'Sets minexpiry, maxexpiry and defaultexpiry of the chan_sip general settings: rows of table staticsip with filename sip.conf, category general, commented 0 (a missing row is inserted, a commented one uncommented), in one transaction, through PostgreSQL reached over the SSH connection (no database port opened).',
    'Values in seconds. HA on: xivo 60/300/120 (1/5/2 minutes, as XiVO\'s HA setup sets them), wazo 180/300/240 (3/5/4 minutes, as Wazo\'s). HA off: 60/3600/120 (chan_sip defaults). minexpiry/maxexpiry/defaultexpiry override them.',
    'Databases without a staticsip table (Wazo after 2021, chan_sip removed) have no HA expiry to set: the task is ok and says so. Wazo\'s confd API no longer changes expiry either.',
    'Asterisk reads the new values when its SIP configuration is reloaded: restart the services (as the seeds say) after enabling HA.',
    'Registered: expiry (the values after the task), before (the values found), flavour, state.',
  ].join('\n\n'),
  schema,
  examples: [
    { title: 'HA values of the flavour', yaml: '- sip-expiry:\n    state: on' },
    { title: 'Follow the node role', yaml: '- sip-expiry:\n    node_type: "{{ha_role}}"' },
    {
      title: 'Restore the values of a node without HA, on a real XiVO',
      yaml: '- sip-expiry:\n    state: off\n    db_password: !secret proformatique',
    },
  ],

  async plan(p, ctx) {
    if ((p.state === undefined) === (p.node_type === undefined)) {
      throw new TaskFailed(`sip-expiry needs exactly one of state, node_type${p.state !== undefined ? ' (got both)' : ''}`);
    }
    const { flavour, on, want } = wantedExpiry(p, ctx.host.vars);
    if (p.db_password) ctx.secret(p.db_password);
    const t = ctx.transport;
    const rows = await withDb(t, dbOptionsOf(p, { readOnly: true }), readRows);
    const result: Vars = { flavour: flavour.name, state: on ? 'on' : 'off', expiry: want };
    if (rows === null) {
      return { changes: [], result: { ...result, expiry: null }, noop: 'no staticsip table in this database (chan_sip removed): no SIP expiry to set' };
    }
    const { before, differ } = compareRows(rows, want);
    result.before = before;
    if (!differ.length) return { changes: [], result, noop: `SIP expiry already ${KEYS.map((k) => `${k} ${want[k]}`).join(', ')}` };
    return {
      result,
      changes: [
        {
          summary: `set SIP expiry: ${differ.map((k) => `${k} ${before[k] ?? 'unset'} → ${want[k]}`).join(', ')}`,
          diff: { label: 'asterisk.staticsip (sip.conf, general)', before: format(before), after: format(want) },
          apply: async () => {
            await withDb(t, dbOptionsOf(p), async (db) => {
              for (const k of differ) {
                const u = await db.query(`UPDATE staticsip SET var_val = $1, commented = 0 WHERE ${ROWS} AND var_name = $2`, [String(want[k]), k]);
                if (!u.rowCount) {
                  await db.query(
                    "INSERT INTO staticsip (cat_metric, var_metric, commented, filename, category, var_name, var_val) VALUES (0, 0, 0, 'sip.conf', 'general', $1, $2)",
                    [k, String(want[k])],
                  );
                }
              }
            });
          },
        },
      ],
    };
  },
});

/** The values asked for: state or node_type, the flavour's defaults, the overrides. */
export function wantedExpiry(p: SipExpiryParams, hostVars: Vars): { flavour: Flavour; on: boolean; want: SipExpiry } {
  if ((p.state === undefined) === (p.node_type === undefined)) {
    throw new TaskFailed(`sip-expiry needs exactly one of state, node_type${p.state !== undefined ? ' (got both)' : ''}`);
  }
  const flavour = flavourFor(p.flavour, hostVars);
  const on = p.state !== undefined ? p.state === 'on' : nodeTypeOf(p.node_type!) !== 'disabled';
  const base = on ? flavour.sipExpiry.ha : flavour.sipExpiry.off;
  const want: SipExpiry = {
    minexpiry: p.minexpiry ?? base.minexpiry,
    maxexpiry: p.maxexpiry ?? base.maxexpiry,
    defaultexpiry: p.defaultexpiry ?? base.defaultexpiry,
  };
  if (!(want.minexpiry <= want.defaultexpiry && want.defaultexpiry <= want.maxexpiry)) {
    throw new TaskFailed(`SIP expiry must be minexpiry <= defaultexpiry <= maxexpiry (got ${format(want).trim().replace(/\n/g, ', ')})`);
  }
  return { flavour, on, want };
}

/** The values found and the keys whose rows must change (missing, other value, or commented). */
export function compareRows(rows: Row[], want: SipExpiry): { before: ReturnType<typeof current>; differ: (typeof KEYS)[number][] } {
  const differ = KEYS.filter(
    (k) => rows.every((r) => r.var_name !== k) || rows.some((r) => r.var_name === k && (r.var_val !== String(want[k]) || r.commented !== 0)),
  );
  return { before: current(rows), differ };
}

export interface Row {
  var_name: string;
  var_val: string | null;
  commented: number;
}

async function readRows(db: Db): Promise<Row[] | null> {
  const exists = await db.query("SELECT to_regclass('public.staticsip') IS NOT NULL AS present");
  if (!exists.rows[0]?.present) return null;
  const r = await db.query(`SELECT var_name, var_val, commented FROM staticsip WHERE ${ROWS} AND var_name = ANY($1) ORDER BY id`, [[...KEYS]]);
  return r.rows as Row[];
}

function current(rows: Row[]): Partial<Record<(typeof KEYS)[number], number | string>> {
  const out: Partial<Record<(typeof KEYS)[number], number | string>> = {};
  for (const k of KEYS) {
    const r = rows.find((x) => x.var_name === k && x.commented === 0) ?? rows.find((x) => x.var_name === k);
    if (r) out[k] = r.var_val !== null && /^\d+$/.test(r.var_val) ? Number(r.var_val) : (r.var_val ?? '');
  }
  return out;
}

function format(v: { [k: string]: number | string | undefined } | SipExpiry): string {
  return KEYS.map((k) => `${k} = ${(v as Record<string, unknown>)[k] ?? '(unset)'}\n`).join('');
}
