// The phones' backup registrar and proxy (domain.md §7): registrar configs of provd's JSON database
// get the standby's address on the main, and lose it when HA is disabled. Files are rewritten
// atomically in the formatting they already had.
import { TaskFailed } from '../core/errors.js';
import { quote } from '../core/shell.js';
import type { Change, Fact, Vars } from '../core/types.js';
import { defineFact, definePlugin } from '../kit/index.js';
import { HA_PATHS, flavourFor, nodeTypeOf, ROLE_WORDS } from '../xivo/flavour.js';
import { parseFiles, readFilesScript } from '../xivo/files.js';
import { pyJson } from '../xivo/sysconfd.js';

export interface ProvdTemplateParams {
  node_type: 'main' | 'standby' | 'disabled' | 'master' | 'slave';
  remote_address?: string;
  flavour?: 'xivo' | 'wazo';
  configs?: 'default' | 'registrars';
  jsondb?: string;
}

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['node_type'],
  properties: {
    node_type: {
      type: 'string',
      enum: ROLE_WORDS,
      description: 'The role this node is given: main sets the backup registrar/proxy, disabled resets them, standby changes nothing (provd does not serve phones there).',
    },
    remote_address: { type: 'string', format: 'ipv4', description: "On the main: the standby's VoIP address, given to the phones as backup registrar and proxy." },
    flavour: { type: 'string', enum: ['xivo', 'wazo'], description: 'Default: the host variable `flavour`, else xivo.' },
    configs: {
      type: 'string',
      enum: ['default', 'registrars'],
      description: 'Which configs: `default` only (what the XiVO web UI edits; xivo default) or every config of X_type registrar (what Wazo confd edits; wazo default).',
    },
    jsondb: {
      type: 'string',
      pattern: '^/',
      description: "provd's JSON database (configs are in its configs/ directory). Default: /var/lib/xivo-provd/jsondb (xivo), /var/lib/wazo-provd/jsondb (wazo).",
    },
  },
  if: { properties: { node_type: { enum: ['main', 'master'] } } },
  then: { required: ['remote_address'], properties: { remote_address: true } },
};

const REMINDER = 'devices must be resynchronised (or restarted) to take the new backup registrar/proxy into account';

