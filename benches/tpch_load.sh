#!/usr/bin/env bash
# TPC-H benchmark loads: ferry's built-in generator (tpch://?sf=N, straight into the target)
# against tpchgen-cli 4.0.0 writing files that the target's own bulk path then loads, in the
# same run, with the wall time and peak RSS of each (GNU time: the largest process of the
# command; a database server's own memory is not counted, for either side).
#
#   PostgreSQL  ferry copy tpch:// postgres://...    vs  tpchgen-cli csv + psql \copy (COPY FROM STDIN)
#   MariaDB     ferry copy tpch:// mysql://...       vs  tpchgen-cli csv + LOAD DATA LOCAL INFILE
#   SQLite      ferry copy tpch:// sqlite://...      vs  tpchgen-cli csv + sqlite3 .import
#   Parquet     ferry copy tpch:// parquet://...     vs  tpchgen-cli parquet (zstd level 1, as ferry)
#   CSV         ferry copy tpch:// csv://...         vs  tpchgen-cli csv
#
# The floors create the tables of data/tpch-sqlite.sql (the specification's types, as ferry's
# tpch source declares them), without keys. The ferry parts into PostgreSQL and MariaDB run when
# a dry run of the target succeeds, and are otherwise reported as skipped.
#
# Usage: benches/tpch_load.sh                    SF 1, one run
#        SF=0.1 RUNS=3 benches/tpch_load.sh      median wall of 3 runs, largest peak RSS
#        PG_URL=... MYSQL_URL=... benches/tpch_load.sh
# Servers: scripts/servers.sh starts PostgreSQL and MariaDB with the user ferry/ferry; the
# script creates (and drops first) the database ferry_bench on each.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
SF=${SF:-1}
RUNS=${RUNS:-1}
DATA=${BENCH_DATA:-$ROOT/bench-data}/tpch-load
PG_URL=${PG_URL:-postgres://ferry:ferry@127.0.0.1:5432/ferry_bench}
MYSQL_URL=${MYSQL_URL:-mysql://ferry:ferry@127.0.0.1:3306/ferry_bench}
TABLES=(region nation part supplier partsupp customer orders lineitem)
export TABLES_LIST="${TABLES[*]}"
DDL=$ROOT/data/tpch-sqlite.sql
mkdir -p "$DATA"

command -v /usr/bin/time >/dev/null || { apt-get update && apt-get install -y time; }
bash scripts/tpchgen-cli.sh
hash -r
cargo build --release --quiet
FERRY=${CARGO_TARGET_DIR:-$ROOT/target}/release/ferry

# url_part URL FIELD: user, password, host, port or database of a postgres:// or mysql:// URL.
url_part() {
    python3 -c 'import sys, urllib.parse as u; p = u.urlparse(sys.argv[1]); print({"user": p.username, "password": p.password, "host": p.hostname, "port": p.port, "database": p.path.lstrip("/")}[sys.argv[2]])' "$1" "$2"
}
PG_DB=$(url_part "$PG_URL" database)
MY_DB=$(url_part "$MYSQL_URL" database)
psql_() { PGOPTIONS="-c client_min_messages=warning" PGPASSWORD=$(url_part "$PG_URL" password) psql -X -q -v ON_ERROR_STOP=1 -h "$(url_part "$PG_URL" host)" -p "$(url_part "$PG_URL" port)" -U "$(url_part "$PG_URL" user)" "$@"; }
mariadb_() { mariadb --local-infile=1 -h "$(url_part "$MYSQL_URL" host)" -P "$(url_part "$MYSQL_URL" port)" -u "$(url_part "$MYSQL_URL" user)" -p"$(url_part "$MYSQL_URL" password)" "$@"; }

pg_up() { psql_ -d postgres -c 'SELECT 1' >/dev/null 2>&1; }
my_up() { mariadb_ -e 'SELECT 1' >/dev/null 2>&1; }
pg_reset() { psql_ -d postgres -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB"; }
my_reset() { mariadb_ -e "DROP DATABASE IF EXISTS $MY_DB; CREATE DATABASE $MY_DB"; }

# ferry_accepts URL: whether this ferry build writes to URL (a dry run touches nothing).
ferry_accepts() { "$FERRY" copy 'tpch://?sf=0.01' "$1" --table region --if-exists replace --dry-run >/dev/null 2>&1; }

# measure NAME SETUP CMD: runs SETUP (untimed), then CMD under GNU time, RUNS times; prints
# "NAME wall_s peak_rss_MiB" with the median wall and the largest peak RSS.
RESULTS=$DATA/results.txt
: > "$RESULTS"
measure() {
    local name=$1 setup=$2 cmd=$3 walls=() rss=0 out
    for _ in $(seq "$RUNS"); do
        bash -c "$setup" >/dev/null
        /usr/bin/time -o "$DATA/time.out" -f '%e %M' bash -c "$cmd" >/dev/null 2>"$DATA/stderr.out" ||
            { cat "$DATA/stderr.out" >&2; echo "$name failed" >&2; exit 1; }
        out=$(tail -1 "$DATA/time.out")
        walls+=("${out% *}")
        local kb=${out#* }
        (( kb > rss )) && rss=$kb
    done
    local wall
    wall=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf '%-48s %8.2f s %8.0f MiB\n' "$name" "$wall" "$(echo "$rss/1024" | bc -l)" | tee -a "$RESULTS"
}
skip() { printf '%-48s %s\n' "$1" "skipped: $2" | tee -a "$RESULTS"; }

# count_check NAME ROWS...: the loaded row counts, in TABLES order, must be the generator's.
EXPECTED=$("$FERRY" inspect "tpch://?sf=$SF" --json | python3 -c 'import json, sys; print(" ".join(str(t["rows"]) for t in json.load(sys.stdin)))')
count_check() {
    local name=$1; shift
    [[ "$*" == "$EXPECTED" ]] || { echo "$name: loaded row counts '$*' differ from '$EXPECTED'" >&2; exit 1; }
}

CSV=$DATA/csv

# The floors: tpchgen-cli's CSV files, then the target's own bulk load, table by table.
tables() { read -ra TABLES <<< "$TABLES_LIST"; }
gen_csv() { tables; rm -rf "$CSV" && tpchgen-cli csv --scale-factor "$SF" --output-dir "$CSV" --quiet; }
floor_sqlite() {
    gen_csv
    { echo '.bail on'; echo ".read '$DDL'"
      for t in "${TABLES[@]}"; do echo ".import --csv --skip 1 '$CSV/$t.csv' $t"; done
    } | sqlite3 "$DATA/floor.sqlite"
}
floor_pg() {
    gen_csv
    for t in "${TABLES[@]}"; do
        psql_ -d "$PG_DB" -c "\\copy $t FROM '$CSV/$t.csv' WITH (FORMAT csv, HEADER true)"
    done
}
floor_my() {
    gen_csv
    for t in "${TABLES[@]}"; do
        mariadb_ "$MY_DB" -e "LOAD DATA LOCAL INFILE '$CSV/$t.csv' INTO TABLE $t FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\n' IGNORE 1 LINES"
    done
}
export DATA SF DDL FERRY PG_URL MYSQL_URL PG_DB MY_DB CSV
export -f tables psql_ mariadb_ url_part pg_reset my_reset gen_csv floor_sqlite floor_pg floor_my

echo "ferry $("$FERRY" --version | cut -d' ' -f2), $(tpchgen-cli --version), TPC-H SF$SF, $(nproc) cores, runs: $RUNS"

# --- files -------------------------------------------------------------------------------
measure "tpchgen-cli -> CSV" "" gen_csv
measure "ferry tpch:// -> CSV snapshot" "rm -rf '$DATA/ferry-csv'" \
    "'$FERRY' copy 'tpch://?sf=$SF' 'csv://$DATA/ferry-csv' -q"
measure "tpchgen-cli -> Parquet (zstd 1)" "rm -rf '$DATA/cli-parquet'" \
    "tpchgen-cli parquet --compression 'ZSTD(1)' --scale-factor $SF --output-dir '$DATA/cli-parquet' --quiet"
measure "ferry tpch:// -> Parquet snapshot (zstd 1)" "rm -rf '$DATA/ferry-parquet'" \
    "'$FERRY' copy 'tpch://?sf=$SF' 'parquet://$DATA/ferry-parquet' -q"

# --- SQLite ------------------------------------------------------------------------------
measure "tpchgen-cli -> CSV + sqlite3 .import" "rm -f '$DATA/floor.sqlite'" floor_sqlite
count_check "sqlite3 .import" $(for t in "${TABLES[@]}"; do sqlite3 "$DATA/floor.sqlite" "SELECT count(*) FROM $t"; done)
measure "ferry tpch:// -> SQLite" "rm -f '$DATA/ferry.sqlite'" \
    "'$FERRY' copy 'tpch://?sf=$SF' 'sqlite://$DATA/ferry.sqlite' -q"
count_check "ferry -> SQLite" $(for t in "${TABLES[@]}"; do sqlite3 "$DATA/ferry.sqlite" "SELECT count(*) FROM $t"; done)
measure "ferry tpch:// -> SQLite --with-keys" "rm -f '$DATA/ferry.sqlite'" \
    "'$FERRY' copy 'tpch://?sf=$SF' 'sqlite://$DATA/ferry.sqlite' -q --with-keys"

# --- PostgreSQL --------------------------------------------------------------------------
if pg_up; then
    measure "tpchgen-cli -> CSV + psql \\copy" "pg_reset && psql_ -d $PG_DB -f '$DDL'" floor_pg
    count_check "psql \\copy" $(for t in "${TABLES[@]}"; do psql_ -d "$PG_DB" -Atc "SELECT count(*) FROM $t"; done)
    if ferry_accepts "$PG_URL"; then
        measure "ferry tpch:// -> PostgreSQL" pg_reset \
            "'$FERRY' copy 'tpch://?sf=$SF' '$PG_URL' -q"
        count_check "ferry -> PostgreSQL" $(for t in "${TABLES[@]}"; do psql_ -d "$PG_DB" -Atc "SELECT count(*) FROM $t"; done)
        measure "ferry tpch:// -> PostgreSQL --with-keys" pg_reset \
            "'$FERRY' copy 'tpch://?sf=$SF' '$PG_URL' -q --with-keys"
    else
        skip "ferry tpch:// -> PostgreSQL" "this ferry build has no postgres:// target yet"
    fi
else
    skip "PostgreSQL" "no server at $(url_part "$PG_URL" host):$(url_part "$PG_URL" port) (scripts/servers.sh starts one)"
fi

# --- MariaDB -----------------------------------------------------------------------------
if my_up; then
    measure "tpchgen-cli -> CSV + LOAD DATA LOCAL INFILE" "my_reset && mariadb_ $MY_DB < '$DDL'" floor_my
    count_check "LOAD DATA" $(for t in "${TABLES[@]}"; do mariadb_ -N "$MY_DB" -e "SELECT count(*) FROM $t"; done)
    if ferry_accepts "$MYSQL_URL"; then
        measure "ferry tpch:// -> MariaDB" my_reset \
            "'$FERRY' copy 'tpch://?sf=$SF' '$MYSQL_URL' -q"
        count_check "ferry -> MariaDB" $(for t in "${TABLES[@]}"; do mariadb_ -N "$MY_DB" -e "SELECT count(*) FROM $t"; done)
        measure "ferry tpch:// -> MariaDB --with-keys" my_reset \
            "'$FERRY' copy 'tpch://?sf=$SF' '$MYSQL_URL' -q --with-keys"
    else
        skip "ferry tpch:// -> MariaDB" "this ferry build has no mysql:// target yet"
    fi
else
    skip "MariaDB" "no server at $(url_part "$MYSQL_URL" host):$(url_part "$MYSQL_URL" port) (scripts/servers.sh starts one)"
fi

echo "results: $RESULTS"
