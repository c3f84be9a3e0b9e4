// The log lines XiVO's HA documentation tells operators to watch (the lab README for xuc), as
// named patterns: each knows where its lines are, so `log-check: {named: xuc_ready, wait: true}` is a
// whole task. `{address}` narrows a pattern to one PBX address (the `address` param).
import type { Flavour } from '../../xivo/flavour.js';

export interface NamedPattern {
  /** A regular expression; `{address}` is replaced by the escaped `address` param (any address when omitted). */
  regex: string;
  what: string;
  /** Where the lines are, unless the task says path or command. */
  source: (f: Flavour) => { path: string } | { command: string; follow: string };
}

const dcomp = (tool: string, svc: string) => ({
  command: `${tool} logs -t ${svc}`,
  follow: `${tool} logs -f -t ${svc}`,
});

export const NAMED_PATTERNS: Record<string, NamedPattern> = {
  sysconfd_resilience: {
    regex: 'Updating resilience state, from: (?:True|False) to: (?:True|False)',
    what: 'sysconfd changed the HA state of the PBX (grep \'Updating resilience state\' /var/log/xivo-sysconfd.log)',
    source: (f) => ({ path: f.sysconfdLog }),
  },
  cc_resilience: {
    regex: 'xivocc-ha: \\[RESILIENCE\\]',
    what: "xivocc-ha-monitoring's (or ha-monitor's) lines in the CC's syslog",
    source: () => ({ path: '/var/log/syslog' }),
  },
  cc_ha_inactive: {
    regex: 'xivocc-ha: \\[RESILIENCE\\] HA config shows active=false',
    what: 'the CC found its linked PBX inactive (its nginx is then stopped)',
    source: () => ({ path: '/var/log/syslog' }),
  },
  cc_nginx_switch: {
    regex: 'xivocc-ha: \\[RESILIENCE\\] Nginx (?:started|stopped)',
    what: 'the CC started or stopped its nginx after an HA change',
    source: () => ({ path: '/var/log/syslog' }),
  },
  edge_destination_down: {
    regex: 'WARNING: .*Destination down: OPTIONS sip:{address}:5060',
    what: "the Edge's kamailio dispatcher stopped sending to a PBX (edge-dcomp logs -t kamailio | grep 'WAR.*Destination')",
    source: () => dcomp('edge-dcomp', 'kamailio'),
  },
  edge_destination_up: {
    regex: 'WARNING: .*Destination up: OPTIONS sip:{address}:5060',
    what: "the Edge's kamailio dispatcher sends to a PBX again",
    source: () => dcomp('edge-dcomp', 'kamailio'),
  },
  nginx_upstream_disabled: {
    regex: 'upstream server temporarily disabled.*upstream: "https?://{address}[:/]',
    what: "the Edge's nginx marked a PBX or CC upstream down (edge-dcomp logs -t nginx | grep 'temporarily disabled')",
    source: () => dcomp('edge-dcomp', 'nginx'),
  },
  xuc_ready: {
    regex: 'p\\.c\\.s\\.AkkaHttpServer - Listening for HTTP on',
    what: 'xuc is ready after a (re)start (xivocc-dcomp logs -f xuc)',
    source: () => dcomp('xivocc-dcomp', 'xuc'),
  },
};

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function namedRegex(name: string, address?: string): string {
  const n = NAMED_PATTERNS[name];
  return n.regex.replace(/\{address\}/g, address ? escapeRegex(address) : '[^:;/\\s"]+');
}
