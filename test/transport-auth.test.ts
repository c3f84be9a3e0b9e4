// SSH authentication and privilege paths of the transport against a real sshd: an operator's
// account that becomes root through sudo, and keys held by an ssh-agent instead of a file.
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SshTransport } from '../src/core/transport/ssh.js';
import { startSshd, type Sshd } from './transport-sshd.js';

const USER = 'haplay-op';
const SUDOERS = '/etc/sudoers.d/haplay-test';
let sshd: Sshd;

test.before(async () => {
  // A plain account; the test sshd reads one authorized_keys file for every user.
  try {
    execFileSync('id', [USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['-m', '-s', '/bin/sh', USER]);
  }
  // useradd locks the password ('!'); sshd without PAM refuses locked accounts even with a key.
  execFileSync('usermod', ['-p', '*', USER]);
  sshd = await startSshd();
  // sshd reads authorized_keys as the user logging in: the account must be able to read it.
  chmodSync(sshd.dir, 0o755);
  chmodSync(join(sshd.dir, 'authorized_keys'), 0o644);
});

test.after.always(async () => {
  rmSync(SUDOERS, { force: true });
  await sshd?.stop();
});

test.serial('become: a non-root account runs every command as root through sudo -n', async (t) => {
  writeFileSync(SUDOERS, `${USER} ALL=(ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
  const tr = new SshTransport(sshd.spec({ user: USER, become: true }));
  t.teardown(() => tr.close());
  t.is((await tr.exec('id -un')).stdout, 'root\n');
  const path = `/root/haplay-become-${process.pid}`;
  await tr.writeFile(path, 'as root\n', { mode: 0o600 });
  t.teardown(() => rmSync(path, { force: true }));
  t.is(execFileSync('stat', ['-c', '%U %a', path]).toString(), 'root 600\n');
  const plain = new SshTransport(sshd.spec({ user: USER, become: false }));
  t.teardown(() => plain.close());
  t.is((await plain.exec('id -un')).stdout, `${USER}\n`, 'without become, the account itself');
});

test.serial('become without a sudo rule: a clear error that says what to set up', async (t) => {
  rmSync(SUDOERS, { force: true });
  const tr = new SshTransport(sshd.spec({ user: USER, become: true }));
  t.teardown(() => tr.close());
  const e = await t.throwsAsync(tr.exec('true'));
  t.is((e as { code?: string }).code, 'E_UNREACHABLE');
  t.regex(e!.message, new RegExp(`cannot become root on pbx-test: sudo -n /bin/sh failed`));
  t.regex((e as { hint?: string }).hint ?? '', /NOPASSWD/);
});

test.serial('agent: with no key file given, the key held by ssh-agent logs in', async (t) => {
  const sock = join(sshd.dir, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  t.teardown(() => agent.kill());
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
  execFileSync('ssh-add', ['-q', sshd.clientKey], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
  const saved = process.env.SSH_AUTH_SOCK;
  process.env.SSH_AUTH_SOCK = sock;
  t.teardown(() => (saved === undefined ? delete process.env.SSH_AUTH_SOCK : (process.env.SSH_AUTH_SOCK = saved)));
  const tr = new SshTransport(sshd.spec({ privateKey: undefined }));
  t.teardown(() => tr.close());
  t.is((await tr.exec('echo through-agent')).stdout, 'through-agent\n');
});
