// Secrets in every place a playbook can put them (inventory, play vars, `!secret` on maps and lists,
// -e, multi-line, shell-quoted, JSON) run through every output mode, and every byte of output is
// searched for them. Each secret holds "s3cret" (each line of the multi-line one "MIIsecretline").
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { formatError, isHaplayError } from '../../src/core/errors.js';
import { createReporter } from '../../src/core/reporters/index.js';
import { prepare, runPlaybook } from '../../src/core/run.js';
import { FakeTransport } from '../../src/core/transport/fake.js';
import { builtinPlugins } from '../../src/plugins/index.js';

const execFileP = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'haplay-secrets-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const LEAK = /s3cret|MIIsecretline/;

writeFileSync(
  join(dir, 'inventory.yml'),
  `
vars:
  db_password: !secret "hunter2-'q\\"uoted-s3cret"
  ssl_key: !secret |
    -----BEGIN KEY-----
    MIIsecretline0001abcdef
    MIIsecretline0002abcdef
    -----END KEY-----
hosts: { a: {} }
groups: { g: { hosts: [a] } }
`,
);

writeFileSync(
  join(dir, 'site.yml'),
  `
- hosts: g
  vars:
    creds: !secret { user: admin, token: tok-map-s3cret }
    tokens: !secret [seq-item-s3cret]
  tasks:
    - debug: { msg: "quoted {{quote db_password}}" }
    - debug: { msg: "json {{json db_password}}" }
    - debug: { msg: "key {{ssl_key}}" }
    - debug: { var: creds }
    - debug: { msg: "{{json creds}} {{join tokens ','}}" }
    - debug: { msg: "extra {{ext_pw}} {{kv_pw}}" }
    - command: "login {{quote db_password}} {{quote ext_pw}}"
      no_log: true
    - name: echo the secrets
      command: "echo {{quote db_password}} {{json creds}}"
      register: r
      changed_when: false
    - debug: { var: r }
    - name: key file
      kv: { key: key, value: "{{ssl_key}}" }
    - name: fails with it
      command: "fail {{quote db_password}}"
      ignore_errors: true
`,
);

// kv: a plugin beside the playbook that writes /kv/KEY and shows a diff (the built-in file plugin would probe a real host).
import { mkdirSync } from 'node:fs';
mkdirSync(join(dir, 'plugins'));
writeFileSync(
  join(dir, 'plugins', 'kv.mjs'),
  `export default {
  name: 'kv',
  description: 'test: a key/value file',
  schema: { type: 'object', additionalProperties: false, required: ['key', 'value'], properties: { key: { type: 'string' }, value: { type: 'string' } } },
  async plan(p, ctx) {
    const path = '/kv/' + p.key;
    const cur = (await ctx.transport.readFile(path))?.toString() ?? '';
    if (cur === p.value) return { changes: [], result: {}, noop: 'same' };
    return { result: { value: p.value }, changes: [{ summary: 'set ' + p.key + ' to ' + p.value, diff: { label: path, before: cur, after: p.value }, apply: () => ctx.transport.writeFile(path, p.value) }] };
  },
};
`,
);

const EXTRA = ['{ext_pw: !secret ext-e-s3cret}', 'kv_pw=!secret kv-e-s3cret'];

/** A host that echoes every command (so the secrets reach stdout), fails `fail ...` and holds locks. */
function host(name: string): FakeTransport {
  const t = new FakeTransport(name);
  t.on(/flock/, { stdout: 'HAPLAY_LOCKED\n' });
  t.on(/^fail /, (cmd) => ({ code: 1, stderr: `refused: ${cmd}\nline two ${cmd}` }));
  t.on(() => true, (cmd) => ({ stdout: `ran: ${cmd}\n` }));
  return t;
}

const MODES: { name: string; json?: boolean; verbose?: boolean; diff?: boolean; check?: boolean; tty?: boolean }[] = [
  { name: 'plain' },
  { name: 'plain -v --diff', verbose: true, diff: true },
  { name: 'plain --check --diff -v', check: true, diff: true, verbose: true },
  { name: '--json', json: true },
  { name: '--json -v --diff', json: true, verbose: true, diff: true },
  { name: 'terminal (listr) -v --diff', tty: true, verbose: true, diff: true },
];

