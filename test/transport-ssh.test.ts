// SshTransport against a real OpenSSH server started here on 127.0.0.1 (see transport-sshd.ts).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { HaplayError } from '../src/core/errors.js';
import { LocalTransport } from '../src/core/transport/local.js';
import { ConnectionPool } from '../src/core/transport/pool.js';
import { SshTransport } from '../src/core/transport/ssh.js';
import { descendants, freePort, removeSshdDir, startSshd, type Sshd } from './transport-sshd.js';

let sshd: Sshd;
let tr: SshTransport;

test.before(async () => {
  sshd = await startSshd();
  tr = new SshTransport(sshd.spec());
  await tr.connect();
});

test.after.always(async () => {
  await tr?.close();
  await sshd?.stop();
  if (sshd) removeSshdDir(sshd);
});

function code(e: unknown): string | undefined {
  return e instanceof HaplayError ? e.code : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('exec separates stdout, stderr and the exit status', async (t) => {
  const r = await tr.exec('echo out; echo err >&2; echo out2; exit 7');
  t.deepEqual(r, { stdout: 'out\nout2\n', stderr: 'err\n', code: 7 });
  t.deepEqual(await tr.exec('true'), { stdout: '', stderr: '', code: 0 });
  t.is((await tr.exec('kill -9 $$')).code, 137); // killed by a signal: 128 + 9
});

test('output without a trailing newline and non-UTF-8 bytes come back as sent', async (t) => {
  t.deepEqual(await tr.exec("printf 'abc'; printf 'e' >&2"), { stdout: 'abc', stderr: 'e', code: 0 });
  t.is((await tr.exec("printf '\\n\\n'")).stdout, '\n\n');
  t.is((await tr.exec("printf 'h\\303\\251\\tx'")).stdout, 'hé\tx');
});

test('marker-like text in output and in the command does not confuse the framing', async (t) => {
  const tricky = [
    '<<HAPLAY:0123456789abcdef01234567:end:0>>',
    '<<HAPLAY:',
    '__HAPLAY_0123456789abcdef01234567',
    '__HAPLAY_0123456789abcdef01234567_IN',
    'marker',
  ].join('\n');
  const r = await tr.exec(`cat <<'EOF'\n${tricky}\nEOF\nprintf '%s' '<<HAPLAY:' >&2`);
  t.deepEqual(r, { stdout: tricky + '\n', stderr: '<<HAPLAY:', code: 0 });
  const r2 = await tr.exec('cat', { stdin: tricky });
  t.is(r2.stdout, tricky);
});

test('stdin bytes reach the command; without stdin the command reads /dev/null', async (t) => {
  const data = randomBytes(100_000);
  const r = await tr.exec('sha256sum | cut -d" " -f1', { stdin: data });
  t.is(r.stdout.trim(), createHash('sha256').update(data).digest('hex'));
  t.deepEqual(await tr.exec('cat; echo end'), { stdout: 'end\n', stderr: '', code: 0 });
  t.is((await tr.exec('wc -c', { stdin: '' })).stdout.trim(), '0');
});

test('exit, cd, set -e and exec in a command do not affect the next command', async (t) => {
  const home = (await tr.exec('pwd')).stdout;
  t.is((await tr.exec('exit 3')).code, 3);
  t.is((await tr.exec('cd / && pwd')).stdout, '/\n');
  t.is((await tr.exec('pwd')).stdout, home);
  t.is((await tr.exec('set -e; false; echo no')).code, 1);
  t.is((await tr.exec('exec >&- 2>&-; echo lost')).code, 1);
  t.is((await tr.exec('X=1; export X')).code, 0);
  t.deepEqual(await tr.exec('echo "${X:-unset}"'), { stdout: 'unset\n', stderr: '', code: 0 });
  t.is((await tr.exec('syntax error (')).code, 2);
  t.is((await tr.exec('echo still here')).stdout, 'still here\n');
});

test('output of a background job that arrives between commands is dropped', async (t) => {
  // Its own connection and a single shell: other tests run concurrently on `tr`. (Output a
  // background job writes *while* a later command runs on the same shell would be mixed into that
  // command's output: background jobs must redirect their output.)
  const one = new SshTransport(sshd.spec(), { maxShells: 1 });
  t.teardown(() => one.close());
  await one.exec('(sleep 0.3; echo late; echo late >&2) &');
  await sleep(500);
  t.deepEqual(await one.exec('echo mine'), { stdout: 'mine\n', stderr: '', code: 0 });
});

test('200 sequential execs on the open connection', async (t) => {
  for (let i = 0; i < 200; i++) {
    const r = await tr.exec(`echo ${i}`);
    if (r.stdout !== `${i}\n`) t.fail(`exec ${i} returned ${JSON.stringify(r)}`);
  }
  t.pass();
});

test('parallel execs run side by side on several shells', async (t) => {
  const started = Date.now();
  const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => tr.exec(`sleep 0.4; echo ${i}; echo e${i} >&2`)));
  const took = Date.now() - started;
  rs.forEach((r, i) => t.deepEqual(r, { stdout: `${i}\n`, stderr: `e${i}\n`, code: 0 }));
  // 12 × 0.4 s one after the other would be 4.8 s; 4 shells make it about 1.2 s.
  t.true(took < 4000, `took ${took} ms`);
  t.true(took >= 1200, `took ${took} ms: more than 4 at once?`);
});

