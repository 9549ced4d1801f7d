#!/usr/bin/env bash
# CI smoke of the load tester: a few seconds against a freshly spawned
# server, small numbers. Fails (non-zero) on any error, undelivered op or
# divergence; timings are printed, never asserted.
#
# Usage: loadtest/smoke.sh            (from anywhere; builds debug binaries)
#        PROFILE=release loadtest/smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${PROFILE:-debug}"
flag=""
[ "$profile" = release ] && flag="--release"
# The same selection as the test script, so features unify alike and nothing rebuilds.
cargo build $flag --workspace --all-targets
target="${CARGO_TARGET_DIR:-target}/$profile"
lt=("$target/cartroom-loadtest" --spawn --server-bin "$target/cartroom" --no-progress)

# Live carts: 3 carts x 4 members at 4 op/s each, every member checked
# (replicas in all of them), convergence against the server.
"${lt[@]}" --scenario family --carts 3 --members 4 --rate 4 --warmup 0.5 --duration 2 --all-replicas
# Support agents watching several carts beside their members.
"${lt[@]}" --scenario watchers --carts 4 --members 2 --watchers 2 --carts-per-watcher 3 --rate 2 --warmup 0.5 --duration 1.5 --replicas 2
# Sockets that only ping.
"${lt[@]}" --scenario idle --connections 50 --ping-every 0.5 --duration 1.5
echo "loadtest smoke: OK"
