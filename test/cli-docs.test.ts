// Plugins from outside haplay, the generated plugin docs and the editor schema.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import { parse } from 'yaml';

const run = promisify(execFile);
const cli = join(process.cwd(), 'dist/cli/index.js');

const PLUGIN = (name: string) => `
export default {
  name: '${name}',
  description: 'writes a greeting',
  schema: { type: 'object', additionalProperties: false, required: ['to'], properties: { to: { type: 'string', description: 'who' } } },
  async plan(p, ctx) {
    const path = ctx.host.vars.out + '/${name}.txt';
    const cur = await ctx.transport.readFile(path);
    if (cur && cur.toString() === 'hello ' + p.to) return { changes: [], noop: 'already greeted' };
    return { changes: [{ summary: 'greet ' + p.to, apply: () => ctx.transport.writeFile(path, 'hello ' + p.to) }] };
  },
};`;

test('plugins load from a plugins/ folder beside the playbook and from haplay-plugin-* packages', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'haplay-ext-'));
  mkdirSync(join(dir, 'plugins'));
  writeFileSync(join(dir, 'plugins', 'greet.mjs'), PLUGIN('greet'));
  const pkg = join(dir, 'node_modules', 'haplay-plugin-wave');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'haplay-plugin-wave', type: 'module', main: 'index.js' }));
  writeFileSync(join(pkg, 'index.js'), PLUGIN('wave'));
  writeFileSync(join(dir, 'inventory.yml'), `hosts: { here: { connection: local, out: ${JSON.stringify(dir)} } }\ngroups: { g: { hosts: [here] } }\n`);
  writeFileSync(join(dir, 'pb.yml'), `- hosts: all\n  tasks:\n    - greet: { to: main }\n    - wave: { to: standby }\n`);
  const first = await run('node', [cli, 'pb.yml'], { cwd: dir });
  t.regex(first.stdout, /changed: \[here\] => greet main/);
  t.regex(first.stdout, /changed: \[here\] => greet standby/);
  const second = await run('node', [cli, 'pb.yml'], { cwd: dir });
  t.regex(second.stdout, /here\s*: ok=2\s+changed=0/);
  const doc = await run('node', [cli, 'plugins', 'greet'], { cwd: dir });
  t.regex(doc.stdout, /^greet: writes a greeting/);
  t.regex(doc.stdout, /to \(string, required\)\n\s+who/);
});

test('every built-in plugin is documented from its schema, with examples', async (t) => {
  const list = await run('node', [cli, 'plugins']);
  const names = [...list.stdout.matchAll(/^ {2}(\S+) {2,}/gm)].map((m) => m[1]);
  t.true(names.includes('command') && names.includes('file') && names.includes('wait-for'), list.stdout);
  for (const name of names) {
    const doc = await run('node', [cli, 'plugins', name]);
    t.regex(doc.stdout, new RegExp(`^${name}: \\S`), name);
    t.regex(doc.stdout, /\nParameters:\n/, name);
    t.regex(doc.stdout, /\nExamples:\n/, `${name} has examples`);
  }
  const bad = await run('node', [cli, 'plugins', 'comand']).catch((e) => e);
  t.is(bad.code, 4);
  t.regex(bad.stderr, /no plugin named "comand"[\s\S]*did you mean "command"/);
});

test('the editor schema is valid JSON Schema and accepts every shipped playbook', async (t) => {
  const { stdout } = await run('node', [cli, 'schema'], { maxBuffer: 1 << 24 });
  const schema = JSON.parse(stdout);
  delete schema.$schema;
  const validate = new Ajv({ strict: false, allowUnionTypes: true, validateFormats: false }).compile(schema);
  const books = readdirSync('playbooks').filter((f) => f.endsWith('.yml'));
  t.true(books.length >= 1);
  for (const f of books) {
    const data = parse(await import('node:fs').then((fs) => fs.readFileSync(join('playbooks', f), 'utf8')), { customTags: [{ tag: '!secret', resolve: (s: string) => s }] });
    t.true(validate(data), `${f}: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
  }
  t.false(validate([{ hosts: 'all', tasks: [{ comand: 'ls' }] }]), 'an unknown key is refused');
});

test('haplay inventory: the groups as a tree, and one host\'s variables as tasks see them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'haplay-inv-'));
  writeFileSync(
    join(dir, 'inventory.yml'),
    `vars: { flavour: xivo, db_password: !secret s3cret-pw }
hosts:
  pbx-main: { address: 10.0.0.11, vars: { voip_address: 10.1.0.11 } }
  pbx-standby: { address: 10.0.0.12 }
  cc: { address: 10.0.0.21 }
groups:
  pbx_main: { hosts: [pbx-main] }
  pbx_standby: { hosts: [pbx-standby] }
  pbx: { children: [pbx_main, pbx_standby], vars: { flavour: wazo } }
  cc: { hosts: [cc] }
`,
  );
  const graph = await run('node', [cli, 'inventory', '--graph'], { cwd: dir });
  t.is(
    graph.stdout,
    ['@all:', '  |--@pbx:', '  |  |--@pbx_main:', '  |  |  |--pbx-main (10.0.0.11)', '  |  |--@pbx_standby:', '  |  |  |--pbx-standby (10.0.0.12)', '  |--@cc:', '  |  |--cc (10.0.0.21)', ''].join('\n'),
  );
  const host = JSON.parse((await run('node', [cli, 'inventory', '--host', 'pbx-main'], { cwd: dir })).stdout);
  t.like(host, { flavour: 'wazo', voip_address: '10.1.0.11', address: '10.0.0.11', groups: ['pbx_main', 'pbx'], db_password: '********' });
  const bad = await run('node', [cli, 'inventory', '--host', 'nope'], { cwd: dir }).catch((e) => e);
  t.is(bad.code, 4);
});
