// rsync: the main's synchronised directories onto the standby, as xivo-sync/wazo-sync does (domain.md
// §3): `rsync -aR --delete-after` over SSH, run ON THE MAIN with its HA key. The plan is the same rsync
// with --dry-run: its itemised output is the list of files still to change, so "changed" means rsync
// itemised something, and check mode reports exactly the files a real run would touch.
import { posix } from 'node:path';
import { TaskFailed } from '../../core/errors.js';
import { argvToShell, HOST_ADDRESS, isHostAddress, quote, rsyncQuote } from '../../core/shell.js';
import type { Change, Fact, TaskContext, Transport, Vars } from '../../core/types.js';
import { defineFact, definePlugin, runOrFail, standbyFor, standbyPeer } from '../../kit/index.js';
import { flavourFor, HA_PATHS, type Flavour } from '../../xivo/flavour.js';

export interface RsyncParams {
  dest?: string;
  dest_address?: string;
  direction: 'main-to-standby' | 'standby-to-main';
  paths?: string[];
  exclude: string[];
  delete?: boolean;
  setup_key: boolean;
  key: string;
}

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dest: { type: 'string', minLength: 1, description: 'Inventory name of the standby. Default: the first host of group pbx_standby.' },
    dest_address: {
      type: 'string',
      pattern: HOST_ADDRESS,
      description: "Address the main uses to reach the standby over SSH. Default: the standby's voip_address, else its address, else its name.",
    },
    direction: {
      type: 'string',
      enum: ['main-to-standby', 'standby-to-main'],
      default: 'main-to-standby',
      description:
        'main-to-standby: push the configuration directories (the cron job). standby-to-main: failback, pull what users left on the standby during an outage ' +
        '(voicemail and recordings by default) back to the main. Both run on the main with its HA key (the only key the standby trusts); ' +
        'standby-to-main pulls with root@standby:PATH as the source.',
    },
    paths: {
      type: 'array',
      items: { type: 'string', pattern: '^/' },
      description:
        "Absolute paths to sync. Default for main-to-standby: the flavour's directories (xivo-sync/wazo-sync's list, plus every tenant sounds " +
        'directory except monitor*/recording* for wazo); for standby-to-main: voicemail and recordings. Paths absent on the source are skipped.',
    },
    exclude: { type: 'array', items: { type: 'string', minLength: 1 }, default: [], description: 'rsync --exclude patterns (e.g. "*.tmp").' },
    delete: {
      type: 'boolean',
      description:
        'Delete on the target what is gone from the source (--delete-after), inside the synced paths only. Default: true for main-to-standby, ' +
        "false for standby-to-main (the main's older voicemail must survive a failback).",
    },
    setup_key: {
      type: 'boolean',
      default: false,
      description:
        "Create the main's HA key if absent (ssh-keygen -t rsa, comment \"XiVO HA\", as xivo-sync -i does) and authorise it in the standby's " +
        '/root/.ssh/authorized_keys through the standby\'s inventory connection: idempotent, no password prompt.',
    },
    key: {
      type: 'string',
      // No whitespace, quotes, backslash or %: the key's path is a word of rsync's -e command and of ssh's
      // options (ssh expands % in ControlPath and IdentityFile).
      pattern: '^/[^\\s\'"\\\\%]*$',
      default: HA_PATHS.haKey,
      description: "The main's HA private key (an absolute path without spaces, quotes, backslashes or %).",
    },
  },
};

export interface Itemised {
  created: string[];
  updated: string[];
  deleted: string[];
}

/** Parses `rsync -i` output: one line per item rsync changes ("*deleting   x", ">f+++++++++ x", ".d..t...... x/"). */
export function parseItemised(out: string): Itemised {
  const r: Itemised = { created: [], updated: [], deleted: [] };
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    const del = /^\*deleting\s+(.+)$/.exec(line);
    if (del) {
      r.deleted.push(abs(del[1]));
      continue;
    }
    const m = /^([<>ch.*])([fdLDS])(\S{9,10}) (.+)$/.exec(line);
    if (!m) continue;
    const name = abs(m[4].replace(/ -> .*$/, ''));
    if (/^\++$/.test(m[3])) r.created.push(name);
    else r.updated.push(name);
  }
  return r;
}

/** rsync -R names items relative to / (deletions) or as given (absolute sources): always absolute here. */
const abs = (name: string) => (name.startsWith('/') ? name : '/' + name);

