//! Table and column names are data: a hostile name is one identifier on every endpoint, never a
//! path and never a qualified name. Each test copies tables with such names next to a canary
//! that must survive, and reads the names and cells back with a reader other than ferry's.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::types::Value;
use tempfile::TempDir;

use crate::support::{ferry, sqlite_url, stderr_of, Cell};

/// Names that have broken movers: paths, qualified names, quotes of every dialect, ferry's own
/// file names, format strings, reserved words, unicode, and the lengths around the limits.
fn hostile_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "../x",
        "../../x",
        "..",
        ".",
        "a/b",
        "a\\b",
        "public.canary",
        "x.old",
        "_ferry_manifest.json",
        "_ferry_incomplete",
        ".ferry-staging",
        "%41",
        "%",
        "~x",
        " lead",
        "trail ",
        "a\"b",
        "a`b",
        "a'b",
        "a;b",
        "%s",
        "$1",
        "a:b*c?d<e>f|g",
        "Ünï ☀ 表",
        "select",
        "MixedCase",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    names.push("n".repeat(63));
    names.push("é".repeat(32)); // 64 bytes
    names.push("l".repeat(300));
    names
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A SQLite database with one table per name: an id, and a column whose name is hostile too,
/// holding the table's own name.
fn hostile_sqlite(path: &Path, names: &[String]) {
    let c = rusqlite::Connection::open(path).unwrap();
    for n in names {
        c.execute_batch(&format!(
            "CREATE TABLE {t} (id INTEGER, {col} TEXT); INSERT INTO {t} VALUES (1, '{v}'), (2, NULL);",
            t = quote(n),
            col = quote(&format!("{} col", n.chars().take(20).collect::<String>())),
            v = n.replace('\'', "''"),
        ))
        .unwrap();
    }
}

/// Every table of a SQLite database and its cells, read by rusqlite.
fn sqlite_tables(path: &Path) -> BTreeMap<String, (Vec<String>, Vec<Vec<Cell>>)> {
    let c = rusqlite::Connection::open(path).unwrap();
    let names: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    names
        .into_iter()
        .map(|n| {
            let mut stmt = c
                .prepare(&format!("SELECT * FROM {} ORDER BY 1", quote(&n)))
                .unwrap();
            let cols: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
            let k = cols.len();
            let rows = stmt
                .query_map([], |r| {
                    (0..k)
                        .map(|i| r.get::<_, Value>(i).map(Cell::from))
                        .collect()
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            (n, (cols, rows))
        })
        .collect()
}

/// Every path below `dir`, relative to it.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn file_snapshots_keep_every_table_inside_and_load_back_under_the_same_names() {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path().join("work");
    std::fs::create_dir_all(root.join("x")).unwrap();
    std::fs::write(root.join("x/keep.txt"), "canary").unwrap();
    std::fs::create_dir_all(root.join("snaps")).unwrap();
    std::fs::write(tmp.path().join("keep.txt"), "canary").unwrap();
    let names = hostile_names();
    let src = root.join("src.sqlite");
    hostile_sqlite(&src, &names);
    let want = sqlite_tables(&src);
    assert_eq!(want.len(), names.len());
    for format in ["parquet", "csv"] {
        let snap = root.join("snaps").join(format);
        let url = format!("{format}://{}", snap.display());
        // Written, then replaced: the replace moves and deletes table directories.
        for extra in [&[][..], &["--if-exists", "replace"][..]] {
            ferry()
                .args(["copy", &sqlite_url(&src), &url, "-q"])
                .args(extra)
                .assert()
                .success();
        }
        assert_eq!(
            std::fs::read_to_string(root.join("x/keep.txt")).unwrap(),
            "canary"
        );
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("keep.txt")).unwrap(),
            "canary"
        );
        // Nothing beside the snapshots: every table is one directory inside its snapshot.
        let mut outside = tree(&root);
        outside.retain(|p| !p.starts_with("snaps/"));
        assert_eq!(
            outside,
            ["snaps", "src.sqlite", "x", "x/keep.txt"],
            "{format}"
        );
        let inside = tree(&snap);
        let dirs = inside
            .iter()
            .filter(|p| !p.contains('/') && *p != ".ferry-lock")
            .count();
        assert_eq!(
            dirs,
            names.len() + 1,
            "{format}: one directory a table, and the manifest: {inside:?}"
        );
        // Loaded back: the same names, columns and cells.
        let back = root.join(format!("back-{format}.sqlite"));
        ferry()
            .args(["copy", &url, &sqlite_url(&back), "-q"])
            .assert()
            .success();
        let mut got = sqlite_tables(&back);
        // Beside them, the record of the snapshot's load (README "Loading a snapshot twice").
        assert!(
            got.remove("_ferry_loads").is_some(),
            "{format}: the load is recorded"
        );
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{format}: table names"
        );
        for (name, (cols, rows)) in &want {
            let (gc, gr) = &got[name];
            assert_eq!(gc, cols, "{format}: {name:?}: columns");
            assert_eq!(gr, rows, "{format}: {name:?}: cells");
        }
        std::fs::remove_file(&back).unwrap();
    }
}

