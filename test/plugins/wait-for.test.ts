import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalTransport } from '../../src/core/transport/local.js';
import { waitFor } from '../../src/plugins/wait-for/index.js';
import { makeTaskContext, runCases, runPlugin } from '../helpers/plugin-cases.js';

const quick = { interval: 0.05, timeout: 2 };

runCases(test, [
  {
    title: 'a command is retried until it exits 0',
    plugin: waitFor,
    params: { command: 'systemctl is-active asterisk', ...quick },
    host: [
      { match: 'systemctl', reply: { code: 3, stdout: 'activating\n' }, times: 2 },
      { match: 'systemctl', reply: { stdout: 'active\n' } },
    ],
    expect: { changes: [], commands: ['systemctl', 'systemctl', 'systemctl'], result: { attempts: 3 }, noop: /^`systemctl is-active asterisk` ready after [\d.]+ s$/ },
  },
  {
    title: 'a command that never succeeds names its last error',
    plugin: waitFor,
    params: { command: 'pg_isready', interval: 0.05, timeout: 0.3 },
    host: [{ match: 'pg_isready', reply: { code: 2, stdout: 'no response\n' } }],
    expect: {
      error: /^`pg_isready` did not succeed after 0.3 s \(last error: exit 2: no response\)$/,
      errorData: { timed_out: true, last_error: 'exit 2: no response' },
    },
  },
  {
    title: 'a path appears',
    plugin: waitFor,
    params: { path: '/var/lib/wazo/is-secondary', ...quick },
    host: [
      { match: '[ -e /var/lib/wazo/is-secondary ]', reply: { code: 1 }, times: 1 },
      { match: '[ -e /var/lib/wazo/is-secondary ]', reply: { code: 0 } },
    ],
    expect: { changes: [], result: { attempts: 2 } },
  },
  {
    title: 'a path that stays there while absent is wanted',
    plugin: waitFor,
    params: { path: '/var/run/xivo-sync.lock', state: 'absent', interval: 0.05, timeout: 0.2 },
    host: [{ match: '[ -e', reply: { code: 0 } }],
    expect: { error: /^\/var\/run\/xivo-sync.lock still present after 0.2 s \(last error: the path still exists\)$/ },
  },
  {
    title: 'a line of the file matches contains (read through the transport)',
    plugin: waitFor,
    params: { path: '/var/log/xivo-sysconfd.log', contains: '^.*Node is in (primary|secondary) HA mode', ...quick },
    files: { '/var/log/xivo-sysconfd.log': 'start\n2025 INFO Node is in primary HA mode.\n' },
    expect: { changes: [], commands: [], result: { attempts: 1 } },
  },
  {
    title: 'absent with contains: no line may match',
    plugin: waitFor,
    params: { path: '/etc/xivo/ha.conf', state: 'absent', contains: 'slave', ...quick },
    files: { '/etc/xivo/ha.conf': '{"node_type": "master"}' },
    expect: { changes: [], result: { attempts: 1 } },
  },
  {
    title: 'an invalid regular expression fails at once',
    plugin: waitFor,
    params: { path: '/x', contains: '(' },
    expect: { error: /contains is not a valid regular expression/, commands: [] },
  },
  {
    title: 'exactly one thing to wait for',
    plugin: waitFor,
    params: { port: 5432, url: 'http://127.0.0.1/' },
    expect: { error: /^wait-for needs exactly one of port, url, path, command \(got port and url\)$/ },
  },
  {
    title: 'nothing to wait for',
    plugin: waitFor,
    params: { timeout: 3 },
    expect: { error: /^wait-for needs exactly one of port, url, path, command$/ },
  },
  {
    title: 'the schema refuses a non-HTTP url (a string port is coerced, as the engine does)',
    plugin: waitFor,
    params: { url: 'ftp://x', port: '22' },
    expect: { error: /wait-for\.url: must match pattern "\^https\?:\/\/"/ },
  },
]);

