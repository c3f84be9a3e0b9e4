// Host patterns, as Ansible operators write them: `all`, a group, a host, globs (`pbx-*`), unions
// (`a:b` or `a,b`), intersections (`a:&b`) and exclusions (`a:!b`).
import { HaplayError } from './errors.js';
import { suggest } from './params.js';

export interface PatternSource {
  hostNames: string[];
  groupNames: string[];
  hasGroup(name: string): boolean;
  hasHost(name: string): boolean;
  hostsOf(group: string): string[];
}

export function selectHosts(pattern: string, inv: PatternSource): string[] {
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
    const re = globToRegExp(term);
    const found = new Set<string>();
    inv.groupNames.filter((g) => re.test(g)).forEach((g) => inv.hostsOf(g).forEach((h) => found.add(h)));
    inv.hostNames.filter((h) => re.test(h)).forEach((h) => found.add(h));
    if (found.size) return found;
  }
  throw new HaplayError('E_PATTERN', `"${term}" in host pattern "${pattern}" matches no host or group`, {
    hint: suggest(term, [...inv.groupNames, ...inv.hostNames]) ?? 'run "haplay inventory --graph" to list groups and hosts',
  });
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i);
      if (end < 0) re += '\\[';
      else {
        re += '[' + glob.slice(i + 1, end).replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
