//! ADBC and DuckDB targets of a driver whose SQL ferry knows: PostgreSQL as
//! [`super::postgres`] checks it (through the driver), SQLite and DuckDB by their own locks.

use adbc_driver_manager::ManagedConnection;

use super::tables::{Catalog, Dropped, Qualify};
use crate::adbc::{execute, query_text, quote_ident, quote_literal, AdbcSettings, Dialect};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};

/// An ADBC target of a driver whose SQL ferry knows (PostgreSQL, SQLite, DuckDB).
pub(super) struct AdbcCatalog {
    settings: AdbcSettings,
    conn: ManagedConnection,
    dialect: Dialect,
    /// The schema the target writes to (PostgreSQL, DuckDB): the URL's, else the
    /// connection's.
    schema: Option<String>,
}

impl AdbcCatalog {
    pub(super) fn open(endpoint: &Endpoint) -> Result<Self> {
        let settings = AdbcSettings::from_endpoint(endpoint)?;
        let db = settings.open()?;
        let settings = db.settings.clone();
        let mut conn = db.connect()?;
        let Some(dialect) = settings.dialect else {
            return Err(Error::unsupported(format!(
                "{settings}: cleanup knows the SQL of the PostgreSQL, SQLite and DuckDB \
                 drivers only; drop the tables named _ferry_... by hand"
            )));
        };
        let schema = match (&settings.schema, dialect) {
            (_, Dialect::Sqlite) => None,
            (Some(s), _) => Some(s.clone()),
            (None, _) => query_text(&settings, &mut conn, "SELECT current_schema()")?
                .into_iter()
                .next()
                .and_then(|r| r.into_iter().next().flatten()),
        };
        if dialect == Dialect::Postgres {
            // A drop waits at most a moment for a table another session holds.
            execute(&settings, &mut conn, "SET lock_timeout = '200ms'")?;
        }
        Ok(AdbcCatalog {
            settings,
            conn,
            dialect,
            schema,
        })
    }

    fn quoted(&self, table: &str) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", quote_ident(s), quote_ident(table)),
            None => quote_ident(table),
        }
    }

    fn one(&mut self, sql: &str) -> Result<Option<String>> {
        Ok(query_text(&self.settings, &mut self.conn, sql)?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten()))
    }

    fn advisory(&mut self, f: &str, qualified: &str) -> Result<bool> {
        let (k1, k2) = crate::sink::target_lock_keys(qualified);
        let v = self.one(&format!("SELECT {f}({k1}, {k2})"))?;
        Ok(matches!(v.as_deref(), Some("true" | "t" | "1")))
    }
}

impl Catalog for AdbcCatalog {
    fn tables(&mut self) -> Result<Vec<String>> {
        let schema = quote_literal(self.schema.as_deref().unwrap_or(""));
        let sql = match self.dialect {
            Dialect::Postgres => format!(
                "SELECT tablename::text FROM pg_catalog.pg_tables WHERE schemaname = {schema}"
            ),
            Dialect::Duckdb => format!(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = \
                 {schema} AND table_type = 'BASE TABLE'"
            ),
            Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'".into(),
        };
        let mut names: Vec<String> = query_text(&self.settings, &mut self.conn, &sql)?
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect();
        names.sort();
        Ok(names)
    }

    fn shown(&self, table: &str) -> String {
        self.quoted(table)
    }

    fn qualifiers(&self) -> Vec<Qualify<'_>> {
        // The ADBC sink hashes the bare name; ferry's own PostgreSQL sink, writing the
        // same database, `"schema"."table"`.
        let mut q: Vec<Qualify<'_>> = vec![Box::new(|t| t.to_string())];
        if self.dialect == Dialect::Postgres {
            q.push(Box::new(|t| self.quoted(t)));
        }
        q
    }

    fn try_lock_target(&mut self, qualified: &str) -> Result<bool> {
        match self.dialect {
            Dialect::Postgres => self.advisory("pg_try_advisory_lock", qualified),
            // Runs hold the whole database in their transaction.
            _ => Ok(true),
        }
    }

    fn unlock_target(&mut self, qualified: &str) -> Result<()> {
        if self.dialect == Dialect::Postgres {
            self.advisory("pg_advisory_unlock", qualified)?;
        }
        Ok(())
    }

    fn unresolved_in_use(&mut self, table: &str) -> Result<Option<String>> {
        if self.dialect == Dialect::Postgres {
            let pid = self.one(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 \
                 AND granted AND pid <> pg_backend_pid() AND database = \
                 (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1",
            )?;
            if let Some(pid) = pid {
                return Ok(Some(format!(
                    "its target cannot be told from its name, and session {pid} holds a \
                     target lock (perhaps its run's)"
                )));
            }
        }
        self.in_use(table)
    }

    fn in_use(&mut self, table: &str) -> Result<Option<String>> {
        if self.dialect != Dialect::Postgres {
            return Ok(None);
        }
        let q = quote_literal(&self.quoted(table));
        let pid = self.one(&format!(
            "SELECT pid FROM pg_locks WHERE relation = to_regclass({q}) \
             AND pid <> pg_backend_pid() LIMIT 1"
        ))?;
        Ok(pid.map(|p| format!("session {p} holds a lock on it (a load into it is running)")))
    }

    fn drop_table(&mut self, table: &str) -> Result<Dropped> {
        if let Some(why) = self.in_use(table)? {
            return Ok(Dropped::InUse(why));
        }
        let sql = format!("DROP TABLE IF EXISTS {}", self.quoted(table));
        match execute(&self.settings, &mut self.conn, &sql) {
            Ok(()) => Ok(Dropped::Removed),
            Err(e) => {
                let m = e.message().to_ascii_lowercase();
                if m.contains("sqlstate 55p03") || m.contains("database is locked") {
                    Ok(Dropped::InUse(
                        "another session holds a lock on it".to_string(),
                    ))
                } else {
                    Err(e)
                }
            }
        }
    }
}
