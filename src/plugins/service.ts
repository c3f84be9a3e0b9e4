// Services of a PBX, a CC or an Edge through the host's own tool: xivo-service/wazo-service for the
// PBX groups, xivo-manage-slave-services for the standby set, systemctl for plain units, and the
// docker-compose wrappers (xivocc-dcomp, edge-dcomp) for containers. Status output is parsed into
// facts (domain.md §10); `ready` waits until every unit runs.
import { TaskFailed } from '../core/errors.js';
import { quote } from '../core/shell.js';
import type { Change, Fact, TaskContext, Transport, Vars } from '../core/types.js';
import { commandFailed, defineFact, definePlugin, sleep } from '../kit/index.js';
import { HA_PATHS, SERVICE_GROUPS, flavourFor, type Flavour } from '../xivo/flavour.js';
import { parseServiceStatus } from '../xivo/services.js';

type State = 'started' | 'stopped' | 'restarted' | 'enabled' | 'disabled';
type Tool = 'auto' | 'xivo-service' | 'wazo-service' | 'systemctl' | 'xivocc-dcomp' | 'edge-dcomp' | 'xivo-manage-slave-services';

export interface ServiceParams {
  name: string;
  state?: State;
  tool: Tool;
  ready: boolean;
  timeout: number;
  interval: number;
  flavour?: 'xivo' | 'wazo';
}

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: {
      type: 'string',
      // Not starting with `-`: the name is an operand of systemctl or a wrapper, never an option.
      pattern: '^[A-Za-z0-9@_.:][A-Za-z0-9@_.:-]*$',
      description:
        'A unit (asterisk, postgresql, xivo-provd), a PBX group of the service tool (all, default, xivo, wazo, xivo-nomonit, wazo-nomonit), a container of a docker-compose wrapper (xuc, nginx on a CC), or standby-services: the telephony a standby keeps down (xivo-manage-slave-services start|stop).',
      examples: ['all', 'xivo-provd', 'standby-services', 'xuc'],
    },
    state: {
      type: 'string',
      enum: ['started', 'stopped', 'restarted', 'enabled', 'disabled'],
      description:
        'started/stopped: changed only when some unit is not already so. restarted: always a change (as in Ansible). enabled/disabled: start at boot, or for a PBX group the telephony flag of `<tool> enable|disable`. Omitted: only read the status (and wait with ready).',
    },
    tool: {
      type: 'string',
      enum: ['auto', 'xivo-service', 'wazo-service', 'systemctl', 'xivocc-dcomp', 'edge-dcomp', 'xivo-manage-slave-services'],
      default: 'auto',
      description:
        "auto: the flavour's xivo-service/wazo-service for a PBX group, xivo-manage-slave-services for standby-services, xivocc-dcomp/edge-dcomp when the host has that wrapper and it runs a container of that name, systemctl otherwise.",
    },
    ready: {
      type: 'boolean',
      default: false,
      description:
        'After starting (or at once when state is omitted), wait until every unit runs: for the PBX tool and standby-services, until `<tool> status all` reports every unit running (what the seeds ask before reconnecting users); otherwise until the unit or container runs.',
    },
    timeout: { type: 'number', exclusiveMinimum: 0, default: 300, description: 'Seconds ready may wait before the task fails.' },
    interval: { type: 'number', exclusiveMinimum: 0, default: 2, description: 'Seconds between two status reads while waiting.' },
    flavour: { type: 'string', enum: ['xivo', 'wazo'], description: 'Default: the host variable `flavour`, else xivo.' },
  },
};

type Kind = 'pbx' | 'systemctl' | 'dcomp' | 'standby';

interface Status {
  /** unit or container → running | stopped | failed | unknown | disabled */
  units: Record<string, string>;
  /** Every unit that should run (telephony excluded while the telephony is disabled) runs. */
  running: boolean;
  /** Nothing of it runs. */
  stopped: boolean;
  /** PBX tool: the telephony flag; systemctl: is-enabled. */
  enabled?: boolean;
  rc?: number;
}

