#!/usr/bin/env bash
# The README's demo: from a fresh checkout, install, build, bring the lab up and run haplay against it
# the way an operator would. Each step prints what the operator sees.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "the demo builds network namespaces: run it as root" >&2; exit 4; }

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
haplay() { echo "\$ haplay $*"; node dist/cli/index.js "$@"; }

[ -d node_modules ] || { step "npm ci"; npm ci --no-audit --no-fund; }
step "build"; npm run -s build
step "bring the lab up (pbx-main, pbx-standby, cc, edge)"; npm run -s lab -- up
export HAPLAY_INVENTORY=inventories/lab.yml
step "the inventory"; haplay inventory --graph
step "is every host answering?"; haplay playbooks/ping.yml

if [ -f playbooks/ha-setup.yml ]; then
  step "what would HA setup change? (check mode, diff)"; haplay playbooks/ha-setup.yml --check --diff || true
  step "set up HA on the main and the standby"; haplay playbooks/ha-setup.yml
  step "run it again: nothing to change"; haplay playbooks/ha-setup.yml
fi
if [ -f playbooks/replicate.yml ]; then
  step "replicate main -> standby"; haplay playbooks/replicate.yml
  step "replicate again: nothing differs"; haplay playbooks/replicate.yml
fi
serving() { node dist/cli/index.js status --json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).serving.join(","))}catch{console.log("")}})'; }
wait_serving() { # HOST SECONDS: until exactly HOST serves (haplay status)
  local t0=$SECONDS
  until [ "$(serving)" = "$1" ]; do
    (( SECONDS - t0 > $2 )) && { echo "  $1 does not serve alone after $2 s"; return 1; }
    sleep 2
  done
  echo "  $1 serves, $(( SECONDS - t0 )) s later, with no command typed"
}
if [ -f playbooks/failover.yml ]; then
  step "who serves? (haplay status)"; haplay status || true
  step "outage: the main goes down; nobody types anything, the standby's monitor acts"
  npm run -s lab -- fault pbx-main down
  wait_serving pbx-standby 240
  haplay status || true
  step "the main is back: the monitor fences it, holds it 30 s, then hands the service back (failback.yml)"
  npm run -s lab -- fault pbx-main up
  wait_serving pbx-main 600
  haplay status || true
fi
[ -f playbooks/health.yml ] && { step "health report"; haplay playbooks/health.yml || true; }
step "done: the lab stays up (npm run lab -- down removes it)"
