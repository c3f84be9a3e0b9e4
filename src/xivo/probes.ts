// Liveness probes of a PBX, each bounded by a timeout and each answering ok/failed with its latency:
// SSH (the server's banner), SIP (an OPTIONS over UDP 5060; any SIP answer means the SIP stack runs),
// PostgreSQL (an SSLRequest on 5432: the server answers S or N before any authentication) and
// nginx + sysconfd (GET /configmgt/api/2.0/sysconfd/get_ha_config over HTTPS, as xivocc-ha-monitoring).
// Two vantage points: "standby" (through a host's transport: TCP forwarded by its SSH connection, SIP
// sent by a bash one-liner there) and "control" (this machine's own sockets). No run lock is taken on
// the probed PBX: a probe only connects.
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { isHostAddress, quote } from '../core/shell.js';
import type { Transport } from '../core/types.js';
import { bounded, whyNoConnection } from '../kit/index.js';
import { normalFingerprint, readCa, type TlsTrust } from './tls.js';

export type ProbeName = 'ssh' | 'sip' | 'db' | 'http';
export type Vantage = 'standby' | 'cc' | 'control';

export interface ProbeResult {
  probe: ProbeName;
  from: Vantage;
  ok: boolean;
  /** Milliseconds until the answer (or until the probe gave up). */
  ms: number;
  /** The answer ("SIP/2.0 200 OK", "HTTP 200 node_type=master") or why there was none. */
  detail: string;
  /** http: the HA config the PBX's sysconfd returned, when it parsed. */
  haConfig?: Record<string, unknown>;
}

export const HA_CONFIG_PATH = '/configmgt/api/2.0/sysconfd/get_ha_config';

async function timed(probe: ProbeName, from: Vantage, timeoutMs: number, run: () => Promise<Omit<ProbeResult, 'probe' | 'from' | 'ms'>>): Promise<ProbeResult> {
  const start = Date.now();
  try {
    const r = await bounded(run(), timeoutMs);
    return { probe, from, ms: Date.now() - start, ...r };
  } catch (e) {
    return { probe, from, ok: false, ms: Date.now() - start, detail: whyNoConnection(e) };
  }
}

/** A TCP stream from the vantage point: through a host's transport, or this machine's own socket. */
export type Opener = (host: string, port: number) => Promise<Duplex>;

export function viaTransport(t: Transport): Opener {
  return (host, port) => t.openTcp(host, port);
}

export const direct: Opener = (host, port) =>
  new Promise<Duplex>((resolve, reject) => {
    const s = net.connect({ host, port });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });

/** Reads from the stream until `done` says the bytes so far are an answer (or the stream ends). */
function readUntil(s: Duplex, done: (b: Buffer) => boolean): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let got = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (done(got)) resolve(got);
    });
    s.once('end', () => (got.length ? resolve(got) : reject(new Error('connection closed without an answer'))));
    s.once('close', () => (got.length ? resolve(got) : reject(new Error('connection closed without an answer'))));
    s.once('error', reject);
  });
}

async function withStream<T>(open: Opener, host: string, port: number, timeoutMs: number, use: (s: Duplex) => Promise<T>): Promise<T> {
  const s = await bounded(open(host, port), timeoutMs, (late) => late.destroy());
  s.on('error', () => {});
  try {
    return await use(s);
  } finally {
    s.destroy();
  }
}

export function sshProbe(open: Opener, from: Vantage, host: string, timeoutMs: number, port = 22): Promise<ProbeResult> {
  return timed('ssh', from, timeoutMs, () =>
    withStream(open, host, port, timeoutMs, async (s) => {
      const b = await readUntil(s, (x) => x.includes(10));
      const banner = b.toString('latin1').split(/\r?\n/)[0];
      return banner.startsWith('SSH-') ? { ok: true, detail: banner } : { ok: false, detail: `not an SSH server: ${banner.slice(0, 60)}` };
    }),
  );
}

/** PostgreSQL's SSLRequest: 8 bytes; the server answers one byte, S or N, before any authentication. */
export function dbProbe(open: Opener, from: Vantage, host: string, timeoutMs: number, port = 5432): Promise<ProbeResult> {
  return timed('db', from, timeoutMs, () =>
    withStream(open, host, port, timeoutMs, async (s) => {
      const req = Buffer.alloc(8);
      req.writeUInt32BE(8, 0);
      req.writeUInt32BE(80877103, 4);
      s.write(req);
      const b = await readUntil(s, (x) => x.length >= 1);
      const c = String.fromCharCode(b[0]);
      return c === 'S' || c === 'N' ? { ok: true, detail: 'PostgreSQL answers' } : { ok: false, detail: 'not a PostgreSQL server' };
    }),
  );
}

/**
 * GET https://host/configmgt/api/2.0/sysconfd/get_ha_config: nginx and sysconfd of the PBX answer.
 * The certificate is checked first (see tls.ts): a wrong one fails the probe and says why.
 */
