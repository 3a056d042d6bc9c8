//! SQLite sink: rusqlite prepared statements in large transactions. `fail` and `replace` load
//! each table chunk by chunk into a staging table ([`chunks`]), committed as they go so that
//! `--resume` continues a killed run; `truncate` and `append` load in one transaction for the
//! whole run (DDL is transactional in SQLite). Either way [`Sink::commit`] publishes every
//! table of the run at once, in one transaction: readers see the old tables or all of the new
//! ones, and a failure anywhere leaves them as they were. One run at a time writes a database
//! ([`lock`]). A database file the run created is removed if nothing commits and nothing is
//! kept for `--resume`.

mod chunks;
pub(crate) mod lock;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Decimal256Type, Float64Type, Int64Type, SchemaRef,
    Time64MicrosecondType, TimeUnit, TimestampMicrosecondType, UInt64Type,
};
use arrow::record_batch::RecordBatch;
use arrow::util::display::FormatOptions;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OptionalExtension};

use super::{
    ChunkPlan, FloatLoss, IfExists, LoadRecord, Sink, TableWriter, WriteStats, LOADS_TABLE,
};
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::source::Origin;
use crate::types::indexes::IndexDef;
use crate::types::{
    decimal, primary_key_position, quote_ident, sqlite_affinity, sqlite_target_type, temporal,
    Affinity,
};

/// Writes tables into one SQLite database file.
pub struct SqliteSink {
    path: PathBuf,
    name: String,
    /// The file did not exist when this run took the run lock: seen with the lock held, so a file another run created (and is writing) is never
    /// taken for this run's.
    created: std::sync::atomic::AtomicBool,
    committed: Mutex<bool>,
    /// The run's connection, in its transaction (`BEGIN IMMEDIATE` sent), between tables.
    run: Mutex<Option<Connection>>,
    /// NaN and -0.0, which SQLite cannot keep: refused, or replaced (`--float-loss`).
    float_loss: FloatLoss,
    /// `--reload`: append a snapshot table that the target table holds already.
    reload: bool,
    /// The run's loads of snapshot tables, recorded in [`LOADS_TABLE`] when it commits.
    loads: Mutex<Vec<LoadRecord>>,
    /// The database's run lock, taken by the run's first table.
    lock: Mutex<Option<lock::RunLock>>,
    /// A chunked load commits once this much was written since its last commit
    /// (`?commit_mib=`, [`crate::sink::chunks::COMMIT_BYTES`] by default).
    commit_bytes: u64,
    /// The chunked loads finished, renamed into place when the run commits.
    staged: Mutex<Vec<chunks::Staged>>,
    /// The chunked loads a failed run keeps for `--resume`, one line per table.
    kept: Mutex<Vec<String>>,
    /// The secondary indexes of the run's new (or replaced) tables, built in the run's commit
    /// once the tables have their names (SQLite's index names are the database's).
    indexes: Mutex<Vec<(String, Vec<IndexDef>)>>,
    /// Where the indexes it cannot build are noted.
    left_out: crate::report::LeftOutLog,
}

impl SqliteSink {
    pub fn try_new(endpoint: &Endpoint) -> Result<Self> {
        endpoint.check_options(&["commit_mib"])?;
        let path = endpoint.path.clone();
        let name = endpoint.to_string();
        let commit_bytes = crate::sink::chunks::commit_bytes(endpoint)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.is_dir() {
                return Err(Error::not_found(format!(
                    "{name}: directory {} does not exist",
                    parent.display()
                )));
            }
        }
        Ok(SqliteSink {
            created: std::sync::atomic::AtomicBool::new(false),
            path,
            name,
            committed: Mutex::new(false),
            float_loss: FloatLoss::default(),
            run: Mutex::new(None),
            reload: false,
            loads: Mutex::new(Vec::new()),
            lock: Mutex::new(None),
            commit_bytes,
            staged: Mutex::new(Vec::new()),
            indexes: Mutex::new(Vec::new()),
            left_out: Default::default(),
            kept: Mutex::new(Vec::new()),
        })
    }

    /// Whether a snapshot table the target table holds already may be appended again.
    pub fn with_reload(mut self, reload: bool) -> Self {
        self.reload = reload;
        self
    }

    /// Where the indexes SQLite cannot build are noted.
    pub fn with_left_out(mut self, left_out: crate::report::LeftOutLog) -> Self {
        self.left_out = left_out;
        self
    }

    /// What NaN and -0.0 become: an error (the default), or NULL and 0.0, counted.
    pub fn with_float_loss(mut self, float_loss: FloatLoss) -> Self {
        self.float_loss = float_loss;
        self
    }

    fn connect(&self) -> Result<Connection> {
        let conn = Connection::open(&self.path)
            .map_err(|e| Error::sqlite(format!("{}: cannot open", self.name), e))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| Error::sqlite(format!("{}: cannot configure", self.name), e))?;
        Ok(conn)
    }

    /// Takes the database's run lock, once per run: another run writing it is a refusal.
    fn lock_run(&self) -> Result<()> {
        let mut lock = self.lock.lock().map_err(|_| Error::internal("run state"))?;
        if lock.is_none() {
            *lock = Some(lock::RunLock::take(&self.path, &self.name)?);
            self.created.store(!self.path.exists(), Ordering::Relaxed);
        }
        Ok(())
    }

    /// Every column's encoder, chosen before anything is written.
    fn binders(&self, schema: &SchemaRef, ctx: &str) -> Result<Vec<Binder>> {
        schema
            .fields()
            .iter()
            .map(|f| {
                Binder::for_field(f.name(), f.data_type(), &sqlite_target_type(f)?)
                    .map(|b| b.with_floats(self.float_loss, f.is_nullable()))
            })
            .collect::<Result<Vec<_>>>()
            .map_err(|e| e.context(ctx.to_string()))
    }

    /// The CREATE TABLE statement: declared types, NOT NULL, and the primary key a source
    /// recorded (a single INTEGER key column stays SQLite's rowid alias, `INTEGER PRIMARY KEY`).
    fn ddl(&self, table: &str, schema: &SchemaRef) -> Result<String> {
        create_table_sql(&quote_ident(table), schema)
    }
}

