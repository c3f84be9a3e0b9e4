// Several files and flags of a XiVO/Wazo node read in one exec (the HA plugins' facts), bytes as
// base64 so that anything survives the text channel.
import { quote } from '../core/shell.js';

/** Shell lines printing `F<TAB>path<TAB>base64` for a regular file and `A<TAB>path` otherwise. */
export function readFilesScript(paths: string[]): string {
  return paths
    .map((p) => `if [ -f ${quote(p)} ]; then printf 'F\\t%s\\t' ${quote(p)}; base64 -w 0 < ${quote(p)} || exit 1; echo; else printf 'A\\t%s\\n' ${quote(p)}; fi`)
    .join('\n');
}

/** Lines of the output that are not file lines, and the files by path (null: absent). */
export function parseFiles(stdout: string): { files: Map<string, Buffer | null>; lines: string[] } {
  const files = new Map<string, Buffer | null>();
  const lines: string[] = [];
  for (const line of stdout.split('\n')) {
    const [tag, path, b64] = line.split('\t');
    if (tag === 'F' && path !== undefined) files.set(path, Buffer.from(b64 ?? '', 'base64'));
    else if (tag === 'A' && path !== undefined) files.set(path, null);
    else if (line !== '') lines.push(line);
  }
  return { files, lines };
}

/** The file's lines without those starting with prefix, plus `append`; unchanged bytes when nothing moves (as sysconfd's sed + append). */
export function rewriteLines(current: Buffer | null, prefix: string, append: string | null): Buffer {
  const text = current?.toString('utf8') ?? '';
  const lines = text === '' ? [] : text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const kept = lines.filter((l) => !l.startsWith(prefix));
  if (kept.length === lines.length && append === null) return current ?? Buffer.alloc(0);
  if (append !== null) kept.push(append);
  return Buffer.from(kept.length ? kept.join('\n') + '\n' : '', 'utf8');
}
