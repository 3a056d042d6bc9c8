//! Sinks: what can be written. A sink prepares a target table from an Arrow schema and returns a
//! [`TableWriter`]; the writer takes batches and commits only in `finish()`. A writer dropped
//! without `finish()` aborts and leaves the target as it was. File sinks publish their tables
//! and the snapshot manifest in one last step, [`Sink::commit`], after every table finished.

pub mod adbc;
pub(crate) mod chunks;
pub mod csv;
pub mod mysql;
pub mod parquet;
pub mod postgres;
pub mod sqlite;

use std::path::PathBuf;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::endpoint::{Endpoint, Scheme};
use crate::error::{Error, ErrorKind, Result};
use crate::source::{Origin, TableKeys};

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
    /// Values the sink replaced because the user allowed it (`--float-loss replace`), by
    /// target column.
    pub lossy: crate::report::LossyCounts,
    /// Seconds spent after the rows were in building the table's keys, indexes and checks
    /// (where the sink builds them with the table).
    pub schema_seconds: f64,
}

/// What a sink does with a float its target cannot hold: SQLite keeps -0.0 as 0.0 and NaN as
/// NULL; MySQL's and MariaDB's FLOAT and DOUBLE keep -0 as 0 and have no NaN or infinities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FloatLoss {
    /// Fail, naming the table, the column, the row and the value (the default).
    #[default]
    Error,
    /// Write -0.0 as 0.0, and NaN (and, in MySQL/MariaDB, ±infinity) as NULL; the run report
    /// counts them per column. NULL cannot go into a NOT NULL column: that stays an error.
    Replace,
}

/// The writer of one target table.
pub trait TableWriter: Send {
    /// Writes one batch.
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;
    /// Writes one batch read from `origin`, so an error about one of its rows names the source
    /// row ([`Origin::row`]); the pipeline calls this. By default as [`TableWriter::write`].
    fn write_from(&mut self, batch: &RecordBatch, origin: &Origin) -> Result<()> {
        let _ = origin;
        self.write(batch)
    }
    /// Commits (or swaps in) the table and says what was written.
    fn finish(self: Box<Self>) -> Result<WriteStats>;
    /// The chunks an earlier, interrupted run of the same plan committed (a writer prepared by
    /// [`Sink::prepare_chunked`] with `resume`): their names and rows. The pipeline reads none
    /// of them again. By default none.
    fn committed_chunks(&mut self) -> Result<Vec<(String, u64)>> {
        Ok(Vec::new())
    }
    /// The end of chunk `chunk` (a source partition, [`crate::source::Partition::label`]), of
    /// `rows` rows, every one of which was written with an origin naming it: a chunked writer
    /// commits its rows with a progress row, durably. By default nothing.
    fn end_chunk(&mut self, chunk: &str, rows: u64) -> Result<()> {
        let _ = (chunk, rows);
        Ok(())
    }
}

/// How a table is loaded chunk by chunk, each chunk committed with a progress row, so that a
/// run killed at any point is continued by `--resume` without reading a committed chunk again.
#[derive(Debug, Clone)]
pub struct ChunkPlan {
    /// A digest of everything that decides the table's rows: source, table, schema, steps,
    /// partitions, mode and target ([`crate::pipeline`] computes it). A resume of another
    /// plan is refused.
    pub fingerprint: String,
    /// Whether to continue from the chunks an earlier run of this plan committed.
    pub resume: Resume,
}

/// Whether a chunked load continues from the chunks an earlier run committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resume {
    /// The table is loaded from the start: an earlier run's chunks are dropped.
    #[default]
    No,
    /// `--resume`: continue from this plan's chunks; chunks of another plan are a refusal
    /// (the source or the options changed since they were committed).
    Yes,
    /// A retry within one command after a lost connection: continue from this plan's chunks,
    /// and load the table from the start if the plan changed (the earlier attempt's chunks
    /// are dropped, as a run without `--resume` drops them).
    Retry,
}

