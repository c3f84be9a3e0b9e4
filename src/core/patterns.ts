// Host patterns, as Ansible operators write them: `all`, a group, a host, globs (`pbx-*`), unions
// (`a:b` or `a,b`), intersections (`a:&b`) and exclusions (`a:!b`).
import { HaplayError } from './errors.js';
import { MAX_PATTERN_LENGTH } from './limits.js';
import { suggest } from './params.js';

export interface PatternSource {
  hostNames: string[];
  groupNames: string[];
  hasGroup(name: string): boolean;
  hasHost(name: string): boolean;
  hostsOf(group: string): string[];
}

export function selectHosts(pattern: string, inv: PatternSource): string[] {
  // Each glob costs (name × pattern) steps per host and group: bounded.
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new HaplayError('E_PATTERN', `host pattern "${pattern.slice(0, 40)}…" is longer than ${MAX_PATTERN_LENGTH} characters`, { hint: 'name a group instead of listing hosts' });
  }
  const terms = pattern
    .split(/[:,]/)
    .map((t) => t.trim())
    .filter(Boolean);
  if (!terms.length) throw new HaplayError('E_PATTERN', `empty host pattern "${pattern}"`, { hint: 'use "all", a group or a host name' });
  let selected = new Set<string>();
  const intersections: Set<string>[] = [];
  const exclusions: Set<string>[] = [];
  for (const term of terms) {
    if (term.startsWith('&')) intersections.push(resolveTerm(term.slice(1), inv, pattern));
    else if (term.startsWith('!')) exclusions.push(resolveTerm(term.slice(1), inv, pattern));
    else resolveTerm(term, inv, pattern).forEach((h) => selected.add(h));
  }
  for (const set of intersections) selected = new Set([...selected].filter((h) => set.has(h)));
  for (const set of exclusions) set.forEach((h) => selected.delete(h));
  // Inventory order, so that runs are reproducible whatever order the pattern used.
  return inv.hostNames.filter((h) => selected.has(h));
}

function resolveTerm(term: string, inv: PatternSource, pattern: string): Set<string> {
  if (term === 'all' || term === '*') return new Set(inv.hostNames);
  if (inv.hasGroup(term)) return new Set(inv.hostsOf(term));
  if (inv.hasHost(term)) return new Set([term]);
  if (/[*?[]/.test(term)) {
    const matches = globMatcher(term);
    const found = new Set<string>();
    inv.groupNames.filter(matches).forEach((g) => inv.hostsOf(g).forEach((h) => found.add(h)));
    inv.hostNames.filter(matches).forEach((h) => found.add(h));
    if (found.size) return found;
  }
  throw new HaplayError('E_PATTERN', `"${term}" in host pattern "${pattern}" matches no host or group`, {
    hint: suggest(term, [...inv.groupNames, ...inv.hostNames]) ?? 'run "haplay inventory --graph" to list groups and hosts',
  });
}

type GlobToken = { kind: 'star' } | { kind: 'one' } | { kind: 'set'; negate: boolean; ranges: [string, string][] } | { kind: 'char'; c: string };

/**
 * `*`, `?` and `[a-z]` / `[!a-z]` matched without a regular expression: at most (name × pattern)
 * steps, so `*a*a*a*a*b` cannot backtrack for seconds, and a reversed range like `[z-a]` matches
 * nothing instead of throwing.
 */
export function globMatcher(glob: string): (name: string) => boolean {
  const toks: GlobToken[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (toks.at(-1)?.kind !== 'star') toks.push({ kind: 'star' });
    } else if (c === '?') toks.push({ kind: 'one' });
    else if (c === '[' && glob.indexOf(']', i + 2) > 0) {
      const end = glob.indexOf(']', i + 2);
      let body = glob.slice(i + 1, end);
      const negate = body[0] === '!' || body[0] === '^';
      if (negate) body = body.slice(1);
      const ranges: [string, string][] = [];
      for (let k = 0; k < body.length; k++) {
        if (body[k + 1] === '-' && k + 2 < body.length) {
          ranges.push([body[k], body[k + 2]]);
          k += 2;
        } else ranges.push([body[k], body[k]]);
      }
      toks.push({ kind: 'set', negate, ranges });
      i = end;
    } else toks.push({ kind: 'char', c });
  }
  const one = (t: GlobToken, ch: string): boolean => {
    if (t.kind === 'one') return true;
    if (t.kind === 'char') return t.c === ch;
    if (t.kind === 'set') return t.ranges.some(([a, b]) => a <= ch && ch <= b) !== t.negate;
    return false;
  };
  return (name) => {
    // Greedy match; on a mismatch, the last star takes one more character.
    let i = 0;
    let j = 0;
    let star = -1;
    let from = 0;
    while (i < name.length) {
      if (j < toks.length && toks[j].kind === 'star') {
        star = j++;
        from = i;
      } else if (j < toks.length && one(toks[j], name[i])) {
        i++;
        j++;
      } else if (star >= 0) {
        j = star + 1;
        i = ++from;
      } else return false;
    }
    while (j < toks.length && toks[j].kind === 'star') j++;
    return j === toks.length;
  };
}
