// haplay status reads what the nodes hold: its parser, on the script's real output format.
import test from 'ava';
import { parseStatus } from '../../src/cli/status.js';

test('a standby node: role from ha.conf, telephony, units, the monitor verdict', (t) => {
  const out = [
    '@now 1800000000',
    '@ha {"node_type": "slave", "remote_address": "10.77.0.11"}',
    '@asterisk inactive',
    '@nginx active',
    '@unit haplay-monitor active',
    '@unit haplay-replicate.timer inactive',
    '@monitor {"state": "standing-by", "reason": "the main answers SIP (from the standby)", "evidence": ["cc: the main answers SIP"]}',
  ].join('\n');
  const s = parseStatus('pbx-standby', 'pbx_standby', out);
  t.like(s, { host: 'pbx-standby', node_type: 'slave', telephony: 'inactive', nginx: 'active', units: { 'haplay-monitor': 'active', 'haplay-replicate.timer': 'inactive' } });
  t.is(s.monitor?.state, 'standing-by');
  t.deepEqual(s.monitor?.evidence, ['cc: the main answers SIP']);
  t.is(s.last_replication_age_s, undefined, 'no sync log on a standby');
});

test('a main: the age of its last successful replication; a missing ha.conf is HA disabled', (t) => {
  const s = parseStatus('pbx-main', 'pbx_main', '@now 1800000100\n@ha \n@asterisk active\n@sync 1800000040\n');
  t.is(s.node_type, 'disabled');
  t.is(s.last_replication_age_s, 60);
  t.is(s.telephony, 'active');
});

test("a CC's nginx container reported Up is active", (t) => {
  t.is(parseStatus('cc', 'cc', '@nginx Up\n').nginx, 'active');
});