#[test]
fn a_manifest_listing_a_file_outside_its_snapshot_is_refused() {
    let tmp = TempDir::new().unwrap();
    let snap = tmp.path().join("snap");
    ferry()
        .args([
            "copy",
            crate::support::tpch().to_str().unwrap(),
            &format!("parquet://{}", snap.display()),
            "--table",
            "region",
            "-q",
        ])
        .assert()
        .success();
    let manifest = snap.join("_ferry_manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("\"region/part-00000.parquet\""), "{text}");
    std::fs::write(
        &manifest,
        text.replace(
            "\"region/part-00000.parquet\"",
            "\"../region/part-00000.parquet\"",
        ),
    )
    .unwrap();
    let e = stderr_of(
        &[
            "copy",
            &format!("parquet://{}", snap.display()),
            &sqlite_url(&tmp.path().join("t.sqlite")),
        ],
        6,
    );
    assert!(e.contains("outside the snapshot"), "{e}");
}

mod servers {
    use postgres::Client;

    use super::*;
    use crate::postgres::{fresh_schema, pg};

    /// The hostile names PostgreSQL and MariaDB take as table names (MariaDB refuses a name
    /// ending in a space; both have a length limit, tested on its own).
    fn server_names(max_chars: usize) -> Vec<String> {
        hostile_names()
            .into_iter()
            .filter(|n| !n.ends_with(' ') && n.chars().count() <= max_chars && n.len() <= 63)
            .collect()
    }

