// Bounds on what the loaders accept, so that validation stays linear and under a second for a file
// under 1 MB: the YAML parser, jexl and Handlebars recurse over nesting, and jexl's parser takes
// minutes on a few thousand nested parentheses. Beyond these an input is refused (exit 4), located.

/** Levels of nested lists and mappings in a YAML file (playbooks need under 20). */
export const MAX_YAML_DEPTH = 64;
/** Levels of nested brackets in a `when`/`until`/`assert` expression. */
export const MAX_EXPRESSION_DEPTH = 32;
/** Characters of one expression. */
export const MAX_EXPRESSION_LENGTH = 10_000;
/** Levels of nested blocks (`{{#if}}`, `{{#each}}`) and sub-expressions in one template. */
export const MAX_TEMPLATE_DEPTH = 32;
/** Characters of one template. */
export const MAX_TEMPLATE_LENGTH = 100_000;
/** Characters of a host pattern (`hosts:`, `--limit`). */
export const MAX_PATTERN_LENGTH = 1_000;

/** The deepest nesting of open/close pairs in text, quotes skipped; stops counting past `limit`. */
export function bracketDepth(text: string, open: string, close: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (open.includes(c)) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (close.includes(c)) depth = Math.max(0, depth - 1);
  }
  return max;
}

/**
 * How deep a parsed value nests (lists and mappings), without recursion; stops past `limit`.
 * A value that contains itself (`&a [*a]`) is infinitely deep.
 */
export function dataDepth(value: unknown, limit: number): number {
  let max = 0;
  const onPath = new Set<object>();
  const done = new Set<object>();
  // [value, depth, leaving]: a value is left after all its children, so onPath is its ancestors.
  const stack: [unknown, number, boolean][] = [[value, 0, false]];
  while (stack.length) {
    const [v, d, leaving] = stack.pop()!;
    if (!v || typeof v !== 'object') continue;
    if (leaving) {
      onPath.delete(v);
      done.add(v);
      continue;
    }
    if (onPath.has(v)) return Infinity;
    if (done.has(v)) continue; // an alias of a value already walked
    if (d + 1 > max && (max = d + 1) > limit) return max;
    onPath.add(v);
    stack.push([v, d, true]);
    for (const child of Object.values(v)) stack.push([child, d + 1, false]);
  }
  return max;
}
