// The CLI against the lab's real SSH hosts: what an operator runs, twice.
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { LAB, labExec, useLab } from '../helpers/lab.js';
import * as lab from '../lab/lab.js';

useLab(test);

const run = promisify(execFile);
const HOSTS = ['pbx-main', 'pbx-standby', 'cc', 'edge'] as const;

async function haplay(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('node', ['dist/cli/index.js', ...args, '-i', LAB.inventory], { maxBuffer: 1 << 24 });
    return { code: 0, ...r };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

function changed(out: string): Record<string, number> {
  return Object.fromEntries([...out.matchAll(/^(\S+)\s*: ok=\d+\s+changed=(\d+)/gm)].map((m) => [m[1], Number(m[2])]));
}

test.serial('check mode predicts the first run exactly and changes nothing; the second run changes nothing', async (t) => {
  const check = await haplay('test/e2e/site.yml', '--check', '--diff');
  t.is(check.code, 0, check.stdout + check.stderr);
  for (const h of HOSTS) t.is((await labExec(h, 'test -e /root/haplay-e2e && echo yes || echo no')).stdout.trim(), 'no');
  t.regex(check.stdout, /\+name=pbx-main/, 'the diff shows the content');

  const first = await haplay('test/e2e/site.yml');
  t.is(first.code, 0, first.stdout + first.stderr);
  const lines = (out: string) => out.split('\n').filter((l) => /^changed: /.test(l)).sort();
  t.deepEqual(lines(check.stdout), lines(first.stdout), 'check mode listed exactly the changes the run made');
  t.deepEqual(changed(first.stdout), { 'pbx-main': 5, 'pbx-standby': 5, cc: 5, edge: 5 }, '4 tasks and the handler');
  for (const h of HOSTS) {
    const conf = await labExec(h, 'cat /root/haplay-e2e/host.conf; stat -c %a /root/haplay-e2e/host.conf /root/haplay-e2e; cat /root/haplay-e2e/built; wc -l < /root/haplay-e2e/restarts');
    t.is(conf.stdout, `name=${h}\naddress=${LAB.hosts[h]}\n640\n750\nbuilt\n1\n`);
  }

  const second = await haplay('test/e2e/site.yml');
  t.is(second.code, 0);
  t.deepEqual(changed(second.stdout), { 'pbx-main': 0, 'pbx-standby': 0, cc: 0, edge: 0 });
  t.is((await labExec('cc', 'wc -l < /root/haplay-e2e/restarts')).stdout.trim(), '1', 'no change, no handler');
});

test.serial('--json prints one versioned event per line, ending with the recap', async (t) => {
  const r = await haplay('playbooks/ping.yml', '--json', '--limit', 'pbx');
  t.is(r.code, 0);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { v: number; type: string; host?: string; msg?: string; exitCode?: number });
  t.true(events.every((e) => e.v === 1));
  t.is(events[0].type, 'run_start');
  const last = events.at(-1)!;
  t.is(last.type, 'recap');
  t.is(last.exitCode, 0);
  const shown = events.filter((e) => e.type === 'host_result' && e.msg?.includes('"node_type"')).map((e) => e.host).sort();
  t.deepEqual(shown, ['pbx-main', 'pbx-standby']);
});

test.serial('an unreachable host is reported and the others go on; exit code 3', async (t) => {
  await lab.fault('edge', 'down');
  t.teardown(() => lab.fault('edge', 'up'));
  const r = await haplay('playbooks/ping.yml', '-e', 'unused=1');
  t.is(r.code, 3, r.stdout);
  t.regex(r.stdout, /unreachable: \[edge\] => cannot reach edge \(10\.77\.0\.31:22\)/);
  t.regex(r.stdout, /^edge\s*: ok=0\s+changed=0\s+failed=0\s+skipped=0\s+unreachable=1/m);
  t.regex(r.stdout, /^pbx-main\s*: ok=2/m);
});

test.serial('two runs never overlap: the second waits, then exits 5 naming the first', async (t) => {
  const slow = spawn('node', ['dist/cli/index.js', 'test/e2e/slow.yml', '-i', LAB.inventory], { stdio: 'pipe' });
  let out = '';
  slow.stdout.on('data', (b) => (out += b.toString()));
  // wait until the first run is inside its task (it holds the lock by then)
  for (let i = 0; i < 100 && !out.includes('TASK [hold'); i++) await new Promise((r) => setTimeout(r, 100));
  const second = await haplay('test/e2e/slow.yml', '--lock-wait', '1');
  t.is(second.code, 5, second.stdout + second.stderr);
  t.regex(second.stdout, /pbx-main is busy: another haplay run holds its lock: .*slow\.yml \(pid \d+ on /);
  const first = await new Promise<number>((r) => slow.on('close', (c) => r(c ?? -1)));
  t.is(first, 0, out);
  t.is((await haplay('test/e2e/slow.yml', '--lock-wait', '1', '-e', 'seconds=0')).code, 0, 'the lock is free again');
});