/// SQLite's `CREATE TABLE` for a schema (an `INTEGER` single-column key is the rowid alias,
/// declared `PRIMARY KEY` on its column), for the table `quoted`.
pub(crate) fn create_table_sql(quoted: &str, schema: &SchemaRef) -> Result<String> {
    let mut key: Vec<(u32, &str)> = schema
        .fields()
        .iter()
        .filter_map(|f| primary_key_position(f).map(|p| (p, f.name().as_str())))
        .collect();
    key.sort();
    let mut cols = Vec::new();
    let mut rowid_alias = false;
    for f in schema.fields() {
        let t = sqlite_target_type(f)?;
        let mut col = format!("{} {t}", quote_ident(f.name()));
        if key.len() == 1 && key[0].1 == f.name() && t.eq_ignore_ascii_case("INTEGER") {
            col.push_str(" PRIMARY KEY");
            rowid_alias = true;
        } else if !f.is_nullable() {
            col.push_str(" NOT NULL");
        }
        cols.push(col);
    }
    if !key.is_empty() && !rowid_alias {
        let names: Vec<String> = key.iter().map(|(_, n)| quote_ident(n)).collect();
        cols.push(format!("PRIMARY KEY ({})", names.join(", ")));
    }
    Ok(format!(
        "CREATE TABLE {} (\n  {}\n)",
        quoted,
        cols.join(",\n  ")
    ))
}