/// The suffix of the table beside a chunked load's staging table that holds its progress, one
/// row per committed chunk, written in the chunk's own transaction: what `--resume` continues
/// from. It goes with its staging table (swapped in, dropped, cleaned up).
pub(crate) const PROGRESS_SUFFIX: &str = "_p";

/// The name of the staging table a chunked load of `qualified` with `fingerprint` uses: the
/// shape of [`staging_name`], the run's tag replaced by the plan's, so the next run of the same
/// plan finds it.
pub(crate) fn chunked_staging_name(qualified: &str, table: &str, fingerprint: &str) -> String {
    format!(
        "{}{}",
        staging_prefix(qualified, table),
        &fingerprint[..8.min(fingerprint.len())]
    )
}

/// The schema objects a target creates with a new table ([`Sink::carries`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Carries {
    /// Secondary indexes (`ferry.indexes`).
    pub indexes: bool,
    /// CHECK constraints of this dialect (`ferry.checks`); `Some("*")`: all (a snapshot).
    pub checks: Option<&'static str>,
    /// Table and column comments (`ferry.comment`).
    pub comments: bool,
}

/// One target table's keys, for [`Sink::add_foreign_keys`]; foreign keys name target tables.
#[derive(Debug, Clone)]
pub struct TargetKeys {
    pub table: String,
    pub keys: TableKeys,
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
    /// Starts writing `table` chunk by chunk ([`ChunkPlan`]), where the sink can commit chunks
    /// durably ([`Sink::resumes`]); by default as [`Sink::prepare`].
    fn prepare_chunked(
        &self,
        table: &str,
        schema: &SchemaRef,
        mode: IfExists,
        chunks: &ChunkPlan,
    ) -> Result<Box<dyn TableWriter + '_>> {
        let _ = chunks;
        self.prepare(table, schema, mode)
    }
    /// Which of the schema objects a schema records (indexes, checks, comments) the target
    /// creates (or, a snapshot, records) in the tables it creates. The others are left out, and
    /// named.
    fn carries(&self) -> Carries {
        Carries::default()
    }
    /// Whether a killed or failed run into this target can be continued with `--resume`.
    fn resumes(&self) -> bool {
        false
    }
    /// Ends a run that failed or was cancelled: drops what it was to publish, and says what
    /// it kept for `--resume`, one line per table (empty when nothing was kept).
    fn abandon(&self) -> Vec<String> {
        Vec::new()
    }
    /// Publishes everything the finished writers wrote (file sinks); called once, last.
    fn commit(&self) -> Result<()> {
        Ok(())
    }
    /// [`Sink::commit`], given up when `cancel` is set while it waits (on a lock the
    /// publishing statements need, say): then nothing is published. By default as `commit`.
    fn commit_unless_cancelled(&self, cancel: &std::sync::atomic::AtomicBool) -> Result<()> {
        let _ = cancel;
        self.commit()
    }
    /// Adds the foreign keys `--with-keys` asks for, once every table of the run is committed
    /// (a foreign key needs the primary key it references, which each table got with its load;
    /// `ferry.primary_key` in the field metadata). Called once per run; foreign keys name target
    /// tables. A target without foreign keys leaves them out, and says so in the log.
    fn add_foreign_keys(&self, tables: &[TargetKeys]) -> Result<()> {
        let left_out: usize = tables.iter().map(|t| t.keys.foreign_keys.len()).sum();
        if left_out > 0 {
            tracing::warn!(left_out, "this target does not take foreign keys: left out");
        }
        Ok(())
    }
}

/// A staging table's name: the target's, shortened, a hash of the qualified target, this run's
/// tag (so two runs into one target never share a staging table) and `tag`. Every staging table
/// of a target starts with [`staging_prefix`], so a run that holds the target's lock finds, and
/// drops, the ones killed runs left behind. At most 7 + 32 + 1 + 8 + 1 + 8 bytes and `tag`: with
/// `_pkey` it stays within PostgreSQL's 63.
pub(crate) fn staging_name(qualified: &str, table: &str, tag: &str) -> String {
    format!("{}{}{tag}", staging_prefix(qualified, table), run_tag())
}

