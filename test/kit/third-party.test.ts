// A plugin written as a third party writes it: through the package's own name (`haplay/kit`,
// `haplay/types`, resolved by package.json "exports" to dist/, so run after `npm run build`).
import test from 'ava';
import { definePlugin, defineFact, quote, runOrFail, sleep } from 'haplay/kit';
import type { Plan, Plugin } from 'haplay/types';
import { FakeTransport } from '../../src/core/transport/fake.js';
import { makeTaskContext } from '../helpers/plugin-cases.js';

interface MotdParams {
  line: string;
}

const motdLines = defineFact({
  what: 'the message of the day',
  command: 'cat /etc/motd 2>/dev/null || true',
  parse: (stdout) => stdout.split('\n').filter(Boolean),
});

const motd: Plugin<MotdParams> = definePlugin<MotdParams>({
  name: 'motd',
  description: 'A line in /etc/motd',
  schema: { type: 'object', properties: { line: { type: 'string', description: 'The line' } }, required: ['line'], additionalProperties: false },
  async plan(p, ctx): Promise<Plan> {
    if ((await ctx.fact(motdLines)).includes(p.line)) return { changes: [], noop: '/etc/motd already says it' };
    return {
      changes: [{ summary: `append "${p.line}" to /etc/motd`, apply: async () => void (await runOrFail(ctx.transport, `printf '%s\\n' ${quote(p.line)} >> /etc/motd`, 'append to /etc/motd')) }],
    };
  },
});

test('a plugin built with the kit reads a fact, plans nothing when the host is already right', async (t) => {
  const host = new FakeTransport('pbx1').on(/^cat \/etc\/motd/, { stdout: 'Welcome\nHA: main\n' });
  const plan = await motd.plan({ line: 'HA: main' }, makeTaskContext(host).ctx);
  t.deepEqual(plan, { changes: [], noop: '/etc/motd already says it' });
});

test('its change fails with the last line of stderr, and the data an operator registers', async (t) => {
  const host = new FakeTransport('pbx1')
    .on(/^cat \/etc\/motd/, { stdout: 'Welcome\n' })
    .on(/^printf/, { code: 1, stderr: 'sh: 1: cannot create /etc/motd: Read-only file system\n' });
  const plan = await motd.plan({ line: 'HA: main' }, makeTaskContext(host).ctx);
  t.deepEqual(plan.changes.map((c) => c.summary), ['append "HA: main" to /etc/motd']);
  const e = await t.throwsAsync(plan.changes[0].apply());
  t.is(e!.message, 'cannot append to /etc/motd on pbx1: sh: 1: cannot create /etc/motd: Read-only file system');
  t.like((e as unknown as { data: object }).data, { rc: 1 });
  t.is(host.commands[1], "printf '%s\\n' 'HA: main' >> /etc/motd");
});

test("the kit's sleep ends early, rejecting, when the task is aborted", async (t) => {
  const c = new AbortController();
  setTimeout(() => c.abort(new Error('interrupted')), 20);
  const started = Date.now();
  await t.throwsAsync(sleep(10_000, c.signal), { message: 'interrupted' });
  t.true(Date.now() - started < 5000);
});
