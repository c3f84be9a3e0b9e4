// Where haplay looks for a playbook and an inventory the command line did not name with a path.
// The Debian package puts its playbooks in /usr/share/haplay/playbooks and the operator's inventory
// in /etc/haplay; a checkout or a test points elsewhere with $HAPLAY_PLAYBOOKS.
import { isAbsolute, resolve } from 'node:path';
import { HaplayError } from './errors.js';

export const SYSTEM_PLAYBOOKS = '/usr/share/haplay/playbooks';
export const SYSTEM_INVENTORY = '/etc/haplay/inventory.yml';

/** Where a playbook named NAME is looked for, in order: a path only as given, a bare name also in the playbook folders. */
export function playbookCandidates(name: string, cwd: string, env: NodeJS.ProcessEnv): string[] {
  const here = resolve(cwd, name);
  if (isAbsolute(name) || name.includes('/')) return [here];
  const dirs = [...(env.HAPLAY_PLAYBOOKS ?? '').split(':').filter(Boolean).map((d) => resolve(cwd, d)), SYSTEM_PLAYBOOKS];
  return [here, ...dirs.map((d) => resolve(d, name))];
}

export function findPlaybook(name: string, cwd: string, env: NodeJS.ProcessEnv, exists: (p: string) => boolean): string {
  const candidates = playbookCandidates(name, cwd, env);
  const found = candidates.find(exists);
  if (found) return found;
  throw new HaplayError('E_FILE', 'playbook not found', {
    where: { file: name },
    hint: `looked in ${candidates.join(', ')}; give the path of a YAML playbook, e.g. playbooks/ha-setup.yml`,
  });
}
