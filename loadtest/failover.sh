#!/usr/bin/env bash
# Failover on Postgres, measured: node a serves a cart and is killed -9,
# node b (already running) takes the cart over once a's lease lapses. Prints
# the pause between the kill and b's first acknowledged op, checks that every
# acknowledged op is there, and that a retry of one is answered as a
# duplicate. Usage: loadtest/failover.sh [BIN] [LEASE_TTL_MS] [NATS_URL]
# Without NATS_URL, b is a hot standby and a acknowledges the ops itself;
# with it, the ops after the first go to b, which forwards them to a.
# Needs Postgres at $CARTROOM_TEST_POSTGRES (default the local `test`),
# curl, jq and psql; uses schema `failover` and ports 18081-18082.
set -euo pipefail
BIN=${1:-target/release/cartroom}
TTL=${2:-6000}
NATS=${3:-}
PG=${CARTROOM_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
DB="$PG?options=-c%20search_path%3Dfailover"
psql "$PG" -qc "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS failover CASCADE" \
  -c "CREATE SCHEMA failover"
work=$(mktemp -d)
start() { # name port
  "$BIN" --listen "127.0.0.1:$2" --data-dir "$work/$1" --database-url "$DB" --node-name "$1" \
    --lease-ttl-ms "$TTL" ${NATS:+--nats-url "$NATS"} > "$work/$1.log" 2>&1 &
  echo $!
}
wait_up() { until curl -sf "http://127.0.0.1:$1/healthz" >/dev/null; do sleep 0.1; done; }
A=$(start a 18081); wait_up 18081
B=$(start b 18082); wait_up 18082
trap 'kill $A $B 2>/dev/null; rm -rf "$work"' EXIT
op() { # port op_id -> http code
  curl -s -o "$work/op.json" -w "%{http_code}" "http://127.0.0.1:$1/api/carts/$CART/ops" \
    -H "$AUTH" -H 'content-type: application/json' \
    -d "{\"op_id\":\"$2\",\"op\":{\"kind\":\"add_line\",\"sku\":\"MUG-BLUE\",\"quantity\":1}}"
}
TOKEN=$(curl -s http://127.0.0.1:18081/api/auth/signup -H 'content-type: application/json' \
  -d '{"email":"ana@example.com","password":"correct horse","name":"Ana"}' | jq -r .token)
AUTH="authorization: Bearer $TOKEN"
CART=$(curl -s http://127.0.0.1:18081/api/carts -H "$AUTH" -H 'content-type: application/json' \
  -d '{"name":"Failover"}' | jq -r .id)
# The first op loads the cart on a; with NATS the others go through b.
via=$([ -n "$NATS" ] && echo 18082 || echo 18081)
[ "$(op 18081 a-1)" = 200 ]
for i in $(seq 2 20); do [ "$(op "$via" "a-$i")" = 200 ]; done
kill -9 "$A"
killed=$(date +%s%N)
until [ "$(op 18082 b-1)" = 200 ]; do sleep 0.05; done
took=$(( ($(date +%s%N) - killed) / 1000000 ))
quantity=$(curl -s "http://127.0.0.1:18082/api/carts/$CART" -H "$AUTH" | jq '.lines[0].quantity')
op 18082 a-20 >/dev/null
duplicate=$(jq .duplicate "$work/op.json")
echo "lease ttl ${TTL} ms${NATS:+, NATS}: node b acknowledged its first op ${took} ms after node a was killed"
echo "quantity ${quantity} (20 acknowledged by a, 1 by b); a's last op retried on b: duplicate=${duplicate}"
[ "$quantity" = 21 ] && [ "$duplicate" = true ]
