#!/usr/bin/env bash
# Installs what is missing, builds Glasshouse and starts it. Arguments go to `glasshouse`
# (e.g. `scripts/run.sh --show`, `scripts/run.sh record`); with none it starts the tray app,
# recording this machine's X display into the local SQLite database in
# ~/.local/share/glasshouse. No server is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
cargo build --release --locked --bins
exec target/release/glasshouse "$@"
