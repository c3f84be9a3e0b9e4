// Runs a command on the host. The only read is the creates/removes guard; running the command is
// the change, so check mode runs nothing and says so in the result.
import { posix } from 'node:path';
import { TaskFailed } from '../core/errors.js';
import { argvToShell, quote } from '../core/shell.js';
import type { TaskContext, Vars } from '../core/types.js';
import { definePlugin, exactlyOne, lastLine, runOrFail } from '../kit/index.js';

export interface CommandParams {
  cmd?: string;
  argv?: string[];
  chdir?: string;
  stdin?: string;
  creates?: string;
  removes?: string;
  env?: Record<string, string>;
  expect_rc: number[];
}

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    cmd: {
      type: 'string',
      minLength: 1,
      description: 'The command line, run by /bin/sh on the host (pipes, redirections and && work). Give cmd or argv, not both.',
    },
    argv: {
      type: 'array',
      items: { type: 'string' },
      minItems: 1,
      description: 'The command as a list of words; each is quoted for the shell, so spaces and quotes need no escaping. Give cmd or argv, not both.',
    },
    chdir: { type: 'string', minLength: 1, description: 'Directory to run the command in; relative creates/removes paths are taken from it too.' },
    stdin: { type: 'string', description: 'Text fed to the command on its standard input.' },
    creates: { type: 'string', minLength: 1, description: 'Path on the host: when it exists, the command is not run (it already did its work).' },
    removes: { type: 'string', minLength: 1, description: 'Path on the host: when it does not exist, the command is not run.' },
    env: {
      type: 'object',
      propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
      additionalProperties: { type: 'string' },
      description: 'Environment variables set for the command only.',
    },
    expect_rc: {
      type: 'array',
      items: { type: 'integer', minimum: 0, maximum: 255 },
      minItems: 1,
      default: [0],
      description: 'Exit codes that mean success; any other fails the task (failed_when can still override).',
    },
  },
};

export const command = definePlugin<CommandParams>({
  name: 'command',
  description: 'Run a shell command on the host (changed when it runs; nothing runs in check mode)',
  doc: [
    'Runs cmd (a shell line) or argv (a list of words, quoted for you) on the host and registers stdout, stderr, rc and stdout_lines.',
    'A command always reports "changed" when it runs: add `changed_when: false` for commands that only read. creates/removes make it idempotent: the command is skipped when the path exists (creates) or is missing (removes).',
    'In check mode the command is not run and the result says { rc: null, skipped_in_check: true }; `check_mode: false` on the task runs it anyway.',
  ].join('\n\n'),
  schema,
  freeForm: 'cmd',
  examples: [
    { title: 'Free form', yaml: '- name: list the HA cron files\n  command: ls -l /etc/cron.d\n  changed_when: false\n  register: cron' },
    {
      title: 'Run once, guarded by the file it creates',
      yaml: '- name: initialise xivo-sync\n  command:\n    cmd: xivo-sync -i\n    creates: /root/.ssh/xivo_id_rsa',
    },
    {
      title: 'Words quoted for you, extra accepted exit codes',
      yaml: '- name: grep the slave line\n  command:\n    argv: [grep, "host asterisk postgres", /etc/postgresql/15/main/pg_hba.conf]\n    expect_rc: [0, 1]\n  register: hba',
    },
  ],

  async plan(p, ctx) {
    exactlyOne(p, ['cmd', 'argv'], 'command');
    const line = p.cmd ?? argvToShell(p.argv ?? []);
    const base: Vars = { cmd: line, stdout: '', stderr: '', stdout_lines: [], rc: null };

    const skip = await guard(p, ctx);
    if (skip) return { changes: [], result: { ...base, skipped_reason: skip }, noop: skip };

    return {
      changes: [{ summary: `run: ${line}`, apply: () => run(p, line, ctx) }],
      result: ctx.check ? { ...base, skipped_in_check: true } : base,
    };
  },
});

/** Both guards in one probe; returns why the command is skipped, or null. */
async function guard(p: CommandParams, ctx: TaskContext): Promise<string | null> {
  if (p.creates === undefined && p.removes === undefined) return null;
  const at = (path: string) => (p.chdir && !path.startsWith('/') ? posix.join(p.chdir, path) : path);
  const lines = [
    p.creates !== undefined ? `[ -e ${quote(at(p.creates))} ] && echo creates` : '',
    p.removes !== undefined ? `[ -e ${quote(at(p.removes))} ] || echo removes` : '',
    'exit 0',
  ];
  const out = (await runOrFail(ctx.transport, lines.filter(Boolean).join('\n'), 'check creates/removes')).split('\n');
  if (out.includes('creates')) return `${at(p.creates!)} exists, so the command was not run`;
  if (out.includes('removes')) return `${at(p.removes!)} does not exist, so the command was not run`;
  return null;
}

async function run(p: CommandParams, line: string, ctx: TaskContext): Promise<Vars> {
  const script = [
    p.chdir ? `cd ${quote(p.chdir)} || exit 1` : '',
    ...Object.entries(p.env ?? {}).map(([k, v]) => `export ${k}=${quote(v)}`),
    line,
  ]
    .filter(Boolean)
    .join('\n');
  const r = await ctx.transport.exec(script, p.stdin === undefined ? {} : { stdin: p.stdin });
  const data = {
    cmd: line,
    stdout: r.stdout,
    stderr: r.stderr,
    rc: r.code,
    stdout_lines: r.stdout === '' ? [] : r.stdout.replace(/\n$/, '').split('\n'),
  };
  if (!p.expect_rc.includes(r.code)) {
    const why = lastLine(r);
    throw new TaskFailed(`command exited with ${r.code}${why ? `: ${why}` : ''}`, data);
  }
  return data;
}
