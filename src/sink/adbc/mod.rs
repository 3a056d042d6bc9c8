//! ADBC sink: the driver's bulk ingest (`adbc.ingest.target_table`), fed batch by batch
//! through `bind_stream` from a bounded channel (a slow driver slows the pipeline), in one
//! transaction where the driver has transactions: a failure rolls back and leaves the target
//! as it was.
//!
//! For drivers whose SQL ferry knows (PostgreSQL, SQLite, DuckDB) ferry creates the table
//! itself with the mapped declared types (precision, scale, lengths, NOT NULL) and ingests in
//! `append` mode; `replace` loads a staging table and swaps it in, in the same transaction.
//! A PostgreSQL column whose Arrow type the driver would not send as the declared type's
//! binary form (text into `jsonb`, `uuid`, `numeric`, arrays, ...) goes through a side table
//! the driver creates, then `INSERT ... SELECT c::type` in the same transaction. Other drivers
//! get the ingest modes `create`, `create_append` and `replace` and make their own types.
//!
//! Into DuckDB, `fail` and `replace` load chunk by chunk into a staging table ([`chunks`]),
//! committed in groups with their progress rows, so `--resume` continues a killed run; the
//! staging tables are renamed into place by the run's one commit.

mod chunks;

use std::sync::Arc;
use std::thread::JoinHandle;

use adbc_core::options::{IngestMode, OptionStatement, OptionValue};
use adbc_core::{Connection, Optionable, Statement};
use adbc_driver_manager::ManagedConnection;
use arrow::datatypes::{DataType, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::{RecordBatch, RecordBatchReader};

use super::{
    key_columns, staging_name, FloatLoss, IfExists, LoadRecord, Sink, TableWriter, WriteStats,
    LOADS_TABLE,
};
use crate::adbc::{
    execute, query_text, quote_ident, quote_literal, AdbcDatabase, AdbcSettings, Dialect,
};
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Result};

/// The bytes of a PostgreSQL identifier (`NAMEDATALEN` - 1); a longer one is cut.
const PG_MAX_IDENTIFIER_BYTES: usize = 63;

/// Writes through an ADBC driver.
pub struct AdbcSink {
    db: AdbcDatabase,
    /// The run's connection between tables, its transaction open (drivers with transactions):
    /// every table of a run loads in one transaction, committed by [`Sink::commit`].
    run: Arc<std::sync::Mutex<Option<ManagedConnection>>>,
    /// NaN and -0.0 for the SQLite driver: refused, or replaced (`--float-loss`).
    float_loss: FloatLoss,
    /// `--reload`: append a snapshot table that the target table holds already.
    reload: bool,
    /// The chunked loads finished, renamed into place when the run commits.
    staged: std::sync::Mutex<Vec<chunks::Staged>>,
    /// The chunked loads a failed run keeps for `--resume`, one line per table.
    kept: std::sync::Mutex<Vec<String>>,
}

impl AdbcSink {
    pub fn try_new(endpoint: &Endpoint) -> Result<Self> {
        let settings = AdbcSettings::from_endpoint(endpoint)?;
        Ok(AdbcSink {
            db: settings.open()?,
            run: Default::default(),
            float_loss: FloatLoss::default(),
            reload: false,
            staged: Default::default(),
            kept: Default::default(),
        })
    }

    /// What NaN and -0.0 become in a SQLite target: an error (the default), or NULL and 0.0,
    /// counted. Other targets keep them.
    pub fn with_float_loss(mut self, float_loss: FloatLoss) -> Self {
        self.float_loss = float_loss;
        self
    }

    /// Whether a snapshot table the target table holds already may be appended again.
    pub fn with_reload(mut self, reload: bool) -> Self {
        self.reload = reload;
        self
    }

    fn settings(&self) -> &AdbcSettings {
        &self.db.settings
    }

    /// A target table quoted, in the URL's `schema=` if it names one: a table name is one
    /// identifier, never split at a dot.
    fn quoted(&self, table: &str) -> String {
        match &self.settings().schema {
            Some(s) => format!("{}.{}", quote_ident(s), quote_ident(table)),
            None => quote_ident(table),
        }
    }

    /// Refuses a table or column name PostgreSQL would cut to its 63 bytes (with a notice
    /// only): two names alike in their first 63 bytes would then be one table or column.
    fn check_name_lengths(&self, table: &str, schema: &SchemaRef) -> Result<()> {
        match self.settings().dialect {
            Some(Dialect::Postgres) => super::check_name_lengths(
                &self.settings().to_string(),
                table,
                schema,
                Some(PG_MAX_IDENTIFIER_BYTES),
                None,
            ),
            _ => Ok(()),
        }
    }

    /// The column type ferry declares for a field in the driver's dialect.
    fn column_type(dialect: Dialect, field: &arrow::datatypes::Field) -> Result<String> {
        match dialect {
            Dialect::Postgres => crate::types::postgres::pg_target_type(field),
            Dialect::Sqlite => crate::types::sqlite_target_type(field),
            Dialect::Duckdb => crate::types::duckdb::duckdb_target_type(field),
        }
    }

    fn create_table(
        &self,
        dialect: Dialect,
        qualified: &str,
        schema: &SchemaRef,
    ) -> Result<String> {
        if dialect == Dialect::Sqlite {
            // As ferry's own SQLite sink declares it (the rowid alias included).
            return super::sqlite::create_table_sql(&self.quoted(qualified), schema)
                .map_err(|e| e.context(format!("{}: table \"{qualified}\"", self.settings())));
        }
        let mut cols = Vec::with_capacity(schema.fields().len());
        for f in schema.fields() {
            let t = Self::column_type(dialect, f)
                .map_err(|e| e.context(format!("{}: table \"{qualified}\"", self.settings())))?;
            let not_null = if f.is_nullable() { "" } else { " NOT NULL" };
            cols.push(format!("{} {t}{not_null}", quote_ident(f.name())));
        }
        let key = key_columns(schema);
        if !key.is_empty() {
            let key: Vec<String> = key.iter().map(|k| quote_ident(k)).collect();
            cols.push(format!("PRIMARY KEY ({})", key.join(", ")));
        }
        Ok(format!(
            "CREATE TABLE {} (\n  {}\n)",
            self.quoted(qualified),
            cols.join(",\n  ")
        ))
    }

