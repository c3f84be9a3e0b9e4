// A host's processes: every one lives in its netns, so "kill the host" = kill what `ip netns pids` lists.
import { LabHost } from './config.js';
import { netnsPids } from './network.js';
import { CommandError, shIn } from './run.js';

export async function killHost(name: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const pids = await netnsPids(name);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`processes of ${name} survive SIGKILL: ${(await netnsPids(name)).join(' ')}`);
}

/** Boots the host like a reboot: fresh /run and /tmp, enabled units, then `xivo-service start` on PBXs. */
export async function bootHost(h: LabHost): Promise<void> {
  const r = await shIn(h.name, 'hplab-boot');
  if (r.code !== 0) throw new CommandError([`[${h.name}]`, 'hplab-boot'], r);
}
