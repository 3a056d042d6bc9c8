//! Foreign keys in PostgreSQL: added after the load for `--with-keys`, and kept when a `replace`
//! swaps in the table they reference.
//!
//! `ALTER TABLE ... ADD FOREIGN KEY` checks every row with one join, so a key is built once from
//! the loaded rows. Dropping a table that other tables' keys reference fails, so the swap of a
//! `replace` drops those keys and adds them back, checked against the new rows, in the swap's own
//! transaction: if the new rows break one, nothing is swapped and the error names the key.

use postgres::GenericClient;

use crate::error::Result;
use crate::pg::pg_error;
use crate::types::quote_ident;

/// PostgreSQL's longest identifier, in bytes.
pub(super) const MAX_NAME_BYTES: usize = 63;

/// A key of another table that references the table being replaced, as the catalog prints it.
pub(super) struct Dependent {
    /// The referencing table, qualified and quoted as `regclass` prints it.
    table: String,
    name: String,
    definition: String,
}

/// The foreign keys of other tables that reference `qualified`.
pub(super) fn referencing(
    tx: &mut impl GenericClient,
    qualified: &str,
    what: &str,
) -> Result<Vec<Dependent>> {
    let rows = tx
        .query(
            "SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid)
             FROM pg_constraint c
             WHERE c.contype = 'f' AND c.confrelid = to_regclass($1) AND c.conrelid <> c.confrelid
             ORDER BY 1, 2",
            &[&qualified],
        )
        .map_err(|e| pg_error(e, format!("{what}: foreign keys referencing the table")))?;
    Ok(rows
        .iter()
        .map(|r| Dependent {
            table: r.get(0),
            name: r.get(1),
            definition: r.get(2),
        })
        .collect())
}

/// Drops the keys before the old table goes.
pub(super) fn drop(tx: &mut impl GenericClient, keys: &[Dependent], what: &str) -> Result<()> {
    for k in keys {
        tx.batch_execute(&format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            k.table,
            quote_ident(&k.name)
        ))
        .map_err(|e| pg_error(e, format!("{what}: foreign key {} of {}", k.name, k.table)))?;
    }
    Ok(())
}

/// Adds the keys back; their definitions name the table, which is now the new one.
pub(super) fn restore(tx: &mut impl GenericClient, keys: &[Dependent], what: &str) -> Result<()> {
    for k in keys {
        tx.batch_execute(&format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {}",
            k.table,
            quote_ident(&k.name),
            k.definition
        ))
        .map_err(|e| {
            pg_error(
                e,
                format!(
                    "{what}: foreign key {} of {}, which references the replaced table (nothing was swapped)",
                    k.name, k.table
                ),
            )
        })?;
    }
    Ok(())
}

/// Adds `FOREIGN KEY (columns) REFERENCES parent (referenced)` and its `rules` (` ON DELETE
/// ...`, ` DEFERRABLE`) to `child` unless a key of that name is there already, or the parent is
/// not in the target: then `false`, for the caller to note it left out.
pub(super) fn add(
    tx: &mut impl GenericClient,
    child: &str,
    name: &str,
    (columns, referenced): (&[String], &[String]),
    parent: &str,
    rules: &str,
    what: &str,
) -> Result<bool> {
    let context = |e| pg_error(e, format!("{what}: {child}: foreign key {name}"));
    let row = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2),
                    to_regclass($3) IS NOT NULL",
            &[&child, &name, &parent],
        )
        .map_err(context)?;
    let (present, parent_exists): (bool, bool) = (row.get(0), row.get(1));
    if present || !parent_exists {
        return Ok(parent_exists);
    }
    let list = |cols: &[String]| {
        cols.iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    tx.batch_execute(&format!(
        "ALTER TABLE {child} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {parent} ({}){rules}",
        quote_ident(name),
        list(columns),
        list(referenced)
    ))
    .map_err(context)?;
    Ok(true)
}
