#!/usr/bin/env bash
# Durable runs: what resumable chunks and `ferry verify` cost, on TPC-H lineitem SF1
# (6,001,215 rows), each case paired with its reference in the same run (A B A B ...), ratios =
# median of the pairs.
#   chunks   ferry copy (default: each partition committed with a progress row)
#            vs  ferry copy --no-chunks (each table in one piece), on
#            PG -> PG, PG -> MariaDB and SQLite -> Parquet snapshot directory
#   verify   ferry verify PG bench.lineitem against its PG copy, and against its Parquet copy
#            vs  psql COPY (FORMAT binary) TO STDOUT > /dev/null of the source (the read floor)
#            and ferry copy PG -> Parquet (ferry's own read of one side, with a write)
# Peak RSS from /usr/bin/time.
#
# Usage: benches/durable.sh   (PG URL from FERRY_BENCH_PG_URL, MariaDB from
#                              FERRY_BENCH_MYSQL_URL, default the test servers; RUNS=3 by
#                              default; ONLY=verify runs the verify cases alone; data and
#                              results in bench-data/)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DATA=${BENCH_DATA:-$ROOT/bench-data}
RUNS=${RUNS:-3}
PG=${FERRY_BENCH_PG_URL:-postgres://ferry:ferry@127.0.0.1:5432/ferry_test}
case $PG in *\?*) PGB="$PG&schema=bench" ;; *) PGB="$PG?schema=bench" ;; esac
MYURL=${FERRY_BENCH_MYSQL_URL:-mysql://ferry:ferry@127.0.0.1:3306/ferry_test}
MY=$(sed -E "s#^([a-z]+://[^/?]*)(/[^?]*)?#\1/ferry_bench#" <<<"$MYURL")
BENCH=durable
mkdir -p "$DATA"
source benches/lib.sh
need /usr/bin/time time
need bc bc
need psql postgresql-client
need mariadb mariadb-client
cargo build --release --quiet
FERRY=$ROOT/target/release/ferry
SQLITE=$DATA/tpch-sf1.sqlite
[[ -f $SQLITE ]] || bash scripts/make-data.sh 1 "$SQLITE"

[[ $MY =~ ^[a-z]+://(([^:@/]*)(:([^@/]*))?@)?([^:/?]*)(:([0-9]+))? ]] ||
    { echo "cannot read $MYURL" >&2; exit 2; }
MYUSER=${BASH_REMATCH[2]:-root} MYHOST=${BASH_REMATCH[5]:-127.0.0.1} MYPORT=${BASH_REMATCH[7]:-3306}
export MYSQL_PWD=${BASH_REMATCH[4]:-${MYSQL_PWD:-}}
my() { mariadb -h "$MYHOST" -P "$MYPORT" -u "$MYUSER" "$@"; }
my -e "CREATE DATABASE IF NOT EXISTS ferry_bench"

export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
psql "$PG" -qc "CREATE SCHEMA IF NOT EXISTS bench"
if [[ $(psql "$PG" -Atc "SELECT count(*) FROM pg_tables WHERE schemaname = 'bench' AND tablename = 'lineitem'") == 0 ]]; then
    echo "loading bench.lineitem from $SQLITE"
    "$FERRY" copy "$SQLITE" "$PGB" --table lineitem -q
    psql "$PG" -qc "VACUUM ANALYZE bench.lineitem"
fi
ROWS=$(psql "$PG" -Atc "SELECT count(*) FROM bench.lineitem")
floor_read() { bash -c "psql '$PG' -qc 'COPY bench.lineitem TO STDOUT (FORMAT binary)' > /dev/null"; }
export -f floor_read
export PG

ONLY=${ONLY:-all}
rm -f "$DATA"/durable-*.runs
if [[ $ONLY == verify && $(psql "$PG" -Atc "SELECT count(*) FROM pg_tables WHERE schemaname = 'bench' AND tablename = 'durable_t'") == 0 ]]; then
    "$FERRY" copy "$PG" "$PGB" --table bench.lineitem --target-table durable_t -q
fi
for i in $(seq "$RUNS"); do
    echo "run $i of $RUNS"
    if [[ $ONLY == all ]]; then
    run pg2pg_whole "$FERRY" copy "$PG" "$PGB" --table bench.lineitem --target-table durable_t --if-exists replace -q --no-chunks
    run pg2pg "$FERRY" copy "$PG" "$PGB" --table bench.lineitem --target-table durable_t --if-exists replace -q
    run pg2my_whole "$FERRY" copy "$PG" "$MY" --table bench.lineitem --target-table durable_t --if-exists replace -q --no-chunks
    run pg2my "$FERRY" copy "$PG" "$MY" --table bench.lineitem --target-table durable_t --if-exists replace -q
    run sq2pq_whole "$FERRY" copy "$SQLITE" "parquet://$DATA/durable-snap" --table lineitem --if-exists replace -q --no-chunks
    run sq2pq "$FERRY" copy "$SQLITE" "parquet://$DATA/durable-snap" --table lineitem --if-exists replace -q
    fi
    run floor_read bash -c floor_read
    run verify "$FERRY" verify "$PG" "$PGB" --table bench.lineitem --target-table durable_t -q
    rm -rf "$DATA/durable-read.parquet"
    run pg2pq "$FERRY" copy "$PG" "parquet://$DATA/durable-read.parquet" --table bench.lineitem --target-table lineitem -q
    run verify_pq "$FERRY" verify "$PG" "parquet://$DATA/durable-read.parquet" --table bench.lineitem --target-table durable-read -q
done
for t in "$(psql "$PG" -Atc "SELECT count(*) FROM bench.durable_t")" \
    "$( [[ $ONLY == all ]] && my -N ferry_bench -e "SELECT count(*) FROM durable_t" || echo "$ROWS")"; do
    [[ $t == "$ROWS" ]] || { echo "a target has $t rows, not $ROWS" >&2; exit 1; }
done

{
    echo "lineitem SF1, $ROWS rows, $RUNS runs each (paired), $(nproc) cores, $(date -u +%F)"
    echo "PostgreSQL $(psql "$PG" -Atc 'SHOW server_version'), MariaDB $(my -N -e 'SELECT version()')"
    echo
    echo "| case | median | / reference (median of pairs) | rows/s | peak RSS |"
    echo "|---|---|---|---|---|"
    if [[ $ONLY == all ]]; then
    row "PG -> PG --no-chunks" pg2pg_whole
    row "PG -> PG, chunks with progress rows" pg2pg pg2pg_whole
    row "PG -> MariaDB --no-chunks" pg2my_whole
    row "PG -> MariaDB, chunks with progress rows" pg2my pg2my_whole
    row "SQLite -> Parquet snapshot --no-chunks" sq2pq_whole
    row "SQLite -> Parquet snapshot, chunk files with records" sq2pq sq2pq_whole
    fi
    row "read floor: psql COPY binary > /dev/null" floor_read
    row "ferry verify PG <-> PG (both sides from one server)" verify floor_read
    row "ferry verify PG <-> Parquet" verify_pq floor_read
    row "ferry copy PG -> Parquet (one side read, and written)" pg2pq floor_read
} > "$DATA/durable-results.md"
echo
cat "$DATA/durable-results.md"
