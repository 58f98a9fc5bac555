#!/usr/bin/env bash
# Builds the Debian package with the Tauri bundler (a release build) and prints its path.
#   scripts/bundle.sh            # -> target/dist/release/bundle/deb/Glasshouse_<version>_amd64.deb
# Needs Node.js (npx fetches the Tauri CLI 2.x from the npm registry on first use) and the
# build packages (scripts/install-deps.sh build).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build

command -v npx >/dev/null || scripts/install-deps.sh bundle

# The package gets a stripped binary (23 MB instead of 146 MB with the release profile's line
# tables). That is a different profile, and the CLI builds tauri with other features than a plain
# `cargo build --release`: a target directory of its own keeps the two from rebuilding each other.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/dist}"
export CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=debuginfo

started=$(date +%s)
# --ci: no prompts, plain output. The CLI reads ./tauri.conf.json and runs
# `cargo build --release` on the root package (the app and the workspace).
npx --yes @tauri-apps/cli@2 build --ci --bundles deb >&2
deb=$(find "$CARGO_TARGET_DIR/release/bundle/deb" -maxdepth 1 -name '*.deb' -newermt "@$started" 2>/dev/null | head -n1)
[ -n "$deb" ] || { echo "bundle: the Tauri CLI made no new .deb under $CARGO_TARGET_DIR/release/bundle/deb" >&2; exit 1; }
echo "bundle: built $deb in $(( $(date +%s) - started )) s" >&2
echo "$deb"
