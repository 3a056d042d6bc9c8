//! Sources: what can be read. A source lists its tables, plans each into an Arrow schema (with
//! the declared source types in the field metadata) and partitions, and opens a partition as a
//! stream of record batches. Partitions are read in parallel by the pipeline.

pub mod adbc;
pub mod csv;
pub mod mysql;
pub mod parquet;
pub mod postgres;
pub mod sqlite;
pub mod tpch;

use std::path::PathBuf;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::endpoint::{Endpoint, Scheme};
use crate::error::Result;

/// A stream of batches from one partition. ferry's own error type instead of arrow's
/// `RecordBatchReader`, so a failure keeps its kind and context (table, column, row).
pub type BatchStream = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// The sending end of a [`thread_stream`]: the reader blocks while the pipeline is busy.
pub(crate) type BatchSender = std::sync::mpsc::SyncSender<Result<RecordBatch>>;

/// Runs `read` on a thread of its own and returns the batches it sends as a stream. The channel
/// holds one batch, so a slow pipeline slows the reader; an error `read` returns ends the
/// stream; a dropped stream makes the reader's next send fail, which tells it to stop.
pub(crate) fn thread_stream(
    name: String,
    read: impl FnOnce(&BatchSender) -> Result<()> + Send + 'static,
) -> Result<BatchStream> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<RecordBatch>>(1);
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            if let Err(e) = read(&tx) {
                let _ = tx.send(Err(e));
            }
        })
        .map_err(|e| crate::error::Error::io("cannot start a reader thread", e))?;
    Ok(Box::new(rx.into_iter()))
}

/// What a source is asked to read: a table, or the result of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableRef {
    Table(String),
    Query(String),
}

impl std::fmt::Display for TableRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TableRef::Table(t) => write!(f, "table \"{t}\""),
            TableRef::Query(_) => f.write_str("query"),
        }
    }
}

/// One independently readable slice of a table.
#[derive(Debug, Clone)]
pub struct Partition {
    /// The partition's position in its table's plan.
    pub index: usize,
    /// A short human description (`rowid 1..=250000`, `part-00000.parquet row groups 0..4`).
    pub label: String,
    /// Where the partition's rows are.
    pub spec: PartitionSpec,
}

/// Where a batch's rows are in the source: its partition and the position of its first row in
/// the partition's stream, so a sink's error names the source's row, whatever the batches'
/// order at the sink (`--jobs` readers interleave partitions).
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The partition's label ([`Partition::label`]); empty when unknown.
    pub partition: std::sync::Arc<str>,
    /// The 0-based position, in the partition's stream, of the batch's first row.
    pub first_row: u64,
    /// Rows of the partition were left out before this batch (a filter step ran): the
    /// position counts the rows the filter kept.
    pub filtered: bool,
}

impl Origin {
    /// The source row of the batch's row `i` (0-based), as an error names it:
    /// `row 24852 of partition "rowid 100001..=200000"` (1-based within the partition).
    pub fn row(&self, i: usize) -> String {
        let n = self.first_row + i as u64 + 1;
        match (self.partition.is_empty(), self.filtered) {
            (true, _) => format!("row {n}"),
            (false, false) => format!("row {n} of partition \"{}\"", self.partition),
            (false, true) => format!(
                "row {n} of partition \"{}\" (counting the rows the filter kept)",
                self.partition
            ),
        }
    }
}

/// Source-specific description of a partition.
#[derive(Debug, Clone)]
pub enum PartitionSpec {
    /// Every row of the table.
    Whole,
    /// Every row of a query.
    Query(String),
    /// SQLite rowids in `lo..=hi`.
    RowidRange { lo: i64, hi: i64 },
    /// The statement that reads the partition (PostgreSQL: its `COPY ... TO STDOUT`).
    Sql(String),
    /// A file, and for Parquet some of its row groups.
    File {
        path: PathBuf,
        row_groups: Option<Vec<usize>>,
    },
    /// Part `part` (1-based) of `parts` of a generated table (TPC-H).
    Generated { part: i32, parts: i32 },
    /// A partition descriptor an ADBC driver returned from `ExecutePartitions`.
    Handle(Vec<u8>),
}