    /// Whether the driver sends every column of `schema` as its declared type's own form, so
    /// the rows can be ingested into the table itself (else through a side table, cast).
    fn direct(dialect: Dialect, schema: &SchemaRef) -> bool {
        schema.fields().iter().all(|f| {
            let t = Self::column_type(dialect, f);
            match dialect {
                Dialect::Postgres => t.is_ok_and(|t| pg_direct(&t, f.data_type())),
                Dialect::Duckdb => t.is_ok_and(|t| duckdb_direct(&t)),
                Dialect::Sqlite => true,
            }
        })
    }

    /// The statement that moves a side table's rows into `into`, every column cast: a no-op
    /// where the types already agree, and the only way from text to json, jsonb, uuid, arrays,
    /// enums.
    fn cast_insert(
        &self,
        dialect: Dialect,
        schema: &SchemaRef,
        into: &str,
        side: &str,
    ) -> Result<String> {
        let mut cols = Vec::new();
        let mut exprs = Vec::new();
        for f in schema.fields() {
            let t = Self::column_type(dialect, f)?;
            cols.push(quote_ident(f.name()));
            exprs.push(format!("CAST({} AS {t})", quote_ident(f.name())));
        }
        Ok(format!(
            "INSERT INTO {} ({}) SELECT {} FROM {}",
            self.quoted(into),
            cols.join(", "),
            exprs.join(", "),
            self.quoted(side)
        ))
    }

    /// The schema batches go to the driver in: its types, without ferry's field metadata.
    fn ingest_schema(&self, schema: &SchemaRef) -> SchemaRef {
        Arc::new(Schema::new(
            schema
                .fields()
                .iter()
                .map(|f| {
                    f.as_ref()
                        .clone()
                        .with_data_type(ingest_type(self.settings().dialect, f.data_type()))
                        .with_metadata(Default::default())
                })
                .collect::<Vec<_>>(),
        ))
    }

    fn table_exists(&self, conn: &mut ManagedConnection, table: &str) -> Result<bool> {
        let settings = self.settings();
        let (schema, name) = (self.settings().schema.as_deref(), table);
        let sql = match settings.dialect {
            Some(Dialect::Postgres) => format!(
                "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = {} AND tablename = {}",
                quote_literal(schema.unwrap_or("public")),
                quote_literal(name)
            ),
            Some(Dialect::Duckdb) => format!(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = {} \
                 AND table_name = {}",
                quote_literal(schema.unwrap_or("main")),
                quote_literal(name)
            ),
            Some(Dialect::Sqlite) => format!(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = {}",
                quote_literal(name)
            ),
            None => {
                return match conn.get_table_schema(None, schema, name) {
                    Ok(_) => Ok(true),
                    Err(e) if e.status == adbc_core::error::Status::NotFound => Ok(false),
                    Err(e) => Err(settings.error(&format!("cannot look up table \"{table}\""), e)),
                }
            }
        };
        Ok(!query_text(settings, conn, &sql)?.is_empty())
    }
}

/// Whether the PostgreSQL driver sends `data_type` as the binary form of `declared`: decided
/// by the encoding ferry's own PostgreSQL sink would use for the declaration (an array of
/// `character varying(n)` is not text, `timestamp(6) with time zone` is a timestamptz).
fn pg_direct(declared: &str, data_type: &DataType) -> bool {
    use crate::types::postgres::PgWrite;
    use DataType as D;
    matches!(
        (PgWrite::for_declared(declared), data_type),
        (PgWrite::Bool, D::Boolean)
            | (PgWrite::Int2, D::Int16)
            | (PgWrite::Int4, D::Int32)
            | (PgWrite::Int8, D::Int64)
            | (PgWrite::Float4, D::Float32)
            | (PgWrite::Float8, D::Float64)
            | (PgWrite::Text, D::Utf8 | D::LargeUtf8)
            | (PgWrite::Bytea, D::Binary | D::LargeBinary)
            | (PgWrite::Date, D::Date32)
            | (
                PgWrite::Timestamp,
                D::Timestamp(TimeUnit::Microsecond, None)
            )
            | (
                PgWrite::TimestampTz,
                D::Timestamp(TimeUnit::Microsecond, Some(_))
            )
    )
}

/// Whether DuckDB's driver appends what ferry sends into a column declared `declared`: its
/// appender takes only the Arrow type of the column's own type, and a 128-bit integer comes as
/// a wider decimal or its text ([`ingest_type`]), a UUID, an enum's label and the types a DuckDB
/// source reads as text ([`crate::types::duckdb::read_as_text`]) as their text; those go through
/// a side
/// table and a `CAST`.
fn duckdb_direct(declared: &str) -> bool {
    !matches!(declared, "HUGEINT" | "UHUGEINT" | "UUID")
        && !declared.starts_with("ENUM(")
        && !crate::types::duckdb::read_as_text(declared)
}

impl Sink for AdbcSink {
    fn commit(&self) -> Result<()> {
        let conn = self
            .run
            .lock()
            .map_err(|_| Error::internal("run state"))?
            .take();
        let staged = std::mem::take(
            &mut *self
                .staged
                .lock()
                .map_err(|_| Error::internal("run state"))?,
        );
        let conn = match conn {
            Some(c) => Some(c),
            None if !staged.is_empty() => self.db.connect_transaction()?,
            None => None,
        };
        if let Some(mut conn) = conn {
            // The staged tables renamed into place, in the run's one transaction.
            let published = chunks::publish(self, &mut conn, &staged).and_then(|_| {
                conn.commit().map_err(|e| {
                    self.settings()
                        .error("commit failed; nothing was committed", e)
                })
            });
            if let Err(e) = published {
                let _ = conn.rollback();
                // Not published: the staged tables are kept for --resume.
                if let Ok(mut s) = self.staged.lock() {
                    *s = staged;
                }
                return Err(e);
            }
        }
        Ok(())
    }

