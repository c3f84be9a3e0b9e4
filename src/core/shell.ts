// POSIX shell helpers shared by transports and plugins.

/** Quotes one word for a POSIX shell: safe for any bytes but NUL. */
export function quote(word: string | number): string {
  const s = String(word);
  if (s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Quotes and joins an argv into one command line. */
export function argvToShell(argv: (string | number)[]): string {
  return argv.map(quote).join(' ');
}

/**
 * A host name or an IP address (v4 or v6) as it may be handed to ssh, rsync or bash's /dev/udp: letters,
 * digits, `.`, `_`, `:` and `-`, not starting with `-` (it would be read as an option).
 */
export const HOST_ADDRESS = '^(?!-)[A-Za-z0-9_.:-]{1,253}$';

export function isHostAddress(s: string): boolean {
  return new RegExp(HOST_ADDRESS).test(s);
}

/**
 * Quotes one word for rsync's own splitting of its `-e` command (not a shell: words are separated by
 * spaces, single or double quotes group, a doubled quote inside quotes is one literal quote).
 */
export function rsyncQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, "''")}'`;
}
