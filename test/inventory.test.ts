import test from 'ava';
import { inventoryFrom } from '../src/core/inventory.js';
import { parseYaml } from '../src/core/yaml.js';

const inv = inventoryFrom(
  parseYaml(
    `
vars: { flavour: xivo, port: 22 }
hosts:
  pbx-main: { address: 10.0.0.11, vars: { voip_address: 10.1.0.11 } }
  pbx-standby: { address: 10.0.0.12, port: 2222, private_key: keys/standby, host_key_checking: accept-new }
  pbx-main-2: {}
  cc: {}
  edge: { connection: local }
groups:
  pbx_main: { hosts: [pbx-main, pbx-main-2] }
  pbx_standby: { hosts: [pbx-standby] }
  pbx: { children: [pbx_main, pbx_standby], vars: { flavour: wazo } }
  cc: { hosts: [cc] }
  edge: { hosts: [edge] }
`,
    '/etc/haplay/inventory.yml',
  ),
);

test('patterns: all, groups, hosts, globs, union, intersection, exclusion, in inventory order', (t) => {
  t.deepEqual(inv.select('all'), ['pbx-main', 'pbx-standby', 'pbx-main-2', 'cc', 'edge']);
  t.deepEqual(inv.select('pbx'), ['pbx-main', 'pbx-standby', 'pbx-main-2']);
  t.deepEqual(inv.select('cc'), ['cc']);
  t.deepEqual(inv.select('pbx-main*'), ['pbx-main', 'pbx-main-2']);
  t.deepEqual(inv.select('edge:pbx_standby'), ['pbx-standby', 'edge']);
  t.deepEqual(inv.select('pbx:&pbx_main'), ['pbx-main', 'pbx-main-2']);
  t.deepEqual(inv.select('pbx:!pbx-main-2'), ['pbx-main', 'pbx-standby']);
  t.deepEqual(inv.select('all:!pbx*'), ['cc', 'edge']);
  t.deepEqual(inv.select('pbx_main,cc'), ['pbx-main', 'pbx-main-2', 'cc']);
  t.throws(() => inv.select('pbx_mian'), { message: /"pbx_mian" in host pattern "pbx_mian" matches no host or group/ });
  t.throws(() => inv.select('zz*'), { message: /matches no host or group/ });
});

test('variables: all < parent group < child group < host', (t) => {
  t.is(inv.varsFor('pbx-main').flavour, 'wazo');
  t.is(inv.varsFor('cc').flavour, 'xivo');
  t.is(inv.varsFor('pbx-main').voip_address, '10.1.0.11', 'host vars may sit under vars:');
  t.false('vars' in inv.varsFor('pbx-main'));
  t.deepEqual(inv.groupsOf('pbx-standby'), ['pbx_standby', 'pbx']);
  t.deepEqual(inv.groupsMap().pbx, ['pbx-main', 'pbx-standby', 'pbx-main-2']);
});

test('connection details with defaults; paths relative to the inventory file', (t) => {
  t.like(inv.connectionSpec('pbx-standby'), {
    address: '10.0.0.12',
    port: 2222,
    user: 'root',
    privateKey: '/etc/haplay/keys/standby',
    hostKeyPolicy: 'accept-new',
    connection: 'ssh',
    connectTimeoutMs: 10000,
  });
  t.like(inv.connectionSpec('pbx-main-2'), { address: 'pbx-main-2', port: 22, hostKeyPolicy: 'strict' });
  t.is(inv.connectionSpec('edge').connection, 'local');
});