/// The parts of a staging table's name: `_ferry_<short>_<hash>_<run><suffix>`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct StagingName<'a> {
    /// The target's name, cut at 32 bytes.
    pub short: &'a str,
    /// 8 hex digits: a hash of the qualified target.
    pub hash: &'a str,
    /// `""`, `_in` (an ADBC side table), `_old` (a MySQL swap's old table) or `_p` (a chunked
    /// load's progress).
    pub suffix: &'a str,
}

impl<'a> StagingName<'a> {
    /// Parses a table name as [`staging_name`] builds it, or `None`.
    pub(crate) fn parse(name: &'a str) -> Option<Self> {
        let rest = name.strip_prefix("_ferry_")?;
        let hex8 =
            |s: &str| s.len() == 8 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ["_old", "_in", PROGRESS_SUFFIX, ""]
            .into_iter()
            .find_map(|suffix| {
                let body = rest.strip_suffix(suffix)?;
                // `<short>_<hash>_<run>`: the last 18 bytes are `_`, 8 hex, `_`, 8 hex.
                let at = body.len().checked_sub(18)?;
                let (short, tail) = (body.get(..at)?, body.get(at..)?);
                let (hash, run) = (tail.get(1..9)?, tail.get(10..)?);
                (tail.starts_with('_') && tail.as_bytes()[9] == b'_' && hex8(hash) && hex8(run))
                    .then_some(())?;
                (short.len() <= 32).then_some(StagingName {
                    short,
                    hash,
                    suffix,
                })
            })
    }

    /// The target table it stages, among `tables` (or its own short name, for a target not
    /// created yet), as qualified by one of `qualify`: `(name, qualified)`. `None` when no
    /// candidate's staging prefix matches (a name cut at 32 bytes whose table does not exist).
    pub(crate) fn target(
        &self,
        tables: &[String],
        qualify: &[&dyn Fn(&str) -> String],
    ) -> Option<(String, String)> {
        let prefix = format!("_ferry_{}_{}_", self.short, self.hash);
        let short = self.short.to_string();
        std::iter::once(&short)
            .chain(tables.iter().filter(|t| t.starts_with(self.short)))
            .find_map(|t| {
                qualify.iter().find_map(|q| {
                    let qualified = q(t);
                    (staging_prefix(&qualified, t) == prefix).then(|| (t.clone(), qualified))
                })
            })
    }
}

/// The start every staging table name of one target shares.
pub(crate) fn staging_prefix(qualified: &str, table: &str) -> String {
    use sha2::{Digest, Sha256};
    let hash = hex::encode(&Sha256::digest(qualified.as_bytes())[..4]);
    let mut short = String::new();
    for ch in table.chars() {
        if short.len() + ch.len_utf8() > 32 {
            break;
        }
        short.push(ch);
    }
    format!("_ferry_{short}_{hash}_")
}

/// Eight hex digits that tell this run (process) from any other: its process id and start time.
pub(crate) fn run_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let seed = format!("{}:{now}", std::process::id());
        hex::encode(&Sha256::digest(seed.as_bytes())[..4])
    })
}

/// The two 31-bit keys of the advisory lock (PostgreSQL) or the lock name (MySQL) that one run
/// holds on a target table while it writes it: a hash of the qualified target.
pub(crate) fn target_lock_keys(qualified: &str) -> (i32, i32) {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("ferry target {qualified}").as_bytes());
    let k = |b: &[u8]| (u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & 0x7fff_ffff) as i32;
    (k(&d[0..4]), k(&d[4..8]))
}

