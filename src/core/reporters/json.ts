// NDJSON: one RunEvent per line with the schema version `v` and an ISO timestamp `ts`, nothing else on
// the stream, so `haplay --json | jq` and log shippers can rely on it. Schema: docs/events.md.
import { EVENT_SCHEMA_VERSION, type Reporter, type RunEvent } from '../types.js';
import { Redactor } from '../redact.js';
import { flushed, toJson, type OutputStream } from './format.js';

export interface JsonReporterOptions {
  /** Masks secrets in every string of every event (keys included). */
  redactor?: Redactor;
  /** Clock, for tests. */
  now?: () => Date;
}

export class JsonReporter implements Reporter {
  private readonly redactor: Redactor;
  private readonly now: () => Date;
  private closed = false;

  constructor(
    private readonly stream: OutputStream,
    opts: JsonReporterOptions = {},
  ) {
    this.redactor = opts.redactor ?? new Redactor();
    this.now = opts.now ?? (() => new Date());
  }

  event(e: RunEvent): void {
    // Redact the data, not the serialised text: a secret with quotes or backslashes is escaped in JSON.
    // redactDeep also copies to plain data (no cycles), so the line always serialises.
    const line = toJson({ v: EVENT_SCHEMA_VERSION, ts: this.now().toISOString(), ...this.redactor.redactDeep(e) });
    // No second pass over the text: a secret like `":` would break the line's JSON.
    this.stream.write(line + '\n');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await flushed(this.stream);
  }
}
