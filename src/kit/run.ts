// Run a command that must succeed, or fail the task with the command's own last words.
import { TaskFailed } from '../core/errors.js';
import { failureLine, lastLine } from '../core/facts.js';
import type { ExecOptions, ExecResult, Transport } from '../core/types.js';

export { failureLine, lastLine };

/**
 * Runs `script`; on a non-zero exit fails with "cannot WHAT on HOST: last line of stderr" and the
 * rc, stdout and stderr as the failure's data. Returns stdout.
 */
export async function runOrFail(transport: Transport, script: string, what: string, opts?: ExecOptions): Promise<string> {
  const r = await transport.exec(script, opts);
  if (r.code !== 0) {
    throw new TaskFailed(`cannot ${what} on ${transport.hostName}: ${failureLine(r)}`, { rc: r.code, stdout: r.stdout, stderr: r.stderr });
  }
  return r.stdout;
}

/** The failure of a command the operator named (a service tool, a playbook's command): "CMD exited with N: last line". */
export function commandFailed(cmd: string, r: ExecResult): TaskFailed {
  const why = lastLine(r);
  return new TaskFailed(`${cmd} exited with ${r.code}${why ? `: ${why}` : ''}`, { rc: r.code, stdout: r.stdout, stderr: r.stderr });
}
