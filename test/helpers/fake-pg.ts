// A PostgreSQL server in a test, as far as the pg client can tell: the wire protocol (startup, simple
// and extended queries) over an in-memory stream, with the SQL answered by the test's own handler.
// Hand it to a FakeTransport's openTcp: a plugin then reads and writes "rows" that the test asserts
// on, with no process, port or database anywhere.
import { Duplex } from 'node:stream';

export interface FakeResult {
  /** Column names and types; none: a command without rows (NoData). */
  fields?: { name: string; type: 'bool' | 'int4' | 'text' }[];
  rows?: unknown[][];
  /** The command tag, e.g. "UPDATE 1", "SELECT 2", "BEGIN". */
  command: string;
}

/** Answers one statement: its SQL and its parameters (text, as the client sent them; null for NULL). */
export type SqlHandler = (sql: string, params: (string | null)[]) => FakeResult;

const OIDS = { bool: 16, int4: 23, text: 25 } as const;

function msg(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const cstr = (s: string) => Buffer.from(s + '\0', 'utf8');
const i16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

function text(v: unknown, type: string): string {
  if (type === 'bool') return v ? 't' : 'f';
  return String(v);
}

function rowMessages(r: FakeResult, withDescription: boolean): Buffer[] {
  const out: Buffer[] = [];
  if (withDescription) {
    if (r.fields?.length) {
      const parts = [i16(r.fields.length)];
      for (const f of r.fields) parts.push(cstr(f.name), i32(0), i16(0), i32(OIDS[f.type]), i16(-1), i32(-1), i16(0));
      out.push(msg('T', Buffer.concat(parts)));
    } else out.push(msg('n'));
  }
  for (const row of r.rows ?? []) {
    const parts = [i16(row.length)];
    row.forEach((v, i) => {
      if (v === null || v === undefined) parts.push(i32(-1));
      else {
        const b = Buffer.from(text(v, r.fields?.[i]?.type ?? 'text'), 'utf8');
        parts.push(i32(b.length), b);
      }
    });
    out.push(msg('D', Buffer.concat(parts)));
  }
  out.push(msg('C', cstr(r.command)));
  return out;
}

function errorMessage(e: unknown): Buffer {
  const m = e instanceof Error ? e.message : String(e);
  return msg('E', Buffer.concat([Buffer.from('SERROR\0'), Buffer.from('C42601\0'), Buffer.from(`M${m}\0`), Buffer.from([0])]));
}

/** One connection's server side. */
class Session {
  private buf = Buffer.alloc(0);
  private started = false;
  private sql = '';
  private params: (string | null)[] = [];
  private failed = false;

  constructor(private readonly handler: SqlHandler, private readonly send: (b: Buffer) => void) {}

  feed(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (!this.started) {
        if (this.buf.length < 4) return;
        const len = this.buf.readInt32BE(0);
        if (this.buf.length < len) return;
        this.buf = this.buf.subarray(len);
        this.started = true;
        this.send(Buffer.concat([msg('R', i32(0)), msg('S', Buffer.concat([cstr('server_version'), cstr('15.0')])), msg('K', Buffer.concat([i32(1), i32(2)])), msg('Z', Buffer.from('I'))]));
        continue;
      }
      if (this.buf.length < 5) return;
      const type = String.fromCharCode(this.buf[0]);
      const len = this.buf.readInt32BE(1);
      if (this.buf.length < len + 1) return;
      const body = this.buf.subarray(5, len + 1);
      this.buf = this.buf.subarray(len + 1);
      this.message(type, body);
    }
  }

  private message(type: string, body: Buffer): void {
    switch (type) {
      case 'Q': {
        const sql = body.toString('utf8').replace(/\0$/, '');
        try {
          this.send(Buffer.concat(rowMessages(this.handler(sql, []), true)));
        } catch (e) {
          this.send(errorMessage(e));
        }
        this.send(msg('Z', Buffer.from('I')));
        return;
      }
      case 'P': {
        const nameEnd = body.indexOf(0);
        const sqlEnd = body.indexOf(0, nameEnd + 1);
        this.sql = body.subarray(nameEnd + 1, sqlEnd).toString('utf8');
        this.failed = false;
        this.send(msg('1'));
        return;
      }
      case 'B': {
        let at = body.indexOf(0) + 1; // portal
        at = body.indexOf(0, at) + 1; // statement
        const nFormats = body.readInt16BE(at);
        at += 2 + 2 * nFormats;
        const n = body.readInt16BE(at);
        at += 2;
        this.params = [];
        for (let i = 0; i < n; i++) {
          const len = body.readInt32BE(at);
          at += 4;
          if (len < 0) this.params.push(null);
          else {
            this.params.push(body.subarray(at, at + len).toString('utf8'));
            at += len;
          }
        }
        this.send(msg('2'));
        return;
      }
      case 'D':
        return; // answered with Execute: the description and the rows together
      case 'E': {
        if (this.failed) return;
        try {
          this.send(Buffer.concat(rowMessages(this.handler(this.sql, this.params), true)));
        } catch (e) {
          this.failed = true;
          this.send(errorMessage(e));
        }
        return;
      }
      case 'S':
        this.send(msg('Z', Buffer.from('I')));
        return;
      case 'X':
      default:
        return;
    }
  }
}

/** A new connection to the fake server: the client's end of the stream. */
export function fakePgConnection(handler: SqlHandler): Duplex {
  let session: Session;
  const client = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      session.feed(chunk);
      cb();
    },
    final(cb) {
      client.push(null);
      cb();
    },
  });
  session = new Session(handler, (b) => client.push(b));
  return client;
}
