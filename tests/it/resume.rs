//! Resume, exactly once: a copy into PostgreSQL, MariaDB, SQLite, DuckDB or a Parquet snapshot
//! killed (`kill -9`, Ctrl-C) at any point is continued by the same command with `--resume`,
//! which reads only the partitions (chunks) not committed; the result equals the source row for
//! row, with no duplicate key, and the report counts the chunks taken from the earlier run. A
//! resume of a changed plan is refused; a run without `--resume` starts again; a target that
//! keeps no chunks refuses `--resume`.

use std::process::{Command, Stdio};
use std::time::Duration;

use postgres::Client;

use crate::support::{ferry, sqlite_url};

pub(crate) const ROWS: i64 = 1_000_000;

/// Starts `ferry copy ARGS`, sends `signal` once `ready` (polled every 10 ms) says so, and
/// returns its exit code and stderr (its own code when it finished first).
fn killed_when(args: &[&str], signal: &str, ready: impl FnMut() -> bool) -> (i32, String) {
    let pid = std::cell::Cell::new(0);
    acted_when(
        args,
        |id| pid.set(id),
        ready,
        || {
            let _ = Command::new("kill")
                .args([signal, &pid.get().to_string()])
                .status();
        },
    )
}

/// Starts `ferry copy ARGS` (its pid given to `started`), runs `act` once `ready` (polled every
/// 10 ms) says so, and returns its exit code and stderr (its own code when it finished first).
pub(crate) fn acted_when(
    args: &[&str],
    mut started_as: impl FnMut(u32),
    mut ready: impl FnMut() -> bool,
    mut act: impl FnMut(),
) -> (i32, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("ferry"))
        .arg("copy")
        .args(args)
        .arg("-q")
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    started_as(child.id());
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(120) {
        if ready() {
            act();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-9),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The chunks committed so far into the staging tables of `schema` (their progress tables).
pub(crate) fn committed_chunks(c: &mut Client, schema: &str) -> i64 {
    let tables: Vec<String> = c
        .query(
            "SELECT relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relkind = 'r' AND relname LIKE '\\_ferry\\_%\\_p'",
            &[&schema],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    tables
        .iter()
        .map(|t| {
            c.query_one(
                &format!("SELECT count(*) FROM {schema}.\"{t}\" WHERE chunk <> ''"),
                &[],
            )
            .map(|r| r.get::<_, i64>(0))
            .unwrap_or(0)
        })
        .sum()
}

/// Runs `ferry copy ARGS --resume --report`, asserting success; the table's report.
pub(crate) fn resume(args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let out = ferry()
        .arg("copy")
        .args(args)
        .args(["--resume", "-q", "--report"])
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    r["tables"][0].clone()
}

/// The target table holds exactly the source's rows: `ROWS` distinct ids 1..=ROWS, each with
/// its own values, and no ferry table is left in the schema.
pub(crate) fn assert_exact(c: &mut Client, schema: &str, what: &str) {
    let row = c
        .query_one(
            &format!(
                "SELECT count(*), count(DISTINCT id), min(id), max(id),
                        bool_and(s = lpad(id::text, 50, '0') AND v = id * 3)
                 FROM {schema}.t"
            ),
            &[],
        )
        .unwrap();
    let (n, distinct, lo, hi, ok): (i64, i64, i64, i64, bool) =
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    assert_eq!(
        (n, distinct, lo, hi, ok),
        (ROWS, ROWS, 1, ROWS, true),
        "{what}"
    );
    let left: Vec<String> = c
        .query(
            "SELECT relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relkind = 'r' AND relname <> 't'",
            &[&schema],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(left.is_empty(), "{what}: left behind: {left:?}");
}

/// Kills the copy `from -> to` with `kill -9` at several points (early, maybe before any chunk
/// is committed; once one is; once three are), resumes each, and checks the result.
fn kill_and_resume(from: &str, c: &mut Client, schema: &str, extra: &[&str]) {
    let (url, mut watch) = crate::postgres::pg().unwrap();
    let to = format!("{url}?schema={schema}");
    kill_and_resume_into(
        from,
        &to,
        extra,
        &mut || committed_chunks(&mut watch, schema),
        &mut |what| assert_exact(c, schema, what),
    );
}

/// [`kill_and_resume`] into any target: `committed` counts the chunks committed there so far,
/// `exact` asserts the target table equals the source.
fn kill_and_resume_into(
    from: &str,
    to: &str,
    extra: &[&str],
    committed: &mut dyn FnMut() -> i64,
    exact: &mut dyn FnMut(&str),
) {
    let mut args = vec![from, to, "--table", "t", "--if-exists", "replace"];
    args.extend_from_slice(extra);
    let mut partial = false;
    for (trial, chunks) in [0i64, 1, 3].into_iter().enumerate() {
        let started = std::time::Instant::now();
        let (code, err) = killed_when(&args, "-KILL", || match chunks {
            0 => started.elapsed() >= Duration::from_millis(300),
            n => committed() >= n,
        });
        assert_eq!(code, -9, "trial {trial}: killed mid-run: {err}");
        let t = resume(&args);
        let (parts, done) = (
            t["partitions"].as_u64().unwrap(),
            t["chunks_resumed"].as_u64().unwrap(),
        );
        // A kill can land after the last chunk's commit, before the swap (a SQLite target
        // commits chunks in groups): then the resume only publishes.
        assert!(done as i64 >= chunks && done <= parts, "trial {trial}: {t}");
        partial |= done > 0 && done < parts;
        assert_eq!(t["rows"].as_u64(), Some(ROWS as u64), "{t}");
        // The chunks not taken from the earlier run were read again, and only they.
        assert_eq!(
            t["rows_read"].as_u64().unwrap() + t["rows_resumed"].as_u64().unwrap(),
            ROWS as u64,
            "{t}"
        );
        exact(&format!(
            "{from} trial {trial} (killed after {chunks} chunks)"
        ));
    }
    assert!(
        partial,
        "{from}: a resume took some chunks from the earlier run and read the others again"
    );
}

/// The table `t` of `ROWS` rows in PostgreSQL's `schema` (which exists), analyzed.
fn pg_source_table(c: &mut Client, schema: &str) {
    c.batch_execute(&format!(
        "CREATE TABLE {schema}.t (id bigint PRIMARY KEY, s text, v bigint);
         INSERT INTO {schema}.t
             SELECT i, lpad(i::text, 50, '0'), i * 3 FROM generate_series(1, {ROWS}) i;
         ANALYZE {schema}.t"
    ))
    .unwrap();
}

/// A SQLite database in `dir` with the table `t` of `ROWS` rows.
fn sqlite_source(dir: &std::path::Path) -> std::path::PathBuf {
    let db = dir.join("src.sqlite");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(&format!(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, v INTEGER);
             WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {ROWS})
             INSERT INTO t SELECT i, printf('%050d', i), i * 3 FROM g;"
        ))
        .unwrap();
    db
}

#[test]
fn pg_to_pg_killed_runs_resume_exactly_once() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_resume_pgsrc");
    crate::postgres::fresh_schema(&mut c, "it_resume_pg");
    pg_source_table(&mut c, "it_resume_pgsrc");
    let from = format!("{url}?schema=it_resume_pgsrc");
    kill_and_resume(
        &from,
        &mut c,
        "it_resume_pg",
        &["--partitions", "8", "--jobs", "2"],
    );
}

