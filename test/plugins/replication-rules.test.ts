// What replication copies and what it never copies, written out LITERALLY from the product
// documentation (shared/seeds: 000 for XiVO, 003 for Wazo; shared/domain.md §2 and §3 for the tables
// and directories behind each documented category), never read back from the constants the code uses:
// dropping a documented table or directory from the code must make a test here fail.
import test, { type ExecutionContext } from 'ava';
import { FakeTransport, type FakeRule } from '../../src/core/transport/fake.js';
import type { Vars } from '../../src/core/types.js';
import type { Catalog } from '../../src/plugins/pg-replicate/compare.js';
import { checkSchemas } from '../../src/plugins/pg-replicate/compare.js';
import { pgReplicate, replicatedSequences } from '../../src/plugins/pg-replicate/index.js';
import { rsync } from '../../src/plugins/rsync/index.js';
import { makeTaskContext, runPlugin, validateParams } from '../helpers/plugin-cases.js';

// ---------------------------------------------------------------------------------------------
// The database tables never copied to the standby. Seed 003 ("Replication Configuration": "these are
// excluded") names the categories; xivo-master-slave-db-replication's -T list (domain.md §2) names the
// tables. XiVO (seed 000) runs the same script, so the same list holds for both flavours.

const DOCUMENTED_EXCLUSIONS: Record<'xivo' | 'wazo', Record<string, string[]>> = {
  xivo: {
    'All the network configuration': ['netiface', 'resolvconf', 'mail', 'dhcp'],
    'All the support configuration': ['monitoring'],
    'Call logs': ['call_log', 'call_log_participant'],
    'Call center statistics': ['stat_agent', 'stat_agent_periodic', 'stat_call_on_queue', 'stat_queue', 'stat_queue_periodic'],
    'Queue logs': ['queue_log'],
    CELs: ['cel'],
    'web sessions (the script excludes them too)': ['session'],
  },
  wazo: {
    'All the network configuration': ['netiface', 'resolvconf', 'mail', 'dhcp'],
    'All the support configuration': ['monitoring'],
    'Call logs': ['call_log', 'call_log_participant'],
    'Call center statistics': ['stat_agent', 'stat_agent_periodic', 'stat_call_on_queue', 'stat_queue', 'stat_queue_periodic'],
    'Queue logs': ['queue_log'],
    CELs: ['cel'],
    'web sessions (the script excludes them too)': ['session'],
  },
};

/** Configuration the standby needs to serve: always copied (domain.md §2, "Not excluded"). */
const ALWAYS_COPIED = ['provisioning', 'infos', 'stat_switchboard_queue', 'staticsip', 'userfeatures', 'linefeatures', 'auth_user', 'auth_tenant'];

for (const flavour of ['xivo', 'wazo'] as const) {
  test(`replication (${flavour}): by default never copies the documented tables, each category by name`, (t) => {
    const p = validateParams(pgReplicate, {}) as { exclude: string[] };
    const excluded = new Set(p.exclude);
    for (const [category, tables] of Object.entries(DOCUMENTED_EXCLUSIONS[flavour])) {
      t.deepEqual(tables.filter((x) => !excluded.has(x)), [], `${category}: every table excluded`);
    }
    // And nothing else: an excluded configuration table would leave the standby serving stale settings.
    t.deepEqual([...excluded].sort(), Object.values(DOCUMENTED_EXCLUSIONS[flavour]).flat().sort());
  });

  test(`replication (${flavour}): the documented tables' sequences are not copied, configuration sequences are`, (t) => {
    const p = validateParams(pgReplicate, {}) as { exclude: string[] };
    const documented = Object.values(DOCUMENTED_EXCLUSIONS[flavour]).flat();
    const seqs = new Map<string, string | null>([...documented, ...ALWAYS_COPIED].map((table) => [`${table}_id_seq`, table]));
    const cat = { encoding: 'UTF8', collate: 'C.UTF-8', tables: new Map(), sequences: seqs, references: [] } as unknown as Catalog;
    t.deepEqual(replicatedSequences(cat, new Set(p.exclude)).sort(), ALWAYS_COPIED.map((x) => `${x}_id_seq`).sort());
  });
}

test('replication: a documented excluded table that exists only on the main (newer schema, dropped table) does not stop the copy', (t) => {
  const p = validateParams(pgReplicate, {}) as { exclude: string[] };
  const table = (name: string) => [name, { name, pk: ['id'], estimate: 1, columns: [{ name: 'id', type: 'integer' }] }] as const;
  const cat = (names: string[]) => ({ encoding: 'UTF8', collate: 'C.UTF-8', tables: new Map(names.map(table)), sequences: new Map(), references: [] }) as unknown as Catalog;
  t.notThrows(() => checkSchemas(cat(['userfeatures', 'resolvconf', 'netiface', 'monitoring']), cat(['userfeatures']), 'pbx-main', 'pbx-standby', new Set(p.exclude)));
});

// ---------------------------------------------------------------------------------------------
// Two fake hosts: the main (where pg-replicate and rsync run) and the standby.

