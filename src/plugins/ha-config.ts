// The HA role of one PBX node, as sysconfd's update_ha_config leaves it (its doc below says what): ha.conf,
// PostgreSQL access for the main's replication, the cron file, the standby services, the sentinel
// files. Unlike sysconfd it changes only what differs, and restarts PostgreSQL only when its config
// changed. One probe reads every piece; each piece that differs is one change with its diff.
import { posix } from 'node:path';
import { TaskFailed } from '../core/errors.js';
import { quote } from '../core/shell.js';
import type { Change, Fact, Transport, Vars } from '../core/types.js';
import { defineFact, definePlugin, runOrFail } from '../kit/index.js';
import { HA_PATHS, cronFor, flavourFor, nodeTypeOf, roleWord, type Flavour, type NodeType, ROLE_WORDS } from '../xivo/flavour.js';
import { parseFiles, readFilesScript, rewriteLines } from '../xivo/files.js';
import { getHaConfig, pyJson, updateHaConfig } from '../xivo/sysconfd.js';

export interface HaConfigParams {
  node_type: 'main' | 'standby' | 'disabled' | 'master' | 'slave';
  remote_address?: string;
  flavour?: 'xivo' | 'wazo';
  prefer_sysconfd: boolean;
  log: boolean;
  cron: boolean;
}

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['node_type'],
  properties: {
    node_type: {
      type: 'string',
      enum: ROLE_WORDS,
      description: 'The role of this node: main (XiVO word; Wazo: master), standby (Wazo: slave) or disabled (no HA).',
    },
    remote_address: {
      type: 'string',
      format: 'ipv4',
      description:
        "The OTHER node's VoIP address: on the main the standby's, on the standby the main's. An IPv4 address (a host name is refused, as sysconfd's callers do). Required unless disabled.",
    },
    flavour: {
      type: 'string',
      enum: ['xivo', 'wazo'],
      description: 'Product flavour (sync tool in the main cron line, log file). Default: the host variable `flavour`, else xivo.',
    },
    prefer_sysconfd: {
      type: 'boolean',
      default: true,
      description:
        "When the host's sysconfd answers on 127.0.0.1:8668 (reached through the SSH connection), apply with its POST /update_ha_config and verify the result; otherwise (or false) write the pieces one by one. Either way the host ends the same. sysconfd restarts PostgreSQL on every update, so it is called only when something differs.",
    },
    cron: {
      type: 'boolean',
      default: true,
      description:
        "true: the upstream cron file (xivo-ha-master: hourly replication and sync; xivo-ha-slave: xivo-check-master-status every minute), as sysconfd writes it. false: no cron file, removed even right after sysconfd writes one: haplay's own units (ha-engine) do that work instead.",
    },
    log: {
      type: 'boolean',
      default: true,
      description:
        'When applying piece by piece, append sysconfd\'s "Updating resilience state, from: X to: Y" line to its log (/var/log/xivo-sysconfd.log or wazo-sysconfd.log), so that the documented `grep \'Updating resilience state\'` still shows every transition.',
    },
  },
  if: { properties: { node_type: { const: 'disabled' } } },
  then: {},
  else: { required: ['remote_address'], properties: { remote_address: true } },
};

/** What the node must hold; every path is absolute. */
interface Desired {
  type: NodeType;
  remote: string;
  haConf: Buffer | null;
  pgDir: string;
  pgHba: Buffer;
  pgConf: Buffer;
  cronMain: Buffer | null;
  cronStandby: Buffer | null;
  primary: boolean;
  secondary: boolean;
  /** The standby services must run (every node but a standby; sysconfd step 4). */
  services: boolean;
}

interface Current {
  pgDir: string;
  files: Map<string, Buffer | null>;
  primary: boolean;
  secondary: boolean;
  /** running | disabled | down <rc> | none (no service tool) | unchecked */
  telephony: string;
}

const DISABLED_CONF = pyJson({ node_type: 'disabled', remote_address: '' });