/// A table's plan: its schema and partitions, planned before any row moves.
#[derive(Debug, Clone)]
pub struct TablePlan {
    /// The name the table has at the source (the default target name).
    pub name: String,
    pub schema: SchemaRef,
    pub partitions: Vec<Partition>,
    /// Rows at the source, when known without reading them.
    pub rows: Option<u64>,
    /// Values the source (and the table's transform steps) replaced, for example by NULL,
    /// because the user allowed a lossy read, per column; the run report shows the counts.
    pub lossy: crate::report::LossyCounter,
    /// A predicate in the source's SQL (the dialect of [`Source::filter_dialect`]) over the
    /// source's columns: only rows for which it is true are to be read. Set by the planner.
    pub filter: Option<String>,
}

impl TablePlan {
    /// The plan of a database table or query read by one SQL statement per partition:
    /// `pieces` are `(label, statement)` pairs.
    pub(crate) fn of_statements(
        name: String,
        fields: Vec<arrow::datatypes::Field>,
        pieces: Vec<(String, String)>,
        rows: Option<u64>,
    ) -> TablePlan {
        TablePlan {
            name,
            schema: Arc::new(arrow::datatypes::Schema::new(fields)),
            partitions: pieces
                .into_iter()
                .enumerate()
                .map(|(index, (label, sql))| Partition {
                    index,
                    label,
                    spec: PartitionSpec::Sql(sql),
                })
                .collect(),
            rows,
            lossy: Default::default(),
            filter: None,
        }
    }
}

/// A table's keys, for `--with-keys`: built by the sink once the rows are in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableKeys {
    /// The primary key's columns, in key order; empty for none.
    pub primary_key: Vec<String>,
    pub foreign_keys: Vec<ForeignKey>,
}

/// `FOREIGN KEY (columns) REFERENCES table (referenced)`, with what it does when a referenced
/// row goes or its key changes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    /// The referenced table, by its source name.
    pub table: String,
    pub referenced: Vec<String>,
    pub on_delete: KeyAction,
    pub on_update: KeyAction,
    /// `DEFERRABLE` at the source (PostgreSQL), and `INITIALLY DEFERRED`: kept where the
    /// target has deferred checks (PostgreSQL).
    pub deferrable: bool,
    pub initially_deferred: bool,
}

impl ForeignKey {
    /// ` ON DELETE ... ON UPDATE ...` for the actions that are not the default (`NO ACTION`).
    pub fn rules(&self) -> String {
        let mut out = String::new();
        for (event, action) in [("DELETE", self.on_delete), ("UPDATE", self.on_update)] {
            if action != KeyAction::NoAction {
                out.push_str(&format!(" ON {event} {}", action.sql()));
            }
        }
        out
    }
}

/// A foreign key's referential action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyAction {
    #[default]
    NoAction,
    Restrict,
    Cascade,
    SetNull,
    SetDefault,
}

impl KeyAction {
    pub fn sql(self) -> &'static str {
        match self {
            KeyAction::NoAction => "NO ACTION",
            KeyAction::Restrict => "RESTRICT",
            KeyAction::Cascade => "CASCADE",
            KeyAction::SetNull => "SET NULL",
            KeyAction::SetDefault => "SET DEFAULT",
        }
    }

    /// From PostgreSQL's `pg_constraint.confdeltype` / `confupdtype` letter.
    pub fn from_pg(letter: &str) -> KeyAction {
        match letter {
            "r" => KeyAction::Restrict,
            "c" => KeyAction::Cascade,
            "n" => KeyAction::SetNull,
            "d" => KeyAction::SetDefault,
            _ => KeyAction::NoAction,
        }
    }

    /// From `information_schema.REFERENTIAL_CONSTRAINTS`' `DELETE_RULE` / `UPDATE_RULE`.
    pub fn from_rule(rule: &str) -> KeyAction {
        match rule.to_ascii_uppercase().as_str() {
            "RESTRICT" => KeyAction::Restrict,
            "CASCADE" => KeyAction::Cascade,
            "SET NULL" => KeyAction::SetNull,
            "SET DEFAULT" => KeyAction::SetDefault,
            _ => KeyAction::NoAction,
        }
    }
}

