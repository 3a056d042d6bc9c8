//! Fidelity of the MySQL/MariaDB target, value class by value class, read back by the server
//! itself (its text, `HEX()`, and the binary protocol's floats): years, fractional seconds,
//! whole numbers, floats at their edges, -0, text keys that must fit InnoDB's key and keep
//! trailing spaces, a session whose `sql_mode` has `NO_BACKSLASH_ESCAPES`, and rows the
//! server skips.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::Conn;
use tempfile::TempDir;

use crate::postgres::{fresh_schema, pg};
use crate::support::{ferry, sqlite_url, stderr_of};

use crate::mysql::fresh_db;

fn copy(args: &[&str]) {
    ferry().args(args).arg("-q").assert().success();
}

/// One text column of a query, as the server prints it.
fn texts(c: &mut Conn, sql: &str) -> Vec<Option<String>> {
    c.query::<Option<String>, _>(sql).unwrap()
}

/// A SQLite database in `dir` built by `sql`.
fn sqlite(dir: &TempDir, sql: &str) -> String {
    let path = dir.path().join("src.sqlite");
    let s = rusqlite::Connection::open(&path).unwrap();
    s.execute_batch(sql).unwrap();
    sqlite_url(&path)
}

#[test]
fn years_arrive_as_the_same_year() {
    let Some((url, mut c)) = fresh_db("ferry_it_fid_year") else {
        return;
    };
    // MariaDB -> MariaDB: a `year` column keeps its declaration and every value, 0 included
    // (which the text `0` would make 2000).
    c.query_drop("CREATE TABLE src (id int PRIMARY KEY, y year)")
        .unwrap();
    c.query_drop(
        "INSERT INTO src VALUES (1, 0), (2, 1901), (3, 1969), (4, 1970), (5, 1999), (6, 2000),
         (7, 2069), (8, 2155), (9, NULL)",
    )
    .unwrap();
    copy(&[
        "copy",
        &url,
        &url,
        "--table",
        "src",
        "--target-table",
        "dst",
        "--jobs",
        "2",
    ]);
    let read = "SELECT CONCAT(id, ':', IFNULL(CAST(y AS CHAR), 'NULL'), ':', IFNULL(y + 0, 'NULL'))
                FROM {t} ORDER BY id";
    let src = texts(&mut c, &read.replace("{t}", "src"));
    assert_eq!(src[0].as_deref(), Some("1:0000:0"));
    assert_eq!(texts(&mut c, &read.replace("{t}", "dst")), src);

    // Into an existing `year` column (append), integers and text holding integers: 0 stays 0,
    // a number the server would read as another year (a two-digit year) fails naming the
    // table, the column, the row and the value, and leaves the table as it was.
    let dir = TempDir::new().unwrap();
    let src_url = sqlite(
        &dir,
        "CREATE TABLE good (id INTEGER, y INTEGER);
         INSERT INTO good VALUES (10, 0), (11, 1901), (12, 2155), (13, NULL);
         CREATE TABLE good_text (id INTEGER, y TEXT);
         INSERT INTO good_text VALUES (20, '0'), (21, '2024');
         CREATE TABLE bad (id INTEGER, y INTEGER);
         INSERT INTO bad VALUES (30, 2000), (31, 69);
         CREATE TABLE bad_text (id INTEGER, y TEXT);
         INSERT INTO bad_text VALUES (40, '5');
         CREATE TABLE too_early (id INTEGER, y INTEGER);
         INSERT INTO too_early VALUES (50, 1900);",
    );
    c.query_drop("CREATE TABLE yt (id int, y year)").unwrap();
    for t in ["good", "good_text"] {
        copy(&[
            "copy",
            &src_url,
            &url,
            "--table",
            t,
            "--target-table",
            "yt",
            "--if-exists",
            "append",
        ]);
    }
    let read = "SELECT CONCAT(id, ':', IFNULL(y + 0, 'NULL')) FROM yt ORDER BY id";
    let s = |v: &str| Some(v.to_string());
    let want = vec![
        s("10:0"),
        s("11:1901"),
        s("12:2155"),
        s("13:NULL"),
        s("20:0"),
        s("21:2024"),
    ];
    assert_eq!(texts(&mut c, read), want);
    for (t, row, value) in [
        ("bad", 2, "69"),
        ("bad_text", 1, "5"),
        ("too_early", 1, "1900"),
    ] {
        let err = stderr_of(
            &[
                "copy",
                &src_url,
                &url,
                "--table",
                t,
                "--target-table",
                "yt",
                "--if-exists",
                "append",
            ],
            5,
        );
        assert!(err.contains("`yt`"), "{err}");
        assert!(
            err.contains(&format!(
                "column \"y\", row {row}: {value} is not a MySQL YEAR (0, or 1901 to 2155"
            )),
            "{err}"
        );
        assert_eq!(texts(&mut c, read), want, "{t}");
    }
}

/// `(PostgreSQL type, value, MariaDB column declaration)`.
type Case<'a> = (&'a str, &'a str, &'a str);