    fn prepare_chunked(
        &self,
        table: &str,
        schema: &SchemaRef,
        mode: IfExists,
        plan: &super::ChunkPlan,
    ) -> Result<Box<dyn TableWriter + '_>> {
        let in_run = self
            .run
            .lock()
            .map_err(|_| Error::internal("run state"))?
            .is_some();
        if !self.resumes() || in_run || matches!(mode, IfExists::Truncate | IfExists::Append) {
            return self.prepare(table, schema, mode);
        }
        chunks::prepare(self, table, schema, mode, plan)
    }

    /// DuckDB targets keep the chunks a failed run committed.
    fn resumes(&self) -> bool {
        self.settings().dialect == Some(Dialect::Duckdb)
    }

    fn abandon(&self) -> Vec<String> {
        chunks::abandon(self)
    }

    fn describe_target(&self, table: &str, schema: &SchemaRef) -> Result<String> {
        self.check_name_lengths(table, schema)?;
        match self.settings().dialect {
            Some(d) => self.create_table(d, table, schema),
            None => Ok(format!(
                "bulk ingest into {} through {} (the driver creates the table from the Arrow \
                 types)",
                self.quoted(table),
                self.settings()
            )),
        }
    }

    fn exists(&self, table: &str) -> Result<bool> {
        let mut conn = self.db.connect()?;
        self.table_exists(&mut conn, table)
    }

    fn prepare(
        &self,
        table: &str,
        schema: &SchemaRef,
        mode: IfExists,
    ) -> Result<Box<dyn TableWriter + '_>> {
        self.check_name_lengths(table, schema)?;
        let settings = self.settings();
        let ctx = format!("{settings}: table \"{table}\"");
        let taken = self
            .run
            .lock()
            .map_err(|_| Error::internal("run state"))?
            .take();
        let (mut conn, transactional) = match taken {
            Some(c) => (c, true),
            None => match self.db.connect_transaction()? {
                Some(c) => (c, true),
                None => (self.db.connect()?, false),
            },
        };
        let exists = self.table_exists(&mut conn, table)?;
        if exists && mode == IfExists::Fail {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{ctx} already exists (use --if-exists append, replace or truncate)"),
            ));
        }
        // Loads of snapshot tables are recorded where ferry knows the dialect's SQL.
        let record = LoadRecord::of(schema, table, mode).filter(|_| settings.dialect.is_some());
        let loads = self.quoted(LOADS_TABLE);
        if let Some(load) = record
            .as_ref()
            .filter(|_| exists && mode == IfExists::Append)
        {
            if !self.reload && self.table_exists(&mut conn, LOADS_TABLE)? {
                let sql = LoadRecord::earlier_sql(
                    &loads,
                    (
                        &quote_literal(&load.snapshot_table),
                        &quote_literal(&load.target_table),
                    ),
                );
                let earlier = query_text(settings, &mut conn, &sql)?;
                if let Some(at) = earlier.first().and_then(|r| r.first().cloned().flatten()) {
                    return Err(load.repeated(&settings.to_string(), &at));
                }
            }
        }
        let (schema_name, name) = (self.settings().schema.as_deref(), table);
        let mut plan = LoadPlan {
            ingest_table: name.to_string(),
            ingest_schema: schema_name.map(str::to_string),
            ingest_mode: IngestMode::Append.into(),
            after: Vec::new(),
            cleanup: Vec::new(),
        };
        match settings.dialect {
            Some(dialect) => {
                // The table the rows go to: the target, or a staging table swapped in at the end.
                let load_into = if mode == IfExists::Replace && exists {
                    let staging = staging_name(table, name, "");
                    let qualified = staging.clone();
                    execute(
                        settings,
                        &mut conn,
                        &format!("DROP TABLE IF EXISTS {}", self.quoted(&qualified)),
                    )?;
                    execute(
                        settings,
                        &mut conn,
                        &self.create_table(dialect, &qualified, schema)?,
                    )?;
                    plan.cleanup
                        .push(format!("DROP TABLE IF EXISTS {}", self.quoted(&qualified)));
                    plan.after
                        .push(format!("DROP TABLE {}", self.quoted(table)));
                    plan.after.push(format!(
                        "ALTER TABLE {} RENAME TO {}",
                        self.quoted(&qualified),
                        quote_ident(name)
                    ));
                    qualified
                } else {
                    if !exists {
                        execute(
                            settings,
                            &mut conn,
                            &self.create_table(dialect, table, schema)?,
                        )?;
                        plan.cleanup
                            .push(format!("DROP TABLE IF EXISTS {}", self.quoted(table)));
                    } else if mode == IfExists::Truncate {
                        execute(
                            settings,
                            &mut conn,
                            &format!("DELETE FROM {}", self.quoted(table)),
                        )?;
                    }
                    table.to_string()
                };
                if Self::direct(dialect, schema) {
                    plan.ingest_schema = schema_name.map(str::to_string);
                    plan.ingest_table = load_into.clone();
                } else {
                    // A side table in the driver's own types, cast into the declared ones.
                    let side = staging_name(table, name, "_in");
                    let side_q = side.clone();
                    execute(
                        settings,
                        &mut conn,
                        &format!("DROP TABLE IF EXISTS {}", self.quoted(&side_q)),
                    )?;
                    plan.ingest_schema = schema_name.map(str::to_string);
                    plan.ingest_table = side.clone();
                    plan.ingest_mode = IngestMode::Create.into();
                    plan.after
                        .insert(0, self.cast_insert(dialect, schema, &load_into, &side_q)?);
                    plan.after
                        .insert(1, format!("DROP TABLE {}", self.quoted(&side_q)));
                    plan.cleanup
                        .push(format!("DROP TABLE IF EXISTS {}", self.quoted(&side_q)));
                }
            }
            None => {
                let ingest_mode = match (mode, exists) {
                    (IfExists::Replace, true) => IngestMode::Replace,
                    (_, false) => IngestMode::Create,
                    (IfExists::Truncate, true) => {
                        execute(
                            settings,
                            &mut conn,
                            &format!("DELETE FROM {}", self.quoted(table)),
                        )?;
                        IngestMode::Append
                    }
                    (_, true) => IngestMode::Append,
                };
                plan.ingest_mode = ingest_mode.into();
            }
        }
        let ingest_schema = self.ingest_schema(schema);
        let mut writer = AdbcWriter {
            settings: settings.clone(),
            ctx,
            schema: ingest_schema,
            tx: None,
            loader: None,
            idle: None,
            streamed: 0,
            plan,
            transactional,
            run: self.run.clone(),
            load: record.map(|l| (l, loads)),
            origin: None,
            float_loss: self.float_loss,
            lossy: Default::default(),
            stats: WriteStats::default(),
        };
        writer.start(conn)?;
        Ok(Box::new(writer))
    }
}

