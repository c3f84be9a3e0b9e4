// service planning as data: the tool's status output in (domain.md §10), the planned change, the
// command run and the registered facts out.
import test from 'ava';
import type { FakeRule } from '../../src/core/transport/fake.js';
import { service } from '../../src/plugins/service.js';
import { parseServiceStatus } from '../../src/xivo/services.js';
import { runCases } from '../helpers/plugin-cases.js';

const plugin = service;

const TELEPHONY = ['xivo-provd', 'asterisk'];
const ALL = ['postgresql', 'nginx', 'xivo-confd', ...TELEPHONY];
const statusOut = (units: Record<string, string>) =>
  'Checking database...\n\tOK\nChecking services...\n' + Object.entries(units).map(([n, s]) => `\t${s}\t\t${n}`).join('\n') + '\n';
const all = (s: string, over: Record<string, string> = {}) => ({ ...Object.fromEntries(ALL.map((u) => [u, s])), ...over });
const rcOf = (u: Record<string, string>) => (Object.values(u).includes('stopped') ? 1 : Object.values(u).includes('failed') ? 2 : 0);

/** A PBX whose `<tool> status` answers from the units given (group all, xivo = telephony). */
function pbx(units: Record<string, string>, disabled = false, after?: Record<string, string>): FakeRule[] {
  let now = units;
  const status = (group: string) => {
    const u = group === 'xivo' ? Object.fromEntries(TELEPHONY.map((n) => [n, now[n]])) : now;
    return statusOut(u) + `@rc ${rcOf(u)}\n` + (disabled ? '@disabled\n' + statusOut(Object.fromEntries(TELEPHONY.map((n) => [n, now[n]]))).split('\n').map((l) => '@telephony' + l).join('\n') + '\n' : '');
  };
  return [
    { match: /xivo-service status (all|default|xivo)/, reply: (cmd) => ({ stdout: status(/status (\w+)/.exec(cmd)![1]) }) },
    {
      match: /xivo-service (start|stop|restart|enable|disable)|xivo-manage-slave-services/,
      reply: () => {
        if (after) now = after;
        return { stdout: 'ok\n' };
      },
    },
  ];
}

