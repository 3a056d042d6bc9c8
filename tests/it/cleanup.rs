//! `ferry cleanup TARGET`: what a run killed with SIGKILL leaves in PostgreSQL, MariaDB, SQLite,
//! a Parquet snapshot and beside a single Parquet file is removed; what a running ferry uses is
//! listed as in use and left alone, and that run still succeeds; `--dry-run` changes nothing;
//! user tables (`_ferryish`, `ferry_x`) are never touched; `--all` also removes `_ferry_loads`
//! and a snapshot's lock file.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::support::{ferry, sqlite_url};

/// A SQLite source with a table `t` of `rows` rows, long enough to load that a run can be
/// caught (and killed) mid-load.
fn big_source(dir: &Path, rows: i64) -> String {
    let path = dir.join("big.sqlite");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(&format!(
            "CREATE TABLE t (id INTEGER, pad TEXT);
             WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {rows})
             INSERT INTO t SELECT i, printf('%0100d', i) FROM g;"
        ))
        .unwrap();
    sqlite_url(&path)
}

/// Starts `ferry copy FROM TO EXTRA... -q` in the background.
fn start_copy(from: &str, to: &str, extra: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("ferry"))
        .args(["copy", from, to, "-q", "--batch-rows", "2000"])
        .args(extra)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (up to a minute) until `cond` holds, while `child` (if any) still runs.
