// The run lock over a real SSH connection (a loopback sshd of its own, see transport-sshd.ts),
// reached through a TCP relay the test can cut or freeze: the link drops (and the transport
// reconnects), or stops carrying packets; the first run must notice before its next change.
import test from 'ava';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Engine } from '../src/core/engine.js';
import { inventoryFrom } from '../src/core/inventory.js';
import { lockHost } from '../src/core/lock.js';
import { playbookFrom } from '../src/core/playbook.js';
import { SshTransport } from '../src/core/transport/ssh.js';
import { JsonReporter } from '../src/core/reporters/json.js';
import type { Plugin, RunEvent } from '../src/core/types.js';
import { parseYaml } from '../src/core/yaml.js';
import { testRegistry } from './helpers/engine.js';
import { removeSshdDir, startSshd, type Sshd } from './transport-sshd.js';

let sshd: Sshd;
const scratch = mkdtempSync(join(tmpdir(), 'haplay-lock-ssh-'));

test.before(async () => {
  sshd = await startSshd();
});
test.after.always(async () => {
  await sshd?.stop();
  if (sshd) removeSshdDir(sshd);
  rmSync(scratch, { recursive: true, force: true });
});

/** A TCP relay to sshd: cut() resets every relayed connection, freeze() stops carrying bytes. */
async function relay(): Promise<{ port: number; knownHosts: string; cut(): void; freeze(): void; close(): void }> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((a) => {
    const b = net.connect(sshd.port, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [a, b];
    pairs.add(pair);
    a.pipe(b);
    b.pipe(a);
    const drop = () => (a.destroy(), b.destroy(), pairs.delete(pair));
    a.on('error', drop).on('close', drop);
    b.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const knownHosts = join(scratch, `known_hosts-${port}`);
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${sshd.hostKeyLine}\n`);
  return {
    port,
    knownHosts,
    cut: () => [...pairs].forEach(([a, b]) => (a.resetAndDestroy(), b.resetAndDestroy())),
    freeze: () => [...pairs].forEach(([a, b]) => (a.unpipe(b), b.unpipe(a), a.pause(), b.pause())),
    close: () => {
      [...pairs].forEach(([a, b]) => (a.destroy(), b.destroy()));
      server.close();
    },
  };
}

const code = (e: unknown) => (e as { code?: string } | undefined)?.code;

test.serial('the link drops and the transport reconnects: the old lock is lost, another run has it, check() says so', async (t) => {
  const dir = join(scratch, 'cut');
  const r = await relay();
  t.teardown(r.close);
  const first = new SshTransport(sshd.spec({ port: r.port, knownHosts: r.knownHosts }), { retryDelayMs: 100 });
  t.teardown(() => first.close());
  const lock = await lockHost(first, 'first.yml', 1, { dir });
  await lock.check();
  r.cut();
  // Another run, on a link of its own, gets the lock once sshd has ended the first run's session.
  const other = new SshTransport(sshd.spec());
  t.teardown(() => other.close());
  const second = await lockHost(other, 'second.yml', 10, { dir });
  t.teardown(() => second.release());
  // The first run's transport comes back on a new connection: commands work again...
  await new Promise((res) => setTimeout(res, 150));
  t.is((await first.exec('echo back')).stdout, 'back\n');
  // ...but its lock is gone, and it says so before any change.
  const err = await t.throwsAsync(lock.check());
  t.is(code(err), 'E_LOCK_LOST');
  t.regex(err!.message, /^the run lock on pbx-test was lost/);
  lock.release();
});

test.serial('the link freezes (no packets, nothing closed): the host lets go after the hold time, the run notices', async (t) => {
  const dir = join(scratch, 'freeze');
  const r = await relay();
  t.teardown(r.close);
  const first = new SshTransport(sshd.spec({ port: r.port, knownHosts: r.knownHosts, keepaliveMs: 60_000 }));
  t.teardown(() => first.close());
  const lock = await lockHost(first, 'first.yml', 1, { dir, heartbeatMs: 200, holdSeconds: 1, checkMs: 1500 });
  await lock.check();
  r.freeze();
  const other = new SshTransport(sshd.spec());
  t.teardown(() => other.close());
  const second = await lockHost(other, 'second.yml', 10, { dir });
  t.teardown(() => second.release());
  const err = await t.throwsAsync(lock.check());
  t.is(code(err), 'E_LOCK_LOST');
  lock.release();
});

test.serial('the engine over SSH: after the link drops mid-run, the host gets no further change (E_LOCK_LOST, exit 2)', async (t) => {
  const dir = join(scratch, 'engine');
  const marks = join(scratch, 'marks');
  const r = await relay();
  t.teardown(r.close);
  const transport = new SshTransport(sshd.spec({ port: r.port, knownHosts: r.knownHosts }), { retryDelayMs: 100 });
  const other = new SshTransport(sshd.spec());
  t.teardown(() => other.close());
  let second: { release(): void } | undefined;
  t.teardown(() => second?.release());
  // Cuts the link, then lets another run take the host, as a second operator's run would.
  const cutLink: Plugin<Record<string, never>> = {
    name: 'cut-link',
    description: 'test: the SSH link drops and another run locks the host',
    schema: { type: 'object', additionalProperties: false, properties: {} },
    async plan() {
      r.cut();
      second = await lockHost(other, 'second.yml', 10, { dir });
      await new Promise((res) => setTimeout(res, 150));
      return { changes: [] };
    },
  };
  const registry = testRegistry([cutLink]);
  const playbook = playbookFrom(
    parseYaml(
      `
- hosts: pbx
  tasks:
    - { name: before, command: "mkdir -p ${marks} && touch ${marks}/before" }
    - { name: link drops, cut-link: {} }
    - { name: after, command: "touch ${marks}/after" }
`,
      '/pb/lost.yml',
    ),
    registry,
  );
  const events: RunEvent[] = [];
  const sink = new PassThrough();
  let json = '';
  sink.on('data', (b) => (json += b.toString()));
  const jr = new JsonReporter(sink as unknown as NodeJS.WriteStream, {});
  const engine = new Engine({
    inventory: inventoryFrom(parseYaml('hosts: { pbx-test: {} }\ngroups: { pbx: { hosts: [pbx-test] } }\n', 'inventory.yml')),
    playbook,
    registry,
    transports: { get: () => transport, closeAll: () => transport.close() },
    reporter: { event: (e) => (events.push(e), jr.event(e)), close: () => jr.close() },
    lock: true,
    lockWaitSeconds: 1,
    lockTiming: { dir },
  });
  const exit = await engine.run();
  t.true(existsSync(join(marks, 'before')));
  t.false(existsSync(join(marks, 'after')), 'no change after the lock was lost');
  t.is(exit, 2, json);
  t.regex(json, /"task":"after","host":"pbx-test","status":"failed","msg":"the run lock on pbx-test was lost/);
});
