// A host's processes: every one lives in its netns, so "kill the host" = kill what `ip netns pids` lists.
import { LabHost } from './config.js';
import { netnsPids } from './network.js';
import { CommandError, shIn } from './run.js';

export async function killHost(name: string): Promise<void> {
  const killed = new Set<number>();
  for (let i = 0; i < 100; i++) {
    const pids = await netnsPids(name);
    // A dying process leaves its netns before its pid is gone: a postmaster.pid naming it would still
    // look alive to the next boot's PostgreSQL ("lock file already exists"). Wait for the pids too.
    if (pids.length === 0 && [...killed].every((pid) => !alive(pid))) return;
    for (const pid of pids) {
      killed.add(pid);
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`processes of ${name} survive SIGKILL: ${(await netnsPids(name)).join(' ')}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Boots the host like a reboot: fresh /run and /tmp, enabled units, then `xivo-service start` on PBXs. */
export async function bootHost(h: LabHost): Promise<void> {
  const r = await shIn(h.name, 'hplab-boot');
  if (r.code !== 0) throw new CommandError([`[${h.name}]`, 'hplab-boot'], r);
}
