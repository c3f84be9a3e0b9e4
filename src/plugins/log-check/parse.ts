// Log lines → timestamped lines, and the matching rules of log-check, as pure functions (tested as data).
// Timestamps come first on a line, after an optional compose prefix ("xuc-1 | "): RFC 3339 (syslog of
// the CC, docker's -t), "YYYY-MM-DD HH:MM:SS,mmm" (sysconfd), "YYYY/MM/DD HH:MM:SS" (nginx) and
// "Mon DD HH:MM:SS" (classic syslog). A stamp without a zone is the host's local time (offset given).

export interface LogLine {
  text: string;
  /** Epoch ms, or null when the line has no stamp of its own and none came before it. */
  at: number | null;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const PREFIX = /^[\w.-]+-\d+\s+\|\s?/;
const ISO = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d:?\d\d)?/;
const NGINX = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)/;
const SYSLOG = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)/;

/**
 * The stamp at the start of a line, in epoch ms; null when there is none.
 * offsetMinutes: the host's UTC offset (e.g. +120 for +02:00), for stamps without a zone.
 */
export function lineTime(line: string, offsetMinutes: number, year = new Date().getUTCFullYear()): number | null {
  const s = line.replace(PREFIX, '');
  let m = ISO.exec(s);
  if (m) {
    const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
    const utc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], ms);
    if (!m[8]) return utc - offsetMinutes * 60_000;
    if (m[8] === 'Z') return utc;
    const z = /^([+-])(\d\d):?(\d\d)$/.exec(m[8])!;
    const off = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3]));
    return utc - off * 60_000;
  }
  m = NGINX.exec(s);
  if (m) return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) - offsetMinutes * 60_000;
  m = SYSLOG.exec(s);
  if (m) {
    const mon = MONTHS.indexOf(m[1]);
    if (mon >= 0) return Date.UTC(year, mon, +m[2], +m[3], +m[4], +m[5]) - offsetMinutes * 60_000;
  }
  return null;
}

/** Splits output into lines; a line without a stamp (a stack trace) takes the stamp of the line before it. */
export function parseLines(text: string, offsetMinutes: number): LogLine[] {
  const out: LogLine[] = [];
  let last: number | null = null;
  for (const raw of text.split('\n')) {
    const text = raw.replace(/\r$/, '');
    if (text === '') continue;
    const at = lineTime(text, offsetMinutes);
    if (at !== null) last = at;
    out.push({ text, at: at ?? last });
  }
  return out;
}

/** "5m", "90s", "2h", "1d", or a bare number of seconds → ms. */
export function durationMs(s: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(s.trim());
  if (!m) return null;
  const k = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * k;
}

/**
 * The epoch ms from which lines count, or null for all of them. `since`: all, run (the start of this
 * haplay run), a duration back from now (5m), or an RFC 3339 time.
 */
export function sinceMs(since: string, now: number, runStart: number): number | null {
  if (since === 'all') return null;
  if (since === 'run') return runStart;
  const d = durationMs(since);
  if (d !== null) return now - d;
  const t = Date.parse(since);
  return Number.isNaN(t) ? NaN : t;
}

export interface Verdict {
  ok: boolean;
  /** What the operator reads. */
  why: string;
}

export interface Expectation {
  expect: 'present' | 'absent' | 'count';
  min?: number;
  max?: number;
}

/** Whether the number of matching lines meets the expectation. */
export function judge(count: number, e: Expectation, what: string): Verdict {
  const n = `${count} line${count === 1 ? '' : 's'}`;
  switch (e.expect) {
    case 'present':
      return count > 0 ? { ok: true, why: `${what}: ${n} found` } : { ok: false, why: `${what}: no line found` };
    case 'absent':
      return count === 0 ? { ok: true, why: `${what}: no line found, as expected` } : { ok: false, why: `${what}: ${n} found, expected none` };
    default: {
      const lo = e.min ?? 0;
      const hi = e.max ?? Infinity;
      const want = lo === hi ? `exactly ${lo}` : hi === Infinity ? `at least ${lo}` : `between ${lo} and ${hi}`;
      return count >= lo && count <= hi ? { ok: true, why: `${what}: ${n} found (${want} expected)` } : { ok: false, why: `${what}: ${n} found, expected ${want}` };
    }
  }
}

/** Lines at or after `from` (null: every line) matching any of the regexes. Lines without a stamp count only when from is null. */
export function matching(lines: LogLine[], regexes: RegExp[], from: number | null): LogLine[] {
  return lines.filter((l) => (from === null || (l.at !== null && l.at >= from)) && regexes.some((r) => r.test(l.text)));
}
