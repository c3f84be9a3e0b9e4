// Picks the reporter for the CLI: NDJSON when asked, live listr2 output on a terminal, plain lines
// everywhere else (cron, CI, a pipe to a log file).
import type { Reporter } from '../types.js';
import type { Redactor } from '../redact.js';
import { JsonReporter } from './json.js';
import { ListrReporter } from './listr.js';
import { PlainReporter } from './plain.js';

export { JsonReporter, type JsonReporterOptions } from './json.js';
export { ListrReporter, type ListrReporterOptions, type ListrRendererName } from './listr.js';
export { PlainReporter, type PlainReporterOptions } from './plain.js';
export type { OutputStream } from './format.js';

export interface CreateReporterOptions {
  /** NDJSON events on the stream, nothing else. */
  json?: boolean;
  verbose?: boolean;
  diff?: boolean;
  /** Whether the stream is a terminal; default `stream.isTTY`. */
  isTTY?: boolean;
  /** Default process.stdout. */
  stream?: NodeJS.WriteStream;
  /** ANSI colours for plain output; default: only on a terminal, never when NO_COLOR is set. */
  color?: boolean;
  redactor?: Redactor;
}

export function createReporter(opts: CreateReporterOptions = {}): Reporter {
  const stream = opts.stream ?? process.stdout;
  const isTTY = opts.isTTY ?? stream.isTTY === true;
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
  if (opts.json) return new JsonReporter(stream, { redactor: opts.redactor });
  if (isTTY) {
    return new ListrReporter({
      stream,
      verbose: opts.verbose,
      diff: opts.diff,
      redactor: opts.redactor,
      color: opts.color ?? !noColor,
    });
  }
  return new PlainReporter(stream, {
    verbose: opts.verbose,
    diff: opts.diff,
    redactor: opts.redactor,
    color: opts.color ?? false,
  });
}
