import test from 'ava';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockHost, LOCK_DIR } from '../src/core/lock.js';
import { FakeTransport } from '../src/core/transport/fake.js';
import { LocalTransport } from '../src/core/transport/local.js';
import { descendants } from './transport-sshd.js';
import { run, statuses } from './helpers/engine.js';
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

// ---------------------------------------------------------------------------------------------
// A lost lock: the holder dies or stops answering; the run must learn it before its next change.

/** The pid of the shell holding the lock (it echoes heartbeats), among this process's children. */
function holderPid(): number {
  const pids = descendants(process.pid).filter((p) => {
    try {
      return /read -r -t/.test(readFileSync(`/proc/${p}/cmdline`, 'utf8'));
    } catch {
      return false;
    }
  });
  if (pids.length !== 1) throw new Error(`expected one lock holder, found ${pids.length}`);
  return pids[0];
}

test.serial('a live holder answers check() at once, again and again', async (t) => {
  const l = await lockHost(new LocalTransport('ctl'), 'alive', 1, { dir, heartbeatMs: 50 });
  const started = Date.now();
  for (let i = 0; i < 50; i++) await l.check();
  t.true(Date.now() - started < 2000);
  t.is(l.lost, undefined);
  l.release();
});

test.serial('a holder killed on the host: the lock is lost (E_LOCK_LOST), and another run may take it', async (t) => {
  const l = await lockHost(new LocalTransport('ctl'), 'first.yml', 1, { dir });
  const seen = new Promise<string>((r) => l.onLost((e) => r(e.code)));
  process.kill(holderPid(), 'SIGKILL');
  t.is(await seen, 'E_LOCK_LOST');
  const err = await t.throwsAsync(l.check());
  t.is((err as { code?: string }).code, 'E_LOCK_LOST');
  t.regex(err!.message, /^the run lock on ctl was lost: the process holding it on ctl ended \(exit 137\)/);
  const next = await lockHost(new LocalTransport('ctl'), 'second.yml', 1, { dir });
  next.release();
  l.release();
});

test.serial('a heartbeat that stalls past the hold time: the holder lets go, the run calls the lock lost', async (t) => {
  // The run's heartbeats never come (a blocked event loop, a dead network): the holder gives up.
  const l = await lockHost(new LocalTransport('ctl'), 'stalled', 1, { dir, heartbeatMs: 3_600_000, holdSeconds: 1 });
  const next = await lockHost(new LocalTransport('ctl'), 'other', 5, { dir });
  const err = await t.throwsAsync(l.check());
  t.is((err as { code?: string }).code, 'E_LOCK_LOST');
  next.release();
  l.release();
});

test.serial('a link that stops carrying answers (half-open): check() gives up after checkMs, heartbeats after the hold time', async (t) => {
  const f = new FakeTransport('pbx').on('flock', { stdout: 'HAPLAY_LOCKED\n' });
  const a = await lockHost(f, 'a', 1, { checkMs: 300 });
  await a.check();
  f.unreachable = true; // nothing comes back any more, but nothing closes either
  const err = await t.throwsAsync(a.check());
  t.is((err as { code?: string }).code, 'E_LOCK_LOST');
  t.regex(err!.message, /pbx did not answer the lock's holder within 0 s/);
  a.release();

  f.unreachable = false;
  const b = await lockHost(f, 'b', 1, { heartbeatMs: 50, holdSeconds: 0.3 });
  f.unreachable = true;
  const awake = setInterval(() => undefined, 100); // the heartbeat timer alone does not keep a process up
  const why = await new Promise<string>((r) => b.onLost((e) => r(e.message)));
  clearInterval(awake);
  t.regex(why, /pbx has not answered the lock's heartbeat for 0 s, so the host has let it go/);
  b.release();
});

/** Kills the lock holder of the named host (as an operator's kill or the OOM killer would). */
const killHolder: Plugin<{ host: string }> = {
  name: 'kill-holder',
  description: 'test: the lock holder dies on one host',
  schema: { type: 'object', additionalProperties: false, required: ['host'], properties: { host: { type: 'string' } } },
  async plan(p, ctx) {
    if (ctx.host.name === p.host) (ctx.transport as FakeTransport).spawned.forEach((s) => s.kill());
    return { changes: [] };
  },
};

test.serial('the engine: a host whose lock is lost mid-run stops before its next change; the others go on', async (t) => {
  const r = await run(`
- hosts: g
  tasks:
    - { name: one, kv: { key: one, value: v } }
    - { name: holder dies, kill-holder: { host: b } }
    - { name: two, kv: { key: two, value: v } }
    - { name: three, kv: { key: three, value: v } }
`, {
    lock: true,
    setup: (_h, f) => void f.on('flock', { stdout: 'HAPLAY_LOCKED\n' }),
    plugins: [killHolder],
  });
  t.is(r.code, 2);
  t.deepEqual(statuses(r, 'one'), { a: 'changed', b: 'changed', c: 'changed' });
  t.deepEqual(statuses(r, 'two'), { a: 'changed', b: 'failed', c: 'changed' });
  t.deepEqual(statuses(r, 'three'), { a: 'changed', c: 'changed' });
  t.false(r.hosts.get('b')!.files.has('/kv/two'));
  t.false(r.hosts.get('b')!.files.has('/kv/three'));
  t.regex(r.json, /"host":"b","status":"failed","msg":"the run lock on b was lost: the process holding it on b ended \(exit 137\)/);
  t.true(r.events.some((e) => e.type === 'warning' && e.host === 'b' && /lock on b was lost/.test(e.message)));
});

test.serial('the engine: a change planned while the lock was held is not applied once it is lost', async (t) => {
  // The holder dies between the plan and the apply: the check before the change catches it.
  let f!: FakeTransport;
  const r = await run(`
- hosts: a
  tasks: [{ name: change, kv: { key: k, value: v } }]
`, {
    lock: true,
    setup: (h, ft) => {
      ft.on('flock', { stdout: 'HAPLAY_LOCKED\n' });
      if (h === 'a') f = ft;
    },
  });
  t.is(r.code, 0, 'control: with the holder alive the change is made');
  t.true(f.files.has('/kv/k'));
  const r2 = await run(`
- hosts: a
  tasks: [{ name: change, lost-before-apply: {} }]
`, {
    lock: true,
    setup: (h, ft) => void ft.on('flock', { stdout: 'HAPLAY_LOCKED\n' }),
    plugins: [
      {
        name: 'lost-before-apply',
        description: 'test: the lock holder dies while the plan is made',
        schema: { type: 'object', additionalProperties: false, properties: {} },
        async plan(_p, ctx) {
          (ctx.transport as FakeTransport).spawned.forEach((s) => s.kill());
          return { changes: [{ summary: 'must not run', apply: async () => void (await ctx.transport.exec('step applied')) }] };
        },
      },
    ],
  });
  t.is(r2.code, 2);
  t.deepEqual(statuses(r2, 'change'), { a: 'failed' });
  t.false(r2.log.some((l) => l.includes('step applied')));
  t.regex(r2.json, /"error_code":"E_LOCK_LOST"|the run lock on a was lost/);
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