/// One value of PostgreSQL type `pg_type` appended into a MariaDB column declared `target`:
/// the server's text of what it stored, or ferry's error.
fn append_one(
    pg: &mut postgres::Client,
    pg_url: &str,
    c: &mut Conn,
    url: &str,
    case: usize,
    (pg_type, value, target): Case,
) -> Result<String, String> {
    let table = format!("c{case}");
    pg.batch_execute(&format!(
        "CREATE TABLE it_fid_class.{table} (v {pg_type}); \
         INSERT INTO it_fid_class.{table} VALUES ('{value}')"
    ))
    .unwrap();
    c.query_drop(format!("CREATE TABLE `{table}` (v {target})"))
        .unwrap();
    let out = ferry()
        .args([
            "copy",
            pg_url,
            url,
            "--table",
            &format!("it_fid_class.{table}"),
            "--target-table",
            &table,
            "--if-exists",
            "append",
            "-q",
        ])
        .output()
        .unwrap();
    if !out.status.success() {
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(5), "{err}");
        let n: u64 = c
            .query_first(format!("SELECT COUNT(*) FROM `{table}`"))
            .unwrap()
            .unwrap();
        assert_eq!(n, 0, "a refused value leaves the table as it was: {err}");
        return Err(err);
    }
    let read = if target.starts_with("bit") {
        format!("SELECT CAST(v + 0 AS CHAR) FROM `{table}`")
    } else {
        format!("SELECT CAST(v AS CHAR) FROM `{table}`")
    };
    let got = texts(c, &read);
    assert_eq!(got.len(), 1, "{target}");
    Ok(got[0].clone().unwrap_or_else(|| "NULL".into()))
}

