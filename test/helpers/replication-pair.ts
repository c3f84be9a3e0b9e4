// The replication pair as a test sees it: a main and a standby over fake transports, one plugin run
// on the main with the standby reachable as a peer; its plan, commands and refusals checked as data.
import type { ExecutionContext } from 'ava';
import { FakeTransport, type FakeRule } from '../../src/core/transport/fake.js';
import type { Plugin, Vars } from '../../src/core/types.js';
import { makeTaskContext, runPlugin } from './plugin-cases.js';

export interface TwoHostCase {
  title: string;
  plugin: Plugin;
  params: unknown;
  main?: FakeRule[];
  standby?: FakeRule[];
  standbyFiles?: Record<string, string>;
  vars?: Vars;
  check?: boolean;
  expect: {
    changes?: string[];
    main?: (string | RegExp)[];
    standby?: (string | RegExp)[];
    error?: RegExp;
    noop?: RegExp;
    result?: Vars;
    warnings?: RegExp[];
    standbyFiles?: Record<string, string>;
  };
}

export async function runTwo(t: ExecutionContext, c: TwoHostCase): Promise<void> {
  const main = new FakeTransport('pbx-main', c.main ?? []);
  const standby = new FakeTransport('pbx-standby', c.standby ?? []);
  for (const [p, d] of Object.entries(c.standbyFiles ?? {})) standby.files.set(p, { data: Buffer.from(d) });
  const { ctx, warnings } = makeTaskContext(main, { flavour: 'xivo', ...c.vars }, {
    check: c.check,
    transports: { 'pbx-standby': standby },
    groups: { pbx_main: ['pbx-main'], pbx_standby: ['pbx-standby'] },
    hostvars: { 'pbx-standby': { voip_address: '10.0.0.12', flavour: c.vars?.flavour ?? 'xivo' } },
  });
  let out: Awaited<ReturnType<typeof runPlugin>> | undefined;
  let err: unknown;
  try {
    out = await runPlugin(c.plugin, c.params, ctx);
  } catch (e) {
    err = e;
  }
  const e = c.expect;
  if (e.error) {
    t.truthy(err, 'expected a failure');
    t.regex(`${(err as Error)?.message} hint: ${(err as { hint?: string })?.hint}`, e.error);
  } else if (err) throw err;
  if (out) {
    if (e.changes) t.deepEqual(out.plan.changes.map((x) => x.summary), e.changes);
    if (e.noop) t.regex(out.plan.noop ?? '', e.noop);
    if (e.result) t.like(out.result, e.result);
  }
  const cmds = (list: string[], want: (string | RegExp)[] | undefined, who: string) => {
    if (!want) return;
    t.is(list.length, want.length, `${who} commands:\n${list.join('\n---\n')}`);
    want.forEach((w, i) => (typeof w === 'string' ? t.true((list[i] ?? '').includes(w), `${who} ${i}: ${list[i]}`) : t.regex(list[i] ?? '', w)));
  };
  cmds(main.commands, e.main, 'main');
  cmds(standby.commands, e.standby, 'standby');
  for (const w of e.warnings ?? []) t.true(warnings.some((x) => w.test(x)), warnings.join('\n'));
  for (const [p, d] of Object.entries(e.standbyFiles ?? {})) t.is(standby.files.get(p)?.data.toString(), d);
}

