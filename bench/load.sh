#!/usr/bin/env bash
# Load test of the pages a leader opens (issue 15): starts the release demo on free local ports, logs in, then
# runs wrk at 50 and 200 connections for each page and prints req/s, p50, p99, errors, and the server's
# resident memory under load. Only 127.0.0.1 is contacted; every wrk run is bounded in time.
#
#   bench/load.sh [BINARY]            # default target/release/qingshan (cargo build --release -p qingshan)
#
# Environment: DURATION (seconds per run, default 20), CONNECTIONS (default "50 200"), THREADS (wrk threads,
# default 2), DATA_DIR (default: a new temporary directory, removed at the end; give one to reuse a demo),
# PATHS (space-separated, default the list below), WARM=0 to skip the warm-up request per page.
set -euo pipefail

BIN=${1:-target/release/qingshan}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-"50 200"}
THREADS=${THREADS:-2}
WARM=${WARM:-1}
PATHS=${PATHS:-"/ /api/v1/dashboard /api/v1/stations/1?year=2025 /stations /stations/1 /rankings /rankings/bulletin /targets /alarms /overview /analysis"}

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
[ -x "$BIN" ] || { echo "no binary at $BIN: cargo build --release -p qingshan" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP_PORT=$(free_port)
HJ_PORT=$(free_port)
BASE="http://127.0.0.1:$HTTP_PORT"
OWN_DIR=0
if [ -z "${DATA_DIR:-}" ]; then
  DATA_DIR=$(mktemp -d /tmp/qingshan-load.XXXXXX)
  OWN_DIR=1
fi
WORK=$(mktemp -d /tmp/qingshan-load-work.XXXXXX)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
  if [ "$OWN_DIR" = 1 ]; then rm -rf "$DATA_DIR"; fi
}
trap cleanup EXIT

echo "# demo in $DATA_DIR on $BASE ($(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%FT%TZ))"
"$BIN" demo --data-dir "$DATA_DIR" --http "127.0.0.1:$HTTP_PORT" --hj212 "127.0.0.1:$HJ_PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 1800); do
  if curl -fsS "$BASE/healthz" >/dev/null 2>&1; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "the demo stopped:" >&2; tail -20 "$WORK/server.log" >&2; exit 1; }
  sleep 1
done
curl -fsS "$BASE/healthz" >/dev/null || { echo "the demo did not answer in 30 min" >&2; exit 1; }

# Log in as the leader through the form (CSRF token from the login page, session cookie kept).
JAR="$WORK/cookies"
# qs_demo_out (the cookie 退出 sets) turns off the demo's automatic leader login, so /login shows the form.
printf '127.0.0.1\tFALSE\t/\tFALSE\t0\tqs_demo_out\t1\n' >"$JAR"
curl -fsS -c "$JAR" -b "$JAR" "$BASE/login" -o "$WORK/login.html"
CSRF=$(grep -o 'name="_csrf" value="[^"]*"' "$WORK/login.html" | head -1 | sed 's/.*value="//; s/"$//')
[ -n "$CSRF" ] || { echo "no CSRF field on /login" >&2; exit 1; }
curl -fsS -c "$JAR" -b "$JAR" -o /dev/null -H 'Sec-Fetch-Site: same-origin' \
  --data-urlencode "_csrf=$CSRF" --data-urlencode "username=leader" --data-urlencode "password=qingshan-demo" \
  "$BASE/login"
COOKIE=$(awk '$0 !~ /^#/ || $0 ~ /^#HttpOnly_/ { if (NF >= 7) printf "%s=%s; ", $6, $7 }' "$JAR")
curl -fsS -H "Cookie: $COOKIE" "$BASE/api/v1/dashboard" -o /dev/null || { echo "login failed" >&2; exit 1; }

rss_mb() { echo $(( $(ps -o rss= -p "$SERVER_PID") / 1024 )); }
echo "# resident memory after start and login: $(rss_mb) MB"
printf '%-32s %5s %9s %9s %9s %8s %8s\n' path conns req/s p50 p99 errors rss_MB
MAX_RSS=0
for path in $PATHS; do
  url="$BASE$path"
  if [ "$WARM" = 1 ]; then
    curl -sS -o /dev/null -H "Cookie: $COOKIE" --max-time 120 "$url" || true
  fi
  for c in $CONNECTIONS; do
    out="$WORK/wrk.txt"
    wrk -t"$THREADS" -c"$c" -d"${DURATION}s" --timeout 20s --latency -H "Cookie: $COOKIE" "$url" >"$out" 2>&1 &
    WRK_PID=$!
    peak=0
    while kill -0 "$WRK_PID" 2>/dev/null; do
      r=$(rss_mb); [ "$r" -gt "$peak" ] && peak=$r
      sleep 1
    done
    wait "$WRK_PID" || true
    [ "$peak" -gt "$MAX_RSS" ] && MAX_RSS=$peak
    rps=$(awk '/^Requests\/sec/ {print $2}' "$out")
    p50=$(awk '$1 == "50%" {print $2}' "$out")
    p99=$(awk '$1 == "99%" {print $2}' "$out")
    # Errors: socket errors (connect, read, write, timeout) and non-2xx/3xx answers.
    sock=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
    non2=$(awk '/Non-2xx or 3xx/ {print $NF}' "$out")
    printf '%-32s %5s %9s %9s %9s %8s %8s\n' "$path" "$c" "${rps:-0}" "${p50:--}" "${p99:--}" \
      "$(( ${sock:-0} + ${non2:-0} ))" "$peak"
  done
done
echo "# peak resident memory under load: $MAX_RSS MB"
