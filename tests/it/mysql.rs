//! The MySQL/MariaDB endpoint against a real server: every MySQL type round-tripped and compared
//! cell by cell (MariaDB -> MariaDB, -> Parquet -> MariaDB, -> PostgreSQL -> MariaDB), the
//! declared target types read back from information_schema, PostgreSQL and SQLite sources into
//! MariaDB, LOAD DATA's warnings turned into failures that leave the target as it was, zero
//! dates, tinyint(1), a consistent snapshot under concurrent writes, filters evaluated by the
//! server with ferry's byte order, and errors.

use mysql::prelude::Queryable;
use mysql::Conn;
use tempfile::TempDir;

use crate::support::{assert_same_table, ferry, server_url, stderr_of, tpch, TPCH_TABLES};

const DEFAULT_URL: &str = "mysql://ferry:ferry@127.0.0.1:3306/ferry_test";
const PG_DEFAULT_URL: &str = "postgres://ferry:ferry@127.0.0.1:5432/ferry_test";

/// A fresh database owned by one test: its URL and a connection to it.
pub(crate) fn fresh_db(name: &str) -> Option<(String, Conn)> {
    let base = server_url("FERRY_TEST_MYSQL_URL", DEFAULT_URL)?;
    let mut admin = Conn::new(base.as_str()).expect("connect to the test server");
    admin
        .query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
        .unwrap();
    admin
        .query_drop(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        ))
        .unwrap();
    let url = with_db(&base, name);
    let mut conn = Conn::new(url.as_str()).unwrap();
    conn.query_drop("SET NAMES utf8mb4").unwrap();
    conn.query_drop("SET time_zone = '+00:00'").unwrap();
    Some((url, conn))
}

/// Another connection to the database of `url` (from [`fresh_db`]).
pub(crate) fn fresh_db_conn(url: &str) -> Conn {
    Conn::new(url).unwrap()
}

pub(crate) fn with_db(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    u.set_path(&format!("/{db}"));
    u.to_string()
}

fn copy(args: &[&str]) {
    ferry().args(args).arg("-q").assert().success();
}

