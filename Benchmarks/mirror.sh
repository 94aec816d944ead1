#!/usr/bin/env bash
# Benchmarks paymentsctl mirror (issue "change stream", Speed): how many changes per second it
# applies into Redis, with redis-benchmark on the same redis-server in the same run as the
# baseline.
#   1. paymentsd takes N transactions (default 1 million, the batch benchmark's stream: 60 %
#      deposits over all 65 536 clients, withdrawals, disputes, resolves, chargebacks);
#   2. a fresh redis-server (no persistence), payments:lsn set to 0, and the mirror started:
#      it streams FOLLOW 1 and writes every change; timed from its start until Redis says
#      payments:lsn = N (polled every 10 ms), best of RUNS;
#   3. redis-benchmark -P 16 of SET and HSET on that same server (the baseline: Redis's own
#      pipelined client).
# Usage: Benchmarks/mirror.sh [N] [RUNS]. SCRATCH=DIR builds with --scratch-path DIR.
# CLIENTS=K maps every client of the stream to client % K (the same mapping for a deposit and
# the disputes that name it): fewer, busier accounts, as in a real ledger, where a batch
# coalesces several changes of one account into one HSET. The default (all 65 536 clients,
# about 1.6 changes per account per 65 536-line batch) is the worst case.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
runs=${2:-3}
for tool in redis-server redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || { echo "mirror.sh: $tool is needed (apt-get install redis-server)" >&2; exit 1; }
done
build=(swift build -c release ${SCRATCH:+--scratch-path "$SCRATCH"})
for product in paymentsd paymentsctl payments-bench; do "${build[@]}" --product "$product" >/dev/null; done
bin=$("${build[@]}" --show-bin-path)
mkdir -p Benchmarks/out
data=Benchmarks/out/stream-$n.csv
[ -f "$data" ] || "$bin/payments-bench" "$data" "$n"
if [ -n "${CLIENTS:-}" ]; then
  mapped=Benchmarks/out/stream-$n-clients-$CLIENTS.csv
  [ -f "$mapped" ] || awk -F, -v OFS=, -v k="$CLIENTS" 'NR > 1 { $2 = $2 % k } { print }' "$data" >"$mapped"
  data=$mapped
fi

tmp=$(mktemp -d /tmp/pmbench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
now() { date +%s.%N; }
wait_for() { for _ in $(seq 3000); do "$@" >/dev/null 2>&1 && return 0; sleep 0.01; done; echo "mirror.sh: timed out: $*" >&2; exit 1; }

"$bin/paymentsd" --data-dir "$tmp/data" --unix "$tmp/d.sock" --fsync always 2>"$tmp/paymentsd.log" &
pids+=($!)
wait_for "$bin/paymentsctl" --unix "$tmp/d.sock" ping
"$bin/paymentsctl" --unix "$tmp/d.sock" send "$data" >"$tmp/send.txt"
last=$("$bin/paymentsctl" --unix "$tmp/d.sock" stats | tr ' ' '\n' | sed -n 's/^last_lsn=//p')
echo "paymentsd holds $last changes ($(cat "$tmp/send.txt"))"

port=$((20000 + RANDOM % 20000))
best=""
for run in $(seq "$runs"); do
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
  rpid=$!; pids+=($rpid)
  wait_for redis-cli -p "$port" ping
  redis-cli -p "$port" set payments:lsn 0 >/dev/null
  t0=$(now)
  "$bin/paymentsctl" --unix "$tmp/d.sock" mirror "redis://127.0.0.1:$port" 2>"$tmp/mirror.log" &
  mpid=$!; pids+=($mpid)
  until [ "$(redis-cli -p "$port" get payments:lsn)" = "$last" ]; do
    kill -0 "$mpid" 2>/dev/null || { echo "mirror.sh: the mirror exited:"; cat "$tmp/mirror.log"; exit 1; }
    sleep 0.01
  done
  t1=$(now)
  s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
  keys=$(redis-cli -p "$port" dbsize)
  echo "run $run: mirror applied $last changes in $s s = $(awk -v n="$last" -v s="$s" 'BEGIN{printf "%.0f", n / s}') changes/s ($keys keys in Redis)"
  [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN{exit !(a < b)}' && best=$s
  kill -TERM "$mpid"; wait "$mpid" 2>/dev/null || true
  if [ "$run" = "$runs" ]; then
    echo "redis-benchmark on the same server (-P 16, 1M requests, 50 clients):"
    redis-benchmark -p "$port" -n 1000000 -P 16 -q -t set,hset
  fi
  kill -9 "$rpid"; wait "$rpid" 2>/dev/null || true
done
echo "best: $last changes in $best s = $(awk -v n="$last" -v s="$best" 'BEGIN{printf "%.0f", n / s}') changes/s"
