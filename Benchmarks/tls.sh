#!/usr/bin/env bash
# What TLS costs (issue 12, "Speed"), two measurements in one run on one certificate:
#   1. wrk over HTTPS, GET /clients/<id> with a Bearer token, keep-alive, -t1 -c64, against
#      paymentsd (tokens + TLS) and against nginx with TLS (one worker, `return 200` of the same
#      body, the same certificate and key) as the baseline;
#   2. ingest: 1M transactions pipelined by `paymentsctl send` over TCP, to a daemon without TLS
#      and to one with TLS and tokens (each on a fresh data directory, --fsync always).
# The machine is shared, so the measurements alternate for ROUNDS rounds and each one's best
# round counts; every round is printed.
# Usage: Benchmarks/tls.sh [SECONDS]   (needs wrk, nginx-light, curl, openssl)
# Env: CONNECTIONS (64), ROUNDS (2), LINES (1000000), PORT_BASE (18480).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${CONNECTIONS:-64}
rounds=${ROUNDS:-2}
lines=${LINES:-1000000}
base=${PORT_BASE:-18480}
hport=$base nport=$((base + 1)) tls_tcp=$((base + 2)) plain_tcp=$((base + 3))
for tool in wrk nginx curl openssl; do
  command -v "$tool" >/dev/null || { echo "tls.sh: $tool is not installed (apt-get install wrk nginx-light curl openssl)" >&2; exit 1; }
done
swift build -c release --product paymentsd >/dev/null
swift build -c release --product paymentsctl >/dev/null
bin=$(swift build -c release --show-bin-path)
tmp=$(mktemp -d /tmp/payments-tls-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# One self-signed certificate (P-256, the curve most servers use) for both servers.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/token"
(umask 077; "$bin/paymentsctl" hash-token admin bench <"$tmp/token" >"$tmp/auth")
token=$(cat "$tmp/token")

wait_for() {  # wait_for CURL-ARGS...: poll until it answers
  for _ in $(seq 200); do curl -s -o /dev/null "$@" && return 0; sleep 0.05; done
  echo "tls.sh: nothing answers at $*" >&2; exit 1
}

start_daemon() {  # start_daemon NAME FLAGS...: a daemon on a fresh data directory; its pid in $last_pid
  local name=$1; shift
  rm -rf "$tmp/$name"
  "$bin/paymentsd" --data-dir "$tmp/$name" --fsync always --unix "$tmp/$name.sock" "$@" 2>"$tmp/$name.log" &
  last_pid=$!
  pids+=("$last_pid")
  for _ in $(seq 200); do grep -q ' ready: ' "$tmp/$name.log" && return 0; sleep 0.05; done
  echo "tls.sh: $name did not start: $(cat "$tmp/$name.log")" >&2; exit 1
}
stop_daemon() { kill "$1" && wait "$1" 2>/dev/null || true; }

# 1. HTTPS: the daemon with tokens and TLS, 1000 accounts; nginx with the same body.
start_daemon http --http "127.0.0.1:$hport" --auth-file "$tmp/auth" --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem"
seq 1 1000 | awk '{ printf "deposit,%d,%d,%d.5\n", $1, $1, $1 }' >"$tmp/seed.csv"
curl -s --cacert "$tmp/cert.pem" -H "Authorization: Bearer $token" -H 'Content-Type: text/csv' \
  --data-binary "@$tmp/seed.csv" "https://localhost:$hport/transactions" >/dev/null
body=$(curl -s --cacert "$tmp/cert.pem" -H "Authorization: Bearer $token" "https://localhost:$hport/clients/42")
[ -n "$body" ] || { echo "tls.sh: the daemon gave no body for /clients/42" >&2; exit 1; }

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
    listen 127.0.0.1:$nport ssl;
    ssl_certificate $tmp/cert.pem;
    ssl_certificate_key $tmp/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { default_type application/json; return 200 '$body'; }
  }
}
EOF
[ "$(id -u)" = 0 ] && sed -i "1i user $(id -un) $(id -gn);" "$tmp/nginx/nginx.conf"
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" 2>>"$tmp/nginx/error.log" &
pids+=($!)
wait_for --cacert "$tmp/cert.pem" "https://localhost:$nport/clients/42"

rate() { awk '/Requests\/sec/ { printf "%d", $2 }' "$1"; }
best_daemon=0 best_nginx=0
for round in $(seq "$rounds"); do
  for server in daemon nginx; do
    port=$hport; [ "$server" = nginx ] && port=$nport
    wrk -t1 -c"$connections" -d"${seconds}s" -H "Authorization: Bearer $token" \
      "https://127.0.0.1:$port/clients/42" >"$tmp/wrk.$server"
    r=$(rate "$tmp/wrk.$server")
    echo "round $round: GET /clients/42 over HTTPS, $server: $r req/s"
    if [ "$server" = daemon ]; then [ "$r" -gt "$best_daemon" ] && best_daemon=$r; else [ "$r" -gt "$best_nginx" ] && best_nginx=$r; fi
  done
done
stop_daemon "${pids[0]}"

# 2. Ingest over the line protocol: 1M deposits, plain TCP against TLS with a token.
awk -v n="$lines" 'BEGIN { for (i = 1; i <= n; i++) printf "deposit,%d,%d,1.5\n", i % 5000, i }' >"$tmp/ingest.csv"
printf '%s\n' "$token" >"$tmp/token.line"
elapsed_ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
best_plain=999999999 best_tls=999999999
for round in $(seq "$rounds"); do
  start_daemon plain --tcp "127.0.0.1:$plain_tcp"
  t0=$(date +%s%N)
  out=$("$bin/paymentsctl" --tcp "127.0.0.1:$plain_tcp" send "$tmp/ingest.csv")
  ms=$(elapsed_ms "$t0")
  echo "round $round: ingest over plain TCP: $out in $ms ms ($(( lines * 1000 / ms )) tx/s)"
  [ "$ms" -lt "$best_plain" ] && best_plain=$ms
  stop_daemon "$last_pid"

  start_daemon tls --tcp "127.0.0.1:$tls_tcp" --auth-file "$tmp/auth" --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem"
  t0=$(date +%s%N)
  out=$("$bin/paymentsctl" --tcp "127.0.0.1:$tls_tcp" --cacert "$tmp/cert.pem" --token-file "$tmp/token.line" send "$tmp/ingest.csv")
  ms=$(elapsed_ms "$t0")
  echo "round $round: ingest over TLS with a token: $out in $ms ms ($(( lines * 1000 / ms )) tx/s)"
  [ "$ms" -lt "$best_tls" ] && best_tls=$ms
  stop_daemon "$last_pid"
done

echo
echo "HTTPS GET /clients/42 (-t1 -c$connections, ${seconds}s, best of $rounds): paymentsd $best_daemon req/s, nginx $best_nginx req/s," \
  "ratio $(awk -v a="$best_daemon" -v b="$best_nginx" 'BEGIN { printf "%.2f", a / b }')"
echo "ingest of $lines transactions (best of $rounds): plain $(( lines * 1000 / best_plain )) tx/s, TLS $(( lines * 1000 / best_tls )) tx/s," \
  "ratio $(awk -v a="$best_plain" -v b="$best_tls" 'BEGIN { printf "%.2f", a / b }')"