fn table_exists(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

impl Sink for SqliteSink {
    fn describe_target(&self, table: &str, schema: &SchemaRef) -> Result<String> {
        let q = quote_ident(table);
        let indexes = crate::types::indexes::describe_builds(schema, |ix| {
            ix.to_sqlite(&q, &quote_ident(&ix.name))
        });
        Ok(format!("{}{indexes}", self.ddl(table, schema)?))
    }

    fn exists(&self, table: &str) -> Result<bool> {
        if !self.path.exists() {
            return Ok(false);
        }
        let conn = self.connect()?;
        table_exists(&conn, table)
            .map_err(|e| Error::sqlite(format!("{}: cannot read the catalog", self.name), e))
    }

    fn prepare(
        &self,
        table: &str,
        schema: &SchemaRef,
        mode: IfExists,
    ) -> Result<Box<dyn TableWriter + '_>> {
        let ctx = format!("{}: table \"{table}\"", self.name);
        let binders = self.binders(schema, &ctx)?;
        self.lock_run()?;
        let ddl = self.ddl(table, schema)?;
        let sqlerr = |e| Error::sqlite(ctx.clone(), e);
        let taken = self
            .run
            .lock()
            .map_err(|_| Error::internal("run state"))?
            .take();
        let conn = match taken {
            Some(c) => c,
            None => {
                let c = self.connect()?;
                c.execute_batch("BEGIN IMMEDIATE").map_err(sqlerr)?;
                c
            }
        };
        let mut writer = SqliteTableWriter {
            sink: self,
            conn,
            ctx: ctx.clone(),
            insert: String::new(),
            binders,
            rows: 0,
            bytes: 0,
            open: true,
            load: None,
        };
        let exists = table_exists(&writer.conn, table).map_err(sqlerr)?;
        writer.load = LoadRecord::of(schema, table, mode);
        if let Some(load) = writer
            .load
            .as_ref()
            .filter(|_| exists && mode == IfExists::Append)
        {
            if !self.reload && table_exists(&writer.conn, LOADS_TABLE).map_err(sqlerr)? {
                let earlier: Option<String> = writer
                    .conn
                    .query_row(
                        &LoadRecord::earlier_sql(&quote_ident(LOADS_TABLE), ("?1", "?2")),
                        [&load.snapshot_table, &load.target_table],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sqlerr)?;
                if let Some(at) = earlier {
                    return Err(load.repeated(&self.name, &at));
                }
            }
        }
        let q = quote_ident(table);
        let setup = match (mode, exists) {
            (IfExists::Fail, true) => {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("{ctx} exists (use --if-exists replace, truncate or append)"),
                ))
            }
            (IfExists::Replace, true) => format!("DROP TABLE {q};\n{ddl}"),
            (IfExists::Truncate, true) => format!("DELETE FROM {q}"),
            (IfExists::Append, true) => String::new(),
            (_, false) => ddl,
        };
        writer.conn.execute_batch(&setup).map_err(sqlerr)?;
        if matches!((mode, exists), (IfExists::Replace, true) | (_, false)) {
            self.build_indexes_at_commit(table, schema)?;
        }
        writer.insert = insert_sql(table, schema);
        writer.conn.prepare_cached(&writer.insert).map_err(sqlerr)?;
        Ok(Box::new(writer))
    }

    /// `fail` and `replace` load chunk by chunk into a staging table; `truncate` and `append`
    /// (and a table after one of them, whose transaction holds the database's write lock) in
    /// the run's one transaction.
    fn prepare_chunked(
        &self,
        table: &str,
        schema: &SchemaRef,
        mode: IfExists,
        plan: &ChunkPlan,
    ) -> Result<Box<dyn TableWriter + '_>> {
        let in_run = self
            .run
            .lock()
            .map_err(|_| Error::internal("run state"))?
            .is_some();
        if in_run || matches!(mode, IfExists::Truncate | IfExists::Append) {
            return self.prepare(table, schema, mode);
        }
        let ctx = format!("{}: table \"{table}\"", self.name);
        let binders = self.binders(schema, &ctx)?;
        self.lock_run()?;
        chunks::prepare(self, table, schema, mode, plan, binders)
    }

    fn carries(&self) -> super::Carries {
        super::Carries {
            indexes: true,
            checks: None,
            comments: false,
        }
    }

    fn resumes(&self) -> bool {
        true
    }

    fn abandon(&self) -> Vec<String> {
        let mut kept = self.kept.lock().map(|k| k.clone()).unwrap_or_default();
        let staged = self
            .staged
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        let mut conn = None;
        for s in staged {
            if s.chunks > 0 {
                kept.push(s.kept_line());
            } else if let Some(c) = conn.get_or_insert_with(|| self.connect().ok()) {
                chunks::forget(c, &s);
            }
        }
        if let Ok(mut k) = self.kept.lock() {
            k.clone_from(&kept);
        }
        kept
    }

    fn commit(&self) -> Result<()> {
        self.commit_run()
    }
}

/// The INSERT of one row into `table`, every column of `schema` bound.
fn insert_sql(table: &str, schema: &SchemaRef) -> String {
    let cols: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| quote_ident(f.name()))
        .collect();
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({})",
        quote_ident(table),
        cols.join(", "),
        marks.join(", ")
    )
}

/// Inserts a batch read from `origin` with the prepared `insert`, one bound row at a time; an
/// error names the table (`ctx`), the column and the source row.
fn insert_batch(
    conn: &Connection,
    insert: &str,
    binders: &[Binder],
    ctx: &str,
    batch: &RecordBatch,
    origin: &Origin,
) -> Result<()> {
    let columns = batch
        .columns()
        .iter()
        .zip(binders)
        .map(|(a, b)| b.convert(a))
        .collect::<Result<Vec<_>>>()
        .map_err(|e| e.context(format!("{ctx}, batch at {}", origin.row(0))))?;
    let mut stmt = conn
        .prepare_cached(insert)
        .map_err(|e| Error::sqlite(ctx.to_string(), e))?;
    for row in 0..batch.num_rows() {
        for (i, (col, binder)) in columns.iter().zip(binders).enumerate() {
            let value = binder.value(col, row).map_err(|why| {
                Error::new(
                    ErrorKind::InvalidData,
                    format!(
                        "{ctx}, column \"{}\", {}: {why}",
                        binder.column,
                        origin.row(row)
                    ),
                )
            })?;
            stmt.raw_bind_parameter(i + 1, value)
                .map_err(|e| Error::sqlite(ctx.to_string(), e))?;
        }
        stmt.raw_execute()
            .map_err(|e| Error::sqlite(format!("{ctx}, {}", origin.row(row)), e))?;
    }
    Ok(())
}

