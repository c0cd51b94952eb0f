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
# PATHS empty (the default): every page of the leader's navigation (read off the dashboard's menu), an issued
# bulletin (the last month's, issued by this script), a station's page and year, and every GET of /api/v1 without
# a path parameter (from /api/v1/openapi.json; bulk exports, which stream files, left out).
PATHS=${PATHS:-}

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

# Logs USER in through the form (CSRF token from the login page, session cookie kept) and prints the Cookie
# header of the session.
login() {
  local jar="$WORK/cookies-$1"
  # qs_demo_out (the cookie 退出 sets) turns off the demo's automatic leader login, so /login shows the form.
  printf '127.0.0.1\tFALSE\t/\tFALSE\t0\tqs_demo_out\t1\n' >"$jar"
  curl -fsS -c "$jar" -b "$jar" "$BASE/login" -o "$WORK/login.html"
  local csrf
  csrf=$(grep -o 'name="_csrf" value="[^"]*"' "$WORK/login.html" | head -1 | sed 's/.*value="//; s/"$//')
  [ -n "$csrf" ] || { echo "no CSRF field on /login" >&2; exit 1; }
  curl -fsS -c "$jar" -b "$jar" -o /dev/null -H 'Sec-Fetch-Site: same-origin' \
    --data-urlencode "_csrf=$csrf" --data-urlencode "username=$1" --data-urlencode "password=qingshan-demo" \
    "$BASE/login"
  awk '$0 !~ /^#/ || $0 ~ /^#HttpOnly_/ { if (NF >= 7) printf "%s=%s; ", $6, $7 }' "$jar"
}
echo "# resident memory after the start (no request yet): $(( $(ps -o rss= -p "$SERVER_PID") / 1024 )) MB"
COOKIE=$(login leader)
curl -fsS -H "Cookie: $COOKIE" "$BASE/api/v1/me" -o /dev/null || { echo "login failed" >&2; exit 1; }

# The last month, whose bulletin is issued below.
ISSUE_MONTH=$(TZ=Asia/Shanghai date -d "$(TZ=Asia/Shanghai date +%Y-%m-01) -1 day" +%Y-%m)
if [ -z "$PATHS" ]; then
  NAV=$(curl -fsS -H "Cookie: $COOKIE" "$BASE/overview" | python3 -c '
import re, sys
page = sys.stdin.read()
nav = page[page.index("<nav class=\"mainnav\""):]
print(" ".join(re.findall(r"href=\"([^\"]*)\"", nav[: nav.index("</nav>")])))')
  API=$(curl -fsS -H "Cookie: $COOKIE" "$BASE/api/v1/openapi.json" | python3 -c '
import json, sys
spec = json.load(sys.stdin)
for path, ops in sorted(spec["paths"].items()):
    if "get" in ops and "{" not in path and not any(w in path for w in ("export", ".xlsx", ".pdf", ".csv", "workbook", "openapi")):
        print(path)' | tr '\n' ' ')
  PATHS="$NAV /rankings/bulletin?month=$ISSUE_MONTH /api/v1/rankings/bulletin?month=$ISSUE_MONTH /stations/1 /api/v1/stations/1?year=2025 $API"
fi
echo "# $(echo $PATHS | wc -w) paths: $PATHS"

# The first request of each page after the start, before anything else asked for it (with a DATA_DIR of an
# earlier run this is the first request after a restart: every in-memory cache is empty; the pages are asked in
# the order of PATHS, so a later page may find figures an earlier one computed).
# A path that does not answer 2xx to the leader (another role's page, a query that needs parameters) is listed
# and left out of the load runs, where every answer would count as an error.
echo "# first request after the start (HTTP status, seconds):"
MEASURED=
for path in $PATHS; do
  answer=$(curl -sS -o /dev/null -H "Cookie: $COOKIE" --max-time 120 -w "%{http_code} %{time_total}" "$BASE$path" || echo "000 -")
  echo "#   $answer  $path"
  case "$answer" in
    2*) MEASURED="$MEASURED $path" ;;
    *) echo "#     (not 2xx for the leader: left out of the load runs)" ;;
  esac
done
PATHS=$MEASURED

# The monitoring department issues the last month's bulletin, so that an issued bulletin is measured (the
# leader reads it).
MONITOR=$(login monitor)
curl -fsS -H "Cookie: $MONITOR" "$BASE/rankings/bulletin?month=$ISSUE_MONTH" -o "$WORK/bulletin.html"
if ! grep -q "（草稿）" "$WORK/bulletin.html"; then
  echo "# the bulletin of $ISSUE_MONTH is issued already"
else
  CSRF=$(grep -o 'name="_csrf" value="[^"]*"' "$WORK/bulletin.html" | head -1 | sed 's/.*value="//; s/"$//')
  curl -fsS -o /dev/null -H "Cookie: $MONITOR" -H 'Sec-Fetch-Site: same-origin' \
    --data-urlencode "_csrf=$CSRF" --data-urlencode "month=$ISSUE_MONTH" "$BASE/rankings/bulletin/issue" \
    || { echo "could not issue the bulletin of $ISSUE_MONTH" >&2; exit 1; }
fi

rss_mb() { echo $(( $(ps -o rss= -p "$SERVER_PID") / 1024 )); }
echo "# resident memory after the start, the logins and the first requests: $(rss_mb) MB"
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
    errors=$(( ${sock:-0} + ${non2:-0} ))
    # wrk reports no latencies when nothing completed; say so rather than print zeros.
    if [ "$(awk '/requests in/ {print $1}' "$out")" = 0 ]; then p50="none"; p99="completed"; fi
    printf '%-32s %5s %9s %9s %9s %8s %8s\n' "$path" "$c" "${rps:-0}" "${p50:--}" "${p99:--}" "$errors" "$peak"
  done
done
echo "# peak resident memory under load: $MAX_RSS MB"
