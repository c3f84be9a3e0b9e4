// readFile/writeFile for transports that only know how to run shell commands. Bytes travel as
// base64 so that any file content survives a text channel.
import type { ExecOptions, ExecResult, WriteOptions } from '../types.js';
import { HaplayError } from '../errors.js';
import { quote } from '../shell.js';

type Exec = (command: string, opts?: ExecOptions) => Promise<ExecResult>;

const ABSENT = 44;

export async function shellReadFile(exec: Exec, hostName: string, path: string): Promise<Buffer | null> {
  const p = quote(path);
  const r = await exec(`[ -e ${p} ] || exit ${ABSENT}; base64 -w 0 -- ${p}`);
  if (r.code === ABSENT) return null;
  if (r.code !== 0) {
    throw new HaplayError('E_TASK_FAILED', `cannot read ${path}: ${r.stderr.trim() || `exit ${r.code}`}`, {
      where: { host: hostName },
    });
  }
  return Buffer.from(r.stdout.trim(), 'base64');
}

/** Writes through a temp file in the same directory and rename(2): readers see old or new, never half. */
export async function shellWriteFile(
  exec: Exec,
  hostName: string,
  path: string,
  data: string | Buffer,
  opts: WriteOptions = {},
): Promise<void> {
  const p = quote(path);
  const dir = quote(path.includes('/') ? path.slice(0, path.lastIndexOf('/')) || '/' : '.');
  const base = quote('.' + (path.split('/').pop() ?? 'file') + '.haplay.XXXXXX');
  const own = opts.owner || opts.group ? `${opts.owner ?? ''}${opts.group ? ':' + opts.group : ''}` : '';
  const script = [
    `t=$(mktemp ${dir}/${base}) || exit 1`,
    `trap 'rm -f "$t"' EXIT`,
    `base64 -d > "$t" || exit 1`,
    // Keep the existing file's mode and owner unless told otherwise; new files get 0644 like an editor would.
    `if [ -e ${p} ]; then chmod --reference=${p} "$t" && chown --reference=${p} "$t"; else chmod 644 "$t"; fi || exit 1`,
    opts.mode !== undefined ? `chmod ${opts.mode.toString(8)} "$t" || exit 1` : '',
    own ? `chown -- ${quote(own)} "$t" || exit 1` : '',
    `mv -f "$t" ${p} || exit 1`,
    `trap - EXIT`,
  ]
    .filter(Boolean)
    .join('\n');
  const r = await exec(script, { stdin: Buffer.from(data).toString('base64') });
  if (r.code !== 0) {
    throw new HaplayError('E_TASK_FAILED', `cannot write ${path}: ${r.stderr.trim() || `exit ${r.code}`}`, {
      where: { host: hostName },
    });
  }
}
