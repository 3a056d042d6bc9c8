//! Column defaults: numbers, strings (quotes included), booleans, dates, the current timestamp
//! and date and a random UUID arrive in a new table as each target says them, PostgreSQL →
//! PostgreSQL (directly and through a Parquet snapshot), PostgreSQL → MariaDB and MariaDB →
//! PostgreSQL; a default only the source's dialect knows is left out and named. Checked by an
//! INSERT without the columns afterwards.

use mysql::prelude::Queryable;

/// `ferry copy FROM TO`, asserting success; its stderr (warnings included).
fn copy(from: &str, to: &str) -> String {
    crate::support::copy_warnings(from, to, &[])
}

fn pg_source(c: &mut postgres::Client, schema: &str) {
    crate::postgres::fresh_schema(c, schema);
    c.batch_execute(&format!(
        "CREATE TABLE {schema}.d (id int8 PRIMARY KEY, n int4 DEFAULT 42, neg int4 DEFAULT -1,
             price numeric(10,2) DEFAULT 9.99, name text DEFAULT 'it''s', flag boolean DEFAULT true,
             at timestamptz DEFAULT now(), day date DEFAULT CURRENT_DATE,
             fixed date DEFAULT '2020-01-01', u uuid DEFAULT gen_random_uuid(),
             yr int4 DEFAULT date_part('year', now()));
         INSERT INTO {schema}.d (id) VALUES (1);"
    ))
    .unwrap();
}

/// The values an INSERT of `id` alone gets in PostgreSQL's `table`, as text (`at`, `day` and
/// `u` as whether they are set as expected).
fn pg_inserted(c: &mut postgres::Client, table: &str, cols: &str) -> Vec<Option<String>> {
    c.batch_execute(&format!("INSERT INTO {table} (id) VALUES (2)"))
        .unwrap();
    let row = c
        .query_one(&format!("SELECT {cols} FROM {table} WHERE id = 2"), &[])
        .unwrap();
    (0..row.len()).map(|i| row.get(i)).collect()
}

#[test]
fn postgres_defaults_reach_postgres_and_mariadb() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    pg_source(&mut c, "it_def_src");
    crate::postgres::fresh_schema(&mut c, "it_def_pg");
    let err = copy(
        &format!("{url}?schema=it_def_src"),
        &format!("{url}?schema=it_def_pg"),
    );
    assert!(
        err.contains("default of column")
            && err.contains("left out: ")
            && err.contains("date_part"),
        "the one default only PostgreSQL knows is named: {err}"
    );
    let got = pg_inserted(
        &mut c,
        "it_def_pg.d",
        "n::text, neg::text, price::text, name, flag::text, (at > now() - interval '1 hour')::text,
         (day = CURRENT_DATE)::text, fixed::text, (u IS NOT NULL)::text, yr::text",
    );
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        got,
        [
            s("42"),
            s("-1"),
            s("9.99"),
            s("it's"),
            s("true"),
            s("true"),
            s("true"),
            s("2020-01-01"),
            s("true"),
            None
        ]
    );

    // Through a Parquet snapshot: recorded in its fields, set by the load.
    let dir = tempfile::tempdir().unwrap();
    let snap = format!("parquet://{}", dir.path().join("snap").display());
    copy(&format!("{url}?schema=it_def_src"), &snap);
    crate::postgres::fresh_schema(&mut c, "it_def_snap");
    copy(&snap, &format!("{url}?schema=it_def_snap"));
    assert_eq!(
        pg_inserted(&mut c, "it_def_snap.d", "n::text, name, fixed::text"),
        [s("42"), s("it's"), s("2020-01-01")]
    );

    let Some((my_url, mut my)) = crate::mysql::fresh_db("it_def_my") else {
        return;
    };
    copy(&format!("{url}?schema=it_def_src"), &my_url);
    my.query_drop("INSERT INTO d (id) VALUES (2)").unwrap();
    let row: mysql::Row = my
        .query_first(
            "SELECT CAST(n AS CHAR), CAST(neg AS CHAR), CAST(price AS CHAR), name,
                    CAST(flag AS CHAR), CAST(at IS NOT NULL AS CHAR),
                    CAST(day = CURRENT_DATE AS CHAR), CAST(fixed AS CHAR),
                    CAST(length(u) = 36 AS CHAR), CAST(yr AS CHAR)
             FROM d WHERE id = 2",
        )
        .unwrap()
        .unwrap();
    let got: Vec<Option<String>> = (0..row.len()).map(|i| row.get(i).unwrap()).collect();
    assert_eq!(
        got,
        [
            s("42"),
            s("-1"),
            s("9.99"),
            s("it's"),
            s("1"),
            s("1"),
            s("1"),
            s("2020-01-01"),
            s("1"),
            None
        ]
    );
}

#[test]
fn mariadb_defaults_reach_postgres() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    let Some((my_url, mut my)) = crate::mysql::fresh_db("it_def_mysrc") else {
        return;
    };
    my.query_drop(
        "CREATE TABLE d (id bigint PRIMARY KEY, n int DEFAULT 42, name varchar(10) DEFAULT 'it''s',
             at datetime DEFAULT current_timestamp(), day date DEFAULT curdate(),
             price decimal(6,2) DEFAULT 1.50, nothing int DEFAULT NULL);
         INSERT INTO d (id) VALUES (1);",
    )
    .unwrap();
    crate::postgres::fresh_schema(&mut c, "it_def_frommy");
    copy(&my_url, &format!("{url}?schema=it_def_frommy"));
    let got = pg_inserted(
        &mut c,
        "it_def_frommy.d",
        "n::text, name, (at IS NOT NULL)::text, (day = CURRENT_DATE)::text, price::text,
         nothing::text",
    );
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        got,
        [s("42"), s("it's"), s("true"), s("true"), s("1.50"), None]
    );
}