impl SqliteSink {
    /// Has the run's commit build the secondary indexes `schema` records on `table`, a table
    /// the run creates or replaces.
    pub(super) fn build_indexes_at_commit(&self, table: &str, schema: &SchemaRef) -> Result<()> {
        let indexes = crate::types::indexes::indexes_of(schema);
        let mut all = self
            .indexes
            .lock()
            .map_err(|_| Error::internal("run state"))?;
        // A table prepared again (a retry after a lost connection) is listed once.
        all.retain(|(t, _)| t != table);
        if !indexes.is_empty() {
            all.push((table.to_string(), indexes));
        }
        Ok(())
    }

    /// Builds the new tables' secondary indexes, in the run's transaction on `conn`. One SQLite
    /// cannot build (another dialect's, or a name another index of the database has) is left
    /// out and named.
    fn build_indexes(&self, conn: &Connection) -> Result<()> {
        let tables = self
            .indexes
            .lock()
            .map_err(|_| Error::internal("run state"))?
            .clone();
        for (table, indexes) in tables {
            let q = quote_ident(&table);
            for ix in indexes {
                let sql = match ix.to_sqlite(&q, &quote_ident(&ix.name)) {
                    Ok(sql) => sql,
                    Err(why) => {
                        self.left_out.note(&table, "index", &ix.describe(), &why);
                        continue;
                    }
                };
                let started = std::time::Instant::now();
                match conn.execute_batch(&sql) {
                    Ok(()) => {
                        tracing::info!(table = %table, index = %ix.name, seconds = started.elapsed().as_secs_f64(), "index built")
                    }
                    Err(e) => self
                        .left_out
                        .note(&table, "index", &ix.describe(), &e.to_string()),
                }
            }
        }
        Ok(())
    }

    /// Commits the run: the staged tables renamed into place and the run's transaction (its
    /// `truncate` and `append` loads), every table at once, in one transaction.
    fn commit_run(&self) -> Result<()> {
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
        let loads = std::mem::take(
            &mut *self
                .loads
                .lock()
                .map_err(|_| Error::internal("run state"))?,
        );
        let conn = match conn {
            Some(c) => Some(c),
            None if !staged.is_empty() || !loads.is_empty() => {
                let c = self.connect()?;
                c.execute_batch("BEGIN IMMEDIATE")
                    .map_err(|e| Error::sqlite(format!("{}: commit", self.name), e))?;
                Some(c)
            }
            None => None,
        };
        if let Some(conn) = conn {
            let published = (|| {
                // Views and triggers naming a replaced table name the new one.
                conn.execute_batch("PRAGMA legacy_alter_table = ON")
                    .map_err(|e| Error::sqlite(format!("{}: commit", self.name), e))?;
                chunks::publish(&conn, &self.name, &staged)?;
                self.build_indexes(&conn)?;
                let q = quote_ident(LOADS_TABLE);
                for (i, load) in loads.iter().enumerate() {
                    let mut sql = Vec::new();
                    if i == 0 {
                        sql.push(LoadRecord::create_sql(&q, "TEXT"));
                    }
                    sql.extend(load.record_sql(&q, crate::types::quote_literal));
                    conn.execute_batch(&sql.join(";\n"))
                        .map_err(|e| Error::sqlite(format!("{}: {LOADS_TABLE}", self.name), e))?;
                }
                conn.execute_batch("COMMIT")
                    .map_err(|e| Error::sqlite(format!("{}: commit failed", self.name), e))
            })();
            if let Err(e) = published {
                let _ = conn.execute_batch("ROLLBACK");
                // Not published: the staged tables are kept for --resume.
                if let Ok(mut s) = self.staged.lock() {
                    *s = staged;
                }
                return Err(e);
            }
        }
        if let Ok(mut c) = self.committed.lock() {
            *c = true;
        }
        if let Ok(mut i) = self.indexes.lock() {
            i.clear();
        }
        Ok(())
    }
}

impl Drop for SqliteSink {
    fn drop(&mut self) {
        // An uncommitted run's connection rolls back as it closes, before the file goes.
        if let Ok(mut run) = self.run.lock() {
            run.take();
        }
        let committed = self.committed.lock().map(|c| *c).unwrap_or(true);
        let kept = self.kept.lock().map(|k| !k.is_empty()).unwrap_or(true)
            || self.staged.lock().map(|s| !s.is_empty()).unwrap_or(true);
        // `created` is only ever set with the lock held, which is released after this.
        if self.created.load(Ordering::Relaxed) && !committed && !kept {
            // Nothing was committed into a file this run created: leave no file behind.
            let _ = std::fs::remove_file(&self.path);
            let mut journal = self.path.clone().into_os_string();
            journal.push("-journal");
            let _ = std::fs::remove_file(journal);
        }
    }
}

struct SqliteTableWriter<'a> {
    sink: &'a SqliteSink,
    conn: Connection,
    ctx: String,
    insert: String,
    binders: Vec<Binder>,
    rows: u64,
    bytes: u64,
    open: bool,
    /// The snapshot table the rows come from, recorded when the run commits.
    load: Option<LoadRecord>,
}

