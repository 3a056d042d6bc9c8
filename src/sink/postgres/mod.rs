//! The PostgreSQL sink: `COPY ... FROM STDIN (FORMAT binary)` over several connections at once,
//! fed by ferry's own encoder ([`copy_binary`]).
//!
//! A new or replaced table is loaded into a staging table (`_ferry_<table>_<hash>_<run>`) by
//! `--jobs` connections, each with its own COPY; `finish()` then converts the columns PostgreSQL
//! loaded as text and builds the primary key once, on the staging table nobody else sees.
//! Appending to (or truncating) an existing table is one COPY into it on the run's own
//! connection, in the run's transaction. Nothing is visible before [`Sink::commit`]: at the
//! run's end, one transaction on that connection swaps every staging table in (`DROP` of the
//! old table and `RENAME`) and commits the appends, so readers see all of the run's tables as
//! they were or all of them new, never one half-loaded, empty or without the others. A failure
//! at any point leaves the target as it was. A new or replaced table is loaded chunk by chunk
//! (a source partition each, [`chunks`]): a failed or killed run keeps the chunks it committed,
//! which the same command with `--resume` continues from; without `--resume`, the next run for
//! the same target drops them.

mod chunks;
pub mod copy_binary;
mod foreign_keys;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use crossbeam_channel::{bounded, Receiver, Sender};
use postgres::Client;

use super::{
    foreign_key_name, ChunkPlan, IfExists, LoadRecord, Resume, Sink, TableWriter, TargetKeys,
    WriteOptions, WriteStats, LOADS_TABLE,
};
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::pg::{pg_error, PgSettings};
use crate::source::Origin;
use crate::types::constraints::CheckDef;
use crate::types::indexes::IndexDef;
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
    /// What the run's finished tables left to publish at its end.
    run: std::sync::Mutex<RunState>,
    /// `--reload`: append a snapshot table that the target table holds already.
    reload: bool,
    /// What a failed or cancelled run kept for `--resume`, one line per table.
    kept: Arc<std::sync::Mutex<Vec<String>>>,
    /// Where the schema objects it cannot create are noted.
    left_out: crate::report::LeftOutLog,
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
    /// `ALWAYS` or `BY DEFAULT`: an identity column at the source (`serial`, `AUTO_INCREMENT`),
    /// made one in a new table once its rows are in, its sequence past the largest value.
    identity: Option<String>,
    /// The source's default, set on a new table once its rows are in.
    default: Option<crate::types::defaults::ColumnDefault>,
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
            run: Default::default(),
            reload: options.reload,
            left_out: options.left_out.clone(),
            kept: Default::default(),
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

    /// A new connection in a transaction: the run's.
    fn begin_run(&self) -> Result<Client> {
        let mut c = self.connect()?;
        c.batch_execute("BEGIN")
            .map_err(|e| pg_error(e, format!("{}: begin", self.settings)))?;
        Ok(c)
    }

    /// The run's connection (its transaction open), for a table appended to directly.
    fn run_client(&self) -> Result<Client> {
        let taken = self
            .run
            .lock()
            .map_err(|_| Error::internal("run state"))?
            .client
            .take();
        match taken {
            Some(c) => Ok(c),
            None => self.begin_run(),
        }
    }
}

