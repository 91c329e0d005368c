#!/usr/bin/env bash
# Installs the Debian packages that `npm run test:compat` needs: a real memcached
# (to validate the harness), memccapable, and stock memcache clients in Python,
# Ruby, PHP and Java; and Chromium for the dashboard's `npm run test:e2e`.
# Idempotent: returns at once when everything is installed.
#
# Notes: Debian's ruby-dalli does not depend on the ruby interpreter, so `ruby` is
# listed explicitly. sasl2-bin (saslpasswd2) lets the harness self-check
# (CACHIER_COMPAT_TARGET=memcached) run memcached with SASL; javac for the
# spymemcached test comes from a JDK, which that test skips without.
set -euo pipefail

PACKAGES=(
  memcached
  libmemcached-tools
  python3-pylibmc
  python3-pymemcache
  ruby
  ruby-dalli
  php-cli
  php-memcached
  libspymemcached-java
  sasl2-bin
  chromium
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-test-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "install-test-deps: installing ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  SUDO=(sudo)
fi
"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${PACKAGES[@]}"
