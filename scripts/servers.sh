#!/usr/bin/env bash
# Install and start the database servers that ferry's integration tests use,
# and create the test users and databases. Idempotent: safe to run again while
# the servers are already up. Expects Debian 12 and root.
#
#   PostgreSQL: postgres://ferry:ferry@127.0.0.1:5432/ferry_test
#   MariaDB:    mysql://ferry:ferry@127.0.0.1:3306/ferry_test
#
# Set FERRY_SKIP_SERVERS=1 to do nothing (servers managed elsewhere).
set -euo pipefail

if [[ ${FERRY_SKIP_SERVERS:-0} == 1 ]]; then
    echo "==> FERRY_SKIP_SERVERS=1: not installing or starting servers"
    exit 0
fi

PACKAGES=(postgresql mariadb-server sqlite3)
WAIT_SECONDS=60

step() { printf '\n==> %s\n' "$*"; }
die() { echo "servers: error: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (installs packages and starts servers)"

# Wait up to WAIT_SECONDS for a command to succeed.
wait_for() {
    local what=$1; shift
    local i
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        if "$@" >/dev/null 2>&1; then
            echo "$what is ready"
            return 0
        fi
        sleep 1
    done
    return 1
}

# Run a command as the postgres OS user, from a directory it can read.
as_postgres() { (cd / && runuser -u postgres -- "$@"); }

# --- packages ------------------------------------------------------------------
step "Packages: ${PACKAGES[*]}"
missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y "${missing[@]}"
else
    echo "all installed"
fi

# --- PostgreSQL ----------------------------------------------------------------
PG_VERSION=$(ls /etc/postgresql | sort -V | tail -n 1)
[[ -n $PG_VERSION ]] || die "no PostgreSQL cluster found under /etc/postgresql"

step "PostgreSQL $PG_VERSION: start"
if pg_isready -q -h 127.0.0.1; then
    echo "already running"
else
    # Exits non-zero if the cluster is already running; readiness is checked below.
    pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main start || true
fi
wait_for "PostgreSQL" pg_isready -q -h 127.0.0.1 || {
    tail -n 30 "/var/log/postgresql/postgresql-$PG_VERSION-main.log" >&2 || true
    die "PostgreSQL did not become ready within ${WAIT_SECONDS}s"
}

step "PostgreSQL: role ferry, database ferry_test"
if [[ $(as_postgres psql -XtAc "SELECT 1 FROM pg_roles WHERE rolname = 'ferry'") == 1 ]]; then
    echo "role ferry exists"
else
    as_postgres psql -X -v ON_ERROR_STOP=1 -c "CREATE ROLE ferry LOGIN SUPERUSER PASSWORD 'ferry'"
fi
if [[ $(as_postgres psql -XtAc "SELECT 1 FROM pg_database WHERE datname = 'ferry_test'") == 1 ]]; then
    echo "database ferry_test exists"
else
    as_postgres psql -X -v ON_ERROR_STOP=1 -c "CREATE DATABASE ferry_test OWNER ferry"
fi

# --- MariaDB -------------------------------------------------------------------
step "MariaDB: start"
mkdir -p /run/mysqld /var/log/mysql
chown mysql:mysql /run/mysqld /var/log/mysql
if [[ ! -d /var/lib/mysql/mysql ]]; then
    echo "initialising data directory"
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
fi
# --oknodo: succeed without starting a second server if one is running.
start-stop-daemon --start --oknodo --background \
    --output /var/log/mysql/mariadbd.log \
    --exec /usr/sbin/mariadbd -- --user=mysql --local-infile=1
wait_for "MariaDB" mariadb -e 'SELECT 1' || {
    tail -n 30 /var/log/mysql/mariadbd.log >&2 || true
    die "MariaDB did not become ready within ${WAIT_SECONDS}s"
}

step "MariaDB: users ferry@127.0.0.1, ferry@localhost, database ferry_test"
mariadb <<'SQL'
CREATE USER IF NOT EXISTS 'ferry'@'127.0.0.1' IDENTIFIED BY 'ferry';
CREATE USER IF NOT EXISTS 'ferry'@'localhost' IDENTIFIED BY 'ferry';
GRANT ALL PRIVILEGES ON *.* TO 'ferry'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'ferry'@'localhost' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS ferry_test;
SQL
echo "done"

step "Servers ready"
