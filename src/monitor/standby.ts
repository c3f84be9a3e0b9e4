// The standby's judgement, round after round: pure, so every scenario is a line of test data.
// A takeover needs the main silent from the standby AND from at least one witness (a majority of
// vantage points): a standby cut off alone never starts its telephony. While the standby serves, a
// main that answers SIP again is fenced (split brain ends), and one that went away and came back is
// handed the service back after it has stayed up for the hold time, through failback.yml.

export interface WitnessView {
  name: string;
  /** The witness answered over SSH and ran its probe. */
  reached: boolean;
  /** The main answered SIP OPTIONS from the witness. */
  sip: boolean;
}

export interface Round {
  now: number;
  /** The main's SIP answers from the standby. */
  mainSip: boolean;
  /** The main's host answers something (SSH banner, PostgreSQL) from the standby. */
  mainHost: boolean;
  witnesses: WitnessView[];
  /** The standby's own SIP answers: it serves. */
  selfServing: boolean;
  /** An operator's run (failback.yml) asked the monitor to keep its hands off. */
  paused: boolean;
}

export interface Settings {
  failuresBeforeFailover: number;
  requireWitness: boolean;
  autoFailback: boolean;
  holdTimeMs: number;
  /** After an action, this long before another (the playbook's effects need a few rounds to show). */
  cooldownMs: number;
}

export const DEFAULTS: Settings = { failuresBeforeFailover: 3, requireWitness: true, autoFailback: true, holdTimeMs: 120_000, cooldownMs: 20_000 };

export type State = 'standing-by' | 'suspecting' | 'degraded' | 'serving' | 'holding' | 'paused';
export type Action = 'takeover' | 'fence' | 'handback' | null;

export interface Memory {
  state: State;
  failures: number;
  /** The main's host was unreachable while the standby served: its return may be handed back. */
  mainWasGone: boolean;
  mainUpSince: number | null;
  lastActionAt: number | null;
}

export const START: Memory = { state: 'standing-by', failures: 0, mainWasGone: false, mainUpSince: null, lastActionAt: null };

export interface Step {
  memory: Memory;
  action: Action;
  reason: string;
}

function mainAnswers(r: Round): string | null {
  if (r.mainSip) return 'the standby';
  return r.witnesses.find((w) => w.reached && w.sip)?.name ?? null;
}

export function step(m: Memory, r: Round, s: Settings): Step {
  if (r.paused) return { memory: { ...m, state: 'paused', failures: 0 }, action: null, reason: 'an operator run (failback.yml) is in progress: the monitor waits' };
  const cooling = m.lastActionAt !== null && r.now - m.lastActionAt < s.cooldownMs;
  const answeredTo = mainAnswers(r);
  if (!r.selfServing) {
    const base = { ...m, mainWasGone: false, mainUpSince: null };
    if (answeredTo) return { memory: { ...base, state: 'standing-by', failures: 0 }, action: null, reason: `the main answers SIP (from ${answeredTo})` };
    const reached = r.witnesses.filter((w) => w.reached);
    if (s.requireWitness && reached.length === 0) {
      const why = r.witnesses.length ? `no witness answers (${r.witnesses.map((w) => w.name).join(', ')})` : 'the inventory names no witness (cc, edge or group witness)';
      return {
        memory: { ...base, state: 'degraded', failures: 0 },
        action: null,
        reason: `the main does not answer SIP from the standby, but ${why}: not taking over on the standby's view alone (failover.yml -e force=true forces it)`,
      };
    }
    const failures = m.failures + 1;
    const seen = ['the standby', ...reached.map((w) => w.name)].join(' and ');
    if (failures < s.failuresBeforeFailover) {
      return { memory: { ...base, state: 'suspecting', failures }, action: null, reason: `no SIP answer from the main seen by ${seen}, ${failures} of ${s.failuresBeforeFailover} rounds` };
    }
    const what = r.mainHost ? "the main's host answers but its telephony does not" : 'nothing answers from the main';
    if (cooling) return { memory: { ...base, state: 'suspecting', failures }, action: null, reason: `${what}: waiting for the last takeover to show` };
    return {
      memory: { ...base, state: 'suspecting', failures, lastActionAt: r.now },
      action: 'takeover',
      reason: `${what}, seen by ${seen}, ${failures} rounds in a row: taking over`,
    };
  }
  // The standby serves.
  const gone = m.mainWasGone || !r.mainHost;
  const upSince = r.mainHost ? (m.mainUpSince ?? r.now) : null;
  const base: Memory = { ...m, failures: 0, mainWasGone: gone, mainUpSince: upSince };
  if (answeredTo) {
    if (cooling) return { memory: { ...base, state: 'serving' }, action: null, reason: `the main answers SIP again (from ${answeredTo}): waiting for the last action to show` };
    // The hold time counts from when the main is quiet again, not from its first answer.
    return { memory: { ...base, state: 'serving', lastActionAt: r.now, mainUpSince: null }, action: 'fence', reason: `the standby serves and the main answers SIP again (from ${answeredTo}): fencing the main` };
  }
  if (s.autoFailback && gone && upSince !== null) {
    const up = r.now - upSince;
    if (up >= s.holdTimeMs && !cooling) {
      return { memory: { ...base, state: 'holding', lastActionAt: r.now }, action: 'handback', reason: `the main has been back for ${Math.round(up / 1000)} s (hold time ${s.holdTimeMs / 1000} s): handing the service back (failback.yml)` };
    }
    return { memory: { ...base, state: 'holding' }, action: null, reason: `the main is back since ${Math.round(up / 1000)} s; hand-back after ${s.holdTimeMs / 1000} s` };
  }
  const why = !r.mainHost ? "the main's host does not answer" : s.autoFailback ? "the main's host never went away (its telephony died): run failback.yml once it is repaired" : 'auto_failback is off: run failback.yml once the main is repaired';
  return { memory: { ...base, state: 'serving' }, action: null, reason: `the standby serves; ${why}` };
}
