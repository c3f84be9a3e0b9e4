// The files of a freshly installed lab host, written into its tree (.lab/hosts/<host>/base) before
// its first boot: sshd, root's home, units, nginx, and per role the XiVO files the HA plugins touch.
import fs from 'node:fs';
import path from 'node:path';
import { CORE_HOSTS, HOST_DIRS, LabHost, allHosts, isPbx } from './config.js';
import { runOk } from './run.js';
import { DB_HEAD } from './postgres.js';

export const FLAVOUR = 'xivo';
const P = FLAVOUR;

function write(tree: string, rel: string, content: string | Buffer, mode?: number): void {
  const f = path.join(tree, rel);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, content);
  if (mode !== undefined) fs.chmodSync(f, mode);
}

/** A valid mono 8 kHz 16-bit WAV of `ms` milliseconds of a tone (bytes differ per file). */
export function wav(ms: number, freq = 440): Buffer {
  const samples = Math.round((8000 * ms) / 1000);
  const b = Buffer.alloc(44 + samples * 2);
  b.write('RIFF', 0); b.writeUInt32LE(36 + samples * 2, 4); b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22); b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(16000, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34); b.write('data', 36); b.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * freq * i) / 8000)), 44 + i * 2);
  return b;
}

export type Unit = [name: string, kind: string, command?: string];

export function unitsOf(h: LabHost): Unit[] {
  const base: Unit[] = [['ssh', 'sshd']];
  if (isPbx(h)) {
    const daemons = ['dxtora', 'provd', 'agid', 'amid', 'call-logd', 'agentd', 'phoned', 'calld', 'websocketd',
      'plugind', 'webhookd', 'confgend', 'confd', 'auth', 'dird', 'chatd'];
    return [...base,
      ['postgresql', 'pg'], ['nginx', 'nginx'], ['rabbitmq-server', 'sleep'], ['monit', 'sleep'],
      [`${P}-sysconfd`, 'cmd', `-a ${P}-sysconfd node /usr/local/sbin/xivo-sysconfd.mjs`],
      ['asterisk', 'cmd', '-a asterisk node /usr/local/sbin/asterisk-sip.mjs'],
      ...daemons.map((d): Unit => [`${P}-${d}`, 'sleep'])];
  }
  if (h.role === 'cc') return [...base, ['nginx', 'wrap', "nginx -g 'daemon off;'"], ['xuc', 'wrap', 'node /usr/local/sbin/xuc.mjs']];
  return [...base, ['nginx', 'wrap', "nginx -g 'daemon off;'"], ['kamailio', 'wrap', 'node /usr/local/sbin/kamailio-prober.mjs']];
}

function bootUnitsOf(h: LabHost): string[] {
  if (isPbx(h)) return ['ssh', 'postgresql', 'nginx', 'rabbitmq-server', `${P}-sysconfd`];
  return unitsOf(h).map(([n]) => n);
}

function nginxConf(h: LabHost): string {
  const wrapped = !isPbx(h);
  const ssl = `listen 443 ssl;\n    ssl_certificate /etc/nginx/ssl/lab.crt;\n    ssl_certificate_key /etc/nginx/ssl/lab.key;`;
  let server: string;
  if (isPbx(h)) {
    server = `server {
    listen 80 default_server;
    ${ssl}
    server_name ${h.name};
    location = /configmgt/api/2.0/sysconfd/get_ha_config { proxy_pass http://127.0.0.1:8668/get_ha_config; }
    location / { default_type text/plain; return 200 "XiVO ${h.name}\\n"; }
}`;
  } else if (h.role === 'cc') {
    server = `server {
    listen 80 default_server;
    ${ssl}
    server_name ${h.name};
    root /var/www/cc;
    location / { try_files $uri $uri/ /index.html; }
    location /xuc/ { proxy_pass http://127.0.0.1:8090/; }
}`;
  } else {
    const [main, standby] = CORE_HOSTS.filter(isPbx);
    const cc = CORE_HOSTS.find((x) => x.role === 'cc')!;
    server = `upstream xivo {
    server ${main.address}:443 max_fails=1 fail_timeout=10s;
    server ${standby.address}:443 backup;
}
upstream xivocc {
    server ${cc.address}:443 max_fails=1 fail_timeout=10s;
}
server {
    listen 80 default_server;
    ${ssl}
    server_name ${h.name};
    proxy_connect_timeout 2s;
    proxy_ssl_verify off;
    location /configmgt/ { proxy_pass https://xivo; }
    location /xivo/ { proxy_pass https://xivo/; }
    location / { proxy_pass https://xivocc; }
}`;
  }
  return `# haplay lab: nginx of ${h.name}
user www-data;
worker_processes 1;
pid /run/nginx.pid;
error_log ${wrapped ? 'stderr' : '/var/log/nginx/error.log'} warn;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log ${wrapped ? '/dev/stdout' : '/var/log/nginx/access.log'};
    sendfile on;
    ${server.split('\n').join('\n    ')}
}
`;
}