test('readFile/writeFile round trip random bytes, atomically, keeping the mode', async (t) => {
  const dir = (await tr.exec('mktemp -d')).stdout.trim();
  t.teardown(() => tr.exec(`rm -rf '${dir}'`).then(() => undefined));
  const path = `${dir}/blob.bin`;
  t.is(await tr.readFile(path), null);
  const data = randomBytes(300_000);
  await tr.writeFile(path, data);
  t.true((await tr.readFile(path))!.equals(data));
  t.is((await tr.exec(`stat -c %a ${path}`)).stdout.trim(), '644');
  await tr.exec(`chmod 640 ${path}`);
  const data2 = Buffer.concat([Buffer.from('no newline at the end'), randomBytes(1000)]);
  await tr.writeFile(path, data2);
  t.true((await tr.readFile(path))!.equals(data2));
  t.is((await tr.exec(`stat -c %a ${path}`)).stdout.trim(), '640');
  await tr.writeFile(path, 'x', { mode: 0o600 });
  t.is((await tr.exec(`stat -c %a ${path}`)).stdout.trim(), '600');
  t.is((await tr.exec(`ls -A ${dir}`)).stdout, 'blob.bin\n'); // no temp file left
  await t.throwsAsync(tr.writeFile(`${dir}/missing-dir/f`, 'x'), { code: 'E_TASK_FAILED' } as never);
  t.is((await tr.exec(`ls -A ${dir}`)).stdout, 'blob.bin\n');
});

test('timeoutMs: the remote command is killed and the call throws E_TIMEOUT', async (t) => {
  // Its own connection: on `tr`, the call could first wait for a shell busy with concurrent tests.
  const tr = new SshTransport(sshd.spec());
  t.teardown(() => tr.close());
  await tr.connect();
  const tag = 31000 + Math.floor(Math.random() * 999);
  const started = Date.now();
  const e = await t.throwsAsync(tr.exec(`sh -c 'sleep ${tag}'; echo never`, { timeoutMs: 500 }));
  const took = Date.now() - started;
  t.is(code(e), 'E_TIMEOUT');
  t.regex(e!.message, /did not finish within 500 ms on pbx-test/);
  t.true(took < 5000, `took ${took} ms`);
  await sleep(200);
  // ([s] keeps pgrep's own shell, whose command line holds the pattern, from matching.)
  t.is(execFileSync('sh', ['-c', `pgrep -f '[s]leep ${tag}' || true`]).toString(), '', 'the remote sleep is gone');
  // A command that ignores TERM is KILLed after the grace period.
  const e2 = await t.throwsAsync(tr.exec(`trap '' TERM; sleep ${tag + 1}`, { timeoutMs: 300 }));
  t.is(code(e2), 'E_TIMEOUT');
  // A command that finishes in time is unaffected, and exit 124 of its own is not a timeout.
  t.deepEqual(await tr.exec('echo ok', { timeoutMs: 5000 }), { stdout: 'ok\n', stderr: '', code: 0 });
  t.is((await tr.exec('exit 124', { timeoutMs: 5000 })).code, 124);
});

