// Hostile input to the loaders: every input gets a located HaplayError (exit 4) or loads; nothing
// crashes with E_INTERNAL, and nothing takes seconds (glob backtracking).
import test from 'ava';
import { isHaplayError } from '../../src/core/errors.js';
import { inventoryFrom } from '../../src/core/inventory.js';
import { globMatcher } from '../../src/core/patterns.js';
import { parseExtraVars } from '../../src/core/run.js';
import { MAX_ALIAS_COUNT, parseYaml } from '../../src/core/yaml.js';

const inv = inventoryFrom(
  parseYaml(
    `
hosts: { pbx-main: {}, pbx-standby: {}, cc1: {}, ${'a'.repeat(40)}: {} }
groups:
  pbx: { hosts: [pbx-main, pbx-standby] }
  cc: { hosts: [cc1] }
  long: { hosts: [${'a'.repeat(40)}] }
`,
    'inv.yml',
  ),
);

/** The error a call throws, checked to be a located operator error (exit 4), or undefined. */
function refusal(t: import('ava').ExecutionContext, f: () => unknown): { code: string; exit: number; message: string } | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    t.true(isHaplayError(e), `not an operator error: ${(e as Error)?.stack}`);
    return { code: (e as { code: string }).code, exit: (e as { exitCode: number }).exitCode, message: (e as Error).message };
  }
}

test('globs match as Ansible operators expect', (t) => {
  const cases: [string, string, boolean][] = [
    ['pbx-*', 'pbx-main', true],
    ['pbx-*', 'cc1', false],
    ['pbx-?ain', 'pbx-main', true],
    ['*-standby', 'pbx-standby', true],
    ['cc[0-9]', 'cc1', true],
    ['cc[!0-9]', 'cc1', false],
    ['cc[!a-z]', 'cc1', true],
    ['[z-a]*', 'zebra', false],
    ['*', '', true],
    ['a*b*c', 'axxbyyc', true],
    ['a*b*c', 'axxbyy', false],
    ['x[', 'x[', true],
  ];
  for (const [glob, name, want] of cases) t.is(globMatcher(glob)(name), want, `${glob} ~ ${name}`);
});

test('a reversed range in a glob is "matches nothing" (exit 4), not an internal error', (t) => {
  const r = refusal(t, () => inv.select('[z-a]*'));
  t.like(r, { code: 'E_PATTERN', exit: 4 });
  t.deepEqual(inv.select('pbx-[m-s]*'), ['pbx-main', 'pbx-standby']);
});

test('a glob built to backtrack answers at once', (t) => {
  // As a regular expression this takes minutes on the 40-letter name (it took 15 s on 30).
  const start = Date.now();
  const r = refusal(t, () => inv.select(`${'*a'.repeat(12)}b`));
  t.like(r, { code: 'E_PATTERN', exit: 4 });
  t.deepEqual(inv.select(`${'*a'.repeat(12)}*`), ['a'.repeat(40)]);
  t.true(Date.now() - start < 3000, `took ${Date.now() - start} ms`);
});

test('an alias without its anchor and an alias bomb are YAML errors with the file (and line)', (t) => {
  const unresolved = refusal(t, () => parseYaml('a: 1\nb: *nope\n', 'pb.yml'));
  t.like(unresolved, { code: 'E_YAML', exit: 4 });
  t.regex(unresolved!.message, /alias \*nope has no anchor/);
  try {
    parseYaml('a: 1\nb: *nope\n', 'pb.yml');
  } catch (e) {
    t.like((e as { where: object }).where, { file: 'pb.yml', line: 2 });
  }
  const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (const l of 'bcdefgh') levels.push(`${l}: &${l} [${Array(9).fill(`*${String.fromCharCode(l.charCodeAt(0) - 1)}`).join(',')}]`);
  const bomb = refusal(t, () => parseYaml(levels.join('\n') + '\n', 'bomb.yml'));
  t.like(bomb, { code: 'E_YAML', exit: 4 });
  t.regex(bomb!.message, new RegExp(`more than ${MAX_ALIAS_COUNT}`));
});

