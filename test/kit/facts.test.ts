// Facts on recorded output, as pyinfra tests its facts: what the host printed in, the parsed fact out.
// The commands themselves are checked by the plugin cases that use them.
import test from 'ava';
import { readFact } from '../../src/core/facts.js';
import { FakeTransport } from '../../src/core/transport/fake.js';
import type { Fact } from '../../src/core/types.js';
import { FLAVOURS } from '../../src/xivo/flavour.js';
import { fileState } from '../../src/plugins/file/state.js';
import { haState } from '../../src/plugins/ha-config.js';
import { standbyState } from '../../src/plugins/ha-monitor/index.js';
import { nodeState } from '../../src/plugins/pg-replicate/guards.js';
import { provdConfigs } from '../../src/plugins/provd-template.js';
import { pathsToSync } from '../../src/plugins/rsync/index.js';

interface Case {
  title: string;
  fact: Fact<unknown>;
  /** The host's stdout, as recorded. */
  stdout: string;
  expect: unknown;
}

const HA = '/etc/xivo/ha.conf';
const SEP = '@@haplay@@';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const SLAVE_CONF = '{"node_type": "slave", "remote_address": "10.0.0.11"}';

const cases: Case[] = [
  { title: 'file: absent, parent present', fact: fileState(HA, false), stdout: 'absent 1\n', expect: { type: 'absent', parentExists: true } },
  {
    title: 'file: a regular file with its content',
    fact: fileState(HA, true),
    stdout: `file 1\n640 root www-data 0 33\n${Buffer.from('{"node_type": "master"}\n').toString('base64')}\n`,
    expect: { type: 'file', parentExists: true, mode: 0o640, owner: 'root', group: 'www-data', uid: 0, gid: 33, content: Buffer.from('{"node_type": "master"}\n') },
  },
  {
    title: 'file: a directory, content not asked',
    fact: fileState('/etc/xivo', false),
    stdout: 'directory 1\n755 root root 0 0\n',
    expect: { type: 'directory', parentExists: true, mode: 0o755, owner: 'root', group: 'root', uid: 0, gid: 0 },
  },
  {
    title: 'HA state: the main (ha.conf master, is-primary)',
    fact: nodeState('pbx-main', FLAVOURS.xivo, false),
    stdout: `{"node_type": "master", "remote_address": "10.0.0.12"}\n\n${SEP}\nis-primary\n${SEP}\n`,
    expect: { host: 'pbx-main', nodeType: 'master', haConf: '{"node_type": "master", "remote_address": "10.0.0.12"}', primary: true, secondary: false, disabledFlag: false, asteriskRunning: undefined },
  },
  {
    title: 'HA state: a standby with its services stopped',
    fact: nodeState('pbx-standby', FLAVOURS.xivo, true),
    stdout: `{"node_type": "slave", "remote_address": "10.0.0.11"}\n\n${SEP}\nis-secondary\ndisabled\n${SEP}\ninactive\n`,
    expect: { host: 'pbx-standby', nodeType: 'slave', haConf: '{"node_type": "slave", "remote_address": "10.0.0.11"}', primary: false, secondary: true, disabledFlag: true, asteriskRunning: false },
  },
  {
    title: 'HA state: no ha.conf is a node without HA',
    fact: nodeState('pbx', FLAVOURS.wazo, false),
    stdout: `${SEP}absent\n\n${SEP}\n${SEP}\n`,
    expect: { host: 'pbx', nodeType: 'disabled', haConf: null, primary: false, secondary: false, disabledFlag: false, asteriskRunning: undefined },
  },
  {
    title: 'HA files: a standby, telephony not checked',
    fact: haState(FLAVOURS.xivo, false),
    stdout: [
      'P\t/etc/postgresql/15/main',
      `F\t${HA}\t${b64(SLAVE_CONF)}`,
      'A\t/etc/cron.d/xivo-ha-master',
      `F\t/etc/cron.d/xivo-ha-slave\t${b64('0 * * * * root xivo-sync\n')}`,
      `F\t/etc/postgresql/15/main/pg_hba.conf\t${b64('host asterisk postgres 10.0.0.11/32 trust\n')}`,
      'A\t/etc/postgresql/15/main/postgresql.conf',
      'S\t/var/lib/wazo/is-secondary',
      'T\tunchecked',
      '',
    ].join('\n'),
    expect: {
      pgDir: '/etc/postgresql/15/main',
      files: new Map<string, Buffer | null>([
        [HA, Buffer.from(SLAVE_CONF)],
        ['/etc/cron.d/xivo-ha-master', null],
        ['/etc/cron.d/xivo-ha-slave', Buffer.from('0 * * * * root xivo-sync\n')],
        ['/etc/postgresql/15/main/pg_hba.conf', Buffer.from('host asterisk postgres 10.0.0.11/32 trust\n')],
        ['/etc/postgresql/15/main/postgresql.conf', null],
      ]),
      primary: false,
      secondary: true,
      telephony: 'unchecked',
    },
  },
  {
    title: 'provd configs: ha.conf absent, two registrar configs',
    fact: provdConfigs('/var/lib/xivo-provd/jsondb/configs', 'all'),
    stdout: `A\t${HA}\nF\t/var/lib/xivo-provd/jsondb/configs/default\t${b64('{"X": 1}')}\nF\t/var/lib/xivo-provd/jsondb/configs/registrar-ha\t${b64('{}')}\n`,
    expect: new Map<string, Buffer | null>([
      [HA, null],
      ['/var/lib/xivo-provd/jsondb/configs/default', Buffer.from('{"X": 1}')],
      ['/var/lib/xivo-provd/jsondb/configs/registrar-ha', Buffer.from('{}')],
    ]),
  },
  {
    title: "standby state: a standby whose services are stopped by xivo-manage-slave-services",
    fact: standbyState(FLAVOURS.xivo),
    stdout: `@ha ${SLAVE_CONF}\n@secondary\n@disabled\nChecking services...\n\tstopped\t\tasterisk\n\tstopped\t\txivo-agid\n@rc 1\n`,
    expect: { ha: { node_type: 'slave', remote_address: '10.0.0.11' }, secondary: true, disabled: true, units: { asterisk: 'stopped', 'xivo-agid': 'stopped' }, running: false, stopped: true },
  },
  {
    title: 'standby state: no ha.conf, telephony running',
    fact: standbyState(FLAVOURS.wazo),
    stdout: '\trunning\t\tasterisk\n@rc 0\n',
    expect: { ha: null, secondary: false, disabled: false, units: { asterisk: 'running' }, running: true, stopped: false },
  },
  {
    title: 'paths to sync: the ones present, tenant sound folders listed',
    fact: pathsToSync(['/etc/asterisk/extensions_extra.d', '/var/lib/asterisk/moh'], '/var/lib/wazo/sounds/tenants'),
    stdout: 'P /etc/asterisk/extensions_extra.d\nT /var/lib/wazo/sounds/tenants/t1/monitor\nT /var/lib/wazo/sounds/tenants/t1/playback\n',
    expect: { present: ['/etc/asterisk/extensions_extra.d'], tenant: ['/var/lib/wazo/sounds/tenants/t1/monitor', '/var/lib/wazo/sounds/tenants/t1/playback'] },
  },
];

