//! Foreign keys of database sources, carried by `--with-keys`: composite, self-referencing and
//! with referential actions (and PostgreSQL's deferrability), from PostgreSQL, MariaDB and
//! SQLite catalogs into PostgreSQL and MariaDB. Each key is checked in the target's own catalog, and by
//! its behaviour: a row that breaks it is refused, a delete cascades or sets NULL as declared.

use mysql::prelude::Queryable;

/// The rows every source gets: two parents, three pairs, children of both, a chain of nodes.
const ROWS: &str = "
    INSERT INTO parent VALUES (1, 'one'), (2, 'two');
    INSERT INTO pair VALUES (1, 1, 'x'), (1, 2, 'y'), (2, 1, 'z');
    INSERT INTO child VALUES (10, 1, 1, 1), (11, 1, 1, 2), (12, 2, 2, 1), (13, NULL, NULL, NULL);
    INSERT INTO node VALUES (1, NULL), (2, 1), (3, 2);";

/// `ferry copy FROM TO --with-keys`, asserting success; its stderr (warnings included).
fn copy(from: &str, to: &str) -> String {
    crate::support::copy_warnings(from, to, &["--with-keys"])
}

/// PostgreSQL's catalog: each foreign key of `schema` as `table: definition`.
fn pg_keys(c: &mut postgres::Client, schema: &str) -> Vec<String> {
    c.query(
        "SELECT c.conrelid::regclass::text, pg_get_constraintdef(c.oid)
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE c.contype = 'f' AND n.nspname = $1 ORDER BY 1, 2",
        &[&schema],
    )
    .unwrap()
    .iter()
    .map(|r| {
        let t: String = r.get(0);
        let t = t.rsplit('.').next().unwrap().to_string();
        format!("{t}: {}", r.get::<_, String>(1))
    })
    .collect()
}

/// The keys behave as declared in PostgreSQL's `schema`.
fn pg_behaviour(c: &mut postgres::Client, schema: &str, deferrable: bool) {
    let s = schema;
    let broken = c.batch_execute(&format!(
        "INSERT INTO {s}.child VALUES (20, 999, NULL, NULL)"
    ));
    assert!(broken.is_err(), "a child of no parent is refused");
    let broken = c.batch_execute(&format!("INSERT INTO {s}.node VALUES (9, 99)"));
    assert!(broken.is_err(), "a node under no node is refused");
    if deferrable {
        // Checked at commit: a pair added after its child in one transaction is accepted.
        c.batch_execute(&format!(
            "BEGIN; INSERT INTO {s}.child VALUES (21, NULL, 5, 5); INSERT INTO {s}.pair VALUES (5, 5, 'w'); COMMIT"
        ))
        .unwrap();
    }
    c.batch_execute(&format!(
        "DELETE FROM {s}.parent WHERE id = 1; DELETE FROM {s}.node WHERE id = 1;
         UPDATE {s}.pair SET b = 7 WHERE a = 2 AND b = 1"
    ))
    .unwrap();
    let left: i64 = c
        .query_one(
            &format!("SELECT count(*) FROM {s}.child WHERE parent_id = 1"),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the delete cascades");
    let up: Option<i64> = c
        .query_one(&format!("SELECT up FROM {s}.node WHERE id = 2"), &[])
        .unwrap()
        .get(0);
    assert_eq!(up, None, "the delete sets NULL");
    let b: i64 = c
        .query_one(&format!("SELECT b::int8 FROM {s}.child WHERE id = 12"), &[])
        .unwrap()
        .get(0);
    assert_eq!(b, 7, "the update cascades");
}

fn pg_source(c: &mut postgres::Client, schema: &str) {
    crate::postgres::fresh_schema(c, schema);
    c.batch_execute(&format!(
        "SET search_path = {schema};
         CREATE TABLE parent (id int8 PRIMARY KEY, name text);
         CREATE TABLE pair (a int4, b int4, v text, PRIMARY KEY (a, b));
         CREATE TABLE child (id int8 PRIMARY KEY,
             parent_id int8 REFERENCES parent (id) ON DELETE CASCADE,
             a int4, b int4,
             FOREIGN KEY (a, b) REFERENCES pair (a, b) ON UPDATE CASCADE
                 DEFERRABLE INITIALLY DEFERRED);
         CREATE TABLE node (id int8 PRIMARY KEY, up int8 REFERENCES node (id) ON DELETE SET NULL);
         CREATE TABLE coded (id int8 PRIMARY KEY, code text UNIQUE);
         CREATE TABLE uses (id int8 PRIMARY KEY, code text REFERENCES coded (code));
         {ROWS}
         RESET search_path;"
    ))
    .unwrap();
}

#[test]
fn postgres_foreign_keys_reach_postgres_with_their_actions() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    pg_source(&mut c, "it_fk_src");
    crate::postgres::fresh_schema(&mut c, "it_fk_pg");
    let err = copy(
        &format!("{url}?schema=it_fk_src"),
        &format!("{url}?schema=it_fk_pg"),
    );
    assert!(!err.contains("left out"), "{err}");
    // A key that references a unique key arrives with that key's unique index.
    assert_eq!(
        pg_keys(&mut c, "it_fk_pg"),
        [
            "child: FOREIGN KEY (a, b) REFERENCES it_fk_pg.pair(a, b) ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED",
            "child: FOREIGN KEY (parent_id) REFERENCES it_fk_pg.parent(id) ON DELETE CASCADE",
            "node: FOREIGN KEY (up) REFERENCES it_fk_pg.node(id) ON DELETE SET NULL",
            "uses: FOREIGN KEY (code) REFERENCES it_fk_pg.coded(code)",
        ]
    );
    pg_behaviour(&mut c, "it_fk_pg", true);
    assert!(c
        .batch_execute("INSERT INTO it_fk_pg.uses VALUES (99, 'no such code')")
        .is_err());
    // Without the unique index the key has nothing to reference: left out, and named.
    crate::postgres::fresh_schema(&mut c, "it_fk_pg");
    let err = crate::support::copy_warnings(
        &format!("{url}?schema=it_fk_src"),
        &format!("{url}?schema=it_fk_pg"),
        &["--with-keys", "--no-indexes"],
    );
    assert!(
        err.contains("foreign key (code) left out: it references (code), which is neither the primary key nor a unique index of coded in the target"),
        "{err}"
    );
}

