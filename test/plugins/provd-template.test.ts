// provd-template planning as data: provd's config files in, the planned changes and the bytes
// written out, in the style the files already had (domain.md §7).
import test from 'ava';
import type { FakeRule } from '../../src/core/transport/fake.js';
import { provdTemplate, serializeLike } from '../../src/plugins/provd-template.js';
import { pyJson } from '../../src/xivo/sysconfd.js';
import { runCases } from '../helpers/plugin-cases.js';

const plugin = provdTemplate;

const X = '/var/lib/xivo-provd/jsondb/configs';
const W = '/var/lib/wazo-provd/jsondb/configs';
const reg = (id: string, backup: string | null) => ({
  X_type: 'registrar', id, deletable: id !== 'default', displayname: id, parent_ids: [],
  proxy_main: '10.77.0.11', proxy_backup: backup, registrar_main: '10.77.0.11', registrar_backup: backup, raw_config: { X_key: 'xivo' },
});
const compact = (v: unknown) => JSON.stringify(v);
const BASE = compact({ id: 'base', X_type: 'internal', deletable: false, raw_config: { ntp_enabled: true } });

/** Answers the one probe: ha.conf, then configs/default or every file of configs/. */
function host(dir: string, files: Record<string, string>, haConf?: string): FakeRule[] {
  return [
    {
      match: 'base64 -w 0',
      reply: (cmd) => {
        const out = [haConf === undefined ? 'A\t/etc/xivo/ha.conf' : `F\t/etc/xivo/ha.conf\t${Buffer.from(haConf).toString('base64')}`];
        const ids = cmd.includes(`for f in ${dir}/*`) ? Object.keys(files).sort() : ['default'];
        for (const id of ids) out.push(files[id] === undefined ? `A\t${dir}/${id}` : `F\t${dir}/${id}\t${Buffer.from(files[id]).toString('base64')}`);
        return { stdout: out.join('\n') + '\n' };
      },
    },
  ];
}

