#!/usr/bin/env bash
# Installs the Debian packages the tests need beyond npm: for `npm run test:compat` a
# real memcached (to validate the harness), memccapable, and stock memcache clients in
# Python, Ruby, PHP and Java; Chromium for the dashboard's `npm run test:e2e`; and
# PostgreSQL's server binaries for `npm test`'s PostgreSQL restart fault; Prometheus (and
# promtool) for `npm test`'s test/metrics-prometheus.test.ts, which scrapes a running cachier.
# Idempotent: returns at once when everything is installed.
#
# Notes: Debian's ruby-dalli does not depend on the ruby interpreter, so `ruby` is
# listed explicitly. sasl2-bin (saslpasswd2) lets the harness self-check
# (CACHIER_COMPAT_TARGET=memcached) run memcached with SASL. The spymemcached test
# compiles its client with javac: a JDK is installed when the machine has none.
# test/faults/postgres-restart.test.ts runs initdb and pg_ctl (any major version under
# /usr/lib/postgresql) for a private server on a free port; a PostgreSQL the machine
# already runs is left alone. Under CI=true those tests fail rather than skip without
# their tools (test/support/required-tool.ts).
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
  prometheus
)
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || ! compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null; then
  PACKAGES+=(postgresql)
fi
if ! command -v javac >/dev/null 2>&1; then
  PACKAGES+=(default-jdk-headless)
fi

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