/** A port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function local(opts: Parameters<typeof makeTaskContext>[2] = {}) {
  return makeTaskContext(new LocalTransport(), {}, opts);
}

test('wait-for: a real port that opens after a while', async (t) => {
  const port = await freePort();
  const server = net.createServer((s) => s.end());
  const timer = setTimeout(() => server.listen(port, '127.0.0.1'), 400);
  t.teardown(() => {
    clearTimeout(timer);
    server.close();
  });
  const { plan, result } = await runPlugin(waitFor, { port, interval: 0.05, timeout: 5 }, local().ctx);
  t.deepEqual(plan.changes, []);
  t.true((result.attempts as number) > 1, `attempts: ${result.attempts}`);
  t.true((result.elapsed as number) >= 0.3, `elapsed: ${result.elapsed}`);
});

test('wait-for: a real port that never opens times out with the last error', async (t) => {
  const port = await freePort();
  const start = Date.now();
  const err = await t.throwsAsync(runPlugin(waitFor, { port, interval: 0.1, timeout: 0.5 }, local().ctx));
  t.is(err?.message, `127.0.0.1:${port} not reachable after 0.5 s (last error: connection refused)`);
  t.true(Date.now() - start >= 500 && Date.now() - start < 5000);
  t.like((err as unknown as { data: object }).data, { timed_out: true });
});

test('wait-for: progress is reported every few seconds', async (t) => {
  const port = await freePort();
  const c = local();
  await t.throwsAsync(runPlugin(waitFor, { port, interval: 0.2, timeout: 5.5 }, c.ctx), { message: /not reachable after 5.5 s/ });
  t.deepEqual(c.progress, [`waiting for 127.0.0.1:${port}: 5 s`]);
});

test('wait-for: delay comes before the first check', async (t) => {
  const port = await freePort();
  const server = net.createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  t.teardown(() => server.close());
  const { result } = await runPlugin(waitFor, { port, delay: 0.3 }, local().ctx);
  t.is(result.attempts, 1);
  t.true((result.elapsed as number) >= 0.3);
});

test('wait-for: the signal stops the wait', async (t) => {
  const port = await freePort();
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('interrupted by the operator')), 200);
  const err = await t.throwsAsync(runPlugin(waitFor, { port, interval: 0.05, timeout: 30 }, local({ signal: ac.signal }).ctx));
  t.is(err?.message, `stopped waiting for 127.0.0.1:${port}: interrupted by the operator`);
});

test('wait-for: a real HTTP server ready after two 503s, body checked', async (t) => {
  let hits = 0;
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(`${req.headers.host} ${req.url}`);
    hits++;
    if (hits <= 2) res.writeHead(503).end('starting');
    else res.writeHead(200).end('{"status": "ok"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const url = `http://127.0.0.1:${port}/status?full=1`;
  const { result } = await runPlugin(waitFor, { url, contains: '"ok"', interval: 0.05, timeout: 5 }, local().ctx);
  t.is(result.attempts, 3);
  t.deepEqual(paths, Array(3).fill(`127.0.0.1:${port} /status?full=1`));
});

test('wait-for: a real HTTP server that stays unhealthy', async (t) => {
  const server = http.createServer((_req, res) => res.writeHead(200).end('degraded'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const url = `http://127.0.0.1:${port}/`;
  await t.throwsAsync(runPlugin(waitFor, { url, contains: 'healthy', interval: 0.05, timeout: 0.3 }, local().ctx), {
    message: `${url} not ready after 0.3 s (last error: body does not contain "healthy")`,
  });
  await t.throwsAsync(runPlugin(waitFor, { url, status: 204, interval: 0.05, timeout: 0.2 }, local().ctx), {
    message: /last error: status 200, expected 204/,
  });
});

test('wait-for: a real HTTPS server with a self-signed certificate', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'haplay-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=pbx.lab',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const server = https.createServer(
    { key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) },
    (_req, res) => res.writeHead(200).end('confd up'),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const url = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}/1.1/api`;

  const { result } = await runPlugin(waitFor, { url, contains: 'confd up', timeout: 5 }, local().ctx);
  t.is(result.attempts, 1);
  await t.throwsAsync(runPlugin(waitFor, { url, validate_certs: true, interval: 0.05, timeout: 0.2 }, local().ctx), {
    message: /not ready after 0.2 s \(last error: self.signed certificate/,
  });
});

test('wait-for: a real file that appears with the awaited line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'haplay-wait-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'sysconfd.log');
  setTimeout(() => void writeFile(path, 'boot\n'), 100);
  setTimeout(() => void writeFile(path, 'boot\nNode is in secondary HA mode.\n'), 300);
  const { result } = await runPlugin(waitFor, { path, contains: 'secondary HA mode', interval: 0.05, timeout: 5 }, local().ctx);
  t.true((result.attempts as number) >= 2, "at least one miss before the line appeared");
  t.true((result.elapsed as number) >= 0.25);
});
