//! The PostgreSQL sink: `COPY ... FROM STDIN (FORMAT binary)` over several connections at once,
//! fed by ferry's own encoder ([`copy_binary`]).
//!
//! A new or replaced table is loaded into a staging table (`_ferry_<table>_<hash>`) by `--jobs`
//! connections, each with its own COPY; `finish()` then converts the columns PostgreSQL loaded
//! as text, builds the primary key once, and swaps the staging table in with one transaction
//! (`DROP` of the old table and `RENAME`), so readers never see a half-loaded or empty table.
//! Appending to (or truncating) an existing table is one COPY in one transaction. A failure at
//! any point drops the staging table and leaves the target as it was; a staging table left by a
//! killed run is dropped by the next run for the same target.

pub mod copy_binary;
mod foreign_keys;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use crossbeam_channel::{bounded, Receiver, Sender};
use postgres::Client;

use super::{foreign_key_name, IfExists, Sink, TableWriter, TargetKeys, WriteOptions, WriteStats};
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::pg::{pg_error, PgSettings};
use crate::types::postgres::{pg_target_type, PgEnum, PgWrite};
use crate::types::quote_ident;
use copy_binary::{BatchEncoder, ColumnEncoding, HEADER, TRAILER};

/// Session settings of every writing connection: text loaded into staging columns is read with
/// ISO dates and UTC, whatever the server's defaults.
const SESSION: &str =
    "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; SET TimeZone = 'UTC'";

/// PostgreSQL's NAMEDATALEN - 1: a longer identifier is cut to this many bytes.
const MAX_IDENTIFIER_BYTES: usize = 63;

pub struct PgSink {
    settings: PgSettings,
    jobs: usize,
    /// The schema every table goes to: the URL's `schema=`, else `--schema`, else the
    /// connection's `current_schema()`. A table name is one identifier, never qualified.
    default_schema: String,
}

/// A target column: its final type and how it travels.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    declared: String,
    write: PgWrite,
    not_null: bool,
    /// The enum its type is (or is an array of), created in the target when missing.
    enum_type: Option<PgEnum>,
}

impl PgSink {
    pub fn try_new(endpoint: &Endpoint, options: &WriteOptions) -> Result<PgSink> {
        let settings = PgSettings::from_endpoint(endpoint)?;
        let mut client = settings.connect()?;
        let default_schema = match settings.schema.clone().or_else(|| options.schema.clone()) {
            Some(s) => s,
            None => client
                .query_one("SELECT coalesce(current_schema(), 'public')", &[])
                .map_err(|e| pg_error(e, format!("{settings}")))?
                .get(0),
        };
        Ok(PgSink {
            default_schema,
            settings,
            jobs: options.jobs.max(1),
        })
    }

    /// `(schema, table, "schema"."table")` of a target name: one identifier (a dot in it is
    /// part of the name), in the sink's schema.
    fn target(&self, table: &str) -> (String, String, String) {
        let schema = self.default_schema.clone();
        let q = format!("{}.{}", quote_ident(&schema), quote_ident(table));
        (schema, table.to_string(), q)
    }

    fn connect(&self) -> Result<Client> {
        let mut c = self.settings.connect()?;
        c.batch_execute(SESSION)
            .map_err(|e| pg_error(e, format!("{}", self.settings)))?;
        Ok(c)
    }
}

fn columns_of(schema: &SchemaRef) -> Result<Vec<Column>> {
    schema
        .fields()
        .iter()
        .map(|f| {
            let declared = pg_target_type(f)?;
            Ok(Column {
                name: f.name().clone(),
                write: PgWrite::for_column(&declared, f.data_type()),
                declared,
                not_null: !f.is_nullable(),
                enum_type: PgEnum::of_field(f)?,
            })
        })
        .collect()
}

fn primary_key(schema: &SchemaRef) -> Vec<String> {
    super::key_columns(schema)
        .iter()
        .map(|k| quote_ident(k))
        .collect()
}

/// The enums the columns' types are, each once.
fn enums_of(cols: &[Column]) -> Vec<&PgEnum> {
    let mut enums: Vec<&PgEnum> = Vec::new();
    for e in cols.iter().filter_map(|c| c.enum_type.as_ref()) {
        if !enums.iter().any(|x| x.qualified() == e.qualified()) {
            enums.push(e);
        }
    }
    enums
}