export const provdTemplate = definePlugin<ProvdTemplateParams>({
  name: 'provd-template',
  description: "Set (main) or reset (disabled) the phones' backup registrar and proxy in provd's registrar configs",
  doc: [
    'On the main, registrar_backup and proxy_backup of the registrar configs become the standby\'s address; on disable they are reset: "" (empty string, xivo, as the web UI does) or null (wazo, as confd does). A standby is left alone; with the wazo flavour a node whose /etc/xivo/ha.conf still says slave is left alone on disable too (confd does the same: provd does not run there). Run it before ha-config on disable.',
    'Configs are the files of <jsondb>/configs/. Each changed config is rewritten atomically in the JSON style it already had (compact, Python json.dump, or indented), keys in their order; one change per config with its diff.',
    'Registered: configs (ids changed, or that would change), resync_needed (true when any changed) and reminder. Phones only pick the change up once resynchronised: restart provd (a handler) and resynchronise the devices.',
  ].join('\n\n'),
  schema,
  examples: [
    { title: 'Main of a pair', yaml: '- provd-template:\n    node_type: main\n    remote_address: 10.77.0.12\n  notify: restart provd' },
    { title: 'HA disabled, Wazo (every registrar config, null)', yaml: '- provd-template:\n    node_type: disabled\n    flavour: wazo' },
  ],

  async plan(p, ctx) {
    const flavour = flavourFor(p.flavour, ctx.host.vars);
    const type = nodeTypeOf(p.node_type);
    const dir = `${p.jsondb ?? flavour.provdJsondb}/configs`;
    const scope = p.configs ?? flavour.provdScope;
    const result: Vars = { configs: [], resync_needed: false, flavour: flavour.name };
    if (type === 'slave') return { changes: [], result, noop: 'a standby keeps its provd configs (provd does not serve phones there)' };
    if (type === 'master' && !p.remote_address) throw new TaskFailed('remote_address is required for node_type main');
    const value: string | null = type === 'master' ? p.remote_address! : flavour.provdDisabledValue;

    const t = ctx.transport;
    const files = await ctx.fact(provdConfigs(dir, scope));

    if (type === 'disabled' && flavour.provdKeepOnStandbyDisable && nodeTypeIn(files.get(HA_PATHS.haConf)) === 'slave') {
      return { changes: [], result, noop: `${HA_PATHS.haConf} says slave: provd configs are left alone on disable (as confd does)` };
    }

    const changes: Change[] = [];
    const ids: string[] = [];
    for (const [path, bytes] of files) {
      if (path === HA_PATHS.haConf || bytes === null) continue;
      const original = bytes.toString('utf8');
      let doc: Record<string, unknown>;
      try {
        doc = JSON.parse(original) as Record<string, unknown>;
      } catch (e) {
        throw new TaskFailed(`${path} on ${t.hostName} is not valid JSON: ${(e as Error).message}`);
      }
      if (!doc || typeof doc !== 'object' || doc.X_type !== 'registrar') continue;
      if (doc.registrar_backup === value && doc.proxy_backup === value) continue;
      const id = typeof doc.id === 'string' ? doc.id : path.split('/').pop()!;
      const updated = { ...doc, registrar_backup: value, proxy_backup: value };
      const text = serializeLike(original, doc, updated);
      ids.push(id);
      changes.push({
        summary: `registrar config ${id}: registrar_backup and proxy_backup ${JSON.stringify(doc.registrar_backup ?? null)} → ${JSON.stringify(value)}`,
        diff: { label: path, before: original, after: text },
        apply: async () => {
          await t.writeFile(path, text);
          ctx.warn(`provd config ${id} changed on ${t.hostName}: ${REMINDER}`);
        },
      });
    }
    if (scope === 'default' && files.get(`${dir}/default`) === null) {
      throw new TaskFailed(`provd config ${dir}/default does not exist on ${t.hostName}`, undefined, 'has the wizard been passed? or give configs: registrars');
    }
    result.configs = ids;
    result.resync_needed = ids.length > 0;
    if (ids.length) result.reminder = REMINDER;
    if (!changes.length) {
      return { changes, result, noop: `registrar configs already have backup ${JSON.stringify(value)} (${scope === 'default' ? 'config default' : 'every registrar config'})` };
    }
    return { changes, result };
  },
});

function nodeTypeIn(b: Buffer | null | undefined): string | undefined {
  try {
    return b ? (JSON.parse(b.toString('utf8')) as { node_type?: string }).node_type : undefined;
  } catch {
    return undefined;
  }
}

type Style = (v: unknown) => string;

const STYLES: Style[] = [
  (v) => JSON.stringify(v),
  (v) => pyJson(v),
  ...[2, 4, 1, 3, 8].flatMap((n): Style[] => [(v) => JSON.stringify(v, null, n), (v) => pyJson(v, n)]),
  (v) => JSON.stringify(v, null, '\t'),
];

/** The updated document in the style that reproduces the original bytes exactly (compact if none does). */
export function serializeLike(original: string, parsed: unknown, updated: unknown): string {
  const tail = /\s*$/.exec(original)?.[0] ?? '';
  const body = original.slice(0, original.length - tail.length);
  const style = STYLES.find((s) => s(parsed) === body) ?? (body.includes('\n') ? (v: unknown) => JSON.stringify(v, null, 2) : STYLES[0]);
  return style(updated) + tail;
}

/** ha.conf and the provd configs in scope (`default`, or every config of the jsondb folder). */
export function provdConfigs(dir: string, scope: string): Fact<Map<string, Buffer | null>> {
  const command = [
    readFilesScript([HA_PATHS.haConf]),
    `[ -d ${quote(dir)} ] || { printf 'no directory %s\\n' ${quote(dir)} >&2; exit 3; }`,
    scope === 'default'
      ? readFilesScript([`${dir}/default`])
      : `for f in ${quote(dir)}/*; do [ -f "$f" ] || continue; printf 'F\\t%s\\t' "$f"; base64 -w 0 < "$f" || exit 1; echo; done`,
    'exit 0',
  ].join('\n');
  return defineFact({ what: 'provd configs', command, parse: (out) => parseFiles(out).files, missing: 'is provd installed? give jsondb, or check the flavour' });
}
