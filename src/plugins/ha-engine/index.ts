// Installs haplay's own HA on a node, so the cluster keeps itself up with nobody at the keyboard:
// the replication timer on the main, the monitor on the standby and on a CC, the files they run
// (/etc/haplay: inventory slice, key, known_hosts, playbooks), and the node's key on its peers.
// role none takes all of it away. Reads in plan, writes only in the changes.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TaskFailed } from '../../core/errors.js';
import { quote } from '../../core/shell.js';
import type { Change, Plan, TaskContext, Transport } from '../../core/types.js';
import { definePlugin, runOrFail } from '../../kit/index.js';
import { CLUSTER_GROUPS, peersOf, sliceOf } from './slice.js';
import {
  ALL_UNITS, ENABLED_UNITS, HAPLAY_DIR, KEY, KNOWN_HOSTS, NODE_PLAYBOOKS, PACKAGE_UNIT_DIR, PLAYBOOK_DIR, ROLE_UNITS, SLICE,
  STATE_DIR, UNIT_DIR, unitCopies, unitFiles, type EngineRole,
} from './units.js';

export interface HaEngineParams {
  role: EngineRole | 'auto';
  haplay?: string;
  playbooks?: string;
}

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    role: {
      type: 'string',
      enum: ['auto', 'main', 'standby', 'cc', 'none'],
      default: 'auto',
      description: 'auto: main in group pbx_main, standby in pbx_standby, cc in cc, else none. none removes everything ha-engine installed.',
    },
    haplay: { type: 'string', pattern: '^/', description: 'The haplay command on the node. Default: the host variable haplay_command, else /usr/bin/haplay (the package).' },
    playbooks: { type: 'string', description: "Folder on the control machine with the playbooks the units run. Default: haplay's own playbooks." },
  },
};

const MONITOR_STATE = [`${STATE_DIR}/monitor.json`, `${STATE_DIR}/monitor.pause`];
const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