fn wait_for(what: &str, child: &mut Child, mut cond: impl FnMut() -> bool) {
    let started = Instant::now();
    while !cond() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the copy ended before {what}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills `child` with SIGKILL: nothing of it runs its cleanup.
fn kill9(mut child: Child) {
    child.kill().unwrap();
    let _ = child.wait();
}

/// Waits for a run and asserts it succeeded.
fn succeeds(child: Child) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the running copy still succeeds: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `ferry cleanup TARGET EXTRA... --json`, asserts exit 0, returns the report.
fn cleanup_json(target: &str, extra: &[&str]) -> Value {
    let out = ferry()
        .args(["cleanup", target, "--json"])
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `(object, action)` of every object of a report whose object contains `part`.
fn actions(report: &Value, part: &str) -> Vec<(String, String)> {
    report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["object"].as_str().unwrap().contains(part))
        .map(|o| {
            (
                o["object"].as_str().unwrap().to_string(),
                o["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The one action of the objects containing `part`.
fn action_of(report: &Value, part: &str) -> String {
    let a = actions(report, part);
    assert_eq!(a.len(), 1, "one object {part} in {report:#}");
    a[0].1.clone()
}

/// Runs cleanup with `--dry-run` until the object containing `part` is no longer in use (a
/// killed run's connection takes a moment to end on the server).
fn until_free(target: &str, part: &str) {
    let started = Instant::now();
    loop {
        let r = cleanup_json(target, &["--dry-run"]);
        if action_of(&r, part) == "would_remove" {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{part} is still in use: {r:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn cleanup_postgres_removes_a_killed_runs_staging_and_leaves_a_running_ones() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_cleanup");
    c.batch_execute(
        "CREATE TABLE it_cleanup._ferryish (a int); INSERT INTO it_cleanup._ferryish VALUES (1);
         CREATE TABLE it_cleanup.ferry_x (a int); INSERT INTO it_cleanup.ferry_x VALUES (2);
         CREATE TABLE it_cleanup._ferry_loads (snapshot text, tbl text)",
    )
    .unwrap();
    let dir = TempDir::new().unwrap();
    let src = big_source(dir.path(), 400_000);
    let target = format!("{url}?schema=it_cleanup");
    let tables = |c: &mut postgres::Client| -> BTreeSet<String> {
        c.query(
            "SELECT relname::text FROM pg_class
             WHERE relnamespace = 'it_cleanup'::regnamespace AND relkind = 'r'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    let staging_of = |c: &mut postgres::Client, t: &str| -> Vec<String> {
        tables(c)
            .into_iter()
            .filter(|n| n.starts_with(&format!("_ferry_{t}_")))
            // A chunked load's progress table (`..._p`) goes with its staging table.
            .filter(|n| !n.ends_with("_p"))
            .collect()
    };

    // A replace killed mid-load leaves its staging table.
    let mut killed = start_copy(&src, &target, &["--if-exists", "replace"]);
    wait_for("the staging table of t", &mut killed, || {
        !staging_of(&mut c, "t").is_empty()
    });
    kill9(killed);
    let left = staging_of(&mut c, "t");
    assert_eq!(left.len(), 1, "{left:?}");
    until_free(&target, &left[0]);

    // --dry-run lists it and changes nothing.
    let before = tables(&mut c);
    let dry = cleanup_json(&target, &["--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(action_of(&dry, &left[0]), "would_remove");
    assert_eq!(action_of(&dry, "_ferry_loads"), "kept");
    assert!(actions(&dry, "_ferryish").is_empty() && actions(&dry, "ferry_x").is_empty());
    assert_eq!(tables(&mut c), before);

    // A run that is loading: its staging table is in use, and the run still succeeds.
    let mut running = start_copy(&src, &target, &["--target-table", "u"]);
    wait_for("the staging table of u", &mut running, || {
        !staging_of(&mut c, "u").is_empty()
    });
    let live = staging_of(&mut c, "u");
    let out = ferry().args(["cleanup", &target]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let line = |action: &str, table: &str| format!("{action:<13}\"it_cleanup\".\"{table}\": ");
    assert!(text.contains(&line("removed", &left[0])), "{text}");
    assert!(
        text.contains(&format!(
            "{}a staging table of \"it_cleanup\".\"u\"; a running ferry holds the lock of its target\n",
            line("in use", &live[0])
        )),
        "{text}"
    );
    assert!(
        text.lines().last().unwrap().ends_with(
            "/ferry_test: 1 removed, 1 kept, 1 in use (left alone; run again once the run has ended)"
        ),
        "{text}"
    );
    assert!(!text.contains("ferry:ferry@"), "no password: {text}");
    succeeds(running);
    let n: i64 = c
        .query_one("SELECT count(*) FROM it_cleanup.u", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 400_000);
    assert_eq!(
        tables(&mut c),
        ["_ferry_loads", "_ferryish", "ferry_x", "u"]
            .map(String::from)
            .into(),
        "the leftover is gone, the user tables are there"
    );

    // --all removes the record too, and nothing else.
    let all = cleanup_json(&target, &["--all"]);
    assert_eq!(action_of(&all, "_ferry_loads"), "removed");
    assert_eq!(
        tables(&mut c),
        ["_ferryish", "ferry_x", "u"].map(String::from).into()
    );
    let again = cleanup_json(&target, &[]);
    assert!(again["objects"].as_array().unwrap().is_empty(), "{again:#}");
}

#[test]
fn cleanup_postgres_leaves_the_staging_an_append_is_loading() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_cleanup_app");
    // A time with time zone is loaded as text into a staging table, even by an append.
    c.batch_execute(
        "CREATE TABLE it_cleanup_app.src AS
             SELECT g AS id, repeat('y', 100) AS pad, '10:00+02'::timetz AS at
             FROM generate_series(1, 800000) g;
         CREATE TABLE it_cleanup_app.app (id int, pad text, at timetz);
         INSERT INTO it_cleanup_app.app VALUES (0, 'old', '09:00+00');",
    )
    .unwrap();
    let target = format!("{url}?schema=it_cleanup_app");
    let mut running = start_copy(
        &target,
        &target,
        &[
            "--table",
            "src",
            "--target-table",
            "app",
            "--if-exists",
            "append",
        ],
    );
    // Its COPY has the staging table locked.
    wait_for("the append's COPY", &mut running, || {
        c.query_one(
            "SELECT count(*) FROM pg_locks l JOIN pg_class k ON k.oid = l.relation
             WHERE k.relnamespace = 'it_cleanup_app'::regnamespace
               AND k.relname LIKE '\\_ferry\\_app\\_%'",
            &[],
        )
        .unwrap()
        .get::<_, i64>(0)
            > 0
    });
    let dry = cleanup_json(&target, &["--dry-run"]);
    assert_eq!(action_of(&dry, "_ferry_app_"), "in_use", "{dry:#}");
    let report = cleanup_json(&target, &[]);
    assert_eq!(action_of(&report, "_ferry_app_"), "in_use", "{report:#}");
    // The append holds its target's lock shared (and its COPY holds the staging table).
    let reason = report["objects"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("a running ferry holds the lock of its target")
            || reason.contains("holds a lock on it"),
        "{reason}"
    );
    succeeds(running);
    let n: i64 = c
        .query_one("SELECT count(*) FROM it_cleanup_app.app", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 800_001);
}

#[test]
fn cleanup_mariadb_removes_a_killed_runs_staging_and_leaves_a_running_ones() {
    use mysql::prelude::Queryable;
    let Some((url, mut c)) = crate::mysql::fresh_db("it_cleanup") else {
        return;
    };
    c.query_drop(
        "CREATE TABLE _ferryish (a int); INSERT INTO _ferryish VALUES (1);
         CREATE TABLE ferry_x (a int); INSERT INTO ferry_x VALUES (2);",
    )
    .unwrap();
    let dir = TempDir::new().unwrap();
    let src = big_source(dir.path(), 300_000);
    let mut tables = || -> BTreeSet<String> {
        c.query(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'it_cleanup'",
        )
        .unwrap()
        .into_iter()
        .collect()
    };
    // A staging table, without its chunk progress table (`<staging>_p`), which goes with it.
    let staging_of = |all: &BTreeSet<String>, t: &str| -> Vec<String> {
        all.iter()
            .filter(|n| n.starts_with(&format!("_ferry_{t}_")) && !n.ends_with("_p"))
            .cloned()
            .collect()
    };

    let mut killed = start_copy(&src, &url, &["--if-exists", "replace"]);
    wait_for("the staging table of t", &mut killed, || {
        !staging_of(&tables(), "t").is_empty()
    });
    kill9(killed);
    let left = staging_of(&tables(), "t");
    assert_eq!(left.len(), 1, "{left:?}");
    until_free(&url, &left[0]);

    let before = tables();
    let dry = cleanup_json(&url, &["--dry-run"]);
    assert_eq!(action_of(&dry, &left[0]), "would_remove");
    assert_eq!(tables(), before, "--dry-run changes nothing");

    let mut running = start_copy(&src, &url, &["--target-table", "u"]);
    wait_for("the staging table of u", &mut running, || {
        !staging_of(&tables(), "u").is_empty()
    });
    let report = cleanup_json(&url, &[]);
    assert_eq!(action_of(&report, &left[0]), "removed", "{report:#}");
    assert_eq!(action_of(&report, "_ferry_u_"), "in_use", "{report:#}");
    assert!(actions(&report, "_ferryish").is_empty() && actions(&report, "ferry_x").is_empty());
    assert!(!report.to_string().contains("ferry:ferry@"));
    succeeds(running);
    assert_eq!(
        tables(),
        ["_ferryish", "ferry_x", "u"].map(String::from).into()
    );
    let n: Option<i64> = c.query_first("SELECT count(*) FROM u").unwrap();
    assert_eq!(n, Some(300_000));
    let kept: Vec<(i64,)> = c.query("SELECT a FROM _ferryish").unwrap();
    assert_eq!(kept, vec![(1,)]);
}

#[test]
fn cleanup_sqlite_removes_ferrys_tables_unless_the_database_is_being_written() {
    let dir = TempDir::new().unwrap();
    // Long enough that the running copy outlasts the cleanup's one-second wait for the lock.
    let src = big_source(dir.path(), 1_500_000);
    let db = dir.path().join("target.sqlite");
    let target = sqlite_url(&db);
    // A run killed mid-load leaves at most its staging table and the progress of the chunks
    // it committed (and its lock file, which locks nothing once it is dead): the cleanup
    // removes them.
    std::fs::File::create(&db).unwrap();
    let lock = dir.path().join("target.sqlite.ferry-lock");
    let mut killed = start_copy(&src, &target, &[]);
    wait_for("the run's journal", &mut killed, || {
        dir.path().join("target.sqlite-journal").exists()
            || dir.path().join("target.sqlite-wal").exists()
    });
    kill9(killed);
    let r = cleanup_json(&target, &[]);
    for o in r["objects"].as_array().unwrap() {
        assert!(
            o["object"].as_str().unwrap().starts_with("\"_ferry_t_") && o["action"] == "removed",
            "{r:#}"
        );
    }
    // Tables named as ferry's (an ADBC run into a driver without transactions, an older ferry).
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(
        "CREATE TABLE _ferryish (a); INSERT INTO _ferryish VALUES (1);
         CREATE TABLE ferry_x (a); INSERT INTO ferry_x VALUES (2);
         CREATE TABLE _ferry_t_0123abcd_89abcdef (a);
         CREATE TABLE _ferry_loads (a);",
    )
    .unwrap();
    let tables = || -> BTreeSet<String> {
        c.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let before = tables();
    let dry = cleanup_json(&target, &["--dry-run"]);
    assert_eq!(action_of(&dry, "_ferry_t_"), "would_remove");
    assert_eq!(action_of(&dry, "_ferry_loads"), "kept");
    assert_eq!(tables(), before);

    // A run writing the database holds its run lock: everything of ferry's is left alone.
    let mut running = start_copy(&src, &target, &["--target-table", "u"]);
    wait_for("the run's lock", &mut running, || lock.exists());
    let busy = cleanup_json(&target, &[]);
    assert_eq!(action_of(&busy, "_ferry_t_"), "in_use", "{busy:#}");
    succeeds(running);
    // The lock file goes with the run that held it (a killed run's with the next run).
    assert!(!lock.exists(), "the lock file is left");

    let done = cleanup_json(&target, &[]);
    assert_eq!(action_of(&done, "_ferry_t_"), "removed");
    assert_eq!(action_of(&done, "_ferry_loads"), "kept");
    let all = cleanup_json(&target, &["--all"]);
    assert_eq!(action_of(&all, "_ferry_loads"), "removed");
    assert_eq!(
        tables(),
        ["_ferryish", "ferry_x", "u"].map(String::from).into()
    );
    let n: i64 = c
        .query_row("SELECT count(*) FROM u", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1_500_000);
}

/// Every file and directory under `root`, relative.
fn tree(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            out.insert(p.strip_prefix(root).unwrap().display().to_string());
            if p.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn cleanup_snapshot_removes_a_killed_runs_files_and_leaves_a_running_ones() {
    let dir = TempDir::new().unwrap();
    let src = big_source(dir.path(), 300_000);
    let root = dir.path().join("snap");
    let snap = format!("parquet://{}", root.display());
    crate::support::copy(&src, &snap, &[]);
    std::fs::create_dir(root.join("ferry_x")).unwrap();
    std::fs::write(root.join("ferry_x/part-00000.parquet"), b"not ferry's").unwrap();
    std::fs::write(root.join("_ferryish.txt"), b"a user's file").unwrap();
    let staging = root.join(".ferry-staging");

    let mut killed = start_copy(&src, &snap, &["--if-exists", "replace"]);
    wait_for("the run's staged files", &mut killed, || staging.exists());
    kill9(killed);
    assert!(staging.exists());

    let before = tree(&root);
    let dry = cleanup_json(&snap, &["--dry-run"]);
    assert_eq!(action_of(&dry, ".ferry-staging"), "would_remove");
    assert_eq!(action_of(&dry, ".ferry-lock"), "kept");
    assert_eq!(tree(&root), before, "--dry-run changes nothing");

    // A running replace holds the snapshot's lock: its staged files are left alone.
    let mut running = start_copy(&src, &snap, &["--if-exists", "replace"]);
    wait_for("the running run's lock", &mut running, || {
        let lock = std::fs::File::open(root.join(".ferry-lock")).unwrap();
        matches!(lock.try_lock(), Err(std::fs::TryLockError::WouldBlock))
    });
    let busy = cleanup_json(&snap, &[]);
    assert_eq!(action_of(&busy, ".ferry-staging"), "in_use", "{busy:#}");
    succeeds(running);

    // A killed one's are removed; the lock file only with --all; the snapshot still loads.
    let mut killed = start_copy(&src, &snap, &["--if-exists", "replace"]);
    wait_for("the run's staged files", &mut killed, || staging.exists());
    kill9(killed);
    let r = cleanup_json(&snap, &[]);
    assert_eq!(action_of(&r, ".ferry-staging"), "removed", "{r:#}");
    assert!(!staging.exists());
    let all = cleanup_json(&snap, &["--all"]);
    assert_eq!(action_of(&all, ".ferry-lock"), "removed", "{all:#}");
    assert_eq!(
        tree(&root)
            .into_iter()
            .filter(|p| !p.starts_with("t/"))
            .collect::<Vec<_>>(),
        [
            "_ferry_manifest.json",
            "_ferryish.txt",
            "ferry_x",
            "ferry_x/part-00000.parquet",
            "t"
        ],
        "the user's files are there"
    );
    let back = dir.path().join("back.sqlite");
    crate::support::copy(&snap, &sqlite_url(&back), &["--table", "t"]);
    let n: i64 = rusqlite::Connection::open(&back)
        .unwrap()
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 300_000);

    // A first write killed leaves a directory without a manifest: all ferry's, removed whole.
    let fresh = dir.path().join("fresh");
    let fresh_url = format!("parquet://{}", fresh.display());
    let mut killed = start_copy(&src, &fresh_url, &[]);
    wait_for("the first write's staged files", &mut killed, || {
        fresh.join(".ferry-staging").exists()
    });
    kill9(killed);
    let r = cleanup_json(&fresh_url, &[]);
    assert_eq!(action_of(&r, "fresh"), "removed", "{r:#}");
    assert_eq!(r["objects"][0]["kind"], "incomplete_snapshot");
    assert!(!fresh.exists());
}

#[test]
fn cleanup_single_file_removes_a_killed_runs_temporary_file_only() {
    let dir = TempDir::new().unwrap();
    let src = big_source(dir.path(), 300_000);
    let file = dir.path().join("out.parquet");
    let target = format!("parquet://{}", file.display());
    let temps = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".ferry-tmp"))
            .collect()
    };
    std::fs::write(dir.path().join(".out.parquet.notes"), b"a user's file").unwrap();

    // A running run's temporary file is open: in use; the run succeeds.
    let mut running = start_copy(&src, &target, &[]);
    wait_for("the temporary file", &mut running, || !temps().is_empty());
    let busy = cleanup_json(&target, &[]);
    assert_eq!(action_of(&busy, ".ferry-tmp"), "in_use", "{busy:#}");
    succeeds(running);
    assert!(file.exists() && temps().is_empty());

    // A killed run's: in use for a minute (a run may be about to rename it), then removed.
    let mut killed = start_copy(&src, &target, &["--if-exists", "replace"]);
    wait_for("the temporary file", &mut killed, || !temps().is_empty());
    kill9(killed);
    let left = temps();
    assert_eq!(left.len(), 1);
    let recent = cleanup_json(&target, &[]);
    assert_eq!(action_of(&recent, ".ferry-tmp"), "in_use", "{recent:#}");
    std::fs::File::options()
        .write(true)
        .open(&left[0])
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(120))
        .unwrap();
    let dry = cleanup_json(&target, &["--dry-run"]);
    assert_eq!(action_of(&dry, ".ferry-tmp"), "would_remove");
    assert!(left[0].exists());
    let r = cleanup_json(&target, &[]);
    assert_eq!(action_of(&r, ".ferry-tmp"), "removed");
    assert!(temps().is_empty());
    assert!(file.exists() && dir.path().join(".out.parquet.notes").exists());
}

#[test]
fn cleanup_of_a_missing_target_or_a_source_only_one_fails() {
    let dir = TempDir::new().unwrap();
    let missing = sqlite_url(&dir.path().join("none.sqlite"));
    let err = crate::support::stderr_of(&["cleanup", &missing], 3);
    assert!(err.contains("no such database file"), "{err}");
    assert!(!dir.path().join("none.sqlite").exists(), "not created");
    let err = crate::support::stderr_of(
        &[
            "cleanup",
            &format!("parquet://{}", dir.path().join("nosnap").display()),
        ],
        3,
    );
    assert!(err.contains("no such snapshot directory"), "{err}");
    let err = crate::support::stderr_of(&["cleanup", "tpch://?sf=1"], 2);
    assert!(err.contains("source only"), "{err}");
}

/// `ferry cleanup` with the ADBC drivers' directory in its environment, as JSON.
fn adbc_cleanup_json(drivers: &Path, target: &str, extra: &[&str]) -> Value {
    let out = crate::adbc::fx(drivers)
        .args(["cleanup", target, "--json"])
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn cleanup_adbc_targets_duckdb_and_postgresql() {
    let Some(drivers) = crate::adbc::drivers() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let duck = dir.path().join("t.duckdb");
    for sql in [
        "CREATE TABLE _ferryish (a INTEGER)",
        "CREATE TABLE ferry_x (a INTEGER)",
        "CREATE TABLE _ferry_t_0123abcd_89abcdef (a INTEGER)",
        "CREATE TABLE _ferry_loads (a INTEGER)",
    ] {
        crate::fidelity_types::duck_rows(&drivers, &duck, sql);
    }
    let url = format!("duckdb://{}", duck.display());
    let dry = adbc_cleanup_json(&drivers, &url, &["--dry-run"]);
    assert_eq!(action_of(&dry, "_ferry_t_"), "would_remove", "{dry:#}");
    let r = adbc_cleanup_json(&drivers, &url, &[]);
    assert_eq!(action_of(&r, "_ferry_t_"), "removed", "{r:#}");
    assert_eq!(action_of(&r, "_ferry_loads"), "kept");
    assert!(actions(&r, "_ferryish").is_empty() && actions(&r, "ferry_x").is_empty());
    let left = crate::fidelity_types::duck_rows(
        &drivers,
        &duck,
        "SELECT table_name FROM information_schema.tables ORDER BY 1",
    );
    assert_eq!(
        left,
        [["_ferry_loads"], ["_ferryish"], ["ferry_x"]].map(|r| vec![Some(r[0].to_string())])
    );

    // PostgreSQL through its ADBC driver: the lock of ferry's own PostgreSQL sink is seen.
    let Some((pg_url, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_cleanup_adbc");
    c.batch_execute("CREATE TABLE it_cleanup_adbc._ferry_zz_0123abcd_89abcdef (a int)")
        .unwrap();
    let src = big_source(dir.path(), 300_000);
    let native = format!("{pg_url}?schema=it_cleanup_adbc");
    let adbc = format!("adbc://postgresql?uri={pg_url}&schema=it_cleanup_adbc");
    let mut running = start_copy(&src, &native, &[]);
    wait_for("the staging table of t", &mut running, || {
        c.query_one(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'it_cleanup_adbc'::regnamespace
             AND relname LIKE '\\_ferry\\_t\\_%'",
            &[],
        )
        .unwrap()
        .get::<_, i64>(0)
            > 0
    });
    let busy = adbc_cleanup_json(&drivers, &adbc, &[]);
    assert_eq!(action_of(&busy, "_ferry_t_"), "in_use", "{busy:#}");
    // A staging table whose target cannot be told is left alone while any run holds a lock.
    assert_eq!(action_of(&busy, "_ferry_zz_"), "in_use", "{busy:#}");
    assert!(!busy.to_string().contains("ferry:ferry@"));
    succeeds(running);
    // Other tests' runs into this database may hold target locks for a moment.
    let started = Instant::now();
    let r = loop {
        let r = adbc_cleanup_json(&drivers, &adbc, &[]);
        if action_of(&r, "_ferry_zz_") != "in_use" || started.elapsed() > Duration::from_secs(60) {
            break r;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(action_of(&r, "_ferry_zz_"), "removed", "{r:#}");
    assert!(actions(&r, "_ferry_t_").is_empty(), "{r:#}");
}
