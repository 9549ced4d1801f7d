#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what the tests need (npm
# packages, Debian's chromium), then Rust unit and end-to-end tests, the
# load tester's smoke run, and the browser tests.
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

echo "== load tester smoke run"
loadtest/smoke.sh

echo "== web client: build and browser tests"
web-client/test/run.sh
