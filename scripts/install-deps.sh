#!/usr/bin/env bash
# Installs the Debian packages Glasshouse needs, skipping what is already present.
#   scripts/install-deps.sh build        # to build and run the app
#   scripts/install-deps.sh build test   # also what the end-to-end tests need (Xvfb, xdotool, ...)
set -euo pipefail

build=(build-essential pkg-config libx11-dev libxtst-dev libxi-dev)
test=(xvfb xauth xdotool openbox xterm dbus-x11 x11-utils)

wanted=()
for set in "$@"; do
  case "$set" in
    build) wanted+=("${build[@]}") ;;
    test) wanted+=("${test[@]}") ;;
    *) echo "install-deps: unknown package set '$set' (use: build, test)" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
