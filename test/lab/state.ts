// What the lab remembers between commands (.lab/state.json).
import fs from 'node:fs';
import { Profile, STATE_FILE } from './config.js';

export interface LabState {
  pairs: number;
  profile: Profile;
  /** Hash of what the hosts' trees were built from. */
  build?: string;
  partitions: [string, string][];
  slow: Record<string, number>;
  down: string[];
}

export function readState(): LabState | undefined {
  if (!fs.existsSync(STATE_FILE)) return undefined;
  return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8')) as LabState;
}

export function writeState(s: LabState): void {
  fs.writeFileSync(STATE_FILE, JSON.stringify(s, null, 2) + '\n');
}