impl TableWriter for SqliteTableWriter<'_> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let origin = Origin {
            first_row: self.rows,
            ..Default::default()
        };
        self.write_from(batch, &origin)
    }

    fn write_from(&mut self, batch: &RecordBatch, origin: &Origin) -> Result<()> {
        insert_batch(
            &self.conn,
            &self.insert,
            &self.binders,
            &self.ctx,
            batch,
            origin,
        )?;
        self.rows += batch.num_rows() as u64;
        self.bytes += crate::pipeline::data_bytes(batch) as u64;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<WriteStats> {
        // The transaction goes on with the run's next table; `commit()` ends it.
        self.open = false;
        let conn = std::mem::replace(
            &mut self.conn,
            Connection::open_in_memory().map_err(|e| Error::sqlite(self.ctx.clone(), e))?,
        );
        *self
            .sink
            .run
            .lock()
            .map_err(|_| Error::internal("run state"))? = Some(conn);
        if let Some(mut load) = self.load.take() {
            load.rows = self.rows;
            self.sink
                .loads
                .lock()
                .map_err(|_| Error::internal("run state"))?
                .push(load);
        }
        Ok(WriteStats {
            rows: self.rows,
            bytes: self.bytes,
            files: Vec::new(),
            schema_seconds: 0.0,
            lossy: self.binders.iter().filter_map(Binder::replaced).collect(),
        })
    }
}

impl Drop for SqliteTableWriter<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// How one column's Arrow values become SQLite values; chosen once per schema.
#[derive(Debug)]
struct Binder {
    column: String,
    kind: BindKind,
    /// Reals SQLite cannot keep: refused, or replaced and counted in `replaced`.
    float_loss: FloatLoss,
    nullable: bool,
    replaced: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
enum BindKind {
    Integer,
    /// UInt64: integer up to i64::MAX, or text into a TEXT-affinity column.
    Unsigned {
        text: bool,
    },
    Real,
    Boolean,
    /// Decimals: text into a TEXT-affinity column, else integer or real when exact.
    Decimal {
        text: bool,
        precision: u8,
        scale: i8,
    },
    Text,
    Blob,
    Date,
    Time,
    Timestamp {
        tz: bool,
    },
    /// A signed duration (MySQL's `time`): its exact `[-]HH:MM:SS[.ffffff]` text, as MySQL
    /// prints it; read as an Int64 count of `nanos_per_unit` nanoseconds.
    Duration {
        nanos_per_unit: i128,
    },
}

/// Why a real cannot be stored in SQLite as it is, if it cannot: SQLite stores NaN as NULL and
/// -0.0 as 0.0 (±infinity it keeps). With [`real_for_sqlite`], the one place both are decided,
/// for ferry's own SQLite sink and for the ADBC SQLite driver.
pub(crate) fn real_refusal(f: f64) -> Option<String> {
    if f.is_nan() {
        Some(
            "NaN: SQLite stores NaN as NULL, so it cannot be kept; --float-loss replace writes \
             it as NULL (counted in the report)"
                .into(),
        )
    } else if f == 0.0 && f.is_sign_negative() {
        Some(
            "-0.0: SQLite stores -0.0 as 0.0, so its sign cannot be kept; --float-loss replace \
             writes it as 0.0 (counted in the report)"
                .into(),
        )
    } else {
        None
    }
}

/// The real SQLite gets for `f` in a column (`nullable` or NOT NULL): `f` itself, or, under
/// `--float-loss replace`, 0.0 for -0.0 and NULL (`None`) for NaN, with `true` when the value
/// was replaced; otherwise why it is refused. NaN in a NOT NULL column is refused either way.
pub(crate) fn real_for_sqlite(
    f: f64,
    loss: FloatLoss,
    nullable: bool,
) -> std::result::Result<(Option<f64>, bool), String> {
    let Some(why) = real_refusal(f) else {
        return Ok((Some(f), false));
    };
    match loss {
        FloatLoss::Error => Err(why),
        FloatLoss::Replace if f.is_nan() && !nullable => Err(
            "NaN: SQLite stores NaN as NULL, and the column is NOT NULL, so --float-loss \
             replace cannot write it as NULL"
                .into(),
        ),
        FloatLoss::Replace if f.is_nan() => Ok((None, true)),
        FloatLoss::Replace => Ok((Some(0.0), true)),
    }
}

const STRICT: CastOptions<'static> = CastOptions {
    safe: false,
    format_options: FormatOptions::new(),
};