export const haConfig = definePlugin<HaConfigParams>({
  name: 'ha-config',
  description: "Set a PBX node's HA role (main, standby, disabled) exactly as sysconfd does, changing only what differs",
  doc: [
    'Brings the node to the state sysconfd\'s update_ha_config produces: /etc/xivo/ha.conf as Python\'s json.dump writes it (one line, no final newline), the `host asterisk postgres <main>/32 trust` line of pg_hba.conf and `listen_addresses = \'*\'` of postgresql.conf on a standby only (cluster /etc/postgresql/<newest version>/main), /etc/cron.d/xivo-ha-master (two lines) on a main or xivo-ha-slave (one line) on a standby, the sentinel /var/lib/wazo/is-primary or is-secondary, and on every node that is not a standby the standby services started (xivo-manage-slave-services start, planned only when the telephony is disabled — the flag /var/lib/xivo/disabled or /var/lib/wazo/disabled that `xivo-manage-slave-services stop` leaves — or `<service tool> status xivo|wazo` reports a telephony unit down; the script then applies its own `status all` guard).',
    'PostgreSQL is restarted (systemctl restart postgresql) only when pg_hba.conf or postgresql.conf changed. With --diff every piece shows its before/after.',
    'disabled leaves the node as one that never had HA: no ha.conf (sysconfd answers the same {"node_type": "disabled", "remote_address": ""} for a missing file; an existing file with exactly that content is left alone), no HA line in the PostgreSQL files, no cron file, no sentinel.',
    'sysconfd: when it answers on 127.0.0.1:8668 and prefer_sysconfd is true, the changes are applied by one POST /update_ha_config (sysconfd also restarts PostgreSQL and runs xivo-manage-slave-services start, whatever differs), then the host is read again and must hold the planned state. The plan then says "restart postgresql (sysconfd restarts it on every update)" even when no PostgreSQL file changes.',
    'Registered: node_type (sysconfd word), role (operator word), remote_address, flavour, via (sysconfd|files), postgresql_dir.',
  ].join('\n\n'),
  schema,
  examples: [
    { title: 'The main of a pair', yaml: '- ha-config:\n    node_type: main\n    remote_address: 10.77.0.12' },
    { title: 'The standby, Wazo words', yaml: '- ha-config:\n    node_type: slave\n    remote_address: 10.77.0.11\n    flavour: wazo' },
    { title: 'Back to a node without HA, files only', yaml: '- ha-config:\n    node_type: disabled\n    prefer_sysconfd: false' },
  ],

  async plan(p, ctx) {
    const flavour = flavourFor(p.flavour, ctx.host.vars);
    const type = nodeTypeOf(p.node_type);
    if (type !== 'disabled' && !p.remote_address) throw new TaskFailed(`remote_address is required for node_type ${p.node_type}`);
    const remote = type === 'disabled' ? '' : p.remote_address!;
    const t = ctx.transport;

    const [cur, sysconfd] = await Promise.all([
      ctx.fact(haState(flavour, type !== 'slave')),
      p.prefer_sysconfd ? getHaConfig(t) : Promise.resolve(null),
    ]);
    const want = desiredState(flavour, type, remote, cur, p.cron);
    const via = sysconfd ? 'sysconfd' : 'files';
    const result: Vars = {
      node_type: type,
      role: roleWord(flavour.name, type),
      remote_address: remote,
      flavour: flavour.name,
      via,
      postgresql_dir: cur.pgDir,
    };

    const pieces = differences(cur, want, flavour, t, p.log);
    if (!pieces.length) {
      return { changes: [], result, noop: `${HA_PATHS.haConf}, PostgreSQL access, cron, sentinels and services already match ${roleWord(flavour.name, type)}` };
    }
    if (!sysconfd) return { changes: pieces, result };

    // One POST does every piece (and restarts PostgreSQL); each change then only waits for it.
    let posted: Promise<void> | undefined;
    const post = () =>
      (posted ??= (async () => {
        await updateHaConfig(t, { node_type: type, remote_address: remote });
        if (type === 'disabled' && want.haConf === null) {
          await runOrFail(t, `rm -f -- ${quote(HA_PATHS.haConf)}`, `remove ${HA_PATHS.haConf}`);
        }
        if (!p.cron) {
          await runOrFail(t, `rm -f -- ${quote(HA_PATHS.cronMain)} ${quote(HA_PATHS.cronStandby)}`, 'remove the upstream HA cron files');
        }
        const after = await ctx.fact(haState(flavour, type !== 'slave'));
        const left = differences(after, desiredState(flavour, type, remote, after, p.cron), flavour, t, false);
        if (left.length) {
          throw new TaskFailed(
            `sysconfd on ${t.hostName} accepted the update, but the host still differs: ${left.map((c) => c.summary).join('; ')}`,
            undefined,
            'compare what sysconfd wrote with what `haplay plugins ha-config` says it must, or set prefer_sysconfd: false to write the files directly',
          );
        }
      })());
    const changes: Change[] = pieces.map((c) => ({ summary: c.summary, diff: c.diff, apply: post }));
    if (!changes.some((c) => c.summary === 'restart postgresql')) {
      changes.push({ summary: 'restart postgresql (sysconfd restarts it on every update)', apply: post });
    }
    return { changes, result };
  },
});

