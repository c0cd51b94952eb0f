#!/usr/bin/env bash
# The schema-driven fuzz step: schemathesis (from PyPI, the version pinned in fuzz-requirements.txt) reads
# /api/v1/openapi.json and sends the API what it generates from it, as the administrator, against a fresh demo —
# on SQLite, then on PostgreSQL. No request may get a 5xx (check `not_a_server_error`). Bounded in time.
#
#   e2e/fuzz.sh                 both backends (PostgreSQL at QINGSHAN_TEST_POSTGRES_URL, in a schema of its own)
#   e2e/fuzz.sh sqlite          one backend (sqlite or postgres)
#
# Environment (all optional):
#   QS_E2E_BIN=PATH             the qingshan binary (default: target/debug/qingshan, built when missing)
#   QS_FUZZ_SECONDS=N           the time budget of schemathesis per backend (default 90)
#   QINGSHAN_TEST_POSTGRES_URL  the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/test)
# Reports and the demo's logs go to e2e/artifacts/fuzz-<backend>/. Exits non-zero on any 5xx.
set -euo pipefail
E2E="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$E2E/.." && pwd)"
SECONDS_PER_BACKEND="${QS_FUZZ_SECONDS:-90}"
PG_URL="${QINGSHAN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
started=$(date +%s)
say() { echo "== fuzz: $* ($(( $(date +%s) - started )) s)"; }

backends=("$@")
[ "${#backends[@]}" -gt 0 ] || backends=(sqlite postgres)

# --- schemathesis, exactly as pinned, in a virtual environment of its own ----------------------------------
VENV="$E2E/.fuzz-venv"
if [ ! -x "$VENV/bin/schemathesis" ] || ! cmp -s "$E2E/fuzz-requirements.txt" "$VENV/.requirements"; then
    say "installing schemathesis from PyPI"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$E2E/fuzz-requirements.txt"
    cp "$E2E/fuzz-requirements.txt" "$VENV/.requirements"
fi

bin="${QS_E2E_BIN:-}"
if [ -z "$bin" ]; then
    bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug/qingshan"
    [ -x "$bin" ] || (cd "$ROOT" && cargo build -p qingshan)
fi
[ -x "$bin" ] || { echo "fuzz: no qingshan binary at $bin" >&2; exit 2; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

server_pid=""
workdir=""
pg_schema=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
    [ -n "$workdir" ] && rm -rf "$workdir"
    workdir=""
    if [ -n "$pg_schema" ]; then
        psql "$PG_URL" -qAt -c "DROP SCHEMA IF EXISTS $pg_schema CASCADE" >/dev/null 2>&1 || true
    fi
    pg_schema=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

failed=0
passed=0
for backend in "${backends[@]}"; do
    artifacts="$E2E/artifacts/fuzz-$backend"
    rm -rf "$artifacts"
    mkdir -p "$artifacts"
    workdir="$(mktemp -d "${TMPDIR:-/tmp}/qingshan-fuzz.XXXXXX")"
    database_args=()
    case "$backend" in
        sqlite) ;;
        postgres)
            pg_schema="qs_fuzz_$(date +%s)_$$"
            psql "$PG_URL" -qAt -c "CREATE SCHEMA $pg_schema" >/dev/null
            sep='?'
            case "$PG_URL" in *\?*) sep='&' ;; esac
            database_args=(--database "${PG_URL}${sep}options=-c%20search_path%3D${pg_schema}")
            ;;
        *) echo "fuzz: unknown backend $backend (sqlite or postgres)" >&2; exit 2 ;;
    esac
    http_port=$(free_port)
    hj212_port=$(free_port)
    base="http://127.0.0.1:$http_port"
    say "$backend: starting qingshan demo on $base"
    QINGSHAN_LOG="${QINGSHAN_LOG:-warn}" "$bin" demo --data-dir "$workdir/demo" "${database_args[@]}" \
        --http "127.0.0.1:$http_port" --hj212 "127.0.0.1:$hj212_port" >"$artifacts/demo.log" 2>&1 </dev/null &
    server_pid=$!
    ready=""
    for _ in $(seq 1 1200); do
        kill -0 "$server_pid" 2>/dev/null || break
        if curl -sf -o /dev/null --max-time 2 "$base/healthz"; then ready=1; break; fi
        sleep 0.5
    done
    if [ -z "$ready" ]; then
        echo "fuzz: the $backend demo did not start; its log:" >&2
        tail -n 40 "$artifacts/demo.log" >&2
        exit 1
    fi
    say "$backend: demo ready"
    token=$("$bin" token create --data-dir "$workdir/demo" "${database_args[@]}" --user admin --name fuzz 2>/dev/null)

    set +e
    # Run from the artifacts folder: schemathesis keeps a cache folder (.schemathesis) in its working directory.
    (cd "$artifacts" && "$VENV/bin/schemathesis" --no-color run "$base/api/v1/openapi.json" \
        --header "Authorization: Bearer $token" \
        --checks not_a_server_error \
        --max-time "$SECONDS_PER_BACKEND" \
        --workers 1 \
        --request-timeout 60 \
        --suppress-health-check all \
        --seed 1 \
        --report junit --report-dir "$artifacts" \
        >"$artifacts/schemathesis.log" 2>&1)
    status=$?
    set -e
    tail -n 25 "$artifacts/schemathesis.log"
    # What fails the step: a check that failed (a 5xx), a connection the server dropped (a panic in a handler
    # ends its connection), or a panic in the server's log. An error inside schemathesis itself ("Runtime
    # Error": a race in its own code generation, seen with two workers, so it runs one) is reported, not counted
    # against the platform.
    if [ "$status" -ne 0 ] \
        && ! grep -q "= FAILURES =" "$artifacts/schemathesis.log" \
        && ! grep -q "Network Error" "$artifacts/schemathesis.log" \
        && ! grep -q "panicked" "$artifacts/demo.log"; then
        say "$backend: schemathesis reported errors of its own, no server error (see $artifacts/schemathesis.log)"
        status=0
    fi
    if grep -q "panicked" "$artifacts/demo.log"; then
        grep -n -A2 "panicked" "$artifacts/demo.log" | head -n 20
        status=1
    fi
    if [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
        say "$backend: no server error"
    else
        failed=$((failed + 1))
        say "$backend: schemathesis exit $status (see $artifacts/schemathesis.log)"
        grep -n "Server error\|500 Internal" "$artifacts/schemathesis.log" | head -n 20 || true
    fi
    cleanup
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
