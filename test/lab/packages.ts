// Debian packages the lab runs on; `up` installs the missing ones (and says so).
import fs from 'node:fs';
import { Log } from './lab.js';
import { run, runOk } from './run.js';

/** package -> a file that proves it is installed */
export const PACKAGES: Record<string, string> = {
  'openssh-server': '/usr/sbin/sshd',
  'openssh-client': '/usr/bin/ssh',
  rsync: '/usr/bin/rsync',
  'postgresql-15': '/usr/lib/postgresql/15/bin/postgres',
  'postgresql-common': '/usr/bin/pg_createcluster',
  'postgresql-client-15': '/usr/lib/postgresql/15/bin/psql',
  'nginx-light': '/usr/sbin/nginx',
  iproute2: '/usr/sbin/ip',
  openssl: '/usr/bin/openssl',
  perl: '/usr/lib/x86_64-linux-gnu/perl/5.36.0/Time/HiRes.pm',
  ethtool: '/usr/sbin/ethtool',
  'util-linux': '/usr/bin/nsenter',
};

export function missingPackages(): string[] {
  return Object.entries(PACKAGES).filter(([, f]) => !fs.existsSync(f)).map(([p]) => p)
    // nginx: any flavour will do
    .filter((p) => !(p === 'nginx-light' && fs.existsSync('/usr/sbin/nginx')));
}

export async function ensurePackages(log: Log): Promise<void> {
  const missing = missingPackages();
  if (missing.length === 0) return;
  log(`installing missing Debian packages: ${missing.join(' ')}`);
  await runOk(['apt-get', 'update', '-qq'], { timeoutMs: 300_000 });
  const r = await run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missing], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: 600_000,
  });
  if (r.code !== 0) throw new Error(`could not install ${missing.join(' ')}:\n${r.stderr || r.stdout}`);
  const still = missingPackages();
  if (still.length) throw new Error(`still missing after apt-get install: ${still.join(' ')}`);
}
