//! CHECK constraints and comments of database sources: checks verbatim into a target of the
//! same dialect (PostgreSQL's `NOT VALID` kept, with a row that breaks it), through a Parquet
//! snapshot too; table and column comments into PostgreSQL and MariaDB (quotes, backslashes,
//! non-ASCII); every check another dialect cannot take, and every comment SQLite cannot, named
//! in the summary. Checked in the target's catalog and by behaviour (a row breaking a check is
//! refused).

use mysql::prelude::Queryable;

use crate::support::copy_warnings;

const COMMENT: &str = "it's a \\ table, ¼ €";

fn pg_source(c: &mut postgres::Client, schema: &str) {
    crate::postgres::fresh_schema(c, schema);
    c.batch_execute(&format!(
        "SET search_path = {schema};
         CREATE TABLE item (id int8 PRIMARY KEY, price numeric(10, 2) CHECK (price > 0),
             lo int4, hi int4, code text, CONSTRAINT lo_below_hi CHECK (lo < hi),
             CONSTRAINT code_form CHECK (code ~ '^[A-Z]+$'));
         INSERT INTO item VALUES (1, 2.50, 1, 2, 'AB'), (2, 9.99, -5, 0, 'Z');
         ALTER TABLE item ADD CONSTRAINT lo_positive CHECK (lo > 0) NOT VALID;
         COMMENT ON TABLE item IS '{}';
         COMMENT ON COLUMN item.price IS 'in euros: ''net''';
         RESET search_path;",
        COMMENT.replace('\'', "''")
    ))
    .unwrap();
}