interface Target {
  kind: Kind;
  tool: string;
  flavour: Flavour;
  name: string;
}

export const service = definePlugin<ServiceParams>({
  name: 'service',
  description: 'Start, stop, restart, enable or disable a service or a PBX service group, wait until ready, and register its status as facts',
  doc: [
    'One service, a PBX group (`all`, `default`, `xivo`/`wazo`) through the flavour\'s xivo-service/wazo-service, the standby set (`standby-services`: xivo-manage-slave-services start|stop), a plain unit through systemctl, or a CC/Edge container through xivocc-dcomp/edge-dcomp.',
    'Status comes from the tool itself: `<tool> status <group>` is parsed ("Checking services..." then one `TAB status TAB TAB name` line per unit; exit 1 some stopped, 2 some failed), `systemctl is-active/is-enabled`, `<wrapper> ps`. While the telephony is disabled (a standby: /var/lib/xivo/disabled), `<tool> start` leaves the telephony group down by design, so started counts only the other units.',
    'Registered: units {name: status}, running (bool), tool, and facts.services (the same units map, for later tasks).',
  ].join('\n\n'),
  schema,
  examples: [
    { title: 'Restart every PBX service and wait until all run', yaml: '- service:\n    name: all\n    state: restarted\n    ready: true\n    timeout: 180' },
    { title: 'Telephony of a standby that takes over', yaml: '- service:\n    name: standby-services\n    state: started' },
    { title: 'Restart xuc on the CC', yaml: '- service:\n    name: xuc\n    state: restarted\n    ready: true' },
    { title: 'Only read the status', yaml: '- service:\n    name: all\n  register: pbx' },
  ],

  async plan(p, ctx) {
    const flavour = flavourFor(p.flavour, ctx.host.vars);
    const t = ctx.transport;
    const target = await resolve(p, flavour, t);
    const cur = await ctx.fact(serviceStatus(target, t.hostName));
    const changes: Change[] = [];
    const run = (verb: string, cmd: string, wait: boolean): Change => ({
      summary: `${verb} ${target.name === 'standby-services' ? 'the standby services' : target.name} (${cmd})`,
      apply: async () => {
        const r = await t.exec(`PATH="$PATH:/usr/sbin:/sbin"; ${cmd}`);
        if (r.code !== 0) throw commandFailed(cmd, r);
        const after = wait && p.ready ? await waitReady(t, target, p, ctx) : await ctx.fact(serviceStatus(target, t.hostName));
        return resultOf(target, after);
      },
    });
    const q = quote(target.name);
    switch (p.state) {
      case 'started':
        if (!cur.running) changes.push(run('start', commandFor(target, 'start'), true));
        break;
      case 'stopped':
        if (!cur.stopped) changes.push(run('stop', commandFor(target, 'stop'), false));
        break;
      case 'restarted':
        if (target.kind === 'standby') throw new TaskFailed('standby-services can be started or stopped, not restarted');
        changes.push(run('restart', commandFor(target, 'restart'), true));
        break;
      case 'enabled':
      case 'disabled': {
        if (target.kind === 'dcomp' || target.kind === 'standby') throw new TaskFailed(`${target.name}: ${target.tool} cannot ${p.state === 'enabled' ? 'enable' : 'disable'} (use started/stopped)`);
        const want = p.state === 'enabled';
        if (cur.enabled !== want) {
          const verb = want ? 'enable' : 'disable';
          changes.push(run(verb, target.kind === 'pbx' ? `${target.tool} ${verb}` : `systemctl ${verb} -- ${q}`, false));
        }
        break;
      }
      default: {
        // Only reading; with ready, waiting is a read too.
        const now = p.ready && !cur.running ? await waitReady(t, target, p, ctx) : cur;
        return { changes: [], result: resultOf(target, now), noop: `${describe(target)}: ${summary(now)}` };
      }
    }
    if (!changes.length && p.state === 'started' && p.ready && target.kind !== 'standby') {
      // Already running; ready also wants the whole PBX up.
      const now = await waitReady(t, target, p, ctx);
      return { changes, result: resultOf(target, now), noop: `${describe(target)} already running` };
    }
    const noop = `${describe(target)} already ${p.state}`;
    return changes.length ? { changes, result: resultOf(target, cur) } : { changes, result: resultOf(target, cur), noop };
  },
});

