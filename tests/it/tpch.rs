//! The built-in TPC-H source: row counts of the specification, values and declared types equal
//! to `data/tpch.sqlite` (which `scripts/make-data.sh` builds from tpchgen-cli 4.0.0's CSV, byte
//! for byte), the same values as tpchgen-cli's CSV read directly, and keys for `--with-keys`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use crate::support::{
    assert_same_table, columns, copy, dump, ferry, has_table, sqlite_url, stderr_of, tpch,
    TPCH_TABLES,
};

const SF001: &str = "tpch://?sf=0.01";

/// Rows of each table at SF 0.01 and SF 1 (clause 4.2.5; lineitem varies: 1 to 7 lines per order).
const ROWS_SF001: [(&str, u64); 8] = [
    ("region", 5),
    ("nation", 25),
    ("part", 2_000),
    ("supplier", 100),
    ("partsupp", 8_000),
    ("customer", 1_500),
    ("orders", 15_000),
    ("lineitem", 60_175),
];
const ROWS_SF1: [(&str, u64); 8] = [
    ("region", 5),
    ("nation", 25),
    ("part", 200_000),
    ("supplier", 10_000),
    ("partsupp", 800_000),
    ("customer", 150_000),
    ("orders", 1_500_000),
    ("lineitem", 6_001_215),
];

