// Debian packages the lab runs on: the one list in scripts/debian-packages.txt, which npm's
// pretest/predemo hooks and .ci/run install with scripts/install-debian-packages.sh. `up` runs the
// same script for what is missing (and says so), then checks again.
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from './config.js';
import type { Log } from './lab.js';
import { run } from './run.js';

export const PACKAGE_LIST = path.join(REPO, 'scripts/debian-packages.txt');
export const INSTALLER = path.join(REPO, 'scripts/install-debian-packages.sh');

/** package -> a file that proves it is installed, from scripts/debian-packages.txt */
export function readPackageList(text = fs.readFileSync(PACKAGE_LIST, 'utf8')): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const [pkg, proof] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (!pkg) continue;
    if (!proof) throw new Error(`${PACKAGE_LIST}: ${pkg} has no file that proves it is installed`);
    out[pkg] = proof;
  }
  return out;
}

export const PACKAGES: Record<string, string> = readPackageList();

export function missingPackages(): string[] {
  return Object.entries(PACKAGES).filter(([, f]) => !fs.existsSync(f)).map(([p]) => p);
}

export async function ensurePackages(log: Log): Promise<void> {
  const missing = missingPackages();
  if (missing.length === 0) return;
  log(`installing missing Debian packages: ${missing.join(' ')}`);
  const r = await run(['bash', INSTALLER], { timeoutMs: 900_000 });
  if (r.code !== 0) throw new Error(`could not install ${missing.join(' ')}:\n${r.stderr || r.stdout}`);
  const still = missingPackages();
  if (still.length) throw new Error(`still missing after ${INSTALLER}: ${still.join(' ')}\n${r.stderr}`);
}
