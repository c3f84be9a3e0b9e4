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

/**
 * Writes through a temp file in the same directory and rename(2): readers see old or new, never half.
 * The temp file gets its final mode and owner before any byte is written (a 0600 secret is never
 * readable by others, not even for an instant), and `mv -T` replaces the path itself: a directory
 * there is an error, never a place the file lands inside.
 */
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
    `if [ -d ${p} ] && [ ! -L ${p} ]; then echo 'it is a directory' >&2; exit 1; fi`,
    `t=$(mktemp ${dir}/${base}) || exit 1`,
    `trap 'rm -f "$t"' EXIT`,
    // Mode and owner first (mktemp makes it 0600): the existing file's unless told otherwise; new files
    // get 0644 like an editor would, or the mode asked for.
    opts.mode !== undefined
      ? `chmod ${opts.mode.toString(8)} "$t" || exit 1`
      : `if [ -e ${p} ]; then chmod --reference=${p} "$t"; else chmod 644 "$t"; fi || exit 1`,
    `if [ -e ${p} ]; then chown --reference=${p} "$t" || exit 1; fi`,
    own ? `chown -- ${quote(own)} "$t" || exit 1` : '',
    `base64 -d > "$t" || exit 1`,
    `mv -fT -- "$t" ${p} || exit 1`,
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
