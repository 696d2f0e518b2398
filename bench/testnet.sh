#!/usr/bin/env bash
# The README's network figures: 4 validators as 4 `accord node` processes on this machine.
# Runs `accord bench transfers --nodes …` 3 times at full speed and 3 times at half the
# median rate, then kills one validator, lets the others run on for 10 s, restarts it and
# times how long it takes to be back at the others' height (3 times). Prints medians.
# usage: bench/testnet.sh [accounts] [txs]   (EPOCH_LENGTH=N: blocks per epoch, default 256)
set -euo pipefail
cd "$(dirname "$0")/.."
accounts=${1:-10000}; txs=${2:-60000}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-cache}"
cargo build --release -q -p accord-cli
bin="$CARGO_TARGET_DIR/release/accord"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
ms() { date +%s%3N; }

out=$(mktemp -d /tmp/accord-testnet.XXXX)
"$bin" --json testnet init --validators 4 --epoch-length "${EPOCH_LENGTH:-256}" --out "$out/net" > "$out/net.json"
api() { python3 -c "import json,sys; print(json.load(open('$out/net.json'))['nodes'][$1]['api'])"; }
height() { curl -s -m 2 "$(api "$1")/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["height"])' 2>/dev/null || echo 0; }
declare -a pids
start() { "$bin" --home "$out/net/node$1" node >>"$out/node$1.log" 2>&1 & pids[$1]=$!; }
for k in 0 1 2 3; do start $k; done
trap 'kill ${pids[@]} 2>/dev/null; rm -rf "$out"' EXIT
until [ "$(height 3)" -ge 3 ]; do sleep 0.5; done
nodes="$(api 0),$(api 1),$(api 2),$(api 3)"

run() { "$bin" --home "$out/net/node0" --node "$(api 0)" bench transfers --nodes "$nodes" --accounts "$accounts" --txs "$txs" "$@" 2>/dev/null; }
full=(); for i in 1 2 3; do line=$(run); echo "full: $line"; full+=("$line"); done
tps=$(printf '%s\n' "${full[@]}" | field transfers_per_s | median)
half_rate=$(printf '%.0f' "$(echo "$tps / 2" | bc)")
half=(); for i in 1 2 3; do line=$(run --rate "$half_rate"); echo "half ($half_rate/s): $line"; half+=("$line"); done
hp99=$(printf '%s\n' "${half[@]}" | field p99_ms | median)

catchup=()
for i in 1 2 3; do
  kill -9 "${pids[3]}"; wait "${pids[3]}" 2>/dev/null || true
  sleep 10
  target=$(height 0); t0=$(ms); start 3
  until [ "$(height 3)" -ge "$target" ]; do sleep 0.05; done
  t=$(( $(ms) - t0 )); echo "restart: caught up to height $target (10 s of blocks missed) in ${t} ms"; catchup+=("$t")
done
c=$(printf '%s\n' "${catchup[@]}" | median)
echo "median: transfers_per_s=$tps | at $half_rate/s: p99_ms=$hp99 | restart_catch_up_ms=$c"
