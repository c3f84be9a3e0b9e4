// One attempt of each kind of wait. Each answers null when the condition holds, or why it does not
// (that reason becomes "last error" when the wait times out). None needs a tool on the host beyond
// a shell: ports and URLs go through the transport's TCP forwarding.
import http from 'node:http';
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { quote } from '../../core/shell.js';
import type { Transport } from '../../core/types.js';
import { bounded as boundedMs, lastLine, whyNoConnection } from '../../kit/index.js';

/** wait-for speaks in seconds. */
const bounded = <T>(p: Promise<T>, ms: number, late?: (v: T) => void) =>
  boundedMs(p, ms, late, (x) => `no answer within ${Math.round(x / 100) / 10} s`);

export type Attempt = (budgetMs: number) => Promise<string | null>;

/** Body bytes kept for `contains`; a status page is small, a runaway download is not. */
const MAX_BODY = 1 << 20;

export function portOpen(t: Transport, host: string, port: number): Attempt {
  return async (budgetMs) => {
    const s = await bounded(t.openTcp(host, port), budgetMs, (late) => late.destroy());
    s.destroy();
    return null;
  };
}

export interface UrlOptions {
  status: number;
  contains?: string;
  validateCerts: boolean;
}

export function urlReady(t: Transport, url: URL, o: UrlOptions): Attempt {
  const https = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port) || (https ? 443 : 80);
  return async (budgetMs) => {
    const raw = await bounded(t.openTcp(host, port), budgetMs, (late) => late.destroy());
    const sock: Duplex = https
      ? tls.connect({ socket: raw, servername: isIP(host) ? undefined : host, rejectUnauthorized: o.validateCerts })
      : raw;
    const get = new Promise<string | null>((resolve) => {
      const req = http.request({
        host,
        port,
        method: 'GET',
        path: url.pathname + url.search,
        headers: { host: url.host, 'user-agent': 'haplay wait-for', connection: 'close' },
        createConnection: () => sock as Socket,
      });
      req.on('error', (e) => resolve(whyNoConnection(e)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (b: Buffer) => {
          if (size < MAX_BODY) chunks.push(b);
          size += b.length;
        });
        res.on('error', (e) => resolve(whyNoConnection(e)));
        res.on('end', () => {
          if (res.statusCode !== o.status) return resolve(`status ${res.statusCode}, expected ${o.status}`);
          const body = Buffer.concat(chunks).toString('utf8');
          if (o.contains !== undefined && !body.includes(o.contains)) return resolve(`body does not contain "${o.contains}"`);
          resolve(null);
        });
      });
      req.end();
    });
    try {
      return await bounded(get, budgetMs);
    } finally {
      sock.destroy();
      raw.destroy();
    }
  };
}

export function pathState(t: Transport, path: string, state: 'present' | 'absent', contains?: string): Attempt {
  const re = contains === undefined ? undefined : new RegExp(contains, 'm');
  return async () => {
    let there: boolean;
    if (re) {
      const data = await t.readFile(path);
      there = data !== null && re.test(data.toString('utf8'));
    } else {
      const r = await t.exec(`[ -e ${quote(path)} ]`);
      there = r.code === 0;
    }
    if ((state === 'present') === there) return null;
    if (state === 'present') return re ? `no line matches /${contains}/ (or the file is missing)` : 'the path does not exist';
    return re ? `a line still matches /${contains}/` : 'the path still exists';
  };
}

export function commandSucceeds(t: Transport, command: string): Attempt {
  return async (budgetMs) => {
    const r = await t.exec(command, { timeoutMs: Math.max(budgetMs, 1) });
    if (r.code === 0) return null;
    const why = lastLine(r);
    return `exit ${r.code}${why ? `: ${why}` : ''}`;
  };
}


