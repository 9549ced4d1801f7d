#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what the tests need (npm
# packages, Debian's chromium), then Rust unit and end-to-end tests (the
# end-to-end ones on SQLite, then on Postgres), the load tester's smoke
# run, and the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== building the workspace"
cargo build --workspace --all-targets

echo "== Rust unit and end-to-end tests"
# The tests that kill a server process use the binary built just above.
export CARTROOM_BIN="$PWD/target/debug/cartroom"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi

echo "== end-to-end tests again, on Postgres"
# The same suite with every server on a Postgres schema of its own
# (tests/src/backend.rs). CI has Postgres; elsewhere it may be missing.
postgres="${CARTROOM_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
if psql "$postgres" -qtAc 'SELECT 1' >/dev/null 2>&1; then
  # Schemas of earlier runs (t_ and 32 hex digits) go first.
  psql "$postgres" -qtAc "SELECT 'DROP SCHEMA ' || nspname || ' CASCADE;' FROM pg_namespace
                          WHERE nspname ~ '^t_[0-9a-f]{32}$'" |
    PGOPTIONS='-c client_min_messages=warning' psql "$postgres" -q >/dev/null
  export CARTROOM_TEST_DATABASE_URL="$postgres"
  # The workspace's build (features unified as above), so nothing is rebuilt.
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --no-fail-fast --workspace -E 'package(cartroom-e2e)'
  else
    cargo test --no-fail-fast --workspace --tests
  fi
  unset CARTROOM_TEST_DATABASE_URL
else
  echo "SKIPPED: no Postgres answers at $postgres (CI has one)"
fi

echo "== load tester smoke run"
loadtest/smoke.sh

echo "== web client: build and browser tests"
web-client/test/run.sh
