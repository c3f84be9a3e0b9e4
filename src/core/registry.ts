// The plugins a run can use: the built-ins (handed in by the CLI; the engine imports no plugin), then
// a local `plugins/` folder beside the playbook, then npm packages named haplay-plugin-*. A later
// plugin of the same name is an error, not an override.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HaplayError } from './errors.js';
import type { Plugin } from './types.js';

export class PluginRegistry {
  private readonly plugins = new Map<string, Plugin>();

  constructor(plugins: Plugin[] = []) {
    plugins.forEach((p) => this.add(p, 'built-in'));
  }

  add(p: Plugin, origin: string): void {
    if (!p || typeof p.name !== 'string' || typeof p.plan !== 'function' || typeof p.schema !== 'object') {
      throw new HaplayError('E_PLUGIN_LOAD', `${origin} does not export a plugin (an object with name, schema and plan())`);
    }
    if (this.plugins.has(p.name)) {
      throw new HaplayError('E_PLUGIN_LOAD', `plugin "${p.name}" from ${origin} has the name of a plugin already loaded`, {
        hint: 'rename one of them',
      });
    }
    this.plugins.set(p.name, p);
  }

  has(name: string): boolean {
    return this.plugins.has(name);
  }

  get(name: string): Plugin | undefined {
    return this.plugins.get(name);
  }

  names(): string[] {
    return [...this.plugins.keys()].sort();
  }

  all(): Plugin[] {
    return this.names().map((n) => this.plugins.get(n)!);
  }
}

/** The given built-ins plus the plugins found beside the playbook and in node_modules. */
export async function loadRegistry(builtins: Plugin[], searchDirs: string[]): Promise<PluginRegistry> {
  const registry = new PluginRegistry(builtins);
  for (const dir of [...new Set(searchDirs.map((d) => resolve(d)))]) {
    const local = join(dir, 'plugins');
    if (existsSync(local)) {
      for (const f of readdirSync(local).filter((f) => /\.(m?js)$/.test(f)).sort()) await addModule(registry, join(local, f));
    }
    const modules = join(dir, 'node_modules');
    if (existsSync(modules)) {
      for (const pkg of readdirSync(modules).filter((f) => f.startsWith('haplay-plugin-')).sort()) {
        await addModule(registry, join(modules, pkg));
      }
    }
  }
  return registry;
}

async function addModule(registry: PluginRegistry, path: string): Promise<void> {
  let mod: Record<string, unknown>;
  try {
    const target = existsSync(join(path, 'package.json')) ? await resolvePackageEntry(path) : path;
    mod = (await import(pathToFileURL(target).href)) as Record<string, unknown>;
  } catch (e) {
    throw new HaplayError('E_PLUGIN_LOAD', `cannot load ${path}: ${(e as Error).message}`);
  }
  const exported = (mod.default ?? mod.plugins ?? mod.plugin) as unknown;
  const list = Array.isArray(exported) ? exported : [exported];
  for (const p of list) registry.add(p as Plugin, path);
}

async function resolvePackageEntry(dir: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { main?: string; exports?: unknown };
  const entry = typeof pkg.exports === 'string' ? pkg.exports : (pkg.main ?? 'index.js');
  return join(dir, entry);
}