function desiredState(flavour: Flavour, type: NodeType, remote: string, cur: Current, withCron: boolean): Desired {
  const cron = withCron ? cronFor(flavour, type, remote) : { main: null, standby: null };
  const currentConf = cur.files.get(HA_PATHS.haConf) ?? null;
  const haConf =
    type === 'disabled'
      ? currentConf !== null && currentConf.toString('utf8') === DISABLED_CONF
        ? currentConf
        : null
      : Buffer.from(pyJson({ node_type: type, remote_address: remote }), 'utf8');
  const hba = cur.files.get(`${cur.pgDir}/pg_hba.conf`) ?? null;
  const conf = cur.files.get(`${cur.pgDir}/postgresql.conf`) ?? null;
  return {
    type,
    remote,
    haConf,
    pgDir: cur.pgDir,
    pgHba: rewriteLines(hba, 'host asterisk postgres', type === 'slave' ? `host asterisk postgres ${remote}/32 trust` : null),
    pgConf: rewriteLines(conf, 'listen_addresses', type === 'slave' ? "listen_addresses = '*'" : null),
    cronMain: cron.main === null ? null : Buffer.from(cron.main),
    cronStandby: cron.standby === null ? null : Buffer.from(cron.standby),
    primary: type === 'master',
    secondary: type === 'slave',
    services: type !== 'slave',
  };
}

/** The node's HA files, sentinels and (unless a standby is wanted) whether its telephony runs. */
export function haState(flavour: Flavour, checkServices: boolean): Fact<Current> {
  const cronMain = HA_PATHS.cronMain;
  const cronStandby = HA_PATHS.cronStandby;
  const script = [
    `pgdir=$(ls -d ${HA_PATHS.postgresqlEtc}/*/main 2>/dev/null | sort -V | tail -n 1)`,
    '[ -n "$pgdir" ] || { echo "no PostgreSQL cluster under /etc/postgresql/<version>/main" >&2; exit 3; }',
    `printf 'P\\t%s\\n' "$pgdir"`,
    readFilesScript([HA_PATHS.haConf, cronMain, cronStandby]),
    readFilesScript(['$pgdir/pg_hba.conf', '$pgdir/postgresql.conf']).replace(/'\$pgdir([^']*)'/g, '"$pgdir$1"'),
    `for s in ${quote(HA_PATHS.isPrimary)} ${quote(HA_PATHS.isSecondary)}; do [ -e "$s" ] && printf 'S\\t%s\\n' "$s"; done`,
    checkServices
      ? [
          'export PATH="$PATH:/usr/sbin:/sbin"',
          `if ! command -v ${flavour.serviceTool} >/dev/null 2>&1; then echo 'T\tnone'`,
          `elif [ -e ${quote(flavour.disabledFlag)} ]; then echo 'T\tdisabled'`,
          `else ${flavour.serviceTool} status ${flavour.telephonyGroup} >/dev/null 2>&1; rc=$?; if [ $rc = 0 ]; then echo 'T\trunning'; else printf 'T\\tdown %s\\n' $rc; fi; fi`,
        ].join('\n')
      : "echo 'T\tunchecked'",
    'exit 0',
  ].join('\n');
  return defineFact({ what: 'the HA state', command: script, parse: parseHaState, missing: 'is PostgreSQL installed?' });
}

function parseHaState(stdout: string): Current {
  const parsed = parseFiles(stdout);
  let pgDir = '';
  let telephony = 'unchecked';
  let primary = false;
  let secondary = false;
  for (const l of parsed.lines) {
    const [tag, v = ''] = l.split('\t');
    if (tag === 'P') pgDir = v;
    else if (tag === 'T') telephony = v;
    else if (tag === 'S' && v === HA_PATHS.isPrimary) primary = true;
    else if (tag === 'S' && v === HA_PATHS.isSecondary) secondary = true;
  }
  return { pgDir, files: parsed.files, primary, secondary, telephony };
}

