//! `ferry verify`: equal after correct copies across engines (TPC-H and the hard-types table
//! into PostgreSQL, a Parquet snapshot and SQLite), and a changed cell, a deleted row and a
//! duplicated row found after a copy, each named by table, key and column (exit 11).

use tempfile::TempDir;

use crate::support::{ferry, sqlite_url, tpch};

fn verify(from: &str, to: &str, extra: &[&str]) -> (i32, String, String) {
    let out = ferry()
        .args(["verify", from, to])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn copies_across_engines_verify_equal_and_changes_are_named() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_verify");
    let pg = format!("{url}?schema=it_verify");
    let tmp = TempDir::new().unwrap();
    let hard = tmp.path().join("hard.sqlite");
    crate::hard_types::make_hard(&hard);
    let snap = format!("parquet://{}", tmp.path().join("snap").display());
    let back = sqlite_url(&tmp.path().join("back.sqlite"));
    for (from, to) in [
        (sqlite_url(&tpch()), pg.clone()),
        (sqlite_url(&tpch()), snap.clone()),
        (snap.clone(), back.clone()),
    ] {
        crate::support::copy(&from, &to, &[]);
        let (code, out, err) = verify(&from, &to, &[]);
        assert_eq!(code, 0, "{from} -> {to}: {out}{err}");
        assert!(
            out.contains("lineitem -> lineitem: equal (60175 / 60175 rows"),
            "{out}"
        );
    }
    // The hard-types table (NULLs, extremes, blobs, unicode, decimals, dates) through a
    // snapshot and back.
    let hard_snap = format!("parquet://{}", tmp.path().join("hard").display());
    crate::support::copy(&sqlite_url(&hard), &hard_snap, &[]);
    let (code, out, err) = verify(&sqlite_url(&hard), &hard_snap, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("by key (id)"), "{out}");

    // A keyed table in PostgreSQL, then a changed cell, a deleted row and a duplicated row.
    c.batch_execute(
        "CREATE TABLE it_verify.k (id integer PRIMARY KEY, v text, x numeric(10,2));
         INSERT INTO it_verify.k SELECT g, 'v' || g, g / 4.0 FROM generate_series(1, 5000) g;
         CREATE TABLE it_verify.nokey (a integer, b text);
         INSERT INTO it_verify.nokey SELECT g % 100, 'b' || g FROM generate_series(1, 3000) g;",
    )
    .unwrap();
    let copy_db = tmp.path().join("k.sqlite");
    let k = sqlite_url(&copy_db);
    ferry()
        .args(["copy", &pg, &k, "--table", "k", "--table", "nokey", "-q"])
        .assert()
        .success();
    let (code, out, err) = verify(&pg, &k, &["--table", "k", "--table", "nokey"]);
    assert_eq!(code, 0, "{out}{err}");
    let s = rusqlite::Connection::open(&copy_db).unwrap();
    s.execute_batch(
        "UPDATE k SET v = 'changed' WHERE id = 4242;
         DELETE FROM k WHERE id = 17;
         INSERT INTO nokey SELECT * FROM nokey WHERE b = 'b77';",
    )
    .unwrap();
    let (code, out, err) = verify(&pg, &k, &["--table", "k", "--table", "nokey"]);
    assert_eq!(code, 11, "{out}{err}");
    assert!(
        out.contains("k -> k: DIFFERENT (5000 / 4999 rows, by key (id))"),
        "{out}"
    );
    assert!(
        out.contains("changed: id=4242\n    v: v4242 (source) != changed (target)"),
        "{out}"
    );
    assert!(out.contains("missing in target: id=17\n"), "{out}");
    assert!(
        out.contains("nokey -> nokey: DIFFERENT (3000 / 3001 rows, by whole rows)"),
        "{out}"
    );
    assert!(out.contains("duplicated in target: a=77, b=b77"), "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("2 of 2 table(s) differ: k, nokey"), "{err}");
    // The same as JSON.
    let (code, json, _) = verify(&pg, &k, &["--table", "k", "--json"]);
    assert_eq!(code, 11);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["equal"], false);
    assert_eq!(v["tables"][0]["differences"][0]["key"], "id=17");
}

#[test]
fn copy_verify_checks_the_copied_tables_in_the_same_run() {
    let tmp = TempDir::new().unwrap();
    let db = tmp.path().join("copy.sqlite");
    let report = tmp.path().join("run.json");
    let out = ferry()
        .args(["copy", &sqlite_url(&tpch()), &sqlite_url(&db), "--verify"])
        .args(["--table", "nation", "--table", "orders", "--report"])
        .arg(&report)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("nation -> nation: equal"), "{stdout}");
    assert!(
        stdout.contains("orders -> orders: equal (15000 / 15000 rows"),
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["verify"]["equal"], serde_json::json!(true), "{json}");
    assert_eq!(
        json["verify"]["tables"].as_array().unwrap().len(),
        2,
        "{json}"
    );
    // A copy whose target cannot equal its source is refused before anything moves.
    for extra in [
        &["--if-exists", "append"][..],
        &["--transform", "rename(n_name, name)"][..],
    ] {
        let other = tmp.path().join("other.sqlite");
        let err = crate::support::stderr_of(
            &[
                &[
                    "copy",
                    &sqlite_url(&tpch()),
                    &sqlite_url(&other),
                    "--verify",
                ][..],
                &["--table", "nation"][..],
                extra,
            ]
            .concat(),
            2,
        );
        assert!(err.contains("--verify"), "{err}");
        assert!(!other.exists());
    }
}