#[test]
fn mariadb_to_pg_killed_runs_resume_exactly_once() {
    use mysql::prelude::Queryable;
    let Some((from, mut my)) = crate::mysql::fresh_db("it_resume_my") else {
        return;
    };
    let Some((_, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_resume_my");
    my.query_drop(format!(
        "CREATE TABLE t (id bigint PRIMARY KEY, s varchar(50), v bigint);
         INSERT INTO t SELECT seq, LPAD(seq, 50, '0'), seq * 3 FROM seq_1_to_{ROWS};
         ANALYZE TABLE t"
    ))
    .unwrap();
    kill_and_resume(
        &from,
        &mut c,
        "it_resume_my",
        &["--partition-on", "id", "--partitions", "8", "--jobs", "2"],
    );
}

/// The chunks committed so far into the staging tables of the MariaDB database of `my`.
fn committed_chunks_my(my: &mut mysql::Conn) -> i64 {
    use mysql::prelude::Queryable;
    let tables: Vec<String> = my
        .query(
            "SELECT TABLE_NAME FROM information_schema.TABLES
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '\\_ferry\\_%\\_p'",
        )
        .unwrap();
    tables
        .iter()
        .map(|t| {
            my.query_first::<i64, _>(format!("SELECT COUNT(*) FROM `{t}`"))
                .ok()
                .flatten()
                .unwrap_or(0)
        })
        .sum()
}

/// The MariaDB table `t` holds exactly the source's rows, and no ferry table is left beside it.
fn assert_exact_my(my: &mut mysql::Conn, what: &str) {
    use mysql::prelude::Queryable;
    let row: (i64, i64, i64, i64, i64) = my
        .query_first(
            "SELECT COUNT(*), COUNT(DISTINCT id), MIN(id), MAX(id),
                    SUM(s = LPAD(id, 50, '0') AND v = id * 3) FROM t",
        )
        .unwrap()
        .unwrap();
    assert_eq!(row, (ROWS, ROWS, 1, ROWS, ROWS), "{what}");
    let left: Vec<String> = my
        .query(
            "SELECT TABLE_NAME FROM information_schema.TABLES
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> 't'",
        )
        .unwrap();
    assert!(left.is_empty(), "{what}: left behind: {left:?}");
}

#[test]
fn pg_to_mariadb_killed_runs_resume_exactly_once() {
    let Some((to, mut my)) = crate::mysql::fresh_db("it_resume_tomy") else {
        return;
    };
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_resume_tomysrc");
    pg_source_table(&mut c, "it_resume_tomysrc");
    let from = format!("{url}?schema=it_resume_tomysrc");
    let mut watch = crate::mysql::fresh_db_conn(&to);
    kill_and_resume_into(
        &from,
        &to,
        &["--partitions", "8", "--jobs", "2"],
        &mut || committed_chunks_my(&mut watch),
        &mut |what| assert_exact_my(&mut my, what),
    );
}

/// Ctrl-C into MariaDB: the one line names the kept chunks, the old table is as it was, and
/// the resume completes it exactly.
#[test]
fn ctrl_c_into_mariadb_keeps_committed_chunks_and_resume_completes() {
    use mysql::prelude::Queryable;
    let Some((to, mut my)) = crate::mysql::fresh_db("it_resume_intmy") else {
        return;
    };
    my.query_drop(
        "CREATE TABLE t (id bigint, s text, v bigint); INSERT INTO t VALUES (0, 'old', 0)",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_source(dir.path());
    let from = format!("{}?partition_rows=100000", sqlite_url(&db));
    let all = [
        from.as_str(),
        to.as_str(),
        "--table",
        "t",
        "--if-exists",
        "replace",
        "--jobs",
        "2",
    ];
    let mut watch = crate::mysql::fresh_db_conn(&to);
    let (code, err) = killed_when(&all, "-INT", || committed_chunks_my(&mut watch) >= 2);
    assert_eq!(code, 130, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("the chunks committed are kept for --resume: `it_resume_intmy`.`t` (")
            && err.contains("run the same command with --resume to continue"),
        "{err}"
    );
    assert!(!err.contains(":ferry@"), "no password: {err}");
    let old: Vec<(i64, String)> = my.query("SELECT id, s FROM t").unwrap();
    assert_eq!(old, vec![(0, "old".to_string())], "the table is as it was");
    let t = resume(&all);
    assert!(t["chunks_resumed"].as_u64().unwrap() >= 2, "{t}");
    assert_exact_my(&mut my, "after Ctrl-C");
}

#[test]
fn sqlite_to_pg_killed_runs_resume_exactly_once() {
    let Some((_, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_resume_sq");
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_source(dir.path());
    let from = format!("{}?partition_rows=125000", sqlite_url(&db));
    kill_and_resume(&from, &mut c, "it_resume_sq", &["--jobs", "2"]);
}

/// Ctrl-C: one line saying the target's tables are as they were and which chunks are kept;
/// the table is unchanged until the resume completes it.
#[test]
fn ctrl_c_keeps_committed_chunks_and_resume_completes() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_resume_int");
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_source(dir.path());
    c.batch_execute("CREATE TABLE it_resume_int.t (id bigint, s text, v bigint); INSERT INTO it_resume_int.t VALUES (0, 'old', 0)")
        .unwrap();
    let from = format!("{}?partition_rows=100000", sqlite_url(&db));
    let to = format!("{url}?schema=it_resume_int");
    let args = ["--table", "t", "--if-exists", "replace", "--jobs", "2"];
    let all: Vec<&str> = [from.as_str(), to.as_str()]
        .into_iter()
        .chain(args)
        .collect();
    let mut watch = crate::postgres::pg().unwrap().1;
    let (code, err) = killed_when(&all, "-INT", || {
        committed_chunks(&mut watch, "it_resume_int") >= 2
    });
    assert_eq!(code, 130, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(
            "interrupted: the target's tables are as they were; the chunks committed \
                      are kept for --resume: \"it_resume_int\".\"t\" ("
        ) && err.contains("run the same command with --resume to continue"),
        "{err}"
    );
    assert!(!err.contains(":ferry@"), "no password: {err}");
    let old: i64 = c
        .query_one("SELECT count(*) FROM it_resume_int.t WHERE s = 'old'", &[])
        .unwrap()
        .get(0);
    assert_eq!(old, 1, "the table is as it was");
    let t = resume(&all);
    assert!(t["chunks_resumed"].as_u64().unwrap() > 0, "{t}");
    assert_exact(&mut c, "it_resume_int", "after Ctrl-C");
}

/// SIGTERM while the swap waits on a lock another session holds on the target table: the wait
/// is cancelled, the run stops with the one line (exit 130), the old table is as it was and the
/// chunks are kept; once the lock is gone, the resume completes it.
#[test]
fn sigterm_while_the_swap_waits_on_a_lock_stops_the_run() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_resume_lock");
    c.batch_execute("CREATE TABLE it_resume_lock.t (id bigint, s text, v bigint); INSERT INTO it_resume_lock.t VALUES (0, 'old', 0)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_source(dir.path());
    let from = format!("{}?partition_rows=250000", sqlite_url(&db));
    let app = "ferry_it_lockwait";
    let to = crate::postgres::with_application_name(&format!("{url}?schema=it_resume_lock"), app);
    let all = [
        from.as_str(),
        to.as_str(),
        "--table",
        "t",
        "--if-exists",
        "replace",
    ];
    // A reader of the old table, its transaction open: the swap waits for it.
    let mut reader = crate::postgres::pg().unwrap().1;
    reader
        .batch_execute("BEGIN; SELECT count(*) FROM it_resume_lock.t")
        .unwrap();
    let mut watch = crate::postgres::pg().unwrap().1;
    let (code, err) = killed_when(&all, "-TERM", || {
        watch
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
                 AND wait_event_type = 'Lock' AND query LIKE '%RENAME TO%'",
                &[&app],
            )
            .unwrap()
            .get::<_, i64>(0)
            > 0
    });
    assert_eq!(code, 130, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("interrupted") && err.contains("kept for --resume"),
        "{err}"
    );
    let old: i64 = reader
        .query_one("SELECT count(*) FROM it_resume_lock.t WHERE s = 'old'", &[])
        .unwrap()
        .get(0);
    assert_eq!(old, 1, "the table is as it was");
    reader.batch_execute("COMMIT").unwrap();
    let t = resume(&all);
    assert_eq!(
        t["rows_read"].as_u64(),
        Some(0),
        "every chunk was kept: {t}"
    );
    assert_exact(&mut c, "it_resume_lock", "after SIGTERM in the swap");
}

/// Ctrl-C while a truncate or an append waits on a lock another session holds on the target:
/// the wait is cancelled through the server, the run stops with the one line at once, and the
/// table is as it was (the lock's holder sees its rows).
#[test]
fn ctrl_c_while_a_truncate_or_an_append_waits_on_a_lock_stops_the_run() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_resume_tlock");
    c.batch_execute(
        "CREATE TABLE it_resume_tlock.t (id bigint, s text, v bigint); \
         INSERT INTO it_resume_tlock.t VALUES (0, 'old', 0)",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_source(dir.path());
    let from = sqlite_url(&db);
    for (mode, waits_on) in [("truncate", "TRUNCATE"), ("append", "COPY")] {
        let app = format!("ferry_it_tlock_{mode}");
        let to =
            crate::postgres::with_application_name(&format!("{url}?schema=it_resume_tlock"), &app);
        let all = [
            from.as_str(),
            to.as_str(),
            "--table",
            "t",
            "--if-exists",
            mode,
        ];
        // Another session holds the table: ferry's TRUNCATE (or its COPY) waits for it.
        let mut holder = crate::postgres::pg().unwrap().1;
        holder
            .batch_execute("BEGIN; LOCK TABLE it_resume_tlock.t IN ACCESS EXCLUSIVE MODE")
            .unwrap();
        let mut watch = crate::postgres::pg().unwrap().1;
        let mut signalled = None;
        let (code, err) = killed_when(&all, "-INT", || {
            let waiting = watch
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
                     AND wait_event_type = 'Lock' AND query LIKE $2",
                    &[&app, &format!("%{waits_on}%")],
                )
                .unwrap()
                .get::<_, i64>(0)
                > 0;
            if waiting {
                signalled = Some(std::time::Instant::now());
            }
            waiting
        });
        let stopped_in = signalled.expect("ferry waited on the lock").elapsed();
        assert_eq!(code, 130, "{mode}: {err}");
        assert_eq!(err.lines().count(), 1, "{mode}: {err}");
        assert!(err.contains("interrupted"), "{mode}: {err}");
        assert!(
            stopped_in < std::time::Duration::from_secs(5),
            "{mode}: the run stopped {stopped_in:?} after the signal, the lock still held"
        );
        holder.batch_execute("COMMIT").unwrap();
        let rows: Vec<(i64, String)> = c
            .query("SELECT id, s FROM it_resume_tlock.t", &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert_eq!(
            rows,
            vec![(0, "old".to_string())],
            "{mode}: the table is as it was"
        );
    }
}

/// `--no-chunks`: the table is loaded in one piece; Ctrl-C keeps nothing, and `--resume` with it
/// is a usage error.
#[test]
fn no_chunks_loads_in_one_piece_and_keeps_nothing() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_resume_whole");
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_source(dir.path());
    let from = format!("{}?partition_rows=100000", sqlite_url(&db));
    let to = format!("{url}?schema=it_resume_whole");
    let args = [
        from.as_str(),
        to.as_str(),
        "--table",
        "t",
        "--jobs",
        "2",
        "--no-chunks",
    ];
    let mut watch = crate::postgres::pg().unwrap().1;
    let staged = |c: &mut Client| -> i64 {
        c.query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'it_resume_whole' AND relname LIKE '\\_ferry\\_%'",
            &[],
        )
        .unwrap()
        .get(0)
    };
    let started = std::time::Instant::now();
    let (code, err) = killed_when(&args, "-INT", || {
        staged(&mut watch) > 0 && started.elapsed() > Duration::from_millis(500)
    });
    assert_eq!(code, 130, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("nothing was committed") && !err.contains("--resume"),
        "{err}"
    );
    assert_eq!(committed_chunks(&mut c, "it_resume_whole"), 0);
    assert_eq!(staged(&mut c), 0, "no staging table left");
    let out = ferry()
        .args([
            "copy",
            args[0],
            args[1],
            "--table",
            "t",
            "--no-chunks",
            "--resume",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--no-chunks") && err.contains("--resume"),
        "{err}"
    );
    ferry().arg("copy").args(args).arg("-q").assert().success();
    assert_exact(&mut c, "it_resume_whole", "--no-chunks");
}

/// A resume of another plan (here: other partitions) is refused, naming the kept chunks; the
/// run without --resume drops them and loads the table from the start; `--resume` into a
/// target that keeps no chunks is refused before anything moves.
#[test]
fn resume_of_a_changed_plan_is_refused_and_a_plain_run_starts_again() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_resume_plan");
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_source(dir.path());
    let to = format!("{url}?schema=it_resume_plan");
    let from = format!("{}?partition_rows=100000", sqlite_url(&db));
    let mut watch = crate::postgres::pg().unwrap().1;
    let (code, err) = killed_when(&[&from, &to, "--table", "t", "--jobs", "2"], "-INT", || {
        committed_chunks(&mut watch, "it_resume_plan") >= 1
    });
    assert_eq!(code, 130, "{err}");
    assert!(err.contains("kept for --resume"), "{err}");
    // Other partitions: another plan.
    let other = format!("{}?partition_rows=50000", sqlite_url(&db));
    let err = crate::support::stderr_of(&["copy", &other, &to, "--table", "t", "--resume"], 2);
    assert!(
        err.contains("cannot resume") && err.contains("are of another plan"),
        "{err}"
    );
    // Without --resume: loaded from the start, nothing of the earlier run left.
    ferry()
        .args(["copy", &other, &to, "--table", "t", "-q"])
        .assert()
        .success();
    assert_exact(&mut c, "it_resume_plan", "plain run after a kept run");
    // A target that keeps no chunks.
    let out = dir.path().join("csv");
    let err = crate::support::stderr_of(
        &[
            "copy",
            &from,
            &format!("csv://{}", out.display()),
            "--table",
            "t",
            "--resume",
        ],
        2,
    );
    assert!(
        err.contains("--resume") && err.contains("keeps no resumable state"),
        "{err}"
    );
    assert!(!out.exists());
}

/// The chunks committed so far into the snapshot `root` (their records).
fn snapshot_chunks(root: &std::path::Path) -> usize {
    let Ok(plans) = std::fs::read_dir(root.join(".ferry-staging/chunks/t")) else {
        return 0;
    };
    plans
        .flatten()
        .filter_map(|p| std::fs::read_dir(p.path()).ok())
        .flat_map(|files| files.flatten())
        .filter(|f| f.file_name().to_string_lossy().ends_with(".json"))
        .count()
}

/// The snapshot's table `t`, read with the parquet crate from the files its manifest lists:
/// every row of the source once, and (when `settled`) nothing of ferry's staging left.
fn assert_snapshot_exact(root: &std::path::Path, settled: bool, what: &str) {
    use arrow::array::{Array, Int64Array, StringArray};
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("_ferry_manifest.json")).unwrap())
            .unwrap();
    let table = &manifest["tables"][0];
    assert_eq!(table["rows"].as_i64(), Some(ROWS), "{what}");
    let mut seen = vec![false; ROWS as usize + 1];
    for f in table["files"].as_array().unwrap() {
        let file = std::fs::File::open(root.join(f["path"].as_str().unwrap())).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let id = batch
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            let s = batch
                .column(1)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap();
            let v = batch
                .column(2)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            for i in 0..batch.num_rows() {
                let k = id.value(i);
                assert!(!seen[k as usize], "{what}: id {k} twice");
                seen[k as usize] = true;
                assert_eq!(s.value(i), format!("{k:050}"), "{what}");
                assert_eq!(v.value(i), k * 3, "{what}");
                assert!(!s.is_null(i));
            }
        }
    }
    assert!(seen[1..].iter().all(|&b| b), "{what}: a row is missing");
    if !settled {
        return;
    }
    assert!(
        !root.join(".ferry-staging").exists(),
        "{what}: staging left"
    );
    assert!(!root.join("_ferry_incomplete").exists(), "{what}");
}

