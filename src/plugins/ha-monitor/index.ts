// Decides and enforces which side serves. On a standby: probes the main (SIP, SSH, database, HTTP, from
// the standby and from the control machine), decides after consecutive failures, and starts or stops
// the standby's telephony (xivo-manage-slave-services). On a CC: reads the HA state of its linked PBX
// through the PBX's nginx (as xivocc-ha-monitoring) and starts or stops the CC's nginx, logging the
// same [RESILIENCE] syslog lines. Probing is a read (in plan); starting/stopping is the change.
import { TaskFailed } from '../../core/errors.js';
import { HOST_ADDRESS, quote } from '../../core/shell.js';
import type { Change, Fact, Plan, TaskContext, Transport, Vars } from '../../core/types.js';
import { commandFailed, defineFact, definePlugin, failureLine, sleep } from '../../kit/index.js';
import { HA_PATHS, flavourFor, type Flavour } from '../../xivo/flavour.js';
import { parseServiceStatus } from '../../xivo/services.js';
import { decide, describe, standbyDecision, type Action, type Verdict } from './decide.js';
import { FINGERPRINT_PATTERN, TLS_VARS_HINT, trustFrom, type TlsTrust } from '../../xivo/tls.js';
import { dbProbe, direct, httpProbe, sipProbeDirect, sipProbeVia, sshProbe, viaTransport, type ProbeName, type ProbeResult } from '../../xivo/probes.js';

export interface HaMonitorParams {
  role: 'auto' | 'standby' | 'cc' | 'main';
  action: Action;
  main?: string;
  main_address?: string;
  probes: ProbeName[];
  from_control: boolean;
  probe_timeout: number;
  failures_before_failover: number;
  interval: number;
  pbx?: string;
  pbx_standby?: string;
  syslog: string;
  log_every_run: boolean;
  flavour?: 'xivo' | 'wazo';
  tls_fingerprint?: string;
  tls_ca?: string;
  tls_verify?: boolean;
}

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    role: {
      type: 'string',
      enum: ['auto', 'standby', 'cc', 'main'],
      default: 'auto',
      description:
        "What this host is. auto: cc when the host has a `pbx` variable (or is in group cc); otherwise what /etc/xivo/ha.conf says (slave: standby; master: main, where there is nothing to do; disabled: nothing to do). standby forces the standby behaviour whatever ha.conf says (the sentinel /var/lib/wazo/is-secondary is then not required).",
    },
    action: {
      type: 'string',
      enum: ['auto', 'takeover', 'release', 'report'],
      default: 'auto',
      description:
        'auto (what the standby cron does): main down → start the standby services, main serving → stop them. takeover (failover.yml): start them when the main is confirmed down, fail with the evidence when it still serves. release (failback.yml): stop them when the main serves again, fail when it does not. report: decide and register, change nothing. On a CC, anything but report enforces nginx.',
    },
    main: { type: 'string', minLength: 1, description: "Standby: the main's inventory name. Default: the host of group pbx_main whose address is ha.conf's remote_address, else the first of pbx_main." },
    main_address: {
      type: 'string',
      pattern: HOST_ADDRESS,
      description: "Standby: the main's address. Default: ha.conf's remote_address (what xivo-check-master-status pings), else the main's voip_address or address.",
    },
    probes: {
      type: 'array',
      items: { type: 'string', enum: ['ssh', 'sip', 'db', 'http'] },
      minItems: 1,
      uniqueItems: true,
      default: ['sip', 'ssh', 'db', 'http'],
      description:
        'sip: an OPTIONS to main:5060 (any SIP answer = telephony runs; none = telephony dead, even if the host answers); ssh: the server banner on 22; db: PostgreSQL answers on 5432; http: GET https://main/configmgt/api/2.0/sysconfd/get_ha_config (nginx and sysconfd). Only sip decides whether the main serves; the others say whether its host is up.',
    },
    from_control: {
      type: 'boolean',
      default: true,
      description:
        "Also probe from the control machine (haplay's own sockets), not only from the standby: when the standby cannot reach a main that still answers from here, the standby does not take over (no split brain).",
    },
    probe_timeout: { type: 'number', exclusiveMinimum: 0, default: 1.5, description: 'Seconds each probe may take.' },
    failures_before_failover: {
      type: 'integer',
      minimum: 1,
      default: 3,
      description: 'Rounds in a row without a SIP answer before the main is declared down (upstream: 3 pings).',
    },
    interval: { type: 'number', minimum: 0, default: 2, description: 'Seconds between two probe rounds (upstream: 10 s between pings).' },
    pbx: {
      type: 'string',
      minLength: 1,
      description: 'CC: the linked PBX (inventory name or address). Default: the host variable `pbx`. Its nginx answers the HA config query.',
    },
    pbx_standby: {
      type: 'string',
      minLength: 1,
      description:
        "CC: for one CC that serves both sides, the standby PBX it follows when the linked PBX is not active. Default: the host variable `pbx_standby`. Omit it on a site with a main CC and a standby CC (each linked to its own PBX): each then runs nginx only while its PBX serves.",
    },
    syslog: { type: 'string', pattern: '^/', default: '/var/log/syslog', description: 'CC: where the [RESILIENCE] lines are appended, as XiVO CC\'s xivocc-ha-monitoring does (grep xivocc-ha /var/log/syslog).' },
    log_every_run: {
      type: 'boolean',
      default: false,
      description:
        'CC: also log the query lines and "Nginx already started/stopped" when nothing changes, as xivocc-ha-monitoring does every minute (a log append, not a change; never in check mode). Off: lines are written only with a change.',
    },
    flavour: { type: 'string', enum: ['xivo', 'wazo'], description: 'Default: the host variable `flavour`, else xivo.' },
    tls_fingerprint: {
      type: 'string',
      pattern: FINGERPRINT_PATTERN,
      description: "http probe: the SHA-256 fingerprint of the probed PBX's certificate (openssl x509 -noout -fingerprint -sha256). Default: the probed PBX's host variable tls_fingerprint.",
    },
    tls_ca: { type: 'string', minLength: 1, description: "http probe: a PEM CA file on the control machine that signed the PBX's certificate for its address. Default: the PBX's host variable tls_ca." },
    tls_verify: {
      type: 'boolean',
      description: "http probe: false probes without checking the certificate (anyone on the LAN could answer for the PBX). Default: the PBX's host variable tls_verify. With no fingerprint, no CA and no tls_verify: false, the task is refused.",
    },
  },
};

