// rsync as data: the hosts' answers in, the plan, commands and refusals out, over fake transports
// (the main and the standby). Real rsync runs are tested in the lab (test/replication/).
import test from 'ava';
import type { FakeRule } from '../../src/core/transport/fake.js';
import { parseItemised, rsync, rsyncCommand } from '../../src/plugins/rsync/index.js';
import { runTwo, type TwoHostCase } from '../helpers/replication-pair.js';

const KEY_OK: FakeRule = { match: 'cat /root/.ssh/xivo_id_rsa.pub', reply: { stdout: 'ssh-rsa AAAAkey XiVO HA\n' } };
/** A fresh rule each time: the fake counts `times` down on the rule object itself. */
const noKey = (): FakeRule => ({ match: 'cat /root/.ssh/xivo_id_rsa.pub', reply: { stdout: '' }, times: 1 });
const XIVO_PRESENT: FakeRule = {
  match: /^\[ -e \/etc\/asterisk\/extensions_extra.d \]/,
  reply: { stdout: 'P /etc/asterisk/extensions_extra.d\nP /etc/xivo/asterisk\nP /var/lib/asterisk/agi-bin\nP /var/lib/asterisk/moh\n' },
};
const ITEMISED = [
  '*deleting   etc/asterisk/extensions_extra.d/old.conf',
  '.d..t...... etc/asterisk/extensions_extra.d/',
  '<f+++++++++ /etc/asterisk/extensions_extra.d/new.conf',
  '>f.st...... var/lib/asterisk/agi-bin/lab-agi.sh',
  'cd+++++++++ var/lib/asterisk/moh/jazz/',
  '',
].join('\n');

test('rsync: itemised output parsed into created, updated and deleted files', (t) => {
  t.deepEqual(parseItemised(ITEMISED), {
    created: ['/etc/asterisk/extensions_extra.d/new.conf', '/var/lib/asterisk/moh/jazz/'],
    updated: ['/etc/asterisk/extensions_extra.d/', '/var/lib/asterisk/agi-bin/lab-agi.sh'],
    deleted: ['/etc/asterisk/extensions_extra.d/old.conf'],
  });
  t.deepEqual(parseItemised('cL+++++++++ etc/x -> /y\n<f+++++++++ a b\n'), { created: ['/etc/x', '/a b'], updated: [], deleted: [] });
  t.deepEqual(parseItemised(''), { created: [], updated: [], deleted: [] });
});

test('rsync: command lines as xivo-sync builds them, push and pull', (t) => {
  const base = { paths: ['/etc/xivo/asterisk', '/var/lib/asterisk/moh'], exclude: ['*.tmp'], key: '/root/.ssh/xivo_id_rsa', remote: '10.0.0.12' };
  t.is(
    rsyncCommand({ ...base, delete: true, direction: 'main-to-standby', dryRun: true }),
    "rsync -aR --delete-after -i --dry-run '--exclude=*.tmp' -e 'ssh -i /root/.ssh/xivo_id_rsa -o PreferredAuthentications=publickey -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/root/.ssh/xivo_known_hosts -o BatchMode=yes -o ConnectTimeout=10 -o ControlMaster=auto -o ControlPath=/root/.ssh/haplay-%C -o ControlPersist=300 -o ServerAliveInterval=5 -o ServerAliveCountMax=2' /etc/xivo/asterisk /var/lib/asterisk/moh root@10.0.0.12:/",
  );
  t.regex(
    rsyncCommand({ ...base, exclude: [], delete: false, direction: 'standby-to-main', dryRun: false }),
    /^rsync -aR -i -e '[^']+' root@10.0.0.12:\/etc\/xivo\/asterisk root@10.0.0.12:\/var\/lib\/asterisk\/moh \/$/,
  );
});

