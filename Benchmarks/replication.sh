#!/usr/bin/env bash
# Benchmarks the replicated journal (SPEC §8) against the local journal and against PostgreSQL
# alone, all in one run, on a PostgreSQL 15 primary with a synchronous streaming standby (both
# local, fsync on). Runs on demand, not in CI (it takes a few minutes and about 2 GB of /tmp).
#   1. baseline A: paymentsd --fsync always on a local data directory, N transactions (default
#      1 million) from one pipelined client over the Unix socket (paymentsctl send, timed to the
#      last reply), best of RUNS fresh daemons;
#   2. the same N through paymentsd --journal (the leader, with a standby daemon following the
#      same ledger), best of RUNS fresh ledgers; the ratio to baseline A; then the leader alone
#      (no standby daemon) for comparison; CPU seconds of each daemon and of PostgreSQL;
#   3. baseline B: pg-bench, a minimal libpq pipeline loop inserting the same number of records,
#      framed as the journal frames them, in rows of the daemon's average batch size (records /
#      payments_journal_syncs_total from the leader's /metrics), up to 4 commits in flight;
#      the daemon's overhead over PostgreSQL alone = the ratio;
#   4. takeover, TAKEOVERS times: SIGKILL the leader daemon, then the standby is sent a deposit
#      every 5 ms (one connection, reconnecting on error) until one is answered OK;
#   5. a new standby daemon with an empty data directory joining a ledger of BIG transactions
#      (default 10 million, fewer when the ingest would take over ~2 minutes): exec until its
#      STATS lsn equals the leader's; first with no snapshot in PostgreSQL, then after a clean
#      SIGTERM of the leader wrote one (the old standby leads by then);
#   6. standby apply latency: 20 single deposits to the idle leader, each followed by polling the
#      standby (TX <id> every 1 ms) until it shows it. Their ids continue the BIG stream's (the
#      next ids after its largest), as a live stream's would; then one more deposit with a far id
#      (4100000000), reported on its own: an id far outside the dense 1..BIG range makes the
#      engine's id table rebuild itself once (hundreds of ms at 10 M ids, on each daemon).
# Prints a results table and writes it to Benchmarks/RESULTS-replication.md (keeping the
# hand-written "## Notes" section of the previous file).
# Streams are generated once into Benchmarks/out/ (ignored by git; 300 MB for 10 M lines).
#
# Usage: Benchmarks/replication.sh [N] [BIG] [RUNS] [TAKEOVERS]
# Environment: BIN (the directory of release binaries; default: built here with
# `swift build -c release`), PG_BIN (default /usr/lib/postgresql/15/bin).
# Needs python3, curl, and PostgreSQL's server binaries (which refuse root: as root every
# PostgreSQL program runs as `postgres` through runuser).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
big=${2:-10000000}
runs=${3:-3}
takeovers=${4:-3}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
for tool in python3 curl; do
  command -v "$tool" >/dev/null || { echo "replication.sh: $tool is needed" >&2; exit 1; }
done
[ -x "$PG_BIN/initdb" ] || { echo "replication.sh: no PostgreSQL in $PG_BIN (apt-get install postgresql)" >&2; exit 1; }
if [ -z "${BIN:-}" ]; then
  for product in paymentsd paymentsctl payments-bench pg-bench; do
    swift build -c release --product "$product" >/dev/null
  done
  BIN=$(swift build -c release --show-bin-path)
fi
for product in paymentsd paymentsctl payments-bench pg-bench; do
  [ -x "$BIN/$product" ] || { echo "replication.sh: $BIN/$product is missing (build it, or set BIN)" >&2; exit 1; }
done

# ---------------------------------------------------------------------------------------------
# Scratch space, processes, cleanup. Every server and daemon started here is remembered and
# stopped on exit, whatever the reason; every wait below has a time limit.
tmp=$(mktemp -d /tmp/replbench.XXXXXX)
pg_dirs=()        # cluster directories (each holds data/, log, the Unix socket)
daemon_pids=()    # every paymentsd started (killed with SIGKILL on exit if still there)
is_root=0; [ "$(id -u)" = 0 ] && is_root=1

