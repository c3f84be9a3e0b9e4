// ha-monitor's HTTPS probe checks the PBX's certificate against what the inventory pins, on a local
// HTTPS server (127.0.0.1, a self-signed certificate made here with openssl).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inventoryFrom } from '../../src/core/inventory.js';
import { playbookFrom } from '../../src/core/playbook.js';
import { Redactor } from '../../src/core/redact.js';
import { checkPrepared } from '../../src/core/run.js';
import { parseYaml } from '../../src/core/yaml.js';
import { direct, HA_CONFIG_PATH, httpProbe } from '../../src/xivo/probes.js';
import { testRegistry } from '../helpers/engine.js';

const dir = mkdtempSync(join(tmpdir(), 'haplay-tls-'));
function selfSigned(name: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { key, cert };
}
const pbx = selfSigned('pbx');
const stranger = selfSigned('stranger');
const fingerprint = new X509Certificate(readFileSync(pbx.cert)).fingerprint256;
let server: https.Server;
let port: number;

test.before(async () => {
  server = https.createServer({ key: readFileSync(pbx.key), cert: readFileSync(pbx.cert) }, (req, res) => {
    res.writeHead(req.url === HA_CONFIG_PATH ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ node_type: 'master', active: true }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
test.after.always(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const probe = (trust: Parameters<typeof httpProbe>[4]) => httpProbe(direct, 'control', '127.0.0.1', 3000, trust, port);

test('the right pinned fingerprint passes, with or without colons', async (t) => {
  const r = await probe({ fingerprint: fingerprint.replace(/:/g, ''), verify: true });
  t.true(r.ok, r.detail);
  t.is(r.detail, 'HTTP 200, node_type=master');
});

test('a wrong pinned fingerprint fails the probe and says which certificate answered', async (t) => {
  const r = await probe({ fingerprint: 'AB'.repeat(32), verify: true });
  t.false(r.ok);
  t.is(r.detail, `the certificate of 127.0.0.1 has SHA-256 fingerprint ${fingerprint}, not the ${'AB:'.repeat(31)}AB pinned in the inventory (someone else answers for it, or its certificate was renewed)`);
  t.is(r.haConfig, undefined, 'nothing is read from a server that is not the PBX');
});

test('a CA that signed the certificate passes; another CA fails with the reason', async (t) => {
  t.true((await probe({ ca: pbx.cert, verify: true })).ok);
  const r = await probe({ ca: stranger.cert, verify: true });
  t.false(r.ok);
  t.regex(r.detail, new RegExp(`^the certificate of 127\\.0\\.0\\.1 is not trusted by ${stranger.cert.replace(/[.]/g, '\\.')}: self.signed certificate`));
});

test('tls_verify: false probes without checking', async (t) => {
  t.true((await probe({ verify: false })).ok);
});

const INVENTORY = (pbxVars: string) => `
hosts:
  pbx-main: { address: 127.0.0.1, vars: { ${pbxVars} } }
  pbx-standby: { address: 127.0.0.2 }
  cc1: { address: 127.0.0.3, vars: { pbx: pbx-main } }
groups:
  pbx_main: { hosts: [pbx-main] }
  pbx_standby: { hosts: [pbx-standby] }
  cc: { hosts: [cc1] }
`;
const PLAYBOOK = `
- hosts: pbx_standby:cc
  tasks:
    - ha-monitor: { action: report }
`;

function validate(inventory: string, playbook = PLAYBOOK) {
  const registry = testRegistry();
  checkPrepared({ inventory: inventoryFrom(parseYaml(inventory, 'inv.yml')), playbook: playbookFrom(parseYaml(playbook, 'pb.yml'), registry), registry, redactor: new Redactor(), extraVars: {} });
}

test('no pin and no tls_verify: false is refused at validation (exit 4), once per task, with a hint', (t) => {
  const e = t.throws(() => validate(INVENTORY(''))) as unknown as { code: string; exitCode: number; message: string; hint: string; where: object; more: { where: { host: string } }[] };
  t.is(e.code, 'E_PARAMS');
  t.is(e.exitCode, 4);
  t.is(e.message, 'the HTTPS probe of pbx-main has nothing to check its certificate against');
  t.like(e.where, { file: 'pb.yml', play: 'play #1', host: 'pbx-standby', key: 'tls_fingerprint' });
  t.deepEqual(e.more, [], 'said once for the task, not once per host');
  t.regex(e.hint, /tls_fingerprint: "AB:CD:\.\.\." \(openssl x509 -noout -fingerprint -sha256 .*\) or tls_ca: .*; or write tls_verify: false/);
});

test('a pin, a CA or tls_verify: false in the PBX\'s variables (or the task) passes validation; without the http probe nothing is asked', (t) => {
  t.notThrows(() => validate(INVENTORY(`tls_fingerprint: "${fingerprint}"`)));
  t.notThrows(() => validate(INVENTORY(`tls_ca: ${pbx.cert}`)));
  t.notThrows(() => validate(INVENTORY('tls_verify: false')));
  t.notThrows(() => validate(INVENTORY(''), PLAYBOOK.replace('{ action: report }', '{ action: report, tls_verify: false }')));
  t.notThrows(() => validate(INVENTORY(''), PLAYBOOK.replace('{ action: report }', '{ action: report, probes: [sip, ssh] }')));
  t.throws(() => validate(INVENTORY('tls_verify: true')), { message: /nothing to check its certificate against/ });
});
