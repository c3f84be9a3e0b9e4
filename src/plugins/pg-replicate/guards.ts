// Who may replicate onto whom: the source must be the main (ha.conf master + is-primary sentinel), the
// target the standby (slave + is-secondary) and the standby must not be serving, or the copy would erase
// what users changed on it during an outage. One fact per node.
import { quote } from '../../core/shell.js';
import type { Fact } from '../../core/types.js';
import { defineFact } from '../../kit/index.js';
import { HA_PATHS, roleWord, type Flavour, type NodeType } from '../../xivo/flavour.js';

export interface NodeState {
  host: string;
  nodeType: NodeType | 'unknown';
  haConf: string | null;
  primary: boolean;
  secondary: boolean;
  disabledFlag: boolean;
  /** asterisk active in systemd (the standby's fact only): what `<serviceTool> status` reports as running. */
  asteriskRunning?: boolean;
}

const SEP = '@@haplay@@';

function stateScript(f: Flavour, withStatus: boolean): string {
  return [
    `cat ${HA_PATHS.haConf} 2>/dev/null || echo '${SEP}absent'`,
    `echo; echo ${SEP}`,
    `[ -e ${HA_PATHS.isPrimary} ] && echo is-primary`,
    `[ -e ${HA_PATHS.isSecondary} ] && echo is-secondary`,
    `[ -e ${quote(f.disabledFlag)} ] && echo disabled`,
    `echo ${SEP}`,
    // `<serviceTool> status` reads the same ActiveState, but checks the database and every unit first (~200 ms).
    withStatus ? 'systemctl is-active asterisk 2>&1' : '',
    'exit 0',
  ]
    .filter(Boolean)
    .join('\n');
}

export function parseNodeState(host: string, out: string, withStatus: boolean): NodeState {
  const [conf = '', flags = '', status = ''] = out.split(`${SEP}\n`);
  const text = conf.trim();
  let nodeType: NodeState['nodeType'] = 'unknown';
  let haConf: string | null = text;
  if (text === `${SEP}absent`) {
    haConf = null;
    nodeType = 'disabled';
  } else {
    try {
      const t = (JSON.parse(text) as { node_type?: unknown }).node_type;
      if (t === 'master' || t === 'slave' || t === 'disabled') nodeType = t;
    } catch {
      /* unknown */
    }
  }
  const f = flags.split('\n');
  return {
    host,
    nodeType,
    haConf,
    primary: f.includes('is-primary'),
    secondary: f.includes('is-secondary'),
    disabledFlag: f.includes('disabled'),
    asteriskRunning: withStatus ? status.trim() === 'active' : undefined,
  };
}

/** The HA state of `host`; with `withStatus`, whether asterisk runs there too (the standby's). */
export function nodeState(host: string, f: Flavour, withStatus: boolean): Fact<NodeState> {
  return defineFact({ what: 'the HA state', command: stateScript(f, withStatus), parse: (out) => parseNodeState(host, out, withStatus) });
}

export interface GuardProblem {
  message: string;
  hint: string;
}

/** Every reason to refuse, in the operator's words; empty when replication is safe. */
export function guardProblems(main: NodeState, standby: NodeState, fm: Flavour, fs: Flavour): GuardProblem[] {
  const out: GuardProblem[] = [];
  const said = (n: NodeState) => (n.haConf === null ? `${HA_PATHS.haConf} is absent (HA disabled)` : `${HA_PATHS.haConf} says node_type ${n.nodeType}`);
  const setup = 'set the HA roles first (playbooks/ha-setup.yml, or the ha-config plugin)';
  const mainWord = roleWord(fm.name, 'master');
  const standbyWord = roleWord(fs.name, 'slave');
  if (main.nodeType !== 'master') {
    out.push({ message: `${main.host} is not the ${mainWord}: ${said(main)}, so it is not the source to copy from`, hint: setup });
  } else if (!main.primary) {
    out.push({ message: `${main.host} has no ${HA_PATHS.isPrimary} sentinel although ha.conf says master`, hint: setup });
  }
  if (standby.nodeType !== 'slave') {
    out.push({ message: `${standby.host} is not the ${standbyWord}: ${said(standby)}, so replicating would overwrite a node that is not a copy`, hint: setup });
  } else if (!standby.secondary) {
    out.push({ message: `${standby.host} has no ${HA_PATHS.isSecondary} sentinel although ha.conf says slave`, hint: setup });
  }
  const serving = [
    standby.asteriskRunning ? 'asterisk is running (systemctl is-active asterisk)' : '',
    !standby.disabledFlag ? `${fs.disabledFlag} is absent, so its telephony is enabled` : '',
  ].filter(Boolean);
  if (serving.length) {
    out.push({
      message:
        `${standby.host} is serving: ${serving.join(' and ')}. Its database may hold what users changed while the ${mainWord} was lost; ` +
        'replicating now would erase it',
      hint:
        `fail back first (bring those changes to the ${mainWord}), then stop the ${standbyWord}'s telephony ` +
        `(${fs.serviceTool} stop ${fs.telephonyGroup} && ${fs.serviceTool} disable) and replicate; force: true replicates anyway`,
    });
  }
  return out;
}