/// `CREATE TABLE`; with `staged`, the columns loaded as text are declared `text`.
fn create_sql(qualified: &str, cols: &[Column], staged: bool, key: Option<&[String]>) -> String {
    let mut defs: Vec<String> = cols
        .iter()
        .map(|c| {
            let t = if staged && c.write == PgWrite::StagedText {
                "text"
            } else {
                &c.declared
            };
            format!(
                "{} {t}{}",
                quote_ident(&c.name),
                if c.not_null { " NOT NULL" } else { "" }
            )
        })
        .collect();
    if let Some(key) = key.filter(|k| !k.is_empty()) {
        defs.push(format!("PRIMARY KEY ({})", key.join(", ")));
    }
    format!("CREATE TABLE {qualified} (\n  {}\n)", defs.join(",\n  "))
}

impl Sink for PgSink {
    fn describe_target(&self, table: &str, schema: &SchemaRef) -> Result<String> {
        let (_, _, q) = self.target(table);
        super::check_name_lengths(
            &self.settings.to_string(),
            table,
            schema,
            Some(MAX_IDENTIFIER_BYTES),
            None,
        )?;
        let cols = columns_of(schema)?;
        let key = primary_key(schema);
        let types: String = enums_of(&cols)
            .iter()
            .map(|e| format!("{}; -- if missing\n", e.create_sql()))
            .collect();
        Ok(format!(
            "{types}{};\n-- loaded by {} COPY (FORMAT binary) stream(s) into a staging table, then swapped in",
            create_sql(&q, &cols, false, Some(&key)),
            self.jobs
        ))
    }