function provdConfig(h: LabHost, id: string, display: string, raw: Record<string, unknown>): string {
  return JSON.stringify({
    X_type: 'registrar', id, deletable: id !== 'default', displayname: display, parent_ids: [],
    proxy_main: h.address, proxy_backup: '', registrar_main: h.address, registrar_backup: '', raw_config: raw,
  });
}

function pbxFiles(tree: string, h: LabHost): void {
  write(tree, 'etc/xivo/asterisk/xivo_globals.conf', `[general]\nXIVO_HOSTNAME=${h.name}\n`);
  write(tree, 'etc/xivo/asterisk/xivo_ring.conf', '[number]\n; haplay lab\n');
  write(tree, 'etc/xivo/common.conf', `XIVO_HOSTNAME=${h.name}\nXIVO_VOIP_IFACES=eth0\nXIVO_NET4_IP=${h.address}\n`);
  write(tree, 'etc/asterisk/asterisk.conf', '[directories]\nastetcdir => /etc/asterisk\n');
  write(tree, 'etc/asterisk/extensions_extra.d/lab-custom.conf', '[lab-custom]\nexten = 9999,1,Answer()\nsame = n,Playback(hello-world)\nsame = n,Hangup()\n');
  write(tree, 'etc/asterisk/extensions_extra.d/lab-queues.conf', '[lab-queues]\nexten = 3999,1,Queue(queue1)\n');
  write(tree, 'var/lib/asterisk/agi-bin/lab-agi.sh', '#!/bin/sh\necho "VERBOSE \\"lab agi\\" 1"\n', 0o755);
  write(tree, 'var/lib/asterisk/agi-bin/lab-lookup.py', '#!/usr/bin/env python3\nprint("SET VARIABLE LOOKUP ok")\n', 0o755);
  for (let i = 1; i <= 3; i++) write(tree, `var/lib/asterisk/moh/default/lab-moh-${i}.wav`, wav(200 * i, 300 + 100 * i));
  write(tree, 'var/lib/xivo/sounds/acd/lab-welcome.wav', wav(300, 500));
  write(tree, 'var/lib/xivo/sounds/playback/lab-closed.wav', wav(250, 600));
  const tenant = 'avencall';
  write(tree, `var/lib/wazo/sounds/tenants/${tenant}/playback/lab-greeting.wav`, wav(350, 700));
  write(tree, `var/lib/wazo/sounds/tenants/${tenant}/monitor/lab-monitor-1.wav`, wav(150, 800));
  write(tree, `var/lib/wazo/sounds/tenants/${tenant}/recording/lab-recording-1.wav`, wav(180, 900));
  for (const ext of ['1001', '1002']) {
    const dir = `var/spool/asterisk/voicemail/default/${ext}/INBOX`;
    write(tree, `${dir}/msg0000.txt`, `;\n; Message Information file\n;\n[message]\norigmailbox=${ext}\ncontext=default\ncallerid="Lab" <1003>\norigdate=Mon Jan  1 10:00:00 AM UTC 2026\norigtime=1767261600\nduration=2\n`);
    write(tree, `${dir}/msg0000.wav`, wav(400, 350 + Number(ext) % 10));
  }
  for (const provd of ['var/lib/xivo-provd', 'var/lib/wazo-provd']) {
    write(tree, `${provd}/jsondb/configs/default`, provdConfig(h, 'default', 'local', { X_key: 'xivo' }));
    write(tree, `${provd}/jsondb/configs/registrar-lab`, provdConfig(h, 'registrar-lab', 'lab registrar', { X_key: 'xivo' }));
    write(tree, `${provd}/jsondb/configs/base`, JSON.stringify({ id: 'base', X_type: 'internal', deletable: false, raw_config: { ntp_enabled: true } }));
  }
  write(tree, 'etc/hplab/db-head', DB_HEAD);
}

