import test from 'ava';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { file } from '../../src/plugins/file/index.js';
import { LocalTransport } from '../../src/core/transport/local.js';
import type { FakeRule } from '../../src/core/transport/fake.js';
import { makeTaskContext, runCase, runCases, runPlugin } from '../helpers/plugin-cases.js';

interface Seen {
  type: 'file' | 'directory' | 'link' | 'absent';
  mode?: string;
  owner?: string;
  group?: string;
  uid?: number;
  gid?: number;
  content?: string | Buffer;
  parent?: boolean;
}

/** How the host answers the file probe for one path. */
function has(path: string, s: Seen): FakeRule {
  const lines = [`${s.type} ${s.parent === false ? 0 : 1}`];
  if (s.type !== 'absent') {
    lines.push(`${s.mode ?? '644'} ${s.owner ?? 'root'} ${s.group ?? 'root'} ${s.uid ?? 0} ${s.gid ?? 0}`);
    if (s.content !== undefined) lines.push(Buffer.from(s.content).toString('base64'));
  }
  return { match: (c) => c.startsWith(`p=${path}\n`), reply: { stdout: lines.join('\n') + '\n' } };
}
const changesOk: FakeRule = { match: /^(chmod|chown|chgrp|mkdir|rm) /, reply: {} };
const probe = (path: string) => `p=${path}\n`;

const HA = '/etc/xivo/ha.conf';
const conf = '{"node_type": "master", "remote_address": "10.77.0.12"}';

