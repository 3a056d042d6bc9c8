#!/usr/bin/env bash
# Flat memory: the same copies of TPC-H lineitem at SF0.1 (600,572 rows) and SF1 (6,001,215 rows),
# SQLite -> Parquet and Parquet -> SQLite, with ferry's peak RSS and rows/s for each; peak RSS
# must stay within 20% between the two sizes. DuckDB 1.5.5 (PyPI, with its sqlite_scanner
# extension) does the same copies in the same run for comparison.
#
# Usage: benches/flat_memory.sh            (data and a Python venv go to bench-data/, reused)
#        RUNS=3 benches/flat_memory.sh     (median of 3 runs; default 1)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DATA=${BENCH_DATA:-$ROOT/bench-data}
RUNS=${RUNS:-1}
mkdir -p "$DATA"

command -v /usr/bin/time >/dev/null || { apt-get update && apt-get install -y time; }
cargo build --release --quiet
FERRY=$ROOT/target/release/ferry

for sf in 0.1 1; do
    [[ -f $DATA/tpch-sf$sf.sqlite ]] || bash scripts/make-data.sh "$sf" "$DATA/tpch-sf$sf.sqlite"
done

VENV=$DATA/venv
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import duckdb, duckdb_extension_sqlite_scanner' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet duckdb==1.5.5 duckdb-extension-sqlite-scanner==1.5.5
fi
EXT=$("$VENV/bin/python" -c 'import duckdb_extension_sqlite_scanner, pathlib; print(next(pathlib.Path(duckdb_extension_sqlite_scanner.__file__).parent.rglob("*.duckdb_extension")))')

# measure NAME ROWS CMD...: prints "NAME wall_s peak_rss_MiB rows/s" (median wall of RUNS runs)
measure() {
    local name=$1 rows=$2; shift 2
    local walls=() rss=0 out
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -o "$DATA/time.out" -f '%e %M' "$@" >/dev/null 2>"$DATA/stderr.out" ||
            { cat "$DATA/stderr.out" >&2; echo "$name failed" >&2; exit 1; }
        out=$(tail -1 "$DATA/time.out")
        walls+=("${out% *}")
        local kb=${out#* }
        (( kb > rss )) && rss=$kb
    done
    local wall
    wall=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf '%-34s %8.2f s %8.0f MiB %12.0f rows/s\n' "$name" "$wall" "$(echo "$rss/1024" | bc -l)" "$(echo "$rows/$wall" | bc -l)"
}

cat > "$DATA/duck.py" <<'PY'
import sys, duckdb
ext, mode, src, dst = sys.argv[1:5]
con = duckdb.connect()
con.execute(f"LOAD '{ext}'")
if mode == "sqlite2pq":
    con.execute(f"ATTACH '{src}' AS s (TYPE sqlite, READ_ONLY)")
    con.execute(f"COPY (SELECT * FROM s.lineitem) TO '{dst}' (FORMAT parquet, COMPRESSION zstd)")
else:
    con.execute(f"ATTACH '{dst}' AS d (TYPE sqlite)")
    con.execute(f"CREATE TABLE d.lineitem AS SELECT * FROM read_parquet('{src}')")
PY

echo "ferry $("$FERRY" --version | cut -d' ' -f2), $(nproc) cores, runs: $RUNS"
for sf in 0.1 1; do
    rows=$(sqlite3 "$DATA/tpch-sf$sf.sqlite" 'select count(*) from lineitem')
    snap=$DATA/snap-sf$sf
    out=$DATA/out-sf$sf.sqlite
    rm -rf "$snap" "$out"
    measure "ferry sqlite->parquet SF$sf" "$rows" \
        "$FERRY" copy "sqlite://$DATA/tpch-sf$sf.sqlite" "parquet://$snap" --table lineitem --if-exists replace -q
    measure "ferry parquet->sqlite SF$sf" "$rows" \
        bash -c "rm -f '$out' && exec '$FERRY' copy 'parquet://$snap' 'sqlite://$out' -q"
    rm -f "$DATA/duck-sf$sf.parquet"
    measure "duckdb sqlite->parquet SF$sf" "$rows" \
        "$VENV/bin/python" "$DATA/duck.py" "$EXT" sqlite2pq "$DATA/tpch-sf$sf.sqlite" "$DATA/duck-sf$sf.parquet"
    measure "duckdb parquet->sqlite SF$sf" "$rows" \
        bash -c "rm -f '$DATA/duck-out-sf$sf.sqlite' && exec '$VENV/bin/python' '$DATA/duck.py' '$EXT' pq2sqlite '$DATA/duck-sf$sf.parquet' '$DATA/duck-out-sf$sf.sqlite'"
done