const SEP = '@@haplay@@';
const probe = (conf: string | null, flags: string[], status = '') => `${conf ?? `${SEP}absent`}\n${SEP}\n${flags.map((f) => f + '\n').join('')}${SEP}\n${status}`;
const MASTER = '{"node_type": "master", "remote_address": "10.0.0.12"}';
const SLAVE = '{"node_type": "slave", "remote_address": "10.0.0.11"}';

interface Two {
  main: FakeTransport;
  standby: FakeTransport;
  warnings: string[];
  out?: Awaited<ReturnType<typeof runPlugin>>;
  err?: Error & { hint?: string };
}

async function runTwo(plugin: typeof rsync | typeof pgReplicate, params: unknown, o: { flavour?: string; main?: FakeRule[]; standby?: FakeRule[]; check?: boolean } = {}): Promise<Two> {
  const flavour = o.flavour ?? 'xivo';
  const main = new FakeTransport('pbx-main', o.main ?? []);
  const standby = new FakeTransport('pbx-standby', o.standby ?? []);
  const { ctx, warnings } = makeTaskContext(main, { flavour }, {
    check: o.check,
    transports: { 'pbx-standby': standby },
    groups: { pbx_main: ['pbx-main'], pbx_standby: ['pbx-standby'] },
    hostvars: { 'pbx-standby': { voip_address: '10.0.0.12', flavour } },
  });
  const r: Two = { main, standby, warnings };
  try {
    r.out = await runPlugin(plugin, params, ctx);
  } catch (e) {
    r.err = e as Two['err'];
  }
  return r;
}

test('replication refuses a standby whose is-secondary sentinel is gone, even though ha.conf says slave', async (t) => {
  const r = await runTwo(pgReplicate, {}, {
    main: [{ match: 'cat /etc/xivo/ha.conf', reply: { stdout: probe(MASTER, ['is-primary']) } }],
    standby: [{ match: 'cat /etc/xivo/ha.conf', reply: { stdout: probe(SLAVE, ['disabled'], 'inactive\n') } }],
  });
  t.regex(r.err?.message ?? '', /refusing to replicate pbx-main → pbx-standby: pbx-standby has no \/var\/lib\/wazo\/is-secondary sentinel although ha.conf says slave/);
  t.is(r.standby.commands.length, 1, 'only the probe ran on the standby');
});

// ---------------------------------------------------------------------------------------------
// rsync: the directories per flavour, written out from the documentation.

/** xivo-sync's directories (XiVO era, domain.md §3: the list XiVO kept; seed 000 names only the script). */
const XIVO_SYNC_DIRS = [
  '/etc/asterisk/extensions_extra.d',
  '/etc/xivo/asterisk',
  '/var/lib/asterisk/agi-bin',
  '/var/lib/asterisk/moh',
  '/var/lib/xivo/sounds/acd',
  '/var/lib/xivo/sounds/playback',
];
/** wazo-sync's directories: seed 003's list ("The following directories will then be rsync'ed every hour")... */
const WAZO_SYNC_DIRS_SEED = ['/etc/asterisk/extensions_extra.d', '/etc/xivo/asterisk', '/var/lib/asterisk/agi-bin', '/var/lib/asterisk/moh'];
/** ...plus the two wazo-sync's source adds (domain.md §3, HEAD)... */
const WAZO_SYNC_DIRS_SOURCE = ['/root/.config/wazo-auth-cli', '/var/lib/wazo-auth-keys'];
/** ...and seed 003's /var/lib/wazo/sounds/tenants, one directory per <tenant>/<subdir>, except monitor* and recording*. */
const TENANT_DIRS = [
  '/var/lib/wazo/sounds/tenants/t1/playback',
  '/var/lib/wazo/sounds/tenants/t1/monitor',
  '/var/lib/wazo/sounds/tenants/t1/recordings',
  '/var/lib/wazo/sounds/tenants/t2/acd',
  '/var/lib/wazo/sounds/tenants/t2/recording',
  '/var/lib/wazo/sounds/tenants/t2/monitoring',
];
const TENANT_SOUNDS = ['/var/lib/wazo/sounds/tenants/t1/playback', '/var/lib/wazo/sounds/tenants/t2/acd'];
const TENANT_RECORDINGS = [
  '/var/lib/wazo/sounds/tenants/t1/monitor',
  '/var/lib/wazo/sounds/tenants/t1/recordings',
  '/var/lib/wazo/sounds/tenants/t2/recording',
  '/var/lib/wazo/sounds/tenants/t2/monitoring',
];