/// Refuses, before anything is written, a table or column name longer than the target keeps
/// (`max_bytes` of UTF-8, or `max_chars` characters): the server would cut it silently, and two
/// names alike in their first bytes would then collide.
pub(crate) fn check_name_lengths(
    target: &str,
    table: &str,
    schema: &SchemaRef,
    max_bytes: Option<usize>,
    max_chars: Option<usize>,
) -> Result<()> {
    let too_long = |n: &str| {
        max_bytes.is_some_and(|m| n.len() > m) || max_chars.is_some_and(|m| n.chars().count() > m)
    };
    let limit = match (max_bytes, max_chars) {
        (Some(b), _) => format!("{b} bytes"),
        (None, Some(c)) => format!("{c} characters"),
        (None, None) => return Ok(()),
    };
    if too_long(table) {
        return Err(Error::invalid_args(format!(
            "{target}: the table name \"{table}\" is longer than the {limit} this target keeps; \
             give a shorter one with --target-table"
        )));
    }
    if let Some(f) = schema.fields().iter().find(|f| too_long(f.name())) {
        return Err(Error::invalid_args(format!(
            "{target}: table \"{table}\": the column name \"{}\" is longer than the {limit} \
             this target keeps; rename it with --transform 'rename(...)'",
            f.name()
        )));
    }
    Ok(())
}

/// The name ferry gives a foreign key: `<table>_<column>..._fkey`, as PostgreSQL names one,
/// cut to `max_bytes` (the target's identifier limit) at a character boundary. A later run finds
/// the key by this name and does not add it twice.
pub(crate) fn foreign_key_name(table: &str, columns: &[String], max_bytes: usize) -> String {
    let full = format!("{table}_{}_fkey", columns.join("_"));
    if full.len() <= max_bytes {
        return full;
    }
    let mut end = max_bytes;
    while !full.is_char_boundary(end) {
        end -= 1;
    }
    full[..end].to_string()
}

/// The primary key's columns recorded in a schema's field metadata, in key order.
pub(crate) fn key_columns(schema: &SchemaRef) -> Vec<String> {
    let mut key: Vec<(u32, String)> = schema
        .fields()
        .iter()
        .filter_map(|f| crate::types::primary_key_position(f).map(|p| (p, f.name().clone())))
        .collect();
    key.sort();
    key.into_iter().map(|(_, n)| n).collect()
}

/// How a sink writes.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Connections (or threads) a database sink loads one table with.
    pub jobs: usize,
    /// The schema a PostgreSQL target writes to when its URL names none (`--schema`: tables
    /// read from a schema go to the schema of that name, as `pg_dump -n` restores them).
    pub schema: Option<String>,
    /// A float the target cannot hold: an error, or replaced (`--float-loss`).
    pub float_loss: FloatLoss,
    /// Append a snapshot table to a target table that already holds it (`--reload`).
    pub reload: bool,
    /// Where the sink notes the schema objects it leaves out.
    pub left_out: crate::report::LeftOutLog,
}

impl WriteOptions {
    /// Connections a database sink loads one table with, by default.
    pub const DEFAULT_JOBS: usize = 1;

    /// How a float the target cannot hold is written.
    pub fn with_float_loss(mut self, float_loss: FloatLoss) -> Self {
        self.float_loss = float_loss;
        self
    }
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            jobs: Self::DEFAULT_JOBS,
            schema: None,
            float_loss: FloatLoss::default(),
            reload: false,
            left_out: Default::default(),
        }
    }
}

/// A text column of a target table that bounds its values: a declared length in characters
/// (`varchar(n)`, `char(n)`), blank padding (`char(n)`), or both. See [`check_text`].
#[derive(Debug, Clone)]
pub(crate) struct TextBound {
    /// The column's index in the batches written.
    pub index: usize,
    pub name: String,
    /// The target's declared type, as it appears in messages.
    pub declared: String,
    /// At most this many characters.
    pub chars: Option<usize>,
    /// Pads values with blanks and strips them when read.
    pub padded: bool,
}