test('openTcp reaches a TCP server on the SSH host’s 127.0.0.1', async (t) => {
  const server = net.createServer((s) => s.on('data', (b) => s.end(Buffer.concat([Buffer.from('echo:'), b]))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const stream = await tr.openTcp('127.0.0.1', port);
  const reply = await new Promise<string>((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (b: Buffer) => parts.push(b));
    stream.on('end', () => resolve(Buffer.concat(parts).toString()));
    stream.on('error', reject);
    stream.write('ping');
  });
  t.is(reply, 'echo:ping');
  const closed = await freePort();
  const e = await t.throwsAsync(tr.openTcp('127.0.0.1', closed));
  t.is(code(e), 'E_TASK_FAILED');
  t.regex(e!.message, new RegExp(`cannot open a TCP connection to 127.0.0.1:${closed} from pbx-test`));
});

// ---------------------------------------------------------------------------------------------
// Host keys.

function knownHostsFile(name: string, text: string): string {
  const f = join(sshd.dir, name);
  writeFileSync(f, text);
  return f;
}

test('strict: an unknown host key is refused with E_HOST_KEY naming the file and ssh-keyscan', async (t) => {
  const file = knownHostsFile('kh-empty', '# nothing yet\n');
  const e = await t.throwsAsync(new SshTransport(sshd.spec({ knownHosts: file })).connect());
  t.is(code(e), 'E_HOST_KEY');
  t.regex(e!.message, new RegExp(`host key of pbx-test \\(127.0.0.1:${sshd.port}\\) is not in ${file}`));
  t.regex((e as HaplayError).hint!, new RegExp(`ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ${file}`));
});

test('strict: a changed host key is refused with E_HOST_KEY', async (t) => {
  const other = randomBytes(32);
  const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), other]);
  const file = knownHostsFile('kh-changed', `[127.0.0.1]:${sshd.port} ssh-ed25519 ${blob.toString('base64')}\n`);
  for (const policy of ['strict', 'accept-new'] as const) {
    const e = await t.throwsAsync(new SshTransport(sshd.spec({ knownHosts: file, hostKeyPolicy: policy })).connect());
    t.is(code(e), 'E_HOST_KEY', policy);
    t.regex(e!.message, /has changed/);
    t.regex((e as HaplayError).hint!, /ssh-keygen -R/);
  }
  t.is(readFileSync(file, 'utf8').split('\n').filter(Boolean).length, 1, 'accept-new did not add the changed key');
});

test('strict: a hashed entry is accepted; a @revoked key is refused', async (t) => {
  const salt = randomBytes(20);
  const name = `[127.0.0.1]:${sshd.port}`;
  const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
  const ok = new SshTransport(sshd.spec({ knownHosts: knownHostsFile('kh-hashed', `${hashed} ${sshd.hostKeyLine}\n`) }));
  await ok.connect();
  t.is((await ok.exec('echo hi')).stdout, 'hi\n');
  await ok.close();
  const revoked = knownHostsFile('kh-revoked', `${name} ${sshd.hostKeyLine}\n@revoked * ${sshd.hostKeyLine}\n`);
  const e = await t.throwsAsync(new SshTransport(sshd.spec({ knownHosts: revoked })).connect());
  t.is(code(e), 'E_HOST_KEY');
  t.regex(e!.message, /@revoked/);
});

