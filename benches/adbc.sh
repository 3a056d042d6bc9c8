#!/usr/bin/env bash
# ADBC: ferry's ADBC endpoint against ferry's own PostgreSQL paths, the physical floors and
# DuckDB itself on TPC-H lineitem SF1 (6,001,215 rows). All cases run in the same run,
# interleaved (each run does every case once, in the order below), and each ratio is the median
# of the per-run ratios to its route's floor.
#   Parquet -> PG      floor:  psql COPY (FORMAT binary) FROM STDIN < file     (the write floor)
#                      ferry through the ADBC PostgreSQL driver (adbc://postgresql, bulk ingest)
#                      ferry's own sink (COPY BINARY)
#                      DuckDB: CREATE TABLE pg.bench.t AS SELECT * FROM read_parquet(...)
#   PG -> DuckDB       floor:  psql COPY (FORMAT binary) TO STDOUT > /dev/null (the read floor)
#                      ferry's own PostgreSQL source into duckdb://FILE.duckdb
#                      ferry with the ADBC PostgreSQL driver as the source into duckdb://
#                      DuckDB: CREATE TABLE lineitem AS SELECT * FROM pg.bench.lineitem
# ferry writes duckdb:// through DuckDB's ADBC entry point (libduckdb.so from
# scripts/adbc-drivers.sh); each .duckdb file is removed before its run. DuckDB itself is the
# PyPI package duckdb 1.5.5 with its postgres extension from PyPI (duckdb-extension-postgres-
# scanner, loaded from the file, nothing fetched at run time), in a venv under bench-data/.
# Peak RSS from /usr/bin/time (for a pipe: its largest process). The source table is loaded once
# by ferry itself from the SQLite SF1 file (scripts/make-data.sh) as in benches/postgres.sh, the
# Parquet file is written from it by ferry, and the floor's target gets ferry's exact DDL.
#
# Usage: benches/adbc.sh   (PG URL from FERRY_BENCH_PG_URL, default the test server; drivers in
#                           FERRY_ADBC_DIR, default target/adbc-drivers; RUNS=3 by default,
#                           RUNS=1 for a quick run; data in bench-data/, results also in
#                           bench-data/adbc-results.md)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DATA=${BENCH_DATA:-$ROOT/bench-data}
RUNS=${RUNS:-3}
PG=${FERRY_BENCH_PG_URL:-postgres://ferry:ferry@127.0.0.1:5432/ferry_test}
# Target tables go to schema bench through the URL: a --target-table is one identifier.
case $PG in *\?*) PGB="$PG&schema=bench" ;; *) PGB="$PG?schema=bench" ;; esac
ADBC_DIR=${FERRY_ADBC_DIR:-$ROOT/target/adbc-drivers}
DUCKDB_VERSION=1.5.5
BENCH=adbc
mkdir -p "$DATA"
source benches/lib.sh
need /usr/bin/time time
need bc bc
need psql postgresql-client
cargo build --release --quiet
FERRY=$ROOT/target/release/ferry
bash scripts/adbc-drivers.sh "$ADBC_DIR"
export FERRY_ADBC_DRIVER_PATH=$ADBC_DIR
export FERRY_DUCKDB_DRIVER=$ADBC_DIR/libduckdb.so
ADBC_PG="adbc://postgresql?uri=$PG"
[[ -f $DATA/tpch-sf1.sqlite ]] || bash scripts/make-data.sh 1 "$DATA/tpch-sf1.sqlite"

# DuckDB itself, with its postgres extension, both from PyPI.
VENV=$DATA/venv-duckdb-pg
if [[ ! -x $VENV/bin/python ]] ||
    ! "$VENV/bin/python" -c 'import duckdb, duckdb_extension_postgres_scanner' 2>/dev/null; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "duckdb==$DUCKDB_VERSION" "duckdb-extension-postgres-scanner==$DUCKDB_VERSION"
fi
EXT=$("$VENV/bin/python" -c 'import duckdb_extension_postgres_scanner, pathlib; print(next(pathlib.Path(duckdb_extension_postgres_scanner.__file__).parent.rglob("*.duckdb_extension")))')
cat > "$DATA/adbc-duck.py" <<'PY'
import sys, duckdb
ext, mode, pg, src, dst = sys.argv[1:6]
def connect(path=":memory:", read_only=False):
    con = duckdb.connect(path, read_only=read_only)
    con.execute("SET enable_progress_bar = false")
    return con
if mode == "pg2duck":   # src: a PG table, dst: a new .duckdb file
    con = connect(dst)
    con.execute(f"LOAD '{ext}'")
    con.execute(f"ATTACH '{pg}' AS pg (TYPE postgres, READ_ONLY)")
    con.execute(f"CREATE TABLE lineitem AS SELECT * FROM pg.{src}")
elif mode == "pq2pg":   # src: a Parquet file, dst: a PG table, replaced
    con = connect()
    con.execute(f"LOAD '{ext}'")
    con.execute(f"ATTACH '{pg}' AS pg (TYPE postgres)")
    con.execute(f"DROP TABLE IF EXISTS pg.{dst}")
    con.execute(f"CREATE TABLE pg.{dst} AS SELECT * FROM read_parquet('{src}')")
elif mode == "count":   # src: a .duckdb file
    print(connect(src, read_only=True).execute("SELECT count(*) FROM lineitem").fetchone()[0])
PY

export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"   # no NOTICEs from IF [NOT] EXISTS
psql "$PG" -qc "CREATE SCHEMA IF NOT EXISTS bench"
if [[ $(psql "$PG" -Atc "SELECT count(*) FROM pg_tables WHERE schemaname = 'bench' AND tablename = 'lineitem'") == 0 ]]; then
    echo "loading bench.lineitem from $DATA/tpch-sf1.sqlite"
    "$FERRY" copy "$DATA/tpch-sf1.sqlite" "$PGB" --table lineitem --target-table lineitem -q
    psql "$PG" -qc "VACUUM ANALYZE bench.lineitem"
