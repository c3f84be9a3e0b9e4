// How long validation takes on hostile inputs of up to 1 MB (issue 10: under 1 s each). No lab:
// everything is in memory, the way `haplay validate` reads a playbook, an inventory, -e and --limit.
import { stringify } from 'yaml';
import { inventoryFrom } from '../src/core/inventory.js';
import { MAX_ALIAS_COUNT } from '../src/core/yaml.js';
import { MAX_EXPRESSION_DEPTH, MAX_PATTERN_LENGTH, MAX_TEMPLATE_DEPTH, MAX_YAML_DEPTH } from '../src/core/limits.js';
import { playbookFrom } from '../src/core/playbook.js';
import { Redactor } from '../src/core/redact.js';
import { checkPrepared, parseExtraVars } from '../src/core/run.js';
import { parseYaml } from '../src/core/yaml.js';
import { testRegistry } from '../test/helpers/engine.js';

const MB = 1024 * 1024;
let n = 0;
const registry = testRegistry();
const small = 'hosts: { pbx-main: {}, pbx-standby: {} }\ngroups: { pbx: { hosts: [pbx-main, pbx-standby] } }\n';
const fill = (unit: string) => unit.repeat(Math.floor(MB / unit.length));

const hosts = Array.from({ length: 12_000 }, (_, i) => `h${i}`);
const bigInventory = stringify({
  vars: { flavour: 'xivo' },
  hosts: Object.fromEntries(hosts.map((h, i) => [h, { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, vars: { n: i } }])),
  groups: Object.fromEntries(Array.from({ length: 120 }, (_, g) => [`g${g}`, { hosts: hosts.slice(g * 100, g * 100 + 100), children: g < 119 ? [`g${g + 1}`] : [] }])),
}).slice(0, MB);

const task = (i: number) =>
  `    - name: step ${i}\n      debug: { msg: "${'{{#if a}}'.repeat(MAX_TEMPLATE_DEPTH)}x${'{{/if}}'.repeat(MAX_TEMPLATE_DEPTH)}" }\n      when: "${'('.repeat(MAX_EXPRESSION_DEPTH)}1${')'.repeat(MAX_EXPRESSION_DEPTH)}"\n`;
let bigPlaybook = '- hosts: pbx\n  tasks:\n';
for (let i = 0; bigPlaybook.length < MB - 1000; i++) bigPlaybook += task(i);

const aliasBomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcd'.split('').map((l, i) => `${l}: &${l} [${Array(10).fill(`*${'abc'[i]}`).join(', ')}]`)].join('\n') + '\n';
const deepFlow = fill(`${'['.repeat(MAX_YAML_DEPTH - 1)}1${']'.repeat(MAX_YAML_DEPTH - 1)}\n`).replace(/^/gm, '- ');
const deepIndent = Array.from({ length: 1400 }, (_, i) => `${' '.repeat(i)}k:`).join('\n').slice(0, MB) + ' 1\n';
const garbage = Array.from({ length: MB }, (_, i) => '[]{}:-&*!|>\'"\n #,?'[(i * 7919) % 19]).join('');
const longPattern = `${'*h'.repeat(MAX_PATTERN_LENGTH / 2 - 1)}9x`;

function validate(inventory: string, playbook: string, extra: string[] = [], limit?: string): string {
  const redactor = new Redactor();
  try {
    const inv = inventoryFrom(parseYaml(inventory, 'inventory.yml'));
    const pb = playbookFrom(parseYaml(playbook, 'site.yml'), registry);
    checkPrepared({ inventory: inv, playbook: pb, registry, redactor, extraVars: parseExtraVars(extra, '/') }, limit);
    return 'valid';
  } catch (e) {
    return `refused: [${(e as { code?: string }).code}] ${(e as Error).message.slice(0, 70)}`;
  }
}

const cases: [string, number, () => string][] = [
  ['inventory: 12,000 hosts, 120 chained groups', bigInventory.length, () => validate(bigInventory, '- hosts: g0\n  tasks: []\n')],
  [`playbook: tasks with templates ${MAX_TEMPLATE_DEPTH} blocks deep and expressions ${MAX_EXPRESSION_DEPTH} deep`, bigPlaybook.length, () => validate(small, bigPlaybook)],
  [`YAML: ${MAX_YAML_DEPTH - 1}-deep lists, repeated`, deepFlow.length, () => validate(small, deepFlow)],
  ['YAML: 1,400 levels of indentation', deepIndent.length, () => validate(small, deepIndent)],
  [`YAML: an alias bomb (10^4 > ${MAX_ALIAS_COUNT} aliases)`, aliasBomb.length, () => validate(small, aliasBomb)],
  ['YAML: 1 MB of punctuation', garbage.length, () => validate(small, garbage)],
  [`--limit: a ${longPattern.length}-character glob over 12,000 hosts`, longPattern.length + bigInventory.length, () => validate(bigInventory, '- hosts: g0\n  tasks: []\n', [], longPattern)],
  ['-e: a 1 MB inline mapping', MB, () => (parseExtraVars([`{${fill('k: v, ').replace(/k/g, () => `k${n++}`).slice(0, MB - 2)}}`], '/'), 'read')],
];

let slowest = 0;
for (const [title, bytes, run] of cases) {
  const started = performance.now();
  const outcome = run();
  const ms = performance.now() - started;
  slowest = Math.max(slowest, ms);
  console.log(`${ms.toFixed(0).padStart(6)} ms  ${(bytes / 1024).toFixed(0).padStart(5)} KB  ${title}: ${outcome}`);
}
console.log(`slowest validation of an input of up to 1 MB: ${slowest.toFixed(0)} ms`);
process.exit(slowest < 1000 ? 0 : 1);
