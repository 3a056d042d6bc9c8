//! Lossy conversions asked for by flag, counted per column: `--float-loss replace` into the
//! targets that cannot hold -0.0 and NaN (ferry's SQLite sink, the ADBC SQLite driver, MariaDB;
//! MariaDB has no ±infinity either), refused by default naming the table, the column, the row,
//! the value and the flag; with the flag each cell is read back with the engine's own client
//! and the JSON report counts exactly the values replaced, per column. The MySQL source's
//! `--zero-dates null`, a `cast(.., safe=false)` step and SQLite's `?mismatch=null` are counted
//! per column too.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float32Array, Float64Array, Int64Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use mysql::prelude::Queryable;
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::adbc::{drivers, error_of, fx};
use crate::mysql::fresh_db;
use crate::support::{dump, ferry, has_table, sqlite_url, stderr_of, Cell};

/// `d` (double), `r` (float) and `n` (double, NOT NULL) of table `f`, by `id`.
fn d_values() -> [Option<f64>; 5] {
    [Some(-0.0), Some(f64::NAN), Some(2.5), Some(-1.25), None]
}

fn r_values() -> [Option<f32>; 5] {
    [
        Some(1.5),
        Some(-0.0),
        Some(f32::NAN),
        Some(f32::INFINITY),
        None,
    ]
}

fn n_values() -> [f64; 5] {
    [1.0, 5e-324, -0.0, f64::MAX, -7.0]
}

/// A Parquet file holding table `f`: -0.0, NaN, ±infinity, NULL and ordinary values.
fn floats_parquet(dir: &Path) -> String {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("d", DataType::Float64, true),
        Field::new("r", DataType::Float32, true),
        Field::new("n", DataType::Float64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5])),
        Arc::new(Float64Array::from(d_values().to_vec())),
        Arc::new(Float32Array::from(r_values().to_vec())),
        Arc::new(Float64Array::from(n_values().to_vec())),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let file = dir.join("f.parquet");
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&file).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    format!("parquet://{}", file.display())
}

/// What a target that keeps ±infinity but neither -0.0 nor NaN (SQLite) should hold, as bits.
fn replaced_f64(v: Option<f64>, keeps_infinity: bool) -> Option<u64> {
    match v {
        Some(f) if f.is_nan() || (f.is_infinite() && !keeps_infinity) => None,
        // -0.0 matches 0.0 too.
        Some(0.0) => Some(0.0f64.to_bits()),
        Some(f) => Some(f.to_bits()),
        None => None,
    }
}

fn report(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The SQLite cells of `f`, row by row: what `--float-loss replace` should have written.
fn want_sqlite() -> Vec<Vec<Cell>> {
    let real = |bits: Option<u64>| bits.map(Cell::Real).unwrap_or(Cell::Null);
    (0..5)
        .map(|i| {
            vec![
                Cell::Integer(i as i64 + 1),
                real(replaced_f64(d_values()[i], true)),
                real(replaced_f64(r_values()[i].map(f64::from), true)),
                real(replaced_f64(Some(n_values()[i]), true)),
            ]
        })
        .collect()
}

/// SQLite keeps ±infinity: -0.0 and NaN are the values replaced.
const SQLITE_COUNTS: [(&str, u64); 3] = [("d", 2), ("n", 1), ("r", 2)];

fn counts(pairs: &[(&str, u64)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(c, n)| (c.to_string(), json!(n)))
            .collect(),
    )
}

/// Asserts a one-table report counts exactly `pairs`, per column and in total.
fn assert_counts(r: &Value, pairs: &[(&str, u64)]) {
    let total: u64 = pairs.iter().map(|(_, n)| n).sum();
    assert_eq!(r["tables"][0]["lossy_columns"], counts(pairs), "{r}");
    assert_eq!(r["tables"][0]["lossy_values"], total, "{r}");
    assert_eq!(r["lossy_values"], total, "{r}");
}

