// `haplay status`: one screen for the whole cluster, read-only. Who serves, each node's role,
// telephony and haplay units, the monitor's last verdict with its evidence, the age of the last
// successful replication, and the last switch. Exit 0 when exactly one PBX serves, 2 otherwise.
import { existsSync } from 'node:fs';
import { defaultInventoryPath, loadInventory } from '../core/inventory.js';
import { createTransport } from '../core/transport/pool.js';
import { fail } from './exit.js';

const SCRIPT = [
  'PATH="$PATH:/usr/sbin:/sbin"',
  'echo "@now $(date +%s)"',
  'echo "@ha $(tr -d \'\\n\' < /etc/xivo/ha.conf 2>/dev/null)"',
  'echo "@asterisk $(systemctl is-active asterisk 2>/dev/null)"',
  'if command -v xivocc-dcomp >/dev/null 2>&1; then echo "@nginx $(xivocc-dcomp ps 2>/dev/null | awk \'$3=="nginx"{print $4}\')"; else echo "@nginx $(systemctl is-active nginx 2>/dev/null)"; fi',
  'for u in haplay-monitor haplay-replicate.timer; do echo "@unit $u $(systemctl is-active $u 2>/dev/null)"; done',
  '[ -f /var/lib/haplay/monitor.json ] && echo "@monitor $(tr -d \'\\n\' < /var/lib/haplay/monitor.json)"',
  'l=$(grep -h "Synchronization successful" /var/log/xivo-sync.log /var/log/wazo-sync.log 2>/dev/null | tail -1); [ -n "$l" ] && echo "@sync $(date -d "$(echo "$l" | cut -c1-19)" +%s 2>/dev/null)"',
  'exit 0',
].join('\n');

export interface NodeStatus {
  host: string;
  group: string;
  reachable: boolean;
  error?: string;
  node_type?: string;
  telephony?: string;
  nginx?: string;
  units: Record<string, string>;
  monitor?: { state?: string; reason?: string; at?: string; evidence?: string[]; last_switch?: unknown };
  last_replication_age_s?: number | null;
}

export function parseStatus(host: string, group: string, out: string): NodeStatus {
  const s: NodeStatus = { host, group, reachable: true, units: {} };
  let now = 0;
  for (const l of out.split('\n')) {
    const [tag, ...rest] = l.split(' ');
    const v = rest.join(' ').trim();
    if (tag === '@now') now = Number(v);
    else if (tag === '@ha') {
      try { s.node_type = v ? String(JSON.parse(v).node_type) : 'disabled'; } catch { s.node_type = 'unreadable'; }
    } else if (tag === '@asterisk') s.telephony = v || 'unknown';
    else if (tag === '@nginx') s.nginx = v === 'Up' ? 'active' : v || 'inactive';
    else if (tag === '@unit') s.units[rest[0]] = rest[1] ?? 'inactive';
    else if (tag === '@monitor') {
      try { s.monitor = JSON.parse(v); } catch { /* being rewritten: skip */ }
    } else if (tag === '@sync') s.last_replication_age_s = now && Number(v) ? now - Number(v) : null;
  }
  return s;
}

export async function statusCommand(argv: Record<string, unknown>): Promise<void> {
  try {
    const path = (argv.inventory as string | undefined) ?? defaultInventoryPath(process.cwd(), process.env, existsSync);
    const inv = loadInventory(path);
    const groups = inv.groupsMap();
    const hosts = ['pbx_main', 'pbx_standby', 'cc'].flatMap((g) => (groups[g] ?? []).map((h) => [h, g] as const));
    const nodes = await Promise.all(hosts.map(async ([h, g]) => {
      const t = createTransport({ ...inv.connectionSpec(h), connectTimeoutMs: 5000 });
      try {
        const r = await t.exec(SCRIPT, { timeoutMs: 10_000 });
        return parseStatus(h, g, r.stdout);
      } catch (e) {
        return { host: h, group: g, reachable: false, error: (e as Error).message, units: {} } as NodeStatus;
      } finally {
        await t.close().catch(() => {});
      }
    }));
    const serving = nodes.filter((n) => n.group !== 'cc' && n.telephony === 'active').map((n) => n.host);
    const code = serving.length === 1 ? 0 : 2;
    if (argv.json) process.stdout.write(JSON.stringify({ serving, nodes }, null, 1) + '\n');
    else process.stdout.write(render(nodes, serving, process.stdout.isTTY === true && !process.env.NO_COLOR));
    process.exit(code);
  } catch (e) {
    fail(e);
  }
}

function render(nodes: NodeStatus[], serving: string[], color: boolean): string {
  const c = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const lines: string[] = [];
  const who = serving.length === 1 ? c('32', `${serving[0]} serves`) : serving.length === 0 ? c('31', 'NO PBX serves') : c('31', `SPLIT BRAIN: ${serving.join(' and ')} both serve`);
  lines.push(`cluster: ${who}`, '');
  const rows = [['host', 'group', 'ha.conf', 'telephony', 'nginx', 'haplay units', 'last replication']];
  for (const n of nodes) {
    if (!n.reachable) { rows.push([n.host, n.group, 'UNREACHABLE', '', '', '', '']); continue; }
    const units = Object.entries(n.units).filter(([, v]) => v === 'active').map(([u]) => u).join(',') || '-';
    const age = n.last_replication_age_s === undefined ? '' : n.last_replication_age_s === null ? '?' : `${n.last_replication_age_s} s ago`;
    rows.push([n.host, n.group, n.node_type ?? '', n.telephony ?? '', n.nginx ?? '', units, n.group === 'pbx_main' ? age : '']);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) lines.push(r.map((v, i) => v.padEnd(w[i])).join('  ').trimEnd());
  for (const n of nodes.filter((x) => x.monitor)) {
    const m = n.monitor!;
    lines.push('', `monitor on ${n.host}: ${m.state ?? '?'} (${m.at ?? ''})`, `  ${m.reason ?? ''}`);
    for (const e of m.evidence ?? []) lines.push(`  - ${e}`);
    if (m.last_switch) lines.push(`  last switch: ${JSON.stringify(m.last_switch)}`);
  }
  for (const n of nodes.filter((x) => !x.reachable)) lines.push('', `${n.host}: ${n.error}`);
  return lines.join('\n') + '\n';
}