export const haMonitor = definePlugin<HaMonitorParams>({
  name: 'ha-monitor',
  description: 'Decide which side serves and enforce it: standby telephony from probes of the main, CC nginx from its PBX\'s HA state',
  doc: [
    'On a standby, replaces xivo-check-master-status (three pings a minute): each round probes the main with SIP OPTIONS, the SSH banner, PostgreSQL and the HTTPS HA config, from the standby (through its SSH connection) and from the control machine, each bounded by probe_timeout. The main serves when its SIP answers from anywhere; it is down after failures_before_failover rounds in a row without a SIP answer, even when its host still answers (a crashed Asterisk, which the upstream ping check misses). A standby cut off from a main that answers the control machine does not start its telephony (no split brain), and says so.',
    'Then, like xivo-manage-slave-services: main down → `xivo-manage-slave-services start` unless the telephony already runs; main serving → `... stop` unless already stopped. The result registers the verdict (main: serving|down|undecided), reason, consecutive_failures, every round\'s probes (probe, from, ok, ms, detail) and the standby\'s telephony before the change.',
    'On a CC (in place of XiVO CC\'s xivocc-ha-monitoring): GET https://<pbx>/configmgt/api/2.0/sysconfd/get_ha_config through the PBX\'s nginx, from the CC. The PBX is active when its HA config says `active: true`, or, without that field, when it answered and its SIP answers OPTIONS from the CC (a standby only answers SIP while it serves). nginx runs when the linked PBX (or, with pbx_standby, the standby) is active; the syslog gets `<ts> <host> xivocc-ha: [RESILIENCE] Querying HA status at https://<ip>/configmgt/api/2.0/sysconfd/get_ha_config`, `... HA config shows active=false`, `... Nginx started|stopped|already stopped`. Registered: serving (the PBX the CC follows, or null), serving_since (epoch ms when that PBX\'s asterisk started, to tell whether xuc must be restarted), nginx, pbx (each query).',
  ].join('\n\n'),
  schema,
  examples: [
    { title: 'The standby cron, every 10 s', yaml: '- hosts: pbx_standby\n  tasks:\n    - ha-monitor: {}' },
    { title: 'Failover: take over only when the main is confirmed down', yaml: '- ha-monitor:\n    action: takeover\n    failures_before_failover: 3\n  register: verdict' },
    { title: 'A CC follows its PBX', yaml: '- hosts: cc\n  tasks:\n    - ha-monitor:\n        log_every_run: true' },
  ],

  validate(params, host, hostvars, groups) {
    const probes = Array.isArray(params.probes) ? params.probes : ['http'];
    if (!probes.includes('http')) return [];
    const cc = params.pbx !== undefined || host.vars.pbx !== undefined || (groups.cc ?? []).includes(host.name) || params.role === 'cc';
    const targets = cc
      ? [params.pbx ?? host.vars.pbx, params.pbx_standby ?? host.vars.pbx_standby]
      : params.role === 'main'
        ? []
        : [params.main ?? (groups.pbx_main ?? [])[0]];
    const problems = [];
    for (const target of targets) {
      if (typeof target !== 'string') continue;
      const known = Object.values(groups).some((g) => g.includes(target));
      if (!trustFrom(params as Partial<HaMonitorParams>, known ? hostvars(target) : {})) {
        problems.push({ key: 'tls_fingerprint', message: `the HTTPS probe of ${target} has nothing to check its certificate against`, hint: TLS_VARS_HINT });
      }
    }
    return problems;
  },

  async plan(p, ctx) {
    const flavour = flavourFor(p.flavour, ctx.host.vars);
    const role = p.role !== 'auto' ? p.role : isCc(p, ctx) ? 'cc' : 'auto';
    if (role === 'cc') return planCc(p, ctx);
    return planStandby(p, ctx, flavour, role);
  },
});