/// SQLite into a new Parquet snapshot, killed with `kill -9` early, after one chunk and after
/// three: each chunk's files and record are committed in the snapshot's staging directory,
/// and `--resume` writes only the others; the manifest, published once, lists every row once.
#[test]
fn sqlite_to_parquet_killed_runs_resume_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_source(dir.path());
    let from = format!("{}?partition_rows=100000", sqlite_url(&db));
    for (trial, chunks) in [0usize, 1, 3].into_iter().enumerate() {
        let root = dir.path().join(format!("snap{trial}"));
        let to = format!("parquet://{}", root.display());
        let args = [from.as_str(), to.as_str(), "--table", "t", "--jobs", "2"];
        let started = std::time::Instant::now();
        let (code, err) = killed_when(&args, "-KILL", || match chunks {
            0 => started.elapsed() >= Duration::from_millis(300),
            n => snapshot_chunks(&root) >= n,
        });
        assert_eq!(code, -9, "trial {trial}: killed mid-run: {err}");
        assert!(
            !root.join("_ferry_manifest.json").exists(),
            "trial {trial}: not published"
        );
        let t = resume(&args);
        let done = t["chunks_resumed"].as_u64().unwrap();
        assert!(done as usize >= chunks && done < 10, "trial {trial}: {t}");
        assert_eq!(
            t["rows_read"].as_u64().unwrap() + t["rows_resumed"].as_u64().unwrap(),
            ROWS as u64,
            "{t}"
        );
        assert_snapshot_exact(
            &root,
            true,
            &format!("trial {trial} (killed after {chunks} chunks)"),
        );
    }
    // Ctrl-C: the one line names the chunks kept; the snapshot's old table stays loadable.
    let root = dir.path().join("snap0");
    let to = format!("parquet://{}", root.display());
    let args = [
        from.as_str(),
        to.as_str(),
        "--table",
        "t",
        "--jobs",
        "2",
        "--if-exists",
        "replace",
    ];
    let (code, err) = killed_when(&args, "-INT", || snapshot_chunks(&root) >= 2);
    assert_eq!(code, 130, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("the chunks committed are kept for --resume: table \"t\" ("),
        "{err}"
    );
    assert_snapshot_exact(&root, false, "the old table, after Ctrl-C");
    let t = resume(&args);
    assert!(t["chunks_resumed"].as_u64().unwrap() >= 2, "{t}");
    assert_snapshot_exact(&root, true, "replaced after Ctrl-C");
}

