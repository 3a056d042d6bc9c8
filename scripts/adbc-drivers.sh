#!/usr/bin/env bash
# Installs the ADBC drivers the tests and benchmarks load, idempotently, into one directory
# (default: target/adbc-drivers), and prints nothing else but what it does:
#
#   DIR/libadbc_driver_sqlite.so       from the PyPI package adbc-driver-sqlite
#   DIR/libadbc_driver_postgresql.so   from the PyPI package adbc-driver-postgresql
#   DIR/libduckdb.so                   from the npm package @duckdb/node-bindings-linux-x64
#
# Use them with FERRY_ADBC_DRIVER_PATH=DIR (adbc://sqlite, adbc://postgresql find them there)
# and FERRY_DUCKDB_DRIVER=DIR/libduckdb.so (duckdb://FILE.duckdb).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
DIR=${1:-${FERRY_ADBC_DIR:-$PWD/target/adbc-drivers}}
ADBC_VERSION=1.13.0
DUCKDB_PACKAGE=@duckdb/node-bindings-linux-x64@1.5.6-r.1

mkdir -p "$DIR"
if [[ -f "$DIR/libadbc_driver_sqlite.so" && -f "$DIR/libadbc_driver_postgresql.so" \
      && -f "$DIR/libduckdb.so" && "$(cat "$DIR/VERSIONS" 2>/dev/null)" == "$ADBC_VERSION $DUCKDB_PACKAGE" ]]; then
    echo "==> ADBC drivers: already in $DIR"
    exit 0
fi

echo "==> ADBC drivers $ADBC_VERSION (PyPI) and $DUCKDB_PACKAGE (npm) into $DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --target "$work/py" \
    "adbc-driver-sqlite==$ADBC_VERSION" "adbc-driver-postgresql==$ADBC_VERSION"
cp "$work/py/adbc_driver_sqlite/libadbc_driver_sqlite.so" "$DIR/"
cp "$work/py/adbc_driver_postgresql/libadbc_driver_postgresql.so" "$DIR/"
(cd "$work" && npm pack --silent "$DUCKDB_PACKAGE" >/dev/null && tar xzf ./*.tgz package/libduckdb.so)
cp "$work/package/libduckdb.so" "$DIR/"
echo "$ADBC_VERSION $DUCKDB_PACKAGE" > "$DIR/VERSIONS"
ls -l "$DIR"
