// The lab's network: bridge hplab0 (10.77.0.1/16, the control machine), one netns + veth per host.
// Nothing is forwarded or NATed: hosts reach each other and 10.77.0.1 only.
import { BRIDGE, CONTROL_ADDRESS, PREFIX, LabHost, netnsOf, vethOf } from './config.js';
import { run, runOk } from './run.js';

const ip = (...args: string[]) => runOk(['ip', ...args]);
const ipIn = (host: string, ...args: string[]) => runOk(['ip', '-n', netnsOf(host), ...args]);

async function linkExists(name: string): Promise<boolean> {
  return (await run(['ip', 'link', 'show', 'dev', name])).code === 0;
}

export async function netnsList(): Promise<string[]> {
  const out = await runOk(['ip', '-j', 'netns', 'list']).catch(() => '[]');
  const list = JSON.parse(out.trim() || '[]') as { name: string }[];
  return list.map((n) => n.name).filter((n) => n.startsWith('hplab-'));
}

export async function labLinks(): Promise<string[]> {
  const list = JSON.parse((await runOk(['ip', '-j', 'link', 'show'])).trim() || '[]') as { ifname: string }[];
  return list.map((l) => l.ifname).filter((n) => n === BRIDGE || n.startsWith('hpl-'));
}

export async function ensureBridge(): Promise<void> {
  if (!(await linkExists(BRIDGE))) {
    await ip('link', 'add', BRIDGE, 'type', 'bridge');
    await ip('addr', 'add', `${CONTROL_ADDRESS}/${PREFIX}`, 'dev', BRIDGE);
  }
  await ip('link', 'set', BRIDGE, 'up');
  // Never route lab traffic anywhere else: no forwarding from the bridge, whatever the machine does.
  await runOk(['sysctl', '-q', '-w', `net.ipv4.conf.${BRIDGE}.forwarding=0`]);
  await run(['sysctl', '-q', '-w', `net.ipv6.conf.${BRIDGE}.disable_ipv6=1`]);
}

/** Creates the host's netns and veth (idempotent). */
export async function ensureHostNet(h: LabHost): Promise<void> {
  const ns = netnsOf(h.name);
  const veth = vethOf(h.name);
  if (!(await netnsList()).includes(ns)) await ip('netns', 'add', ns);
  if (!(await linkExists(veth))) {
    await ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    await ip('link', 'set', veth, 'master', BRIDGE);
  }
  await ip('link', 'set', veth, 'up');
  await ipIn(h.name, 'link', 'set', 'lo', 'up');
  const addrs = await ipIn(h.name, '-4', '-o', 'addr', 'show', 'dev', 'eth0');
  if (!addrs.includes(`${h.address}/`)) await ipIn(h.name, 'addr', 'add', `${h.address}/${PREFIX}`, 'dev', 'eth0');
  await ipIn(h.name, 'link', 'set', 'eth0', 'up');
  await ipIn(h.name, 'route', 'replace', 'default', 'via', CONTROL_ADDRESS);
  await run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1']);
}

/** Pulls (or plugs back) the host's cable: the bridge side of its veth. */
export async function setLink(h: LabHost, up: boolean): Promise<void> {
  await ip('link', 'set', vethOf(h.name), up ? 'up' : 'down');
}

export async function linkIsUp(h: LabHost): Promise<boolean> {
  const out = await run(['ip', '-j', 'link', 'show', 'dev', vethOf(h.name)]);
  if (out.code !== 0) return false;
  const [l] = JSON.parse(out.stdout) as { flags: string[] }[];
  return l.flags.includes('UP');
}

/** Blackhole routes inside each netns: A and B cannot talk, both still reach everyone else. */
export async function partition(a: LabHost, b: LabHost): Promise<void> {
  await ipIn(a.name, 'route', 'replace', 'blackhole', `${b.address}/32`);
  await ipIn(b.name, 'route', 'replace', 'blackhole', `${a.address}/32`);
}

export async function blackholes(h: LabHost): Promise<string[]> {
  const out = await ipIn(h.name, '-4', '-o', 'route', 'show', 'type', 'blackhole').catch(() => '');
  return out.split('\n').map((l) => l.trim().split(/\s+/)[1]).filter(Boolean).map((a) => a.replace(/\/32$/, ''));
}

export async function heal(h: LabHost): Promise<void> {
  for (const addr of await blackholes(h)) await ipIn(h.name, 'route', 'del', 'blackhole', `${addr}/32`);
}

/** Deletes the host's netns (its veth pair goes with it). */
export async function deleteHostNet(name: string): Promise<void> {
  await run(['ip', 'netns', 'del', netnsOf(name)]);
}

export async function deleteBridge(): Promise<void> {
  for (const l of await labLinks()) await run(['ip', 'link', 'del', l]);
}

/** PIDs of every process living in the host's netns. */
export async function netnsPids(name: string): Promise<number[]> {
  const r = await run(['ip', 'netns', 'pids', netnsOf(name)]);
  return r.stdout.split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
}
