// The public contract of haplay, in one file: what a plugin, a transport, a result and an event are.
// Plugins plan, the engine applies: a plugin returns the changes still needed; "changed" means the
// plan was not empty, so check mode and diff mode need nothing from the plugin.
import type { Duplex, Readable } from 'node:stream';

export type Vars = Record<string, unknown>;

/** A JSON Schema (draft 2020-12 subset that ajv understands); it is also the plugin's documentation. */
export type JSONSchema = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Transports: the only way a plugin touches a host.

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status; a command killed by a signal reports 128 + signal number. */
  code: number;
}

export interface ExecOptions {
  /** Bytes fed to the command's standard input. */
  stdin?: string | Buffer;
  /** The command is killed after this long and the call throws a timeout error. */
  timeoutMs?: number;
}

export interface WriteOptions {
  /** Octal permission bits, e.g. 0o644. */
  mode?: number;
  owner?: string;
  group?: string;
}

export interface Transport {
  /** Inventory name of the host this transport reaches. */
  readonly hostName: string;
  /** Opens the connection if it is not open. Throws an E_UNREACHABLE error when the host cannot be reached. */
  connect(): Promise<void>;
  /**
   * Runs a POSIX shell command on the host, on the already open connection (no new session per step).
   * Never throws for a non-zero exit status: the caller reads `code`. Throws E_UNREACHABLE when the
   * connection is lost, E_TIMEOUT when `timeoutMs` passes.
   */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** The file's bytes, or null when it does not exist. */
  readFile(path: string): Promise<Buffer | null>;
  /** Writes atomically: a temporary file in the same directory, then rename. Creates no directories. */
  writeFile(path: string, data: string | Buffer, opts?: WriteOptions): Promise<void>;
  /** A TCP stream to host:port as the remote host sees it (SSH direct-tcpip; local: a plain socket). */
  openTcp(host: string, port: number): Promise<Duplex>;
  /**
   * Starts a long-running command beside the shell (a lock holder, `tail -F`). It ends by itself,
   * when end() is called (its stdin closes) or when the connection drops.
   */
  spawn(command: string): Promise<Spawned>;
  close(): Promise<void>;
}

export interface Spawned {
  stdout: Readable;
  stderr: Readable;
  /** Exit status once the command has ended (128 + n when killed by signal n). */
  exit: Promise<number>;
  /** Writes to the command's standard input. */
  write(data: string): void;
  /** Closes the command's standard input and its channel. */
  end(): void;
}

/** How to reach a host, resolved from inventory variables. */
export interface ConnectionSpec {
  host: string;
  connection: 'ssh' | 'local';
  address: string;
  port: number;
  user: string;
  privateKey?: string;
  /** known_hosts file; default ~/.ssh/known_hosts. */
  knownHosts?: string;
  /** strict: the key must be known; accept-new: unknown keys are added, changed keys refused; off: no check. */
  hostKeyPolicy: 'strict' | 'accept-new' | 'off';
  /** Run commands through `sudo -n` when the user is not root. */
  become: boolean;
  connectTimeoutMs: number;
  keepaliveMs: number;
}

// ---------------------------------------------------------------------------------------------
// Plugins.

export interface Diff {
  /** What the before/after texts are, e.g. a file path or `asterisk.staticsip`. */
  label?: string;
  before: string;
  after: string;
}

export interface Change {
  /** One line in the operator's words: "write /etc/xivo/ha.conf", "restart postgresql". */
  summary: string;
  diff?: Diff;
  /** Makes the change. Data returned is merged into the task result (e.g. a command's stdout). */
  apply(): Promise<Vars | void>;
}

export interface Plan {
  /** The changes still needed, in order. Empty means the host is already as asked: "ok". */
  changes: Change[];
  /**
   * Data for `register`; present in check mode too, so later tasks can still evaluate.
   * A `facts` object in it is merged into the host's variables (set-fact, service status, ...).
   */
  result?: Vars;
  /** Why nothing needs doing, shown with -v ("ha.conf already says main"). */
  noop?: string;
}

export interface HostRef {
  name: string;
  /** The host's variables as the task sees them (inventory, play, facts, task vars, extra vars). */
  vars: Vars;
}

/**
 * A fact: one read of a host's current state, as a command and the parser of its output (pyinfra's
 * facts). The command only reads; a non-zero exit fails the task with the last line of stderr.
 */
export interface Fact<T> {
  /** What is read, for the failure message: "the state of /etc/xivo/ha.conf". */
  what: string;
  command: string;
  parse(stdout: string): T;
  /**
   * The hint when the command exits 3, which facts use for "what I read is not installed here": the
   * task then fails with the command's stderr ("no PostgreSQL cluster under ...") and this hint.
   */
  missing?: string;
}