/// The chunks committed so far into the staging tables of the SQLite database `db` (0 while it
/// does not exist or is being committed).
fn committed_chunks_sqlite(db: &std::path::Path) -> i64 {
    let Ok(c) =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return 0;
    };
    let count = || -> rusqlite::Result<i64> {
        let tables: Vec<String> = c
            .prepare(
                r"SELECT name FROM sqlite_master WHERE type = 'table'
                 AND name LIKE '\_ferry\_%\_p' ESCAPE '\'",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        tables
            .iter()
            .map(|t| {
                c.query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .sum()
    };
    count().unwrap_or(0)
}

/// The SQLite database `db` holds exactly the source's rows in `t` (as [`assert_exact`]), and
/// nothing of ferry's: no other table, no lock file.
fn assert_exact_sqlite(db: &std::path::Path, what: &str) {
    let c = rusqlite::Connection::open(db).unwrap();
    let row: (i64, i64, i64, i64, i64) = c
        .query_row(
            "SELECT count(*), count(DISTINCT id), min(id), max(id),
                    sum(s = printf('%050d', id) AND v = id * 3 AND typeof(v) = 'integer')
             FROM t",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(row, (ROWS, ROWS, 1, ROWS, ROWS), "{what}");
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(tables, ["t"], "{what}: left behind");
    // The key the source declared is the target's.
    let pk: i64 = c
        .query_row(
            "SELECT count(*) FROM pragma_table_info('t') WHERE pk = 1 AND name = 'id'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pk, 1, "{what}: primary key");
    let mut lock = db.as_os_str().to_owned();
    lock.push(".ferry-lock");
    assert!(
        !std::path::Path::new(&lock).exists(),
        "{what}: lock file left"
    );
}

/// Into SQLite: a run killed with `kill -9` before any chunk, after one and after three is
/// continued by `--resume` from the chunks committed, exactly once, from a SQLite and from a
/// PostgreSQL source. Chunks commit in groups of `?commit_mib=` (2 MiB here, so that a kill
/// after three chunks lands before the last).
#[test]
fn killed_runs_into_sqlite_resume_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let src = sqlite_source(dir.path());
    let db = dir.path().join("target.sqlite");
    let from = format!("{}?partition_rows=100000", sqlite_url(&src));
    kill_and_resume_into(
        &from,
        &format!("{}?commit_mib=2", sqlite_url(&db)),
        &["--jobs", "2"],
        &mut || committed_chunks_sqlite(&db),
        &mut |what| assert_exact_sqlite(&db, what),
    );
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_resume_tosqlite");
    pg_source_table(&mut c, "it_resume_tosqlite");
    let db = dir.path().join("from_pg.sqlite");
    kill_and_resume_into(
        &format!("{url}?schema=it_resume_tosqlite"),
        &format!("{}?commit_mib=2", sqlite_url(&db)),
        &["--partitions", "8", "--jobs", "2"],
        &mut || committed_chunks_sqlite(&db),
        &mut |what| assert_exact_sqlite(&db, what),
    );
}

/// Ctrl-C into SQLite: one line naming the chunks kept; the old table is as it was until the
/// resume completes it, and a resume of another plan is refused.
#[test]
fn ctrl_c_into_sqlite_keeps_committed_chunks_and_resume_completes() {
    let dir = tempfile::tempdir().unwrap();
    let src = sqlite_source(dir.path());
    let db = dir.path().join("target.sqlite");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE t (id INTEGER, s TEXT, v INTEGER); INSERT INTO t VALUES (0, 'old', 0);
             CREATE VIEW tv AS SELECT count(*) AS n FROM t;",
        )
        .unwrap();
    let from = format!("{}?partition_rows=100000", sqlite_url(&src));
    // Small commit groups: two chunks are committed early in the run, so the signal comes
    // well before its end (with 32 MiB groups the first commit can be its last but one).
    let to = format!("{}?commit_mib=2", sqlite_url(&db));
    let args = [
        from.as_str(),
        to.as_str(),
        "--table",
        "t",
        "--if-exists",
        "replace",
        "--jobs",
        "2",
    ];
    let (code, err) = killed_when(&args, "-INT", || committed_chunks_sqlite(&db) >= 2);
    assert_eq!(code, 130, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(
            "interrupted: the target's tables are as they were; the chunks committed are kept \
             for --resume: \"t\" ("
        ),
        "{err}"
    );
    let c = rusqlite::Connection::open(&db).unwrap();
    let old: (i64, String) = c
        .query_row("SELECT count(*), max(s) FROM t", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(old, (1, "old".to_string()), "the table is as it was");
    // Other partitions: another plan, refused while its chunks are kept.
    let other = format!("{}?partition_rows=50000", sqlite_url(&src));
    let err = crate::support::stderr_of(
        &[
            "copy",
            &other,
            &to,
            "--table",
            "t",
            "--if-exists",
            "replace",
            "--resume",
        ],
        2,
    );
    assert!(
        err.contains("cannot resume") && err.contains("are of another plan"),
        "{err}"
    );
    let t = resume(&args);
    assert!(t["chunks_resumed"].as_u64().unwrap() >= 2, "{t}");
    let mut views = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'view'")
        .unwrap();
    let views: Vec<String> = views
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(views, ["tv"]);
    // The view on the replaced table reads the new one.
    let n: i64 = c.query_row("SELECT n FROM tv", [], |r| r.get(0)).unwrap();
    assert_eq!(n, ROWS);
    c.execute_batch("DROP VIEW tv").unwrap();
    assert_exact_sqlite(&db, "after Ctrl-C");
}

/// Into DuckDB, which lets no other process open a file being written: a run is killed at
/// several points of its measured duration, the chunks it committed are counted once it is
/// dead (through the DuckDB library, not ferry), and `--resume` takes exactly those and reads
/// the others; the table equals the source with no duplicate key and nothing of ferry's left.
/// Chunks commit in groups of `?commit_mib=1`.
#[test]
fn killed_runs_into_duckdb_resume_exactly_once() {
    let Some(drivers) = crate::adbc::drivers() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = sqlite_source(dir.path());
    let from = format!("{}?partition_rows=100000", sqlite_url(&src));
    let db = dir.path().join("t.duckdb");
    let to = format!(
        "duckdb://{}?commit_mib=1&driver={}",
        db.display(),
        drivers.join("libduckdb.so").display()
    );
    let args = [
        from.as_str(),
        to.as_str(),
        "--table",
        "t",
        "--if-exists",
        "replace",
        "--jobs",
        "2",
    ];
    let duck = |sql: &str| crate::relations::duck(&drivers, &db, &[sql]);
    let started = std::time::Instant::now();
    ferry().arg("copy").args(args).arg("-q").assert().success();
    let whole = started.elapsed();
    let mut partial = false;
    for (trial, at) in [0.2, 0.5, 0.8].into_iter().enumerate() {
        let begun = std::time::Instant::now();
        killed_when(&args, "-KILL", || begun.elapsed() >= whole.mul_f64(at));
        let progress = duck(
            "SELECT table_name FROM information_schema.tables
             WHERE table_name LIKE '\\_ferry\\_%\\_p' ESCAPE '\\'",
        );
        let committed: u64 = progress
            .iter()
            .map(|r| {
                let t = r[0].clone().unwrap();
                duck(&format!("SELECT CAST(count(*) AS VARCHAR) FROM \"{t}\""))[0][0]
                    .clone()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            })
            .sum();
        let t = &resume(&args);
        assert_eq!(
            t["chunks_resumed"].as_u64(),
            Some(committed),
            "trial {trial}: {t}"
        );
        assert_eq!(
            t["rows_read"].as_u64().unwrap() + t["rows_resumed"].as_u64().unwrap(),
            ROWS as u64,
            "trial {trial}: {t}"
        );
        partial |= committed > 0 && committed < 10;
        let check = duck(
            "SELECT CAST(count(*) AS VARCHAR), CAST(count(DISTINCT id) AS VARCHAR),
                    CAST(min(id) AS VARCHAR), CAST(max(id) AS VARCHAR),
                    CAST(bool_and(s = lpad(CAST(id AS VARCHAR), 50, '0') AND v = id * 3) AS VARCHAR)
             FROM t",
        );
        let n = ROWS.to_string();
        assert_eq!(
            check[0],
            [
                Some(n.clone()),
                Some(n.clone()),
                Some("1".into()),
                Some(n),
                Some("true".into())
            ],
            "trial {trial}"
        );
        let left = duck("SELECT table_name FROM information_schema.tables WHERE table_name <> 't'");
        assert!(left.is_empty(), "trial {trial}: left behind: {left:?}");
    }
    assert!(
        partial,
        "a resume took some chunks from the earlier run and read the others again ({whole:?})"
    );
    // Ctrl-C: the one line names what is kept; a resume of another plan is refused.
    let begun = std::time::Instant::now();
    let (code, err) = killed_when(&args, "-INT", || begun.elapsed() >= whole.mul_f64(0.6));
    if code == 130 && err.contains("kept for --resume") {
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("\"t\" ("), "{err}");
        let other = format!("{}?partition_rows=50000", sqlite_url(&src));
        let mut changed = vec!["copy"];
        changed.extend(args);
        changed[1] = other.as_str();
        changed.push("--resume");
        let err = crate::support::stderr_of(&changed, 2);
        assert!(
            err.contains("cannot resume") && err.contains("are of another plan"),
            "{err}"
        );
        assert_eq!(err.matches("table \"t\"").count(), 1, "said once: {err}");
    }
}
