//! The ADBC endpoint with real drivers (installed by scripts/adbc-drivers.sh): SQLite file ->
//! ADBC SQLite, ADBC PostgreSQL -> Parquet -> ADBC PostgreSQL, PostgreSQL -> DuckDB -> PostgreSQL,
//! each compared cell by cell on the TPC-H tables and the hard-types tables; and bad input
//! (missing driver, library without the entry point, wrong option, wrong password).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

use postgres::Client;

use crate::postgres::{cells, create_hard_table, definitions, fresh_schema, pg, HARD_TABLE};
use crate::support::{assert_same_table, ferry, tpch, TPCH_TABLES};

const LIBS: [&str; 3] = [
    "libadbc_driver_sqlite.so",
    "libadbc_driver_postgresql.so",
    "libduckdb.so",
];

/// The directory holding the drivers, or `None` (with a notice) when they are not installed;
/// with `CI` set, missing drivers are a failure.
pub(crate) fn drivers() -> Option<PathBuf> {
    let dir = std::env::var_os("FERRY_ADBC_DRIVER_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/adbc-drivers"));
    if LIBS.iter().all(|l| dir.join(l).is_file()) {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "no ADBC drivers in {} and CI is set (scripts/adbc-drivers.sh installs them)",
            dir.display()
        );
    }
    eprintln!(
        "skipping: no ADBC drivers in {} (run scripts/adbc-drivers.sh)",
        dir.display()
    );
    None
}

/// `ferry` with the drivers' directory in its environment.
pub(crate) fn fx(dir: &Path) -> Command {
    let mut cmd = ferry();
    cmd.env("FERRY_ADBC_DRIVER_PATH", dir)
        .env("FERRY_DUCKDB_DRIVER", dir.join("libduckdb.so"));
    cmd
}

pub(crate) fn run(dir: &Path, args: &[&str]) {
    fx(dir).args(args).arg("-q").assert().success();
}

/// Runs `ferry ARGS`, asserts the exit code and one error line, returns the line.
pub(crate) fn error_of(dir: &Path, args: &[&str], code: i32) -> String {
    let out = fx(dir).args(args).assert().code(code).get_output().clone();
    let text = String::from_utf8(out.stderr).unwrap();
    assert_eq!(text.lines().count(), 1, "exactly one error line: {text}");
    text
}

/// Every cell of a PostgreSQL table as PostgreSQL prints it, rows fully sorted.
fn sorted_cells(c: &mut Client, schema: &str, table: &str) -> Vec<Vec<Option<String>>> {
    let mut rows = cells(
        c,
        &format!("\"{schema}\".\"{}\"", table.replace('"', "\"\"")),
    );
    rows.sort();
    rows
}

/// Asserts two PostgreSQL tables have the same column definitions and the same cells.
fn assert_same_pg(c: &mut Client, (s1, s2): (&str, &str), table: &str) {
    assert_eq!(
        definitions(c, s1, table),
        definitions(c, s2, table),
        "column definitions of {s2}.{table}"
    );
    let (a, b) = (sorted_cells(c, s1, table), sorted_cells(c, s2, table));
    assert_eq!(a.len(), b.len(), "rows of {s2}.{table}");
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "{s2}.{table}: sorted row {i}");
    }
}

#[test]
fn sqlite_file_to_adbc_sqlite_keeps_every_cell() {
    let Some(drv) = drivers() else { return };
    let tmp = TempDir::new().unwrap();
    let hard = tmp.path().join("hard.sqlite");
    crate::hard_types::make_hard(&hard);
    let out = tmp.path().join("out.sqlite");
    let target = format!("adbc://sqlite?uri={}", out.display());
    run(&drv, &["copy", tpch().to_str().unwrap(), &target]);
    run(&drv, &["copy", hard.to_str().unwrap(), &target]);
    for t in TPCH_TABLES {
        assert_same_table(&tpch(), &out, t);
    }
    assert_same_table(&hard, &out, "hard");
    // replace swaps in a new table in one transaction; fail refuses and leaves it.
    run(
        &drv,
        &[
            "copy",
            tpch().to_str().unwrap(),
            &target,
            "--table",
            "region",
            "--if-exists",
            "replace",
        ],
    );
    assert_same_table(&tpch(), &out, "region");
    let e = error_of(
        &drv,
        &[
            "copy",
            tpch().to_str().unwrap(),
            &target,
            "--table",
            "region",
        ],
        4,
    );
    assert!(e.contains("\"region\" exists"), "{e}");
    assert_same_table(&tpch(), &out, "region");
}

