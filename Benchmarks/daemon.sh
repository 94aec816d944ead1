#!/usr/bin/env bash
# Benchmarks paymentsd (issue 4, "Speed"), side by side with Redis in the same run:
#   1. one client pipelining N transactions (default 1 million) over the Unix socket with
#      --fsync always, timed to the last reply (paymentsctl send), best of RUNS fresh daemons;
#   2. redis-server 7 with appendonly yes + appendfsync always on its own Unix socket,
#      redis-cli --pipe of N HINCRBY commands, best of RUNS fresh servers;
#   3. one request's round trip under --fsync always (1000 sequential deposits, each waiting
#      for its reply) against this machine's fdatasync latency (100 small appends + fdatasync
#      in the same temporary directory);
#   4. restart time after SIGKILL with the N transactions journaled: from exec to the "ready"
#      log line and to the first PONG.
# Usage: Benchmarks/daemon.sh [N] [RUNS]. Needs redis-server, redis-cli and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
runs=${2:-3}
for tool in redis-server redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "daemon.sh: $tool is needed (apt-get install redis-server python3)" >&2; exit 1; }
done
swift build -c release --product paymentsd >/dev/null
swift build -c release --product paymentsctl >/dev/null
swift build -c release --product payments-bench >/dev/null
bin=$(swift build -c release --show-bin-path)
mkdir -p Benchmarks/out
data=Benchmarks/out/stream-$n.csv
[ -f "$data" ] || "$bin/payments-bench" "$data" "$n"
redis_cmds=Benchmarks/out/hincrby-$n.resp
if [ ! -f "$redis_cmds" ]; then
  # One HINCRBY per transaction line of the same stream: the account hash and the amount in
  # ten-thousandths, in RESP as redis-cli --pipe wants it.
  python3 - "$data" "$redis_cmds" <<'EOF'
import sys
src, dst = sys.argv[1], sys.argv[2]
with open(src) as f, open(dst, "w") as out:
    for line in f:
        parts = line.strip().split(",")
        if parts[0] == "type" or len(parts) < 3:
            continue
        key = "acct:" + parts[1]
        field = "available"
        amount = parts[3] if len(parts) > 3 and parts[3] else "0"
        whole, _, frac = amount.partition(".")
        units = str(int(whole or "0") * 10000 + int((frac + "0000")[:4]))
        args = ["HINCRBY", key, field, units]
        out.write("*4\r\n" + "".join("$%d\r\n%s\r\n" % (len(a), a) for a in args))
EOF
fi
cat "$data" "$redis_cmds" >/dev/null  # warm the page cache