const KEY_OK: FakeRule = { match: 'cat /root/.ssh/xivo_id_rsa.pub', reply: { stdout: 'ssh-rsa AAAAkey XiVO HA\n' } };
/** The source host has every path it is asked about, and the tenant directories above. */
const EVERYTHING_EXISTS: FakeRule = {
  match: /\[ -e /,
  reply: (cmd) => {
    const fixed = [...cmd.matchAll(/\[ -e '?([^' \]]+)'? \]/g)].map((m) => `P ${m[1]}\n`);
    const tenants = /for d in .*tenants/.test(cmd) ? TENANT_DIRS.map((d) => `T ${d}\n`) : [];
    return { stdout: fixed.join('') + tenants.join('') };
  },
};
const DRY_NOTHING: FakeRule = { match: /^rsync .*--dry-run/, reply: { stdout: '' } };

/** The paths of the rsync dry run, in order, from its command line. */
function syncedPaths(t: ExecutionContext, host: FakeTransport, direction: 'push' | 'pull'): string[] {
  const line = host.commands.find((c) => c.startsWith('rsync ') && c.includes('--dry-run'));
  t.truthy(line, host.commands.join('\n'));
  const args = (line ?? '').replace(/-e '[^']*'/, '').split(' ');
  return direction === 'push'
    ? args.filter((a) => a.startsWith('/'))
    : args.filter((a) => a.startsWith('root@10.0.0.12:')).map((a) => a.slice('root@10.0.0.12:'.length));
}

test('rsync (xivo): the main pushes exactly xivo-sync\'s directories to the standby', async (t) => {
  const r = await runTwo(rsync, {}, { main: [KEY_OK, EVERYTHING_EXISTS, DRY_NOTHING] });
  t.is(r.err, undefined);
  t.deepEqual(syncedPaths(t, r.main, 'push'), XIVO_SYNC_DIRS);
});

test('rsync (wazo): the main pushes wazo-sync\'s directories and every tenant sound directory, never the tenants\' monitor* and recording*', async (t) => {
  const r = await runTwo(rsync, {}, { flavour: 'wazo', main: [KEY_OK, EVERYTHING_EXISTS, DRY_NOTHING] });
  t.is(r.err, undefined);
  const paths = syncedPaths(t, r.main, 'push');
  t.deepEqual([...paths].sort(), [...WAZO_SYNC_DIRS_SEED, ...WAZO_SYNC_DIRS_SOURCE, ...TENANT_SOUNDS].sort());
});

test('failback (wazo): voicemail and recordings come back from the standby (tenant monitor*/recording* too), never the tenant sounds, and nothing is deleted on the main', async (t) => {
  const r = await runTwo(rsync, { direction: 'standby-to-main' }, { flavour: 'wazo', main: [KEY_OK, DRY_NOTHING], standby: [EVERYTHING_EXISTS] });
  t.is(r.err, undefined);
  t.deepEqual([...syncedPaths(t, r.main, 'pull')].sort(), ['/var/spool/asterisk/monitor', '/var/spool/asterisk/voicemail', ...TENANT_RECORDINGS].sort());
  t.false(r.main.commands.some((c) => c.includes('--delete')), 'the main keeps its older voicemail');
  t.true(r.standby.commands.some((c) => c.includes('for d in /var/lib/wazo/sounds/tenants/*/*')), 'the tenant directories are listed on the standby, the source');
});

test('failback (xivo): voicemail and recordings come back from the standby', async (t) => {
  const r = await runTwo(rsync, { direction: 'standby-to-main' }, { main: [KEY_OK, DRY_NOTHING], standby: [EVERYTHING_EXISTS] });
  t.is(r.err, undefined);
  t.deepEqual(syncedPaths(t, r.main, 'pull'), ['/var/spool/asterisk/voicemail', '/var/spool/asterisk/monitor']);
});

const ITEMISED = '>f+++++++++ var/spool/asterisk/voicemail/default/1001/INBOX/msg0001.txt\n';

test('rsync exit 24 (files vanished while copying, a voicemail deleted meanwhile) is not a failure: the sync is done, with a warning', async (t) => {
  const r = await runTwo(rsync, {}, {
    main: [
      KEY_OK,
      EVERYTHING_EXISTS,
      { match: /^rsync .*--dry-run/, reply: { stdout: ITEMISED } },
      { match: /^rsync /, reply: { code: 24, stdout: ITEMISED, stderr: 'file has vanished: "/var/spool/asterisk/voicemail/default/1001/INBOX/msg0002.txt"\nrsync warning: some files vanished before they could be transferred (code 24)' } },
    ],
  });
  t.is(r.err, undefined, r.err?.message);
  t.deepEqual(r.out?.plan.changes.map((c) => c.summary), ['sync pbx-main → pbx-standby: 1 file (1 new)']);
  t.like(r.out?.result as Vars, { files_changed: 1 });
  t.true(r.warnings.some((w) => /some files vanished.*code 24/.test(w)), r.warnings.join('\n'));
});

test('rsync exit 23 (some files could not be transferred) is a failure that says so', async (t) => {
  const r = await runTwo(rsync, {}, {
    main: [
      KEY_OK,
      EVERYTHING_EXISTS,
      { match: /^rsync .*--dry-run/, reply: { stdout: ITEMISED } },
      { match: /^rsync /, reply: { code: 23, stderr: 'rsync: send_files failed to open "/etc/xivo/asterisk/x.conf": Permission denied (13)\nrsync error: some files/attrs were not transferred (code 23)' } },
    ],
  });
  t.regex(r.err?.message ?? '', /rsync on pbx-main exited with 23: .*not transferred/);
});