    fn exists(&self, table: &str) -> Result<bool> {
        let (_, _, q) = self.target(table);
        let mut c = self.settings.connect()?;
        let row = c
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&q])
            .map_err(|e| pg_error(e, format!("{}: {q}", self.settings)))?;
        Ok(row.get(0))
    }

    fn prepare(
        &self,
        table: &str,
        schema: &SchemaRef,
        mode: IfExists,
    ) -> Result<Box<dyn TableWriter + '_>> {
        let (schema_name, name, qualified) = self.target(table);
        let ctx = |e| pg_error(e, format!("{}: {qualified}", self.settings));
        let mut control = self.connect()?;
        if mode != IfExists::Append {
            // One run at a time creates, replaces or truncates a table: the lock is held by
            // `control` until the writer is done (a killed run's ends with its connection).
            lock_target(&mut control, &self.settings, &qualified)?;
            drop_leftover_staging(
                &mut control,
                &self.settings,
                &schema_name,
                &qualified,
                &name,
            )?;
        }
        let exists: bool = control
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&qualified])
            .map_err(ctx)?
            .get(0);
        if exists && mode == IfExists::Fail {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "{}: target table {qualified} exists (use --if-exists append, replace or truncate)",
                    self.settings
                ),
            ));
        }
        let mut cols = columns_of(schema)?;
        let appending = exists && matches!(mode, IfExists::Append | IfExists::Truncate);
        if appending {
            // The existing definition decides the encodings.
            let rows = control
                .query(
                    "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)
                     FROM pg_attribute a
                     WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
                    &[&qualified],
                )
                .map_err(ctx)?;
            for (c, f) in cols.iter_mut().zip(schema.fields()) {
                let Some(r) = rows.iter().find(|r| r.get::<_, String>(0) == c.name) else {
                    return Err(Error::not_found(format!(
                        "{}: target table {qualified} has no column \"{}\"",
                        self.settings, c.name
                    )));
                };
                c.declared = r.get(1);
                c.write = PgWrite::for_column(&c.declared, f.data_type());
            }
        }
        let staged = cols.iter().any(|c| c.write == PgWrite::StagedText);
        let encoder = Arc::new(BatchEncoder::try_new(
            schema,
            cols.iter()
                .map(|c| ColumnEncoding {
                    name: c.name.clone(),
                    write: c.write,
                })
                .collect(),
        )?);
        let col_list = cols
            .iter()
            .map(|c| quote_ident(&c.name))
            .collect::<Vec<_>>()
            .join(", ");
        let truncate = if mode == IfExists::Truncate {
            format!("TRUNCATE {qualified}; ")
        } else {
            String::new()
        };
        let (load_into, staging, workers, begin) = if appending && !staged {
            // One COPY into the table itself, in one transaction committed by finish().
            (qualified.clone(), None, 1, format!("BEGIN; {truncate}"))
        } else {
            let sname = super::staging_name(&qualified, &name, "");
            let sq = format!("{}.{}", quote_ident(&schema_name), quote_ident(&sname));
            control
                .batch_execute(&format!(
                    "CREATE SCHEMA IF NOT EXISTS {}; {}",
                    quote_ident(&schema_name),
                    create_sql(&sq, &cols, true, None)
                ))
                .map_err(|e| {
                    pg_error(
                        e,
                        format!("{}: staging table for {qualified}", self.settings),
                    )
                })?;
            (
                sq.clone(),
                Some((sname, sq)),
                self.jobs,
                "BEGIN; ".to_string(),
            )
        };
        let copy = format!("COPY {load_into} ({col_list}) FROM STDIN (FORMAT binary)");
        let (tx, rx) = bounded::<(usize, RecordBatch)>(workers * 2);
        // The writer exists before its COPY connections start: if one cannot start, dropping
        // the writer stops the others and drops the staging table.
        let mut writer = Box::new(PgWriter {
            settings: self.settings.clone(),
            control,
            qualified: qualified.clone(),
            schema: quote_ident(&schema_name),
            name,
            cols,
            key: primary_key(schema),
            mode,
            appending,
            staging,
            tx: Some(tx),
            handles: Vec::new(),
            abort: Arc::new(AtomicBool::new(false)),
            batches: 0,
            bytes: 0,
            rows_sent: 0,
            finished: false,
        });
        for k in 0..workers {
            let client = self.connect()?;
            writer.handles.push(spawn_worker(
                k,
                client,
                format!("{begin}{SESSION}"),
                copy.clone(),
                rx.clone(),
                encoder.clone(),
                writer.abort.clone(),
                format!("{}: {qualified}", self.settings),
            )?);
        }
        Ok(writer)
    }

    fn add_foreign_keys(&self, tables: &[TargetKeys]) -> Result<()> {
        if tables.iter().all(|t| t.keys.foreign_keys.is_empty()) {
            return Ok(());
        }
        // One transaction: either every key is added, or none.
        let mut c = self.connect()?;
        let what = self.settings.to_string();
        let mut tx = c.transaction().map_err(|e| pg_error(e, what.clone()))?;
        for t in tables {
            let (_, name, child) = self.target(&t.table);
            for fk in &t.keys.foreign_keys {
                let (_, _, parent) = self.target(&fk.table);
                let key = foreign_key_name(&name, &fk.columns, foreign_keys::MAX_NAME_BYTES);
                foreign_keys::add(
                    &mut tx,
                    &child,
                    &key,
                    &fk.columns,
                    &parent,
                    &fk.referenced,
                    &what,
                )?;
            }
        }
        tx.commit()
            .map_err(|e| pg_error(e, format!("{what}: foreign keys")))
    }
}

/// Takes the session advisory lock of `qualified` on `c`, or refuses, naming the run (backend
/// pid, application name, client, start) that holds it: two runs replacing one table would
/// otherwise each swap in a table the other was still loading.
fn lock_target(c: &mut Client, settings: &PgSettings, qualified: &str) -> Result<()> {
    let (k1, k2) = super::target_lock_keys(qualified);
    let ctx = |e| pg_error(e, format!("{settings}: {qualified}: lock"));
    let got: bool = c
        .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&k1, &k2])
        .map_err(ctx)?
        .get(0);
    if got {
        return Ok(());
    }
    let holder = c
        .query_opt(
            "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.client_addr::text, 'local'),
                    to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ')
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
               AND l.classid = $1::int8::oid AND l.objid = $2::int8::oid",
            &[&(k1 as i64), &(k2 as i64)],
        )
        .map_err(ctx)?
        .map(|r| {
            format!(
                " (backend pid {}, application_name '{}', from {}, connected {})",
                r.get::<_, i32>(0),
                r.get::<_, String>(1),
                r.get::<_, String>(2),
                r.get::<_, String>(3)
            )
        })
        .unwrap_or_default();
    Err(Error::new(
        ErrorKind::Busy,
        format!(
            "{settings}: {qualified} is being written by another ferry run{holder}; \
             run again once it has finished"
        ),
    ))
}

