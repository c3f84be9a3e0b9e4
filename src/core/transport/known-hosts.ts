// OpenSSH known_hosts, as sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT" describes it: one key per line,
// `[marker] hostpatterns keytype base64-key [comment]`. Host patterns are a comma-separated list
// with `*`/`?` wildcards and `!` negation, or one hashed name `|1|base64(salt)|base64(hmac-sha1)`.
// A non-22 port is written `[host]:port`. `@cert-authority` lines are ignored (haplay does not do
// host certificates); `@revoked` lines are honoured: such a key is never accepted.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface KnownHostEntry {
  marker?: 'revoked' | 'cert-authority';
  /** The host pattern field as written. */
  hosts: string;
  keyType: string;
  key: Buffer;
  /** 1-based line number in the file. */
  line: number;
}

/** Parses known_hosts text; malformed lines are skipped (OpenSSH does the same). */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const fields = raw.split(/[ \t]+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0].startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue; // unknown marker: skip the line
    }
    if (fields.length < 3) continue;
    const [hosts, keyType, b64] = fields;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) continue;
    const key = Buffer.from(b64, 'base64');
    // The blob starts with its own type name; a line whose type field disagrees is corrupt.
    if (keyTypeOf(key) !== keyType) continue;
    entries.push({ marker, hosts, keyType, key, line: i + 1 });
  }
  return entries;
}

/** The name known_hosts uses for address:port: `10.0.0.1` on port 22, `[10.0.0.1]:2222` otherwise. */
export function knownHostName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/** The key type named inside an SSH public key blob (`ssh-ed25519`, `ssh-rsa`, ...). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return '';
  const n = blob.readUInt32BE(0);
  if (n > blob.length - 4 || n > 64) return '';
  return blob.subarray(4, 4 + n).toString('latin1');
}

/** `SHA256:...` as ssh-keygen -l prints it. */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Whether a host pattern field (hashed or a pattern list) matches the name. */
export function hostMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) return hashedMatches(hosts, name);
  let matched = false;
  for (const pattern of hosts.split(',')) {
    if (pattern === '') continue;
    if (pattern.startsWith('!')) {
      if (globMatch(pattern.slice(1), name)) return false; // a negated match wins over everything
    } else if (globMatch(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** `|1|salt|hmac`: hmac = HMAC-SHA1(key = salt, data = name). */
export function hashedMatches(field: string, name: string): boolean {
  const parts = field.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2], 'base64');
  const want = Buffer.from(parts[3], 'base64');
  const got = createHmac('sha1', salt).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/** The hashed form of a name, as `ssh-keygen -H` writes it (salt given for tests). */
export function hashHostName(name: string, salt: Buffer): string {
  const mac = createHmac('sha1', salt).update(name).digest('base64');
  return `|1|${salt.toString('base64')}|${mac}`;
}

function globMatch(pattern: string, name: string): boolean {
  const re = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(name.toLowerCase());
}

export type HostKeyVerdict =
  | { status: 'known'; entry: KnownHostEntry }
  | { status: 'unknown' }
  /** Same key type known with another key, or only other key types known: refused unless policy is off. */
  | { status: 'changed'; known: KnownHostEntry[] }
  | { status: 'revoked'; entry: KnownHostEntry };

/** What known_hosts says about `key` presented by `name` (see knownHostName). */
export function checkHostKey(entries: KnownHostEntry[], name: string, key: Buffer): HostKeyVerdict {
  for (const e of entries) {
    if (e.marker === 'revoked' && e.key.equals(key) && hostMatches(e.hosts, name)) return { status: 'revoked', entry: e };
  }
  const forHost = entries.filter((e) => e.marker === undefined && hostMatches(e.hosts, name));
  const same = forHost.find((e) => e.key.equals(key));
  if (same) return { status: 'known', entry: same };
  if (forHost.length === 0) return { status: 'unknown' };
  return { status: 'changed', known: forHost };
}

const ALL_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/**
 * Host key algorithms to offer, those already known for the host first, so that a server with
 * several host keys shows the one we know (OpenSSH does the same ordering).
 */
export function preferredHostKeyAlgorithms(entries: KnownHostEntry[], name: string): string[] {
  const known = new Set(
    entries.filter((e) => e.marker === undefined && hostMatches(e.hosts, name)).map((e) => e.keyType),
  );
  const first: string[] = [];
  for (const t of known) {
    if (t === 'ssh-rsa') first.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else if (ALL_HOST_KEY_ALGORITHMS.includes(t)) first.push(t);
  }
  return [...new Set([...first, ...ALL_HOST_KEY_ALGORITHMS])];
}

/** The line accept-new appends. Written in clear, as ssh does when HashKnownHosts is off. */
export function formatKnownHostsLine(name: string, key: Buffer): string {
  return `${name} ${keyTypeOf(key)} ${key.toString('base64')}`;
}
