// The host's own sysconfd (127.0.0.1:8668, plain HTTP, no auth), reached through the host's
// transport: GET /get_ha_config and POST /update_ha_config (domain.md §1).
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { TaskFailed, isHaplayError } from '../core/errors.js';
import type { Transport } from '../core/types.js';
import { HA_PATHS } from './flavour.js';

export interface HttpAnswer {
  status: number;
  body: string;
}

export interface HaConfig {
  node_type: string;
  remote_address: string;
}

/** One HTTP request over a tunnel; null when nothing listens there. */
export async function sysconfdRequest(
  transport: Transport,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  timeoutMs = 60_000,
): Promise<HttpAnswer | null> {
  const { host, port } = HA_PATHS.sysconfd;
  let stream: Duplex;
  try {
    stream = await transport.openTcp(host, port);
  } catch (e) {
    // Refused: no sysconfd on this host. A lost connection is not that: let it through.
    if (isHaplayError(e) && e.code !== 'E_TASK_FAILED') throw e;
    return null;
  }
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = http.request(
      {
        host,
        port,
        method,
        path,
        createConnection: () => stream as unknown as import('node:net').Socket,
        headers: payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          stream.destroy();
          resolve({ status: res.statusCode ?? 0, body: text });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => {
      stream.destroy();
      reject(new TaskFailed(`sysconfd on ${transport.hostName}: ${method} ${path} failed: ${e.message}`));
    });
    req.end(payload);
  });
}

/** sysconfd's view of HA, or null when no sysconfd answers on this host. */
export async function getHaConfig(transport: Transport): Promise<HaConfig | null> {
  const r = await sysconfdRequest(transport, 'GET', '/get_ha_config', undefined, 10_000).catch((e) => {
    if (isHaplayError(e) && e.code !== 'E_TASK_FAILED') throw e;
    return null;
  });
  if (!r || r.status !== 200) return null;
  try {
    const v = JSON.parse(r.body) as HaConfig;
    return v && typeof v === 'object' ? v : null;
  } catch {
    return null;
  }
}

export async function updateHaConfig(transport: Transport, config: HaConfig): Promise<void> {
  const r = await sysconfdRequest(transport, 'POST', '/update_ha_config', config);
  if (!r) throw new TaskFailed(`sysconfd on ${transport.hostName} stopped answering on 127.0.0.1:8668`);
  if (r.status < 200 || r.status >= 300) {
    throw new TaskFailed(`sysconfd on ${transport.hostName} refused the update (HTTP ${r.status}): ${r.body.slice(0, 300)}`, {
      status: r.status,
      body: r.body,
    });
  }
}

/** Python's json.dump with default separators (", " and ": ", non-ASCII escaped), as sysconfd writes ha.conf. */
export function pyJson(v: unknown, indent?: number, level = 0): string {
  if (v === null || v === undefined) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') {
    return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  }
  const nl = indent === undefined ? '' : '\n' + ' '.repeat(indent * (level + 1));
  const end = indent === undefined ? '' : '\n' + ' '.repeat(indent * level);
  const sep = indent === undefined ? ', ' : ',';
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    return '[' + nl + v.map((x) => pyJson(x, indent, level + 1)).join(sep + nl) + end + ']';
  }
  const entries = Object.entries(v as Record<string, unknown>);
  if (!entries.length) return '{}';
  return '{' + nl + entries.map(([k, x]) => `${pyJson(k)}: ${pyJson(x, indent, level + 1)}`).join(sep + nl) + end + '}';
}