/// Values whose LOAD DATA text the server would read as another value without a warning:
/// each arrives as the same value, or is refused naming the column, the row and the value.
#[test]
fn load_data_text_is_read_back_as_the_value_sent_or_refused() {
    let Some((url, mut c)) = fresh_db("ferry_it_fid_class") else {
        return;
    };
    let Some((pg_url, mut p)) = pg() else {
        return;
    };
    fresh_schema(&mut p, "it_fid_class");
    fn ok(v: &str) -> Result<&str, &str> {
        Ok(v)
    }
    fn refused(v: &str) -> Result<&str, &str> {
        Err(v)
    }
    let cases: Vec<(Case, Result<&str, &str>)> = vec![
        // Fractional seconds a column does not keep: the server cuts them silently.
        (("timestamp(6)", "2020-01-01 00:00:01", "datetime"), ok("2020-01-01 00:00:01")),
        (
            ("timestamp(6)", "2020-01-01 00:00:00.5", "datetime"),
            refused("2020-01-01 00:00:00.500000 has more fractional-second digits than the column keeps (0)"),
        ),
        (("timestamp(6)", "2020-01-01 00:00:01.25", "datetime(2)"), ok("2020-01-01 00:00:01.25")),
        (
            ("timestamp(6)", "2020-01-01 00:00:01.125", "datetime(2)"),
            refused("keeps (2)"),
        ),
        (("time(6)", "12:00:00", "time"), ok("12:00:00")),
        (("time(6)", "12:00:00.5", "time"), refused("12:00:00.500000 has more fractional-second digits")),
        (
            ("timestamptz", "2020-01-01 00:00:00.5+00", "timestamp NULL"),
            refused("has more fractional-second digits"),
        ),
        // A time of day into a date column.
        (("timestamp(6)", "2020-01-02 00:00:00", "date"), ok("2020-01-02")),
        (
            ("timestamp(6)", "2020-01-02 00:00:00.5", "date"),
            refused("2020-01-02 00:00:00.500000 is not at midnight"),
        ),
        // Timestamps in the session's time zone (UTC), and the instant MySQL's timestamp
        // cannot hold (its zero), which the server warns about.
        (("timestamptz", "2024-03-31 01:30:00+02", "timestamp NULL"), ok("2024-03-30 23:30:00")),
        (("timestamptz", "2024-03-31 01:30:00.25+02", "timestamp(2) NULL"), ok("2024-03-30 23:30:00.25")),
        (("timestamptz", "1970-01-01 00:00:00+00", "timestamp NULL"), refused("Out of range value for column 'v' at row 1")),
        // Fractions into integer columns: the server rounds 1.5 to 2 silently.
        (("double precision", "2", "int"), ok("2")),
        (("double precision", "1.5", "int"), refused("1.5 is not a whole number")),
        (("numeric(10,2)", "-7.00", "bigint"), ok("-7")),
        (("numeric(10,2)", "1.50", "smallint"), refused("1.50 is not a whole number")),
        // A double into a single-precision float column: the server rounds 0.1 silently.
        (("double precision", "0.5", "float"), ok("0.5")),
        (("double precision", "0.1", "float"), refused("0.1 is not exactly a single-precision float")),
        // Years, booleans and bits.
        (("integer", "0", "year"), ok("0000")),
        (("text", "0", "year"), ok("0000")),
        (("integer", "69", "year"), refused("69 is not a MySQL YEAR")),
        (("boolean", "true", "bit(1)"), ok("1")),
        (("boolean", "false", "tinyint(1)"), ok("0")),
        (("integer", "5", "bit(3)"), ok("5")),
        (("integer", "8", "bit(3)"), refused("Out of range value for column 'v' at row 1")),
        // A 0 into an AUTO_INCREMENT column stays 0 (NO_AUTO_VALUE_ON_ZERO), and a zero date
        // given as text arrives as that text, whatever the server's global sql_mode.
        (("integer", "0", "int NOT NULL AUTO_INCREMENT PRIMARY KEY"), ok("0")),
        (("text", "0000-00-00", "date"), ok("0000-00-00")),
        // Text with a backslash and a tab, escaped in the stream.
        (("text", "a\\b\tc\\N", "varchar(20)"), ok("a\\b\tc\\N")),
    ];
    let mut failures = Vec::new();
    for (i, (case, want)) in cases.iter().enumerate() {
        let got = append_one(&mut p, &pg_url, &mut c, &url, i, *case);
        match (want, &got) {
            (Ok(w), Ok(g)) if w == g => {}
            (Err(w), Err(g))
                if g.contains(w)
                    && g.contains(&format!("`c{i}`"))
                    && g.contains("column \"v\"")
                    && g.contains("row 1") => {}
            _ => failures.push(format!("{case:?}: wanted {want:?}, got {got:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn composite_text_keys_fit_and_keep_trailing_spaces() {
    let Some((url, mut c)) = fresh_db("ferry_it_fid_keys") else {
        return;
    };
    let Some((pg_url, mut p)) = pg() else {
        return;
    };
    fresh_schema(&mut p, "it_fid_keys");
    let long = "é".repeat(256);
    p.batch_execute(&format!(
        "CREATE TABLE it_fid_keys.three (a text, b text, c text, v integer,
           PRIMARY KEY (a, b, c));
         INSERT INTO it_fid_keys.three VALUES
           ('a', 'x', '1', 1), ('a ', 'x', '1', 2), ('a', 'x ', '1', 3), ('a', 'x', '1 ', 4),
           ('a  ', 'x ', '1 ', 5), ('A', 'x', '1', 6), (' a', 'x', '1', 7), ('', '', '', 8),
           ('{long}', '{long}', '{long}', 9);
         CREATE TABLE it_fid_keys.mixed (k varchar(100), t text, n integer, v integer,
           PRIMARY KEY (k, t, n));
         INSERT INTO it_fid_keys.mixed VALUES ('k', 't', 1, 1), ('k ', 't', 1, 2),
           ('k', 't ', 1, 3), ('k', 't', 2, 4);
         CREATE TABLE it_fid_keys.too_wide (a varchar(500), b varchar(300), c integer,
           PRIMARY KEY (a, b, c));
         INSERT INTO it_fid_keys.too_wide VALUES ('a', 'b', 1);"
    ))
    .unwrap();
    let pg_hex = |p: &mut postgres::Client, sql: &str| -> Vec<String> {
        p.query(sql, &[])
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect()
    };
    for (table, key, cols) in [
        ("three", vec!["a", "b", "c"], vec!["a", "b", "c", "v"]),
        ("mixed", vec!["k", "t", "n"], vec!["k", "t", "n", "v"]),
    ] {
        copy(&[
            "copy",
            &pg_url,
            &url,
            "--table",
            &format!("it_fid_keys.{table}"),
            "--jobs",
            "2",
        ]);
        // The key exists, on the source's columns in order.
        assert_eq!(primary_key(&mut c, table), key, "{table}");
        // Every row, every text byte for byte (HEX on both sides), integers as numbers.
        let ints = ["v", "n"];
        let my_sql = format!(
            "SELECT CONCAT_WS(':', {}) FROM `{table}`",
            cols.iter()
                .map(|c| match ints.contains(c) {
                    true => format!("CAST(`{c}` AS CHAR)"),
                    false => format!("HEX(`{c}`)"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        let pg_sql = format!(
            "SELECT concat_ws(':', {}) FROM it_fid_keys.{table}",
            cols.iter()
                .map(|c| match ints.contains(c) {
                    true => format!("{c}::text"),
                    false => format!("upper(encode(convert_to({c}, 'UTF8'), 'hex'))"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut want = pg_hex(&mut p, &pg_sql);
        want.sort();
        let mut got: Vec<String> = c.query(&my_sql).unwrap();
        got.sort();
        assert_eq!(got.len(), want.len(), "{table}: every row arrives");
        assert_eq!(got, want, "{table}");
    }
    // 'a' and 'a ' are two keys for the server too (NO PAD), and a key lookup finds only
    // its own row.
    let n: Vec<u64> = c
        .query("SELECT v FROM three WHERE a = 'a ' AND b = 'x' AND c = '1'")
        .unwrap();
    assert_eq!(n, vec![2]);
    // A key that cannot fit InnoDB's 3072 bytes fails before anything is created, naming
    // the column and the fix.
    let err = stderr_of(
        &["copy", &pg_url, &url, "--table", "it_fid_keys.too_wide"],
        9,
    );
    assert!(
        err.contains(
            "column \"a\": the primary key (`a`, `b`, `c`) takes 3204 bytes, more than InnoDB's \
             3072; \"a\" (varchar(500)) alone takes 2000"
        ),
        "{err}"
    );
    assert!(err.contains("--transform 'cast(a, VARCHAR(n))'"), "{err}");
    let tables: u64 = c
        .query_first(
            "SELECT COUNT(*) FROM information_schema.TABLES
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '%too_wide%'",
        )
        .unwrap()
        .unwrap();
    assert_eq!(tables, 0, "{err}");
    // The fix the message names works.
    copy(&[
        "copy",
        &pg_url,
        &url,
        "--table",
        "it_fid_keys.too_wide",
        "--transform",
        "cast(a, VARCHAR(400))",
    ]);
    let got = texts(&mut c, "SELECT CONCAT(a, b, c) FROM too_wide");
    assert_eq!(got, vec![Some("ab1".to_string())]);
    assert_eq!(primary_key(&mut c, "too_wide"), ["a", "b", "c"]);
}

/// The primary key's columns of `table`, in key order.
fn primary_key(c: &mut Conn, table: &str) -> Vec<String> {
    c.exec(
        "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
         ORDER BY ORDINAL_POSITION",
        (table,),
    )
    .unwrap()
}

/// The float32 and float64 edges, compared by their bits: PostgreSQL's `float4send` /
/// `float8send` against the server's own binary-protocol value.
#[test]
fn floats_arrive_bit_for_bit_at_their_edges() {
    let Some((url, mut c)) = fresh_db("ferry_it_fid_float") else {
        return;
    };
    let Some((pg_url, mut p)) = pg() else {
        return;
    };
    fresh_schema(&mut p, "it_fid_float");
    let f32s = [
        "3.4028235e38",
        "-3.4028235e38",
        "1.4e-45",
        "-1.4e-45",
        "1e-45",
        "1.17549435e-38",
        "1.1754942e-38",
        "0.1",
        "0.33333334",
        "16777216",
        "16777217",
        "1e-7",
        "2.5",
        "0",
        "1",
        "-1",
    ];
    let f64s = [
        "1.7976931348623157e308",
        "-1.7976931348623157e308",
        "5e-324",
        "-5e-324",
        "2.2250738585072014e-308",
        "2.225073858507201e-308",
        "0.1",
        "0.30000000000000004",
        "1e300",
        "123456789012345680",
        "0",
        "-2.5",
        "3.4028235677973366e38",
        "1.401298464324817e-45",
        "9007199254740993",
        "1",
    ];
    let values = f32s
        .iter()
        .zip(f64s)
        .enumerate()
        .map(|(i, (r, d))| format!("({i}, '{r}', '{d}')"))
        .collect::<Vec<_>>()
        .join(", ");
    p.batch_execute(&format!(
        "CREATE TABLE it_fid_float.f (id integer PRIMARY KEY, r real, d double precision);
         INSERT INTO it_fid_float.f VALUES {values}, (99, NULL, NULL);"
    ))
    .unwrap();
    copy(&[
        "copy",
        &pg_url,
        &url,
        "--table",
        "it_fid_float.f",
        "--jobs",
        "2",
    ]);
    let want: Vec<(i32, Option<String>, Option<String>)> = p
        .query(
            "SELECT id, encode(float4send(r), 'hex'), encode(float8send(d), 'hex')
             FROM it_fid_float.f ORDER BY id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    // The binary protocol carries a FLOAT as its 4 bytes and a DOUBLE as its 8: the values the
    // server stored, not its text of them.
    let rows: Vec<mysql::Row> = c
        .exec("SELECT id, r, d, CAST(r AS DOUBLE) FROM f ORDER BY id", ())
        .unwrap();
    let got: Vec<(i32, Option<String>, Option<String>)> = rows
        .into_iter()
        .map(|row| {
            let (id, r, d, widened): (i32, Option<f32>, Option<f64>, Option<f64>) =
                mysql::from_row(row);
            // CAST(r AS DOUBLE) is the stored float, exactly.
            assert_eq!(
                widened.map(|w| w as f32).map(f32::to_bits),
                r.map(f32::to_bits)
            );
            (
                id,
                r.map(|v| format!("{:08x}", v.to_bits())),
                d.map(|v| format!("{:016x}", v.to_bits())),
            )
        })
        .collect();
    assert_eq!(got.len(), f32s.len() + 1);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            g,
            w,
            "row {} ({} / {})",
            w.0,
            f32s.get(w.0 as usize).unwrap_or(&"NULL"),
            f64s.get(w.0 as usize).unwrap_or(&"NULL")
        );
    }
    // The largest float is FLT_MAX exactly, not refused as out of range.
    assert_eq!(got[0].1.as_deref(), Some("7f7fffff"));
    assert_eq!(got[2].1.as_deref(), Some("00000001"));
}

/// MariaDB's FLOAT and DOUBLE keep -0 as 0: ferry refuses it, as it refuses NaN, naming the
/// table, the column, the row and the value, and leaves no table behind.
#[test]
fn negative_zero_is_refused_naming_table_column_row_and_value() {
    let Some((url, mut c)) = fresh_db("ferry_it_fid_negzero") else {
        return;
    };
    let Some((pg_url, mut p)) = pg() else {
        return;
    };
    // Why: the server's own binary protocol returns +0 for a -0 it was given.
    c.query_drop("CREATE TABLE probe (d double, f float)")
        .unwrap();
    c.exec_drop("INSERT INTO probe VALUES (?, ?)", (-0.0f64, -0.0f32))
        .unwrap();
    let (d, f): (f64, f32) = c.exec_first("SELECT d, f FROM probe", ()).unwrap().unwrap();
    assert!(
        d == 0.0 && !d.is_sign_negative() && !f.is_sign_negative(),
        "this server keeps -0: the refusal could be relaxed for it"
    );
    fresh_schema(&mut p, "it_fid_negzero");
    p.batch_execute(
        "CREATE TABLE it_fid_negzero.d (id integer, d double precision);
         INSERT INTO it_fid_negzero.d VALUES (1, 0), (2, 1.5), (3, '-0');
         CREATE TABLE it_fid_negzero.r (id integer, r real);
         INSERT INTO it_fid_negzero.r VALUES (1, '-0');
         CREATE TABLE it_fid_negzero.nan (id integer, d double precision);
         INSERT INTO it_fid_negzero.nan VALUES (1, 'NaN');",
    )
    .unwrap();
    for (table, column, row, value) in [
        ("d", "d", 3, "-0"),
        ("r", "r", 1, "-0"),
        ("nan", "d", 1, "NaN"),
    ] {
        let err = stderr_of(
            &[
                "copy",
                &pg_url,
                &url,
                "--table",
                &format!("it_fid_negzero.{table}"),
            ],
            5,
        );
        assert!(err.contains(&format!("`{table}`")), "{err}");
        assert!(
            err.contains(&format!(
                "column \"{column}\", row {row}: {value} cannot be stored in MySQL"
            )),
            "{err}"
        );
        let n: u64 = c
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.TABLES
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> 'probe'",
                (),
            )
            .unwrap()
            .unwrap();
        assert_eq!(n, 0, "no table left behind: {err}");
    }
}

/// A TCP proxy to the MySQL server that makes some sessions start with
/// `NO_BACKSLASH_ESCAPES` in their `sql_mode`, as a session does when the server's global
/// mode has it at the moment the connection opens (a global another client may set at any
/// time). It rewrites the connection's own `SET time_zone = '+00:00'` init statement (the
/// server answers both with one OK), so the server's global state is left alone.
struct ModeProxy {
    port: u16,
    rewritten: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl ModeProxy {
    /// Every `every`-th connection is rewritten to open with `modes` added to its `sql_mode`.
    fn start(upstream: String, every: usize, modes: &'static str) -> ModeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let rewritten = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, halt) = (rewritten.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut accepted = 0usize;
            while !halt.load(Ordering::Relaxed) {
                let client = match listener.accept() {
                    Ok((s, _)) => s,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(2));
                        continue;
                    }
                };
                accepted += 1;
                let rewrite = accepted.is_multiple_of(every);
                client.set_nonblocking(false).unwrap();
                let server = TcpStream::connect(&upstream).unwrap();
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pipe(s2, c2));
                let count = count.clone();
                std::thread::spawn(move || {
                    forward_packets(client, server, rewrite.then_some(modes), &count)
                });
            }
        });
        ModeProxy {
            port,
            rewritten,
            stop,
        }
    }
}

impl Drop for ModeProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

/// Client to server, packet by packet (3-byte length, sequence number, payload).
fn forward_packets(
    mut client: TcpStream,
    mut server: TcpStream,
    rewrite: Option<&str>,
    n: &AtomicUsize,
) {
    const INIT: &[u8] = b"\x03SET time_zone = '+00:00'";
    let mut header = [0u8; 4];
    loop {
        if client.read_exact(&mut header).is_err() {
            break;
        }
        let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
        let mut payload = vec![0u8; len];
        if client.read_exact(&mut payload).is_err() {
            break;
        }
        if let (Some(modes), true) = (rewrite, payload == INIT) {
            payload = format!(
                "\x03SET time_zone = '+00:00', sql_mode = CONCAT(@@SESSION.sql_mode, ',{modes}')"
            )
            .into_bytes();
            let l = (payload.len() as u32).to_le_bytes();
            header[..3].copy_from_slice(&l[..3]);
            n.fetch_add(1, Ordering::Relaxed);
        }
        // One write per packet: a header and a payload written apart wait on each other's
        // acknowledgement (Nagle), 40 ms a packet.
        let mut packet = header.to_vec();
        packet.extend_from_slice(&payload);
        if server.write_all(&packet).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Write);
}

/// The intermittent `LOAD DATA` error 1083 ("Field separator argument is not what is
/// expected"): a loading connection whose session opened with `NO_BACKSLASH_ESCAPES` read
/// the statement's `ESCAPED BY '\\'` as two characters. With some of the `--jobs` connections
/// in that mode, load after load succeeds and every value, backslashes and tabs included,
/// arrives as it was.
#[test]
fn loads_survive_sessions_opened_with_no_backslash_escapes() {
    let Some((url, mut c)) = fresh_db("ferry_it_fid_nbe") else {
        return;
    };
    let u = url::Url::parse(&url).unwrap();
    let upstream = format!(
        "{}:{}",
        u.host_str().unwrap_or("127.0.0.1"),
        u.port().unwrap_or(3306)
    );
    let proxy = ModeProxy::start(upstream, 2, "NO_BACKSLASH_ESCAPES");
    let mut direct = u.clone();
    direct.set_port(Some(proxy.port)).unwrap();
    // Plain TCP, for the proxy to read the packets.
    let via = format!("{direct}?ssl-mode=DISABLED");
    // The proxy does what it says: a rewritten session has the mode.
    {
        let opts = mysql::OptsBuilder::from_opts(mysql::Opts::from_url(direct.as_str()).unwrap())
            .prefer_socket(false)
            .init(vec!["SET time_zone = '+00:00'"]);
        let mut probes: Vec<String> = Vec::new();
        for _ in 0..2 {
            let mut p = Conn::new(opts.clone()).unwrap();
            probes.push(p.query_first("SELECT @@SESSION.sql_mode").unwrap().unwrap());
        }
        assert_eq!(
            probes
                .iter()
                .filter(|m| m.contains("NO_BACKSLASH_ESCAPES"))
                .count(),
            1,
            "{probes:?}"
        );
    }
    let dir = TempDir::new().unwrap();
    let mut rows = String::new();
    for i in 0..3000 {
        rows.push_str(&format!(
            "({i}, 'back\\slash {i}', 'tab\there\nline', '\\N', X'005c0a09ff'),"
        ));
    }
    let src = sqlite(
        &dir,
        &format!(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, w TEXT, n TEXT, b BLOB);
             INSERT INTO t VALUES {};",
            rows.trim_end_matches(',')
        ),
    );
    let read = "SELECT COUNT(*), SUM(CRC32(CONCAT_WS(':', id, HEX(s), HEX(w), HEX(n), HEX(b))))
                FROM t";
    let mut want: Option<(u64, u64)> = None;
    for run in 0..20 {
        let out = ferry()
            .args([
                "copy",
                &src,
                &via,
                "--table",
                "t",
                "--if-exists",
                if run % 2 == 0 { "replace" } else { "truncate" },
                "--jobs",
                "4",
                "--batch-rows",
                "250",
                "-q",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: (u64, u64) = c.query_first(read).unwrap().unwrap();
        assert_eq!(got.0, 3000, "run {run}");
        assert_eq!(*want.get_or_insert(got), got, "run {run}");
    }
    assert!(
        proxy.rewritten.load(Ordering::Relaxed) >= 20,
        "sessions opened with NO_BACKSLASH_ESCAPES: {}",
        proxy.rewritten.load(Ordering::Relaxed)
    );
    // The values are the source's, byte for byte (every run left the same checksum).
    let got = texts(
        &mut c,
        "SELECT CONCAT_WS(':', id, HEX(s), HEX(w), HEX(n), HEX(b)) FROM t ORDER BY id",
    );
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02X}")).collect::<String>();
    let want: Vec<Option<String>> = (0..3000)
        .map(|i| {
            Some(format!(
                "{i}:{}:{}:{}:005C0A09FF",
                hex(&format!("back\\slash {i}")),
                hex("tab\there\nline"),
                hex("\\N")
            ))
        })
        .collect();
    assert_eq!(got, want);
}

/// A source session runs in ferry's own `sql_mode`, whatever mode the server opens it in: under
/// `PAD_CHAR_TO_FULL_LENGTH` a `char(n)` would be read with its padding, under `ANSI_QUOTES`
/// and `NO_BACKSLASH_ESCAPES` ferry's catalog queries would mean something else.
#[test]
fn source_sessions_read_in_their_own_sql_mode() {
    let Some((url, mut c)) = fresh_db("ferry_it_fid_srcmode") else {
        return;
    };
    c.query_drop(
        "CREATE TABLE t (id INT PRIMARY KEY, c CHAR(5), s VARCHAR(20));
         INSERT INTO t VALUES (1, 'ab', 'back\\\\slash \"q\"'), (2, '', 'x'), (3, NULL, NULL)",
    )
    .unwrap();
    let u = url::Url::parse(&url).unwrap();
    let upstream = format!(
        "{}:{}",
        u.host_str().unwrap_or("127.0.0.1"),
        u.port().unwrap_or(3306)
    );
    const MODES: &str = "PAD_CHAR_TO_FULL_LENGTH,ANSI_QUOTES,NO_BACKSLASH_ESCAPES";
    let proxy = ModeProxy::start(upstream, 1, MODES);
    let mut direct = u.clone();
    direct.set_port(Some(proxy.port)).unwrap();
    // The proxy does what it says: a session opened through it pads char(n).
    {
        let opts = mysql::OptsBuilder::from_opts(mysql::Opts::from_url(direct.as_str()).unwrap())
            .prefer_socket(false)
            .init(vec!["SET time_zone = '+00:00'"]);
        let mut p = Conn::new(opts).unwrap();
        let padded: String = p
            .query_first("SELECT c FROM t WHERE id = 1")
            .unwrap()
            .unwrap();
        assert_eq!(padded, "ab   ");
    }
    let via = format!("{direct}?ssl-mode=DISABLED");
    let dir = TempDir::new().unwrap();
    let dst = dir.path().join("dst.sqlite");
    copy(&["copy", &via, &sqlite_url(&dst), "--table", "t"]);
    assert!(proxy.rewritten.load(Ordering::Relaxed) >= 1);
    let db = rusqlite::Connection::open(&dst).unwrap();
    let rows: Vec<(i64, Option<String>, Option<String>)> = db
        .prepare("SELECT id, c, s FROM t ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        rows,
        [
            (1, Some("ab".into()), Some("back\\slash \"q\"".into())),
            (2, Some("".into()), Some("x".into())),
            (3, None, None),
        ]
    );
}

/// LOAD DATA LOCAL skips a row that breaks a unique key (IGNORE semantics, a warning): the
/// rows the server confirms are compared with the rows sent, and a difference fails the table
/// naming both numbers, leaving it as it was.
#[test]
fn rows_the_server_skips_fail_the_table_naming_both_counts() {
    let Some((url, mut c)) = fresh_db("ferry_it_fid_rows") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let src = sqlite(
        &dir,
        "CREATE TABLE dup_pk (id INTEGER, s TEXT);
         INSERT INTO dup_pk VALUES (1, 'a'), (2, 'b'), (3, 'c');
         CREATE TABLE dup_unique (id INTEGER, s TEXT);
         INSERT INTO dup_unique VALUES (10, 'x'), (11, 'y'), (12, 'x'), (13, 'y'), (14, 'z');",
    );
    c.query_drop("CREATE TABLE t (id int PRIMARY KEY, s varchar(10) UNIQUE)")
        .unwrap();
    c.query_drop("INSERT INTO t VALUES (2, 'old')").unwrap();
    let read = "SELECT CONCAT(id, '=', s) FROM t ORDER BY id";
    let before = texts(&mut c, read);
    for (table, mode, taken, sent, entry) in [
        (
            "dup_pk",
            "append",
            2,
            3,
            "Duplicate entry '2' for key 'PRIMARY'",
        ),
        (
            "dup_unique",
            "append",
            3,
            5,
            "Duplicate entry 'x' for key 's'",
        ),
        (
            "dup_unique",
            "truncate",
            3,
            5,
            "Duplicate entry 'x' for key 's'",
        ),
    ] {
        let err = stderr_of(
            &[
                "copy",
                &src,
                &url,
                "--table",
                table,
                "--target-table",
                "t",
                "--if-exists",
                mode,
            ],
            6,
        );
        assert!(err.contains("`t`: batch 1"), "{err}");
        assert!(err.contains(entry), "{err}");
        assert!(
            err.contains(&format!("; {taken} of {sent} rows taken")),
            "{err}"
        );
        assert_eq!(texts(&mut c, read), before, "{table} {mode}");
    }
}

/// Every row of `table` (by `id`): each column's text as MariaDB prints it, and its index
/// (`col + 0`: an enum member's position, a set's bits) where `indexes` asks.
fn enum_rows(c: &mut Conn, table: &str, cols: &[&str], indexes: bool) -> Vec<Vec<Option<String>>> {
    let mut select: Vec<String> = cols
        .iter()
        .map(|n| format!("CAST(`{n}` AS CHAR)"))
        .collect();
    if indexes {
        select.extend(cols.iter().map(|n| format!("CAST(`{n}` + 0 AS CHAR)")));
    }
    let rows: Vec<mysql::Row> = c
        .query(format!(
            "SELECT {} FROM `{table}` ORDER BY id",
            select.join(", ")
        ))
        .unwrap();
    rows.into_iter()
        .map(|r| {
            (0..select.len())
                .map(|i| r.get::<Option<String>, _>(i).flatten())
                .collect()
        })
        .collect()
}

/// The `COLUMN_TYPE` of each column of a MariaDB table.
fn column_types(c: &mut Conn, table: &str) -> Vec<String> {
    c.exec(
        "SELECT COLUMN_TYPE FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        (table,),
    )
    .unwrap()
}

const ENUM_COLUMNS: [&str; 7] = ["id", "n", "z", "u", "s", "w", "nn"];

/// ENUM and SET values that look like numbers, the empty string (a member, and MariaDB's error
/// value of index 0), commas, spaces, unicode and NULL: every route out of MariaDB carries each
/// value's text (a set's members in their declared order), and back into MariaDB the same text
/// at the same index. Text the server would read as an index or as a set's bits, or store
/// reordered, is refused naming the column, the row and the value.
#[test]
fn enum_and_set_values_arrive_as_their_text_on_every_route() {
    let Some((url, mut c)) = fresh_db("ferry_it_fid_enum") else {
        return;
    };
    c.query_drop(
        "CREATE TABLE e (id int PRIMARY KEY, n enum('1','2','10'), z enum('0','1'),
                         u enum('a,b','с пробелом','☀','','x'), s set('0','1'),
                         w set('b','a','10','2'), nn enum('x','y') NOT NULL)",
    )
    .unwrap();
    c.query_drop(
        "INSERT INTO e VALUES (1, '1', '0', 'a,b', '0', 'a,b', 'x'),
                              (2, '10', '1', 'с пробелом', '1,0', '10,2', 'y'),
                              (3, '2', NULL, '☀', '', '2,10,a', 'x'),
                              (4, NULL, '0', '', NULL, '', 'y'),
                              (5, '10', '1', 'x', '0,1', 'b,a,10,2', 'x')",
    )
    .unwrap();
    let want = enum_rows(&mut c, "e", &ENUM_COLUMNS, true);
    let text = |v: &[&str]| -> Vec<Option<String>> {
        v.iter()
            .map(|s| (*s != "NULL").then(|| s.to_string()))
            .collect()
    };
    // The server's own text and indexes: numbers are members' text, sets in declared order.
    assert_eq!(
        want[..3],
        [
            text(&["1", "1", "0", "a,b", "0", "b,a", "x", "1", "1", "1", "1", "1", "3", "1"]),
            text(&[
                "2",
                "10",
                "1",
                "с пробелом",
                "0,1",
                "10,2",
                "y",
                "2",
                "3",
                "2",
                "2",
                "3",
                "12",
                "2"
            ]),
            text(&[
                "3", "2", "NULL", "☀", "", "a,10,2", "x", "3", "2", "NULL", "3", "0", "14", "1"
            ]),
        ]
    );
    let want_text: Vec<Vec<Option<String>>> = want.iter().map(|r| r[..7].to_vec()).collect();
    let types = column_types(&mut c, "e");

    // MariaDB -> MariaDB, and through a Parquet snapshot: the same text, indexes and types.
    copy(&[
        "copy",
        &url,
        &url,
        "--table",
        "e",
        "--target-table",
        "e_copy",
    ]);
    assert_eq!(enum_rows(&mut c, "e_copy", &ENUM_COLUMNS, true), want);
    assert_eq!(column_types(&mut c, "e_copy"), types);
    let dir = TempDir::new().unwrap();
    let snap = format!("parquet://{}", dir.path().join("snap").display());
    copy(&["copy", &url, &snap, "--table", "e"]);
    copy(&[
        "copy",
        &snap,
        &url,
        "--table",
        "e",
        "--target-table",
        "e_back",
    ]);
    assert_eq!(enum_rows(&mut c, "e_back", &ENUM_COLUMNS, true), want);
    assert_eq!(column_types(&mut c, "e_back"), types);

    // MariaDB -> PostgreSQL: each value's text, '' and NULL apart.
    if let Some((pg_url, mut pg)) = pg() {
        fresh_schema(&mut pg, "it_fid_enum");
        copy(&[
            "copy",
            &url,
            &format!("{pg_url}?schema=it_fid_enum"),
            "--table",
            "e",
        ]);
        let select = ENUM_COLUMNS
            .iter()
            .map(|n| format!("{n}::text"))
            .collect::<Vec<_>>()
            .join(", ");
        let got: Vec<Vec<Option<String>>> = pg
            .query(
                &format!("SELECT {select} FROM it_fid_enum.e ORDER BY id"),
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (0..7).map(|i| r.get(i)).collect())
            .collect();
        assert_eq!(got, want_text, "PostgreSQL");
    }

    // MariaDB -> SQLite: text, read by rusqlite.
    let db = dir.path().join("e.sqlite");
    copy(&["copy", &url, &sqlite_url(&db), "--table", "e"]);
    let s = rusqlite::Connection::open(&db).unwrap();
    let select = ENUM_COLUMNS
        .iter()
        .map(|n| format!("CAST({n} AS TEXT)"))
        .collect::<Vec<_>>()
        .join(", ");
    let got: Vec<Vec<Option<String>>> = s
        .prepare(&format!("SELECT {select} FROM e ORDER BY id"))
        .unwrap()
        .query_map([], |r| (0..7).map(|i| r.get(i)).collect())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(got, want_text, "SQLite");
    let types: Vec<String> = s
        .prepare("SELECT typeof(n) || typeof(s) FROM e WHERE id = 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(types, ["texttext"], "numbers' text stays text");

    // MariaDB -> DuckDB, read by DuckDB itself.
    if let Some(drv) = crate::adbc::drivers() {
        let file = dir.path().join("e.duckdb");
        crate::adbc::run(
            &drv,
            &[
                "copy",
                &url,
                &format!("duckdb://{}", file.display()),
                "--table",
                "e",
            ],
        );
        let select = ENUM_COLUMNS
            .iter()
            .map(|n| format!("CAST({n} AS VARCHAR)"))
            .collect::<Vec<_>>()
            .join(", ");
        let got = crate::relations::duck(
            &drv,
            &file,
            &[&format!("SELECT {select} FROM e ORDER BY id")],
        );
        assert_eq!(got, want_text, "DuckDB");
    }

    // An enum's error value (index 0, stored for an invalid value outside strict mode) reads
    // as '': carried as that text to PostgreSQL and SQLite; refused by a MariaDB target, which
    // cannot store it under ferry's strict session, and no table is left.
    c.query_drop("CREATE TABLE bad (id int PRIMARY KEY, n enum('1','2'))")
        .unwrap();
    c.query_drop("SET SESSION sql_mode = ''").unwrap();
    c.query_drop("INSERT INTO bad VALUES (1, '1'), (2, 'bogus'), (3, NULL)")
        .unwrap();
    assert_eq!(
        enum_rows(&mut c, "bad", &["id", "n"], true),
        [
            text(&["1", "1", "1", "1"]),
            text(&["2", "", "2", "0"]),
            text(&["3", "NULL", "3", "NULL"])
        ]
    );
    let bad_db = dir.path().join("bad.sqlite");
    copy(&["copy", &url, &sqlite_url(&bad_db), "--table", "bad"]);
    let got: Vec<Option<String>> = rusqlite::Connection::open(&bad_db)
        .unwrap()
        .prepare("SELECT n FROM bad ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(got, text(&["1", "", "NULL"]));
    let e = stderr_of(
        &[
            "copy",
            &url,
            &url,
            "--table",
            "bad",
            "--target-table",
            "bad_copy",
        ],
        5,
    );
    assert!(
        e.contains(
            "column \"n\", row 2: '' is not a member of enum('1','2'): it is how MySQL \
                    reads an enum's error value (index 0"
        ),
        "{e}"
    );
    let left: Vec<String> = c
        .query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '%bad_copy%'")
        .unwrap();
    assert!(left.is_empty(), "{left:?}");

    // Into existing enum and set columns (append): members' text goes in; text the server
    // would read as an index or as bits, or store reordered, is refused and nothing is added.
    c.query_drop("CREATE TABLE t (id int PRIMARY KEY, n enum('1','2','10'), s set('1','2','x'))")
        .unwrap();
    let src = sqlite(
        &dir,
        "CREATE TABLE good (id INTEGER, n TEXT, s TEXT);
         INSERT INTO good VALUES (1, '10', '1,2'), (2, '2', ''), (3, NULL, '2,x');
         CREATE TABLE good_int (id INTEGER, n INTEGER, s INTEGER);
         INSERT INTO good_int VALUES (4, 10, 2);
         CREATE TABLE enum_index (id INTEGER, n TEXT, s TEXT);
         INSERT INTO enum_index VALUES (5, '1', '1'), (6, '3', '1');
         CREATE TABLE enum_int (id INTEGER, n INTEGER, s TEXT);
         INSERT INTO enum_int VALUES (7, 3, '1');
         CREATE TABLE set_bits (id INTEGER, n TEXT, s TEXT);
         INSERT INTO set_bits VALUES (8, '1', '3');
         CREATE TABLE set_order (id INTEGER, n TEXT, s TEXT);
         INSERT INTO set_order VALUES (9, '1', 'x,1');
         CREATE TABLE set_twice (id INTEGER, n TEXT, s TEXT);
         INSERT INTO set_twice VALUES (10, '1', '2,2');",
    );
    let append = |table: &str| {
        ferry()
            .args(["copy", &src, &url, "--table", table, "--target-table", "t"])
            .args(["--if-exists", "append", "-q"])
            .output()
            .unwrap()
    };
    for ok in ["good", "good_int"] {
        assert!(append(ok).status.success(), "{ok}");
    }
    let before = enum_rows(&mut c, "t", &["id", "n", "s"], true);
    assert_eq!(
        before,
        [
            text(&["1", "10", "1,2", "1", "3", "3"]),
            text(&["2", "2", "", "2", "2", "0"]),
            text(&["3", "NULL", "2,x", "3", "NULL", "6"]),
            text(&["4", "10", "2", "4", "3", "2"]),
        ]
    );
    for (table, column, why) in [
        (
            "enum_index",
            "n",
            "row 2: '3' is not a member of enum('1','2','10'), and the server would read it as \
             the index of another member",
        ),
        (
            "enum_int",
            "n",
            "row 1: '3' is not a member of enum('1','2','10'), and the server would read it as \
             the index of another member",
        ),
        (
            "set_bits",
            "s",
            "row 1: '3' is not a member of set('1','2','x'), and the server would read it as \
             the bits of a set of members",
        ),
        (
            "set_order",
            "s",
            "row 1: 'x,1' would be stored as '1,x' in set('1','2','x') (a set's members in \
             their declared order, each once)",
        ),
        (
            "set_twice",
            "s",
            "row 1: '2,2' would be stored as '2' in set('1','2','x')",
        ),
    ] {
        let out = append(table);
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(5), "{table}: {err}");
        assert!(
            err.contains(&format!("column \"{column}\", {why}")),
            "{table}: {err}"
        );
        assert_eq!(
            enum_rows(&mut c, "t", &["id", "n", "s"], true),
            before,
            "{table}"
        );
    }
}
