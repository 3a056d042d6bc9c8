//! The PostgreSQL endpoint against a real server: round trips of every type compared cell by
//! cell (PostgreSQL's own text output on both sides), declared types, a consistent snapshot
//! under concurrent writes, a killed `replace`, errors, TLS and NUMERIC edge values.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use tempfile::TempDir;

use crate::support::{assert_same_table, ferry, server_url, stderr_of, tpch, TPCH_TABLES};

const DEFAULT_URL: &str = "postgres://ferry:ferry@127.0.0.1:5432/ferry_test";

pub(crate) fn pg() -> Option<(String, Client)> {
    let url = server_url("FERRY_TEST_PG_URL", DEFAULT_URL)?;
    let mut client = Client::connect(&url, NoTls).expect("connect to the test server");
    // Text forms compared below: ISO dates and intervals, UTC.
    client
        .batch_execute(
            "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; SET TimeZone = 'UTC'",
        )
        .unwrap();
    Some((url, client))
}

/// A fresh schema owned by one test.
pub(crate) fn fresh_schema(c: &mut Client, name: &str) {
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
    ))
    .unwrap();
}

fn copy(args: &[&str]) {
    ferry().args(args).arg("-q").assert().success();
}

/// Every cell of a table as PostgreSQL prints it, rows sorted by the first column.
pub(crate) fn cells(c: &mut Client, qualified: &str) -> Vec<Vec<Option<String>>> {
    let cols: Vec<String> = c
        .query(
            "SELECT attname::text FROM pg_attribute WHERE attrelid = $1::text::regclass
             AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[&qualified],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let select = cols
        .iter()
        .map(|n| format!("\"{}\"::text", n.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = c
        .query(&format!("SELECT {select} FROM {qualified} ORDER BY 1"), &[])
        .unwrap();
    rows.iter()
        .map(|r| {
            (0..cols.len())
                .map(|i| r.get::<_, Option<String>>(i))
                .collect()
        })
        .collect()
}

/// Column definitions from information_schema: name, type, length, precision, scale,
/// nullability, and the underlying type name.
pub(crate) fn definitions(c: &mut Client, schema: &str, table: &str) -> Vec<Vec<Option<String>>> {
    c.query(
        "SELECT column_name::text, data_type::text, character_maximum_length::text,
                numeric_precision::text, numeric_scale::text, is_nullable::text, udt_name::text,
                datetime_precision::text
         FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2
         ORDER BY ordinal_position",
        &[&schema, &table],
    )
    .unwrap()
    .iter()
    .map(|r| (0..8).map(|i| r.get::<_, Option<String>>(i)).collect())
    .collect()
}

pub(crate) fn assert_same_pg_table(c: &mut Client, (s1, t1): (&str, &str), (s2, t2): (&str, &str)) {
    let q = |s: &str, t: &str| format!("\"{s}\".\"{}\"", t.replace('"', "\"\""));
    assert_eq!(
        definitions(c, s1, t1),
        definitions(c, s2, t2),
        "column definitions of {s2}.{t2}"
    );
    let (a, b) = (cells(c, &q(s1, t1)), cells(c, &q(s2, t2)));
    assert_eq!(a.len(), b.len(), "rows of {s2}.{t2}");
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "{s2}.{t2}: row {i}");
    }
}

pub(crate) const HARD_TABLE: &str = "Hard \"Types\" é";

/// The hard-types table: every type the issue lists, extreme values, NULL in every column,
/// identifiers with quotes, spaces, reserved words and unicode.
pub(crate) fn create_hard_table(c: &mut Client, schema: &str) {
    c.batch_execute(&format!(
        r#"
        DROP TYPE IF EXISTS {schema}.mood CASCADE;
        CREATE TYPE {schema}.mood AS ENUM ('sad', 'ok', 'happy 😀');
        CREATE TABLE {schema}."Hard ""Types"" é" (
            id integer PRIMARY KEY,
            "select" smallint,
            "col with space" integer NOT NULL DEFAULT 0,
            "ünï" bigint,
            f4 real,
            f8 double precision,
            n_any numeric,
            n_40 numeric(40,0),
            n_s20 numeric(30,20),
            n_15_2 numeric(15,2),
            c5 char(5),
            vc varchar(10) NOT NULL DEFAULT '',
            t text,
            u uuid,
            j json,
            jb jsonb,
            ip inet,
            iv interval,
            ia integer[],
            ta text[],
            m {schema}.mood,
            b bytea,
            tstz timestamptz,
            ts timestamp,
            ts3 timestamp(3),
            d date,
            tm time,
            ok boolean
        );
        INSERT INTO {schema}."Hard ""Types"" é" VALUES
        (1, -32768, -2147483648, -9223372036854775808, 3.4028235e38, 1.7976931348623157e308,
         'NaN', 1234567890123456789012345678901234567890, 1234567890.12345678901234567890, -9999999999999.99,
         'ab', 'tab	nl
x', E'back\\slash ''q'' "dq" 😀 ü', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
         '{{"b":1,  "a":[1,2]}}', '{{"b":1,  "a":[1,2], "c": {{"d": null}}}}', '192.168.0.1/24',
         '1 year 2 mons -3 days 04:05:06.789', '{{1,NULL,3}}', '{{"a b","c,d",NULL,""}}', 'happy 😀',
         '\x00ff00', '2020-06-01 12:00:00+05:30', 'infinity', '2020-01-01 00:00:00.123', '4713-01-01 BC',
         '00:00:00', true),
        (2, 32767, 2147483647, 9223372036854775807, 1.4e-45, 5e-324,
         'Infinity', -9999999999999999999999999999999999999999, -0.00000000000000000001, 0.10,
         'abcde', '0123456789', '', '00000000-0000-0000-0000-000000000000',
         '[]', '[]', '::1', '-178000000 years', '{{{{1,2}},{{3,4}}}}', '{{}}', 'sad',
         '', '1999-12-31 23:59:59.999999+14', '-infinity', '0044-03-15 10:00:00 BC', 'infinity',
         '23:59:59.999999', false),
        (3, 0, 0, 0, 'NaN', '-0', '-Infinity', 0, 0, 0,
         NULL, 'x', NULL, NULL, 'null', 'null', '10.0.0.0/8', '0', '{{}}', NULL, 'ok',
         NULL, '2020-06-01 12:00:00-08', '200000-01-01 00:00:00', NULL, '-infinity', '24:00:00', NULL),
        (4, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '', NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        (5, 1, 1, 1, '-Infinity', 'Infinity', '{{big}}', 1, 0.5, 12.5, 'x', 'y', 'z',
         'ffffffff-ffff-ffff-ffff-ffffffffffff', '"s"', '"s"', '2001:db8::/32', '-1 days -00:00:01',
         '{{-1}}', '{{"\"q\""}}', 'sad', '\xdeadbeef', '0001-01-01 00:00:00+00', '1970-01-01 00:00:00',
         '1970-01-01 00:00:00.001', '2000-02-29', '12:34:56.5', true);
        "#
    )
    .replace("'{big}'", &format!("'{}.{}'", "9".repeat(600), "1".repeat(400))))
    .unwrap();
}

#[test]
fn hard_types_pg_to_pg_and_through_parquet() {
    let Some((url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "it_hard_src");
    fresh_schema(&mut c, "it_hard_dst");
    create_hard_table(&mut c, "it_hard_src");
    let src = format!("\"it_hard_src\".\"{}\"", HARD_TABLE.replace('"', "\"\""));
    let dst = format!("{url}?schema=it_hard_dst");
    // The enum type must exist in the target database: here source and target are one.
    copy(&["copy", &url, &dst, "--table", &src]);
    assert_same_pg_table(
        &mut c,
        ("it_hard_src", HARD_TABLE),
        ("it_hard_dst", HARD_TABLE),
    );

    // Through a Parquet snapshot, replacing the first copy.
    let dir = TempDir::new().unwrap();
    let snap = format!("parquet://{}", dir.path().join("snap").display());
    copy(&[
        "copy",
        &url,
        &snap,
        "--table",
        &src,
        "--target-table",
        "hard",
    ]);
    copy(&[
        "copy",
        &snap,
        &dst,
        "--table",
        "hard",
        "--target-table",
        HARD_TABLE,
        "--if-exists",
        "replace",
    ]);
    assert_same_pg_table(
        &mut c,
        ("it_hard_src", HARD_TABLE),
        ("it_hard_dst", HARD_TABLE),
    );
    // The primary key came along, and no staging table stayed behind.
    let pk: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_index WHERE indrelid = $1::text::regclass AND indisprimary",
            &[&format!(
                "\"it_hard_dst\".\"{}\"",
                HARD_TABLE.replace('"', "\"\"")
            )],
        )
        .unwrap()
        .get(0);
    assert_eq!(pk, 1);
    assert_eq!(staging_tables(&mut c, "it_hard_dst"), 0);
}

/// PostgreSQL's special values go through a CSV snapshot and back unchanged: ±infinity dates
/// and timestamps, and the end of the day, next to ordinary values and NULLs.
#[test]
fn special_values_go_through_a_csv_snapshot_and_back() {
    let Some((url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "it_csv_special");
    c.batch_execute(
        "CREATE TABLE it_csv_special.s (id int PRIMARY KEY, d date, ts timestamp, tz timestamptz,
           t time, t3 time(3));
         INSERT INTO it_csv_special.s VALUES
           (1, 'infinity', '-infinity', 'infinity', '24:00:00', '24:00:00'),
           (2, '-infinity', 'infinity', '-infinity', '00:00:00', '23:59:59.999'),
           (3, '4713-01-01 BC', '0001-01-01 00:00:00', '1969-12-31 23:59:59.999999+00',
              '23:59:59.999999', NULL),
           (4, NULL, NULL, NULL, NULL, '12:00:00.5')",
    )
    .unwrap();
    let dir = TempDir::new().unwrap();
    let snap = format!("csv://{}", dir.path().join("snap").display());
    let src = format!("{url}?schema=it_csv_special");
    copy(&["copy", &src, &snap, "--table", "s"]);
    let text = std::fs::read_to_string(dir.path().join("snap/s/part-00000.csv")).unwrap();
    assert!(
        text.contains("1,infinity,-infinity,infinity,24:00:00,24:00:00"),
        "{text}"
    );
    copy(&[
        "copy",
        &snap,
        &src,
        "--table",
        "s",
        "--target-table",
        "back",
    ]);
    assert_eq!(
        cells(&mut c, "it_csv_special.back"),
        cells(&mut c, "it_csv_special.s")
    );
    let declared: Vec<String> = c
        .query(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
             WHERE attrelid = 'it_csv_special.back'::regclass AND attnum > 0 ORDER BY attnum",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        declared,
        [
            "integer",
            "date",
            "timestamp without time zone",
            "timestamp with time zone",
            "time without time zone",
            "time(3) without time zone"
        ]
    );
}

/// Staging tables ferry left in `schema` (tests run in parallel: other schemas may have theirs).
fn staging_tables(c: &mut Client, schema: &str) -> i64 {
    c.query_one(
        "SELECT count(*) FROM pg_class WHERE relname LIKE '\\_ferry\\_%' AND relname NOT LIKE '\\_ferry\\_loads%'
         AND relnamespace = $1::text::regnamespace",
        &[&schema],
    )
    .unwrap()
    .get(0)
}

#[test]
fn hard_types_pg_to_sqlite_keep_every_value() {
    let Some((url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "it_hard_sq");
    create_hard_table(&mut c, "it_hard_sq");
    let src = format!("\"it_hard_sq\".\"{}\"", HARD_TABLE.replace('"', "\"\""));
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("hard.sqlite");
    // SQLite has no NaN (it stores NULL): ferry refuses rather than change the value.
    let e = stderr_of(
        &[
            "copy",
            &url,
            &format!("sqlite://{}", db.display()),
            "--table",
            &src,
            "--target-table",
            "hard",
        ],
        5,
    );
    assert!(
        e.contains("column \"f4\", row 3 of partition \"whole table\": NaN"),
        "{e}"
    );
    assert!(!db.exists(), "no database file left behind");
    c.batch_execute(&format!(
        "UPDATE {src} SET f4 = NULL WHERE f4 = 'NaN'; UPDATE {src} SET f8 = NULL WHERE f8 = 'NaN';
         UPDATE {src} SET f8 = NULL WHERE f8::text = '-0'; UPDATE {src} SET f4 = NULL WHERE f4::text = '-0'"
    ))
    .unwrap();
    copy(&[
        "copy",
        &url,
        &format!("sqlite://{}", db.display()),
        "--table",
        &src,
        "--target-table",
        "hard",
    ]);
    let expected = cells(&mut c, &src);
    let sq = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = sq.prepare("SELECT * FROM hard ORDER BY id").unwrap();
    let n = stmt.column_count();
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let got: Vec<Vec<rusqlite::types::Value>> = stmt
        .query_map([], |r| (0..n).map(|i| r.get(i)).collect())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got.len(), expected.len());
    use rusqlite::types::Value as V;
    for (row, (g, e)) in got.iter().zip(&expected).enumerate() {
        for (i, (gv, ev)) in g.iter().zip(e).enumerate() {
            let col = &names[i];
            let ok = match (gv, ev.as_deref()) {
                (V::Null, None) => true,
                (V::Integer(x), Some(s)) => match col.as_str() {
                    "ok" => (*x == 1) == (s == "true"),
                    // SQLite keeps a whole DECIMAL value as an integer.
                    c if c.starts_with("n_") => s.parse::<f64>().ok() == Some(*x as f64),
                    _ => s.parse::<i64>().ok() == Some(*x),
                },
                // Floats compare by value (PostgreSQL prints the shortest form).
                (V::Real(x), Some(s)) => match s {
                    "NaN" => x.is_nan(),
                    "Infinity" => *x == f64::INFINITY,
                    "-Infinity" => *x == f64::NEG_INFINITY,
                    s if col == "f4" => s.parse::<f32>().ok() == Some(*x as f32),
                    // numeric(15,2) is stored as REAL by SQLite (15 digits are exact in f64).
                    s => s.parse::<f64>().ok() == Some(*x),
                },
                (V::Blob(x), Some(s)) => format!("\\x{}", hex_of(x)) == s,
                (V::Text(x), Some(s)) => match col.as_str() {
                    // SQLite's TIMESTAMPTZ text names its UTC offset as +00:00.
                    "tstz" => x.replace("+00:00", "") == s.replace("+00", "") || x == s,
                    // ferry's timestamps omit zero fractions and print BC years as negative
                    // (astronomical) years; compare through PostgreSQL's parser instead.
                    "ts" | "ts3" | "d" | "tm" => same_instant(&mut c, x, s, col),
                    _ => x == s,
                },
                _ => false,
            };
            assert!(
                ok,
                "row {row}, column {col}: SQLite has {gv:?}, PostgreSQL {ev:?}"
            );
        }
    }
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Whether ferry's text `x` and PostgreSQL's `s` are the same timestamp or date.
fn same_instant(c: &mut Client, x: &str, s: &str, col: &str) -> bool {
    let ty = match col {
        "d" => "date",
        "tm" => "time",
        _ => "timestamp",
    };
    // ferry writes astronomical years (-0043 is 44 BC); PostgreSQL reads 'YYYY-MM-DD BC'.
    // ...and years past 9999 with a '+'.
    let x = x.strip_prefix('+').unwrap_or(x);
    let x = match x.strip_prefix('-') {
        Some(rest) if rest.as_bytes().first().is_some_and(u8::is_ascii_digit) => {
            let (year, tail) = rest.split_at(rest.find('-').unwrap());
            format!("{:04}{tail} BC", year.parse::<i64>().unwrap() + 1)
        }
        _ => x.to_string(),
    };
    c.query_one(
        &format!("SELECT $1::text::{ty} = $2::text::{ty}"),
        &[&x, &s],
    )
    .map(|r| r.get::<_, bool>(0))
    .unwrap_or(false)
}

#[test]
fn tpch_sqlite_to_pg_and_back() {
    let Some((url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "it_tpch");
    let target = format!("{url}?schema=it_tpch");
    for t in TPCH_TABLES {
        copy(&["copy", tpch().to_str().unwrap(), &target, "--table", t]);
    }
    let dir = TempDir::new().unwrap();
    let back = dir.path().join("back.sqlite");
    for t in TPCH_TABLES {
        copy(&[
            "copy",
            &url,
            &format!("sqlite://{}", back.display()),
            "--table",
            &format!("it_tpch.{t}"),
            "--target-table",
            t,
            "--if-exists",
            "append",
        ]);
    }
    // The target got the declared types: numeric(15,2), char(n), varchar(n), date, NOT NULL.
    let defs = definitions(&mut c, "it_tpch", "lineitem");
    let find = |n: &str| {
        defs.iter()
            .find(|d| d[0].as_deref() == Some(n))
            .unwrap()
            .clone()
    };
    assert_eq!(
        find("l_extendedprice")[1..6],
        [
            Some("numeric".into()),
            None,
            Some("15".into()),
            Some("2".into()),
            Some("NO".into())
        ]
    );
    assert_eq!(
        find("l_comment")[1..3],
        [Some("character varying".into()), Some("44".into())]
    );
    assert_eq!(
        find("l_shipmode")[1..3],
        [Some("character".into()), Some("10".into())]
    );
    // SQLite -> PostgreSQL -> SQLite gives the original table back, cell by cell, with the
    // declared types PostgreSQL spells differently mapped back to SQLite's.
    for t in TPCH_TABLES {
        let a = crate::support::dump(&tpch(), t);
        let b = crate::support::dump(&back, t);
        assert_eq!(a, b, "{t}");
    }
    let _ = assert_same_table;
}

#[test]
fn consistent_snapshot_under_concurrent_transfers() {
    let Some((url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "it_snap");
    c.batch_execute(
        "CREATE TABLE it_snap.accounts (id integer PRIMARY KEY, amount bigint NOT NULL);
         INSERT INTO it_snap.accounts SELECT g, 1000 FROM generate_series(1, 200000) g;",
    )
    .unwrap();
    let invariant: i64 = 200_000 * 1000;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mover = {
        let stop = stop.clone();
        let url = url.clone();
        std::thread::spawn(move || {
            let mut m = Client::connect(&url, NoTls).unwrap();
            let mut moves = 0u64;
            let mut x: u64 = 12345;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let from = (x >> 33) % 200_000 + 1;
                let to = (x >> 13) % 200_000 + 1;
                // Low ids to high ids and back: rows in different partitions.
                m.batch_execute(&format!(
                    "BEGIN; UPDATE it_snap.accounts SET amount = amount - 7 WHERE id = {from};
                     UPDATE it_snap.accounts SET amount = amount + 7 WHERE id = {to}; COMMIT"
                ))
                .unwrap();
                moves += 1;
            }
            moves
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    copy(&[
        "copy",
        &url,
        &format!("{url}?schema=it_snap"),
        "--table",
        "it_snap.accounts",
        "--target-table",
        "copy",
        "--partition-on",
        "id",
        "--partitions",
        "8",
        "--jobs",
        "2",
        "--batch-rows",
        "500",
    ]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let moves = mover.join().unwrap();
    assert!(moves > 10, "transfers ran during the copy: {moves}");
    let (rows, sum): (i64, i64) = {
        let r = c
            .query_one("SELECT count(*), sum(amount)::int8 FROM it_snap.copy", &[])
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(rows, 200_000);
    assert_eq!(sum, invariant, "the copy is one moment of the source");
}

#[test]
fn enum_types_missing_in_the_target_are_created_from_the_snapshot() {
    let Some((url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "it_enum");
    c.batch_execute(
        r#"CREATE TYPE it_enum."Mood ☀" AS ENUM ('sad', 'ok', 'happy 😀', 'it''s', 'a "b"');
           CREATE TABLE it_enum.t (
               id integer PRIMARY KEY,
               m it_enum."Mood ☀" NOT NULL,
               ms it_enum."Mood ☀"[],
               maybe it_enum."Mood ☀"
           );
           INSERT INTO it_enum.t VALUES
               (1, 'happy 😀', ARRAY['sad', 'it''s']::it_enum."Mood ☀"[], NULL),
               (2, 'sad', NULL, 'a "b"'),
               (3, 'it''s', '{}', 'ok');"#,
    )
    .unwrap();
    let before = cells(&mut c, "it_enum.t");
    let labels = |c: &mut Client| -> Vec<String> {
        c.query_one(r#"SELECT enum_range(NULL::it_enum."Mood ☀")::text[]"#, &[])
            .unwrap()
            .get(0)
    };
    let want_labels = labels(&mut c);
    let dir = TempDir::new().unwrap();
    let snap = format!("parquet://{}", dir.path().join("snap").display());
    copy(&["copy", &url, &snap, "--table", "it_enum.t"]);
    // The target database has neither the table nor its type, nor the type's schema.
    c.batch_execute("DROP SCHEMA it_enum CASCADE").unwrap();
    let into_enum = format!("{url}?schema=it_enum");
    let plan = ferry()
        .args(["copy", &snap, &into_enum, "--dry-run"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let plan = String::from_utf8(plan).unwrap();
    assert!(
        plan.contains(
            r#"CREATE TYPE "it_enum"."Mood ☀" AS ENUM ('sad', 'ok', 'happy 😀', 'it''s', 'a "b"')"#
        ),
        "{plan}"
    );
    copy(&["copy", &snap, &into_enum]);
    assert_eq!(labels(&mut c), want_labels, "labels in their order");
    assert_eq!(cells(&mut c, "it_enum.t"), before);
    let types: Vec<(String, String, String)> = c
        .query(
            "SELECT column_name::text, udt_schema::text, udt_name::text
             FROM information_schema.columns
             WHERE table_schema = 'it_enum' AND table_name = 't' ORDER BY ordinal_position",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let e = |col: &str, udt: &str| (col.to_string(), "it_enum".to_string(), udt.to_string());
    assert_eq!(
        types[1..],
        [e("m", "Mood ☀"), e("ms", "_Mood ☀"), e("maybe", "Mood ☀")]
    );
    // A second load into the same database finds the type and leaves it alone.
    copy(&["copy", &snap, &into_enum, "--if-exists", "replace"]);
    assert_eq!(cells(&mut c, "it_enum.t"), before);
}

/// `url` with an application name of its own: a test then kills only its own ferry's
/// connections, not another test's.
pub(crate) fn with_application_name(url: &str, app: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={app}")
}

/// Runs ferry with `args`, waits (up to a minute) for one of its connections named `app`
/// running a query LIKE `query`, kills that backend, and returns ferry's output.
fn kill_midway(c: &mut Client, args: &[&str], app: &str, query: &str) -> std::process::Output {
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"))
        .args(args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut killed = 0;
    while killed == 0 && started.elapsed() < Duration::from_secs(60) {
        killed = c
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE application_name = $1 AND query LIKE $2",
                &[&app, &query],
            )
            .unwrap()
            .get::<_, i64>(0);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(killed > 0, "found ferry's connection running {query}");
    child.wait_with_output().unwrap()
}

#[test]
fn killed_reader_fails_the_copy_naming_table_and_partition_and_leaves_no_file() {
    let Some((url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "it_killread");
    c.batch_execute(
        "CREATE TABLE it_killread.big AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 1500000) g",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.parquet");
    let app = "ferry_it_killread";
    let own = with_application_name(&url, app);
    let target = format!("parquet://{}", file.display());
    // Without retries (tests/it/retry.rs has them): the first lost connection ends the run.
    let args = [
        "copy",
        &own,
        &target,
        "--table",
        "it_killread.big",
        "-q",
        "--retries",
        "0",
    ];
    // One of ferry's reading COPYs.
    let out = kill_midway(&mut c, &args, app, "COPY %TO STDOUT%");
    assert_eq!(out.status.code(), Some(7), "an I/O failure");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one error line: {err}");
    assert!(
        err.contains("table \"it_killread.big\", partition")
            && err.contains("reading the COPY stream"),
        "{err}"
    );
    assert!(!err.contains("ferry:ferry@"), "no password: {err}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "no file, not even a temporary one: {left:?}"
    );
}

#[test]
fn killed_replace_leaves_the_old_table() {
    let Some((url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "it_kill");
    c.batch_execute(
        "CREATE TABLE it_kill.big AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 1500000) g;
         CREATE TABLE it_kill.target (id integer, note text);
         INSERT INTO it_kill.target VALUES (1, 'old'), (2, 'rows');",
    )
    .unwrap();
    let before = cells(&mut c, "it_kill.target");
    let app = "ferry_it_kill";
    let own = with_application_name(&format!("{url}?schema=it_kill"), app);
    let args = [
        "copy",
        &own,
        &own,
        "--table",
        "big",
        "--target-table",
        "target",
        "--if-exists",
        "replace",
        "-q",
        "--retries",
        "0",
    ];
    // ferry's COPY into the staging table.
    let out = kill_midway(&mut c, &args, app, "COPY %FROM STDIN%");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("it_kill") && err.contains("target"), "{err}");
    assert!(!err.contains("ferry:ferry@"), "no password: {err}");
    assert_eq!(
        cells(&mut c, "it_kill.target"),
        before,
        "the old table is intact"
    );
    assert_eq!(
        staging_tables(&mut c, "it_kill"),
        0,
        "the failed run dropped its staging table"
    );
    // A later run for the same target succeeds and leaves no staging table either.
    c.batch_execute(
        "CREATE TABLE it_kill.small AS SELECT g AS id, 'new' AS note FROM generate_series(1, 3) g",
    )
    .unwrap();
    let in_kill = format!("{url}?schema=it_kill");
    copy(&[
        "copy",
        &in_kill,
        &in_kill,
        "--table",
        "small",
        "--target-table",
        "target",
        "--if-exists",
        "replace",
    ]);
    assert_eq!(cells(&mut c, "it_kill.target").len(), 3);
    assert_eq!(staging_tables(&mut c, "it_kill"), 0);
}

#[test]
fn errors_name_the_thing_and_hide_the_password() {
    let Some((url, mut c)) = pg() else { return };
    let bad = url.replacen("ferry:ferry@", "ferry:wrongpass@", 1);
    let e = stderr_of(&["copy", &bad, "x.parquet"], 8);
    assert!(e.contains("password authentication failed"), "{e}");
    assert!(!e.contains("wrongpass"), "{e}");
    let e = stderr_of(
        &[
            "copy",
            &url,
            "/tmp/never.parquet",
            "--table",
            "no_such_table",
        ],
        3,
    );
    assert!(
        e.contains("no_such_table") && e.contains("does not exist"),
        "{e}"
    );
    assert!(!e.contains("ferry:ferry"), "{e}");
    // A constraint violation while appending: the target keeps its rows.
    fresh_schema(&mut c, "it_err");
    c.batch_execute(
        "CREATE TABLE it_err.t (id integer PRIMARY KEY, v text);
         INSERT INTO it_err.t VALUES (5, 'five');
         CREATE TABLE it_err.s (id integer, v text);
         INSERT INTO it_err.s SELECT g, 'n' || g FROM generate_series(1, 10) g;",
    )
    .unwrap();
    let in_err = format!("{url}?schema=it_err");
    let e = stderr_of(
        &[
            "copy",
            &in_err,
            &in_err,
            "--table",
            "s",
            "--target-table",
            "t",
            "--if-exists",
            "append",
        ],
        6,
    );
    assert!(e.contains("23505") && e.contains("t_pkey"), "{e}");
    assert_eq!(
        cells(&mut c, "it_err.t"),
        vec![vec![Some("5".into()), Some("five".into())]]
    );
    // fail mode refuses an existing table.
    let e = stderr_of(
        &[
            "copy",
            &in_err,
            &in_err,
            "--table",
            "s",
            "--target-table",
            "t",
        ],
        4,
    );
    assert!(e.contains("exists"), "{e}");
    // NaN in a numeric(p,s) cannot be a Decimal128: an error naming table, column, row and the
    // flag; with the flag the value arrives.
    c.batch_execute(
        "CREATE TABLE it_err.nan (id int, x numeric(10,2)); INSERT INTO it_err.nan VALUES (1, 1.5), (2, 'NaN');",
    )
    .unwrap();
    let e = stderr_of(
        &["copy", &url, "/tmp/never2.parquet", "--table", "it_err.nan"],
        5,
    );
    assert!(
        e.contains("column \"x\" (numeric(10,2)), row 2") && e.contains("numeric=text"),
        "{e}"
    );
    copy(&[
        "copy",
        &format!("{url}?numeric=text"),
        &in_err,
        "--table",
        "it_err.nan",
        "--target-table",
        "nan2",
    ]);
    assert_same_pg_table(&mut c, ("it_err", "nan"), ("it_err", "nan2"));
}

#[test]
fn numeric_edges_match_postgres_text() {
    let Some((url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "it_num");
    let edges = [
        "0",
        "0.000",
        "1",
        "-1",
        "0.1",
        "0.12345",
        "12345.678",
        "100000000",
        "1000000000",
        "-1000000000000000000",
        "999999999.999999999",
        "0.00000001",
        "12300000000.0000",
        "99999999999999999999999999999999999999",
        "-0.00000000000000000000000000000000000001",
        "NaN",
        "Infinity",
        "-Infinity",
    ];
    c.batch_execute(
        "CREATE TABLE it_num.src (id int, x numeric, y numeric(38,5), z numeric(60,20))",
    )
    .unwrap();
    let big = format!("{}.{}", "1234567890".repeat(70), "9876543210".repeat(30));
    for (i, e) in edges
        .iter()
        .chain(std::iter::once(&big.as_str()))
        .enumerate()
    {
        let fits = |p: usize, s: usize| -> bool {
            if e.chars().any(|ch| ch.is_alphabetic()) {
                return false;
            }
            let t = e.trim_start_matches('-');
            let (int, frac) = t.split_once('.').unwrap_or((t, ""));
            int.trim_start_matches('0').len() <= p - s && frac.trim_end_matches('0').len() <= s
        };
        let y = if fits(38, 5) {
            format!("'{e}'")
        } else {
            "NULL".into()
        };
        let z = if fits(60, 20) {
            format!("'{e}'")
        } else {
            "NULL".into()
        };
        c.batch_execute(&format!(
            "INSERT INTO it_num.src VALUES ({i}, '{e}', {y}, {z})"
        ))
        .unwrap();
    }
    copy(&[
        "copy",
        &url,
        &format!("{url}?schema=it_num"),
        "--table",
        "it_num.src",
        "--target-table",
        "dst",
    ]);
    assert_same_pg_table(&mut c, ("it_num", "src"), ("it_num", "dst"));
    // Every edge value came back as PostgreSQL prints it.
    let got: BTreeMap<i32, String> = c
        .query("SELECT id, x::text FROM it_num.dst", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(got[&12], "12300000000.0000");
    assert_eq!(got[&15], "NaN");
    assert_eq!(got[&(edges.len() as i32)], big);
}

#[test]
fn tls_by_sslmode() {
    let Some((url, mut c)) = pg() else { return };
    let ssl: String = c.query_one("SHOW ssl", &[]).unwrap().get(0);
    if ssl != "on" {
        eprintln!("skipping: the test server has ssl = {ssl}");
        return;
    }
    fresh_schema(&mut c, "it_tls");
    c.batch_execute("CREATE TABLE it_tls.t AS SELECT g AS id FROM generate_series(1, 100) g")
        .unwrap();
    for mode in ["disable", "prefer", "require"] {
        let u = format!("{url}?sslmode={mode}&application_name=ferry_tls_{mode}&schema=it_tls");
        copy(&["copy", &u, &u, "--table", "t", "--target-table", mode]);
        let n: i64 = c
            .query_one(&format!("SELECT count(*) FROM it_tls.{mode}"), &[])
            .unwrap()
            .get(0);
        assert_eq!(n, 100, "{mode}");
    }
    // No sslrootcert: the server's certificate (from scripts/servers.sh's test CA, or
    // self-signed) is not signed by a system root; verification must fail, never fall back.
    let dir = TempDir::new().unwrap();
    let u = format!("{url}?sslmode=verify-full");
    let e = stderr_of(
        &[
            "copy",
            &u,
            dir.path().join("x.parquet").to_str().unwrap(),
            "--table",
            "it_tls.t",
        ],
        7,
    );
    assert!(
        e.contains("certificate") || e.contains("TLS") || e.contains("tls"),
        "{e}"
    );
    assert!(!e.contains("ferry:ferry"), "{e}");
}

/// A fresh database owned by one test: its URL and a connection to it.
fn fresh_database(c: &mut Client, url: &str, name: &str) -> (String, Client) {
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let mut u = url::Url::parse(url).unwrap();
    u.set_path(&format!("/{name}"));
    let url = u.to_string();
    let client = Client::connect(&url, NoTls).unwrap();
    (url, client)
}

/// Every foreign key of the database: `table: definition`, sorted.
fn foreign_keys(c: &mut Client) -> Vec<String> {
    let mut keys: Vec<String> = c
        .query(
            "SELECT conrelid::regclass::text || ': ' || pg_get_constraintdef(oid)
             FROM pg_constraint WHERE contype = 'f'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    keys.sort();
    keys
}

#[test]
fn with_keys_adds_foreign_keys_and_replace_keeps_them() {
    let Some((url, mut admin)) = pg() else { return };
    let (db, mut c) = fresh_database(&mut admin, &url, "ferry_it_keys");
    let src = "tpch://?sf=0.01";
    copy(&["copy", src, &db, "--with-keys"]);
    let keys = foreign_keys(&mut c);
    assert_eq!(keys.len(), 10, "{keys:#?}");
    for k in [
        "lineitem: FOREIGN KEY (l_partkey, l_suppkey) REFERENCES partsupp(ps_partkey, ps_suppkey)",
        "lineitem: FOREIGN KEY (l_orderkey) REFERENCES orders(o_orderkey)",
        "nation: FOREIGN KEY (n_regionkey) REFERENCES region(r_regionkey)",
    ] {
        assert!(keys.contains(&k.to_string()), "{k} in {keys:#?}");
    }
    let orphan = c
        .batch_execute("INSERT INTO nation VALUES (99, 'NOWHERE', 42, 'no such region')")
        .unwrap_err();
    assert_eq!(
        orphan.as_db_error().unwrap().code().code(),
        "23503",
        "the key holds"
    );

    // Loading every table again replaces them one by one while the others' keys reference
    // them: the keys move to the new tables, none is added twice.
    copy(&["copy", src, &db, "--with-keys", "--if-exists", "replace"]);
    assert_eq!(foreign_keys(&mut c), keys);
    // Replacing a referenced table with one that has no primary key cannot keep the keys that
    // reference it: nothing is swapped, and the key is named.
    let err = stderr_of(
        &[
            "copy",
            src,
            &db,
            "--table",
            "nation",
            "--if-exists",
            "replace",
        ],
        5,
    );
    assert!(
        err.contains("customer_c_nationkey_fkey") && err.contains("no unique constraint"),
        "{err}"
    );
    assert_eq!(foreign_keys(&mut c), keys);
    // With its key, a table replaced alone keeps the keys that reference it and gets its own
    // back, to a table of the target not copied in this run.
    copy(&[
        "copy",
        src,
        &db,
        "--table",
        "nation",
        "--if-exists",
        "replace",
        "--with-keys",
    ]);
    let after = foreign_keys(&mut c);
    assert_eq!(after, keys);
    assert!(
        after.contains(
            &"supplier: FOREIGN KEY (s_nationkey) REFERENCES nation(n_nationkey)".to_string()
        ),
        "{after:#?}"
    );
    assert!(
        after.contains(
            &"customer: FOREIGN KEY (c_nationkey) REFERENCES nation(n_nationkey)".to_string()
        ),
        "{after:#?}"
    );

    // New rows that break a key referencing the table: nothing is swapped, the key is named.
    c.batch_execute(
        "CREATE TABLE few_regions AS SELECT * FROM region WHERE r_regionkey < 2;
         ALTER TABLE few_regions ADD PRIMARY KEY (r_regionkey)",
    )
    .unwrap();
    let before = cells(&mut c, "region");
    let err = stderr_of(
        &[
            "copy",
            &db,
            &db,
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
        err.contains("nation_n_regionkey_fkey") && err.contains("23503"),
        "{err}"
    );
    assert!(!err.contains("ferry:ferry@"), "no password: {err}");
    assert_eq!(cells(&mut c, "region"), before, "region is unchanged");
    // The loaded staging table is kept for --resume (the key's rows may be fixed first), and
    // named; `ferry cleanup` removes it.
    assert!(err.contains("kept for --resume"), "{err}");
    ferry().args(["cleanup", &db, "-q"]).assert().success();
    assert_eq!(staging_tables(&mut c, "public"), 0);
    assert!(foreign_keys(&mut c)
        .contains(&"nation: FOREIGN KEY (n_regionkey) REFERENCES region(r_regionkey)".to_string()));
}

#[test]
fn rows_the_server_does_not_confirm_fail_the_load_and_nothing_commits() {
    let Some((url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "it_count");
    // A trigger that silently skips every even id: COPY's command tag counts the rows kept.
    c.batch_execute(
        "CREATE TABLE it_count.t (id integer, v text);
         INSERT INTO it_count.t VALUES (0, 'before');
         CREATE FUNCTION it_count.skip_even() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN IF NEW.id % 2 = 0 THEN RETURN NULL; END IF; RETURN NEW; END $$;
         CREATE TRIGGER skip BEFORE INSERT ON it_count.t
           FOR EACH ROW EXECUTE FUNCTION it_count.skip_even();
         CREATE TABLE it_count.src AS SELECT g AS id, 'n' || g AS v FROM generate_series(1, 10) g;",
    )
    .unwrap();
    let target = format!("{url}?schema=it_count");
    let e = stderr_of(
        &[
            "copy",
            &url,
            &target,
            "--table",
            "it_count.src",
            "--target-table",
            "t",
            "--if-exists",
            "append",
        ],
        6,
    );
    assert!(
        e.contains("the server confirmed 5 rows, ferry sent 10; nothing was committed"),
        "{e}"
    );
    assert_eq!(
        cells(&mut c, "it_count.t"),
        vec![vec![Some("0".into()), Some("before".into())]]
    );
}
