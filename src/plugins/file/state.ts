// The fact of what is at a path, read in one exec: type, permission bits, owner, group, whether the
// parent directory exists and, only when asked, the content (base64, so any bytes survive).
import { posix } from 'node:path';
import { TaskFailed } from '../../core/errors.js';
import { quote } from '../../core/shell.js';
import type { Fact } from '../../core/types.js';
import { defineFact } from '../../kit/index.js';

export type FileType = 'file' | 'directory' | 'link' | 'other' | 'absent';

export interface FileState {
  type: FileType;
  parentExists: boolean;
  mode?: number;
  owner?: string;
  group?: string;
  uid?: number;
  gid?: number;
  /** Present only when content was asked for and the path is a regular file. */
  content?: Buffer;
}

function stateScript(path: string, withContent: boolean): string {
  const p = quote(path);
  return [
    `p=${p}`,
    // -L first: a symlink is reported as a link, never followed.
    'if [ -L "$p" ]; then t=link; elif [ -d "$p" ]; then t=directory; elif [ -f "$p" ]; then t=file; elif [ -e "$p" ]; then t=other; else t=absent; fi',
    `if [ -d ${quote(posix.dirname(path))} ]; then d=1; else d=0; fi`,
    'echo "$t $d"',
    '[ "$t" = absent ] && exit 0',
    `stat -c '%a %U %G %u %g' -- "$p" || exit 1`,
    withContent ? '[ "$t" = file ] && { base64 -w 0 -- "$p" || exit 1; echo; }' : '',
    'exit 0',
  ]
    .filter(Boolean)
    .join('\n');
}

function parseState(path: string, stdout: string): FileState {
  const [head = '', attrs = '', b64] = stdout.split('\n');
  const [type, parent] = head.trim().split(' ');
  if (!['file', 'directory', 'link', 'other', 'absent'].includes(type)) {
    throw new TaskFailed(`cannot read the state of ${path}: unexpected answer ${JSON.stringify(stdout.slice(0, 80))}`);
  }
  const state: FileState = { type: type as FileType, parentExists: parent === '1' };
  if (type === 'absent') return state;
  const [mode, owner, group, uid, gid] = attrs.trim().split(' ');
  Object.assign(state, { mode: parseInt(mode, 8), owner, group, uid: Number(uid), gid: Number(gid) });
  if (b64 !== undefined && type === 'file') state.content = Buffer.from(b64.trim(), 'base64');
  return state;
}

export function fileState(path: string, withContent: boolean): Fact<FileState> {
  return defineFact({ what: `the state of ${path}`, command: stateScript(path, withContent), parse: (out) => parseState(path, out) });
}
