// Build step: haplay's own schemas (inventory, play, task keys, every built-in plugin) compiled once
// into dist/core/validators.generated.cjs, so a run does not spend ~300 ms compiling them.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { _ } = require('ajv');
const standaloneCode = require('ajv/dist/standalone').default;
const { newAjv, schemaKey } = await import('../dist/core/validators.js');
const { inventorySchema } = await import('../dist/core/inventory.js');
const { playSchema, taskKeysSchema } = await import('../dist/core/playbook.js');
const { builtinPlugins } = await import('../dist/plugins/index.js');

const ajv = newAjv({ code: { source: true, formats: _`require("ajv-formats/dist/formats").fullFormats` } });
const exports = {};
for (const schema of [inventorySchema, playSchema, taskKeysSchema, ...builtinPlugins.map((p) => p.schema)]) {
  const key = schemaKey(schema);
  if (exports[key]) continue;
  ajv.addSchema(schema, key);
  exports[key] = key;
}
const out = new URL('../dist/core/validators.generated.cjs', import.meta.url);
writeFileSync(out, standaloneCode(ajv, exports));
console.log(`precompiled ${Object.keys(exports).length} validators`);
