//! The hard-types table: NULL in every column, integer extremes, blobs with every byte value,
//! unicode, empty strings against NULL, special reals, wide decimals, dates and a 1 MB text,
//! through every file format and back, compared cell by cell. Values SQLite cannot hold in a
//! column's declared type fail with table, column and rowid.

use std::path::Path;

use rusqlite::{params, Connection};

use crate::support::{assert_same_table, dump, ferry, sqlite_url, stderr_of, Cell};

const DDL: &str = "CREATE TABLE hard (
    id INTEGER PRIMARY KEY,
    i INTEGER,
    r REAL,
    t TEXT,
    v VARCHAR(20),
    b BLOB,
    d DECIMAL(15,2),
    w DECIMAL_TEXT(40,20),
    dt DATE,
    ts DATETIME,
    tm TIME,
    bo BOOLEAN,
    req TEXT NOT NULL
)";

/// Builds the hard-types database.
pub fn make_hard(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(DDL).unwrap();
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    let mega = "λ".repeat(512 * 1024); // 1 MiB of UTF-8
    let mut ins = conn
        .prepare("INSERT INTO hard VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)")
        .unwrap();
    use rusqlite::types::Value as V;
    let null = V::Null;
    ins.execute(params![
        1, null, null, null, null, null, null, null, null, null, null, null, ""
    ])
    .unwrap();
    ins.execute(params![
        2,
        i64::MIN,
        -0.0f64,
        "",
        "",
        Vec::<u8>::new(),
        0,
        "0.00000000000000000000",
        "1969-07-20",
        "1900-01-01 00:00:00",
        "00:00:00",
        0,
        "x"
    ])
    .unwrap();
    ins.execute(params![
        3,
        i64::MAX,
        f64::INFINITY,
        "🦀 ferry e\u{301} 漢字 \u{200d}",
        "tab\there\nnl \"q\",;|",
        all_bytes,
        "-9999999999999.99",
        "12345678901234567890.12345678901234567890",
        "9999-12-31",
        "2020-02-29 23:59:59.999999",
        "23:59:59.500",
        1,
        "NULL"
    ])
    .unwrap();
    ins.execute(params![
        4,
        0,
        f64::NEG_INFINITY,
        mega,
        "\\",
        vec![0u8, 0, 0],
        0.04,
        "-0.00000000000000000001",
        "0001-01-01",
        "1970-01-01 00:00:00.001",
        "12:00:00.000001",
        null,
        "  "
    ])
    .unwrap();
    ins.execute(params![
        5,
        -1,
        f64::MIN_POSITIVE,
        "null",
        "N",
        vec![b'\\', b'N'],
        17,
        "-99999999999999999999.99999999999999999999",
        "2000-02-29",
        "2038-01-19 03:14:08",
        "01:02:03",
        1,
        "\u{feff}bom"
    ])
    .unwrap();
    ins.execute(params![
        6,
        1,
        0.1 + 0.2,
        "a\0b",
        null,
        null,
        1e12,
        null,
        null,
        null,
        null,
        0,
        "z"
    ])
    .unwrap();
    ins.execute(params![
        7,
        2,
        f64::MAX,
        "last",
        null,
        null,
        -0.01,
        null,
        null,
        null,
        null,
        null,
        "end"
    ])
    .unwrap();
}

fn round_trip(scheme: &str, options: &str) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("hard.sqlite");
    make_hard(&src);
    let snap = format!("{scheme}://{}{options}", dir.path().join("snap").display());
    let back = dir.path().join("back.sqlite");
    ferry()
        .args(["copy", &sqlite_url(&src), &snap, "-q"])
        .assert()
        .success();
    ferry()
        .args(["copy", &snap, &sqlite_url(&back), "-q"])
        .assert()
        .success();
    assert_same_table(&src, &back, "hard");
    // The checks above compare what SQLite holds; make sure the hard values really are there.
    let rows = dump(&back, "hard");
    assert_eq!(
        rows[0],
        vec![Cell::Integer(1)]
            .into_iter()
            .chain((0..11).map(|_| Cell::Null))
            .chain([Cell::Text("".into())])
            .collect::<Vec<_>>()
    );
    assert_eq!(rows[1][1], Cell::Integer(i64::MIN));
    assert_eq!(rows[2][1], Cell::Integer(i64::MAX));
    assert_eq!(rows[2][5], Cell::Blob((0..=255u8).collect()));
    assert_eq!(rows[3][3], Cell::Text("λ".repeat(512 * 1024)));
    assert_eq!(
        rows[2][7],
        Cell::Text("12345678901234567890.12345678901234567890".into())
    );
    assert_eq!(rows[2][2], Cell::Real(f64::INFINITY.to_bits()));
}

