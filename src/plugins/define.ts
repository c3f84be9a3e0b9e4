// The small factory every built-in plugin goes through, and the few helpers they share.
import { TaskFailed } from '../core/errors.js';
import { isTemplate } from '../core/template.js';
import type { Plugin } from '../core/types.js';

/** Keeps the params type attached to the plugin object; nothing else happens here. */
export function definePlugin<P>(plugin: Plugin<P>): Plugin<P> {
  return plugin;
}

/** peers() of a plugin whose other host is a param, else the first standby: the replication pair. */
export function standbyPeer(key: string) {
  return (params: Record<string, unknown>, groups: Record<string, string[]>): string[] => {
    const v = params[key];
    if (typeof v === 'string') return isTemplate(v) ? [] : [v];
    return groups.pbx_standby?.slice(0, 1) ?? [];
  };
}

/**
 * Cross-field rules ajv messages make unreadable ("must match exactly one schema in oneOf") are
 * checked here instead, in the operator's words.
 */
export function exactlyOne(params: object, keys: string[], plugin: string): string {
  const given = keys.filter((k) => (params as Record<string, unknown>)[k] !== undefined);
  if (given.length !== 1) {
    throw new TaskFailed(
      `${plugin} needs exactly one of ${keys.join(', ')}` + (given.length ? ` (got ${given.join(' and ')})` : ''),
    );
  }
  return given[0];
}

/** Milliseconds to wait, or the signal's abort: whichever comes first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new TaskFailed('interrupted');
}
