// `lab slow HOST MS`: this kernel has no sch_netem, so the host's cable goes through a relay that holds
// every frame the host sends for MS ms. The bridge side of the host's veth moves into a helper netns
// (hplab-slow-<host>) with a second veth back to the bridge; delay-relay.pl copies frames between them.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { BRIDGE, LAB_SRC, LabHost, netnsOf, vethOf } from './config.js';
import { netnsList, netnsPids } from './network.js';
import { run, runOk } from './run.js';

const helperOf = (name: string) => `hplab-slow-${name}`;
const bridgeSideOf = (name: string) => vethOf(name).replace(/^hpl-/, 'hps-');

async function restore(name: string, veth: string): Promise<void> {
  const helper = helperOf(name);
  if (!(await netnsList()).includes(helper)) return;
  for (const pid of await netnsPids(helper.replace(/^hplab-/, ''))) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  await run(['ip', '-n', helper, 'link', 'set', veth, 'netns', '1']);
  await run(['ip', 'netns', 'del', helper]);
  if ((await run(['ip', 'link', 'show', veth])).code === 0) {
    await runOk(['ip', 'link', 'set', veth, 'master', BRIDGE]);
    await runOk(['ip', 'link', 'set', veth, 'up']);
  }
}

export async function setSlow(h: LabHost, ms: number): Promise<void> {
  const veth = vethOf(h.name);
  await restore(h.name, veth);
  if (ms === 0) return;
  const helper = helperOf(h.name);
  const outer = bridgeSideOf(h.name);
  await runOk(['ip', 'netns', 'add', helper]);
  await runOk(['ip', 'link', 'set', veth, 'nomaster']);
  await runOk(['ip', 'link', 'set', veth, 'netns', helper]);
  await runOk(['ip', 'link', 'add', outer, 'type', 'veth', 'peer', 'name', 'd0', 'netns', helper]);
  await runOk(['ip', 'link', 'set', outer, 'master', BRIDGE]);
  await runOk(['ip', 'link', 'set', outer, 'up']);
  for (const dev of [veth, 'd0']) await runOk(['ip', '-n', helper, 'link', 'set', dev, 'up', 'promisc', 'on']);
  await run(['ip', 'netns', 'exec', helper, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1']);
  // Frames must fit the MTU to be sent again: no segmentation offloads on either side.
  await run(['ip', 'netns', 'exec', netnsOf(h.name), 'ethtool', '-K', 'eth0', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
  for (const dev of [veth, 'd0']) await run(['ip', 'netns', 'exec', helper, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
  await run(['ethtool', '-K', outer, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
  // Checksums left to the "hardware" (veth passes them unfinished) would go out wrong once relayed:
  // every sender the slow host hears from computes its own.
  await run(['ethtool', '-K', BRIDGE, 'tx', 'off']);
  for (const ns of await netnsList()) {
    if (!ns.startsWith('hplab-slow-')) await run(['ip', 'netns', 'exec', ns, 'ethtool', '-K', 'eth0', 'tx', 'off']);
  }
  const child = spawn('ip', ['netns', 'exec', helper, 'perl', path.join(LAB_SRC, 'delay-relay.pl'), veth, 'd0', String(ms)], {
    detached: true, stdio: 'ignore', cwd: '/',
  });
  child.unref();
  await new Promise((r) => setTimeout(r, 200));
  if ((await netnsPids(helper.replace(/^hplab-/, ''))).length === 0) throw new Error(`slow: the delay relay of ${h.name} did not start`);
}

/** Removes every slow relay. */
export async function clearSlow(): Promise<void> {
  for (const ns of await netnsList()) {
    const m = /^hplab-slow-(.+)$/.exec(ns);
    if (m) await restore(m[1], vethOf(m[1]));
  }
}
