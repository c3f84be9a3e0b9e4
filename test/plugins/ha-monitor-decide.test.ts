// ha-monitor's decisions as data: probe results in, verdict and the standby's action out.
import test from 'ava';
import { decide, standbyDecision, type Action } from '../../src/plugins/ha-monitor/decide.js';
import type { ProbeName, ProbeResult, Vantage } from '../../src/xivo/probes.js';
import { pbxActive, ccLogLines, parseStandbyState } from '../../src/plugins/ha-monitor/index.js';
import { sipVerdict } from '../../src/xivo/probes.js';

const P = (probe: ProbeName, from: Vantage, ok: boolean, detail = ok ? 'answers' : 'no answer within 1500 ms'): ProbeResult => ({ probe, from, ok, ms: ok ? 3 : 1500, detail });
const all = (from: Vantage, ok: boolean) => (['sip', 'ssh', 'db', 'http'] as ProbeName[]).map((p) => P(p, from, ok));
const alive = [...all('standby', true), ...all('control', true)];
const dead = [...all('standby', false), ...all('control', false)];
const partitioned = [...all('standby', false), ...all('control', true)];
const asteriskCrashed = [P('sip', 'standby', false), P('ssh', 'standby', true), P('db', 'standby', true), P('http', 'standby', true), P('sip', 'control', false), P('ssh', 'control', true)];

interface Case {
  title: string;
  rounds: ProbeResult[][];
  n?: number;
  main: 'serving' | 'down' | 'undecided';
  consecutive: number;
  reason: RegExp;
}

const cases: Case[] = [
  { title: 'everything answers: serving', rounds: [alive], main: 'serving', consecutive: 0, reason: /answers SIP OPTIONS/ },
  { title: 'nothing answers once: not decided yet', rounds: [dead], main: 'undecided', consecutive: 1, reason: /1 of 3 rounds/ },
  { title: 'nothing answers three rounds in a row: down', rounds: [dead, dead, dead], main: 'down', consecutive: 3, reason: /nothing answers from the main.*3 rounds in a row/ },
  { title: 'a SIP answer resets the count', rounds: [dead, dead, alive], main: 'serving', consecutive: 0, reason: /answers SIP/ },
  { title: 'two failures after an answer: still undecided', rounds: [alive, dead, dead], main: 'undecided', consecutive: 2, reason: /2 of 3/ },
  { title: 'failures_before_failover 1 decides at once', rounds: [dead], n: 1, main: 'down', consecutive: 1, reason: /1 rounds in a row/ },
  {
    title: 'partition: the standby sees nothing, the control machine gets SIP: serving, no split brain',
    rounds: [partitioned, partitioned, partitioned],
    main: 'serving',
    consecutive: 0,
    reason: /standby cannot reach the main.*no split brain/,
  },
  {
    title: 'host answers but SIP does not (crashed Asterisk): down for telephony',
    rounds: [asteriskCrashed, asteriskCrashed, asteriskCrashed],
    main: 'down',
    consecutive: 3,
    reason: /host answers \(ssh from standby, db from standby, http from standby, ssh from control\) but its SIP does not.*Asterisk/,
  },
  {
    title: 'SIP answers only from the standby (control cut off): serving',
    rounds: [[...all('standby', true), ...all('control', false)]],
    main: 'serving',
    consecutive: 0,
    reason: /from standby/,
  },
];

for (const c of cases) {
  test(`decide: ${c.title}`, (t) => {
    const v = decide(c.rounds, c.n ?? 3);
    t.is(v.main, c.main);
    t.is(v.consecutive_failures, c.consecutive);
    t.regex(v.reason, c.reason);
    t.true(v.decided_by.length > 0);
  });
}

const serving = decide([alive], 3);
const down = decide([dead, dead, dead], 3);
const undecided = decide([dead], 3);
const on = { running: true, stopped: false };
const off = { running: false, stopped: true };

