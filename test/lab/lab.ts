// The lab's operations, for the CLI and for tests: up, down, status, reset, faults, exec.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  CORE_HOSTS, FLEET_INVENTORY, HOSTS_DIR, KEY, KNOWN_HOSTS, LAB_DIR, LAB_SRC, LabHost, MAX_PAIRS, NS_DIR, Profile,
  SQL_DIR, allHosts, baseDir, fleetHosts, hostDir, isPbx, netnsOf,
} from './config.js';
import { ensurePackages } from './packages.js';
import * as net from './network.js';
import * as mounts from './mounts.js';
import { buildTemplate, installCluster } from './postgres.js';
import { writeHostTree } from './hostfiles.js';
import { bootHost, killHost } from './processes.js';
import { LabState, readState, writeState } from './state.js';
import { RunResult, pool, runIn, runOk } from './run.js';
import { clearSlow, setSlow } from './slow.js';

export type Log = (line: string) => void;
const quiet: Log = () => {};

export function assertRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('the lab needs root (network and mount namespaces, bridges, bind mounts): run it as root');
  }
}

function hostsOf(state: LabState | undefined): LabHost[] {
  return allHosts(state?.pairs ?? 0);
}

export function findHost(name: string, state = readState()): LabHost {
  const h = hostsOf(state).find((x) => x.name === name);
  if (!h) throw new Error(`no lab host named ${name} (hosts: ${hostsOf(state).map((x) => x.name).join(', ')})`);
  return h;
}

/** What the trees are built from: the builder code, SQL, profile and fleet size. */
function buildHash(pairs: number, profile: Profile): string {
  const h = crypto.createHash('sha256');
  for (const f of ['config.ts', 'hostfiles.ts', 'postgres.ts']) h.update(fs.readFileSync(path.join(LAB_SRC, f)));
  for (const f of fs.readdirSync(SQL_DIR).sort()) h.update(fs.readFileSync(path.join(SQL_DIR, f)));
  h.update(`${pairs}/${profile}`);
  return h.digest('hex').slice(0, 16);
}

async function ensureControlKey(): Promise<string> {
  fs.mkdirSync(LAB_DIR, { recursive: true });
  if (!fs.existsSync(KEY)) await runOk(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'haplay-lab-control', '-f', KEY]);
  return fs.readFileSync(`${KEY}.pub`, 'utf8');
}

