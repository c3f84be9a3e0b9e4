// ha-monitor as a plugin, not only its decide(): the defaults an operator relies on at 3 a.m. and the
// wiring around the decision (the standby's own state, the sentinel guard, the command it runs), over
// the fake transport. The SIP probe "from the standby" is a command on the fake host; nothing listens
// anywhere. Only the from_control case sends one UDP datagram to 127.0.0.1 and asserts that the probe
// ran, never what it found.
import test from 'ava';
import { haMonitor } from '../../src/plugins/ha-monitor/index.js';
import { decide, standbyDecision } from '../../src/plugins/ha-monitor/decide.js';
import type { ProbeName, ProbeResult, Vantage } from '../../src/xivo/probes.js';
import type { FakeRule } from '../../src/core/transport/fake.js';
import { FakeTransport } from '../../src/core/transport/fake.js';
import { makeTaskContext, runCase, runPlugin, type PluginCase } from '../helpers/plugin-cases.js';

const SLAVE = '{"node_type": "slave", "remote_address": "10.0.0.11"}';

/** What the standby's probe script prints: ha.conf, the sentinel, the disabled flag, `xivo-service status xivo`. */
function standby(o: { secondary?: boolean; disabled?: boolean; units: 'running' | 'stopped' }): FakeRule {
  const lines = [`@ha ${SLAVE}`];
  if (o.secondary ?? true) lines.push('@secondary');
  if (o.disabled) lines.push('@disabled');
  lines.push('Checking services...', `\t${o.units}\t\tasterisk`, `\t${o.units}\t\txivo-agid`, `@rc ${o.units === 'running' ? 0 : 1}`);
  return { match: /status xivo; echo "@rc \$\?"/, reply: { stdout: lines.join('\n') + '\n' } };
}
const SIP_SILENT: FakeRule = { match: '/dev/udp/', reply: { stdout: '' } };
const sipSilent = (times: number): FakeRule => ({ match: '/dev/udp/', reply: { stdout: '' }, times });
const SIP_ANSWERS: FakeRule = { match: '/dev/udp/', reply: { stdout: 'SIP/2.0 200 OK\r\n' } };
const START: FakeRule = { match: 'xivo-manage-slave-services start', reply: { stdout: 'started\n' } };
const STOP: FakeRule = { match: 'xivo-manage-slave-services stop', reply: { stdout: 'stopped\n' } };

// Fast and local: one probe kind, no pause between rounds, no probe from this machine. The rule under
// test (failures_before_failover) is left to its default.
const quick = { probes: ['sip'], interval: 0, probe_timeout: 0.2, from_control: false };

const cases: PluginCase[] = [
  {
    title: 'one or two lost SIP rounds do not start the standby while the main still serves (default: 3 rounds in a row)',
    plugin: haMonitor,
    params: quick,
    host: [standby({ disabled: true, units: 'stopped' }), sipSilent(2), SIP_ANSWERS],
    expect: {
      changes: [],
      commands: [/status xivo/, /haplay-sip 10\.0\.0\.11 /, /haplay-sip 10\.0\.0\.11 /, /haplay-sip 10\.0\.0\.11 /],
      result: { verdict: 'serving', decision: 'none', consecutive_failures: 0 },
      noop: /already stopped/,
    },
  },
  {
    title: 'the main silent 3 rounds in a row: the standby starts its telephony, after exactly 3 probes',
    plugin: haMonitor,
    params: quick,
    host: [standby({ disabled: true, units: 'stopped' }), SIP_SILENT, START],
    expect: {
      changes: ['start the standby services (xivo-manage-slave-services start): the main is down'],
      commands: [/status xivo/, '/dev/udp/', '/dev/udp/', '/dev/udp/', 'xivo-manage-slave-services start'],
      result: { verdict: 'down', consecutive_failures: 3, decision: 'start' },
    },
  },
  {
    title: 'a standby stopped but still enabled (no disabled flag) is not "stopped": it is stopped and disabled again while the main serves',
    plugin: haMonitor,
    params: quick,
    host: [standby({ disabled: false, units: 'stopped' }), SIP_ANSWERS, STOP],
    expect: {
      changes: ['stop the standby services (xivo-manage-slave-services stop): the main serves'],
      commands: [/status xivo/, '/dev/udp/', 'xivo-manage-slave-services stop'],
      result: { verdict: 'serving', decision: 'stop', telephony: { running: false, stopped: false, disabled: false } },
    },
  },
  {
    title: 'a standby stopped and disabled is left alone while the main serves',
    plugin: haMonitor,
    params: quick,
    host: [standby({ disabled: true, units: 'stopped' }), SIP_ANSWERS],
    expect: { changes: [], commands: [/status xivo/, '/dev/udp/'], noop: /standby services already stopped/ },
  },
  {
    title: 'ha.conf says slave but the is-secondary sentinel is gone: no takeover, not even a probe, when the main is silent',
    plugin: haMonitor,
    params: quick,
    host: [standby({ secondary: false, disabled: true, units: 'stopped' }), SIP_SILENT, START],
    expect: { changes: [], commands: [/status xivo/], noop: /\/var\/lib\/wazo\/is-secondary is missing/ },
  },
];

for (const c of cases) test(`ha-monitor plugin: ${c.title}`, (t) => runCase(t, c));