    fn pg_tables(c: &mut Client, schema: &str) -> Vec<String> {
        c.query(
            "SELECT relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND relkind = 'r' ORDER BY 1",
            &[&schema],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
    }

    #[test]
    fn postgres_takes_each_name_as_one_identifier_and_the_canary_survives() {
        let Some((url, mut c)) = pg() else { return };
        fresh_schema(&mut c, "it_names");
        fresh_schema(&mut c, "it_names_canary");
        c.batch_execute(
            "CREATE TABLE it_names_canary.t (v text); INSERT INTO it_names_canary.t VALUES ('alive');
             CREATE TABLE it_names.canary (v text); INSERT INTO it_names.canary VALUES ('alive');",
        )
        .unwrap();
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src.sqlite");
        let mut names = server_names(63);
        // Qualified-looking names of tables that exist in the target.
        names.push("it_names_canary.t".into());
        names.push("it_names.canary".into());
        hostile_sqlite(&src, &names);
        let target = format!("{url}?schema=it_names");
        for extra in [&[][..], &["--if-exists", "replace"][..]] {
            ferry()
                .args(["copy", &sqlite_url(&src), &target, "-q"])
                .args(extra)
                .assert()
                .success();
        }
        for canary in ["it_names_canary.t", "it_names.canary"] {
            let v: String = c
                .query_one(&format!("SELECT v FROM {canary}"), &[])
                .unwrap()
                .get(0);
            assert_eq!(v, "alive", "{canary}");
        }
        let mut want: Vec<String> = names.clone();
        want.push("canary".into());
        want.sort();
        assert_eq!(pg_tables(&mut c, "it_names"), want);
        // Back from PostgreSQL (every table of the schema, listed and read by ferry) into
        // SQLite: the same names and cells.
        let back = tmp.path().join("back.sqlite");
        ferry()
            .args(["copy", &target, &sqlite_url(&back), "-q"])
            .assert()
            .success();
        let (a, mut b) = (sqlite_tables(&src), sqlite_tables(&back));
        assert!(b.remove("canary").is_some());
        assert_eq!(a, b);
        // A name PostgreSQL would cut to 63 bytes is refused before anything is written.
        let long = "é".repeat(32);
        let db = tmp.path().join("long.sqlite");
        hostile_sqlite(&db, std::slice::from_ref(&long));
        let e = stderr_of(&["copy", &sqlite_url(&db), &target], 2);
        assert!(e.contains("longer than the 63 bytes"), "{e}");
        assert!(!pg_tables(&mut c, "it_names")
            .iter()
            .any(|t| t.starts_with("éé")));
        // A name given in another case gets a hint.
        let e = stderr_of(
            &["copy", &target, &sqlite_url(&db), "--table", "MIXEDCASE"],
            3,
        );
        assert!(e.contains("did you mean \"MixedCase\"?"), "{e}");
        // Quotes given on the command line name the table; they are not part of its name.
        let quoted = tmp.path().join("quoted.sqlite");
        ferry()
            .args(["copy", &target, &sqlite_url(&quoted), "-q"])
            .args(["--table", "\"MixedCase\"", "--table", "it_names.\"a\"\"b\""])
            .assert()
            .success();
        let got = sqlite_tables(&quoted);
        assert_eq!(got.keys().collect::<Vec<_>>(), ["MixedCase", "a\"b"]);
    }

    #[test]
    fn mariadb_takes_each_name_as_one_identifier_and_the_canary_survives() {
        use mysql::prelude::Queryable;
        let Some(base) = crate::support::server_url(
            "FERRY_TEST_MYSQL_URL",
            "mysql://ferry:ferry@127.0.0.1:3306/ferry_test",
        ) else {
            return;
        };
        let mut admin = mysql::Conn::new(base.as_str()).unwrap();
        for db in ["it_names", "it_names_other"] {
            admin
                .query_drop(format!("DROP DATABASE IF EXISTS `{db}`"))
                .unwrap();
            admin
                .query_drop(format!(
                    "CREATE DATABASE `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                ))
                .unwrap();
        }
        admin
            .query_drop(
                "CREATE TABLE it_names_other.canary (v text); \
                 INSERT INTO it_names_other.canary VALUES ('alive')",
            )
            .unwrap();
        let mut u = url::Url::parse(&base).unwrap();
        u.set_path("/it_names");
        let target = u.to_string();
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src.sqlite");
        let mut names = server_names(64);

        names.push("it_names_other.canary".into());
        hostile_sqlite(&src, &names);
        for extra in [&[][..], &["--if-exists", "replace"][..]] {
            ferry()
                .args(["copy", &sqlite_url(&src), &target, "-q"])
                .args(extra)
                .assert()
                .success();
        }
        let v: String = admin
            .query_first("SELECT v FROM it_names_other.canary")
            .unwrap()
            .unwrap();
        assert_eq!(v, "alive");
        let mut got: Vec<String> = admin
            .query(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'it_names'",
            )
            .unwrap();
        got.sort();
        let mut want = names.clone();
        want.sort();
        assert_eq!(got, want);
        let back = tmp.path().join("back.sqlite");
        ferry()
            .args(["copy", &target, &sqlite_url(&back), "-q"])
            .assert()
            .success();
        assert_eq!(sqlite_tables(&src), sqlite_tables(&back));
        let long = "l".repeat(65);
        let db = tmp.path().join("long.sqlite");
        hostile_sqlite(&db, std::slice::from_ref(&long));
        let e = stderr_of(&["copy", &sqlite_url(&db), &target], 2);
        assert!(e.contains("longer than the 64 characters"), "{e}");
    }
}

/// DuckDB and the ADBC SQLite and PostgreSQL drivers, as targets and as sources.
mod adbc {
    use super::*;
    use crate::adbc::{drivers, fx};
    use crate::relations::duck;

    fn copy(drv: &Path, from: &str, to: &str, extra: &[&str]) {
        fx(drv)
            .args(["copy", from, to, "-q"])
            .args(extra)
            .assert()
            .success();
    }

    /// Copies `src` to `target` three times (then replacing and truncating every table), then
    /// every table of `target` back into a new SQLite file, listed and read by ferry: the same
    /// names and cells as `src`, apart from the target's own tables `keep`.
    fn there_and_back(drv: &Path, src: &Path, target: &str, keep: &[&str]) {
        for extra in [
            &[][..],
            &["--if-exists", "replace"][..],
            &["--if-exists", "truncate"][..],
        ] {
            copy(drv, &sqlite_url(src), target, extra);
        }
        let back = src.with_file_name("back.sqlite");
        let _ = std::fs::remove_file(&back);
        copy(drv, target, &sqlite_url(&back), &[]);
        let (want, mut got) = (sqlite_tables(src), sqlite_tables(&back));
        for k in keep {
            assert!(got.remove(*k).is_some(), "{k} read back");
        }
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{target}: table names"
        );
        for (name, (cols, rows)) in &want {
            let (gc, gr) = &got[name];
            assert_eq!(gc, cols, "{target}: {name:?}: columns");
            assert_eq!(gr, rows, "{target}: {name:?}: cells");
        }
    }

    #[test]
    fn duckdb_takes_each_name_as_one_identifier_and_the_canary_survives() {
        let Some(drv) = drivers() else { return };
        let tmp = TempDir::new().unwrap();
        let file = tmp.path().join("names.duckdb");
        duck(
            &drv,
            &file,
            &[
                "CREATE SCHEMA public",
                "CREATE TABLE public.canary (v VARCHAR)",
                "INSERT INTO public.canary VALUES ('alive')",
                "CREATE TABLE main.canary (v VARCHAR)",
                "INSERT INTO main.canary VALUES ('alive')",
            ],
        );
        let mut names = hostile_names();
        names.push("main.canary".into());
        let src = tmp.path().join("src.sqlite");
        hostile_sqlite(&src, &names);
        let target = format!("duckdb://{}", file.display());
        there_and_back(&drv, &src, &target, &["canary"]);
        for canary in ["public.canary", "main.canary"] {
            assert_eq!(
                duck(&drv, &file, &[&format!("SELECT v FROM {canary}")]),
                [[Some("alive".to_string())]],
                "{canary}"
            );
        }
        // DuckDB's own catalog and cells: one table a name, in the main schema, holding the
        // rows written, under the column names given.
        let mut listed: Vec<String> = duck(
            &drv,
            &file,
            &["SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"],
        )
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
        listed.sort();
        let mut want = names.clone();
        want.push("canary".into());
        want.sort();
        assert_eq!(listed, want);
        for n in &names {
            let col = format!("{} col", n.chars().take(20).collect::<String>());
            let rows = duck(
                &drv,
                &file,
                &[&format!(
                    "SELECT CAST(id AS VARCHAR), {} FROM main.{} ORDER BY id",
                    quote(&col),
                    quote(n)
                )],
            );
            assert_eq!(
                rows,
                [
                    vec![Some("1".into()), Some(n.clone())],
                    vec![Some("2".into()), None]
                ],
                "{n:?}"
            );
        }
        // A schema named in the URL, itself hostile, is one identifier too.
        duck(
            &drv,
            &file,
            &[
                "CREATE SCHEMA \"a.b\"",
                "CREATE SCHEMA a",
                "CREATE TABLE a.b (v VARCHAR)",
            ],
        );
        let one = tmp.path().join("one.sqlite");
        hostile_sqlite(&one, &["x.old".to_string(), "b".to_string()]);
        copy(
            &drv,
            &sqlite_url(&one),
            &format!("{target}?schema=a.b"),
            &[],
        );
        let in_ab = duck(
            &drv,
            &file,
            &["SELECT table_name FROM information_schema.tables WHERE table_schema = 'a.b' ORDER BY 1"],
        );
        assert_eq!(
            in_ab,
            [[Some("b".to_string())], [Some("x.old".to_string())]]
        );
        assert!(duck(&drv, &file, &["SELECT * FROM a.b"]).is_empty());
        let back = tmp.path().join("ab.sqlite");
        copy(&drv, &target, &sqlite_url(&back), &["--schema", "a.b"]);
        assert_eq!(sqlite_tables(&back), sqlite_tables(&one));
    }

    #[test]
    fn adbc_sqlite_takes_each_name_as_one_identifier_and_the_canary_survives() {
        let Some(drv) = drivers() else { return };
        let tmp = TempDir::new().unwrap();
        let db = tmp.path().join("target.sqlite");
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch("CREATE TABLE canary (v TEXT); INSERT INTO canary VALUES ('alive');")
            .unwrap();
        let mut names = hostile_names();
        names.push("main.canary".into());
        let src = tmp.path().join("src.sqlite");
        hostile_sqlite(&src, &names);
        let target = format!("adbc://sqlite?uri={}", db.display());
        there_and_back(&drv, &src, &target, &["canary"]);
        let got = sqlite_tables(&db);
        assert_eq!(
            got["canary"].1,
            [vec![Cell::Text("alive".into())]],
            "the canary"
        );
        let want = sqlite_tables(&src);
        for (name, t) in &want {
            assert_eq!(&got[name], t, "{name:?}, read by rusqlite");
        }
        assert_eq!(got.len(), want.len() + 1);
    }

    #[test]
    fn adbc_postgres_takes_each_name_as_one_identifier_and_the_canary_survives() {
        use crate::postgres::{fresh_schema, pg};
        let Some(drv) = drivers() else { return };
        let Some((url, mut c)) = pg() else { return };
        fresh_schema(&mut c, "it_names_adbc");
        fresh_schema(&mut c, "it_names_adbc_canary");
        c.batch_execute(
            "CREATE TABLE it_names_adbc_canary.t (v text);
             INSERT INTO it_names_adbc_canary.t VALUES ('alive');
             CREATE TABLE it_names_adbc.canary (v text);
             INSERT INTO it_names_adbc.canary VALUES ('alive');",
        )
        .unwrap();
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src.sqlite");
        let mut names: Vec<String> = hostile_names()
            .into_iter()
            .filter(|n| n.len() <= 63)
            .collect();
        names.push("it_names_adbc_canary.t".into());
        names.push("it_names_adbc.canary".into());
        hostile_sqlite(&src, &names);
        let target = format!("adbc://postgresql?uri={url}&schema=it_names_adbc");
        there_and_back(&drv, &src, &target, &["canary"]);
        for canary in ["it_names_adbc_canary.t", "it_names_adbc.canary"] {
            let v: String = c
                .query_one(&format!("SELECT v FROM {canary}"), &[])
                .unwrap()
                .get(0);
            assert_eq!(v, "alive", "{canary}");
        }
        // PostgreSQL's own catalog and cells.
        let mut listed: Vec<String> = c
            .query(
                "SELECT relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'it_names_adbc' AND relkind = 'r'",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        listed.sort();
        let mut want = names.clone();
        want.push("canary".into());
        want.sort();
        assert_eq!(listed, want);
        for n in &names {
            let col = format!("{} col", n.chars().take(20).collect::<String>());
            let rows: Vec<(String, Option<String>)> = c
                .query(
                    &format!(
                        "SELECT id::text, {}::text FROM it_names_adbc.{} ORDER BY id",
                        quote(&col),
                        quote(n)
                    ),
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            assert_eq!(
                rows,
                [("1".into(), Some(n.clone())), ("2".into(), None)],
                "{n:?}"
            );
        }
        // Columns the driver cannot send in their declared type go through a side table and a
        // cast, under the same names.
        let cast = tmp.path().join("cast.sqlite");
        rusqlite::Connection::open(&cast)
            .unwrap()
            .execute_batch(
                "CREATE TABLE \"a\"\"b.c; x\" (\"d\"\"e.f\" DECIMAL(10,2), \"$1 %s\" TEXT);
                 INSERT INTO \"a\"\"b.c; x\" VALUES (12.5, 'v'), (NULL, NULL);",
            )
            .unwrap();
        for extra in [&[][..], &["--if-exists", "replace"][..]] {
            copy(&drv, &sqlite_url(&cast), &target, extra);
        }
        let rows: Vec<(Option<String>, Option<String>, String)> = c
            .query(
                "SELECT \"d\"\"e.f\"::text, \"$1 %s\", pg_typeof(\"d\"\"e.f\")::text
                 FROM it_names_adbc.\"a\"\"b.c; x\" ORDER BY 1",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        assert_eq!(
            rows,
            [
                (Some("12.50".into()), Some("v".into()), "numeric".into()),
                (None, None, "numeric".into())
            ]
        );
        // A name PostgreSQL would cut to 63 bytes is refused before anything is written.
        let long = "é".repeat(32);
        let db = tmp.path().join("long.sqlite");
        hostile_sqlite(&db, std::slice::from_ref(&long));
        let e = crate::adbc::error_of(&drv, &["copy", &sqlite_url(&db), &target], 2);
        assert!(e.contains("longer than the 63 bytes"), "{e}");
        let cut: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'it_names_adbc' AND relname LIKE 'éé%'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(cut, 0);
    }
}
