// `lab slow HOST MS`. Placeholder until the relay lands.
import { LabHost } from './config.js';
export async function setSlow(_h: LabHost, _ms: number): Promise<void> { throw new Error('slow: not implemented yet'); }
export async function clearSlow(): Promise<void> {}