/// Every cell of a table as text (binary columns in hex, bits as numbers), rows sorted by the
/// first column.
fn cells(c: &mut Conn, table: &str) -> Vec<Vec<Option<String>>> {
    let cols: Vec<(String, String)> = c
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (table,),
        )
        .unwrap();
    let select = cols
        .iter()
        .map(|(n, t)| {
            let q = format!("`{n}`");
            match t.as_str() {
                "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
                    format!("HEX({q})")
                }
                "bit" => format!("CAST({q} + 0 AS CHAR)"),
                _ => format!("CAST({q} AS CHAR)"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let rows: Vec<mysql::Row> = c
        .query(format!("SELECT {select} FROM `{table}` ORDER BY 1"))
        .unwrap();
    rows.into_iter()
        .map(|r| {
            r.unwrap()
                .into_iter()
                .map(|v| match v {
                    mysql::Value::NULL => None,
                    mysql::Value::Bytes(b) => Some(String::from_utf8(b).unwrap()),
                    other => Some(other.as_sql(true)),
                })
                .collect()
        })
        .collect()
}

/// `(name, COLUMN_TYPE, IS_NULLABLE)` of each column.
fn definitions(c: &mut Conn, table: &str) -> Vec<(String, String, String)> {
    c.exec(
        "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        (table,),
    )
    .unwrap()
}

/// Every MySQL type of the issue, at its edges, and a row of NULLs.
const HARD: &str = "
CREATE TABLE hard (
  id int NOT NULL PRIMARY KEY,
  b tinyint(1), ti tinyint, tu tinyint unsigned, si smallint, su smallint unsigned,
  mi mediumint, mu mediumint unsigned, i int, iu int unsigned, bi bigint NOT NULL DEFAULT 0,
  bu bigint unsigned,
  f float, d double, dec1 decimal(15,2), dec2 decimal(65,30), dec3 decimal(38,0),
  bt bit(12), y year, dt date, dtm datetime(6), ts timestamp(6) NULL, tm time(6),
  c char(5), vc varchar(20), tx text, lt longtext, l1 varchar(10) CHARACTER SET latin1,
  e enum('a','b','c d'), st set('x','y','z'), j json,
  bin binary(4), vb varbinary(10), bl blob,
  g bigint GENERATED ALWAYS AS (i * 2) VIRTUAL
) DEFAULT CHARSET=utf8mb4;
INSERT INTO hard (id,b,ti,tu,si,su,mi,mu,i,iu,bi,bu,f,d,dec1,dec2,dec3,bt,y,dt,dtm,ts,tm,c,vc,tx,lt,l1,e,st,j,bin,vb,bl) VALUES
 (1, 1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
  -9223372036854775808, 18446744073709551615,
  0.1, 1e308, -9999999999999.99,
  12345678901234567890123456789012345.123456789012345678901234567891,
  99999999999999999999999999999999999999,
  b'101010101010', 2155, '1000-01-01', '9999-12-31 23:59:59.999999',
  '2038-01-19 03:14:07.999999', '-838:59:59',
  'ab', 'tab\there', 'line\nbreak \\\\ back \\\\N', 'plain', 'café', 'c d', 'x,z',
  '{\"k\": [1, 2.5, \"é\"]}', 0x00010203, 0x00ff5c09, 0xdeadbeef00),
 (2, 0, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0, 9223372036854775807, 0,
  -3.4e38, -2.2250738585072014e-308, 0.01, -0.000000000000000000000000000001, -1,
  b'0', 1901, '1970-01-01', '1969-12-31 23:59:59.5', '1970-01-01 00:00:01', '838:59:59',
  '', '😀 emoji', '', '', 'Ünïcödé', 'a', '', '[]', 0x00000000, '', ''),
 (3, NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,
  NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)";

fn load_hard(c: &mut Conn) {
    for stmt in HARD.split(";\n") {
        c.query_drop(stmt).unwrap();
    }
}

#[test]
fn every_mysql_type_round_trips_through_mariadb_parquet_and_postgres() {
    let Some((url, mut c)) = fresh_db("ferry_it_hard") else {
        return;
    };
    load_hard(&mut c);
    // A NUL byte in a text column: MariaDB and Parquet keep it.
    c.query_drop("UPDATE hard SET lt = CONCAT('nul', CHAR(0), 'byte') WHERE id = 2")
        .unwrap();
    let original = cells(&mut c, "hard");
    assert_eq!(original.len(), 3);

    // MariaDB -> MariaDB, and a query of the same table.
    copy(&[
        "copy",
        &url,
        &url,
        "--table",
        "hard",
        "--target-table",
        "hard_copy",
    ]);
    assert_eq!(cells(&mut c, "hard_copy"), original);
    copy(&[
        "copy",
        &url,
        &url,
        "--query",
        "SELECT * FROM hard",
        "--target-table",
        "hard_query",
    ]);
    assert_eq!(cells(&mut c, "hard_query"), original);

    // MariaDB -> Parquet -> MariaDB: the snapshot keeps the declared types.
    let dir = TempDir::new().unwrap();
    let snap = format!("parquet://{}", dir.path().join("snap").display());
    copy(&["copy", &url, &snap, "--table", "hard"]);
    copy(&[
        "copy",
        &snap,
        &url,
        "--table",
        "hard",
        "--target-table",
        "hard_back",
    ]);
    assert_eq!(cells(&mut c, "hard_back"), original);
    let defs = definitions(&mut c, "hard_back");
    let original_defs = definitions(&mut c, "hard");
    // The generated column arrives as a plain column holding its values.
    assert_eq!(
        defs[..defs.len() - 1],
        original_defs[..original_defs.len() - 1]
    );
    assert_eq!(defs.last().unwrap().1, "bigint(20)");

    // MariaDB -> PostgreSQL (PostgreSQL text has no NUL: that row is changed first).
    let Some(pg) = server_url("FERRY_TEST_PG_URL", PG_DEFAULT_URL) else {
        return;
    };
    c.query_drop("UPDATE hard SET lt = '' WHERE id = 2")
        .unwrap();
    let original = cells(&mut c, "hard");
    copy(&[
        "copy",
        &url,
        &pg,
        "--table",
        "hard",
        "--target-table",
        "my_hard",
        "--if-exists",
        "replace",
    ]);
    let mut p = postgres::Client::connect(&pg, postgres::NoTls).unwrap();
    let types: Vec<(String, String)> = p
        .query(
            "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute
             WHERE attrelid = 'public.my_hard'::regclass AND attnum > 0 ORDER BY attnum",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let ty = |n: &str| types.iter().find(|(c, _)| c == n).unwrap().1.clone();
    // tinyint(1) is an integer by default: a smallint, every value kept.
    assert_eq!(ty("b"), "smallint");
    assert_eq!(ty("tu"), "smallint");
    assert_eq!(ty("iu"), "bigint");
    assert_eq!(ty("bu"), "numeric(20,0)");
    assert_eq!(ty("dec2"), "numeric(65,30)");
    assert_eq!(ty("f"), "real");
    assert_eq!(ty("tm"), "interval");
    assert_eq!(ty("ts"), "timestamp with time zone");
    assert_eq!(ty("dtm"), "timestamp without time zone");
    assert_eq!(ty("vc"), "character varying(20)");
    assert_eq!(ty("c"), "character(5)");
    assert_eq!(ty("j"), "json");
    assert_eq!(ty("vb"), "bytea");
    p.batch_execute("SET TimeZone = 'UTC'; SET IntervalStyle = 'postgres'")
        .unwrap();
    let r = p
        .query_one(
            "SELECT bu::text, dec2::text, tm::text, ts::text, vb::text, f::text FROM my_hard WHERE id = 1",
            &[],
        )
        .unwrap();
    assert_eq!(r.get::<_, String>(0), "18446744073709551615");
    assert_eq!(
        r.get::<_, String>(1),
        "12345678901234567890123456789012345.123456789012345678901234567891"
    );
    assert_eq!(r.get::<_, String>(2), "-838:59:59");
    assert_eq!(r.get::<_, String>(3), "2038-01-19 03:14:07.999999+00");
    assert_eq!(r.get::<_, String>(4), "\\x00ff5c09");
    assert_eq!(r.get::<_, String>(5), "0.1");
    // ... and back into MariaDB: every cell as it was.
    copy(&[
        "copy",
        &pg,
        &url,
        "--table",
        "my_hard",
        "--target-table",
        "hard_pg",
    ]);
    let back = cells(&mut c, "hard_pg");
    assert_eq!(back.len(), original.len());
    // PostgreSQL's interval has no MySQL type: it comes back as its exact ISO 8601 text.
    let tm = definitions(&mut c, "hard")
        .iter()
        .position(|d| d.0 == "tm")
        .unwrap();
    let durations: Vec<Option<&str>> = back.iter().map(|r| r[tm].as_deref()).collect();
    assert_eq!(
        durations,
        vec![Some("PT-838H-59M-59S"), Some("PT838H59M59S"), None]
    );
    for (a, b) in original.iter().zip(&back) {
        let (mut a, mut b) = (a.clone(), b.clone());
        a.remove(tm);
        b.remove(tm);
        assert_eq!(a, b);
    }
}

#[test]
fn postgres_and_sqlite_sources_load_into_mariadb_with_mapped_types() {
    let Some((url, mut c)) = fresh_db("ferry_it_into") else {
        return;
    };
    // SQLite TPC-H -> MariaDB -> SQLite: every table, cell by cell.
    let dir = TempDir::new().unwrap();
    let src = tpch();
    copy(&["copy", src.to_str().unwrap(), &url, "--jobs", "3"]);
    let back = dir.path().join("back.sqlite");
    copy(&["copy", &url, back.to_str().unwrap()]);
    for t in TPCH_TABLES {
        assert_same_table(&src, &back, t);
    }
    let defs = definitions(&mut c, "lineitem");
    let ty = |n: &str| defs.iter().find(|(c, ..)| c == n).unwrap().clone();
    assert_eq!(ty("l_quantity").1, "decimal(15,2)");
    assert_eq!(ty("l_shipdate").1, "date");
    assert_eq!(ty("l_comment").1, "varchar(44)");
    assert_eq!(ty("l_orderkey").2, "NO");

    let Some(pg) = server_url("FERRY_TEST_PG_URL", PG_DEFAULT_URL) else {
        return;
    };
    let mut p = postgres::Client::connect(&pg, postgres::NoTls).unwrap();
    p.batch_execute(
        "DROP SCHEMA IF EXISTS my_into CASCADE; CREATE SCHEMA my_into;
         CREATE TABLE my_into.t (
           id integer PRIMARY KEY, k text NOT NULL, n numeric(30,10), v varchar(7), b boolean,
           r real, d double precision, by bytea, dt date, ts timestamp(6),
           tz timestamptz, j jsonb, u uuid, big bigint);
         CREATE UNIQUE INDEX ON my_into.t (k);
         INSERT INTO my_into.t VALUES
           (1, 'Key', 12345678901234567890.0123456789, 'seven77', true, 1.5, -0.25,
            '\\x00090a5c4e', '0001-01-01', '1969-07-20 20:17:40.123456',
            '2024-03-31 01:30:00+02', '{\"a\": [1, {\"b\": null}]}',
            'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', -9223372036854775808),
           (2, 'key', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);",
    )
    .unwrap();
    copy(&[
        "copy",
        &pg,
        &url,
        "--table",
        "my_into.t",
        "--target-table",
        "from_pg",
    ]);
    let defs = definitions(&mut c, "from_pg");
    let got: Vec<(&str, &str, &str)> = defs
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("id", "int(11)", "NO"),
            ("k", "longtext", "NO"),
            ("n", "decimal(30,10)", "YES"),
            ("v", "varchar(7)", "YES"),
            ("b", "tinyint(1)", "YES"),
            ("r", "float", "YES"),
            ("d", "double", "YES"),
            ("by", "longblob", "YES"),
            ("dt", "date", "YES"),
            ("ts", "datetime(6)", "YES"),
            ("tz", "datetime(6)", "YES"),
            ("j", "longtext", "YES"),
            ("u", "longtext", "YES"),
            ("big", "bigint(20)", "YES"),
        ]
    );
    let rows = cells(&mut c, "from_pg");
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        rows[0],
        vec![
            s("1"),
            s("Key"),
            s("12345678901234567890.0123456789"),
            s("seven77"),
            s("1"),
            s("1.5"),
            s("-0.25"),
            s("00090A5C4E"),
            s("0001-01-01"),
            s("1969-07-20 20:17:40.123456"),
            s("2024-03-30 23:30:00.000000"),
            s("{\"a\": [1, {\"b\": null}]}"),
            s("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            s("-9223372036854775808"),
        ]
    );
    // Keys differing only by case stay distinct (binary collation), NULLs stay NULL.
    assert_eq!(rows[1][1], s("key"));
    assert!(rows[1][2..].iter().all(|v| v.is_none()));
}

#[test]
fn load_warnings_fail_the_run_and_leave_the_target_as_it_was() {
    let Some((url, mut c)) = fresh_db("ferry_it_trunc") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let src = dir.path().join("src.sqlite");
    let s = rusqlite::Connection::open(&src).unwrap();
    s.execute_batch(
        "CREATE TABLE long_text (id INTEGER, s VARCHAR(3));
         INSERT INTO long_text VALUES (1, 'abc'), (2, 'abcdef');
         CREATE TABLE big_int (id INTEGER, s TEXT, n INTEGER);
         INSERT INTO big_int VALUES (1, 'a', 1), (2, 'b', 300);
         CREATE TABLE late (id INTEGER, s TEXT, n INTEGER, t TIMESTAMPTZ);
         INSERT INTO late VALUES (1, 'a', 1, '2020-01-01 00:00:00+00:00'),
                                 (2, 'b', 2, '2050-01-01 00:00:00+00:00');",
    )
    .unwrap();
    drop(s);
    let src = src.display().to_string();
    c.query_drop("CREATE TABLE target (id int, s varchar(3), n tinyint, t timestamp NULL)")
        .unwrap();
    c.query_drop("INSERT INTO target VALUES (0, 'old', 0, '2001-01-01 00:00:00')")
        .unwrap();
    let before = cells(&mut c, "target");
    let mut admin = Conn::new(url.as_str()).unwrap();
    let mode: String = admin
        .query_first("SELECT @@GLOBAL.sql_mode")
        .unwrap()
        .unwrap();
    for sql_mode in ["", "STRICT_TRANS_TABLES"] {
        admin
            .query_drop(format!("SET GLOBAL sql_mode = '{sql_mode}'"))
            .unwrap();
        for (table, column, value) in [
            ("long_text", "s", "'abcdef'"),
            ("big_int", "n", "\"300\""),
            ("late", "t", "2050-01-01"),
        ] {
            let modes: &[(&str, &str)] = if table == "long_text" {
                &[("append", "1"), ("truncate", "1"), ("replace", "2")]
            } else {
                &[("append", "1"), ("truncate", "1")]
            };
            for &(mode, jobs) in modes {
                let err = stderr_of(
                    &[
                        "copy",
                        &src,
                        &url,
                        "--table",
                        table,
                        "--target-table",
                        "target",
                        "--if-exists",
                        mode,
                        "--jobs",
                        jobs,
                    ],
                    5,
                );
                assert!(err.contains(&format!("column \"{column}\"")), "{err}");
                assert!(err.contains(value), "{err}");
                assert!(err.contains("row 2"), "{err}");
                assert!(!err.contains(":ferry@"), "no password: {err}");
                assert_eq!(
                    cells(&mut c, "target"),
                    before,
                    "{table} {mode} {sql_mode:?}"
                );
            }
        }
    }
    admin
        .query_drop(format!("SET GLOBAL sql_mode = '{mode}'"))
        .unwrap();
    let staging: u64 = c
        .query_first(
            "SELECT COUNT(*) FROM information_schema.TABLES
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '\\_ferry\\_%'",
        )
        .unwrap()
        .unwrap();
    assert_eq!(staging, 0, "no staging table left behind");
}

#[test]
fn zero_dates_tinyint1_and_errors() {
    let Some((url, mut c)) = fresh_db("ferry_it_zero") else {
        return;
    };
    c.query_drop("SET SESSION sql_mode = ''").unwrap();
    c.query_drop("CREATE TABLE z (id int PRIMARY KEY, d date, t datetime)")
        .unwrap();
    c.query_drop(
        "INSERT INTO z VALUES (1, '2024-01-02', '2024-01-02 03:04:05'),
         (2, '0000-00-00', '2024-01-02 03:04:05'), (3, '2024-00-10', '0000-00-00 00:00:00')",
    )
    .unwrap();
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("z.sqlite");
    let out_s = out.display().to_string();
    let err = stderr_of(&["copy", &url, &out_s, "--table", "z"], 5);
    assert!(err.contains("column \"d\", row 2"), "{err}");
    assert!(err.contains("0000-00-00"), "{err}");
    assert!(err.contains("--zero-dates null"), "{err}");
    assert!(!out.exists() || !crate::support::has_table(&out, "z"));
    let report = dir.path().join("report.json");
    copy(&[
        "copy",
        &url,
        &out_s,
        "--table",
        "z",
        "--zero-dates",
        "null",
        "--report",
        report.to_str().unwrap(),
    ]);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["tables"][0]["lossy_values"], 3, "{r}");
    let rows = crate::support::dump(&out, "z");
    use crate::support::Cell;
    assert_eq!(rows[1][1], Cell::Null);
    assert_eq!(rows[2][1], Cell::Null);
    assert_eq!(rows[2][2], Cell::Null);
    assert_eq!(rows[0][1], Cell::Text("2024-01-02".into()));

    // tinyint(1) holding 2: an integer by default, an error when read as a boolean.
    c.query_drop("CREATE TABLE flags (id int, f tinyint(1))")
        .unwrap();
    c.query_drop("INSERT INTO flags VALUES (1, 1), (2, 2), (3, -1)")
        .unwrap();
    let err = stderr_of(
        &[
            "copy",
            &format!("{url}?tinyint1=bool"),
            &out_s,
            "--table",
            "flags",
        ],
        5,
    );
    assert!(err.contains("column \"f\", row 2"), "{err}");
    assert!(err.contains("tinyint1=int"), "{err}");
    let int_url = format!("{url}?tinyint1=int");
    copy(&["copy", &int_url, &out_s, "--table", "flags"]);
    let rows = crate::support::dump(&out, "flags");
    assert_eq!(rows[1][1], Cell::Integer(2));
    assert_eq!(rows[2][1], Cell::Integer(-1));

    // Errors: one line, the thing named, no password, the exit code of the kind.
    let bad = url.replace(":ferry@", ":wrong-secret@");
    let err = stderr_of(&["inspect", &bad], 8);
    assert!(!err.contains("wrong-secret"), "{err}");
    assert!(err.contains("mysql://ferry@127.0.0.1"), "{err}");
    let err = stderr_of(&["copy", &url, &out_s, "--table", "missing"], 3);
    assert!(err.contains("missing"), "{err}");
    let err = stderr_of(&["inspect", &with_db(&url, "ferry_it_no_such_db")], 3);
    assert!(err.contains("ferry_it_no_such_db"), "{err}");
    let err = stderr_of(
        &["copy", &out_s, &url, "--table", "z", "--target-table", "z"],
        4,
    );
    assert!(err.contains("exists"), "{err}");
}

