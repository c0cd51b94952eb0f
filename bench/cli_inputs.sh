#!/usr/bin/env bash
# Builds the inputs of the command-line benchmarks (BENCHMARKS.md, "qingshan hj212 decode" and "qingshan assess
# air"), nothing of which is committed:
#   $OUT/hj212-million.txt   fixtures/hj212/samples.txt repeated 14,493 times: 1,000,017 packets (69 per copy;
#                            the copies' comment lines are skipped by the decoder), about 312 MB
#   $OUT/beijing-480/        the 12 UCI Beijing station files (2013-03-01 … 2017-02-28, 4 years each) in 10
#                            copies whose station column is renamed `<station>-<copy>`: 120 stations × 4 years
#                            = 480 station-years (4.2 M station-hours, 320 MB)
# Usage: bench/cli_inputs.sh [OUT=/tmp/qingshan-bench] [BEIJING_DIR=/work/shared/data/beijing-multisite]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-/tmp/qingshan-bench}
beijing=${2:-/work/shared/data/beijing-multisite}
mkdir -p "$out"

if [ ! -s "$out/hj212-million.txt" ]; then
    for _ in $(seq 14493); do cat "$root/fixtures/hj212/samples.txt"; done > "$out/hj212-million.txt"
fi

mkdir -p "$out/beijing-480"
for copy in $(seq 10); do
    for file in "$beijing"/PRSA_Data_*.csv; do
        name=$(basename "$file" .csv)
        target="$out/beijing-480/${name}-${copy}.csv"
        [ -s "$target" ] && continue
        # The station is the last column, quoted: "Dongsi" -> "Dongsi-3".
        sed -E "2,\$ s/\"([^\"]*)\"(\r?)\$/\"\\1-${copy}\"\\2/" "$file" > "$target"
    done
done
echo "inputs in $out"