#[test]
fn postgres_foreign_keys_reach_mariadb_with_their_actions() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    let Some((my_url, mut my)) = crate::mysql::fresh_db("it_fk_my") else {
        return;
    };
    pg_source(&mut c, "it_fk_src_my");
    let err = copy(&format!("{url}?schema=it_fk_src_my"), &my_url);
    // `code` is text at the source, longtext here: its unique key is a hash index, which
    // cannot check a foreign key.
    assert!(
        err.contains(
            "foreign key uses_code_fkey left out: no B-tree index of coded starts with (code)"
        ),
        "{err}"
    );
    let keys: Vec<(String, String, String, String, String)> = my
        .query(
            "SELECT k.TABLE_NAME, GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION),
                    MAX(k.REFERENCED_TABLE_NAME), MAX(r.DELETE_RULE), MAX(r.UPDATE_RULE)
             FROM information_schema.KEY_COLUMN_USAGE k
             JOIN information_schema.REFERENTIAL_CONSTRAINTS r
               ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
             WHERE k.TABLE_SCHEMA = 'it_fk_my' AND k.REFERENCED_TABLE_NAME IS NOT NULL
             GROUP BY k.TABLE_NAME, k.CONSTRAINT_NAME ORDER BY 1, 2",
        )
        .unwrap();
    let s = |v: &str| v.to_string();
    assert_eq!(
        keys,
        [
            (s("child"), s("a,b"), s("pair"), s("RESTRICT"), s("CASCADE")),
            (
                s("child"),
                s("parent_id"),
                s("parent"),
                s("CASCADE"),
                s("RESTRICT")
            ),
            (s("node"), s("up"), s("node"), s("SET NULL"), s("RESTRICT")),
        ]
    );
    assert!(my
        .query_drop("INSERT INTO child VALUES (20, 999, NULL, NULL)")
        .is_err());
    my.query_drop(
        "DELETE FROM parent WHERE id = 1; DELETE FROM node WHERE id = 1;
         UPDATE pair SET b = 7 WHERE a = 2 AND b = 1",
    )
    .unwrap();
    let left: Option<i64> = my
        .query_first("SELECT count(*) FROM child WHERE parent_id = 1")
        .unwrap();
    assert_eq!(left, Some(0), "the delete cascades");
    let up: Option<Option<i64>> = my.query_first("SELECT up FROM node WHERE id = 2").unwrap();
    assert_eq!(up, Some(None), "the delete sets NULL");
    let b: Option<i32> = my.query_first("SELECT b FROM child WHERE id = 12").unwrap();
    assert_eq!(b, Some(7), "the update cascades");
}

