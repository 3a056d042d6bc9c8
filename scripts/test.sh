#!/usr/bin/env bash
# ferry's whole test suite: start the database servers (scripts/servers.sh),
# then run cargo test. Extra arguments are passed to `cargo test`, e.g.
#
#   scripts/test.sh                     # everything
#   scripts/test.sh --test postgres     # one integration test file
#   FERRY_SKIP_SERVERS=1 scripts/test.sh   # servers already running elsewhere
#
# FERRY_TEST_PG_URL and FERRY_TEST_MYSQL_URL point the tests at the servers;
# they default to the users and databases created by scripts/servers.sh.
# FERRY_TEST_TLS_CA is the test CA that signed the servers' certificate
# (tests/it/tls.rs), by default the one scripts/servers.sh made.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/servers.sh
# tests/it/tpch.rs compares ferry's TPC-H source with tpchgen-cli's CSV output.
bash scripts/tpchgen-cli.sh
# tests/it/adbc.rs loads the ADBC SQLite and PostgreSQL drivers and DuckDB's library.
bash scripts/adbc-drivers.sh
export FERRY_ADBC_DRIVER_PATH=${FERRY_ADBC_DRIVER_PATH:-$PWD/target/adbc-drivers}

export FERRY_TEST_PG_URL=${FERRY_TEST_PG_URL:-postgres://ferry:ferry@127.0.0.1:5432/ferry_test}
export FERRY_TEST_MYSQL_URL=${FERRY_TEST_MYSQL_URL:-mysql://ferry:ferry@127.0.0.1:3306/ferry_test}
export FERRY_TEST_TLS_CA=${FERRY_TEST_TLS_CA:-/var/lib/ferry-test-tls/ca.pem}

printf '\n==> cargo test %s\n' "$*"
echo "FERRY_TEST_PG_URL=$FERRY_TEST_PG_URL"
echo "FERRY_TEST_MYSQL_URL=$FERRY_TEST_MYSQL_URL"
echo "FERRY_TEST_TLS_CA=$FERRY_TEST_TLS_CA"
exec cargo test "$@"