impl Drop for AdbcSink {
    fn drop(&mut self) {
        // A run that did not commit: its transaction is undone.
        if let Some(mut conn) = self.run.lock().ok().and_then(|mut r| r.take()) {
            let _ = conn.rollback();
        }
    }
}

/// How a table's rows are loaded: where the driver ingests them, and the statements that run
/// after the load (in the transaction) or to clean up a failed load without one.
#[derive(Debug, Clone)]
struct LoadPlan {
    ingest_table: String,
    ingest_schema: Option<String>,
    /// The ingest mode's option value (`adbc.ingest.mode.append`, ...).
    ingest_mode: String,
    after: Vec<String>,
    cleanup: Vec<String>,
}

fn ingest(
    settings: &AdbcSettings,
    conn: &mut ManagedConnection,
    plan: &LoadPlan,
    reader: ChannelReader,
) -> Result<Option<i64>> {
    let mut stmt = conn
        .new_statement()
        .map_err(|e| settings.error("cannot create a statement", e))?;
    let target = match &plan.ingest_schema {
        Some(s) => format!("{s}.{}", plan.ingest_table),
        None => plan.ingest_table.clone(),
    };
    let what = format!("bulk ingest into \"{target}\"");
    stmt.set_option(
        OptionStatement::TargetTable,
        OptionValue::from(plan.ingest_table.as_str()),
    )
    .map_err(|e| settings.error(&what, e))?;
    if let Some(s) = &plan.ingest_schema {
        stmt.set_option(
            OptionStatement::TargetDbSchema,
            OptionValue::from(s.as_str()),
        )
        .map_err(|e| settings.error(&what, e))?;
    }
    stmt.set_option(
        OptionStatement::IngestMode,
        OptionValue::from(plan.ingest_mode.as_str()),
    )
    .map_err(|e| settings.error(&what, e))?;
    stmt.bind_stream(Box::new(reader))
        .map_err(|e| settings.error(&what, e))?;
    stmt.execute_update().map_err(|e| settings.error(&what, e))
}

/// The batches `write` sends, as the stream the driver reads.
struct ChannelReader {
    schema: SchemaRef,
    rx: crossbeam_channel::Receiver<std::result::Result<RecordBatch, ArrowError>>,
}

impl Iterator for ChannelReader {
    type Item = std::result::Result<RecordBatch, ArrowError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.rx.recv().ok()
    }
}

impl RecordBatchReader for ChannelReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

type Loader = JoinHandle<(ManagedConnection, Result<Option<i64>>)>;

struct AdbcWriter {
    settings: AdbcSettings,
    ctx: String,
    schema: SchemaRef,
    tx: Option<crossbeam_channel::Sender<std::result::Result<RecordBatch, ArrowError>>>,
    loader: Option<Loader>,
    /// The connection between two streams (a chunked load's commit groups).
    idle: Option<ManagedConnection>,
    /// The rows sent in the current stream.
    streamed: u64,
    plan: LoadPlan,
    transactional: bool,
    /// Where a transactional load leaves its connection for the run's next table and commit.
    run: Arc<std::sync::Mutex<Option<ManagedConnection>>>,
    /// The snapshot table the rows come from, and the quoted [`LOADS_TABLE`] it is recorded in.
    load: Option<(LoadRecord, String)>,
    /// Where the batch being written was read, while `write_from` runs.
    origin: Option<crate::source::Origin>,
    float_loss: FloatLoss,
    /// Values replaced under `float_loss`, by column.
    lossy: crate::report::LossyCounter,
    stats: WriteStats,
}

impl AdbcWriter {
    /// Starts the driver's ingest of one stream of batches on `conn`, fed by `write`.
    fn start(&mut self, mut conn: ManagedConnection) -> Result<()> {
        let (tx, rx) =
            crossbeam_channel::bounded::<std::result::Result<RecordBatch, ArrowError>>(2);
        let reader = ChannelReader {
            schema: self.schema.clone(),
            rx,
        };
        let settings = self.settings.clone();
        let load = self.plan.clone();
        let loader = std::thread::Builder::new()
            .name(format!("adbc ingest {}", self.plan.ingest_table))
            .spawn(move || {
                let result = ingest(&settings, &mut conn, &load, reader);
                (conn, result)
            })
            .map_err(|e| Error::io("cannot start a loader thread", e))?;
        self.tx = Some(tx);
        self.loader = Some(loader);
        self.streamed = 0;
        Ok(())
    }