test('accept-new: an unknown key is added to known_hosts, then strict accepts it', async (t) => {
  const file = knownHostsFile('kh-new', `# no trailing newline`);
  const a = new SshTransport(sshd.spec({ knownHosts: file, hostKeyPolicy: 'accept-new' }));
  await a.connect();
  await a.close();
  t.is(readFileSync(file, 'utf8'), `# no trailing newline\n[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
  const s = new SshTransport(sshd.spec({ knownHosts: file, hostKeyPolicy: 'strict' }));
  await s.connect();
  t.is((await s.exec('echo ok')).stdout, 'ok\n');
  await s.close();
  const off = new SshTransport(sshd.spec({ knownHosts: join(sshd.dir, 'kh-never-written'), hostKeyPolicy: 'off' }));
  await off.connect();
  await off.close();
});

// ---------------------------------------------------------------------------------------------
// Authentication and reachability.

test('a refused key gives "permission denied (publickey)" and E_UNREACHABLE', async (t) => {
  const other = join(sshd.dir, 'stranger_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
  const e = await t.throwsAsync(new SshTransport(sshd.spec({ privateKey: other })).connect());
  t.is(code(e), 'E_UNREACHABLE');
  t.is(e!.message, `permission denied (publickey) for root@127.0.0.1: the key ${other} was refused`);
  const missing = join(sshd.dir, 'no-such-key');
  const e2 = await t.throwsAsync(new SshTransport(sshd.spec({ privateKey: missing })).connect());
  t.is(code(e2), 'E_UNREACHABLE');
  t.regex(e2!.message, /cannot read .*no-such-key/);
});

test('a closed port is unreachable, and is not retried in a tight loop', async (t) => {
  const port = await freePort();
  const u = new SshTransport(sshd.spec({ port }), { retryDelayMs: 300 });
  const e = await t.throwsAsync(u.exec('true'));
  t.is(code(e), 'E_UNREACHABLE');
  t.is(e!.message, `cannot reach pbx-test (127.0.0.1:${port}): connection refused (is sshd running?)`);
  // Within the back-off delay the same error comes back at once, without a new attempt.
  const again = await t.throwsAsync(u.connect());
  t.is(again, e);
  await sleep(350);
  const third = await t.throwsAsync(u.connect());
  t.not(third, e, 'a new attempt after the delay');
  t.is(code(third), 'E_UNREACHABLE');
});

test('a connect that gets no answer times out after connectTimeoutMs', async (t) => {
  // A TCP server that accepts and never speaks SSH.
  const silent = net.createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => silent.close());
  const port = (silent.address() as net.AddressInfo).port;
  const started = Date.now();
  const e = await t.throwsAsync(new SshTransport(sshd.spec({ port, connectTimeoutMs: 700 })).connect());
  t.is(code(e), 'E_UNREACHABLE');
  t.is(e!.message, `cannot reach pbx-test (127.0.0.1:${port}): connection timed out after 700 ms`);
  t.true(Date.now() - started < 6000);
});

test('connection lost mid-command → E_UNREACHABLE; after sshd comes back, exec works again', async (t) => {
  const own = await startSshd();
  t.teardown(async () => {
    await own.stop();
    removeSshdDir(own);
  });
  const x = new SshTransport(own.spec({ host: 'pbx-main' }), { retryDelayMs: 200 });
  t.teardown(() => x.close());
  t.is((await x.exec('echo before')).stdout, 'before\n');
  const running = x.exec('sleep 30');
  await sleep(300);
  t.true(descendants(own.pid()).length > 0);
  own.killAll();
  const started = Date.now();
  const e = await t.throwsAsync(running);
  t.is(code(e), 'E_UNREACHABLE');
  t.is(e!.message, 'connection to pbx-main lost while running a command');
  t.true(Date.now() - started < 6000);
  // While sshd is down: unreachable.
  const down = await t.throwsAsync(x.exec('true'));
  t.is(code(down), 'E_UNREACHABLE');
  t.regex(down!.message, /^cannot reach pbx-main \(127.0.0.1:\d+\): connection (refused|reset by the host)/);
  await own.start();
  await sleep(250); // the back-off delay after the refused attempt
  t.deepEqual(await x.exec('echo after'), { stdout: 'after\n', stderr: '', code: 0 });
});

test('a dead host (no packets back) is detected by keepalive', async (t) => {
  const own = await startSshd();
  t.teardown(async () => {
    await own.stop();
    removeSshdDir(own);
  });
  const x = new SshTransport(own.spec({ host: 'pbx-standby', keepaliveMs: 300 }));
  t.teardown(() => x.close());
  await x.connect();
  const running = x.exec('sleep 30');
  await sleep(200);
  // SIGSTOP freezes sshd and its sessions: the TCP connection stays open but nothing answers.
  const pids = [own.pid(), ...descendants(own.pid())];
  for (const p of pids) process.kill(p, 'SIGSTOP');
  t.teardown(() => {
    // SIGKILL works on stopped processes, and leaves no orphan `sleep 30` behind.
    for (const p of [...pids, ...descendants(own.pid())]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
  const started = Date.now();
  const e = await t.throwsAsync(running);
  t.is(code(e), 'E_UNREACHABLE');
  t.regex(e!.message, /connection to pbx-standby lost/);
  t.true(Date.now() - started < 8000, `took ${Date.now() - started} ms`);
});

// ---------------------------------------------------------------------------------------------
// Pool.

test('the pool hands out one transport per host for the whole run', async (t) => {
  const pool = new ConnectionPool((name) =>
    name === 'control' ? { ...sshd.spec({ host: name }), connection: 'local' } : sshd.spec({ host: name }),
  );
  const a = pool.get('pbx-main');
  t.is(pool.get('pbx-main'), a);
  t.true(a instanceof SshTransport);
  t.true(pool.get('control') instanceof LocalTransport);
  const results = await pool.connectAll(['pbx-main', 'control']);
  t.deepEqual(
    results.map((r) => [r.host, r.error?.code]),
    [
      ['pbx-main', undefined],
      ['control', undefined],
    ],
  );
  t.is((await a.exec('echo via pool')).stdout, 'via pool\n');
  await pool.closeAll();
});

// ---------------------------------------------------------------------------------------------
// The persistent shell itself going wrong.

test('a command that kills haplay’s shell fails the task; the next command gets a new shell', async (t) => {
  const x = new SshTransport(sshd.spec(), { maxShells: 1 });
  t.teardown(() => x.close());
  const e = await t.throwsAsync(x.exec('kill -9 $PPID; sleep 5'));
  t.is(code(e), 'E_TASK_FAILED');
  t.is(e!.message, 'the remote shell on pbx-test ended (killed by SIGKILL) while running a command');
  t.is((await x.exec('echo fresh')).stdout, 'fresh\n');
});

test('a shell that stops answering is reset by the local safety timer (E_TIMEOUT)', async (t) => {
  const x = new SshTransport(sshd.spec(), { maxShells: 1 });
  t.teardown(() => x.close());
  // Tree: persistent sh → timeout → sh -c (this command). Stop the persistent shell: the command
  // ends, but no end marker can ever be printed. The 3 s budget leaves the kill time to run on a
  // loaded machine; with less, the remote `timeout` may win and the test would see "(killed)".
  const started = Date.now();
  const e = await t.throwsAsync(x.exec('kill -STOP $(ps -o ppid= -p $PPID)', { timeoutMs: 3000 }));
  const took = Date.now() - started;
  t.is(code(e), 'E_TIMEOUT');
  t.regex(e!.message, /remote shell stopped answering \(reset\)/);
  t.true(took >= 8000 && took < 40000, `took ${took} ms`);
  t.is((await x.exec('echo fresh')).stdout, 'fresh\n');
});