#[test]
fn adbc_postgres_to_parquet_and_parquet_to_adbc_postgres() {
    let Some(drv) = drivers() else { return };
    let Some((url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "it_adbc_src");
    fresh_schema(&mut c, "it_adbc_dst");
    create_hard_table(&mut c, "it_adbc_src");
    // The ADBC PostgreSQL driver 1.13 sends `inet` as raw binary and flattens a
    // two-dimensional array; ferry reads such columns as PostgreSQL's text of them, so both
    // go round. Its COPY writer would store ±infinity timestamps as finite ones, so ferry
    // refuses them (the target is left as it was): checked below, then that column is dropped
    // from the round trip.
    let adbc = format!("adbc://postgresql?uri={url}");
    c.batch_execute(&format!(
        "UPDATE it_adbc_src.\"{}\" SET ia = '{{{{1,2}},{{3,4}}}}' WHERE id = 2",
        HARD_TABLE.replace('"', "\"\"")
    ))
    .unwrap();
    // PostgreSQL's ±infinity, read through the driver, arrive as ferry's ±infinity (the
    // driver's own values are its infinities moved to 1970 with a wrapping addition)...
    let tmp0 = TempDir::new().unwrap();
    let infinite = format!("parquet://{}", tmp0.path().join("inf").display());
    run(
        &drv,
        &[
            "copy",
            &adbc,
            &infinite,
            "--query",
            "SELECT 1 AS id, 'infinity'::timestamp AS ts, '-infinity'::timestamptz AS tz, \
             '-infinity'::date AS d UNION ALL SELECT 2, '-infinity', 'infinity', 'infinity'",
            "--target-table",
            "t",
        ],
    );
    let back = tmp0.path().join("back.sqlite");
    run(
        &drv,
        &[
            "copy",
            &infinite,
            &format!("sqlite://{}", back.display()),
            "--table",
            "t",
        ],
    );
    let db = rusqlite::Connection::open(&back).unwrap();
    let rows: Vec<(i64, String, String, String)> = db
        .prepare("SELECT id, ts, tz, d FROM t ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let inf = |s: &str| s.to_string();
    assert_eq!(
        rows,
        vec![
            (1, inf("infinity"), inf("-infinity"), inf("-infinity")),
            (2, inf("-infinity"), inf("infinity"), inf("infinity")),
        ]
    );
    // ... and the driver cannot write ±infinity timestamps (it would store a finite value):
    // refused, naming the value, and the target is left as it was. Its dates are written
    // exactly, infinities included (the hard table's round trip below has them).
    c.batch_execute("CREATE TABLE it_adbc_dst.inf (id integer, ts timestamp, tz timestamptz, d date); INSERT INTO it_adbc_dst.inf VALUES (7, '2000-01-01', NULL, NULL)").unwrap();
    let e = error_of(
        &drv,
        &[
            "copy",
            &infinite,
            &format!("{adbc}&schema=it_adbc_dst"),
            "--table",
            "t",
            "--target-table",
            "inf",
            "--if-exists",
            "append",
        ],
        5,
    );
    assert!(
        e.contains("column \"ts\"")
            && e.contains("infinity cannot be written through the ADBC PostgreSQL driver"),
        "{e}"
    );
    assert_eq!(
        sorted_cells(&mut c, "it_adbc_dst", "inf"),
        vec![vec![
            Some("7".into()),
            Some("2000-01-01 00:00:00".into()),
            None,
            None
        ]]
    );
    c.batch_execute(&format!(
        "ALTER TABLE it_adbc_src.\"{}\" DROP COLUMN ts",
        HARD_TABLE.replace('"', "\"\"")
    ))
    .unwrap();
    for t in TPCH_TABLES {
        run(
            &drv,
            &[
                "copy",
                tpch().to_str().unwrap(),
                &format!("{url}?schema=it_adbc_src"),
                "--table",
                t,
            ],
        );
    }
    let tmp = TempDir::new().unwrap();
    let mut tables: Vec<String> = TPCH_TABLES.iter().map(|t| t.to_string()).collect();
    tables.push(HARD_TABLE.to_string());
    for (i, t) in tables.iter().enumerate() {
        // ADBC PostgreSQL -> Parquet -> ADBC PostgreSQL.
        let file = tmp.path().join(format!("{i}.parquet"));
        let file = format!("parquet://{}", file.display());
        run(
            &drv,
            &[
                "copy",
                &adbc,
                &file,
                "--table",
                &format!("it_adbc_src.{t}"),
                "--target-table",
                "t",
            ],
        );
        run(
            &drv,
            &[
                "copy",
                &file,
                &format!("{adbc}&schema=it_adbc_dst"),
                "--target-table",
                t,
            ],
        );
        assert_same_pg(&mut c, ("it_adbc_src", "it_adbc_dst"), t);
    }
}

#[test]
fn postgres_to_duckdb_and_duckdb_to_postgres() {
    let Some(drv) = drivers() else { return };
    let Some((url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "it_duck_src");
    fresh_schema(&mut c, "it_duck_dst");
    for t in TPCH_TABLES {
        run(
            &drv,
            &[
                "copy",
                tpch().to_str().unwrap(),
                &format!("{url}?schema=it_duck_src"),
                "--table",
                t,
            ],
        );
    }
    let tmp = TempDir::new().unwrap();
    let duck = format!("duckdb://{}", tmp.path().join("a.duckdb").display());
    for t in TPCH_TABLES {
        run(
            &drv,
            &[
                "copy",
                &url,
                &duck,
                "--table",
                &format!("it_duck_src.{t}"),
                "--target-table",
                t,
            ],
        );
        run(
            &drv,
            &[
                "copy",
                &duck,
                &format!("{url}?schema=it_duck_dst"),
                "--table",
                t,
            ],
        );
        // Every cell comes back equal; DuckDB keeps precision, scale and NOT NULL, and has
        // no lengths for text (its VARCHAR is unbounded), so char(n) / varchar(n) come back
        // as text.
        assert_eq!(
            sorted_cells(&mut c, "it_duck_src", t),
            sorted_cells(&mut c, "it_duck_dst", t),
            "{t}"
        );
    }
    let defs = definitions(&mut c, "it_duck_dst", "lineitem");
    let price = defs
        .iter()
        .find(|d| d[0].as_deref() == Some("l_extendedprice"))
        .unwrap();
    assert_eq!(
        price[1..6],
        [
            Some("numeric".into()),
            None,
            Some("15".into()),
            Some("2".into()),
            Some("NO".into())
        ]
    );
    // The ADBC PostgreSQL driver as the source gives DuckDB the same rows.
    let duck2 = format!("duckdb://{}", tmp.path().join("b.duckdb").display());
    run(
        &drv,
        &[
            "copy",
            &format!("adbc://postgresql?uri={url}"),
            &duck2,
            "--table",
            "it_duck_src.lineitem",
            "--target-table",
            "lineitem",
        ],
    );
    fresh_schema(&mut c, "it_duck_dst2");
    run(
        &drv,
        &[
            "copy",
            &duck2,
            &format!("{url}?schema=it_duck_dst2"),
            "--table",
            "lineitem",
        ],
    );
    assert_eq!(
        sorted_cells(&mut c, "it_duck_src", "lineitem"),
        sorted_cells(&mut c, "it_duck_dst2", "lineitem")
    );
}

#[test]
fn bad_drivers_options_and_passwords_fail_clearly_and_change_nothing() {
    let Some(drv) = drivers() else { return };
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out.sqlite");
    let src = tpch();
    let src = src.to_str().unwrap();
    // A driver path that does not exist.
    let e = error_of(
        &drv,
        &[
            "copy",
            src,
            "adbc:///nowhere/libadbc_driver_x.so?uri=x",
            "--table",
            "region",
        ],
        3,
    );
    assert!(
        e.contains("/nowhere/libadbc_driver_x.so does not exist"),
        "{e}"
    );
    // A library without an ADBC entry point.
    let libc = "/lib/x86_64-linux-gnu/libm.so.6";
    let e = error_of(
        &drv,
        &["copy", src, &format!("adbc://{libc}"), "--table", "region"],
        7,
    );
    assert!(
        e.contains("cannot load the driver") && e.contains(libc),
        "{e}"
    );
    // A driver name found nowhere.
    let e = error_of(
        &drv,
        &[
            "copy",
            src,
            "adbc://no_such_driver?uri=x",
            "--table",
            "region",
        ],
        3,
    );
    assert!(e.contains("no_such_driver"), "{e}");
    // An option the driver does not know: named in the message.
    let e = error_of(
        &drv,
        &[
            "copy",
            src,
            &format!("adbc://sqlite?uri={}&bogus_option=1", out.display()),
            "--table",
            "region",
        ],
        2,
    );
    assert!(e.contains("bogus_option"), "{e}");
    assert!(!out.exists() || !crate::support::has_table(&out, "region"));
    // A wrong password: exit 8, the password never shown, nothing created.
    if let Some((url, mut c)) = pg() {
        fresh_schema(&mut c, "it_adbc_bad");
        let bad = url.replacen(":ferry@", ":wrong-secret@", 1);
        assert_ne!(bad, url, "the test URL carries the password ferry");
        let target = format!("adbc://postgresql?uri={bad}&schema=it_adbc_bad");
        let e = error_of(&drv, &["copy", src, &target, "--table", "region"], 8);
        assert!(!e.contains("wrong-secret"), "{e}");
        assert!(e.contains("adbc://postgresql"), "{e}");
        // A load that fails half way (a NOT NULL violation in the last batch) leaves the
        // target as it was: the whole table is one transaction.
        c.batch_execute(
            "CREATE TABLE it_adbc_bad.region (r_regionkey bigint, r_name text NOT NULL, \
             r_comment text); INSERT INTO it_adbc_bad.region VALUES (99, 'kept', NULL)",
        )
        .unwrap();
        let e = error_of(
            &drv,
            &[
                "copy",
                src,
                &format!("adbc://postgresql?uri={url}&schema=it_adbc_bad"),
                "--query",
                "SELECT r_regionkey, CASE WHEN r_regionkey = 4 THEN NULL ELSE r_name END \
                 AS r_name, r_comment FROM region",
                "--target-table",
                "region",
                "--if-exists",
                "append",
                "--batch-rows",
                "2",
            ],
            6,
        );
        assert!(e.contains("table \"region\""), "{e}");
        let rows = cells(&mut c, "it_adbc_bad.region");
        assert_eq!(
            rows,
            vec![vec![Some("99".into()), Some("kept".into()), None]]
        );
    }
}

#[test]
fn a_driver_given_as_a_path_of_any_name_is_recognised_by_what_it_says_it_is() {
    let Some(drv) = drivers() else { return };
    let Some((url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "it_adbc_vendor");
    c.batch_execute(
        "CREATE TABLE it_adbc_vendor.t (id integer PRIMARY KEY, price numeric(15,2) NOT NULL,
                                        name varchar(44), at timestamptz);
         INSERT INTO it_adbc_vendor.t VALUES (1, 12.34, 'a', '2024-01-02 03:04:05+00'),
                                             (2, -0.01, NULL, NULL);",
    )
    .unwrap();
    // The PostgreSQL driver under a name that says nothing.
    let tmp = TempDir::new().unwrap();
    let lib = tmp.path().join("libvendor_neutral.so");
    std::os::unix::fs::symlink(drv.join("libadbc_driver_postgresql.so"), &lib).unwrap();
    let mut declared = Vec::new();
    for (i, source) in [
        format!("adbc://postgresql?uri={url}"),
        format!("adbc://{}?uri={url}", lib.display()),
    ]
    .iter()
    .enumerate()
    {
        let db = tmp.path().join(format!("{i}.sqlite"));
        run(
            &drv,
            &[
                "copy",
                source,
                &crate::support::sqlite_url(&db),
                "--table",
                "it_adbc_vendor.t",
            ],
        );
        declared.push((
            crate::support::columns(&db, "t"),
            crate::support::dump(&db, "t"),
        ));
    }
    assert_eq!(
        declared[0], declared[1],
        "the same declared types and cells"
    );
    let types: Vec<&str> = declared[1].0.iter().map(|c| c.1.as_str()).collect();
    assert!(
        types.iter().any(|t| t.contains("15,2")) && types.iter().any(|t| t.contains("44")),
        "declared types read from the catalog: {types:?}"
    );
}