impl TextBound {
    /// The bound a column of `declared` type sets, if it sets one: `varchar(n)`, `character
    /// varying(n)`, `nvarchar(n)` bound the length; `char(n)`, `character(n)`, `bpchar(n)`,
    /// `nchar(n)` bound it and pad with blanks (`bpchar` and `character` without a length pad).
    pub(crate) fn of(index: usize, name: &str, declared: &str) -> Option<TextBound> {
        let d = declared.trim().to_ascii_lowercase();
        let (base, args) = match d.find('(') {
            Some(i) => (d[..i].trim(), Some(&d[i + 1..])),
            None => (d.as_str(), None),
        };
        let chars = args.and_then(|a| {
            let digits: String = a.chars().take_while(|c| c.is_ascii_digit()).collect();
            digits.parse::<usize>().ok()
        });
        let padded = match base {
            "char" | "character" | "bpchar" | "nchar" | "national char" | "national character" => {
                true
            }
            "varchar" | "character varying" | "nvarchar" | "national varchar" => false,
            _ => return None,
        };
        if chars.is_none() && !padded {
            return None;
        }
        Some(TextBound {
            index,
            name: name.to_string(),
            declared: declared.to_string(),
            chars,
            padded,
        })
    }
}

/// Checks the text columns of `batch` against the bounds of their target columns: a value
/// longer than the declared length (which the server would refuse with no value named, or, in
/// some modes, cut) is refused; a value ending in a blank bound for a blank-padded `char(n)`
/// column, which strips it when read, is refused too. No source ferry reads delivers such a
/// value from a column of the same declared type; the message names the column, the source row
/// and the value, and how to load it anyway.
pub(crate) fn check_text(
    what: &str,
    batch: &RecordBatch,
    bounds: &[TextBound],
    origin: &Origin,
) -> Result<()> {
    use arrow::array::AsArray;
    for b in bounds {
        let col = batch.column(b.index);
        match col.data_type() {
            arrow::datatypes::DataType::Utf8 => {
                check_bound(what, b, col.as_string::<i32>().iter(), origin)?
            }
            arrow::datatypes::DataType::LargeUtf8 => {
                check_bound(what, b, col.as_string::<i64>().iter(), origin)?
            }
            arrow::datatypes::DataType::Utf8View => {
                check_bound(what, b, col.as_string_view().iter(), origin)?
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_bound<'a>(
    what: &str,
    b: &TextBound,
    values: impl Iterator<Item = Option<&'a str>>,
    origin: &Origin,
) -> Result<()> {
    let (name, declared) = (&b.name, &b.declared);
    for (r, v) in values.enumerate() {
        let Some(v) = v else { continue };
        if let Some(n) = b.chars {
            // Bytes bound characters from above: count them only when the bytes exceed n.
            if v.len() > n {
                let count = v.chars().count();
                if count > n {
                    return Err(Error::invalid_data(format!(
                        "{what}, column \"{name}\", {}: the value {} has {count} characters, \
                         more than the {n} of its {declared} column; widen the column with \
                         --transform 'cast({name}, VARCHAR({count}))' or 'cast({name}, TEXT)'",
                        origin.row(r),
                        crate::transform::describe_text(v),
                    )));
                }
            }
        }
        if b.padded && v.ends_with(' ') {
            return Err(Error::invalid_data(format!(
                "{what}, column \"{name}\", {}: the value {v:?} ends in a blank, which a \
                 {declared} column pads and strips: it would read back without it; load the \
                 column as varchar with --transform 'cast({name}, VARCHAR(n))', or trim it \
                 with --transform 'trim({name})'",
                origin.row(r)
            )));
        }
    }
    Ok(())
}

/// The table a database target records its loads of snapshot tables in: which snapshot table
/// (its identity, [`crate::snapshot::TableEntry::identity`]) went into which target table, when,
/// how many rows and how. A repeated `append` of one snapshot table into one target table would
/// duplicate its rows, and is refused unless `--reload` says so.
pub const LOADS_TABLE: &str = "_ferry_loads";

/// One load to record in [`LOADS_TABLE`], in the transaction that publishes it.
#[derive(Debug, Clone)]
pub(crate) struct LoadRecord {
    pub snapshot_table: String,
    pub target_table: String,
    pub rows: u64,
    pub mode: IfExists,
    pub loaded_at: String,
}

impl LoadRecord {
    /// The record of a table whose rows come from a snapshot table, if they do.
    pub(crate) fn of(schema: &SchemaRef, target_table: &str, mode: IfExists) -> Option<Self> {
        let id = schema
            .metadata()
            .get(crate::snapshot::META_SNAPSHOT_TABLE)?;
        Some(LoadRecord {
            snapshot_table: id.clone(),
            target_table: target_table.to_string(),
            rows: 0,
            mode,
            loaded_at: chrono::Utc::now()
                .format("%Y-%m-%d %H:%M:%S%.6fZ")
                .to_string(),
        })
    }

    /// `CREATE TABLE IF NOT EXISTS` of [`LOADS_TABLE`], named `qualified`, in portable SQL.
    pub(crate) fn create_sql(qualified: &str, text: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {qualified} (snapshot_table {text} NOT NULL, \
             target_table {text} NOT NULL, row_count BIGINT NOT NULL, mode {text} NOT NULL, \
             loaded_at {text} NOT NULL, PRIMARY KEY (snapshot_table, target_table))"
        )
    }

    /// The statements that record this load in `qualified`: the last load of a snapshot
    /// table into a target table replaces the record of an earlier one.
    pub(crate) fn record_sql(
        &self,
        qualified: &str,
        literal: impl Fn(&str) -> String,
    ) -> [String; 2] {
        let (id, table) = (literal(&self.snapshot_table), literal(&self.target_table));
        let mode = format!("{:?}", self.mode).to_lowercase();
        [
            format!("DELETE FROM {qualified} WHERE snapshot_table = {id} AND target_table = {table}"),
            format!(
                "INSERT INTO {qualified} (snapshot_table, target_table, row_count, mode, loaded_at) \
                 VALUES ({id}, {table}, {}, {}, {})",
                self.rows,
                literal(&mode),
                literal(&self.loaded_at)
            ),
        ]
    }

    /// The refusal of an `append` of a snapshot table the target table already holds.
    pub(crate) fn repeated(&self, target: &str, loaded_at: &str) -> Error {
        Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "{target}: table \"{}\" already holds the rows of this snapshot table (loaded \
                 {loaded_at}, recorded in {LOADS_TABLE}); appending them again would duplicate \
                 them: use --if-exists replace or truncate, or --reload to append them again",
                self.target_table
            ),
        )
    }

    /// The query for an earlier load's time (`?` or `$1`, `$2` placeholders: `marks`).
    pub(crate) fn earlier_sql(qualified: &str, marks: (&str, &str)) -> String {
        format!(
            "SELECT loaded_at FROM {qualified} WHERE snapshot_table = {} AND target_table = {}",
            marks.0, marks.1
        )
    }
}

