//! Transforms end to end: TPC-H `customer` through a rename, a filter, a mask and added columns,
//! into SQLite and PostgreSQL, checked cell by cell against values computed here from the source
//! rows; filters evaluated by the SQLite and PostgreSQL sources (fewer rows read, the query in the
//! log; MySQL's in `mysql.rs`); step errors before any data moves;
//! job files; lossy casts counted in the report.

use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use rusqlite::types::Value;
use rusqlite::Connection;

use crate::support::{columns, dump, ferry, has_table, stderr_of, tpch, Cell};

const KEY: &str = "a-test-key-of-32-bytes-for-masks";

fn tpch_url() -> String {
    format!("sqlite://{}", tpch().display())
}

/// A target the customer test loads: a URL, the target table's name, its declared columns and
/// a dump of the table as [`Cell`]s (numbers as SQLite would store them).
enum Target {
    Sqlite(PathBuf),
    /// A URL and the schema the table goes to.
    Postgres(String, String),
}

impl Target {
    fn url(&self) -> String {
        match self {
            Target::Sqlite(p) => format!("sqlite://{}", p.display()),
            Target::Postgres(url, schema) => format!("{url}?schema={schema}"),
        }
    }

    fn table(&self) -> String {
        match self {
            Target::Sqlite(_) => "customer".into(),
            Target::Postgres(..) => "customer".into(),
        }
    }

    fn dump(&self) -> Vec<Vec<Cell>> {
        match self {
            Target::Sqlite(p) => dump(p, "customer"),
            Target::Postgres(url, schema) => pg_dump_customer(url, schema),
        }
    }

    /// (name, declared type) of the target's columns.
    fn columns(&self) -> Vec<(String, String)> {
        match self {
            Target::Sqlite(p) => columns(p, "customer")
                .into_iter()
                .map(|(n, t, _, _)| (n, t))
                .collect(),
            Target::Postgres(url, schema) => {
                let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
                c.query(
                    "SELECT column_name::text, CASE WHEN data_type IN ('character varying', 'character', 'numeric')
                            THEN format_type(a.atttypid, a.atttypmod) ELSE data_type::text END
                     FROM information_schema.columns i
                     JOIN pg_attribute a ON a.attrelid = to_regclass(quote_ident($1) || '.customer')
                      AND a.attname = i.column_name
                     WHERE table_schema = $1 AND table_name = 'customer' ORDER BY ordinal_position",
                    &[schema],
                )
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect()
            }
        }
    }

    /// The declared columns the customer test expects.
    fn expected_columns(&self) -> Vec<(String, String)> {
        // SQLite's INTEGER holds 64 bits: bigint in PostgreSQL.
        let sqlite = [
            ("c_custkey", "INTEGER", "bigint"),
            ("name", "VARCHAR(25)", "character varying(25)"),
            ("c_address", "VARCHAR(40)", "character varying(40)"),
            ("c_nationkey", "INTEGER", "bigint"),
            ("c_phone", "TEXT", "text"),
            ("c_acctbal", "DECIMAL(15,2)", "numeric(15,2)"),
            ("c_mktsegment", "CHAR(10)", "character(10)"),
            ("c_comment", "VARCHAR(117)", "character varying(117)"),
            ("source", "TEXT", "text"),
            ("batch", "TEXT", "text"),
            ("loaded_at", "TIMESTAMPTZ", "timestamp with time zone"),
        ];
        sqlite
            .iter()
            .map(|(n, s, p)| {
                let t = match self {
                    Target::Sqlite(_) => s,
                    Target::Postgres(..) => p,
                };
                (n.to_string(), t.to_string())
            })
            .collect()
    }
}

