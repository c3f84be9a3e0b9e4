// ha-engine's inventory slice: what leaves the admin's inventory for a node, and whom the node's key opens.
import test from 'ava';
import { peersOf, sliceOf } from '../../src/plugins/ha-engine/slice.js';
import { createHash } from 'node:crypto';
import { unitCopies, unitFiles } from '../../src/plugins/ha-engine/units.js';

const groups = { pbx_main: ['main'], pbx_standby: ['standby'], cc: ['cc'], edge: ['edge'], witness: ['w'], other: ['x'] };
const vars: Record<string, Record<string, unknown>> = {
  main: { address: '10.0.0.1', voip_address: '10.1.0.1', private_key: '/home/admin/.ssh/id', db_password: 's3cret', flavour: 'xivo' },
  standby: { address: '10.0.0.2', private_key: '/home/admin/.ssh/id', failback_hold_time: 60 },
  cc: { address: '10.0.0.3', pbx: 'main', pbx_standby: 'standby' },
  edge: { address: '10.0.0.4' },
  w: { address: '10.0.0.5' },
  x: { address: '10.0.0.9' },
};
const cluster = { groups, hostvars: (h: string) => vars[h] };

test('each role reaches only the hosts its units need', (t) => {
  t.deepEqual(peersOf('main', 'main', cluster), ['standby']);
  t.deepEqual(peersOf('standby', 'standby', cluster), ['main', 'cc', 'edge', 'w']);
  t.deepEqual(peersOf('cc', 'cc', cluster), ['main', 'standby']);
  t.deepEqual(peersOf('x', 'none', cluster), []);
});

test("the standby's slice: its peers' addresses and HA settings, its own key, nothing else of the admin's", (t) => {
  const s = sliceOf('standby', 'standby', cluster) as { vars: Record<string, unknown>; hosts: Record<string, Record<string, unknown>>; groups: Record<string, unknown> };
  t.deepEqual(s.vars, { haplay_node: 'standby', user: 'root', private_key: '/etc/haplay/id_ed25519', known_hosts: '/etc/haplay/known_hosts', host_key_checking: 'strict' });
  t.deepEqual(Object.keys(s.hosts).sort(), ['cc', 'edge', 'main', 'standby', 'w']);
  t.deepEqual(s.hosts.main, { address: '10.0.0.1', flavour: 'xivo', voip_address: '10.1.0.1' });
  t.deepEqual(s.hosts.standby, { address: '10.0.0.2', failback_hold_time: 60, connection: 'local' });
  t.false(JSON.stringify(s).includes('s3cret'));
  t.false(JSON.stringify(s).includes('/home/admin'));
  t.deepEqual(s.groups.pbx, { children: ['pbx_main', 'pbx_standby'] });
  t.false('other' in s.groups);
});

test("the main's slice holds only the standby beside itself", (t) => {
  const s = sliceOf('main', 'main', cluster) as { hosts: Record<string, unknown>; groups: Record<string, unknown> };
  t.deepEqual(Object.keys(s.hosts).sort(), ['main', 'standby']);
  t.deepEqual(Object.keys(s.groups).sort(), ['pbx', 'pbx_main', 'pbx_standby']);
});

test('the units run the given haplay on the node files; the monitor restarts always', (t) => {
  const u = unitFiles('/usr/bin/haplay');
  t.regex(u['haplay-monitor.service'], /\nExecStart=\/usr\/bin\/haplay monitor -i \/etc\/haplay\/inventory\.yml\nRestart=always\nRestartSec=2s\n/);
  t.regex(u['haplay-replicate.service'], /\nType=oneshot\nExecStart=\/usr\/bin\/haplay \/etc\/haplay\/playbooks\/replicate\.yml -i \/etc\/haplay\/inventory\.yml\n/);
  t.regex(u['haplay-replicate.timer'], /\nOnUnitActiveSec=60s\n/);
});

test("the package's units are used as they are; a copy goes to /etc/systemd/system only for another haplay", (t) => {
  const sha = (x: string) => createHash('sha256').update(x).digest('hex');
  const pkg = unitFiles('/usr/bin/haplay');
  const packaged = new Map(Object.entries(pkg).map(([u, c]) => [u, sha(c)]));
  // The package installed and haplay_command its /usr/bin/haplay: nothing to write, and the copies an
  // earlier setup wrote go (else systemd would keep running them instead of the package's).
  t.deepEqual(unitCopies('main', pkg, packaged, new Set(['haplay-replicate.timer', 'haplay-monitor.service']), sha),
    { write: [], remove: ['haplay-replicate.timer', 'haplay-monitor.service'] });
  // A checkout's haplay (or the lab's): the service must name it, so the node gets its own copy; the
  // timer names no command, and the package's starts the service systemd finds first (the copy).
  const other = unitFiles('/opt/haplay/bin/haplay');
  t.deepEqual(unitCopies('main', other, packaged, new Set(), sha), { write: ['haplay-replicate.service'], remove: [] });
  // No package: a standby's copy, and the main's copies it no longer needs go.
  t.deepEqual(unitCopies('standby', pkg, new Map(), new Set(['haplay-replicate.timer', 'haplay-monitor.service']), sha),
    { write: ['haplay-monitor.service'], remove: ['haplay-replicate.timer'] });
  t.deepEqual(unitCopies('none', pkg, new Map(), new Set(['haplay-monitor.service']), sha), { write: [], remove: ['haplay-monitor.service'] });
});
