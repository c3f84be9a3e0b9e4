// One catalogue of diagnostics with stable codes. Every error an operator can see comes from here,
// names where it happened (file › play › task › key, line when known) and says what to do.

export const EXIT = {
  OK: 0,
  /** A task failed on at least one host. */
  FAILED: 2,
  /** No task failed, but at least one host was unreachable. */
  UNREACHABLE: 3,
  /** Invalid playbook, inventory, variables or command line: nothing was run. */
  INVALID: 4,
  /** Another haplay run holds the lock on these hosts. */
  LOCKED: 5,
  /** Interrupted (Ctrl-C / SIGTERM). */
  INTERRUPTED: 130,
} as const;

export const CODES = {
  E_USAGE: { exit: EXIT.INVALID, title: 'invalid command line' },
  E_FILE: { exit: EXIT.INVALID, title: 'cannot read file' },
  E_YAML: { exit: EXIT.INVALID, title: 'invalid YAML' },
  E_PLAYBOOK: { exit: EXIT.INVALID, title: 'invalid playbook' },
  E_PARAMS: { exit: EXIT.INVALID, title: 'invalid task parameters' },
  E_UNKNOWN_PLUGIN: { exit: EXIT.INVALID, title: 'unknown plugin' },
  E_PLUGIN_LOAD: { exit: EXIT.INVALID, title: 'cannot load plugin' },
  E_INVENTORY: { exit: EXIT.INVALID, title: 'invalid inventory' },
  E_NO_INVENTORY: { exit: EXIT.INVALID, title: 'no inventory' },
  E_PATTERN: { exit: EXIT.INVALID, title: 'host pattern matches nothing' },
  E_VARS: { exit: EXIT.INVALID, title: 'invalid extra variables' },
  E_TEMPLATE: { exit: EXIT.FAILED, title: 'template error' },
  E_EXPRESSION: { exit: EXIT.FAILED, title: 'expression error' },
  E_TASK_FAILED: { exit: EXIT.FAILED, title: 'task failed' },
  E_TIMEOUT: { exit: EXIT.FAILED, title: 'timed out' },
  E_UNREACHABLE: { exit: EXIT.UNREACHABLE, title: 'host unreachable' },
  E_HOST_KEY: { exit: EXIT.UNREACHABLE, title: 'host key verification failed' },
  E_LOCKED: { exit: EXIT.LOCKED, title: 'another run holds the lock' },
  E_LOCK_UNSAFE: { exit: EXIT.FAILED, title: "the run lock's directory on a host is not private" },
  E_LOCK_LOST: { exit: EXIT.FAILED, title: 'the run lock on a host was lost' },
  E_INTERNAL: { exit: EXIT.FAILED, title: 'internal error' },
} as const;

export type ErrorCode = keyof typeof CODES;

/** Where in the operator's input a problem is. */
export interface Where {
  file?: string;
  play?: string;
  task?: string;
  key?: string;
  line?: number;
  host?: string;
  plugin?: string;
}

export class HaplayError extends Error {
  readonly code: ErrorCode;
  readonly where: Where;
  readonly hint?: string;
  /** Further problems found in the same pass (validation collects every error). */
  readonly more: HaplayError[];
  /** Data for the task result (e.g. a failed command's stdout/stderr/rc). */
  readonly data?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { where?: Where; hint?: string; more?: HaplayError[]; data?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'HaplayError';
    this.code = code;
    this.where = opts.where ?? {};
    this.hint = opts.hint;
    this.more = opts.more ?? [];
    this.data = opts.data;
  }

  get exitCode(): number {
    return CODES[this.code].exit;
  }

  /** The same error, with more context filled in where it was missing. */
  at(where: Where): HaplayError {
    const e = new HaplayError(this.code, this.message, {
      where: { ...where, ...definedOnly(this.where) },
      hint: this.hint,
      more: this.more.map((m) => m.at(where)),
      data: this.data,
      cause: this.cause,
    });
    e.stack = this.stack;
    return e;
  }
}

function definedOnly(w: Where): Where {
  return Object.fromEntries(Object.entries(w).filter(([, v]) => v !== undefined)) as Where;
}

/** A plugin's way to fail a task: the message is what the operator reads. */
export class TaskFailed extends HaplayError {
  constructor(message: string, data?: Record<string, unknown>, hint?: string) {
    super('E_TASK_FAILED', message, { data, hint });
    this.name = 'TaskFailed';
  }
}

export function isHaplayError(e: unknown): e is HaplayError {
  return e instanceof HaplayError;
}

/** "file.yml › play "Setup" › task "write ha.conf" › key node_type (line 12)" */
export function formatWhere(w: Where): string {
  const parts: string[] = [];
  if (w.file) parts.push(w.line ? `${w.file}:${w.line}` : w.file);
  if (w.play) parts.push(`play "${w.play}"`);
  if (w.task) parts.push(`task "${w.task}"`);
  if (w.host) parts.push(`host ${w.host}`);
  if (w.plugin && !w.task) parts.push(`plugin ${w.plugin}`);
  if (w.key) parts.push(`key ${w.key}`);
  return parts.join(' › ');
}

export function formatError(e: HaplayError): string {
  const lines: string[] = [];
  const all = [e, ...e.more];
  for (const err of all) {
    const where = formatWhere(err.where);
    lines.push(`ERROR [${err.code}] ${where ? where + ': ' : ''}${err.message}`);
    if (err.hint) lines.push(`  hint: ${err.hint}`);
  }
  return lines.join('\n');
}

/** Wraps anything thrown inside a plugin so the operator learns which plugin and where. */
export function wrapPluginError(e: unknown, where: Where): HaplayError {
  if (e instanceof HaplayError) return e.at(where);
  const msg = e instanceof Error ? e.message : String(e);
  return new HaplayError('E_TASK_FAILED', msg, { where, cause: e });
}