export interface RsyncCommand {
  paths: string[];
  exclude: string[];
  delete: boolean;
  key: string;
  remote: string;
  direction: RsyncParams['direction'];
  dryRun: boolean;
}

/** The master connection's socket, beside the HA key (ssh expands %C per destination). */
const controlPath = (key: string) => `${posix.dirname(key)}/haplay-%C`;

/**
 * xivo-sync's ssh, plus one master connection kept 5 minutes beside the HA key: a sync every minute
 * then costs no new login (~250 ms each). The detached master holds no pipe of ours (OpenSSH points
 * its stdio at /dev/null) and notices a dead standby within 10 s, as a new login would (ConnectTimeout).
 */
export function sshCommand(key: string): string {
  // The key is a word of rsync's -e (quoted for rsync's splitting) and a value of ssh's own -o parsing
  // (ControlPath: split on whitespace, quotes honoured, % expanded): anything that either would read
  // differently is refused here as in the schema.
  if (!/^\/[^\s'"\\%]*$/.test(key)) throw new TaskFailed(`the HA key path ${JSON.stringify(key)} has spaces, quotes, a backslash or %`);
  const words = [
    'ssh', '-i', key, '-o', 'PreferredAuthentications=publickey', '-o', 'StrictHostKeyChecking=accept-new', '-o', `UserKnownHostsFile=${HA_PATHS.haKnownHosts}`,
    '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-o', 'ControlMaster=auto', '-o', `ControlPath=${controlPath(key)}`, '-o', 'ControlPersist=300',
    '-o', 'ServerAliveInterval=5', '-o', 'ServerAliveCountMax=2',
  ];
  return words.map(rsyncQuote).join(' ');
}

/** Stops the master connection to the standby, if any (it may be stale). */
export function masterExitCommand(key: string, remote: string): string {
  return `${argvToShell(['ssh', '-o', `ControlPath=${controlPath(key)}`, '-O', 'exit', `root@${remote}`])} >/dev/null 2>&1; exit 0`;
}

/** The rsync command line run on the main. */
export function rsyncCommand(c: RsyncCommand): string {
  const args = ['rsync', '-aR', ...(c.delete ? ['--delete-after'] : []), '-i', ...(c.dryRun ? ['--dry-run'] : [])];
  for (const x of c.exclude) args.push(`--exclude=${x}`);
  args.push('-e', sshCommand(c.key));
  if (c.direction === 'main-to-standby') args.push(...c.paths, `root@${c.remote}:/`);
  else args.push(...c.paths.map((p) => `root@${c.remote}:${p}`), '/');
  return argvToShell(args);
}

/** The flavour's directories, tenant sounds expanded from what exists on the source. */
export function defaultPaths(f: Flavour, direction: RsyncParams['direction']): { fixed: string[]; tenantRoot?: string; keepTenant?: (sub: string) => boolean } {
  if (direction === 'standby-to-main') {
    const fixed = ['/var/spool/asterisk/voicemail', '/var/spool/asterisk/monitor'];
    if (!f.tenantSounds) return { fixed };
    const skip = f.tenantSounds.skipPrefixes;
    return { fixed, tenantRoot: f.tenantSounds.root, keepTenant: (sub) => skip.some((s) => sub.startsWith(s)) };
  }
  if (!f.tenantSounds) return { fixed: [...f.syncPaths] };
  const skip = f.tenantSounds.skipPrefixes;
  return { fixed: [...f.syncPaths], tenantRoot: f.tenantSounds.root, keepTenant: (sub) => !skip.some((s) => sub.startsWith(s)) };
}

/** Which of the candidate paths exist on the source (rsync -R fails on a missing one), tenant sounds listed. */
export function pathsToSync(fixed: string[], tenantRoot?: string): Fact<{ present: string[]; tenant: string[] }> {
  const command = [
    ...fixed.map((p) => `[ -e ${quote(p)} ] && echo "P ${p.replace(/["\\$`]/g, '\\$&')}"`),
    tenantRoot ? `for d in ${quote(tenantRoot)}/*/*; do [ -d "$d" ] && echo "T $d"; done` : '',
    'exit 0',
  ].filter(Boolean).join('\n');
  return defineFact({
    what: 'the paths to sync',
    command,
    parse: (stdout) => {
      const lines = stdout.split('\n');
      return { present: lines.filter((l) => l.startsWith('P ')).map((l) => l.slice(2)), tenant: lines.filter((l) => l.startsWith('T ')).map((l) => l.slice(2)) };
    },
  });
}

