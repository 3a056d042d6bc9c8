//! A run's tables become visible together: when the second table of a three-table run fails, the
//! first (already loaded) and the third are left as they were, in every database target and in
//! a SQLite file the run would have created; when the run succeeds, all three are new.

use std::fmt::Write as _;
use std::path::Path;

use crate::support::{ferry, sqlite_url};

/// A CSV source with tables `a`, `b` and `c` of `rows` rows each (`id`, `val = id * 2`); with
/// `bad`, table `b` holds text in its integer column near its end, so it fails after many
/// batches were written.
fn source(dir: &Path, rows: usize, bad: bool) -> String {
    let src = dir.join(if bad { "bad" } else { "good" });
    std::fs::create_dir_all(&src).unwrap();
    for t in ["a", "b", "c"] {
        let mut text = String::from("id,val\n");
        for i in 1..=rows {
            if bad && t == "b" && i == rows - 10 {
                writeln!(text, "{i},oops").unwrap();
            } else {
                writeln!(text, "{i},{}", i * 2).unwrap();
            }
        }
        std::fs::write(src.join(format!("{t}.csv")), text).unwrap();
    }
    format!("csv://{}", src.display())
}

const ROWS: usize = 12_000;

/// Runs the three-table copy in the order a, b, c; returns the exit code and stderr.
fn run(from: &str, to: &str, mode: &str, extra: &[&str]) -> (i32, String) {
    let out = ferry()
        .args([
            "copy",
            from,
            to,
            "--if-exists",
            mode,
            "--batch-rows",
            "1000",
        ])
        .args(["--table", "a", "--table", "b", "--table", "c", "-q"])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_failed(code: i32, err: &str) {
    assert_eq!(code, 5, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("\"b\"") || err.contains("b.csv"), "{err}");
}

/// The (rows, sum of val) of each of a, b, c as SQLite holds them; `None` for a missing table.
fn sqlite_state(db: &Path) -> Vec<Option<(i64, i64)>> {
    let c = rusqlite::Connection::open(db).unwrap();
    ["a", "b", "c"]
        .iter()
        .map(|t| {
            c.query_row(
                &format!("SELECT count(*), coalesce(sum(val), 0) FROM \"{t}\""),
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok()
        })
        .collect()
}

fn sqlite_with_old_tables(db: &Path) {
    rusqlite::Connection::open(db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE a (id INTEGER, val INTEGER); INSERT INTO a VALUES (1, 7);
             CREATE TABLE b (id INTEGER, val INTEGER); INSERT INTO b VALUES (1, 8), (2, 9);
             CREATE TABLE c (id INTEGER, val INTEGER);",
        )
        .unwrap();
}

/// The SQLite file `db` a failed run created is gone, or holds only the staging tables (and
/// their progress tables) the error names as kept for --resume.
fn assert_only_kept(db: &Path, err: &str) {
    if !db.exists() {
        return;
    }
    let c = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!tables.is_empty(), "an empty file is left behind");
    for t in &tables {
        assert!(
            t.starts_with("_ferry_"),
            "{t} is left in a file the run created"
        );
        if !t.ends_with("_p") {
            assert!(
                err.contains("kept for --resume") && err.contains(&format!("\"{t}\"")),
                "{t} is left but not named: {err}"
            );
        }
    }
}

const OLD: [Option<(i64, i64)>; 3] = [Some((1, 7)), Some((2, 17)), Some((0, 0))];

fn new_state() -> Vec<Option<(i64, i64)>> {
    let n = ROWS as i64;
    vec![Some((n, n * (n + 1))); 3]
}

#[test]
fn a_failed_table_leaves_every_sqlite_table_of_the_run_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let bad = source(dir.path(), ROWS, true);
    for mode in ["replace", "truncate", "append"] {
        let db = dir.path().join(format!("{mode}.sqlite"));
        sqlite_with_old_tables(&db);
        let (code, err) = run(&bad, &sqlite_url(&db), mode, &[]);
        assert_failed(code, &err);
        assert_eq!(sqlite_state(&db), OLD, "{mode}");
    }
    // A file the run created holds none of its tables: only the chunks it keeps for --resume,
    // named in the error.
    let fresh = dir.path().join("new.sqlite");
    let (code, err) = run(&bad, &sqlite_url(&fresh), "fail", &[]);
    assert_failed(code, &err);
    assert_only_kept(&fresh, &err);
    // The same run on good data makes all three new at once.
    let good = source(dir.path(), ROWS, false);
    let db = dir.path().join("replace.sqlite");
    let (code, err) = run(&good, &sqlite_url(&db), "replace", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(sqlite_state(&db), new_state());
}

fn pg_state(c: &mut postgres::Client, schema: &str) -> Vec<Option<(i64, i64)>> {
    ["a", "b", "c"]
        .iter()
        .map(|t| {
            c.query_opt(
                &format!("SELECT count(*), coalesce(sum(val), 0)::int8 FROM {schema}.{t}"),
                &[],
            )
            .ok()
            .flatten()
            .map(|r| (r.get(0), r.get(1)))
        })
        .collect()
}

fn pg_staging_left(c: &mut postgres::Client, schema: &str) -> Vec<String> {
    c.query(
        "SELECT relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND relname LIKE '\\_ferry\\_%'",
        &[&schema],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[test]
fn a_failed_table_leaves_every_postgres_table_of_the_run_as_it_was() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bad = source(dir.path(), ROWS, true);
    let schema = "it_atomic";
    let target = format!("{url}?schema={schema}");
    for (mode, jobs) in [
        ("replace", "2"),
        ("truncate", "1"),
        ("append", "1"),
        ("fail", "2"),
    ] {
        crate::postgres::fresh_schema(&mut c, schema);
        if mode != "fail" {
            c.batch_execute(
                "CREATE TABLE it_atomic.a (id int8, val int8); INSERT INTO it_atomic.a VALUES (1, 7);
                 CREATE TABLE it_atomic.b (id int8, val int8); INSERT INTO it_atomic.b VALUES (1, 8), (2, 9);
                 CREATE TABLE it_atomic.c (id int8, val int8);",
            )
            .unwrap();
        }
        let (code, err) = run(&bad, &target, mode, &["--jobs", jobs]);
        assert_failed(code, &err);
        let expected = match mode {
            "fail" => vec![None, None, None],
            _ => OLD.to_vec(),
        };
        assert_eq!(pg_state(&mut c, schema), expected, "{mode}");
        // What is left is the chunks committed into staging tables, named in the error as
        // kept for --resume; nothing else.
        let left = pg_staging_left(&mut c, schema);
        for t in left.iter().filter(|t| !t.ends_with("_p")) {
            assert!(
                err.contains("kept for --resume") && err.contains(&format!("\"{t}\"")),
                "{mode}: {t} is left but not named: {err}"
            );
        }
    }
    let good = source(dir.path(), ROWS, false);
    let (code, err) = run(&good, &target, "replace", &["--jobs", "2"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(pg_state(&mut c, schema), new_state());
    // Appending to all three commits all three.
    let (code, err) = run(&good, &target, "append", &[]);
    assert_eq!(code, 0, "{err}");
    let n = ROWS as i64;
    assert_eq!(
        pg_state(&mut c, schema),
        vec![Some((2 * n, 2 * n * (n + 1))); 3]
    );
    assert_eq!(pg_staging_left(&mut c, schema), Vec::<String>::new());
}

fn my_state(c: &mut mysql::Conn) -> Vec<Option<(i64, i64)>> {
    use mysql::prelude::Queryable;
    ["a", "b", "c"]
        .iter()
        .map(|t| {
            c.query_first::<(i64, i64), _>(format!(
                "SELECT count(*), CAST(coalesce(sum(val), 0) AS SIGNED) FROM `{t}`"
            ))
            .ok()
            .flatten()
        })
        .collect()
}

#[test]
fn a_failed_table_leaves_every_mariadb_table_of_the_run_as_it_was() {
    use mysql::prelude::Queryable;
    let Some((url, mut c)) = crate::mysql::fresh_db("it_atomic") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bad = source(dir.path(), ROWS, true);
    for (mode, jobs) in [
        ("replace", "2"),
        ("truncate", "1"),
        ("append", "1"),
        ("fail", "2"),
    ] {
        for t in ["a", "b", "c"] {
            c.query_drop(format!("DROP TABLE IF EXISTS `{t}`")).unwrap();
        }
        if mode != "fail" {
            c.query_drop(
                "CREATE TABLE a (id bigint, val bigint); INSERT INTO a VALUES (1, 7);
                 CREATE TABLE b (id bigint, val bigint); INSERT INTO b VALUES (1, 8), (2, 9);
                 CREATE TABLE c (id bigint, val bigint);",
            )
            .unwrap();
        }
        let (code, err) = run(&bad, &url, mode, &["--jobs", jobs]);
        assert_failed(code, &err);
        let expected = match mode {
            "fail" => vec![None, None, None],
            _ => OLD.to_vec(),
        };
        assert_eq!(my_state(&mut c), expected, "{mode}");
        // What is left is the chunks committed into staging tables, named in the error as
        // kept for --resume; nothing else.
        for t in my_staging_left(&mut c)
            .iter()
            .filter(|t| !t.ends_with("_p"))
        {
            assert!(
                err.contains("kept for --resume") && err.contains(&format!("`{t}`")),
                "{mode}: {t} is left but not named: {err}"
            );
        }
    }
    let good = source(dir.path(), ROWS, false);
    let (code, err) = run(&good, &url, "replace", &["--jobs", "2"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(my_state(&mut c), new_state());
    let (code, err) = run(&good, &url, "append", &[]);
    assert_eq!(code, 0, "{err}");
    let n = ROWS as i64;
    assert_eq!(my_state(&mut c), vec![Some((2 * n, 2 * n * (n + 1))); 3]);
    assert_eq!(my_staging_left(&mut c), Vec::<String>::new());
}

fn my_staging_left(c: &mut mysql::Conn) -> Vec<String> {
    use mysql::prelude::Queryable;
    c.query(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'it_atomic' \
         AND TABLE_NAME LIKE '\\_ferry\\_%'",
    )
    .unwrap()
}

#[test]
fn a_failed_table_leaves_every_duckdb_table_of_the_run_as_it_was() {
    let Some(drivers) = crate::adbc::drivers() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bad = source(dir.path(), ROWS, true);
    let good = source(dir.path(), ROWS, false);
    let db = dir.path().join("t.duckdb");
    let url = format!("duckdb://{}", db.display());
    let copy = |from: &str, mode: &str| {
        let out = crate::adbc::fx(&drivers)
            .args([
                "copy",
                from,
                &url,
                "--if-exists",
                mode,
                "--batch-rows",
                "1000",
            ])
            .args(["--table", "a", "--table", "b", "--table", "c", "-q"])
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = copy(&good, "fail");
    assert_eq!(code, 0, "{err}");
    let state = || {
        crate::fidelity_types::duck_rows(
            &drivers,
            &db,
            "SELECT (SELECT count(*) FROM a)::VARCHAR, (SELECT sum(val) FROM a)::VARCHAR, \
             (SELECT count(*) FROM b)::VARCHAR, (SELECT count(*) FROM c)::VARCHAR",
        )
    };
    let n = ROWS.to_string();
    let sum = (ROWS * (ROWS + 1)).to_string();
    let before = vec![vec![
        Some(n.clone()),
        Some(sum.clone()),
        Some(n.clone()),
        Some(n.clone()),
    ]];
    assert_eq!(state(), before);
    for mode in ["replace", "truncate", "append"] {
        let (code, err) = copy(&bad, mode);
        assert_failed(code, &err);
        assert_eq!(state(), before, "{mode}");
    }
}

/// Starts `ferry copy FROM TO ...`, interrupts it with `signal` once it has run for a while, and
/// returns its exit code and stderr.
fn interrupted(from: &str, to: &str, signal: &str, extra: &[&str]) -> (i32, String) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"))
        .args(["copy", from, to, "-q"])
        .args(extra)
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the copy is still running when interrupted"
    );
    let killed = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A SQLite source with a small table `a` (3 rows) and a table `big` of `rows` rows, long enough
/// to load that a signal arrives mid-run.
fn big_source(dir: &Path, rows: i64) -> String {
    let path = dir.join("big.sqlite");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(&format!(
            "CREATE TABLE a (id INTEGER, val INTEGER); INSERT INTO a VALUES (1, 2), (2, 4), (3, 6);
             CREATE TABLE big (id INTEGER, pad TEXT);
             WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {rows})
             INSERT INTO big SELECT i, printf('%050d', i) FROM g;"
        ))
        .unwrap();
    sqlite_url(&path)
}

/// Ctrl-C into a new SQLite file: one line; the file holds none of the run's tables, only the
/// chunks kept for --resume (table `a`, finished), named; the resume completes both tables.
#[test]
fn ctrl_c_leaves_a_new_sqlite_file_without_the_runs_tables_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let src = big_source(dir.path(), 3_000_000);
    let db = dir.path().join("t.sqlite");
    let (code, err) = interrupted(
        &src,
        &sqlite_url(&db),
        "-INT",
        &["--table", "a", "--table", "big"],
    );
    assert_eq!(code, 130, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("interrupted: the target's tables are as they were")
            && err.contains("\"a\" (1 chunk(s), 3 rows, in \"_ferry_a_"),
        "{err}"
    );
    assert_only_kept(&db, &err);
    let out = ferry()
        .args(["copy", &src, &sqlite_url(&db), "-q", "--resume", "--report"])
        .arg(dir.path().join("r.json"))
        .args(["--table", "a", "--table", "big"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(r["tables"][0]["chunks_resumed"], 1, "{r}");
    assert_eq!(r["tables"][0]["rows_read"], 0, "{r}");
    let c = rusqlite::Connection::open(&db).unwrap();
    let n: (i64, i64) = c
        .query_row(
            "SELECT (SELECT sum(val) FROM a), (SELECT count(*) FROM big)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(n, (12, 3_000_000));
}

#[test]
fn sigterm_leaves_postgres_as_it_was_with_no_staging_left() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = big_source(dir.path(), 3_000_000);
    let schema = "it_sigterm";
    crate::postgres::fresh_schema(&mut c, schema);
    c.batch_execute(
        "CREATE TABLE it_sigterm.a (id int8, val int8); INSERT INTO it_sigterm.a VALUES (42, 0)",
    )
    .unwrap();
    let target = format!("{url}?schema={schema}");
    let (code, err) = interrupted(
        &src,
        &target,
        "-TERM",
        &[
            "--if-exists",
            "replace",
            "--jobs",
            "2",
            "--table",
            "a",
            "--table",
            "big",
        ],
    );
    assert_eq!(code, 130, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let tables = |c: &mut postgres::Client| -> Vec<String> {
        c.query(
            "SELECT relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1",
            &[&schema],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    // Either nothing was committed and nothing is left, or the chunks committed into staging
    // tables are kept for --resume, each named.
    let left: Vec<String> = tables(&mut c)
        .into_iter()
        .filter(|t| t != "a" && !t.ends_with("_p"))
        .collect();
    if left.is_empty() {
        assert!(err.contains("nothing was committed"), "{err}");
        assert_eq!(
            tables(&mut c),
            vec!["a".to_string()],
            "no staging table is left"
        );
    } else {
        assert!(
            err.starts_with(
                "ferry: error: interrupted: the target's tables are as they were; \
                             the chunks committed are kept for --resume: "
            ),
            "{err}"
        );
        for t in &left {
            assert!(err.contains(&format!("\"{t}\"")), "{t} is not named: {err}");
        }
    }
    let rows: Vec<(i64, i64)> = c
        .query("SELECT id, val FROM it_sigterm.a", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        rows,
        vec![(42, 0)],
        "the table loaded before the signal is not published"
    );
    // The same command with --resume completes the run.
    ferry()
        .args(["copy", &src, &target, "-q", "--resume"])
        .args([
            "--if-exists",
            "replace",
            "--jobs",
            "2",
            "--table",
            "a",
            "--table",
            "big",
        ])
        .assert()
        .success();
    assert_eq!(tables(&mut c), ["a", "big"].map(String::from).to_vec());
    let n: i64 = c
        .query_one("SELECT count(DISTINCT id) FROM it_sigterm.big", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 3_000_000);
}