pg() {  # pg TOOL ARGS...: a PostgreSQL program, as postgres when we are root, 120 s at most
  local tool=$1; shift
  if [ "$is_root" = 1 ]; then timeout 120 runuser -u postgres -- "$PG_BIN/$tool" "$@"; else timeout 120 "$PG_BIN/$tool" "$@"; fi
}
alive() {  # alive PID: the process exists and is not a zombie
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

postmaster_pid() {  # postmaster_pid DIR: the pid, only while it is that cluster's postmaster
  local pid
  pid=$(head -1 "$1/data/postmaster.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$1/data" \
    && echo "$pid"
}

cpu_ticks() {  # cpu_ticks PID...: user + system CPU of these processes (all threads), in clock ticks
  local t=0 p v
  for p in "$@"; do v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) && t=$((t + ${v:-0})); done
  echo "$t"
}
pg_ticks() {  # the same for every PostgreSQL process of our servers, exited backends included
  local t=0 d pm v c
  for d in "${pg_dirs[@]}"; do
    pm=$(postmaster_pid "$d") || continue
    v=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat") && t=$((t + v))  # + reaped children
    for c in $(ps -o pid= --ppid "$pm"); do v=$(awk '{print $14 + $15}' "/proc/$c/stat" 2>/dev/null) && t=$((t + ${v:-0})); done
  done
  echo "$t"
}
hz=$(getconf CLK_TCK)
ticks_s() { awk -v t="$1" -v hz="$hz" 'BEGIN{printf "%.2f", t / hz}'; }

cleanup() {
  set +e
  local pid dir pm
  for pid in "${daemon_pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  for pid in "${daemon_pids[@]}"; do wait "$pid" 2>/dev/null; done
  for dir in "${pg_dirs[@]}"; do
    if pm=$(postmaster_pid "$dir"); then
      pg pg_ctl -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1
      if pm=$(postmaster_pid "$dir"); then kill -9 -- "-$pm" "$pm" 2>/dev/null; sleep 0.5; fi
    fi
    rm -rf "$dir"
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "replication.sh: $*" >&2
  local log
  for log in "$tmp"/*.log; do
    [ -f "$log" ] && { echo "--- last lines of $log:" >&2; tail -8 "$log" >&2; }
  done
  exit 1
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b - a}'; }
wait_until() {  # wait_until SECONDS WHAT CMD...: retry CMD every 20 ms
  local limit=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + limit ))
  while ! "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after $limit s waiting for $what"
    sleep 0.02
  done
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ---------------------------------------------------------------------------------------------
# PostgreSQL: a primary and a synchronous streaming standby (as Tests/ReplicationTests does).
new_cluster_dir() {  # new_cluster_dir VAR: a new directory owned by postgres, its path in VAR
  local d
  d=$(mktemp -d /tmp/pgrb.XXXXXX)
  pg_dirs+=("$d")  # (not in a subshell: cleanup must see it)
  [ "$is_root" = 0 ] || chown postgres:postgres "$d"
  printf -v "$1" '%s' "$d"
}
start_cluster() {  # start_cluster DIR PORT
  echo "port = $2" >>"$1/data/postgresql.conf"
  echo "cluster_name = 'pg_$2'" >>"$1/data/postgresql.conf"
  pg pg_ctl -D "$1/data" -l "$1/log" -w -t 60 start >/dev/null || { tail -20 "$1/log" >&2; fail "PostgreSQL in $1 did not start"; }
}
sql() {  # sql DIR PORT SQL: one statement as the superuser over the Unix socket, unaligned output
  timeout 60 psql -X -q -h "$1" -p "$2" -U postgres -d postgres -Atc "$3"
}
dbsql() {  # dbsql SQL: on the primary's payments database
  timeout 120 psql -X -q -h "$primary" -p "$primary_port" -U postgres -d payments -Atc "$1"
}

echo "setting up PostgreSQL: primary + synchronous standby"
new_cluster_dir primary
primary_port=$(free_port)
pg initdb -D "$primary/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
cat >"$primary/data/pg_hba.conf" <<EOF
local all all trust
local replication all trust
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
EOF
cat >>"$primary/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$primary'
wal_level = replica
max_wal_senders = 5
fsync = on
synchronous_commit = on
max_connections = 50
EOF
start_cluster "$primary" "$primary_port"
sql "$primary" "$primary_port" "CREATE ROLE payments LOGIN" >/dev/null
sql "$primary" "$primary_port" "CREATE DATABASE payments OWNER payments" >/dev/null

new_cluster_dir standby
standby_port=$(free_port)
pg pg_basebackup -h "$primary" -p "$primary_port" -U postgres -D "$standby/data" -R -X stream -c fast --no-sync >/dev/null
sed -i '/^synchronous_standby_names/d' "$standby/data/postgresql.auto.conf"
echo "unix_socket_directories = '$standby'" >>"$standby/data/postgresql.conf"
start_cluster "$standby" "$standby_port"
streaming() { [ "$(sql "$primary" "$primary_port" "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pg_$standby_port' AND state = 'streaming'")" = 1 ]; }
wait_until 60 "the PostgreSQL standby to stream" streaming
sql "$primary" "$primary_port" "ALTER SYSTEM SET synchronous_standby_names = '*'" >/dev/null
sql "$primary" "$primary_port" "SELECT pg_reload_conf()" >/dev/null
synchronous() { [ "$(sql "$primary" "$primary_port" "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pg_$standby_port' AND sync_state = 'sync'")" = 1 ]; }
wait_until 60 "the PostgreSQL standby to be synchronous" synchronous
pg_settings=$(sql "$primary" "$primary_port" "SELECT 'fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit') || ', synchronous_standby_names=''' || current_setting('synchronous_standby_names') || ''', shared_buffers=' || current_setting('shared_buffers') || ', max_wal_size=' || current_setting('max_wal_size') || ', standby ' || (SELECT application_name || ' ' || state || '/' || sync_state FROM pg_stat_replication)")
pg_version=$(sql "$primary" "$primary_port" "SHOW server_version")
echo "  PostgreSQL $pg_version: $pg_settings"
uri="postgresql://payments@127.0.0.1:$primary_port/payments"

# ---------------------------------------------------------------------------------------------
# Daemons.
declare -A pid_of sock_of http_of
start_daemon() {  # start_daemon NAME ARGS...: paymentsd on $tmp/NAME.{sock,data,log}, plus HTTP
  local name=$1; shift
  local http_port
  http_port=$(free_port)
  rm -f "$tmp/$name.sock"
  "$BIN/paymentsd" --data-dir "$tmp/$name.data" --unix "$tmp/$name.sock" --http "127.0.0.1:$http_port" "$@" \
    2>>"$tmp/$name.log" &
  pid_of[$name]=$!
  daemon_pids+=("$!")
  sock_of[$name]=$tmp/$name.sock
  http_of[$name]=$http_port
  wait_until 120 "$name to answer PING" "$BIN/paymentsctl" --unix "$tmp/$name.sock" ping
}
start_replicated() {  # start_replicated NAME LEDGER [ARGS...]
  local name=$1 ledger=$2; shift 2
  start_daemon "$name" --journal "$uri" --ledger "$ledger" --node-name "$name" "$@"
}
stop_daemon() {  # stop_daemon NAME SIGNAL: and wait (120 s at most) for it to exit
  local pid=${pid_of[$1]}
  kill "-$2" "$pid" 2>/dev/null || true
  local deadline=$(( $(date +%s) + 120 ))
  while alive "$pid"; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "$1 (pid $pid) did not exit within 120 s of SIG$2"
    sleep 0.02
  done
  wait "$pid" 2>/dev/null || true
}
stat_of() {  # stat_of NAME KEY: one value of the daemon's STATS line
  timeout 5 "$BIN/paymentsctl" --unix "${sock_of[$1]}" stats | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'
}
is_role() { [ "$(stat_of "$1" role)" = "$2" ]; }
same_lsn() { [ "$(stat_of "$1" lsn)" = "$(stat_of "$2" lsn)" ]; }
metric() {  # metric NAME METRIC: a value from the daemon's /metrics
  curl -s --max-time 10 "http://127.0.0.1:${http_of[$1]}/metrics" | awk -v m="$2" '$1 == m {print $2}'
}
send_stream() {  # send_stream NAME FILE: sets sent_s, the seconds from start of send to the last reply
  local t0 t1 status=0
  t0=$(now)
  timeout 600 "$BIN/paymentsctl" --unix "${sock_of[$1]}" send "$2" >"$tmp/$1.summary" || status=$?
  t1=$(now)
  [ "$status" = 0 ] || fail "paymentsctl send to $1 failed (status $status): $(cat "$tmp/$1.summary")"
  sent_s=$(secs "$t0" "$t1")
}
best() { tr ' ' '\n' | grep . | sort -g | head -1; }

# The measuring client for takeover, catch-up and apply latency (precise clocks, 1 ms polls).
cat >"$tmp/probe.py" <<'EOF'
import os, signal, socket, statistics, subprocess, sys, time

def connect(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    return s, s.makefile("rb")

def ask(conn, line):
    s, f = conn
    s.sendall(line.encode() + b"\n")
    reply = f.readline()
    if not reply:
        raise OSError("connection closed")
    return reply.decode().rstrip("\n")

def stats(path):
    c = connect(path)
    try:
        return dict(kv.split("=", 1) for kv in ask(c, "STATS").split() if "=" in kv)
    finally:
        c[0].close()

def unlocked_client(sock):
    """A client whose account is not locked (the streams hold chargebacks), or has none."""
    c = connect(sock)
    try:
        for client in range(1, 65536):
            reply = ask(c, "GET %d" % client)
            if reply.endswith(",false") or reply.startswith("ERR unknown client"):
                return client
    finally:
        c[0].close()
    raise SystemExit("every client is locked")

def takeover(leader_pid, standby_sock, tx, limit=30.0):
    """SIGKILL the leader, then offer a deposit to the standby every 5 ms until OK. A reply
    that takes over 1 s counts as stuck: a new connection and a new id go on."""
    client = unlocked_client(standby_sock)
    os.kill(leader_pid, signal.SIGKILL)
    t0 = time.perf_counter()
    conn, tries, stuck, replies = None, 0, 0, {}
    while time.perf_counter() - t0 < limit:
        try:
            if conn is None:
                conn = connect(standby_sock)
                conn[0].settimeout(1.0)
            tries += 1
            reply = ask(conn, "deposit,%d,%d,1.0" % (client, tx + tries * 10))
            if reply == "OK":
                ms = (time.perf_counter() - t0) * 1000
                seen = sorted(replies.items(), key=lambda kv: -kv[1])
                print("%.1f %d %d %s" % (ms, tries, stuck, "|".join("%s x%d" % kv for kv in seen).replace(" ", "_") or "-"))
                return
            key = reply.split(":")[0]
            replies[key] = replies.get(key, 0) + 1
        except socket.timeout:
            stuck += 1
            conn[0].close()
            conn = None
        except OSError:
            if conn is not None:
                conn[0].close()
            conn = None
        time.sleep(0.005)
    print("timeout %d %d -" % (tries, stuck))

def catchup(leader_sock, log_path, argv, limit=300.0):
    """Start a daemon; time exec -> first PONG and exec -> STATS lsn equal to the leader's."""
    target = stats(leader_sock)["lsn"]
    sock = argv[argv.index("--unix") + 1]
    log = open(log_path, "a")
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stderr=log)
    print(p.pid, flush=True)  # for the caller's cleanup, first
    pong = None
    while time.perf_counter() - t0 < limit:
        try:
            if pong is None:
                c = connect(sock)
                if ask(c, "PING") == "PONG":
                    pong = time.perf_counter() - t0
                c[0].close()
            s = stats(sock)
            if s.get("lsn") == target:
                done = time.perf_counter() - t0
                print("%.3f %.3f %s %s" % (pong, done, target, s.get("role")))
                return
        except OSError:
            pass
        time.sleep(0.005)
    print("timeout timeout %s -" % target)

def apply_latency(leader_sock, standby_sock, first_tx, far_tx, count=20):
    """Deposit to the leader; from its OK, poll TX <id> on the standby every 1 ms. First `count`
    deposits with the ids that continue the stream's (first_tx, first_tx + 1, ...), then one with
    a far id (far_tx), which makes the id table of each daemon rebuild itself once."""
    client = unlocked_client(leader_sock)
    lc, sc = connect(leader_sock), connect(standby_sock)
    lc[0].settimeout(10.0)
    # The ids must really continue the stream's: first_tx - 1 used, first_tx free, on both nodes.
    for c, name in ((lc, "leader"), (sc, "standby")):
        if ask(c, "TX %d" % (first_tx - 1)).split(",")[0] not in ("deposit", "withdrawal"):
            raise SystemExit("tx %d (the stream's last id) is not on the %s" % (first_tx - 1, name))
        if ask(c, "TX %d" % first_tx) != "ERR unknown tx":
            raise SystemExit("tx %d is already used on the %s" % (first_tx, name))

    def one(tx):
        t0 = time.perf_counter()
        lc[0].sendall(b"deposit,%d,%d,1.0\n" % (client, tx))
        try:
            reply = lc[1].readline().decode().rstrip("\n")
        except socket.timeout:
            raise SystemExit("the leader did not answer deposit %d within 10 s" % tx)
        if reply != "OK":
            raise SystemExit("leader answered %r" % reply)
        t1 = time.perf_counter()
        while not ask(sc, "TX %d" % tx).startswith("deposit,"):
            if time.perf_counter() - t1 > 10:
                raise SystemExit("tx %d not on the standby after 10 s" % tx)
            time.sleep(0.001)
        t2 = time.perf_counter()
        return (t2 - t1) * 1000, (t2 - t0) * 1000, (t1 - t0) * 1000

    from_ok, from_send, to_ok = [], [], []
    for i in range(count):
        a, b, c = one(first_tx + i)
        from_ok.append(a); from_send.append(b); to_ok.append(c)
        time.sleep(0.013 * (i % 3))  # do not stay in phase with the standby's 20 ms poll
    time.sleep(0.1)
    far_ok, far_send, far_leader = one(far_tx)
    print("%.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f" % (
        statistics.median(from_ok), max(from_ok), min(from_ok), statistics.median(from_send),
        max(to_ok), far_ok, far_send, far_leader))

cmd = sys.argv[1]
if cmd == "takeover":
    takeover(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
elif cmd == "catchup":
    catchup(sys.argv[2], sys.argv[3], sys.argv[4:])
elif cmd == "apply":
    apply_latency(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
EOF

catchup() {  # catchup NAME LEADER ARGS...: a new daemon NAME; writes "pong_s sync_s lsn role" to $tmp/NAME.result
  # (run in the main shell, never in $(...): the daemon's pid must reach cleanup)
  local name=$1 leader=$2; shift 2
  rm -rf "$tmp/$name.data" "$tmp/$name.sock"
  local http_port; http_port=$(free_port)
  sock_of[$name]=$tmp/$name.sock
  http_of[$name]=$http_port
  local status=0
  timeout 400 python3 "$tmp/probe.py" catchup "${sock_of[$leader]}" "$tmp/$name.log" "$BIN/paymentsd" \
    --data-dir "$tmp/$name.data" --unix "$tmp/$name.sock" --http "127.0.0.1:$http_port" "$@" >"$tmp/$name.catchup" \
    || status=$?
  # The daemon is the probe's child, not ours: its pid is the probe's first line.
  pid_of[$name]=$(head -1 "$tmp/$name.catchup")
  [ -n "${pid_of[$name]}" ] && daemon_pids+=("${pid_of[$name]}")
  [ "$status" = 0 ] || fail "catch-up probe for $name failed (status $status)"
  tail -1 "$tmp/$name.catchup" >"$tmp/$name.result"
}

# ---------------------------------------------------------------------------------------------
mkdir -p Benchmarks/out
stream=Benchmarks/out/stream-$n.csv
[ -f "$stream" ] || "$BIN/payments-bench" "$stream" "$n" >/dev/null
cat "$stream" >/dev/null
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# 1. Baseline A: the local journal.
echo "1. baseline A: local journal, --fsync always, $n transactions"
local_times=""
for run in $(seq "$runs"); do
  start_daemon "local$run" --fsync always
  c_l=$(cpu_ticks "${pid_of[local$run]}")
  send_stream "local$run" "$stream"; s=$sent_s
  c_l=$(( $(cpu_ticks "${pid_of[local$run]}") - c_l ))
  echo "   run $run: $s s ($(cat "$tmp/local$run.summary")); CPU s: daemon $(ticks_s "$c_l")"
  if [ -z "${best_local:-}" ] || awk "BEGIN{exit !($s < $best_local)}"; then best_local=$s; cpu_local="daemon $(ticks_s "$c_l") s"; fi
  local_times="$local_times $s"
  stop_daemon "local$run" TERM
done

# 2. The replicated journal: leader + standby daemon on a fresh ledger per run.
echo "2. paymentsd --journal PostgreSQL (leader + standby daemon), $n transactions"
repl_times=""
for run in $(seq "$runs"); do
  start_replicated "a$run" "bench$run"
  wait_until 30 "a$run to lead" is_role "a$run" leader
  start_replicated "b$run" "bench$run"
  wait_until 30 "b$run to follow" is_role "b$run" standby
  c_l=$(cpu_ticks "${pid_of[a$run]}"); c_s=$(cpu_ticks "${pid_of[b$run]}"); c_p=$(pg_ticks)
  send_stream "a$run" "$stream"; s=$sent_s
  c_l=$(( $(cpu_ticks "${pid_of[a$run]}") - c_l )); c_s=$(( $(cpu_ticks "${pid_of[b$run]}") - c_s )); c_p=$(( $(pg_ticks) - c_p ))
  records=$(stat_of "a$run" lsn)
  commits=$(metric "a$run" payments_journal_syncs_total)
  echo "   run $run: $s s ($(cat "$tmp/a$run.summary")); $records records in $commits commits;" \
    "CPU s: leader $(ticks_s "$c_l"), standby daemon $(ticks_s "$c_s"), PostgreSQL $(ticks_s "$c_p")"
  repl_times="$repl_times $s"
  if [ -z "${best_repl:-}" ] || awk "BEGIN{exit !($s < $best_repl)}"; then
    best_repl=$s; best_records=$records; best_commits=$commits; best_run=$run
    cpu_repl="leader $(ticks_s "$c_l") s, standby daemon $(ticks_s "$c_s") s, PostgreSQL (both servers) $(ticks_s "$c_p") s"
  fi
  wait_until 30 "b$run to catch up" same_lsn "b$run" "a$run"
  if [ "$run" -lt "$runs" ]; then stop_daemon "b$run" TERM; stop_daemon "a$run" TERM; fi
done
leader=a$runs; follower=b$runs; ledger=bench$runs

echo "2'. the same, the leader alone (no standby daemon)"
solo_times=""
for run in $(seq "$runs"); do
  start_replicated "solo$run" "solo$run"
  wait_until 30 "solo$run to lead" is_role "solo$run" leader
  c_l=$(cpu_ticks "${pid_of[solo$run]}"); c_p=$(pg_ticks)
  send_stream "solo$run" "$stream"; s=$sent_s
  c_l=$(( $(cpu_ticks "${pid_of[solo$run]}") - c_l )); c_p=$(( $(pg_ticks) - c_p ))
  echo "   run $run: $s s ($(cat "$tmp/solo$run.summary")); CPU s: leader $(ticks_s "$c_l"), PostgreSQL $(ticks_s "$c_p")"
  solo_times="$solo_times $s"
  stop_daemon "solo$run" TERM
done
best_solo=$(echo "$solo_times" | best)
read -r rows row_records row_bytes <<<"$(dbsql "SELECT count(*), sum(last_lsn - first_lsn + 1), sum(octet_length(records)) FROM payments.batches WHERE ledger = 'bench$best_run'" | tr '|' ' ')"
batch=$(( (best_records + best_commits / 2) / best_commits ))
frame=$(( (row_bytes + row_records / 2) / row_records ))
max_row=$(dbsql "SELECT max(last_lsn - first_lsn + 1) FROM payments.batches WHERE ledger = 'bench$best_run'")
echo "   daemon batches (best run): $best_records records / $best_commits commits = $batch a commit" \
  "(table: $rows rows, largest $max_row records), $frame bytes a framed record"

# 3. Baseline B: PostgreSQL alone, the same records in rows of the daemon's average batch.
echo "3. baseline B: pg-bench, $best_records records of $frame bytes, $batch a row, 4 in flight"
pgb_times=""
for run in $(seq "$runs"); do
  c_p=$(pg_ticks)
  out=$(timeout 600 "$BIN/pg-bench" "$uri" "$best_records" "$batch" "$frame" 4 external 2>"$tmp/pg-bench.err") \
    || fail "pg-bench failed: $(cat "$tmp/pg-bench.err")"
  c_p=$(( $(pg_ticks) - c_p ))
  echo "   run $run: $out; PostgreSQL CPU $(ticks_s "$c_p") s"
  cpu_pgb="pg-bench $(tr ' ' '\n' <<<"$out" | awk -F= '$1 == "cpu_s" {print $2}') s, PostgreSQL (both servers) $(ticks_s "$c_p") s"
  pgb_times="$pgb_times $(tr ' ' '\n' <<<"$out" | awk -F= '$1 == "seconds" {print $2}')"
  pgb_commit_ms=$(tr ' ' '\n' <<<"$out" | awk -F= '$1 == "commit_ms_avg" {print $2}')
done
best_pgb=$(echo "$pgb_times" | best)
out=$(timeout 600 "$BIN/pg-bench" "$uri" "$best_records" "$batch" "$frame" 4 extended 2>"$tmp/pg-bench.err") \
  || fail "pg-bench failed: $(cat "$tmp/pg-bench.err")"
echo "   default (EXTENDED) storage: $out"
pgb_extended=$(tr ' ' '\n' <<<"$out" | awk -F= '$1 == "seconds" {print $2}')
out=$(timeout 600 "$BIN/pg-bench" "$uri" "$best_records" 4096 "$frame" 1 external 2>"$tmp/pg-bench.err") \
  || fail "pg-bench failed: $(cat "$tmp/pg-bench.err")"
echo "   PLATFORM.md's reference (4096 a row, not pipelined): $out"
pgb_ref=$(tr ' ' '\n' <<<"$out" | awk -F= '$1 == "records_per_s" {print $2}')

# 4. Takeover: SIGKILL the leader, first OK from the standby.
echo "4. takeover after SIGKILL of the leader (lease 2000 ms), $takeovers times"
takeover_ms=""
for i in $(seq "$takeovers"); do
  out=$(timeout 60 python3 "$tmp/probe.py" takeover "${pid_of[$leader]}" "${sock_of[$follower]}" $((4000000000 + i * 100000)) 2>&1) \
    || fail "takeover probe failed: $out"
  wait "${pid_of[$leader]}" 2>/dev/null || true
  read -r ms tries stuck replies <<<"$out"
  [ "$ms" != timeout ] || fail "takeover $i: the standby answered no OK within 30 s ($tries tries)"
  [ "$stuck" = 0 ] || echo "   ($stuck deposit(s) got no answer within 1 s and were given up on)"
  claimed=$(grep "claimed ledger" "$tmp/$follower.log" | tail -1 | sed 's/^\([^ ]*\) .*claimed ledger \([^ ]*\) at epoch \([0-9]*\).*/\1 epoch \3/' || true)
  echo "   $i: $ms ms to the first OK ($tries tries; before it: $replies); $follower claimed at $claimed"
  takeover_ms="$takeover_ms $ms"
  wait_until 10 "$follower to report role=leader" is_role "$follower" leader
  # The killed daemon comes back (same data directory and name) as the new standby.
  old=$leader
  start_replicated "$old" "$ledger"
  wait_until 30 "$old to follow" is_role "$old" standby
  wait_until 30 "$old to catch up" same_lsn "$old" "$follower"
  leader=$follower; follower=$old
done
stop_daemon "$follower" TERM
stop_daemon "$leader" TERM

# 5. A new standby joining a ledger of BIG transactions.
est=$(awk -v r="$best_repl" -v n="$n" -v b="$big" 'BEGIN{ rate = n / r; m = b; if (b / rate > 110) m = int(rate * 110 / 100000) * 100000; print m }')
if [ "$est" -lt "$big" ]; then
  echo "5. at $(awk -v r="$best_repl" -v n="$n" 'BEGIN{printf "%.0f", n / r}') tx/s, $big transactions would take over ~2 min: ingesting $est"
  big=$est
fi
big_stream=Benchmarks/out/stream-$big.csv
[ -f "$big_stream" ] || "$BIN/payments-bench" "$big_stream" "$big" >/dev/null
cat "$big_stream" >/dev/null
echo "5. new standby: ingesting $big transactions into a leader (standby following; automatic snapshots off)"
start_replicated L big --snapshot-bytes 1099511627776
wait_until 30 "L to lead" is_role L leader
start_replicated S big
wait_until 30 "S to follow" is_role S standby
send_stream L "$big_stream"; big_s=$sent_s
big_lsn=$(stat_of L lsn)
echo "   ingest: $big_s s ($(cat "$tmp/L.summary")), lsn $big_lsn"
wait_until 120 "S to catch up" same_lsn S L
read -r db_bytes batch_bytes <<<"$(dbsql "SELECT pg_database_size('payments'), (SELECT sum(octet_length(records)) FROM payments.batches WHERE ledger = 'big')" | tr '|' ' ')"
snaps=$(dbsql "SELECT count(*) FROM payments.snapshots WHERE ledger = 'big'")
[ "$snaps" = 0 ] || echo "   (unexpected: $snaps snapshot(s) in PostgreSQL already)"
catchup N1 L --journal "$uri" --ledger big --node-name N1
read -r n1_pong n1_sync n1_lsn n1_role <"$tmp/N1.result"
[ "$n1_sync" != timeout ] || fail "N1 did not reach lsn $n1_lsn within 300 s"
echo "   no snapshot: exec -> PONG $n1_pong s, exec -> lsn $n1_lsn $n1_sync s (role $n1_role)"
rss_l=$(awk '/VmRSS/ {print $2}' "/proc/${pid_of[L]}/status")
rss_n1=$(awk '/VmRSS/ {print $2}' "/proc/${pid_of[N1]}/status")
stop_daemon N1 TERM

# 6. Apply latency on the standby, the leader idle after the ingest.
# The stream's largest id: ids of deposits and withdrawals run upwards in the generator
# (Benchmarks/payments-bench), so it is the last one in the file (the probe checks it against
# both daemons: that id used, the next one free).
last_tx=$(tail -c 262144 "$big_stream" | awk -F, '$1 == "deposit" || $1 == "withdrawal" {t = $3} END {print t}')
[ -n "$last_tx" ] || fail "no deposit or withdrawal in the last 256 KiB of $big_stream"
far_tx=4100000000
echo "6. standby apply latency: 20 single deposits to the leader (tx $((last_tx + 1))..$((last_tx + 20)), after the stream's last id $last_tx), polling the standby; then one with the far id $far_tx"
timeout 120 python3 "$tmp/probe.py" apply "${sock_of[L]}" "${sock_of[S]}" $((last_tx + 1)) "$far_tx" >"$tmp/apply.out" 2>&1 \
  || fail "apply-latency probe failed: $(cat "$tmp/apply.out")"
read -r apply_med apply_max apply_min apply_send apply_leader_max far_ok far_send far_leader <"$tmp/apply.out"
echo "   ids after the stream's, from the leader's OK: median $apply_med ms, min $apply_min ms, max $apply_max ms" \
  "(median from send: $apply_send ms; the leader's OK within $apply_leader_max ms of the send)"
echo "   far id $far_tx: $far_ok ms from the leader's OK, $far_send ms from send (the leader's OK after $far_leader ms)"

# 5b. The same with a snapshot: a clean SIGTERM of the leader writes one; S takes over.
echo "5b. SIGTERM of the leader (writes a snapshot), S takes over, a new standby joins"
t0=$(now)
stop_daemon L TERM
t1=$(now)
term_s=$(secs "$t0" "$t1")
wait_until 30 "S to lead" is_role S leader
t2=$(now)
read -r snap_lsn snap_size <<<"$(dbsql "SELECT lsn, size FROM payments.snapshots WHERE ledger = 'big' ORDER BY lsn DESC LIMIT 1" | tr '|' ' ')"
echo "   leader exit after SIGTERM: $term_s s; S leading $(secs "$t0" "$t2") s after the signal;" \
  "snapshot in PostgreSQL: lsn ${snap_lsn:-none}, ${snap_size:-0} bytes"
catchup N2 S --journal "$uri" --ledger big --node-name N2
read -r n2_pong n2_sync n2_lsn n2_role <"$tmp/N2.result"
[ "$n2_sync" != timeout ] || fail "N2 did not reach lsn $n2_lsn within 300 s"
echo "   with snapshot: exec -> PONG $n2_pong s, exec -> lsn $n2_lsn $n2_sync s (role $n2_role)"
n2_restored=$(grep -m1 "snapshot at record" "$tmp/N2.log" | sed 's/^[^ ]* //' || true)
term_timeline=$( { grep -E "SIGTERM|snapshot through|gave back|stopped" "$tmp/L.log" | sed 's/^/    L: /'; grep -E "claimed|leading" "$tmp/S.log" | tail -2 | sed 's/^/    S: /'; } || true)
stop_daemon N2 TERM
stop_daemon S TERM
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
results=$(awk -v n="$n" -v runs="$runs" -v l="$best_local" -v r="$best_repl" -v p="$best_pgb" -v pe="$pgb_extended" \
    -v recs="$best_records" -v commits="$best_commits" -v batch="$batch" -v frame="$frame" -v maxrow="$max_row" \
    -v pcm="$pgb_commit_ms" -v pref="$pgb_ref" -v tk="$takeover_ms" -v big="$big" -v bs="$big_s" \
    -v n1p="$n1_pong" -v n1s="$n1_sync" -v n2p="$n2_pong" -v n2s="$n2_sync" -v lsn="$big_lsn" -v lsn2="$n2_lsn" \
    -v snap="${snap_size:-0}" -v bb="$batch_bytes" -v am="$apply_med" -v ax="$apply_max" -v an="$apply_min" \
    -v asend="$apply_send" -v alm="$apply_leader_max" -v fo="$far_ok" -v fs="$far_send" -v fl="$far_leader" \
    -v ltx="$last_tx" -v ftx="$far_tx" -v st="${solo_times# }" -v so="$best_solo" -v cr="$cpu_repl" -v cl="$cpu_local" -v cp="$cpu_pgb" -v lt="${local_times# }" -v rt="${repl_times# }" -v pt="${pgb_times# }" -v term="$term_s" 'BEGIN {
  printf "| what | figure | target |\n| --- | --- | --- |\n"
  printf "| A: local journal, `--fsync always`, %d tx, one pipelined client (best of %d: %s s) | %.3f s = **%.2f M tx/s** | baseline |\n", n, runs, lt, l, n / l / 1e6
  printf "| CPU during the best local run | %s | |\n", cl
  printf "| `--journal` PostgreSQL, leader + standby daemon, same %d tx (best of %d: %s s) | %.3f s = **%.2f M tx/s** | |\n", n, runs, rt, r, n / r / 1e6
  printf "| … the leader alone, no standby daemon (best of %d: %s s) | %.3f s = %.2f M tx/s | |\n", runs, st, so, n / so / 1e6
  printf "| replicated ÷ local | **%.2f×** the local rate (%.1f× slower) | |\n", l / r, r / l
  printf "| CPU during the best replicated run (%.2f s wall, 2 CPUs) | %s | |\n", r, cr
  printf "| daemon batches: records ÷ `payments_journal_syncs_total` | %d ÷ %d = **%d records a commit** (largest row %d), %d bytes a framed record | |\n", recs, commits, batch, maxrow, frame
  printf "| B: pg-bench, %d records in rows of %d, 4 commits in flight, `STORAGE EXTERNAL` (best of %d: %s s) | %.3f s = **%.2f M records/s** (%.2f ms a commit) | baseline |\n", recs, batch, runs, pt, p, recs / p / 1e6, pcm
  printf "| CPU during the last pg-bench run | %s | |\n", cp
  printf "| … same, default `EXTENDED` storage | %.3f s = %.2f M records/s | |\n", pe, recs / pe / 1e6
  printf "| … PLATFORM.md reference: rows of 4096, one commit at a time | %.2f M records/s | (1.35 M/s there) |\n", pref / 1e6
  printf "| replicated daemon ÷ pg-bench (all above PostgreSQL: client I/O, parsing, applying, replies, the epoch-checked commit statement, the standby daemon'"'"'s share of the 2 CPUs) | **%.2f×** PostgreSQL alone (daemon takes %.2f× its time) | |\n", p / r, r / p
  m = split(tk, t, " "); s = ""
  for (i = 1; i <= m; i++) { s = s (i > 1 ? " / " : "") sprintf("%.0f", t[i]); if (t[i] + 0 > mx) mx = t[i] + 0 }
  printf "| takeover: SIGKILL of the leader → first `OK` from the standby (%d runs) | **%s ms** (worst %.0f) | ≤ 3000 ms: %s |\n", m, s, mx, mx <= 3000 ? "met" : "MISSED"
  printf "| ingest of %d tx into the leader (standby following) | %.1f s = %.2f M tx/s; %.0f MiB of records in payments.batches | |\n", big, bs, big / bs / 1e6, bb / 1048576
  printf "| new standby, empty data dir, no snapshot: exec → `STATS lsn=%d` | **%.2f s** (first PONG %.2f s) | < 5 s: %s |\n", lsn, n1s, n1p, n1s < 5 ? "met" : "MISSED"
  printf "| new standby, empty data dir, snapshot at the end (%.0f MiB) written by the leader'"'"'s SIGTERM: exec → `lsn=%d` | **%.2f s** (first PONG %.2f s) | < 5 s: %s |\n", snap / 1048576, lsn2, n2s, n2p, n2s < 5 ? "met" : "MISSED"
  printf "| leader SIGTERM → exit (snapshot of %d tx into PostgreSQL) | %.1f s | |\n", lsn, term
  printf "| standby apply latency: leader `OK` → visible on the standby (`TX id`), 20 deposits, ids %s.. continuing the stream'"'"'s (its last: %s) | median **%.0f ms**, min %.0f, max **%.0f** (median from send %.0f; leader `OK` ≤ %.0f ms after send) | < 100 ms: %s |\n", ltx + 1, ltx, am, an, ax, asend, alm, ax < 100 ? "met" : "MISSED"
  printf "| … then one deposit with a far id (id table rehash), tx %s | %.0f ms from the leader'"'"'s `OK` (%.0f ms from send; leader `OK` after %.0f) | |\n", ftx, fo, fs, fl
}')
facts="Machine: $(nproc) CPUs ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, $(date -u +%Y-%m-%dT%H:%MZ); load average $load_start at the start, $load_end at the end.
PostgreSQL $pg_version, primary + synchronous streaming standby on this machine: $pg_settings.
Binaries: $BIN."
echo
echo "$facts"
echo
echo "$results"
# Anything from the "## Notes" heading on is kept from the previous file (written by hand).
notes=""
[ -f Benchmarks/RESULTS-replication.md ] && notes=$(sed -n '/^## Notes/,$p' Benchmarks/RESULTS-replication.md)
{
  echo "# Replication benchmark results"
  echo
  echo "Written by \`Benchmarks/replication.sh $n $big $runs $takeovers\` (SPEC §8). Reproduce with"
  echo "\`swift build -c release --scratch-path .build-bench && BIN=.build-bench/release Benchmarks/replication.sh\`."
  echo
  echo "$facts"
  echo
  echo "$results"
  echo
  echo "Details of this run:"
  echo
  echo "- takeover: ${takeover_ms# } ms"
  echo "- the new standby with the snapshot logged: ${n2_restored:-?}"
  echo "- daemon memory after the ${big}-transaction ingest: leader ${rss_l} KiB RSS, fresh standby ${rss_n1} KiB"
  echo "- the leader's clean stop (SIGTERM) and the standby's takeover, from their logs:"
  echo
  echo '```'
  echo "$term_timeline"
  echo '```'
  if [ -n "$notes" ]; then echo; echo "$notes"; fi
} >Benchmarks/RESULTS-replication.md
echo
echo "written to Benchmarks/RESULTS-replication.md"