/// The customer table loaded into PostgreSQL, as the SQLite source stores the same values:
/// integers, a numeric as an integer when whole (NUMERIC affinity) or a real, text, and the
/// load time as `YYYY-MM-DD HH:MM:SS.ffffff+00:00`.
fn pg_dump_customer(url: &str, schema: &str) -> Vec<Vec<Cell>> {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let rows = c
        .query(
            &format!(
                "SELECT c_custkey::int8, name, c_address, c_nationkey::int8, c_phone, c_acctbal::text,
                        c_mktsegment::text, c_comment, source, batch,
                        to_char(loaded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US\"+00:00\"')
                 FROM {schema}.customer"
            ),
            &[],
        )
        .unwrap();
    let text = |v: Option<String>| v.map(Cell::Text).unwrap_or(Cell::Null);
    rows.iter()
        .map(|r| {
            let acctbal: String = r.get(5);
            let n: f64 = acctbal.parse().unwrap();
            let acctbal = if n.fract() == 0.0 {
                Cell::Integer(n as i64)
            } else {
                Cell::from(Value::Real(n))
            };
            vec![
                Cell::Integer(r.get(0)),
                text(r.get(1)),
                text(r.get(2)),
                Cell::Integer(r.get(3)),
                text(r.get(4)),
                acctbal,
                text(r.get(6)),
                text(r.get(7)),
                text(r.get(8)),
                text(r.get(9)),
                text(r.get(10)),
            ]
        })
        .collect()
}

fn hmac_hex(value: &str) -> String {
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    m.update(value.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// The source's customer rows, each cell as SQLite stores it.
fn source_customers() -> Vec<Vec<Value>> {
    let conn = Connection::open(tpch()).unwrap();
    let mut stmt = conn.prepare("SELECT * FROM customer").unwrap();
    stmt.query_map([], |r| (0..8).map(|i| r.get::<_, Value>(i)).collect())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Integer(i) => *i as f64,
        Value::Real(f) => *f,
        other => panic!("not a number: {other:?}"),
    }
}

fn text(v: &Value) -> &str {
    match v {
        Value::Text(s) => s,
        other => panic!("not text: {other:?}"),
    }
}

fn load_customer(target: &Target) {
    let before = chrono::Utc::now().timestamp_micros();
    ferry()
        .env("FERRY_MASK_KEY", KEY)
        .args([
            "copy",
            &tpch_url(),
            &target.url(),
            "--table",
            "customer",
            "--target-table",
            &target.table(),
            "-q",
        ])
        .args([
            "--transform",
            "rename(c_name, name)",
            "--transform",
            "filter(c_acctbal > 0 AND c_mktsegment <> 'HOUSEHOLD')",
            "--transform",
            "mask(c_phone, hmac)",
            "--transform",
            "add(source, source_table)",
            "--transform",
            "add(batch, 'backfill-7')",
            "--transform",
            "add(loaded_at, load_time)",
        ])
        .assert()
        .success();
    let after = chrono::Utc::now().timestamp_micros();

    assert_eq!(target.columns(), target.expected_columns());

    // The expected rows, computed from the source rows without ferry.
    let mut expected: Vec<Vec<Cell>> = source_customers()
        .into_iter()
        .filter(|r| number(&r[5]) > 0.0 && text(&r[6]) != "HOUSEHOLD")
        .map(|r| {
            let mut row: Vec<Cell> = r.iter().cloned().map(Cell::from).collect();
            row[4] = Cell::Text(hmac_hex(text(&r[4])));
            row.push(Cell::Text("customer".into()));
            row.push(Cell::Text("backfill-7".into()));
            row
        })
        .collect();
    expected.sort();
    assert!(
        expected.len() > 500 && expected.len() < 1500,
        "the filter keeps some rows: {}",
        expected.len()
    );

    let mut got = target.dump();
    // The load time: one instant for every row, within the run, as TIMESTAMPTZ text.
    let stamps: Vec<Cell> = got.iter_mut().map(|r| r.pop().unwrap()).collect();
    let Cell::Text(stamp) = &stamps[0] else {
        panic!("loaded_at is text: {:?}", stamps[0]);
    };
    assert!(stamps.iter().all(|s| s == &stamps[0]));
    let stamp = chrono::DateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S%.f%:z")
        .unwrap_or_else(|e| panic!("{stamp}: {e}"))
        .timestamp_micros();
    assert!(
        before <= stamp && stamp <= after,
        "{before} <= {stamp} <= {after}"
    );

    got.sort();
    assert_eq!(got.len(), expected.len(), "row count");
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "sorted row {i}");
    }
}

