#!/usr/bin/env bash
# Install and start the database servers that ferry's integration tests use,
# and create the test users and databases. Idempotent: safe to run again while
# the servers are already up. Expects Debian 12 and root.
#
#   PostgreSQL: postgres://ferry:ferry@127.0.0.1:5432/ferry_test
#   MariaDB:    mysql://ferry:ferry@127.0.0.1:3306/ferry_test
#
# Both servers also serve TLS with a certificate of a test CA (tests/it/tls.rs), while
# still accepting plain connections. In /var/lib/ferry-test-tls:
#
#   ca.pem        the test CA; the servers' certificate is signed by it
#   server.pem    the servers' certificate: CN and SAN DNS:localhost only, so a client
#                 verifying the host name accepts `localhost` and refuses `127.0.0.1`
#   other-ca.pem  an unrelated CA that signed nothing: a wrong ssl-ca / sslrootcert
#
# The user ferry_tls (password s3cret-tls) may connect over TLS only: MariaDB's
# ferry_tls@127.0.0.1 and ferry_tls@localhost are REQUIRE SSL (all privileges on the
# databases tls_*), PostgreSQL's role has hostssl lines and `hostnossl ... reject` in
# pg_hba.conf (and may create schemas in ferry_test).
#
# Set FERRY_SKIP_SERVERS=1 to do nothing (servers managed elsewhere).
set -euo pipefail

if [[ ${FERRY_SKIP_SERVERS:-0} == 1 ]]; then
    echo "==> FERRY_SKIP_SERVERS=1: not installing or starting servers"
    exit 0
fi

PACKAGES=(postgresql mariadb-server sqlite3 openssl)
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

TLS_DIR=/var/lib/ferry-test-tls
TLS_PASSWORD=s3cret-tls

# The SHA-256 fingerprint of the certificate a server presents after STARTTLS
# ($1: postgres or mysql, $2: port); empty when it offers no TLS.
served_fingerprint() {
    # s_client exits 0 even when a MySQL server refuses TLS: read the certificate it got.
    { timeout 10 openssl s_client -connect "127.0.0.1:$2" -starttls "$1" </dev/null 2>/dev/null || true; } |
        openssl x509 -noout -fingerprint -sha256 2>/dev/null || true
}

# Whether the server on port $2 presents the current test certificate.
serves_test_cert() {
    local served
    served=$(served_fingerprint "$1" "$2")
    [[ -n $served && $served == "$(openssl x509 -in "$TLS_DIR/server.pem" -noout -fingerprint -sha256)" ]]
}

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

# --- TLS: a test CA and the servers' certificate --------------------------------
step "TLS: test CA and server certificate in $TLS_DIR"
# Valid for at least 30 more days and signed by the CA next to them, or made anew.
tls_files_ok() {
    local f
    for f in ca.pem other-ca.pem server.pem server.key; do
        [[ -s $TLS_DIR/$f ]] || return 1
    done
    for f in ca.pem other-ca.pem server.pem; do
        openssl x509 -checkend $((30 * 86400)) -noout -in "$TLS_DIR/$f" >/dev/null || return 1
    done
    openssl verify -CAfile "$TLS_DIR/ca.pem" "$TLS_DIR/server.pem" >/dev/null 2>&1
}
if tls_files_ok; then
    echo "certificates exist"
else
    echo "generating the test CA and the server certificate"
    work=$(mktemp -d)
    (
        cd "$work"
        # CA keys are thrown away: nothing else is ever signed with them.
        for ca in ca other-ca; do
            openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=ferry test $ca" \
                -addext "basicConstraints=critical,CA:TRUE" \
                -addext "keyUsage=critical,keyCertSign,cRLSign" \
                -keyout "$ca.key" -out "$ca.pem" 2>/dev/null
        done
        openssl req -new -newkey rsa:2048 -nodes -subj "/CN=localhost" \
            -keyout server.key -out server.csr 2>/dev/null
        printf '%s\n' "subjectAltName=DNS:localhost" "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -days 3650 \
            -extfile server.ext -out server.pem 2>/dev/null
    )
    mkdir -p "$TLS_DIR"
    install -m 0644 "$work/ca.pem" "$work/other-ca.pem" "$work/server.pem" "$TLS_DIR/"
    install -m 0600 "$work/server.key" "$TLS_DIR/"
    rm -rf "$work"
    tls_files_ok || die "the generated certificates in $TLS_DIR do not verify"
fi
chmod 0755 "$TLS_DIR"
# Each server reads its own copy of the key: PostgreSQL wants it owned by itself, mode 0600.
install -o postgres -g postgres -m 0600 "$TLS_DIR/server.key" "$TLS_DIR/server-postgres.key"
install -o mysql -g mysql -m 0600 "$TLS_DIR/server.key" "$TLS_DIR/server-mysql.key"

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

step "PostgreSQL: TLS with the test certificate; role ferry_tls, TLS only"
if [[ $(as_postgres psql -XtAc "SELECT 1 FROM pg_roles WHERE rolname = 'ferry_tls'") == 1 ]]; then
    echo "role ferry_tls exists"
else
    as_postgres psql -X -v ON_ERROR_STOP=1 -c "CREATE ROLE ferry_tls LOGIN PASSWORD '$TLS_PASSWORD'"
