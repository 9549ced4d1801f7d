#!/usr/bin/env bash
# The runs behind docs/BENCHMARKS.md. Each spawns a fresh server (release
# build) and writes its JSON report and output to $OUT.
# Usage: loadtest/bench.sh [server-binary] [group]    (OUT=/tmp/bench by default)
# Groups: core, members, conns, other (all four: all), targets (the
# performance issue's rows), ceiling (the highest `family` rate held, three
# rounds of 3,000 to 5,000 ops/s), soak (10 minutes, memory over time).
set -uo pipefail
cd "$(dirname "$0")/.."
server="${1:-target/release/cartroom}"
out="${OUT:-/tmp/bench}"
mkdir -p "$out"
lt=(target/release/cartroom-loadtest --spawn --server-bin "$server" --no-progress)
run() {
  local name="$1"; shift
  echo "== $name: ${lt[*]} $*" | tee "$out/$name.txt"
  "${lt[@]}" --json "$out/$name.json" "$@" >>"$out/$name.txt" 2>&1
  echo "exit $?" >>"$out/$name.txt"
  tail -14 "$out/$name.txt"
}
case "${2:-all}" in
  all|core)
    run family-250 --scenario family --carts 250 --rate 1 --warmup 3 --duration 15
    run hot-1000 --scenario hot --members 1000 --rate 0.05 --warmup 3 --duration 20 --ramp 5
    ;;&
  all|members)
    run members-1 --scenario hot --members 1 --rate 40 --warmup 2 --duration 10
    run members-10 --scenario hot --members 10 --rate 5 --warmup 2 --duration 10
    run members-100 --scenario hot --members 100 --rate 0.5 --warmup 2 --duration 10
    ;;&
  all|conns)
    for n in 1000 5000 10000 19800; do
      run conns-$n --scenario family --carts $((n / 4)) --rate 0.05 --warmup 3 --duration 15 --ramp $((n / 1000))
    done
    ;;&
  all|other)
    run team-50 --scenario team --carts 50 --rate 0.5 --warmup 3 --duration 15
    run watchers-20 --scenario watchers --carts 320 --members 4 --watchers 20 --rate 0.25 --warmup 3 --duration 15
    run idle-19800 --scenario idle --connections 19800 --duration 20 --ramp 10
    run family-2000 --scenario family --carts 2000 --rate 1 --warmup 2 --duration 10 --ramp 8 --drain-timeout 120
    ;;
  targets)
    # Server CPU per op and per delivery.
    run team-20x20 --scenario team --carts 20 --rate 0.5 --warmup 3 --duration 20
    # Write path at one edit per commit: 10 ops/s spread over 10 members.
    run write-path --scenario hot --members 10 --rate 1 --warmup 2 --duration 15 --trace-file-writes
    run switches --scenario hot --members 10 --rate 1 --warmup 2 --duration 15
    # Throughput: 8,000 ops/s offered.
    run family-2000 --scenario family --carts 2000 --rate 1 --warmup 2 --duration 10 --ramp 8 --drain-timeout 120
    # Every member keeps a replica (client-side cost in the load generator).
    run replicas-all --scenario family --carts 100 --rate 1 --warmup 2 --duration 10 --all-replicas
    ;;
  ceiling)
    for round in 1 2 3; do
      for carts in 750 875 1000 1125 1250; do
        run ceiling-$((carts * 4))-$round --scenario family --carts $carts --rate 1 --warmup 3 --duration 15 --ramp 5 --drain-timeout 60
      done
    done
    ;;
  soak)
    # ~20k deliveries/s for 10 minutes: RSS per connection must stay flat.
    run soak-10min --scenario team --carts 50 --members 10 --rate 4.5 --warmup 5 --duration 600 --ramp 5
    ;;
esac
