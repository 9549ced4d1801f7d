#!/usr/bin/env bash
# Forwarding between nodes, measured: the same `team` load (20 carts x 20
# members at 0.5 op/s: 200 ops/s, 3,800 deliveries/s) against 1, then 2,
# then 3 nodes on one Postgres and one NATS, the participants spread over
# the nodes round robin (so most ops are forwarded to their cart's owner).
# Prints ops/s and op->all-members p99 per node count; each step's report
# and node logs go to $OUT. Usage: loadtest/cluster.sh [BIN]
# LOAD replaces the workload's flags (e.g. a lighter one for a debug build).
# Needs Postgres at $CARTROOM_TEST_POSTGRES (default the local `test`), NATS
# at $CARTROOM_TEST_NATS (default nats://127.0.0.1:4222), curl, jq, psql and
# cartroom-loadtest next to BIN; uses schema `cluster` and ports 18091-18093.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/cartroom}
LT=$(dirname "$BIN")/cartroom-loadtest
PG=${CARTROOM_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
NATS=${CARTROOM_TEST_NATS:-nats://127.0.0.1:4222}
DB="$PG?options=-c%20search_path%3Dcluster"
out="${OUT:-/tmp/cluster}"
read -ra load <<<"${LOAD:---scenario team --carts 20 --rate 0.5 --warmup 3 --duration 15}"
mkdir -p "$out"
work=$(mktemp -d)
pids=()
stop() { [ ${#pids[@]} -eq 0 ] || { kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null; }; pids=(); }
trap 'stop; rm -rf "$work"' EXIT
# A load test is one address and a few accounts making thousands of
# requests and sockets: lift the per-address and per-user limits, as
# `cartroom-loadtest --spawn` does.
for var in MAX_CONNECTIONS_PER_IP MAX_CONNECTIONS_PER_USER SIGNINS_PER_MINUTE_PER_IP \
  ACCOUNTS_PER_HOUR_PER_IP MEMBER_ADDITIONS_PER_HOUR HTTP_OPS_PER_SECOND; do
  export "CARTROOM_$var=1000000"
done
export CARTROOM_LOG=warn
start() { # name port log
  "$BIN" --listen "127.0.0.1:$2" --data-dir "$work/$1" --database-url "$DB" --node-name "$1" \
    --nats-url "$NATS" > "$3" 2>&1 &
  pids+=($!)
  until curl -sf "http://127.0.0.1:$2/healthz" >/dev/null; do
    kill -0 "${pids[-1]}" 2>/dev/null || { echo "node $1 exited:"; cat "$3"; exit 1; }
    sleep 0.1
  done
}
failed=0
summary=()
for nodes in 1 2 3; do
  # A fresh schema each step, so that no step inherits the others' carts.
  psql "$PG" -qc "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS cluster CASCADE" \
    -c "CREATE SCHEMA cluster" || exit 1
  urls=()
  for n in $(seq 1 "$nodes"); do
    start "n$n" $((18090 + n)) "$out/nodes-$nodes.n$n.log"
    urls+=(--url "http://127.0.0.1:$((18090 + n))")
  done
  rm -f "$out/nodes-$nodes.json"
  echo "== $nodes node(s)" | tee "$out/nodes-$nodes.txt"
  "$LT" "${urls[@]}" --no-progress --json "$out/nodes-$nodes.json" "${load[@]}" \
    >>"$out/nodes-$nodes.txt" 2>&1 || failed=1
  tail -13 "$out/nodes-$nodes.txt"
  stop
  summary+=("$(jq -r --arg n "$nodes" \
    '"\($n) node(s): \(.ops_per_second | round) ops/s, op->all members p99 \(.all_members.p99_ms * 100 | round / 100) ms\(if .ok then "" else " FAILED" end)"' \
    "$out/nodes-$nodes.json" 2>/dev/null || echo "$nodes node(s): no report (see $out/nodes-$nodes.txt)")")
done
printf '%s\n' "${summary[@]}"
exit "$failed"
