#!/usr/bin/env bash
# Builds the web client and runs its tests against the real server.
# Called by the repository's test command; also fine to run by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(cd .. && pwd)"

if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM_PATH:-}" ]; then
  echo "installing Debian's chromium for the browser tests" >&2
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
npm ci --no-audit --no-fund
npm run build
if [ -z "${CARTROOM_BIN:-}" ]; then
  (cd "$root" && cargo build --workspace --all-targets)
fi
npm test
