// One list of the Debian packages this machine needs (scripts/debian-packages.txt): the installer,
// npm's hooks, CI and the lab all take it from there, and nothing keeps a second list.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGES, readPackageList } from './lab/packages.js';

const run = promisify(execFile);
const read = (f: string) => readFileSync(f, 'utf8');
const INSTALLER = 'scripts/install-debian-packages.sh';

test('the lab checks exactly the packages of scripts/debian-packages.txt', (t) => {
  const list = readPackageList(read('scripts/debian-packages.txt'));
  t.deepEqual(PACKAGES, list);
  for (const p of ['openssh-server', 'postgresql-15', 'nginx-light', 'iputils-ping', 'sudo', 'procps', 'psmisc']) t.truthy(list[p], p);
  t.notRegex(read('test/lab/packages.ts'), /'openssh-server'|apt-get/, 'the lab keeps no list of its own');
});

test('CI and both README commands install with the one script, and CI still ends with npm test', (t) => {
  const ci = read('.ci/run');
  t.regex(ci, new RegExp(`^bash ${INSTALLER}$`, 'm'));
  t.notRegex(ci, /apt-get install|packages=\(/, 'CI keeps no list of its own');
  t.is(ci.trim().split('\n').at(-1), 'npm test');
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  t.true(scripts.pretest.startsWith(`bash ${INSTALLER}`), scripts.pretest);
  t.true(scripts.predemo.startsWith(`bash ${INSTALLER}`), scripts.predemo);
});

test('the installer reads the list as the lab does: comments, and a package counts when its file exists', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'haplay-pkgs-'));
  const text = `# header\npresent  /bin/sh\n  absent  ${dir}/nothing-here   # trailing comment\n\nalso-absent ${dir}/nor-here\n`;
  writeFileSync(join(dir, 'list.txt'), text);
  const { stdout } = await run('bash', [INSTALLER, '--missing'], { env: { ...process.env, HAPLAY_DEBIAN_PACKAGES: join(dir, 'list.txt') } });
  t.deepEqual(stdout.trim().split('\n'), ['absent', 'also-absent']);
  t.deepEqual(Object.keys(readPackageList(text)), ['present', 'absent', 'also-absent']);
});
