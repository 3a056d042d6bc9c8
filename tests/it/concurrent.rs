//! Two runs replacing one table at once, into PostgreSQL, MariaDB and a Parquet snapshot: the
//! table always ends as one whole load, never empty or mixed; a run that is refused says that
//! another run holds the target (exit 10); every run that exits 0 is one whose rows are there
//! or were replaced by a later complete load.

use std::process::Output;

use tempfile::TempDir;

use crate::support::{ferry, sqlite_url};

/// A SQLite source whose table `t` has `rows` rows, each tagged `tag`.
fn source(dir: &std::path::Path, tag: &str, rows: i64) -> String {
    let path = dir.join(format!("{tag}.sqlite"));
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(&format!(
            "CREATE TABLE t (id INTEGER, tag TEXT NOT NULL, pad TEXT);
             WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {rows})
             INSERT INTO t SELECT i, '{tag}', printf('%0100d', i) FROM g;"
        ))
        .unwrap();
    sqlite_url(&path)
}

/// Starts both copies at once and waits for both.
fn race(a: (&str, &str), b: (&str, &str), extra: &[&str]) -> (Output, Output) {
    let spawn = |(from, to): (&str, &str)| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"));
        cmd.args([
            "copy",
            from,
            to,
            "--table",
            "t",
            "--if-exists",
            "replace",
            "-q",
        ])
        .args(extra)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    let (x, y) = (spawn(a), spawn(b));
    (x.wait_with_output().unwrap(), y.wait_with_output().unwrap())
}

/// Checks one race's outcome: `(tag, rows)` is what the target holds afterwards.
fn judge(outcome: (Output, Output), tags: [(&str, i64); 2], held: (String, i64)) {
    let (x, y) = outcome;
    let runs = [(&x, tags[0]), (&y, tags[1])];
    assert!(
        runs.iter().any(|(o, _)| o.status.success()),
        "one run succeeds: {:?} / {:?}",
        String::from_utf8_lossy(&x.stderr),
        String::from_utf8_lossy(&y.stderr)
    );
    for (o, _) in &runs {
        if !o.status.success() {
            let e = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(10), "{e}");
            assert!(e.contains("is being written by another ferry run"), "{e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }
    assert!(
        tags.iter().any(|(t, n)| held == (t.to_string(), *n)),
        "the target holds one whole load, not {held:?}"
    );
    let winner = runs
        .iter()
        .find(|(_, (t, _))| *t == held.0)
        .expect("the held load's run");
    assert!(
        winner.0.status.success(),
        "the rows there are a successful run's"
    );
}

const ROWS: [(&str, i64); 2] = [("a", 60_000), ("b", 45_000)];

#[test]
fn concurrent_replaces_into_postgres_end_as_one_whole_load() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_race");
    let target = format!("{url}?schema=it_race");
    let dir = TempDir::new().unwrap();
    let (a, b) = (
        source(dir.path(), ROWS[0].0, ROWS[0].1),
        source(dir.path(), ROWS[1].0, ROWS[1].1),
    );
    for _ in 0..4 {
        let outcome = race((&a, &target), (&b, &target), &["--batch-rows", "2000"]);
        let rows = c
            .query(
                "SELECT tag, count(*) FROM it_race.t GROUP BY tag ORDER BY tag",
                &[],
            )
            .unwrap();
        assert_eq!(rows.len(), 1, "one load's rows only");
        let held: (String, i64) = (rows[0].get(0), rows[0].get(1));
        judge(outcome, ROWS, held);
        let staging: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_class WHERE relname LIKE '\\_ferry\\_%'
                 AND relnamespace = 'it_race'::regnamespace",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(staging, 0, "no staging table left");
    }
}

#[test]
fn concurrent_replaces_into_mariadb_end_as_one_whole_load() {
    use mysql::prelude::Queryable;
    let Some(base) = crate::support::server_url(
        "FERRY_TEST_MYSQL_URL",
        "mysql://ferry:ferry@127.0.0.1:3306/ferry_test",
    ) else {
        return;
    };
    let mut admin = mysql::Conn::new(base.as_str()).unwrap();
    admin.query_drop("DROP DATABASE IF EXISTS it_race").unwrap();
    admin.query_drop("CREATE DATABASE it_race").unwrap();
    let mut u = url::Url::parse(&base).unwrap();
    u.set_path("/it_race");
    let target = u.to_string();
    let dir = TempDir::new().unwrap();
    let (a, b) = (
        source(dir.path(), ROWS[0].0, ROWS[0].1),
        source(dir.path(), ROWS[1].0, ROWS[1].1),
    );
    for _ in 0..3 {
        let outcome = race((&a, &target), (&b, &target), &["--batch-rows", "2000"]);
        let rows: Vec<(String, i64)> = admin
            .query("SELECT tag, count(*) FROM it_race.t GROUP BY tag ORDER BY tag")
            .unwrap();
        assert_eq!(rows.len(), 1, "one load's rows only: {rows:?}");
        judge(outcome, ROWS, rows[0].clone());
        let staging: Vec<String> = admin
            .query(
                "SELECT TABLE_NAME FROM information_schema.TABLES
                 WHERE TABLE_SCHEMA = 'it_race' AND TABLE_NAME LIKE '\\_ferry\\_%'",
            )
            .unwrap();
        assert!(staging.is_empty(), "no staging table left: {staging:?}");
    }
}

#[test]
fn concurrent_replaces_into_a_snapshot_leave_it_loadable_with_one_whole_load() {
    let dir = TempDir::new().unwrap();
    let (a, b) = (
        source(dir.path(), ROWS[0].0, ROWS[0].1),
        source(dir.path(), ROWS[1].0, ROWS[1].1),
    );
    let snap = format!("parquet://{}", dir.path().join("snap").display());
    for i in 0..4 {
        let outcome = race((&a, &snap), (&b, &snap), &["--batch-rows", "2000"]);
        let back = dir.path().join(format!("back{i}.sqlite"));
        ferry()
            .args(["copy", &snap, &sqlite_url(&back), "-q"])
            .assert()
            .success();
        let c = rusqlite::Connection::open(&back).unwrap();
        let rows: Vec<(String, i64)> = c
            .prepare("SELECT tag, count(*) FROM t GROUP BY tag")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 1, "one load's rows only: {rows:?}");
        judge(outcome, ROWS, rows[0].clone());
    }
}