    /// One column as the driver takes it ([`ingest_type`]), with DuckDB's ±infinity for
    /// ferry's; an error names the table, the column and, for a value, its row.
    fn for_driver(
        &self,
        col: &arrow::array::ArrayRef,
        field: &arrow::datatypes::Field,
    ) -> Result<arrow::array::ArrayRef> {
        let column = format!("{}, column \"{}\"", self.ctx, field.name());
        let at_row = |i: usize, why: String| {
            let row = match &self.origin {
                Some(o) => o.row(i),
                None => format!("row {}", self.stats.rows + i as u64 + 1),
            };
            Error::invalid_data(format!("{column}, {row}: {why}"))
        };
        let dialect = self.settings.dialect;
        let replaced;
        let col = match dialect {
            Some(Dialect::Sqlite) => {
                let (fixed, n) = sqlite_reals(col, self.float_loss, field.is_nullable())
                    .map_err(|e| e.context(column.clone()))?
                    .map_err(|(i, why)| at_row(i, why))?;
                self.lossy.add(field.name(), n);
                replaced = fixed;
                &replaced
            }
            _ => col,
        };
        let to = field.data_type();
        let from = col.data_type();
        Ok(match from {
            DataType::Date32 | DataType::Timestamp(TimeUnit::Microsecond, _)
                if dialect == Some(Dialect::Duckdb) && from == to =>
            {
                crate::types::duckdb::infinities_to_duckdb(col)
                    .map_err(|(i, why)| at_row(i, why))?
            }
            DataType::Date32 if dialect == Some(Dialect::Postgres) && from == to => {
                pg_driver_dates(col)
            }
            DataType::Timestamp(TimeUnit::Microsecond, _)
                if dialect == Some(Dialect::Postgres) && from == to =>
            {
                if let Some(i) = pg_driver_infinity(col) {
                    return Err(at_row(
                        i,
                        format!(
                            "{} cannot be written through the ADBC PostgreSQL driver, which \
                             would store a finite value in its place; load this table with a \
                             postgres:// URL, which keeps it",
                            crate::transform::describe_value(col.as_ref(), i)
                        ),
                    ));
                }
                col.clone()
            }
            _ if from == to => {
                // DuckDB keeps microseconds in TIMESTAMPTZ and INTERVAL, and cuts nanoseconds
                // without a word.
                let micros = match from {
                    DataType::Timestamp(TimeUnit::Nanosecond, Some(tz))
                        if dialect == Some(Dialect::Duckdb) =>
                    {
                        Some(DataType::Timestamp(TimeUnit::Microsecond, Some(tz.clone())))
                    }
                    DataType::Duration(TimeUnit::Nanosecond)
                        if dialect == Some(Dialect::Duckdb) =>
                    {
                        Some(DataType::Duration(TimeUnit::Microsecond))
                    }
                    _ => None,
                };
                if let Some(i) = micros.and_then(|m| finer_than(col, &m)) {
                    return Err(at_row(
                        i,
                        format!(
                            "{} has nanoseconds; DuckDB's TIMESTAMPTZ and INTERVAL keep \
                             microseconds, so it cannot be stored without rounding",
                            crate::transform::describe_value(col.as_ref(), i)
                        ),
                    ));
                }
                col.clone()
            }
            DataType::Decimal128(..) | DataType::Decimal256(..) if to == &DataType::Utf8 => {
                decimal_text(col).map_err(|e| e.context(column.clone()))?
            }
            DataType::Duration(_) if to == &DataType::Utf8 => {
                duration_text(col).map_err(|e| e.context(column.clone()))?
            }
            t if to == &DataType::Utf8 && is_temporal(t) => {
                sqlite_temporal_text(col).map_err(|e| e.context(column.clone()))?
            }
            _ => {
                if let Some(i) = finer_than(col, to) {
                    return Err(at_row(
                        i,
                        format!(
                            "a value with a fraction finer than the target keeps ({to}); it \
                             cannot be stored without rounding"
                        ),
                    ));
                }
                arrow::compute::cast_with_options(col, to, &STRICT)
                    .map_err(|e| Error::arrow(column.clone(), e))?
            }
        })
    }

    /// Ends the stream and waits for the driver: its connection and what it said.
    fn join(&mut self) -> Result<(ManagedConnection, Result<Option<i64>>)> {
        self.tx = None;
        let loader = self
            .loader
            .take()
            .ok_or_else(|| Error::internal("the loader was already joined"))?;
        loader
            .join()
            .map_err(|_| Error::internal(format!("{}: the loader panicked", self.ctx)))
    }

    fn abort(
        conn: &mut ManagedConnection,
        transactional: bool,
        settings: &AdbcSettings,
        plan: &LoadPlan,
    ) {
        if transactional {
            let _ = conn.rollback();
        } else {
            for sql in &plan.cleanup {
                let _ = execute(settings, conn, sql);
            }
        }
    }
}

/// The Arrow type a column is sent to the driver as: what it arrives as, except where the
/// driver takes no such type. The SQLite driver binds no decimals: those of up to 15 digits go
/// as REAL (exact: every 15-digit decimal round-trips through an f64, as in ferry's own SQLite
/// sink), wider ones as their exact text; nor durations (MySQL's `time`), sent as their exact
/// text. DuckDB takes no 256-bit decimal ("Unsupported Internal Arrow Type for Decimal"): one
/// of up to 38 digits goes as a 128-bit decimal, a wider one as its exact text, into the
/// `VARCHAR` column [`crate::types::duckdb::duckdb_type_for`] declares for it.
fn ingest_type(dialect: Option<Dialect>, data_type: &DataType) -> DataType {
    match (dialect, data_type) {
        (Some(Dialect::Sqlite), DataType::Decimal128(p, _) | DataType::Decimal256(p, _))
            if *p <= crate::types::SQLITE_EXACT_REAL_DIGITS =>
        {
            DataType::Float64
        }
        (Some(Dialect::Sqlite), DataType::Decimal128(..) | DataType::Decimal256(..)) => {
            DataType::Utf8
        }
        // Nor dates and times: sent as the text ferry's own SQLite sink writes.
        (Some(Dialect::Sqlite), t) if is_temporal(t) => DataType::Utf8,
        (Some(Dialect::Sqlite), DataType::Duration(_)) => DataType::Utf8,
        (Some(Dialect::Duckdb), DataType::Decimal256(p, s)) if *p <= 38 => {
            DataType::Decimal128(*p, *s)
        }
        (Some(Dialect::Duckdb), DataType::Decimal256(..)) => DataType::Utf8,
        (_, t) => t.clone(),
    }
}

