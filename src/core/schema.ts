// The JSON Schema of the whole playbook format, with every plugin's params, for editors
// (yaml-language-server: `# yaml-language-server: $schema=haplay.schema.json`).
import { playSchema, taskKeysSchema } from './playbook.js';
import type { PluginRegistry } from './registry.js';
import type { JSONSchema } from './types.js';

export function playbookSchema(registry: PluginRegistry, version: string): JSONSchema {
  const engineProps = { ...(taskKeysSchema.properties as Record<string, JSONSchema>) };
  const taskRef = { $ref: '#/$defs/task' };
  for (const k of ['block', 'rescue', 'always']) engineProps[k] = { ...engineProps[k], items: taskRef };
  const pluginProps: Record<string, JSONSchema> = {};
  for (const p of registry.all()) {
    const params = allowTemplates(p.schema);
    pluginProps[p.name] = p.freeForm
      ? { anyOf: [{ type: 'string' }, params], description: p.description }
      : { ...params, description: p.description };
  }
  const playProps = { ...(playSchema.properties as Record<string, JSONSchema>) };
  playProps.tasks = { type: 'array', items: taskRef };
  playProps.handlers = { type: 'array', items: taskRef };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://haplay.dev/schema/playbook-${version}.json`,
    title: 'haplay playbook',
    type: 'array',
    items: { ...playSchema, properties: playProps },
    $defs: {
      task: {
        type: 'object',
        additionalProperties: false,
        properties: { ...engineProps, ...pluginProps },
        // exactly one plugin key, or a block
        oneOf: [
          { required: ['block'] },
          ...registry.names().map((n) => ({ required: [n], not: { required: registry.names().filter((m) => m !== n) } })),
        ],
      },
    },
  };
}

const TEMPLATE: JSONSchema = { type: 'string', pattern: '\\{\\{' };

/**
 * A value can be a "{{template}}" anywhere a constrained scalar is expected: it is checked once rendered,
 * at run time. The editor schema must not flag it.
 */
function allowTemplates(s: JSONSchema): JSONSchema {
  if (!s || typeof s !== 'object' || Array.isArray(s)) return s;
  const out: JSONSchema = { ...s };
  for (const key of ['properties', 'patternProperties', '$defs']) {
    const m = s[key] as Record<string, JSONSchema> | undefined;
    if (m) out[key] = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, allowTemplates(v)]));
  }
  for (const key of ['items', 'additionalProperties', 'not']) {
    if (s[key] && typeof s[key] === 'object') out[key] = allowTemplates(s[key] as JSONSchema);
  }
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    if (Array.isArray(s[key])) out[key] = (s[key] as JSONSchema[]).map(allowTemplates);
  }
  const constrained = s.pattern !== undefined || s.enum !== undefined || s.format !== undefined || s.const !== undefined ||
    (s.type !== undefined && s.type !== 'string' && s.type !== 'object' && s.type !== 'array');
  if (!constrained) return out;
  const { description, default: def, ...rest } = out;
  return { description, default: def, anyOf: [rest, TEMPLATE] };
}
