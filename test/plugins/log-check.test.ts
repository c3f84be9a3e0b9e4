// log-check: timestamps of the seed's log lines, since/expect rules, and the plugin over a scripted host.
import test from 'ava';
import { logCheck } from '../../src/plugins/log-check/index.js';
import { durationMs, judge, lineTime, matching, parseLines, sinceMs } from '../../src/plugins/log-check/parse.js';
import { NAMED_PATTERNS, namedRegex } from '../../src/plugins/log-check/patterns.js';
import { runCases } from '../helpers/plugin-cases.js';

// Seed 000's lines, verbatim.
const SYSCONFD = '2026-04-23 17:47:22,395 [9857] (INFO) (xivo_sysconf.modules.ha): Updating resilience state, from: False to: True';
const CC = '2026-04-23T17:12:01.228730+02:00 haXivocc xivocc-ha: [RESILIENCE] HA config shows active=false';
const EDGE_DOWN = 'kamailio-1 | 2026-04-23T15:55:14.222395375Z 13(20) WARNING: <script>: Destination down: OPTIONS sip:10.181.20.2:5060;transport=udp (<null>)';
const EDGE_UP = 'kamailio-1 | 2026-04-23T16:06:03.739168324Z 12(19) WARNING: 10.181.20.2:5060 - 4f36849712bb6f27-20@0.0.0.0 - OPTIONS - <null> <script>: Destination up: OPTIONS sip:10.181.20.2:5060;transport=udp';
const NGINX =
  'nginx-1 | 2026-04-23T16:00:40.612739761Z 2026/04/23 16:00:40 [warn] 108#108: *166 upstream server temporarily disabled while connecting to upstream, client: 10.182.20.3, server: edge-bis.test.avencall.com, request: "GET /config/showAppDownload HTTP/1.1", upstream: "https://10.181.20.3:443/config/showAppDownload", host: "edge-ealbis.test.avencall.com"';
const XUC = 'xuc-1 | 2026-11-22T06:12:50.336884807Z 2026-11-22 06:12:50.337 [info] p.c.s.AkkaHttpServer - Listening for HTTP on /0.0.0.0:8090';

test('timestamps of every seed line, zones honoured, zone-less stamps in the host offset', (t) => {
  t.is(lineTime(SYSCONFD, 120), Date.parse('2026-04-23T17:47:22.395+02:00'));
  t.is(lineTime(CC, 0), Date.parse('2026-04-23T17:12:01.228+02:00'));
  t.is(lineTime(EDGE_DOWN, 0), Date.parse('2026-04-23T15:55:14.222Z'));
  t.is(lineTime(NGINX, 0), Date.parse('2026-04-23T16:00:40.612Z'));
  t.is(lineTime('2026/04/23 16:00:40 [warn] x', 60), Date.parse('2026-04-23T16:00:40+01:00'));
  t.is(lineTime('Apr 23 17:12:01 host x', 0, 2026), Date.parse('2026-04-23T17:12:01Z'));
  t.is(lineTime('no stamp here', 0), null);
});

test('a line without a stamp takes the stamp of the line before it', (t) => {
  const lines = parseLines(`${SYSCONFD}\nTraceback (most recent call last):\n`, 0);
  t.is(lines.length, 2);
  t.is(lines[1].at, lines[0].at);
});

test('named patterns match the seed lines, and {address} narrows them', (t) => {
  const re = (n: string, a?: string) => new RegExp(namedRegex(n, a));
  t.true(re('sysconfd_resilience').test(SYSCONFD));
  t.true(re('cc_ha_inactive').test(CC));
  t.true(re('cc_resilience').test(CC));
  t.true(re('edge_destination_down').test(EDGE_DOWN));
  t.true(re('edge_destination_down', '10.181.20.2').test(EDGE_DOWN));
  t.false(re('edge_destination_down', '10.181.20.12').test(EDGE_DOWN));
  t.false(re('edge_destination_down').test(EDGE_UP));
  t.true(re('edge_destination_up', '10.181.20.2').test(EDGE_UP));
  t.true(re('nginx_upstream_disabled', '10.181.20.3').test(NGINX));
  t.true(re('xuc_ready').test(XUC));
  t.true(Object.keys(NAMED_PATTERNS).length >= 8);
});

