//! Secondary indexes of database sources, built in new target tables after the load: unique
//! (constraints too) and not, multi-column, with each column's order; PostgreSQL expression,
//! partial, INCLUDE and GIN indexes verbatim into PostgreSQL, and MySQL prefix and FULLTEXT
//! indexes into MySQL; through a Parquet snapshot too. Every index is checked in the target's
//! own catalog and by its behaviour (a duplicate key refused); what a target cannot build is
//! named in the run's warnings; `--no-indexes`, `append` and a dropped column leave them out.

use mysql::prelude::Queryable;

use crate::support::copy_warnings;

/// A PostgreSQL table with one index of each kind, and rows.
fn pg_source(c: &mut postgres::Client, schema: &str) {
    crate::postgres::fresh_schema(c, schema);
    c.batch_execute(&format!(
        "SET search_path = {schema};
         CREATE TABLE item (id int8 PRIMARY KEY, email text, grp int4, rank int4,
             label text COLLATE \"C\", doc jsonb, \"Odd \"\"name\" int4,
             UNIQUE (grp, rank));
         CREATE UNIQUE INDEX item_email_idx ON item (email);
         CREATE INDEX item_grp_desc ON item (grp DESC, label);
         CREATE INDEX \"Item odd\" ON item (\"Odd \"\"name\");
         CREATE INDEX item_lower ON item (lower(email) DESC NULLS LAST) WHERE grp > 0;
         CREATE INDEX item_cover ON item (label text_pattern_ops) INCLUDE (rank);
         CREATE INDEX item_doc ON item USING gin (doc jsonb_path_ops);
         INSERT INTO item SELECT g, 'u' || g || '@x.org', g % 7, g / 7, 'l' || g,
             jsonb_build_object('g', g), g FROM generate_series(1, 500) g;
         RESET search_path;"
    ))
    .unwrap();
}

/// Each index of `schema`.`table` as PostgreSQL defines it, the schema name taken out.
fn pg_indexes(c: &mut postgres::Client, schema: &str, table: &str) -> Vec<String> {
    c.query(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY 1",
        &[&schema, &table],
    )
    .unwrap()
    .iter()
    .map(|r| r.get::<_, String>(0).replace(&format!(" {schema}."), " S."))
    .collect()
}

