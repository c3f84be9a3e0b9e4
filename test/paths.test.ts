// Where a bare playbook name and a missing -i are looked for: the checkout, $HAPLAY_*, then the
// Debian package's folders (/usr/share/haplay/playbooks, /etc/haplay).
import test from 'ava';
import { HaplayError } from '../src/core/errors.js';
import { defaultInventoryPath } from '../src/core/inventory.js';
import { findPlaybook, SYSTEM_INVENTORY, SYSTEM_PLAYBOOKS } from '../src/core/paths.js';

const only = (...files: string[]) => (p: string) => files.includes(p);

test('a bare playbook name: the current folder, then $HAPLAY_PLAYBOOKS, then the package folder', (t) => {
  const env = { HAPLAY_PLAYBOOKS: 'mine:/opt/site' };
  t.is(findPlaybook('failover.yml', '/w', env, only('/w/failover.yml', `${SYSTEM_PLAYBOOKS}/failover.yml`)), '/w/failover.yml');
  t.is(findPlaybook('failover.yml', '/w', env, only('/opt/site/failover.yml', `${SYSTEM_PLAYBOOKS}/failover.yml`)), '/opt/site/failover.yml');
  t.is(findPlaybook('failover.yml', '/w', {}, only(`${SYSTEM_PLAYBOOKS}/failover.yml`)), `${SYSTEM_PLAYBOOKS}/failover.yml`);
});

test('a playbook given with a folder is taken as given; not found says where haplay looked', (t) => {
  const e = t.throws(() => findPlaybook('playbooks/failover.yml', '/w', {}, only(`${SYSTEM_PLAYBOOKS}/failover.yml`)), { instanceOf: HaplayError });
  t.is(e.code, 'E_FILE');
  t.regex(e.hint ?? '', /looked in \/w\/playbooks\/failover\.yml;/);
  const bare = t.throws(() => findPlaybook('nope.yml', '/w', { HAPLAY_PLAYBOOKS: '/x' }, only()), { instanceOf: HaplayError });
  t.regex(bare.hint ?? '', new RegExp(`looked in /w/nope.yml, /x/nope.yml, ${SYSTEM_PLAYBOOKS}/nope.yml`));
});

test('the inventory: ./inventory.yml, then $HAPLAY_INVENTORY, then /etc/haplay/inventory.yml', (t) => {
  t.is(defaultInventoryPath('/w', { HAPLAY_INVENTORY: 'lab.yml' }, only('/w/inventory.yml', SYSTEM_INVENTORY)), '/w/inventory.yml');
  t.is(defaultInventoryPath('/w', { HAPLAY_INVENTORY: 'lab.yml' }, only(SYSTEM_INVENTORY)), '/w/lab.yml');
  t.is(defaultInventoryPath('/w', {}, only(SYSTEM_INVENTORY)), SYSTEM_INVENTORY);
  const e = t.throws(() => defaultInventoryPath('/w', {}, only()), { instanceOf: HaplayError });
  t.is(e.code, 'E_NO_INVENTORY');
  t.regex(e.hint ?? '', /\/etc\/haplay\/inventory\.yml/);
});
