//! Shared test helpers: running the `ferry` binary, dumping SQLite tables for cell-by-cell
//! comparison, and the database servers' URLs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use rusqlite::types::Value;
use rusqlite::Connection;

/// The repository's embedded TPC-H database (SF 0.01).
pub fn tpch() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/tpch.sqlite")
}

pub const TPCH_TABLES: [&str; 8] = [
    "region", "nation", "part", "supplier", "partsupp", "customer", "orders", "lineitem",
];

/// The `ferry` binary, quiet unless a test asks otherwise.
pub fn ferry() -> Command {
    let mut cmd = Command::cargo_bin("ferry").expect("the ferry binary is built");
    cmd.env_remove("RUST_LOG");
    cmd
}

/// Runs `ferry copy FROM TO --quiet EXTRA...` and asserts it succeeds.
pub fn copy(from: &str, to: &str, extra: &[&str]) {
    ferry()
        .args(["copy", from, to, "--quiet"])
        .args(extra)
        .assert()
        .success();
}

/// `ferry copy FROM TO EXTRA` without `--quiet`, asserting success; its stderr (the warnings
/// of what was left out included).
pub fn copy_warnings(from: &str, to: &str, extra: &[&str]) -> String {
    let out = ferry()
        .args(["copy", from, to])
        .args(extra)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    err
}

/// The `sqlite://` URL of a path.
pub fn sqlite_url(p: &Path) -> String {
    format!("sqlite://{}", p.display())
}

/// Runs `ferry ARGS`, asserts its exit code and that it printed exactly one error line on
/// stderr, and returns that line.
pub fn stderr_of(args: &[&str], code: i32) -> String {
    let out = ferry()
        .args(args)
        .assert()
        .code(code)
        .get_output()
        .stderr
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 1, "exactly one error line: {text}");
    text
}

/// A cell as SQLite stores it, comparable exactly (reals by their bits, so -0.0 != 0.0).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cell {
    Null,
    Integer(i64),
    Real(u64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<Value> for Cell {
    fn from(v: Value) -> Self {
        match v {
            Value::Null => Cell::Null,
            Value::Integer(i) => Cell::Integer(i),
            Value::Real(f) => Cell::Real(f.to_bits()),
            Value::Text(s) => Cell::Text(s),
            Value::Blob(b) => Cell::Blob(b),
        }
    }
}

/// Every row of `table`, every cell with its storage class, sorted (copies may reorder rows).
pub fn dump(db: &Path, table: &str) -> Vec<Vec<Cell>> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
    let n = stmt.column_count();
    let mut rows: Vec<Vec<Cell>> = stmt
        .query_map([], |r| {
            (0..n)
                .map(|i| r.get::<_, Value>(i).map(Cell::from))
                .collect()
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.sort();
    rows
}

/// The declared columns of `table`: (name, declared type, NOT NULL, position in the key).
pub fn columns(db: &Path, table: &str) -> Vec<(String, String, bool, i64)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info(\"{table}\")"))
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(5)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Whether `table` exists in `db`.
pub fn has_table(db: &Path, table: &str) -> bool {
    let conn = Connection::open(db).unwrap();
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name = ?1",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .unwrap()
        > 0
}

/// Asserts two SQLite tables hold the same declared columns and the same cells.
pub fn assert_same_table(a: &Path, b: &Path, table: &str) {
    assert_eq!(
        columns(a, table),
        columns(b, table),
        "declared columns of {table}"
    );
    let (x, y) = (dump(a, table), dump(b, table));
    assert_eq!(x.len(), y.len(), "row count of {table}");
    for (i, (r, s)) in x.iter().zip(&y).enumerate() {
        assert_eq!(r, s, "{table}: sorted row {i} differs");
    }
}

/// Reads a server URL from the environment, or `None` (with a notice) when none answers;
/// with `CI` set, a missing server is a failure.
pub fn server_url(var: &str, default: &str) -> Option<String> {
    let url = std::env::var(var).unwrap_or_else(|_| default.to_string());
    let host_port = url
        .rsplit('@')
        .next()
        .and_then(|r| r.split('/').next())
        .unwrap_or("");
    let reachable = std::net::TcpStream::connect_timeout(
        &host_port
            .parse()
            .unwrap_or_else(|_| "127.0.0.1:1".parse().unwrap()),
        std::time::Duration::from_secs(2),
    )
    .is_ok();
    if reachable {
        return Some(url);
    }
    if std::env::var_os("CI").is_some() {
        panic!("{var}: no server at {host_port}, and CI is set");
    }
    eprintln!("skipping: no server at {host_port} ({var})");
    None
}
