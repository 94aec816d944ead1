#!/usr/bin/env bash
# Measures paymentsd's HTTP API with wrk (issue 7, "Speed"): `GET /clients/<id>` and
# `POST /transactions` (one JSON deposit per request, a new tx id each, --fsync always), and
# in the same run nginx (one worker, `return 200` of a body as long as the daemon's GET body)
# measured with the same wrk command, as the baseline.
# The machine is shared, so the four measurements alternate for ROUNDS rounds and each server's
# best round counts (as batch.sh takes the best of three); every round is printed.
# Usage: Benchmarks/http.sh [SECONDS]   (needs wrk and nginx-light: apt-get install wrk nginx-light)
# Env: CONNECTIONS (default 64), ROUNDS (2), DAEMON_PORT (18380), NGINX_PORT (18381).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${CONNECTIONS:-64}
rounds=${ROUNDS:-2}
dport=${DAEMON_PORT:-18380}
nport=${NGINX_PORT:-18381}
for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || { echo "http.sh: $tool is not installed (apt-get install wrk nginx-light curl)" >&2; exit 1; }
done
swift build -c release --product paymentsd >/dev/null
bin=$(swift build -c release --show-bin-path)
tmp=$(mktemp -d /tmp/payments-http-bench.XXXXXX)
daemon_pid="" nginx_pid=""
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

wait_for() {  # wait_for URL: poll until it answers
  for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done
  echo "http.sh: nothing answers at $1" >&2; exit 1
}

# The daemon, with 1000 accounts seeded by one CSV POST.
"$bin/paymentsd" --data-dir "$tmp/data" --fsync always --unix "$tmp/d.sock" --http "127.0.0.1:$dport" \
  2>"$tmp/paymentsd.log" &
daemon_pid=$!
wait_for "http://127.0.0.1:$dport/healthz"
seq 1 1000 | awk '{ printf "deposit,%d,%d,%d.5\n", $1, $1, $1 }' >"$tmp/seed.csv"
curl -s -H 'Content-Type: text/csv' --data-binary "@$tmp/seed.csv" "http://127.0.0.1:$dport/transactions" >/dev/null
body=$(curl -s "http://127.0.0.1:$dport/clients/42")

# nginx: one worker, the same body, config and logs in the temporary directory.
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nport;
    location / { default_type application/json; return 200 '$body'; }
  }
}
EOF
[ "$(id -u)" = 0 ] && sed -i "1i user $(id -un) $(id -gn);" "$tmp/nginx/nginx.conf"
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" 2>>"$tmp/nginx/error.log" &
nginx_pid=$!
wait_for "http://127.0.0.1:$nport/clients/42"

# One JSON deposit per request, each with a new tx id: ids from TX_BASE, a fresh range per round.
cat >"$tmp/post.lua" <<'EOF'
local tx = tonumber(os.getenv("TX_BASE"))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  tx = tx + 1
  return wrk.format(nil, nil, nil,
    string.format('{"type":"deposit","client":%d,"tx":%d,"amount":"1.25"}', tx % 1000 + 1, tx))
end
EOF

run() {  # run NAME URL [wrk args...]: prints "NAME req/s p99_ms errors" (non-2xx and socket errors)
  local name=$1 url=$2; shift 2
  wrk -t1 -c"$connections" -d"${seconds}s" --latency "$@" "$url" >"$tmp/$name.txt"
  awk -v name="$name" '
    /Requests\/sec:/ { rps = $2 }
    /Non-2xx or 3xx responses:/ { bad += $NF }
    /Socket errors:/ { for (i = 3; i <= NF; i++) { v = $i; gsub(/[^0-9]/, "", v); bad += v } }
    /^ +99%/ { v = $2; unit = v; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v)
               p99 = (unit == "us") ? v / 1000 : (unit == "s") ? v * 1000 : v }
    END { printf "%s %.0f %.3f %d\n", name, rps, p99, bad + 0 }' "$tmp/$name.txt"
}
echo "wrk -t1 -c$connections -d${seconds}s --latency, $rounds rounds; GET body ${#body} bytes: $body"
for round in $(seq "$rounds"); do
  run nginx_get "http://127.0.0.1:$nport/clients/42"
  run daemon_get "http://127.0.0.1:$dport/clients/42"
  TX_BASE=1 run nginx_post "http://127.0.0.1:$nport/transactions" -s "$tmp/post.lua"
  TX_BASE=$((round * 10000000)) run daemon_post "http://127.0.0.1:$dport/transactions" -s "$tmp/post.lua"
done | tee "$tmp/results.txt" | sed 's/^/round: /'

metrics=$(curl -s "http://127.0.0.1:$dport/metrics")
applied=$(echo "$metrics" | awk '/^payments_transactions_total\{outcome="applied"\}/ { print $2 }')
syncs=$(echo "$metrics" | awk '/^payments_journal_syncs_total/ { print $2 }')
awk -v applied="$applied" -v syncs="$syncs" '
  $2 > rps[$1] { rps[$1] = $2; p99[$1] = $3 }
  { bad[$1] += $4 }
  END {
    printf "best round of each:\n%-28s %12s %10s %8s\n", "", "requests/s", "p99 ms", "errors"
    printf "%-28s %12.0f %10.3f %8d\n", "nginx GET (baseline)", rps["nginx_get"], p99["nginx_get"], bad["nginx_get"]
    printf "%-28s %12.0f %10.3f %8d\n", "paymentsd GET /clients/42", rps["daemon_get"], p99["daemon_get"], bad["daemon_get"]
    printf "%-28s %12.0f %10.3f %8d\n", "nginx POST (baseline)", rps["nginx_post"], p99["nginx_post"], bad["nginx_post"]
    printf "%-28s %12.0f %10.3f %8d\n", "paymentsd POST fsync always", rps["daemon_post"], p99["daemon_post"], bad["daemon_post"]
    printf "GET:  %.2fx nginx (target >= 0.80x, p99 < 2 ms)\n", rps["daemon_get"] / rps["nginx_get"]
    printf "POST: %.2fx nginx, %.0f req/s (target >= 50000 req/s with fsync always)\n", rps["daemon_post"] / rps["nginx_post"], rps["daemon_post"]
    if (syncs > 0) printf "daemon: %d transactions applied, %d fdatasyncs (%.1f transactions per sync)\n", applied, syncs, applied / syncs
  }' "$tmp/results.txt"
