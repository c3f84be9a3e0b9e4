import test from 'ava';
import { lockHost } from '../src/core/lock.js';
import { LocalTransport } from '../src/core/transport/local.js';
import { run, statuses } from './helpers/engine.js';

test.serial('a second run cannot take a held lock: it waits, then names the holder; release frees it', async (t) => {
  const a = new LocalTransport('ctl');
  const first = await lockHost(a, 'replicate.yml (pid 1 on ctl-a)', 1);
  const started = Date.now();
  const err = await t.throwsAsync(lockHost(new LocalTransport('ctl'), 'failover.yml', 1));
  t.true(Date.now() - started >= 900, 'it waited');
  t.is((err as { code?: string }).code, 'E_LOCKED');
  t.regex(err!.message, /ctl is busy: another haplay run holds its lock: replicate\.yml \(pid 1 on ctl-a\)/);
  first.release();
  const again = await lockHost(new LocalTransport('ctl'), 'failover.yml', 5);
  again.release();
  t.pass();
});

test.serial('the lock is released when the holder dies (no stale lock after a crash)', async (t) => {
  const { spawn } = await import('node:child_process');
  // A holder in another process that is then killed hard.
  const child = spawn(process.execPath, ['--import=tsx', '-e', `
    import('${new URL('../src/core/lock.ts', import.meta.url).pathname}').then(async ({ lockHost }) => {
      const { LocalTransport } = await import('${new URL('../src/core/transport/local.ts', import.meta.url).pathname}');
      await lockHost(new LocalTransport('ctl'), 'doomed', 1);
      console.log('held');
      setInterval(() => {}, 1000);
    });`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout!.on('data', (b) => b.toString().includes('held') && resolve()));
  child.kill('SIGKILL');
  const l = await lockHost(new LocalTransport('ctl'), 'next', 5);
  l.release();
  t.pass();
});

test.serial('a run that stops answering (network gone) loses its lock after the hold time', async (t) => {
  // No heartbeat ever arrives: as if the network between the run and the host died.
  const silent = await lockHost(new LocalTransport('ctl'), 'cut off', 1, { heartbeatMs: 3_600_000, holdSeconds: 2 });
  const err = await t.throwsAsync(lockHost(new LocalTransport('ctl'), 'next', 0));
  t.is((err as { code?: string }).code, 'E_LOCKED');
  const next = await lockHost(new LocalTransport('ctl'), 'next', 6);
  next.release();
  silent.release();
});

test.serial('a run that keeps answering keeps its lock past the hold time', async (t) => {
  const alive = await lockHost(new LocalTransport('ctl'), 'busy run', 1, { heartbeatMs: 300, holdSeconds: 1 });
  await new Promise((r) => setTimeout(r, 2500));
  const err = await t.throwsAsync(lockHost(new LocalTransport('ctl'), 'next', 0));
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
      f.files.set('/run/lock/haplay.owner', { data: Buffer.from('replicate.yml (pid 42 on ctl)\n') });
    },
  });
  t.is(r.code, 5);
  t.deepEqual(statuses(r, 'change'), {});
  t.true(r.events.some((e) => e.type === 'warning' && /b is busy: another haplay run holds its lock: replicate\.yml \(pid 42 on ctl\)/.test(e.message)));
  t.false([...r.hosts.values()].some((f) => f.files.has('/kv/k')));
});
