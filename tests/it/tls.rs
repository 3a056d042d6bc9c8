//! TLS against real servers: scripts/servers.sh makes a test CA and has MariaDB and PostgreSQL
//! serve a certificate it signed (for `localhost` only), and creates the user `ferry_tls`, whom
//! both servers admit over TLS only. Each TLS mode copies a small table (NULLs, unicode) from
//! SQLite to the server and back as `ferry_tls`, compared cell by cell, so every success is
//! also a TLS session; `DISABLED` / `disable` are refused for the same user. A wrong CA and a
//! host name the certificate does not name fail with the URL (no password) and the reason.

use std::path::{Path, PathBuf};

use mysql::prelude::Queryable;
use rusqlite::Connection;
use tempfile::TempDir;

use crate::support::{dump, ferry, server_url, sqlite_url, stderr_of};

const MYSQL_DEFAULT_URL: &str = "mysql://ferry:ferry@127.0.0.1:3306/ferry_test";
const PG_DEFAULT_URL: &str = "postgres://ferry:ferry@127.0.0.1:5432/ferry_test";
/// The test CA of scripts/servers.sh; `other-ca.pem` beside it signed nothing the servers use.
const DEFAULT_CA: &str = "/var/lib/ferry-test-tls/ca.pem";
/// The user the servers admit over TLS only, and its password (scripts/servers.sh).
const TLS_USER: &str = "ferry_tls";
const TLS_PASSWORD: &str = "s3cret-tls";

/// The test CA and the unrelated one beside it, or `None` (with a notice) when the servers'
/// TLS was not set up; with `CI` set, that is a failure.
fn cas() -> Option<(PathBuf, PathBuf)> {
    let ca = PathBuf::from(
        std::env::var("FERRY_TEST_TLS_CA").unwrap_or_else(|_| DEFAULT_CA.to_string()),
    );
    let other = ca.with_file_name("other-ca.pem");
    if ca.exists() && other.exists() {
        return Some((ca, other));
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "FERRY_TEST_TLS_CA: no test CA at {}, and CI is set",
            ca.display()
        );
    }
    eprintln!(
        "skipping: no test CA at {} (FERRY_TEST_TLS_CA; scripts/servers.sh makes it)",
        ca.display()
    );
    None
}

/// `base` (a test server's URL) as `ferry_tls` at `host`, in database `db`, with `query`.
fn tls_url(base: &str, host: &str, db: &str, query: &str) -> String {
    let mut u = url::Url::parse(base).unwrap();
    u.set_username(TLS_USER).unwrap();
    u.set_password(Some(TLS_PASSWORD)).unwrap();
    u.set_host(Some(host)).unwrap();
    u.set_path(&format!("/{db}"));
    u.set_query((!query.is_empty()).then_some(query));
    u.to_string()
}

/// A small SQLite table, `tls_sample`, with NULLs, unicode and a tab.
fn sample(dir: &Path) -> PathBuf {
    let path = dir.join("sample.sqlite");
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TABLE tls_sample (id INTEGER PRIMARY KEY, name TEXT, score REAL, note TEXT);
             INSERT INTO tls_sample VALUES
               (1, 'plain', 1.5, NULL),
               (2, 'Ünïcödé 😀', NULL, 'tab' || char(9) || 'here'),
               (3, NULL, -0.25, 'café')",
        )
        .unwrap();
    path
}

/// Copies `tls_sample` from `src` to `url` as `target`, then back into a new SQLite file, and
/// asserts every cell came back as it left.
fn round_trip(dir: &Path, src: &Path, url: &str, target: &str) {
    let back = dir.join(format!("{}.sqlite", target.replace('.', "_")));
    let to = sqlite_url(&back);
    for (from, to, table, target) in [
        (sqlite_url(src).as_str(), url, "tls_sample", target),
        (url, to.as_str(), target, "tls_sample"),
    ] {
        ferry()
            .args(["copy", from, to, "--table", table, "--target-table", target])
            .args(["--jobs", "1", "-q"])
            .assert()
            .success();
    }
    assert_eq!(
        dump(&back, "tls_sample"),
        dump(src, "tls_sample"),
        "{target} through {url}"
    );
}

