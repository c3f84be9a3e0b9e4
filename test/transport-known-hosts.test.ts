import test from 'ava';
import { createHmac, randomBytes } from 'node:crypto';
import {
  checkHostKey,
  fingerprint,
  formatKnownHostsLine,
  hashHostName,
  hostMatches,
  keyTypeOf,
  knownHostName,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
} from '../src/core/transport/known-hosts.js';

/** A fake public key blob of the given type: string type, then random bytes. */
function blob(type: string): Buffer {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  const body = randomBytes(32);
  const blen = Buffer.alloc(4);
  blen.writeUInt32BE(body.length);
  return Buffer.concat([len, t, blen, body]);
}
const b64 = (b: Buffer) => b.toString('base64');

/** Hashed entry computed here, independently of the module: |1|base64(salt)|base64(HMAC-SHA1(salt, name)). */
function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

test('knownHostName brackets non-22 ports', (t) => {
  t.is(knownHostName('10.77.0.11', 22), '10.77.0.11');
  t.is(knownHostName('10.77.0.11', 2222), '[10.77.0.11]:2222');
});

test('parses plain, bracketed, listed, commented and marked lines; skips junk', (t) => {
  const k1 = blob('ssh-ed25519');
  const k2 = blob('ssh-rsa');
  const k3 = blob('ecdsa-sha2-nistp256');
  const text = [
    '# a comment',
    '',
    `pbx-main,10.77.0.11 ssh-ed25519 ${b64(k1)} root@pbx-main`,
    `   [10.77.0.12]:2222 ssh-rsa ${b64(k2)}`,
    `@cert-authority *.example.org ssh-ed25519 ${b64(k1)}`,
    `@revoked * ecdsa-sha2-nistp256 ${b64(k3)}`,
    '@bogus-marker host ssh-ed25519 AAAA',
    'only-two fields',
    `mismatch ssh-rsa ${b64(k1)}`, // type field disagrees with the blob
    'badb64 ssh-ed25519 !!!!',
  ].join('\r\n');
  const e = parseKnownHosts(text);
  t.is(e.length, 4);
  t.deepEqual(
    e.map((x) => [x.marker, x.hosts, x.keyType, x.line]),
    [
      [undefined, 'pbx-main,10.77.0.11', 'ssh-ed25519', 3],
      [undefined, '[10.77.0.12]:2222', 'ssh-rsa', 4],
      ['cert-authority', '*.example.org', 'ssh-ed25519', 5],
      ['revoked', '*', 'ecdsa-sha2-nistp256', 6],
    ],
  );
  t.true(e[0].key.equals(k1));
});

test('host patterns: lists, wildcards, negation, case', (t) => {
  t.true(hostMatches('pbx-main,10.77.0.11', '10.77.0.11'));
  t.false(hostMatches('pbx-main,10.77.0.11', '10.77.0.1'));
  t.true(hostMatches('10.77.0.*', '10.77.0.12'));
  t.true(hostMatches('10.77.0.1?', '10.77.0.12'));
  t.false(hostMatches('10.77.0.1?', '10.77.0.123'));
  t.false(hostMatches('10.77.0.*,!10.77.0.13', '10.77.0.13'));
  t.true(hostMatches('PBX-Main', 'pbx-main'));
  t.true(hostMatches('[10.77.0.12]:2222', '[10.77.0.12]:2222'));
  t.false(hostMatches('[10.77.0.12]:2222', '10.77.0.12'));
  t.false(hostMatches('10.77.0.12', '[10.77.0.12]:2222'));
});

test('hashed entries match the name they were made from, with and without a port', (t) => {
  const h22 = hashed('10.77.0.11');
  const h2222 = hashed('[10.77.0.11]:2222');
  t.true(hostMatches(h22, '10.77.0.11'));
  t.false(hostMatches(h22, '10.77.0.12'));
  t.true(hostMatches(h2222, '[10.77.0.11]:2222'));
  t.false(hostMatches(h2222, '10.77.0.11'));
  // Our own hashing agrees with the independent computation.
  const salt = randomBytes(20);
  t.is(
    hashHostName('pbx', salt),
    `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('pbx').digest('base64')}`,
  );
  t.false(hostMatches('|1|garbage', 'pbx'));
});

test('checkHostKey: known, unknown, changed, other type, revoked, cert-authority ignored', (t) => {
  const ed = blob('ssh-ed25519');
  const ed2 = blob('ssh-ed25519');
  const rsa = blob('ssh-rsa');
  const bad = blob('ssh-ed25519');
  const name = '[10.77.0.11]:2222';
  const entries = parseKnownHosts(
    [
      `${hashed(name)} ssh-ed25519 ${b64(ed)}`,
      `@cert-authority * ssh-ed25519 ${b64(ed2)}`,
      `@revoked * ssh-ed25519 ${b64(bad)}`,
      `10.77.0.99 ssh-rsa ${b64(rsa)}`,
    ].join('\n'),
  );
  t.is(checkHostKey(entries, name, ed).status, 'known');
  const changed = checkHostKey(entries, name, ed2);
  t.is(changed.status, 'changed'); // a CA line is not a trusted key for the host
  t.is(checkHostKey(entries, name, rsa).status, 'changed'); // only another key type known: refused too
  t.is(checkHostKey(entries, '10.77.0.50', ed).status, 'unknown');
  t.is(checkHostKey(entries, '10.77.0.50', bad).status, 'revoked');
  t.is(checkHostKey(entries, name, bad).status, 'revoked');
});

test('preferred algorithms put the known key types first', (t) => {
  const entries = parseKnownHosts(`10.77.0.11 ssh-rsa ${b64(blob('ssh-rsa'))}`);
  const algos = preferredHostKeyAlgorithms(entries, '10.77.0.11');
  t.deepEqual(algos.slice(0, 3), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  t.true(algos.includes('ssh-ed25519'));
  t.is(preferredHostKeyAlgorithms([], 'x')[0], 'ssh-ed25519');
});

test('line format, key type and fingerprint', (t) => {
  const k = blob('ssh-ed25519');
  t.is(keyTypeOf(k), 'ssh-ed25519');
  t.is(keyTypeOf(Buffer.alloc(2)), '');
  const line = formatKnownHostsLine('[127.0.0.1]:2222', k);
  t.is(line, `[127.0.0.1]:2222 ssh-ed25519 ${b64(k)}`);
  t.is(checkHostKey(parseKnownHosts(line), '[127.0.0.1]:2222', k).status, 'known');
  t.regex(fingerprint(k), /^SHA256:[A-Za-z0-9+/]{43}$/);
});
