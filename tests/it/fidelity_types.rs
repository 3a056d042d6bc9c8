//! Type fidelity across targets, against the real servers and drivers: a recorded source
//! spelling never outvotes the Arrow type that travels (MariaDB `tinyint(1)` read as integers),
//! PostgreSQL spellings with modifiers reach SQLite and DuckDB as their own types, PostgreSQL's
//! ±infinity arrives in DuckDB as DuckDB's infinities, numerics wider than DuckDB's decimals
//! arrive as their exact text, MariaDB's `time` reaches SQLite as its exact text, and -0.0 is
//! refused by SQLite like NaN. Every value is compared with a reader other than ferry's:
//! PostgreSQL's and MariaDB's own text, rusqlite on the SQLite file, and DuckDB's own SQL
//! (`isinf`, `epoch_us`, `typeof`) run through the DuckDB library directly, not through ferry.

use std::path::Path;

use adbc_core::options::{AdbcVersion, OptionDatabase, OptionValue};
use adbc_core::{Connection, Database, Driver, Statement};
use mysql::prelude::Queryable;
use tempfile::TempDir;

use crate::postgres::{cells, definitions, fresh_schema, pg};
use crate::support::{columns, server_url, Cell};

const MYSQL_URL: &str = "mysql://ferry:ferry@127.0.0.1:3306/ferry_test";

use crate::adbc::{drivers, error_of, run};

/// A query's rows from a DuckDB file, every value cast to text by DuckDB (`::VARCHAR` in the
/// query), read through the DuckDB library itself rather than through ferry.
pub(crate) fn duck_rows(drv: &Path, file: &Path, sql: &str) -> Vec<Vec<Option<String>>> {
    use arrow::array::{Array, AsArray};
    let lib = drv.join("libduckdb.so");
    let mut driver = adbc_driver_manager::ManagedDriver::load_dynamic_from_filename(
        &lib,
        Some(b"duckdb_adbc_init".as_slice()),
        AdbcVersion::V110,
    )
    .unwrap();
    let db = driver
        .new_database_with_opts([(
            OptionDatabase::from("path"),
            OptionValue::from(file.to_str().unwrap()),
        )])
        .unwrap();
    let mut conn = db.new_connection().unwrap();
    let mut stmt = conn.new_statement().unwrap();
    stmt.set_sql_query(sql).unwrap();
    let mut rows = Vec::new();
    for batch in stmt.execute().unwrap() {
        let batch = batch.unwrap();
        let cols: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8).unwrap())
            .collect();
        for r in 0..batch.num_rows() {
            rows.push(
                cols.iter()
                    .map(|c| {
                        c.is_valid(r)
                            .then(|| c.as_string::<i32>().value(r).to_string())
                    })
                    .collect(),
            );
        }
    }
    rows
}

/// A fresh MariaDB database owned by one test: its URL and a connection to it.
fn fresh_db(name: &str) -> Option<(String, mysql::Conn)> {
    let base = server_url("FERRY_TEST_MYSQL_URL", MYSQL_URL)?;
    let mut admin = mysql::Conn::new(base.as_str()).expect("connect to the test server");
    admin
        .query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
        .unwrap();
    admin
        .query_drop(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        ))
        .unwrap();
    let mut u = url::Url::parse(&base).unwrap();
    u.set_path(&format!("/{name}"));
    let url = u.to_string();
    let conn = mysql::Conn::new(url.as_str()).unwrap();
    Some((url, conn))
}

