// Files and directories on the host: content, existence, mode and ownership. One fact reads the
// current state; each difference becomes one change, so check mode and --diff say exactly what a
// real run would do.
import { readFile } from 'node:fs/promises';
import { posix, resolve } from 'node:path';
import { TaskFailed } from '../../core/errors.js';
import { quote } from '../../core/shell.js';
import type { Change, Plan, TaskContext, Transport, Vars } from '../../core/types.js';
import { definePlugin, runOrFail } from '../../kit/index.js';
import { attrCommands, attrDifferences, formatMode, parseMode, type WantedAttrs } from './attrs.js';
import { fileState, type FileState } from './state.js';

export interface FileParams {
  path: string;
  state: 'present' | 'absent' | 'directory' | 'touch';
  content?: string;
  src?: string;
  template?: string;
  mode?: string | number;
  owner?: string;
  group?: string;
  create_dirs: boolean;
}

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', pattern: '^/', description: 'Absolute path on the host.' },
    state: {
      type: 'string',
      enum: ['present', 'absent', 'directory', 'touch'],
      default: 'present',
      description:
        'present: a regular file; with content, src or template it gets exactly that content, without them it must already exist and only mode/owner/group are managed. ' +
        'touch: the file exists (created empty if missing; an existing file is left as is, its times included). ' +
        'directory: a directory, parents created as needed. absent: nothing at path (a directory is removed with everything in it).',
    },
    content: { type: 'string', description: 'The exact content of the file (state: present).' },
    src: {
      type: 'string',
      minLength: 1,
      description: 'A file on the control machine, relative to the playbook directory, copied byte for byte (state: present).',
    },
    template: {
      type: 'string',
      minLength: 1,
      description: 'A Handlebars file on the control machine, relative to the playbook directory, rendered with the host variables (state: present).',
    },
    mode: {
      anyOf: [
        { type: 'string', pattern: '^(0o)?[0-7]{1,4}$' },
        { type: 'integer', minimum: 0, maximum: 7777 },
      ],
      description: 'Permission bits, best quoted: "0644". A bare number is read as the octal digits written (644 and 0644 both mean rw-r--r--).',
    },
    // A user or group name as useradd accepts it (no leading `-`, no `:`), or a numeric id.
    owner: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*[$]?$', description: 'Owner, by user name or numeric id.' },
    group: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*[$]?$', description: 'Group, by name or numeric id.' },
    create_dirs: { type: 'boolean', default: false, description: 'Create missing parent directories (state: present or touch).' },
  },
};

export const file = definePlugin<FileParams>({
  name: 'file',
  description: 'Ensure a file or directory exists with given content, mode and owner, or is absent',
  doc: [
    'Content comes from exactly one of content (inline), src (a file copied from the control machine) or template (a Handlebars file rendered for the host); files are written atomically (temp file + rename) and compared byte for byte, so binary files are fine.',
    'With --diff a content change shows the old and new text, and attribute changes show as "mode 0600 → 0644".',
    'Symbolic links are never followed: point path at the real file. state: absent removes a link itself, not its target.',
  ].join('\n\n'),
  schema,
  examples: [
    {
      title: 'Write a config file',
      yaml: '- name: HA role of this node\n  file:\n    path: /etc/xivo/ha.conf\n    content: \'{"node_type": "master", "remote_address": "{{standby_ip}}"}\'\n    mode: "0644"',
    },
    {
      title: 'Render a template',
      yaml: '- name: slave cron\n  file:\n    path: /etc/cron.d/xivo-ha-slave\n    template: templates/xivo-ha-slave.hbs',
    },
    { title: 'Sentinel file', yaml: '- file:\n    path: /var/lib/wazo/is-primary\n    state: touch' },
    { title: 'Remove a file', yaml: '- file:\n    path: /etc/cron.d/xivo-ha-master\n    state: absent' },
  ],

  async plan(p, ctx) {
    const sources = (['content', 'src', 'template'] as const).filter((k) => p[k] !== undefined);
    if (sources.length > 1) throw new TaskFailed(`give only one of content, src and template (got ${sources.join(' and ')})`);
    if (sources.length && p.state !== 'present') {
      throw new TaskFailed(`${sources[0]} only goes with state: present (got state: ${p.state})`);
    }
    const want: WantedAttrs = { mode: parseMode(p.mode), owner: p.owner, group: p.group };
    const content = sources.length ? await loadContent(p, ctx) : undefined;
    const cur = await ctx.fact(fileState(p.path, content !== undefined));
    const t = ctx.transport;

    if (p.state === 'absent') return planAbsent(p.path, cur, t);
    if (cur.type === 'link') throw new TaskFailed(`${p.path} is a symbolic link; give the path of the file it points to`);
    if (cur.type === 'other') throw new TaskFailed(`${p.path} exists but is neither a regular file nor a directory`);

    const changes: Change[] = [];
    const result = afterState(p, cur, want);
    if (p.state === 'directory') {
      if (cur.type === 'file') throw new TaskFailed(`${p.path} is a file, not a directory`);
      if (cur.type === 'absent') {
        changes.push(run(t, `create directory ${p.path}`, [`mkdir -p -- ${quote(p.path)}`, ...attrCommands(p.path, want)]));
      } else changes.push(...attrChange(t, p.path, cur, want));
      return done(changes, result, `${p.path} is already a directory${attrNote(want)}`);
    }

    if (cur.type === 'directory') throw new TaskFailed(`${p.path} is a directory, not a file`);
    if (cur.type === 'absent') {
      if (content === undefined && p.state === 'present') {
        throw new TaskFailed(`${p.path} does not exist`, undefined, 'give content, src or template to create it, or use state: touch');
      }
      const dir = posix.dirname(p.path);
      if (!cur.parentExists && p.create_dirs) changes.push(run(t, `create directory ${dir}`, [`mkdir -p -- ${quote(dir)}`]));
      // A missing directory fails when applying, not when planning: in check mode an earlier task
      // of the same run may be the one that creates it, and check mode must predict that run.
      const mustHaveDir = !cur.parentExists && !p.create_dirs;
      const data = content ?? Buffer.alloc(0);
      changes.push({
        summary: content === undefined ? `create empty ${p.path}` : `create ${p.path}`,
        diff: content === undefined ? undefined : contentDiff(p.path, Buffer.alloc(0), data),
        apply: async () => {
          if (mustHaveDir && (await t.exec(`test -d ${quote(dir)}`)).code !== 0) {
            throw new TaskFailed(`directory ${dir} does not exist`, undefined, 'set create_dirs: true to create it');
          }
          await t.writeFile(p.path, data, want);
        },
      });
      return { changes, result };
    }

    // A regular file is there.
    if (content !== undefined && !content.equals(cur.content ?? Buffer.alloc(0))) {
      const attrs = attrDifferences(cur, want);
      changes.push({
        summary: `write ${p.path}` + (attrs.what.length ? ` (${attrs.what.join(', ')})` : ''),
        diff: contentDiff(p.path, cur.content ?? Buffer.alloc(0), content),
        apply: () => t.writeFile(p.path, content, want),
      });
    } else changes.push(...attrChange(t, p.path, cur, want));
    const same = content !== undefined ? 'already has this content' : 'exists';
    return done(changes, result, `${p.path} ${same}${attrNote(want)}`);
  },
});

