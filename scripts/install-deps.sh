#!/usr/bin/env bash
# Installs the Debian packages Glasshouse needs, skipping what is already present.
#   scripts/install-deps.sh build        # to build and run the app
#   scripts/install-deps.sh build test   # also what the end-to-end tests need (Xvfb, xdotool,
#                                        # WebKitWebDriver for the dashboard tests, ...)
set -euo pipefail

# The tray app links WebKitGTK (webkit2gtk 4.1, which pulls GTK 3) and loads the Ayatana
# AppIndicator library for its tray icon; capture links libX11, libXtst and libXi; the encrypted
# store (SQLCipher, built with the crate) uses the system's OpenSSL libcrypto; the keyring client
# and capture's screen lock watcher use libdbus.
build=(build-essential pkg-config libx11-dev libxtst-dev libxi-dev libssl-dev libdbus-1-dev
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev)
# webkit2gtk-driver is WebKitWebDriver, which tauri-driver drives in the dashboard test;
# chromium and chromium-driver (chromedriver) drive the collector's manager page test.
# xset and i3lock lock the test X server's screen (the screen-lock test); gnome-keyring and
# secret-tool are the desktop keyring of the encryption test; dbus-daemon runs their private
# session buses.
test=(xvfb xauth xdotool openbox xterm dbus-x11 dbus-daemon x11-utils x11-xserver-utils i3lock
  gnome-keyring libsecret-tools webkit2gtk-driver fonts-dejavu-core chromium chromium-driver)
# Node.js runs the Tauri CLI (npx) that builds the .deb (scripts/bundle.sh asks for this set only
# when npx is missing, so a Node.js from elsewhere is left alone).
bundle=(nodejs npm)

wanted=()
for set in "$@"; do
  case "$set" in
    build) wanted+=("${build[@]}") ;;
    test) wanted+=("${test[@]}") ;;
    bundle) wanted+=("${bundle[@]}") ;;
    *) echo "install-deps: unknown package set '$set' (use: build, test, bundle)" >&2; exit 2 ;;
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
