#!/usr/bin/env bash
# Benchmarks the change stream (SPEC §10): N transactions (default 1 million) pipelined by one
# `paymentsctl send` over the Unix socket into a fresh paymentsd (--fsync always), alternately
#   (a) with no follower, and
#   (b) with one follower reading `FOLLOW 0` on its own connection as fast as it can,
# RUNS times each, in the same run (the order alternates: a b, b a, a b, ...). Reports the ingest
# time of each, the slowdown of (b) against (a) (best against best, and the ratio), the medians,
# the ratio within each round (its a and b run back to back, so a load that comes and goes on a
# shared machine weighs on both), and the
# follower's lag at the end: how long after the last reply to the sender the follower had the
# line of the last record.
# The follower is started, connected and registered (`STATS` shows `followers=1`) before the
# clock starts, so its interpreter's start-up is not counted; it reads into one buffer
# (`recv_into`), counts every line, and must end with the line of the last journaled LSN
# (checked against the daemon's `last_lsn`): a run where it did not get everything fails the
# benchmark.
# With PAYMENTSD_V1=/path/to/an/older/paymentsd, also (c): the same ingest into that binary
# (journal records version 1, 7/15 bytes) against (a) (version 2, 25/33 bytes).
# PAYMENTSD=/path/to/paymentsd measures that build instead of this tree's (an earlier commit, say).
# Usage: Benchmarks/follow.sh [N] [RUNS]. Needs python3.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
runs=${2:-3}
scratch=${SCRATCH_PATH:-.build}
swift build -c release --scratch-path "$scratch" --product paymentsd >/dev/null
swift build -c release --scratch-path "$scratch" --product paymentsctl >/dev/null
swift build -c release --scratch-path "$scratch" --product payments-bench >/dev/null
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)
daemon=${PAYMENTSD:-$bin/paymentsd}
mkdir -p Benchmarks/out
data=Benchmarks/out/stream-$n.csv
[ -f "$data" ] || "$bin/payments-bench" "$data" "$n"
cat "$data" >/dev/null
tmp=$(mktemp -d /tmp/pdfollow.XXXXXX)
daemon_pid=""
follower_pid=""
cleanup() {
  [ -n "$follower_pid" ] && kill -9 "$follower_pid" 2>/dev/null || true
  [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
now() { date +%s.%N; }
start_daemon() {  # start_daemon BINARY DIR
  "$1" --data-dir "$2/data" --unix "$2/d.sock" --fsync always 2>>"$2/paymentsd.log" &
  daemon_pid=$!
  for _ in $(seq 3000); do "$bin/paymentsctl" --unix "$2/d.sock" ping >/dev/null 2>&1 && return 0; sleep 0.01; done
  echo "follow.sh: paymentsd did not start" >&2; exit 1
}
stop_daemon() { kill "$daemon_pid"; wait "$daemon_pid" || true; daemon_pid=""; }
last_lsn() { "$bin/paymentsctl" --unix "$1/d.sock" STATS | tr ' ' '\n' | sed -n 's/^last_lsn=//p'; }
followers() { "$bin/paymentsctl" --unix "$1/d.sock" STATS | tr ' ' '\n' | sed -n 's/^followers=//p'; }
# The follower: FOLLOW 0, counts lines until it has `expect` of them, then prints the time, the
# count and the start of its last line.
follower() {  # follower SOCKET EXPECT OUT
  python3 - "$1" "$2" >"$3" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"FOLLOW 0\n")
want, seen = int(sys.argv[2]), 0
buf = bytearray(1 << 20); view = memoryview(buf); tail = b""
while seen < want:
    n = s.recv_into(view)
    if not n: break
    seen += buf.count(b"\n", 0, n)
    tail = (tail + bytes(buf[max(0, n - 1024):n]))[-1024:]  # the last line may span two reads
print("%.6f %d" % (time.time(), seen))
print(tail.rstrip(b"\n").rsplit(b"\n", 1)[-1][:40].decode())
PY
  follower_pid=$!
}
ingest() {  # ingest BINARY DIR WITH_FOLLOWER -> prints seconds and lag
  start_daemon "$1" "$2"
  if [ "$3" = yes ]; then
    # The records journaled are the well-formed lines: learn their count from a first pass.
    follower "$2/d.sock" "$records" "$2/follower.txt"
    for _ in $(seq 1000); do [ "$(followers "$2")" = 1 ] && break; sleep 0.01; done
    [ "$(followers "$2")" = 1 ] || { echo "follow.sh: the follower did not start" >&2; kill "$follower_pid"; stop_daemon; exit 1; }
  fi
  t0=$(now)
  "$bin/paymentsctl" --unix "$2/d.sock" send "$data" >"$2/summary.txt"
  t1=$(now)
  lag=""
  if [ "$3" = yes ]; then
    for _ in $(seq 6000); do kill -0 "$follower_pid" 2>/dev/null || break; sleep 0.005; done
    wait "$follower_pid" || true; follower_pid=""
    done_at=$(head -1 "$2/follower.txt" | cut -d' ' -f1)
    lag=$(awk -v a="$t1" -v b="$done_at" 'BEGIN{printf "%.3f", b - a}')
    # It must have had every line, the last being the last record journaled.
    got=$(head -1 "$2/follower.txt" | cut -d' ' -f2)
    tail_line=$(sed -n 2p "$2/follower.txt")
    last=$(last_lsn "$2")
    case "$got $last $tail_line" in
      "$records $records {\"lsn\":$records,"*) ;;
      *) echo "follow.sh: the follower got $got lines ending with $tail_line; last_lsn=$last, $records expected" >&2
         stop_daemon; exit 1 ;;
    esac
  fi
  stop_daemon
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}') $lag"
}
# How many records N lines make (malformed lines are not journaled).
dir="$tmp/count"; mkdir -p "$dir"; start_daemon "$daemon" "$dir"
"$bin/paymentsctl" --unix "$dir/d.sock" send "$data" >/dev/null; records=$(last_lsn "$dir"); stop_daemon; rm -rf "$dir"
echo "stream: $n lines, $records journaled transactions"
best_a=""; best_b=""; best_c=""; lags=(); all_a=(); all_b=()
run_a() {
  d="$tmp/a$run"; mkdir -p "$d"; read -r s _ < <(ingest "$daemon" "$d" no); rm -rf "$d"
  [ -n "$s" ] || exit 1
  echo "run $run: no follower:   $s s"
  all_a+=("$s")
  if [ -z "$best_a" ] || awk "BEGIN{exit !($s < $best_a)}"; then best_a=$s; fi
}
run_b() {
  d="$tmp/b$run"; mkdir -p "$d"; read -r s lag < <(ingest "$daemon" "$d" yes); rm -rf "$d"
  [ -n "$s" ] || exit 1
  echo "run $run: one follower:  $s s, follower had the last record (lsn $records) ${lag} s after the last reply"
  lags+=("$lag"); all_b+=("$s")
  if [ -z "$best_b" ] || awk "BEGIN{exit !($s < $best_b)}"; then best_b=$s; fi
}
for run in $(seq "$runs"); do
  if [ $((run % 2)) = 1 ]; then run_a; run_b; else run_b; run_a; fi
  if [ -n "${PAYMENTSD_V1:-}" ]; then
    d="$tmp/c$run"; mkdir -p "$d"; read -r s _ < <(ingest "$PAYMENTSD_V1" "$d" no); rm -rf "$d"
    echo "run $run: v1 records:    $s s (no follower)"
    if [ -z "$best_c" ] || awk "BEGIN{exit !($s < $best_c)}"; then best_c=$s; fi
  fi
