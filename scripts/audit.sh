#!/usr/bin/env bash
# Checks Cargo.lock against the RustSec advisory database, offline: a vulnerability, or a warning
# (unmaintained, unsound, yanked) not on the allow-list below, fails. cargo-audit goes into the
# gitignored .tools, like tauri-driver.
#
# The database: $GLASSHOUSE_ADVISORY_DB, else ../shared/advisory-db next to the repository (a
# plain copy of github.com/rustsec/advisory-db). Without one this prints why and skips, unless
# CI=true and GLASSHOUSE_ADVISORY_DB names a database that must be used.
set -euo pipefail
cd "$(dirname "$0")/.."

db="${GLASSHOUSE_ADVISORY_DB:-../shared/advisory-db}"
if [ ! -d "$db/crates" ]; then
  if [ "${CI:-}" = true ] && [ -n "${GLASSHOUSE_ADVISORY_DB:-}" ]; then
    echo "audit: GLASSHOUSE_ADVISORY_DB=$db is not an advisory database (no crates/ in it)" >&2
    exit 1
  fi
  echo "audit: skipped: no advisory database at $db (set GLASSHOUSE_ADVISORY_DB to a copy of github.com/rustsec/advisory-db)"
  exit 0
fi

if [ ! -x .tools/bin/cargo-audit ]; then
  echo "== cargo install cargo-audit 0.22.2 (into .tools)"
  cargo install cargo-audit --version 0.22.2 --locked --root .tools
fi

[ -f "$db/SNAPSHOT.txt" ] && echo "audit: advisory database $(head -n 1 "$db/SNAPSHOT.txt")"

# Each allowed advisory with why. All are warnings (no vulnerability), and all come from Tauri's
# Linux webview stack: tauri 2 renders with webkit2gtk 4.1, which is GTK 3, and the gtk-rs GTK 3
# bindings are no longer maintained upstream (gtk-rs moved to GTK 4; Tauri has not yet). They
# leave the tree when Tauri moves off GTK 3; re-check this list on every Tauri upgrade.
allow=(
  # gtk-rs GTK 3 bindings, unmaintained: atk, atk-sys, gdk, gdk-sys, gdkwayland-sys, gdkx11,
  # gdkx11-sys, gtk, gtk-sys, gtk3-macros (pulled in by tauri/wry/tao/muda/webkit2gtk).
  RUSTSEC-2024-0411 RUSTSEC-2024-0412 RUSTSEC-2024-0413 RUSTSEC-2024-0414 RUSTSEC-2024-0415
  RUSTSEC-2024-0416 RUSTSEC-2024-0417 RUSTSEC-2024-0418 RUSTSEC-2024-0419 RUSTSEC-2024-0420
  # proc-macro-error, unmaintained: a build-time macro helper of gtk3-macros and glib-macros 0.18.
  RUSTSEC-2024-0370
  # glib 0.18, unsound `VariantStrIter` (only reachable through glib::Variant string iterators,
  # which nothing of ours calls); the fix is in glib 0.20, which the GTK 3 stack cannot take.
  RUSTSEC-2024-0429
)
args=()
for id in "${allow[@]}"; do args+=(--ignore "$id"); done

exec .tools/bin/cargo-audit audit --db "$db" --no-fetch --stale -D warnings "${args[@]}" "$@"
