// `haplay --help` (on stdin) as a man page (roff, on stdout): the man page says what --help says.
// Usage: haplay --help | node packaging/help-to-man.mjs VERSION
import { readFileSync } from 'node:fs';

const version = process.argv[2] ?? '';
const help = readFileSync(0, 'utf8').replace(/\s+$/, '');
const esc = (s) => s.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/gm, '\\&$1');

// --help: a usage line, a description, then sections headed "Commands:", "Options:"... and an epilogue.
const blocks = help.split(/\n\n+/);
const usage = blocks.shift().replace(/^Usage:\s*/, '');
const description = blocks.shift() ?? '';
const out = [
  `.TH HAPLAY 1 "" "haplay ${version}" "User Commands"`,
  '.SH NAME',
  'haplay \\- idempotent playbooks for XiVO and Wazo PBX high availability',
  '.SH SYNOPSIS',
  `.B ${esc(usage)}`,
  '.SH DESCRIPTION',
  esc(description),
];
for (const block of blocks) {
  const m = /^([A-Z][A-Za-z ]+):\n([\s\S]*)$/.exec(block);
  if (m) out.push(`.SH ${m[1].toUpperCase()}`, '.nf', esc(m[2].replace(/^ {2}/gm, '')), '.fi');
  else out.push('.PP', esc(block));
}
out.push('.SH FILES', '.TP', '.I /etc/haplay/inventory.yml', 'the inventory, when neither \\-i nor ./inventory.yml nor $HAPLAY_INVENTORY gives one',
  '.TP', '.I /usr/share/haplay/playbooks', 'the operator playbooks (ha\\-setup, replicate, failover, failback, health, upgrade, ping)',
  '.SH SEE ALSO', '/usr/share/doc/haplay/README.md');
process.stdout.write(out.join('\n') + '\n');
