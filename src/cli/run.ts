import { EXIT } from '../core/errors.js';
import { createReporter } from '../core/reporters/index.js';
import { runPlaybook } from '../core/run.js';
import { builtinPlugins as plugins } from '../plugins/index.js';
import { fail, splitList } from './exit.js';

export async function runCommand(argv: Record<string, unknown>): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    // First Ctrl-C: finish the running step on each host and stop; second: leave now.
    if (++interrupts > 1) process.exit(EXIT.INTERRUPTED);
    process.stderr.write('\ninterrupted: finishing the current step on each host, then stopping (Ctrl-C again to quit now)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const code = await runPlaybook(
      {
        playbook: String(argv.playbook),
        plugins,
        inventory: argv.inventory as string | undefined,
        check: argv.check === true,
        diff: argv.diff === true,
        limit: argv.limit as string | undefined,
        tags: splitList(argv.tags),
        skipTags: splitList(argv['skip-tags']),
        extraVars: (argv['extra-vars'] as string[] | undefined) ?? [],
        forks: Number(argv.forks ?? 20),
        verbose: argv.verbose === true,
        lockWaitSeconds: Number(argv['lock-wait'] ?? 10),
        signal: controller.signal,
      },
      {
        reporter: (redactor) =>
          createReporter({ json: argv.json === true, verbose: argv.verbose === true, diff: argv.diff === true, redactor }),
      },
    );
    // Exit now: a handle a plugin forgot to close (a socket, a timer) must never keep a finished
    // run alive, least of all under cron. Output is flushed by reporter.close() before this.
    process.exit(code);
  } catch (e) {
    fail(e);
  }
}
