// Probe results in, a verdict on the main out: pure, so every case is a line of test data.
// The main serves when its SIP stack answers from any vantage point (the standby's or the control
// machine's): a standby cut off from a main that still answers elsewhere must not take over (split
// brain). The main is down for telephony when no SIP answer came in `failuresBeforeFailover`
// consecutive rounds, even if its host still answers SSH, PostgreSQL or HTTP (a crashed Asterisk).
import type { ProbeResult } from '../../xivo/probes.js';

export type MainState = 'serving' | 'down' | 'undecided';

export interface Verdict {
  main: MainState;
  /** Why, in the operator's words, naming the evidence that decided. */
  reason: string;
  /** Rounds in a row, counted back from the last, without any SIP answer. */
  consecutive_failures: number;
  /** The main's host answers something (SSH, database, HTTP) in the last round. */
  host_answers: boolean;
  /** The probes that decided: "sip from control: SIP/2.0 200 OK (3 ms)". */
  decided_by: string[];
}

export function describe(r: ProbeResult): string {
  return `${r.probe} from ${r.from}: ${r.ok ? 'ok' : 'failed'}, ${r.detail} (${r.ms} ms)`;
}

export function decide(rounds: ProbeResult[][], failuresBeforeFailover: number): Verdict {
  if (!rounds.length) throw new Error('decide: no probe round');
  const last = rounds[rounds.length - 1];
  const sipOk = last.filter((r) => r.probe === 'sip' && r.ok);
  const others = last.filter((r) => r.probe !== 'sip' && r.ok);
  const host_answers = others.length > 0;
  let consecutive = 0;
  for (let i = rounds.length - 1; i >= 0 && !rounds[i].some((r) => r.probe === 'sip' && r.ok); i--) consecutive++;

  if (sipOk.length) {
    const fromStandby = last.filter((r) => r.from !== 'control');
    const standbyBlind = fromStandby.length > 0 && fromStandby.every((r) => !r.ok);
    const reason = standbyBlind
      ? `the standby cannot reach the main (${fromStandby.map((r) => `${r.probe}: ${r.detail}`).join('; ')}), but the main answers SIP from the control machine: it still serves, so the standby must not take over (no split brain; a network partition between them?)`
      : `the main answers SIP OPTIONS (${sipOk.map((r) => `from ${r.from}: ${r.detail}, ${r.ms} ms`).join('; ')})`;
    return { main: 'serving', reason, consecutive_failures: 0, host_answers, decided_by: sipOk.map(describe) };
  }

  const sipFailed = last.filter((r) => r.probe === 'sip');
  const silent = sipFailed.length ? sipFailed.map((r) => `from ${r.from}: ${r.detail}`).join('; ') : 'no SIP probe ran';
  const what = host_answers
    ? `the main's host answers (${others.map((r) => `${r.probe} from ${r.from}`).join(', ')}) but its SIP does not (${silent}): telephony is dead there (Asterisk stopped or crashed)`
    : `nothing answers from the main (${last.map((r) => `${r.probe} from ${r.from}: ${r.detail}`).join('; ')})`;
  if (consecutive >= failuresBeforeFailover) {
    return {
      main: 'down',
      reason: `${what}, ${consecutive} rounds in a row (failures_before_failover: ${failuresBeforeFailover})`,
      consecutive_failures: consecutive,
      host_answers,
      decided_by: last.map(describe),
    };
  }
  return {
    main: 'undecided',
    reason: `${what}, ${consecutive} of ${failuresBeforeFailover} rounds so far: not decided yet`,
    consecutive_failures: consecutive,
    host_answers,
    decided_by: last.map(describe),
  };
}

export type Action = 'auto' | 'takeover' | 'release' | 'report';

export interface StandbyDecision {
  /** start or stop the standby's telephony, or nothing. */
  change: 'start' | 'stop' | null;
  /** The task fails with this (takeover while the main serves, release while it does not). */
  fail?: string;
  /** Why nothing is done. */
  noop?: string;
}

/** What the standby does with a verdict, given whether its own telephony runs. */
export function standbyDecision(v: Verdict, action: Action, telephony: { running: boolean; stopped: boolean }): StandbyDecision {
  if (v.main === 'serving') {
    if (action === 'takeover') return { change: null, fail: `the main still serves: ${v.reason}` };
    if (action === 'report') return { change: null, noop: `main serving: ${v.reason}` };
    return telephony.stopped
      ? { change: null, noop: `standby services already stopped; ${v.reason}` }
      : { change: 'stop', noop: undefined };
  }
  if (v.main === 'down') {
    if (action === 'release') return { change: null, fail: `the main does not serve yet: ${v.reason}` };
    if (action === 'report') return { change: null, noop: `main down: ${v.reason}` };
    return telephony.running ? { change: null, noop: `the standby already serves; ${v.reason}` } : { change: 'start' };
  }
  if (action === 'release') return { change: null, fail: `the main does not serve yet: ${v.reason}` };
  if (action === 'takeover' && !telephony.running) return { change: null, fail: `the main is not confirmed down: ${v.reason}` };
  return { change: null, noop: telephony.running ? `the standby already serves; ${v.reason}` : v.reason };
}