runCases(test, [
  {
    title: 'a missing file is created with its content',
    plugin: file,
    params: { path: HA, content: conf, mode: '0644' },
    host: [has(HA, { type: 'absent' })],
    expect: {
      changes: [`create ${HA}`],
      commands: [probe(HA)],
      diffs: [{ before: '', after: conf }],
      files: { [HA]: conf },
      result: { path: HA, state: 'file', mode: '0644' },
    },
  },
  {
    title: 'the same content and mode: nothing to do, and it says why',
    plugin: file,
    params: { path: HA, content: conf, mode: '0644' },
    host: [has(HA, { type: 'file', content: conf })],
    expect: { changes: [], noop: `${HA} already has this content with mode 0644`, commands: [/base64 -w 0/] },
  },
  {
    title: 'other content is rewritten, with a before/after diff',
    plugin: file,
    params: { path: HA, content: conf },
    host: [has(HA, { type: 'file', content: '{"node_type": "disabled"}' })],
    files: { [HA]: '{"node_type": "disabled"}' },
    expect: {
      changes: [`write ${HA}`],
      diffs: [{ before: '{"node_type": "disabled"}', after: conf }],
      files: { [HA]: conf },
    },
  },
  {
    title: 'content and mode both differ: one write that names the mode change',
    plugin: file,
    params: { path: HA, content: conf, mode: '0640', owner: 'root' },
    host: [has(HA, { type: 'file', mode: '600', content: 'old' })],
    expect: { changes: [`write ${HA} (mode 0600 → 0640)`], commands: [probe(HA)] },
  },
  {
    title: 'only the mode differs: chmod, with an attribute diff',
    plugin: file,
    params: { path: HA, content: conf, mode: '0644' },
    host: [has(HA, { type: 'file', mode: '600', content: conf }), changesOk],
    expect: {
      changes: [`${HA}: mode 0600 → 0644`],
      commands: [probe(HA), `chmod 0644 -- ${HA}`],
      diffs: [{ before: 'mode 0600\n', after: 'mode 0644\n' }],
    },
  },
  {
    title: 'owner and group by name',
    plugin: file,
    params: { path: '/var/lib/wazo', state: 'directory', owner: 'asterisk', group: 'www-data' },
    host: [has('/var/lib/wazo', { type: 'directory', owner: 'root', group: 'root' }), changesOk],
    expect: {
      changes: ['/var/lib/wazo: owner root → asterisk, group root → www-data'],
      commands: [probe('/var/lib/wazo'), 'chown -- asterisk:www-data /var/lib/wazo'],
    },
  },
  {
    title: 'owner by numeric id matches the uid',
    plugin: file,
    params: { path: '/var/lib/wazo', state: 'directory', owner: '107', group: '0' },
    host: [has('/var/lib/wazo', { type: 'directory', owner: 'asterisk', uid: 107 })],
    expect: { changes: [], noop: '/var/lib/wazo is already a directory with owner 107, group 0' },
  },
  {
    title: 'only the group: chgrp',
    plugin: file,
    params: { path: HA, group: 'asterisk' },
    host: [has(HA, { type: 'file' }), changesOk],
    expect: { changes: [`${HA}: group root → asterisk`], commands: [probe(HA), `chgrp -- asterisk ${HA}`] },
  },
  {
    title: 'a mode written as a YAML 1.2 number means the octal digits',
    plugin: file,
    params: { path: HA, mode: 644 },
    host: [has(HA, { type: 'file', mode: '600' }), changesOk],
    expect: { changes: [`${HA}: mode 0600 → 0644`], commands: [probe(HA), 'chmod 0644'] },
  },
  {
    title: 'setuid bits are kept in four digits',
    plugin: file,
    params: { path: '/usr/local/bin/x', mode: '0o4755' },
    host: [has('/usr/local/bin/x', { type: 'file', mode: '755' }), changesOk],
    expect: { changes: ['/usr/local/bin/x: mode 0755 → 4755'] },
  },
  {
    title: 'a mode that is not octal is refused',
    plugin: file,
    params: { path: HA, mode: '0999' },
    expect: { error: /mode 999 is not an octal permission/ },
  },
  {
    title: 'a missing parent directory fails unless create_dirs',
    plugin: file,
    params: { path: '/etc/haplay/ha.conf', content: 'x' },
    host: [has('/etc/haplay/ha.conf', { type: 'absent', parent: false })],
    expect: { error: /^directory \/etc\/haplay does not exist$/ },
  },
  {
    title: 'create_dirs plans the parent directory first',
    plugin: file,
    params: { path: '/etc/haplay/ha.conf', content: 'x', create_dirs: true },
    host: [has('/etc/haplay/ha.conf', { type: 'absent', parent: false }), changesOk],
    expect: {
      changes: ['create directory /etc/haplay', 'create /etc/haplay/ha.conf'],
      commands: [probe('/etc/haplay/ha.conf'), 'mkdir -p -- /etc/haplay'],
      files: { '/etc/haplay/ha.conf': 'x' },
    },
  },
  {
    title: 'touch creates an empty file',
    plugin: file,
    params: { path: '/var/lib/wazo/is-primary', state: 'touch' },
    host: [has('/var/lib/wazo/is-primary', { type: 'absent' })],
    expect: { changes: ['create empty /var/lib/wazo/is-primary'], files: { '/var/lib/wazo/is-primary': '' } },
  },
  {
    title: 'touch leaves an existing file alone (and reads no content)',
    plugin: file,
    params: { path: '/var/lib/wazo/is-primary', state: 'touch' },
    host: [has('/var/lib/wazo/is-primary', { type: 'file' })],
    expect: { changes: [], commands: [/^(?![\s\S]*base64)/], noop: '/var/lib/wazo/is-primary exists' },
  },
  {
    title: 'directory with mode is created in one command',
    plugin: file,
    params: { path: '/var/backups/haplay', state: 'directory', mode: '0750' },
    host: [has('/var/backups/haplay', { type: 'absent', parent: false }), changesOk],
    expect: {
      changes: ['create directory /var/backups/haplay'],
      commands: [probe('/var/backups/haplay'), 'mkdir -p -- /var/backups/haplay && chmod 0750 -- /var/backups/haplay'],
      result: { state: 'directory', mode: '0750' },
    },
  },
  {
    title: 'a file where a directory is wanted fails',
    plugin: file,
    params: { path: '/var/lib/wazo', state: 'directory' },
    host: [has('/var/lib/wazo', { type: 'file' })],
    expect: { error: /^\/var\/lib\/wazo is a file, not a directory$/ },
  },
  {
    title: 'a directory where a file is wanted fails',
    plugin: file,
    params: { path: '/etc/cron.d', content: 'x' },
    host: [has('/etc/cron.d', { type: 'directory' })],
    expect: { error: /is a directory, not a file/ },
  },
  {
    title: 'absent removes a file',
    plugin: file,
    params: { path: '/etc/cron.d/xivo-ha-master', state: 'absent' },
    host: [has('/etc/cron.d/xivo-ha-master', { type: 'file' }), changesOk],
    expect: {
      changes: ['remove /etc/cron.d/xivo-ha-master'],
      commands: [probe('/etc/cron.d/xivo-ha-master'), 'rm -f -- /etc/cron.d/xivo-ha-master'],
      result: { state: 'absent' },
    },
  },
  {
    title: 'absent removes a directory recursively and says so',
    plugin: file,
    params: { path: '/tmp/replication', state: 'absent' },
    host: [has('/tmp/replication', { type: 'directory' }), changesOk],
    expect: {
      changes: ['remove directory /tmp/replication and everything in it (rm -rf)'],
      commands: [probe('/tmp/replication'), 'rm -rf -- /tmp/replication'],
    },
  },
  {
    title: 'absent and already gone',
    plugin: file,
    params: { path: '/etc/cron.d/xivo-ha-slave', state: 'absent' },
    host: [has('/etc/cron.d/xivo-ha-slave', { type: 'absent' })],
    expect: { changes: [], noop: '/etc/cron.d/xivo-ha-slave is already absent' },
  },
  {
    title: 'present without content on a missing file fails with a hint',
    plugin: file,
    params: { path: HA, mode: '0644' },
    host: [has(HA, { type: 'absent' })],
    expect: { error: /^\/etc\/xivo\/ha.conf does not exist$/ },
  },
  {
    title: 'symbolic links are not followed',
    plugin: file,
    params: { path: HA, content: conf },
    host: [has(HA, { type: 'link' })],
    expect: { error: /is a symbolic link/ },
  },
  {
    title: 'content with state touch is refused',
    plugin: file,
    params: { path: HA, content: conf, state: 'touch' },
    expect: { error: /content only goes with state: present \(got state: touch\)/, commands: [] },
  },
  {
    title: 'content and src together are refused',
    plugin: file,
    params: { path: HA, content: conf, src: 'ha.conf' },
    expect: { error: /give only one of content, src and template \(got content and src\)/ },
  },
  {
    title: 'a relative path is refused by the schema',
    plugin: file,
    params: { path: 'etc/ha.conf', content: conf },
    expect: { error: /file\.path: must match pattern "\^\/"/ },
  },
  {
    title: 'check mode plans but writes and runs nothing',
    plugin: file,
    params: { path: HA, content: conf, mode: '0640' },
    host: [has(HA, { type: 'file', mode: '600', content: 'old' })],
    files: { [HA]: 'old' },
    check: true,
    expect: { changes: [`write ${HA} (mode 0600 → 0640)`], commands: [probe(HA)], files: { [HA]: 'old' } },
  },
  {
    title: 'a template renders host variables',
    plugin: file,
    params: { path: '/etc/cron.d/xivo-ha-slave', template: 'slave-cron.hbs' },
    vars: { playbook_dir: new URL('./fixtures', import.meta.url).pathname, main_ip: '10.77.0.11' },
    host: [has('/etc/cron.d/xivo-ha-slave', { type: 'absent' })],
    expect: {
      changes: ['create /etc/cron.d/xivo-ha-slave'],
      files: { '/etc/cron.d/xivo-ha-slave': '* * * * * root /usr/sbin/xivo-check-master-status 10.77.0.11 >/dev/null\n' },
    },
  },
  {
    title: 'a template with an undefined variable fails before the host is read',
    plugin: file,
    params: { path: '/etc/cron.d/xivo-ha-slave', template: 'slave-cron.hbs' },
    vars: { playbook_dir: new URL('./fixtures', import.meta.url).pathname },
    expect: { error: /variable "main_ip" is not defined/, commands: [] },
  },
  {
    title: 'a missing src names the local path',
    plugin: file,
    params: { path: HA, src: 'nope.conf' },
    vars: { playbook_dir: '/nonexistent/playbooks' },
    expect: { error: /^src \/nonexistent\/playbooks\/nope\.conf not found on the control machine$/ },
  },
]);

