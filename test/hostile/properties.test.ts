// Property-based tests (fast-check) over what an operator hands haplay: inventories, playbooks, host
// patterns and extra vars, generated from their shapes with hostile leaves (templates, expressions,
// YAML syntax, names that look like options). Each input must load and validate, or be refused with
// exit 4 and a located message (file, play, task, key); nothing may crash, and nothing may be slow.
// Seeded, so a failure replays; fast-check prints the smallest input that fails.
import test from 'ava';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { CODES, isHaplayError, type HaplayError } from '../../src/core/errors.js';
import { inventoryFrom } from '../../src/core/inventory.js';
import { playbookFrom } from '../../src/core/playbook.js';
import { Redactor } from '../../src/core/redact.js';
import { checkPrepared, parseExtraVars } from '../../src/core/run.js';
import { parseYaml } from '../../src/core/yaml.js';
import { testRegistry } from '../helpers/engine.js';

const registry = testRegistry();
const SEED = 20261202;
/** Slowest single case allowed: the inputs here are small, anything slower is a complexity bug. */
const SLOW_MS = 500;

const NAMES = ['pbx-main', 'pbx-standby', 'cc1', 'all', 'pbx', 'cc', 'localhost', '-x', 'a b', 'x;y', '$(id)', '__proto__', 'constructor', ''];
const name = fc.oneof(fc.constantFrom(...NAMES), fc.string({ unit: fc.constantFrom(...'abcpx-_*?[]!&:,^ 0.'), maxLength: 12 }));
const HOSTILE = ['{{x}}', '{{#if a}}', '{{/if}}', '{{', '}}', '{{log x}}', '{{quote x}}', '{{json .}}', '{{lookup . "constructor"}}', '((', 'a and not b', 'x|length > 0', '*a', '&a', '!secret', '-oProxyCommand=x', "'; touch /tmp/x; '", '\n', '%s'];
const scalar = fc.oneof(fc.string({ maxLength: 16 }), fc.constantFrom(...HOSTILE), fc.integer(), fc.boolean(), fc.constant(null), fc.double());
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(name, tie('v'), { maxKeys: 3 })),
})).v;
const dict = fc.dictionary(name, value, { maxKeys: 3 });
const flat = fc.dictionary(name, scalar, { maxKeys: 2 });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const pattern = fc.oneof(
  fc.constantFrom('all', 'pbx', 'cc', 'pbx-main', 'pbx:cc', 'pbx:&cc', 'pbx:!pbx-main', 'pbx-*', 'c?1', '[z-a]*', `${'*a'.repeat(12)}b`),
  fc.string({ unit: fc.constantFrom(...'pbx-mainstdbyc1*?[]!&:,^ a'), maxLength: 30 }),
  fc.array(fc.constantFrom(...NAMES, '*', '&', '!', ':', ','), { maxLength: 8 }).map((xs) => xs.join('')),
);

/** Some texts are damaged after they are written: a YAML special character somewhere. */
const damaged = (text: fc.Arbitrary<string>) =>
  fc.tuple(text, opt(fc.tuple(fc.nat(), fc.constantFrom('\t', ':', '- ', '[', '{', '}', '&a ', '*a', '!secret ', '!x ', '"', "'", '\n  ', '? ', '|', '>')))).map(([t, cut]) => {
    if (!cut) return t;
    const at = cut[0] % (t.length + 1);
    return t.slice(0, at) + cut[1] + t.slice(at);
  });
const asText = (v: unknown) => fc.constantFrom(0, 1).map((j) => (j ? JSON.stringify(v) ?? '' : stringify(v)));

