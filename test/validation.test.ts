// Bad input: every problem is found before any host is touched, named with file, play, task, key
// and line, and the CLI exits 4.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatError, type HaplayError } from '../src/core/errors.js';
import { prepare } from '../src/core/run.js';
import { builtinPlugins } from '../src/plugins/index.js';

const INVENTORY = `
hosts:
  pbx-main: { address: 192.0.2.1 }
  pbx-standby: { address: 192.0.2.2 }
groups:
  pbx_main: { hosts: [pbx-main] }
  pbx: { children: [pbx_main], hosts: [pbx-standby] }
`;

function fixture(playbook: string, inventory = INVENTORY): { dir: string; pb: string; inv: string } {
  const dir = mkdtempSync(join(tmpdir(), 'haplay-val-'));
  writeFileSync(join(dir, 'pb.yml'), playbook);
  writeFileSync(join(dir, 'inv.yml'), inventory);
  return { dir, pb: join(dir, 'pb.yml'), inv: join(dir, 'inv.yml') };
}

async function problems(playbook: string, inventory?: string): Promise<{ text: string; err: HaplayError }> {
  const f = fixture(playbook, inventory);
  try {
    await prepare({ playbook: f.pb, plugins: builtinPlugins, inventory: f.inv });
  } catch (e) {
    return { text: formatError(e as HaplayError), err: e as HaplayError };
  }
  throw new Error('expected a validation error');
}

test('unknown param key: nearest name suggested, file/play/task/key/line named, all errors collected', async (t) => {
  const { text, err } = await problems(`
- name: Setup
  hosts: pbx
  tasks:
    - name: write the file
      file:
        path: /tmp/x
        contnet: hello
    - name: second
      command:
        cmd: true
        chdri: /tmp
`);
  t.is(err.exitCode, 4);
  t.regex(text, /pb\.yml:8 › play "Setup" › task "write the file" › key file\.contnet: unknown key "contnet"/);
  t.regex(text, /did you mean "content"\?/);
  t.regex(text, /task "second" › key command\.chdri/, 'the second error is reported in the same pass');
});

test('unknown plugin, wrong types, bad expressions and unknown handlers are all reported', async (t) => {
  const { text } = await problems(`
- hosts: pbx
  tasks:
    - name: typo plugin
      comand: ls
    - name: wrong type
      file: { path: 12, state: maybe }
    - name: bad when
      debug: { msg: x }
      when: "a == == b"
    - name: notify
      debug: { msg: x }
      notify: restart asterisk
  handlers:
    - { name: restart asterix, debug: { msg: y } }
`);
  t.regex(text, /task "typo plugin" › key comand: unknown key "comand".*\n.*did you mean "command"/);
  t.regex(text, /key file\.state: must be one of/);
  t.regex(text, /key when: invalid expression/);
  t.regex(text, /notifies "restart asterisk".*\n.*did you mean "restart asterix"/);
});

test('malformed YAML names the line', async (t) => {
  const { text, err } = await problems(`- hosts: pbx\n  tasks:\n    - debug: { msg: "unclosed }\n`);
  t.is(err.code, 'E_YAML');
  t.regex(text, /pb\.yml:\d+/);
});

test('unknown host pattern in a play and in --limit', async (t) => {
  const { text } = await problems(`- { name: P, hosts: "pbx_mian", tasks: [] }`);
  t.regex(text, /play "P" › key hosts: "pbx_mian" in host pattern "pbx_mian" matches no host or group/);
  t.regex(text, /did you mean "pbx_main"/);
});

test('inventory: a host in no group, a group cycle, an unknown member', async (t) => {
  const { text } = await problems(
    `- { hosts: all, tasks: [] }`,
    `
hosts: { a: {}, lonely: {} }
groups:
  x: { hosts: [a], children: [y] }
  y: { children: [x], hosts: [ghost] }
`,
  );
  t.regex(text, /host "lonely" is in no group/);
  t.regex(text, /groups form a cycle: x → y → x/);
  t.regex(text, /unknown host "ghost"/);
});

