#!/usr/bin/env bash
# The browser tests: playwright-core drives Debian's chromium against a fresh `qingshan demo`.
#
#   e2e/run.sh                 build the binary (debug), start the demo on a free port, run every test
#   e2e/run.sh tests/04-*.mjs  only some test files (paths relative to e2e/)
#
# Environment (all optional):
#   QS_E2E_PROFILE=debug|release  which build of qingshan to test (default debug: see e2e/README.md for why)
#   QS_E2E_BIN=PATH               test this binary instead of building one
#   QS_BASE_URL=URL               test a demo that is already running instead of starting one
#   QS_CHROMIUM=PATH              the browser (default /usr/bin/chromium, installed from Debian when missing)
# Screenshots, downloads, the demo's log and a JUnit report go to e2e/artifacts/. Exits non-zero on any failure.
set -euo pipefail
E2E="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$E2E/.." && pwd)"
ARTIFACTS="$E2E/artifacts"
PROFILE="${QS_E2E_PROFILE:-debug}"
export QS_CHROMIUM="${QS_CHROMIUM:-/usr/bin/chromium}"
started=$(date +%s)
say() { echo "== e2e: $* ($(( $(date +%s) - started )) s)"; }

# --- the browser and a CJK font -----------------------------------------------------------------------------
need_packages=()
[ -x "$QS_CHROMIUM" ] || need_packages+=(chromium)
fc-list :lang=zh family 2>/dev/null | grep -q . || need_packages+=(fonts-noto-cjk)
if [ "${#need_packages[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing ${need_packages[*]} from Debian"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >/dev/null
        apt-get install -y -q --no-install-recommends "${need_packages[@]}" >/dev/null
    else
        echo "e2e: missing ${need_packages[*]} (the browser tests need Debian's chromium at $QS_CHROMIUM and a CJK font)." >&2
        echo "e2e: install them as root: apt-get install -y --no-install-recommends chromium fonts-noto-cjk" >&2
        echo "e2e: (or set QS_CHROMIUM to another Chromium build)" >&2
        exit 2
    fi
fi
[ -x "$QS_CHROMIUM" ] || { echo "e2e: no browser at $QS_CHROMIUM" >&2; exit 2; }
say "browser: $("$QS_CHROMIUM" --version 2>/dev/null || echo "$QS_CHROMIUM")"

# --- playwright-core, exactly as locked -----------------------------------------------------------------------
command -v npm >/dev/null || { echo "e2e: Node.js and npm are needed (node --test, npm ci)" >&2; exit 2; }
if [ ! -f "$E2E/node_modules/.package-lock.json" ] || ! cmp -s "$E2E/package-lock.json" "$E2E/node_modules/.e2e-lock"; then
    say "npm ci"
    (cd "$E2E" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    cp "$E2E/package-lock.json" "$E2E/node_modules/.e2e-lock"
fi

rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"

# --- the demo -------------------------------------------------------------------------------------------------
server_pid=""
workdir=""
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
    [ -n "$workdir" ] && rm -rf "$workdir"
    workdir=""
}
trap stop_server EXIT
trap 'exit 130' INT TERM

if [ -z "${QS_BASE_URL:-}" ]; then
    if [ -n "${QS_E2E_BIN:-}" ]; then
        bin="$QS_E2E_BIN"
    else
        say "cargo build ($PROFILE) -p qingshan"
        if [ "$PROFILE" = release ]; then
            (cd "$ROOT" && cargo build --release -p qingshan)
        else
            (cd "$ROOT" && cargo build -p qingshan)
        fi
        target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
        bin="$target_dir/$PROFILE/qingshan"
    fi
    [ -x "$bin" ] || { echo "e2e: no qingshan binary at $bin" >&2; exit 2; }
    bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

    # Two free ports on the loopback (web and HJ 212 gateway), a fresh data directory.
    read -r http_port hj212_port < <(node -e '
        const net = require("net");
        const free = () => new Promise((ok) => { const s = net.createServer(); s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => ok(p)); }); });
        (async () => { const a = await free(); let b = await free(); while (b === a) b = await free(); console.log(a, b); })();')
    workdir="$(mktemp -d "${TMPDIR:-/tmp}/qingshan-e2e.XXXXXX")"
    export QS_BASE_URL="http://127.0.0.1:$http_port"
    say "starting qingshan demo on $QS_BASE_URL (data in $workdir)"
    QINGSHAN_LOG="${QINGSHAN_LOG:-info,sqlx=warn,tower_http=warn}" \
        "$bin" demo --data-dir "$workdir/demo" --http "127.0.0.1:$http_port" --hj212 "127.0.0.1:$hj212_port" \
        >"$ARTIFACTS/demo.log" 2>&1 </dev/null &
    server_pid=$!
    ready=""
    for _ in $(seq 1 600); do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "e2e: qingshan demo exited before it was ready; its log:" >&2
            tail -n 40 "$ARTIFACTS/demo.log" >&2
            exit 1
        fi
        if curl -sf -o /dev/null --max-time 2 "$QS_BASE_URL/healthz"; then ready=1; break; fi
        sleep 0.5
    done
    [ -n "$ready" ] || { echo "e2e: $QS_BASE_URL/healthz did not answer within 300 s" >&2; tail -n 40 "$ARTIFACTS/demo.log" >&2; exit 1; }
    say "demo ready"
fi

# --- the tests ------------------------------------------------------------------------------------------------
cd "$E2E"
if [ "$#" -gt 0 ]; then files=("$@"); else files=(tests/*.test.mjs); fi
set +e
QS_ARTIFACTS="$ARTIFACTS" node --test --test-concurrency=1 --test-timeout=240000 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=junit --test-reporter-destination="$ARTIFACTS/junit.xml" \
    "${files[@]}" 2>&1 | tee "$ARTIFACTS/node-test.log"
status=${PIPESTATUS[0]}
set -e
stop_server
passed=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$ARTIFACTS/node-test.log" | tail -n 1)
failed=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$ARTIFACTS/node-test.log" | tail -n 1)
say "done (exit $status); screenshots, downloads and logs in $ARTIFACTS"
echo "e2e: ${passed:-0} passed, ${failed:-0} failed"
exit "$status"
