#!/usr/bin/env bash
# Installs the Debian packages of scripts/debian-packages.txt that are missing, and only those:
# `apt-get update` runs only when something is missing. Debian starts the servers it installs; the
# lab runs its own per host, so the ones installed here are stopped again.
# Run by npm's pretest and predemo hooks (whichever of the README's commands comes first) and by .ci/run.
# `--missing` only prints what is missing, one a line, and installs nothing.
set -euo pipefail
list="${HAPLAY_DEBIAN_PACKAGES:-$(dirname "$0")/debian-packages.txt}"

missing=()
while read -r pkg proof _; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  if [[ -n "${proof:-}" ]]; then [[ -e "$proof" ]] && continue
  else dpkg -s "$pkg" >/dev/null 2>&1 && continue; fi
  missing+=("$pkg")
done <"$list"
if [[ "${1:-}" == --missing ]]; then ((${#missing[@]})) && printf '%s\n' "${missing[@]}"; exit 0; fi
((${#missing[@]})) || exit 0

if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
  echo "haplay: missing Debian packages: ${missing[*]}" >&2
  echo "haplay: install them as root: scripts/install-debian-packages.sh (the lab tests need root anyway)" >&2
  exit 0
fi
echo "haplay: installing missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Lists already fetched may be enough; fetch them when there are none or when the install fails on them.
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then apt-get update -qq; fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
for svc in nginx postgresql ssh; do service "$svc" stop >/dev/null 2>&1 || true; done
