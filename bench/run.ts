// `npm run bench`: every benchmark, one after the other (they share the lab). BENCH=name runs one.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const only = process.env.BENCH;
const files = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'lib.ts'].includes(f))
  .filter((f) => !only || f.startsWith(only));
spawnSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
let failed = 0;
for (const f of files) {
  console.log(`\n## ${f}`);
  const r = spawnSync('npx', ['tsx', `bench/${f}`], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
