#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, run and test Steward. Idempotent: it
# checks first and touches nothing when everything is present. Run as root (or with sudo).
set -euo pipefail

# Debian packages the project needs. C toolchain and pkg-config for -sys crates.
APT_PACKAGES=(build-essential pkg-config ca-certificates libssl-dev libdbus-1-dev)

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