/// The first row of a microsecond timestamp column holding ferry's ±infinity, which the
/// PostgreSQL driver turns into a finite value (it moves every value to PostgreSQL's epoch by a
/// subtraction) or refuses.
fn pg_driver_infinity(col: &arrow::array::ArrayRef) -> Option<usize> {
    use crate::types::temporal;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::TimestampMicrosecondType;
    let a = col.as_primitive::<TimestampMicrosecondType>();
    (0..a.len()).find(|&i| {
        a.is_valid(i) && [temporal::TS_INFINITY, temporal::TS_NEG_INFINITY].contains(&a.value(i))
    })
}

/// A date column for the PostgreSQL driver, which moves each date to PostgreSQL's epoch
/// (2000-01-01) with a wrapping subtraction: ferry's ±infinity are sent as the values that
/// subtraction takes to PostgreSQL's own ±infinity (its largest and smallest dates).
fn pg_driver_dates(col: &arrow::array::ArrayRef) -> arrow::array::ArrayRef {
    use crate::types::temporal;
    use arrow::array::{AsArray, Date32Array};
    use arrow::datatypes::Date32Type;
    let out: Date32Array = col.as_primitive::<Date32Type>().unary(|d| match d {
        temporal::DATE_INFINITY | temporal::DATE_NEG_INFINITY => {
            d.wrapping_add(temporal::PG_EPOCH_DAYS)
        }
        d => d,
    });
    std::sync::Arc::new(out)
}

/// Casts that fail rather than turn a value into NULL.
const STRICT: arrow::compute::CastOptions<'static> = arrow::compute::CastOptions {
    safe: false,
    format_options: arrow::util::display::FormatOptions::new(),
};

/// A decimal column as its exact text (ferry's formatter: arrow's cuts a value wider than its
/// precision).
fn decimal_text(col: &arrow::array::ArrayRef) -> Result<arrow::array::ArrayRef> {
    use crate::types::decimal;
    use arrow::array::{AsArray, StringArray};
    use arrow::datatypes::{i256, Decimal128Type, Decimal256Type};
    let text: StringArray = match col.data_type() {
        DataType::Decimal128(_, s) => col
            .as_primitive::<Decimal128Type>()
            .iter()
            .map(|v| v.map(|v| decimal::format(i256::from_i128(v), *s)))
            .collect(),
        DataType::Decimal256(_, s) => col
            .as_primitive::<Decimal256Type>()
            .iter()
            .map(|v| v.map(|v| decimal::format(v, *s)))
            .collect(),
        other => return Err(Error::internal(format!("{other} is not a decimal"))),
    };
    Ok(Arc::new(text))
}

/// The first row of a timestamp, time or duration column whose value the cast to `to`'s
/// coarser unit would cut (arrow's cast truncates without a word: 1 ns to µs is 0).
fn finer_than(col: &arrow::array::ArrayRef, to: &DataType) -> Option<usize> {
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;
    let unit = |t: &DataType| match t {
        DataType::Timestamp(u, _) | DataType::Duration(u) | DataType::Time64(u) => Some(*u),
        _ => None,
    };
    let nanos = |u: TimeUnit| match u {
        TimeUnit::Second => 1_000_000_000i64,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    };
    let (from, into) = (unit(col.data_type())?, unit(to)?);
    let step = nanos(into) / nanos(from);
    if step <= 1 {
        return None;
    }
    let n = arrow::compute::cast(col, &DataType::Int64).ok()?;
    n.as_primitive::<Int64Type>()
        .iter()
        .position(|v| v.is_some_and(|v| v % step != 0))
}

/// A duration column as MySQL's exact `time` text, `[-]HH:MM:SS[.ffffff]`.
fn duration_text(col: &arrow::array::ArrayRef) -> Result<arrow::array::ArrayRef> {
    use arrow::array::{AsArray, StringArray};
    use arrow::datatypes::Int64Type;
    let per_unit: i128 = match col.data_type() {
        DataType::Duration(TimeUnit::Second) => 1_000_000_000,
        DataType::Duration(TimeUnit::Millisecond) => 1_000_000,
        DataType::Duration(TimeUnit::Microsecond) => 1_000,
        DataType::Duration(TimeUnit::Nanosecond) => 1,
        other => return Err(Error::internal(format!("{other} is not a duration"))),
    };
    let n = arrow::compute::cast_with_options(col, &DataType::Int64, &STRICT)
        .map_err(|e| Error::arrow("a duration as its count", e))?;
    let text: StringArray = n
        .as_primitive::<Int64Type>()
        .iter()
        .map(|v| v.map(|v| crate::types::temporal::format_duration(i128::from(v) * per_unit)))
        .collect();
    Ok(Arc::new(text))
}

/// A float column as the SQLite driver is to get it, with the number of values replaced: as it
/// is, or under `--float-loss replace` with -0.0 as 0.0 and NaN as NULL; or the first value
/// SQLite cannot keep, with its row and why ([`super::sqlite::real_for_sqlite`] decides).
fn sqlite_reals(
    col: &arrow::array::ArrayRef,
    loss: FloatLoss,
    nullable: bool,
) -> Result<std::result::Result<(arrow::array::ArrayRef, u64), (usize, String)>> {
    use arrow::array::{Array, AsArray, BooleanArray};
    use arrow::datatypes::{Float16Type, Float32Type, Float64Type};
    if !matches!(
        col.data_type(),
        DataType::Float16 | DataType::Float32 | DataType::Float64
    ) {
        return Ok(Ok((col.clone(), 0)));
    }
    let f = arrow::compute::cast_with_options(col, &DataType::Float64, &STRICT)
        .map_err(|e| Error::arrow("a float as Float64", e))?;
    let f = f.as_primitive::<Float64Type>();
    let mut replaced = 0u64;
    for i in (0..f.len()).filter(|&i| f.is_valid(i)) {
        match super::sqlite::real_for_sqlite(f.value(i), loss, nullable) {
            Err(why) => return Ok(Err((i, why))),
            Ok((_, changed)) => replaced += u64::from(changed),
        }
    }
    if replaced == 0 {
        return Ok(Ok((col.clone(), 0)));
    }
    let zeroed = match col.data_type() {
        DataType::Float16 => positive_zeros::<Float16Type>(col),
        DataType::Float32 => positive_zeros::<Float32Type>(col),
        _ => positive_zeros::<Float64Type>(col),
    };
    let nan: BooleanArray = (0..f.len())
        .map(|i| Some(f.is_valid(i) && f.value(i).is_nan()))
        .collect();
    let fixed =
        arrow::compute::nullif(&zeroed, &nan).map_err(|e| Error::arrow("NaN as NULL", e))?;
    Ok(Ok((fixed, replaced)))
}

