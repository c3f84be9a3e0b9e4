// The Debian package's generated parts: the man page says what --help says; CI builds, checks and
// installs the package before the tests.
import test from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = join(process.cwd(), 'dist/cli/index.js');

test('the man page is --help, in roff: name, synopsis, every section and where haplay looks', async (t) => {
  const { stdout: help } = await run('node', [cli, '--help'], { env: { ...process.env, COLUMNS: '78' } });
  const child = execFile('node', ['packaging/help-to-man.mjs', '1.2.3']);
  let man = '';
  child.stdout!.on('data', (d: string) => (man += d));
  child.stdin!.end(help);
  await new Promise((resolve) => child.on('close', resolve));
  t.regex(man, /^\.TH HAPLAY 1 "" "haplay 1\.2\.3"/);
  t.regex(man, /\n\.SH NAME\nhaplay \\- /);
  t.regex(man, /\n\.SH SYNOPSIS\n\.B haplay PLAYBOOK \[options\]\n/);
  for (const s of ['COMMANDS', 'OPTIONS', 'EXAMPLES', 'FILES']) t.regex(man, new RegExp(`\\n\\.SH ${s}\\n`), s);
  t.regex(man, /\\-\\-inventory/);
  t.regex(man, /\/usr\/share\/haplay\/playbooks/);
  t.notRegex(man, /^[.'](?!TH|SH|B |nf|fi|PP|TP|I )/m, 'no help line is read as a roff request');
});

test('CI builds the package, runs lintian and the install check before npm test', (t) => {
  const lines = readFileSync('.ci/run', 'utf8').trim().split('\n');
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  const pkg = at(/^npm run -s package$/), lint = at(/^lintian --fail-on error,warning /), check = at(/^bash packaging\/check-install\.sh$/);
  const down = at(/lab -- down/), npmTest = lines.length - 1;
  t.true(down < pkg && pkg < lint && lint < check && check < npmTest, lines.join('\n'));
  t.is(lines[npmTest], 'npm test');
});