async function loadContent(p: FileParams, ctx: TaskContext): Promise<Buffer> {
  if (p.content !== undefined) return Buffer.from(p.content, 'utf8');
  const rel = (p.src ?? p.template)!;
  const dir = typeof ctx.host.vars.playbook_dir === 'string' ? ctx.host.vars.playbook_dir : process.cwd();
  const local = resolve(dir, rel);
  let bytes: Buffer;
  try {
    bytes = await readFile(local);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (e as Error).message;
    throw new TaskFailed(`${p.src !== undefined ? 'src' : 'template'} ${local} ${why} on the control machine`);
  }
  return p.template !== undefined ? Buffer.from(ctx.render(bytes.toString('utf8')), 'utf8') : bytes;
}

function planAbsent(path: string, cur: FileState, t: Transport): Plan {
  const result = { path, state: 'absent' };
  if (cur.type === 'absent') return { changes: [], result, noop: `${path} is already absent` };
  if (cur.type === 'directory') {
    return { changes: [run(t, `remove directory ${path} and everything in it (rm -rf)`, [`rm -rf -- ${quote(path)}`])], result };
  }
  return { changes: [run(t, `remove ${path}`, [`rm -f -- ${quote(path)}`])], result };
}

function attrChange(t: Transport, path: string, cur: FileState, want: WantedAttrs): Change[] {
  const d = attrDifferences(cur, want);
  if (!d.what.length) return [];
  const c = run(t, `${path}: ${d.what.join(', ')}`, attrCommands(path, want));
  c.diff = { label: `${path} (attributes)`, before: d.before.join('\n') + '\n', after: d.after.join('\n') + '\n' };
  return [c];
}

function run(t: Transport, summary: string, commands: string[]): Change {
  return {
    summary,
    async apply() {
      await runOrFail(t, commands.join(' && '), summary);
    },
  };
}

function contentDiff(path: string, before: Buffer, after: Buffer) {
  return { label: path, before: asText(before), after: asText(after) };
}

/** Text as is; anything that is not clean UTF-8 is summarised rather than dumped into a terminal. */
function asText(b: Buffer): string {
  const s = b.toString('utf8');
  return !b.includes(0) && Buffer.from(s, 'utf8').equals(b) ? s : `(binary, ${b.length} bytes)\n`;
}

function done(changes: Change[], result: Vars, noop: string): Plan {
  return changes.length ? { changes, result } : { changes, result, noop };
}

function attrNote(want: WantedAttrs): string {
  const parts = [
    want.mode !== undefined ? `mode ${formatMode(want.mode)}` : '',
    want.owner !== undefined ? `owner ${want.owner}` : '',
    want.group !== undefined ? `group ${want.group}` : '',
  ].filter(Boolean);
  return parts.length ? ` with ${parts.join(', ')}` : '';
}

/** What register sees: the state after the plan, known in check mode too. */
function afterState(p: FileParams, cur: FileState, want: WantedAttrs): Vars {
  const mode = want.mode ?? cur.mode;
  return {
    path: p.path,
    state: p.state === 'directory' ? 'directory' : 'file',
    ...(mode !== undefined ? { mode: formatMode(mode) } : {}),
    ...((want.owner ?? cur.owner) !== undefined ? { owner: want.owner ?? cur.owner } : {}),
    ...((want.group ?? cur.group) !== undefined ? { group: want.group ?? cur.group } : {}),
  };
}
