import { builtinPlugins as plugins } from '../plugins/index.js';
import { fail } from './exit.js';

export async function monitorCommand(argv: Record<string, unknown>): Promise<void> {
  const { runMonitor } = await import('../monitor/index.js');
  const controller = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => controller.abort());
  try {
    await runMonitor({ plugins, inventory: String(argv.inventory ?? '/etc/haplay/inventory.yml'), rounds: argv.rounds as number | undefined, signal: controller.signal });
    process.exit(0);
  } catch (e) {
    fail(e);
  }
}
