#!/usr/bin/env bash
# PostgreSQL: ferry against the physical floors on TPC-H lineitem SF1 (6,001,215 rows), each
# ferry run paired with its floor in the same run (A B A B ...), ratios = median of the pairs.
#   PG -> PG       vs  psql COPY (FORMAT binary) TO STDOUT | psql COPY FROM STDIN
#   PG -> Parquet  vs  psql COPY (FORMAT binary) TO STDOUT > /dev/null   (the read floor)
#   Parquet -> PG  vs  psql COPY (FORMAT binary) FROM STDIN < file       (the write floor)
# Peak RSS of ferry from /usr/bin/time. The source table is loaded once by ferry itself from
# the SQLite SF1 file (scripts/make-data.sh), and the floor targets get ferry's exact DDL.
#
# Usage: benches/postgres.sh   (PG URL from FERRY_BENCH_PG_URL, default the test server;
#                               RUNS=3 by default; data in bench-data/)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DATA=${BENCH_DATA:-$ROOT/bench-data}
RUNS=${RUNS:-3}
PG=${FERRY_BENCH_PG_URL:-postgres://ferry:ferry@127.0.0.1:5432/ferry_test}
BENCH=pg
# Target tables go to schema bench through the URL: a --target-table is one identifier.
case $PG in *\?*) PGB="$PG&schema=bench" ;; *) PGB="$PG?schema=bench" ;; esac
mkdir -p "$DATA"
source benches/lib.sh
need /usr/bin/time time
need bc bc
cargo build --release --quiet
FERRY=$ROOT/target/release/ferry
[[ -f $DATA/tpch-sf1.sqlite ]] || bash scripts/make-data.sh 1 "$DATA/tpch-sf1.sqlite"

psql "$PG" -qc "CREATE SCHEMA IF NOT EXISTS bench"
if [[ $(psql "$PG" -Atc "SELECT count(*) FROM pg_tables WHERE schemaname = 'bench' AND tablename = 'lineitem'") == 0 ]]; then
    echo "loading bench.lineitem from $DATA/tpch-sf1.sqlite"
    "$FERRY" copy "$DATA/tpch-sf1.sqlite" "$PGB" --table lineitem -q
    psql "$PG" -qc "VACUUM ANALYZE bench.lineitem"
fi
ROWS=$(psql "$PG" -Atc "SELECT count(*) FROM bench.lineitem")
# The floors' target: the table ferry creates (its DDL from --dry-run), without a key.
ddl() {
    "$FERRY" copy "$PG" "$PGB" --table bench.lineitem --target-table "$1" --dry-run |
        sed -n '/CREATE TABLE/,/^  );/p' | sed 's/^  //'
}
reset() { psql "$PG" -qc "DROP TABLE IF EXISTS bench.$1" && psql "$PG" -qc "$(ddl "$1")"; }
[[ -f $DATA/lineitem.pgcopy ]] || psql "$PG" -qc "COPY bench.lineitem TO STDOUT (FORMAT binary)" > "$DATA/lineitem.pgcopy"
rm -rf "$DATA/pg-lineitem.parquet"
"$FERRY" copy "$PG" "parquet://$DATA/pg-lineitem.parquet" --table bench.lineitem --target-table lineitem -q

floor_pg2pg() { reset floor_t; bash -c "psql '$PG' -qc 'COPY bench.lineitem TO STDOUT (FORMAT binary)' | psql '$PG' -qc 'COPY bench.floor_t FROM STDIN (FORMAT binary)'"; }
floor_read() { bash -c "psql '$PG' -qc 'COPY bench.lineitem TO STDOUT (FORMAT binary)' > /dev/null"; }
floor_write() { reset floor_t; bash -c "psql '$PG' -qc 'COPY bench.floor_t FROM STDIN (FORMAT binary)' < '$DATA/lineitem.pgcopy'"; }
export -f floor_pg2pg floor_read floor_write reset ddl
export PG FERRY DATA

rm -f "$DATA"/pg-*.runs
for _ in $(seq "$RUNS"); do
    psql "$PG" -qc "DROP TABLE IF EXISTS bench.floor_t"
    run floor_pg2pg bash -c floor_pg2pg
    run ferry_pg2pg "$FERRY" copy "$PG" "$PGB" --table bench.lineitem --target-table ferry_t --if-exists replace -q
    run floor_read bash -c floor_read
    rm -rf "$DATA/out.parquet"
    run ferry_pg2pq "$FERRY" copy "$PG" "parquet://$DATA/out.parquet" --table bench.lineitem --target-table lineitem -q
    run floor_write bash -c floor_write
    run ferry_pq2pg "$FERRY" copy "parquet://$DATA/pg-lineitem.parquet" "$PGB" --target-table ferry_t --if-exists replace -q
done

# route_row LABEL FERRY_CASE FLOOR: | label | ferry's median | the floor's | ratio | rows/s | RSS |
route_row() {
    local label=$1 ferry=$2 floor=$3
    local fw fl
    fw=$(walls "$ferry" | median)
    fl=$(walls "$floor" | median)
    printf '| %s | %.2f s | %.2f s | %.2fx | %.0f | %.0f MiB |\n' "$label" "$fw" "$fl" \
        "$(pair_ratio "$ferry" "$floor")" "$(echo "$ROWS/$fw" | bc -l)" \
        "$(echo "$(peak_rss_kib "$ferry")/1024" | bc -l)"
}
echo
echo "lineitem SF1, $ROWS rows, $RUNS runs each, $(nproc) cores"
echo "| route | ferry | floor | ferry / floor | ferry rows/s | ferry peak RSS |"
echo "|---|---|---|---|---|---|"
route_row "PG -> PG" ferry_pg2pg floor_pg2pg
route_row "PG -> Parquet (vs the read floor)" ferry_pg2pq floor_read
route_row "Parquet -> PG (vs the write floor)" ferry_pq2pg floor_write