function isCc(p: HaMonitorParams, ctx: TaskContext): boolean {
  return p.pbx !== undefined || ctx.host.vars.pbx !== undefined || (ctx.groups.cc ?? []).includes(ctx.host.name);
}

function addressOf(ctx: TaskContext, nameOrAddress: string): string {
  const v = ctx.groups && Object.values(ctx.groups).some((g) => g.includes(nameOrAddress)) ? ctx.hostvars(nameOrAddress) : {};
  return String(v.voip_address ?? v.address ?? nameOrAddress);
}

// ---------------------------------------------------------------------------------------------
// Standby

interface StandbyState {
  ha: { node_type?: string; remote_address?: string } | null;
  secondary: boolean;
  disabled: boolean;
  units: Record<string, string>;
  running: boolean;
  stopped: boolean;
}

function standbyStateScript(f: Flavour): string {
  return [
    'PATH="$PATH:/usr/sbin:/sbin"',
    `if [ -f ${HA_PATHS.haConf} ]; then printf '@ha '; tr -d '\\n' < ${HA_PATHS.haConf}; echo; fi`,
    `[ -e ${HA_PATHS.isSecondary} ] && echo @secondary`,
    `[ -e ${quote(f.disabledFlag)} ] && echo @disabled`,
    `${f.serviceTool} status ${f.telephonyGroup}; echo "@rc $?"`,
    'exit 0',
  ].join('\n');
}

/** The standby's role, sentinels and telephony, read on the node the task runs on. */
export function standbyState(f: Flavour): Fact<StandbyState> {
  return defineFact({ what: 'the HA state', command: standbyStateScript(f), parse: parseStandbyState });
}

export function parseStandbyState(stdout: string): StandbyState {
  const lines = stdout.split('\n');
  const haLine = lines.find((l) => l.startsWith('@ha '));
  let ha: StandbyState['ha'] = null;
  if (haLine) {
    try {
      ha = JSON.parse(haLine.slice(4));
    } catch {
      ha = { node_type: 'unreadable' };
    }
  }
  const units = parseServiceStatus(stdout);
  const disabled = lines.includes('@disabled');
  const rc = Number(/^@rc (\d+)$/m.exec(stdout)?.[1] ?? 1);
  const values = Object.values(units);
  return {
    ha,
    secondary: lines.includes('@secondary'),
    disabled,
    units,
    running: !disabled && rc === 0 && values.length > 0 && values.every((s) => s === 'running'),
    stopped: disabled && values.every((s) => s !== 'running'),
  };
}