/// Drops the staging tables of `qualified` that killed runs left behind. Called with the
/// target's lock held, so no live run is loading any of them.
fn drop_leftover_staging(
    c: &mut Client,
    settings: &PgSettings,
    schema: &str,
    qualified: &str,
    name: &str,
) -> Result<()> {
    let prefix = super::staging_prefix(qualified, name);
    let ctx = |e| {
        pg_error(
            e,
            format!("{settings}: {qualified}: leftover staging tables"),
        )
    };
    let rows = c
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relkind = 'r' AND left(c.relname, length($2)) = $2",
            &[&schema, &prefix],
        )
        .map_err(ctx)?;
    for r in rows {
        let t: String = r.get(0);
        tracing::info!(table = %t, "dropping a staging table a killed run left behind");
        c.batch_execute(&format!(
            "DROP TABLE IF EXISTS {}.{}",
            quote_ident(schema),
            quote_ident(&t)
        ))
        .map_err(ctx)?;
    }
    Ok(())
}

type WorkerResult = Result<(Client, u64, u64)>;

/// One connection's COPY: encodes the batches it takes from the channel and streams them.
#[allow(clippy::too_many_arguments)]
fn spawn_worker(
    k: usize,
    mut client: Client,
    begin: String,
    copy: String,
    rx: Receiver<(usize, RecordBatch)>,
    encoder: Arc<BatchEncoder>,
    abort: Arc<AtomicBool>,
    what: String,
) -> Result<JoinHandle<WorkerResult>> {
    std::thread::Builder::new()
        .name(format!("ferry-pg-copy-{k}"))
        .spawn(move || {
            client
                .batch_execute(&begin)
                .map_err(|e| pg_error(e, what.clone()))?;
            let mut bytes = 0u64;
            let rows = {
                let mut w = client
                    .copy_in(copy.as_str())
                    .map_err(|e| pg_error(e, what.clone()))?;
                let mut buf = Vec::with_capacity(1 << 20);
                let mut failed: Option<(String, std::io::Error)> = None;
                if let Err(e) = w.write_all(HEADER) {
                    failed = Some(("header".into(), e));
                }
                if failed.is_none() {
                    for (idx, batch) in rx.iter() {
                        if abort.load(Ordering::Relaxed) {
                            break;
                        }
                        buf.clear();
                        encoder
                            .encode(&batch, &mut buf)
                            .map_err(|e| e.context(format!("{what}: batch {}", idx + 1)))?;
                        bytes += buf.len() as u64;
                        if let Err(e) = w.write_all(&buf) {
                            failed = Some((format!("batch {}", idx + 1), e));
                            break;
                        }
                    }
                }
                if abort.load(Ordering::Relaxed) {
                    // Dropping the writer unfinished aborts the COPY.
                    return Err(Error::new(
                        ErrorKind::Cancelled,
                        format!("{what}: load aborted"),
                    ));
                }
                if let Some((at, e)) = failed {
                    // The server's reason arrives when the COPY is closed.
                    return Err(match w.finish() {
                        Err(pe) => pg_error(pe, format!("{what}: {at}")),
                        Ok(_) => Error::io(format!("{what}: {at}"), e),
                    });
                }
                w.write_all(TRAILER)
                    .map_err(|e| Error::io(format!("{what}: trailer"), e))?;
                w.finish()
                    .map_err(|e| pg_error(e, format!("{what}: COPY")))?
            };
            Ok((client, rows, bytes))
        })
        .map_err(|e| Error::io("cannot start a COPY thread", e))
}

struct PgWriter {
    settings: PgSettings,
    control: Client,
    qualified: String,
    /// The target's quoted schema.
    schema: String,
    name: String,
    cols: Vec<Column>,
    key: Vec<String>,
    mode: IfExists,
    appending: bool,
    /// (name, qualified name) of the staging table, when loading through one.
    staging: Option<(String, String)>,
    tx: Option<Sender<(usize, RecordBatch)>>,
    handles: Vec<JoinHandle<WorkerResult>>,
    abort: Arc<AtomicBool>,
    batches: usize,
    bytes: u64,
    /// Rows handed to the COPY connections, checked against the rows the server confirms.
    rows_sent: u64,
    finished: bool,
}

