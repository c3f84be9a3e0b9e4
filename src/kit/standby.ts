// Which host is "the standby" of a task run on the main: the one its params name, else the first
// host of inventory group pbx_standby. Written once, for peers() and for plan().
import { TaskFailed } from '../core/errors.js';
import { isTemplate } from '../core/template.js';
import type { TaskContext } from '../core/types.js';

function firstStandby(groups: Record<string, string[]>): string | undefined {
  return groups.pbx_standby?.[0];
}

/** peers() of a plugin whose other host is the param `key`, else the first standby: the replication pair. */
export function standbyPeer(key: string) {
  return (params: Record<string, unknown>, groups: Record<string, string[]>): string[] => {
    const v = params[key];
    if (typeof v === 'string') return isTemplate(v) ? [] : [v];
    const s = firstStandby(groups);
    return s === undefined ? [] : [s];
  };
}

/**
 * The standby plan() works with: `given` (the param `key`), else the first standby. Fails when there
 * is none, or when it is the task's own host; `doing` words both ("sync with", "replicate onto").
 */
export function standbyFor(ctx: TaskContext, given: string | undefined, key: string, doing: string): string {
  const name = given ?? firstStandby(ctx.groups);
  if (!name) throw new TaskFailed(`no standby to ${doing}`, undefined, `give ${key}: NAME or put the standby in inventory group pbx_standby`);
  if (name === ctx.host.name) throw new TaskFailed(`${name} cannot ${doing} itself`, undefined, 'run the task on the main (hosts: pbx_main)');
  return name;
}