test('since and expect', (t) => {
  t.is(durationMs('5m'), 300_000);
  t.is(durationMs('90'), 90_000);
  t.is(durationMs('later'), null);
  t.is(sinceMs('all', 1000, 500), null);
  t.is(sinceMs('run', 1000, 500), 500);
  t.is(sinceMs('1s', 5000, 0), 4000);
  t.true(Number.isNaN(sinceMs('yesterday-ish', 0, 0)));
  const lines = parseLines([EDGE_DOWN, EDGE_UP].join('\n'), 0);
  t.is(matching(lines, [/Destination/], null).length, 2);
  t.is(matching(lines, [/Destination/], Date.parse('2026-04-23T16:00:00Z')).length, 1);
  t.true(judge(0, { expect: 'absent' }, 'x').ok);
  t.false(judge(2, { expect: 'absent' }, 'x').ok);
  t.true(judge(2, { expect: 'count', min: 1, max: 3 }, 'x').ok);
  t.regex(judge(4, { expect: 'count', min: 2, max: 2 }, 'x').why, /expected exactly 2/);
});

const clock = { match: 'date +%z', reply: { stdout: '+0200\n1776960000000\n' } };

runCases(test, [
  {
    title: 'sysconfd log since all: the transitions are registered',
    plugin: logCheck,
    params: { named: 'sysconfd_resilience', since: 'all' },
    host: [clock, { match: 'tail -n 100000 /var/log/xivo-sysconfd.log', reply: { stdout: `${SYSCONFD}\n2026-04-23 17:50:00,001 [9857] (INFO) other\n` } }],
    expect: { changes: [], result: { matched: 1, lines: [SYSCONFD], source: '/var/log/xivo-sysconfd.log', since: null }, noop: /1 line found/ },
  },
  {
    title: 'wazo flavour reads its own sysconfd log',
    plugin: logCheck,
    params: { named: 'sysconfd_resilience', since: 'all', expect: 'count', min: 0 },
    vars: { flavour: 'wazo' },
    host: [clock, { match: '/var/log/wazo-sysconfd.log', reply: { stdout: '' } }],
    expect: { result: { matched: 0, source: '/var/log/wazo-sysconfd.log' } },
  },
  {
    title: 'Edge: the main went down in the last 10 minutes (host clock, not ours)',
    plugin: logCheck,
    params: { named: 'edge_destination_down', address: '10.181.20.2', since: '10m' },
    // host now: 2026-04-23T16:00:00Z; the down line is 5 min earlier
    host: [{ match: 'date +%z', reply: { stdout: '+0000\n1776960000000\n' } }, { match: 'edge-dcomp logs -t kamailio', reply: { stdout: `${EDGE_DOWN}\n${EDGE_UP}\n` } }],
    expect: { result: { matched: 1, lines: [EDGE_DOWN] } },
  },
  {
    title: 'expect absent fails naming what was found',
    plugin: logCheck,
    params: { named: 'nginx_upstream_disabled', since: 'all', expect: 'absent' },
    host: [clock, { match: 'edge-dcomp logs -t nginx', reply: { stdout: `${NGINX}\n` } }],
    expect: { error: /nginx_upstream_disabled: 1 line found, expected none/ },
  },
  {
    title: 'a missing file fails with its name',
    plugin: logCheck,
    params: { path: '/var/log/nope.log', pattern: 'x' },
    host: [clock, { match: 'tail -n', reply: { stderr: 'no such file: /var/log/nope.log', code: 66 } }],
    expect: { error: /cannot read \/var\/log\/nope.log on pbx1: no such file/ },
  },
  {
    title: 'a log command that exits 1 after printing its log is still read',
    plugin: logCheck,
    params: { named: 'xuc_ready', since: 'all' },
    host: [clock, { match: 'xivocc-dcomp logs -t xuc', reply: { stdout: `${XUC}\n`, code: 1 } }],
    expect: { result: { matched: 1, last_ms: Date.parse('2026-11-22T06:12:50.336Z') } },
  },
  {
    title: 'a bad regex is refused in the operator\'s words',
    plugin: logCheck,
    params: { path: '/var/log/syslog', pattern: '([' },
    host: [clock],
    expect: { error: /is not a valid regular expression/ },
  },
  {
    title: 'wait follows the log until the line appears',
    plugin: logCheck,
    params: { named: 'xuc_ready', since: 'all', wait: true, timeout: 5 },
    host: [clock, { match: 'xivocc-dcomp logs -f -t xuc', reply: { stdout: `xuc-1 | 2026-11-22T06:12:49Z booting\n${XUC}\n` } }],
    expect: { changes: [], result: { matched: 1 } },
  },
  {
    title: 'wait with expect absent is refused',
    plugin: logCheck,
    params: { named: 'xuc_ready', wait: true, expect: 'absent' },
    host: [clock],
    expect: { error: /use it with expect present/ },
  },
  {
    title: 'a follow command that ends before the line fails',
    plugin: logCheck,
    params: { path: '/var/log/syslog', pattern: 'never', wait: true, timeout: 5, since: 'all' },
    host: [clock, { match: 'tail -n 100000 -F', reply: { stdout: 'Apr 23 17:12:01 h other\n', code: 1 } }],
    expect: { error: /ended \(exit 1\) before/ },
  },
]);
