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

/// Rows of table `t` in a snapshot, loaded into a new SQLite file (the load verifies every file
/// against the manifest), or the load's error.
fn snapshot_rows(snap: &str, dir: &Path, n: usize) -> Result<i64, String> {
    let db = dir.join(format!("check{n}.sqlite"));
    let out = ferry()
        .args(["copy", snap, &format!("sqlite://{}", db.display()), "-q"])
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let c = rusqlite::Connection::open(&db).unwrap();
    let rows = c
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    drop(c);
    fs::remove_file(&db).unwrap();
    Ok(rows)
}

#[test]
fn a_snapshot_replace_killed_at_any_moment_leaves_the_old_or_the_new_table() {
    let tmp = tempfile::TempDir::new().unwrap();
    let source = |rows: i64, name: &str| {
        let path = tmp.path().join(name);
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(&format!(
                "CREATE TABLE t (id INTEGER, pad TEXT);
                 WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {rows})
                 INSERT INTO t SELECT i, printf('%0200d', i) FROM g;"
            ))
            .unwrap();
        format!("sqlite://{}", path.display())
    };
    let (old, new) = (source(1_000, "old.sqlite"), source(150_000, "new.sqlite"));
    let snap = format!("parquet://{}", tmp.path().join("snap").display());
    // Small part files: a replace moves several in, then removes several.
    let snap_parts = format!("{snap}?file_bytes=200000&row_group_rows=5000");
    let replace = |from: &str| {
        ferry()
            .args(["copy", from, &snap_parts, "--if-exists", "replace", "-q"])
            .assert()
            .success();
    };
    replace(&old);
    // How long a whole replace takes here, to spread the kills over it.
    let t = std::time::Instant::now();
    replace(&new);
    let whole = t.elapsed();
    replace(&old);
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..12u32 {
        let at = whole.mul_f64(f64::from(i) / 10.0);
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"))
            .args(["copy", &new, &snap_parts, "--if-exists", "replace", "-q"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(at);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let rows = snapshot_rows(&snap, tmp.path(), i as usize)
            .unwrap_or_else(|e| panic!("killed after {at:?}: the snapshot does not load: {e}"));
        assert!(
            rows == 1_000 || rows == 150_000,
            "killed after {at:?}: {rows} rows, neither the old table nor the new one"
        );
        seen.insert(rows);
        // Back to the old table for the next trial.
        replace(&old);
    }
    assert!(
        seen.contains(&1_000),
        "some kills came before the switch: {seen:?}"
    );
}

/// A value PostgreSQL refuses deep in a table loaded over two COPY connections: the error names
/// the row where the source has it (the partition and the row in it), not the line of one
/// connection's COPY stream.
#[test]
fn a_refused_value_is_named_by_its_source_row_with_two_connections() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_source_rows");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nul.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT);
         WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 200000)
         INSERT INTO t SELECT i, 'v' || i FROM g;
         UPDATE t SET s = 'bad' || char(0) || 'x' WHERE id = 124852;",
    )
    .unwrap();
    drop(conn);
    let out = ferry()
        .args(["copy", &crate::support::sqlite_url(&db)])
        .arg(format!("{url}?schema=it_source_rows"))
        .args(["--jobs", "2", "--batch-rows", "1000", "-q"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("\"it_source_rows\".\"t\": row 124852 of partition \"rowid 1..=200000\""),
        "{err}"
    );
    assert!(err.contains("0x00"), "{err}");
}

/// A text ending in blanks bound for a blank-padded `char(n)` column would read back without
/// them: refused in PostgreSQL and MariaDB, naming the column, the source row and the value.
#[test]
fn trailing_blanks_bound_for_char_n_are_refused_not_stripped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.sqlite");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE c (id INTEGER PRIMARY KEY, s CHAR(5));
             INSERT INTO c VALUES (1, 'ab'), (2, NULL), (3, 'ab  ');",
        )
        .unwrap();
    let src = crate::support::sqlite_url(&db);
    let mut targets = Vec::new();
    if let Some((url, mut c)) = crate::postgres::pg() {
        crate::postgres::fresh_schema(&mut c, "it_char_blanks");
        targets.push(format!("{url}?schema=it_char_blanks"));
    }
    if let Some((url, _)) = crate::mysql::fresh_db("it_char_blanks") {
        targets.push(url);
    }
    for to in &targets {
        let err = crate::support::stderr_of(&["copy", &src, to], 5);
        assert!(
            err.contains("column \"s\", row 3 of partition")
                && err.contains("the value \"ab  \" ends in a blank"),
            "{err}"
        );
    }
}

/// A text longer than its declared `varchar(n)` / `char(n)` (SQLite keeps any length under any
/// declared type) is refused before the server sees it, naming the column, the source row, the
/// value and its length, and the target is left as it was. Lengths count characters, as both
/// servers do: a 3-character text of 4-byte characters fits `varchar(3)`.
#[test]
fn text_longer_than_its_declared_length_is_refused_naming_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.sqlite");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE v (id INTEGER PRIMARY KEY, s VARCHAR(3), c CHAR(2));
             INSERT INTO v VALUES (1, 'abc', 'ab'), (2, '😀😀😀', 'é'), (3, NULL, NULL),
                                  (4, 'abcdef', 'ab');
             CREATE TABLE w (id INTEGER PRIMARY KEY, c CHAR(2));
             INSERT INTO w VALUES (1, 'ab'), (2, 'abc');",
        )
        .unwrap();
    let src = crate::support::sqlite_url(&db);
    let mut targets = Vec::new();
    if let Some((url, mut c)) = crate::postgres::pg() {
        crate::postgres::fresh_schema(&mut c, "it_text_length");
        targets.push(format!("{url}?schema=it_text_length"));
    }
    if let Some((url, _)) = crate::mysql::fresh_db("it_text_length") {
        targets.push(url);
    }
    for to in &targets {
        let err = crate::support::stderr_of(&["copy", &src, to, "--table", "v"], 5);
        assert!(
            err.contains("column \"s\", row 4 of partition")
                && err.contains("the value 'abcdef' has 6 characters, more than the 3 of its")
                && err.contains("cast(s, VARCHAR(6))"),
            "{to}: {err}"
        );
        let err = crate::support::stderr_of(&["copy", &src, to, "--table", "w"], 5);
        assert!(
            err.contains("column \"c\", row 2 of partition")
                && err.contains("the value 'abc' has 3 characters, more than the 2 of its"),
            "{to}: {err}"
        );
        // Widened as the message says, the rows arrive whole.
        crate::support::ferry()
            .args([
                "copy",
                &src,
                to,
                "--table",
                "v",
                "--transform",
                "cast(s, VARCHAR(6))",
            ])
            .assert()
            .success();
    }
}
