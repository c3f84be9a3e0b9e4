import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { findPlaybook, SYSTEM_INVENTORY } from '../core/paths.js';
import { loadRegistry } from '../core/registry.js';
import { loadPlaybook } from '../core/playbook.js';
import { Redactor, redactError } from '../core/redact.js';
import { prepare } from '../core/run.js';
import { builtinPlugins as plugins } from '../plugins/index.js';
import { fail } from './exit.js';

/** With an inventory the host patterns are checked too; without one, the playbook alone. */
export async function validateCommand(argv: Record<string, unknown>): Promise<void> {
  const redactor = new Redactor();
  try {
    const playbook = String(argv.playbook);
    const hasInventory = Boolean(argv.inventory) || existsSync('inventory.yml') || Boolean(process.env.HAPLAY_INVENTORY) || existsSync(SYSTEM_INVENTORY);
    if (hasInventory) {
      const p = await prepare({ playbook, plugins, inventory: argv.inventory as string | undefined, extraVars: argv['extra-vars'] as string[] | undefined });
      const tasks = p.playbook.plays.reduce((n, play) => n + play.tasks.length, 0);
      process.stdout.write(`${playbook}: valid (${p.playbook.plays.length} plays, ${tasks} tasks, inventory ${p.inventory.file})\n`);
    } else {
      const path = findPlaybook(playbook, process.cwd(), process.env, existsSync);
      const registry = await loadRegistry(plugins, [dirname(path), process.cwd()]);
      const pb = loadPlaybook(path, registry, { onSecret: (v) => redactor.add(v) });
      process.stdout.write(`${playbook}: valid (${pb.plays.length} plays; no inventory given, host patterns not checked)\n`);
    }
  } catch (e) {
    fail(redactError(e, redactor));
  }
}
