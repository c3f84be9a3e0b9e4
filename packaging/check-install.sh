#!/usr/bin/env bash
# The package as an operator has it: install build/haplay_*.deb with apt, run the installed haplay
# (a bare playbook name from /usr/share/haplay/playbooks, the inventory from /etc/haplay), then
# remove (the operator's files in /etc/haplay stay), then purge (nothing stays). As root; run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "check-install: run as root" >&2; exit 1; }
[ -z "$(ip netns list 2>/dev/null)" ] || { echo "check-install: the lab is up (npm run lab -- down first)" >&2; exit 1; }
deb=$(ls -t build/haplay_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { echo "check-install: no build/haplay_*.deb (npm run package)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
fail() { echo "check-install: FAILED: $*" >&2; exit 1; }
step() { echo "check-install: $*"; }

step "apt install ./$deb"
apt-get install -y -qq --no-install-recommends "./$deb" >/dev/null
[ "$(command -v haplay)" = /usr/bin/haplay ] || fail "haplay is not /usr/bin/haplay"
v=$(haplay --version); [ "$v" = "$(node -p 'require("./package.json").version')" ] || fail "haplay --version said $v"
step "haplay --version: $v, on $(/usr/lib/haplay/node/bin/node --version)"
help=$(haplay --help)   # whole, not piped into grep -q: an early exit would be a broken pipe under pipefail
grep -q '/usr/share/haplay/playbooks' <<<"$help" || fail "--help does not say where playbooks are looked for"
man -w haplay >/dev/null 2>&1 || [ -f /usr/share/man/man1/haplay.1.gz ] || fail "no man page"
grep -q haplay /usr/share/bash-completion/completions/haplay || fail "no bash completion"
for u in haplay-monitor.service haplay-replicate.service haplay-replicate.timer; do
  [ -f /lib/systemd/system/$u ] || fail "no /lib/systemd/system/$u"
done
grep -qx 'ExecStart=/usr/bin/haplay monitor -i /etc/haplay/inventory.yml' /lib/systemd/system/haplay-monitor.service || fail "the monitor unit does not run /usr/bin/haplay"
[ ! -e /etc/systemd/system/multi-user.target.wants/haplay-monitor.service ] || fail "the package enabled the monitor (ha-setup.yml does, per role)"

step "haplay ping.yml from / (playbook from /usr/share/haplay/playbooks, inventory /etc/haplay/inventory.yml)"
printf 'hosts: { here: { connection: local } }\ngroups: { local: { hosts: [here] } }\n' >/etc/haplay/inventory.yml
out=$(cd / && haplay ping.yml) || fail "haplay ping.yml: $out"
grep -q 'here : ok=2 changed=0 failed=0' <<<"$out" || fail "unexpected output: $out"

step "apt remove: the operator's inventory and the conffile stay, the rest goes"
apt-get remove -y -qq haplay >/dev/null
for p in /usr/bin/haplay /usr/lib/haplay /usr/share/haplay /usr/share/man/man1/haplay.1.gz /usr/share/bash-completion/completions/haplay \
  /lib/systemd/system/haplay-monitor.service /lib/systemd/system/haplay-replicate.service /lib/systemd/system/haplay-replicate.timer; do
  [ ! -e "$p" ] || fail "$p left after remove"
done
[ -f /etc/haplay/inventory.yml ] || fail "remove took the operator's /etc/haplay/inventory.yml"
[ -f /etc/haplay/inventory.example.yml ] || fail "remove took the conffile"
dpkg -s haplay 2>/dev/null | grep -q '^Status: deinstall ok config-files' || fail "not in config-files state after remove"

step "apt purge: nothing stays"
apt-get purge -y -qq haplay >/dev/null
[ ! -e /etc/haplay ] || fail "/etc/haplay left after purge"
! dpkg -s haplay >/dev/null 2>&1 || fail "dpkg still knows haplay after purge"
step "ok"