/// Into one SQLite file, for a new and an existing table, and an append beside a replace: one
/// run at a time writes it (its lock file), so the table always holds one whole load.
#[test]
fn concurrent_runs_into_a_sqlite_file_end_as_one_whole_load() {
    let dir = TempDir::new().unwrap();
    let (a, b) = (
        source(dir.path(), ROWS[0].0, ROWS[0].1),
        source(dir.path(), ROWS[1].0, ROWS[1].1),
    );
    let db = dir.path().join("target.sqlite");
    let target = sqlite_url(&db);
    let held = || -> Vec<(String, i64)> {
        let c = rusqlite::Connection::open(&db).unwrap();
        let mut stmt = c
            .prepare("SELECT tag, count(*) FROM t GROUP BY tag ORDER BY tag")
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows
    };
    for _ in 0..4 {
        let outcome = race((&a, &target), (&b, &target), &["--batch-rows", "2000"]);
        let rows = held();
        assert_eq!(rows.len(), 1, "one load's rows only: {rows:?}");
        judge(outcome, ROWS, rows[0].clone());
        let c = rusqlite::Connection::open(&db).unwrap();
        let left: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name LIKE '\\_ferry\\_%' ESCAPE '\\'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0, "no staging table left");
    }
    // An append beside the replace: refused while the other runs, or after it, whole.
    let before = held();
    let append = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"))
        .args([
            "copy",
            &a,
            &target,
            "--table",
            "t",
            "--if-exists",
            "append",
            "-q",
        ])
        .args(["--batch-rows", "2000"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let replace = ferry()
        .args([
            "copy",
            &b,
            &target,
            "--table",
            "t",
            "--if-exists",
            "replace",
            "-q",
        ])
        .output()
        .unwrap();
    let append = append.wait_with_output().unwrap();
    let rows = held();
    for o in [&append, &replace] {
        if !o.status.success() {
            let e = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(10), "{e}");
            assert!(e.contains("is being written by another ferry run"), "{e}");
        }
    }
    let b_only = vec![("b".to_string(), ROWS[1].1)];
    let mut after_append = before.clone();
    match after_append.iter_mut().find(|(t, _)| t == "a") {
        Some(r) => r.1 += ROWS[0].1,
        None => after_append.insert(0, ("a".to_string(), ROWS[0].1)),
    }
    // The replace after the append, or the append after the replace.
    let both = [
        b_only.clone(),
        vec![("a".into(), ROWS[0].1), ("b".into(), ROWS[1].1)],
    ];
    let expected: &[Vec<(String, i64)>] = match (append.status.success(), replace.status.success())
    {
        (true, true) => &both,
        (true, false) => std::slice::from_ref(&after_append),
        (false, true) => std::slice::from_ref(&b_only),
        (false, false) => panic!("one of the two runs succeeds"),
    };
    assert!(expected.contains(&rows), "{rows:?}, before: {before:?}");
}

/// MySQL's named locks have no shared mode: an append holds the target's lock like any run, so
/// a replace started while it loads is refused (exit 10), and the append's rows are all there
/// afterwards (without the lock, the replace would swap the table out from under the append,
/// whose rows would go with the old table while it exits 0).
#[test]
fn a_replace_beside_a_mariadb_append_is_refused_and_the_append_keeps_its_rows() {
    use mysql::prelude::Queryable;
    let Some((target, mut my)) = crate::mysql::fresh_db("it_race_append") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let (big, small) = (
        source(dir.path(), "a", 400_000),
        source(dir.path(), "b", 1_000),
    );
    ferry()
        .args(["copy", &small, &target, "--table", "t", "-q"])
        .assert()
        .success();
    let append = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"))
        .args([
            "copy",
            &big,
            &target,
            "--table",
            "t",
            "--if-exists",
            "append",
        ])
        .args(["--batch-rows", "2000", "-q"])
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let loading = |my: &mut mysql::Conn| -> bool {
        my.query_first::<i64, _>(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST
             WHERE DB = 'it_race_append' AND INFO LIKE 'LOAD DATA%'",
        )
        .unwrap()
        .unwrap_or(0)
            > 0
    };
    while !loading(&mut my) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the append never loaded"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = ferry()
        .args([
            "copy",
            &small,
            &target,
            "--table",
            "t",
            "--if-exists",
            "replace",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "{err}");
    assert!(
        err.contains("is being written by another ferry run"),
        "{err}"
    );
    let appended = append.wait_with_output().unwrap();
    assert!(
        appended.status.success(),
        "{}",
        String::from_utf8_lossy(&appended.stderr)
    );
    let rows: Vec<(String, i64)> = my
        .query("SELECT tag, COUNT(*) FROM t GROUP BY tag ORDER BY tag")
        .unwrap();
    assert_eq!(rows, vec![("a".into(), 400_000), ("b".into(), 1_000)]);
}