impl PgWriter {
    /// The first failure of a COPY connection that stopped early.
    fn worker_failure(&mut self) -> Option<Error> {
        let done = self.handles.iter().position(|h| h.is_finished())?;
        let h = self.handles.remove(done);
        match h.join() {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some(Error::internal("a COPY thread failed unexpectedly")),
        }
    }

    fn join_all(&mut self) -> Result<(Vec<Client>, u64, u64)> {
        self.tx = None;
        let mut clients = Vec::new();
        let (mut rows, mut bytes) = (0, 0);
        let mut first: Option<Error> = None;
        for h in self.handles.drain(..) {
            match h.join() {
                Ok(Ok((c, r, b))) => {
                    clients.push(c);
                    rows += r;
                    bytes += b;
                }
                Ok(Err(e)) => {
                    first.get_or_insert(e);
                }
                Err(_) => {
                    first.get_or_insert(Error::internal("a COPY thread failed unexpectedly"));
                }
            }
        }
        match first {
            Some(e) => Err(e),
            None => Ok((clients, rows, bytes)),
        }
    }

    fn ctx(&self, what: &str) -> impl Fn(postgres::Error) -> Error + '_ {
        let what = what.to_string();
        move |e| pg_error(e, format!("{}: {}: {what}", self.settings, self.qualified))
    }

    /// Converts, indexes and swaps the staging table in.
    fn publish(&mut self, sname: &str, sq: &str) -> Result<()> {
        let staged: Vec<&Column> = self
            .cols
            .iter()
            .filter(|c| c.write == PgWrite::StagedText)
            .collect();
        if self.appending {
            let select = self
                .cols
                .iter()
                .map(|c| {
                    let q = quote_ident(&c.name);
                    if c.write == PgWrite::StagedText {
                        format!("{q}::{}", c.declared)
                    } else {
                        q
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            let cols = self
                .cols
                .iter()
                .map(|c| quote_ident(&c.name))
                .collect::<Vec<_>>()
                .join(", ");
            let truncate = if self.mode == IfExists::Truncate {
                format!("TRUNCATE {}; ", self.qualified)
            } else {
                String::new()
            };
            let sql = format!(
                "BEGIN; {truncate}INSERT INTO {} ({cols}) SELECT {select} FROM {sq}; DROP TABLE {sq}; COMMIT",
                self.qualified
            );
            let r = self
                .control
                .batch_execute(&sql)
                .map_err(self.ctx("insert from staging"));
            if r.is_err() {
                let _ = self.control.batch_execute("ROLLBACK");
            }
            return r;
        }
        // One transaction from the enum types to the swap: a failure anywhere leaves the
        // target database as it was. The old table is locked only from its DROP on.
        let alters = staged
            .iter()
            .map(|c| {
                let q = quote_ident(&c.name);
                format!(
                    "ALTER COLUMN {q} TYPE {} USING {q}::{}",
                    c.declared, c.declared
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let enums: Vec<PgEnum> = enums_of(&self.cols).into_iter().cloned().collect();
        let key_index = format!("{sname}_pkey");
        let add_key = (!self.key.is_empty()).then(|| {
            format!(
                "ALTER TABLE {sq} ADD CONSTRAINT {} PRIMARY KEY ({})",
                quote_ident(&key_index),
                self.key.join(", ")
            )
        });
        let settings = self.settings.clone();
        let q = self.qualified.clone();
        let err = |what: &'static str| {
            let (settings, q) = (settings.clone(), q.clone());
            move |e| pg_error(e, format!("{settings}: {q}: {what}"))
        };
        let mut tx = self
            .control
            .transaction()
            .map_err(|e| pg_error(e, "swap"))?;
        for e in &enums {
            let missing: bool = tx
                .query_one("SELECT to_regtype($1) IS NULL", &[&e.qualified()])
                .map_err(err("creating enum types"))?
                .get(0);
            if missing {
                tx.batch_execute(&format!(
                    "CREATE SCHEMA IF NOT EXISTS {}; {}",
                    quote_ident(&e.schema),
                    e.create_sql()
                ))
                .map_err(err("creating enum types"))?;
            }
        }
        if !alters.is_empty() {
            tx.batch_execute(&format!("ALTER TABLE {sq} {alters}"))
                .map_err(err("converting the columns loaded as text"))?;
        }
        if let Some(add_key) = add_key {
            tx.batch_execute(&add_key).map_err(err("primary key"))?;
        }
        let drop_old = if self.mode == IfExists::Fail {
            String::new()
        } else {
            format!("DROP TABLE IF EXISTS {}; ", self.qualified)
        };
        let schema = self.schema.clone();
        let swap = format!(
            "{drop_old}ALTER TABLE {sq} RENAME TO {}",
            quote_ident(&self.name)
        );
        // Other tables' keys on the old table would stop the DROP: they move to the new one.
        let what = format!("{settings}: {q}");
        let dependents = match self.mode {
            IfExists::Fail => Vec::new(),
            _ => foreign_keys::referencing(&mut tx, &q, &what)?,
        };
        foreign_keys::drop(&mut tx, &dependents, &what)?;
        tx.batch_execute(&swap).map_err(err("swap"))?;
        foreign_keys::restore(&mut tx, &dependents, &what)?;
        if !self.key.is_empty() {
            let wanted = format!("{}_pkey", self.name);
            let free: bool = tx
                .query_one(
                    "SELECT to_regclass($1) IS NULL",
                    &[&format!("{schema}.{}", quote_ident(&wanted))],
                )
                .map_err(err("index name"))?
                .get(0);
            if free {
                tx.batch_execute(&format!(
                    "ALTER INDEX {schema}.{} RENAME TO {}",
                    quote_ident(&key_index),
                    quote_ident(&wanted)
                ))
                .map_err(err("index name"))?;
            }
        }
        tx.commit().map_err(err("commit"))
    }

    fn drop_staging(&mut self) {
        if let Some((_, sq)) = &self.staging {
            let sql = format!("DROP TABLE IF EXISTS {sq}");
            if let Err(e) = self.control.batch_execute(&sql) {
                tracing::warn!("cannot drop the staging table {sq}: {e}");
            }
        }
    }
}

impl TableWriter for PgWriter {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if let Some(e) = self.worker_failure() {
            return Err(e);
        }
        let idx = self.batches;
        self.batches += 1;
        self.bytes += crate::pipeline::data_bytes(batch) as u64;
        self.rows_sent += batch.num_rows() as u64;
        let sent = match &self.tx {
            Some(tx) => tx.send((idx, batch.clone())).is_ok(),
            None => false,
        };
        if !sent {
            // Every COPY connection has stopped: say why.
            return Err(self.join_all().err().unwrap_or_else(|| {
                Error::internal(format!("{}: the COPY connections stopped", self.qualified))
            }));
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<WriteStats> {
        let (clients, rows, _wire_bytes) = self.join_all()?;
        // The COPY command tags' row counts, before anything commits: a difference means rows
        // were lost or added on the way, and the load is rolled back.
        if rows != self.rows_sent {
            return Err(Error::new(
                ErrorKind::Integrity,
                format!(
                    "{}: {}: the server confirmed {rows} rows, ferry sent {}; nothing was committed",
                    self.settings, self.qualified, self.rows_sent
                ),
            ));
        }
        for mut c in clients {
            c.batch_execute("COMMIT").map_err(|e| {
                pg_error(e, format!("{}: {}: commit", self.settings, self.qualified))
            })?;
        }
        if let Some((sname, sq)) = self.staging.clone() {
            self.publish(&sname, &sq)?;
            self.staging = None;
        }
        self.finished = true;
        Ok(WriteStats {
            rows,
            bytes: self.bytes,
            files: Vec::new(),
        })
    }
}

impl Drop for PgWriter {
    fn drop(&mut self) {
        if !self.finished {
            self.abort.store(true, Ordering::Relaxed);
            self.tx = None;
            for h in self.handles.drain(..) {
                let _ = h.join();
            }
            let _ = self.control.batch_execute("ROLLBACK");
        }
        self.drop_staging();
    }
}
