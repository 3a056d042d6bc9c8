//! Foreign keys in MySQL and MariaDB: added after the load for `--with-keys`, and kept when a
//! `replace` swaps in the table they reference.
//!
//! InnoDB adds a foreign key in place, without copying the child table, only with
//! `foreign_key_checks = 0`, and then checks no row. ferry therefore checks the rows itself
//! first, with one anti-join, so a key is never declared over rows that break it.
//!
//! A foreign key follows the table it references through `RENAME TABLE`, so the staging swap of
//! `replace` would leave it pointing at the replaced table and make that table impossible to
//! drop. The keys that reference the target are first checked against the staging table (if the
//! new rows break one, the error names it and nothing is swapped), then dropped before the swap
//! and declared again after it.

use mysql::prelude::Queryable;
use mysql::Conn;

use crate::error::{Error, ErrorKind, Result};
use crate::mysql::{exec, my_error, quote_ident};

/// MySQL's longest identifier, in bytes.
pub(super) const MAX_NAME_BYTES: usize = 64;

/// One foreign key: `child (columns) REFERENCES parent (referenced)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ForeignKeyDef {
    pub db: String,
    pub table: String,
    pub name: String,
    pub columns: Vec<String>,
    pub ref_db: String,
    pub ref_table: String,
    pub referenced: Vec<String>,
    /// ` ON DELETE ... ON UPDATE ...`, or empty for the defaults.
    pub rules: String,
}

impl ForeignKeyDef {
    fn child(&self) -> String {
        format!("{}.{}", quote_ident(&self.db), quote_ident(&self.table))
    }

    pub(super) fn parent(&self) -> String {
        format!(
            "{}.{}",
            quote_ident(&self.ref_db),
            quote_ident(&self.ref_table)
        )
    }

    fn label(&self) -> String {
        format!(
            "foreign key {} of {}",
            quote_ident(&self.name),
            self.child()
        )
    }
}

fn list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the child table already has a foreign key of this name.
pub(super) fn exists(conn: &mut Conn, fk: &ForeignKeyDef, what: &str) -> Result<bool> {
    let n: Option<u64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS
             WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = ?",
            (&fk.db, &fk.table, &fk.name),
        )
        .map_err(|e| my_error(e, format!("{what}: {}", fk.label())))?;
    Ok(n.unwrap_or(0) > 0)
}

/// Checks every row of the child against `parent` (the key's own parent table, or the staging
/// table about to take its name): an error if a row has no match.
pub(super) fn check(conn: &mut Conn, fk: &ForeignKeyDef, parent: &str, what: &str) -> Result<()> {
    let context = || format!("{what}: {}", fk.label());
    let present = fk
        .columns
        .iter()
        .map(|c| format!("c.{} IS NOT NULL", quote_ident(c)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let matched = fk
        .columns
        .iter()
        .zip(&fk.referenced)
        .map(|(c, r)| format!("p.{} = c.{}", quote_ident(r), quote_ident(c)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let broken: Option<u64> = conn
        .query_first(format!(
            "SELECT COUNT(*) FROM {} c WHERE {present} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {matched})",
            fk.child(),
        ))
        .map_err(|e| my_error(e, context()))?;
    match broken {
        Some(n @ 1..) => Err(Error::new(
            ErrorKind::Integrity,
            format!(
                "{}: {n} row(s) of {} have no matching row in {} ({})",
                context(),
                fk.child(),
                fk.parent(),
                list(&fk.referenced)
            ),
        )),
        _ => Ok(()),
    }
}

/// Declares a checked key in place (`foreign_key_checks = 0`: InnoDB then neither copies the
/// table nor reads its rows).
pub(super) fn declare(conn: &mut Conn, fk: &ForeignKeyDef, what: &str) -> Result<()> {
    let context = || format!("{what}: {}", fk.label());
    exec(conn, "SET foreign_key_checks = 0", context)?;
    let added = exec(
        conn,
        &format!(
            "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){}",
            fk.child(),
            quote_ident(&fk.name),
            list(&fk.columns),
            fk.parent(),
            list(&fk.referenced),
            fk.rules
        ),
        context,
    );
    let restored = exec(conn, "SET foreign_key_checks = 1", context);
    added.and(restored)
}

/// Adds a key: checked against its parent, then declared.
pub(super) fn add(conn: &mut Conn, fk: &ForeignKeyDef, what: &str) -> Result<()> {
    check(conn, fk, &fk.parent(), what)?;
    declare(conn, fk, what)
}

/// Drops a foreign key from its child table.
pub(super) fn drop(conn: &mut Conn, fk: &ForeignKeyDef, what: &str) -> Result<()> {
    exec(
        conn,
        &format!(
            "ALTER TABLE {} DROP FOREIGN KEY {}",
            fk.child(),
            quote_ident(&fk.name)
        ),
        || format!("{what}: dropping {} before the swap", fk.label()),
    )
}

/// The foreign keys of other tables that reference `db`.`table`.
pub(super) fn referencing(
    conn: &mut Conn,
    db: &str,
    table: &str,
    what: &str,
) -> Result<Vec<ForeignKeyDef>> {
    type Row = (String, String, String, String, String, String, String);
    let rows: Vec<Row> = conn
        .exec(
            "SELECT k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME,
                    k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE
             FROM information_schema.KEY_COLUMN_USAGE k
             JOIN information_schema.REFERENTIAL_CONSTRAINTS r
               ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA
              AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
              AND r.TABLE_NAME = k.TABLE_NAME
             WHERE k.REFERENCED_TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME = ?
               AND NOT (k.TABLE_SCHEMA = ? AND k.TABLE_NAME = ?)
             ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
            (db, table, db, table),
        )
        .map_err(|e| my_error(e, format!("{what}: foreign keys referencing the table")))?;
    let mut keys: Vec<ForeignKeyDef> = Vec::new();
    for (child_db, child, name, column, referenced, on_delete, on_update) in rows {
        match keys.last_mut() {
            Some(k) if k.db == child_db && k.table == child && k.name == name => {
                k.columns.push(column);
                k.referenced.push(referenced);
            }
            _ => keys.push(ForeignKeyDef {
                db: child_db,
                table: child,
                name,
                columns: vec![column],
                ref_db: db.to_string(),
                ref_table: table.to_string(),
                referenced: vec![referenced],
                rules: rules(&on_delete, &on_update),
            }),
        }
    }
    Ok(keys)
}

/// ` ON DELETE x ON UPDATE y` from `REFERENTIAL_CONSTRAINTS`, leaving out the defaults; only
/// the actions SQL knows are written back.
fn rules(on_delete: &str, on_update: &str) -> String {
    const ACTIONS: [&str; 5] = [
        "RESTRICT",
        "CASCADE",
        "SET NULL",
        "NO ACTION",
        "SET DEFAULT",
    ];
    let mut out = String::new();
    for (clause, action) in [("ON DELETE", on_delete), ("ON UPDATE", on_update)] {
        let action = action.to_ascii_uppercase();
        if action != "RESTRICT" && ACTIONS.contains(&action.as_str()) {
            out.push_str(&format!(" {clause} {action}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_keep_actions_and_drop_the_default() {
        assert_eq!(rules("RESTRICT", "RESTRICT"), "");
        assert_eq!(
            rules("CASCADE", "set null"),
            " ON DELETE CASCADE ON UPDATE SET NULL"
        );
        assert_eq!(rules("DROP TABLE x", "NO ACTION"), " ON UPDATE NO ACTION");
    }
}