#[test]
fn customer_with_rename_filter_mask_and_added_columns_into_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    load_customer(&Target::Sqlite(dir.path().join("out.sqlite")));
}

#[test]
fn customer_with_rename_filter_mask_and_added_columns_into_postgres() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_tf_customer");
    load_customer(&Target::Postgres(url, "it_tf_customer".into()));
}

/// Runs a copy of `customer` with a report and returns (rows written, rows read, stderr).
fn copy_with_report(from: &str, dir: &Path, name: &str, steps: &[&str]) -> (u64, u64, String) {
    copy_table_with_report(from, "customer", dir, name, steps)
}

/// Runs a copy of `table` into `customer` of a SQLite file with a report and returns (rows
/// written, rows read, stderr).
fn copy_table_with_report(
    from: &str,
    table: &str,
    dir: &Path,
    name: &str,
    steps: &[&str],
) -> (u64, u64, String) {
    let report = dir.join(format!("{name}.json"));
    let mut cmd = ferry();
    cmd.args([
        "copy",
        from,
        &format!("sqlite://{}", dir.join(format!("{name}.sqlite")).display()),
        "--table",
        table,
        "--target-table",
        "customer",
        "-vv",
        "--report",
    ])
    .arg(&report);
    for s in steps {
        cmd.args(["--transform", s]);
    }
    let out = cmd.assert().success().get_output().clone();
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    (
        r["tables"][0]["rows"].as_u64().unwrap(),
        r["tables"][0]["rows_read"].as_u64().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn filters_on_source_columns_are_evaluated_by_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(tpch()).unwrap();
    let building: u64 = conn
        .query_row(
            "SELECT count(*) FROM customer WHERE c_mktsegment = 'BUILDING' AND c_nationkey BETWEEN 5 AND 9",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(building > 0 && building < 1500);

    // After a rename and a mask of other columns: still source values, so SQLite filters.
    let (rows, read, log) = copy_with_report(
        &tpch_url(),
        dir.path(),
        "pushed",
        &[
            "rename(c_mktsegment, segment)",
            "mask(c_phone, null)",
            "filter(segment = 'BUILDING' AND c_nationkey BETWEEN 5 AND 9)",
        ],
    );
    assert_eq!(
        (rows, read),
        (building, building),
        "only matching rows are read"
    );
    assert!(
        log.contains(
            "WHERE rowid BETWEEN 1 AND 1500 AND ((\"c_mktsegment\" COLLATE BINARY = 'BUILDING' \
             AND ((\"c_nationkey\" >= 5 AND \"c_nationkey\" <= 9)))) ORDER BY rowid"
        ),
        "{log}"
    );

    // After upper() the column is computed: the filter runs in ferry, on every row read.
    let (rows, read, _) = copy_with_report(
        &tpch_url(),
        dir.path(),
        "kept",
        &[
            "rename(c_mktsegment, segment)",
            "mask(c_phone, null)",
            "upper(segment)",
            "filter(segment = 'BUILDING' AND c_nationkey BETWEEN 5 AND 9)",
        ],
    );
    assert_eq!((rows, read), (building, 1500));
    // Both ways give the same table.
    let a = dump(&dir.path().join("pushed.sqlite"), "customer");
    let b = dump(&dir.path().join("kept.sqlite"), "customer");
    assert_eq!(a.len() as u64, building);
    assert_eq!(a, b);

    // With ?mismatch=null a bad value is NULL for ferry but not for SQLite: not pushed.
    let (rows, read, _) = copy_with_report(
        &format!("{}?mismatch=null", tpch_url()),
        dir.path(),
        "lenient",
        &["filter(c_mktsegment = 'BUILDING' AND c_nationkey BETWEEN 5 AND 9)"],
    );
    assert_eq!((rows, read), (building, 1500));
}

#[test]
fn step_errors_name_step_and_column_before_anything_moves() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("out.sqlite");
    let out = format!("sqlite://{}", db.display());
    let err = stderr_of(
        &[
            "copy",
            &tpch_url(),
            &out,
            "--table",
            "customer",
            "--transform",
            "rename(c_name, name)",
            "--transform",
            "mask(c_phon, null)",
        ],
        2,
    );
    assert_eq!(
        err,
        format!(
            "ferry: error: {}: table \"customer\": transform `mask(c_phon, null)`: column \"c_phon\" \
             not found (columns: c_custkey, name, c_address, c_nationkey, c_phone, c_acctbal, \
             c_mktsegment, c_comment)\n",
            tpch_url()
        )
    );
    assert!(!db.exists());

    let err = stderr_of(
        &[
            "copy",
            &tpch_url(),
            &out,
            "--transform",
            "filter(c_acctbal >)",
        ],
        2,
    );
    assert_eq!(
        err,
        "ferry: error: transform `filter(c_acctbal >)`: expected a column or a literal at the end\n"
    );

    let mut cmd = ferry();
    cmd.env_remove("FERRY_MASK_KEY").args([
        "copy",
        &tpch_url(),
        &out,
        "--table",
        "customer",
        "--transform",
        "mask(c_phone, hmac)",
    ]);
    let stderr = cmd.assert().code(2).get_output().stderr.clone();
    assert_eq!(
        String::from_utf8(stderr).unwrap(),
        format!(
            "ferry: error: {}: table \"customer\": transform `mask(c_phone, hmac)`: column \
             \"c_phone\": the mask key variable FERRY_MASK_KEY is not set; export FERRY_MASK_KEY \
             with a secret of at least 16 bytes\n",
            tpch_url()
        )
    );
    assert!(!db.exists());
}

#[test]
fn casts_fail_on_values_that_do_not_fit_unless_asked_to_load_null() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("out.sqlite");
    let out = format!("sqlite://{}", db.display());
    let err = stderr_of(
        &[
            "copy",
            &tpch_url(),
            &out,
            "--table",
            "customer",
            "--transform",
            "cast(c_acctbal, DECIMAL(5,2))",
        ],
        5,
    );
    assert!(
        err.contains(
            "transform `cast(c_acctbal, DECIMAL(5,2))`: column \"c_acctbal\" (Decimal128(15, 2)), row 3 of its batch: 7498.12 does not fit DECIMAL(5,2); fix the value, or write cast(c_acctbal, DECIMAL(5,2), safe=false)"
        ),
        "{err}"
    );
    assert!(!has_table(&db, "customer") || dump(&db, "customer").is_empty());

    let conn = Connection::open(tpch()).unwrap();
    let wide: u64 = conn
        .query_row(
            "SELECT count(*) FROM customer WHERE abs(c_acctbal) >= 1000",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let report = dir.path().join("run.json");
    ferry()
        .args([
            "copy",
            &tpch_url(),
            &out,
            "--table",
            "customer",
            "-q",
            "--report",
        ])
        .arg(&report)
        .args(["--transform", "cast(c_acctbal, DECIMAL(5,2), safe=false)"])
        .assert()
        .success();
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["lossy_values"].as_u64(), Some(wide));
    let nulls: u64 = Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM customer WHERE c_acctbal IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(nulls, wide);
    let declared = columns(&db, "customer");
    assert_eq!(
        declared[5],
        ("c_acctbal".into(), "DECIMAL(5,2)".into(), false, 0)
    );
}

