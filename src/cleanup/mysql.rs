//! MySQL and MariaDB: the target lock is the run's `GET_LOCK`; a table in use is one a
//! statement of another connection names (`PROCESSLIST`), or whose metadata lock the drop does
//! not get within `lock_wait_timeout` (1 s).

use ::mysql::prelude::Queryable;
use ::mysql::Conn;

use super::tables::{Catalog, Dropped, Qualify};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::mysql::{exec, my_error, quote_ident, MySettings};

/// MySQL's error for a lock not granted in `lock_wait_timeout` (metadata locks included).
const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;
const ER_BAD_TABLE_ERROR: u16 = 1051;

pub(super) struct MyCatalog {
    settings: MySettings,
    conn: Conn,
    db: String,
}

impl MyCatalog {
    pub(super) fn open(endpoint: &Endpoint) -> Result<Self> {
        let settings = MySettings::from_endpoint(endpoint)?;
        let db = settings.database.clone().ok_or_else(|| {
            Error::invalid_args(format!(
                "{settings}: the URL names no database to clean up (mysql://host/DB)"
            ))
        })?;
        let mut conn = settings.connect()?;
        // A drop waits at most a second for a table another connection holds.
        exec(&mut conn, "SET SESSION lock_wait_timeout = 1", || {
            format!("{settings}: cleanup")
        })?;
        Ok(MyCatalog { settings, conn, db })
    }

    fn qualified(&self, table: &str) -> String {
        format!("{}.{}", quote_ident(&self.db), quote_ident(table))
    }

    fn lock_name(qualified: &str) -> String {
        let (k1, k2) = crate::sink::target_lock_keys(qualified);
        format!("ferry:{k1:08x}{k2:08x}")
    }

    fn what(&self, what: &str) -> String {
        format!(
            "{}: cleanup of {}: {what}",
            self.settings,
            quote_ident(&self.db)
        )
    }
}

impl Catalog for MyCatalog {
    fn tables(&mut self) -> Result<Vec<String>> {
        let what = self.what("listing tables");
        self.conn
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES
                 WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
                (&self.db,),
            )
            .map_err(|e| my_error(e, what))
    }

    fn shown(&self, table: &str) -> String {
        self.qualified(table)
    }

    fn qualifiers(&self) -> Vec<Qualify<'_>> {
        vec![Box::new(|t| self.qualified(t))]
    }

    fn try_lock_target(&mut self, qualified: &str) -> Result<bool> {
        let what = self.what("target lock");
        let got: Option<Option<i64>> = self
            .conn
            .exec_first("SELECT GET_LOCK(?, 0)", (Self::lock_name(qualified),))
            .map_err(|e| my_error(e, what))?;
        Ok(got.flatten() == Some(1))
    }

    fn unlock_target(&mut self, qualified: &str) -> Result<()> {
        let what = self.what("target lock");
        let _: Option<Option<i64>> = self
            .conn
            .exec_first("SELECT RELEASE_LOCK(?)", (Self::lock_name(qualified),))
            .map_err(|e| my_error(e, what))?;
        Ok(())
    }

    fn unresolved_in_use(&mut self, table: &str) -> Result<Option<String>> {
        // The target's lock cannot be named; ferry's connections use the URL's database,
        // so a connection to this database may be the run's.
        let what = self.what("connections");
        let other: Option<u64> = self
            .conn
            .exec_first(
                "SELECT ID FROM information_schema.PROCESSLIST
                 WHERE ID <> CONNECTION_ID() AND DB = ? LIMIT 1",
                (&self.db,),
            )
            .map_err(|e| my_error(e, what))?;
        if let Some(id) = other {
            return Ok(Some(format!(
                "its target cannot be told from its name, and connection {id} uses this \
                 database (perhaps its run)"
            )));
        }
        self.in_use(table)
    }

    fn in_use(&mut self, table: &str) -> Result<Option<String>> {
        let what = self.what("connections");
        let id: Option<u64> = self
            .conn
            .exec_first(
                "SELECT ID FROM information_schema.PROCESSLIST
                 WHERE ID <> CONNECTION_ID() AND INFO IS NOT NULL AND LOCATE(?, INFO) > 0
                 LIMIT 1",
                (table,),
            )
            .map_err(|e| my_error(e, what))?;
        Ok(id.map(|id| format!("connection {id} is running a statement on it")))
    }

    fn drop_table(&mut self, table: &str) -> Result<Dropped> {
        if let Some(why) = self.in_use(table)? {
            return Ok(Dropped::InUse(why));
        }
        let q = self.qualified(table);
        match self.conn.query_drop(format!("DROP TABLE {q}")) {
            Ok(()) => Ok(Dropped::Removed),
            Err(::mysql::Error::MySqlError(e)) if e.code == ER_LOCK_WAIT_TIMEOUT => {
                Ok(Dropped::InUse(
                    "another connection holds it (its metadata lock was not granted in 1 s)".into(),
                ))
            }
            Err(::mysql::Error::MySqlError(e)) if e.code == ER_BAD_TABLE_ERROR => Ok(Dropped::Gone),
            Err(e) => Err(my_error(e, format!("{}: {q}: drop", self.settings))),
        }
    }
}