/// Runs `ferry inspect URL`, expecting exit code `code` and the one error line
/// `ferry: error: SHOWN: REASON`; the password must not appear.
fn assert_refused(url: &str, code: i32, shown: &str, reason: &str) {
    let e = stderr_of(&["inspect", url], code);
    assert_eq!(e.trim_end(), format!("ferry: error: {shown}: {reason}"));
    assert!(!e.contains(TLS_PASSWORD), "{e}");
}

// --- MariaDB -------------------------------------------------------------------------------

/// The test server's URL, with database `db` made fresh for one test.
fn mariadb(db: &str) -> Option<String> {
    let base = server_url("FERRY_TEST_MYSQL_URL", MYSQL_DEFAULT_URL)?;
    let mut admin = mysql::Conn::new(base.as_str()).expect("connect to the test server");
    admin
        .query_drop(format!("DROP DATABASE IF EXISTS `{db}`"))
        .unwrap();
    admin
        .query_drop(format!("CREATE DATABASE `{db}` CHARACTER SET utf8mb4"))
        .unwrap();
    Some(base)
}

#[test]
fn tls_mariadb_every_mode_copies_every_cell() {
    let Some((ca, _)) = cas() else { return };
    let Some(base) = mariadb("tls_mariadb_modes") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let src = sample(dir.path());
    let ca = ca.display();
    for (target, host, query) in [
        // The default: TLS when the server offers it.
        ("preferred", "127.0.0.1", String::new()),
        ("required", "127.0.0.1", "ssl-mode=REQUIRED".to_string()),
        // VERIFY_CA checks the chain only: the certificate does not name 127.0.0.1.
        (
            "verify_ca",
            "127.0.0.1",
            format!("ssl-mode=VERIFY_CA&ssl-ca={ca}"),
        ),
        (
            "verify_identity",
            "localhost",
            format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
        ),
    ] {
        let url = tls_url(&base, host, "tls_mariadb_modes", &query);
        round_trip(dir.path(), &src, &url, target);
    }
}

#[test]
fn tls_mariadb_refuses_a_wrong_ca_a_wrong_host_and_plain_tcp() {
    let Some((ca, other)) = cas() else { return };
    let Some(base) = mariadb("tls_mariadb_refusals") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let url = |host: &str, query: String| tls_url(&base, host, "tls_mariadb_refusals", &query);
    let port = url::Url::parse(&base).unwrap().port().unwrap_or(3306);
    let shown = format!("mysql://{TLS_USER}@127.0.0.1:{port}/tls_mariadb_refusals");
    let (ca, other) = (ca.display(), other.display());

    // The server's chain ends in the test CA, which the other CA does not vouch for.
    assert_refused(
        &url("127.0.0.1", format!("ssl-mode=VERIFY_CA&ssl-ca={other}")),
        7,
        &shown,
        &format!(
            "cannot connect: TLS handshake failed: certificate verify failed: self-signed \
             certificate in certificate chain (ssl-mode=VERIFY_CA, ssl-ca={other})"
        ),
    );
    // The certificate names localhost only.
    assert_refused(
        &url("127.0.0.1", format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}")),
        7,
        &shown,
        &format!(
            "cannot connect: TLS handshake failed: certificate verify failed: IP address \
             mismatch (ssl-mode=VERIFY_IDENTITY, ssl-ca={ca})"
        ),
    );
    // An ssl-ca file without a certificate is named before any connection is tried.
    let not_a_cert = dir.path().join("not-a-cert.pem");
    std::fs::write(&not_a_cert, "no certificate here\n").unwrap();
    let not_a_cert = not_a_cert.display();
    assert_refused(
        &url(
            "127.0.0.1",
            format!("ssl-mode=VERIFY_CA&ssl-ca={not_a_cert}"),
        ),
        2,
        &shown,
        &format!("the ssl-ca file {not_a_cert} holds no PEM or DER certificate"),
    );
    // ferry_tls is REQUIRE SSL: the server turns a plain session away.
    assert_refused(
        &url("127.0.0.1", "ssl-mode=DISABLED".into()),
        8,
        &shown,
        "cannot connect: Access denied for user 'ferry_tls'@'localhost' (using password: YES) \
         (error 1045, SQLSTATE 28000)",
    );
}