#[test]
fn a_job_file_copies_several_tables_with_their_steps() {
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("migrate.toml");
    std::fs::write(
        &job,
        r#"
transforms = ["add(origin, source_table)"]

[[tables]]
name = "region"
target = "regions"
transforms = ["select(r_regionkey, r_name, origin)", "lower(r_name)", "filter(r_regionkey IN (1, 3))"]

[[tables]]
name = "nation"
transforms = ["drop(n_comment)"]
"#,
    )
    .unwrap();
    let db = dir.path().join("out.sqlite");
    ferry()
        .args([
            "copy",
            &tpch_url(),
            &format!("sqlite://{}", db.display()),
            "-q",
            "--job",
        ])
        .arg(&job)
        .args(["--transform", "rename(origin, from_table)"])
        .assert()
        .success();
    assert_eq!(
        dump(&db, "regions"),
        vec![
            vec![
                Cell::Integer(1),
                Cell::Text("america".into()),
                Cell::Text("region".into())
            ],
            vec![
                Cell::Integer(3),
                Cell::Text("europe".into()),
                Cell::Text("region".into())
            ],
        ]
    );
    let nations = dump(&db, "nation");
    let source = dump(&tpch(), "nation");
    assert_eq!(nations.len(), 25);
    for (n, s) in nations.iter().zip(&source) {
        assert_eq!(n[..3], s[..3]);
        assert_eq!(n[3], Cell::Text("nation".into()));
        assert_eq!(n.len(), 4);
    }
    assert!(!has_table(&db, "region"));

    let err = stderr_of(
        &[
            "copy",
            &tpch_url(),
            "sqlite://x.sqlite",
            "--job",
            "/nonexistent/job.toml",
        ],
        3,
    );
    assert!(
        err.starts_with("ferry: error: --job /nonexistent/job.toml: cannot read"),
        "{err}"
    );
}