/// Every cell of a MariaDB table as MariaDB's own text (`CAST(c AS CHAR)`), sorted by `id`.
fn my_cells(c: &mut mysql::Conn, table: &str, cols: &[&str]) -> Vec<Vec<Option<String>>> {
    let select = cols
        .iter()
        .map(|n| format!("CAST(`{n}` AS CHAR)"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows: Vec<mysql::Row> = c
        .query(format!("SELECT {select} FROM `{table}` ORDER BY id"))
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

/// `COLUMN_TYPE` of each column of a MariaDB table.
fn my_types(c: &mut mysql::Conn, table: &str) -> Vec<String> {
    c.exec(
        "SELECT COLUMN_TYPE FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        (table,),
    )
    .unwrap()
}

/// Every row of a SQLite table, sorted by its first column, cells with their storage class.
fn sqlite_rows(db: &Path, table: &str) -> Vec<Vec<Cell>> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY 1"))
        .unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| r.get::<_, rusqlite::types::Value>(i).map(Cell::from))
            .collect()
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// The declared types of a SQLite table's columns.
fn sqlite_types(db: &Path, table: &str) -> Vec<String> {
    columns(db, table).into_iter().map(|c| c.1).collect()
}

/// The column types of a DuckDB table as DuckDB's catalog reports them.
fn duck_types(drv: &Path, file: &Path, table: &str) -> Vec<String> {
    duck_rows(
        drv,
        file,
        &format!(
            "SELECT data_type FROM information_schema.columns WHERE table_name = '{table}' \
             ORDER BY ordinal_position"
        ),
    )
    .into_iter()
    .map(|r| r[0].clone().unwrap())
    .collect()
}

fn text(s: &str) -> Option<String> {
    Some(s.to_string())
}

/// MariaDB `tinyint(1)` / `bool` read as integers (`?tinyint1=int`) arrive as integers in
/// PostgreSQL, SQLite, DuckDB and MariaDB: never as booleans, where -128, 127, 2 and -1 would
/// all become `true`. MariaDB keeps the `tinyint(1)` spelling.
#[test]
fn tinyint1_read_as_integers_stays_integers_in_every_target() {
    let Some(drv) = drivers() else { return };
    let Some((pg_url, mut c)) = pg() else { return };
    let Some((my_url, mut m)) = fresh_db("ferry_it_fid_tiny") else {
        return;
    };
    let Some((my_out, mut m2)) = fresh_db("ferry_it_fid_tiny_out") else {
        return;
    };
    m.query_drop(
        "CREATE TABLE flags (id int PRIMARY KEY, f tinyint(1), b bool NOT NULL DEFAULT 0);
         INSERT INTO flags VALUES (1, -128, -128), (2, 127, 127), (3, 2, 2), (4, -1, -1),
                                  (5, 0, 0), (6, 1, 1), (7, NULL, 0)",
    )
    .unwrap();
    let src = format!("{my_url}?tinyint1=int");
    let want = my_cells(&mut m, "flags", &["id", "f", "b"]);
    assert_eq!(want.len(), 7);

    // PostgreSQL: smallint, every value as MariaDB prints it.
    fresh_schema(&mut c, "it_fid_tiny");
    run(
        &drv,
        &[
            "copy",
            &src,
            &format!("{pg_url}?schema=it_fid_tiny"),
            "--table",
            "flags",
        ],
    );
    let types: Vec<Option<String>> = definitions(&mut c, "it_fid_tiny", "flags")
        .into_iter()
        .map(|d| d[1].clone())
        .collect();
    assert_eq!(
        types,
        [text("integer"), text("smallint"), text("smallint")],
        "PostgreSQL types"
    );
    assert_eq!(cells(&mut c, "it_fid_tiny.flags"), want, "PostgreSQL cells");

    // SQLite: SMALLINT, integers.
    let tmp = TempDir::new().unwrap();
    let db = tmp.path().join("flags.sqlite");
    run(
        &drv,
        &[
            "copy",
            &src,
            &format!("sqlite://{}", db.display()),
            "--table",
            "flags",
        ],
    );
    assert_eq!(sqlite_types(&db, "flags"), ["INT", "SMALLINT", "SMALLINT"]);
    let as_cell = |v: &Option<String>| match v {
        None => Cell::Null,
        Some(s) => Cell::Integer(s.parse().unwrap()),
    };
    let want_sqlite: Vec<Vec<Cell>> = want
        .iter()
        .map(|r| r.iter().map(as_cell).collect())
        .collect();
    assert_eq!(sqlite_rows(&db, "flags"), want_sqlite, "SQLite cells");

    // DuckDB: SMALLINT, checked by DuckDB itself and again after a copy back to PostgreSQL.
    let duck = tmp.path().join("flags.duckdb");
    run(
        &drv,
        &[
            "copy",
            &src,
            &format!("duckdb://{}", duck.display()),
            "--table",
            "flags",
        ],
    );
    assert_eq!(
        duck_types(&drv, &duck, "flags"),
        ["INTEGER", "SMALLINT", "SMALLINT"]
    );
    assert_eq!(
        duck_rows(
            &drv,
            &duck,
            "SELECT id::VARCHAR, f::VARCHAR, b::VARCHAR FROM flags ORDER BY id"
        ),
        want,
        "DuckDB cells"
    );
    fresh_schema(&mut c, "it_fid_tiny_back");
    run(
        &drv,
        &[
            "copy",
            &format!("duckdb://{}", duck.display()),
            &format!("{pg_url}?schema=it_fid_tiny_back"),
            "--table",
            "flags",
        ],
    );
    assert_eq!(cells(&mut c, "it_fid_tiny_back.flags"), want);

    // MariaDB: the spelling is kept, and so is every value.
    run(&drv, &["copy", &src, &my_out, "--table", "flags"]);
    assert_eq!(my_types(&mut m2, "flags")[1], "tinyint(1)");
    assert_eq!(my_cells(&mut m2, "flags", &["id", "f", "b"]), want);
}

/// PostgreSQL spellings whose modifier stands inside the name (`timestamp(6) with time zone`,
/// `time(6) with time zone`, `interval day to second(3)`) and arrays of them reach SQLite and
/// DuckDB as the types they are, every value equal to PostgreSQL's text, and ferry reads its own
/// SQLite file back.
#[test]
fn postgres_spellings_with_modifiers_reach_sqlite_and_duckdb() {
    let Some(drv) = drivers() else { return };
    let Some((pg_url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "it_fid_spell");
    c.batch_execute(
        "CREATE TABLE it_fid_spell.t (
            id integer PRIMARY KEY,
            tstz6 timestamp(6) with time zone,
            ts0 timestamp(0) without time zone,
            tm3 time(3) without time zone,
            ttz time(6) with time zone,
            ids interval day to second(3),
            iym interval year to month,
            ip interval(2),
            b3 bit(3),
            vb bit varying(5),
            n numeric,
            n152 numeric(15,2),
            c4 character(4),
            vc6 character varying(6),
            ttz_a time(6) with time zone[],
            ids_a interval day to second(3)[],
            n_a numeric(15,2)[],
            vc_a character varying(6)[],
            b_a bit(3)[]
         );
         INSERT INTO it_fid_spell.t VALUES
          (1, '2020-06-01 12:00:00.123456+05:30', '1999-12-31 23:59:59', '10:11:12.345',
           '10:11:12.123456+02', '1 day 02:03:04.567', '1 year 2 months', '-3 days 00:00:01.25',
           B'101', B'11', 'NaN', 12.5, 'ab', 'héllo',
           '{10:00:00+02,NULL}', '{\"1 day\",NULL}', '{1.50,-2}', '{\"a b\",NULL,\"\"}', '{101,000}'),
          (2, '1970-01-01 00:00:00+00', '2000-02-29 00:00:00', '00:00:00', '00:00:00-14:59',
           '-00:00:00.001', '-1 year', '0', B'000', B'', '-1.000000000000000000001',
           -9999999999999.99, '', '', '{}', '{}', '{}', '{}', '{}'),
          (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL)",
    )
    .unwrap();
    let want = cells(&mut c, "it_fid_spell.t");
    let tmp = TempDir::new().unwrap();

    // SQLite: each spelling as its own type, text where SQLite has none.
    let db = tmp.path().join("spell.sqlite");
    let sqlite = format!("sqlite://{}", db.display());
    run(
        &drv,
        &[
            "copy",
            &pg_url,
            &sqlite,
            "--table",
            "it_fid_spell.t",
            "--target-table",
            "t",
        ],
    );
    assert_eq!(
        sqlite_types(&db, "t"),
        [
            "INT",
            "TIMESTAMPTZ",
            "TIMESTAMP",
            "TIME",
            "TEXT",
            "TEXT",
            "TEXT",
            "TEXT",
            "TEXT",
            "TEXT",
            "TEXT",
            "DECIMAL(15,2)",
            "CHAR(4)",
            "VARCHAR(6)",
            "TEXT",
            "TEXT",
            "TEXT",
            "TEXT",
            "TEXT"
        ]
    );
    let rows = sqlite_rows(&db, "t");
    assert_eq!(rows.len(), want.len());
    for (got, pg_row) in rows.iter().zip(&want) {
        for (i, (g, p)) in got.iter().zip(pg_row).enumerate() {
            let ok = match (g, p.as_deref()) {
                (Cell::Null, None) => true,
                (Cell::Integer(x), Some(s)) => s.parse::<f64>().ok() == Some(*x as f64),
                (Cell::Real(x), Some(s)) => s.parse::<f64>().ok() == Some(f64::from_bits(*x)),
                // ferry's TIMESTAMPTZ text names its offset +00:00, PostgreSQL's +00; it
                // omits a zero fraction, as PostgreSQL does.
                (Cell::Text(x), Some(s)) if i == 1 => x.strip_suffix(":00") == Some(s),
                (Cell::Text(x), Some(s)) => x == s,
                _ => false,
            };
            assert!(ok, "SQLite column {i}: {g:?}, PostgreSQL {p:?}");
        }
    }
    // ferry reads its own SQLite file back, every value as PostgreSQL printed it.
    fresh_schema(&mut c, "it_fid_spell_sq");
    run(
        &drv,
        &[
            "copy",
            &sqlite,
            &format!("{pg_url}?schema=it_fid_spell_sq"),
            "--table",
            "t",
        ],
    );
    assert_eq!(
        cells(&mut c, "it_fid_spell_sq.t"),
        want,
        "SQLite -> PostgreSQL"
    );

    // DuckDB: the same, DuckDB's catalog names the types.
    let duck = tmp.path().join("spell.duckdb");
    let duck_url = format!("duckdb://{}", duck.display());
    run(
        &drv,
        &[
            "copy",
            &pg_url,
            &duck_url,
            "--table",
            "it_fid_spell.t",
            "--target-table",
            "t",
        ],
    );
    let varchar = "VARCHAR";
    assert_eq!(
        duck_types(&drv, &duck, "t"),
        [
            "INTEGER",
            "TIMESTAMP WITH TIME ZONE",
            "TIMESTAMP",
            "TIME",
            varchar,
            varchar,
            varchar,
            varchar,
            varchar,
            varchar,
            varchar,
            "DECIMAL(15,2)",
            varchar,
            varchar,
            varchar,
            varchar,
            varchar,
            varchar,
            varchar
        ]
    );
    // DuckDB's own view of the instants and times (epoch microseconds, text of a time).
    let duck_instants = duck_rows(
        &drv,
        &duck,
        "SELECT epoch_us(tstz6)::VARCHAR, epoch_us(ts0)::VARCHAR, tm3::VARCHAR, n152::VARCHAR \
         FROM t ORDER BY id",
    );
    let pg_instants: Vec<Vec<Option<String>>> = c
        .query(
            "SELECT (extract(epoch FROM tstz6) * 1000000)::bigint::text,
                    (extract(epoch FROM ts0) * 1000000)::bigint::text, tm3::text, n152::text
             FROM it_fid_spell.t ORDER BY id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (0..4).map(|i| r.get(i)).collect())
        .collect();
    assert_eq!(duck_instants, pg_instants, "DuckDB's instants");
    fresh_schema(&mut c, "it_fid_spell_dk");
    run(
        &drv,
        &[
            "copy",
            &duck_url,
            &format!("{pg_url}?schema=it_fid_spell_dk"),
            "--table",
            "t",
        ],
    );
    assert_eq!(
        cells(&mut c, "it_fid_spell_dk.t"),
        want,
        "DuckDB -> PostgreSQL"
    );
}

/// PostgreSQL's `infinity` and `-infinity` dates, timestamps and timestamptz arrive in DuckDB
/// as DuckDB's own infinities (DuckDB says `isinf`), finite extremes as the same instants, and
/// come back to PostgreSQL as they were.
#[test]
fn infinities_reach_duckdb_as_its_own_and_come_back() {
    let Some(drv) = drivers() else { return };
    let Some((pg_url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "it_fid_inf");
    c.batch_execute(
        "CREATE TABLE it_fid_inf.t (id integer PRIMARY KEY, d date, ts timestamp,
                                    tstz timestamptz);
         INSERT INTO it_fid_inf.t VALUES
          (1, 'infinity', 'infinity', 'infinity'),
          (2, '-infinity', '-infinity', '-infinity'),
          (3, '4713-01-01 BC', '4713-01-01 00:00:00 BC', '4713-01-01 00:00:00+00 BC'),
          (4, '5874897-12-31', '294246-12-31 23:59:59.999999', '294246-12-31 23:59:59.999999+00'),
          (5, '1970-01-01', '1970-01-01 00:00:00', '1970-01-01 00:00:00+00'),
          (6, '1969-12-31', '1969-12-31 23:59:59.999999', '1969-12-31 23:59:59.999999+00'),
          (7, '2000-02-29', '2000-02-29 12:34:56.789', '2000-02-29 12:34:56.789+05:30'),
          (8, NULL, NULL, NULL),
          (9, '-infinity', 'infinity', NULL)",
    )
    .unwrap();
    let want = cells(&mut c, "it_fid_inf.t");
    let tmp = TempDir::new().unwrap();
    let duck = tmp.path().join("inf.duckdb");
    let duck_url = format!("duckdb://{}", duck.display());
    run(
        &drv,
        &[
            "copy",
            &pg_url,
            &duck_url,
            "--table",
            "it_fid_inf.t",
            "--target-table",
            "t",
        ],
    );

    // DuckDB's own reading: which values are infinite, and which infinity.
    let inf = |col: &str| {
        format!(
            "CASE WHEN {col} IS NULL THEN NULL WHEN NOT isinf({col}) THEN 'finite' \
             WHEN {col} > '2000-01-01' THEN 'infinity' ELSE '-infinity' END"
        )
    };
    let duck_inf = duck_rows(
        &drv,
        &duck,
        &format!(
            "SELECT {}, {}, {} FROM t ORDER BY id",
            inf("d"),
            inf("ts"),
            inf("tstz")
        ),
    );
    let pg_inf: Vec<Vec<Option<String>>> = c
        .query(
            "SELECT CASE WHEN d IS NULL THEN NULL WHEN isfinite(d) THEN 'finite' ELSE d::text END,
                    CASE WHEN ts IS NULL THEN NULL WHEN isfinite(ts) THEN 'finite' ELSE ts::text END,
                    CASE WHEN tstz IS NULL THEN NULL WHEN isfinite(tstz) THEN 'finite'
                         ELSE tstz::text END
             FROM it_fid_inf.t ORDER BY id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (0..3).map(|i| r.get(i)).collect())
        .collect();
    assert_eq!(duck_inf, pg_inf, "DuckDB's infinities");
    // Finite values are the same days and instants in DuckDB's arithmetic as in PostgreSQL's.
    let duck_finite = duck_rows(
        &drv,
        &duck,
        "SELECT id::VARCHAR, (d - DATE '1970-01-01')::VARCHAR, epoch_us(ts)::VARCHAR,
                epoch_us(tstz)::VARCHAR
         FROM t WHERE id BETWEEN 3 AND 8 ORDER BY id",
    );
    let pg_finite: Vec<Vec<Option<String>>> = c
        .query(
            "SELECT id::text, (d - DATE '1970-01-01')::text,
                    (extract(epoch FROM ts) * 1000000)::bigint::text,
                    (extract(epoch FROM tstz) * 1000000)::bigint::text
             FROM it_fid_inf.t WHERE id BETWEEN 3 AND 8 ORDER BY id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (0..4).map(|i| r.get(i)).collect())
        .collect();
    assert_eq!(duck_finite, pg_finite, "DuckDB's finite values");

    // Back to PostgreSQL: every cell as it was.
    fresh_schema(&mut c, "it_fid_inf_back");
    run(
        &drv,
        &[
            "copy",
            &duck_url,
            &format!("{pg_url}?schema=it_fid_inf_back"),
            "--table",
            "t",
        ],
    );
    assert_eq!(
        cells(&mut c, "it_fid_inf_back.t"),
        want,
        "DuckDB -> PostgreSQL"
    );
}

/// A `numeric(60,10)` (a 256-bit decimal in Arrow, wider than DuckDB's 38 digits) arrives in
/// DuckDB as a VARCHAR holding its exact text, and in SQLite through the ADBC driver as its
/// exact text too.
#[test]
fn numerics_wider_than_38_digits_reach_duckdb_as_exact_text() {
    let Some(drv) = drivers() else { return };
    let Some((pg_url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "it_fid_wide");
    let max = format!("{}.{}", "9".repeat(50), "9".repeat(10));
    c.batch_execute(&format!(
        "CREATE TABLE it_fid_wide.t (id integer PRIMARY KEY, n numeric(60,10), m numeric(38,4));
         INSERT INTO it_fid_wide.t VALUES
          (1, 0, 0), (2, -0.0000000001, -0.0001), (3, {max}, 9999999999999999999999999999999999.9999),
          (4, -{max}, -9999999999999999999999999999999999.9999),
          (5, 12345678901234567890123456789012345678901234567890.0123456789, 1.5),
          (6, 1, -1), (7, NULL, NULL)"
    ))
    .unwrap();
    let want = cells(&mut c, "it_fid_wide.t");
    let tmp = TempDir::new().unwrap();
    let duck = tmp.path().join("wide.duckdb");
    let duck_url = format!("duckdb://{}", duck.display());
    run(
        &drv,
        &[
            "copy",
            &pg_url,
            &duck_url,
            "--table",
            "it_fid_wide.t",
            "--target-table",
            "t",
        ],
    );
    assert_eq!(
        duck_types(&drv, &duck, "t"),
        ["INTEGER", "VARCHAR", "DECIMAL(38,4)"]
    );
    assert_eq!(
        duck_rows(
            &drv,
            &duck,
            "SELECT id::VARCHAR, n, m::VARCHAR FROM t ORDER BY id"
        ),
        want,
        "DuckDB's text"
    );
    fresh_schema(&mut c, "it_fid_wide_back");
    run(
        &drv,
        &[
            "copy",
            &duck_url,
            &format!("{pg_url}?schema=it_fid_wide_back"),
            "--table",
            "t",
        ],
    );
    assert_eq!(
        cells(&mut c, "it_fid_wide_back.t"),
        want,
        "DuckDB -> PostgreSQL"
    );

    // The ADBC SQLite driver gets the same exact text (DECIMAL_TEXT columns).
    let db = tmp.path().join("wide.sqlite");
    run(
        &drv,
        &[
            "copy",
            &pg_url,
            &format!("adbc://sqlite?uri={}", db.display()),
            "--table",
            "it_fid_wide.t",
            "--target-table",
            "t",
        ],
    );
    assert_eq!(
        sqlite_types(&db, "t"),
        ["INT", "DECIMAL_TEXT(60,10)", "DECIMAL_TEXT(38,4)"]
    );
    let got: Vec<Vec<Cell>> = sqlite_rows(&db, "t");
    let want_sqlite: Vec<Vec<Cell>> = want
        .iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(i, v)| match (i, v) {
                    (_, None) => Cell::Null,
                    (0, Some(s)) => Cell::Integer(s.parse().unwrap()),
                    (_, Some(s)) => Cell::Text(s.clone()),
                })
                .collect()
        })
        .collect();
    assert_eq!(got, want_sqlite, "SQLite's text");
}

