// Compiled validators for every schema. Compiling a JSON Schema with ajv costs 10-70 ms each, which
// is most of a no-op run's start-up; so `npm run build` precompiles haplay's own schemas into
// dist/core/validators.generated.cjs (scripts/precompile-validators.mjs) and only schemas unknown
// at build time (plugins from plugins/ or npm) are compiled at run time, once.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Ajv, Options, ValidateFunction } from 'ajv';
import type { JSONSchema } from './types.js';

const require = createRequire(import.meta.url);

export const AJV_OPTIONS: Options = { allErrors: true, useDefaults: true, coerceTypes: true, strict: false, allowUnionTypes: true };

/** The same schema always gets the same key, at build time and at run time. */
export function schemaKey(schema: JSONSchema): string {
  return 'v' + createHash('sha1').update(JSON.stringify(schema)).digest('hex').slice(0, 20);
}

let precompiled: Record<string, ValidateFunction> | null | undefined;
let runtime: Ajv | undefined;
const bySchema = new WeakMap<JSONSchema, ValidateFunction>();

export function validatorFor(schema: JSONSchema): ValidateFunction {
  let v = bySchema.get(schema);
  if (v) return v;
  if (precompiled === undefined) {
    try {
      precompiled = require('./validators.generated.cjs') as Record<string, ValidateFunction>;
    } catch {
      precompiled = null; // running from sources (tests): compile everything
    }
  }
  v = precompiled?.[schemaKey(schema)] ?? runtimeAjv().compile(schema);
  bySchema.set(schema, v);
  return v;
}

/** An ajv with haplay's options and formats, e.g. for the precompile step. */
export function newAjv(extra: Options = {}): Ajv {
  const { Ajv: AjvClass } = require('ajv') as typeof import('ajv');
  const addFormats = require('ajv-formats') as (a: Ajv) => Ajv;
  return addFormats(new AjvClass({ ...AJV_OPTIONS, ...extra }));
}

function runtimeAjv(): Ajv {
  runtime ??= newAjv();
  return runtime;
}