const inventoryData = fc.oneof(
  { weight: 9, arbitrary: fc.record(
    {
      vars: dict,
      hosts: fc.dictionary(name, fc.oneof(fc.constant({}), fc.constant(null), fc.record({ address: scalar, port: scalar, user: scalar, vars: dict }, { requiredKeys: [] }), value), { maxKeys: 4 }),
      groups: fc.dictionary(
        name,
        fc.oneof(fc.record({ hosts: fc.oneof(fc.array(name, { maxLength: 4 }), value), children: fc.array(name, { maxLength: 3 }), vars: dict }, { requiredKeys: [] }), value),
        { maxKeys: 4 },
      ),
      bogus: value,
    },
    { requiredKeys: [] },
  ) },
  { weight: 1, arbitrary: value },
);
const inventoryText = damaged(inventoryData.chain(asText));
const GOOD_INVENTORY = stringify({
  hosts: { 'pbx-main': {}, 'pbx-standby': {}, cc1: {} },
  groups: { pbx: { hosts: ['pbx-main', 'pbx-standby'] }, cc: { hosts: ['cc1'] } },
});

const plugins = [...registry.names(), 'nope'];
const params = (plugin: string) => {
  const props = Object.keys(((registry.get(plugin)?.schema as { properties?: object } | undefined)?.properties ?? {}) as object);
  return fc.oneof(fc.dictionary(fc.constantFrom(...props, 'bogus'), fc.oneof({ weight: 3, arbitrary: scalar }, { weight: 1, arbitrary: value }), { maxKeys: 4 }), scalar);
};
const keywords = fc.record(
  {
    name: scalar,
    when: fc.oneof(scalar, fc.array(scalar, { maxLength: 2 })),
    loop: fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })),
    loop_control: fc.record({ loop_var: scalar, label: scalar }, { requiredKeys: [] }),
    register: scalar,
    retries: scalar,
    until: scalar,
    delay: scalar,
    timeout: scalar,
    check_mode: scalar,
    tags: fc.oneof(scalar, fc.array(scalar, { maxLength: 2 })),
    notify: fc.oneof(scalar, fc.array(scalar, { maxLength: 2 })),
    delegate_to: fc.oneof(name, scalar),
    ignore_errors: scalar,
    no_log: scalar,
    changed_when: scalar,
    failed_when: scalar,
    run_once: scalar,
    listen: scalar,
    vars: flat,
  },
  { requiredKeys: [] },
);
const task: fc.Arbitrary<unknown> = fc.letrec<{ t: unknown }>((tie) => ({
  t: fc.oneof(
    { depthSize: 'small', maxDepth: 2 },
    fc.tuple(fc.constantFrom(...plugins), keywords).chain(([p, kw]) => params(p).map((ps) => ({ ...kw, [p]: ps }))),
    fc.record({ block: fc.array(tie('t'), { maxLength: 3 }), rescue: fc.array(tie('t'), { maxLength: 2 }), always: fc.array(tie('t'), { maxLength: 2 }), name: scalar, when: scalar }, { requiredKeys: ['block'] }),
    value,
  ),
})).t;
const play = fc.record(
  {
    name: scalar,
    hosts: fc.oneof({ weight: 4, arbitrary: pattern }, { weight: 1, arbitrary: value }),
    vars: flat,
    serial: fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })),
    max_fail_percentage: scalar,
    any_errors_fatal: scalar,
    tags: fc.oneof(scalar, fc.array(scalar, { maxLength: 2 })),
    tasks: fc.oneof({ weight: 5, arbitrary: fc.array(task, { maxLength: 3 }) }, { weight: 1, arbitrary: value }),
    handlers: fc.array(task, { maxLength: 2 }),
    bogus: scalar,
  },
  { requiredKeys: ['hosts', 'tasks'] },
);
const playbookText = damaged(fc.oneof({ weight: 9, arbitrary: fc.array(play, { minLength: 1, maxLength: 2 }) }, { weight: 1, arbitrary: value }).chain(asText));
const extraVar = fc.oneof(
  fc.tuple(fc.oneof(fc.constantFrom('k', 'db_password', '_x'), name), fc.oneof(scalar.map(String), fc.string({ maxLength: 20 }))).map(([k, v]) => `${k}=${v}`),
  damaged(dict.chain(asText)).map((t) => (t.startsWith('{') ? t : `{${t}}`)),
  fc.constantFrom('@/nonexistent/vars.yml', '@', '=', '{', '{pw: !secret x}', '{a: &a [*a]}', 'k'),
  fc.string({ maxLength: 20 }),
);