fi
as_postgres psql -X -q -v ON_ERROR_STOP=1 -c "GRANT CREATE ON DATABASE ferry_test TO ferry_tls"
# ferry_tls's lines go first: pg_hba.conf's first matching line decides.
HBA=$(as_postgres psql -XtAc "SHOW hba_file")
HBA_BLOCK="# ferry-test-tls begin (scripts/servers.sh): ferry_tls connects over TLS only
hostssl   all  ferry_tls  127.0.0.1/32  scram-sha-256
hostssl   all  ferry_tls  ::1/128       scram-sha-256
hostnossl all  ferry_tls  127.0.0.1/32  reject
hostnossl all  ferry_tls  ::1/128       reject
# ferry-test-tls end"
hba_rest=$(sed '/^# ferry-test-tls begin/,/^# ferry-test-tls end/d' "$HBA")
reload=0
if [[ $(<"$HBA") != "$HBA_BLOCK"$'\n'"$hba_rest" ]]; then
    echo "adding ferry_tls's lines to $HBA"
    printf '%s\n%s\n' "$HBA_BLOCK" "$hba_rest" >"$HBA"
    reload=1
fi
if serves_test_cert postgres 5432; then
    echo "serving the test certificate"
else
    echo "switching to the test certificate"
    # ALTER SYSTEM wins over postgresql.conf and conf.d; ssl settings apply on reload.
    as_postgres psql -X -q -v ON_ERROR_STOP=1 \
        -c "ALTER SYSTEM SET ssl = on" \
        -c "ALTER SYSTEM SET ssl_cert_file = '$TLS_DIR/server.pem'" \
        -c "ALTER SYSTEM SET ssl_key_file = '$TLS_DIR/server-postgres.key'"
    reload=1
fi
if ((reload)); then
    as_postgres psql -XtAc "SELECT pg_reload_conf()" >/dev/null
fi
hba_errors=$(as_postgres psql -XtAc "SELECT line_number || ': ' || error FROM pg_hba_file_rules WHERE error IS NOT NULL")
[[ -z $hba_errors ]] || die "$HBA: $hba_errors"
wait_for "PostgreSQL TLS" serves_test_cert postgres 5432 || {
    tail -n 30 "/var/log/postgresql/postgresql-$PG_VERSION-main.log" >&2 || true
    die "PostgreSQL does not serve the test certificate from $TLS_DIR"
}

# --- MariaDB -------------------------------------------------------------------
step "MariaDB: start"
mkdir -p /run/mysqld /var/log/mysql
chown mysql:mysql /run/mysqld /var/log/mysql
if [[ ! -d /var/lib/mysql/mysql ]]; then
    echo "initialising data directory"
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
fi
start_mariadb() {
    # --oknodo: succeed without starting a second server if one is running.
    start-stop-daemon --start --oknodo --background \
        --output /var/log/mysql/mariadbd.log \
        --exec /usr/sbin/mariadbd -- --user=mysql --local-infile=1 \
        --ssl-ca="$TLS_DIR/ca.pem" --ssl-cert="$TLS_DIR/server.pem" \
        --ssl-key="$TLS_DIR/server-mysql.key"
    wait_for "MariaDB" mariadb -e 'SELECT 1' || {
        tail -n 30 /var/log/mysql/mariadbd.log >&2 || true
        die "MariaDB did not become ready within ${WAIT_SECONDS}s"
    }
}
start_mariadb
# A server started earlier without these options (or with an older certificate) keeps
# serving what it read at startup: restart it.
if serves_test_cert mysql 3306; then
    echo "serving the test certificate"
else
    echo "not serving the test certificate: restarting"
    mariadb-admin shutdown
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        start-stop-daemon --status --exec /usr/sbin/mariadbd || break
        sleep 1
    done
    ((i < WAIT_SECONDS)) || die "MariaDB did not stop within ${WAIT_SECONDS}s"
    start_mariadb
    serves_test_cert mysql 3306 || {
        tail -n 30 /var/log/mysql/mariadbd.log >&2 || true
        die "MariaDB does not serve the test certificate from $TLS_DIR"
    }
    echo "serving the test certificate"
fi

step "MariaDB: users ferry@127.0.0.1, ferry@localhost, database ferry_test"
mariadb <<'SQL'
CREATE USER IF NOT EXISTS 'ferry'@'127.0.0.1' IDENTIFIED BY 'ferry';
CREATE USER IF NOT EXISTS 'ferry'@'localhost' IDENTIFIED BY 'ferry';
GRANT ALL PRIVILEGES ON *.* TO 'ferry'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'ferry'@'localhost' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS ferry_test;
SQL

step "MariaDB: user ferry_tls, TLS only (REQUIRE SSL)"
for host in 127.0.0.1 localhost; do
    mariadb <<SQL
CREATE USER IF NOT EXISTS 'ferry_tls'@'$host' IDENTIFIED BY '$TLS_PASSWORD' REQUIRE SSL;
ALTER USER 'ferry_tls'@'$host' IDENTIFIED BY '$TLS_PASSWORD' REQUIRE SSL;
GRANT ALL PRIVILEGES ON \`tls\\_%\`.* TO 'ferry_tls'@'$host';
SQL
done
echo "done"

step "Servers ready"
