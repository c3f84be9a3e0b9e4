// How much one command costs on the SSH transport, against the ssh CLI (a new session per command).
//   npx tsx bench/ssh-exec.ts                 starts its own sshd on 127.0.0.1
//   HAPLAY_BENCH_HOST=10.77.0.11 HAPLAY_BENCH_PORT=22 HAPLAY_BENCH_USER=root \
//   HAPLAY_BENCH_KEY=~/.ssh/id_ed25519 npx tsx bench/ssh-exec.ts      an existing host (known_hosts: accept-new)
// Options: HAPLAY_BENCH_N (default 500), HAPLAY_BENCH_CLI_N (default 50).
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';

import type { ConnectionSpec } from '../src/core/types.js';
import { SshTransport } from '../src/core/transport/ssh.js';
import { removeSshdDir, startSshd, type Sshd } from '../test/transport-sshd.js';

const N = Number(process.env.HAPLAY_BENCH_N ?? 500);
const CLI_N = Number(process.env.HAPLAY_BENCH_CLI_N ?? 50);

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const pct = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
  return `mean ${mean.toFixed(2)} ms, p50 ${pct(50).toFixed(2)} ms, p95 ${pct(95).toFixed(2)} ms, max ${s[s.length - 1].toFixed(2)} ms (n=${s.length})`;
}

async function main(): Promise<void> {
  let sshd: Sshd | undefined;
  let spec: ConnectionSpec;
  if (process.env.HAPLAY_BENCH_HOST) {
    spec = {
      host: process.env.HAPLAY_BENCH_HOST,
      connection: 'ssh',
      address: process.env.HAPLAY_BENCH_HOST,
      port: Number(process.env.HAPLAY_BENCH_PORT ?? 22),
      user: process.env.HAPLAY_BENCH_USER ?? 'root',
      privateKey: process.env.HAPLAY_BENCH_KEY?.replace(/^~/, homedir()),
      hostKeyPolicy: 'accept-new',
      become: false,
      connectTimeoutMs: 5000,
      keepaliveMs: 5000,
    };
  } else {
    sshd = await startSshd();
    spec = sshd.spec({ host: 'bench' });
  }
  try {
    console.log(`target ${spec.user}@${spec.address}:${spec.port}`);
    const setup: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = new SshTransport(spec);
      const t0 = performance.now();
      await t.connect();
      setup.push(performance.now() - t0);
      await t.close();
    }
    console.log(`connection setup (TCP, SSH handshake, auth, first shell): ${stats(setup)}`);

    const tr = new SshTransport(spec);
    await tr.connect();
    for (let i = 0; i < 20; i++) await tr.exec('true'); // warm-up
    const lat: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      const r = await tr.exec('true');
      lat.push(performance.now() - t0);
      if (r.code !== 0) throw new Error(`true exited ${r.code}`);
    }
    console.log(`exec 'true', sequential on the open connection: ${stats(lat)}`);

    const withStdin: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now();
      await tr.exec('cat >/dev/null', { stdin: 'x'.repeat(1000) });
      withStdin.push(performance.now() - t0);
    }
    console.log(`exec with 1 kB stdin: ${stats(withStdin)}`);

    const withTimeout: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now();
      await tr.exec('true', { timeoutMs: 10_000 });
      withTimeout.push(performance.now() - t0);
    }
    console.log(`exec with timeoutMs (timeout(1) wrapper): ${stats(withTimeout)}`);

    const P = 200;
    let t0 = performance.now();
    await Promise.all(Array.from({ length: P }, () => tr.exec('true')));
    const par = performance.now() - t0;
    console.log(`${P} parallel execs of 'true' (up to 4 shells): ${par.toFixed(0)} ms total, ${(par / P).toFixed(2)} ms each`);
    t0 = performance.now();
    await Promise.all(Array.from({ length: 8 }, () => tr.exec('sleep 0.2')));
    console.log(`8 parallel 'sleep 0.2': ${(performance.now() - t0).toFixed(0)} ms (4 shells → ~400 ms)`);
    await tr.close();

    const sshArgs = [
      '-p',
      String(spec.port),
      '-o',
      'BatchMode=yes',
      ...(spec.privateKey ? ['-i', spec.privateKey, '-o', 'IdentitiesOnly=yes'] : []),
      ...(sshd ? ['-o', `UserKnownHostsFile=${sshd.knownHosts}`, '-o', 'StrictHostKeyChecking=yes'] : []),
      `${spec.user}@${spec.address}`,
      'true',
    ];
    const cli: number[] = [];
    for (let i = 0; i < CLI_N; i++) {
      const t1 = performance.now();
      execFileSync('ssh', sshArgs, { stdio: 'ignore' });
      cli.push(performance.now() - t1);
    }
    console.log(`ssh CLI, a new connection per command ('ssh host true'): ${stats(cli)}`);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`→ ${(mean(cli) / mean(lat)).toFixed(0)}× faster per command on the open connection`);
  } finally {
    if (sshd) {
      await sshd.stop();
      removeSshdDir(sshd);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

