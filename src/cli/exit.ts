// Turns any error into the operator's message and a documented exit code.
import { EXIT, formatError, isHaplayError } from '../core/errors.js';

export const EXIT_HELP = EXIT.INVALID;

export function fail(err: unknown, usageExit: number = EXIT.INVALID): never {
  if (isHaplayError(err)) {
    process.stderr.write(formatError(err) + '\n');
    process.exit(err.exitCode);
  }
  if (typeof err === 'string') {
    process.stderr.write(`ERROR [E_USAGE] ${err}\n  hint: run "haplay --help"\n`);
    process.exit(usageExit);
  }
  const e = err as Error;
  process.stderr.write(`ERROR [E_INTERNAL] ${e?.message ?? String(err)}\n${process.env.HAPLAY_DEBUG ? (e?.stack ?? '') + '\n' : ''}`);
  process.exit(EXIT.FAILED);
}

/** "a,b" and repeated flags both give [a, b]. */
export function splitList(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean);
}
