// Mutation testing (StrykerJS, command runner): `npm run mutate`, by hand, never in CI. Stryker copies
// the project to .stryker-tmp/, changes one thing at a time in the files to mutate (a `>` becomes
// `>=`, a condition `false`, a string empty...) and runs the unit tests once per change. A mutant the
// tests notice is "killed"; one they do not is "survived": a rule that can break with every test green.
//
// It is CPU-heavy (one test run per mutant): mutate a few files with the tests that cover them, e.g.
//   HAPLAY_MUTATE_TESTS='test/plugins/ha-monitor*.test.ts' npm run mutate -- --mutate src/plugins/ha-monitor/decide.ts
// Without HAPLAY_MUTATE_TESTS, every unit test runs for each mutant (about a minute each on 2 cores).
// The lab suites (test/lab, ha, failover, replication, e2e) never run here.
const UNIT_TESTS = 'test/engine/*.test.ts test/plugins/*.test.ts test/kit/*.test.ts test/inventory.test.ts test/reporters.test.ts';

export default {
  testRunner: 'command',
  commandRunner: { command: `npx ava --fail-fast ${process.env.HAPLAY_MUTATE_TESTS ?? UNIT_TESTS}` },
  mutate: [
    'src/core/**/*.ts',
    'src/kit/**/*.ts',
    'src/xivo/**/*.ts',
    'src/plugins/**/*.ts',
    // The SSH transport and the run lock need real sshd/flock: they are tested in test/transport-*.test.ts and the lab.
    '!src/core/transport/ssh*.ts',
    '!src/core/transport/pool.ts',
    '!src/core/lock.ts',
  ],
  concurrency: 1,
  // A mutant can make a probe loop forever: such a run is cut after twice the first run's time + 10 s (Timeout, counted as killed).
  timeoutMS: 10000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  ignorePatterns: ['.lab', 'reports', 'bench/results*'],
};