export const rsync = definePlugin<RsyncParams>({
  name: 'rsync',
  description: "Sync the main's configuration directories to the standby with rsync over SSH (as xivo-sync), or pull voicemail back on failback",
  doc: [
    "Runs on the main (hosts: pbx_main): `rsync -aR --delete-after -i -e \"ssh -i /root/.ssh/xivo_id_rsa ...\" PATHS root@STANDBY:/`, as xivo-sync/wazo-sync does, with the main's HA key. Paths absent on the source are skipped; directories not listed are never touched on the target.",
    'The plan is the same rsync with --dry-run: each itemised line is a file to create, update or delete. Nothing itemised: ok. Check mode reports those files; -v shows them in the result (created, updated, deleted).',
    "setup_key: true first creates the main's HA key if absent and authorises it on the standby (through the standby's inventory connection, so no password is asked), each as its own change.",
    'direction: standby-to-main is the failback: still run on the main, it pulls root@standby:PATH into / (voicemail and recordings by default), without --delete unless delete: true.',
  ].join('\n\n'),
  schema,
  peers: standbyPeer('dest'),
  examples: [
    { title: 'The hourly (or every minute) sync', yaml: '- name: sync the configuration files\n  rsync: { setup_key: true }' },
    {
      title: 'Failback: voicemail left on the standby during the outage',
      yaml: '- name: voicemail back to the main\n  rsync:\n    direction: standby-to-main',
    },
  ],

  async plan(p, ctx) {
    const destName = standbyFor(ctx, p.dest, 'dest', 'sync with');
    const dv = ctx.hostvars(destName);
    const remote = p.dest_address ?? String(dv.voip_address ?? dv.address ?? destName);
    if (!isHostAddress(remote)) {
      // From the inventory (voip_address/address): it becomes ssh's host argument, so an option-like or odd value is refused.
      throw new TaskFailed(`${destName}'s address ${JSON.stringify(remote)} is not a host name or IP address`, undefined, 'fix voip_address/address, or give dest_address');
    }
    const f = flavourFor(undefined, ctx.host.vars);
    const destT = await ctx.transportFor(destName);
    const source = p.direction === 'main-to-standby' ? ctx.transport : destT;
    const onSource = <T>(f: Fact<T>) => ctx.fact(f, source === ctx.transport ? undefined : destName);
    const del = p.delete ?? p.direction === 'main-to-standby';

    // The key: present on the main, authorised on the standby?
    const keyState = await ctx.transport.exec(`[ -f ${quote(p.key)} ] && [ -f ${quote(p.key + '.pub')} ] && cat ${quote(p.key + '.pub')}; exit 0`);
    const pub = keyState.stdout.trim();
    const changes: Change[] = [];
    let keyReady = pub !== '';
    if (!pub) {
      if (!p.setup_key) {
        throw new TaskFailed(`${ctx.host.name} has no HA key ${p.key}`, undefined, 'set setup_key: true to create it and authorise it on the standby (what xivo-sync -i does)');
      }
      changes.push({ summary: `create the HA key ${p.key} on ${ctx.host.name}`, apply: () => createKey(ctx, p.key) });
    }
    if (p.setup_key) {
      const authorised = pub !== '' && (await isAuthorised(destT, pub));
      if (!authorised) {
        keyReady = false;
        changes.push({ summary: `authorise ${ctx.host.name}'s HA key on ${destName}`, apply: () => authorise(ctx, destT, p.key) });
      }
    }

    // What to sync.
    let candidates: string[];
    let tenant: string[] = [];
    let present: string[];
    if (p.paths) {
      candidates = p.paths;
      present = (await onSource(pathsToSync(candidates))).present;
    } else {
      const d = defaultPaths(f, p.direction);
      candidates = d.fixed;
      const found = await onSource(pathsToSync(d.fixed, d.tenantRoot));
      present = found.present;
      tenant = found.tenant.filter((dir) => d.keepTenant!(dir.slice(dir.lastIndexOf('/') + 1)));
    }
    const paths = [...present, ...tenant];
    const skipped = candidates.filter((c) => !present.includes(c));
    const stopMaster = masterExitCommand(p.key, remote);
    const cmd = (dryRun: boolean) => rsyncCommand({ paths, exclude: p.exclude, delete: del, key: p.key, remote, direction: p.direction, dryRun });
    const result: Vars = { dest: destName, direction: p.direction, paths, paths_absent: skipped, created: [], updated: [], deleted: [], files_changed: 0 };
    if (!paths.length) {
      return { changes, result, noop: `nothing to sync: none of ${candidates.join(', ')} exists on ${source.hostName}` };
    }
    const arrow = p.direction === 'main-to-standby' ? `${ctx.host.name} → ${destName}` : `${destName} → ${ctx.host.name}`;

    if (!keyReady) {
      // The key is not usable yet: the dry run cannot reach the standby; the real run follows the key setup.
      changes.push({
        summary: `sync ${paths.length} paths ${arrow} (files not listed: the HA key is not authorised yet)`,
        apply: () => runRsync(ctx, cmd(false), destName, stopMaster),
      });
      return { changes, result };
    }
    const dry = await runRsync(ctx, cmd(true), destName, stopMaster);
    Object.assign(result, dry);
    const n = (dry.files_changed as number) ?? 0;
    if (n === 0) {
      if (!changes.length) return { changes, result, noop: `${destName} already has the same files in ${paths.length} paths (${arrow})` };
      return { changes, result };
    }
    const it = dry as unknown as Itemised;
    const parts = [it.created.length && `${it.created.length} new`, it.updated.length && `${it.updated.length} changed`, it.deleted.length && `${it.deleted.length} deleted`].filter(Boolean);
    changes.push({
      summary: `sync ${arrow}: ${n} file${n > 1 ? 's' : ''} (${parts.join(', ')})`,
      diff: ctx.diff
        ? {
            label: `rsync ${arrow}`,
            before: it.deleted.concat(it.updated).map((x) => x + '\n').join(''),
            after: it.created.concat(it.updated).map((x) => x + '\n').join(''),
          }
        : undefined,
      apply: () => runRsync(ctx, cmd(false), destName, stopMaster),
    });
    return { changes, result };
  },
});