tmp=$(mktemp -d /tmp/pdbench.XXXXXX)
daemon_pid=""
redis_pid=""
cleanup() {
  [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null || true
  [ -n "$redis_pid" ] && kill -9 "$redis_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

now() { date +%s.%N; }
wait_for() {  # wait_for CMD...: retry for 30 s
  for _ in $(seq 3000); do "$@" >/dev/null 2>&1 && return 0; sleep 0.01; done
  echo "daemon.sh: timed out waiting for: $*" >&2; exit 1
}
start_daemon() {  # start_daemon DIR: paymentsd on DIR/data and DIR/d.sock, --fsync always
  "$bin/paymentsd" --data-dir "$1/data" --unix "$1/d.sock" --fsync always 2>>"$1/paymentsd.log" &
  daemon_pid=$!
  wait_for "$bin/paymentsctl" --unix "$1/d.sock" ping
}
stop_daemon() { kill "$daemon_pid"; wait "$daemon_pid" || true; daemon_pid=""; }

# 1. paymentsd, one pipelined client.
best_d=""
for run in $(seq "$runs"); do
  dir="$tmp/d$run"; mkdir -p "$dir"
  start_daemon "$dir"
  t0=$(now)
  "$bin/paymentsctl" --unix "$dir/d.sock" send "$data" >"$dir/summary.txt"
  t1=$(now)
  s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
  echo "paymentsd run $run: $s s ($(cat "$dir/summary.txt"))"
  if [ -z "$best_d" ] || awk "BEGIN{exit !($s < $best_d)}"; then best_d=$s; fi
  if [ "$run" -lt "$runs" ]; then stop_daemon; rm -rf "$dir"; fi
done
last_dir="$tmp/d$runs"
journal_bytes=$(du -sb "$last_dir/data" | cut -f1)

# 4 (prepared here). SIGKILL the daemon holding all N transactions in its journal.
kill -9 "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""

# 2. Redis with the same durability.
best_r=""
for run in $(seq "$runs"); do
  rdir="$tmp/r$run"; mkdir -p "$rdir"
  redis-server --port 0 --unixsocket "$rdir/r.sock" --unixsocketperm 700 --dir "$rdir" \
    --appendonly yes --appendfsync always --save "" --daemonize no --logfile "$rdir/redis.log" &
  redis_pid=$!
  wait_for redis-cli -s "$rdir/r.sock" ping
  t0=$(now)
  redis-cli -s "$rdir/r.sock" --pipe <"$redis_cmds" >"$rdir/pipe.txt"
  t1=$(now)
  s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
  echo "redis run $run: $s s ($(tail -1 "$rdir/pipe.txt"))"
  if [ -z "$best_r" ] || awk "BEGIN{exit !($s < $best_r)}"; then best_r=$s; fi
  kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true; redis_pid=""
  rm -rf "$rdir"
done

# 3. Round trip of one request under --fsync always, and fdatasync on the same file system.
rdir="$tmp/rtt"; mkdir -p "$rdir"
start_daemon "$rdir"
python3 - "$rdir" <<'EOF' >"$tmp/rtt.txt"
import os, socket, statistics, sys, time
d = sys.argv[1]
s = socket.socket(socket.AF_UNIX)
s.connect(d + "/d.sock")
f = s.makefile("rb")
def one(line):
    t = time.perf_counter()
    s.sendall(line)
    reply = f.readline()
    assert reply == b"OK\n", reply
    return time.perf_counter() - t
for i in range(100):  # warm-up
    one(b"deposit,1,%d,1\n" % (10_000_000 + i))
rtt = [one(b"deposit,%d,%d,1.5\n" % (i % 1000, i + 1)) for i in range(1000)]
fd = os.open(d + "/fdatasync.probe", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
sync = []
for i in range(100):
    t = time.perf_counter()
    os.write(fd, b"x" * 40)
    os.fdatasync(fd)
    sync.append(time.perf_counter() - t)
os.close(fd)
def us(v): return v * 1e6
print("%.1f %.1f %.1f %.1f %.1f" % (us(statistics.median(rtt)), us(statistics.mean(rtt)),
      us(sorted(rtt)[int(len(rtt) * 0.99)]), us(statistics.median(sync)), us(statistics.mean(sync))))
EOF
stop_daemon
read -r rtt_med rtt_mean rtt_p99 sync_med sync_mean <"$tmp/rtt.txt"

# 4. Restart after SIGKILL with N transactions journaled: exec to "ready", exec to first PONG.
python3 - "$bin/paymentsd" "$last_dir" <<'EOF' >"$tmp/restart.txt"
import os, socket, subprocess, sys, time
binary, d = sys.argv[1], sys.argv[2]
log = open(d + "/restart.log", "w")
t0 = time.perf_counter()
p = subprocess.Popen([binary, "--data-dir", d + "/data", "--unix", d + "/d.sock", "--fsync", "always"], stderr=log)
pong = None
while pong is None:
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(d + "/d.sock")
        s.sendall(b"PING\n")
        if s.recv(16) == b"PONG\n":
            pong = time.perf_counter() - t0
        s.close()
    except OSError:
        time.sleep(0.0005)
log.close()
ready = None
# The log's own clock: the "starting" line to the "ready" line.
lines = open(d + "/restart.log").read().splitlines()
def stamp(l):
    import datetime
    return datetime.datetime.strptime(l.split(" ")[0], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
start = next(stamp(l) for l in lines if " starting: " in l)
ready = next(stamp(l) for l in lines if " ready: " in l)
recovered = next((l.split(" info ")[1] for l in lines if " recovered " in l), "?")
p.terminate(); p.wait()
print("%.3f %.3f %s" % (pong, ready - start, recovered))
EOF
read -r restart_pong restart_ready restart_what <"$tmp/restart.txt"

awk -v n="$n" -v d="$best_d" -v r="$best_r" -v rm="$rtt_med" -v ra="$rtt_mean" -v rp="$rtt_p99" \
    -v sm="$sync_med" -v sa="$sync_mean" -v jp="$restart_pong" -v jr="$restart_ready" -v jb="$journal_bytes" 'BEGIN {
  printf "\n%d transactions, one pipelined client over a Unix socket, fsync always (best of runs):\n", n
  printf "  paymentsd:  %6.3f s  %5.2f M tx/s\n", d, n / d / 1e6
  printf "  redis 7:    %6.3f s  %5.2f M HINCRBY/s (appendonly yes, appendfsync always)\n", r, n / r / 1e6
  printf "  paymentsd / redis: %.2fx  (target >= 2x, >= 1.2 M tx/s)\n", r / d
  printf "one request round trip under fsync always: median %.0f us, mean %.0f us, p99 %.0f us\n", rm, ra, rp
  printf "fdatasync of a small append here:           median %.0f us, mean %.0f us\n", sm, sa
  printf "  round trip / fdatasync (medians): %.2fx  (target <= 2x)\n", rm / sm
  printf "restart after SIGKILL, %d transactions journaled (%.0f MiB data directory):\n", n, jb / 1048576
  printf "  exec to first PONG %.3f s, start to ready (log) %.3f s  (target < 1 s)\n", jp, jr
}'
echo "  recovery: $restart_what"
