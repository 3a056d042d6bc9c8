//! Relations other than plain tables, and values at the edges of ferry's representations, against
//! the real servers: PostgreSQL partitioned tables (copied once, through the parent),
//! inheritance, stored generated columns, views, materialized views (one not populated) and
//! foreign tables; MariaDB views; PostgreSQL timestamps and dates at and around ferry's
//! ±infinity sentinels; MariaDB `tinyint(1)` holding any tinyint. Values are compared cell by
//! cell with the servers' own text output.

use mysql::prelude::Queryable;
use postgres::Client;
use tempfile::TempDir;

use crate::postgres::{fresh_schema, pg};
use crate::support::{ferry, server_url, stderr_of};

const MYSQL_DEFAULT_URL: &str = "mysql://ferry:ferry@127.0.0.1:3306/ferry_test";

/// Runs `ferry ARGS` and returns its stdout, asserting success.
fn run(args: &[&str]) -> String {
    let out = ferry()
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

/// `url` with `?schema=NAME`.
fn in_schema(url: &str, schema: &str) -> String {
    format!("{url}?schema={schema}")
}

/// Every cell of `schema.table` as PostgreSQL's `::text` prints it, rows sorted; `only`: the
/// table's own rows, without an inheritance child's.
fn pg_text(c: &mut Client, schema: &str, table: &str, only: bool) -> Vec<Vec<Option<String>>> {
    let qualified = format!("\"{schema}\".\"{table}\"");
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
    assert!(!cols.is_empty(), "{qualified} has columns");
    let select = cols
        .iter()
        .map(|n| format!("\"{n}\"::text"))
        .collect::<Vec<_>>()
        .join(", ");
    let only = if only { "ONLY " } else { "" };
    let mut rows: Vec<Vec<Option<String>>> = c
        .query(&format!("SELECT {select} FROM {only}{qualified}"), &[])
        .unwrap()
        .iter()
        .map(|r| (0..cols.len()).map(|i| r.get(i)).collect())
        .collect();
    rows.sort();
    rows
}

/// The ordinary tables of a schema (what a copy created there).
fn pg_tables(c: &mut Client, schema: &str) -> Vec<String> {
    c.query(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1",
        &[&schema],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// The table directories of a Parquet snapshot.
fn snapshot_tables(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const SRC: &str = "ferry_it_rel_src";

/// Every kind of relation PostgreSQL lists in `pg_class` with rows: an ordinary table with a
/// stored generated column, an inheritance parent and child, a partitioned table of two levels,
/// a view, materialized views (one not populated) and a foreign table (file_fdw, which needs a
/// superuser; `None` without).
fn create_relations(c: &mut Client) -> bool {
    fresh_schema(c, SRC);
    c.batch_execute(&format!(
        "CREATE TABLE {SRC}.t (id int PRIMARY KEY, a int, g int GENERATED ALWAYS AS (a * 2) STORED,
                               s text);
         INSERT INTO {SRC}.t (id, a, s) VALUES (1, 10, 'x'), (2, NULL, NULL), (3, -4, 'é');
         CREATE TABLE {SRC}.parent (id int, s text);
         CREATE TABLE {SRC}.child (extra int) INHERITS ({SRC}.parent);
         INSERT INTO {SRC}.parent VALUES (1, 'parent');
         INSERT INTO {SRC}.child VALUES (2, 'child', 20), (3, 'child', 30);
         CREATE TABLE {SRC}.p (id int, k text, v numeric(10,2)) PARTITION BY LIST (k);
         CREATE TABLE {SRC}.p_a PARTITION OF {SRC}.p FOR VALUES IN ('a');
         CREATE TABLE {SRC}.p_b PARTITION OF {SRC}.p FOR VALUES IN ('b') PARTITION BY RANGE (id);
         CREATE TABLE {SRC}.p_b1 PARTITION OF {SRC}.p_b FOR VALUES FROM (MINVALUE) TO (10);
         CREATE TABLE {SRC}.p_b2 PARTITION OF {SRC}.p_b FOR VALUES FROM (10) TO (MAXVALUE);
         INSERT INTO {SRC}.p VALUES (1, 'a', 1.50), (2, 'b', NULL), (3, 'b', -2.25), (11, 'b', 0),
                                    (12, 'a', 99999999.99);
         CREATE VIEW {SRC}.v AS SELECT id, a, g, s FROM {SRC}.t WHERE a IS NOT NULL;
         CREATE MATERIALIZED VIEW {SRC}.mv AS SELECT id, k, v FROM {SRC}.p WHERE k = 'b';
         CREATE MATERIALIZED VIEW {SRC}.mv_empty AS SELECT id FROM {SRC}.t WITH NO DATA;"
    ))
    .unwrap();
    let fdw = c.batch_execute(&format!(
        "CREATE EXTENSION IF NOT EXISTS file_fdw WITH SCHEMA {SRC};
         CREATE SERVER ferry_it_rel_files FOREIGN DATA WRAPPER file_fdw;
         CREATE FOREIGN TABLE {SRC}.ft (id int, s text) SERVER ferry_it_rel_files
             OPTIONS (program 'printf ''1,one\\n2,two\\n''', format 'csv');"
    ));
    if let Err(e) = &fdw {
        eprintln!("no foreign table (file_fdw): {e}");
    }
    fdw.is_ok()
}

#[test]
fn pg_default_run_copies_tables_once_and_names_views_as_not_copied() {
    let Some((url, mut c)) = pg() else {
        return;
    };
    let _ = c.batch_execute("DROP SERVER IF EXISTS ferry_it_rel_files CASCADE");
    let foreign = create_relations(&mut c);
    let dst = "ferry_it_rel_dst";
    fresh_schema(&mut c, dst);
    let (src_url, dst_url) = (in_schema(&url, SRC), in_schema(&url, dst));
    let dir = TempDir::new().unwrap();
    let report = dir.path().join("report.json");

    // A run of the whole schema: the tables (the partitioned one once, through its parent),
    // every other relation named as not copied.
    let out = run(&[
        "copy",
        &src_url,
        &dst_url,
        "--report",
        report.to_str().unwrap(),
    ]);
    let ft = if foreign {
        format!("{SRC}.ft (foreign table), ")
    } else {
        String::new()
    };
    let line = format!(
        "not copied: {ft}{SRC}.mv (materialized view), {SRC}.mv_empty (materialized view, not \
         populated), {SRC}.v (view); name one with --table to copy its rows"
    );
    assert!(out.lines().any(|l| l == line), "{out}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let mut want = Vec::new();
    if foreign {
        want.push(
            serde_json::json!({"name": format!("{SRC}.ft"), "kind": "foreign table", "note": null}),
        );
    }
    want.extend([
        serde_json::json!({"name": format!("{SRC}.mv"), "kind": "materialized view", "note": null}),
        serde_json::json!({"name": format!("{SRC}.mv_empty"), "kind": "materialized view", "note": "not populated"}),
        serde_json::json!({"name": format!("{SRC}.v"), "kind": "view", "note": null}),
    ]);
    assert_eq!(r["not_copied"], serde_json::Value::Array(want), "{r}");
    assert_eq!(r["status"], "ok");
    assert_eq!(pg_tables(&mut c, dst), ["child", "p", "parent", "t"]);
    let same = |c: &mut Client, table: &str, only: bool, into: &str| {
        let want = pg_text(c, SRC, table, only);
        assert!(!want.is_empty(), "{table} has rows");
        assert_eq!(pg_text(c, into, table, false), want, "{into}.{table}");
    };
    for (table, only) in [
        ("t", false),
        ("parent", true),
        ("child", false),
        ("p", false),
    ] {
        same(&mut c, table, only, dst);
    }
    // Every partition's rows, once each.
    assert_eq!(pg_text(&mut c, dst, "p", false).len(), 5);
    // The generated column arrives as a plain column holding its values.
    let generated: String = c
        .query_one(
            "SELECT attgenerated::text FROM pg_attribute
             WHERE attrelid = 'ferry_it_rel_dst.t'::regclass AND attname = 'g'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(generated, "");

    // Named, a view, a materialized view and a foreign table are copied as their rows.
    let mut named: Vec<&str> = vec!["copy", &src_url, &dst_url, "--table", "v", "--table", "mv"];
    if foreign {
        named.extend(["--table", "ft"]);
    }
    let out = run(&named);
    assert!(!out.contains("not copied"), "{out}");
    same(&mut c, "v", false, dst);
    same(&mut c, "mv", false, dst);
    if foreign {
        same(&mut c, "ft", false, dst);
    }

    // Not populated: one line naming it and the fix; nothing created.
    let err = stderr_of(&["copy", &src_url, &dst_url, "--table", "mv_empty"], 5);
    assert!(
        err.contains(&format!(
            "materialized view \"{SRC}\".\"mv_empty\" is not populated, so it has no rows to \
             read: run REFRESH MATERIALIZED VIEW \"{SRC}\".\"mv_empty\" first"
        )),
        "{err}"
    );
    assert!(!pg_tables(&mut c, dst).contains(&"mv_empty".to_string()));

    // inspect lists every relation, and says which are not copied and why.
    let text = run(&["inspect", &src_url]);
    assert!(
        text.contains(&format!(
            "\n{SRC}.mv_empty (materialized view, not populated; not copied unless named with \
             --table)\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("\n{SRC}.p (5 rows, 1 partition(s))\n")),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&run(&["inspect", &src_url, "--json"])).unwrap();
    let entry = |name: &str| {
        json.as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == format!("{SRC}.{name}"))
            .unwrap_or_else(|| panic!("{name} in {json}"))
            .clone()
    };
    assert_eq!(entry("t")["copied"], true);
    assert_eq!(entry("t")["columns"].as_array().unwrap().len(), 4);
    assert_eq!(entry("v")["kind"], "view");
    assert_eq!(entry("v")["copied"], false);
    assert_eq!(entry("v")["columns"].as_array().unwrap().len(), 4);
    assert_eq!(entry("mv_empty")["note"], "not populated");
    assert!(json.as_array().unwrap().iter().all(|t| !t["name"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{SRC}.p_"))));

    // Through Parquet, every ordinary table split into ctid ranges: an inheritance parent's
    // ranges hold its own rows, not its child's.
    let snap_dir = dir.path().join("snap");
    let snap = format!("parquet://{}", snap_dir.display());
    run(&["copy", &src_url, &snap, "--partitions", "3", "-q"]);
    assert_eq!(snapshot_tables(&snap_dir), ["child", "p", "parent", "t"]);
    let back = "ferry_it_rel_back";
    fresh_schema(&mut c, back);
    run(&["copy", &snap, &in_schema(&url, back), "-q"]);
    for (table, only) in [
        ("t", false),
        ("parent", true),
        ("child", false),
        ("p", false),
    ] {
        same(&mut c, table, only, back);
    }
}

/// The PostgreSQL edges of `timestamp`, `timestamptz` and `date` that ferry carries: ±infinity,
/// PostgreSQL's smallest values, the largest dates, the last timestamps before ferry's infinity
/// sentinel (`i64::MAX` microseconds since 1970), the epochs, NULL.
const EDGES: &str = "
    (1, '-infinity', '-infinity', '-infinity'),
    (2, 'infinity', 'infinity', 'infinity'),
    (3, '4714-11-24 00:00:00 BC', '4714-11-24 00:00:00+00 BC', '4714-11-24 BC'),
    (4, '294247-01-10 04:00:54.775806', '294247-01-10 04:00:54.775806+00', '5874897-12-31'),
    (5, '294247-01-10 04:00:54.775805', '294247-01-10 04:00:54.775805+00', '5874897-12-30'),
    (6, NULL, NULL, NULL),
    (7, '2000-01-01 00:00:00', '2000-01-01 00:00:00+00', '2000-01-01'),
    (8, '1970-01-01 00:00:00', '1970-01-01 00:00:00+00', '1970-01-01'),
    (9, '1969-12-31 23:59:59.999999', '1969-12-31 23:59:59.999999+00', '1969-12-31'),
    (10, '0001-01-01 00:00:00 BC', '0001-12-31 23:59:59.999999+00 BC', '0001-01-01 BC'),
    (11, '4714-11-24 00:00:00.000001 BC', '4714-11-24 00:00:00.000001+00 BC', '4714-11-25 BC')";

#[test]
fn pg_timestamps_at_the_sentinels_arrive_equal_or_fail_by_name() {
    let Some((url, mut c)) = pg() else {
        return;
    };
    let src = "ferry_it_rel_ts";
    let dst = "ferry_it_rel_ts_dst";
    let back = "ferry_it_rel_ts_back";
    for s in [src, dst, back] {
        fresh_schema(&mut c, s);
    }
    c.batch_execute(&format!(
        "CREATE TABLE {src}.edges (id int PRIMARY KEY, ts timestamp, tz timestamptz, d date);
         INSERT INTO {src}.edges VALUES {EDGES};"
    ))
    .unwrap();
    let want = pg_text(&mut c, src, "edges", false);
    assert_eq!(want.len(), 11);
    // The first values PostgreSQL has: one before is refused by the server itself.
    assert!(c
        .execute("SELECT '4714-11-23 23:59:59.999999 BC'::timestamp", &[])
        .is_err());
    assert!(c.execute("SELECT '4714-11-23 BC'::date", &[]).is_err());
    // PostgreSQL -> PostgreSQL, and through a Parquet snapshot.
    let src_url = in_schema(&url, src);
    run(&[
        "copy",
        &src_url,
        &in_schema(&url, dst),
        "--table",
        "edges",
        "-q",
    ]);
    assert_eq!(pg_text(&mut c, dst, "edges", false), want);
    let dir = TempDir::new().unwrap();
    let snap = format!("parquet://{}", dir.path().join("snap").display());
    run(&["copy", &src_url, &snap, "--table", "edges", "-q"]);
    run(&["copy", &snap, &in_schema(&url, back), "-q"]);
    assert_eq!(pg_text(&mut c, back, "edges", false), want);

    // A legal finite value on ferry's infinity, or past Arrow's range: refused, naming table,
    // column, row and value, to PostgreSQL and to Parquet alike; no target table is left.
    let cases = [
        ("collide_ts", "timestamp", "294247-01-10 04:00:54.775807"),
        (
            "collide_tz",
            "timestamptz",
            "294247-01-10 04:00:54.775807+00",
        ),
        ("beyond_ts", "timestamp", "294276-12-31 23:59:59.999999"),
        ("beyond_tz", "timestamptz", "294270-06-01 12:00:00.5+00"),
    ];
    for (table, ty, value) in cases {
        c.batch_execute(&format!(
            "CREATE TABLE {src}.{table} (id int, v {ty});
             INSERT INTO {src}.{table} VALUES (1, '2024-01-01'), (2, NULL), (3, '{value}'),
                                              (4, 'infinity');"
        ))
        .unwrap();
        let shown: String = c
            .query_one(
                &format!("SELECT v::text FROM {src}.{table} WHERE id = 3"),
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(shown, value, "PostgreSQL's text of the value");
        let declared = if ty == "timestamp" {
            "timestamp without time zone"
        } else {
            "timestamp with time zone"
        };
        let last = if ty == "timestamp" {
            "294247-01-10 04:00:54.775806"
        } else {
            "294247-01-10 04:00:54.775806+00"
        };
        let to_pg = in_schema(&url, dst);
        let to_parquet = format!("parquet://{}", dir.path().join(table).display());
        for target in [to_pg.as_str(), to_parquet.as_str()] {
            let err = stderr_of(&["copy", &src_url, target, "--table", table], 5);
            assert!(
                err.contains(&format!(
                    "{table}: column \"v\" ({declared}), row 3: timestamp {value} has no Arrow \
                     value of its own"
                )),
                "{err}"
            );
            assert!(
                err.contains(&format!("the last timestamp it carries is {last}")),
                "{err}"
            );
        }
        assert!(!pg_tables(&mut c, dst).contains(&table.to_string()));
        assert!(!dir.path().join(table).join(table).exists());
    }
}

/// A fresh MariaDB database owned by one test: its URL and a connection to it.
fn fresh_mysql(name: &str) -> Option<(String, mysql::Conn)> {
    let base = server_url("FERRY_TEST_MYSQL_URL", MYSQL_DEFAULT_URL)?;
    let mut admin = mysql::Conn::new(base.as_str()).expect("connect to the test server");
    admin
        .query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
        .unwrap();
    admin
        .query_drop(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        .unwrap();
    let mut u = url::Url::parse(&base).unwrap();
    u.set_path(&format!("/{name}"));
    let url = u.to_string();
    let conn = mysql::Conn::new(url.as_str()).unwrap();
    Some((url, conn))
}

/// Every cell of a MariaDB table as the server's text (`CAST(... AS CHAR)`), rows sorted.
fn my_text(c: &mut mysql::Conn, table: &str) -> Vec<Vec<Option<String>>> {
    let cols: Vec<String> = c
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (table,),
        )
        .unwrap();
    assert!(!cols.is_empty(), "{table} has columns");
    let select = cols
        .iter()
        .map(|n| format!("CAST(`{n}` AS CHAR)"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut rows: Vec<Vec<Option<String>>> = c
        .query::<mysql::Row, _>(format!("SELECT {select} FROM `{table}`"))
        .unwrap()
        .into_iter()
        .map(|r| {
            (0..cols.len())
                .map(|i| r.get::<Option<String>, _>(i).flatten())
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

/// The `COLUMN_TYPE` of a MariaDB column.
fn my_column_type(c: &mut mysql::Conn, table: &str, column: &str) -> String {
    c.exec_first(
        "SELECT COLUMN_TYPE FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?",
        (table, column),
    )
    .unwrap()
    .unwrap()
}

#[test]
fn mysql_views_are_not_copied_by_default_but_copied_when_named() {
    let Some((url, mut c)) = fresh_mysql("ferry_it_rel_views") else {
        return;
    };
    for stmt in [
        "CREATE TABLE base (id int PRIMARY KEY, a int, s varchar(10))",
        "INSERT INTO base VALUES (1, 10, 'x'), (2, NULL, NULL), (3, -4, 'é')",
        "CREATE VIEW vw AS SELECT id, a * 2 AS b, s FROM base WHERE id > 1",
    ] {
        c.query_drop(stmt).unwrap();
    }
    let dir = TempDir::new().unwrap();
    let snap_dir = dir.path().join("snap");
    let snap = format!("parquet://{}", snap_dir.display());
    let report = dir.path().join("report.json");
    let out = run(&["copy", &url, &snap, "--report", report.to_str().unwrap()]);
    assert!(
        out.lines()
            .any(|l| l == "not copied: vw (view); name one with --table to copy its rows"),
        "{out}"
    );
    assert_eq!(snapshot_tables(&snap_dir), ["base"]);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(
        r["not_copied"],
        serde_json::json!([{"name": "vw", "kind": "view", "note": null}])
    );
    // Named, the view is copied as its rows, into MariaDB and through Parquet.
    run(&[
        "copy",
        &url,
        &url,
        "--table",
        "vw",
        "--target-table",
        "vw_rows",
        "-q",
    ]);
    let want = my_text(&mut c, "vw");
    assert_eq!(want.len(), 2);
    assert_eq!(my_text(&mut c, "vw_rows"), want);
    let views = dir.path().join("views");
    let views_url = format!("parquet://{}", views.display());
    run(&["copy", &url, &views_url, "--table", "vw", "-q"]);
    run(&[
        "copy",
        &views_url,
        &url,
        "--table",
        "vw",
        "--target-table",
        "vw_back",
        "-q",
    ]);
    assert_eq!(my_text(&mut c, "vw_back"), want);
    let json: serde_json::Value = serde_json::from_str(&run(&["inspect", &url, "--json"])).unwrap();
    let kinds: Vec<(String, String, bool)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["kind"].as_str().unwrap().to_string(),
                t["copied"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds[..],
        [
            ("base".into(), "table".into(), true),
            ("vw_back".into(), "table".into(), true),
            ("vw_rows".into(), "table".into(), true),
            ("vw".into(), "view".into(), false),
            // The record of the snapshot load into vw_back: ferry's, never copied by default.
            ("_ferry_loads".into(), "ferry state".into(), false),
        ][..]
    );
}

#[test]
fn mariadb_tinyint1_is_an_integer_by_default_on_every_route() {
    let Some((url, mut c)) = fresh_mysql("ferry_it_rel_tinyint1") else {
        return;
    };
    c.query_drop("CREATE TABLE flags (id int PRIMARY KEY, f tinyint(1))")
        .unwrap();
    c.query_drop(
        "INSERT INTO flags VALUES (1, -128), (2, -1), (3, 0), (4, 1), (5, 2), (6, 127), (7, NULL)",
    )
    .unwrap();
    let want = my_text(&mut c, "flags");
    let f: Vec<Option<&str>> = want.iter().map(|r| r[1].as_deref()).collect();
    let mut values = f.clone();
    values.sort_by_key(|v| v.map(|s| s.parse::<i32>().unwrap()));
    assert_eq!(
        values,
        [
            None,
            Some("-128"),
            Some("-1"),
            Some("0"),
            Some("1"),
            Some("2"),
            Some("127")
        ]
    );
    // MariaDB -> MariaDB.
    run(&[
        "copy",
        &url,
        &url,
        "--table",
        "flags",
        "--target-table",
        "flags_copy",
        "-q",
    ]);
    assert_eq!(my_text(&mut c, "flags_copy"), want);
    assert_eq!(my_column_type(&mut c, "flags_copy", "f"), "tinyint(1)");
    // MariaDB -> Parquet -> MariaDB: Int8 in the snapshot, the declaration in its metadata.
    let dir = TempDir::new().unwrap();
    let snap = format!("parquet://{}", dir.path().join("snap").display());
    run(&["copy", &url, &snap, "--table", "flags", "-q"]);
    let json: serde_json::Value =
        serde_json::from_str(&run(&["inspect", &snap, "--json"])).unwrap();
    let column = &json[0]["columns"][1];
    assert_eq!(column["arrow_type"], "Int8", "{json}");
    assert_eq!(column["source_type"], "tinyint(1)", "{json}");
    run(&[
        "copy",
        &snap,
        &url,
        "--table",
        "flags",
        "--target-table",
        "flags_back",
        "-q",
    ]);
    assert_eq!(my_text(&mut c, "flags_back"), want);
    assert_eq!(my_column_type(&mut c, "flags_back", "f"), "tinyint(1)");
    // As a boolean only when asked, and then 0 and 1 only.
    let err = stderr_of(
        &[
            "copy",
            &format!("{url}?tinyint1=bool"),
            &snap,
            "--table",
            "flags",
            "--if-exists",
            "replace",
        ],
        5,
    );
    assert!(
        err.contains("column \"f\"") && err.contains("tinyint(1) value -128 is not a boolean"),
        "{err}"
    );
    assert!(err.contains("tinyint1=int (the default)"), "{err}");
}

/// A SQLite database holding every kind of relation `PRAGMA table_list` knows: a table with
/// VIRTUAL and STORED generated columns, a view, an FTS5 virtual table (and its shadow tables),
/// a virtual table whose module ferry's SQLite lacks, WITHOUT ROWID tables (one with a column
/// named `rowid`), tables whose columns take `rowid` (holding NULLs) and every name of the
/// rowid, and SQLite's own `sqlite_sequence` and `sqlite_stat1`.
fn sqlite_relations(path: &std::path::Path) {
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a INT,
                         g INT GENERATED ALWAYS AS (a * 2) VIRTUAL, s TEXT,
                         h TEXT GENERATED ALWAYS AS (coalesce(s, '-') || '!') STORED NOT NULL);
         INSERT INTO t (id, a, s) VALUES (1, 10, 'x'), (2, NULL, NULL), (3, -4, 'é');
         CREATE VIEW v AS SELECT id, a, g, h, a + 0.5 AS r FROM t WHERE a IS NOT NULL;
         CREATE VIRTUAL TABLE docs USING fts5(title, body);
         INSERT INTO docs VALUES ('one', 'hello world'), ('two', NULL);
         CREATE TABLE wr (k TEXT PRIMARY KEY, v INT) WITHOUT ROWID;
         INSERT INTO wr VALUES ('b', 2), ('a', 1), ('c', NULL);
         CREATE TABLE wr_rowid (rowid TEXT PRIMARY KEY, v INT) WITHOUT ROWID;
         INSERT INTO wr_rowid VALUES ('x', 1), ('10', 2), ('-', 3);
         CREATE TABLE rowid_col (rowid INT, v TEXT);
         INSERT INTO rowid_col VALUES (NULL, 'null'), (100, 'hundred'), (3, 'three'),
                                      (-5, 'minus'), (NULL, 'null again'), (7, 'seven');
         CREATE TABLE every_name (ROWID INT, _rowid_ INT, Oid INT, v TEXT);
         INSERT INTO every_name VALUES (NULL, NULL, NULL, 'a'), (9, 9, 9, 'b'), (1, 2, 3, 'c'),
                                       (NULL, 5, NULL, 'd'), (4, 4, 4, 'e');
         CREATE TABLE ai (id INTEGER PRIMARY KEY AUTOINCREMENT, v INT);
         INSERT INTO ai (v) VALUES (1), (2);
         CREATE INDEX t_a ON t (a);
         ANALYZE;
         PRAGMA writable_schema = ON;
         INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql)
             VALUES ('table', 'z', 'z', 0, 'CREATE VIRTUAL TABLE z USING no_such_module(a)');
         PRAGMA writable_schema = OFF;",
    )
    .unwrap();
}

/// The user tables of a SQLite database (not `sqlite_` ones), in name order.
fn sqlite_user_tables(path: &std::path::Path) -> Vec<String> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut stmt = c
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'
             ORDER BY name",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// `PRAGMA table_xinfo`'s `hidden` of each column of a SQLite table: 0 for a plain column,
/// 2 and 3 for VIRTUAL and STORED generated ones.
fn sqlite_hidden(path: &std::path::Path, table: &str) -> Vec<(String, i64)> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut stmt = c
        .prepare(&format!("PRAGMA table_xinfo(\"{table}\")"))
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(1)?, r.get(6)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

const SQLITE_TABLES: [&str; 6] = ["ai", "every_name", "rowid_col", "t", "wr", "wr_rowid"];

#[test]
fn sqlite_default_run_copies_base_tables_and_names_views_and_virtual_tables() {
    use crate::support::{assert_same_table, dump, sqlite_url};
    let dir = TempDir::new().unwrap();
    let src = dir.path().join("src.sqlite");
    sqlite_relations(&src);
    assert_eq!(
        sqlite_hidden(&src, "t")
            .iter()
            .map(|c| c.1)
            .collect::<Vec<_>>(),
        [0, 0, 2, 0, 3]
    );
    // Small partitions, so every table that has a rowid is read in several ranges.
    let src_url = format!("{}?partition_rows=2", sqlite_url(&src));
    let dst = dir.path().join("dst.sqlite");
    let report = dir.path().join("report.json");
    let line = "not copied: v (view), docs (virtual table), z (virtual table); name one with \
                --table to copy its rows";
    let dry = run(&["copy", &src_url, &sqlite_url(&dst), "--dry-run"]);
    assert!(dry.lines().any(|l| l == line), "{dry}");
    // The table with a column `rowid` is split on `_rowid_`; the one whose columns take every
    // name of the rowid, and the WITHOUT ROWID ones, are read whole.
    for (table, partitions) in [
        ("rowid_col", 3),
        ("every_name", 1),
        ("wr", 1),
        ("wr_rowid", 1),
        ("t", 2),
    ] {
        assert!(
            dry.contains(&format!(
                "table \"{table}\" -> \"{table}\": {} rows, {partitions} partition(s)",
                dump(&src, table).len()
            )),
            "{table}: {dry}"
        );
    }
    let out = run(&[
        "copy",
        &src_url,
        &sqlite_url(&dst),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(out.lines().any(|l| l == line), "{out}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(
        r["not_copied"],
        serde_json::json!([
            {"name": "v", "kind": "view", "note": null},
            {"name": "docs", "kind": "virtual table", "note": null},
            {"name": "z", "kind": "virtual table", "note": null},
        ])
    );
    // The base tables, every row of each: no shadow table, no sqlite_ table.
    assert_eq!(sqlite_user_tables(&dst), SQLITE_TABLES);
    for table in SQLITE_TABLES {
        assert_eq!(dump(&dst, table), dump(&src, table), "{table}");
        if table != "t" {
            // `table_info` leaves out generated columns: `t` is checked below.
            assert_same_table(&src, &dst, table);
        }
    }
    assert_eq!(dump(&dst, "rowid_col").len(), 6);
    assert_eq!(dump(&dst, "every_name").len(), 5);
    // The generated columns arrive as plain columns holding their values.
    assert_eq!(
        sqlite_hidden(&dst, "t"),
        [
            ("id".to_string(), 0),
            ("a".to_string(), 0),
            ("g".to_string(), 0),
            ("s".to_string(), 0),
            ("h".to_string(), 0)
        ]
    );
    let t = dump(&dst, "t");
    use crate::support::Cell::{Integer, Null, Text};
    assert_eq!(
        t,
        [
            vec![
                Integer(1),
                Integer(10),
                Integer(20),
                Text("x".into()),
                Text("x!".into())
            ],
            vec![Integer(2), Null, Null, Null, Text("-!".into())],
            vec![
                Integer(3),
                Integer(-4),
                Integer(-8),
                Text("é".into()),
                Text("é!".into())
            ],
        ]
    );

    // Named, the view and the FTS5 table are copied as their rows (FTS5's hidden columns are
    // not among them); a virtual table whose module is missing fails naming it.
    run(&[
        "copy",
        &src_url,
        &sqlite_url(&dst),
        "--table",
        "v",
        "--table",
        "docs",
        "-q",
    ]);
    assert_eq!(dump(&dst, "v"), dump(&src, "v"));
    assert_eq!(dump(&dst, "v").len(), 2);
    assert_eq!(dump(&dst, "docs"), dump(&src, "docs"));
    let cols: Vec<String> = crate::support::columns(&dst, "docs")
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(cols, ["title", "body"]);
    let err = stderr_of(&["copy", &src_url, &sqlite_url(&dst), "--table", "z"], 9);
    assert!(
        err.contains(
            "virtual table \"z\" cannot be read: its module is not built into ferry's SQLite"
        ) && err.contains("no such module: no_such_module"),
        "{err}"
    );
    // SQLite's own tables and a shadow table can be named too.
    run(&[
        "copy",
        &src_url,
        &sqlite_url(&dst),
        "--table",
        "sqlite_stat1",
        "--target-table",
        "stat",
        "-q",
    ]);
    assert_eq!(dump(&dst, "stat"), dump(&src, "sqlite_stat1"));

    // inspect lists them, and says which are not copied.
    let json: serde_json::Value =
        serde_json::from_str(&run(&["inspect", &src_url, "--json"])).unwrap();
    let listed: Vec<(String, String, bool, usize)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["kind"].as_str().unwrap().to_string(),
                t["copied"].as_bool().unwrap(),
                t["columns"].as_array().unwrap().len(),
            )
        })
        .collect();
    let want: Vec<(String, String, bool, usize)> = [
        ("t", "table", true, 5),
        ("wr", "table", true, 2),
        ("wr_rowid", "table", true, 2),
        ("rowid_col", "table", true, 2),
        ("every_name", "table", true, 4),
        ("ai", "table", true, 2),
        ("v", "view", false, 5),
        ("docs", "virtual table", false, 2),
        ("z", "virtual table", false, 0),
    ]
    .iter()
    .map(|(n, k, c, l)| (n.to_string(), k.to_string(), *c, *l))
    .collect();
    assert_eq!(listed, want);
    let z = &json.as_array().unwrap()[8];
    assert!(
        z["note"].as_str().unwrap().contains("no such module"),
        "{z}"
    );

    // Through a Parquet snapshot and back, every range of every table.
    let snap_dir = dir.path().join("snap");
    let snap = format!("parquet://{}", snap_dir.display());
    run(&["copy", &src_url, &snap, "-q"]);
    assert_eq!(snapshot_tables(&snap_dir), SQLITE_TABLES);
    let back = dir.path().join("back.sqlite");
    run(&["copy", &snap, &sqlite_url(&back), "-q"]);
    for table in SQLITE_TABLES {
        assert_eq!(dump(&back, table), dump(&src, table), "{table}");
    }
}

/// Runs statements in a DuckDB file through the DuckDB library itself (not through ferry) and
/// returns the last one's rows, every value as DuckDB's own text (`CAST(... AS VARCHAR)`).
pub(crate) fn duck(
    drv: &std::path::Path,
    file: &std::path::Path,
    sql: &[&str],
) -> Vec<Vec<Option<String>>> {
    use adbc_core::options::{AdbcVersion, OptionDatabase, OptionValue};
    use adbc_core::{Connection, Database, Driver, Statement};
    use arrow::array::{Array, AsArray};
    let mut driver = adbc_driver_manager::ManagedDriver::load_dynamic_from_filename(
        drv.join("libduckdb.so"),
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
    let mut rows = Vec::new();
    for q in sql {
        let mut stmt = conn.new_statement().unwrap();
        stmt.set_sql_query(*q).unwrap();
        rows.clear();
        for batch in stmt.execute().unwrap_or_else(|e| panic!("{q}: {e:?}")) {
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
    }
    rows
}

/// Every row of a SQLite table as text (`CAST(... AS TEXT)`), sorted.
fn sqlite_text(path: &std::path::Path, table: &str) -> Vec<Vec<Option<String>>> {
    let c = rusqlite::Connection::open(path).unwrap();
    let cols: Vec<String> = crate::support::columns(path, table)
        .into_iter()
        .map(|c| c.0)
        .collect();
    let select = cols
        .iter()
        .map(|c| format!("CAST(\"{c}\" AS TEXT)"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = c
        .prepare(&format!(
            "SELECT {select} FROM \"{}\"",
            table.replace('"', "\"\"")
        ))
        .unwrap();
    let mut rows: Vec<Vec<Option<String>>> = stmt
        .query_map([], |r| (0..cols.len()).map(|i| r.get(i)).collect())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.sort();
    rows
}

#[test]
fn adbc_sqlite_driver_copies_base_tables_and_names_views_and_virtual_tables() {
    use crate::support::{dump, sqlite_url};
    let Some(drv) = crate::adbc::drivers() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let src = dir.path().join("src.sqlite");
    sqlite_relations(&src);
    // ferry's own load records are its state, listed as such and never copied.
    rusqlite::Connection::open(&src)
        .unwrap()
        .execute_batch("CREATE TABLE _ferry_loads (a INTEGER); INSERT INTO _ferry_loads VALUES (1)")
        .unwrap();
    let adbc = format!("adbc://sqlite?uri={}", src.display());
    let dst = dir.path().join("dst.sqlite");
    let report = dir.path().join("report.json");
    let out = crate::adbc::fx(&drv)
        .args(["copy", &adbc, &sqlite_url(&dst), "--report"])
        .arg(&report)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.lines()
            .any(|l| l.starts_with("not copied: _ferry_loads (ferry state")
                && l.ends_with(
                    "docs (virtual table), v (view), z (virtual table); name one with --table to \
                 copy its rows"
                )),
        "{out}"
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["not_copied"].as_array().unwrap().len(), 4, "{r}");
    assert_eq!(r["not_copied"][0]["name"], "_ferry_loads", "{r}");
    assert_eq!(r["not_copied"][0]["kind"], "ferry state", "{r}");
    // The base tables: no FTS5 shadow table, no sqlite_ table; generated columns as values.
    assert_eq!(sqlite_user_tables(&dst), SQLITE_TABLES);
    for table in SQLITE_TABLES {
        assert_eq!(
            sqlite_text(&dst, table).len(),
            dump(&src, table).len(),
            "{table}"
        );
    }
    assert_eq!(
        sqlite_text(&dst, "t"),
        [
            ["1", "10", "20", "x", "x!"]
                .map(|s| Some(s.to_string()))
                .to_vec(),
            vec![Some("2".into()), None, None, None, Some("-!".into())],
            ["3", "-4", "-8", "é", "é!"]
                .map(|s| Some(s.to_string()))
                .to_vec(),
        ]
    );
    // Named, the view and the FTS5 table are read as their rows, text columns as text.
    crate::adbc::run(
        &drv,
        &[
            "copy",
            &adbc,
            &sqlite_url(&dst),
            "--table",
            "v",
            "--table",
            "docs",
        ],
    );
    assert_eq!(dump(&dst, "docs"), dump(&src, "docs"));
    assert_eq!(
        sqlite_text(&dst, "v"),
        [
            ["1", "10", "20", "x!", "10.5"]
                .map(|s| Some(s.to_string()))
                .to_vec(),
            ["3", "-4", "-8", "é!", "-3.5"]
                .map(|s| Some(s.to_string()))
                .to_vec(),
        ]
    );
    let listed = {
        let mut cmd = crate::adbc::fx(&drv);
        let out = cmd.args(["inspect", &adbc, "--json"]).assert().success();
        let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        json.as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["name"].as_str().unwrap().to_string(),
                    t["copied"].as_bool().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        listed,
        [
            ("ai", true),
            ("every_name", true),
            ("rowid_col", true),
            ("t", true),
            ("wr", true),
            ("wr_rowid", true),
            ("_ferry_loads", false),
            ("docs", false),
            ("v", false),
            ("z", false),
        ]
        .map(|(n, c)| (n.to_string(), c))
    );
}

#[test]
fn duckdb_copies_base_tables_and_names_views_as_not_copied() {
    use crate::support::sqlite_url;
    let Some(drv) = crate::adbc::drivers() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("rel.duckdb");
    duck(
        &drv,
        &file,
        &[
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, s VARCHAR,
                             g INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL)",
            "INSERT INTO t (id, a, s) VALUES (1, 10, 'x'), (2, NULL, NULL), (3, -4, 'é')",
            "CREATE VIEW v AS SELECT id, g, s FROM t WHERE a IS NOT NULL",
            "CREATE TABLE \"x.y\" (id INTEGER)",
            "INSERT INTO \"x.y\" VALUES (42)",
            "CREATE VIEW \"v.w\" AS SELECT 1 AS one",
            "CREATE SCHEMA other",
            "CREATE TABLE other.t2 (id INTEGER)",
            "INSERT INTO other.t2 VALUES (7)",
            "CREATE VIEW other.v2 AS SELECT id FROM other.t2",
            "CREATE SEQUENCE seq",
        ],
    );
    let url = format!("duckdb://{}", file.display());
    let dst = dir.path().join("dst.sqlite");
    let report = dir.path().join("report.json");
    let out = crate::adbc::fx(&drv)
        .args(["copy", &url, &sqlite_url(&dst), "--report"])
        .arg(&report)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.lines()
            .any(|l| l
                == "not copied: v (view), \"v.w\" (view); name one with --table to copy its rows"),
        "{out}"
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(
        r["not_copied"],
        serde_json::json!([
            {"name": "v", "kind": "view", "note": null},
            {"name": "\"v.w\"", "kind": "view", "note": null},
        ])
    );
    assert_eq!(sqlite_user_tables(&dst), ["t", "x.y"]);
    let text = |rows: &[&[Option<&str>]]| -> Vec<Vec<Option<String>>> {
        rows.iter()
            .map(|r| r.iter().map(|c| c.map(str::to_string)).collect())
            .collect()
    };
    assert_eq!(
        sqlite_text(&dst, "t"),
        text(&[
            &[Some("1"), Some("10"), Some("x"), Some("20")],
            &[Some("2"), None, None, None],
            &[Some("3"), Some("-4"), Some("é"), Some("-8")],
        ])
    );
    assert_eq!(sqlite_text(&dst, "x.y"), text(&[&[Some("42")]]));
    // Named, a view is copied as its rows; a name with a dot is one name, quoted.
    crate::adbc::run(
        &drv,
        &[
            "copy",
            &url,
            &sqlite_url(&dst),
            "--table",
            "v",
            "--table",
            "\"v.w\"",
        ],
    );
    assert_eq!(
        sqlite_text(&dst, "v"),
        text(&[
            &[Some("1"), Some("20"), Some("x")],
            &[Some("3"), Some("-8"), Some("é")],
        ])
    );
    assert_eq!(sqlite_text(&dst, "v.w"), text(&[&[Some("1")]]));
    // Another schema: its tables, its views not copied.
    let other = dir.path().join("other.sqlite");
    let out = crate::adbc::fx(&drv)
        .args(["copy", &url, &sqlite_url(&other), "--schema", "other"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.lines()
            .any(|l| l == "not copied: v2 (view); name one with --table to copy its rows"),
        "{out}"
    );
    assert_eq!(sqlite_user_tables(&other), ["t2"]);
    assert_eq!(sqlite_text(&other, "t2"), text(&[&[Some("7")]]));
    // inspect says the same.
    let mut cmd = crate::adbc::fx(&drv);
    let json: serde_json::Value = serde_json::from_slice(
        &cmd.args(["inspect", &url, "--json"])
            .assert()
            .success()
            .get_output()
            .stdout,
    )
    .unwrap();
    let listed: Vec<(String, String, bool)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["kind"].as_str().unwrap().to_string(),
                t["copied"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("t", "table", true),
            ("\"x.y\"", "table", true),
            ("v", "view", false),
            ("\"v.w\"", "view", false),
        ]
        .map(|(n, k, c)| (n.to_string(), k.to_string(), c))
    );
}

#[test]
fn adbc_postgres_driver_copies_tables_once_and_names_views_as_not_copied() {
    use crate::support::sqlite_url;
    let Some(drv) = crate::adbc::drivers() else {
        return;
    };
    let Some((url, mut c)) = pg() else {
        return;
    };
    let s = "ferry_it_rel_adbc";
    fresh_schema(&mut c, s);
    c.batch_execute(&format!(
        "CREATE TABLE {s}.t (id int PRIMARY KEY, a int, g int GENERATED ALWAYS AS (a * 2) STORED,
                             s text);
         INSERT INTO {s}.t (id, a, s) VALUES (1, 10, 'x'), (2, NULL, NULL), (3, -4, 'é');
         CREATE TABLE {s}.parent (id int, s text);
         CREATE TABLE {s}.child (extra int) INHERITS ({s}.parent);
         INSERT INTO {s}.parent VALUES (1, 'parent');
         INSERT INTO {s}.child VALUES (2, 'child', 20), (3, 'child', 30);
         CREATE TABLE {s}.p (id int, k text, v int) PARTITION BY LIST (k);
         CREATE TABLE {s}.p_a PARTITION OF {s}.p FOR VALUES IN ('a');
         CREATE TABLE {s}.p_b PARTITION OF {s}.p FOR VALUES IN ('b') PARTITION BY RANGE (id);
         CREATE TABLE {s}.p_b1 PARTITION OF {s}.p_b FOR VALUES FROM (MINVALUE) TO (10);
         CREATE TABLE {s}.p_b2 PARTITION OF {s}.p_b FOR VALUES FROM (10) TO (MAXVALUE);
         INSERT INTO {s}.p VALUES (1, 'a', 15), (2, 'b', NULL), (3, 'b', -225), (11, 'b', 0);
         CREATE TABLE {s}.\"x.y\" (id int);
         INSERT INTO {s}.\"x.y\" VALUES (42);
         CREATE VIEW {s}.v AS SELECT id, a, g, s FROM {s}.t WHERE a IS NOT NULL;
         CREATE MATERIALIZED VIEW {s}.mv AS SELECT id, k, v FROM {s}.p WHERE k = 'b';
         CREATE MATERIALIZED VIEW {s}.mv_empty AS SELECT id FROM {s}.t WITH NO DATA;"
    ))
    .unwrap();
    let adbc = format!("adbc://postgresql?uri={url}&schema={s}");
    let dir = TempDir::new().unwrap();
    let dst = dir.path().join("dst.sqlite");
    let out = crate::adbc::fx(&drv)
        .args(["copy", &adbc, &sqlite_url(&dst)])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.lines().any(|l| l
            == "not copied: mv (materialized view), mv_empty (materialized view, not \
                populated), v (view); name one with --table to copy its rows"),
        "{out}"
    );
    // Each partition's rows once, through the parent; the inheritance parent's own rows.
    assert_eq!(
        sqlite_user_tables(&dst),
        ["child", "p", "parent", "t", "x.y"]
    );
    let pg_rows = |c: &mut Client, table: &str, only: bool| pg_text(c, s, table, only);
    for (table, only) in [
        ("t", false),
        ("parent", true),
        ("child", false),
        ("p", false),
    ] {
        assert_eq!(
            sqlite_text(&dst, table),
            pg_rows(&mut c, table, only),
            "{table}"
        );
    }
    assert_eq!(sqlite_text(&dst, "p").len(), 4);
    assert_eq!(sqlite_text(&dst, "parent").len(), 1);
    // Named: the view and the materialized view as their rows; one not populated fails.
    crate::adbc::run(
        &drv,
        &[
            "copy",
            &adbc,
            &sqlite_url(&dst),
            "--table",
            "v",
            "--table",
            "mv",
        ],
    );
    assert_eq!(sqlite_text(&dst, "v"), pg_rows(&mut c, "v", false));
    assert_eq!(sqlite_text(&dst, "mv"), pg_rows(&mut c, "mv", false));
    let e = crate::adbc::error_of(
        &drv,
        &["copy", &adbc, &sqlite_url(&dst), "--table", "mv_empty"],
        5,
    );
    assert!(
        e.contains(&format!(
            "materialized view \"{s}\".\"mv_empty\" is not populated, so it has no rows to \
             read: run REFRESH MATERIALIZED VIEW \"{s}\".\"mv_empty\" first"
        )),
        "{e}"
    );
    // --schema names the same schema as the URL's schema=.
    let other = dir.path().join("other.sqlite");
    crate::adbc::run(
        &drv,
        &[
            "copy",
            &format!("adbc://postgresql?uri={url}"),
            &sqlite_url(&other),
            "--schema",
            s,
        ],
    );
    assert_eq!(
        sqlite_user_tables(&other),
        ["child", "p", "parent", "t", "x.y"]
    );
}
