// `npm run lab -- <command>`: the lab's command line (test/lab/README.md).
import { CORE_HOSTS, MAX_PAIRS, Profile } from './config.js';
import * as lab from './lab.js';

const USAGE = `usage: npm run lab -- <command>
  up [--pairs N] [--profile default|bench]   build (first time) and boot the lab; quick check when up
  down [--purge]                             stop everything, leave nothing behind (--purge: forget the build too)
  status                                     hosts, links, processes, units
  reset                                      back to the freshly built state
  fault HOST down|up                         pull the host's cable and kill its processes / plug it back and boot it
  partition A B | heal                       A and B cannot reach each other / remove every partition
  slow HOST MS                               add MS ms of latency to what HOST sends (0 removes it)
  exec HOST -- CMD...                        run a command inside a host
hosts: ${CORE_HOSTS.map((h) => `${h.name} ${h.address}`).join(', ')}; --pairs N (N <= ${MAX_PAIRS}) adds pbx-main-K/pbx-standby-K`;

const log = (l: string) => console.error(`lab: ${l}`);

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  switch (cmd) {
    case 'up': {
      const pairs = flag(args, '--pairs');
      const profile = flag(args, '--profile') as Profile | undefined;
      if (profile && profile !== 'default' && profile !== 'bench') throw new Error('--profile is default or bench');
      const t0 = Date.now();
      await lab.up({ pairs: pairs === undefined ? undefined : Number(pairs), profile, log });
      log(`up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'down': await lab.down({ log, purge: args.includes('--purge') }); return 0;
    case 'reset': {
      const t0 = Date.now();
      await lab.reset({ log });
      log(`reset in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'status': {
      const { state, hosts } = await lab.status();
      if (!state) { console.log('lab: never built'); }
      else console.log(`profile ${state.profile}, ${state.pairs} fleet pairs; partitions: ${state.partitions.map((p) => p.join('|')).join(', ') || 'none'}; slow: ${Object.entries(state.slow).map(([h, ms]) => `${h} ${ms}ms`).join(', ') || 'none'}`);
      let allUp = hosts.length > 0;
      for (const h of hosts) {
        const units = Object.entries(h.units);
        const active = units.filter(([, s]) => s === 'active').length;
        const notActive = units.filter(([, s]) => s !== 'active').map(([u, s]) => `${u}=${s}`);
        const st = !h.namespaces ? 'absent' : !h.link ? 'link down' : h.processes === 0 ? 'no processes' : 'up';
        if (st !== 'up') allUp = false;
        console.log(`${h.name.padEnd(18)} ${h.address.padEnd(12)} ${st.padEnd(12)} ${h.processes} processes, units ${active}/${units.length} active${notActive.length ? ` (${notActive.join(' ')})` : ''}`);
      }
      return allUp ? 0 : 3;
    }
    case 'fault': {
      const [host, action] = args;
      if (!host || (action !== 'down' && action !== 'up')) throw new Error('usage: fault HOST down|up');
      await lab.fault(host, action);
      return 0;
    }
    case 'partition': {
      const [a, b] = args;
      if (!a || !b) throw new Error('usage: partition A B');
      await lab.partition(a, b);
      return 0;
    }
    case 'heal': await lab.heal(); return 0;
    case 'slow': {
      const [host, ms] = args;
      if (!host || ms === undefined) throw new Error('usage: slow HOST MS');
      await lab.slow(host, Number(ms));
      return 0;
    }
    case 'exec': {
      const [host, sep, ...rest] = args;
      const command = sep === '--' ? rest : [sep, ...rest].filter((x) => x !== undefined);
      if (!host || command.length === 0) throw new Error('usage: exec HOST -- CMD...');
      lab.assertRoot();
      const r = await lab.exec(host, command);
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      return r.code;
    }
    default:
      console.error(USAGE);
      return cmd === undefined || cmd === 'help' || cmd === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e: Error) => {
  console.error(`lab: ${e.message}`);
  process.exit(1);
});
