// haplay lab stand-in for XiVO CC's xuc (a Play framework app): logs its boot, and a second or two later
// its readiness line "p.c.s.AkkaHttpServer - Listening for HTTP on /0.0.0.0:8090", then serves HTTP 8090.
import http from 'node:http';

const say = (level, logger, msg) => console.log(`${new Date().toISOString().replace('T', ' ').slice(0, 23)} [${level}] ${logger} - ${msg}`);
say('info', 'a.e.s.Slf4jLogger', 'Slf4jLogger started');
say('info', 'xivo.xuc.XucConfig', 'Starting xuc, XiVO host: ' + (process.env.XIVO_HOST ?? 'pbx-main'));
say('info', 'p.a.d.DefaultDBApi', 'Database [default] initialized at jdbc:postgresql://db:5432/xuc');
setTimeout(() => {
  http.createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"status":"ok"}'); })
    .listen(8090, '0.0.0.0', () => {
      say('info', 'play.api.Play', 'Application started (Prod) (no global state)');
      say('info', 'p.c.s.AkkaHttpServer', 'Listening for HTTP on /0.0.0.0:8090');
    });
}, 1500);
process.on('SIGTERM', () => { say('info', 'p.c.s.AkkaHttpServer', 'Stopping server...'); process.exit(0); });