for (const c of cases) test(c.title, (t) => t.deepEqual(c.fact.parse(c.stdout), c.expect));

test('a fact whose command fails fails the task with its last line of stderr', async (t) => {
  const host = new FakeTransport('pbx1').on(/^p=/, { code: 1, stderr: 'stat: warning\nstat: Permission denied\n' });
  const e = await t.throwsAsync(readFact(host, fileState(HA, false)));
  t.is(e!.message, `cannot read the state of ${HA} on pbx1: stat: Permission denied`);
  t.deepEqual(host.commands, [fileState(HA, false).command]);
});

test('an unexpected answer is not read as absent', (t) => {
  t.throws(() => fileState(HA, false).parse('bash: stat: command not found\n'), { message: /unexpected answer/ });
});

test('a fact that exits 3 says what is not installed, with its hint', async (t) => {
  const host = new FakeTransport('pbx1').on(/pgdir=/, { code: 3, stderr: 'no PostgreSQL cluster under /etc/postgresql/<version>/main\n' });
  const e = await t.throwsAsync(readFact(host, haState(FLAVOURS.xivo, true)));
  t.is(e!.message, 'no PostgreSQL cluster under /etc/postgresql/<version>/main on pbx1');
  t.is((e as unknown as { hint: string }).hint, 'is PostgreSQL installed?');
});
