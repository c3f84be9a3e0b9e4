#!/usr/bin/env bash
# `npm run package`: builds build/haplay_<version>_<arch>.deb with dpkg-deb, from this checkout.
# The runtime is Node.js 20 from the npm registry package node-linux-<arch> (Debian 12's nodejs is
# 18.20, below haplay's engines), in /usr/lib/haplay/node: nothing is fetched but from the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_VERSION=20.20.2               # the runtime the package carries; CI and the lab test this one
MAINTAINER_EMAIL=${HAPLAY_MAINTAINER_EMAIL:-haplay@example.org}   # set HAPLAY_MAINTAINER_EMAIL to the real one when publishing
version=$(node -p 'require("./package.json").version')
arch=$(dpkg --print-architecture)
case "$arch" in amd64) narch=x64 ;; arm64) narch=arm64 ;; *) echo "no Node.js package for $arch" >&2; exit 1 ;; esac

out=build; root=$out/root; lib=$root/usr/lib/haplay; doc=$root/usr/share/doc/haplay
rm -rf "$root"; mkdir -p "$lib" "$doc" "$root/usr/bin" "$root/usr/share/haplay" "$root/etc/haplay" \
  "$root/usr/share/man/man1" "$root/usr/share/bash-completion/completions" "$root/usr/share/lintian/overrides" "$root/DEBIAN" \
  "$root/lib/systemd/system"

# HAPLAY_PACKAGE_PREBUILT=1: dist is fresh (the lab test that installs the package runs after npm
# test's build, while other suites run dist: rebuilding it under them could break them).
[ "${HAPLAY_PACKAGE_PREBUILT:-}" = 1 ] || { rm -rf dist && npm run -s build; }   # a clean dist: no compiled file of a moved module
# haplay: the compiled code in one file (packaging/bundle.mjs) and its production dependencies (pruned from this checkout's, native
# addons already built against Node 20's ABI, which the bundled runtime shares).
cp -a package.json package-lock.json "$lib/"
node packaging/bundle.mjs "$lib"
cp -a node_modules "$lib/"
(cd "$lib" && npm prune --omit=dev --no-audit --no-fund --silent)
rm -f "$lib/package-lock.json" "$lib/node_modules/.package-lock.json"
find "$lib/node_modules" \( -name '*.md' ! -iname 'licen[cs]e*' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \
  -o -name '*.ts' -o -name .npmignore -o -name .eslintrc\* -o -name .travis.yml -o -name .github -o -name obj.target -o -name '.deps' \
  -o -name Makefile -o -name '*.mk' -o -name 'config.gypi' -o -name '*.gyp' -o -name '*.gypi' -o -name '*.target.mk' \) -prune -exec rm -rf {} +
# Command-line tools of dependencies (haplay never runs them; they want /usr/bin/node) and build leftovers.
rm -rf "$lib/node_modules/.bin" "$lib/node_modules/handlebars/bin" "$lib/node_modules/semver/bin" \
  "$lib/node_modules/uglify-js/bin" "$lib/node_modules/yaml/bin.mjs" "$lib/node_modules/nan/tools" \
  "$lib/node_modules/cpu-features/deps" "$lib/node_modules/cpu-features/src" "$lib/node_modules/ssh2/lib/protocol/crypto/src"
find "$lib/node_modules" \( -name '*.a' -o -name .gitattributes -o -name .gitignore \) -delete
find "$lib/node_modules" -type d -empty -delete
find "$lib/dist" \( -name '*.map' -o -name .tsbuildinfo -o -name '*.d.ts' \) -delete
find "$lib/node_modules" -name '*.node' -exec strip --strip-unneeded --remove-section=.comment {} +

# The runtime, from the npm registry (npm checks the tarball's integrity).
cache=$out/cache; mkdir -p "$cache"
tgz=$cache/node-linux-$narch-$NODE_VERSION.tgz
[ -f "$tgz" ] || (cd "$cache" && npm pack "node-linux-$narch@$NODE_VERSION" --silent >/dev/null)
mkdir -p "$lib/node/bin"
tar -xzf "$tgz" -C "$lib/node" --strip-components=1 package/bin/node package/LICENSE
strip --strip-unneeded --remove-section=.comment "$lib/node/bin/node"

cat >"$root/usr/bin/haplay" <<'SH'
#!/bin/sh
# haplay on the Node.js runtime it ships with (Debian 12's nodejs is too old).
exec /usr/lib/haplay/node/bin/node /usr/lib/haplay/dist/cli/index.js "$@"
SH
chmod 755 "$root/usr/bin/haplay"
sed -i '1{/^#!/d}' "$lib/dist/cli/index.js"    # run by the wrapper, not as a script

cp -a playbooks "$root/usr/share/haplay/playbooks"
# The unattended-HA units, the bytes ha-setup.yml compares with (it enables them per role; the
# package enables nothing: a node without its /etc/haplay/inventory.yml has nothing to run).
node -e 'import(process.argv[1]).then((m) => { for (const [n, c] of Object.entries(m.unitFiles("/usr/bin/haplay"))) require("fs").writeFileSync(process.argv[2] + "/" + n, c); })' \
  "$PWD/dist/plugins/ha-engine/units.js" "$root/lib/systemd/system"
cp inventories/example.yml "$root/etc/haplay/inventory.example.yml"
cp README.md "$doc/README.md"
mkdir -p "$doc/examples" && cp inventories/example.yml "$doc/examples/inventory.yml"

# Man page from --help, bash completion from yargs: both from the program being packaged.
COLUMNS=78 "$lib/node/bin/node" "$lib/dist/cli/index.js" --help | node packaging/help-to-man.mjs "$version" | gzip -9n >"$root/usr/share/man/man1/haplay.1.gz"
"$lib/node/bin/node" "$lib/dist/cli/index.js" completion >"$root/usr/share/bash-completion/completions/haplay"

date=$(git log -1 --format=%aD 2>/dev/null || date -R)
printf 'haplay (%s) unstable; urgency=medium\n\n  * Release %s: see README.md.\n\n -- haplay maintainers <haplay@localhost>  %s\n' \
  "$version" "$version" "$date" | sed "s/<[^>]*>/<$MAINTAINER_EMAIL>/" | gzip -9n >"$doc/changelog.gz"
cp packaging/copyright "$doc/copyright"
cp packaging/lintian-overrides "$root/usr/share/lintian/overrides/haplay"

# Modes: only the two programs are executable; what git and npm left is made regular.
find "$root" -type d -exec chmod 755 {} +
find "$root" -type f -exec chmod 644 {} +
chmod 755 "$root/usr/bin/haplay" "$lib/node/bin/node"

cp packaging/postrm packaging/prerm "$root/DEBIAN/"; chmod 755 "$root/DEBIAN/postrm" "$root/DEBIAN/prerm"
(cd "$root" && find etc -type f -printf '/%p\n') >"$root/DEBIAN/conffiles"
(cd "$root" && find usr lib -type f -print0 | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@EMAIL@/$MAINTAINER_EMAIL/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@NODE@/$NODE_VERSION/" packaging/control >"$root/DEBIAN/control"

deb=$out/haplay_${version}_${arch}.deb
# xz -z1: lintian (bookworm) reads no zstd, and -z6 takes minutes on a loaded 2-core machine for 2 MB less
dpkg-deb --root-owner-group -Zxz -z1 --build "$root" "$deb" >/dev/null
echo "$deb ($(du -h "$deb" | cut -f1))"