/// MariaDB's `time` (a signed duration up to ±838:59:59, read as an Arrow Duration) reaches
/// SQLite, through ferry's sink and through the ADBC driver, as MariaDB's own text.
#[test]
fn mariadb_time_reaches_sqlite_as_exact_text() {
    let Some(drv) = drivers() else { return };
    let Some((my_url, mut m)) = fresh_db("ferry_it_fid_time") else {
        return;
    };
    // t0 holds whole seconds (MariaDB prints no fraction for time(0)), t6 only values with a
    // fraction (MariaDB prints six digits for time(6), as ferry does for a fraction).
    m.query_drop(
        "CREATE TABLE times (id int PRIMARY KEY, t0 time, t6 time(6));
         INSERT INTO times VALUES
          (1, '-838:59:59', '-838:59:58.999999'), (2, '838:59:59', '838:59:58.000001'),
          (3, '00:00:00', '-00:00:00.000001'), (4, '-00:00:01', '00:00:00.5'),
          (5, '24:00:00', '23:59:59.999999'), (6, '100:00:00', '-100:00:00.1'),
          (7, NULL, NULL), (8, '-12:34:56', '12:34:56.000100')",
    )
    .unwrap();
    let want: Vec<Vec<Cell>> = my_cells(&mut m, "times", &["id", "t0", "t6"])
        .into_iter()
        .map(|r| {
            r.into_iter()
                .enumerate()
                .map(|(i, v)| match (i, v) {
                    (_, None) => Cell::Null,
                    (0, Some(s)) => Cell::Integer(s.parse().unwrap()),
                    (_, Some(s)) => Cell::Text(s),
                })
                .collect()
        })
        .collect();
    assert_eq!(want[0][1], Cell::Text("-838:59:59".into()));
    let tmp = TempDir::new().unwrap();
    for (name, url) in [
        ("ferry's SQLite sink", "sqlite://{}"),
        ("the ADBC SQLite driver", "adbc://sqlite?uri={}"),
    ] {
        let db = tmp.path().join(format!("{}.sqlite", name.len()));
        let target = url.replace("{}", &db.display().to_string());
        run(&drv, &["copy", &my_url, &target, "--table", "times"]);
        assert_eq!(
            sqlite_types(&db, "times"),
            ["INT", "TEXT", "TEXT"],
            "{name}"
        );
        assert_eq!(sqlite_rows(&db, "times"), want, "{name}");
    }
}

