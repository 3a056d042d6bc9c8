//! `ferry cleanup`: removes what ferry left in a target, never what a running ferry still uses.
//!
//! ferry's state in a database target is its tables named `_ferry_...`: the staging tables of
//! runs that were killed (`_ferry_<name>_<hash>_<run>`, see [`crate::sink`]), the `_old` table of
//! a MySQL swap killed before its last `DROP`, and records such as `_ferry_loads`. The first two
//! are debris and removed; the others are kept unless asked for (`all`). A staging table is
//! dropped only while its target table's lock is held (the lock a run holds while it writes the
//! table), and only if no other session holds a lock on the table itself (an `append` loading
//! into it); one in use is listed and left alone. `tables` holds that loop, `postgres`,
//! `mysql`, `sqlite` and `adbc` what each engine checks; `files` cleans snapshot directories
//! and single-file targets.

mod adbc;
mod files;
mod mysql;
mod postgres;
mod sqlite;
mod tables;

use serde::Serialize;

use crate::endpoint::{Endpoint, Scheme};
use crate::error::{Error, Result};
pub(crate) use crate::sink::StagingName;

/// How a cleanup runs.
#[derive(Debug, Clone, Default)]
pub struct CleanupOptions {
    /// List what would be removed; remove nothing.
    pub dry_run: bool,
    /// Also remove ferry's state that is not debris: the `_ferry_loads` record, every other
    /// `_ferry_` table, a snapshot's lock file.
    pub all: bool,
    /// The PostgreSQL schema when the URL names none (`--schema`); else `current_schema()`.
    pub schema: Option<String>,
}

impl CleanupOptions {
    /// List only.
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Also remove the state that is not debris.
    pub fn with_all(mut self, all: bool) -> Self {
        self.all = all;
        self
    }

    /// The PostgreSQL schema to clean when the URL names none.
    pub fn with_schema(mut self, schema: Option<String>) -> Self {
        self.schema = schema;
        self
    }
}

/// What a cleanup found, and what it did with each object.
#[derive(Debug, Clone, Serialize)]
pub struct CleanupReport {
    /// The target, without its password.
    pub target: String,
    pub dry_run: bool,
    pub objects: Vec<Found>,
}

impl CleanupReport {
    /// How many objects ended with `action`.
    pub fn count(&self, action: Action) -> usize {
        self.objects.iter().filter(|o| o.action == action).count()
    }
}

/// One object of ferry's in the target.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    /// The table (quoted and qualified as the target writes it) or the path.
    pub object: String,
    pub kind: Kind,
    pub action: Action,
    /// The target table a staging table belongs to, when its name tells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_table: Option<String>,
    /// Why it was removed, kept or left alone.
    pub reason: String,
}

/// What an object of ferry's is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A staging table (`_ferry_<name>_<hash>_<run>`, or its `_in` side table).
    StagingTable,
    /// The old table of a MySQL swap (`..._old`), left by a run killed before dropping it.
    SwapLeftover,
    /// `_ferry_loads`: which snapshot tables were loaded into the target.
    LoadsTable,
    /// Another table whose name starts with `_ferry_`.
    FerryTable,
    /// A snapshot's `.ferry-lock`.
    LockFile,
    /// A snapshot's `.ferry-staging` directory.
    StagingDir,
    /// A part file no manifest lists.
    UnlistedFile,
    /// `_ferry_manifest.json.tmp`, a manifest never renamed into place.
    ManifestTemp,
    /// `_ferry_incomplete`, the marker of a snapshot being written for the first time.
    IncompleteMarker,
    /// A whole snapshot directory that a killed first write left without a manifest.
    IncompleteSnapshot,
    /// A single-file target's temporary file (`.NAME.RUN.ferry-tmp`).
    TempFile,
}

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Removed,
    /// `--dry-run`: it would have been removed.
    WouldRemove,
    /// Left on purpose (not debris: `--all` removes it).
    Kept,
    /// Left alone: a running ferry (or another session) uses it.
    InUse,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Removed => "removed",
            Action::WouldRemove => "would remove",
            Action::Kept => "kept",
            Action::InUse => "in use",
        }
    }
}