fn inspect_json(url: &str) -> serde_json::Value {
    let out = ferry()
        .args(["inspect", url, "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

fn rows_of(tables: &serde_json::Value) -> Vec<(String, u64)> {
    tables
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["rows"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn expected(rows: &[(&str, u64)]) -> Vec<(String, u64)> {
    rows.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

#[test]
fn inspect_counts_the_specifications_rows_without_generating_them() {
    assert_eq!(rows_of(&inspect_json(SF001)), expected(&ROWS_SF001));
    // SF 1 has 8.66 million rows; counting them takes one random draw per order, not a row.
    let started = Instant::now();
    let sf1 = inspect_json("tpch://?sf=1");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(rows_of(&sf1), expected(&ROWS_SF1));
    assert!(
        seconds < 20.0,
        "inspect took {seconds:.1} s: did it generate the rows?"
    );
    let lineitem = &sf1[7];
    assert_eq!(
        lineitem["partitions"], 12,
        "6,001,215 rows in parts of 500,000"
    );
    let cols = lineitem["columns"].as_array().unwrap();
    let col = |name: &str| cols.iter().find(|c| c["name"] == name).unwrap().clone();
    assert_eq!(col("l_orderkey")["source_type"], "INTEGER");
    assert_eq!(col("l_orderkey")["arrow_type"], "Int32");
    assert_eq!(col("l_quantity")["source_type"], "DECIMAL(15,2)");
    assert_eq!(col("l_quantity")["arrow_type"], "Decimal128(15, 2)");
    assert_eq!(col("l_shipdate")["source_type"], "DATE");
    assert_eq!(col("l_shipdate")["arrow_type"], "Date32");
    assert_eq!(col("l_shipmode")["source_type"], "CHAR(10)");
    assert_eq!(col("l_comment")["source_type"], "VARCHAR(44)");
    assert_eq!(col("l_comment")["arrow_type"], "Utf8");
    assert!(
        cols.iter().all(|c| c["nullable"] == false),
        "every column NOT NULL"
    );
    // Past SF 357 an order key needs 64 bits: identifiers become BIGINT.
    // (orders only: lineitem's 6 billion rows take 1.5 billion draws to count).
    let out = ferry()
        .args(["inspect", "tpch://?sf=1000", "--table", "orders", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let sf1000: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let cols = sf1000[0]["columns"].as_array().unwrap();
    assert_eq!(cols[0]["name"], "o_orderkey");
    assert_eq!(cols[0]["source_type"], "BIGINT");
    assert_eq!(cols[0]["arrow_type"], "Int64");
    assert_eq!(sf1000[0]["rows"], 1_500_000_000u64);
}

#[test]
fn sqlite_copy_equals_the_embedded_database_cell_by_cell() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tpch.sqlite");
    // Small parts, so every table but region and nation is generated in several partitions.
    copy(
        &format!("{SF001}&partition_rows=4000"),
        &sqlite_url(&db),
        &[],
    );
    for t in TPCH_TABLES {
        // Same declared types, NOT NULL, no keys, and every cell with its storage class.
        assert_same_table(&tpch(), &db, t);
    }
    for (t, n) in ROWS_SF001 {
        assert_eq!(dump(&db, t).len() as u64, n, "{t}");
    }
}

#[test]
fn parquet_snapshot_keeps_types_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let snap = format!("parquet://{}", dir.path().join("snap").display());
    copy(SF001, &snap, &[]);
    let back = dir.path().join("back.sqlite");
    copy(&snap, &sqlite_url(&back), &[]);
    for t in TPCH_TABLES {
        assert_same_table(&tpch(), &back, t);
    }
}

#[test]
fn table_picks_tables() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("two.sqlite");
    copy(
        SF001,
        &sqlite_url(&db),
        &["--table", "nation", "--table", "region"],
    );
    assert_same_table(&tpch(), &db, "nation");
    assert_same_table(&tpch(), &db, "region");
    assert!(!has_table(&db, "lineitem"));
}

/// (column, position in the primary key) of the key columns of `table`.
fn key_columns(db: &Path, table: &str) -> Vec<(String, i64)> {
    columns(db, table)
        .into_iter()
        .filter(|c| c.3 > 0)
        .map(|c| (c.0, c.3))
        .collect()
}

#[test]
fn with_keys_declares_the_primary_keys_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.sqlite");
    copy(SF001, &sqlite_url(&db), &["--with-keys"]);
    let keys: BTreeMap<&str, Vec<(String, i64)>> = TPCH_TABLES
        .iter()
        .map(|t| (*t, key_columns(&db, t)))
        .collect();
    let k = |cols: &[&str]| -> Vec<(String, i64)> {
        cols.iter()
            .enumerate()
            .map(|(i, c)| (c.to_string(), i as i64 + 1))
            .collect()
    };
    assert_eq!(keys["region"], k(&["r_regionkey"]));
    assert_eq!(keys["nation"], k(&["n_nationkey"]));
    assert_eq!(keys["part"], k(&["p_partkey"]));
    assert_eq!(keys["supplier"], k(&["s_suppkey"]));
    assert_eq!(keys["partsupp"], k(&["ps_partkey", "ps_suppkey"]));
    assert_eq!(keys["customer"], k(&["c_custkey"]));
    assert_eq!(keys["orders"], k(&["o_orderkey"]));
    assert_eq!(keys["lineitem"], k(&["l_orderkey", "l_linenumber"]));
    // The same rows as without keys.
    for t in TPCH_TABLES {
        assert_eq!(dump(&db, t), dump(&tpch(), t), "{t}");
    }
    // The key is enforced.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let err = conn
        .execute(
            "INSERT INTO lineitem SELECT * FROM lineitem WHERE l_orderkey = 1 AND l_linenumber = 1",
            [],
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("UNIQUE constraint failed"),
        "{err}"
    );
}

#[test]
fn with_keys_into_a_snapshot_records_them_for_a_later_load() {
    let dir = tempfile::tempdir().unwrap();
    let snap = format!("parquet://{}", dir.path().join("snap").display());
    copy(SF001, &snap, &["--with-keys", "--table", "partsupp"]);
    let db = dir.path().join("later.sqlite");
    copy(&snap, &sqlite_url(&db), &[]);
    assert_eq!(
        key_columns(&db, "partsupp"),
        vec![("ps_partkey".to_string(), 1), ("ps_suppkey".to_string(), 2)]
    );
    assert_eq!(dump(&db, "partsupp"), dump(&tpch(), "partsupp"));
}

#[test]
fn bad_tpch_urls_and_uses() {
    let dir = tempfile::tempdir().unwrap();
    let out = sqlite_url(&dir.path().join("x.sqlite"));
    assert_eq!(
        stderr_of(&["copy", "tpch://?sf=zero", &out], 2),
        "ferry: error: tpch://?sf=zero: sf=zero is not a scale factor; give a number above 0 \
         and at most 100000, such as sf=0.01 or sf=10\n"
    );
    assert_eq!(
        stderr_of(&["copy", SF001, &out, "--table", "lineitems"], 3),
        "ferry: error: tpch://?sf=0.01: table \"lineitems\" not found (tables: region, nation, \
         part, supplier, partsupp, customer, orders, lineitem)\n"
    );
    assert_eq!(
        stderr_of(&["copy", &sqlite_url(&tpch()), SF001], 2),
        "ferry: error: tpch://?sf=0.01: the TPC-H generator is a source only; write to another \
         endpoint\n"
    );
    assert_eq!(
        stderr_of(
            &[
                "copy",
                SF001,
                &out,
                "--query",
                "SELECT 1",
                "--target-table",
                "t"
            ],
            9
        ),
        "ferry: error: tpch://?sf=0.01: the TPC-H generator has no SQL; pick tables with \
         --table\n"
    );
    assert!(!dir.path().join("x.sqlite").exists());
}

/// `tpchgen-cli` 4.0.0, which `scripts/test.sh` installs (through `scripts/tpchgen-cli.sh`);
/// `None` with a notice when it is missing, a failure when `CI` is set.
fn tpchgen_cli() -> Option<&'static str> {
    let version = std::process::Command::new("tpchgen-cli")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if version.as_deref() == Some("tpchgen-cli 4.0.0") {
        return Some("tpchgen-cli");
    }
    if std::env::var_os("CI").is_some() {
        panic!("tpchgen-cli 4.0.0 is not on PATH ({version:?}); scripts/test.sh installs it");
    }
    eprintln!(
        "skipping: tpchgen-cli 4.0.0 is not on PATH (bash scripts/tpchgen-cli.sh installs it)"
    );
    None
}

/// Every cell of a tpchgen-cli CSV file as text; decimals in canonical form (`17` is `17.00`).
fn csv_cells(path: &Path, schema: &arrow::datatypes::SchemaRef) -> Vec<Vec<String>> {
    use arrow::array::AsArray;
    use arrow::datatypes::{DataType, Field, Schema};
    let text = std::sync::Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let reader = arrow::csv::ReaderBuilder::new(text)
        .with_header(true)
        .build(std::fs::File::open(path).unwrap())
        .unwrap();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        for r in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .zip(schema.fields())
                    .map(|(c, f)| {
                        let s = c.as_string::<i32>().value(r);
                        match f.data_type() {
                            DataType::Decimal128(p, sc) => {
                                let v = ferry::types::decimal::parse_exact(s, *p, *sc)
                                    .unwrap_or_else(|| {
                                        panic!("{}: {s} is not a decimal", f.name())
                                    });
                                ferry::types::decimal::format(v, *sc)
                            }
                            _ => s.to_string(),
                        }
                    })
                    .collect(),
            );
        }
    }
    rows
}

