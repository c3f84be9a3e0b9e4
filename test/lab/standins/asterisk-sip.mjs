// haplay lab stand-in for Asterisk's SIP side: UDP 5060, answers OPTIONS with 200 OK (Via, From, To,
// Call-ID and CSeq echoed), other requests with 501. Runs as the `asterisk` unit.
import dgram from 'node:dgram';
import fs from 'node:fs';

const host = fs.readFileSync('/etc/hostname', 'utf8').trim();
const sock = dgram.createSocket('udp4');
sock.on('message', (msg, rinfo) => {
  const text = msg.toString('utf8');
  const [head] = text.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const m = /^([A-Z]+) (\S+) SIP\/2\.0$/.exec(lines[0]);
  if (!m) return; // responses and garbage are ignored
  const echo = lines.filter((l) => /^(via|v|from|f|to|t|call-id|i|cseq)\s*:/i.test(l));
  const to = echo.map((l) => (/^(to|t)\s*:/i.test(l) && !/;tag=/.test(l) ? `${l};tag=as${process.pid.toString(16)}` : l));
  const status = m[1] === 'OPTIONS' ? '200 OK' : '501 Not Implemented';
  const out = [
    `SIP/2.0 ${status}`, ...to, `Server: Asterisk PBX (haplay lab ${host})`,
    'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, MESSAGE',
    'Accept: application/sdp', 'Content-Length: 0', '', '',
  ].join('\r\n');
  sock.send(out, rinfo.port, rinfo.address);
});
sock.bind(5060, '0.0.0.0');
process.on('SIGTERM', () => process.exit(0));
