// The monitor's own probes must never throw out of a socket callback: an uncaught exception kills
// the monitor, and under a partition it would die every round (systemd restarts, nobody watches).
import test from 'ava';
import { sipProbeDirect } from '../../src/xivo/probes.js';

test('a SIP probe whose connect is refused by the route fails as a probe result, it does not throw', async (t) => {
  const uncaught: Error[] = [];
  const onUncaught = (e: Error) => uncaught.push(e);
  process.prependListener('uncaughtException', onUncaught);
  try {
    // The broadcast address makes connect() itself fail (EACCES), as a blackhole route does (EINVAL).
    const r = await sipProbeDirect('255.255.255.255', 500);
    await new Promise((res) => setTimeout(res, 100));
    t.false(r.ok);
    t.regex(r.detail, /connect E[A-Z]+/);
  } finally {
    process.removeListener('uncaughtException', onUncaught);
  }
  t.deepEqual(uncaught.map((e) => e.message), []);
});
