// The framing of commands on a persistent shell, without SSH: the framed text is run by a real
// /bin/sh here, and the reader is fed in every possible chunking.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { FrameReader, frameCommand } from '../src/core/transport/ssh-shell.js';

const nonce = 'a1b2c3d4e5f6a7b8c9d0e1f2';

function runFramed(command: string, stdin?: string | Buffer) {
  const r = spawnSync('/bin/sh', [], { input: frameCommand(nonce, command, { stdin }) });
  return { out: r.stdout, err: r.stderr };
}

function read(bytes: Buffer, chunk: number) {
  const fr = new FrameReader(nonce);
  let done = false;
  for (let i = 0; i < bytes.length; i += chunk) done = fr.push(bytes.subarray(i, i + chunk));
  return { done, text: fr.text(), status: fr.status };
}

test('framed command output is returned exactly, whatever the chunking', (t) => {
  const cmd = `printf 'no newline'; printf '<<HAPLAY:${nonce.slice(0, 6)}:end:7>>' >&2; exit 5`;
  const { out, err } = runFramed(cmd);
  for (const chunk of [1, 2, 3, 7, 50, 100000]) {
    t.deepEqual(read(out, chunk), { done: true, text: 'no newline', status: 5 }, `stdout chunk ${chunk}`);
    t.deepEqual(read(err, chunk), { done: true, text: `<<HAPLAY:${nonce.slice(0, 6)}:end:7>>`, status: 5 }, `stderr chunk ${chunk}`);
  }
});

test('bytes before the begin marker and after the end marker are dropped', (t) => {
  const fr = new FrameReader(nonce);
  t.false(fr.push(Buffer.from(`stray from an earlier job\n<<HAPLAY:${nonce}:begin>>\nbody`)));
  t.true(fr.push(Buffer.from(`!<<HAPLAY:${nonce}:end:0>>\nlate stray`)));
  t.is(fr.text(), 'body!');
  t.is(fr.status, 0);
});

test('stdin bytes and tricky command text survive the framing', (t) => {
  const input = Buffer.from([0, 1, 2, 255, 10, 13, 39, 34, 92]);
  const { out } = runFramed(`od -An -tx1 | tr -s ' \\n' ' '; echo "__HAPLAY_${nonce}"`, input);
  t.deepEqual(read(out, 4), { done: true, text: ` 00 01 02 ff 0a 0d 27 22 5c __HAPLAY_${nonce}\n`, status: 0 });
});