function writeKnownHosts(hosts: LabHost[]): void {
  const lines = hosts.map((h) => {
    const [type, key] = fs.readFileSync(path.join(baseDir(h.name), 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8').trim().split(/\s+/);
    return `${h.address},${h.name} ${type} ${key}`;
  });
  fs.writeFileSync(KNOWN_HOSTS, lines.join('\n') + '\n');
}

function writeFleetInventory(pairs: number): void {
  if (pairs === 0) { fs.rmSync(FLEET_INVENTORY, { force: true }); return; }
  const hosts = fleetHosts(pairs);
  const lines = [
    `# ${pairs} main/standby pairs built by \`npm run lab -- up --pairs ${pairs}\` (test/lab).`,
    'vars:', '  flavour: xivo', '  user: root', '  private_key: id_ed25519', '  known_hosts: known_hosts', '  host_key_checking: strict',
    'hosts:',
    ...hosts.map((h) => `  ${h.name}: { address: ${h.address}, vars: { voip_address: ${h.address}, peer: ${h.peer} } }`),
    'groups:',
    `  fleet_main:    { hosts: [${hosts.filter((h) => h.role === 'pbx-main').map((h) => h.name).join(', ')}] }`,
    `  fleet_standby: { hosts: [${hosts.filter((h) => h.role === 'pbx-standby').map((h) => h.name).join(', ')}] }`,
    '  fleet:         { children: [fleet_main, fleet_standby] }', '',
  ];
  fs.writeFileSync(FLEET_INVENTORY, lines.join('\n'));
}

/** Builds every host's tree (the pristine snapshot) from scratch. */
async function build(hosts: LabHost[], pairs: number, profile: Profile, log: Log): Promise<void> {
  const pub = await ensureControlKey();
  log(`building ${profile} PostgreSQL template`);
  await buildTemplate(profile);
  fs.rmSync(HOSTS_DIR, { recursive: true, force: true });
  log(`building ${hosts.length} host trees`);
  await pool(hosts, 4, async (h) => {
    const tree = baseDir(h.name);
    await writeHostTree(tree, h, pairs, pub);
    if (isPbx(h)) await installCluster(profile, tree, h.name, h.address);
  });
  writeKnownHosts(hosts);
  writeFleetInventory(pairs);
}

async function hostIsUp(h: LabHost): Promise<boolean> {
  return (await net.netnsList()).includes(netnsOf(h.name)) && (await mounts.hostNsExists(h.name)) && (await net.netnsPids(h.name)).length > 0;
}

/** Network, namespaces and processes of one host, from its snapshot (nothing kept from a previous life). */
let nsQueue: Promise<unknown> = Promise.resolve();
/** Namespace files are bound and unbound one host at a time: done in parallel, umount races with unshare. */
function serially<T>(fn: () => Promise<T>): Promise<T> {
  const next = nsQueue.then(fn, fn);
  nsQueue = next.catch(() => {});
  return next;
}

async function startHost(h: LabHost): Promise<void> {
  await net.ensureHostNet(h);
  await killHost(h.name);
  await serially(async () => {
    await mounts.destroyHostNs(h.name);
    mounts.wipeUpper(h.name);
    await mounts.createHostNs(h.name, true);
  });
  await bootHost(h);
}

/** The Edge last, so that its prober finds the PBXs answering; fresh PBXs are waited for until ready. */
async function bootAll(hosts: LabHost[], start: (h: LabHost) => Promise<void>): Promise<void> {
  await pool(hosts.filter((h) => h.role !== 'edge'), 8, start);
  await pool(hosts.filter((h) => h.role === 'edge'), 8, start);
  await pool(hosts.filter((h) => h.role.startsWith('pbx')), 8, waitReady);
}

/** A fresh PBX is ready when `xivo-service status all` says every unit runs (exit 0), as operators check. */
async function waitReady(h: LabHost): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await runIn(h.name, ['xivo-service', 'status', 'all']);
    if (r.code === 0) return;
    if (Date.now() > deadline) throw new Error(`${h.name} not ready 30 s after boot:\n${r.stdout}${r.stderr}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

export interface UpOptions { pairs?: number; profile?: Profile; log?: Log }

export async function up(opts: UpOptions = {}): Promise<LabState> {
  assertRoot();
  const log = opts.log ?? quiet;
  const previous = readState();
  const pairs = opts.pairs ?? previous?.pairs ?? 0;
  const profile = opts.profile ?? previous?.profile ?? 'default';
  if (!Number.isInteger(pairs) || pairs < 0 || pairs > MAX_PAIRS) throw new Error(`--pairs must be an integer from 0 to ${MAX_PAIRS}`);
  const hosts = allHosts(pairs);
  const hash = buildHash(pairs, profile);
  if (previous && previous.build === hash && (await Promise.all(hosts.map(hostIsUp))).every(Boolean)) {
    log('lab already up');
    return previous;
  }
  await ensurePackages(log);
  if (previous) await down({ log });
  if (previous?.build !== hash || !hosts.every((h) => fs.existsSync(baseDir(h.name)))) await build(hosts, pairs, profile, log);
  const state: LabState = { pairs, profile, build: hash, partitions: [], slow: {}, down: [] };
  writeState(state);
  await net.ensureBridge();
  await mounts.ensureNsDir();
  mounts.ensureMountpoints();
  log(`booting ${hosts.length} hosts`);
  await bootAll(hosts, startHost);
  log('lab up');
  return state;
}

export async function down(opts: { log?: Log; purge?: boolean } = {}): Promise<void> {
  assertRoot();
  const log = opts.log ?? quiet;
  const names = new Set<string>([
    ...(await net.netnsList()).map((n) => n.replace(/^hplab-/, '')),
    ...(fs.existsSync(NS_DIR) ? fs.readdirSync(NS_DIR).map((f) => f.replace(/\.(mnt|uts)$/, '')) : []),
  ]);
  await clearSlow();
  await Promise.all([...names].map(async (n) => {
    await killHost(n).catch(() => {});
    await serially(() => mounts.destroyHostNs(n));
    await net.deleteHostNet(n);
  }));
  await net.deleteBridge();
  await mounts.releaseNsDir();
  mounts.removeMountpoints();
  for (const h of fs.existsSync(HOSTS_DIR) ? fs.readdirSync(HOSTS_DIR) : []) mounts.wipeUpper(h);
  const state = readState();
  if (state) writeState({ ...state, partitions: [], slow: {}, down: [] });
  if (opts.purge) fs.rmSync(LAB_DIR, { recursive: true, force: true });
  log('lab down');
}

/** Back to the freshly built state: files, databases, processes, network faults. */
export async function reset(opts: { log?: Log } = {}): Promise<void> {
  assertRoot();
  const state = readState();
  if (!state) throw new Error('the lab is not up: run `npm run lab -- up` first');
  await heal();
  await clearSlow();
  const hosts = hostsOf(state);
  await bootAll(hosts, async (h) => {
    await net.setLink(h, true);
    await startHost(h);
  });
  writeState({ ...state, partitions: [], slow: {}, down: [] });
  (opts.log ?? quiet)('lab reset');
}

export async function fault(name: string, action: 'down' | 'up'): Promise<void> {
  assertRoot();
  const state = readState();
  if (!state) throw new Error('the lab is not up');
  const h = findHost(name, state);
  if (action === 'down') {
    await net.setLink(h, false);
    await killHost(h.name);
    state.down = [...new Set([...state.down, h.name])];
  } else {
    await net.setLink(h, true);
    if ((await net.netnsPids(h.name)).length === 0) await bootHost(h);
    state.down = state.down.filter((x) => x !== h.name);
  }
  writeState(state);
}

export async function partition(a: string, b: string): Promise<void> {
  assertRoot();
  const state = readState();
  if (!state) throw new Error('the lab is not up');
  if (a === b) throw new Error('partition needs two different hosts');
  await net.partition(findHost(a, state), findHost(b, state));
  state.partitions.push([a, b]);
  writeState(state);
}

export async function heal(): Promise<void> {
  assertRoot();
  const state = readState();
  if (!state) return;
  for (const h of hostsOf(state)) if ((await net.netnsList()).includes(netnsOf(h.name))) await net.heal(h);
  writeState({ ...state, partitions: [] });
}

export async function slow(name: string, ms: number): Promise<void> {
  assertRoot();
  const state = readState();
  if (!state) throw new Error('the lab is not up');
  const h = findHost(name, state);
  if (!Number.isFinite(ms) || ms < 0) throw new Error('slow needs a delay in milliseconds (0 removes it)');
  await setSlow(h, ms);
  if (ms === 0) delete state.slow[h.name]; else state.slow[h.name] = ms;
  writeState(state);
}

/** Runs argv inside a host (its network, mount and UTS namespaces, root's environment). */
export function exec(name: string, argv: string[], input?: string): Promise<RunResult> {
  findHost(name);
  return runIn(name, argv, { input });
}

export interface HostStatus {
  name: string; address: string; role: string; link: boolean; namespaces: boolean; processes: number; units: Record<string, string>;
}

export async function status(): Promise<{ state?: LabState; hosts: HostStatus[] }> {
  assertRoot();
  const state = readState();
  const nsList = await net.netnsList();
  const hosts = await Promise.all(hostsOf(state).map(async (h): Promise<HostStatus> => {
    const exists = nsList.includes(netnsOf(h.name)) && (await mounts.hostNsExists(h.name));
    const pids = exists ? await net.netnsPids(h.name) : [];
    const units: Record<string, string> = {};
    if (exists && pids.length) {
      const r = await runIn(h.name, ['systemctl', 'list-units']);
      for (const l of r.stdout.split('\n')) { const [u, s] = l.split('\t'); if (u) units[u.replace(/\.service$/, '')] = s; }
    }
    return { name: h.name, address: h.address, role: h.role, link: exists && (await net.linkIsUp(h)), namespaces: exists, processes: pids.length, units };
  }));
  return { state, hosts };
}

/** What `down` must leave behind: nothing. Lists what is left. */
export async function leftovers(): Promise<string[]> {
  const out: string[] = [];
  out.push(...(await net.netnsList()).map((n) => `netns ${n}`));
  out.push(...(await net.labLinks()).map((l) => `link ${l}`));
  out.push(...mounts.labMounts().map((m) => `mount ${m}`));
  const ps = await runOk(['ps', '-eo', 'pid=,args=']);
  for (const l of ps.split('\n')) if (l.includes(LAB_DIR) || /hplab-(logwrap|boot)|xivo-sysconfd\.mjs|asterisk-sip\.mjs|kamailio-prober|xuc\.mjs/.test(l)) out.push(`process ${l.trim()}`);
  return out;
}

export const hosts = { core: CORE_HOSTS, dirOf: hostDir };