async function planStandby(p: HaMonitorParams, ctx: TaskContext, f: Flavour, role: 'auto' | 'standby' | 'main'): Promise<Plan> {
  const t = ctx.transport;
  const st = await ctx.fact(standbyState(f));
  const nodeType = st.ha?.node_type ?? 'disabled';
  const telephony = { running: st.running, stopped: st.stopped, disabled: st.disabled, units: st.units };
  if (role === 'main' || (role === 'auto' && nodeType !== 'slave')) {
    const why =
      role === 'main' || nodeType === 'master'
        ? `${t.hostName} is the main (ha.conf node_type ${nodeType}): ha-monitor watches the main from the standby`
        : `HA is ${nodeType} on ${t.hostName} (ha.conf): nothing to monitor`;
    return { changes: [], result: { role: role === 'main' || nodeType === 'master' ? 'main' : nodeType, node_type: nodeType, telephony }, noop: why };
  }
  if (role === 'auto' && !st.secondary) {
    // xivo-check-master-status's guard.
    return {
      changes: [],
      result: { role: 'standby', node_type: nodeType, telephony },
      noop: `ha.conf says slave but ${HA_PATHS.isSecondary} is missing: HA mode changed, this stack is no longer a secondary`,
    };
  }

  const mainName = p.main ?? findMain(ctx, st.ha?.remote_address);
  const mainAddress = p.main_address ?? (st.ha?.remote_address || (mainName ? addressOf(ctx, mainName) : ''));
  if (!mainAddress) throw new TaskFailed(`no main to probe: ha.conf on ${t.hostName} has no remote_address`, undefined, 'give main_address (or main), or set the standby up with ha-config');

  const timeoutMs = Math.round(p.probe_timeout * 1000);
  const trust = p.probes.includes('http') ? trustOf(p, ctx, mainName ?? mainAddress) : { verify: false };
  const round = () => probeRound(t, mainAddress, p, timeoutMs, trust);
  const rounds: ProbeResult[][] = [];
  let verdict: Verdict;
  const started = Date.now();
  for (;;) {
    rounds.push(await round());
    verdict = decide(rounds, p.failures_before_failover);
    if (verdict.main !== 'undecided') break;
    // Already serving and not asked to hand back: more rounds would change nothing.
    if (st.running && p.action !== 'release') break;
    ctx.progress(`main ${mainAddress}: no SIP answer, ${verdict.consecutive_failures} of ${p.failures_before_failover} rounds`);
    await sleep(p.interval * 1000, ctx.signal);
  }
  const d = standbyDecision(verdict, p.action, telephony);
  const result: Vars = {
    role: 'standby',
    main: mainName ?? null,
    main_address: mainAddress,
    verdict: verdict.main,
    reason: verdict.reason,
    consecutive_failures: verdict.consecutive_failures,
    host_answers: verdict.host_answers,
    decided_by: verdict.decided_by,
    rounds: rounds.map((rs, i) => ({ round: i + 1, probes: rs.map(({ probe, from, ok, ms, detail }) => ({ probe, from, ok, ms, detail })) })),
    evidence: rounds[rounds.length - 1].map(describe),
    probing_ms: Date.now() - started,
    telephony,
    decision: d.change ?? 'none',
    // For later plays (CC, Edge): hostvars[standby].ha_main says what the standby concluded.
    facts: { ha_main: verdict.main, ha_standby_serving: d.change === 'start' || (st.running && d.change !== 'stop') },
  };
  if (d.fail) throw new TaskFailed(d.fail, result, p.action === 'takeover' ? 'for a planned switch, stop the main\'s telephony first (failover.yml -e force=true)' : undefined);
  if (!d.change) return { changes: [], result, noop: d.noop };
  const cmd = `${HA_PATHS.standbyServices} ${d.change}`;
  const change: Change = {
    summary: `${d.change} the standby services (${cmd}): ${d.change === 'start' ? 'the main is down' : 'the main serves'}`,
    apply: async () => {
      const out = await t.exec(`PATH="$PATH:/usr/sbin:/sbin"; ${cmd}`);
      if (out.code !== 0) throw commandFailed(cmd, out);
      return { applied: cmd };
    },
  };
  return { changes: [change], result };
}

function findMain(ctx: TaskContext, remote: string | undefined): string | undefined {
  const mains = ctx.groups.pbx_main ?? [];
  if (remote) {
    const byAddr = Object.values(ctx.groups)
      .flat()
      .find((h) => {
        const v = ctx.hostvars(h);
        return v.voip_address === remote || v.address === remote;
      });
    if (byAddr) return byAddr;
  }
  return mains[0];
}