/// The unique constraints of `schema`.`table`: name and definition.
fn pg_uniques(c: &mut postgres::Client, schema: &str, table: &str) -> Vec<String> {
    c.query(
        "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
         WHERE contype = 'u' AND conrelid = to_regclass($1) ORDER BY 1",
        &[&format!("{schema}.{table}")],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[test]
fn postgres_indexes_reach_postgres_verbatim() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    pg_source(&mut c, "it_ix_src");
    crate::postgres::fresh_schema(&mut c, "it_ix_pg");
    let (from, to) = (
        format!("{url}?schema=it_ix_src"),
        format!("{url}?schema=it_ix_pg"),
    );
    let source = pg_indexes(&mut c, "it_ix_src", "item");
    assert_eq!(source.len(), 8, "{source:?}");
    copy_warnings(&from, &to, &[]);
    assert_eq!(pg_indexes(&mut c, "it_ix_pg", "item"), source);
    assert_eq!(
        pg_uniques(&mut c, "it_ix_pg", "item"),
        ["item_grp_rank_key UNIQUE (grp, rank)"]
    );
    // Replacing the table keeps every index, under the same names.
    copy_warnings(&from, &to, &["--if-exists", "replace"]);
    assert_eq!(pg_indexes(&mut c, "it_ix_pg", "item"), source);
    // Loaded in one piece (not chunked) from three partitions: the same indexes.
    copy_warnings(
        &from,
        &to,
        &["--if-exists", "replace", "--partitions", "3", "--no-chunks"],
    );
    assert_eq!(pg_indexes(&mut c, "it_ix_pg", "item"), source);
    // The unique indexes hold.
    assert!(c
        .batch_execute("INSERT INTO it_ix_pg.item (id, email) VALUES (9001, 'u1@x.org')")
        .is_err());
    assert!(c
        .batch_execute("INSERT INTO it_ix_pg.item (id, grp, rank) VALUES (9002, 1, 0)")
        .is_err());
    c.batch_execute(
        "INSERT INTO it_ix_pg.item (id, email, grp, rank) VALUES (9003, 'new@x.org', 1, 99)",
    )
    .unwrap();
    // --no-indexes: the primary key alone.
    copy_warnings(&from, &to, &["--if-exists", "replace", "--no-indexes"]);
    assert_eq!(
        pg_indexes(&mut c, "it_ix_pg", "item"),
        ["CREATE UNIQUE INDEX item_pkey ON S.item USING btree (id)"]
    );
    // `truncate` never changes an existing table's indexes.
    copy_warnings(
        &format!("{url}?schema=it_ix_src"),
        &to,
        &["--if-exists", "truncate"],
    );
    assert_eq!(pg_indexes(&mut c, "it_ix_pg", "item").len(), 1);
}

#[test]
fn postgres_indexes_are_shown_by_dry_run_and_left_out_with_a_dropped_column() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    pg_source(&mut c, "it_ix_dry");
    crate::postgres::fresh_schema(&mut c, "it_ix_dry_to");
    let from = format!("{url}?schema=it_ix_dry");
    let to = format!("{url}?schema=it_ix_dry_to");
    let out = crate::support::ferry()
        .args(["copy", &from, &to, "--dry-run"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for statement in [
        "CREATE UNIQUE INDEX \"item_email_idx\" ON \"it_ix_dry_to\".\"item\" USING btree (email);",
        "CREATE INDEX \"item_grp_desc\" ON \"it_ix_dry_to\".\"item\" USING btree (grp DESC, label);",
        "CREATE INDEX \"item_doc\" ON \"it_ix_dry_to\".\"item\" USING gin (doc jsonb_path_ops);",
        "USING btree (lower(email) DESC NULLS LAST) WHERE (grp > 0);",
    ] {
        assert!(text.contains(statement), "{statement} in {text}");
    }
    // Without the column `label`, its two indexes cannot be built: named, the others built.
    let err = copy_warnings(&from, &to, &["--transform", "drop(label)"]);
    for name in ["item_grp_desc", "item_cover"] {
        assert!(
            err.contains("left out: its column label is not in the target") && err.contains(name),
            "{name}: {err}"
        );
    }
    assert_eq!(pg_indexes(&mut c, "it_ix_dry_to", "item").len(), 6);
}

#[test]
fn postgres_indexes_reach_mariadb_where_portable() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    let Some((my_url, mut my)) = crate::mysql::fresh_db("it_ix_my") else {
        return;
    };
    // MariaDB keys on text need a prefix: the source's key columns are varchar here.
    crate::postgres::fresh_schema(&mut c, "it_ix_src_my");
    c.batch_execute(
        "SET search_path = it_ix_src_my;
         CREATE TABLE item (id int8 PRIMARY KEY, email varchar(100), grp int4, rank int4,
             label varchar(20), UNIQUE (grp, rank));
         CREATE UNIQUE INDEX item_email_idx ON item (email);
         CREATE INDEX item_grp_desc ON item (grp DESC, label);
         CREATE INDEX item_lower ON item (lower(email));
         INSERT INTO item SELECT g, 'u' || g, g % 7, g / 7, 'l' || g FROM generate_series(1, 100) g;
         RESET search_path;",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let out = crate::support::ferry()
        .args(["copy", &format!("{url}?schema=it_ix_src_my"), &my_url])
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    let (stdout, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("index item_lower (email) left out: a PostgreSQL expression index"),
        "{err}"
    );
    // The summary and the report list it too.
    assert!(
        stdout.contains(
            "left out: 1 schema object(s) the target did not get:\n  index item_lower (email) \
             of item: a PostgreSQL expression index"
        ),
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    // The index builds are timed as their own phase, a part of the table's write time.
    let (schema, write) = (
        json["tables"][0]["schema_seconds"].as_f64().unwrap(),
        json["tables"][0]["write_seconds"].as_f64().unwrap(),
    );
    assert!(schema > 0.0 && schema <= write, "{json}");
    assert_eq!(
        json["left_out"],
        serde_json::json!([{"table": "item", "object": "index", "name": "item_lower (email)",
                            "why": "a PostgreSQL expression index"}])
    );
    let got: Vec<(String, i64, String)> = my
        .query(
            "SELECT INDEX_NAME, MIN(NON_UNIQUE),
                    GROUP_CONCAT(CONCAT(COLUMN_NAME, ' ', COALESCE(COLLATION, '-')) ORDER BY SEQ_IN_INDEX)
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'it_ix_my' AND TABLE_NAME = 'item'
             GROUP BY INDEX_NAME ORDER BY INDEX_NAME",
        )
        .unwrap();
    let s = |v: &str| v.to_string();
    let desc = mariadb_keeps_desc(&mut my);
    assert_eq!(
        got,
        [
            (s("item_email_idx"), 0, s("email A")),
            (
                s("item_grp_desc"),
                1,
                format!("grp {},label A", if desc { "D" } else { "A" })
            ),
            (s("item_grp_rank_key"), 0, s("grp A,rank A")),
            (s("PRIMARY"), 0, s("id A")),
        ]
    );
    assert!(my
        .query_drop("INSERT INTO item (id, email) VALUES (900, 'u1')")
        .is_err());
}

/// Whether the server keeps a descending key part (MariaDB 10.8 and later, MySQL 8).
fn mariadb_keeps_desc(my: &mut mysql::Conn) -> bool {
    my.query_drop("CREATE TABLE ferry_desc_probe (a int, KEY (a DESC))")
        .unwrap();
    let c: Option<Option<String>> = my
        .query_first(
            "SELECT COLLATION FROM information_schema.STATISTICS
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ferry_desc_probe'",
        )
        .unwrap();
    my.query_drop("DROP TABLE ferry_desc_probe").unwrap();
    c.flatten().as_deref() == Some("D")
}

fn mariadb_source(my: &mut mysql::Conn) {
    my.query_drop(
        "CREATE TABLE item (id bigint PRIMARY KEY, email varchar(100), grp int, rank int,
             body text, code varchar(30),
             UNIQUE KEY email_uq (email), UNIQUE KEY grp_rank (grp, rank),
             KEY grp_code (grp, code), KEY code_prefix (code(4)), FULLTEXT KEY body_ft (body))
             ENGINE = InnoDB;
         INSERT INTO item VALUES (1, 'a', 1, 1, 'the quick fox', 'abcdef'),
             (2, 'b', 1, 2, 'a lazy dog', 'abcxyz'), (3, NULL, NULL, NULL, NULL, NULL)",
    )
    .unwrap();
}

#[test]
fn mariadb_indexes_reach_postgres_and_mariadb() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    let Some((my_url, mut my)) = crate::mysql::fresh_db("it_ix_mysrc") else {
        return;
    };
    mariadb_source(&mut my);
    crate::postgres::fresh_schema(&mut c, "it_ix_frommy");
    let err = copy_warnings(&my_url, &format!("{url}?schema=it_ix_frommy"), &[]);
    assert!(
        err.contains("index body_ft (body) left out: a MySQL FULLTEXT index")
            && err.contains("body_ft"),
        "{err}"
    );
    // A prefix index is an index of the whole column in PostgreSQL.
    assert_eq!(
        pg_indexes(&mut c, "it_ix_frommy", "item"),
        [
            "CREATE INDEX code_prefix ON S.item USING btree (code)",
            "CREATE INDEX grp_code ON S.item USING btree (grp, code)",
            "CREATE UNIQUE INDEX email_uq ON S.item USING btree (email)",
            "CREATE UNIQUE INDEX grp_rank ON S.item USING btree (grp, rank)",
            "CREATE UNIQUE INDEX item_pkey ON S.item USING btree (id)",
        ]
    );
    // MariaDB to MariaDB: the prefix and the FULLTEXT index as they are.
    let Some((to_url, mut to)) = crate::mysql::fresh_db("it_ix_mytomy") else {
        return;
    };
    copy_warnings(&my_url, &to_url, &[]);
    let show =
        |my: &mut mysql::Conn, db: &str| -> Vec<(String, i64, String, Option<i64>, String)> {
            my.exec(
                "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'item'
             ORDER BY INDEX_NAME, SEQ_IN_INDEX",
                (db,),
            )
            .unwrap()
        };
    let source = show(&mut my, "it_ix_mysrc");
    assert_eq!(source.len(), 8, "{source:?}");
    assert_eq!(show(&mut to, "it_ix_mytomy"), source);
    let hits: Option<i64> = to
        .query_first("SELECT count(*) FROM item WHERE MATCH (body) AGAINST ('fox')")
        .unwrap();
    assert_eq!(hits, Some(1), "the FULLTEXT index answers");
}

#[test]
fn sqlite_indexes_reach_postgres_and_postgres_indexes_reach_sqlite() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ix.sqlite");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE item (id INTEGER PRIMARY KEY, email TEXT, grp INTEGER, rank INTEGER,
                 UNIQUE (grp, rank));
             CREATE UNIQUE INDEX item_email ON item (email);
             CREATE INDEX item_grp ON item (grp DESC, email);
             CREATE INDEX item_lower ON item (lower(email));
             CREATE INDEX item_part ON item (rank) WHERE grp > 0;
             INSERT INTO item VALUES (1, 'a', 1, 1), (2, 'b', 1, 2), (3, NULL, NULL, NULL);",
        )
        .unwrap();
    crate::postgres::fresh_schema(&mut c, "it_ix_fromsqlite");
    let err = copy_warnings(
        &crate::support::sqlite_url(&db),
        &format!("{url}?schema=it_ix_fromsqlite"),
        &[],
    );
    for (name, why) in [
        ("item_lower", "a SQLite expression index"),
        ("item_part", "a SQLite partial index"),
    ] {
        assert!(err.contains(why) && err.contains(name), "{name}: {err}");
    }
    assert_eq!(
        pg_indexes(&mut c, "it_ix_fromsqlite", "item"),
        [
            "CREATE INDEX item_grp ON S.item USING btree (grp DESC, email)",
            "CREATE UNIQUE INDEX item_email ON S.item USING btree (email)",
            "CREATE UNIQUE INDEX item_grp_rank_key ON S.item USING btree (grp, rank)",
            "CREATE UNIQUE INDEX item_pkey ON S.item USING btree (id)",
        ]
    );
    // SQLite's UNIQUE (...) arrives as a constraint.
    assert_eq!(
        pg_uniques(&mut c, "it_ix_fromsqlite", "item"),
        ["item_grp_rank_key UNIQUE (grp, rank)"]
    );
    // And back into a new SQLite file, chunked and not.
    pg_source(&mut c, "it_ix_tosqlite");
    for extra in [&[][..], &["--no-chunks"][..]] {
        let out = dir.path().join(format!("out{}.sqlite", extra.len()));
        let err = copy_warnings(
            &format!("{url}?schema=it_ix_tosqlite"),
            &crate::support::sqlite_url(&out),
            extra,
        );
        assert!(
            err.contains("a PostgreSQL gin index") && err.contains("item_doc"),
            "{err}"
        );
        let conn = rusqlite::Connection::open(&out).unwrap();
        let mut stmt = conn
            .prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
            .unwrap();
        let got: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            got,
            [
                "CREATE INDEX \"Item odd\" ON \"item\" (\"Odd \"\"name\")",
                "CREATE UNIQUE INDEX \"item_email_idx\" ON \"item\" (\"email\")",
                "CREATE INDEX \"item_grp_desc\" ON \"item\" (\"grp\" DESC, \"label\")",
                "CREATE UNIQUE INDEX \"item_grp_rank_key\" ON \"item\" (\"grp\", \"rank\")",
            ]
        );
        assert!(conn
            .execute("INSERT INTO item (id, email) VALUES (9001, 'u1@x.org')", [])
            .is_err());
    }
}

#[test]
fn indexes_travel_through_a_parquet_snapshot() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    pg_source(&mut c, "it_ix_snap");
    crate::postgres::fresh_schema(&mut c, "it_ix_snap_to");
    let dir = tempfile::tempdir().unwrap();
    let snap = format!("parquet://{}", dir.path().join("snap").display());
    copy_warnings(&format!("{url}?schema=it_ix_snap"), &snap, &[]);
    copy_warnings(&snap, &format!("{url}?schema=it_ix_snap_to"), &[]);
    assert_eq!(
        pg_indexes(&mut c, "it_ix_snap_to", "item"),
        pg_indexes(&mut c, "it_ix_snap", "item")
    );
    assert_eq!(
        pg_uniques(&mut c, "it_ix_snap_to", "item"),
        ["item_grp_rank_key UNIQUE (grp, rank)"]
    );
}
