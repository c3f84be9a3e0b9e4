// Handlebars over the string leaves of task params. Strict (an unknown variable is an error, not an
// empty string) and without HTML escaping: the output goes into config files and shell commands.
import { HaplayError } from './errors.js';
import { lazy } from './lazy.js';
import { bracketDepth, MAX_TEMPLATE_DEPTH, MAX_TEMPLATE_LENGTH } from './limits.js';
import { quote } from './shell.js';
import type { Vars } from './types.js';

// Handlebars' one-file build: the same code as its main entry, without the precompiler and
// source-map (some 60 files to load at start-up otherwise).
const handlebars = lazy<typeof import('handlebars')>('handlebars/dist/handlebars.js');
let instance: ReturnType<typeof import('handlebars')['create']> | undefined;

/** haplay's Handlebars environment, made on the first template. */
function hb() {
  return (instance ??= withHelpers(handlebars().create()));
}

function withHelpers(hb: ReturnType<typeof import('handlebars')['create']>) {
// Handlebars' built-in `log` prints its arguments raw to the console: a secret would bypass every
// redactor, and --json would get a stray line. It is replaced by one that refuses.
hb.unregisterHelper('log');
hb.registerHelper('log', () => {
  throw new Error('the "log" helper is not available in haplay templates (use the debug plugin)');
});
hb.registerHelper('quote', (v: unknown) => quote(String(v ?? '')));
hb.registerHelper('json', (v: unknown) => JSON.stringify(v));
hb.registerHelper('default', (v: unknown, d: unknown) => (v === undefined || v === null || v === '' ? d : v));
hb.registerHelper('join', (v: unknown, sep: unknown) => (Array.isArray(v) ? v.join(typeof sep === 'string' ? sep : ',') : String(v)));
hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
hb.registerHelper('ne', (a: unknown, b: unknown) => a !== b);
hb.registerHelper('lower', (v: unknown) => String(v).toLowerCase());
hb.registerHelper('upper', (v: unknown) => String(v).toUpperCase());
return hb;
}

type Compiled = (ctx: Vars) => string;
const cache = new Map<string, Compiled>();

export function isTemplate(s: string): boolean {
  return s.includes('{{');
}

const checked = new Map<string, string | null>();

/** Parses a template without rendering it: a syntax error message, or null. */
export function checkTemplate(s: string): string | null {
  if (!isTemplate(s)) return null;
  let problem = checked.get(s);
  if (problem !== undefined) return problem;
  try {
    checkSize(s);
    hb().parse(s);
    problem = null;
  } catch (e) {
    problem = (e as Error).message.split('\n')[0];
  }
  checked.set(s, problem);
  return problem;
}

export function render(s: string, vars: Vars): string {
  if (!isTemplate(s)) return s;
  let fn = cache.get(s);
  if (!fn) {
    try {
      checkSize(s);
    } catch (e) {
      throw new HaplayError('E_TEMPLATE', `cannot render "${s.slice(0, 80)}…": ${(e as Error).message}`);
    }
    fn = hb().compile(s, { strict: true, noEscape: true });
    cache.set(s, fn);
  }
  try {
    return fn(vars);
  } catch (e) {
    const m = /"(.+)" not defined/.exec((e as Error).message);
    throw new HaplayError(
      'E_TEMPLATE',
      m ? `variable "${m[1]}" is not defined in "${s}"` : `cannot render "${s}": ${(e as Error).message}`,
      { hint: m ? 'define it in the inventory, the play vars, with -e, or use {{default name "value"}}' : undefined },
    );
  }
}

/** Handlebars' compiler is super-linear in nesting: refused before it sees the template. */
function checkSize(s: string): void {
  if (s.length > MAX_TEMPLATE_LENGTH) throw new Error(`the template is longer than ${MAX_TEMPLATE_LENGTH} characters`);
  let depth = 0;
  for (const [, inner] of s.matchAll(/\{\{([\s\S]*?)\}\}/g)) {
    const tag = inner.replace(/^[{~\s]+/, '');
    if (tag.startsWith('#') || tag.startsWith('^')) depth++;
    else if (tag.startsWith('/')) depth = Math.max(0, depth - 1);
    if (depth + bracketDepth(inner, '(', ')', MAX_TEMPLATE_DEPTH) > MAX_TEMPLATE_DEPTH) {
      throw new Error(`blocks and sub-expressions nested more than ${MAX_TEMPLATE_DEPTH} levels deep`);
    }
  }
}

/**
 * Renders every string leaf. A string that is exactly one `{{var}}` keeps the variable's type, so
 * `port: "{{pg_port}}"` stays a number and `items: "{{hosts}}"` stays a list.
 */
export function renderDeep(value: unknown, vars: Vars): unknown {
  if (typeof value === 'string') {
    const whole = /^\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}$/.exec(value);
    if (whole) {
      const v = lookupPath(vars, whole[1]);
      if (v !== undefined && typeof v !== 'string') return v;
    }
    return render(value, vars);
  }
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, vars));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderDeep(v, vars)]));
  }
  return value;
}

function lookupPath(vars: Vars, path: string): unknown {
  let cur: unknown = vars;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Vars)[part];
  }
  return cur;
}
