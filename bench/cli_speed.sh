#!/usr/bin/env bash
# The command-line benchmarks of BENCHMARKS.md ("qingshan hj212 decode" and "qingshan assess air"): wall time
# (hyperfine) and peak memory (/usr/bin/time -v) of the release binary on the inputs of bench/cli_inputs.sh,
# and of the pandas counterpart of the assessment.
# Usage: cargo build --release -p qingshan && bench/cli_speed.sh [OUT=/tmp/qingshan-bench] [BINARY=target/release/qingshan]
# Needs hyperfine (apt-get install -y hyperfine) and, for the comparison, pandas (pip install pandas).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-/tmp/qingshan-bench}
bin=${2:-$root/target/release/qingshan}
"$root/bench/cli_inputs.sh" "$out" >/dev/null
cd "$root"
peak() { /usr/bin/time -f "  peak RSS %M KB, %e s wall, %U s user" "$@" >/dev/null; }

echo "== hj212 decode --json, 1,000,017 packets"
hyperfine --warmup 1 --runs 5 "$bin hj212 decode --json $out/hj212-million.txt > /dev/null"
peak "$bin" hj212 decode --json "$out/hj212-million.txt"
echo "== the same piped into head (must end with exit 0, quietly)"
set +o pipefail
"$bin" hj212 decode --json "$out/hj212-million.txt" | head -c 100 >/dev/null
echo "  exit ${PIPESTATUS[0]}"
set -o pipefail

echo "== assess air, 480 station-years (120 stations x 2013-03-01 ... 2017-02-28)"
hyperfine --warmup 1 --runs 5 \
    "$bin assess air --input $out/beijing-480/*.csv --from 2013-03-01 --to 2017-02-28 --per-station --json > /dev/null"
peak "$bin" assess air --input "$out"/beijing-480/*.csv --from 2013-03-01 --to 2017-02-28 --per-station --json
echo "== assess air, one station-year (fixture)"
hyperfine --warmup 2 --runs 20 \
    "$bin assess air --input fixtures/beijing/PRSA_Data_Dongsi_2015.csv --from 2015-01-01 --to 2015-12-31 --json > /dev/null"
echo "== pandas counterpart, 480 station-years"
hyperfine --runs 3 \
    "OMP_NUM_THREADS=1 python3 bench/assess_pandas.py --from 2013-03-01 --to 2017-02-28 $out/beijing-480/*.csv > /dev/null"
peak env OMP_NUM_THREADS=1 python3 bench/assess_pandas.py --from 2013-03-01 --to 2017-02-28 "$out"/beijing-480/*.csv
