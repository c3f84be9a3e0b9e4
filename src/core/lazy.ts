// Dependencies that only some runs need (ssh2 without an SSH host, diff without --diff, listr2
// without a terminal, jexl without an expression, Handlebars without a template) are loaded on first
// use: a module graph loaded and compiled at start-up is most of what one local task costs. Each is
// loaded through its CommonJS entry, synchronously, so the APIs that use it stay synchronous.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** `lazy<typeof import('x')>('x')` returns a function that loads x the first time it is called. */
export function lazy<T>(id: string): () => T {
  let m: T | undefined;
  return () => (m ??= require(id) as T);
}
