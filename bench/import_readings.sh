#!/bin/sh
# The readings import figures of BENCHMARKS.md ("Readings store"): the 12 UCI Beijing files (420,768
# station-hours, 4,975,189 values), release build.
#   1. the ceiling: the same rows, parsed beforehand, written by bare multi-row INSERTs into a fresh SQLite file
#      (crates/readings/examples/import_ceiling.rs);
#   2. `qingshan import readings` into a fresh SQLite file;
#   3. the same into a fresh PostgreSQL database (COPY path).
# Usage: bench/import_readings.sh [QINGSHAN_BINARY]   (default target/release/qingshan; env DATA, PG override)
set -eu
cd "$(dirname "$0")/.."
BIN=${1:-target/release/qingshan}
DATA=${DATA:-/work/shared/data/beijing-multisite}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
export RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-stable-x86_64-unknown-linux-gnu}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "== ceiling: bare INSERTs into SQLite"
cargo run --quiet --release -p readings --example import_ceiling -- --format uci "$DATA"/PRSA_Data_*.csv

echo "== qingshan import readings, SQLite"
/usr/bin/time -f '%e s wall, %U s user, %S s system' \
    "$BIN" import readings --data-dir "$WORK/data" --file "$DATA"/PRSA_Data_*.csv --format uci

echo "== qingshan import readings, PostgreSQL"
psql -q "$PG/postgres" -c 'DROP DATABASE IF EXISTS import_bench' -c 'CREATE DATABASE import_bench'
"$BIN" migrate --database "$PG/import_bench" >/dev/null
/usr/bin/time -f '%e s wall, %U s user, %S s system' \
    "$BIN" import readings --database "$PG/import_bench" --file "$DATA"/PRSA_Data_*.csv --format uci
psql -q "$PG/postgres" -c 'DROP DATABASE import_bench'