#[test]
fn mariadb_foreign_keys_reach_postgres_with_their_actions() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    let Some((my_url, mut my)) = crate::mysql::fresh_db("it_fk_mysrc") else {
        return;
    };
    my.query_drop(format!(
        "CREATE TABLE parent (id bigint PRIMARY KEY, name text) ENGINE = InnoDB;
         CREATE TABLE pair (a int, b int, v text, PRIMARY KEY (a, b)) ENGINE = InnoDB;
         CREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint, a int, b int,
             FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE,
             FOREIGN KEY (a, b) REFERENCES pair (a, b) ON UPDATE CASCADE) ENGINE = InnoDB;
         CREATE TABLE node (id bigint PRIMARY KEY, up bigint,
             FOREIGN KEY (up) REFERENCES node (id) ON DELETE SET NULL) ENGINE = InnoDB;
         {ROWS}"
    ))
    .unwrap();
    crate::postgres::fresh_schema(&mut c, "it_fk_frommy");
    copy(&my_url, &format!("{url}?schema=it_fk_frommy"));
    // MariaDB's RESTRICT arrives as RESTRICT; its NO ACTION default would arrive bare.
    assert_eq!(
        pg_keys(&mut c, "it_fk_frommy"),
        [
            "child: FOREIGN KEY (a, b) REFERENCES it_fk_frommy.pair(a, b) ON UPDATE CASCADE ON DELETE RESTRICT",
            "child: FOREIGN KEY (parent_id) REFERENCES it_fk_frommy.parent(id) ON UPDATE RESTRICT ON DELETE CASCADE",
            "node: FOREIGN KEY (up) REFERENCES it_fk_frommy.node(id) ON UPDATE RESTRICT ON DELETE SET NULL",
        ]
    );
    pg_behaviour(&mut c, "it_fk_frommy", false);
}

#[test]
fn sqlite_foreign_keys_reach_postgres_with_their_actions() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fk.sqlite");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(&format!(
            "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
             CREATE TABLE pair (a INTEGER, b INTEGER, v TEXT, PRIMARY KEY (a, b));
             CREATE TABLE child (id INTEGER PRIMARY KEY,
                 parent_id INTEGER REFERENCES parent ON DELETE CASCADE, a INTEGER, b INTEGER,
                 FOREIGN KEY (a, b) REFERENCES pair (a, b) ON UPDATE CASCADE);
             CREATE TABLE node (id INTEGER PRIMARY KEY,
                 up INTEGER REFERENCES node (id) ON DELETE SET NULL);
             {ROWS}"
        ))
        .unwrap();
    crate::postgres::fresh_schema(&mut c, "it_fk_fromsqlite");
    copy(
        &crate::support::sqlite_url(&db),
        &format!("{url}?schema=it_fk_fromsqlite"),
    );
    // `REFERENCES parent` alone references its primary key.
    assert_eq!(
        pg_keys(&mut c, "it_fk_fromsqlite"),
        [
            "child: FOREIGN KEY (a, b) REFERENCES it_fk_fromsqlite.pair(a, b) ON UPDATE CASCADE",
            "child: FOREIGN KEY (parent_id) REFERENCES it_fk_fromsqlite.parent(id) ON DELETE CASCADE",
            "node: FOREIGN KEY (up) REFERENCES it_fk_fromsqlite.node(id) ON DELETE SET NULL",
        ]
    );
    pg_behaviour(&mut c, "it_fk_fromsqlite", false);
}

#[test]
fn database_foreign_keys_come_by_default_and_no_foreign_keys_leaves_them_out() {
    let Some((url, mut c)) = crate::postgres::pg() else {
        return;
    };
    pg_source(&mut c, "it_fk_default_src");
    crate::postgres::fresh_schema(&mut c, "it_fk_default");
    let (from, to) = (
        format!("{url}?schema=it_fk_default_src"),
        format!("{url}?schema=it_fk_default"),
    );
    crate::support::copy_warnings(&from, &to, &[]);
    assert_eq!(pg_keys(&mut c, "it_fk_default").len(), 4);
    pg_behaviour(&mut c, "it_fk_default", true);
    crate::support::copy_warnings(&from, &to, &["--if-exists", "replace", "--no-foreign-keys"]);
    assert!(pg_keys(&mut c, "it_fk_default").is_empty());
    // A key to a table neither in the run nor in the target is left out and named.
    crate::postgres::fresh_schema(&mut c, "it_fk_default");
    let err = crate::support::copy_warnings(&from, &to, &["--table", "parent", "--table", "child"]);
    assert!(
        err.contains("foreign key child_a_b_fkey left out: the referenced table is neither copied in this run nor in the target"),
        "{err}"
    );
    assert_eq!(
        pg_keys(&mut c, "it_fk_default"),
        ["child: FOREIGN KEY (parent_id) REFERENCES it_fk_default.parent(id) ON DELETE CASCADE"]
    );
}
