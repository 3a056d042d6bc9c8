//! Round trips of the embedded TPC-H database through every file format, compared cell by cell
//! with the declared column types (and NOT NULL) of the source.

use crate::support::{
    assert_same_table, copy, dump, ferry, has_table, sqlite_url, tpch, TPCH_TABLES,
};

fn round_trip_through(scheme: &str) {
    let dir = tempfile::tempdir().unwrap();
    let snap = format!("{scheme}://{}", dir.path().join("snap").display());
    let back = dir.path().join("back.sqlite");
    copy(&sqlite_url(&tpch()), &snap, &[]);
    copy(&snap, &sqlite_url(&back), &[]);
    for t in TPCH_TABLES {
        assert_same_table(&tpch(), &back, t);
    }
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("snap/_ferry_manifest.json")).unwrap(),
    )
    .unwrap();
    let lineitem = manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "lineitem")
        .unwrap();
    assert_eq!(lineitem["rows"], 60175);
    assert_eq!(manifest["file_format"], scheme);
}

#[test]
fn sqlite_parquet_sqlite_keeps_every_cell_and_type() {
    round_trip_through("parquet");
}

#[test]
fn sqlite_csv_sqlite_keeps_every_cell_and_type() {
    round_trip_through("csv");
}

#[test]
fn parquet_snapshot_keeps_declared_types_in_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    copy(
        &sqlite_url(&tpch()),
        &format!("parquet://{}", snap.display()),
        &["--table", "lineitem"],
    );
    let out = ferry()
        .args([
            "inspect",
            &format!("parquet://{}", snap.display()),
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let tables: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let cols = tables[0]["columns"].as_array().unwrap();
    let q = cols.iter().find(|c| c["name"] == "l_quantity").unwrap();
    assert_eq!(q["source_type"], "DECIMAL(15,2)");
    assert_eq!(q["arrow_type"], "Decimal128(15, 2)");
    assert_eq!(q["nullable"], false);
    let d = cols.iter().find(|c| c["name"] == "l_shipdate").unwrap();
    assert_eq!(d["arrow_type"], "Date32");
    assert_eq!(tables[0]["rows"], 60175);
}

#[test]
fn query_into_a_single_parquet_file_and_a_renamed_table() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.parquet");
    copy(
        &sqlite_url(&tpch()),
        &format!("parquet://{}", file.display()),
        &[
            "--query",
            "SELECT o_orderkey, o_totalprice FROM orders WHERE o_totalprice > 300000",
            "--target-table",
            "big",
        ],
    );
    let db = dir.path().join("big.sqlite");
    copy(
        &format!("parquet://{}", file.display()),
        &sqlite_url(&db),
        &["--table", "big", "--target-table", "big_orders"],
    );
    let expected: Vec<_> = dump(&tpch(), "orders")
        .into_iter()
        .filter(|r| match &r[3] {
            crate::support::Cell::Integer(i) => *i > 300000,
            crate::support::Cell::Real(b) => f64::from_bits(*b) > 300000.0,
            _ => false,
        })
        .map(|r| vec![r[0].clone(), r[3].clone()])
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(dump(&db, "big_orders"), expected);
}

#[test]
fn if_exists_append_replace_truncate() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.sqlite");
    let src = sqlite_url(&tpch());
    let dst = sqlite_url(&db);
    copy(&src, &dst, &["--table", "nation"]);
    copy(&src, &dst, &["--table", "nation", "--if-exists", "append"]);
    assert_eq!(dump(&db, "nation").len(), 50);
    copy(&src, &dst, &["--table", "nation", "--if-exists", "replace"]);
    assert_same_table(&tpch(), &db, "nation");
    copy(
        &src,
        &dst,
        &["--table", "nation", "--if-exists", "truncate"],
    );
    assert_same_table(&tpch(), &db, "nation");
    assert!(!has_table(&db, "region"));

    let snap = format!("parquet://{}", dir.path().join("snap").display());
    copy(&src, &snap, &["--table", "region"]);
    copy(&src, &snap, &["--table", "region", "--if-exists", "append"]);
    let back = dir.path().join("back.sqlite");
    copy(&snap, &sqlite_url(&back), &[]);
    assert_eq!(dump(&back, "region").len(), 10);
}

#[test]
fn dry_run_prints_the_plan_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never.sqlite");
    let out = ferry()
        .args([
            "copy",
            &sqlite_url(&tpch()),
            &sqlite_url(&db),
            "--table",
            "lineitem",
            "--dry-run",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("table \"lineitem\" -> \"lineitem\": 60175 rows"),
        "{text}"
    );
    assert!(
        text.contains("\"l_quantity\" DECIMAL(15,2) NOT NULL"),
        "{text}"
    );
    assert!(text.contains("partition 0: rowid 1..="), "{text}");
    assert!(!db.exists(), "a dry run created the target");
}

#[test]
fn report_counts_rows_per_table() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("run.json");
    copy(
        &sqlite_url(&tpch()),
        &format!("parquet://{}", dir.path().join("s").display()),
        &[
            "--table",
            "orders",
            "--table",
            "customer",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(r["status"], "ok");
    assert_eq!(r["rows"], 16500);
    assert_eq!(r["tables"][0]["target"], "orders");
    assert_eq!(r["tables"][0]["rows"], 15000);
    assert_eq!(r["tables"][1]["rows"], 1500);
    assert!(r["tables"][0]["rows_per_second"].as_f64().unwrap() > 0.0);
    assert!(r["peak_rss_bytes"].as_u64().unwrap() > 0);
}