#[test]
fn hard_types_through_parquet() {
    round_trip("parquet", "");
}

#[test]
fn hard_types_through_csv() {
    round_trip("csv", "");
}

#[test]
fn hard_types_through_csv_with_other_options() {
    round_trip("csv", "?delimiter=%7C&null=%3Cnull%3E&quote=%27");
}

#[test]
fn sqlite_to_sqlite_directly() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("hard.sqlite");
    make_hard(&src);
    let back = dir.path().join("back.sqlite");
    ferry()
        .args([
            "copy",
            &sqlite_url(&src),
            &sqlite_url(&back),
            "-q",
            "--batch-rows",
            "2",
        ])
        .assert()
        .success();
    assert_same_table(&src, &back, "hard");
}

#[test]
fn integer_column_holding_text_fails_naming_table_column_and_rowid() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("bad.sqlite");
    let conn = Connection::open(&src).unwrap();
    conn.execute_batch(
        "CREATE TABLE bad (id INTEGER PRIMARY KEY, n INTEGER);
         INSERT INTO bad VALUES (1, 10), (7, 'abc'), (8, 3);",
    )
    .unwrap();
    let snap = dir.path().join("snap");
    let err = stderr_of(
        &[
            "copy",
            &sqlite_url(&src),
            &format!("parquet://{}", snap.display()),
        ],
        5,
    );
    assert!(
        err.contains("table \"bad\", column \"n\" (declared INTEGER), rowid 7: text 'abc' does not fit the column's type"),
        "{err}"
    );
    assert!(err.contains("?mismatch=null"), "{err}");
    assert!(
        !snap.exists(),
        "a failed run left the snapshot directory behind"
    );

    // Asked for by flag: the value becomes NULL and the report counts it.
    let report = dir.path().join("r.json");
    ferry()
        .args([
            "copy",
            &format!("sqlite://{}?mismatch=null", src.display()),
            &format!("parquet://{}", snap.display()),
        ])
        .args(["-q", "--report", report.to_str().unwrap()])
        .assert()
        .success();
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["lossy_values"], 1);
    assert_eq!(r["tables"][0]["lossy_values"], 1);
    let back = dir.path().join("back.sqlite");
    ferry()
        .args([
            "copy",
            &format!("parquet://{}", snap.display()),
            &sqlite_url(&back),
            "-q",
        ])
        .assert()
        .success();
    assert_eq!(
        dump(&back, "bad"),
        vec![
            vec![Cell::Integer(1), Cell::Integer(10)],
            vec![Cell::Integer(7), Cell::Null],
            vec![Cell::Integer(8), Cell::Integer(3)]
        ]
    );
}

#[test]
fn decimal_that_does_not_fit_its_scale_fails() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("dec.sqlite");
    let conn = Connection::open(&src).unwrap();
    conn.execute_batch("CREATE TABLE m (id INTEGER PRIMARY KEY, p DECIMAL(15,2)); INSERT INTO m VALUES (1, 0.5), (2, 0.125);")
        .unwrap();
    let err = stderr_of(
        &[
            "copy",
            &sqlite_url(&src),
            &format!("parquet://{}", dir.path().join("s").display()),
        ],
        5,
    );
    assert!(
        err.contains("column \"p\" (declared DECIMAL(15,2)), rowid 2: real 0.125 does not fit"),
        "{err}"
    );
}

#[test]
fn nan_cannot_be_stored_in_sqlite_and_says_so() {
    use arrow::array::{Float64Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("x", DataType::Float64, true),
    ]));
    let batch = arrow::record_batch::RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![1, 2])),
            Arc::new(Float64Array::from(vec![1.5, f64::NAN])),
        ],
    )
    .unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&file).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let db = dir.path().join("x.sqlite");
    let err = stderr_of(
        &[
            "copy",
            &format!("parquet://{}", file.display()),
            &sqlite_url(&db),
        ],
        5,
    );
    assert!(
        err.contains(
            "table \"f\", column \"x\", row 2 of partition \"f.parquet row group 0\": NaN: \
             SQLite stores NaN as NULL"
        ),
        "{err}"
    );
    assert!(
        !db.exists(),
        "the failed run left a new database file behind"
    );
}