#[test]
fn float_loss_into_sqlite_is_refused_or_replaced_and_counted_per_column() {
    let tmp = TempDir::new().unwrap();
    let src = floats_parquet(tmp.path());
    let db = tmp.path().join("f.sqlite");
    let err = stderr_of(&["copy", &src, &sqlite_url(&db)], 5);
    assert!(
        err.contains(
            "table \"f\", column \"d\", row 1 of partition \"f.parquet row group 0\": -0.0: \
             SQLite stores -0.0 as 0.0"
        ),
        "{err}"
    );
    assert!(
        err.contains("--float-loss replace writes it as 0.0"),
        "{err}"
    );
    assert!(!db.exists(), "the refused run left a database behind");

    let report_file = tmp.path().join("run.json");
    let out = ferry()
        .args(["copy", &src, &sqlite_url(&db), "--float-loss", "replace"])
        .args(["--report", report_file.to_str().unwrap()])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let summary = String::from_utf8(out).unwrap();
    assert!(
        summary.contains("\n  replaced as asked: \"d\" 2, \"n\" 1, \"r\" 2\n"),
        "{summary}"
    );
    assert!(
        summary.contains(", 5 value(s) replaced as asked"),
        "{summary}"
    );
    assert_eq!(dump(&db, "f"), want_sqlite());
    assert_counts(&report(&report_file), &SQLITE_COUNTS);

    // NULL cannot go into a NOT NULL column: NaN there is refused with the flag too.
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, false)]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(Float64Array::from(vec![-0.0, f64::NAN]))],
    )
    .unwrap();
    let file = tmp.path().join("strict.parquet");
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&file).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let err = stderr_of(
        &[
            "copy",
            &format!("parquet://{}", file.display()),
            &sqlite_url(&db),
            "--float-loss",
            "replace",
        ],
        5,
    );
    assert!(
        err.contains(
            "table \"strict\", column \"x\", row 2 of partition \"strict.parquet row group 0\": \
             NaN: SQLite stores NaN as NULL, and the column is NOT NULL"
        ),
        "{err}"
    );
    assert!(!has_table(&db, "strict"));
}