#[test]
fn filters_on_source_columns_are_evaluated_by_postgres() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    crate::postgres::fresh_schema(&mut c, "it_tf_push");
    crate::support::copy(
        &tpch_url(),
        &format!("{url}?schema=it_tf_push"),
        &["--table", "customer"],
    );
    // Counted from the SQLite source, without PostgreSQL: byte order for the text.
    let matching = source_customers()
        .iter()
        .filter(|r| {
            let nation = number(&r[3]);
            number(&r[5]) > 5000.5
                && (5.0..=9.0).contains(&nation)
                && text(&r[2]).as_bytes() >= b"M".as_slice()
        })
        .count() as u64;
    assert!(matching > 0 && matching < 1500, "{matching}");
    let dir = tempfile::tempdir().unwrap();
    let filter = "filter(c_acctbal > 5000.5 AND c_nationkey BETWEEN 5 AND 9 AND c_address >= 'M')";

    // Source columns, renamed or not: PostgreSQL filters, in the COPY's query.
    let (rows, read, log) = copy_table_with_report(
        &url,
        "it_tf_push.customer",
        dir.path(),
        "pushed",
        &["mask(c_phone, null)", filter],
    );
    assert_eq!(
        (rows, read),
        (matching, matching),
        "only matching rows are read"
    );
    assert!(
        log.contains(
            "AS ferry_filtered WHERE ((\"c_acctbal\" > 5000.50 AND ((\"c_nationkey\" >= 5 AND \"c_nationkey\" <= 9))) \
             AND \"c_address\" COLLATE \"C\" >= 'M')) TO STDOUT (FORMAT binary)"
        ),
        "{log}"
    );

    // A computed column (here a cast) is filtered in ferry, on every row read.
    let (rows, read, _) = copy_table_with_report(
        &url,
        "it_tf_push.customer",
        dir.path(),
        "kept",
        &[
            "mask(c_phone, null)",
            "cast(c_acctbal, DECIMAL(16,3))",
            filter,
        ],
    );
    assert_eq!((rows, read), (matching, 1500));
    // A padded char(n) column is never pushed: PostgreSQL compares it without the padding.
    let (_, read, _) = copy_table_with_report(
        &url,
        "it_tf_push.customer",
        dir.path(),
        "padded",
        &["filter(c_mktsegment = 'BUILDING')"],
    );
    assert_eq!(read, 1500);

    let a = dump(&dir.path().join("pushed.sqlite"), "customer");
    let b = dump(&dir.path().join("kept.sqlite"), "customer");
    assert_eq!(a.len() as u64, matching);
    assert_eq!(
        a.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        b.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        "the same customers either way"
    );
}