/// Key-range partitions split the rows into equal parts by an exact count taken with the
/// quantiles (not InnoDB's row estimate), so the same rows always give the same bounds (a
/// resume's plan): here keys with a gap, 2000 rows in four parts of 500.
#[test]
fn partition_bounds_are_exact_quantiles_of_the_rows() {
    let Some((url, mut c)) = fresh_db("ferry_it_quantiles") else {
        return;
    };
    c.query_drop(
        "CREATE TABLE q (id bigint PRIMARY KEY, v int);
         INSERT INTO q SELECT seq, seq FROM seq_1_to_1000;
         INSERT INTO q SELECT seq, seq FROM seq_100001_to_101000;",
    )
    .unwrap();
    let dir = TempDir::new().unwrap();
    let to = format!("sqlite://{}", dir.path().join("q.sqlite").display());
    for parts in ["4", "3"] {
        let plan = ferry()
            .args([
                "copy",
                &url,
                &to,
                "--table",
                "q",
                "--partitions",
                parts,
                "--dry-run",
            ])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let plan = String::from_utf8(plan).unwrap();
        let labels: Vec<&str> = plan
            .lines()
            .filter_map(|l| l.trim().strip_prefix("partition "))
            .map(|l| l.split_once(": ").unwrap().1)
            .collect();
        let expected: &[&str] = match parts {
            "4" => &[
                "`id` < 500 or NULL",
                "500 <= `id` < 1000",
                "1000 <= `id` < 100500",
                "`id` >= 100500",
            ],
            _ => &[
                "`id` < 667 or NULL",
                "667 <= `id` < 100334",
                "`id` >= 100334",
            ],
        };
        assert_eq!(labels, expected, "{plan}");
    }
}

