// Core benchmark (issue 2): 20 idempotent no-op tasks on the 4 lab hosts over SSH, second run, wall
// clock for the whole `haplay` process. With ansible-playbook installed, the same tasks through Ansible
// (pipelining on) on the same hosts, and the ratio.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KEY, KNOWN_HOSTS, LAB_DIR, CORE_HOSTS } from '../test/lab/config.js';
import * as lab from '../test/lab/lab.js';
import { acquireLab, releaseLab } from '../test/helpers/lab.js';
import { fmt, time, which } from './lib.js';

const N = Number(process.env.BENCH_RUNS ?? 7);
await acquireLab();
process.on('exit', releaseLab);
await lab.up();
const haplay = ['node', 'dist/cli/index.js', 'bench/noop20.yml', '-i', 'inventories/lab.yml'];
time(haplay, 1); // first run: creates the files
const h = time(haplay, N);
console.log(`haplay, 20 no-op tasks x 4 hosts, second run: median ${fmt(h.median)} (min ${fmt(h.min)}, ${N} runs)`);

if (which('ansible-playbook')) {
  const inv = join(LAB_DIR, 'ansible-inventory.ini');
  writeFileSync(
    inv,
    '[all]\n' + CORE_HOSTS.map((x) => `${x.name} ansible_host=${x.address} ansible_user=root`).join('\n') + '\n',
  );
  const env = {
    ...process.env,
    ANSIBLE_PIPELINING: 'True',
    ANSIBLE_HOST_KEY_CHECKING: 'True',
    ANSIBLE_SSH_ARGS: `-o UserKnownHostsFile=${KNOWN_HOSTS} -o ControlMaster=auto -o ControlPersist=60s`,
    ANSIBLE_PRIVATE_KEY_FILE: KEY,
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    ANSIBLE_FORKS: '20',
    ANSIBLE_STDOUT_CALLBACK: 'default',
  };
  const ansible = ['ansible-playbook', '-i', inv, 'bench/ansible/noop20.yml'];
  time(ansible, 1, env);
  const a = time(ansible, Math.min(N, 3), env);
  console.log(`ansible-playbook, same tasks, pipelining: median ${fmt(a.median)}`);
  console.log(`ratio: haplay is ${(a.median / h.median).toFixed(1)}x faster`);
} else {
  console.log('ansible-playbook not installed: no comparison (apt-get install ansible-core)');
}
