// One set of ajv options checks every schema in haplay: the playbook, the inventory and each plugin's params.
// Every error is collected and turned into the operator's words, with the nearest valid key suggested.
import type { ErrorObject } from 'ajv';
import { closest, distance } from 'fastest-levenshtein';
import { HaplayError, type ErrorCode, type Where } from './errors.js';
import { isTemplate } from './template.js';
import type { JSONSchema } from './types.js';
import { validatorFor } from './validators.js';

export interface CheckOptions {
  code: ErrorCode;
  where: Where;
  /** Key path prefix for messages, e.g. "ha-config". */
  prefix?: string;
  /** At load time, values still holding {{templates}} cannot be type-checked yet. */
  templatesPending?: boolean;
  /** Line of a key path, when the source positions are known. */
  lineOf?: (path: (string | number)[]) => number | undefined;
  /** no_log tasks: messages say what was expected, never the value given (it may be a secret). */
  hideValues?: boolean;
}

/**
 * Validates `data` in place (defaults applied, scalar types coerced) and returns the problems found,
 * one HaplayError each; an empty list means valid.
 */
export function check(schema: JSONSchema, data: unknown, opts: CheckOptions): HaplayError[] {
  const validate = validatorFor(schema);
  if (validate(data)) return [];
  const errors = (validate.errors ?? []).filter((e) => !(opts.templatesPending && touchesTemplate(data, e)));
  return dedupe(errors).map((e) => toError(e, schema, data, opts));
}

/** Throws one error carrying every problem, when there are any. */
export function assertValid(schema: JSONSchema, data: unknown, opts: CheckOptions): void {
  const problems = check(schema, data, opts);
  if (problems.length) throw first(problems);
}

export function first(problems: HaplayError[]): HaplayError {
  const [head, ...rest] = problems;
  return new HaplayError(head.code, head.message, { where: head.where, hint: head.hint, more: rest });
}

function pathOf(e: ErrorObject): (string | number)[] {
  const parts = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  return parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

function valueAt(data: unknown, path: (string | number)[]): unknown {
  let cur = data;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

function touchesTemplate(data: unknown, e: ErrorObject): boolean {
  if (e.keyword === 'additionalProperties' || e.keyword === 'required') return false;
  const v = valueAt(data, pathOf(e));
  return typeof v === 'string' && isTemplate(v);
}

// ajv reports anyOf/oneOf branches one by one; the operator wants the branch that nearly matched.
function dedupe(errors: ErrorObject[]): ErrorObject[] {
  const concrete = errors.filter((e) => !['anyOf', 'oneOf', 'if'].includes(e.keyword));
  const list = concrete.length ? concrete : errors;
  const seen = new Set<string>();
  return list.filter((e) => {
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function toError(e: ErrorObject, schema: JSONSchema, data: unknown, opts: CheckOptions): HaplayError {
  const given = (shown: string) => (opts.hideValues ? ' (value hidden: no_log)' : `, not ${shown}`);
  const path = pathOf(e);
  let keyPath = [...path];
  let message: string;
  let hint: string | undefined;
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = String(e.params.additionalProperty);
      keyPath = [...path, extra];
      const known = Object.keys(propertiesAt(schema, e.schemaPath) ?? {});
      message = `unknown key "${extra}"`;
      hint = suggest(extra, known) ?? (known.length ? `valid keys: ${known.join(', ')}` : undefined);
      break;
    }
    case 'required':
      keyPath = [...path, String(e.params.missingProperty)];
      message = `missing required key "${e.params.missingProperty}"`;
      break;
    case 'enum':
      message = `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}${given(JSON.stringify(valueAt(data, path)))}`;
      break;
    case 'type':
      message = `must be ${e.params.type}${given(describe(valueAt(data, path)))}`;
      break;
    case 'format':
      message = `must be a valid ${e.params.format === 'ipv4' ? 'IPv4 address' : e.params.format}${given(JSON.stringify(valueAt(data, path)))}`;
      break;
    default:
      message = e.message ?? e.keyword;
  }
  const key = [opts.prefix, ...keyPath.map(String)].filter(Boolean).join('.');
  return new HaplayError(opts.code, message, {
    where: { ...opts.where, key: key || undefined, line: opts.lineOf?.(keyPath) ?? opts.where.line },
    hint,
  });
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function propertiesAt(schema: JSONSchema, schemaPath: string): Record<string, unknown> | undefined {
  // schemaPath looks like "#/properties/x/additionalProperties"; its parent holds `properties`.
  const parts = schemaPath.replace(/^#\//, '').split('/').slice(0, -1);
  let cur: unknown = schema;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[decodeURIComponent(p.replace(/~1/g, '/').replace(/~0/g, '~'))];
  }
  const props = (cur as Record<string, unknown> | undefined)?.properties;
  return props && typeof props === 'object' ? (props as Record<string, unknown>) : undefined;
}

/** "did you mean "node_type"?" when a known word is close enough to be a typo. */
export function suggest(word: string, known: string[]): string | undefined {
  if (!known.length) return undefined;
  const best = closest(word, known);
  const d = distance(word, best);
  return d <= Math.max(2, Math.floor(best.length / 3)) ? `did you mean "${best}"?` : undefined;
}