export interface TaskContext {
  host: HostRef;
  /** The transport of the host the task runs on (the delegate's when delegate_to is set). */
  transport: Transport;
  /**
   * Another inventory host's transport (shared connection), e.g. the standby for pg-replicate. It is
   * locked for the rest of the run, unless `readOnly`: a plugin that only reads that host (the CC
   * asking when the serving PBX's telephony started) must not hold up a run that changes it.
   */
  transportFor(hostName: string, opts?: { readOnly?: boolean }): Promise<Transport>;
  /** Inventory variables of any host, by name. */
  hostvars(hostName: string): Vars;
  /** Host names of every inventory group. */
  groups: Record<string, string[]>;
  /** Check mode: plan only; nothing is applied by the engine. */
  check: boolean;
  diff: boolean;
  /** Aborted when the task's timeout passes or the run is interrupted. */
  signal: AbortSignal;
  /** A progress line for long work ("waiting for xuc: 12 s"). */
  progress(message: string): void;
  /** A warning shown to the operator whatever the verbosity. */
  warn(message: string): void;
  /** Renders a Handlebars template with the host's variables (strict, no HTML escaping). */
  render(template: string, extraVars?: Vars): string;
  /** Evaluates a `when`-style expression with the host's variables. */
  evaluate(expression: string, extraVars?: Vars): unknown;
  /** Marks a value as secret: it is masked in every output from now on. */
  secret(value: string): void;
  /** Reads a fact on the task's host, or on another inventory host (through transportFor). */
  fact<T>(fact: Fact<T>, hostName?: string): Promise<T>;
}

export interface Example {
  title: string;
  /** A YAML task, as written in a playbook. */
  yaml: string;
}

export interface Plugin<P = any> {
  /** The task key that selects the plugin, e.g. `ha-config`. */
  name: string;
  /** One line for `haplay plugins`. */
  description: string;
  /** Longer help for `haplay plugins NAME` (plain text, paragraphs). */
  doc?: string;
  /** JSON Schema of the params (an object schema); defaults are applied before plan(). */
  schema: JSONSchema;
  examples?: Example[];
  /** Params are a bare string, e.g. `command: ls -l`, stored under this key. */
  freeForm?: string;
  /** Reads the host through ctx and returns what still has to change. Throws TaskFailed to fail. */
  plan(params: P, ctx: TaskContext): Promise<Plan>;
  /**
   * Other inventory hosts plan() will reach through ctx.transportFor (a replication's standby): the
   * engine connects and locks them with the play's hosts instead of in the middle of the task. Given
   * the params as written (defaults not applied, templates not rendered); best effort.
   */
  peers?(params: Record<string, unknown>, groups: Record<string, string[]>): string[];
  /**
   * Checks that need the inventory, made at load time for each host the task runs on (params as
   * written, defaults not applied): each problem refuses the run (exit 4), located at the task.
   */
  validate?(
    params: Record<string, unknown>,
    host: HostRef,
    hostvars: (host: string) => Vars,
    groups: Record<string, string[]>,
  ): { key: string; message: string; hint?: string }[];
}

// ---------------------------------------------------------------------------------------------
// Results and events.

export type HostStatus = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable' | 'rescued' | 'ignored';

/** What `register` stores: plain data, as Ansible operators know it. */
export interface TaskResult extends Vars {
  changed: boolean;
  failed: boolean;
  skipped?: boolean;
  unreachable?: boolean;
  msg?: string;
  /** Summaries of the planned changes (applied, or that would be applied in check mode). */
  changes?: string[];
  diff?: Diff[];
  /** Per-item results when the task has a loop. */
  results?: TaskResult[];
}

export interface HostCounts {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: number;
  rescued: number;
  ignored: number;
}

/** NDJSON event schema version; bump on any incompatible change. */
export const EVENT_SCHEMA_VERSION = 1;

export type RunEvent =
  | { type: 'run_start'; playbook: string; check: boolean; diff: boolean; at: string }
  | { type: 'play_start'; play: string; hosts: string[] }
  | { type: 'task_start'; play: string; task: string; plugin: string; hosts: string[]; handler: boolean }
  | {
      type: 'host_result';
      play: string;
      task: string;
      host: string;
      status: HostStatus;
      /** Item label when the task loops. */
      item?: string;
      msg?: string;
      /** Why nothing needed doing (ok results), for -v. */
      noop?: string;
      changes?: string[];
      diff?: Diff[];
      /** The registered data, only with -v and never for no_log tasks. */
      result?: Vars;
      durationMs: number;
    }
  | { type: 'progress'; play: string; task: string; host: string; message: string }
  | { type: 'warning'; message: string; host?: string }
  | { type: 'play_end'; play: string }
  | { type: 'recap'; hosts: Record<string, HostCounts>; durationMs: number; exitCode: number };

export interface Reporter {
  event(e: RunEvent): void;
  /** Flushes and releases the terminal. */
  close(): Promise<void>;
}
