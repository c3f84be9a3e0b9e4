// Masks secret values in everything shown to the operator. The engine hides no_log results itself;
// the reporters run every string through one Redactor as a last line of defence, so a password that
// leaks into a message, a diff or a registered result is still never printed.
import { HaplayError, isHaplayError } from './errors.js';
import { quote } from './shell.js';

export const MASK = '********';

/** Secrets shorter than this are ignored: masking "no" or "1" would garble every line. */
export const MIN_SECRET_LENGTH = 3;

/** Each line of a multi-line secret is masked on its own from this length (shorter lines are too common). */
export const MIN_SECRET_LINE_LENGTH = 8;

export class Redactor {
  private readonly secrets = new Set<string>();
  /** Rebuilt lazily after add(): one alternation, longest secret first so it wins over its prefixes. */
  private pattern: RegExp | null = null;

  /**
   * Registers a secret; strings shorter than 3 characters (and non-strings) are ignored. The forms a
   * secret takes once transformed are registered too: shell-quoted ({{quote}}), JSON-escaped ({{json}},
   * debug of a registered result, -v, events), combinations of them, and for a multi-line secret each
   * of its lines of 8 characters or more (output indents them).
   */
  add(value: string): void {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || this.secrets.has(value)) return;
    // Up to three transformations deep: the JSON of a result holding a quoted secret is j(q(v)), shown
    // with -v inside another JSON document.
    const forms = new Set([value]);
    for (let depth = 0; depth < 3; depth++) {
      for (const f of [...forms]) {
        forms.add(quote(f));
        forms.add(JSON.stringify(f).slice(1, -1));
      }
    }
    if (/[\r\n]/.test(value)) value.split(/\r?\n|\r/).map((l) => l.trim()).filter((l) => l.length >= MIN_SECRET_LINE_LENGTH).forEach((l) => forms.add(l));
    for (const f of forms) this.secrets.add(f);
    this.pattern = null;
  }

  /** How many secrets are held (for tests and diagnostics; the values themselves are never exposed). */
  get size(): number {
    return this.secrets.size;
  }

  /** The text with every occurrence of every secret replaced by `********`. */
  redact(text: string): string {
    if (this.secrets.size === 0 || text.length < MIN_SECRET_LENGTH) return text;
    if (!this.pattern) {
      const sorted = [...this.secrets].sort((a, b) => b.length - a.length);
      this.pattern = new RegExp(sorted.map(escapeRegExp).join('|'), 'g');
    }
    return text.replace(this.pattern, MASK);
  }

  /**
   * A plain-data copy of the value with every string in it redacted (object keys too), for events and
   * registered results before they are serialised. Always copies, secrets or not, so the result is safe
   * to serialise: cycles become "[Circular]", Buffers their UTF-8 text, Errors {name, message}.
   */
  redactDeep<T>(value: T): T {
    return this.walk(value, new WeakSet()) as T;
  }

  private walk(value: unknown, seen: WeakSet<object>): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (value === null || typeof value !== 'object') return value;
    if (Buffer.isBuffer(value)) return this.redact(value.toString('utf8'));
    if (value instanceof Date) return value;
    if (seen.has(value)) return '[Circular]';
    seen.add(value);
    let out: unknown;
    if (Array.isArray(value)) {
      out = value.map((v) => this.walk(v, seen));
    } else if (value instanceof Error) {
      out = { name: value.name, message: this.redact(value.message) };
    } else {
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) o[this.redact(k)] = this.walk(v, seen);
      out = o;
    }
    seen.delete(value);
    return out;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The same error with every secret masked in its message, hint, location and further problems: for
 * the paths that print an error directly (exit 4, internal errors), past every reporter.
 */
export function redactError(e: unknown, r: Redactor): unknown {
  if (isHaplayError(e)) {
    const where = Object.fromEntries(Object.entries(e.where).map(([k, v]) => [k, typeof v === 'string' ? r.redact(v) : v]));
    const out = new HaplayError(e.code, r.redact(e.message), {
      where,
      hint: e.hint === undefined ? undefined : r.redact(e.hint),
      more: e.more.map((m) => redactError(m, r) as HaplayError),
      data: e.data === undefined ? undefined : r.redactDeep(e.data),
    });
    out.stack = r.redact(e.stack ?? '');
    return out;
  }
  if (e instanceof Error) {
    const out = new Error(r.redact(e.message));
    out.stack = r.redact(e.stack ?? '');
    return out;
  }
  return typeof e === 'string' ? r.redact(e) : e;
}