// --- PostgreSQL ----------------------------------------------------------------------------

/// The test server's URL, with schema `schema` of its database made fresh for `ferry_tls`.
fn pg(schema: &str) -> Option<String> {
    let base = server_url("FERRY_TEST_PG_URL", PG_DEFAULT_URL)?;
    let mut admin =
        postgres::Client::connect(&base, postgres::NoTls).expect("connect to the test server");
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema} AUTHORIZATION {TLS_USER}"
        ))
        .unwrap();
    Some(base)
}

/// The database of a PostgreSQL URL.
fn pg_db(base: &str) -> String {
    url::Url::parse(base).unwrap().path()[1..].to_string()
}

#[test]
fn tls_postgres_every_mode_copies_every_cell() {
    let Some((ca, _)) = cas() else { return };
    let Some(base) = pg("tls_pg_modes") else {
        return;
    };
    let db = pg_db(&base);
    let dir = TempDir::new().unwrap();
    let src = sample(dir.path());
    let ca = ca.display();
    for (target, host, query) in [
        // The default: TLS when the server offers it.
        ("prefer", "127.0.0.1", String::new()),
        ("require", "127.0.0.1", "sslmode=require".to_string()),
        // verify-ca checks the chain only: the certificate does not name 127.0.0.1.
        (
            "verify_ca",
            "127.0.0.1",
            format!("sslmode=verify-ca&sslrootcert={ca}"),
        ),
        (
            "verify_full",
            "localhost",
            format!("sslmode=verify-full&sslrootcert={ca}"),
        ),
    ] {
        // The tables go to the test's schema, named in the URL.
        let query = match query.as_str() {
            "" => "schema=tls_pg_modes".to_string(),
            q => format!("{q}&schema=tls_pg_modes"),
        };
        let url = tls_url(&base, host, &db, &query);
        round_trip(dir.path(), &src, &url, target);
    }
}

#[test]
fn tls_postgres_refuses_a_wrong_ca_a_wrong_host_and_plain_tcp() {
    let Some((ca, other)) = cas() else { return };
    let Some(base) = pg("tls_pg_refusals") else {
        return;
    };
    let db = pg_db(&base);
    let url = |host: &str, query: String| tls_url(&base, host, &db, &query);
    let port = url::Url::parse(&base).unwrap().port().unwrap_or(5432);
    let shown = format!("postgres://{TLS_USER}@127.0.0.1:{port}/{db}");
    let (ca, other) = (ca.display(), other.display());

    // PostgreSQL sends its certificate alone: nothing in the other CA issued it.
    assert_refused(
        &url(
            "127.0.0.1",
            format!("sslmode=verify-ca&sslrootcert={other}"),
        ),
        7,
        &shown,
        &format!(
            "cannot connect: TLS handshake failed: certificate verify failed: unable to get \
             local issuer certificate (sslmode=verify-ca, sslrootcert={other})"
        ),
    );
    // The certificate names localhost only.
    assert_refused(
        &url("127.0.0.1", format!("sslmode=verify-full&sslrootcert={ca}")),
        7,
        &shown,
        &format!(
            "cannot connect: TLS handshake failed: certificate verify failed: IP address \
             mismatch (sslmode=verify-full, sslrootcert={ca})"
        ),
    );
    assert_refused(
        &url(
            "127.0.0.1",
            "sslmode=verify-ca&sslrootcert=/nonexistent/root.crt".into(),
        ),
        3,
        &shown,
        "the sslrootcert file /nonexistent/root.crt does not exist",
    );
    // pg_hba.conf rejects ferry_tls without TLS.
    assert_refused(
        &url("127.0.0.1", "sslmode=disable".into()),
        8,
        &shown,
        &format!(
            "cannot connect: pg_hba.conf rejects connection for host \"127.0.0.1\", user \
             \"{TLS_USER}\", database \"{db}\", no encryption (SQLSTATE 28000)"
        ),
    );
}