export const haEngine = definePlugin<HaEngineParams>({
  name: 'ha-engine',
  description: "Install (or remove) haplay's unattended HA on a node: replication timer, monitor, their files and keys",
  doc: [
    'main: haplay-replicate.timer runs replicate.yml every minute. standby: haplay-monitor.service (Restart=always) probes the main and its witnesses and takes over through failover.yml. cc: the same service follows the serving PBX.',
    `Files: ${SLICE} (the node's inventory: only its peers' addresses and HA settings, mode 600), ${KEY} (made on the node, authorised on its peers' root), ${KNOWN_HOSTS} (its peers' host keys, read over this run's verified connections), ${PLAYBOOK_DIR}/. Only what differs is written; a change restarts the monitor.`,
  ].join('\n\n'),
  schema,
  examples: [{ title: 'Every node of the cluster', yaml: '- hosts: pbx:cc\n  tasks:\n    - ha-engine: {}' }],
  peers: (params, groups) => {
    const all = CLUSTER_GROUPS.flatMap((g) => groups[g] ?? []);
    return [...new Set(all)];
  },

  async plan(p, ctx) {
    const node = ctx.host.name;
    const role = p.role === 'auto' ? roleOf(node, ctx.groups) : p.role;
    const haplay = p.haplay ?? String(ctx.host.vars.haplay_command ?? '/usr/bin/haplay');
    const t = ctx.transport;
    const st = await readNode(t, haplay);
    const changes: Change[] = [];
    const cluster = { groups: ctx.groups, hostvars: (h: string) => ctx.hostvars(h) };
    const comment = `haplay@${node}`;

    if (role === 'none') {
      for (const u of ALL_UNITS.filter((u) => st.enabled.has(u) || st.active.has(u))) {
        changes.push(cmd(t, `stop and disable ${u}`, `systemctl disable --now ${u}`));
      }
      const gone = [...ALL_UNITS.map((u) => `${UNIT_DIR}/${u}`), SLICE, KEY, `${KEY}.pub`, KNOWN_HOSTS, ...MONITOR_STATE]
        .filter((f) => st.files.has(f));
      if (gone.length) changes.push(cmd(t, `remove ${gone.join(', ')}`, `rm -f -- ${gone.map(quote).join(' ')}`));
      if (st.dirs.has(PLAYBOOK_DIR)) changes.push(cmd(t, `remove ${PLAYBOOK_DIR}`, `rm -rf -- ${PLAYBOOK_DIR}`));
      for (const v of await readPeers(ctx, node, [])) {
        if (v.keys.some((l) => l.endsWith(` ${comment}`))) changes.push(revoke(v.t, v.name, comment));
      }
      return done(changes, role, `haplay's HA is not installed on ${node}`);
    }

    if (!st.haplay) {
      throw new TaskFailed(`${haplay} is not installed on ${node}: its units would fail`, undefined,
        'install the haplay package on every node first (apt install ./haplay_*.deb), or set haplay_command');
    }
    const peers = peersOf(node, role, cluster);
    const files = new Map<string, { content: string; mode: number }>();
    const units = unitFiles(haplay);
    const packaged = new Map(ALL_UNITS.flatMap((u) => st.files.has(`${PACKAGE_UNIT_DIR}/${u}`) ? [[u, st.files.get(`${PACKAGE_UNIT_DIR}/${u}`)!.sha] as const] : []));
    const copies = new Set(ALL_UNITS.filter((u) => st.files.has(`${UNIT_DIR}/${u}`)));
    const unitPlan = unitCopies(role, units, packaged, copies, sha);
    for (const u of unitPlan.write) files.set(`${UNIT_DIR}/${u}`, { content: units[u], mode: 0o644 });
    const { stringify } = await import('yaml');
    const slice = `# Written by haplay ha-setup.yml (ha-engine) for ${node}; rewritten by every setup run.\n` +
      stringify(sliceOf(node, role, cluster), { lineWidth: 0, aliasDuplicateObjects: false });
    files.set(SLICE, { content: slice, mode: 0o600 });
    const views = await readPeers(ctx, node, peers);
    const hostKeys = peers.flatMap((peer) => {
      const address = String(ctx.hostvars(peer).address ?? peer);
      const port = Number(ctx.hostvars(peer).port ?? 22);
      const name = port === 22 ? address : `[${address}]:${port}`;
      return views.find((v) => v.name === peer)!.hostKeys.map((k) => `${name} ${k}`);
    });
    files.set(KNOWN_HOSTS, { content: hostKeys.join('\n') + '\n', mode: 0o644 });
    const dir = p.playbooks ?? ownPlaybooks();
    for (const b of NODE_PLAYBOOKS) files.set(`${PLAYBOOK_DIR}/${b}`, { content: readFileSync(`${dir}/${b}`, 'utf8'), mode: 0o644 });

    if (!st.dirs.has(HAPLAY_DIR) || !st.dirs.has(PLAYBOOK_DIR)) {
      changes.push(cmd(t, `create ${PLAYBOOK_DIR}`, `mkdir -p -m 0755 ${PLAYBOOK_DIR} ${STATE_DIR}`));
    }
    let pub = st.pub;
    if (!pub) {
      changes.push({
        summary: `make ${node}'s SSH key ${KEY}`,
        apply: async () => {
          const script = `rm -f ${KEY} ${KEY}.pub && ssh-keygen -q -t ed25519 -N '' -C ${quote(comment)} -f ${KEY} && cat ${KEY}.pub`;
          pub = (await runOrFail(t, script, `make ${node}'s SSH key ${KEY}`)).trim();
        },
      });
    }
    for (const v of views) {
      if (peers.includes(v.name)) {
        if (!pub || !v.keys.includes(pub)) changes.push(authorize(v.t, v.name, comment, () => pub!));
      } else if (v.keys.some((l) => l.endsWith(` ${comment}`))) changes.push(revoke(v.t, v.name, comment));
    }
    let inputsChanged = !pub;
    for (const [path, f] of files) {
      const cur = st.files.get(path);
      if (cur && cur.sha === sha(f.content) && cur.mode === f.mode) continue;
      inputsChanged = true;
      changes.push({
        summary: `${cur ? 'update' : 'write'} ${path}`,
        diff: ctx.diff && f.mode !== 0o600 ? { label: path, before: (await t.readFile(path))?.toString() ?? '', after: f.content } : undefined,
        apply: () => t.writeFile(path, f.content, { mode: f.mode }),
      });
    }
    const stale = ALL_UNITS.filter((u) => !ROLE_UNITS[role].includes(u));
    for (const u of stale.filter((u) => st.enabled.has(u) || st.active.has(u))) changes.push(cmd(t, `stop and disable ${u} (not a ${role}'s)`, `systemctl disable --now ${u}`));
    const staleFiles = unitPlan.remove.map((u) => `${UNIT_DIR}/${u}`);
    if (staleFiles.length) changes.push(cmd(t, `remove ${staleFiles.join(', ')}`, `rm -f -- ${staleFiles.join(' ')}`));
    if (inputsChanged || staleFiles.length) changes.push(cmd(t, 'systemctl daemon-reload', 'systemctl daemon-reload'));
    for (const u of ROLE_UNITS[role].filter((u) => ENABLED_UNITS.includes(u))) {
      if (!st.enabled.has(u) || !st.active.has(u)) changes.push(cmd(t, `enable and start ${u}`, `systemctl enable --now ${u}`));
      else if (inputsChanged && u === 'haplay-monitor.service') changes.push(cmd(t, `restart ${u} (its files changed)`, `systemctl restart ${u}`));
    }
    return done(changes, role, `haplay's HA (${role}) is installed and running on ${node}`);
  },
});

function done(changes: Change[], role: string, noop: string): Plan {
  return { changes, result: { role }, noop: changes.length ? undefined : noop };
}

export function roleOf(node: string, groups: Record<string, string[]>): EngineRole {
  if (groups.pbx_main?.includes(node)) return 'main';
  if (groups.pbx_standby?.includes(node)) return 'standby';
  if (groups.cc?.includes(node)) return 'cc';
  return 'none';
}

function allCluster(ctx: TaskContext): string[] {
  return [...new Set(CLUSTER_GROUPS.flatMap((g) => ctx.groups[g] ?? []))];
}