const rsyncCases: TwoHostCase[] = [
  {
    title: 'dry run itemises changes: one change, applied by the real rsync',
    plugin: rsync,
    params: {},
    main: [KEY_OK, XIVO_PRESENT, { match: /^rsync .*--dry-run/, reply: { stdout: ITEMISED } }, { match: /^rsync /, reply: { stdout: ITEMISED } }],
    expect: {
      changes: ['sync pbx-main → pbx-standby: 5 files (2 new, 2 changed, 1 deleted)'],
      main: [
        'xivo_id_rsa.pub',
        '[ -e /var/lib/xivo/sounds/playback ]',
        /^rsync -aR --delete-after -i --dry-run -e .* \/etc\/asterisk\/extensions_extra.d \/etc\/xivo\/asterisk \/var\/lib\/asterisk\/agi-bin \/var\/lib\/asterisk\/moh root@10.0.0.12:\/$/,
        /^rsync -aR --delete-after -i -e .* root@10.0.0.12:\/$/,
      ],
      standby: [],
      result: { paths_absent: ['/var/lib/xivo/sounds/acd', '/var/lib/xivo/sounds/playback'], files_changed: 5 },
    },
  },
  {
    title: 'nothing itemised: ok, and why',
    plugin: rsync,
    params: { setup_key: true },
    main: [KEY_OK, XIVO_PRESENT, { match: /^rsync .*--dry-run/, reply: { stdout: '' } }],
    standbyFiles: { '/root/.ssh/authorized_keys': 'ssh-ed25519 CTRL control\nssh-rsa AAAAkey XiVO HA\n' },
    expect: { changes: [], noop: /pbx-standby already has the same files in 4 paths/, main: ['xivo_id_rsa.pub', '[ -e', '--dry-run'] },
  },
  {
    title: 'check mode: the files are reported, the real rsync never runs',
    plugin: rsync,
    params: {},
    check: true,
    main: [KEY_OK, XIVO_PRESENT, { match: /^rsync .*--dry-run/, reply: { stdout: ITEMISED } }],
    expect: { changes: ['sync pbx-main → pbx-standby: 5 files (2 new, 2 changed, 1 deleted)'], main: ['xivo_id_rsa.pub', '[ -e', '--dry-run'], result: { deleted: ['/etc/asterisk/extensions_extra.d/old.conf'] } },
  },
  {
    title: 'no HA key and no setup_key: a clear failure',
    plugin: rsync,
    params: {},
    main: [noKey()],
    expect: { error: /pbx-main has no HA key \/root\/.ssh\/xivo_id_rsa.*hint: set setup_key: true/ },
  },
  {
    title: 'setup_key: create the key, authorise it on the standby, then sync: three changes',
    plugin: rsync,
    params: { setup_key: true },
    main: [noKey(), XIVO_PRESENT, { match: 'ssh-keygen', reply: {} }, KEY_OK, { match: /^rsync /, reply: { stdout: '>f+++++++++ etc/xivo/asterisk/a.conf\n' } }],
    standby: [{ match: 'authorized_keys', reply: {} }],
    standbyFiles: { '/root/.ssh/authorized_keys': 'ssh-ed25519 CTRL control\n' },
    expect: {
      changes: [
        'create the HA key /root/.ssh/xivo_id_rsa on pbx-main',
        "authorise pbx-main's HA key on pbx-standby",
        'sync 4 paths pbx-main → pbx-standby (files not listed: the HA key is not authorised yet)',
      ],
      main: ['xivo_id_rsa.pub', '[ -e', "ssh-keygen -q -t rsa -N '' -C 'XiVO HA' -f /root/.ssh/xivo_id_rsa", 'cat /root/.ssh/xivo_id_rsa.pub', /^rsync -aR --delete-after -i -e/],
      standby: ['cat >> "$f"'],
      result: { created: ['/etc/xivo/asterisk/a.conf'] },
    },
  },
  {
    title: 'setup_key with the key already authorised: nothing to set up',
    plugin: rsync,
    params: { setup_key: true },
    main: [KEY_OK, XIVO_PRESENT, { match: /--dry-run/, reply: { stdout: '>f.s....... etc/xivo/asterisk/a.conf\n' } }, { match: /^rsync /, reply: {} }],
    standbyFiles: { '/root/.ssh/authorized_keys': 'ssh-rsa AAAAkey XiVO HA\n' },
    expect: { changes: ['sync pbx-main → pbx-standby: 1 file (1 changed)'] },
  },
  {
    title: 'wazo: tenant sounds expanded, monitor and recording left out',
    plugin: rsync,
    params: {},
    vars: { flavour: 'wazo' },
    main: [
      KEY_OK,
      {
        match: /for d in \/var\/lib\/wazo\/sounds\/tenants\/\*\/\*/,
        reply: { stdout: 'P /etc/xivo/asterisk\nT /var/lib/wazo/sounds/tenants/t1/playback\nT /var/lib/wazo/sounds/tenants/t1/monitor\nT /var/lib/wazo/sounds/tenants/t1/recordings\nT /var/lib/wazo/sounds/tenants/t2/acd\n' },
      },
      { match: /--dry-run/, reply: { stdout: '' } },
    ],
    expect: {
      result: { paths: ['/etc/xivo/asterisk', '/var/lib/wazo/sounds/tenants/t1/playback', '/var/lib/wazo/sounds/tenants/t2/acd'] },
      main: ['xivo_id_rsa.pub', '[ -e /root/.config/wazo-auth-cli ]', / \/etc\/xivo\/asterisk \/var\/lib\/wazo\/sounds\/tenants\/t1\/playback \/var\/lib\/wazo\/sounds\/tenants\/t2\/acd root@10.0.0.12:\/$/],
    },
  },
  {
    title: 'failback pulls from the standby, lists paths there, and does not delete by default',
    plugin: rsync,
    params: { direction: 'standby-to-main', exclude: ['*.tmp'] },
    main: [KEY_OK, { match: /--dry-run/, reply: { stdout: '>f+++++++++ var/spool/asterisk/voicemail/default/1001/INBOX/msg0001.txt\n' } }],
    standby: [{ match: '[ -e /var/spool/asterisk/voicemail ]', reply: { stdout: 'P /var/spool/asterisk/voicemail\n' } }],
    check: true,
    expect: {
      changes: ['sync pbx-standby → pbx-main: 1 file (1 new)'],
      main: ['xivo_id_rsa.pub', /^rsync -aR -i --dry-run '--exclude=\*.tmp' -e '[^']+' root@10.0.0.12:\/var\/spool\/asterisk\/voicemail \/$/],
    },
  },
  {
    title: 'given paths absent on the source are skipped; none left: ok',
    plugin: rsync,
    params: { paths: ['/nowhere'] },
    main: [KEY_OK, { match: '[ -e /nowhere ]', reply: { stdout: '' } }],
    expect: { changes: [], noop: /nothing to sync: none of \/nowhere exists on pbx-main/ },
  },
  {
    title: 'ssh refused: the failure says how to authorise the key',
    plugin: rsync,
    params: {},
    main: [KEY_OK, XIVO_PRESENT, { match: /--dry-run/, reply: { code: 255, stderr: 'root@10.0.0.12: Permission denied (publickey).\nrsync: connection unexpectedly closed' } }],
    expect: { error: /rsync on pbx-main exited with 255: .*Permission denied.*hint: pbx-main must reach pbx-standby over SSH with its HA key: set setup_key: true/ },
  },
];
for (const c of rsyncCases) test(`rsync: ${c.title}`, (t) => runTwo(t, c));