/// Every cell ferry's TPC-H source generates for `table`, partitions in order, as text.
fn generated_cells(
    source: &dyn ferry::source::Source,
    table: &str,
) -> (arrow::datatypes::SchemaRef, Vec<Vec<String>>) {
    use arrow::array::AsArray;
    use arrow::datatypes::{DataType, Decimal128Type};
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let plan = source
        .plan(&ferry::source::TableRef::Table(table.into()))
        .unwrap();
    let mut rows = Vec::new();
    for p in &plan.partitions {
        for batch in source.open(&plan, p).unwrap() {
            let batch = batch.unwrap();
            let formatters: Vec<ArrayFormatter> = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &FormatOptions::default()).unwrap())
                .collect();
            for r in 0..batch.num_rows() {
                rows.push(
                    batch
                        .columns()
                        .iter()
                        .zip(&formatters)
                        .map(|(c, f)| match c.data_type() {
                            DataType::Decimal128(_, s) => ferry::types::decimal::format(
                                arrow::datatypes::i256::from_i128(
                                    c.as_primitive::<Decimal128Type>().value(r),
                                ),
                                *s,
                            ),
                            _ => f.value(r).to_string(),
                        })
                        .collect(),
                );
            }
        }
    }
    (plan.schema, rows)
}

#[test]
fn values_equal_tpchgen_clis_csv_cell_by_cell() {
    let Some(cli) = tpchgen_cli() else { return };
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(cli)
        .args(["csv", "--scale-factor", "0.01", "--quiet", "--output-dir"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    // Parts of 3,000 rows: the generated parts, read in order, must be the whole run's rows.
    let endpoint = format!("{SF001}&partition_rows=3000").parse().unwrap();
    let source = ferry::source::open_source(
        &endpoint,
        &ferry::source::ReadOptions::new(Default::default()),
    )
    .unwrap();
    for (table, rows) in ROWS_SF001 {
        let (schema, ours) = generated_cells(source.as_ref(), table);
        let theirs = csv_cells(&dir.path().join(format!("{table}.csv")), &schema);
        assert_eq!(ours.len() as u64, rows, "{table}");
        assert_eq!(theirs.len(), ours.len(), "{table}: rows");
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(a, b, "{table}: row {i} differs from tpchgen-cli's");
        }
    }
}

/// A database-like sink that adds foreign keys after the load, as the PostgreSQL and MySQL sinks
/// do: it records the order of events so the test can check when and with what
/// `add_foreign_keys` is called, and that each table's schema carried its primary key.
#[derive(Default, Clone)]
struct AfterLoadSink {
    events: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    keys: std::sync::Arc<std::sync::Mutex<Vec<ferry::sink::TargetKeys>>>,
}

struct CountingWriter<'a> {
    sink: &'a AfterLoadSink,
    table: String,
    rows: u64,
    schema: arrow::datatypes::SchemaRef,
}