/** The input loads, or is refused with exit 4 and a located message; anything else is a bug. */
function loadsOrIsRefused(f: () => void): void {
  const started = Date.now();
  try {
    f();
  } catch (e) {
    if (!isHaplayError(e)) throw new Error(`crashed: ${(e as Error)?.stack ?? String(e)}`);
    for (const err of [e, ...e.more] as HaplayError[]) {
      if (CODES[err.code].exit !== 4) throw new Error(`exit ${CODES[err.code].exit} (${err.code}), not 4: ${err.message}`);
      if (!err.where.file && !err.where.key) throw new Error(`not located (no file or key): [${err.code}] ${err.message}`);
    }
  }
  const took = Date.now() - started;
  if (took > SLOW_MS) throw new Error(`took ${took} ms`);
}

function validate(inventory: string, playbook: string, extra: string[], limit?: string): void {
  const redactor = new Redactor();
  const onSecret = (v: string) => redactor.add(v);
  const inv = inventoryFrom(parseYaml(inventory, '/fx/inventory.yml', { onSecret }));
  const pb = playbookFrom(parseYaml(playbook, '/fx/site.yml', { onSecret }), registry);
  const extraVars = parseExtraVars(extra, '/fx', onSecret);
  checkPrepared({ inventory: inv, playbook: pb, registry, redactor, extraVars }, limit);
}

const goodInventory = inventoryFrom(parseYaml(GOOD_INVENTORY, '/fx/inventory.yml'));
const counted = { cases: 0 };
const runs = (n: number) => ({ seed: SEED, numRuns: n, endOnFailure: true });

// A library warning on stderr (yaml's, for one) would bypass the redactor: none may appear.
const warnings: string[] = [];
process.on('warning', (w) => warnings.push(w.message));
test.afterEach((t) => t.deepEqual(warnings.splice(0), [], 'no process warning'));
test.after(() => console.log(`property cases run: ${counted.cases}, uncaught errors: 0`));

test('inventories: each loads or is refused with a located exit 4', (t) => {
  fc.assert(fc.property(inventoryText, (text) => void (counted.cases++, loadsOrIsRefused(() => inventoryFrom(parseYaml(text, '/fx/inventory.yml'))))), runs(2500));
  t.pass();
});

test('playbooks against an inventory, with extra vars and --limit: each validates or is refused with a located exit 4', (t) => {
  fc.assert(
    fc.property(playbookText, fc.array(extraVar, { maxLength: 2 }), opt(pattern), (pb, ev, limit) => void (counted.cases++, loadsOrIsRefused(() => validate(GOOD_INVENTORY, pb, ev, limit)))),
    runs(3000),
  );
  t.pass();
});

test('a generated inventory and a generated playbook together', (t) => {
  fc.assert(fc.property(inventoryText, playbookText, (inv, pb) => void (counted.cases++, loadsOrIsRefused(() => validate(inv, pb, [])))), runs(600));
  t.pass();
});

test('host patterns: each selects hosts or is refused (E_PATTERN, exit 4), at once', (t) => {
  fc.assert(
    fc.property(pattern, (p) => {
      counted.cases++;
      loadsOrIsRefused(() => {
        try {
          goodInventory.select(p);
        } catch (e) {
          throw isHaplayError(e) ? e.at({ key: '--limit' }) : e;
        }
      });
    }),
    runs(2500),
  );
  t.pass();
});

test('extra vars: each is read or refused (exit 4, key -e or its file)', (t) => {
  fc.assert(fc.property(fc.array(extraVar, { minLength: 1, maxLength: 3 }), (ev) => void (counted.cases++, loadsOrIsRefused(() => parseExtraVars(ev, '/fx')))), runs(2000));
  t.pass();
});
