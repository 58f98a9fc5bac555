#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests and the end-to-end tests under a real
# X server (Xvfb + openbox, input synthesised with xdotool). Needs no display of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build test

# tauri-driver, the WebDriver server the dashboard test talks to, goes into the gitignored .tools.
if [ ! -x .tools/bin/tauri-driver ]; then
  echo "== cargo install tauri-driver (into .tools)"
  cargo install tauri-driver --version '^2' --locked --root .tools
fi

export CARGO_TERM_COLOR=never
# The end-to-end tests start their own X servers; never touch the caller's.
unset DISPLAY WAYLAND_DISPLAY
export GLASSHOUSE_X_TESTS=1

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
# Includes a short seeded run of every fuzz target (crates/fuzz/tests/short.rs).

echo "== cargo audit (offline, against the vendored advisory database)"
scripts/audit.sh

# The .deb: a release build through the Tauri bundler, installed with dpkg, then the installed
# binary must run. Slow (a release build), so only in CI or when asked.
if [ "${CI:-}" = true ] || [ "${GLASSHOUSE_BUNDLE:-}" = 1 ]; then
  echo "== .deb (scripts/bundle.sh, dpkg -i, glasshouse --version)"
  deb=$(scripts/bundle.sh)
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  # dpkg leaves the package unconfigured when a dependency is missing; apt-get -f brings it in.
  if ! "${sudo[@]}" dpkg -i "$deb"; then
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq --no-install-recommends
  fi
  want="glasshouse $(cargo pkgid -p glasshouse | sed 's/.*[#@]//')"
  got=$(/usr/bin/glasshouse --version)
  [ "$got" = "$want" ] || { echo "installed /usr/bin/glasshouse --version says '$got', expected '$want'" >&2; exit 1; }
  [ -x /usr/bin/glasshouse-capture-worker ] || { echo "the package has no /usr/bin/glasshouse-capture-worker" >&2; exit 1; }
  echo "installed $deb: $got"
fi
