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
if [ -f playbooks/failover.yml ]; then
  step "outage: the main goes down"; npm run -s lab -- fault pbx-main down
  step "failover to the standby"; haplay playbooks/failover.yml || true
  step "the main is back"; npm run -s lab -- fault pbx-main up
  [ -f playbooks/failback.yml ] && { step "failback to the main"; haplay playbooks/failback.yml; }
fi
[ -f playbooks/health.yml ] && { step "health report"; haplay playbooks/health.yml || true; }
step "done: the lab stays up (npm run lab -- down removes it)"
