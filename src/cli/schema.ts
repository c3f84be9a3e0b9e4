import { readFileSync } from 'node:fs';
import { loadRegistry } from '../core/registry.js';
import { playbookSchema } from '../core/schema.js';
import { builtinPlugins } from '../plugins/index.js';

export async function schemaCommand(): Promise<void> {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const registry = await loadRegistry(builtinPlugins, [process.cwd()]);
  process.stdout.write(JSON.stringify(playbookSchema(registry, pkg.version), null, 2) + '\n');
}