/// Removes ferry's state from `endpoint` (lists it only, with `dry_run`), leaving alone what a
/// running ferry holds. Something in use is listed, not an error.
pub fn cleanup(endpoint: &Endpoint, options: &CleanupOptions) -> Result<CleanupReport> {
    let CleanupOptions {
        dry_run,
        all: _,
        schema,
    } = options;
    if schema.is_some() && endpoint.scheme != Scheme::Postgres {
        return Err(Error::invalid_args(format!(
            "{endpoint}: --schema is for postgres:// targets; ADBC and DuckDB take ?schema= in \
             the URL, MySQL the URL's database"
        )));
    }
    let objects = match endpoint.scheme {
        Scheme::Postgres => {
            tables::clean(&mut postgres::PgCatalog::open(endpoint, options)?, options)?
        }
        Scheme::Mysql => tables::clean(&mut mysql::MyCatalog::open(endpoint)?, options)?,
        Scheme::Sqlite => tables::clean(&mut sqlite::SqliteCatalog::open(endpoint)?, options)?,
        Scheme::Adbc | Scheme::Duckdb => {
            tables::clean(&mut adbc::AdbcCatalog::open(endpoint)?, options)?
        }
        Scheme::Parquet => files::clean(endpoint, "parquet", options)?,
        Scheme::Csv => files::clean(endpoint, "csv", options)?,
        Scheme::Tpch => {
            return Err(Error::invalid_args(format!(
                "{endpoint}: the TPC-H generator is a source only; it has nothing to clean up"
            )))
        }
    };
    Ok(CleanupReport {
        target: endpoint.to_string(),
        dry_run: *dry_run,
        objects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_names_parse_back_to_their_parts() {
        let q = "\"s\".\"orders\"";
        let name = crate::sink::staging_name(q, "orders", "");
        let s = StagingName::parse(&name).expect("a staging name");
        assert_eq!((s.short, s.suffix), ("orders", ""));
        let tables = vec!["orders".to_string(), "other".to_string()];
        let quote = |t: &str| format!("\"s\".\"{t}\"");
        assert_eq!(
            s.target(&tables, &[&quote]),
            Some(("orders".to_string(), q.to_string()))
        );
        // A target not created yet is found by its own name.
        assert_eq!(
            s.target(&[], &[&quote]).map(|t| t.0).as_deref(),
            Some("orders")
        );
        let old = crate::sink::staging_name("`db`.`a_b`", "a_b", "_old");
        let s = StagingName::parse(&old).expect("a swap's old table");
        assert_eq!((s.short, s.suffix), ("a_b", "_old"));
        // A long name is cut: its target is found only among the tables there.
        let long = "ţ".repeat(20);
        let name = crate::sink::staging_name(&long, &long, "_in");
        let s = StagingName::parse(&name).expect("a cut name");
        assert_eq!(s.suffix, "_in");
        assert!(s.short.len() <= 32 && long.starts_with(s.short));
        let bare = |t: &str| t.to_string();
        assert_eq!(s.target(&[], &[&bare]), None);
        assert_eq!(
            s.target(std::slice::from_ref(&long), &[&bare]).map(|t| t.0),
            Some(long.clone())
        );
    }

    #[test]
    fn other_names_are_not_staging() {
        for name in [
            "_ferry_loads",
            "_ferryish",
            "ferry_x",
            "_ferry_t_1234567_12345678",
            "_ferry_t_1234567g_12345678",
            "_ferry_t_12345678_12345678_pkey",
            "_ferry_t_ABCDEF12_12345678",
        ] {
            assert_eq!(StagingName::parse(name), None, "{name}");
        }
        assert!(StagingName::parse("_ferry__12345678_9abcdef0").is_some());
    }
}