/** The probed PBX's TLS trust; a task that got past validation without one fails here. */
function trustOf(p: HaMonitorParams, ctx: TaskContext, target: string): TlsTrust {
  const known = Object.values(ctx.groups).some((g) => g.includes(target));
  const trust = trustFrom(p, known ? ctx.hostvars(target) : {});
  if (!trust) throw new TaskFailed(`the HTTPS probe of ${target} has nothing to check its certificate against`, undefined, TLS_VARS_HINT);
  return trust;
}

async function probeRound(t: Transport, main: string, p: HaMonitorParams, timeoutMs: number, trust: TlsTrust): Promise<ProbeResult[]> {
  const via = viaTransport(t);
  const jobs: Promise<ProbeResult>[] = [];
  const want = new Set(p.probes);
  if (want.has('sip')) jobs.push(sipProbeVia(t, 'standby', main, timeoutMs));
  if (want.has('ssh')) jobs.push(sshProbe(via, 'standby', main, timeoutMs));
  if (want.has('db')) jobs.push(dbProbe(via, 'standby', main, timeoutMs));
  if (want.has('http')) jobs.push(httpProbe(via, 'standby', main, timeoutMs, trust));
  if (p.from_control) {
    if (want.has('sip')) jobs.push(sipProbeDirect(main, timeoutMs));
    if (want.has('ssh')) jobs.push(sshProbe(direct, 'control', main, timeoutMs));
    if (want.has('db')) jobs.push(dbProbe(direct, 'control', main, timeoutMs));
    if (want.has('http')) jobs.push(httpProbe(direct, 'control', main, timeoutMs, trust));
  }
  return Promise.all(jobs);
}

// ---------------------------------------------------------------------------------------------
// CC

export interface PbxView {
  name: string;
  address: string;
  answered: boolean;
  node_type: string | null;
  sip: boolean;
  active: boolean;
  detail: string;
  ms: number;
}

/** Active: the HA config's own `active` when present, else it answered and its SIP answers. */
export function pbxActive(http: ProbeResult, sip: ProbeResult): boolean {
  const explicit = http.haConfig?.active;
  if (typeof explicit === 'boolean') return explicit;
  if (typeof explicit === 'string') return /^(true|active|yes|1)$/i.test(explicit);
  return http.ok && sip.ok;
}

export function ccLogLines(views: PbxView[], nginxLine: string): string[] {
  const out: string[] = [];
  for (const v of views) {
    out.push(`[RESILIENCE] Querying HA status at https://${v.address}/configmgt/api/2.0/sysconfd/get_ha_config`);
    out.push(v.answered ? `[RESILIENCE] HA config shows active=${v.active}` : `[RESILIENCE] HA status query failed (${v.detail}): active=false`);
  }
  out.push(`[RESILIENCE] ${nginxLine}`);
  return out;
}

function syslogScript(path: string, lines: string[]): string {
  const body = lines.map((l) => `printf '%s %s xivocc-ha: %s\\n' "$ts" "$h" ${quote(l)}`).join('\n');
  return `ts=$(date +%Y-%m-%dT%H:%M:%S.%6N%:z); h=$(hostname)\n{\n${body}\n} >> ${quote(path)}`;
}

async function nginxState(t: Transport): Promise<{ tool: 'xivocc-dcomp' | 'systemctl'; running: boolean }> {
  const r = await t.exec(
    'if command -v xivocc-dcomp >/dev/null 2>&1; then echo "@tool xivocc-dcomp"; xivocc-dcomp ps 2>/dev/null | awk \'$3=="nginx"{print "@state " $4}\'; ' +
      'else echo "@tool systemctl"; echo "@state $(systemctl is-active nginx 2>/dev/null)"; fi; exit 0',
  );
  const tool = /^@tool (\S+)/m.exec(r.stdout)?.[1] === 'xivocc-dcomp' ? 'xivocc-dcomp' : 'systemctl';
  const state = /^@state (.*)$/m.exec(r.stdout)?.[1]?.trim() ?? '';
  return { tool, running: state === 'Up' || state === 'active' };
}

async function viewOf(p: HaMonitorParams, ctx: TaskContext, name: string, timeoutMs: number): Promise<PbxView & { http: ProbeResult; sipProbe: ProbeResult }> {
  const t = ctx.transport;
  const address = addressOf(ctx, name);
  const trust = trustOf(p, ctx, name);
  const [http, sip] = await Promise.all([httpProbe(viaTransport(t), 'cc', address, timeoutMs, trust), sipProbeVia(t, 'cc', address, timeoutMs)]);
  return {
    name,
    address,
    answered: http.ok,
    node_type: http.haConfig ? String(http.haConfig.node_type ?? '') : null,
    sip: sip.ok,
    active: pbxActive(http, sip),
    detail: http.ok ? http.detail : `${http.detail}`,
    ms: http.ms,
    http,
    sipProbe: sip,
  };
}