const cli = join(process.cwd(), 'dist/cli/index.js');
const run = promisify(execFile);

test('the CLI exits 4 on invalid input and prints the hint; validate says valid otherwise', async (t) => {
  const bad = fixture(`- hosts: pbx\n  tasks: [{ file: { path: /x, mode: 644, bogus: 1 } }]\n`);
  const e = await run('node', [cli, bad.pb, '-i', bad.inv]).catch((x) => x);
  t.is(e.code, 4);
  t.regex(e.stderr, /\[E_PARAMS\].*key file\.bogus: unknown key "bogus"/);
  const good = fixture(`- hosts: pbx\n  tasks: [{ debug: { msg: hi } }]\n`);
  const ok = await run('node', [cli, 'validate', good.pb, '-i', good.inv]);
  t.regex(ok.stdout, /valid \(1 plays, 1 tasks/);
  const noinv = await run('node', [cli, good.pb], { cwd: good.dir, env: { ...process.env, HAPLAY_INVENTORY: '' } }).catch((x) => x);
  t.is(noinv.code, 4);
  t.regex(noinv.stderr, /no inventory given[\s\S]*hint: pass -i FILE/);
});

test('unreachable host over SSH: reported, exit code 3', async (t) => {
  // 192.0.2.0/24 is TEST-NET-1; port 1 on 127.0.0.1 refuses at once, so nothing leaves the machine.
  const f = fixture(
    `- hosts: all\n  tasks: [{ name: probe, command: "true" }]\n`,
    `hosts: { dead: { address: 127.0.0.1, port: 1, host_key_checking: "off", connect_timeout: 2 } }\ngroups: { g: { hosts: [dead] } }\n`,
  );
  const e = await run('node', [cli, f.pb, '-i', f.inv]).catch((x) => x);
  t.is(e.code, 3);
  t.regex(e.stdout, /unreachable: \[dead\]/);
  t.regex(e.stdout, /dead\s*: .*unreachable=1/);
});

test('a template that renders to an invalid value for a host is refused before the run, naming the host', async (t) => {
  const { text, err } = await problems(
    `
- name: Setup
  hosts: pbx
  tasks:
    - name: wait for the peer
      wait-for: { host: "{{peer}}", port: "{{peer_port}}", timeout: 1 }
    - name: later value
      wait-for: { host: "{{registered.address}}", port: 22 }
`,
    INVENTORY.replace('pbx-standby: { address: 192.0.2.2 }', 'pbx-standby: { address: 192.0.2.2, peer: 192.0.2.1, peer_port: 99999 }').replace(
      'pbx-main: { address: 192.0.2.1 }',
      'pbx-main: { address: 192.0.2.1, peer: 192.0.2.2, peer_port: 5432 }',
    ),
  );
  t.is(err.exitCode, 4);
  t.regex(text, /task "wait for the peer" › host pbx-standby › key wait-for\.port: must be <= 65535/);
  t.notRegex(text, /pbx-main/, 'the valid host is not reported');
  t.notRegex(text, /later value/, 'values known only at run time are left to the run');
});

test('--lock-wait and --forks that are not numbers (or are negative) exit 4 naming the option, before any host', async (t) => {
  const good = fixture(`- hosts: pbx\n  tasks: [{ debug: { msg: hi } }]\n`);
  for (const [args, re] of [
    [['--lock-wait', 'abc'], /\[E_USAGE\] key --lock-wait: --lock-wait must be a number of seconds, 0 or more/],
    [['--lock-wait', '-1'], /--lock-wait must be a number of seconds/],
    [['--forks', 'many'], /\[E_USAGE\] key --forks: --forks must be a whole number/],
    [['--forks', '0'], /--forks must be a whole number/],
  ] as const) {
    const e = await run('node', [cli, good.pb, '-i', good.inv, ...args]).catch((x) => x);
    t.is(e.code, 4, `${args.join(' ')}: ${e.stderr}`);
    t.regex(e.stderr, re);
    t.notRegex(e.stderr + e.stdout, /NaN|E_INTERNAL|PLAY|ok: /);
  }
});
