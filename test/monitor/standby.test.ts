// The standby's judgement round by round (src/monitor/standby.ts), in an operator's words.
import test from 'ava';
import { DEFAULTS, START, step, type Memory, type Round, type Settings, type Step } from '../../src/monitor/standby.js';

const S: Settings = { ...DEFAULTS, holdTimeMs: 30_000, cooldownMs: 10_000 };
const witness = (reached: boolean, sip: boolean, name = 'cc') => ({ name, reached, sip });

/** Plays rounds 2 s apart from START; returns every step. */
function play(rounds: Partial<Round>[], s: Settings = S, from: Memory = START): Step[] {
  let m = from;
  return rounds.map((r, i) => {
    const st = step(m, { now: i * 2000, mainSip: false, mainHost: false, witnesses: [witness(true, false)], selfServing: false, paused: false, ...r }, s);
    m = st.memory;
    return st;
  });
}
const actions = (steps: Step[]) => steps.map((s) => s.action).filter(Boolean);
const dead = { mainSip: false, mainHost: false };

test('the main silent from the standby and a witness for 3 rounds: take over on the third, not before', (t) => {
  const steps = play([dead, dead, dead]);
  t.deepEqual(steps.map((s) => s.action), [null, null, 'takeover']);
  t.regex(steps[2].reason, /nothing answers from the main, seen by the standby and cc, 3 rounds in a row/);
});

test('a main that answers one round in three never causes a switch (no flapping)', (t) => {
  const rounds = Array.from({ length: 30 }, (_, i) => (i % 3 === 2 ? { mainSip: true, mainHost: true } : dead));
  t.deepEqual(actions(play(rounds)), []);
});

test('no witness reachable: degraded, never a takeover, and it says how to force one', (t) => {
  const steps = play(Array.from({ length: 10 }, () => ({ ...dead, witnesses: [witness(false, false), witness(false, false, 'edge')] })));
  t.deepEqual(actions(steps), []);
  t.is(steps[9].memory.state, 'degraded');
  t.regex(steps[9].reason, /no witness answers \(cc, edge\).*failover\.yml -e force=true/);
});

test('an inventory without witnesses is degraded too, unless require_witness is off', (t) => {
  t.deepEqual(actions(play([dead, dead, dead, dead])), ['takeover'], 'with a reached witness');
  const alone = Array.from({ length: 5 }, () => ({ ...dead, witnesses: [] }));
  t.deepEqual(actions(play(alone)), []);
  t.deepEqual(actions(play(alone, { ...S, requireWitness: false })), ['takeover']);
});

test('a partition between standby and main while a witness still hears the main: no takeover', (t) => {
  const steps = play(Array.from({ length: 30 }, () => ({ ...dead, witnesses: [witness(true, true)] })));
  t.deepEqual(actions(steps), []);
  t.regex(steps[29].reason, /the main answers SIP \(from cc\)/);
});

test('a takeover that has not shown yet is not repeated before the cool-down', (t) => {
  const steps = play(Array.from({ length: 10 }, () => dead), { ...S, cooldownMs: 10_000 });
  // Takeover at t = 4 s; the next one may come at t = 14 s (round 7).
  t.deepEqual(steps.map((s) => s.action), [null, null, 'takeover', null, null, null, null, 'takeover', null, null]);
});

test('the standby serves and the main answers SIP again: fence it, once per cool-down', (t) => {
  const steps = play(Array.from({ length: 4 }, () => ({ mainSip: true, mainHost: true, selfServing: true })));
  t.deepEqual(steps.map((s) => s.action), ['fence', null, null, null]);
});

test('a main that went away and came back is handed back after the hold time, not before', (t) => {
  const rounds: Partial<Round>[] = [
    { ...dead, selfServing: true },
    ...Array.from({ length: 16 }, () => ({ mainSip: false, mainHost: true, selfServing: true })),
  ];
  const steps = play(rounds);
  const at = steps.findIndex((s) => s.action === 'handback');
  // Back at round 1 (t = 2 s); 30 s hold: the hand-back comes at t = 32 s (round 16), not earlier.
  t.is(at, 16);
  t.true(steps.slice(1, 16).every((s) => s.memory.state === 'holding'));
});

test('a half-dead main (its host never went away) is not handed back by itself; auto_failback false neither', (t) => {
  const halfDead = Array.from({ length: 40 }, () => ({ mainSip: false, mainHost: true, selfServing: true }));
  const steps = play(halfDead);
  t.deepEqual(actions(steps), []);
  t.regex(steps[39].reason, /never went away.*run failback\.yml/);
  const back = [{ ...dead, selfServing: true }, ...halfDead];
  t.deepEqual(actions(play(back, { ...S, autoFailback: false })), []);
});

test('while an operator run pauses the monitor, nothing is done', (t) => {
  const steps = play(Array.from({ length: 10 }, () => ({ ...dead, paused: true })));
  t.deepEqual(actions(steps), []);
  t.is(steps[9].memory.state, 'paused');
});
