// The service tool of XiVO and Wazo (xivo-service, wazo-service): how its `status` reads. The
// service plugin and the HA monitor both read it.

/** Parses `<tool> status` output into {unit: status}. */
export function parseServiceStatus(stdout: string): Record<string, string> {
  const units: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^\t(running|stopped|failed|unknown)\t\t(\S+)\s*$/.exec(line);
    if (m) units[m[2]] = m[1];
  }
  return units;
}