#[test]
fn partitions_read_one_snapshot_under_concurrent_writes() {
    let Some((url, mut c)) = fresh_db("ferry_it_snap") else {
        return;
    };
    c.query_drop("CREATE TABLE a (id bigint unsigned PRIMARY KEY, v varchar(20))")
        .unwrap();
    c.query_drop("CREATE TABLE b (id bigint unsigned PRIMARY KEY, v varchar(20))")
        .unwrap();
    c.query_drop("SET SESSION max_recursive_iterations = 100000")
        .unwrap();
    c.query_drop(
        "INSERT INTO a WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 20000)
         SELECT n, CONCAT('v', n) FROM s",
    )
    .unwrap();
    c.query_drop("INSERT INTO b SELECT * FROM a").unwrap();
    // The largest unsigned key: partition bounds must be exact integers.
    c.query_drop(
        "INSERT INTO a VALUES (18446744073709551615, 'max'), (18446744073709551614, 'max-1')",
    )
    .unwrap();
    c.query_drop(
        "INSERT INTO b VALUES (18446744073709551615, 'max'), (18446744073709551614, 'max-1')",
    )
    .unwrap();
    let plan = ferry()
        .args(["copy", &url, &url, "--table", "a", "--target-table", "a2"])
        .args(["--partition-on", "id", "--partitions", "4", "--dry-run"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let plan = String::from_utf8(plan).unwrap();
    assert!(plan.contains("partition 3"), "{plan}");
    assert!(plan.contains("or NULL"), "{plan}");

    // A writer adds rows to both tables in one transaction, all through the copy.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let url = url.clone();
        std::thread::spawn(move || {
            let mut w = Conn::new(url.as_str()).unwrap();
            let mut n = 100_000u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                w.query_drop("START TRANSACTION").unwrap();
                w.exec_drop("INSERT INTO a VALUES (?, 'w')", (n,)).unwrap();
                w.exec_drop("INSERT INTO b VALUES (?, 'w')", (n,)).unwrap();
                w.query_drop("COMMIT").unwrap();
                n += 1;
            }
            n - 100_000
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("snap.sqlite");
    ferry()
        .args([
            "copy",
            &url,
            out.to_str().unwrap(),
            "--table",
            "a",
            "--table",
            "b",
            "-q",
        ])
        .args(["--jobs", "3", "--partition-on", "id", "--partitions", "5"])
        .args(["--batch-rows", "1000"])
        .assert()
        .success();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(written > 0, "the writer ran during the copy");
    let ids = |t: &str| -> Vec<crate::support::Cell> {
        crate::support::dump(&out, t)
            .into_iter()
            .map(|r| r[0].clone())
            .collect()
    };
    let (ia, ib) = (ids("a"), ids("b"));
    assert!(ia.len() >= 20_002, "{}", ia.len());
    assert_eq!(
        ia, ib,
        "both tables and every partition saw the same moment"
    );

    // A user without RELOAD: told so, and the fallbacks work.
    let mut admin = Conn::new(url.as_str()).unwrap();
    admin
        .query_drop("DROP USER IF EXISTS 'ferry_ro'@'127.0.0.1'")
        .unwrap();
    admin
        .query_drop("CREATE USER 'ferry_ro'@'127.0.0.1' IDENTIFIED BY 'ro-pass'")
        .unwrap();
    admin
        .query_drop("GRANT SELECT ON ferry_it_snap.* TO 'ferry_ro'@'127.0.0.1'")
        .unwrap();
    let ro = url.replacen("ferry:ferry@", "ferry_ro:ro-pass@", 1);
    let out2 = dir.path().join("ro.sqlite");
    let out2 = out2.to_str().unwrap();
    let err = stderr_of(&["copy", &ro, out2, "--table", "a", "--jobs", "2"], 8);
    assert!(err.contains("RELOAD"), "{err}");
    assert!(err.contains("--no-snapshot-lock"), "{err}");
    assert!(!err.contains("ro-pass"), "{err}");
    copy(&[
        "copy",
        &ro,
        out2,
        "--table",
        "a",
        "--jobs",
        "2",
        "--no-snapshot-lock",
    ]);
    copy(&["copy", &ro, out2, "--table", "b", "--jobs", "1"]);
}

/// Every foreign key of the database: `table (columns) -> table (columns)`, sorted.
fn foreign_keys(c: &mut Conn) -> Vec<String> {
    let mut keys: Vec<String> = c
        .query(
            "SELECT CONCAT(TABLE_NAME, ' (', GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION), ') -> ',
                           REFERENCED_TABLE_NAME, ' (', GROUP_CONCAT(REFERENCED_COLUMN_NAME ORDER BY ORDINAL_POSITION), ')')
             FROM information_schema.KEY_COLUMN_USAGE
             WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL
             GROUP BY TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_NAME",
        )
        .unwrap();
    keys.sort();
    keys
}

#[test]
fn with_keys_adds_checked_foreign_keys_and_replace_keeps_them() {
    let Some((url, mut c)) = fresh_db("ferry_it_keys") else {
        return;
    };
    let src = "tpch://?sf=0.01";
    copy(&["copy", src, &url, "--with-keys"]);
    let keys = foreign_keys(&mut c);
    assert_eq!(keys.len(), 10, "{keys:#?}");
    for k in [
        "lineitem (l_partkey,l_suppkey) -> partsupp (ps_partkey,ps_suppkey)",
        "nation (n_regionkey) -> region (r_regionkey)",
    ] {
        assert!(keys.contains(&k.to_string()), "{k} in {keys:#?}");
    }
    let orphan = c
        .query_drop("INSERT INTO nation VALUES (99, 'NOWHERE', 42, 'no such region')")
        .unwrap_err();
    assert!(
        orphan.to_string().contains("1452"),
        "the key holds: {orphan}"
    );

    // Every table again, each replaced while others' keys reference it: the keys move to the
    // new tables (a key follows RENAME TABLE, so ferry moves it), none is added twice.
    copy(&["copy", src, &url, "--with-keys", "--if-exists", "replace"]);
    assert_eq!(foreign_keys(&mut c), keys);
    let orphan = c
        .query_drop("INSERT INTO supplier VALUES (999999, 'x', 'x', 77, 'x', 0, 'x')")
        .unwrap_err();
    assert!(
        orphan.to_string().contains("1452"),
        "the key holds: {orphan}"
    );
    assert_eq!(
        c.query_first::<u64, _>(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '\\_ferry\\_%'"
        )
        .unwrap(),
        Some(0)
    );

    // New rows that break a key referencing the table: checked before the swap, so nothing is
    // swapped, and the key is named.
    c.query_drop(
        "CREATE TABLE few_regions (r_regionkey int PRIMARY KEY, r_name char(25) NOT NULL, r_comment varchar(152) NOT NULL)",
    )
    .unwrap();
    c.query_drop("INSERT INTO few_regions SELECT * FROM region WHERE r_regionkey < 2")
        .unwrap();
    let before = cells(&mut c, "region");
    let err = stderr_of(
        &[
            "copy",
            &url,
            &url,
            "--table",
            "few_regions",
            "--target-table",
            "region",
            "--if-exists",
            "replace",
        ],
        6,
    );
    assert!(
        err.contains("nation_n_regionkey_fkey")
            && err.contains("no matching row in `ferry_it_keys`.`region`"),
        "{err}"
    );
    assert!(!err.contains("ferry:ferry@"), "no password: {err}");
    assert_eq!(cells(&mut c, "region"), before, "region is unchanged");
    assert_eq!(foreign_keys(&mut c), keys);
}

/// One copy of `pushdown.t` into SQLite with `steps`: (ids delivered, rows read, stderr).
fn pushed_copy(
    url: &str,
    dir: &std::path::Path,
    name: &str,
    args: &[&str],
) -> (Vec<i64>, u64, String) {
    let db = dir.join(format!("{name}.sqlite"));
    let report = dir.join(format!("{name}.json"));
    let out = ferry()
        .args(["copy", url])
        .arg(format!("sqlite://{}", db.display()))
        .args([
            "--table",
            "t",
            "--partition-on",
            "id",
            "--partitions",
            "3",
            "-vv",
            "--report",
        ])
        .arg(&report)
        .args(args)
        .assert()
        .success()
        .get_output()
        .clone();
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut ids: Vec<i64> = conn
        .prepare("SELECT id FROM t")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    ids.sort();
    assert_eq!(r["tables"][0]["rows"].as_u64().unwrap(), ids.len() as u64);
    (
        ids,
        r["tables"][0]["rows_read"].as_u64().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn filters_are_evaluated_by_mariadb_as_ferry_compares() {
    let Some((url, mut c)) = fresh_db("ferry_it_pushdown") else {
        return;
    };
    // A case-insensitive, PAD SPACE collation and a latin1 column: MariaDB's own comparison
    // differs from ferry's byte order on every text row below.
    c.query_drop(
        "CREATE TABLE t (
            id int unsigned PRIMARY KEY,
            s varchar(20) COLLATE utf8mb4_general_ci,
            latin varchar(20) CHARACTER SET latin1,
            d decimal(15,2),
            dt date NOT NULL,
            big bigint unsigned,
            tiny tinyint
        )",
    )
    .unwrap();
    c.query_drop(
        "INSERT INTO t VALUES
            (1, 'a', 'é', 1.50, '1996-03-13', 0, -128),
            (2, 'A', 'e', -1.50, '1996-03-14', 18446744073709551615, 127),
            (3, 'a ', 'É', 5000.50, '2000-01-01', 9223372036854775808, 0),
            (4, 'b', NULL, 5000.51, '1996-03-13', 1, NULL),
            (5, 'é', 'z', NULL, '1995-12-31', NULL, 1),
            (6, NULL, 'é ', 0.00, '1996-03-13', 5, -1),
            (7, 'M', 'a''\\\\', 99999.99, '9999-12-31', 7, 2),
            (8, 'm', '', -99999.99, '1000-01-01', 8, 3),
            (9, '', 'é', 0.01, '2000-01-01', 9, 4)",
    )
    .unwrap();
    let dir = TempDir::new().unwrap();
    // Each filter with the ids ferry's own comparison keeps, in byte order for text.
    let cases: &[(&str, &[i64], &str)] = &[
        (
            "s = 'a'",
            &[1],
            "CAST(CONVERT(`s` USING utf8mb4) AS BINARY) = X'61'",
        ),
        ("s >= 'b' AND s < 'n'", &[4, 8], ""),
        ("s = '' OR s IS NULL", &[6, 9], ""),
        (
            "latin = 'é'",
            &[1, 9],
            "CAST(CONVERT(`latin` USING utf8mb4) AS BINARY) = X'C3A9'",
        ),
        ("latin = 'a''\\'", &[7], ""),
        (
            "d BETWEEN -1.5 AND 5000.5",
            &[1, 2, 3, 6, 9],
            "`d` >= -1.50",
        ),
        (
            "dt = '1996-03-13' OR dt < '1001-01-01'",
            &[1, 4, 6, 8],
            "`dt` = DATE '1996-03-13'",
        ),
        (
            "big > 9223372036854775807",
            &[2, 3],
            "`big` > 9223372036854775807",
        ),
        ("tiny IN (-128, 127) OR NOT id <= 8", &[1, 2, 9], ""),
    ];
    for (i, (filter, expected, sql)) in cases.iter().enumerate() {
        let (ids, read, log) = pushed_copy(
            &url,
            dir.path(),
            &format!("f{i}"),
            &["--transform", &format!("filter({filter})")],
        );
        assert_eq!(&ids, expected, "{filter}");
        assert_eq!(
            read,
            expected.len() as u64,
            "{filter}: only matching rows are read"
        );
        assert!(log.contains("AS ferry_filtered WHERE "), "{filter}: {log}");
        assert!(log.contains(sql), "{filter}: {sql} not in {log}");
    }
    // Read as NULL (--zero-dates null), a zero date would pass `dt < ...` in MariaDB but not
    // in ferry: date filters stay in ferry then, and give the same rows.
    let (ids, read, log) = pushed_copy(
        &url,
        dir.path(),
        "nulls",
        &[
            "--zero-dates",
            "null",
            "--transform",
            "filter(dt = '1996-03-13')",
        ],
    );
    assert_eq!((ids, read), (vec![1, 4, 6], 9));
    assert!(!log.contains("ferry_filtered"), "{log}");
}