/** A seeded generator: the same 10,000 cases on every run, so a failure can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('10,000 generated patterns, YAML texts and -e values: each loads or is refused with an operator error', (t) => {
  const rnd = prng(10);
  const pick = (alphabet: string, max: number) => Array.from({ length: Math.floor(rnd() * max) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
  const PATTERN = 'pbx-mainstdbyc1*?[]!&:,^- a';
  const YAML = 'ab: -[]{}&*!|>\'"\n #%@`,?=';
  let refused = 0;
  let loaded = 0;
  for (let i = 0; i < 10_000; i++) {
    const kind = i % 3;
    const input = kind === 0 ? pick(PATTERN, 24) : pick(YAML, 40);
    const r = refusal(t, () =>
      kind === 0 ? inv.select(input) : kind === 1 ? parseYaml(input, 'fuzz.yml') : parseExtraVars([input.startsWith('{') ? input : `k=${input}`], '/'),
    );
    if (r) {
      refused++;
      t.is(r.exit, 4, `${JSON.stringify(input)}: ${r.code} ${r.message}`);
    } else loaded++;
  }
  t.log(`10000 hostile inputs: ${loaded} loaded, ${refused} refused with exit 4, 0 crashed`);
});

test('a template in a keyword that is never rendered (retries, timeout, check_mode) is refused at load time', async (t) => {
  const { playbookFrom } = await import('../../src/core/playbook.js');
  const { testRegistry } = await import('../helpers/engine.js');
  const r = refusal(t, () =>
    playbookFrom(
      parseYaml('- hosts: g\n  tasks:\n    - debug: { msg: hi }\n      retries: "{{n}}"\n      until: "x"\n      timeout: "{{t}}"\n      check_mode: "{{c}}"\n', 'pb.yml'),
      testRegistry(),
    ),
  );
  t.like(r, { code: 'E_PLAYBOOK', exit: 4 });
  t.regex(r!.message, /retries: must be integer, not string "\{\{n\}\}": "retries" is not templated|must be integer/);
  try {
    playbookFrom(parseYaml('- hosts: g\n  tasks:\n    - debug: { msg: hi }\n      retries: "{{n}}"\n      until: "x"\n      timeout: "{{t}}"\n      check_mode: "{{c}}"\n', 'pb.yml'), testRegistry());
  } catch (e) {
    const all = [e, ...(e as { more: unknown[] }).more].map((x) => `${(x as { where: { key: string; line: number } }).where.key}@${(x as { where: { line: number } }).where.line}`);
    t.deepEqual(all.sort(), ['check_mode@7', 'retries@4', 'timeout@6']);
  }
  // Rendered keywords still take templates.
  t.notThrows(() => playbookFrom(parseYaml('- hosts: g\n  tasks:\n    - debug: { msg: hi }\n      loop: "{{items}}"\n      delegate_to: "{{peer}}"\n', 'ok.yml'), testRegistry()));
});

test('group diamonds and long chains load, select and merge vars at once; a cycle at the end of a long chain is found', (t) => {
  // 24 diamonds: d0 → (l1, r1) → d1 → (l2, r2) → ... : 2^24 paths from d0 to the last host's group.
  const n = 24;
  const groups: string[] = [];
  for (let i = 0; i < n; i++) groups.push(`d${i}: { children: [l${i + 1}, r${i + 1}], vars: { level: ${i} } }`, `l${i + 1}: { children: [d${i + 1}] }`, `r${i + 1}: { children: [d${i + 1}] }`);
  groups.push(`d${n}: { hosts: [deep], vars: { level: ${n} } }`);
  // And a chain of 2,000 groups.
  const chain = Array.from({ length: 2_000 }, (_, i) => `c${i}: { children: [c${i + 1}] }`);
  chain.push("c2000: { hosts: [far] }");
  const start = Date.now();
  const inv2 = inventoryFrom(parseYaml(`hosts: { deep: {}, far: {} }\ngroups:\n  ${[...groups, ...chain].join('\n  ')}\n`, 'big.yml'));
  t.deepEqual(inv2.select('d0'), ['deep']);
  t.deepEqual(inv2.select('c0:&c1999'), ['far']);
  t.is(inv2.varsFor('deep').level, n, 'the deepest group wins');
  t.true(inv2.groupsOf('deep').includes('d0'));
  t.true(Date.now() - start < 5000, `took ${Date.now() - start} ms`);

  const cyclic = refusal(t, () => inventoryFrom(parseYaml(`hosts: { x: {} }\ngroups:\n  ${chain.slice(0, -1).join('\n  ')}\n  c2000: { hosts: [x], children: [c0] }\n`, 'cyc.yml')));
  t.like(cyclic, { code: 'E_INVENTORY', exit: 4 });
  t.regex(cyclic!.message, /groups form a cycle: c0 → c1 → /);
});

test('nesting, keys and lengths past the limits are refused at once, located (exit 4)', async (t) => {
  const { playbookFrom } = await import('../../src/core/playbook.js');
  const { testRegistry } = await import('../helpers/engine.js');
  const load = (pb: string) => playbookFrom(parseYaml(pb, 'pb.yml'), testRegistry());
  const refused = (f: () => unknown, code: string, message: RegExp) => {
    const r = refusal(t, f);
    t.is(r?.code, code);
    t.is(r?.exit, 4);
    t.regex(r?.message ?? '', message);
  };
  const start = Date.now();
  refused(() => parseYaml(`a: ${'['.repeat(100_000)}`, 'deep.yml'), 'E_YAML', /nested more than 64 levels/);
  refused(() => parseYaml('a: &a [*a]\n', 'self.yml'), 'E_YAML', /contains itself/);
  refused(() => parseYaml('x: 1\n? [a]\n: 2\n', 'key.yml'), 'E_YAML', /^a key is a list or a mapping$/);
  refused(() => parseYaml(`{${Array.from({ length: 50_000 }, (_, i) => `k${i}: 1`).join(', ')}, k7: 2}`, 'dup.yml'), 'E_YAML', /^Map keys must be unique$/);
  refused(() => load(`- hosts: all\n  tasks: [{ debug: { msg: hi }, when: "${'('.repeat(4000)}1${')'.repeat(4000)}" }]\n`), 'E_PLAYBOOK', /brackets nested more than 32 levels deep/);
  refused(() => load(`- hosts: all\n  tasks: [{ debug: { msg: "${'{{#if a}}'.repeat(5000)}x${'{{/if}}'.repeat(5000)}" } }]\n`), 'E_PLAYBOOK', /nested more than 32 levels deep/);
  refused(() => inv.select('pbx-*,'.repeat(200)), 'E_PATTERN', /longer than 1000 characters/);
  t.notThrows(() => load(`- hosts: all\n  tasks: [{ debug: { msg: "${'{{#if a}}'.repeat(32)}x${'{{/if}}'.repeat(32)}" }, when: "${'('.repeat(32)}1${')'.repeat(32)}" }]\n`), 'at the limits');
  t.true(Date.now() - start < 3000, `took ${Date.now() - start} ms`);
});