/// A float column with -0.0 as 0.0: -0.0 == 0.0, so the comparison with the native type's
/// default (0.0) turns -0.0 into 0.0 and leaves every other value, NaN included, alone.
fn positive_zeros<T: arrow::datatypes::ArrowPrimitiveType>(
    col: &arrow::array::ArrayRef,
) -> arrow::array::ArrayRef {
    use arrow::array::AsArray;
    let zero = T::Native::default();
    Arc::new(
        col.as_primitive::<T>()
            .unary::<_, T>(|v| if v == zero { zero } else { v }),
    )
}

/// Whether a type is a date, time or timestamp.
fn is_temporal(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Date32
            | DataType::Date64
            | DataType::Time32(_)
            | DataType::Time64(_)
            | DataType::Timestamp(..)
    )
}

/// A date, time or timestamp column as the text ferry's SQLite sink writes for it
/// (`YYYY-MM-DD`, `HH:MM:SS[.fff|.ffffff]`, `YYYY-MM-DD HH:MM:SS[.ffffff][+00:00]`).
fn sqlite_temporal_text(col: &arrow::array::ArrayRef) -> Result<arrow::array::ArrayRef> {
    use crate::types::temporal;
    use arrow::array::{Array, AsArray, StringBuilder};
    use arrow::datatypes::{Date32Type, Time64MicrosecondType, TimestampMicrosecondType};
    let strict = arrow::compute::CastOptions {
        safe: false,
        ..Default::default()
    };
    let (unit_type, tz) = match col.data_type() {
        DataType::Date32 | DataType::Date64 => (DataType::Date32, false),
        DataType::Time32(_) | DataType::Time64(_) => {
            (DataType::Time64(TimeUnit::Microsecond), false)
        }
        DataType::Timestamp(_, tz) => (
            DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
            tz.is_some(),
        ),
        other => return Err(Error::internal(format!("{other} is not a date or time"))),
    };
    let a = arrow::compute::cast_with_options(col, &unit_type, &strict)
        .map_err(|e| Error::arrow("a date or time with digits SQLite text would drop", e))?;
    let mut b = StringBuilder::with_capacity(a.len(), a.len() * 26);
    for i in 0..a.len() {
        if a.is_null(i) {
            b.append_null();
            continue;
        }
        let text = match &unit_type {
            DataType::Date32 => temporal::format_date(a.as_primitive::<Date32Type>().value(i)),
            DataType::Time64(_) => {
                temporal::format_time(a.as_primitive::<Time64MicrosecondType>().value(i))
            }
            _ => {
                let t = a.as_primitive::<TimestampMicrosecondType>().value(i);
                let infinite = t == temporal::TS_INFINITY || t == temporal::TS_NEG_INFINITY;
                temporal::format_timestamp(t).map(|s| {
                    if tz && !infinite {
                        format!("{s}+00:00")
                    } else {
                        s
                    }
                })
            }
        };
        match text {
            Some(t) => b.append_value(t),
            None => {
                return Err(Error::invalid_data(format!(
                    "row {i}: a {} value out of SQLite text's range",
                    col.data_type()
                )))
            }
        }
    }
    Ok(std::sync::Arc::new(b.finish()))
}

impl TableWriter for AdbcWriter {
    fn write_from(&mut self, batch: &RecordBatch, origin: &crate::source::Origin) -> Result<()> {
        self.origin = Some(origin.clone());
        let written = self.write(batch);
        self.origin = None;
        written
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if self.tx.is_none() {
            // A chunked load's next commit group: a new stream on the connection.
            let conn = self
                .idle
                .take()
                .ok_or_else(|| Error::internal(format!("{}: no connection", self.ctx)))?;
            self.start(conn)?;
        }
        let mut columns = Vec::with_capacity(batch.num_columns());
        for (col, field) in batch.columns().iter().zip(self.schema.fields()) {
            columns.push(self.for_driver(col, field)?);
        }
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| Error::arrow(self.ctx.clone(), e))?;
        let rows = batch.num_rows() as u64;
        let bytes = batch.get_array_memory_size() as u64;
        let sent = self.tx.as_ref().map(|tx| tx.send(Ok(batch)).is_ok());
        if sent != Some(true) {
            // The driver stopped reading: its error is the one to report.
            let (mut conn, result) = self.join()?;
            Self::abort(&mut conn, self.transactional, &self.settings, &self.plan);
            // Kept for a chunked load, which asks it what its earlier groups committed.
            self.idle = Some(conn);
            return Err(match result {
                Err(e) => e.context(self.ctx.clone()),
                Ok(_) => Error::internal(format!("{}: the driver stopped reading", self.ctx)),
            });
        }
        self.stats.rows += rows;
        self.stats.bytes += bytes;
        self.streamed += rows;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<WriteStats> {
        let (mut conn, result) = self.join()?;
        let fail = |conn: &mut ManagedConnection, e: Error, w: &AdbcWriter| {
            Self::abort(conn, w.transactional, &w.settings, &w.plan);
            e.context(w.ctx.clone())
        };
        match result {
            Err(e) => return Err(fail(&mut conn, e, &self)),
            Ok(Some(n)) if n >= 0 && n as u64 != self.streamed => {
                let e = Error::new(
                    ErrorKind::Integrity,
                    format!("the driver loaded {n} rows of {} sent", self.streamed),
                );
                return Err(fail(&mut conn, e, &self));
            }
            Ok(_) => {}
        }
        let mut after = self.plan.after.clone();
        if let Some((load, loads)) = &mut self.load {
            // In the load's transaction: committed with the rows.
            load.rows = self.stats.rows;
            after.push(LoadRecord::create_sql(loads, "VARCHAR"));
            after.extend(load.record_sql(loads, quote_literal));
        }
        for sql in after {
            if let Err(e) = execute(&self.settings, &mut conn, &sql) {
                return Err(fail(&mut conn, e, &self));
            }
        }
        if self.transactional {
            // Committed with the run's other tables by `commit()`.
            *self.run.lock().map_err(|_| Error::internal("run state"))? = Some(conn);
        }
        self.stats.lossy = self.lossy.counts();
        Ok(std::mem::take(&mut self.stats))
    }
}

