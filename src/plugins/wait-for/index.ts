// Waits until a port answers, a URL is ready, a path appears or disappears, or a command succeeds.
// Waiting is a read, so it happens inside plan() and the task never reports "changed".
import { TaskFailed } from '../../core/errors.js';
import type { TaskContext } from '../../core/types.js';
import { definePlugin, exactlyOne, sleep, whyNoConnection } from '../../kit/index.js';
import { commandSucceeds, pathState, portOpen, urlReady, type Attempt } from './probes.js';

export interface WaitForParams {
  port?: number;
  host: string;
  url?: string;
  status: number;
  validate_certs: boolean;
  path?: string;
  state: 'present' | 'absent';
  contains?: string;
  command?: string;
  timeout: number;
  interval: number;
  delay: number;
}

/** One attempt may not take longer than this, so progress keeps flowing while a SYN goes unanswered. */
const MAX_ATTEMPT_MS = 10_000;
const PROGRESS_EVERY_MS = 5_000;

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    port: { type: 'integer', minimum: 1, maximum: 65535, description: 'Wait until this TCP port accepts a connection.' },
    host: {
      type: 'string',
      minLength: 1,
      default: '127.0.0.1',
      description: 'Address of the port, as the target host sees it (the connection is forwarded through it, no tool needed there).',
    },
    url: {
      type: 'string',
      pattern: '^https?://',
      description: 'Wait until an HTTP or HTTPS GET of this URL, made from the target host, answers with status.',
    },
    status: { type: 'integer', minimum: 100, maximum: 599, default: 200, description: 'HTTP status that means ready (url).' },
    validate_certs: {
      type: 'boolean',
      default: false,
      description: 'Check the HTTPS certificate (url). Off by default: PBX and lab certificates are self-signed.',
    },
    path: { type: 'string', pattern: '^/', description: 'Wait until this path on the host is present or absent (see state).' },
    state: {
      type: 'string',
      enum: ['present', 'absent'],
      default: 'present',
      description: 'path: wait for it to exist (present) or to be gone (absent). With contains, absent means "no line matches any more".',
    },
    contains: {
      type: 'string',
      minLength: 1,
      description: 'url: text the response body must contain. path: a regular expression a line of the file must match.',
    },
    command: { type: 'string', minLength: 1, description: 'Wait until this shell command exits with 0.' },
    timeout: { type: 'number', minimum: 0, default: 60, description: 'Seconds to wait in all (delay included) before failing.' },
    interval: { type: 'number', exclusiveMinimum: 0, default: 1, description: 'Seconds between two checks.' },
    delay: { type: 'number', minimum: 0, default: 0, description: 'Seconds to wait before the first check.' },
  },
};

export const waitFor = definePlugin<WaitForParams>({
  name: 'wait-for',
  description: 'Wait for a port, a URL, a path or a command to be ready (never changes anything)',
  doc: [
    'Give exactly one of port, url, path and command. The check is repeated every interval seconds until it passes or timeout seconds have gone by; the task then fails naming the last error.',
    'Ports and URLs are reached from the target host through the transport (SSH forwarding), so 127.0.0.1 means the target itself and nothing has to be installed there.',
  ].join('\n\n'),
  schema,
  examples: [
    { title: 'PostgreSQL on the standby', yaml: '- wait-for:\n    port: 5432\n    host: "{{standby_ip}}"\n    timeout: 120' },
    { title: 'xivo-confd answers', yaml: '- wait-for:\n    url: https://127.0.0.1:9486/1.1/api/api.yml\n    status: 200' },
    { title: 'Sentinel file', yaml: '- wait-for:\n    path: /var/lib/wazo/is-secondary' },
    { title: 'A service is active', yaml: '- wait-for:\n    command: systemctl is-active asterisk\n    interval: 2' },
  ],

  async plan(p, ctx) {
    const kind = exactlyOne(p, ['port', 'url', 'path', 'command'], 'wait-for');
    const { what, failing, attempt } = checkFor(kind, p, ctx);
    const start = Date.now();
    const deadline = start + p.timeout * 1000;
    const elapsed = () => Math.round((Date.now() - start) / 100) / 10;
    const stopped = (e: unknown) =>
      new TaskFailed(`stopped waiting for ${what}: ${e instanceof Error ? e.message : String(e)}`, { elapsed: elapsed(), attempts });

    let attempts = 0;
    let last = '';
    let lastProgress = start;
    try {
      if (p.delay > 0) await sleep(p.delay * 1000, ctx.signal);
      for (;;) {
        attempts++;
        const err = await attempt(Math.min(Math.max(deadline - Date.now(), 100), MAX_ATTEMPT_MS)).catch(whyNoConnection);
        if (err === null) {
          return { changes: [], result: { elapsed: elapsed(), attempts }, noop: `${what} ready after ${elapsed()} s` };
        }
        last = err;
        if (Date.now() >= deadline) break;
        if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
          lastProgress = Date.now();
          ctx.progress(`waiting for ${what}: ${Math.round(elapsed())} s`);
        }
        await sleep(Math.min(p.interval * 1000, deadline - Date.now()), ctx.signal);
      }
    } catch (e) {
      if (ctx.signal.aborted) throw stopped(e);
      throw e;
    }
    throw new TaskFailed(
      `${what} ${failing} after ${p.timeout} s (last error: ${last})`,
      { elapsed: elapsed(), attempts, timed_out: true, last_error: last },
      'raise timeout if it is only slow',
    );
  },
});

function checkFor(kind: string, p: WaitForParams, ctx: TaskContext): { what: string; failing: string; attempt: Attempt } {
  const t = ctx.transport;
  switch (kind) {
    case 'port':
      return { what: `${p.host}:${p.port}`, failing: 'not reachable', attempt: portOpen(t, p.host, p.port!) };
    case 'url': {
      let url: URL;
      try {
        url = new URL(p.url!);
      } catch {
        throw new TaskFailed(`url ${p.url} is not a valid URL`);
      }
      const attempt = urlReady(t, url, { status: p.status, contains: p.contains, validateCerts: p.validate_certs });
      return { what: p.url!, failing: 'not ready', attempt };
    }
    case 'path': {
      if (p.contains !== undefined) {
        try {
          new RegExp(p.contains);
        } catch (e) {
          throw new TaskFailed(`contains is not a valid regular expression: ${(e as Error).message}`);
        }
      }
      const failing = p.state === 'present' ? 'not present' : 'still present';
      return { what: p.path!, failing, attempt: pathState(t, p.path!, p.state, p.contains) };
    }
    default:
      return { what: `\`${p.command}\``, failing: 'did not succeed', attempt: commandSucceeds(t, p.command!) };
  }
}
