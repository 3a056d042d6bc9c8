//! Loading one snapshot twice with `append`: every load of a snapshot's table into a database
//! is recorded in the target's `_ferry_loads`, and a repeated append, which would duplicate the
//! rows of a table without a key, is refused (exit 4, the target unchanged) unless `--reload`.

use std::path::Path;

use crate::support::{ferry, sqlite_url, tpch};

/// A Parquet snapshot of TPC-H's `nation` (25 rows) and `region` (5 rows).
fn snapshot(dir: &Path) -> String {
    let snap = format!("parquet://{}", dir.join("snap").display());
    crate::support::copy(
        &sqlite_url(&tpch()),
        &snap,
        &["--table", "nation", "--table", "region"],
    );
    snap
}

fn load(drivers: Option<&Path>, from: &str, to: &str, extra: &[&str]) -> (i32, String) {
    let mut cmd = match drivers {
        Some(d) => crate::adbc::fx(d),
        None => ferry(),
    };
    let out = cmd
        .args([
            "copy", from, to, "-q", "--table", "nation", "--table", "region",
        ])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// (nation rows, region rows), and the rows of `_ferry_loads`.
type State = ((i64, i64), Vec<(String, i64, String)>);

/// Runs the sequence on one target; `counts` reads (nation rows, region rows) and the rows of
/// `_ferry_loads` as (target_table, row_count, mode), sorted.
fn sequence(drivers: Option<&Path>, snap: &str, target: &str, counts: &mut dyn FnMut() -> State) {
    let (code, err) = load(drivers, snap, target, &[]);
    assert_eq!(code, 0, "{err}");
    let rec = |n: i64, r: i64, mode: &str| {
        vec![
            ("nation".to_string(), n, mode.to_string()),
            ("region".to_string(), r, mode.to_string()),
        ]
    };
    assert_eq!(counts(), ((25, 5), rec(25, 5, "fail")));
    // The same snapshot appended again: refused before anything moves.
    let (code, err) = load(drivers, snap, target, &["--if-exists", "append"]);
    assert_eq!(code, 4, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("table \"nation\" already holds the rows of this snapshot table")
            && err.contains("--reload"),
        "{err}"
    );
    assert_eq!(counts(), ((25, 5), rec(25, 5, "fail")), "unchanged");
    // Asked for: appended, and recorded again.
    let (code, err) = load(
        drivers,
        snap,
        target,
        &["--if-exists", "append", "--reload"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(counts(), ((50, 10), rec(25, 5, "append")));
    // A replace is no repeat: the table holds the snapshot's rows once.
    let (code, err) = load(drivers, snap, target, &["--if-exists", "replace"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(counts(), ((25, 5), rec(25, 5, "replace")));
    let (code, err) = load(drivers, snap, target, &["--if-exists", "append"]);
    assert_eq!(code, 4, "{err}");
}

#[test]
fn a_snapshot_appended_twice_into_postgres_is_refused_unless_asked() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_reload");
    let dir = tempfile::tempdir().unwrap();
    let snap = snapshot(dir.path());
    let target = format!("{url}?schema=it_reload");
    sequence(None, &snap, &target, &mut || {
        let mut n = |t: &str| -> i64 {
            c.query_one(&format!("SELECT count(*) FROM it_reload.{t}"), &[])
                .unwrap()
                .get(0)
        };
        let counts = (n("nation"), n("region"));
        let loads = c
            .query(
                "SELECT target_table, row_count, mode FROM it_reload._ferry_loads ORDER BY 1",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        (counts, loads)
    });
    // ferry's own table is not one of the database's tables for a later copy: named as not
    // copied.
    let out = ferry()
        .args([
            "copy",
            &target,
            &sqlite_url(&dir.path().join("x.sqlite")),
            "--dry-run",
        ])
        .output()
        .unwrap();
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{plan}");
    assert!(
        plan.contains("\"nation\"") && !plan.contains("_ferry_loads -> "),
        "{plan}"
    );
    assert!(
        plan.contains("not copied: it_reload._ferry_loads (ferry state"),
        "{plan}"
    );
}

#[test]
fn a_snapshot_appended_twice_into_mariadb_is_refused_unless_asked() {
    use mysql::prelude::Queryable;
    let Some((url, mut c)) = crate::mysql::fresh_db("it_reload") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let snap = snapshot(dir.path());
    sequence(None, &snap, &url, &mut || {
        let mut n = |t: &str| -> i64 {
            c.query_first(format!("SELECT count(*) FROM `{t}`"))
                .unwrap()
                .unwrap()
        };
        let counts = (n("nation"), n("region"));
        let loads = c
            .query("SELECT target_table, row_count, mode FROM _ferry_loads ORDER BY 1")
            .unwrap();
        (counts, loads)
    });
}

#[test]
fn a_snapshot_appended_twice_into_sqlite_is_refused_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let snap = snapshot(dir.path());
    let db = dir.path().join("t.sqlite");
    sequence(None, &snap, &sqlite_url(&db), &mut || {
        let c = rusqlite::Connection::open(&db).unwrap();
        let n = |t: &str| -> i64 {
            c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                .unwrap()
        };
        let counts = (n("nation"), n("region"));
        let mut stmt = c
            .prepare("SELECT target_table, row_count, mode FROM _ferry_loads ORDER BY 1")
            .unwrap();
        let loads = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        (counts, loads)
    });
}

#[test]
fn a_snapshot_appended_twice_into_duckdb_is_refused_unless_asked() {
    let Some(drivers) = crate::adbc::drivers() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let snap = snapshot(dir.path());
    let db = dir.path().join("t.duckdb");
    let url = format!("duckdb://{}", db.display());
    let d = drivers.clone();
    sequence(Some(&drivers), &snap, &url, &mut || {
        let rows = crate::fidelity_types::duck_rows(
            &d,
            &db,
            "SELECT (SELECT count(*) FROM nation)::VARCHAR, (SELECT count(*) FROM region)::VARCHAR",
        );
        let counts = (
            rows[0][0].as_ref().unwrap().parse().unwrap(),
            rows[0][1].as_ref().unwrap().parse().unwrap(),
        );
        let loads = crate::fidelity_types::duck_rows(
            &d,
            &db,
            "SELECT target_table, row_count::VARCHAR, mode FROM _ferry_loads ORDER BY 1",
        )
        .into_iter()
        .map(|r| {
            (
                r[0].clone().unwrap(),
                r[1].as_ref().unwrap().parse().unwrap(),
                r[2].clone().unwrap(),
            )
        })
        .collect();
        (counts, loads)
    });
}
