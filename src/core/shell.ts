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