impl Binder {
    fn for_field(column: &str, dt: &DataType, target: &str) -> Result<Self> {
        use DataType as D;
        let text = sqlite_affinity(target) == Affinity::Text;
        let kind = match dt {
            D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32 => {
                BindKind::Integer
            }
            D::UInt64 => BindKind::Unsigned { text },
            D::Float16 | D::Float32 | D::Float64 => BindKind::Real,
            D::Boolean => BindKind::Boolean,
            D::Decimal128(p, s) | D::Decimal256(p, s) if *s >= 0 => BindKind::Decimal {
                text,
                precision: *p,
                scale: *s,
            },
            D::Utf8 | D::LargeUtf8 | D::Utf8View => BindKind::Text,
            D::Binary | D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_) => BindKind::Blob,
            D::Date32 | D::Date64 => BindKind::Date,
            D::Time32(_) | D::Time64(_) => BindKind::Time,
            D::Timestamp(_, tz) => BindKind::Timestamp { tz: tz.is_some() },
            D::Duration(unit) => BindKind::Duration {
                nanos_per_unit: match unit {
                    TimeUnit::Second => 1_000_000_000,
                    TimeUnit::Millisecond => 1_000_000,
                    TimeUnit::Microsecond => 1_000,
                    TimeUnit::Nanosecond => 1,
                },
            },
            other => {
                return Err(Error::unsupported(format!(
                    "column \"{column}\": Arrow type {other} cannot be written to SQLite"
                )))
            }
        };
        Ok(Binder {
            column: column.to_string(),
            kind,
            float_loss: FloatLoss::Error,
            nullable: true,
            replaced: AtomicU64::new(0),
        })
    }

    /// What a real SQLite cannot keep becomes in this column (NULL only where it may be NULL).
    fn with_floats(mut self, float_loss: FloatLoss, nullable: bool) -> Self {
        self.float_loss = float_loss;
        self.nullable = nullable;
        self
    }

    /// The column and the values replaced in it, if any.
    fn replaced(&self) -> Option<(String, u64)> {
        let n = self.replaced.load(Ordering::Relaxed);
        (n > 0).then(|| (self.column.clone(), n))
    }

    /// Converts a column to the one Arrow type this binder reads (a no-op for most).
    fn convert(&self, a: &ArrayRef) -> Result<ArrayRef> {
        let target = match (self.kind, a.data_type()) {
            (BindKind::Integer, _) => DataType::Int64,
            (BindKind::Real, _) => DataType::Float64,
            (BindKind::Text, _) => DataType::Utf8,
            (BindKind::Blob, _) => DataType::Binary,
            (BindKind::Date, _) => DataType::Date32,
            (BindKind::Time, DataType::Time64(TimeUnit::Nanosecond)) => {
                exact_micros(a, &self.column)?;
                DataType::Time64(TimeUnit::Microsecond)
            }
            (BindKind::Time, _) => DataType::Time64(TimeUnit::Microsecond),
            (BindKind::Duration { .. }, _) => DataType::Int64,
            (BindKind::Timestamp { .. }, DataType::Timestamp(unit, tz)) => {
                if *unit == TimeUnit::Nanosecond {
                    exact_micros(a, &self.column)?;
                }
                DataType::Timestamp(TimeUnit::Microsecond, tz.clone())
            }
            _ => return Ok(a.clone()),
        };
        if a.data_type() == &target {
            return Ok(a.clone());
        }
        cast_with_options(a, &target, &STRICT).map_err(|e| {
            Error::arrow(
                format!(
                    "column \"{}\": cannot convert {} to {target}",
                    self.column,
                    a.data_type()
                ),
                e,
            )
        })
    }

    /// The SQLite value of `row`, or why it cannot be stored exactly.
    fn value<'a>(&self, a: &'a ArrayRef, row: usize) -> Result<ToSqlOutput<'a>, String> {
        if a.is_null(row) {
            return Ok(ToSqlOutput::Borrowed(ValueRef::Null));
        }
        let owned = |v: Value| Ok(ToSqlOutput::Owned(v));
        match self.kind {
            BindKind::Integer => owned(Value::Integer(a.as_primitive::<Int64Type>().value(row))),
            BindKind::Unsigned { text } => {
                let v = a.as_primitive::<UInt64Type>().value(row);
                match (text, i64::try_from(v)) {
                    (true, _) => owned(Value::Text(v.to_string())),
                    (false, Ok(i)) => owned(Value::Integer(i)),
                    (false, Err(_)) => {
                        Err(format!("{v} does not fit SQLite's 64-bit signed integer"))
                    }
                }
            }
            BindKind::Real => {
                let f = a.as_primitive::<Float64Type>().value(row);
                let (f, replaced) = real_for_sqlite(f, self.float_loss, self.nullable)?;
                if replaced {
                    self.replaced.fetch_add(1, Ordering::Relaxed);
                }
                match f {
                    Some(f) => owned(Value::Real(f)),
                    None => Ok(ToSqlOutput::Borrowed(ValueRef::Null)),
                }
            }
            BindKind::Boolean => owned(Value::Integer(a.as_boolean().value(row) as i64)),
            BindKind::Decimal {
                text,
                precision,
                scale,
            } => {
                let v = match a.data_type() {
                    DataType::Decimal128(..) => arrow::datatypes::i256::from_i128(
                        a.as_primitive::<Decimal128Type>().value(row),
                    ),
                    _ => a.as_primitive::<Decimal256Type>().value(row),
                };
                decimal_value(v, precision, scale, text).map(ToSqlOutput::Owned)
            }
            BindKind::Text => Ok(ToSqlOutput::Borrowed(ValueRef::Text(
                a.as_string::<i32>().value(row).as_bytes(),
            ))),
            BindKind::Blob => Ok(ToSqlOutput::Borrowed(ValueRef::Blob(
                a.as_binary::<i32>().value(row),
            ))),
            BindKind::Date => {
                let d = a.as_primitive::<Date32Type>().value(row);
                temporal::format_date(d)
                    .map(|s| ToSqlOutput::Owned(Value::Text(s)))
                    .ok_or_else(|| {
                        format!("date {} is out of range", temporal::shown_date(d.into()))
                    })
            }
            BindKind::Time => {
                let t = a.as_primitive::<Time64MicrosecondType>().value(row);
                temporal::format_time(t)
                    .map(|s| ToSqlOutput::Owned(Value::Text(s)))
                    .ok_or_else(|| {
                        format!(
                            "time of day {} is out of range",
                            temporal::format_duration(i128::from(t) * 1000)
                        )
                    })
            }
            BindKind::Timestamp { tz } => {
                let t = a.as_primitive::<TimestampMicrosecondType>().value(row);
                let s = temporal::format_timestamp(t).ok_or_else(|| {
                    format!(
                        "timestamp {} is out of range",
                        temporal::shown_timestamp(t, 1_000_000, tz)
                    )
                })?;
                let infinite = t == temporal::TS_INFINITY || t == temporal::TS_NEG_INFINITY;
                owned(Value::Text(if tz && !infinite {
                    format!("{s}+00:00")
                } else {
                    s
                }))
            }
            BindKind::Duration { nanos_per_unit } => {
                let v = a.as_primitive::<Int64Type>().value(row);
                owned(Value::Text(temporal::format_duration(
                    i128::from(v) * nanos_per_unit,
                )))
            }
        }
    }
}

