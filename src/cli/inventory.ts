import { existsSync } from 'node:fs';
import { HaplayError } from '../core/errors.js';
import { defaultInventoryPath, loadInventory, type Inventory } from '../core/inventory.js';
import { Redactor } from '../core/redact.js';
import { fail } from './exit.js';

export async function inventoryCommand(argv: Record<string, unknown>): Promise<void> {
  try {
    const redactor = new Redactor();
    const path = (argv.inventory as string | undefined) ?? defaultInventoryPath(process.cwd(), process.env, existsSync);
    const inv = loadInventory(path, { onSecret: (v) => redactor.add(v) });
    if (argv.host) {
      const host = String(argv.host);
      if (!inv.hasHost(host)) throw new HaplayError('E_PATTERN', `no host named "${host}"`, { where: { file: inv.file } });
      const view = { ...inv.varsFor(host), groups: inv.groupsOf(host) };
      process.stdout.write(redactor.redact(JSON.stringify(view, null, 2)) + '\n');
    } else if (argv.list) {
      const list = Object.fromEntries(inv.hostNames.map((h) => [h, { groups: inv.groupsOf(h), address: inv.connectionSpec(h).address }]));
      process.stdout.write(JSON.stringify(list, null, 2) + '\n');
    } else {
      process.stdout.write(graph(inv) + '\n');
    }
  } catch (e) {
    fail(e);
  }
}

/** @all, then each top-level group with its children and hosts, like ansible-inventory --graph. */
function graph(inv: Inventory): string {
  const children = (g: string) => inv.groupDef(g);
  const isChild = new Set(inv.groupNames.flatMap((g) => children(g)?.children ?? []));
  const lines = ['@all:'];
  const draw = (g: string, depth: number) => {
    const pad = '  |'.repeat(depth);
    lines.push(`${pad}--@${g}:`);
    const def = children(g)!;
    def.children.forEach((c) => draw(c, depth + 1));
    def.hosts.forEach((h) => lines.push(`${pad}  |--${h} (${inv.connectionSpec(h).address})`));
  };
  inv.groupNames.filter((g) => !isChild.has(g)).forEach((g) => draw(g, 1));
  return lines.join('\n');
}
