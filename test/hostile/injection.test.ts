// Hostile values thrown at every plugin parameter (and value read from a host) that reaches a shell,
// over the local transport: each value carries a `touch` of its own marker file, and the tools the
// plugins call (systemctl, chown, rsync, ...) are replaced on PATH by shims that record their argv.
// Nothing may run (no marker), and no value may reach a tool as an option (a leading `-` before `--`).
import test from 'ava';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { FakeTransport } from '../../src/core/transport/fake.js';
import { LocalTransport } from '../../src/core/transport/local.js';
import type { Plugin, Vars } from '../../src/core/types.js';
import { file } from '../../src/plugins/file/index.js';
import { sipProbeVia } from '../../src/xivo/probes.js';
import { ledgerPath, writeLedger, type Ledger } from '../../src/plugins/pg-replicate/stamps.js';
import { provdTemplate } from '../../src/plugins/provd-template.js';
import { rsync } from '../../src/plugins/rsync/index.js';
import { service } from '../../src/plugins/service.js';
import { makeTaskContext, runPlugin } from '../helpers/plugin-cases.js';

const root = mkdtempSync(join(tmpdir(), 'haplay-hostile-'));
const markers = join(root, 'markers');
const shims = join(root, 'bin');
const argvLog = join(root, 'argv.log');
mkdirSync(markers);
mkdirSync(shims);
test.after.always(() => rmSync(root, { recursive: true, force: true }));

// Every tool a plugin runs by name records its argv (fields \x1f, records \x1e) and succeeds quietly.
const TOOLS = ['systemctl', 'chown', 'chgrp', 'rsync', 'ssh', 'ssh-keygen', 'xivo-service', 'wazo-service', 'xivocc-dcomp', 'edge-dcomp', 'xivo-manage-slave-services'];
for (const tool of TOOLS) {
  writeFileSync(
    join(shims, tool),
    `#!/bin/sh\n{ printf '%s' "\${0##*/}"; for a in "$@"; do printf '\\037%s' "$a"; done; printf '\\036'; } >> "$HOSTILE_ARGV"\n` +
      `[ "\${0##*/} $1" = "systemctl is-active" ] && echo inactive\nexit 0\n`,
    { mode: 0o755 },
  );
}
process.env.PATH = `${shims}:${process.env.PATH}`;
process.env.HOSTILE_ARGV = argvLog;

/** The hostile values; each touches a marker of its own when some shell runs it. */
function hostile(tag: string): string[] {
  const m = (n: string) => join(markers, `${tag}-${n}`);
  return [
    `x;touch ${m('semi')}`,
    `$(touch ${m('dollar')})`,
    `\`touch ${m('backtick')}\``,
    `x\ntouch ${m('newline')}`,
    `x|touch ${m('pipe')}`,
    `x&&touch ${m('and')}`,
    `x'; touch ${m('squote')}; '`,
    `x"; touch ${m('dquote')}; "`,
    `x $(touch ${m('space')})`,
    `-oProxyCommand=touch ${m('dash')}`,
    `x -oProxyCommand=touch ${m('option')}`,
    '-Hroot@evil.example',
    `127.0.0.1/9; touch ${m('udp')}; exit 0; :`,
  ];
}

interface Call {
  tool: string;
  argv: string[];
}

function calls(): Call[] {
  let raw = '';
  try {
    raw = readFileSync(argvLog, 'utf8');
  } catch {
    return [];
  }
  return raw
    .split('\x1e')
    .filter(Boolean)
    .map((r) => {
      const [tool, ...argv] = r.split('\x1f');
      return { tool, argv };
    });
}

/** rsync's own splitting of its -e command: spaces separate, quotes group, a doubled quote is literal. */
function rsyncSplit(cmd: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < cmd.length) {
    if (cmd[i] === ' ') {
      i++;
      continue;
    }
    let word = '';
    let inQuote = '';
    while (i < cmd.length && (cmd[i] !== ' ' || inQuote)) {
      const c = cmd[i];
      if (c === "'" || c === '"') {
        if (!inQuote) {
          inQuote = c;
          i++;
          continue;
        }
        if (c === inQuote) {
          if (cmd[i + 1] === inQuote) {
            word += c;
            i += 2;
            continue;
          }
          inQuote = '';
          i++;
          continue;
        }
      }
      word += c;
      i++;
    }
    out.push(word);
  }
  return out;
}

/**
 * The hostile value reached a tool as an option: a word of its argv (for rsync, also of the ssh command
 * in -e, split as rsync splits it, and the remote host) that starts with `-`, before any `--`, and is a piece of the value.
 */