runCases(test, [
  {
    title: 'all started and already running: ok, units registered as facts',
    plugin,
    params: { name: 'all', state: 'started' },
    host: pbx(all('running')),
    expect: {
      changes: [],
      noop: 'xivo-service all already started',
      commands: ['xivo-service status all'],
      result: { running: true, tool: 'xivo-service', units: all('running'), facts: { services: all('running') } },
    },
  },
  {
    title: 'all started with asterisk stopped: one start, then the new status is registered',
    plugin,
    params: { name: 'all', state: 'started' },
    host: pbx(all('running', { asterisk: 'stopped' }), false, all('running')),
    expect: {
      changes: ['start all (xivo-service start all)'],
      commands: ['status all', /xivo-service start all$/, 'status all'],
      result: { running: true, units: all('running') },
    },
  },
  {
    title: 'restarted is always a change, and ready waits for status all',
    plugin,
    params: { name: 'default', state: 'restarted', ready: true, interval: 0.01 },
    host: pbx(all('running')),
    expect: { changes: ['restart default (xivo-service restart default)'], commands: ['status default', /restart default$/, 'status all', 'status default'] },
  },
  {
    title: 'a failed unit is not running: started plans a start',
    plugin,
    params: { name: 'all', state: 'started' },
    check: true,
    host: pbx(all('running', { 'xivo-confd': 'failed' })),
    expect: { changes: ['start all (xivo-service start all)'], commands: ['status all'], result: { running: false, units: { 'xivo-confd': 'failed' } } },
  },
  {
    title: 'on a standby (telephony disabled) started counts only the other units',
    plugin,
    params: { name: 'all', state: 'started' },
    host: pbx(all('running', { asterisk: 'stopped', 'xivo-provd': 'stopped' }), true),
    expect: { changes: [], noop: /already started/, result: { running: true, enabled: false } },
  },
  {
    title: 'standby-services started on a standby: xivo-manage-slave-services start',
    plugin,
    params: { name: 'standby-services', state: 'started' },
    host: pbx(all('running', { asterisk: 'stopped', 'xivo-provd': 'stopped' }), true),
    expect: { changes: ['start the standby services (xivo-manage-slave-services start)'], commands: ['status xivo', /^PATH=.*; xivo-manage-slave-services start$/, 'status xivo'] },
  },
  {
    title: 'standby-services stopped when already stopped and disabled: ok',
    plugin,
    params: { name: 'standby-services', state: 'stopped' },
    host: pbx(all('running', { asterisk: 'stopped', 'xivo-provd': 'stopped' }), true),
    expect: { changes: [], noop: 'the standby services already stopped' },
  },
  {
    title: 'disabled on a PBX group is the telephony flag: xivo-service disable',
    plugin,
    params: { name: 'all', state: 'disabled' },
    host: pbx(all('running')),
    expect: { changes: ['disable all (xivo-service disable)'] },
  },
  {
    title: 'wazo flavour uses wazo-service',
    plugin,
    params: { name: 'all', state: 'started' },
    vars: { flavour: 'wazo' },
    check: true,
    host: [{ match: 'wazo-service status all', reply: { stdout: statusOut({ asterisk: 'stopped' }) + '@rc 1\n' } }],
    expect: { changes: ['start all (wazo-service start all)'] },
  },
  {
    title: 'a plain unit goes through systemctl',
    plugin,
    params: { name: 'xivo-provd', state: 'restarted' },
    host: [
      { match: 'xivocc-dcomp edge-dcomp', reply: { stdout: '' } },
      { match: 'systemctl is-active', reply: { stdout: 'active\nenabled\n' } },
      { match: "systemctl restart -- xivo-provd", reply: {} },
    ],
    expect: { changes: ['restart xivo-provd (systemctl restart -- xivo-provd)'], result: { units: { 'xivo-provd': 'running' }, enabled: true } },
  },
  {
    title: 'a CC container goes through xivocc-dcomp',
    plugin,
    params: { name: 'xuc', state: 'started' },
    check: true,
    host: [
      { match: 'xivocc-dcomp edge-dcomp', reply: { stdout: 'xivocc-dcomp\n' } },
      { match: /^xivocc-dcomp ps$/, reply: { stdout: 'NAME                   IMAGE                              SERVICE    STATUS\nxivocc-xuc-1           xivoxc/xuc:2025.10.latest          xuc        Exited (0)\n' } },
    ],
    expect: { changes: ['start xuc (xivocc-dcomp start xuc)'], result: { tool: 'xivocc-dcomp', units: { xuc: 'stopped' } } },
  },
  {
    title: 'ready without state waits until every unit runs, with progress, bounded by timeout',
    plugin,
    params: { name: 'all', ready: true, timeout: 0.05, interval: 0.01 },
    host: pbx(all('running', { asterisk: 'stopped' })),
    expect: { error: /xivo-service all not ready after 0\.05 s: not running: asterisk stopped/, errorData: { units: { asterisk: 'stopped' } } },
  },
  {
    title: 'a failing start fails with its output',
    plugin,
    params: { name: 'all', state: 'started' },
    host: [
      { match: 'status all', reply: { stdout: statusOut({ asterisk: 'stopped' }) + '@rc 1\n' } },
      { match: 'xivo-service start all', reply: { code: 1, stdout: 'Waiting for asterisk to start... NOK\n' } },
    ],
    expect: { error: /xivo-service start all exited with 1: Waiting for asterisk to start\.\.\. NOK/, errorData: { rc: 1 } },
  },
  {
    title: 'standby-services cannot be restarted',
    plugin,
    params: { name: 'standby-services', state: 'restarted' },
    host: pbx(all('running')),
    expect: { error: /can be started or stopped, not restarted/ },
  },
  {
    title: 'xivo-service with a plain unit is refused',
    plugin,
    params: { name: 'asterisk', tool: 'xivo-service', state: 'started' },
    expect: { error: /use tool: systemctl/, commands: [] },
  },
]);

test('the documented status output parses into units (database line ignored)', (t) => {
  const out = 'Checking database...\n\tNOK (current revision is None)\nChecking services...\n\trunning\t\tpostgresql\n\tstopped\t\tasterisk\n\tfailed\t\txivo-confd\n\tunknown\t\tmonit\n';
  t.deepEqual(parseServiceStatus(out), { postgresql: 'running', asterisk: 'stopped', 'xivo-confd': 'failed', monit: 'unknown' });
});
