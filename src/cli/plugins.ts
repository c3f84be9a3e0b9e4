import { HaplayError } from '../core/errors.js';
import { suggest } from '../core/params.js';
import { loadRegistry } from '../core/registry.js';
import { pluginDoc, pluginList } from '../core/docs.js';
import { builtinPlugins } from '../plugins/index.js';
import { fail } from './exit.js';

export async function pluginsCommand(argv: Record<string, unknown>): Promise<void> {
  try {
    const registry = await loadRegistry(builtinPlugins, [process.cwd()]);
    const name = argv.name as string | undefined;
    if (!name) {
      process.stdout.write(pluginList(registry.all()) + '\n');
      return;
    }
    const p = registry.get(name);
    if (!p) {
      throw new HaplayError('E_UNKNOWN_PLUGIN', `no plugin named "${name}"`, { hint: suggest(name, registry.names()) ?? 'run "haplay plugins" for the list' });
    }
    process.stdout.write(pluginDoc(p) + '\n');
  } catch (e) {
    fail(e);
  }
}
