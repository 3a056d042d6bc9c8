//! A failure halfway through a load (a bad value deep in the source) with `replace` and `fail`:
//! one error line, a non-zero exit, and the target exactly as it was.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use crate::support::{dump, ferry, has_table, tpch};

/// A CSV table of 100,000 rows whose `val` column holds text at row 80,000: the schema is
/// inferred from the first rows, so the error comes after many batches were written.
fn bad_csv(dir: &Path) -> String {
    let csv_dir = dir.join("in");
    fs::create_dir_all(&csv_dir).unwrap();
    let mut text = String::from("id,val\n");
    for i in 1..=100_000 {
        if i == 80_000 {
            text.push_str("80000,oops\n");
        } else {
            writeln!(text, "{i},{}", i * 2).unwrap();
        }
    }
    fs::write(csv_dir.join("t.csv"), text).unwrap();
    format!("csv://{}", csv_dir.display())
}

fn fails(from: &str, to: &str, mode: &str) -> String {
    let out = ferry()
        .args([
            "copy",
            from,
            to,
            "--if-exists",
            mode,
            "--batch-rows",
            "1000",
            "-q",
        ])
        .assert()
        .failure()
        .get_output()
        .clone();
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("table \"t\""), "{err}");
    err
}

#[test]
fn replace_into_sqlite_keeps_the_old_table() {
    let dir = tempfile::tempdir().unwrap();
    let src = bad_csv(dir.path());
    let db = dir.path().join("t.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE t (id INTEGER, val INTEGER); INSERT INTO t VALUES (1, 1), (2, 4);",
    )
    .unwrap();
    drop(conn);
    let before = dump(&db, "t");
    fails(&src, &format!("sqlite://{}", db.display()), "replace");
    assert_eq!(dump(&db, "t"), before);
}

#[test]
fn fail_into_sqlite_leaves_no_table_and_no_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = bad_csv(dir.path());
    let db = dir.path().join("new.sqlite");
    fails(&src, &format!("sqlite://{}", db.display()), "fail");
    assert!(!db.exists(), "the failed run left a new database file");

    // An existing database keeps its other tables and gains nothing.
    let db = dir.path().join("old.sqlite");
    ferry()
        .args([
            "copy",
            tpch().to_str().unwrap(),
            &format!("sqlite://{}", db.display()),
            "--table",
            "region",
            "-q",
        ])
        .assert()
        .success();
    fails(&src, &format!("sqlite://{}", db.display()), "fail");
    assert!(!has_table(&db, "t"));
    assert_eq!(dump(&db, "region").len(), 5);
}

fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(root).unwrap().display().to_string(),
                    fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn replace_and_fail_into_a_parquet_snapshot_keep_it_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let src = bad_csv(dir.path());
    let root = dir.path().join("snap");
    let snap = format!("parquet://{}", root.display());
    ferry()
        .args([
            "copy",
            tpch().to_str().unwrap(),
            &snap,
            "--table",
            "nation",
            "-q",
        ])
        .assert()
        .success();
    let good = format!("sqlite://{}", tpch().display());
    ferry()
        .args([
            "copy",
            &good,
            &snap,
            "--query",
            "SELECT 1 AS id, 2 AS val",
            "--target-table",
            "t",
            "-q",
        ])
        .assert()
        .success();
    let before = tree(&root);
    fails(&src, &snap, "replace");
    assert_eq!(tree(&root), before, "the snapshot changed");
    fails(&src, &snap, "append");
    assert_eq!(tree(&root), before, "the snapshot changed");

    let fresh = dir.path().join("fresh");
    fails(&src, &format!("parquet://{}", fresh.display()), "fail");
    assert!(
        !fresh.exists(),
        "the failed run left a new snapshot directory"
    );
}
