#!/usr/bin/env bash
# Times the batch program on the 10-million-line benchmark stream of issue 2, with `wc -l` on
# the same file in the same run as the baseline. Usage: Benchmarks/batch.sh [LINES]
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-10000000}
swift build -c release --product payments >/dev/null
swift build -c release --product payments-bench >/dev/null
bin=$(swift build -c release --show-bin-path)
mkdir -p Benchmarks/out
data=Benchmarks/out/stream-$lines.csv
[ -f "$data" ] || "$bin/payments-bench" "$data" "$lines"
size=$(stat -c %s "$data")
cat "$data" >/dev/null  # warm the page cache so both programs read from memory

measure() {  # prints "seconds peak_kib"
  /usr/bin/time -f "%e %M" -o Benchmarks/out/time.txt "$@" >/dev/null 2>Benchmarks/out/stderr.txt
  cat Benchmarks/out/time.txt
}
best() {  # best of three runs
  local b="" m=""
  for _ in 1 2 3; do
    read -r s k < <(measure "$@")
    if [ -z "$b" ] || awk "BEGIN{exit !($s < $b)}"; then b=$s; m=$k; fi
  done
  echo "$b $m"
}
read -r wc_s wc_k < <(best wc -l "$data")
read -r p_s p_k < <(best "$bin/payments" "$data")
tail -1 Benchmarks/out/stderr.txt
awk -v n="$lines" -v sz="$size" -v ws="$wc_s" -v ps="$p_s" -v pk="$p_k" 'BEGIN {
  printf "input: %d lines, %.0f MiB\n", n, sz / 1048576
  printf "wc -l:    %6.3f s  %7.1f M lines/s\n", ws, n / (ws > 0 ? ws : 0.001) / 1e6
  printf "payments: %6.3f s  %7.1f M lines/s  peak RSS %.0f MiB\n", ps, n / ps / 1e6, pk / 1024
  printf "payments takes %.2fx the time of wc -l\n", ps / (ws > 0 ? ws : 0.001)
}'
