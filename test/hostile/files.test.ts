// Files written on a host (the shell write both transports use): the content never sits in a file
// readable by others before its final mode is set, and a directory at the path is never written into.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalTransport } from '../../src/core/transport/local.js';

const root = mkdtempSync(join(tmpdir(), 'haplay-files-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

// base64 -d writes the content: this shim records the mode of the file on its stdout at that moment
// (the temp file that becomes the target), then decodes with the real base64.
const shims = join(root, 'bin');
const modes = join(root, 'modes.log');
mkdirSync(shims);
writeFileSync(join(shims, 'base64'), `#!/bin/sh\nm=$(stat -L -c %a /proc/$$/fd/1)\necho "$m" >> ${modes}\nexec /usr/bin/base64 "$@"\n`, { mode: 0o755 });
// chmod: records the mode and size of the file after each change (a file with content must never be
// readable by others on its way to 0600).
const chmods = join(root, 'chmods.log');
const realChmod = execFileSync('sh', ['-c', 'command -v chmod']).toString().trim();
writeFileSync(join(shims, 'chmod'), `#!/bin/sh\n${realChmod} "$@"; rc=$?\nfor last; do :; done\nstat -c '%a %s' -- "$last" >> ${chmods}\nexit $rc\n`, { mode: 0o755 });
process.env.PATH = `${shims}:${process.env.PATH}`;

const local = new LocalTransport('here');

test.serial('a 0600 file is 0600 before its content is written, new or replacing a 0644 one', async (t) => {
  const fresh = join(root, 'fresh.key');
  const old = join(root, 'old.key');
  writeFileSync(old, 'public\n');
  chmodSync(old, 0o644);
  for (const path of [fresh, old]) {
    writeFileSync(modes, '');
    writeFileSync(chmods, '');
    await local.writeFile(path, 'secret-key\n', { mode: 0o600 });
    const steps = readFileSync(chmods, 'utf8').trim().split('\n');
    t.true(steps.length > 0);
    t.deepEqual(steps.filter((l) => !l.startsWith('600 ') && !l.endsWith(' 0')), [], `a mode other than 0600 while ${path} had content`);
    t.is(readFileSync(path, 'utf8'), 'secret-key\n');
    t.is(statSync(path).mode & 0o777, 0o600);
    t.deepEqual(readFileSync(modes, 'utf8').trim().split('\n'), ['600'], `mode while the content of ${path} was written`);
  }
});

test.serial('without a mode, a replaced file keeps its mode, also while written; a new one is 0644', async (t) => {
  const kept = join(root, 'kept.conf');
  writeFileSync(kept, 'old\n');
  chmodSync(kept, 0o640);
  writeFileSync(modes, '');
  await local.writeFile(kept, 'new\n');
  t.is(statSync(kept).mode & 0o777, 0o640);
  const fresh = join(root, 'fresh.conf');
  await local.writeFile(fresh, 'new\n');
  t.is(statSync(fresh).mode & 0o777, 0o644);
  t.deepEqual(readFileSync(modes, 'utf8').trim().split('\n'), ['640', '644']);
});

test.serial('a directory at the path is an error, and nothing lands inside it', async (t) => {
  const dir = join(root, 'ha.conf');
  mkdirSync(dir);
  const err = await t.throwsAsync(local.writeFile(dir, '{"node_type": "master"}\n'));
  t.regex(err!.message, /cannot write .*ha\.conf: it is a directory/);
  t.deepEqual(readdirSync(dir), []);
  t.true(statSync(dir).isDirectory());
  t.false(readdirSync(root).some((f) => f.includes('.haplay.')), 'no temp file left behind');
  t.false(existsSync(join(dir, 'ha.conf')));
});
