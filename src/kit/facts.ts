// Facts as plugins write them: a command that only reads and the parser of its output, read with
// ctx.fact(fact). The parser is a plain function, so each fact is tested on recorded output.
import type { Fact } from '../core/types.js';

/** Keeps the parsed type attached; nothing else happens here. */
export function defineFact<T>(fact: Fact<T>): Fact<T> {
  return fact;
}