runCases(test, [
  {
    title: 'xivo main: config default only gets the standby as backup registrar and proxy',
    plugin,
    params: { node_type: 'main', remote_address: '10.77.0.12' },
    host: host(X, { default: compact(reg('default', '')), 'registrar-lab': compact(reg('registrar-lab', '')), base: BASE }),
    expect: {
      changes: ['registrar config default: registrar_backup and proxy_backup "" → "10.77.0.12"'],
      files: { [`${X}/default`]: compact(reg('default', '10.77.0.12')), [`${X}/registrar-lab`]: null },
      result: { configs: ['default'], resync_needed: true, reminder: 'devices must be resynchronised (or restarted) to take the new backup registrar/proxy into account' },
      diffs: [{ before: compact(reg('default', '')), after: compact(reg('default', '10.77.0.12')) }],
    },
  },
  {
    title: 'xivo main already set: nothing to do',
    plugin,
    params: { node_type: 'main', remote_address: '10.77.0.12' },
    host: host(X, { default: compact(reg('default', '10.77.0.12')) }),
    expect: { changes: [], noop: /already have backup "10\.77\.0\.12"/, result: { configs: [], resync_needed: false } },
  },
  {
    title: 'xivo disable: back to the empty string',
    plugin,
    params: { node_type: 'disabled' },
    host: host(X, { default: compact(reg('default', '10.77.0.12')) }, '{"node_type": "master", "remote_address": "10.77.0.12"}'),
    expect: { changes: ['registrar config default: registrar_backup and proxy_backup "10.77.0.12" → ""'], files: { [`${X}/default`]: compact(reg('default', '')) } },
  },
  {
    title: 'wazo master: every registrar config, Python json.dump style kept, non-registrar configs untouched',
    plugin,
    params: { node_type: 'master', remote_address: '10.77.0.12' },
    vars: { flavour: 'wazo' },
    host: host(W, { default: pyJson(reg('default', null)), 'registrar-lab': pyJson(reg('registrar-lab', null)), base: BASE }),
    expect: {
      changes: [
        'registrar config default: registrar_backup and proxy_backup null → "10.77.0.12"',
        'registrar config registrar-lab: registrar_backup and proxy_backup null → "10.77.0.12"',
      ],
      files: { [`${W}/default`]: pyJson(reg('default', '10.77.0.12')), [`${W}/registrar-lab`]: pyJson(reg('registrar-lab', '10.77.0.12')), [`${W}/base`]: null },
      result: { configs: ['default', 'registrar-lab'] },
    },
  },
  {
    title: 'wazo disable: null on every registrar config',
    plugin,
    params: { node_type: 'disabled', flavour: 'wazo' },
    host: host(W, { default: pyJson(reg('default', '10.77.0.12')), other: pyJson(reg('other', null)) }, '{"node_type": "master", "remote_address": "10.77.0.12"}'),
    expect: { changes: ['registrar config default: registrar_backup and proxy_backup "10.77.0.12" → null'], files: { [`${W}/default`]: pyJson(reg('default', null)) } },
  },
  {
    title: 'wazo disable on a node that was standby: left alone, as confd does',
    plugin,
    params: { node_type: 'disabled', flavour: 'wazo' },
    host: host(W, { default: pyJson(reg('default', '10.77.0.99')) }, '{"node_type": "slave", "remote_address": "10.77.0.11"}'),
    expect: { changes: [], noop: /says slave/ },
  },
  {
    title: 'a standby is never touched, and nothing is read',
    plugin,
    params: { node_type: 'standby', remote_address: '10.77.0.11' },
    expect: { changes: [], commands: [], noop: /standby keeps its provd configs/ },
  },
  {
    title: 'configs: registrars on xivo edits every registrar config',
    plugin,
    params: { node_type: 'main', remote_address: '10.77.0.12', configs: 'registrars' },
    host: host(X, { default: compact(reg('default', '')), 'registrar-lab': compact(reg('registrar-lab', '')) }),
    expect: { result: { configs: ['default', 'registrar-lab'] } },
  },
  {
    title: 'check mode: planned, nothing written',
    plugin,
    params: { node_type: 'main', remote_address: '10.77.0.12' },
    check: true,
    host: host(X, { default: compact(reg('default', '')) }),
    expect: { changes: ['registrar config default: registrar_backup and proxy_backup "" → "10.77.0.12"'], files: { [`${X}/default`]: null }, result: { resync_needed: true } },
  },
  {
    title: 'main without remote_address is refused before anything runs',
    plugin,
    params: { node_type: 'main' },
    expect: { error: /missing required key "remote_address"/, commands: [] },
  },
  {
    title: 'no config default: a clear failure',
    plugin,
    params: { node_type: 'main', remote_address: '10.77.0.12' },
    host: host(X, {}),
    expect: { error: /provd config .*\/default does not exist/ },
  },
  {
    title: 'a broken JSON config fails naming the file',
    plugin,
    params: { node_type: 'main', remote_address: '10.77.0.12' },
    host: host(X, { default: '{"X_type": "registrar",' }),
    expect: { error: /configs\/default on pbx1 is not valid JSON/ },
  },
]);

test('serializeLike keeps compact, Python, indented styles and the final newline', (t) => {
  const doc = { a: 1, b: 'é', c: [1, 2], d: { e: null } };
  const upd = { ...doc, b: 'x' };
  t.is(serializeLike(JSON.stringify(doc), doc, upd), JSON.stringify(upd));
  t.is(serializeLike(pyJson(doc), doc, upd), pyJson(upd));
  t.is(serializeLike(JSON.stringify(doc, null, 4) + '\n', doc, upd), JSON.stringify(upd, null, 4) + '\n');
  t.is(serializeLike(pyJson(doc, 2), doc, upd), pyJson(upd, 2));
  t.is(pyJson(doc), '{"a": 1, "b": "\\u00e9", "c": [1, 2], "d": {"e": null}}');
});