/** When the serving PBX's asterisk started (epoch ms), through its own connection; null when unknown. */
async function servingSince(ctx: TaskContext, name: string): Promise<number | null> {
  if (!Object.values(ctx.groups).some((g) => g.includes(name))) return null;
  try {
    const t = await ctx.transportFor(name, { readOnly: true });
    const r = await t.exec(
      'pid=$(pidof -s asterisk 2>/dev/null || systemctl show -p MainPID --value asterisk 2>/dev/null); [ -n "$pid" ] && [ "$pid" != 0 ] && echo "$(date +%s%3N) $(ps -o etimes= -p $pid)"; exit 0',
      { timeoutMs: 5000 },
    );
    const [now, et] = r.stdout.trim().split(/\s+/).map(Number);
    return Number.isFinite(now) && Number.isFinite(et) && now > 0 ? now - et * 1000 : null;
  } catch {
    return null;
  }
}

async function planCc(p: HaMonitorParams, ctx: TaskContext): Promise<Plan> {
  const t = ctx.transport;
  const linked = p.pbx ?? (ctx.host.vars.pbx as string | undefined);
  if (!linked) throw new TaskFailed(`${t.hostName}: no linked PBX`, undefined, 'give pbx (or the host variable pbx)');
  const standby = p.pbx_standby ?? (ctx.host.vars.pbx_standby as string | undefined);
  const timeoutMs = Math.round(p.probe_timeout * 1000);
  // Both PBXs at once: during a failover the linked one is down and its query only times out.
  const [nginx, first, second] = await Promise.all([
    nginxState(t),
    viewOf(p, ctx, String(linked), timeoutMs),
    standby ? viewOf(p, ctx, String(standby), timeoutMs) : Promise.resolve(undefined),
  ]);
  const views = [first];
  if (!first.active && second) views.push(second);
  const serving = views.find((v) => v.active) ?? null;
  const since = serving ? await servingSince(ctx, serving.name) : null;
  const want = serving !== null;
  const result: Vars = {
    role: 'cc',
    serving: serving?.name ?? null,
    serving_address: serving?.address ?? null,
    serving_since: since,
    nginx: nginx.running ? 'running' : 'stopped',
    nginx_wanted: want ? 'running' : 'stopped',
    pbx: views.map(({ http, sipProbe, ...v }) => ({ ...v, evidence: [describe(http), describe(sipProbe)] })),
  };
  const why = serving
    ? `${serving.name} (${serving.address}) is active${serving !== first ? ` (${first.name} is not: ${first.answered ? 'its telephony does not answer SIP' : first.detail})` : ''}`
    : `no linked PBX is active (${views.map((v) => `${v.name}: ${v.answered ? (v.sip ? 'answers' : 'SIP silent') : v.detail}`).join('; ')})`;
  const writeLog = async (nginxLine: string) => {
    const r = await t.exec(syslogScript(p.syslog, ccLogLines(views, nginxLine)));
    if (r.code !== 0) ctx.warn(`cannot append to ${p.syslog} on ${t.hostName}: ${failureLine(r)}`);
  };
  if (want === nginx.running || p.action === 'report') {
    const state = nginx.running ? 'started' : 'stopped';
    if (p.log_every_run && !ctx.check && p.action !== 'report') await writeLog(`Nginx already ${state}`);
    return { changes: [], result, noop: `nginx already ${state}: ${why}` };
  }
  const verb = want ? 'start' : 'stop';
  const cmd = nginx.tool === 'xivocc-dcomp' ? `xivocc-dcomp ${verb} nginx` : `systemctl ${verb} nginx`;
  return {
    result,
    changes: [
      {
        summary: `${verb} nginx on the CC (${cmd}): ${why}`,
        apply: async () => {
          const r = await t.exec(cmd);
          if (r.code !== 0) {
            await writeLog(`Nginx failed to ${verb}`);
            throw commandFailed(cmd, r);
          }
          await writeLog(`Nginx ${want ? 'started' : 'stopped'}`);
          return { nginx: want ? 'running' : 'stopped' };
        },
      },
    ],
  };
}