/** One change per piece that differs, in sysconfd's order. */
function differences(cur: Current, want: Desired, flavour: Flavour, t: Transport, log: boolean): Change[] {
  const changes: Change[] = [];
  const file = (path: string, data: Buffer | null, extra?: () => Promise<void>) => {
    const before = cur.files.get(path) ?? null;
    if (data === null ? before === null : before !== null && before.equals(data)) return;
    changes.push(
      data === null
        ? {
            summary: `remove ${path}`,
            diff: { label: path, before: text(before), after: '' },
            apply: async () => {
              await runOrFail(t, `rm -f -- ${quote(path)}`, `remove ${path}`);
              await extra?.();
            },
          }
        : {
            summary: `${before === null ? 'create' : 'write'} ${path}`,
            diff: { label: path, before: text(before), after: text(data) },
            apply: async () => {
              await t.writeFile(path, data);
              await extra?.();
            },
          },
    );
  };

  const stateOf = (b: Buffer | null | undefined) => {
    try {
      const v = b ? (JSON.parse(b.toString('utf8')) as { node_type?: string }) : undefined;
      return v?.node_type !== undefined && v.node_type !== 'disabled';
    } catch {
      return false;
    }
  };
  const from = stateOf(cur.files.get(HA_PATHS.haConf));
  const logLine = log
    ? () =>
        t
          .exec(
            `f=${quote(flavour.sysconfdLog)}; [ -d "$(dirname "$f")" ] || exit 0; ` +
              `printf '%s [%s] (INFO) (%s): Updating resilience state, from: %s to: %s\\n' "$(date '+%F %T,%3N')" "$$" ${quote(`haplay.ha-config (${flavour.sysconfdLogger})`)} ${from ? 'True' : 'False'} ${want.type !== 'disabled' ? 'True' : 'False'} >> "$f"`,
          )
          .then(() => undefined)
    : undefined;
  file(HA_PATHS.haConf, want.haConf, logLine);

  const hba = `${want.pgDir}/pg_hba.conf`;
  const conf = `${want.pgDir}/postgresql.conf`;
  const before = changes.length;
  file(hba, want.pgHba);
  file(conf, want.pgConf);
  if (changes.length > before) {
    changes.push({
      summary: 'restart postgresql',
      apply: async () => void (await runOrFail(t, 'systemctl restart postgresql', 'restart postgresql')),
    });
  }

  file(HA_PATHS.cronMain, want.cronMain);
  file(HA_PATHS.cronStandby, want.cronStandby);

  if (want.services && cur.telephony !== 'running' && cur.telephony !== 'unchecked') {
    if (cur.telephony === 'none') throw new TaskFailed(`${flavour.serviceTool} is not installed on ${t.hostName}`, undefined, 'is this a XiVO/Wazo PBX? check the flavour');
    const why =
      cur.telephony === 'disabled'
        ? `telephony disabled (${flavour.disabledFlag})`
        : `${flavour.serviceTool} status ${flavour.telephonyGroup}: ${cur.telephony.replace('down', 'exit')}`;
    changes.push({
      summary: `start the standby services (${HA_PATHS.standbyServices} start; ${why})`,
      apply: async () =>
        void (await runOrFail(t, `PATH="$PATH:/usr/sbin:/sbin" ${HA_PATHS.standbyServices} start`, `start the standby services`)),
    });
  }

  const sentinel = (path: string, has: boolean, wanted: boolean) => {
    if (has === wanted) return;
    changes.push(
      wanted
        ? {
            summary: `create ${path}`,
            apply: async () => void (await runOrFail(t, `mkdir -p ${quote(posix.dirname(path))} && : > ${quote(path)}`, `create ${path}`)),
          }
        : { summary: `remove ${path}`, apply: async () => void (await runOrFail(t, `rm -f -- ${quote(path)}`, `remove ${path}`)) },
    );
  };
  // sysconfd removes the other sentinel before creating its own.
  if (want.primary) {
    sentinel(HA_PATHS.isSecondary, cur.secondary, false);
    sentinel(HA_PATHS.isPrimary, cur.primary, true);
  } else {
    sentinel(HA_PATHS.isPrimary, cur.primary, false);
    sentinel(HA_PATHS.isSecondary, cur.secondary, want.secondary);
  }
  return changes;
}

function text(b: Buffer | null): string {
  return b === null ? '' : b.toString('utf8');
}

