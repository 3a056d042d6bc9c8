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
