// Facts on recorded output, as pyinfra tests its facts: what the host printed in, the parsed fact out.
// The commands themselves are checked by the plugin cases that use them.
import test from 'ava';
import { readFact } from '../../src/core/facts.js';
import { FakeTransport } from '../../src/core/transport/fake.js';
import type { Fact } from '../../src/core/types.js';
import { FLAVOURS } from '../../src/xivo/flavour.js';
import { fileState } from '../../src/plugins/file/state.js';
import { nodeState } from '../../src/plugins/pg-replicate/guards.js';

interface Case {
  title: string;
  fact: Fact<unknown>;
  /** The host's stdout, as recorded. */
  stdout: string;
  expect: unknown;
}

const HA = '/etc/xivo/ha.conf';
const SEP = '@@haplay@@';

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
