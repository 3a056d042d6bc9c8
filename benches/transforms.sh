#!/usr/bin/env bash
# Transforms in flight: TPC-H lineitem at SF1 (6,001,215 rows) copied SQLite -> Parquet without
# transforms and with five steps (rename, cast, a filter ferry evaluates, upper, add), and with
# an HMAC mask on top; then the transform stage alone (batches in memory, no I/O) on 1 and 2
# threads. Wall times are medians of RUNS runs.
#
# Usage: benches/transforms.sh            (data goes to bench-data/, reused)
#        RUNS=3 benches/transforms.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DATA=${BENCH_DATA:-$ROOT/bench-data}
RUNS=${RUNS:-3}
mkdir -p "$DATA"

cargo build --release --quiet
FERRY=$ROOT/target/release/ferry
DB=$DATA/tpch-sf1.sqlite
[[ -f $DB ]] || bash scripts/make-data.sh 1 "$DB"
export FERRY_MASK_KEY=bench-key-of-32-bytes-long-xxxxx

FIVE=(
    --transform 'rename(l_comment, comment)'
    --transform 'cast(l_quantity, DECIMAL(12,2))'
    --transform 'filter(l_quantity > 0)'          # on the cast column: evaluated by ferry, keeps every row
    --transform 'upper(l_shipinstruct)'
    --transform 'add(loaded_at, load_time)'
)
MASK=(--transform 'mask(comment, hmac)')

# measure NAME CMD...: median wall seconds of RUNS runs, and the transform seconds of the last
measure() {
    local name=$1; shift
    local walls=()
    for _ in $(seq "$RUNS"); do
        rm -rf "$DATA/xform-out"
        local t0 t1
        t0=$(date +%s.%N)
        "$@" --report "$DATA/xform-report.json" -q
        t1=$(date +%s.%N)
        walls+=("$(echo "$t1 - $t0" | bc -l)")
    done
    local wall xform
    wall=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    xform=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tables"][0]["transform_seconds"])' "$DATA/xform-report.json")
    printf '%-44s %8.2f s wall   %6.2f s in transforms (summed over threads)\n' "$name" "$wall" "$xform"
}

echo "ferry $("$FERRY" --version | cut -d' ' -f2), $(nproc) cores, runs: $RUNS"
COPY=("$FERRY" copy "sqlite://$DB" "parquet://$DATA/xform-out" --table lineitem)
measure "sqlite->parquet, no transforms" "${COPY[@]}"
measure "sqlite->parquet, five steps" "${COPY[@]}" "${FIVE[@]}"
measure "sqlite->parquet, five steps + mask(hmac)" "${COPY[@]}" "${FIVE[@]}" "${MASK[@]}"

# The stage alone, on the rows of a Parquet snapshot held in memory.
SNAP=$DATA/xform-snap
[[ -f $SNAP/_ferry_manifest.json ]] ||
    "$FERRY" copy "sqlite://$DB" "parquet://$SNAP" --table lineitem -q
steps=()
for ((i = 1; i < ${#FIVE[@]}; i += 2)); do steps+=("${FIVE[$i]}"); done
cargo bench --quiet --bench transform_stage -- "$SNAP/lineitem" "${steps[@]}"
cargo bench --quiet --bench transform_stage -- "$SNAP/lineitem" "${steps[@]}" 'mask(comment, hmac)'