interface PeerView { name: string; t: Transport; keys: string[]; hostKeys: string[] }

/** Every other cluster host, read at once: its authorized_keys and, for a peer, its host keys. */
function readPeers(ctx: TaskContext, node: string, peers: string[]): Promise<PeerView[]> {
  return Promise.all(allCluster(ctx).filter((h) => h !== node).map(async (name) => {
    const t = await ctx.transportFor(name);
    const hostKeys = peers.includes(name) ? 'cat /etc/ssh/ssh_host_*_key.pub 2>/dev/null' : ':';
    const r = await t.exec(`cat /root/.ssh/authorized_keys 2>/dev/null; echo @hostkeys; ${hostKeys}; exit 0`);
    const [keys, hk = ''] = r.stdout.split('@hostkeys\n');
    return {
      name,
      t,
      keys: keys.split('\n'),
      hostKeys: hk.split('\n').filter((l) => /^(ssh|ecdsa)-\S+ \S+/.test(l)).map((l) => l.split(' ').slice(0, 2).join(' ')),
    };
  }));
}

function ownPlaybooks(): string {
  const candidates = [fileURLToPath(new URL('../../../playbooks', import.meta.url)), '/usr/share/haplay/playbooks'];
  const found = candidates.find((d) => existsSync(`${d}/failover.yml`));
  if (!found) throw new TaskFailed(`haplay's playbooks are not in ${candidates.join(' or ')}`, undefined, 'give playbooks: FOLDER');
  return found;
}

function cmd(t: Transport, summary: string, command: string): Change {
  return {
    summary,
    apply: async () => void (await runOrFail(t, command, summary)),
  };
}

// Two nodes' plans edit the same peer's authorized_keys: each edit runs under a lock on the folder.
function editKeys(comment: string, line: string | null): string {
  const add = line ? `printf '%s\\n' ${quote(line)} >> "$f.haplay"` : ':';
  return (
    `umask 077; mkdir -p /root/.ssh; f=/root/.ssh/authorized_keys; touch "$f"; flock /root/.ssh sh -c ` +
      quote(`f=/root/.ssh/authorized_keys; grep -v -e ${quote(` ${comment}`)}'$' "$f" > "$f.haplay"; ${add}; chmod 600 "$f.haplay"; mv -f "$f.haplay" "$f"`)
  );
}

function authorize(pt: Transport, peer: string, comment: string, pub: () => string): Change {
  return {
    summary: `authorise ${comment.slice(7)}'s haplay key on ${peer}`,
    apply: async () => void (await runOrFail(pt, editKeys(comment, pub()), 'authorise the key')),
  };
}

function revoke(pt: Transport, peer: string, comment: string): Change {
  return {
    summary: `remove ${comment.slice(7)}'s haplay key from ${peer}`,
    apply: async () => void (await runOrFail(pt, editKeys(comment, null), 'remove the key')),
  };
}

interface NodeState {
  haplay: boolean;
  pub: string | null;
  files: Map<string, { sha: string; mode: number }>;
  dirs: Set<string>;
  enabled: Set<string>;
  active: Set<string>;
}

async function readNode(t: Transport, haplay: string): Promise<NodeState> {
  const paths = [...ALL_UNITS.flatMap((u) => [`${UNIT_DIR}/${u}`, `${PACKAGE_UNIT_DIR}/${u}`]), SLICE, KEY, `${KEY}.pub`, KNOWN_HOSTS, ...MONITOR_STATE, ...NODE_PLAYBOOKS.map((b) => `${PLAYBOOK_DIR}/${b}`)];
  const script = [
    `[ -x ${quote(haplay)} ] && echo @haplay`,
    `[ -f ${KEY}.pub ] && [ -f ${KEY} ] && echo "@pub $(cat ${KEY}.pub)"`,
    `for d in ${HAPLAY_DIR} ${PLAYBOOK_DIR}; do [ -d "$d" ] && echo "@dir $d"; done`,
    `for f in ${paths.join(' ')}; do [ -f "$f" ] && echo "@file $(stat -c %a "$f") $(sha256sum < "$f" | cut -d' ' -f1) $f"; done`,
    `for u in ${ALL_UNITS.join(' ')}; do systemctl is-enabled -q $u 2>/dev/null && echo "@enabled $u"; systemctl is-active -q $u 2>/dev/null && echo "@active $u"; done`,
    'exit 0',
  ].join('\n');
  const r = await t.exec(script);
  const st: NodeState = { haplay: false, pub: null, files: new Map(), dirs: new Set(), enabled: new Set(), active: new Set() };
  for (const l of r.stdout.split('\n')) {
    const [tag, ...rest] = l.split(' ');
    if (tag === '@haplay') st.haplay = true;
    else if (tag === '@pub') st.pub = rest.join(' ').trim() || null;
    else if (tag === '@dir') st.dirs.add(rest[0]);
    else if (tag === '@file') st.files.set(rest[2], { mode: parseInt(rest[0], 8), sha: rest[1] });
    else if (tag === '@enabled') st.enabled.add(rest[0]);
    else if (tag === '@active') st.active.add(rest[0]);
  }
  return st;
}
