// ha-setup.yml on the lab: first run (fresh lab) and second, no-op run wall clock (target < 1.5 s),
// then ha-disable.yml to leave the lab as found. Through the built CLI, as an operator runs it.
//   npm run build && npx tsx bench/ha-setup.ts      (as root, lab up; takes the lab suite lock)
import { execFileSync } from 'node:child_process';
import { LAB_INVENTORY, REPO } from '../test/lab/config.js';
import * as lab from '../test/lab/lab.js';
import { acquireLab, releaseLab } from '../test/helpers/lab.js';


function run(playbook: string): { ms: number; changed: number; code: number } {
  const t0 = process.hrtime.bigint();
  let out = '';
  let code = 0;
  try {
    out = execFileSync('node', ['dist/cli/index.js', playbook, '-i', LAB_INVENTORY, '--json'], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch (e) {
    const err = e as { status?: number; stdout?: string };
    code = err.status ?? 1;
    out = err.stdout ?? '';
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const changed = out.split('\n').filter((l) => l.includes('"host_result"') && l.includes('"status":"changed"')).length;
  return { ms, changed, code };
}

await acquireLab();
try {
  await lab.up();
  await lab.reset();
  const first = run('playbooks/ha-setup.yml');
  const noops = [1, 2, 3].map(() => run('playbooks/ha-setup.yml'));
  const disable = run('playbooks/ha-disable.yml');
  const fmt = (r: { ms: number; changed: number; code: number }) => `${(r.ms / 1000).toFixed(2)} s (exit ${r.code}, ${r.changed} changed results)`;
  console.log(`ha-setup.yml first run:   ${fmt(first)}`);
  noops.forEach((r, i) => console.log(`ha-setup.yml no-op run ${i + 1}: ${fmt(r)}${r.ms < 1500 ? '' : '  ABOVE 1.5 s'}`));
  console.log(`ha-disable.yml:           ${fmt(disable)}`);
  const best = Math.min(...noops.map((r) => r.ms));
  console.log(`no-op best ${(best / 1000).toFixed(2)} s, target < 1.5 s: ${best < 1500 ? 'met' : 'NOT met'}`);
} finally {
  releaseLab();
}
