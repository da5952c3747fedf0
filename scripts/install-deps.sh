#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, run and test Steward. Idempotent: it
# checks first and touches nothing when everything is present. Run as root (or with sudo).
set -euo pipefail

# Debian packages the project needs. C toolchain and pkg-config for -sys crates.
APT_PACKAGES=(build-essential pkg-config ca-certificates libssl-dev libdbus-1-dev)
# The console (Tauri 2 on WebKitGTK): its build libraries, and what running it headless needs:
# an X server, a Secret Service keyring on a D-Bus session, WebKit's WebDriver, and the tools
# tests/e2e/screenshots.sh drives and photographs the window with.
APT_PACKAGES+=(libwebkit2gtk-4.1-dev librsvg2-dev libayatana-appindicator3-dev
  webkit2gtk-driver xvfb xauth gnome-keyring dbus-x11 imagemagick xdotool)
# The broker stewardd supervises (Mosquitto 2 with its dynamic-security plugin) and its clients,
# which the broker tests use to look at what a key may publish and subscribe to.
APT_PACKAGES+=(mosquitto mosquitto-clients)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-deps: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Rust toolchain comes with the machine (rustup); make sure its lint and format tools are.
if ! command -v cargo >/dev/null; then
  echo "install-deps: cargo not found; install Rust with rustup first" >&2
  exit 1
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    rustup component add "$component"
  fi
done

# tauri-driver: the WebDriver front for the real console that the end-to-end tests drive.
TAURI_DRIVER_VERSION=2.1.0
# (tauri-driver has no --version: ask cargo what it installed.)
if ! cargo install --list 2>/dev/null | grep -q "^tauri-driver v$TAURI_DRIVER_VERSION:"; then
  echo "install-deps: cargo install tauri-driver $TAURI_DRIVER_VERSION" >&2
  cargo install --locked --quiet tauri-driver --version "$TAURI_DRIVER_VERSION"
fi

# The console's UI: Node.js and npm come with the machine (Vite 8 needs Node >= 20.19); Debian's
# own packages are the fallback. `npm ci` runs when ui/node_modules is missing or
# ui/package-lock.json changed since the last install.
if ! command -v npm >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-deps: installing nodejs npm" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "install-deps: Node.js $(node --version) is too old for the UI's tools (need >= 20.19)" >&2
  exit 1
fi
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
lock_sum="$(sha256sum "$ROOT/ui/package-lock.json" | cut -d' ' -f1)"
stamp="$ROOT/ui/node_modules/.steward-package-lock.sha256"
if [ ! -d "$ROOT/ui/node_modules" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  echo "install-deps: npm ci in ui/" >&2
  npm --prefix "$ROOT/ui" ci --no-audit --no-fund
  echo "$lock_sum" >"$stamp"
fi