function optionInjection(c: Call, value: string): string | undefined {
  // rsync hands the host of root@HOST:PATH to ssh as an argument of its own (ssh -l root HOST).
  const hosts = c.argv.flatMap((a) => /^[^@/]+@([^:]*):/.exec(a)?.[1] ?? []);
  const words = c.tool === 'rsync' ? [...c.argv, ...rsyncSplit(c.argv[c.argv.indexOf('-e') + 1] ?? ''), ...hosts] : c.argv;
  const end = words.indexOf('--') < 0 ? words.length : words.indexOf('--');
  const bad = words.slice(0, end).find((w) => w.startsWith('-') && w.length > 2 && (value.includes(w) || asName(value).includes(w)));
  return bad === undefined ? undefined : `${c.tool} got ${JSON.stringify(bad)} as an option`;
}

interface Case {
  name: string;
  plugin: Plugin;
  params: (v: string) => unknown;
  vars?: Vars;
  /** The standby's inventory variables (default: a plain address). */
  standby?: (v: string) => Vars;
  /** Files to create before the run (the value's path made real, so the plugin gets as far as it can). */
  setup?: (v: string) => void;
}

const dir = (name: string) => {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  return d;
};
/** A file name that holds the value whole (slashes swapped), so that a path parameter can exist. */
const asName = (v: string) => v.replace(/\//g, '\u2215');

const target = join(dir('files'), 'target');
writeFileSync(target, 'old\n');
const keys = dir('keys');
const synced = dir('synced');

const CASES: Case[] = [
  { name: 'file owner', plugin: file, params: (v) => ({ path: target, content: 'new\n', owner: v }) },
  { name: 'file group', plugin: file, params: (v) => ({ path: target, content: 'new\n', group: v }) },
  { name: 'file path', plugin: file, params: (v) => ({ path: join(dir('paths'), asName(v)), content: 'x\n', mode: '0600' }) },
  { name: 'service name (started)', plugin: service, params: (v) => ({ name: v, state: 'started' }) },
  { name: 'service name (enabled)', plugin: service, params: (v) => ({ name: v, state: 'enabled', tool: 'systemctl' }) },
  { name: 'provd-template jsondb', plugin: provdTemplate, params: (v) => ({ node_type: 'disabled', jsondb: '/nonexistent/' + v }) },
  {
    name: 'rsync key',
    plugin: rsync,
    params: (v) => ({ dest: 'sb', key: join(keys, asName(v)), paths: [synced] }),
    setup: (v) => {
      writeFileSync(join(keys, asName(v)), 'private\n');
      writeFileSync(join(keys, asName(v)) + '.pub', 'ssh-rsa AAAA test\n');
    },
  },
  { name: 'rsync dest_address', plugin: rsync, params: (v) => ({ dest: 'sb', dest_address: v, key: join(keys, 'ok'), paths: [synced] }) },
  {
    name: 'rsync address from the inventory',
    plugin: rsync,
    params: () => ({ dest: 'sb', key: join(keys, 'ok'), paths: [synced] }),
    standby: (v) => ({ address: v }),
  },
  { name: 'rsync exclude', plugin: rsync, params: (v) => ({ dest: 'sb', exclude: [v], key: join(keys, 'ok'), paths: [synced] }) },
  { name: 'rsync paths', plugin: rsync, params: (v) => ({ dest: 'sb', key: join(keys, 'ok'), paths: [join(synced, asName(v)), synced] }) },
];
writeFileSync(join(keys, 'ok'), 'private\n');
writeFileSync(join(keys, 'ok.pub'), 'ssh-rsa AAAA test\n');

const tally = { probes: 0, refused: 0, executed: 0, options: 0 };

/** Markers left by the values run so far, removed so that each test counts its own. */
function takeMarkers(): string[] {
  const found = readdirSync(markers);
  for (const f of found) rmSync(join(markers, f));
  return found;
}

for (const c of CASES) {
  test.serial(`hostile ${c.name}: no value runs, none becomes an option`, async (t) => {
    const problems: string[] = [];
    for (const v of hostile(c.name.replace(/\W+/g, '_'))) {
      tally.probes++;
      c.setup?.(v);
      writeFileSync(argvLog, '');
      const main = new LocalTransport('main');
      const sb = new LocalTransport('sb');
      const { ctx } = makeTaskContext(main, c.vars, { transports: { sb }, hostvars: { sb: c.standby?.(v) ?? { address: '10.0.0.12' } }, groups: { pbx_standby: ['sb'] } });
      let outcome = 'ran';
      try {
        await runPlugin(c.plugin, c.params(v), ctx);
      } catch (e) {
        outcome = /^invalid params/.test((e as Error).message) ? 'refused by the schema' : `failed: ${(e as Error).message.split('\n')[0].slice(0, 100)}`;
      }
      if (outcome === 'refused by the schema') tally.refused++;
      for (const call of calls()) {
        const bad = optionInjection(call, v);
        if (bad) {
          tally.options++;
          problems.push(`${JSON.stringify(v)}: ${bad}`);
        }
      }
      const reached = calls().map((x) => x.tool);
      t.log(`${JSON.stringify(v).slice(0, 50)} → ${outcome}${reached.length ? `; ran ${[...new Set(reached)].join(', ')}` : ''}`);
    }
    const ran = takeMarkers();
    tally.executed += ran.length;
    t.deepEqual(ran, [], 'a hostile value ran as a command');
    t.deepEqual(problems, []);
  });
}

// The harness itself: a plain value reaches the shims, as the argv the plugin meant.
test.serial('benign values reach the tools as one argument each (the shims see what plugins run)', async (t) => {
  writeFileSync(argvLog, '');
  const main = new LocalTransport('main');
  const { ctx } = makeTaskContext(main, {}, { transports: { sb: new LocalTransport('sb') }, hostvars: { sb: { address: '10.0.0.12' } }, groups: { pbx_standby: ['sb'] } });
  await runPlugin(service, { name: 'xivo-provd', state: 'started' }, ctx);
  await runPlugin(file, { path: target, content: 'new\n', owner: '0', group: '0' }, ctx);
  await runPlugin(rsync, { dest: 'sb', key: join(keys, 'ok'), paths: [synced] }, ctx);
  const seen = calls();
  t.like(seen.find((c) => c.tool === 'systemctl' && c.argv[0] === 'start'), { argv: ['start', '--', 'xivo-provd'] });
  t.deepEqual(seen.find((c) => c.tool === 'chown' && c.argv.includes('0:0'))?.argv.slice(0, 2), ['--', '0:0']);
  const e = seen.find((c) => c.tool === 'rsync')!.argv;
  t.deepEqual(rsyncSplit(e[e.indexOf('-e') + 1]).slice(0, 3), ['ssh', '-i', join(keys, 'ok')]);
  t.is(e.at(-1), 'root@10.0.0.12:/');
});

test.serial('hostile SIP probe host (ha-monitor, also read from ha.conf): bash never runs it', async (t) => {
  const main = new LocalTransport('sb');
  for (const v of hostile('sip')) {
    tally.probes++;
    const r = await sipProbeVia(main, 'standby', v, 300);
    t.false(r.ok);
    t.log(`${JSON.stringify(v)} → ${r.detail}`);
  }
  const ran = takeMarkers();
  tally.executed += ran.length;
  t.deepEqual(ran, []);
});

test.serial('hostile pg-replicate database name: the ledger stays one file in its folder', async (t) => {
  const ledger: Ledger = { version: 1, main: { host: 'm', node: 'n' }, standby: { host: 's', node: 'n' }, verified_at: '2026-01-01T00:00:00Z', tables: {} };
  const folder = posix.dirname(ledgerPath('asterisk'));
  for (const v of [...hostile('pg'), '../../../etc/cron.d/x', '..', '.', 'a/b', '/etc/passwd']) {
    tally.probes++;
    const fake = new FakeTransport('sb').on(/^mkdir -p /, {});
    await writeLedger(fake, v, ledger);
    const written = [...fake.files.keys()];
    t.is(written.length, 1);
    t.is(posix.dirname(written[0]), folder, `${JSON.stringify(v)} was written to ${written[0]}`);
    t.false(['.', '..'].includes(posix.basename(written[0], '.json')));
    t.deepEqual(fake.commands, [`mkdir -p ${folder} && chmod 700 ${folder}`]);
  }
  t.is(ledgerPath('asterisk'), '/var/lib/haplay/pg-replicate/asterisk.json', 'the usual name keeps its ledger');
});

test.serial('tally: every hostile probe inert', (t) => {
  t.log(`${tally.probes} hostile probes: ${tally.executed} executed, ${tally.options} reached a tool as an option, ${tally.refused} refused by a schema`);
  t.true(tally.probes >= 150);
  t.is(tally.executed + tally.options, 0);
});