/// Opens the sink an endpoint names.
pub fn open_sink(endpoint: &Endpoint, options: &WriteOptions) -> Result<Box<dyn Sink>> {
    Ok(match endpoint.scheme {
        Scheme::Sqlite => Box::new(
            sqlite::SqliteSink::try_new(endpoint)?
                .with_float_loss(options.float_loss)
                .with_reload(options.reload)
                .with_left_out(options.left_out.clone()),
        ),
        Scheme::Parquet => Box::new(parquet::ParquetSink::try_new(endpoint)?),
        Scheme::Csv => Box::new(csv::CsvSink::try_new(endpoint)?),
        Scheme::Postgres => Box::new(postgres::PgSink::try_new(endpoint, options)?),
        Scheme::Mysql => Box::new(mysql::MySink::try_new(endpoint, options)?),
        Scheme::Adbc | Scheme::Duckdb => Box::new(
            adbc::AdbcSink::try_new(endpoint)?
                .with_float_loss(options.float_loss)
                .with_reload(options.reload),
        ),
        Scheme::Tpch => {
            return Err(Error::invalid_args(format!(
                "{endpoint}: the TPC-H generator is a source only; write to another endpoint"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_key_names_follow_postgres_and_fit_the_limit() {
        let cols = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            foreign_key_name("lineitem", &cols(&["l_partkey", "l_suppkey"]), 63),
            "lineitem_l_partkey_l_suppkey_fkey"
        );
        let long = foreign_key_name("ţ".repeat(40).as_str(), &cols(&["k"]), 63);
        assert_eq!(long, "ţ".repeat(31));
        assert!(long.len() <= 63);
    }
}
