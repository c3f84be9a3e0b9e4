import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { command } from '../../src/plugins/command.js';
import { LocalTransport } from '../../src/core/transport/local.js';
import { makeTaskContext, runCases, runPlugin } from '../helpers/plugin-cases.js';

runCases(test, [
  {
    title: 'free form runs the line as is',
    plugin: command,
    params: 'ls -l /etc/cron.d | wc -l',
    host: [{ match: 'ls -l', reply: { stdout: '3\n' } }],
    expect: {
      changes: ['run: ls -l /etc/cron.d | wc -l'],
      commands: [/^ls -l \/etc\/cron\.d \| wc -l$/],
      result: { stdout: '3\n', stderr: '', rc: 0, stdout_lines: ['3'], cmd: 'ls -l /etc/cron.d | wc -l' },
    },
  },
  {
    title: 'argv words are quoted for the shell',
    plugin: command,
    params: { argv: ['grep', 'host asterisk postgres', "/tmp/it's here"] },
    host: [{ match: 'grep', reply: { stdout: 'a\nb\n' } }],
    expect: {
      changes: [`run: grep 'host asterisk postgres' '/tmp/it'\\''s here'`],
      commands: [`grep 'host asterisk postgres' '/tmp/it'\\''s here'`],
      result: { stdout_lines: ['a', 'b'] },
    },
  },
  {
    title: 'chdir and env come before the command',
    plugin: command,
    params: { cmd: 'make install', chdir: '/opt/my dir', env: { PGHOST: '10.77.0.12', MSG: "it's" } },
    host: [{ match: 'make install', reply: {} }],
    expect: {
      changes: ['run: make install'],
      commands: [`cd '/opt/my dir' || exit 1\nexport PGHOST=10.77.0.12\nexport MSG='it'\\''s'\nmake install`],
    },
  },
  {
    title: 'stdin is fed to the command',
    plugin: command,
    params: { cmd: 'cat', stdin: 'hello\n' },
    host: [{ match: 'cat', reply: (_c, stdin) => ({ stdout: stdin.toUpperCase() }) }],
    expect: { result: { stdout: 'HELLO\n', rc: 0 } },
  },
  {
    title: 'creates: the path exists, nothing runs',
    plugin: command,
    params: { cmd: 'xivo-sync -i', creates: '/root/.ssh/xivo_id_rsa' },
    host: [{ match: "[ -e /root/.ssh/xivo_id_rsa ] && echo creates", reply: { stdout: 'creates\n' } }],
    expect: {
      changes: [],
      commands: ['[ -e /root/.ssh/xivo_id_rsa ] && echo creates'],
      noop: '/root/.ssh/xivo_id_rsa exists, so the command was not run',
      result: { rc: null, stdout: '' },
    },
  },
  {
    title: 'creates: the path is missing, the command runs after the guard',
    plugin: command,
    params: { cmd: 'xivo-sync -i', creates: '/root/.ssh/xivo_id_rsa' },
    host: [
      { match: 'echo creates', reply: { stdout: '' } },
      { match: 'xivo-sync -i', reply: { stdout: 'ok\n' } },
    ],
    expect: { changes: ['run: xivo-sync -i'], commands: ['echo creates', /^xivo-sync -i$/], result: { rc: 0 } },
  },
  {
    title: 'removes: relative to chdir, the path is missing, nothing runs',
    plugin: command,
    params: { cmd: 'rm stale.pid', chdir: '/run/app', removes: 'stale.pid' },
    host: [{ match: '[ -e /run/app/stale.pid ] || echo removes', reply: { stdout: 'removes\n' } }],
    expect: { changes: [], commands: ['/run/app/stale.pid'], noop: /does not exist/ },
  },
  {
    title: 'a refused exit code fails with stdout, stderr and rc in the data',
    plugin: command,
    params: 'systemctl is-active asterisk',
    host: [{ match: 'systemctl', reply: { stdout: 'inactive\n', stderr: '', code: 3 } }],
    expect: {
      error: /^command exited with 3: inactive$/,
      errorData: { rc: 3, stdout: 'inactive\n', stdout_lines: ['inactive'] },
    },
  },
  {
    title: 'expect_rc accepts other exit codes',
    plugin: command,
    params: { cmd: 'grep -q master /etc/xivo/ha.conf', expect_rc: [0, 1] },
    host: [{ match: 'grep', reply: { code: 1 } }],
    expect: { changes: ['run: grep -q master /etc/xivo/ha.conf'], result: { rc: 1 } },
  },
  {
    title: 'check mode runs nothing but registers a usable result',
    plugin: command,
    params: { cmd: 'xivo-service restart' },
    check: true,
    expect: {
      changes: ['run: xivo-service restart'],
      commands: [],
      result: { rc: null, skipped_in_check: true, stdout: '', stdout_lines: [] },
    },
  },
  {
    title: 'check mode still reads the guard',
    plugin: command,
    params: { cmd: 'xivo-sync -i', creates: '/root/.ssh/xivo_id_rsa' },
    check: true,
    host: [{ match: 'echo creates', reply: { stdout: '' } }],
    expect: { changes: ['run: xivo-sync -i'], commands: ['echo creates'], result: { skipped_in_check: true } },
  },
  {
    title: 'cmd and argv together are refused',
    plugin: command,
    params: { cmd: 'ls', argv: ['ls'] },
    expect: { error: /needs exactly one of cmd, argv \(got cmd and argv\)/, commands: [] },
  },
  {
    title: 'neither cmd nor argv is refused',
    plugin: command,
    params: { chdir: '/tmp' },
    expect: { error: /needs exactly one of cmd, argv$/ },
  },
  {
    title: 'unknown keys and wrong types are all reported by the schema',
    plugin: command,
    params: { cmd: 'ls', shell: true, expect_rc: '0' },
    expect: { error: /command\.shell: unknown key "shell".*command\.expect_rc: must be array/ },
  },
  {
    title: 'env names must be shell identifiers',
    plugin: command,
    params: { cmd: 'ls', env: { 'BAD-NAME': 'x' } },
    expect: { error: /property name must be valid|must match pattern/ },
  },
]);

