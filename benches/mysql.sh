#!/usr/bin/env bash
# MySQL/MariaDB: ferry against the pipe floors (and pgloader) on TPC-H lineitem SF1
# (6,001,215 rows). Each ferry (or pgloader) run is paired with its route's floor in the same
# run (A B A B ...), and its ratio is the median of the per-pair ratios.
#   MariaDB -> PG  vs  mariadb --quick --batch -N -e 'SELECT * FROM lineitem' | psql COPY FROM STDIN
#                  and pgloader (its defaults: 4 workers, COPY text) into a schema of its own
#   PG -> MariaDB  vs  psql COPY TO STDOUT | mariadb LOAD DATA LOCAL INFILE '/dev/stdin'
# Both floors use the text formats (exact for lineitem: no NULLs, tabs or backslashes), and
# their targets get ferry's own DDL (from --dry-run), created inside the timed run as ferry
# creates its own. Peak RSS from /usr/bin/time (for a pipe: its largest process). The MariaDB
# table is loaded once by ferry itself from the SQLite SF1 file (scripts/make-data.sh), the
# PostgreSQL one as in benches/postgres.sh.
#
# Usage: benches/mysql.sh   (MariaDB URL from FERRY_BENCH_MYSQL_URL, default the test server,
#                            whose database part is replaced by ferry_bench; PG URL from
#                            FERRY_BENCH_PG_URL; RUNS=3 by default, RUNS=1 for a quick run;
#                            data in bench-data/, results also in bench-data/mysql-results.md)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DATA=${BENCH_DATA:-$ROOT/bench-data}
RUNS=${RUNS:-3}
PG=${FERRY_BENCH_PG_URL:-postgres://ferry:ferry@127.0.0.1:5432/ferry_test}
# Target tables go to schema bench through the URL: a --target-table is one identifier.
case $PG in *\?*) PGB="$PG&schema=bench" ;; *) PGB="$PG?schema=bench" ;; esac
MYURL=${FERRY_BENCH_MYSQL_URL:-mysql://ferry:ferry@127.0.0.1:3306/ferry_test}
MYDB=ferry_bench
BENCH=my
mkdir -p "$DATA"
source benches/lib.sh
need /usr/bin/time time
need bc bc
need mariadb mariadb-client
need psql postgresql-client
need pgloader pgloader
cargo build --release --quiet
FERRY=$ROOT/target/release/ferry
[[ -f $DATA/tpch-sf1.sqlite ]] || bash scripts/make-data.sh 1 "$DATA/tpch-sf1.sqlite"

# The benchmark's MariaDB database: the URL's, with its database part replaced by ferry_bench.
MY=$(sed -E "s#^([a-z]+://[^/?]*)(/[^?]*)?#\1/$MYDB#" <<<"$MYURL")
# The mariadb client's connection from the same URL (password through MYSQL_PWD).
[[ $MY =~ ^[a-z]+://(([^:@/]*)(:([^@/]*))?@)?([^:/?]*)(:([0-9]+))? ]] ||
    { echo "cannot read $MYURL" >&2; exit 2; }
MYUSER=${BASH_REMATCH[2]:-root} MYHOST=${BASH_REMATCH[5]:-127.0.0.1} MYPORT=${BASH_REMATCH[7]:-3306}
export MYSQL_PWD=${BASH_REMATCH[4]:-${MYSQL_PWD:-}}
my() { mariadb -h "$MYHOST" -P "$MYPORT" -u "$MYUSER" "$@"; }
my -e "CREATE DATABASE IF NOT EXISTS $MYDB"

export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"   # no NOTICEs from IF [NOT] EXISTS
psql "$PG" -qc "CREATE SCHEMA IF NOT EXISTS bench"
if [[ $(psql "$PG" -Atc "SELECT count(*) FROM pg_tables WHERE schemaname = 'bench' AND tablename = 'lineitem'") == 0 ]]; then
    echo "loading bench.lineitem from $DATA/tpch-sf1.sqlite"
    "$FERRY" copy "$DATA/tpch-sf1.sqlite" "$PGB" --table lineitem --target-table lineitem -q
    psql "$PG" -qc "VACUUM ANALYZE bench.lineitem"
fi
if [[ $(my -N "$MYDB" -e "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$MYDB' AND TABLE_NAME = 'lineitem'") == 0 ]]; then
    echo "loading $MYDB.lineitem from $DATA/tpch-sf1.sqlite"
    "$FERRY" copy "$DATA/tpch-sf1.sqlite" "$MY" --table lineitem -q
    my "$MYDB" -e "ANALYZE TABLE lineitem" >/dev/null
fi
ROWS=$(psql "$PG" -Atc "SELECT count(*) FROM bench.lineitem")
MYROWS=$(my -N "$MYDB" -e "SELECT count(*) FROM lineitem")
[[ $ROWS == "$MYROWS" ]] || { echo "bench.lineitem has $ROWS rows, $MYDB.lineitem $MYROWS" >&2; exit 1; }

# The floors' targets: the tables ferry creates (their DDL from --dry-run).
psql "$PG" -qc "DROP TABLE IF EXISTS bench.floor_t"
my "$MYDB" -e "DROP TABLE IF EXISTS floor_t"
PG_DDL=$("$FERRY" copy "$MY" "$PGB" --table lineitem --target-table floor_t --dry-run |
    sed -n '/CREATE TABLE/,/^  );/p' | sed 's/^  //')
MY_DDL=$("$FERRY" copy "$PG" "$MY" --table bench.lineitem --target-table floor_t --dry-run |
    sed -n '/CREATE TABLE/,/^  ) DEFAULT CHARACTER SET/p' | sed 's/^  //; s/;$//')
[[ -n $PG_DDL && -n $MY_DDL ]] || { echo "no CREATE TABLE in ferry's --dry-run output" >&2; exit 1; }

# pgloader: lineitem only, into the schema bench_pgloader of the PG database (pgloader names the
# target schema after the MySQL database unless renamed; it reads postgresql:// URLs).
PGL_PG=$(sed -E 's#^postgres(ql)?://#postgresql://#' <<<"$PG")
PGL_MY=$(sed -E 's#^[a-z]+://#mysql://#; s#[?].*##' <<<"$MY")
cat > "$DATA/my-pgloader.load" <<EOF
LOAD DATABASE
     FROM $PGL_MY
     INTO $PGL_PG

 WITH include drop, create tables, create no indexes, no foreign keys, reset no sequences

 ALTER SCHEMA '$MYDB' RENAME TO 'bench_pgloader'

 INCLUDING ONLY TABLE NAMES MATCHING 'lineitem';
EOF
psql "$PG" -qc "CREATE SCHEMA IF NOT EXISTS bench_pgloader"

# run NAME CMD...: wall seconds and peak RSS KiB of one run, appended to $DATA/my-NAME.runs
floor_my2pg() {
    set -o pipefail
    psql "$PG" -qc "DROP TABLE IF EXISTS bench.floor_t" -c "$PG_DDL"
    my --quick --batch -N -e 'SELECT * FROM lineitem' "$MYDB" |
        psql "$PG" -qc "COPY bench.floor_t FROM STDIN (FORMAT text)"
}
pgloader_my2pg() {
    psql "$PG" -qc "DROP TABLE IF EXISTS bench_pgloader.lineitem"
    pgloader --no-ssl-cert-verification "$DATA/my-pgloader.load"
}
floor_pg2my() {
    set -o pipefail
    my "$MYDB" -e "DROP TABLE IF EXISTS floor_t; $MY_DDL"
    psql "$PG" -qc "COPY bench.lineitem TO STDOUT (FORMAT text)" |
        my --local-infile=1 "$MYDB" -e "LOAD DATA LOCAL INFILE '/dev/stdin' INTO TABLE floor_t"
}
export -f floor_my2pg pgloader_my2pg floor_pg2my my
export PG MY MYDB MYHOST MYPORT MYUSER PG_DDL MY_DDL DATA

rm -f "$DATA"/my-*.runs
for i in $(seq "$RUNS"); do
    echo "run $i of $RUNS: MariaDB -> PG"
    run floor_my2pg bash -c floor_my2pg
    run ferry_my2pg "$FERRY" copy "$MY" "$PGB" --table lineitem --target-table my_lineitem --if-exists replace -q
    run pgloader_my2pg bash -c pgloader_my2pg
    echo "run $i of $RUNS: PG -> MariaDB"
    run floor_pg2my bash -c floor_pg2my
    run ferry_pg2my "$FERRY" copy "$PG" "$MY" --table bench.lineitem --target-table my_lineitem_copy --if-exists replace -q
done

# Every target holds every row (pgloader can log an error and still exit 0).
for t in bench.floor_t bench.my_lineitem bench_pgloader.lineitem; do
    n=$(psql "$PG" -Atc "SELECT count(*) FROM $t")
    [[ $n == "$ROWS" ]] || { echo "$t has $n rows, not $ROWS" >&2; exit 1; }
done
for t in floor_t my_lineitem_copy; do
    n=$(my -N "$MYDB" -e "SELECT count(*) FROM $t")
    [[ $n == "$ROWS" ]] || { echo "$MYDB.$t has $n rows, not $ROWS" >&2; exit 1; }
done

{
    echo "lineitem SF1, $ROWS rows, $RUNS runs each (paired with the floor), $(nproc) cores, $(date -u +%F)"
    echo "MariaDB $(my -N -e 'SELECT version()'), PostgreSQL $(psql "$PG" -Atc 'SHOW server_version'), $(pgloader --version | sed -n 1p)"
    echo
    echo "| case | median | / floor (median of pairs) | rows/s | peak RSS |"
    echo "|---|---|---|---|---|"
    row "MariaDB -> PG floor: mariadb --batch \| psql COPY text" floor_my2pg
    row "MariaDB -> PG ferry" ferry_my2pg floor_my2pg
    row "MariaDB -> PG pgloader" pgloader_my2pg floor_my2pg
    row "PG -> MariaDB floor: psql COPY text \| LOAD DATA LOCAL" floor_pg2my
    row "PG -> MariaDB ferry" ferry_pg2my floor_pg2my
} > "$DATA/mysql-results.md"
echo
cat "$DATA/mysql-results.md"