async function runRsync(ctx: TaskContext, line: string, destName: string, stopMaster: string): Promise<Vars> {
  let r = await ctx.transport.exec(line);
  if (r.code === 255) {
    // ssh failed: maybe a master connection that outlived the standby's reboot. Once more, with a new one.
    await ctx.transport.exec(stopMaster);
    r = await ctx.transport.exec(line);
  }
  // 24: files vanished on the source while copying (a voicemail being deleted): not a failure.
  if (r.code !== 0 && r.code !== 24) {
    const why = r.stderr.trim().split('\n').slice(-3).join(' / ');
    const ssh = r.code === 255 || /Permission denied|Host key verification|Connection (refused|timed out)|publickey/i.test(r.stderr);
    throw new TaskFailed(
      `rsync on ${ctx.host.name} exited with ${r.code}: ${why}`,
      { rc: r.code, stderr: r.stderr, cmd: line },
      ssh ? `${ctx.host.name} must reach ${destName} over SSH with its HA key: set setup_key: true to authorise it` : undefined,
    );
  }
  if (r.code === 24) ctx.warn(`rsync: some files vanished on the source while syncing (${r.stderr.trim().split('\n').pop()})`);
  const it = parseItemised(r.stdout);
  return { ...it, files_changed: it.created.length + it.updated.length + it.deleted.length };
}

async function createKey(ctx: TaskContext, key: string): Promise<void> {
  const dir = posix.dirname(key);
  await runOrFail(
    ctx.transport,
    `mkdir -p ${quote(dir)} && chmod 700 ${quote(dir)} && { [ -f ${quote(key)} ] || ssh-keygen -q -t rsa -N '' -C 'XiVO HA' -f ${quote(key)}; }`,
    `create the HA key ${key}`,
  );
}

async function isAuthorised(t: Transport, pub: string): Promise<boolean> {
  const keyPart = pub.split(/\s+/).slice(0, 2).join(' ');
  const cur = (await t.readFile('/root/.ssh/authorized_keys'))?.toString('utf8') ?? '';
  return cur.split('\n').some((l) => l.includes(keyPart));
}

async function authorise(ctx: TaskContext, t: Transport, key: string): Promise<void> {
  const pub = (await runOrFail(ctx.transport, `cat ${quote(key + '.pub')}`, `read ${key}.pub`)).trim();
  if (!pub) throw new TaskFailed(`cannot read ${key}.pub on ${ctx.transport.hostName}: it is empty`);
  if (await isAuthorised(t, pub)) return;
  await runOrFail(
    t,
    'umask 077; mkdir -p /root/.ssh && f=/root/.ssh/authorized_keys && { [ ! -s "$f" ] || [ -z "$(tail -c1 "$f")" ] || echo >> "$f"; } && cat >> "$f" && chmod 600 "$f"',
    'authorise the HA key',
    { stdin: pub + '\n' },
  );
}
