#!/usr/bin/env bash
# Build a TPC-H SQLite database for ferry's tests and benchmarks.
#
# Usage: scripts/make-data.sh [SCALE_FACTOR] [OUTPUT]
#   SCALE_FACTOR  TPC-H scale factor (default 0.01)
#   OUTPUT        SQLite file to (re)create (default data/tpch.sqlite)
#
# Data comes from tpchgen-cli (PyPI, pinned below) as CSV; the schema is
# data/tpch-sqlite.sql. The output is deterministic: the same scale factor
# and tool versions give a byte-identical file on every run.
set -euo pipefail

TPCHGEN_VERSION=4.0.0   # as in scripts/tpchgen-cli.sh, which installs it
TABLES=(region nation part supplier partsupp customer orders lineitem)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SF=${1:-0.01}
OUT=${2:-$ROOT/data/tpch.sqlite}
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
DDL=$ROOT/data/tpch-sqlite.sql

die() { echo "make-data: error: $*" >&2; exit 1; }

[[ $SF =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "scale factor must be a positive number, got '$SF'"
[[ -f $DDL ]] || die "schema file $DDL not found"

# --- tools -------------------------------------------------------------------
if ! command -v sqlite3 >/dev/null 2>&1; then
    echo "==> installing sqlite3 (apt)"
    [[ $(id -u) -eq 0 ]] || die "sqlite3 is missing; install it with: apt-get install -y sqlite3"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y sqlite3
fi

bash "$ROOT/scripts/tpchgen-cli.sh"
hash -r
[[ $(tpchgen-cli --version) == "tpchgen-cli $TPCHGEN_VERSION" ]] ||
    die "tpchgen-cli $TPCHGEN_VERSION not found on PATH"

# --- generate ----------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferry-tpch.XXXXXX")
trap 'rm -rf "$WORK"; rm -f "$OUT.tmp"' EXIT

echo "==> generating TPC-H SF$SF CSV with $(tpchgen-cli --version)"
tpchgen-cli csv --scale-factor "$SF" --output-dir "$WORK" --quiet

# --- load --------------------------------------------------------------------
echo "==> loading into $OUT"
mkdir -p "$(dirname "$OUT")"
rm -f "$OUT" "$OUT.tmp"
{
    echo ".bail on"
    echo ".read '$DDL'"
    for t in "${TABLES[@]}"; do
        # The CSV files start with a header line; the tables already exist,
        # so skip it and let the declared column types apply.
        echo ".import --csv --skip 1 '$WORK/$t.csv' $t"
    done
} | sqlite3 -bail "$OUT.tmp"

# --- verify ------------------------------------------------------------------
echo "==> row counts"
status=0
for t in "${TABLES[@]}"; do
    expected=$(($(wc -l < "$WORK/$t.csv") - 1))
    actual=$(sqlite3 "$OUT.tmp" "SELECT count(*) FROM $t")
    printf '  %-9s %10s\n' "$t" "$actual"
    if [[ $actual -eq 0 ]]; then
        echo "make-data: error: table $t is empty" >&2; status=1
    elif [[ $actual -ne $expected ]]; then
        echo "make-data: error: table $t has $actual rows, CSV has $expected" >&2; status=1
    fi
done
[[ $status -eq 0 ]] || die "row count check failed"

sqlite3 -bail "$OUT.tmp" "VACUUM"
mv "$OUT.tmp" "$OUT"
echo "==> wrote $OUT ($(du -h "$OUT" | cut -f1))"