impl ferry::sink::TableWriter for CountingWriter<'_> {
    fn write(&mut self, batch: &arrow::record_batch::RecordBatch) -> ferry::Result<()> {
        self.rows += batch.num_rows() as u64;
        Ok(())
    }
    fn finish(self: Box<Self>) -> ferry::Result<ferry::sink::WriteStats> {
        let marked = self
            .schema
            .fields()
            .iter()
            .filter(|f| f.metadata().contains_key("ferry.primary_key"))
            .count();
        self.sink.events.lock().unwrap().push(format!(
            "{}: {} rows, {marked} key columns in the schema",
            self.table, self.rows
        ));
        Ok(ferry::sink::WriteStats {
            rows: self.rows,
            ..Default::default()
        })
    }
}

impl ferry::sink::Sink for AfterLoadSink {
    fn describe_target(
        &self,
        table: &str,
        _: &arrow::datatypes::SchemaRef,
    ) -> ferry::Result<String> {
        Ok(table.to_string())
    }
    fn exists(&self, _: &str) -> ferry::Result<bool> {
        Ok(false)
    }
    fn prepare(
        &self,
        table: &str,
        schema: &arrow::datatypes::SchemaRef,
        _: ferry::sink::IfExists,
    ) -> ferry::Result<Box<dyn ferry::sink::TableWriter + '_>> {
        Ok(Box::new(CountingWriter {
            sink: self,
            table: table.to_string(),
            rows: 0,
            schema: schema.clone(),
        }))
    }
    fn commit(&self) -> ferry::Result<()> {
        self.events.lock().unwrap().push("commit".into());
        Ok(())
    }
    fn add_foreign_keys(&self, tables: &[ferry::sink::TargetKeys]) -> ferry::Result<()> {
        self.events.lock().unwrap().push("add_foreign_keys".into());
        self.keys.lock().unwrap().extend_from_slice(tables);
        Ok(())
    }
}

#[test]
fn with_keys_marks_primary_keys_and_adds_renamed_foreign_keys_once_after_the_load() {
    use ferry::pipeline::{CopyOptions, CopyPlan, Pipeline};
    use ferry::source::{ForeignKey, TableKeys, TableRef};
    let sink = AfterLoadSink::default();
    let source = ferry::source::open_source(
        &SF001.parse().unwrap(),
        &ferry::source::ReadOptions::new(Default::default()),
    )
    .unwrap();
    let t = |s: &str, target: &str| ferry::pipeline::TableSpec {
        source: TableRef::Table(s.into()),
        target: Some(target.into()),
        steps: Vec::new(),
    };
    let plan = CopyPlan::build(
        SF001.into(),
        "after-load".into(),
        source,
        Box::new(sink.clone()),
        // nation is loaded as "n"; supplier references nation, customer is not in the run.
        vec![
            t("region", "region"),
            t("nation", "n"),
            t("supplier", "supplier"),
        ],
        ferry::transform::StepContext::new(""),
        CopyOptions {
            with_keys: true,
            ..Default::default()
        },
    )
    .unwrap();
    let progress = ferry::progress::Progress::new(false, 0);
    Pipeline::new(&progress)
        .run(&plan, &mut Default::default())
        .unwrap();
    assert_eq!(
        *sink.events.lock().unwrap(),
        vec![
            "region: 5 rows, 1 key columns in the schema",
            "n: 25 rows, 1 key columns in the schema",
            "supplier: 100 rows, 1 key columns in the schema",
            "commit",
            "add_foreign_keys",
        ]
    );
    let keys: Vec<(String, TableKeys)> = sink
        .keys
        .lock()
        .unwrap()
        .iter()
        .map(|k| (k.table.clone(), k.keys.clone()))
        .collect();
    let fk = |c: &str, t: &str, r: &str| ForeignKey {
        columns: vec![c.into()],
        table: t.into(),
        referenced: vec![r.into()],
        ..Default::default()
    };
    assert_eq!(
        keys,
        vec![
            (
                "region".to_string(),
                TableKeys {
                    primary_key: vec!["r_regionkey".into()],
                    foreign_keys: vec![],
                }
            ),
            (
                "n".to_string(),
                TableKeys {
                    primary_key: vec!["n_nationkey".into()],
                    foreign_keys: vec![fk("n_regionkey", "region", "r_regionkey")],
                }
            ),
            (
                "supplier".to_string(),
                TableKeys {
                    primary_key: vec!["s_suppkey".into()],
                    foreign_keys: vec![fk("s_nationkey", "n", "n_nationkey")],
                }
            ),
        ]
    );
}
