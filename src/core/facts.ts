// Reading facts and failing with a command's own words: the engine gives plugins ctx.fact, the kit
// gives them runOrFail; both say why a command failed the same way.
import { TaskFailed } from './errors.js';
import type { ExecResult, Fact, Transport } from './types.js';

/** The last line of stderr (else of stdout), else the exit status: what an operator needs to see. */
export function failureLine(r: ExecResult): string {
  return lastLine(r) || `exit ${r.code}`;
}

/** The last line of stderr, else of stdout; '' when the command said nothing. */
export function lastLine(r: ExecResult): string {
  return (r.stderr.trim() || r.stdout.trim()).split('\n').pop() ?? '';
}

export async function readFact<T>(transport: Transport, fact: Fact<T>): Promise<T> {
  const r = await transport.exec(fact.command);
  if (r.code === 3 && fact.missing !== undefined) throw new TaskFailed(`${r.stderr.trim()} on ${transport.hostName}`, undefined, fact.missing);
  if (r.code !== 0) throw new TaskFailed(`cannot read ${fact.what} on ${transport.hostName}: ${failureLine(r)}`);
  return fact.parse(r.stdout);
}
