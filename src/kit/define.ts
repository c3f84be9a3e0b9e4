// The small factory every plugin goes through, and the cross-field rule schemas cannot word well.
import { TaskFailed } from '../core/errors.js';
import type { Plugin } from '../core/types.js';

/** Keeps the params type attached to the plugin object; nothing else happens here. */
export function definePlugin<P>(plugin: Plugin<P>): Plugin<P> {
  return plugin;
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
