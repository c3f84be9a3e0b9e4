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
    pluginProps[p.name] = p.freeForm
      ? { anyOf: [{ type: 'string' }, p.schema], description: p.description }
      : { ...p.schema, description: p.description };
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