for (const m of MODES) {
  test.serial(`secrets never printed: ${m.name}`, async (t) => {
    let out = '';
    const stream = new PassThrough();
    stream.on('data', (b: Buffer) => (out += b.toString()));
    (stream as unknown as { columns: number }).columns = 120;
    const hosts = new Map<string, FakeTransport>();
    const code = await runPlaybook(
      { playbook: join(dir, 'site.yml'), plugins: builtinPlugins, inventory: join(dir, 'inventory.yml'), extraVars: EXTRA, check: m.check, diff: m.diff, verbose: m.verbose, cwd: dir },
      {
        reporter: (redactor) =>
          createReporter({ json: m.json, verbose: m.verbose, diff: m.diff, redactor, stream: stream as unknown as NodeJS.WriteStream, isTTY: m.tty ?? false, color: false }),
        transports: () => ({
          get: (h) => hosts.get(h) ?? hosts.set(h, host(h)).get(h)!,
          closeAll: async () => {},
        }),
      },
    );
    t.is(code, 0);
    const ran = hosts.get('a')!.commands.join('\n');
    if (!m.check) t.regex(ran, /echo 'hunter2-'\\''q"uoted-s3cret'/, 'the secret itself reaches the host');
    if (!m.check) t.regex(hosts.get('a')!.files.get('/kv/key')?.data.toString() ?? '', /MIIsecretline0002/);
    t.true(out.includes('********'), 'secrets are masked, not absent');
    t.true(out.includes('echo the secrets'));
    const leaks = out.split('\n').filter((l) => LEAK.test(l));
    t.deepEqual(leaks, []);
    t.false(/login/.test(out), 'an unnamed no_log task is not titled by its command line');
    if (m.json) for (const l of out.split('\n').filter(Boolean)) t.notThrows(() => JSON.parse(l));
  });
}

test.serial('secrets never printed on the exit-4 path, and no_log validation errors hide the value given', async (t) => {
  writeFileSync(
    join(dir, 'bad.yml'),
    `
- hosts: g
  vars:
    st: !secret started-s3cret
  tasks:
    - service: { name: asterisk, state: "{{st}}" }
    - service: { name: asterisk, state: "{{db_password}}" }
    - service: { name: asterisk, state: "{{ext_pw}}" }
    - name: "{{ssl_key}}"
      service: { name: asterisk, state: "{{ssl_key}}" }
`,
  );
  writeFileSync(
    join(dir, 'hidden.yml'),
    `
- hosts: g
  tasks:
    - name: hidden
      service: { name: asterisk, state: "plain-but-hidden" }
      no_log: true
`,
  );
  const errorOf = (playbook: string) =>
    prepare({ playbook: join(dir, playbook), plugins: builtinPlugins, inventory: join(dir, 'inventory.yml'), extraVars: EXTRA, cwd: dir }).then(
      () => t.fail(`${playbook} was accepted`),
      (err: unknown) => {
        t.true(isHaplayError(err));
        t.is((err as { exitCode: number }).exitCode, 4);
        return formatError(err as never);
      },
    );
  const text = await errorOf('bad.yml');
  t.log(text);
  t.false(LEAK.test(text), text);
  t.is(text.match(/\*{8}/g)?.length, 4, 'the four values masked');
  const hidden = await errorOf('hidden.yml');
  t.false(hidden.includes('plain-but-hidden'), 'a no_log task does not quote the value it was given');
  t.regex(hidden, /value hidden: no_log/);
});

test.serial('the CLI: a secret in an -e mapping, an unknown tag and the log helper print nothing raw', async (t) => {
  const cli = join(process.cwd(), 'src/cli/index.ts');
  const runCli = (args: string[]) =>
    execFileP(process.execPath, [`--import=${pathToFileURL(join(process.cwd(), 'node_modules/tsx/dist/loader.mjs')).href}`, cli, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  writeFileSync(join(dir, 'local.yml'), 'hosts: { here: { connection: local } }\ngroups: { g: { hosts: [here] } }\n');
  writeFileSync(join(dir, 'log.yml'), '- hosts: g\n  tasks:\n    - debug: { msg: "{{log pw}}" }\n');
  const log = await runCli(['log.yml', '-i', 'local.yml', '--check', '--json', '-e', '{pw: !secret log-helper-s3cret}']);
  t.false(LEAK.test(log.stdout + log.stderr), log.stdout + log.stderr);
  for (const l of log.stdout.split('\n').filter(Boolean)) t.notThrows(() => JSON.parse(l), l);
  t.regex(log.stdout, /log\\" helper is not available/);

  const bad = await runCli(['validate', 'log.yml', '-i', 'local.yml', '-e', '{pw: !secret e-s3cret, port: [}']);
  t.is(bad.code, 4);
  t.false(LEAK.test(bad.stdout + bad.stderr), bad.stderr);

  writeFileSync(join(dir, 'typo.yml'), '- hosts: g\n  vars: { pw: !secrte typo-s3cret }\n  tasks: [{ debug: { msg: hi } }]\n');
  const typo = await runCli(['validate', 'typo.yml', '-i', 'local.yml']);
  t.is(typo.code, 4, 'an unknown tag is refused, not dropped');
  t.regex(typo.stderr, /E_YAML.*typo\.yml:2/);
  t.false(LEAK.test(typo.stdout + typo.stderr), typo.stderr);
});