/// SQLite stores -0.0 as 0.0 (and NaN as NULL): a -0.0 bound for SQLite, through ferry's sink
/// or the ADBC driver, is refused with the table, column, row and value, and the target is left
/// as it was; 0.0 and the other reals arrive bit for bit.
#[test]
fn negative_zero_is_refused_by_sqlite_like_nan() {
    let Some(drv) = drivers() else { return };
    let Some((pg_url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "it_fid_negz");
    c.batch_execute(
        "CREATE TABLE it_fid_negz.ok (id integer PRIMARY KEY, f8 double precision, f4 real);
         INSERT INTO it_fid_negz.ok VALUES (1, 0, 0), (2, 5e-324, 1.4e-45), (3, -5e-324, -1.4e-45),
           (4, 'Infinity', '-Infinity'), (5, -1.5, 3.4028235e38), (6, NULL, NULL);
         CREATE TABLE it_fid_negz.f8 (id integer PRIMARY KEY, f8 double precision);
         INSERT INTO it_fid_negz.f8 VALUES (1, 0), (2, 1.5), (3, '-0'), (4, 2);
         CREATE TABLE it_fid_negz.f4 (id integer PRIMARY KEY, f4 real);
         INSERT INTO it_fid_negz.f4 VALUES (1, 1), (2, '-0');",
    )
    .unwrap();
    let tmp = TempDir::new().unwrap();
    for (name, scheme) in [("sink", "sqlite://"), ("adbc", "adbc://sqlite?uri=")] {
        let db = tmp.path().join(format!("{name}.sqlite"));
        let target = format!("{scheme}{}", db.display());
        run(
            &drv,
            &[
                "copy",
                &pg_url,
                &target,
                "--table",
                "it_fid_negz.ok",
                "--target-table",
                "ok",
            ],
        );
        let got = sqlite_rows(&db, "ok");
        let want: Vec<Vec<f64>> = vec![
            vec![0.0, 0.0],
            vec![5e-324, 1.4e-45f32 as f64],
            vec![-5e-324, -1.4e-45f32 as f64],
            vec![f64::INFINITY, f64::NEG_INFINITY],
            vec![-1.5, 3.4028235e38f32 as f64],
        ];
        for (row, w) in got.iter().zip(&want) {
            assert_eq!(
                row[1..],
                [Cell::Real(w[0].to_bits()), Cell::Real(w[1].to_bits())],
                "{name}"
            );
        }
        assert_eq!(got[5][1..], [Cell::Null, Cell::Null], "{name}");
        for (table, column, row) in [("f8", "f8", 3), ("f4", "f4", 2)] {
            let e = error_of(
                &drv,
                &[
                    "copy",
                    &pg_url,
                    &target,
                    "--table",
                    &format!("it_fid_negz.{table}"),
                    "--target-table",
                    table,
                ],
                5,
            );
            assert!(e.contains(&format!("table \"{table}\"")), "{name}: {e}");
            assert!(
                e.contains(&format!(
                    "column \"{column}\", row {row} of partition \"whole table\": -0.0"
                )),
                "{name}: {e}"
            );
            assert!(
                !crate::support::has_table(&db, table),
                "{name}: {table} left behind"
            );
        }
    }
}
