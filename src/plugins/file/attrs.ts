// Permission bits and ownership: parsing what the operator wrote, comparing with what the host has,
// and the one-line descriptions that go into summaries and diffs.
import { TaskFailed } from '../../core/errors.js';
import { quote } from '../../core/shell.js';
import type { FileState } from './state.js';

export interface WantedAttrs {
  mode?: number;
  owner?: string;
  group?: string;
}

/**
 * "0644", "644", "0o644" or a number. A number is read as the octal digits typed: YAML 1.2 loads
 * `mode: 0644` as the integer 644, and nobody who writes that means 0o1204.
 */
export function parseMode(mode: string | number | undefined): number | undefined {
  if (mode === undefined) return undefined;
  const digits = typeof mode === 'number' ? String(mode) : mode.replace(/^0o/, '');
  if (!/^[0-7]{1,4}$/.test(digits)) {
    throw new TaskFailed(`mode ${JSON.stringify(mode)} is not an octal permission like "0644"`, undefined, 'quote it: mode: "0644"');
  }
  return parseInt(digits, 8);
}

export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/** What differs, as ["mode 0600 → 0644", "owner root → asterisk"]; empty when nothing does. */
export function attrDifferences(cur: FileState, want: WantedAttrs): { what: string[]; before: string[]; after: string[] } {
  const out = { what: [] as string[], before: [] as string[], after: [] as string[] };
  const add = (name: string, before: string, after: string) => {
    out.what.push(`${name} ${before} → ${after}`);
    out.before.push(`${name} ${before}`);
    out.after.push(`${name} ${after}`);
  };
  if (want.mode !== undefined && cur.mode !== want.mode) add('mode', formatMode(cur.mode ?? 0), formatMode(want.mode));
  if (want.owner !== undefined && !sameId(want.owner, cur.owner, cur.uid)) add('owner', cur.owner ?? '?', want.owner);
  if (want.group !== undefined && !sameId(want.group, cur.group, cur.gid)) add('group', cur.group ?? '?', want.group);
  return out;
}

/** An owner may be given by name or by numeric id; stat reports both. */
function sameId(want: string, name: string | undefined, id: number | undefined): boolean {
  return /^\d+$/.test(want) ? Number(want) === id : want === name;
}

/** chmod/chown commands for the attributes asked for (all of them: cheap and idempotent). */
export function attrCommands(path: string, want: WantedAttrs): string[] {
  const p = quote(path);
  const cmds: string[] = [];
  if (want.mode !== undefined) cmds.push(`chmod ${formatMode(want.mode)} -- ${p}`);
  // `--` before every operand: an owner or a group is never read as an option.
  if (want.owner !== undefined) cmds.push(`chown -- ${quote(want.owner + (want.group !== undefined ? ':' + want.group : ''))} ${p}`);
  else if (want.group !== undefined) cmds.push(`chgrp -- ${quote(want.group)} ${p}`);
  return cmds;
}