/// Fails if a nanosecond column holds sub-microsecond digits, which SQLite text would drop.
fn exact_micros(a: &ArrayRef, column: &str) -> Result<()> {
    let as_i64 = cast_with_options(a, &DataType::Int64, &STRICT)
        .map_err(|e| Error::arrow(format!("column \"{column}\""), e))?;
    let v = as_i64.as_primitive::<Int64Type>();
    match v.iter().position(|x| x.is_some_and(|x| x % 1000 != 0)) {
        Some(row) => Err(Error::invalid_data(format!(
            "column \"{column}\", row {}: {} has nanoseconds, which would be lost (ferry keeps \
             microseconds in SQLite)",
            row + 1,
            crate::transform::describe_value(a.as_ref(), row)
        ))),
        None => Ok(()),
    }
}

/// Powers of ten that an f64 holds exactly.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A decimal as SQLite stores it exactly: text in a TEXT-affinity column; else an integer when
/// it has no fraction and fits, else a real when the f64 gives the same decimal back.
fn decimal_value(
    v: arrow::datatypes::i256,
    precision: u8,
    scale: i8,
    text: bool,
) -> Result<Value, String> {
    if text {
        return Ok(Value::Text(decimal::format(v, scale)));
    }
    let ten_s = arrow::datatypes::i256::from_i128(10i128.pow(scale as u32));
    if v.wrapping_rem(ten_s) == arrow::datatypes::i256::ZERO {
        if let Some(i) = v
            .wrapping_div(ten_s)
            .to_i128()
            .and_then(|i| i64::try_from(i).ok())
        {
            return Ok(Value::Integer(i));
        }
    }
    // Up to 15 digits an f64 holds the decimal exactly (DBL_DIG), and dividing the exact
    // integer by the exact power of ten rounds once, to the same f64 that parsing the text
    // gives: no text round trip on this hot path.
    if precision <= crate::types::SQLITE_EXACT_REAL_DIGITS && scale <= 22 {
        if let Some(i) = v.to_i128() {
            return Ok(Value::Real(i as f64 / POW10[scale as usize]));
        }
    }
    let s = decimal::format(v, scale);
    let f: f64 = s.parse().map_err(|_| format!("{s} is not a number"))?;
    if decimal::from_f64_exact(f, 76, scale) == Some(v) {
        return Ok(Value::Real(f));
    }
    Err(format!(
        "{s} has more digits than SQLite's NUMERIC storage keeps (15); declare the column \
         DECIMAL_TEXT(p,s) to store decimals as exact text"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_decimal_to_real_equals_parsing_the_text() {
        let mut x: i64 = 1;
        for i in 0..200_000i64 {
            // A spread of magnitudes up to 15 digits, both signs.
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = (x % 10i64.pow((i % 15 + 1) as u32)) as i128;
            for scale in [1i8, 2, 4, 7, 12] {
                let d = arrow::datatypes::i256::from_i128(v);
                let text: f64 = decimal::format(d, scale).parse().unwrap();
                match decimal_value(d, 15, scale, false).unwrap() {
                    Value::Real(f) => assert_eq!(f.to_bits(), text.to_bits(), "{v} scale {scale}"),
                    Value::Integer(n) => assert_eq!(n as f64, text),
                    other => panic!("{other:?}"),
                }
            }
        }
    }

    #[test]
    fn reals_sqlite_cannot_keep_are_refused() {
        assert!(real_refusal(f64::NAN).unwrap().starts_with("NaN"));
        assert!(real_refusal(-0.0).unwrap().starts_with("-0.0"));
        for f in [
            0.0,
            1.0,
            -1.0,
            5e-324,
            -5e-324,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
        ] {
            assert_eq!(real_refusal(f), None, "{f}");
        }
    }

    #[test]
    fn reals_sqlite_cannot_keep_are_replaced_when_asked() {
        use FloatLoss::{Error as Refuse, Replace};
        assert!(real_for_sqlite(-0.0, Refuse, true)
            .unwrap_err()
            .contains("--float-loss replace writes it as 0.0"));
        assert!(real_for_sqlite(f64::NAN, Refuse, true)
            .unwrap_err()
            .contains("--float-loss replace writes it as NULL"));
        let (zero, replaced) = real_for_sqlite(-0.0, Replace, false).unwrap();
        assert_eq!((zero.map(f64::to_bits), replaced), (Some(0), true));
        assert_eq!(real_for_sqlite(f64::NAN, Replace, true), Ok((None, true)));
        assert!(real_for_sqlite(f64::NAN, Replace, false)
            .unwrap_err()
            .contains("NOT NULL"));
        for f in [1.5, f64::INFINITY, -5e-324] {
            assert_eq!(real_for_sqlite(f, Replace, true), Ok((Some(f), false)));
        }
        // Bound cell by cell, the replaced values counted for the column.
        let b = Binder::for_field("r", &DataType::Float64, "REAL")
            .unwrap()
            .with_floats(Replace, true);
        let a: ArrayRef = std::sync::Arc::new(arrow::array::Float64Array::from(vec![
            Some(-0.0),
            None,
            Some(f64::NAN),
            Some(-2.5),
        ]));
        let cells: Vec<Option<u64>> = (0..a.len())
            .map(|i| match b.value(&a, i).unwrap() {
                ToSqlOutput::Owned(Value::Real(f)) => Some(f.to_bits()),
                ToSqlOutput::Borrowed(ValueRef::Null) => None,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(cells, [Some(0), None, None, Some((-2.5f64).to_bits())]);
        assert_eq!(b.replaced(), Some(("r".into(), 2)));
    }

    #[test]
    fn durations_bind_as_their_exact_text() {
        use arrow::array::{DurationMillisecondArray, DurationNanosecondArray};
        let text = |a: ArrayRef| {
            let b = Binder::for_field("t", a.data_type(), "TEXT").unwrap();
            let a = b.convert(&a).unwrap();
            (0..a.len())
                .map(|i| match b.value(&a, i).unwrap() {
                    ToSqlOutput::Owned(Value::Text(s)) => Some(s),
                    ToSqlOutput::Borrowed(ValueRef::Null) => None,
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>()
        };
        let ms: ArrayRef = std::sync::Arc::new(DurationMillisecondArray::from(vec![
            Some(-3_020_399_000),
            Some(90_061_001),
            None,
        ]));
        assert_eq!(
            text(ms),
            [
                Some("-838:59:59".into()),
                Some("25:01:01.001000".into()),
                None
            ]
        );
        let ns: ArrayRef = std::sync::Arc::new(DurationNanosecondArray::from(vec![-1]));
        assert_eq!(text(ns), [Some("-00:00:00.000000001".into())]);
    }

    #[test]
    fn decimals_are_stored_exactly_or_refused() {
        let d = |s: &str, p, sc| decimal::parse_exact(s, p, sc).unwrap();
        assert_eq!(
            decimal_value(d("17.00", 15, 2), 15, 2, false),
            Ok(Value::Integer(17))
        );
        assert_eq!(
            decimal_value(d("0.04", 15, 2), 15, 2, false),
            Ok(Value::Real(0.04))
        );
        assert_eq!(
            decimal_value(d("-901.5", 15, 2), 15, 2, false),
            Ok(Value::Real(-901.5))
        );
        let wide = "12345678901234567890.12345678901234567890";
        assert!(decimal_value(d(wide, 40, 20), 40, 20, false)
            .unwrap_err()
            .contains("DECIMAL_TEXT"));
        assert_eq!(
            decimal_value(d(wide, 40, 20), 40, 20, true),
            Ok(Value::Text(wide.into()))
        );
    }
}