const actions: [string, ReturnType<typeof decide>, Action, typeof on, { change: 'start' | 'stop' | null; fail?: RegExp; noop?: RegExp }][] = [
  ['auto, main down, standby stopped: start', down, 'auto', off, { change: 'start' }],
  ['auto, main down, standby serving: nothing', down, 'auto', on, { change: null, noop: /already serves/ }],
  ['auto, main serving, standby serving: stop', serving, 'auto', on, { change: 'stop' }],
  ['auto, main serving, standby stopped: nothing', serving, 'auto', off, { change: null, noop: /already stopped/ }],
  ['auto, undecided: nothing', undecided, 'auto', off, { change: null, noop: /not decided yet/ }],
  ['takeover, main serving: fails with the evidence', serving, 'takeover', off, { change: null, fail: /still serves.*answers SIP/ }],
  ['takeover, main down: start', down, 'takeover', off, { change: 'start' }],
  ['takeover, undecided, standby stopped: fails', undecided, 'takeover', off, { change: null, fail: /not confirmed down/ }],
  ['release, main serving: stop', serving, 'release', on, { change: 'stop' }],
  ['release, main down: fails', down, 'release', on, { change: null, fail: /does not serve yet/ }],
  ['report never changes', down, 'report', off, { change: null, noop: /main down/ }],
];

for (const [title, v, action, tel, want] of actions) {
  test(`standby decision: ${title}`, (t) => {
    const d = standbyDecision(v, action, tel);
    t.is(d.change, want.change);
    if (want.fail) t.regex(d.fail ?? '', want.fail);
    else t.is(d.fail, undefined);
    if (want.noop) t.regex(d.noop ?? '', want.noop);
  });
}

test('CC: a PBX is active when its HA config says so, else when it answered and its SIP answers', (t) => {
  const http = (ok: boolean, haConfig?: Record<string, unknown>): ProbeResult => ({ ...P('http', 'cc', ok), haConfig });
  t.true(pbxActive(http(true, { node_type: 'master' }), P('sip', 'cc', true)));
  t.false(pbxActive(http(true, { node_type: 'slave' }), P('sip', 'cc', false)));
  t.false(pbxActive(http(false), P('sip', 'cc', true)));
  t.false(pbxActive(http(true, { node_type: 'master', active: false }), P('sip', 'cc', true)));
  t.true(pbxActive(http(true, { node_type: 'slave', active: 'true' }), P('sip', 'cc', false)));
});

test("CC: seed 000's syslog lines", (t) => {
  const lines = ccLogLines([{ name: 'pbx-main', address: '10.181.20.12', answered: true, node_type: 'master', sip: false, active: false, detail: '', ms: 3 }], 'Nginx already stopped');
  t.deepEqual(lines, [
    '[RESILIENCE] Querying HA status at https://10.181.20.12/configmgt/api/2.0/sysconfd/get_ha_config',
    '[RESILIENCE] HA config shows active=false',
    '[RESILIENCE] Nginx already stopped',
  ]);
});

test('SIP answers: any status line is a SIP stack that runs', (t) => {
  t.true(sipVerdict('SIP/2.0 200 OK').ok);
  t.true(sipVerdict('SIP/2.0 404 Not Found').ok);
  t.false(sipVerdict('').ok);
  t.false(sipVerdict('bash: connect: Connection refused').ok);
});

test("standby probe: ha.conf, sentinel, disabled flag and the telephony group's status", (t) => {
  const st = parseStandbyState('@ha {"node_type": "slave", "remote_address": "10.77.0.11"}\n@secondary\n@disabled\nChecking services...\n\tstopped\t\tasterisk\n\tstopped\t\txivo-agid\n@rc 1\n');
  t.deepEqual(st.ha, { node_type: 'slave', remote_address: '10.77.0.11' });
  t.true(st.secondary);
  t.true(st.stopped);
  t.false(st.running);
  const serving = parseStandbyState('@ha {"node_type": "slave", "remote_address": "10.77.0.11"}\n@secondary\n\trunning\t\tasterisk\n\trunning\t\txivo-agid\n@rc 0\n');
  t.true(serving.running);
  t.false(serving.stopped);
});
