import test from 'ava';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockHost, LOCK_DIR } from '../src/core/lock.js';
import { LocalTransport } from '../src/core/transport/local.js';
import { run, statuses } from './helpers/engine.js';
import type { FakeTransport } from '../src/core/transport/fake.js';
import type { Plugin } from '../src/core/types.js';

const scratch = mkdtempSync(join(tmpdir(), 'haplay-lock-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));
/** The lock's directory for these tests: created by lockHost itself, inside a private scratch folder. */
const dir = join(scratch, 'run-haplay');

test.serial('a second run cannot take a held lock: it waits, then names the holder; release frees it', async (t) => {
  const a = new LocalTransport('ctl');
  const first = await lockHost(a, 'replicate.yml (pid 1 on ctl-a)', 1, { dir });
  const started = Date.now();
  const err = await t.throwsAsync(lockHost(new LocalTransport('ctl'), 'failover.yml', 1, { dir }));
  t.true(Date.now() - started >= 900, 'it waited');
  t.is((err as { code?: string }).code, 'E_LOCKED');
  t.regex(err!.message, /ctl is busy: another haplay run holds its lock: replicate\.yml \(pid 1 on ctl-a\)/);
  first.release();
  const again = await lockHost(new LocalTransport('ctl'), 'failover.yml', 5, { dir });
  again.release();
  t.pass();
});

test.serial('the lock is released when the holder dies (no stale lock after a crash)', async (t) => {
  const { spawn } = await import('node:child_process');
  // A holder in another process that is then killed hard.
  const child = spawn(process.execPath, ['--import=tsx', '-e', `
    import('${new URL('../src/core/lock.ts', import.meta.url).pathname}').then(async ({ lockHost }) => {
      const { LocalTransport } = await import('${new URL('../src/core/transport/local.ts', import.meta.url).pathname}');
      await lockHost(new LocalTransport('ctl'), 'doomed', 1, { dir: ${JSON.stringify(dir)} });
      console.log('held');
      setInterval(() => {}, 1000);
    });`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout!.on('data', (b) => b.toString().includes('held') && resolve()));
  child.kill('SIGKILL');
  const l = await lockHost(new LocalTransport('ctl'), 'next', 5, { dir });
  l.release();
  t.pass();
});

test.serial('a run that stops answering (network gone) loses its lock after the hold time', async (t) => {
  // No heartbeat ever arrives: as if the network between the run and the host died.
  const silent = await lockHost(new LocalTransport('ctl'), 'cut off', 1, { heartbeatMs: 3_600_000, holdSeconds: 2, dir });
  const err = await t.throwsAsync(lockHost(new LocalTransport('ctl'), 'next', 0, { dir }));
  t.is((err as { code?: string }).code, 'E_LOCKED');
  const next = await lockHost(new LocalTransport('ctl'), 'next', 6, { dir });
  next.release();
  silent.release();
});

test.serial('a run that keeps answering keeps its lock past the hold time', async (t) => {
  const alive = await lockHost(new LocalTransport('ctl'), 'busy run', 1, { heartbeatMs: 300, holdSeconds: 1, dir });
  await new Promise((r) => setTimeout(r, 2500));
  const err = await t.throwsAsync(lockHost(new LocalTransport('ctl'), 'next', 0, { dir }));
  t.regex(err!.message, /busy run/);
  alive.release();
});

test.serial('the engine stops the whole run with exit code 5 when a host is locked, before any change', async (t) => {
  const r = await run(`
- hosts: g
  tasks: [{ name: change, kv: { key: k, value: v } }]
`, {
    lock: true,
    setup: (h, f) => {
      f.on('flock', h === 'b' ? { code: 75 } : { stdout: 'HAPLAY_LOCKED\n' });
      f.files.set(`${LOCK_DIR}/haplay.owner`, { data: Buffer.from('replicate.yml (pid 42 on ctl)\n') });
    },
  });
  t.is(r.code, 5);
  t.deepEqual(statuses(r, 'change'), {});
  t.true(r.events.some((e) => e.type === 'warning' && /b is busy: another haplay run holds its lock: replicate\.yml \(pid 42 on ctl\)/.test(e.message)));
  t.false([...r.hosts.values()].some((f) => f.files.has('/kv/k')));
});

test.serial('the lock directory is created private (0700, ours) and holds the lock and its owner', async (t) => {
  const own = join(scratch, 'fresh', 'haplay');
  const l = await lockHost(new LocalTransport('ctl'), 'site.yml (pid 7)', 1, { dir: own });
  const st = statSync(own);
  t.is(st.mode & 0o777, 0o700);
  t.is(st.uid, process.getuid!());
  t.is(readFileSync(join(own, 'haplay.owner'), 'utf8'), 'site.yml (pid 7)\n');
  l.release();
  t.is(LOCK_DIR, '/run/haplay', 'not world-writable /run/lock');
});

/** A lock directory planted or loosened by someone else: refused, nothing written through it. */
const HOSTILE_DIRS: { title: string; make: (d: string, victim: string) => void }[] = [
  { title: 'a symlink to another directory', make: (d, victim) => symlinkSync(victim, d) },
  { title: 'world-writable', make: (d) => (mkdirSync(d), chmodSync(d, 0o777)) },
  { title: 'group-writable', make: (d) => (mkdirSync(d), chmodSync(d, 0o770)) },
  { title: 'owned by another user', make: (d) => (mkdirSync(d, { mode: 0o700 }), chownSync(d, 65534, 65534)) },
  { title: 'a regular file', make: (d) => writeFileSync(d, 'x') },
  { title: 'private, but its owner file is a symlink', make: (d, victim) => (mkdirSync(d, { mode: 0o700 }), symlinkSync(join(victim, 'passwd'), join(d, 'haplay.owner'))) },
  { title: 'private, but its lock file is a symlink', make: (d, victim) => (mkdirSync(d, { mode: 0o700 }), symlinkSync(join(victim, 'passwd'), join(d, 'haplay.lock'))) },
];

for (const [i, h] of HOSTILE_DIRS.entries()) {
  test.serial(`a lock directory that is ${h.title} is refused (E_LOCK_UNSAFE), nothing written through it`, async (t) => {
    const victim = join(scratch, `victim-${i}`);
    mkdirSync(victim);
    writeFileSync(join(victim, 'passwd'), 'root:x:0:0\n');
    const d = join(scratch, `hostile-${i}`);
    h.make(d, victim);
    const err = await t.throwsAsync(lockHost(new LocalTransport('ctl'), 'intruded.yml', 1, { dir: d }));
    t.is((err as { code?: string }).code, 'E_LOCK_UNSAFE', err?.message);
    t.regex(err!.message, /not private/);
    t.is(readFileSync(join(victim, 'passwd'), 'utf8'), 'root:x:0:0\n', 'the file a symlink points to is untouched');
    t.false(existsSync(join(victim, 'haplay.lock')));
    t.false(existsSync(join(victim, 'haplay.owner')));
  });
}

test.serial('a host whose lock directory is not private fails its tasks and is not changed; the others go on', async (t) => {
  const r = await run(`
- hosts: g
  tasks: [{ name: change, kv: { key: k, value: v } }]
`, {
    lock: true,
    setup: (h, f) => void f.on('flock', h === 'b' ? { code: 76, stderr: '/run/haplay is writable by its group or by everyone (mode 777)\n' } : { stdout: 'HAPLAY_LOCKED\n' }),
  });
  t.is(r.code, 2);
  t.deepEqual(statuses(r, 'change'), { a: 'changed', b: 'failed', c: 'changed' });
  t.false(r.hosts.get('b')!.files.has('/kv/k'));
  t.regex(r.json, /"host":"b","status":"failed","msg":"the run lock's directory on b is not private/);
});

test.serial('a task that only reads another host (transportFor readOnly) does not wait on that host\'s lock', async (t) => {
  const peek = (readOnly: boolean): Plugin<{ other: string }> => ({
    name: 'peek',
    description: 'test: reads another host',
    schema: { type: 'object', additionalProperties: false, required: ['other'], properties: { other: { type: 'string' } } },
    async plan(p, ctx) {
      const o = await ctx.transportFor(p.other, { readOnly });
      return { changes: [], result: { seen: (await o.exec('cat /etc/hostname')).stdout } };
    },
  });
  const playbook = `
- hosts: a
  tasks: [{ name: look, peek: { other: b } }]
`;
  // b is held by another run (the CC's every-10-s cc-follow reading the standby, say).
  const setup = (h: string, f: FakeTransport) => f.on('flock', h === 'b' ? { code: 75 } : { stdout: 'HAPLAY_LOCKED\n' });
  const reading = await run(playbook, { lock: true, setup, plugins: [peek(true)] });
  t.is(reading.code, 0);
  t.deepEqual(statuses(reading, 'look'), { a: 'ok' });
  t.false(reading.log.some((l) => l.startsWith('b: ') && l.includes('flock')));
  // Without readOnly the same read takes b's lock, and the run stops on the busy host.
  const locking = await run(playbook, { lock: true, setup, plugins: [peek(false)] });
  t.is(locking.code, 5);
});