function describe(t: Target): string {
  return t.kind === 'standby' ? 'the standby services' : t.kind === 'pbx' ? `${t.tool} ${t.name}` : t.name;
}

function summary(s: Status): string {
  const notRunning = Object.entries(s.units).filter(([, v]) => v !== 'running');
  return notRunning.length ? `not running: ${notRunning.map(([k, v]) => `${k} ${v}`).join(', ')}` : 'every unit running';
}

function resultOf(t: Target, s: Status): Vars {
  return { name: t.name, tool: t.tool, units: s.units, running: s.running, ...(s.enabled !== undefined ? { enabled: s.enabled } : {}), facts: { services: s.units } };
}

function commandFor(t: Target, verb: 'start' | 'stop' | 'restart'): string {
  const q = quote(t.name);
  switch (t.kind) {
    case 'pbx':
      return `${t.tool} ${verb} ${q}`;
    case 'standby':
      return `${HA_PATHS.standbyServices} ${verb}`;
    case 'dcomp':
      return `${t.tool} ${verb} ${q}`;
    default:
      return `systemctl ${verb} -- ${q}`;
  }
}

async function resolve(p: ServiceParams, flavour: Flavour, t: Transport): Promise<Target> {
  const isGroup = (SERVICE_GROUPS as readonly string[]).includes(p.name);
  if (p.name === 'standby-services' || p.tool === 'xivo-manage-slave-services') {
    if (p.name !== 'standby-services') throw new TaskFailed(`xivo-manage-slave-services only manages name: standby-services (got ${p.name})`);
    return { kind: 'standby', tool: HA_PATHS.standbyServices, flavour, name: p.name };
  }
  if (p.tool === 'xivo-service' || p.tool === 'wazo-service') {
    if (!isGroup) throw new TaskFailed(`${p.tool} manages the groups ${SERVICE_GROUPS.join(', ')}; use tool: systemctl (or auto) for the unit ${p.name}`);
    return { kind: 'pbx', tool: p.tool, flavour, name: p.name };
  }
  if (p.tool === 'systemctl') return { kind: 'systemctl', tool: 'systemctl', flavour, name: p.name };
  if (p.tool === 'xivocc-dcomp' || p.tool === 'edge-dcomp') return { kind: 'dcomp', tool: p.tool, flavour, name: p.name };
  if (isGroup) return { kind: 'pbx', tool: flavour.serviceTool, flavour, name: p.name };
  // auto, a plain name: a container of a compose wrapper on this host, or a unit.
  const r = await t.exec(
    `for w in xivocc-dcomp edge-dcomp; do command -v $w >/dev/null 2>&1 || continue; $w ps 2>/dev/null | awk 'NR>1{print $3}' | grep -qx -- ${quote(p.name)} && { echo $w; exit 0; }; done; exit 0`,
  );
  const wrapper = r.stdout.trim();
  if (wrapper === 'xivocc-dcomp' || wrapper === 'edge-dcomp') return { kind: 'dcomp', tool: wrapper, flavour, name: p.name };
  return { kind: 'systemctl', tool: 'systemctl', flavour, name: p.name };
}