done
echo
echo "best ingest, no follower:  $best_a s ($(awk -v n="$records" -v s="$best_a" 'BEGIN{printf "%.0f", n / s}') transactions/s)"
echo "best ingest, one follower: $best_b s ($(awk -v n="$records" -v s="$best_b" 'BEGIN{printf "%.0f", n / s}') transactions/s), slowdown $(awk -v a="$best_a" -v b="$best_b" 'BEGIN{printf "%+.1f %% (ratio %.2f)", (b / a - 1) * 100, b / a}')"
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
med_a=$(median "${all_a[@]}"); med_b=$(median "${all_b[@]}")
ratios=(); for i in "${!all_a[@]}"; do ratios+=("$(awk -v a="${all_a[$i]}" -v b="${all_b[$i]}" 'BEGIN{printf "%.3f", b / a}')"); done
echo "median ingest:             $med_a s without, $med_b s with a follower (ratio $(awk -v a="$med_a" -v b="$med_b" 'BEGIN{printf "%.2f", b / a}'))"
echo "ratio of each round:       ${ratios[*]} (median $(median "${ratios[@]}"))"
echo "follower lag at the end:   ${lags[*]} s"
if [ -n "$best_c" ]; then
  echo "best ingest, v1 records:   $best_c s; v2 records cost $(awk -v a="$best_c" -v b="$best_a" 'BEGIN{printf "%+.1f %%", (b / a - 1) * 100}')"
fi
