//! Sinks: what can be written. A sink prepares a target table from an Arrow schema and returns a
//! [`TableWriter`]; the writer takes batches and commits only in `finish()`. A writer dropped
//! without `finish()` aborts and leaves the target as it was. File sinks publish their tables
//! and the snapshot manifest in one last step, [`Sink::commit`], after every table finished.

pub mod csv;
pub mod parquet;
pub mod postgres;
pub mod sqlite;

use std::path::PathBuf;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::endpoint::{Endpoint, Scheme};
use crate::error::Result;

/// What to do when the target table exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IfExists {
    /// Refuse to touch an existing table (the default).
    #[default]
    Fail,
    /// Add the rows to the existing table.
    Append,
    /// Load a new table and swap it in place of the old one at the end.
    Replace,
    /// Empty the existing table (keeping its definition) and load it, in one transaction.
    Truncate,
}

/// What a table writer wrote.
#[derive(Debug, Clone, Default)]
pub struct WriteStats {
    pub rows: u64,
    /// Bytes written to files (file sinks), or of the batches written (database sinks).
    pub bytes: u64,
    /// Files a file sink wrote for the table.
    pub files: Vec<PathBuf>,
}

/// The writer of one target table.
pub trait TableWriter: Send {
    /// Writes one batch.
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;
    /// Commits (or swaps in) the table and says what was written.
    fn finish(self: Box<Self>) -> Result<WriteStats>;
}

/// A writable endpoint.
pub trait Sink: Send + Sync {
    /// The target definition the sink would create for `schema`, for `--dry-run`.
    fn describe_target(&self, table: &str, schema: &SchemaRef) -> Result<String>;
    /// Whether the target table exists.
    fn exists(&self, table: &str) -> Result<bool>;
    /// Starts writing `table`.
    fn prepare(
        &self,
        table: &str,
        schema: &SchemaRef,
        mode: IfExists,
    ) -> Result<Box<dyn TableWriter + '_>>;
    /// Publishes everything the finished writers wrote (file sinks); called once, last.
    fn commit(&self) -> Result<()> {
        Ok(())
    }
}

/// How a sink writes.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// Connections (or threads) a database sink loads one table with.
    pub jobs: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions { jobs: 1 }
    }
}

/// Opens the sink an endpoint names.
pub fn open_sink(endpoint: &Endpoint, options: &WriteOptions) -> Result<Box<dyn Sink>> {
    Ok(match endpoint.scheme {
        Scheme::Sqlite => Box::new(sqlite::SqliteSink::try_new(endpoint)?),
        Scheme::Parquet => Box::new(parquet::ParquetSink::try_new(endpoint)?),
        Scheme::Csv => Box::new(csv::CsvSink::try_new(endpoint)?),
        Scheme::Postgres => Box::new(postgres::PgSink::try_new(endpoint, options)?),
    })
}
