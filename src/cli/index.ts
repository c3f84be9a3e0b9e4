#!/usr/bin/env node
// haplay's command line: parse, call the engine, print, exit with a documented code. Commands load
// their code lazily so that `haplay --version` and `--help` start fast.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

// Answered before yargs loads: monitoring and install scripts call this often.
if (process.argv.length === 3 && (process.argv[2] === '--version' || process.argv[2] === '-V')) {
  process.stdout.write(pkg.version + '\n');
  process.exit(0);
}

const { default: yargs } = await import('yargs');
const { hideBin } = await import('yargs/helpers');
const { EXIT_HELP, fail } = await import('./exit.js');

const runOptions = {
  inventory: { alias: 'i', type: 'string', describe: 'Inventory file (default ./inventory.yml, else $HAPLAY_INVENTORY, else /etc/haplay/inventory.yml)' },
  check: { alias: 'C', type: 'boolean', default: false, describe: 'Change nothing; report what a real run would change' },
  diff: { alias: 'D', type: 'boolean', default: false, describe: 'Show before/after of what changes (or would change)' },
  limit: { alias: 'l', type: 'string', describe: 'Narrow every play to hosts matching this pattern' },
  tags: { alias: 't', type: 'string', array: true, describe: 'Run only tasks with one of these tags (comma-separated allowed)' },
  'skip-tags': { type: 'string', array: true, describe: 'Skip tasks with one of these tags' },
  'extra-vars': { alias: 'e', type: 'string', array: true, describe: 'Variables: k=v, @vars.yml or a YAML/JSON mapping; highest precedence' },
  forks: { alias: 'f', type: 'number', default: 20, describe: 'Hosts worked on in parallel' },
  'lock-wait': { type: 'number', default: 10, describe: 'Seconds to wait for another run\'s lock on a host before exiting with code 5' },
  json: { type: 'boolean', default: false, describe: 'NDJSON events on stdout (schema: docs/events.md)' },
  verbose: { alias: 'v', type: 'boolean', default: false, describe: 'Show registered results and progress' },
} as const;

await yargs(hideBin(process.argv))
  .scriptName('haplay')
  .version(pkg.version)
  .usage('Usage: haplay PLAYBOOK [options]\n\nRuns idempotent tasks that keep XiVO/Wazo PBX clusters highly available.')
  .command(
    '$0 <playbook>',
    'Run a playbook against the inventory',
    (y) => y.positional('playbook', { type: 'string', describe: 'Playbook file (YAML); a bare name is also looked for in $HAPLAY_PLAYBOOKS and /usr/share/haplay/playbooks' }).options(runOptions),
    async (argv) => (await import('./run.js')).runCommand(argv),
  )
  .command(
    'validate <playbook>',
    'Check a playbook (and the inventory, when one is found) without touching any host',
    (y) => y.positional('playbook', { type: 'string' }).options({ inventory: runOptions.inventory, 'extra-vars': runOptions['extra-vars'] }),
    async (argv) => (await import('./validate.js')).validateCommand(argv),
  )
  .command(
    'plugins [name]',
    'List plugins, or show one plugin\'s parameters and examples',
    (y) => y.positional('name', { type: 'string' }),
    async (argv) => (await import('./plugins.js')).pluginsCommand(argv),
  )
  .command(
    'inventory',
    'Show the inventory: groups and hosts, or one host\'s variables',
    (y) =>
      y.options({
        inventory: runOptions.inventory,
        graph: { type: 'boolean', describe: 'Groups as a tree with their hosts' },
        host: { type: 'string', describe: 'Variables of one host, as tasks see them' },
        list: { type: 'boolean', describe: 'Every host with its groups (JSON)' },
      }),
    async (argv) => (await import('./inventory.js')).inventoryCommand(argv),
  )
  .command(
    'monitor',
    'Run the HA monitor (what haplay-monitor.service runs on the standby and on a CC; see docs/ha.md)',
    (y) =>
      y.options({
        inventory: { alias: 'i', type: 'string', default: '/etc/haplay/inventory.yml', describe: "The node's inventory, written by ha-setup.yml" },
        rounds: { type: 'number', describe: 'Stop after this many rounds (default: run until stopped)' },
      }),
    async (argv) => (await import('./monitor.js')).monitorCommand(argv),
  )
  .command(
    'status',
    "Who serves, each node's role and haplay units, the monitor's verdict, the last replication (read-only; exit 0 when exactly one PBX serves, else 2)",
    (y) => y.options({ inventory: runOptions.inventory, json: { type: 'boolean', default: false, describe: 'JSON instead of the table' } }),
    async (argv) => (await import('./status.js')).statusCommand(argv),
  )
  .command('schema', 'Print the JSON Schema of the playbook format (for editors)', {}, async () =>
    (await import('./schema.js')).schemaCommand(),
  )
  .completion('completion', 'Print a bash completion script (source it, or put it in /etc/bash_completion.d)')
  .example('haplay playbooks/ha-setup.yml -i inventories/lab.yml', 'Set up HA on the main and standby PBX')
  .example('haplay failover.yml --check --diff', 'Show what a failover would change, change nothing')
  .example('haplay replicate.yml --limit pbx_main -e force=true', 'Replicate now, even if the standby serves')
  .epilogue(
    'Where haplay looks: a playbook named without a folder (haplay failover.yml) in the current folder, then in each folder of $HAPLAY_PLAYBOOKS, then in /usr/share/haplay/playbooks; the inventory, without -i, in ./inventory.yml, then $HAPLAY_INVENTORY, then /etc/haplay/inventory.yml.\n\n' +
    'Exit codes: 0 success, 2 a task failed, 3 a host was unreachable (and none failed), 4 invalid playbook/inventory/usage, 5 another run holds the lock, 130 interrupted.\nDocs: README.md; plugin docs: haplay plugins NAME.',
  )
  .strict()
  .help()
  .alias('h', 'help')
  .wrap(Number(process.env.COLUMNS) || Math.min(110, process.stdout.columns || 100))
  .fail((msg, err) => fail(err ?? msg, EXIT_HELP))
  .parseAsync();
