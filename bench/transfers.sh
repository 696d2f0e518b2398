#!/usr/bin/env bash
# The README's figures: `accord bench transfers` against a fresh `accord dev` (3 runs at full
# speed, 3 at half the median rate), idle CPU/RSS, and the PostgreSQL baseline of
# ../shared/bench/pg_baseline.sh measured in the same run. Prints medians and the ratio.
# usage: bench/transfers.sh [accounts] [txs]
set -euo pipefail
cd "$(dirname "$0")/.."
accounts=${1:-10000}; txs=${2:-100000}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-cache}"
cargo build --release -q -p accord-cli
bin="$CARGO_TARGET_DIR/release/accord"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

pg="n/a"
if [ -x ../shared/bench/pg_baseline.sh ] && [ -x /usr/lib/postgresql/15/bin/initdb ]; then
  pg=$(../shared/bench/pg_baseline.sh 20 8 | field postgres_transfers_per_s)
fi

home=$(mktemp -d /tmp/accord-bench.XXXX); api=$(port); p2p=$(port)
"$bin" --home "$home" dev --api 127.0.0.1:$api --p2p 127.0.0.1:$p2p >/dev/null 2>&1 & pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$home"' EXIT
sleep 20
t0=$(awk '{print $14+$15}' /proc/$pid/stat); d0=$(du -sk "$home/data" | cut -f1); sleep 60
t1=$(awk '{print $14+$15}' /proc/$pid/stat); d1=$(du -sk "$home/data" | cut -f1)
rss=$(( $(awk '/VmRSS/{print $2}' /proc/$pid/status) / 1024 ))
echo "idle: cpu_pct_of_one_core=$(echo "scale=2; ($t1-$t0)/60" | bc) rss_mib=$rss storage_growth_kib_per_min=$((d1-d0))"

run() { "$bin" --home "$home" --node http://127.0.0.1:$api bench transfers --accounts "$accounts" --txs "$txs" "$@" 2>/dev/null; }
full=(); for i in 1 2 3; do line=$(run); echo "full: $line"; full+=("$line"); done
tps=$(printf '%s\n' "${full[@]}" | field transfers_per_s | median)
p99=$(printf '%s\n' "${full[@]}" | field p99_ms | median)
half_rate=$(printf '%.0f' "$(echo "$tps / 2" | bc)")
half=(); for i in 1 2 3; do line=$(run --rate "$half_rate"); echo "half ($half_rate/s): $line"; half+=("$line"); done
hp99=$(printf '%s\n' "${half[@]}" | field p99_ms | median)
ratio="n/a"; [ "$pg" != "n/a" ] && ratio=$(echo "scale=1; $tps / $pg" | bc)
echo "median: transfers_per_s=$tps p99_ms=$p99 | at $half_rate/s: p99_ms=$hp99 | postgres_transfers_per_s=$pg ratio=${ratio}x"