test('file: binary src is compared and copied byte for byte', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'haplay-file-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 0xc3]);
  await writeFile(join(dir, 'blob.bin'), bytes);
  const base = { title: 'binary', plugin: file, params: { path: '/srv/blob.bin', src: 'blob.bin' }, vars: { playbook_dir: dir } };
  await runCase(t, {
    ...base,
    host: [has('/srv/blob.bin', { type: 'file', content: Buffer.from([0, 1, 2, 255, 254, 10, 0xc4]) })],
    expect: { changes: ['write /srv/blob.bin'], diffs: [{ before: '(binary, 7 bytes)\n', after: '(binary, 7 bytes)\n' }] },
  });
  await runCase(t, { ...base, host: [has('/srv/blob.bin', { type: 'file', content: bytes })], expect: { changes: [] } });
});

// Real runs on this machine (as root in CI and the lab): the second run plans nothing, and check
// mode predicts the first run exactly without touching the disk.
async function realThrice(t: import('ava').ExecutionContext, params: Record<string, unknown>, vars = {}) {
  const local = new LocalTransport();
  const check = await runPlugin(file, params, makeTaskContext(local, vars, { check: true }).ctx);
  const afterCheck = await snapshot(String(params.path));
  const first = await runPlugin(file, params, makeTaskContext(local, vars).ctx);
  const second = await runPlugin(file, params, makeTaskContext(local, vars).ctx);
  const summaries = (p: typeof first) => p.plan.changes.map((c) => c.summary);
  t.deepEqual(summaries(check), summaries(first), 'check mode predicted the first run');
  t.deepEqual(summaries(second), [], 'the second run has nothing to do');
  t.truthy(second.plan.noop);
  return { check, first, second, afterCheck };
}

