// Start-up of a whole haplay process, paired in one run against `node -e 0` (the runtime alone):
// `haplay --version` and one debug task on connection: local. Rounds interleave the three commands,
// so a load that comes and goes touches all of them alike. HAPLAY="/usr/bin/haplay" times the
// installed package instead of this checkout's dist/. ROUNDS=N (default 15).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, time } from './lib.js';

const rounds = Number(process.env.ROUNDS ?? 15);
const haplay = process.env.HAPLAY ? [process.env.HAPLAY] : [process.execPath, join(process.cwd(), 'dist/cli/index.js')];
const dir = mkdtempSync(join(tmpdir(), 'haplay-startup-'));
writeFileSync(join(dir, 'inventory.yml'), 'hosts: { here: { connection: local } }\ngroups: { local: { hosts: [here] } }\n');
writeFileSync(join(dir, 'debug.yml'), '- hosts: all\n  tasks:\n    - debug: { msg: "hello {{inventory_hostname}}" }\n');

const cases: Record<string, string[]> = {
  'node -e 0': [process.execPath, '-e', '0'],
  'haplay --version': [...haplay, '--version'],
  'haplay debug.yml (1 local task)': [...haplay, join(dir, 'debug.yml'), '-i', join(dir, 'inventory.yml')],
};
const runs: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < rounds; i++) for (const [k, argv] of Object.entries(cases)) runs[k].push(time(argv, 1).runs[0]);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(runs['node -e 0']);
console.log(`${rounds} rounds, median wall-clock (and above node -e 0):`);
for (const [k, xs] of Object.entries(runs)) {
  const m = median(xs);
  console.log(`  ${k.padEnd(34)} ${fmt(m)}${k === 'node -e 0' ? '' : `  (+${fmt(m - base)})`}  min ${fmt(Math.min(...xs))}`);
}
