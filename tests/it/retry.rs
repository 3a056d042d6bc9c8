//! Retries: a connection of a running copy killed by the server (`pg_terminate_backend`,
//! MariaDB `KILL CONNECTION`) is a transient failure, and the run is tried again (`--retries`,
//! default 3): into PostgreSQL from the chunks committed, elsewhere from the start (a failed
//! run left the target as it was); the result is exact. With `--retries 0` the run fails at
//! once with one line naming the endpoint (no password), the table and the chunk, and the
//! target is as it was.

use std::time::Duration;

use mysql::prelude::Queryable;

use crate::resume::{acted_when, assert_exact, committed_chunks, resume, ROWS};

/// Runs `ferry copy ARGS --report`, doing `kill` once `ready`; its exit code, stderr and
/// report.
fn run_killing(
    args: &[&str],
    ready: impl FnMut() -> bool,
    kill: impl FnMut(),
) -> (i32, String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let report_arg = report.to_str().unwrap().to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--report", &report_arg]);
    let (code, err) = acted_when(&all, |_| {}, ready, kill);
    let r = std::fs::read_to_string(&report)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(serde_json::Value::Null);
    (code, err, r)
}

/// Terminates the PostgreSQL backends of application `app` (the test's own runs).
fn terminate(app: &str) {
    let (_, mut c) = crate::postgres::pg().unwrap();
    let n: i64 = c
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name = $1",
            &[&app],
        )
        .unwrap()
        .get(0);
    assert!(n > 0, "no backend of {app} to terminate");
}

/// Kills the MariaDB connections to database `db` running a statement like `like`.
fn kill_connections(db: &str, like: &str) -> bool {
    let base = crate::support::server_url(
        "FERRY_TEST_MYSQL_URL",
        "mysql://ferry:ferry@127.0.0.1:3306/ferry_test",
    )
    .unwrap();
    let mut c = mysql::Conn::new(base.as_str()).unwrap();
    let ids: Vec<u64> = c
        .exec(
            "SELECT id FROM information_schema.processlist
             WHERE db = ? AND id <> CONNECTION_ID() AND info LIKE ?",
            (db, like),
        )
        .unwrap();
    for id in &ids {
        let _ = c.query_drop(format!("KILL CONNECTION {id}"));
    }
    !ids.is_empty()
}

fn pg_source(c: &mut postgres::Client, schema: &str) {
    crate::postgres::fresh_schema(c, schema);
    c.batch_execute(&format!(
        "CREATE TABLE {schema}.t (id bigint PRIMARY KEY, s text, v bigint);
         INSERT INTO {schema}.t
             SELECT i, lpad(i::text, 50, '0'), i * 3 FROM generate_series(1, {ROWS}) i;
         ANALYZE {schema}.t"
    ))
    .unwrap();
}

#[test]
fn lost_postgres_connections_are_retried_from_the_committed_chunks() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    pg_source(&mut c, "it_retry_pgsrc");
    crate::postgres::fresh_schema(&mut c, "it_retry_pg");
    let app = "ferry_it_retry";
    let from = format!("{url}?schema=it_retry_pgsrc&application_name={app}");
    let to = format!("{url}?schema=it_retry_pg&application_name={app}");
    let args = [
        "copy",
        &from,
        &to,
        "--table",
        "t",
        "--if-exists",
        "replace",
        "--partitions",
        "8",
        "--jobs",
        "2",
    ];
    let mut watch = crate::postgres::pg().unwrap().1;
    // Every connection of the run, source and target, terminated once two chunks are in.
    let (code, err, r) = run_killing(
        &args[1..],
        || committed_chunks(&mut watch, "it_retry_pg") >= 2,
        || terminate(app),
    );
    assert_eq!(code, 0, "{err}");
    let t = &r["tables"][0];
    assert!(
        r["retried_after"].as_array().is_some_and(|a| !a.is_empty()),
        "{r}"
    );
    assert!(t["chunks_resumed"].as_u64().unwrap() >= 2, "{t}");
    assert_eq!(
        t["rows_read"].as_u64().unwrap() + t["rows_resumed"].as_u64().unwrap(),
        ROWS as u64,
        "{t}"
    );
    assert_exact(&mut c, "it_retry_pg", "after a retry");

    // --retries 0: one line naming the endpoint and the table, the table as it was; the
    // committed chunks are kept, and --resume completes the copy.
    c.batch_execute("DROP TABLE it_retry_pg.t; CREATE TABLE it_retry_pg.t (id bigint, s text, v bigint); INSERT INTO it_retry_pg.t VALUES (0, 'old', 0)")
        .unwrap();
    let mut fast: Vec<&str> = args[1..].to_vec();
    fast.extend(["--retries", "0"]);
    let (code, err, r) = run_killing(
        &fast,
        || committed_chunks(&mut watch, "it_retry_pg") >= 2,
        || terminate(app),
    );
    assert_eq!(code, 7, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("postgres://ferry@127.0.0.1:5432/ferry_test")
            && err.contains("\"t\"")
            && err.contains("kept for --resume"),
        "{err}"
    );
    assert!(!err.contains(":ferry@"), "no password: {err}");
    assert_eq!(r["status"], "failed", "{r}");
    let old: Vec<(i64, String)> = c
        .query("SELECT id, s FROM it_retry_pg.t", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(old, vec![(0, "old".to_string())], "the table is as it was");
    let t = resume(&args[1..]);
    assert!(t["chunks_resumed"].as_u64().unwrap() >= 2, "{t}");
    assert_exact(&mut c, "it_retry_pg", "--resume after --retries 0");
}