async function snapshot(path: string): Promise<{ mode: number; uid: number; data?: Buffer } | null> {
  try {
    const s = await stat(path);
    return { mode: s.mode & 0o7777, uid: s.uid, data: s.isFile() ? await readFile(path) : undefined };
  } catch {
    return null;
  }
}

test('file: real content, mode and create_dirs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'haplay-file-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'etc/xivo/ha.conf');
  const r = await realThrice(t, { path, content: 'ünïcode\n', mode: '0600', create_dirs: true });
  t.is(r.afterCheck, null, 'check mode created nothing');
  t.deepEqual(r.first.plan.changes.map((c) => c.summary), [`create directory ${join(dir, 'etc/xivo')}`, `create ${path}`]);
  t.deepEqual(await snapshot(path), { mode: 0o600, uid: 0, data: Buffer.from('ünïcode\n') });

  // Someone changes the mode and the content by hand: one write puts both back.
  await writeFile(path, 'edited');
  await chmod(path, 0o644);
  const fix = await realThrice(t, { path, content: 'ünïcode\n', mode: '0600' });
  t.deepEqual(fix.first.plan.changes.map((c) => c.summary), [`write ${path} (mode 0644 → 0600)`]);
  t.deepEqual(fix.afterCheck, { mode: 0o644, uid: 0, data: Buffer.from('edited') }, 'check mode changed nothing');
  t.deepEqual(await snapshot(path), { mode: 0o600, uid: 0, data: Buffer.from('ünïcode\n') });
});

test('file: real directory with mode and owner, then absent', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'haplay-file-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'backups/pg');
  const r = await realThrice(t, { path, state: 'directory', mode: '0750', owner: 'nobody' });
  t.is(r.afterCheck, null);
  const s = await stat(path);
  t.true(s.isDirectory());
  t.is(s.mode & 0o7777, 0o750);
  t.not(s.uid, 0, 'owned by nobody');

  await writeFile(join(path, 'dump.sql'), 'data');
  const gone = await realThrice(t, { path, state: 'absent' });
  t.deepEqual(gone.first.plan.changes.map((c) => c.summary), [`remove directory ${path} and everything in it (rm -rf)`]);
  t.is(await snapshot(path), null);
});

test('file: real touch keeps the times of an existing file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'haplay-file-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'is-primary');
  await realThrice(t, { path, state: 'touch', mode: '0644' });
  t.deepEqual(await snapshot(path), { mode: 0o644, uid: 0, data: Buffer.alloc(0) });
  const before = (await stat(path)).mtimeMs;
  await new Promise((r) => setTimeout(r, 20));
  await runPlugin(file, { path, state: 'touch' }, makeTaskContext(new LocalTransport()).ctx);
  t.is((await stat(path)).mtimeMs, before);
});

test('file: real binary src survives the round trip', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'haplay-file-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'files'));
  const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
  await writeFile(join(dir, 'files/blob.bin'), bytes);
  const path = join(dir, 'out.bin');
  await realThrice(t, { path, src: 'files/blob.bin' }, { playbook_dir: dir });
  t.true((await readFile(path)).equals(bytes));
});
