//! SQLite: a run holds the database's run lock (`<database>.ferry-lock`) for its whole run, so
//! the cleanup takes it too, then the write lock (`BEGIN IMMEDIATE`, which another writer, an
//! ADBC run say, may hold), and drops every table in one transaction; a database being written
//! is left alone as a whole.

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::tables::{Catalog, Dropped, Qualify};
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::sink::sqlite::lock::{lock_path, RunLock};
use crate::types::quote_ident;

/// How long the cleanup waits for a database another connection is writing.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// A SQLite file: one ferry run at a time writes it, holding its run lock throughout, so a
/// database being written is left alone as a whole.
pub(super) struct SqliteCatalog {
    name: String,
    path: std::path::PathBuf,
    conn: Connection,
    in_transaction: bool,
    /// The database's run lock, held from `busy` to the end of the cleanup.
    lock: Option<RunLock>,
}

impl SqliteCatalog {
    pub(super) fn open(endpoint: &Endpoint) -> Result<Self> {
        endpoint.check_options(&[])?;
        let name = endpoint.to_string();
        if !endpoint.path.is_file() {
            return Err(Error::not_found(format!("{name}: no such database file")));
        }
        let conn = Connection::open_with_flags(
            &endpoint.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Error::sqlite(format!("{name}: cannot open"), e))?;
        conn.busy_timeout(BUSY_WAIT)
            .map_err(|e| Error::sqlite(format!("{name}: cannot open"), e))?;
        Ok(SqliteCatalog {
            name,
            path: endpoint.path.clone(),
            conn,
            in_transaction: false,
            lock: None,
        })
    }

    fn err(&self, what: &str) -> impl Fn(rusqlite::Error) -> Error {
        let what = format!("{}: cleanup: {what}", self.name);
        move |e| Error::sqlite(what.clone(), e)
    }
}

impl Catalog for SqliteCatalog {
    fn tables(&mut self) -> Result<Vec<String>> {
        let ctx = self.err("listing tables");
        let mut stmt = self
            .conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
            .map_err(&ctx)?;
        let names = stmt
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
            .map_err(&ctx)?;
        Ok(names)
    }

    fn shown(&self, table: &str) -> String {
        quote_ident(table)
    }

    fn qualifiers(&self) -> Vec<Qualify<'_>> {
        // The ADBC SQLite sink hashes the bare name.
        vec![Box::new(|t| t.to_string())]
    }

    fn busy(&mut self, dry_run: bool) -> Result<Option<String>> {
        match RunLock::take(&self.path, &self.name) {
            Ok(lock) => self.lock = Some(lock),
            Err(e) if e.kind() == ErrorKind::Busy => {
                return Ok(Some(format!(
                    "the database is being written by a running ferry (it holds {})",
                    lock_path(&self.path).display()
                )))
            }
            Err(e) => return Err(e),
        }
        match self.conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => {
                if dry_run {
                    self.conn
                        .execute_batch("ROLLBACK")
                        .map_err(self.err("rollback"))?;
                } else {
                    self.in_transaction = true;
                }
                Ok(None)
            }
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) =>
            {
                Ok(Some(
                    "the database is being written (a running ferry holds its write lock)".into(),
                ))
            }
            Err(e) => Err(self.err("write lock")(e)),
        }
    }

    fn try_lock_target(&mut self, _qualified: &str) -> Result<bool> {
        // The database's write lock, taken by `busy`, covers every table.
        Ok(true)
    }

    fn unlock_target(&mut self, _qualified: &str) -> Result<()> {
        Ok(())
    }

    fn unresolved_in_use(&mut self, _table: &str) -> Result<Option<String>> {
        Ok(None)
    }

    fn in_use(&mut self, _table: &str) -> Result<Option<String>> {
        Ok(None)
    }

    fn drop_table(&mut self, table: &str) -> Result<Dropped> {
        self.conn
            .execute_batch(&format!("DROP TABLE {}", quote_ident(table)))
            .map_err(self.err(&format!("drop {}", quote_ident(table))))?;
        Ok(Dropped::Removed)
    }

    fn finish(&mut self) -> Result<()> {
        if std::mem::take(&mut self.in_transaction) {
            self.conn
                .execute_batch("COMMIT")
                .map_err(self.err("commit"))?;
        }
        self.lock = None;
        Ok(())
    }
}