impl PgSink {
    /// Starts writing `table`; with `chunks`, a new or replaced table is loaded chunk by chunk
    /// ([`chunks`]).
    fn prepare_with(
        &self,
        table: &str,
        schema: &SchemaRef,
        mode: IfExists,
        chunks: Option<&ChunkPlan>,
    ) -> Result<Box<dyn TableWriter + '_>> {
        let (schema_name, name, qualified) = self.target(table);
        let ctx = |e| pg_error(e, format!("{}: {qualified}", self.settings));
        // A chunked load's staging table and progress rows, named by the plan.
        let progress = chunks.map(|c| {
            chunks::Progress::new(
                &quote_ident(&schema_name),
                super::chunked_staging_name(&qualified, &name, &c.fingerprint),
                c.fingerprint.clone(),
            )
        });
        let resume = chunks.map_or(Resume::No, |c| c.resume);
        let mut control = self.connect()?;
        if mode == IfExists::Append {
            // Appends share the target's lock: any number at once, but not beside a run that
            // creates, replaces or truncates it (whose leftover-staging sweep would take an
            // append's staging table for a killed run's).
            lock_target(&mut control, &self.settings, &qualified, true)?;
        } else {
            // One run at a time creates, replaces or truncates a table: the lock is held by
            // `control` until the run ends (a killed run's ends with its connection).
            lock_target(&mut control, &self.settings, &qualified, false)?;
            drop_leftover_staging(
                &mut control,
                &self.settings,
                &schema_name,
                &qualified,
                &name,
                progress.as_ref().filter(|_| resume != Resume::No),
                resume == Resume::Yes,
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
        let load = LoadRecord::of(schema, &name, mode);
        if let Some(load) = load.as_ref().filter(|_| exists && mode == IfExists::Append) {
            let loads = format!("{}.{}", quote_ident(&schema_name), quote_ident(LOADS_TABLE));
            let recorded: bool = control
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[&loads])
                .map_err(ctx)?
                .get(0);
            if recorded && !self.reload {
                let earlier = control
                    .query_opt(
                        &LoadRecord::earlier_sql(&loads, ("$1", "$2")),
                        &[&load.snapshot_table, &load.target_table],
                    )
                    .map_err(ctx)?;
                if let Some(r) = earlier {
                    return Err(load.repeated(&self.settings.to_string(), &r.get::<_, String>(0)));
                }
            }
        }
        let mut cols = columns_of(schema, &name, &self.left_out)?;
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
        let direct = appending && !staged;
        // Text a column cannot hold as it is (too long, or trailing blanks it would strip) is
        // refused, naming the value.
        let bounds = cols
            .iter()
            .enumerate()
            .filter_map(|(i, c)| super::TextBound::of(i, &c.name, &c.declared))
            .collect();
        // Chunks commit into a staging table of the run's own: a new or replaced table.
        let progress = progress.filter(|_| !appending);
        let mut committed = Vec::new();
        let mut built = false;
        let (load_into, staging, workers, begin) = if direct {
            // One COPY into the table itself, in the run's transaction (committed with the
            // run's other tables by `commit()`).
            (qualified.clone(), None, 1, truncate)
        } else {
            let sname = match &progress {
                Some(p) => p.staging.clone(),
                None => super::staging_name(&qualified, &name, ""),
            };
            let sq = format!("{}.{}", quote_ident(&schema_name), quote_ident(&sname));
            let what = format!("{}: staging table for {qualified}", self.settings);
            let mut create = create_sql(&sq, &cols, true, None);
            if let Some(p) = &progress {
                let kept = chunks::staging_exists(
                    &mut control,
                    &quote_ident(&schema_name),
                    &sname,
                    &what,
                )?;
                if kept && resume != Resume::No {
                    (committed, built) = p.committed(&mut control, &what)?;
                    create.clear();
                } else {
                    // Not resuming: this plan's earlier chunks are loaded again.
                    create = format!(
                        "DROP TABLE IF EXISTS {sq}; {}; {create}; {}",
                        p.forget_sql(),
                        p.create_sql()
                    );
                }
            }
            if !create.is_empty() {
                control
                    .batch_execute(&format!(
                        "CREATE SCHEMA IF NOT EXISTS {}; {create}",
                        quote_ident(&schema_name)
                    ))
                    .map_err(|e| pg_error(e, what.clone()))?;
            }
            (
                sq.clone(),
                Some((sname, sq)),
                self.jobs,
                "BEGIN; ".to_string(),
            )
        };
        let copy = format!("COPY {load_into} ({col_list}) FROM STDIN (FORMAT binary)");
        let (tx, rx) = bounded::<(usize, RecordBatch, Origin)>(workers * 2);
        // The writer exists before its COPY connections start: if one cannot start, dropping
        // the writer stops the others and drops the staging table.
        let mut writer = Box::new(PgWriter {
            sink: self,
            publication: Some(Publication {
                settings: self.settings.clone(),
                control,
                qualified: qualified.clone(),
                schema: quote_ident(&schema_name),
                name,
                cols,
                key: primary_key(schema),
                indexes: crate::types::indexes::indexes_of(schema),
                checks: crate::types::constraints::checks_of(schema),
                comments: Comments::of(schema),
                mode,
                appending,
                staging,
                load,
                progress: progress.clone(),
                built,
                kept: self.kept.clone(),
                left_out: self.left_out.clone(),
            }),
            direct,
            bounds,
            chunked: progress.map(|p| ChunkedLoad {
                router: chunks::Router::new(),
                progress: p,
                copy: copy.clone(),
                encoder: encoder.clone(),
                committed,
            }),
            tx: Some(tx),
            handles: Vec::new(),
            abort: Arc::new(AtomicBool::new(false)),
            batches: 0,
            bytes: 0,
            rows_sent: 0,
            finished: false,
        });
        // A chunked load opens its connections as chunks arrive.
        let workers = if writer.chunked.is_some() { 0 } else { workers };
        for k in 0..workers {
            let client = match direct {
                true => self.run_client()?,
                false => self.connect()?,
            };
            writer.handles.push(spawn_worker(
                k,
                self.settings.clone(),
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
}

/// The target columns of `schema`, for `table`; an identity PostgreSQL cannot carry is noted
/// in `left_out`.
fn columns_of(
    schema: &SchemaRef,
    table: &str,
    left_out: &crate::report::LeftOutLog,
) -> Result<Vec<Column>> {
    schema
        .fields()
        .iter()
        .map(|f| {
            let declared = pg_target_type(f)?;
            let identity = crate::types::identity(f).filter(|_| {
                let integer = matches!(
                    declared.to_ascii_lowercase().as_str(),
                    "smallint" | "integer" | "bigint" | "int2" | "int4" | "int8"
                );
                if !integer {
                    left_out.note(
                        table,
                        "identity",
                        &format!("of column {}", f.name()),
                        &format!("PostgreSQL's identity columns are smallint, integer or bigint, not {declared}"),
                    );
                }
                integer
            });
            Ok(Column {
                name: f.name().clone(),
                write: PgWrite::for_column(&declared, f.data_type()),
                identity: identity.map(str::to_string),
                default: crate::types::defaults::ColumnDefault::of_field(f),
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
        let cols = columns_of(schema, table, &crate::report::LeftOutLog::default())?;
        let key = primary_key(schema);
        let types: String = enums_of(&cols)
            .iter()
            .map(|e| format!("{}; -- if missing\n", e.create_sql()))
            .collect();
        let mut indexes = crate::types::indexes::describe_builds(schema, |ix| {
            ix.to_pg(&q, &quote_ident(&ix.name))
        });
        for ck in crate::types::constraints::checks_of(schema) {
            if let Ok(def) = ck.for_dialect(crate::types::postgres::DIALECT) {
                indexes.push_str(&format!(
                    "\nALTER TABLE {q} ADD CONSTRAINT {} {def};",
                    quote_ident(&ck.name)
                ));
            }
        }
        let comments = Comments::of(schema);
        if let Some(c) = &comments.table {
            indexes.push_str(&format!(
                "\nCOMMENT ON TABLE {q} IS {};",
                crate::pg::quote_literal(c)
            ));
        }
        for (column, c) in &comments.columns {
            indexes.push_str(&format!(
                "\nCOMMENT ON COLUMN {q}.{} IS {};",
                quote_ident(column),
                crate::pg::quote_literal(c)
            ));
        }
        Ok(format!(
            "{types}{};\n-- loaded by {} COPY (FORMAT binary) stream(s) into a staging table, then swapped in{indexes}",
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
        self.prepare_with(table, schema, mode, None)
    }

    fn prepare_chunked(
        &self,
        table: &str,
        schema: &SchemaRef,
        mode: IfExists,
        chunks: &ChunkPlan,
    ) -> Result<Box<dyn TableWriter + '_>> {
        self.prepare_with(table, schema, mode, Some(chunks))
    }

    fn carries(&self) -> super::Carries {
        super::Carries {
            indexes: true,
            checks: Some(crate::types::postgres::DIALECT),
            comments: true,
        }
    }

    fn resumes(&self) -> bool {
        true
    }

    fn abandon(&self) -> Vec<String> {
        // Dropping what was to be published drops its staging tables, or keeps those that
        // hold committed chunks (see `Publication`'s drop).
        if let Ok(mut run) = self.run.lock() {
            run.pending.clear();
            run.client = None;
        }
        self.kept.lock().map(|k| k.clone()).unwrap_or_default()
    }

    /// Makes every table of the run visible at once: one transaction (on the run's connection,
    /// which holds the direct appends) creates the enum types, converts the enum columns,
    /// inserts the appended staging rows and swaps every staging table in. A failure rolls it
    /// all back; the staging tables are dropped with the sink.
    fn commit(&self) -> Result<()> {
        self.commit_unless_cancelled(&std::sync::atomic::AtomicBool::new(false))
    }

    fn commit_unless_cancelled(&self, cancel: &AtomicBool) -> Result<()> {
        let mut run = self.run.lock().map_err(|_| Error::internal("run state"))?;
        if run
            .pending
            .iter()
            .all(|p| p.staging.is_none() && p.load.is_none())
            && run.client.is_none()
        {
            run.pending.clear();
            return Ok(());
        }
        let mut client = match run.client.take() {
            Some(c) => c,
            None => self.begin_run()?,
        };
        let what = format!("{}: commit", self.settings);
        let done = self
            .settings
            .unless_cancelled(&mut client, cancel, |client| {
                for p in &run.pending {
                    p.convert_enums(client)?;
                }
                for p in &run.pending {
                    p.publish(client)?;
                }
                for p in &run.pending {
                    if let Some(load) = &p.load {
                        let loads = format!("{}.{}", p.schema, quote_ident(LOADS_TABLE));
                        let mut sql = vec![LoadRecord::create_sql(&loads, "text")];
                        sql.extend(load.record_sql(&loads, crate::types::quote_literal));
                        client
                            .batch_execute(&sql.join("; "))
                            .map_err(|e| pg_error(e, format!("{what}: {LOADS_TABLE}")))?;
                    }
                }
                client
                    .batch_execute("COMMIT")
                    .map_err(|e| pg_error(e, what.clone()))
            });
        if let Err(e) = done {
            let _ = client.batch_execute("ROLLBACK");
            return Err(e.context(format!(
                "{}: the run's tables could not be published; nothing was committed",
                self.settings
            )));
        }
        for p in &mut run.pending {
            p.staging = None;
        }
        run.pending.clear();
        Ok(())
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
                let mut rules = fk.rules();
                if fk.deferrable {
                    rules.push_str(" DEFERRABLE");
                    if fk.initially_deferred {
                        rules.push_str(" INITIALLY DEFERRED");
                    }
                }
                let added = foreign_keys::add(
                    &mut tx,
                    &child,
                    &key,
                    (&fk.columns, &fk.referenced),
                    &parent,
                    &rules,
                    &what,
                )?;
                if !added {
                    self.left_out.note(
                        &t.table,
                        "foreign key",
                        &key,
                        "the referenced table is neither copied in this run nor in the target",
                    );
                }
            }
        }
        tx.commit()
            .map_err(|e| pg_error(e, format!("{what}: foreign keys")))
    }
}

/// Takes the session advisory lock of `qualified` on `c` (`shared` for an append), or refuses,
/// naming a run (backend pid, application name, client, start) that holds it: two runs
/// replacing one table would otherwise each swap in a table the other was still loading.
fn lock_target(c: &mut Client, settings: &PgSettings, qualified: &str, shared: bool) -> Result<()> {
    let (k1, k2) = super::target_lock_keys(qualified);
    let ctx = |e| pg_error(e, format!("{settings}: {qualified}: lock"));
    let take = match shared {
        true => "SELECT pg_try_advisory_lock_shared($1, $2)",
        false => "SELECT pg_try_advisory_lock($1, $2)",
    };
    let got: bool = c.query_one(take, &[&k1, &k2]).map_err(ctx)?.get(0);
    if got {
        return Ok(());
    }
    let holder = c
        .query_opt(
            "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.client_addr::text, 'local'),
                    to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ')
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
               AND l.classid = $1::int8::oid AND l.objid = $2::int8::oid
             LIMIT 1",
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

/// Drops the staging tables of `qualified` that killed runs left behind, with their progress
/// rows. Called with the target's lock held, so no live run is loading any of them. When
/// `resuming`, its own staging table is kept, and one that holds another plan's committed
/// chunks is a refusal (when `strict`: `--resume`) or dropped (a retry): the plan changed
/// since they were committed.
fn drop_leftover_staging(
    c: &mut Client,
    settings: &PgSettings,
    schema: &str,
    qualified: &str,
    name: &str,
    resuming: Option<&chunks::Progress>,
    strict: bool,
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
    let names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    for (t, progress) in super::chunks::leftovers(&names, resuming.map(|p| p.staging.as_str())) {
        let chunks: i64 = match &progress {
            Some(p) => c
                .query_one(
                    &format!(
                        "SELECT count(*) FROM {}.{} WHERE chunk <> ''",
                        quote_ident(schema),
                        quote_ident(p)
                    ),
                    &[],
                )
                .map_err(ctx)?
                .get(0),
            None => 0,
        };
        if strict && chunks > 0 {
            let shown = format!("{}.{}", quote_ident(schema), quote_ident(&t));
            return Err(super::chunks::other_plan(chunks as u64, &shown)
                .context(format!("{settings}: {qualified}")));
        }
        tracing::info!(table = %t, "dropping a staging table a killed run left behind");
        c.batch_execute(&format!(
            "DROP TABLE IF EXISTS {s}.{}; DROP TABLE IF EXISTS {s}.{}",
            quote_ident(&t),
            quote_ident(&format!("{t}{}", super::PROGRESS_SUFFIX)),
            s = quote_ident(schema),
        ))
        .map_err(ctx)?;
    }
    Ok(())
}

type WorkerResult = Result<(Client, u64, u64)>;

/// One connection's COPY: encodes the batches it takes from the channel and streams them.
/// Should the load be aborted (Ctrl-C, SIGTERM, another table's failure) while the worker
/// waits on the server (a TRUNCATE or a COPY into a table another session locks), the wait
/// is cancelled through the server, so the writer's `Drop` does not wait for the lock.
#[allow(clippy::too_many_arguments)]
fn spawn_worker(
    k: usize,
    settings: PgSettings,
    mut client: Client,
    begin: String,
    copy: String,
    rx: Receiver<(usize, RecordBatch, Origin)>,
    encoder: Arc<BatchEncoder>,
    abort: Arc<AtomicBool>,
    what: String,
) -> Result<JoinHandle<WorkerResult>> {
    std::thread::Builder::new()
        .name(format!("ferry-pg-copy-{k}"))
        .spawn(move || {
            let (rows, bytes) = settings.unless_cancelled(&mut client, &abort, |client| {
                client
                    .batch_execute(&begin)
                    .map_err(|e| pg_error(e, what.clone()))?;
                let mut w = client
                    .copy_in(copy.as_str())
                    .map_err(|e| pg_error(e, what.clone()))?;
                let mut stream = CopyStream::start(&mut w);
                for (idx, batch, origin) in rx.iter() {
                    if abort.load(Ordering::Relaxed) || stream.failed.is_some() {
                        break;
                    }
                    stream.push(&mut w, &encoder, idx, &batch, origin, &what)?;
                }
                if abort.load(Ordering::Relaxed) {
                    // Dropping the writer unfinished aborts the COPY.
                    return Err(Error::new(
                        ErrorKind::Cancelled,
                        format!("{what}: load aborted"),
                    ));
                }
                let bytes = stream.bytes;
                Ok((stream.close(w, &what)?, bytes))
            })?;
            Ok((client, rows, bytes))
        })
        .map_err(|e| Error::io("cannot start a COPY thread", e))
}

/// One COPY stream being written (binary format): the batches in it, where each was read (the
/// server names a bad row by its line in this stream, an error names the source's: see
/// [`copy_line_row`]), and the first write that failed (the server's reason arrives when the
/// COPY is closed).
struct CopyStream {
    buf: Vec<u8>,
    /// (rows of this COPY before the batch, where the batch was read).
    stream: Vec<(u64, Origin)>,
    rows: u64,
    bytes: u64,
    failed: Option<(String, std::io::Error)>,
}

impl CopyStream {
    /// Starts the stream with its header.
    fn start(w: &mut impl Write) -> CopyStream {
        CopyStream {
            buf: Vec::with_capacity(1 << 20),
            stream: Vec::new(),
            rows: 0,
            bytes: 0,
            failed: w.write_all(HEADER).err().map(|e| ("header".into(), e)),
        }
    }

    /// Encodes batch `idx` (read from `origin`) and writes it; an encoding error names the
    /// batch and its source row, a write error is kept for [`CopyStream::close`].
    fn push(
        &mut self,
        w: &mut impl Write,
        encoder: &BatchEncoder,
        idx: usize,
        batch: &RecordBatch,
        origin: Origin,
        what: &str,
    ) -> Result<()> {
        self.buf.clear();
        encoder.encode(batch, &mut self.buf).map_err(|e| {
            e.context(format!(
                "{what}: batch {} (from {})",
                idx + 1,
                origin.row(0)
            ))
        })?;
        self.stream.push((self.rows, origin));
        self.rows += batch.num_rows() as u64;
        self.bytes += self.buf.len() as u64;
        if let Err(e) = w.write_all(&self.buf) {
            self.failed = Some((format!("batch {}", idx + 1), e));
        }
        Ok(())
    }

    /// Ends the COPY: the rows the server confirms, or its reason for failing.
    fn close(self, w: postgres::CopyInWriter<'_>, what: &str) -> Result<u64> {
        close_copy(w, self.failed, &self.stream, what)
    }
}

/// Ends a COPY: with the trailer, or, when writing to it `failed`, with the server's reason
/// (which arrives when the COPY is closed), naming the source row it names by its line in the
/// stream (`stream`, see [`copy_line_row`]). The rows the server confirms.
fn close_copy(
    mut w: postgres::CopyInWriter<'_>,
    failed: Option<(String, std::io::Error)>,
    stream: &[(u64, Origin)],
    what: &str,
) -> Result<u64> {
    if let Some((at, e)) = failed {
        return Err(match w.finish() {
            Err(pe) => {
                let row = copy_line_row(&pe, stream);
                pg_error(pe, format!("{what}: {}", row.unwrap_or(at)))
            }
            Ok(_) => Error::io(format!("{what}: {at}"), e),
        });
    }
    w.write_all(TRAILER)
        .map_err(|e| Error::io(format!("{what}: trailer"), e))?;
    w.finish().map_err(|e| {
        let row = copy_line_row(&e, stream).unwrap_or_else(|| "COPY".into());
        pg_error(e, format!("{what}: {row}"))
    })
}

/// The source row of the row a COPY error names by its line in one connection's stream
/// (`COPY t, line 66236, column x`): `stream` holds, in order, the rows streamed before each
/// batch and where the batch was read.
fn copy_line_row(e: &postgres::Error, stream: &[(u64, Origin)]) -> Option<String> {
    let place = e.as_db_error()?.where_()?;
    let line: u64 = place
        .split("line ")
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    let row = line.checked_sub(1)?;
    let i = stream
        .partition_point(|(before, _)| *before <= row)
        .checked_sub(1)?;
    let (before, origin) = &stream[i];
    Some(origin.row((row - before) as usize))
}

/// The run's state in the target, published by [`Sink::commit`] in one transaction.
#[derive(Default)]
struct RunState {
    /// The connection whose transaction holds the run's direct appends and, at the end, every
    /// swap; `BEGIN` was sent.
    client: Option<Client>,
    /// Finished tables, waiting for the run's end.
    pending: Vec<Publication>,
}

/// A finished table's load, made visible by [`PgSink::commit`] with the run's other tables.
struct Publication {
    settings: PgSettings,
    /// Holds the target's advisory lock until the run ends, and drops the staging table if the
    /// run does not commit.
    control: Client,
    qualified: String,
    /// The target's quoted schema.
    schema: String,
    name: String,
    cols: Vec<Column>,
    key: Vec<String>,
    /// The source's secondary indexes, built on the staging table under temporary names
    /// ([`index_temp_name`]) and renamed to theirs with the swap.
    indexes: Vec<IndexDef>,
    /// The source's CHECK constraints (PostgreSQL's), added to the staging table once loaded.
    checks: Vec<CheckDef>,
    /// The table's comment and its columns', set on the staging table.
    comments: Comments,
    mode: IfExists,
    appending: bool,
    /// (name, qualified name) of the staging table, when loading through one.
    staging: Option<(String, String)>,
    /// The snapshot table the rows come from, recorded in [`LOADS_TABLE`] with the run.
    load: Option<LoadRecord>,
    /// A chunked load's progress rows: deleted with the swap; while chunks are committed, a
    /// failed run keeps the staging table for `--resume`.
    progress: Option<chunks::Progress>,
    /// The staging table was built by an earlier run of the plan (`--resume`).
    built: bool,
    /// Where a failed run's kept staging tables are listed.
    kept: Arc<std::sync::Mutex<Vec<String>>>,
    /// Where the defaults and indexes it cannot create are noted.
    left_out: crate::report::LeftOutLog,
}

impl Publication {
    fn err(&self, what: &'static str) -> impl Fn(postgres::Error) -> Error + '_ {
        move |e| pg_error(e, format!("{}: {}: {what}", self.settings, self.qualified))
    }

    /// The columns loaded as text and converted at the end: (column, its enum type if any).
    fn staged(&self) -> impl Iterator<Item = &Column> {
        self.cols.iter().filter(|c| c.write == PgWrite::StagedText)
    }

    /// Work on the staging table alone, before the run's end (nobody else sees it): converts
    /// the columns loaded as text into their types (those of enum types wait for
    /// [`Publication::convert_enums`], the types being created with the run) and builds the
    /// primary key once.
    fn build(&mut self) -> Result<()> {
        let Some((sname, sq)) = self.staging.clone() else {
            return Ok(());
        };
        if self.appending || self.built {
            return Ok(());
        }
        // A chunked load builds in one transaction with its progress row: a resumed run finds
        // the staging table built, or as its chunks left it.
        if self.progress.is_some() {
            self.control
                .batch_execute("BEGIN")
                .map_err(self.err("build"))?;
        }
        let alters = alter_types(self.staged().filter(|c| c.enum_type.is_none()));
        if !alters.is_empty() {
            let sql = format!("ALTER TABLE {sq} {alters}");
            self.control
                .batch_execute(&sql)
                .map_err(self.err("converting the columns loaded as text"))?;
        }
        if !self.key.is_empty() {
            let sql = format!(
                "ALTER TABLE {sq} ADD CONSTRAINT {} PRIMARY KEY ({})",
                quote_ident(&format!("{sname}_pkey")),
                self.key.join(", ")
            );
            self.control
                .batch_execute(&sql)
                .map_err(self.err("primary key"))?;
        }
        for c in self.cols.iter().filter(|c| c.identity.is_some()) {
            // Generated from here on as at the source, starting past the largest value loaded.
            let q = quote_ident(&c.name);
            let sql = format!(
                "ALTER TABLE {sq} ALTER COLUMN {q} SET NOT NULL, ALTER COLUMN {q} ADD GENERATED {} AS IDENTITY;
                 SELECT setval(pg_get_serial_sequence({}, {}), greatest(coalesce(max({q}), 0) + 1, 1), false) FROM {sq}",
                c.identity.as_deref().unwrap_or("BY DEFAULT"),
                crate::pg::quote_literal(&sq),
                crate::pg::quote_literal(&c.name),
            );
            self.control
                .batch_execute(&sql)
                .map_err(self.err("identity"))?;
        }
        self.set_defaults(&sq)?;
        self.build_indexes(&sname, &sq)?;
        self.add_checks(&sq)?;
        self.set_comments(&sq)?;
        if let Some(p) = &self.progress {
            let record = p.record_sql();
            self.control
                .execute(record.as_str(), &[&chunks::BUILT, &0i64])
                .map_err(|e| pg_error(e, format!("{}: build", self.qualified)))?;
            self.control
                .batch_execute("COMMIT")
                .map_err(|e| pg_error(e, format!("{}: build", self.qualified)))?;
            self.built = true;
        }
        Ok(())
    }

    /// Sets the source's column defaults on the staging table `sq`. A default the target cannot
    /// take (its type refuses it, or it is another dialect's expression) is left out and named;
    /// a chunked build runs in a transaction, so each default is tried in a savepoint.
    fn set_defaults(&mut self, sq: &str) -> Result<()> {
        let in_transaction = self.progress.is_some();
        for c in self.cols.iter().filter(|c| c.identity.is_none()) {
            let Some(d) = &c.default else { continue };
            let expr = match d.to_pg(&c.declared) {
                Ok(e) => e,
                Err(why) => {
                    self.left_out.note(
                        &self.name,
                        "default",
                        &format!("of column {}", c.name),
                        &why,
                    );
                    continue;
                }
            };
            let sql = format!(
                "ALTER TABLE {sq} ALTER COLUMN {} SET DEFAULT {expr}",
                quote_ident(&c.name)
            );
            let context = format!("{}: {}: default", self.settings, self.qualified);
            if let Err(e) = try_step(&mut self.control, in_transaction, &sql, &context)? {
                let why = format!("{expr}: {e}");
                self.left_out.note(
                    &self.name,
                    "default",
                    &format!("of column {}", c.name),
                    &why,
                );
            }
        }
        Ok(())
    }

    /// Builds the source's secondary indexes on the staging table `sq` under temporary names,
    /// a unique constraint's as a constraint on its index. One the target cannot build (another
    /// dialect's, or refused by the server) is left out and named; a chunked build runs in a
    /// transaction, so each is tried in a savepoint.
    fn build_indexes(&mut self, sname: &str, sq: &str) -> Result<()> {
        let in_transaction = self.progress.is_some();
        for (i, ix) in self.indexes.iter().enumerate() {
            let tmp = quote_ident(&index_temp_name(sname, i));
            let mut sql = match ix.to_pg(sq, &tmp) {
                Ok(sql) => sql,
                Err(why) => {
                    self.left_out
                        .note(&self.name, "index", &ix.describe(), &why);
                    continue;
                }
            };
            if ix.constraint && ix.not_portable.is_none() {
                sql.push_str(&format!(
                    "; ALTER TABLE {sq} ADD CONSTRAINT {tmp} UNIQUE USING INDEX {tmp}"
                ));
            }
            let started = Instant::now();
            let context = format!("{}: {}: index", self.settings, self.qualified);
            if let Err(why) = try_step(&mut self.control, in_transaction, &sql, &context)? {
                self.left_out
                    .note(&self.name, "index", &ix.describe(), &why);
                continue;
            }
            tracing::info!(table = %self.qualified, index = %ix.name, seconds = started.elapsed().as_secs_f64(), "index built");
        }
        Ok(())
    }

    /// Adds the source's CHECK constraints to the staging table `sq` (validating every row, or
    /// `NOT VALID` as at the source). One the server refuses (a step changed its column's
    /// type, say) is left out and named; in a chunked build's transaction, in a savepoint.
    fn add_checks(&mut self, sq: &str) -> Result<()> {
        let in_transaction = self.progress.is_some();
        for ck in &self.checks {
            let Ok(def) = ck.for_dialect(crate::types::postgres::DIALECT) else {
                continue;
            };
            let sql = format!(
                "ALTER TABLE {sq} ADD CONSTRAINT {} {def}",
                quote_ident(&ck.name)
            );
            let context = format!("{}: {}: check", self.settings, self.qualified);
            if let Err(why) = try_step(&mut self.control, in_transaction, &sql, &context)? {
                self.left_out.note(&self.name, "check", &ck.name, &why);
            }
        }
        Ok(())
    }

    /// Sets the table's and its columns' comments on the staging table `sq`.
    fn set_comments(&mut self, sq: &str) -> Result<()> {
        let lit = crate::pg::quote_literal;
        let mut sql = Vec::new();
        if let Some(c) = &self.comments.table {
            sql.push(format!("COMMENT ON TABLE {sq} IS {}", lit(c)));
        }
        for (column, c) in &self.comments.columns {
            sql.push(format!(
                "COMMENT ON COLUMN {sq}.{} IS {}",
                quote_ident(column),
                lit(c)
            ));
        }
        if sql.is_empty() {
            return Ok(());
        }
        self.control
            .batch_execute(&sql.join("; "))
            .map_err(self.err("comments"))
    }

    /// Gives the indexes built on the swapped-in table their source names (where the schema
    /// has the name free), in the run's transaction.
    fn rename_indexes(&self, tx: &mut Client, sname: &str) -> Result<()> {
        for (i, ix) in self.indexes.iter().enumerate() {
            let tmp = index_temp_name(sname, i);
            let row = tx
                .query_one(
                    "SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NULL",
                    &[
                        &format!("{}.{}", self.schema, quote_ident(&tmp)),
                        &format!("{}.{}", self.schema, quote_ident(&ix.name)),
                    ],
                )
                .map_err(self.err("index name"))?;
            let (built, free): (bool, bool) = (row.get(0), row.get(1));
            if !built {
                continue;
            }
            if !free {
                tracing::warn!(table = %self.qualified, index = %ix.name, "index kept as {tmp}: the schema has another relation of its name");
                continue;
            }
            let sql = match ix.constraint && ix.not_portable.is_none() {
                // Renaming the constraint renames its index.
                true => format!(
                    "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
                    self.qualified,
                    quote_ident(&tmp),
                    quote_ident(&ix.name)
                ),
                false => format!(
                    "ALTER INDEX {}.{} RENAME TO {}",
                    self.schema,
                    quote_ident(&tmp),
                    quote_ident(&ix.name)
                ),
            };
            tx.batch_execute(&sql).map_err(self.err("index name"))?;
        }
        Ok(())
    }

    /// Creates the enum types the table's columns need, and converts its enum columns loaded as
    /// text; in the run's transaction.
    fn convert_enums(&self, tx: &mut Client) -> Result<()> {
        for e in enums_of(&self.cols) {
            let missing: bool = tx
                .query_one("SELECT to_regtype($1) IS NULL", &[&e.qualified()])
                .map_err(self.err("creating enum types"))?
                .get(0);
            if missing {
                tx.batch_execute(&format!(
                    "CREATE SCHEMA IF NOT EXISTS {}; {}",
                    quote_ident(&e.schema),
                    e.create_sql()
                ))
                .map_err(self.err("creating enum types"))?;
            }
        }
        let Some((_, sq)) = &self.staging else {
            return Ok(());
        };
        if self.appending {
            return Ok(());
        }
        let alters = alter_types(self.staged().filter(|c| c.enum_type.is_some()));
        if !alters.is_empty() {
            tx.batch_execute(&format!("ALTER TABLE {sq} {alters}"))
                .map_err(self.err("converting the columns loaded as text"))?;
        }
        Ok(())
    }

    /// Makes the loaded rows the target's, in the run's transaction: the staging table's rows
    /// inserted into the existing table (append, truncate), or the staging table swapped in
    /// (`DROP` of the old one and `RENAME`).
    fn publish(&self, tx: &mut Client) -> Result<()> {
        let Some((sname, sq)) = &self.staging else {
            return Ok(());
        };
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
                "{truncate}INSERT INTO {} ({cols}) SELECT {select} FROM {sq}; DROP TABLE {sq}",
                self.qualified
            );
            return tx
                .batch_execute(&sql)
                .map_err(self.err("insert from staging"));
        }
        let drop_old = if self.mode == IfExists::Fail {
            String::new()
        } else {
            format!("DROP TABLE IF EXISTS {}; ", self.qualified)
        };
        let swap = format!(
            "{drop_old}ALTER TABLE {sq} RENAME TO {}",
            quote_ident(&self.name)
        );
        // Other tables' keys on the old table would stop the DROP: they move to the new one.
        let what = format!("{}: {}", self.settings, self.qualified);
        let dependents = match self.mode {
            IfExists::Fail => Vec::new(),
            _ => foreign_keys::referencing(tx, &self.qualified, &what)?,
        };
        foreign_keys::drop(tx, &dependents, &what)?;
        tx.batch_execute(&swap).map_err(self.err("swap"))?;
        if let Some(p) = &self.progress {
            tx.batch_execute(&p.forget_sql())
                .map_err(self.err("progress"))?;
        }
        foreign_keys::restore(tx, &dependents, &what)?;
        if !self.key.is_empty() {
            let wanted = format!("{}_pkey", self.name);
            let free: bool = tx
                .query_one(
                    "SELECT to_regclass($1) IS NULL",
                    &[&format!("{}.{}", self.schema, quote_ident(&wanted))],
                )
                .map_err(self.err("index name"))?
                .get(0);
            if free {
                tx.batch_execute(&format!(
                    "ALTER INDEX {}.{} RENAME TO {}",
                    self.schema,
                    quote_ident(&format!("{sname}_pkey")),
                    quote_ident(&wanted)
                ))
                .map_err(self.err("index name"))?;
            }
        }
        self.rename_indexes(tx, sname)?;
        for c in self.cols.iter().filter(|c| c.identity.is_some()) {
            // The identity's sequence takes the name PostgreSQL gives a new table's.
            let wanted = format!("{}_{}_seq", self.name, c.name);
            let row = tx
                .query_one(
                    "SELECT pg_get_serial_sequence($1, $2), to_regclass($3) IS NULL",
                    &[
                        &self.qualified,
                        &c.name,
                        &format!("{}.{}", self.schema, quote_ident(&wanted)),
                    ],
                )
                .map_err(self.err("identity sequence"))?;
            let (seq, free): (Option<String>, bool) = (row.get(0), row.get(1));
            if let (Some(seq), true) = (seq, free && wanted.len() <= 63) {
                tx.batch_execute(&format!(
                    "ALTER SEQUENCE {seq} RENAME TO {}",
                    quote_ident(&wanted)
                ))
                .map_err(self.err("identity sequence"))?;
            }
        }
        Ok(())
    }
}

impl Drop for Publication {
    fn drop(&mut self) {
        // Not published (the run failed or was cancelled): the staging table goes, unless it
        // holds committed chunks, which `--resume` continues from.
        if let Some((_, sq)) = self.staging.take() {
            let _ = self.control.batch_execute("ROLLBACK");
            if let Some(p) = &self.progress {
                // The run's connection may be what was lost: then a new one asks.
                if self.control.is_closed() {
                    if let Ok(c) = self.settings.connect() {
                        self.control = c;
                    }
                }
                let held = p
                    .committed(&mut self.control, &self.qualified)
                    .map(|(c, built)| (c.len(), c.iter().map(|(_, r)| r).sum::<u64>(), built));
                match held {
                    Ok((chunks, rows, built)) if chunks > 0 || built => {
                        if let Ok(mut kept) = self.kept.lock() {
                            kept.push(format!(
                                "{} ({chunks} chunk(s), {rows} rows, in {sq})",
                                self.qualified
                            ));
                        }
                        return;
                    }
                    // Nothing committed, or the server is gone (then nothing can be dropped
                    // either; the next run of the plan finds what is there).
                    Ok(_) => {
                        let _ = self.control.batch_execute(&p.forget_sql());
                    }
                    Err(_) => return,
                }
            }
            let sql = format!("DROP TABLE IF EXISTS {sq}");
            if let Err(e) = self.control.batch_execute(&sql) {
                tracing::warn!("cannot drop the staging table {sq}: {e}");
            }
        }
    }
}

/// Runs `sql`, a step of a table's build the server may refuse without failing the run (a
/// default, an index, a check): in a chunked build's transaction, inside a savepoint, so a
/// refusal leaves the transaction going. `Ok(Err(why))`: refused.
fn try_step(
    control: &mut Client,
    in_transaction: bool,
    sql: &str,
    context: &str,
) -> Result<std::result::Result<(), String>> {
    let sql = match in_transaction {
        true => format!("SAVEPOINT ferry_step; {sql}; RELEASE SAVEPOINT ferry_step"),
        false => sql.to_string(),
    };
    match control.batch_execute(&sql) {
        Ok(()) => Ok(Ok(())),
        Err(e) => {
            if in_transaction {
                control
                    .batch_execute("ROLLBACK TO SAVEPOINT ferry_step")
                    .map_err(|e| pg_error(e, context.to_string()))?;
            }
            Ok(Err(pg_error(e, String::new()).to_string()))
        }
    }
}

/// A table's comment and its columns', as a schema records them.
#[derive(Debug, Default)]
struct Comments {
    table: Option<String>,
    /// (column, comment).
    columns: Vec<(String, String)>,
}

impl Comments {
    fn of(schema: &SchemaRef) -> Comments {
        use crate::types::constraints::{column_comment, table_comment};
        Comments {
            table: table_comment(schema).map(str::to_string),
            columns: schema
                .fields()
                .iter()
                .filter_map(|f| Some((f.name().clone(), column_comment(f)?.to_string())))
                .collect(),
        }
    }
}

/// The name secondary index `i` of staging table `sname` is built under: within PostgreSQL's
/// 63 bytes (a staging name is at most 57), distinct from the target's own indexes.
fn index_temp_name(sname: &str, i: usize) -> String {
    format!("{sname}_i{i}")
}

/// `ALTER COLUMN ... TYPE ... USING` of the columns loaded as text.
fn alter_types<'c>(cols: impl Iterator<Item = &'c Column>) -> String {
    cols.map(|c| {
        let q = quote_ident(&c.name);
        format!(
            "ALTER COLUMN {q} TYPE {} USING {q}::{}",
            c.declared, c.declared
        )
    })
    .collect::<Vec<_>>()
    .join(", ")
}

struct PgWriter<'a> {
    sink: &'a PgSink,
    /// What `finish()` hands to the sink (taken then).
    publication: Option<Publication>,
    /// The COPY goes into the table itself on the run's connection (appending without text
    /// columns to convert): `finish()` gives the connection back to the run, uncommitted.
    direct: bool,
    /// The text columns with a declared length or blank padding, see [`super::check_text`].
    bounds: Vec<super::TextBound>,
    /// A load chunk by chunk (`tx` and `handles` unused then).
    chunked: Option<ChunkedLoad>,
    tx: Option<Sender<(usize, RecordBatch, Origin)>>,
    handles: Vec<JoinHandle<WorkerResult>>,
    abort: Arc<AtomicBool>,
    batches: usize,
    bytes: u64,
    /// Rows handed to the COPY connections, checked against the rows the server confirms.
    rows_sent: u64,
    finished: bool,
}

/// A chunked load's connections, and what earlier runs committed.
struct ChunkedLoad {
    router: chunks::Router<Client>,
    progress: chunks::Progress,
    copy: String,
    encoder: Arc<BatchEncoder>,
    committed: Vec<(String, u64)>,
}

impl PgWriter<'_> {
    /// Hands `msg` for `chunk` to its connection (starting one if needed).
    fn send_chunk(&mut self, chunk: &Arc<str>, msg: chunks::ChunkMsg) -> Result<()> {
        let sink = self.sink;
        let what = format!("{}: {}", sink.settings, self.qualified());
        let abort = self.abort.clone();
        let load = self.chunked.as_mut().expect("a chunked load");
        if let Some(e) = load.router.failure() {
            return Err(e);
        }
        let (copy, progress, encoder) = (&load.copy, &load.progress, &load.encoder);
        let i = load.router.route(chunk, |k| {
            // `connect` sets the session.
            let client = sink.connect()?;
            chunks::spawn_chunk_worker(
                k,
                client,
                copy.clone(),
                progress.clone(),
                encoder.clone(),
                abort,
                what.clone(),
            )
        })?;
        if !load.router.send(i, msg) {
            return Err(load.router.join().err().unwrap_or_else(|| {
                Error::internal(format!("{what}: the COPY connections stopped"))
            }));
        }
        Ok(())
    }

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

    fn qualified(&self) -> &str {
        self.publication
            .as_ref()
            .map(|p| p.qualified.as_str())
            .unwrap_or_default()
    }
}

impl TableWriter for PgWriter<'_> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let origin = Origin {
            first_row: self.rows_sent,
            ..Default::default()
        };
        self.write_from(batch, &origin)
    }

    fn write_from(&mut self, batch: &RecordBatch, origin: &Origin) -> Result<()> {
        if let Some(e) = self.worker_failure() {
            return Err(e);
        }
        if !self.bounds.is_empty() {
            let what = format!("{}: {}", self.sink.settings, self.qualified());
            super::check_text(&what, batch, &self.bounds, origin)?;
        }
        let idx = self.batches;
        self.batches += 1;
        self.bytes += crate::pipeline::data_bytes(batch) as u64;
        self.rows_sent += batch.num_rows() as u64;
        if self.chunked.is_some() {
            let msg = chunks::ChunkMsg::Batch(idx, batch.clone(), origin.clone());
            return self.send_chunk(&origin.partition, msg);
        }
        let sent = match &self.tx {
            Some(tx) => tx.send((idx, batch.clone(), origin.clone())).is_ok(),
            None => false,
        };
        if !sent {
            // Every COPY connection has stopped: say why.
            return Err(self.join_all().err().unwrap_or_else(|| {
                Error::internal(format!(
                    "{}: the COPY connections stopped",
                    self.qualified()
                ))
            }));
        }
        Ok(())
    }

    fn committed_chunks(&mut self) -> Result<Vec<(String, u64)>> {
        Ok(self
            .chunked
            .as_ref()
            .map(|c| c.committed.clone())
            .unwrap_or_default())
    }

    fn end_chunk(&mut self, chunk: &str, rows: u64) -> Result<()> {
        if self.chunked.is_none() {
            return Ok(());
        }
        let chunk: Arc<str> = chunk.into();
        self.send_chunk(&chunk, chunks::ChunkMsg::End(chunk.clone(), rows))?;
        if let Some(c) = self.chunked.as_mut() {
            c.router.release(&chunk);
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<WriteStats> {
        let (clients, rows, _wire_bytes) = match self.chunked.as_mut() {
            // Every chunk committed on its own connection.
            Some(c) => (Vec::new(), c.router.join()?, 0),
            None => self.join_all()?,
        };
        let settings = self.sink.settings.clone();
        let qualified = self.qualified().to_string();
        // The COPY command tags' row counts, before anything commits: a difference means rows
        // were lost or added on the way, and the load is rolled back.
        if rows != self.rows_sent {
            return Err(Error::new(
                ErrorKind::Integrity,
                format!(
                    "{settings}: {qualified}: the server confirmed {rows} rows, ferry sent {}; \
                     nothing was committed",
                    self.rows_sent
                ),
            ));
        }
        let mut run = self
            .sink
            .run
            .lock()
            .map_err(|_| Error::internal("run state"))?;
        if self.direct {
            // The run's connection, its transaction still open.
            run.client = clients.into_iter().next();
        } else {
            // The staging table's rows are committed: only this run knows the table.
            for mut c in clients {
                c.batch_execute("COMMIT")
                    .map_err(|e| pg_error(e, format!("{settings}: {qualified}: commit")))?;
            }
        }
        let mut schema_seconds = 0.0;
        if let Some(mut p) = self.publication.take() {
            let started = Instant::now();
            p.build()?;
            schema_seconds = started.elapsed().as_secs_f64();
            if let Some(load) = &mut p.load {
                load.rows = rows;
            }
            run.pending.push(p);
        }
        self.finished = true;
        Ok(WriteStats {
            rows,
            bytes: self.bytes,
            schema_seconds,
            ..Default::default()
        })
    }
}

impl Drop for PgWriter<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.abort.store(true, Ordering::Relaxed);
            self.tx = None;
            if let Some(c) = self.chunked.as_mut() {
                // Open chunks roll back with their connections; committed ones stay.
                let _ = c.router.join();
            }
            // The connections close: their transactions (the run's too, for a direct append)
            // roll back.
            for h in self.handles.drain(..) {
                let _ = h.join();
            }
        }
    }
}