/// MariaDB's connections killed: a MariaDB source's (into PostgreSQL, which keeps the chunks
/// committed) and a MariaDB target's (loaded again from the start).
#[test]
fn killed_mariadb_connections_are_retried_exactly() {
    let Some((my_url, mut my)) = crate::mysql::fresh_db("it_retry_my") else {
        return;
    };
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    my.query_drop(format!(
        "CREATE TABLE src (id bigint PRIMARY KEY, s varchar(50), v bigint);
         INSERT INTO src SELECT seq, LPAD(seq, 50, '0'), seq * 3 FROM seq_1_to_{ROWS};
         ANALYZE TABLE src"
    ))
    .unwrap();
    crate::postgres::fresh_schema(&mut c, "it_retry_my");
    let to = format!("{url}?schema=it_retry_my");
    let mut watch = crate::postgres::pg().unwrap().1;
    let (code, err, r) = run_killing(
        &[
            &my_url,
            &to,
            "--table",
            "src",
            "--target-table",
            "t",
            "--partition-on",
            "id",
            "--partitions",
            "8",
            "--jobs",
            "2",
        ],
        || committed_chunks(&mut watch, "it_retry_my") >= 1,
        || assert!(kill_connections("it_retry_my", "SELECT%")),
    );
    assert_eq!(code, 0, "{err}");
    assert!(!r["retried_after"].as_array().unwrap().is_empty(), "{r}");
    assert!(
        r["tables"][0]["chunks_resumed"].as_u64().unwrap() >= 1,
        "{r}"
    );
    assert_exact(&mut c, "it_retry_my", "MariaDB source killed");

    // PostgreSQL -> MariaDB, the target's LOAD DATA connections killed.
    pg_source(&mut c, "it_retry_mysrc");
    let from = format!("{url}?schema=it_retry_mysrc");
    let target_exact = |my: &mut mysql::Conn| {
        let row: (i64, i64, i64, i64, i64) = my
            .query_first(
                "SELECT count(*), count(DISTINCT id), min(id), max(id),
                        sum(s = LPAD(id, 50, '0') AND v = id * 3) FROM t",
            )
            .unwrap()
            .unwrap();
        assert_eq!(row, (ROWS, ROWS, 1, ROWS, ROWS));
        let tables: Vec<String> = my.query("SHOW TABLES").unwrap();
        assert_eq!(tables, vec!["src".to_string(), "t".to_string()]);
    };
    let loading = || kill_connections("it_retry_my", "LOAD DATA%");
    let mut started = None;
    let (code, err, r) = run_killing(
        &[&from, &my_url, "--table", "t", "--jobs", "2"],
        || {
            // Some batches in: LOAD DATA has run for a while.
            let t = *started.get_or_insert_with(std::time::Instant::now);
            t.elapsed() > Duration::from_millis(400)
        },
        || {
            let until = std::time::Instant::now() + Duration::from_secs(20);
            while !loading() && std::time::Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
        },
    );
    assert_eq!(code, 0, "{err}");
    assert!(!r["retried_after"].as_array().unwrap().is_empty(), "{r}");
    target_exact(&mut my);

    // --retries 0: one line, the table as it was.
    let (code, err, _) = run_killing(
        &[
            &from,
            &my_url,
            "--table",
            "t",
            "--if-exists",
            "replace",
            "--jobs",
            "2",
            "--retries",
            "0",
        ],
        || true,
        || {
            let until = std::time::Instant::now() + Duration::from_secs(20);
            while !loading() && std::time::Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
        },
    );
    assert_eq!(code, 7, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("mysql://ferry@127.0.0.1:3306/it_retry_my")
            && err.contains("`t`")
            && err.contains("the connection to the server was lost"),
        "{err}"
    );
    target_exact(&mut my);
}
