// Whom the HTTPS probe trusts. Anyone on the LAN who answers for the PBX's address could otherwise make
// a CC start or stop its nginx, so the PBX's certificate is checked against what the inventory pins:
// `tls_fingerprint` (the SHA-256 of its certificate, as `openssl x509 -noout -fingerprint -sha256`
// prints it) or `tls_ca` (a PEM file on the control machine that signed it, for its name or address).
// `tls_verify: false` turns the check off and must be written: with none of the three, validation
// refuses the task (exit 4).
import { readFileSync } from 'node:fs';
import { HaplayError } from '../core/errors.js';
import type { Vars } from '../core/types.js';

export interface TlsTrust {
  /** Upper-case hex, no colons. */
  fingerprint?: string;
  /** Path of a PEM CA file on the control machine. */
  ca?: string;
  verify: boolean;
}

export const TLS_VARS_HINT =
  'pin the PBX\'s certificate in the inventory: tls_fingerprint: "AB:CD:..." (openssl x509 -noout -fingerprint -sha256 -in its certificate) or tls_ca: /path/to/ca.pem; or write tls_verify: false to probe without checking it';

/** What the probed host's variables (or the task's params, which win) say; undefined when nothing is said. */
export function trustFrom(params: { tls_fingerprint?: string; tls_ca?: string; tls_verify?: boolean }, vars: Vars): TlsTrust | undefined {
  const fp = params.tls_fingerprint ?? (typeof vars.tls_fingerprint === 'string' ? vars.tls_fingerprint : undefined);
  const ca = params.tls_ca ?? (typeof vars.tls_ca === 'string' ? vars.tls_ca : undefined);
  const verify = params.tls_verify ?? (vars.tls_verify === false || vars.tls_verify === 'false' ? false : undefined);
  if (fp !== undefined) return { fingerprint: normalFingerprint(fp), verify: true };
  if (ca !== undefined) return { ca, verify: true };
  if (verify === false) return { verify: false };
  return undefined;
}

export function normalFingerprint(fp: string): string {
  return fp.replace(/^sha256[:=]/i, '').replace(/[:\s]/g, '').toUpperCase();
}

/** A pinned fingerprint is 64 hex digits, with or without colons. */
export const FINGERPRINT_PATTERN = '^(?:[Ss][Hh][Aa]256[:=])?(?:[0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$';

export function readCa(path: string, host: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new HaplayError('E_TASK_FAILED', `cannot read tls_ca ${path} for ${host}: ${(e as Error).message}`);
  }
}
