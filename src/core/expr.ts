// `when`, `changed_when`, `failed_when`, `until` and `assert` expressions. jexl parses and walks an
// AST of its own: no eval, no Function constructor, no access to prototypes.
import { HaplayError } from './errors.js';
import { lazy } from './lazy.js';
import { bracketDepth, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_LENGTH } from './limits.js';
import type { Vars } from './types.js';

const jexlPkg = lazy<typeof import('jexl')>('jexl');
type Jexl = InstanceType<typeof import('jexl')['Jexl']>;
let instance: Jexl | undefined;

/** jexl with haplay's words, made on the first expression. */
function jexl(): Jexl {
  return (instance ??= withHaplayWords(new (jexlPkg().Jexl)()));
}

function withHaplayWords(jexl: Jexl): Jexl {
// Words operators know from Ansible, beside jexl's own && || !
jexl.addBinaryOp('and', 10, (a: unknown, b: unknown) => Boolean(a) && Boolean(b));
jexl.addBinaryOp('or', 10, (a: unknown, b: unknown) => Boolean(a) || Boolean(b));
jexl.addUnaryOp('not', (a: unknown) => !a);
jexl.addTransform('length', (v: unknown) => (Array.isArray(v) || typeof v === 'string' ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0));
jexl.addTransform('defined', (v: unknown) => v !== undefined);
jexl.addTransform('int', (v: unknown) => Number.parseInt(String(v), 10));
jexl.addTransform('lower', (v: unknown) => String(v).toLowerCase());
jexl.addTransform('trim', (v: unknown) => String(v).trim());
jexl.addTransform('contains', (v: unknown, needle: unknown) =>
  Array.isArray(v) ? v.includes(needle) : String(v ?? '').includes(String(needle)),
);
jexl.addTransform('match', (v: unknown, re: unknown) => new RegExp(String(re)).test(String(v ?? '')));
return jexl;
}

const cache = new Map<string, ReturnType<Jexl['compile']>>();

/** Checks syntax only (at load time, before any host is touched). Returns an error message or null. */
export function checkExpression(expression: string): string | null {
  try {
    compiled(expression);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

export function evaluate(expression: string | boolean, vars: Vars): unknown {
  if (typeof expression === 'boolean') return expression;
  try {
    return compiled(expression).evalSync(vars);
  } catch (e) {
    throw new HaplayError('E_EXPRESSION', `cannot evaluate "${expression}": ${(e as Error).message}`, {
      hint: 'expressions use jexl syntax: a.b == 1 and not c, x in [1, 2], name|length > 0, value|defined',
    });
  }
}

export function isTrue(expression: string | boolean | (string | boolean)[], vars: Vars): boolean {
  const list = Array.isArray(expression) ? expression : [expression];
  return list.every((e) => Boolean(evaluate(e, vars)));
}

function compiled(expression: string) {
  let c = cache.get(expression);
  if (!c) {
    // jexl's parser is quadratic or worse in nesting: 10,000 parentheses take two minutes.
    if (expression.length > MAX_EXPRESSION_LENGTH) throw new Error(`longer than ${MAX_EXPRESSION_LENGTH} characters`);
    if (bracketDepth(expression, '([{', ')]}', MAX_EXPRESSION_DEPTH) > MAX_EXPRESSION_DEPTH) throw new Error(`brackets nested more than ${MAX_EXPRESSION_DEPTH} levels deep`);
    c = jexl().compile(expression);
    cache.set(expression, c);
  }
  return c;
}