/// Each CHECK of `schema`.`table`: name, definition, validated.
fn pg_checks(c: &mut postgres::Client, schema: &str, table: &str) -> Vec<(String, String, bool)> {
    c.query(
        "SELECT conname::text, pg_get_constraintdef(oid), convalidated FROM pg_constraint
         WHERE contype = 'c' AND conrelid = to_regclass($1) ORDER BY 1",
        &[&format!("{schema}.{table}")],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

fn pg_comments(
    c: &mut postgres::Client,
    schema: &str,
    table: &str,
) -> (Option<String>, Option<String>) {
    let r = c
        .query_one(
            "SELECT obj_description(to_regclass($1), 'pg_class'),
                    col_description(to_regclass($1), (SELECT attnum FROM pg_attribute
                        WHERE attrelid = to_regclass($1) AND attname = 'price'))",
            &[&format!("{schema}.{table}")],
        )
        .unwrap();
    (r.get(0), r.get(1))
}

#[test]
fn postgres_checks_and_comments_reach_postgres_directly_and_through_a_snapshot() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    pg_source(&mut c, "it_ck_src");
    let source = pg_checks(&mut c, "it_ck_src", "item");
    assert_eq!(source.len(), 4, "{source:?}");
    assert!(
        source.iter().any(|(name, def, valid)| name == "lo_positive"
            && def.ends_with(" NOT VALID")
            && !valid),
        "{source:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let snap = format!("parquet://{}", dir.path().join("snap").display());
    copy_warnings(&format!("{url}?schema=it_ck_src"), &snap, &[]);
    for (schema, from) in [
        ("it_ck_pg", format!("{url}?schema=it_ck_src")),
        ("it_ck_snap", snap.clone()),
    ] {
        crate::postgres::fresh_schema(&mut c, schema);
        let err = copy_warnings(&from, &format!("{url}?schema={schema}"), &[]);
        assert!(!err.contains("left out"), "{err}");
        assert_eq!(pg_checks(&mut c, schema, "item"), source, "{schema}");
        assert_eq!(
            pg_comments(&mut c, schema, "item"),
            (Some(COMMENT.into()), Some("in euros: 'net'".into())),
            "{schema}"
        );
        // Each check holds; the one not validated at the source accepts its old row only.
        for bad in [
            "(10, 0, 1, 2, 'A')",
            "(11, 1, 3, 2, 'A')",
            "(12, 1, 1, 2, 'a')",
            "(13, 1, -1, 2, 'A')",
        ] {
            assert!(
                c.batch_execute(&format!("INSERT INTO {schema}.item VALUES {bad}"))
                    .is_err(),
                "{schema}: {bad} is refused"
            );
        }
        c.batch_execute(&format!(
            "INSERT INTO {schema}.item VALUES (14, 1, 1, 2, 'A')"
        ))
        .unwrap();
    }
    // A check whose column a step drops is left out and named; the others are added.
    crate::postgres::fresh_schema(&mut c, "it_ck_pg");
    let err = copy_warnings(
        &format!("{url}?schema=it_ck_src"),
        &format!("{url}?schema=it_ck_pg"),
        &["--transform", "drop(code)"],
    );
    assert!(
        err.contains("check code_form left out: its column code is not in the target"),
        "{err}"
    );
    assert_eq!(pg_checks(&mut c, "it_ck_pg", "item").len(), 3);
}

#[test]
fn mariadb_checks_and_comments_reach_mariadb_and_comments_reach_postgres() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    let Some((my_url, mut my)) = crate::mysql::fresh_db("it_ck_mysrc") else {
        return;
    };
    my.query_drop(format!(
        "CREATE TABLE item (id bigint PRIMARY KEY COMMENT 'the key', price decimal(10, 2)
             COMMENT 'in euros: ''net''' CHECK (price > 0), lo int, hi int, doc json,
             CONSTRAINT lo_below_hi CHECK (lo < hi)) COMMENT = '{}';
         INSERT INTO item VALUES (1, 2.50, 1, 2, '{{}}')",
        COMMENT.replace('\\', "\\\\").replace('\'', "''")
    ))
    .unwrap();
    let Some((to_url, mut to)) = crate::mysql::fresh_db("it_ck_mytomy") else {
        return;
    };
    let err = copy_warnings(&my_url, &to_url, &[]);
    assert!(!err.contains("left out"), "{err}");
    let checks = |my: &mut mysql::Conn, db: &str| -> Vec<(String, String)> {
        my.exec(
            "SELECT cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE FROM information_schema.TABLE_CONSTRAINTS tc
             JOIN information_schema.CHECK_CONSTRAINTS cc ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA
              AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
             WHERE tc.TABLE_SCHEMA = ? AND tc.TABLE_NAME = 'item' AND tc.CONSTRAINT_TYPE = 'CHECK'
             ORDER BY 1",
            (db,),
        )
        .unwrap()
    };
    let source = checks(&mut my, "it_ck_mysrc");
    assert!(source.len() >= 2, "{source:?}");
    assert_eq!(checks(&mut to, "it_ck_mytomy"), source);
    let comments = |my: &mut mysql::Conn, db: &str| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = my
            .exec(
                "SELECT COLUMN_NAME, COLUMN_COMMENT FROM information_schema.COLUMNS
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'item' ORDER BY ORDINAL_POSITION",
                (db,),
            )
            .unwrap();
        let t: Option<String> = my
            .exec_first(
                "SELECT TABLE_COMMENT FROM information_schema.TABLES
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'item'",
                (db,),
            )
            .unwrap();
        v.push(("".into(), t.unwrap()));
        v
    };
    let source = comments(&mut my, "it_ck_mysrc");
    assert!(source.contains(&("".into(), COMMENT.into())), "{source:?}");
    assert_eq!(comments(&mut to, "it_ck_mytomy"), source);
    assert!(to
        .query_drop("INSERT INTO item VALUES (2, 1, 5, 4, NULL)")
        .is_err());
    assert!(to
        .query_drop("INSERT INTO item VALUES (3, -1, 1, 2, NULL)")
        .is_err());
    // Into PostgreSQL: the comments arrive, the checks (MySQL's SQL) are named as left out.
    crate::postgres::fresh_schema(&mut c, "it_ck_frommy");
    let out = crate::support::ferry()
        .args(["copy", &my_url, &format!("{url}?schema=it_ck_frommy")])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("check lo_below_hi of item: a MySQL/MariaDB CHECK constraint (CHECK (`lo` < `hi`)) is not translated to another dialect"),
        "{stdout}"
    );
    assert_eq!(
        pg_comments(&mut c, "it_ck_frommy", "item"),
        (Some(COMMENT.into()), Some("in euros: 'net'".into()))
    );
}

#[test]
fn checks_and_comments_sqlite_cannot_take_are_listed() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    pg_source(&mut c, "it_ck_tosqlite");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ck.sqlite");
    let out = crate::support::ferry()
        .args([
            "copy",
            &format!("{url}?schema=it_ck_tosqlite"),
            &crate::support::sqlite_url(&db),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    let target = crate::support::sqlite_url(&db);
    // --dry-run says so before anything moves.
    let dry = crate::support::ferry()
        .args([
            "copy",
            &format!("{url}?schema=it_ck_tosqlite"),
            &crate::support::sqlite_url(&dir.path().join("dry.sqlite")),
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&dry.stdout)
            .contains("left out: 6 schema object(s) the target would not get:"),
        "{}",
        String::from_utf8_lossy(&dry.stdout)
    );
    for line in [
        "left out: 6 schema object(s) the target did not get:".to_string(),
        format!("  check lo_below_hi of item: {target} takes no CHECK constraints"),
        format!("  comment of item: {target} has no comments"),
        format!("  comment of column price of item: {target} has no comments"),
    ] {
        assert!(stdout.contains(&line), "{line} in {stdout}");
    }
}