/** The target's status as its own tool reports it; `host` is named when the answer is unusable. */
function serviceStatus(target: Target, host: string): Fact<Status> {
  const what = `the status of ${describe(target)}`;
  const q = quote(target.name);
  switch (target.kind) {
    case 'pbx':
    case 'standby': {
      const f = target.flavour;
      const group = target.kind === 'standby' ? f.telephonyGroup : target.name;
      const tool = target.kind === 'standby' ? f.serviceTool : target.tool;
      const command = [
        'PATH="$PATH:/usr/sbin:/sbin"',
        `command -v ${tool} >/dev/null 2>&1 || { echo "${tool} is not installed" >&2; exit 127; }`,
        `${tool} status ${quote(group)}; echo "@rc $?"`,
        `if [ -e ${quote(f.disabledFlag)} ]; then echo '@disabled'; ${tool} status ${f.telephonyGroup} | sed 's/^/@telephony/'; fi`,
        'exit 0',
      ].join('\n');
      return defineFact({ what, command, parse: (stdout) => parseToolStatus(stdout, target.kind === 'standby', `${tool} status ${group} on ${host}`) });
    }
    case 'systemctl':
      return defineFact({
        what,
        command: `systemctl is-active -- ${q}; systemctl is-enabled -- ${q} 2>/dev/null || true; exit 0`,
        parse: (stdout) => {
          const [active = '', enabled = ''] = stdout.trim().split('\n');
          const st = active === 'active' ? 'running' : active === 'failed' ? 'failed' : active === 'inactive' ? 'stopped' : 'unknown';
          return { units: { [target.name]: st }, running: st === 'running', stopped: st !== 'running', enabled: enabled.trim() === 'enabled' };
        },
      });
    case 'dcomp':
      return defineFact({
        what,
        command: `${target.tool} ps`,
        parse: (stdout) => {
          const row = stdout.split('\n').slice(1).map((l) => l.trim().split(/\s{2,}|\s(?=\S)/)).find((cols) => cols[2] === target.name);
          if (!row) throw new TaskFailed(`${target.tool} has no service ${target.name} on ${host}`);
          const st = row.slice(3).join(' ').startsWith('Up') ? 'running' : 'stopped';
          return { units: { [target.name]: st }, running: st === 'running', stopped: st !== 'running' };
        },
      });
  }
}

/** `<tool> status` of a group (and of the telephony while it is disabled); `standby`: the standby set. */
function parseToolStatus(stdout: string, standby: boolean, asked: string): Status {
  const lines = stdout.split('\n');
  const units = parseServiceStatus(lines.filter((l) => !l.startsWith('@')).join('\n'));
  const rc = Number(/^@rc (\d+)$/m.exec(stdout)?.[1] ?? 0);
  const disabled = lines.includes('@disabled');
  const telephony = Object.keys(parseServiceStatus(lines.filter((l) => l.startsWith('@telephony')).map((l) => l.slice('@telephony'.length)).join('\n')));
  if (!Object.keys(units).length) throw new TaskFailed(`${asked} listed no unit`, { stdout });
  const expected = Object.keys(units).filter((u) => !(disabled && telephony.includes(u)));
  const stopped = Object.values(units).every((s) => s !== 'running');
  return standby
    ? { units, running: !disabled && expected.every((u) => units[u] === 'running'), stopped: disabled && stopped, enabled: !disabled, rc }
    : { units, running: expected.every((u) => units[u] === 'running'), stopped, enabled: !disabled, rc };
}

/** Polls until ready (every unit of `status all` for the PBX tools), bounded by timeout, with progress. */
async function waitReady(t: Transport, target: Target, p: ServiceParams, ctx: TaskContext): Promise<Status> {
  const whole: Target = target.kind === 'pbx' || target.kind === 'standby' ? { ...target, kind: 'pbx', tool: target.flavour.serviceTool, name: 'all' } : target;
  const started = Date.now();
  let lastProgress = 0;
  for (;;) {
    const s = await ctx.fact(serviceStatus(whole, t.hostName));
    if (s.running && (whole === target || s.rc === 0)) return target === whole ? s : ctx.fact(serviceStatus(target, t.hostName));
    const waited = (Date.now() - started) / 1000;
    if (waited >= p.timeout) {
      throw new TaskFailed(`${describe(whole)} not ready after ${p.timeout} s: ${summary(s)}`, { units: s.units }, 'raise timeout, or look at the units not running');
    }
    if (Date.now() - lastProgress >= 5000) {
      lastProgress = Date.now();
      ctx.progress(`waiting for ${describe(whole)}: ${summary(s)} (${Math.round(waited)} s)`);
    }
    await sleep(p.interval * 1000, ctx.signal);
  }
}