fi
ROWS=$(psql "$PG" -Atc "SELECT count(*) FROM bench.lineitem")
# The floor's target: the table ferry creates (its DDL from --dry-run), without a key.
psql "$PG" -qc "DROP TABLE IF EXISTS bench.adbc_floor_t"
FLOOR_DDL=$("$FERRY" copy "$PG" "$PGB" --table bench.lineitem --target-table adbc_floor_t --dry-run |
    sed -n '/CREATE TABLE/,/^  );/p' | sed 's/^  //')
[[ -n $FLOOR_DDL ]] || { echo "no CREATE TABLE in ferry's --dry-run output" >&2; exit 1; }
[[ -f $DATA/lineitem.pgcopy ]] || psql "$PG" -qc "COPY bench.lineitem TO STDOUT (FORMAT binary)" > "$DATA/lineitem.pgcopy"
PARQUET=$DATA/adbc-lineitem.parquet
[[ -f $PARQUET ]] ||
    "$FERRY" copy "$PG" "parquet://$PARQUET" --table bench.lineitem --target-table lineitem -q

# run NAME CMD...: wall seconds and peak RSS KiB of one run, appended to $DATA/adbc-NAME.runs
floor_write() {
    psql "$PG" -qc "DROP TABLE IF EXISTS bench.adbc_floor_t" -c "$FLOOR_DDL"
    psql "$PG" -qc "COPY bench.adbc_floor_t FROM STDIN (FORMAT binary)" < "$DATA/lineitem.pgcopy"
}
floor_read() { psql "$PG" -qc "COPY bench.lineitem TO STDOUT (FORMAT binary)" > /dev/null; }
export -f floor_write floor_read
export PG DATA FLOOR_DDL

DUCK=("$VENV/bin/python" "$DATA/adbc-duck.py" "$EXT")
rm -f "$DATA"/adbc-*.runs
for i in $(seq "$RUNS"); do
    echo "run $i of $RUNS: Parquet -> PG"
    run floor_write bash -c floor_write
    run adbc_pq2pg "$FERRY" copy "parquet://$PARQUET" "$ADBC_PG" --target-table bench.adbc_t --if-exists replace -q
    run ferry_pq2pg "$FERRY" copy "parquet://$PARQUET" "$PGB" --target-table adbc_copy_t --if-exists replace -q
    run duck_pq2pg "${DUCK[@]}" pq2pg "$PG" "$PARQUET" bench.adbc_duck_t
    echo "run $i of $RUNS: PG -> DuckDB"
    run floor_read bash -c floor_read
    rm -f "$DATA"/adbc-ferry.duckdb{,.wal}
    run ferry_pg2duck "$FERRY" copy "$PG" "duckdb://$DATA/adbc-ferry.duckdb" --table bench.lineitem --target-table lineitem -q
    rm -f "$DATA"/adbc-adbc.duckdb{,.wal}
    run adbc_pg2duck "$FERRY" copy "$ADBC_PG" "duckdb://$DATA/adbc-adbc.duckdb" --table bench.lineitem --target-table lineitem -q
    rm -f "$DATA"/adbc-duck.duckdb{,.wal}
    run duck_pg2duck "${DUCK[@]}" pg2duck "$PG" bench.lineitem "$DATA/adbc-duck.duckdb"
done

# Every target holds every row.
for t in bench.adbc_floor_t bench.adbc_t bench.adbc_copy_t bench.adbc_duck_t; do
    n=$(psql "$PG" -Atc "SELECT count(*) FROM $t")
    [[ $n == "$ROWS" ]] || { echo "$t has $n rows, not $ROWS" >&2; exit 1; }
done
for f in adbc-ferry adbc-adbc adbc-duck; do
    n=$("${DUCK[@]}" count "$PG" "$DATA/$f.duckdb" -)
    [[ $n == "$ROWS" ]] || { echo "$DATA/$f.duckdb has $n rows, not $ROWS" >&2; exit 1; }
done

{
    echo "lineitem SF1, $ROWS rows, $RUNS runs each (interleaved with the floor), $(nproc) cores, $(date -u +%F)"
    echo "ferry $("$FERRY" --version | cut -d' ' -f2), PostgreSQL $(psql "$PG" -Atc 'SHOW server_version'), ADBC drivers and libduckdb: $(cat "$ADBC_DIR/VERSIONS"), DuckDB (PyPI) $("$VENV/bin/python" -c 'import duckdb; print(duckdb.__version__)')"
    echo
    echo "| case | median | / floor (median of pairs) | rows/s | peak RSS |"
    echo "|---|---|---|---|---|"
    row "Parquet -> PG floor: psql COPY binary FROM STDIN < file" floor_write
    row "Parquet -> PG ferry, ADBC PostgreSQL driver (bulk ingest)" adbc_pq2pg floor_write
    row "Parquet -> PG ferry, own sink (COPY BINARY)" ferry_pq2pg floor_write
    row "Parquet -> PG DuckDB (postgres extension)" duck_pq2pg floor_write
    row "PG -> DuckDB floor: psql COPY binary TO STDOUT > /dev/null" floor_read
    row "PG -> DuckDB ferry, own source (COPY BINARY)" ferry_pg2duck floor_read
    row "PG -> DuckDB ferry, ADBC PostgreSQL driver as the source" adbc_pg2duck floor_read
    row "PG -> DuckDB DuckDB (postgres extension)" duck_pg2duck floor_read
} > "$DATA/adbc-results.md"
echo
cat "$DATA/adbc-results.md"
