//! Bad input at the command line: each case ends with one clear error line naming the thing,
//! the documented exit code, and the target as it was.

use std::fs;

use crate::support::{dump, ferry, stderr_of, tpch};

fn tpch_url() -> String {
    format!("sqlite://{}", tpch().display())
}

#[test]
fn unknown_scheme_lists_the_known_ones_without_the_password() {
    let err = stderr_of(
        &[
            "copy",
            "oracle://scott:tiger@db.example/orcl",
            "out.parquet",
        ],
        2,
    );
    assert_eq!(
        err,
        "ferry: error: oracle://scott:***@db.example/orcl: unknown scheme 'oracle' (known schemes: sqlite, parquet, csv, postgres, mysql, tpch, adbc, duckdb)\n"
    );
}

#[test]
fn missing_file() {
    let err = stderr_of(
        &["copy", "sqlite:///nonexistent/x.sqlite", "out.parquet"],
        3,
    );
    assert_eq!(
        err,
        "ferry: error: sqlite:///nonexistent/x.sqlite: no such file\n"
    );
    let err = stderr_of(&["inspect", "parquet:///nonexistent/snap"], 3);
    assert_eq!(
        err,
        "ferry: error: parquet:///nonexistent/snap: no such file or directory\n"
    );
}

#[test]
fn missing_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = format!("parquet://{}", dir.path().join("s").display());
    let err = stderr_of(&["copy", &tpch_url(), &out, "--table", "nope"], 3);
    assert_eq!(
        err,
        format!(
            "ferry: error: {}: table \"nope\" not found (tables: region, nation, part, supplier, partsupp, customer, orders, lineitem)\n",
            tpch_url()
        )
    );
    assert!(!dir.path().join("s").exists());
}

#[test]
fn existing_target_with_fail_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.sqlite");
    let dst = format!("sqlite://{}", db.display());
    ferry()
        .args(["copy", &tpch_url(), &dst, "--table", "region", "-q"])
        .assert()
        .success();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("DELETE FROM region WHERE r_regionkey > 0", [])
        .unwrap();
    let before = dump(&db, "region");
    let err = stderr_of(&["copy", &tpch_url(), &dst, "--table", "region"], 4);
    assert_eq!(
        err,
        format!("ferry: error: {dst}: table \"region\" exists (use --if-exists replace, truncate or append)\n")
    );
    assert_eq!(dump(&db, "region"), before);

    let snap = format!("parquet://{}", dir.path().join("snap").display());
    ferry()
        .args(["copy", &tpch_url(), &snap, "--table", "region", "-q"])
        .assert()
        .success();
    let err = stderr_of(&["copy", &tpch_url(), &snap, "--table", "region"], 4);
    assert!(err.contains("table \"region\" exists"), "{err}");
}

fn snapshot(dir: &std::path::Path) -> String {
    let snap = format!("parquet://{}", dir.join("snap").display());
    ferry()
        .args([
            "copy",
            &tpch_url(),
            &snap,
            "--table",
            "nation",
            "--table",
            "region",
            "-q",
        ])
        .assert()
        .success();
    snap
}

#[test]
fn snapshot_with_a_corrupt_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let snap = snapshot(dir.path());
    let file = dir.path().join("snap/nation/part-00000.parquet");
    let mut bytes = fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(&file, &bytes).unwrap();
    let db = dir.path().join("out.sqlite");
    let err = stderr_of(&["copy", &snap, &format!("sqlite://{}", db.display())], 6);
    assert!(
        err.contains("file nation/part-00000.parquet does not match its SHA-256 checksum in the manifest; the snapshot is refused"),
        "{err}"
    );
    assert!(!db.exists());

    fs::write(&file, &bytes[..mid]).unwrap();
    let err = stderr_of(&["copy", &snap, &format!("sqlite://{}", db.display())], 6);
    assert!(
        err.contains(&format!(
            "file nation/part-00000.parquet is {mid} bytes, the manifest says"
        )),
        "{err}"
    );
}

#[test]
fn snapshot_with_a_missing_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let snap = snapshot(dir.path());
    fs::remove_file(dir.path().join("snap/region/part-00000.parquet")).unwrap();
    let db = dir.path().join("out.sqlite");
    let dst = format!("sqlite://{}", db.display());
    let err = stderr_of(&["copy", &snap, &dst, "--table", "region"], 6);
    assert!(
        err.contains("file region/part-00000.parquet listed in the manifest is missing"),
        "{err}"
    );
    assert!(!db.exists());
}

#[test]
fn snapshot_without_a_complete_manifest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let snap = snapshot(dir.path());
    fs::remove_file(dir.path().join("snap/_ferry_manifest.json")).unwrap();
    fs::write(dir.path().join("snap/_ferry_incomplete"), b"").unwrap();
    let err = stderr_of(&["inspect", &snap], 6);
    assert!(
        err.contains("is incomplete: it has no manifest (_ferry_manifest.json)"),
        "{err}"
    );
}

#[test]
fn help_has_examples_and_exit_codes() {
    for args in [
        vec!["--help"],
        vec!["copy", "--help"],
        vec!["inspect", "--help"],
    ] {
        let out = ferry()
            .args(&args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Examples:"), "{args:?}: {text}");
        assert!(text.contains("4    already exists"), "{args:?}: {text}");
    }
}

#[test]
fn inspect_lists_tables_types_and_counts() {
    let out = ferry()
        .args(["inspect", tpch().to_str().unwrap(), "--table", "orders"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("orders (15000 rows"), "{text}");
    assert!(text.contains("o_totalprice"), "{text}");
    assert!(text.contains("DECIMAL(15,2)"), "{text}");
    assert!(text.contains("Decimal128(15, 2)"), "{text}");
}

#[test]
fn an_ipv6_literal_host_is_connected_to_not_looked_up() {
    // Nothing listens on port 1: the error must be a refused connection to ::1, not a failed
    // name lookup of "[::1]".
    for (url, shown) in [
        ("postgres://u:p+w@[::1]:1/db", "postgres://u@[::1]:1/db"),
        ("mysql://u:p+w@[::1]:1/db", "mysql://u@[::1]:1/db"),
    ] {
        let err = stderr_of(&["inspect", url], 7);
        assert!(err.contains(shown), "{err}");
        assert!(err.contains("Connection refused"), "{err}");
        assert!(!err.contains("p+w"), "{err}");
    }
}