/// A relation a source holds but leaves out of [`Source::tables`]: a view, a materialized view,
/// a foreign table. Its rows are a query over other relations (or another server's), so a run
/// without `--table` copies the base tables only and names these as not copied; `--table`
/// copies one's rows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NotCopied {
    /// The name as `--table` takes it (quoted where needed, as [`Source::tables`] gives names).
    pub name: String,
    /// `view`, `materialized view` or `foreign table`.
    pub kind: String,
    /// What else stands in the way, for example `not populated` for a materialized view.
    pub note: Option<String>,
}

impl std::fmt::Display for NotCopied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}", self.name, self.kind)?;
        if let Some(note) = &self.note {
            write!(f, ", {note}")?;
        }
        f.write_str(")")
    }
}

/// A readable endpoint.
pub trait Source: Send + Sync {
    /// The tables this source holds, in a stable order: what a run without `--table` copies.
    fn tables(&self) -> Result<Vec<String>>;
    /// The relations [`Source::tables`] leaves out (views, materialized views, foreign tables),
    /// in a stable order, for the run summary, the report and `ferry inspect`. Each can still
    /// be planned by name. Sources without such relations have none.
    /// The identity of the snapshot table `plan` reads
    /// ([`crate::snapshot::TableEntry::identity`]), which a database target records; `None` for
    /// sources that are not snapshots.
    fn snapshot_table(&self, plan: &TablePlan) -> Option<String> {
        let _ = plan;
        None
    }
    fn not_copied(&self) -> Result<Vec<NotCopied>> {
        Ok(Vec::new())
    }
    /// Plans a table or query: schema and partitions.
    fn plan(&self, table: &TableRef) -> Result<TablePlan>;
    /// Opens one partition of a planned table.
    fn open(&self, plan: &TablePlan, partition: &Partition) -> Result<BatchStream>;
    /// The SQL dialect in which this source evaluates filters (`TablePlan::filter`), if it
    /// does. A database source returns its dialect and applies the filter in its query.
    fn filter_dialect(&self) -> Option<crate::transform::filter::SqlDialect> {
        None
    }

    /// Whether the source declares keys in a catalog (PostgreSQL, MySQL/MariaDB, SQLite): then
    /// its foreign keys come with a copy into new tables by default. Others (TPC-H, files)
    /// have keys only with `--with-keys`.
    fn declares_keys(&self) -> bool {
        false
    }

    /// The keys of a planned table (`table` as planned), for `--with-keys`. By default the
    /// primary key recorded in the schema's field metadata (`ferry.primary_key`) and no
    /// foreign keys.
    fn keys(&self, table: &TableRef, plan: &TablePlan) -> Result<TableKeys> {
        let _ = table;
        Ok(primary_key_of(plan))
    }
}

/// The primary key recorded in a plan's field metadata (`ferry.primary_key`), no foreign keys.
pub(crate) fn primary_key_of(plan: &TablePlan) -> TableKeys {
    {
        let mut key: Vec<(u32, String)> = plan
            .schema
            .fields()
            .iter()
            .filter_map(|f| crate::types::primary_key_position(f).map(|p| (p, f.name().clone())))
            .collect();
        key.sort();
        TableKeys {
            primary_key: key.into_iter().map(|(_, n)| n).collect(),
            foreign_keys: Vec::new(),
        }
    }
}

/// Limits on the batches a source produces.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub rows: usize,
    pub bytes: usize,
}

