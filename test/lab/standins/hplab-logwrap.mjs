// Runs a command and writes each line it prints as "<RFC3339Nano UTC> <line>" to a log file, like a
// docker json-file log (read back by xivocc-dcomp / edge-dcomp logs). Usage: hplab-logwrap LOG CMD...
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';

const [log, cmd, ...args] = process.argv.slice(2);
const out = fs.createWriteStream(log, { flags: 'a' });
const base = process.hrtime.bigint();
const t0 = BigInt(Date.now()) * 1000000n;
const stamp = () => {
  const ns = t0 + (process.hrtime.bigint() - base);
  const iso = new Date(Number(ns / 1000000n)).toISOString().slice(0, 19);
  return `${iso}.${String(ns % 1000000000n).padStart(9, '0')}Z`;
};
// Through `| cat` so the command's stdout/stderr are real pipes (nginx cannot open /dev/stdout on a socket).
const q = (w) => `'${w.replace(/'/g, `'\\''`)}'`;
const child = spawn('bash', ['-c', `exec 2>&1; ${[cmd, ...args].map(q).join(' ')} | cat`], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
readline.createInterface({ input: child.stdout }).on('line', (l) => out.write(`${stamp()} ${l}\n`));
for (const sig of ['SIGTERM', 'SIGINT', 'SIGQUIT']) process.on(sig, () => { try { process.kill(-child.pid, sig); } catch {} });
child.on('exit', (code, sig) => out.end(() => process.exit(code ?? (sig ? 1 : 0))));
