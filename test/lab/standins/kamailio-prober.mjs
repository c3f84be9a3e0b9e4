// haplay lab stand-in for the Edge's kamailio dispatcher: sends SIP OPTIONS to every destination of
// /etc/hplab/dispatcher.list every 2 s (ds_ping_interval), a reply timeout of 1 s, and logs state changes
// as kamailio's event_route[dispatcher:dst-down|dst-up] does on the Edge (seed 000).
import dgram from 'node:dgram';
import fs from 'node:fs';
import crypto from 'node:crypto';

const INTERVAL = Number(process.env.DS_PING_INTERVAL ?? 2000);
const TIMEOUT = 1000;
const dests = fs.readFileSync('/etc/hplab/dispatcher.list', 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const state = new Map(dests.map((d) => [d, { up: true, waiting: null }]));
const sock = dgram.createSocket('udp4');
const self = fs.readFileSync('/etc/hosts', 'utf8').match(/^(\S+)\s+edge\b/m)?.[1] ?? '0.0.0.0';
const pending = new Map();
let seq = 1;

console.log(` 0(1) INFO: <core> [main.c:2873]: main(): haplay lab kamailio stand-in starting, ${dests.length} dispatcher destinations`);
console.log(` 0(1) INFO: dispatcher [dispatch.c:3402]: ds_ping_active_init(): probing every ${INTERVAL / 1000}s`);

sock.on('message', (msg) => {
  const callId = /^Call-ID:\s*(\S+)/im.exec(msg.toString())?.[1];
  const p = callId && pending.get(callId);
  if (!p) return;
  pending.delete(callId);
  clearTimeout(p.timer);
  const st = state.get(p.dest);
  if (!st.up) {
    st.up = true;
    console.log(`12(19) WARNING: ${p.dest}:5060 - ${callId} - OPTIONS - <null> <script>: Destination up: OPTIONS sip:${p.dest}:5060;transport=udp`);
  }
});

function probe(dest) {
  const callId = `${crypto.randomBytes(8).toString('hex')}-20@0.0.0.0`;
  const branch = `z9hG4bK${crypto.randomBytes(6).toString('hex')}`;
  const { port } = sock.address();
  const msg = [
    `OPTIONS sip:${dest}:5060;transport=udp SIP/2.0`,
    `Via: SIP/2.0/UDP ${self}:${port};branch=${branch}`,
    `From: <sip:dispatcher@localhost>;tag=${crypto.randomBytes(4).toString('hex')}`,
    `To: <sip:${dest}:5060;transport=udp>`,
    `Call-ID: ${callId}`, `CSeq: ${seq++} OPTIONS`, 'Max-Forwards: 70', 'User-Agent: kamailio (haplay lab)', 'Content-Length: 0', '', '',
  ].join('\r\n');
  const timer = setTimeout(() => {
    pending.delete(callId);
    const st = state.get(dest);
    if (st.up) {
      st.up = false;
      console.log(`13(20) WARNING: <script>: Destination down: OPTIONS sip:${dest}:5060;transport=udp (<null>)`);
    }
  }, TIMEOUT);
  pending.set(callId, { dest, timer });
  sock.send(msg, 5060, dest, () => {});
}

sock.bind(0, () => {
  const tick = () => dests.forEach(probe);
  tick();
  setInterval(tick, INTERVAL);
});
process.on('SIGTERM', () => process.exit(0));