export function httpProbe(open: Opener, from: Vantage, host: string, timeoutMs: number, trust: TlsTrust, port = 443): Promise<ProbeResult> {
  return timed('http', from, timeoutMs, () =>
    withStream(open, host, port, timeoutMs, async (raw) => {
      const sock = tls.connect({
        socket: raw as unknown as net.Socket,
        host,
        servername: net.isIP(host) ? undefined : host,
        rejectUnauthorized: trust.ca !== undefined,
        ca: trust.ca !== undefined ? readCa(trust.ca, host) : undefined,
      });
      const secured = await new Promise<string | null>((resolve) => {
        sock.once('secureConnect', () => resolve(null));
        sock.once('error', (e) => resolve(e.message));
      });
      if (secured !== null) {
        sock.destroy();
        return { ok: false, detail: trust.ca ? `the certificate of ${host} is not trusted by ${trust.ca}: ${secured}` : `TLS failed: ${secured}` };
      }
      if (trust.fingerprint) {
        const got = normalFingerprint(sock.getPeerCertificate().fingerprint256 ?? '');
        if (got !== trust.fingerprint) {
          sock.destroy();
          return { ok: false, detail: `the certificate of ${host} has SHA-256 fingerprint ${colons(got)}, not the ${colons(trust.fingerprint)} pinned in the inventory (someone else answers for it, or its certificate was renewed)` };
        }
      }
      sock.on('error', () => {});
      try {
        const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = http.request({
            host,
            port,
            method: 'GET',
            path: HA_CONFIG_PATH,
            headers: { host, 'user-agent': 'haplay ha-monitor', connection: 'close' },
            createConnection: () => sock as unknown as net.Socket,
          });
          req.on('error', reject);
          req.on('response', (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (text = (text + d).slice(0, 65536)));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
            res.on('error', reject);
          });
          req.end();
        });
        let haConfig: Record<string, unknown> | undefined;
        try {
          const v = JSON.parse(body);
          if (v && typeof v === 'object' && !Array.isArray(v)) haConfig = v as Record<string, unknown>;
        } catch {
          /* not JSON: nginx answered, sysconfd did not */
        }
        if (status === 200 && haConfig) return { ok: true, detail: `HTTP 200, node_type=${String(haConfig.node_type)}`, haConfig };
        return { ok: false, detail: `HTTP ${status}${haConfig ? '' : ' without an HA config (nginx answers, sysconfd does not?)'}` };
      } finally {
        sock.destroy();
      }
    }),
  );
}

function colons(hex: string): string {
  return hex.match(/../g)?.join(':') ?? hex;
}

function optionsMessage(target: string, via: string, port: number): string {
  const rand = () => crypto.randomBytes(6).toString('hex');
  return [
    `OPTIONS sip:${target}:5060 SIP/2.0`,
    `Via: SIP/2.0/UDP ${via}:${port};branch=z9hG4bK${rand()};rport`,
    'Max-Forwards: 70',
    `From: <sip:haplay@${via}>;tag=${rand()}`,
    `To: <sip:${target}:5060>`,
    `Call-ID: ${rand()}@haplay`,
    'CSeq: 1 OPTIONS',
    'User-Agent: haplay ha-monitor',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** A SIP answer's status line, or why it is not one. */
export function sipVerdict(firstLine: string): { ok: boolean; detail: string } {
  const l = firstLine.trim();
  return /^SIP\/2\.0 \d{3}\b/.test(l) ? { ok: true, detail: l } : { ok: false, detail: l ? `not a SIP answer: ${l.slice(0, 60)}` : 'no SIP answer' };
}

/** SIP OPTIONS from this machine. */
export function sipProbeDirect(host: string, timeoutMs: number): Promise<ProbeResult> {
  return timed('sip', 'control', timeoutMs, () => {
    const sock = dgram.createSocket('udp4');
    return new Promise<{ ok: boolean; detail: string }>((resolve, reject) => {
      sock.on('error', reject);
      sock.on('message', (msg) => resolve(sipVerdict(msg.toString('latin1').split('\r\n')[0])));
      // A route that refuses (a blackhole, a partition) fails the connect itself: a probe failure,
      // never an exception thrown in a callback (it would kill the monitor).
      sock.connect(5060, host, (err?: Error) => {
        if (err) return reject(err);
        try {
          const { address, port } = sock.address();
          sock.send(optionsMessage(host, address, port), (e) => e && reject(e));
        } catch (e) {
          reject(e);
        }
      });
    }).finally(() => {
      try {
        sock.close();
      } catch {
        /* already closed */
      }
    });
  });
}

/**
 * SIP OPTIONS sent from a host, through its shell: bash's /dev/udp (a connected UDP socket, so an ICMP
 * "port unreachable" fails at once) and dd reading one datagram. Needs only bash, coreutils' timeout and dd.
 */
export function sipProbeScript(host: string, timeoutMs: number): string {
  // The host may come from ha.conf on the standby: it reaches bash as its own argument ($1), never as code,
  // and only a host name or an address is accepted at all (it also sits in printf's format).
  if (!isHostAddress(host)) throw new Error(`not a host name or address: ${JSON.stringify(host.slice(0, 60))}`);
  const msg = optionsMessage(host, '0.0.0.0', 5060).replace(/\r\n/g, '\\r\\n');
  const secs = Math.max(0.2, timeoutMs / 1000).toFixed(1);
  const body = `exec 3<>"/dev/udp/$1/5060" || exit 3; printf ${quote(msg)} >&3; timeout ${secs} dd bs=4096 count=1 status=none <&3 | head -n 1`;
  return `bash -c ${quote(body)} haplay-sip ${quote(host)} 2>&1`;
}

export function sipProbeVia(t: Transport, from: Vantage, host: string, timeoutMs: number): Promise<ProbeResult> {
  return timed('sip', from, timeoutMs + 2000, async () => {
    const script = sipProbeScript(host, timeoutMs);
    const r = await t.exec(script, { timeoutMs: timeoutMs + 2000 });
    const v = sipVerdict(r.stdout.split('\n')[0].replace(/\r$/, ''));
    if (!v.ok && /refused/i.test(r.stdout)) return { ok: false, detail: 'port unreachable (connection refused)' };
    return v.ok ? v : { ok: false, detail: r.stdout.trim() ? v.detail : `no SIP answer within ${timeoutMs} ms` };
  });
}