// Real runs on this machine: a guarded command is idempotent and check mode predicts the first run.
test('command: real run with creates, twice, and check mode first', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'haplay-command-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const params = { cmd: 'printf "%s" "$GREETING" > out.txt', chdir: dir, creates: 'out.txt', env: { GREETING: 'bonjour' } };
  const local = new LocalTransport();

  const check = await runPlugin(command, params, makeTaskContext(local, {}, { check: true }).ctx);
  await t.throwsAsync(readFile(join(dir, 'out.txt')), { code: 'ENOENT' }, 'check mode wrote nothing');

  const first = await runPlugin(command, params, makeTaskContext(local).ctx);
  t.deepEqual(first.plan.changes.map((c) => c.summary), check.plan.changes.map((c) => c.summary));
  t.deepEqual(first.plan.changes.map((c) => c.summary), ['run: printf "%s" "$GREETING" > out.txt']);
  t.is(first.result.rc, 0);
  t.is(await readFile(join(dir, 'out.txt'), 'utf8'), 'bonjour');

  await writeFile(join(dir, 'out.txt'), 'touched by hand');
  const second = await runPlugin(command, params, makeTaskContext(local).ctx);
  t.deepEqual(second.plan.changes, []);
  t.regex(second.plan.noop ?? '', /out\.txt exists/);
  t.is(await readFile(join(dir, 'out.txt'), 'utf8'), 'touched by hand', 'the second run did not run the command');
});

test('command: real failing command reports rc, stderr and stdout_lines', async (t) => {
  const err = await t.throwsAsync(
    runPlugin(command, { argv: ['sh', '-c', 'echo one; echo two; echo oops >&2; exit 7'] }, makeTaskContext(new LocalTransport()).ctx),
  );
  t.is(err?.message, 'command exited with 7: oops');
  t.like((err as unknown as { data: object }).data, { rc: 7, stderr: 'oops\n', stdout_lines: ['one', 'two'] });
});

test('command: real stdin and chdir', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'haplay-command-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { result } = await runPlugin(command, { cmd: 'pwd; tr a-z A-Z', chdir: dir, stdin: 'abc' }, makeTaskContext(new LocalTransport()).ctx);
  t.deepEqual(result.stdout_lines, [dir, 'ABC']);
});