impl BatchLimits {
    pub const DEFAULT_ROWS: usize = 16_384;
    pub const DEFAULT_BYTES: usize = 16 * 1024 * 1024;
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            rows: Self::DEFAULT_ROWS,
            bytes: Self::DEFAULT_BYTES,
        }
    }
}

/// How a source reads: batch limits, parallelism and the partitioning asked for.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub limits: BatchLimits,
    /// Readers that will run at once (sources size their automatic partitions by it).
    pub jobs: usize,
    /// Database sources: the schema whose tables are listed and read (default: `public`).
    pub schema: Option<String>,
    /// Database sources: the column to split tables on, by quantiles.
    pub partition_on: Option<String>,
    /// The number of partitions (with `partition_on`), or of ctid ranges without it.
    pub partitions: Option<usize>,
    /// MySQL: what to do with zero dates.
    pub zero_dates: mysql::ZeroDates,
    /// MySQL: start each reader's snapshot without locking the tables (needs no RELOAD
    /// privilege; the readers may then see different moments).
    pub no_snapshot_lock: bool,
}

impl ReadOptions {
    pub fn new(limits: BatchLimits) -> Self {
        ReadOptions {
            limits,
            jobs: 1,
            ..Default::default()
        }
    }
}

/// Opens the source an endpoint names.
pub fn open_source(endpoint: &Endpoint, options: &ReadOptions) -> Result<Box<dyn Source>> {
    let limits = options.limits;
    Ok(match endpoint.scheme {
        Scheme::Sqlite => Box::new(sqlite::SqliteSource::try_new(endpoint, limits)?),
        Scheme::Parquet => Box::new(parquet::ParquetSource::try_new(endpoint, limits)?),
        Scheme::Csv => Box::new(csv::CsvSource::try_new(endpoint, limits)?),
        Scheme::Postgres => Box::new(postgres::PgSource::try_new(endpoint, options)?),
        Scheme::Mysql => Box::new(mysql::MySource::try_new(endpoint, options)?),
        Scheme::Tpch => Box::new(tpch::TpchSource::try_new(endpoint, limits)?),
        Scheme::Adbc | Scheme::Duckdb => Box::new(adbc::AdbcSource::try_new(endpoint, options)?),
    })
}

/// Whether a table is ferry's own state in a database it wrote (a staging table of a run, by
/// the exact shape of its name, or [`crate::sink::LOADS_TABLE`]): never copied as one of the
/// source's tables, but named in the run's not-copied list (and copied when named with
/// `--table`). A user's table named `_ferry_x` is a table like any other.
pub fn is_ferry_state(name: &str) -> bool {
    name == crate::sink::LOADS_TABLE || crate::sink::StagingName::parse(name).is_some()
}

/// The not-copied entry of a table of ferry's own state.
pub fn ferry_state(name: String) -> NotCopied {
    NotCopied {
        name,
        kind: "ferry state".to_string(),
        note: Some(
            "staging, progress or load records of ferry; `ferry cleanup` removes it".to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_key_says_its_actions_and_leaves_the_default_unsaid() {
        let fk = |d, u| ForeignKey {
            on_delete: d,
            on_update: u,
            ..Default::default()
        };
        assert_eq!(fk(KeyAction::NoAction, KeyAction::NoAction).rules(), "");
        assert_eq!(
            fk(KeyAction::from_pg("c"), KeyAction::from_pg("n")).rules(),
            " ON DELETE CASCADE ON UPDATE SET NULL"
        );
        assert_eq!(
            fk(
                KeyAction::from_rule("set default"),
                KeyAction::from_rule("RESTRICT")
            )
            .rules(),
            " ON DELETE SET DEFAULT ON UPDATE RESTRICT"
        );
        assert_eq!(KeyAction::from_rule("NO ACTION"), KeyAction::NoAction);
        assert_eq!(KeyAction::from_pg("a"), KeyAction::NoAction);
    }
}