test('ha-monitor plugin: by default the main is also probed from the control machine, not only from the standby', async (t) => {
  const host = new FakeTransport('pbx1', [standby({ disabled: true, units: 'stopped' }), SIP_SILENT]);
  const { ctx } = makeTaskContext(host, {});
  // report: decide only. One round decides. Whatever 127.0.0.1:5060 answers, a probe from the control
  // machine must have run in that round.
  const { plan, result } = await runPlugin(haMonitor, { probes: ['sip'], interval: 0, probe_timeout: 0.3, failures_before_failover: 1, action: 'report', main_address: '127.0.0.1' }, ctx);
  t.deepEqual(plan.changes, []);
  const probes = (result.rounds as { probes: { probe: string; from: string }[] }[])[0].probes.map((p) => `${p.probe} from ${p.from}`);
  t.deepEqual(probes.sort(), ['sip from control', 'sip from standby']);
});

// ---------------------------------------------------------------------------------------------
// The verdict is what an operator reads when takeover refuses or the standby starts: it must name
// the probes that decided, from where, and what each said.

const probe = (p: ProbeName, from: Vantage, ok: boolean, detail: string, ms: number): ProbeResult => ({ probe: p, from, ok, detail, ms });
const SIP_OK_STANDBY = probe('sip', 'standby', true, 'SIP/2.0 200 OK', 3);
const SIP_OK_CONTROL = probe('sip', 'control', true, 'SIP/2.0 200 OK', 4);
const SIP_SILENT_STANDBY = probe('sip', 'standby', false, 'no SIP answer within 1500 ms', 1500);
const SSH_DOWN_STANDBY = probe('ssh', 'standby', false, 'connection refused', 2);
const SSH_UP_STANDBY = probe('ssh', 'standby', true, 'SSH-2.0-OpenSSH_9.2', 2);
const SIP_REFUSED_CONTROL = probe('sip', 'control', false, 'port unreachable (connection refused)', 1);

test('ha-monitor verdict: serving names every SIP answer, from where and how fast', (t) => {
  const v = decide([[SIP_OK_STANDBY, SSH_DOWN_STANDBY, SIP_OK_CONTROL]], 3);
  t.is(v.reason, 'the main answers SIP OPTIONS (from standby: SIP/2.0 200 OK, 3 ms; from control: SIP/2.0 200 OK, 4 ms)');
  t.deepEqual(v.decided_by, ['sip from standby: ok, SIP/2.0 200 OK (3 ms)', 'sip from control: ok, SIP/2.0 200 OK (4 ms)']);
  t.false(v.host_answers, 'SIP is telephony, not "the host answers"');
  t.is(decide([[SIP_OK_CONTROL]], 3).reason, 'the main answers SIP OPTIONS (from control: SIP/2.0 200 OK, 4 ms)', 'no probe from the standby is not a partition');
});

test('ha-monitor verdict: a partition says what the standby could not reach and why it must not take over', (t) => {
  const v = decide([[SIP_SILENT_STANDBY, SSH_DOWN_STANDBY, SIP_OK_CONTROL]], 3);
  t.is(v.main, 'serving');
  t.is(
    v.reason,
    'the standby cannot reach the main (sip: no SIP answer within 1500 ms; ssh: connection refused), but the main answers SIP from the control machine: it still serves, so the standby must not take over (no split brain; a network partition between them?)',
  );
  t.false(v.host_answers);
});

test('ha-monitor verdict: a crashed Asterisk names the host probes that answer and the SIP probes that did not', (t) => {
  const round = [SIP_SILENT_STANDBY, SSH_UP_STANDBY, SIP_REFUSED_CONTROL];
  const v = decide([round, round, round], 3);
  t.is(v.main, 'down');
  t.is(
    v.reason,
    "the main's host answers (ssh from standby) but its SIP does not (from standby: no SIP answer within 1500 ms; from control: port unreachable (connection refused)): telephony is dead there (Asterisk stopped or crashed), 3 rounds in a row (failures_before_failover: 3)",
  );
  t.deepEqual(v.decided_by, [
    'sip from standby: failed, no SIP answer within 1500 ms (1500 ms)',
    'ssh from standby: ok, SSH-2.0-OpenSSH_9.2 (2 ms)',
    'sip from control: failed, port unreachable (connection refused) (1 ms)',
  ]);
  t.true(v.host_answers);
});

test('ha-monitor verdict: nothing answering once is not decided yet, and says how many rounds are left', (t) => {
  const v = decide([[SIP_SILENT_STANDBY, SSH_DOWN_STANDBY]], 3);
  t.is(v.reason, 'nothing answers from the main (sip from standby: no SIP answer within 1500 ms; ssh from standby: connection refused), 1 of 3 rounds so far: not decided yet');
  t.throws(() => decide([], 3), { message: 'decide: no probe round' });
});

test('ha-monitor decision: report never starts or stops anything, even with the main serving and the standby running', (t) => {
  const serving = decide([[SIP_OK_STANDBY]], 3);
  t.deepEqual(standbyDecision(serving, 'report', { running: true, stopped: false }), { change: null, noop: `main serving: ${serving.reason}` });
});

test('ha-monitor decision: release (failback) fails while the main is not confirmed serving, and says why', (t) => {
  const undecided = decide([[SIP_SILENT_STANDBY]], 3);
  t.deepEqual(standbyDecision(undecided, 'release', { running: true, stopped: false }), { change: null, fail: `the main does not serve yet: ${undecided.reason}` });
  t.deepEqual(standbyDecision(undecided, 'auto', { running: false, stopped: true }), { change: null, noop: undecided.reason });
  t.deepEqual(standbyDecision(undecided, 'auto', { running: true, stopped: false }), { change: null, noop: `the standby already serves; ${undecided.reason}` });
});