impl Drop for AdbcWriter {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            // Not finished: the driver sees the stream fail, and the load is undone.
            let _ = tx.send(Err(ArrowError::ExternalError(
                "the load was abandoned".into(),
            )));
            drop(tx);
            if let Ok((mut conn, _)) = self.join() {
                Self::abort(&mut conn, self.transactional, &self.settings, &self.plan);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        ArrayRef, AsArray, Decimal256Array, DurationMicrosecondArray, Float32Array,
    };
    use arrow::datatypes::i256;

    #[test]
    fn drivers_get_types_they_take() {
        let wide = DataType::Decimal256(60, 10);
        assert_eq!(ingest_type(Some(Dialect::Duckdb), &wide), DataType::Utf8);
        assert_eq!(
            ingest_type(Some(Dialect::Duckdb), &DataType::Decimal256(38, 2)),
            DataType::Decimal128(38, 2)
        );
        assert_eq!(ingest_type(Some(Dialect::Postgres), &wide), wide);
        let micros = DataType::Duration(TimeUnit::Microsecond);
        assert_eq!(ingest_type(Some(Dialect::Sqlite), &micros), DataType::Utf8);
        assert_eq!(ingest_type(Some(Dialect::Duckdb), &micros), micros);
    }

    #[test]
    fn wide_decimals_and_durations_become_their_exact_text() {
        let max = format!("{}.{}", "9".repeat(50), "9".repeat(10));
        let v = |s: &str| crate::types::decimal::parse_exact(s, 60, 10).unwrap();
        let d: ArrayRef = Arc::new(
            Decimal256Array::from(vec![
                Some(v(&max)),
                Some(v(&format!("-{max}"))),
                Some(i256::ZERO),
                Some(v("-0.0000000001")),
                None,
            ])
            .with_precision_and_scale(60, 10)
            .unwrap(),
        );
        let t = decimal_text(&d).unwrap();
        let t: Vec<Option<&str>> = t.as_string::<i32>().iter().collect();
        assert_eq!(
            t,
            [
                Some(max.as_str()),
                Some(format!("-{max}").as_str()),
                Some("0.0000000000"),
                Some("-0.0000000001"),
                None
            ]
        );
        let us: ArrayRef = Arc::new(DurationMicrosecondArray::from(vec![
            Some(-3_020_399_000_000),
            Some(500_000),
            None,
        ]));
        let t = duration_text(&us).unwrap();
        let t: Vec<Option<&str>> = t.as_string::<i32>().iter().collect();
        assert_eq!(t, [Some("-838:59:59"), Some("00:00:00.500000"), None]);
    }

    #[test]
    fn reals_sqlite_cannot_keep_are_found_by_row() {
        let f: ArrayRef = Arc::new(Float32Array::from(vec![Some(0.0), None, Some(-0.0)]));
        let (row, why) = sqlite_reals(&f, FloatLoss::Error, true)
            .unwrap()
            .unwrap_err();
        assert_eq!(row, 2);
        assert!(why.starts_with("-0.0"), "{why}");
        assert!(why.contains("--float-loss replace"), "{why}");
        let f: ArrayRef = Arc::new(Float32Array::from(vec![Some(1.0), Some(f32::INFINITY)]));
        let (same, n) = sqlite_reals(&f, FloatLoss::Error, true).unwrap().unwrap();
        assert_eq!((same.as_ref(), n), (f.as_ref(), 0));
    }

    #[test]
    fn reals_sqlite_cannot_keep_are_replaced_when_asked() {
        let f: ArrayRef = Arc::new(Float32Array::from(vec![
            Some(-0.0),
            None,
            Some(f32::NAN),
            Some(-1.5),
            Some(f32::NEG_INFINITY),
        ]));
        let (fixed, n) = sqlite_reals(&f, FloatLoss::Replace, true).unwrap().unwrap();
        assert_eq!(n, 2);
        assert_eq!(fixed.data_type(), &DataType::Float32);
        let bits: Vec<Option<u32>> = fixed
            .as_primitive::<arrow::datatypes::Float32Type>()
            .iter()
            .map(|v| v.map(f32::to_bits))
            .collect();
        assert_eq!(
            bits,
            [
                Some(0),
                None,
                None,
                Some((-1.5f32).to_bits()),
                Some(f32::NEG_INFINITY.to_bits())
            ]
        );
        let (row, why) = sqlite_reals(&f, FloatLoss::Replace, false)
            .unwrap()
            .unwrap_err();
        assert_eq!(row, 2);
        assert!(why.contains("NOT NULL"), "{why}");
    }

    #[test]
    fn the_postgres_driver_sends_binary_only_into_the_type_it_encodes() {
        let tz = DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()));
        assert!(pg_direct("timestamp(6) with time zone", &tz));
        assert!(!pg_direct("timestamp(6) without time zone", &tz));
        assert!(pg_direct("character varying(10)", &DataType::Utf8));
        assert!(!pg_direct("character varying(10)[]", &DataType::Utf8));
        assert!(!pg_direct("time(6) with time zone", &DataType::Utf8));
        assert!(!pg_direct("boolean", &DataType::Int8));
    }
}
