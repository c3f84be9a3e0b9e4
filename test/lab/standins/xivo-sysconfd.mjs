// haplay lab stand-in for sysconfd's HA module (domain.md §1): HTTP on 127.0.0.1:8668, no auth.
//   GET  /get_ha_config    -> /etc/xivo/ha.conf, or {"node_type": "disabled", "remote_address": ""}
//   POST /update_ha_config -> every side effect, in order: ha.conf, pg_hba.conf, postgresql.conf,
//                             restart postgresql, cron files, manage-slave-services start, sentinels.
// Logs to /var/log/xivo-sysconfd.log (wazo flavour: /var/log/wazo-sysconfd.log) in sysconfd's format.
import http from 'node:http';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

const FLAVOUR = (() => { try { return fs.readFileSync('/etc/hplab/flavour', 'utf8').trim(); } catch { return 'xivo'; } })();
const LOG = `/var/log/${FLAVOUR}-sysconfd.log`;
const LOGGER = FLAVOUR === 'xivo' ? 'xivo_sysconf.modules.ha' : 'wazo_sysconfd.plugins.ha_config.ha';
const HA_CONF = '/etc/xivo/ha.conf';
const PG_DIR = '/etc/postgresql/15/main';
const CRON = '/etc/cron.d';
const SENTINELS = '/var/lib/wazo';
const SYNC = FLAVOUR === 'xivo' ? '/usr/bin/xivo-sync' : '/usr/bin/wazo-sync';

function stamp() {
  const d = new Date();
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}
function log(level, msg, name = LOGGER) {
  fs.appendFileSync(LOG, `${stamp()} [${process.pid}] (${level}) (${name}): ${msg}\n`);
}

/** Python json.dump with default separators: ", " and ": ", non-ASCII escaped. */
function pyJson(v) {
  if (v === null || v === undefined) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v);
  if (typeof v === 'string') return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  if (Array.isArray(v)) return '[' + v.map(pyJson).join(', ') + ']';
  return '{' + Object.entries(v).map(([k, x]) => `${pyJson(k)}: ${pyJson(x)}`).join(', ') + '}';
}

function readHa() {
  try { return JSON.parse(fs.readFileSync(HA_CONF, 'utf8')); } catch { return { node_type: 'disabled', remote_address: '' }; }
}
const pyBool = (b) => (b ? 'True' : 'False');

function rewriteLines(file, prefix, append) {
  const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : [];
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const kept = lines.filter((l) => !l.startsWith(prefix));
  if (append) kept.push(append);
  fs.writeFileSync(file, kept.join('\n') + '\n');
}

function updateHa(config) {
  const before = readHa();
  const nodeType = config.node_type;
  const remote = config.remote_address;
  log('INFO', `Updating resilience state, from: ${pyBool(before.node_type && before.node_type !== 'disabled')} to: ${pyBool(nodeType && nodeType !== 'disabled')}`);
  // 1. ha.conf, verbatim
  fs.mkdirSync('/etc/xivo', { recursive: true });
  fs.writeFileSync(HA_CONF, pyJson(config));
  // 2. PostgreSQL access for the master's replication, then restart
  rewriteLines(`${PG_DIR}/pg_hba.conf`, 'host asterisk postgres', nodeType === 'slave' ? `host asterisk postgres ${remote}/32 trust` : null);
  rewriteLines(`${PG_DIR}/postgresql.conf`, 'listen_addresses', nodeType === 'slave' ? "listen_addresses = '*'" : null);
  execFileSync('systemctl', ['restart', 'postgresql.service'], { stdio: 'ignore' });
  // 3. cron
  for (const f of ['xivo-ha-master', 'xivo-ha-slave']) fs.rmSync(`${CRON}/${f}`, { force: true });
  if (nodeType === 'master') {
    fs.writeFileSync(`${CRON}/xivo-ha-master`,
      `0 * * * * root /usr/sbin/xivo-master-slave-db-replication ${remote} >/dev/null\n0 * * * * root ${SYNC} >/dev/null\n`);
  } else if (nodeType === 'slave') {
    fs.writeFileSync(`${CRON}/xivo-ha-slave`, `* * * * * root /usr/sbin/xivo-check-master-status ${remote} >/dev/null\n`);
  }
  // 4. services
  if (nodeType !== 'slave') execFileSync('xivo-manage-slave-services', ['start'], { stdio: 'ignore' });
  // 5. sentinels
  fs.mkdirSync(SENTINELS, { recursive: true });
  const primary = `${SENTINELS}/is-primary`;
  const secondary = `${SENTINELS}/is-secondary`;
  if (nodeType === 'slave') {
    log('INFO', 'Node is in secondary HA mode.');
    fs.rmSync(primary, { force: true });
    log('INFO', `Creating secondary sentinel file ${secondary}.`);
    fs.writeFileSync(secondary, '');
  } else if (nodeType === 'master') {
    log('INFO', 'Node is in primary HA mode.');
    fs.rmSync(secondary, { force: true });
    log('INFO', `Creating primary sentinel file ${primary}.`);
    fs.writeFileSync(primary, '');
  } else {
    log('INFO', 'HA disabled on this node.');
    log('INFO', 'Removing sentinel files.');
    fs.rmSync(primary, { force: true });
    fs.rmSync(secondary, { force: true });
  }
}

const server = http.createServer((req, res) => {
  const send = (code, body) => {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(body);
  };
  const path = (req.url || '').split('?')[0];
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    log('INFO', `${req.socket.remoteAddress} - "${req.method} ${req.url} HTTP/${req.httpVersion}"`, 'http');
    try {
      if (req.method === 'GET' && path === '/get_ha_config') return send(200, pyJson(readHa()));
      if (req.method === 'POST' && path === '/update_ha_config') {
        let config;
        try { config = JSON.parse(body); } catch { return send(400, pyJson({ detail: 'invalid JSON body' })); }
        updateHa(config);
        return send(200, 'null');
      }
      if (req.method === 'GET' && path === '/status') return send(200, pyJson({ rest_api: { status: 'ok' } }));
      return send(404, pyJson({ detail: 'Not Found' }));
    } catch (e) {
      log('ERROR', `Error while processing ${path}: ${e.message}`);
      return send(500, pyJson({ error: String(e.message) }));
    }
  });
});
server.listen(8668, '127.0.0.1', () => log('INFO', 'sysconfd (haplay lab stand-in) listening on 127.0.0.1:8668', 'xivo_sysconf.main'));
process.on('SIGTERM', () => process.exit(0));
