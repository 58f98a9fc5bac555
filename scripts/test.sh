#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests and the end-to-end tests under a real
# X server (Xvfb + openbox, input synthesised with xdotool). Needs no display of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build test

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