/** Writes a host's tree: everything but its PostgreSQL cluster. */
export async function writeHostTree(tree: string, h: LabHost, pairs: number, controlPub: string): Promise<void> {
  for (const d of HOST_DIRS) fs.mkdirSync(path.join(tree, d), { recursive: true });
  for (const d of ['var/log/nginx', 'var/log/hplab', 'var/log/containers', 'var/log/postgresql', 'etc/cron.d', 'etc/hplab/enabled', 'etc/nginx/ssl']) {
    fs.mkdirSync(path.join(tree, d), { recursive: true });
  }
  write(tree, 'etc/hostname', `${h.name}\n`);
  write(tree, 'etc/hosts', ['127.0.0.1\tlocalhost', `${h.address}\t${h.name}`, ...allHosts(pairs).filter((x) => x.name !== h.name).map((x) => `${x.address}\t${x.name}`), ''].join('\n'));
  // sshd: key auth only, its own host key, listening on the host address and loopback.
  write(tree, 'etc/ssh/sshd_config', [
    `# haplay lab: sshd of ${h.name}`, 'Port 22', `ListenAddress ${h.address}`, 'ListenAddress 127.0.0.1',
    'HostKey /etc/ssh/ssh_host_ed25519_key', 'PermitRootLogin prohibit-password', 'PubkeyAuthentication yes',
    'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'UseDNS no', 'AllowTcpForwarding yes',
    'PrintMotd no', 'PrintLastLog no', 'PidFile /run/sshd.pid', 'MaxStartups 200:30:400', 'MaxSessions 100',
    'AcceptEnv LANG LC_*', 'Subsystem sftp /usr/lib/openssh/sftp-server', '',
  ].join('\n'));
  for (const f of ['ssh_config', 'moduli']) if (fs.existsSync(`/etc/ssh/${f}`)) fs.copyFileSync(`/etc/ssh/${f}`, path.join(tree, 'etc/ssh', f));
  const hostKey = path.join(tree, 'etc/ssh/ssh_host_ed25519_key');
  if (!fs.existsSync(hostKey)) await runOk(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `root@${h.name}`, '-f', hostKey]);
  // root: a clean, fast home with the control key.
  write(tree, 'root/.ssh/authorized_keys', controlPub, 0o600);
  fs.chmodSync(path.join(tree, 'root/.ssh'), 0o700);
  fs.chmodSync(path.join(tree, 'root'), 0o700);
  write(tree, 'root/.profile', '# haplay lab\n[ -n "$BASH" ] && [ -f ~/.bashrc ] && . ~/.bashrc\n');
  write(tree, 'root/.bashrc', `# haplay lab: nothing slow here\nPS1='root@${h.name}:\\w# '\n`);
  // units and boot
  const units = unitsOf(h);
  write(tree, 'etc/hplab/units', units.map((u) => u.filter(Boolean).join(' ')).join('\n') + '\n');
  for (const [n] of units) write(tree, `etc/hplab/enabled/${n}`, '');
  write(tree, 'etc/hplab/boot-units', bootUnitsOf(h).join('\n') + '\n');
  write(tree, 'etc/hplab/role', `${h.role}\n`);
  write(tree, 'etc/hplab/flavour', `${FLAVOUR}\n`);
  write(tree, 'etc/hplab/address', `${h.address}\n`);
  // nginx
  for (const f of ['mime.types']) fs.copyFileSync(`/etc/nginx/${f}`, path.join(tree, 'etc/nginx', f));
  write(tree, 'etc/nginx/nginx.conf', nginxConf(h));
  await runOk(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650',
    '-subj', `/CN=${h.name}`, '-addext', `subjectAltName=IP:${h.address},DNS:${h.name}`,
    '-keyout', path.join(tree, 'etc/nginx/ssl/lab.key'), '-out', path.join(tree, 'etc/nginx/ssl/lab.crt')]);
  if (isPbx(h)) pbxFiles(tree, h);
  if (h.role === 'cc') {
    write(tree, 'var/www/cc/index.html', `<!doctype html><title>XiVO CC</title><h1>XiVO CC (${h.name})</h1><p>UC Assistant, CC Agent, Switchboard</p>\n`);
    write(tree, 'var/log/syslog', '');
  }
  if (h.role === 'edge') {
    write(tree, 'etc/hplab/dispatcher.list', CORE_HOSTS.filter(isPbx).map((x) => x.address).join('\n') + '\n');
  }
}