#[test]
fn float_loss_through_the_adbc_sqlite_driver_is_refused_or_replaced_and_counted() {
    let Some(drv) = drivers() else { return };
    let tmp = TempDir::new().unwrap();
    let src = floats_parquet(tmp.path());
    let db = tmp.path().join("adbc.sqlite");
    let target = format!("adbc://sqlite?uri={}", db.display());
    let err = error_of(&drv, &["copy", &src, &target], 5);
    assert!(err.contains("table \"f\""), "{err}");
    assert!(
        err.contains(
            "column \"d\", row 1 of partition \"f.parquet row group 0\": -0.0: SQLite stores \
             -0.0 as 0.0"
        ),
        "{err}"
    );
    assert!(err.contains("--float-loss replace"), "{err}");
    assert!(!db.exists() || !has_table(&db, "f"), "f left behind");

    let report_file = tmp.path().join("run.json");
    fx(&drv)
        .args(["copy", &src, &target, "--float-loss", "replace", "-q"])
        .args(["--report", report_file.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(dump(&db, "f"), want_sqlite());
    assert_counts(&report(&report_file), &SQLITE_COUNTS);
}

#[test]
fn float_loss_into_mariadb_is_refused_or_replaced_and_counted_per_column() {
    let Some((url, mut c)) = fresh_db("ferry_it_float_loss") else {
        return;
    };
    let tmp = TempDir::new().unwrap();
    let src = floats_parquet(tmp.path());
    let err = stderr_of(&["copy", &src, &url], 5);
    assert!(err.contains("`f`"), "{err}");
    assert!(
        err.contains(
            "column \"d\", row 1: -0 cannot be stored in MySQL: its FLOAT and DOUBLE columns \
             keep -0 as 0; --float-loss replace writes it as 0"
        ),
        "{err}"
    );
    let tables: u64 = c
        .query_first(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
        )
        .unwrap()
        .unwrap();
    assert_eq!(tables, 0, "the refused run left a table behind");

    let report_file = tmp.path().join("run.json");
    ferry()
        .args(["copy", &src, &url, "--float-loss", "replace", "-q"])
        .args(["--report", report_file.to_str().unwrap()])
        .assert()
        .success();
    type Row = (i64, Option<f64>, Option<f32>, f64);
    let rows: Vec<Row> = c.query("SELECT id, d, r, n FROM f ORDER BY id").unwrap();
    assert_eq!(rows.len(), 5);
    for (i, (id, d, r, n)) in rows.into_iter().enumerate() {
        assert_eq!(id, i as i64 + 1);
        assert_eq!(
            d.map(f64::to_bits),
            replaced_f64(d_values()[i], false),
            "d, id {id}"
        );
        let want_r = replaced_f64(r_values()[i].map(f64::from), false);
        assert_eq!(r.map(|r| f64::from(r).to_bits()), want_r, "r, id {id}");
        assert_eq!(
            Some(n.to_bits()),
            replaced_f64(Some(n_values()[i]), false),
            "n, id {id}"
        );
    }
    // MariaDB has no infinity either: r's inf is the third value replaced there.
    assert_counts(&report(&report_file), &[("d", 2), ("n", 1), ("r", 3)]);
}

#[test]
fn zero_dates_and_lenient_casts_are_counted_per_column() {
    let Some((url, mut c)) = fresh_db("ferry_it_lossy_zero") else {
        return;
    };
    c.query_drop("SET SESSION sql_mode = ''").unwrap();
    c.query_drop("CREATE TABLE z (id int PRIMARY KEY, d date, t datetime, big bigint)")
        .unwrap();
    c.query_drop(
        "INSERT INTO z VALUES (1, '2024-01-02', '2024-01-02 03:04:05', 1),
         (2, '0000-00-00', '2024-01-02 03:04:05', 4294967296),
         (3, '2024-00-10', '0000-00-00 00:00:00', 2)",
    )
    .unwrap();
    let tmp = TempDir::new().unwrap();
    let db = tmp.path().join("z.sqlite");
    let report_file = tmp.path().join("run.json");
    ferry()
        .args(["copy", &url, &sqlite_url(&db), "--table", "z", "-q"])
        .args(["--zero-dates", "null"])
        .args(["--transform", "cast(big, INT, safe=false)"])
        .args(["--report", report_file.to_str().unwrap()])
        .assert()
        .success();
    let rows = dump(&db, "z");
    assert_eq!(rows[1][1], Cell::Null);
    assert_eq!(rows[2][1], Cell::Null);
    assert_eq!(rows[2][2], Cell::Null);
    assert_eq!(rows[1][3], Cell::Null);
    assert_eq!(rows[2][3], Cell::Integer(2));
    assert_counts(&report(&report_file), &[("big", 1), ("d", 2), ("t", 1)]);

    // A SQLite source's ?mismatch=null, by column too.
    let src = tmp.path().join("m.sqlite");
    let conn = rusqlite::Connection::open(&src).unwrap();
    conn.execute_batch(
        "CREATE TABLE m (id INTEGER PRIMARY KEY, i INTEGER, s TEXT);
         INSERT INTO m VALUES (1, 1, 'a'), (2, 'two', 'b'), (3, 'three', 'c');",
    )
    .unwrap();
    let out = tmp.path().join("m-copy.sqlite");
    let report_file = tmp.path().join("m.json");
    ferry()
        .args([
            "copy",
            &format!("{}?mismatch=null", sqlite_url(&src)),
            &sqlite_url(&out),
        ])
        .args(["-q", "--report", report_file.to_str().unwrap()])
        .assert()
        .success();
    assert_counts(&report(&report_file), &[("i", 2)]);
}
