//! The MySQL and MariaDB sink: `LOAD DATA LOCAL INFILE` served from memory over several
//! connections at once, fed by ferry's own text encoder ([`load_data`]).
//!
//! A new or replaced table is loaded into a staging table (`_ferry_<table>_<hash>`) by `--jobs`
//! connections, or chunk by chunk ([`chunks`]: each source partition committed with a progress
//! row, so a killed run is continued by `--resume`); the run's end swaps every staging table in
//! with one atomic `RENAME TABLE`. Appending to (or truncating) an existing table is one
//! connection in one transaction, committed with the run's other tables.
//!
//! `LOAD DATA LOCAL` turns data errors into warnings whatever the `sql_mode` (a value too long is
//! cut, an out-of-range number clamped, a bad date zeroed), so every batch is its own statement:
//! after each, ferry compares the rows the server took with the rows it sent and reads
//! `SHOW WARNINGS`, and fails on the first warning or note, naming the column, the row and the
//! value it sent. Nothing is silently changed, in strict and in non-strict mode alike.

mod chunks;
mod foreign_keys;
pub mod load_data;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use arrow::array::Array;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use crossbeam_channel::{bounded, Receiver, Sender};
use mysql::prelude::Queryable;
use mysql::{Conn, LocalInfileHandler};

use super::{
    foreign_key_name, key_columns, staging_name, ChunkPlan, IfExists, LoadRecord, Resume, Sink,
    TableWriter, TargetKeys, WriteOptions, WriteStats, LOADS_TABLE,
};
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::mysql::{exec, my_error, quote_ident, MySettings};
use crate::source::KeyAction;
use crate::source::Origin;
use crate::types::mysql::{
    base_name, fractional_digits, is_single_float, key_part, my_target_type, KeyPart,
};
use foreign_keys::ForeignKeyDef;
use load_data::{ColumnText, Members, TextEncoder, TextForm};

/// The only file name the local-infile handler serves: ferry's own stream.
const STREAM_NAME: &str = "ferry-stream";

/// InnoDB's longest index key, in bytes.
const MAX_KEY_BYTES: u32 = 3072;

pub struct MySink {
    settings: MySettings,
    jobs: usize,
    /// The database unqualified table names go to (the URL's).
    database: String,
    /// The collation of the tables it creates: the first of [`COLLATIONS`] the server has.
    collation: &'static str,
    /// What the run's finished tables left to publish at its end.
    run: Mutex<RunState>,
    /// Floats MySQL cannot hold (-0, NaN, ±inf): refused, or replaced (`--float-loss`).
    float_loss: super::FloatLoss,
    /// `--reload`: append a snapshot table that the target table holds already.
    reload: bool,
    /// What a failed or cancelled run kept for `--resume`, one line per table.
    kept: Arc<Mutex<Vec<String>>>,
}

/// A target column: its type and how its values travel.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    declared: String,
    not_null: bool,
    form: TextForm,
    /// `SET col = <expr>(@v)` instead of loading the field straight into the column.
    via: Option<&'static str>,
}

impl Column {
    fn new(name: &str, declared: String, not_null: bool, arrow: &DataType) -> Column {
        let base = base_name(&declared);
        let binary_arrow = matches!(
            arrow,
            DataType::Binary
                | DataType::LargeBinary
                | DataType::FixedSizeBinary(_)
                | DataType::BinaryView
        );
        let (form, via) = match base.as_str() {
            // Raw bytes would be read in the stream's character set: hex, decoded by the server.
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob"
                if binary_arrow =>
            {
                (TextForm::Hex, Some("UNHEX"))
            }
            // A bit column takes the text `5` as the character '5': load the number.
            "bit" => (TextForm::Plain, Some("CAST_UNSIGNED")),
            _ => (text_form(&base, &declared), None),
        };
        Column {
            name: name.to_string(),
            declared,
            not_null,
            form,
            via,
        }
    }
}

/// How values travel into a column of base type `base` (declared `declared`): a form that
/// checks or rewrites what the server would read as another value without a warning.
fn text_form(base: &str, declared: &str) -> TextForm {
    match base {
        "year" => TextForm::Year,
        "date" => TextForm::Day,
        "time" | "datetime" | "timestamp" => match fractional_digits(declared) {
            6 => TextForm::Plain,
            digits => TextForm::Fraction(digits),
        },
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "bool"
        | "boolean" => TextForm::Whole,
        "float" if is_single_float(declared) => TextForm::Single,
        _ => TextForm::Plain,
    }
}

/// The session every connection of the sink works in, whatever the server's global settings
/// (another client may change those at any moment, and a connection takes them when it
/// opens):
/// - `sql_mode` without `NO_BACKSLASH_ESCAPES` (under which the `LOAD DATA` statement's
///   escape character would read as two, error 1083, and a MySQL source's `enum` declaration
///   would change), without `EMPTY_STRING_IS_NULL`, `NO_ZERO_DATE` and `TIME_ROUND_FRACTIONAL`,
///   with `NO_AUTO_VALUE_ON_ZERO` (else a 0 loaded into an `AUTO_INCREMENT` column becomes
///   the next number);
/// - `max_error_count` at its default, so `SHOW WARNINGS` lists the warning that fails a batch.
const SESSION: &str = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,\
                       NO_ENGINE_SUBSTITUTION', max_error_count = 64";

/// The collations a key's text can have, best first: binary and NO PAD, so `'a'` and `'a '`
/// are two keys (MariaDB's `utf8mb4_nopad_bin`, MySQL 8's `utf8mb4_0900_bin`). `utf8mb4_bin`
/// pads, and is the last resort of a server with neither: keys distinct only by trailing
/// spaces then fail the load as duplicates.
const COLLATIONS: [&str; 3] = ["utf8mb4_nopad_bin", "utf8mb4_0900_bin", "utf8mb4_bin"];

impl MySink {
    /// A connection in the sink's [`SESSION`].
    fn connect(&self) -> Result<Conn> {
        connect(&self.settings)
    }
}

fn connect(settings: &MySettings) -> Result<Conn> {
    let mut c = settings.connect()?;
    exec(&mut c, SESSION, || format!("{settings}: session settings"))?;
    Ok(c)
}

/// The first of [`COLLATIONS`] the server has.
fn collation(c: &mut Conn, what: &str) -> Result<&'static str> {
    let have: Vec<String> = c
        .query(format!(
            "SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN \
             ('{}')",
            COLLATIONS.join("', '")
        ))
        .map_err(|e| my_error(e, format!("{what}: collations")))?;
    Ok(COLLATIONS
        .into_iter()
        .find(|c| have.iter().any(|h| h == c))
        .unwrap_or(COLLATIONS[COLLATIONS.len() - 1]))
}

impl MySink {
    pub fn try_new(endpoint: &Endpoint, options: &WriteOptions) -> Result<MySink> {
        let settings = MySettings::from_endpoint(endpoint)?;
        let database = settings.database.clone().ok_or_else(|| {
            Error::invalid_args(format!(
                "{settings}: the URL names no database to write to (mysql://host/DB)"
            ))
        })?;
        // Connect once now: a wrong password or host fails before any table is planned.
        let mut c = connect(&settings)?;
        let collation = collation(&mut c, &settings.to_string())?;
        Ok(MySink {
            settings,
            jobs: options.jobs.max(1),
            database,
            collation,
            run: Default::default(),
            float_loss: options.float_loss,
            reload: options.reload,
            kept: Default::default(),
        })
    }

    /// `(database, table, `db`.`table`)` of a target name: one identifier (a dot in it is part
    /// of the name), in the URL's database.
    fn target(&self, table: &str) -> (String, String, String) {
        let db = self.database.clone();
        let q = format!("{}.{}", quote_ident(&db), quote_ident(table));
        (db, table.to_string(), q)
    }
}

/// Takes the named lock (`GET_LOCK`) of `qualified` on `c`, or refuses, naming the connection
/// that holds it: two runs replacing one table would otherwise swap in each other's loads.
fn lock_target(c: &mut Conn, qualified: &str, what: &str) -> Result<()> {
    let (k1, k2) = super::target_lock_keys(qualified);
    let lock = format!("ferry:{k1:08x}{k2:08x}");
    let got: Option<Option<i64>> = c
        .exec_first("SELECT GET_LOCK(?, 0)", (&lock,))
        .map_err(|e| my_error(e, format!("{what}: lock")))?;
    if got.flatten() == Some(1) {
        return Ok(());
    }
    let holder: Option<(u64, String, String, u64)> = c
        .exec_first(
            "SELECT ID, USER, HOST, TIME FROM information_schema.PROCESSLIST
             WHERE ID = IS_USED_LOCK(?)",
            (&lock,),
        )
        .map_err(|e| my_error(e, format!("{what}: lock")))?;
    let holder = holder
        .map(|(id, user, host, time)| {
            format!(" (connection {id}, user {user}, from {host}, for {time} s)")
        })
        .unwrap_or_default();
    Err(Error::new(
        ErrorKind::Busy,
        format!(
            "{what} is being written by another ferry run{holder}; run again once it has finished"
        ),
    ))
}

/// Drops the staging tables of `qualified` that killed runs left behind, with their progress
/// tables; called with the target's lock held, so no live run is loading any of them. When
/// `resuming`, its own staging table is kept, and one that holds another plan's committed
/// chunks is a refusal (when `strict`: `--resume`) or dropped (a retry): the plan changed
/// since they were committed.
fn drop_leftover_staging(
    c: &mut Conn,
    db: &str,
    qualified: &str,
    name: &str,
    resuming: Option<&chunks::Progress>,
    strict: bool,
    what: &str,
) -> Result<()> {
    let prefix = super::staging_prefix(qualified, name);
    let ctx = |e| my_error(e, format!("{what}: leftover staging tables"));
    let names: Vec<String> = c
        .exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES
             WHERE TABLE_SCHEMA = ? AND LEFT(TABLE_NAME, CHAR_LENGTH(?)) = ?",
            (db, &prefix, &prefix),
        )
        .map_err(ctx)?;
    let progress_of = |staging: &str| format!("{staging}{}", super::PROGRESS_SUFFIX);
    for t in &names {
        if resuming.is_some_and(|p| p.staging == *t || progress_of(&p.staging) == *t) {
            continue;
        }
        // A progress table goes with its staging table (below), or alone if that is gone.
        if t.ends_with(super::PROGRESS_SUFFIX) && names.iter().any(|s| progress_of(s) == *t) {
            continue;
        }
        let progress = progress_of(t);
        let chunks: Option<u64> = if strict && names.contains(&progress) {
            c.query_first(format!(
                "SELECT COUNT(*) FROM {}.{}",
                quote_ident(db),
                quote_ident(&progress)
            ))
            .map_err(ctx)?
        } else {
            None
        };
        if let Some(n) = chunks.filter(|n| *n > 0) {
            return Err(Error::invalid_args(format!(
                "{what}: cannot resume: the {n} chunk(s) an earlier run committed (in {}.{}) \
                 are of another plan: the source's schema or size, the steps or the options \
                 changed since; run without --resume to load the table again from the start",
                quote_ident(db),
                quote_ident(t)
            )));
        }
        tracing::info!(table = %t, "dropping a staging table a killed run left behind");
        for sql in [
            format!(
                "DROP TABLE IF EXISTS {}.{}",
                quote_ident(db),
                quote_ident(t)
            ),
            format!(
                "DROP TABLE IF EXISTS {}.{}",
                quote_ident(db),
                quote_ident(&progress)
            ),
        ] {
            exec(c, &sql, || format!("{what}: leftover staging tables"))?;
        }
    }
    Ok(())
}

/// Whether `db`.`name` exists; `what` names the target in an error.
fn table_exists(c: &mut Conn, db: &str, name: &str, what: &str) -> Result<bool> {
    let n: Option<u64> = c
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (db, name),
        )
        .map_err(|e| my_error(e, what.to_string()))?;
    Ok(n.unwrap_or(0) > 0)
}

fn columns_of(schema: &SchemaRef) -> Result<Vec<Column>> {
    schema
        .fields()
        .iter()
        .map(|f| {
            let declared = my_target_type(f)?;
            Ok(Column::new(
                f.name(),
                declared,
                !f.is_nullable(),
                f.data_type(),
            ))
        })
        .collect()
}

/// The types of the primary key's columns, in key order: a declared length is kept; a text or
/// blob type, which a key cannot take in full, becomes `varchar(n)` / `varbinary(n)`, these
/// sharing equally the bytes the key's other columns leave of InnoDB's 3072 (a longer value
/// then fails the load, naming it). A key that cannot fit is an error before anything is
/// created, naming the column and the cast that fixes it.
fn key_types(cols: &[Column], key: &[String]) -> Result<Vec<(String, String)>> {
    let parts: Vec<(&Column, KeyPart)> = key
        .iter()
        .filter_map(|k| cols.iter().find(|c| &c.name == k))
        .map(|c| (c, key_part(&c.declared)))
        .collect();
    let sized: Vec<(&Column, u32)> = parts
        .iter()
        .filter_map(|(c, p)| match p {
            KeyPart::Bytes(n) => Some((*c, *n)),
            _ => None,
        })
        .collect();
    let fixed: u32 = sized.iter().map(|(_, n)| n).sum();
    let wide = (parts.len() - sized.len()) as u32;
    let list = || {
        key.iter()
            .map(|k| quote_ident(k))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let widest = sized.iter().max_by_key(|(_, n)| *n);
    if let Some((widest, bytes)) = widest.filter(|_| fixed > MAX_KEY_BYTES) {
        let (name, declared) = (&widest.name, &widest.declared);
        return Err(Error::unsupported(format!(
            "column \"{name}\": the primary key ({}) takes {fixed} bytes, more than InnoDB's \
             {MAX_KEY_BYTES}; \"{name}\" ({declared}) alone takes {bytes} (utf8mb4 text takes 4 \
             bytes a character); cast the key's text columns to shorter types, e.g. \
             --transform 'cast({name}, VARCHAR(n))'",
            list()
        )));
    }
    let share = (MAX_KEY_BYTES - fixed).checked_div(wide).unwrap_or(0);
    parts
        .iter()
        .map(|(c, p)| {
            let t = match p {
                KeyPart::Bytes(_) => c.declared.clone(),
                KeyPart::Text if share >= 4 => format!("varchar({})", share / 4),
                KeyPart::Blob if share >= 1 => format!("varbinary({share})"),
                KeyPart::Text | KeyPart::Blob => {
                    return Err(Error::unsupported(format!(
                        "column \"{}\" ({}) is in the primary key ({}), and the key's other \
                         columns take {fixed} of InnoDB's {MAX_KEY_BYTES} bytes, leaving it no \
                         room; cast it or another key column to a shorter type, e.g. \
                         --transform 'cast({}, VARCHAR(n))'",
                        c.name,
                        c.declared,
                        list(),
                        c.name
                    )))
                }
            };
            Ok((c.name.clone(), t))
        })
        .collect()
}

/// `CREATE TABLE` with the primary key, text in utf8mb4 with the binary `collation`, NO PAD
/// where the server has one, so values distinct at the source (by case, by trailing blanks)
/// stay distinct, in a key and in comparisons.
fn create_sql(qualified: &str, cols: &[Column], key: &[String], collation: &str) -> Result<String> {
    let key_types = key_types(cols, key)?;
    let mut defs: Vec<String> = cols
        .iter()
        .map(|c| {
            let in_key = key_types.iter().find(|(k, _)| k == &c.name);
            let t = in_key.map_or(c.declared.as_str(), |(_, t)| t.as_str());
            format!(
                "{} {t}{}",
                quote_ident(&c.name),
                if c.not_null || in_key.is_some() {
                    " NOT NULL"
                } else {
                    " NULL"
                }
            )
        })
        .collect();
    if !key.is_empty() {
        defs.push(format!(
            "PRIMARY KEY ({})",
            key.iter()
                .map(|k| quote_ident(k))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(format!(
        "CREATE TABLE {qualified} (\n  {}\n) DEFAULT CHARACTER SET utf8mb4 COLLATE {collation}",
        defs.join(",\n  ")
    ))
}

/// The `LOAD DATA` statement for `table`: the stream's format, and the columns loaded through a
/// variable and a conversion. The separators are hex literals, read the same in every
/// `sql_mode` (`'\\'` is two characters under `NO_BACKSLASH_ESCAPES`, and the server refuses
/// it with error 1083).
fn load_sql(table: &str, cols: &[Column]) -> String {
    let mut targets = Vec::new();
    let mut sets = Vec::new();
    for (i, c) in cols.iter().enumerate() {
        let q = quote_ident(&c.name);
        match c.via {
            None => targets.push(q),
            Some(f) => {
                let v = format!("@ferry_{i}");
                let expr = match f {
                    "UNHEX" => format!("UNHEX({v})"),
                    _ => format!("CAST({v} AS UNSIGNED)"),
                };
                sets.push(format!("{q} = {expr}"));
                targets.push(v);
            }
        }
    }
    let set = if sets.is_empty() {
        String::new()
    } else {
        format!(" SET {}", sets.join(", "))
    };
    format!(
        "LOAD DATA LOCAL INFILE '{STREAM_NAME}' INTO TABLE {table} CHARACTER SET utf8mb4 \
         FIELDS TERMINATED BY X'09' ESCAPED BY X'5C' LINES TERMINATED BY X'0A' ({}){set}",
        targets.join(", ")
    )
}

impl Sink for MySink {
    fn describe_target(&self, table: &str, schema: &SchemaRef) -> Result<String> {
        let (_, _, q) = self.target(table);
        // MySQL and MariaDB take identifiers of up to 64 characters.
        super::check_name_lengths(&self.settings.to_string(), table, schema, None, Some(64))?;
        let cols = columns_of(schema)?;
        Ok(format!(
            "{};\n-- loaded by {} LOAD DATA LOCAL INFILE stream(s) into a staging table, then \
             swapped in with RENAME TABLE",
            create_sql(&q, &cols, &key_columns(schema), self.collation)?,
            self.jobs
        ))
    }

    fn exists(&self, table: &str) -> Result<bool> {
        let (db, name, q) = self.target(table);
        let mut c = self.connect()?;
        table_exists(&mut c, &db, &name, &format!("{}: {q}", self.settings))
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

    fn resumes(&self) -> bool {
        true
    }

    fn abandon(&self) -> Vec<String> {
        // Dropping what was to be published drops its staging tables, or keeps those that
        // hold committed chunks (see `Publication`'s drop).
        if let Ok(mut run) = self.run.lock() {
            run.pending.clear();
        }
        self.kept.lock().map(|k| k.clone()).unwrap_or_default()
    }

    fn commit(&self) -> Result<()> {
        let mut run = self.run.lock().map_err(|_| Error::internal("run state"))?;
        let mut pending = std::mem::take(&mut run.pending);
        // Dropped on return: the locks are released, and what was not published is undone.
        self.publish_all(&mut pending)
    }

    fn add_foreign_keys(&self, tables: &[TargetKeys]) -> Result<()> {
        let mut conn = None;
        let what = self.settings.to_string();
        for t in tables {
            let (db, table, _) = self.target(&t.table);
            for fk in &t.keys.foreign_keys {
                let (ref_db, ref_table, _) = self.target(&fk.table);
                let def = ForeignKeyDef {
                    name: foreign_key_name(&table, &fk.columns, foreign_keys::MAX_NAME_BYTES),
                    db: db.clone(),
                    table: table.clone(),
                    columns: fk.columns.clone(),
                    ref_db,
                    ref_table,
                    referenced: fk.referenced.clone(),
                    rules: fk.rules(),
                };
                if fk.on_delete == KeyAction::SetDefault || fk.on_update == KeyAction::SetDefault {
                    // InnoDB takes no SET DEFAULT action.
                    tracing::warn!(table = %t.table, references = %fk.table, "foreign key {} left out: InnoDB has no ON DELETE/UPDATE SET DEFAULT", def.name);
                    continue;
                }
                let conn = match &mut conn {
                    Some(c) => c,
                    None => conn.insert(self.connect()?),
                };
                if !table_exists(conn, &def.ref_db, &def.ref_table, &what)? {
                    tracing::warn!(table = %t.table, references = %fk.table, "foreign key {} left out: the referenced table is neither copied in this run nor in the target", def.name);
                } else if !foreign_keys::exists(conn, &def, &what)? {
                    foreign_keys::add(conn, &def, &what)?;
                }
            }
        }
        Ok(())
    }
}

impl MySink {
    /// Starts writing `table`; with `chunks`, a new or replaced table is loaded chunk by chunk
    /// ([`chunks`]).
    fn prepare_with(
        &self,
        table: &str,
        schema: &SchemaRef,
        mode: IfExists,
        chunks: Option<&ChunkPlan>,
    ) -> Result<Box<dyn TableWriter + '_>> {
        let (db, name, qualified) = self.target(table);
        let what = format!("{}: {qualified}", self.settings);
        // A chunked load's staging table and progress rows, named by the plan.
        let progress = chunks.map(|c| {
            chunks::Progress::new(
                &db,
                super::chunked_staging_name(&qualified, &name, &c.fingerprint),
                c.fingerprint.clone(),
            )
        });
        let resume = chunks.map_or(Resume::No, |c| c.resume);
        let mut control = self.connect()?;
        // One run at a time writes a table: `control` holds the lock until the run ends (a
        // killed run's ends with its connection). Appends too: MySQL's named locks have no
        // shared mode, and an append's transaction would otherwise commit into the old table
        // of a replace that swapped a new one in meanwhile, its rows dropped with it.
        lock_target(&mut control, &qualified, &what)?;
        if mode != IfExists::Append {
            drop_leftover_staging(
                &mut control,
                &db,
                &qualified,
                &name,
                progress.as_ref().filter(|_| resume != Resume::No),
                resume == Resume::Yes,
                &what,
            )?;
        }
        let exists = table_exists(&mut control, &db, &name, &what)?;
        if exists && mode == IfExists::Fail {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "{what}: target table exists (use --if-exists append, replace or truncate)"
                ),
            ));
        }
        let load = LoadRecord::of(schema, &name, mode);
        if let Some(load) = load.as_ref().filter(|_| exists && mode == IfExists::Append) {
            if !self.reload && table_exists(&mut control, &db, LOADS_TABLE, &what)? {
                let loads = format!("{}.{}", quote_ident(&db), quote_ident(LOADS_TABLE));
                let earlier: Option<String> = control
                    .exec_first(
                        LoadRecord::earlier_sql(&loads, ("?", "?")),
                        (&load.snapshot_table, &load.target_table),
                    )
                    .map_err(|e| my_error(e, format!("{what}: {LOADS_TABLE}")))?;
                if let Some(at) = earlier {
                    return Err(load.repeated(&what, &at));
                }
            }
        }
        let mut cols = columns_of(schema)?;
        let appending = exists && matches!(mode, IfExists::Append | IfExists::Truncate);
        if appending {
            // The existing definition decides how each column travels.
            let defs: Vec<(String, String)> = control
                .exec(
                    "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS
                     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                    (&db, &name),
                )
                .map_err(|e| my_error(e, what.clone()))?;
            for (c, f) in cols.iter_mut().zip(schema.fields()) {
                let Some((_, t)) = defs.iter().find(|(n, _)| n == &c.name) else {
                    return Err(Error::not_found(format!(
                        "{what}: target table has no column \"{}\"",
                        c.name
                    )));
                };
                *c = Column::new(&c.name, t.clone(), c.not_null, f.data_type());
            }
        }
        let encoder = Arc::new(
            TextEncoder::try_new(
                schema,
                cols.iter()
                    .map(|c| ColumnText {
                        name: c.name.clone(),
                        form: c.form,
                    })
                    .collect(),
            )?
            .with_float_loss(self.float_loss)
            .with_members(
                cols.iter()
                    .map(|c| Members::of_declared(&c.declared))
                    .collect(),
            ),
        );
        // Chunks commit into a staging table of the run's own: a new or replaced table.
        let mut progress = progress.filter(|_| !appending);
        let mut committed = Vec::new();
        let (load_into, staging, workers) = if appending {
            // One connection, one transaction: finish() commits it, a failure rolls it back.
            (qualified.clone(), None, 1)
        } else {
            let sname = match &progress {
                Some(p) => p.staging.clone(),
                None => staging_name(&qualified, &name, ""),
            };
            let sq = format!("{}.{}", quote_ident(&db), quote_ident(&sname));
            let creating = || format!("{what}: creating the staging table");
            let kept = match &progress {
                Some(p) if resume != Resume::No => {
                    let progress_table = format!("{sname}{}", super::PROGRESS_SUFFIX);
                    (chunks::transactional(&mut control, &db, &sname, &what)?
                        && table_exists(&mut control, &db, &progress_table, &what)?)
                    .then(|| p.clone())
                }
                _ => None,
            };
            match kept {
                Some(p) => committed = p.committed(&mut control, &what)?,
                None => {
                    if let Some(p) = &progress {
                        // Not resuming: this plan's earlier chunks are loaded again.
                        exec(
                            &mut control,
                            &format!("DROP TABLE IF EXISTS {sq}"),
                            creating,
                        )?;
                        exec(&mut control, &p.forget_sql(), creating)?;
                    }
                    let create = create_sql(&sq, &cols, &key_columns(schema), self.collation)
                        .map_err(|e| e.context(what.clone()))?;
                    exec(&mut control, &create, creating)?;
                    if let Some(p) = &progress {
                        if chunks::transactional(&mut control, &db, &sname, &what)? {
                            exec(&mut control, &p.create_sql(), creating)?;
                        } else {
                            // Chunks of a table that is not InnoDB cannot commit with their
                            // progress rows: the table is loaded whole, without any.
                            tracing::warn!(table = %qualified, "the staging table is not InnoDB: loaded without resumable chunks");
                            progress = None;
                        }
                    }
                }
            }
            (sq.clone(), Some(sq), self.jobs)
        };
        let sql = load_sql(&load_into, &cols);
        let (tx, rx) = bounded::<(usize, RecordBatch, Origin)>(workers * 2);
        // The writer exists before its connections start: if one cannot start, dropping the
        // writer stops the others and drops the staging table.
        // Text a column cannot hold as it is (too long, or trailing blanks it would strip) is
        // refused, naming the value.
        let bounds = cols
            .iter()
            .enumerate()
            .filter_map(|(i, c)| super::TextBound::of(i, &c.name, &c.declared))
            .collect();
        let mut writer = Box::new(MyWriter {
            sink: self,
            bounds,
            publication: Some(Publication {
                settings: self.settings.clone(),
                control,
                qualified: qualified.clone(),
                db,
                name,
                mode,
                staging,
                open: Vec::new(),
                load,
                progress: progress.clone(),
                kept: self.kept.clone(),
            }),
            appending,
            chunked: progress.map(|p| ChunkedLoad {
                router: chunks::Router::new(),
                progress: p,
                sql: sql.clone(),
                committed,
            }),
            tx: Some(tx),
            handles: Vec::new(),
            abort: Arc::new(AtomicBool::new(false)),
            batches: 0,
            bytes: 0,
            rows_sent: 0,
            finished: false,
            encoder: encoder.clone(),
        });
        // A chunked load opens its connections as chunks arrive.
        let workers = if writer.chunked.is_some() { 0 } else { workers };
        for k in 0..workers {
            let mut conn = self.connect()?;
            if appending {
                exec(&mut conn, "START TRANSACTION", || format!("{what}: begin"))?;
                if mode == IfExists::Truncate {
                    // Not TRUNCATE: it commits at once; DELETE is undone with the transaction.
                    exec(&mut conn, &format!("DELETE FROM {qualified}"), || {
                        format!("{what}: emptying the table")
                    })?;
                }
            }
            writer.handles.push(spawn_worker(
                k,
                conn,
                sql.clone(),
                rx.clone(),
                encoder.clone(),
                writer.abort.clone(),
                what.clone(),
            )?);
        }
        Ok(writer)
    }
}

type WorkerResult = Result<(Conn, u64, u64)>;

/// One connection's loads: each batch it takes from the channel is encoded and loaded by one
/// `LOAD DATA` statement, then checked.
fn spawn_worker(
    k: usize,
    mut conn: Conn,
    sql: String,
    rx: Receiver<(usize, RecordBatch, Origin)>,
    encoder: Arc<TextEncoder>,
    abort: Arc<AtomicBool>,
    what: String,
) -> Result<JoinHandle<WorkerResult>> {
    std::thread::Builder::new()
        .name(format!("ferry-mysql-load-{k}"))
        .spawn(move || {
            let stream = Stream::serve(&mut conn);
            let (mut rows, mut bytes) = (0u64, 0u64);
            for (idx, batch, origin) in rx.iter() {
                if abort.load(Ordering::Relaxed) {
                    return Err(Error::new(
                        ErrorKind::Cancelled,
                        format!("{what}: load aborted"),
                    ));
                }
                let at = format!("{what}: batch {} (from {})", idx + 1, origin.row(0));
                bytes += stream.load(&mut conn, &sql, &encoder, &batch, &origin, &at)?;
                rows += batch.num_rows() as u64;
            }
            Ok((conn, rows, bytes))
        })
        .map_err(|e| Error::io("cannot start a LOAD DATA thread", e))
}

/// What a connection's `LOAD DATA LOCAL` reads: ferry's stream, one encoded batch, from memory.
struct Stream {
    buf: Arc<Mutex<Vec<u8>>>,
}

impl Stream {
    /// Makes `conn` serve ferry's stream (and nothing else) to `LOAD DATA LOCAL`.
    fn serve(conn: &mut Conn) -> Stream {
        let buf = Arc::new(Mutex::new(Vec::<u8>::with_capacity(1 << 20)));
        let served = buf.clone();
        conn.set_local_infile_handler(Some(LocalInfileHandler::new(move |name, w| {
            // Serve ferry's own stream only: a server asking for another file gets nothing.
            if name != STREAM_NAME.as_bytes() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!(
                        "the server asked for {:?}; ferry serves only its own stream",
                        String::from_utf8_lossy(name)
                    ),
                ));
            }
            let data = served
                .lock()
                .map_err(|_| std::io::Error::other("stream buffer poisoned"))?;
            w.write_all(&data)?;
            w.flush()
        })));
        Stream { buf }
    }

    /// Loads `batch` with one `sql` (`LOAD DATA`) and checks that the server took it exactly;
    /// `at` names the batch in an error. The bytes sent.
    fn load(
        &self,
        conn: &mut Conn,
        sql: &str,
        encoder: &TextEncoder,
        batch: &RecordBatch,
        origin: &Origin,
        at: &str,
    ) -> Result<u64> {
        let bytes = {
            let mut b = self
                .buf
                .lock()
                .map_err(|_| Error::internal("stream buffer poisoned"))?;
            b.clear();
            encoder
                .encode(batch, &mut b)
                .map_err(|e| e.context(at.to_string()))?;
            b.len() as u64
        };
        conn.query_drop(sql)
            .map_err(|e| my_error(e, at.to_string()))?;
        check_load(conn, batch, origin, at)?;
        Ok(bytes)
    }
}

/// Fails if the server did not take every row of `batch` exactly: fewer rows than sent, or any
/// warning or note (a value cut, clamped or zeroed).
fn check_load(conn: &mut Conn, batch: &RecordBatch, origin: &Origin, at: &str) -> Result<()> {
    let sent = batch.num_rows() as u64;
    let taken = conn.affected_rows();
    if conn.warnings() == 0 && taken == sent {
        return Ok(());
    }
    let warnings: Vec<(String, u32, String)> = conn
        .query("SHOW WARNINGS")
        .map_err(|e| my_error(e, format!("{at}: SHOW WARNINGS")))?;
    let Some((level, code, message)) = warnings.into_iter().next() else {
        return Err(Error::new(
            ErrorKind::Integrity,
            format!("{at}: the server took {taken} of the {sent} rows sent"),
        ));
    };
    let mut msg = format!("{at}: the server changed or refused a value: {level} {code}: {message}");
    if let Some((column, row)) = warning_place(&message) {
        if let Some(value) = value_text(batch, &column, row) {
            msg.push_str(&format!(
                " (column \"{column}\", row {row} of the batch, {} of the source, value sent: \
                 {value})",
                origin.row(row.saturating_sub(1))
            ));
        }
    }
    if taken != sent {
        msg.push_str(&format!("; {taken} of {sent} rows taken"));
    }
    let kind = match code {
        1062 | 1048 | 1451 | 1452 | 1364 => ErrorKind::Integrity,
        _ => ErrorKind::InvalidData,
    };
    Err(Error::new(kind, msg))
}

/// `(column, row)` of a warning such as `Data truncated for column 's' at row 3`.
fn warning_place(message: &str) -> Option<(String, usize)> {
    let c = message.find("column '")? + "column '".len();
    let end = message[c..].find('\'')? + c;
    let r = message.find(" at row ")? + " at row ".len();
    let row = message[r..]
        .split(|ch: char| !ch.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some((message[c..end].to_string(), row))
}

/// The value ferry sent at 1-based `row` of `column`, as text (at most 80 characters).
fn value_text(batch: &RecordBatch, column: &str, row: usize) -> Option<String> {
    let a = batch.column_by_name(column)?;
    if row == 0 || row > a.len() {
        return None;
    }
    if a.is_null(row - 1) {
        return Some("NULL".into());
    }
    let s = arrow::util::display::array_value_to_string(a, row - 1).ok()?;
    let mut short: String = s.chars().take(80).collect();
    if short.len() < s.len() {
        short.push('…');
    }
    Some(format!("{short:?}"))
}

/// The run's state in the target, published by [`Sink::commit`].
#[derive(Default)]
struct RunState {
    /// Finished tables, waiting for the run's end.
    pending: Vec<Publication>,
}

/// A finished table's load, made visible by [`MySink::commit`] with the run's other tables.
struct Publication {
    settings: MySettings,
    /// Holds the target's lock until the run ends, and drops the staging table if the run
    /// does not commit.
    control: Conn,
    qualified: String,
    db: String,
    name: String,
    mode: IfExists,
    /// The quoted staging table, when loading through one.
    staging: Option<String>,
    /// The connections of an append or truncate, their transactions open.
    open: Vec<Conn>,
    /// The snapshot table the rows come from, recorded in [`LOADS_TABLE`] with the run.
    load: Option<LoadRecord>,
    /// A chunked load's progress rows: dropped after the swap; while chunks are committed, a
    /// failed run keeps the staging table with them for `--resume`.
    progress: Option<chunks::Progress>,
    /// Where a failed run's kept staging tables are listed.
    kept: Arc<Mutex<Vec<String>>>,
}

impl Drop for Publication {
    fn drop(&mut self) {
        // Not published: the open transactions roll back as their connections close, and the
        // staging table goes, unless it holds committed chunks, which `--resume` continues
        // from.
        self.open.clear();
        if let Some(sq) = self.staging.take() {
            if let Some(p) = &self.progress {
                // The lost connection may be this one: then a new one asks.
                if self.control.ping().is_err() {
                    if let Ok(c) = connect(&self.settings) {
                        self.control = c;
                    }
                }
                match p.committed(&mut self.control, &self.qualified) {
                    Ok(chunks) if !chunks.is_empty() => {
                        let rows: u64 = chunks.iter().map(|(_, r)| r).sum();
                        if let Ok(mut kept) = self.kept.lock() {
                            kept.push(format!(
                                "{} ({} chunk(s), {rows} rows, in {sq})",
                                self.qualified,
                                chunks.len()
                            ));
                        }
                        return;
                    }
                    Ok(_) => {
                        let _ = self.control.query_drop(p.forget_sql());
                    }
                    // The server is gone: nothing can be dropped either; the next run of the
                    // plan finds what is there.
                    Err(_) => return,
                }
            }
            if let Err(e) = self
                .control
                .query_drop(format!("DROP TABLE IF EXISTS {sq}"))
            {
                tracing::warn!("cannot drop the staging table {sq}: {e}");
            }
        }
    }
}

/// A swap of [`MySink::commit`]: a staging table taking a target's name.
struct Swap {
    staging: String,
    qualified: String,
    /// The replaced table's name for the moment of the swap, if there is one.
    old: Option<String>,
    what: String,
}

impl MySink {
    /// Makes the run's tables visible: every staging table swapped in by one `RENAME TABLE`
    /// (atomic, all of them or none), then the appends' transactions committed, then the
    /// replaced tables dropped. Foreign keys of other tables on a replaced table are checked
    /// against its new rows first, and moved to it around the rename (foreign_keys.rs).
    fn publish_all(&self, pending: &mut [Publication]) -> Result<()> {
        let mut c = self.connect()?;
        let mut swaps = Vec::new();
        let mut dependents = Vec::new();
        for p in pending.iter() {
            let Some(sq) = &p.staging else { continue };
            let what = format!("{}: {}", self.settings, p.qualified);
            let exists = table_exists(&mut c, &p.db, &p.name, &what)?;
            if exists && p.mode == IfExists::Fail {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("{what}: the target table was created by someone else during the load"),
                ));
            }
            let old = exists.then(|| {
                format!(
                    "{}.{}",
                    quote_ident(&p.db),
                    quote_ident(&staging_name(&p.qualified, &p.name, "_old"))
                )
            });
            if let Some(old) = &old {
                exec(&mut c, &format!("DROP TABLE IF EXISTS {old}"), || {
                    format!("{what}: swap")
                })?;
                for fk in foreign_keys::referencing(&mut c, &p.db, &p.name, &what)? {
                    foreign_keys::check(&mut c, &fk, sq, &what)?;
                    dependents.push((fk, what.clone()));
                }
            }
            swaps.push(Swap {
                staging: sq.clone(),
                qualified: p.qualified.clone(),
                old,
                what,
            });
        }
        let swapped = if swaps.is_empty() {
            Ok(())
        } else {
            for (fk, what) in &dependents {
                foreign_keys::drop(&mut c, fk, what)?;
            }
            let pairs = swaps
                .iter()
                .map(|s| match &s.old {
                    Some(old) => {
                        format!("{} TO {old}, {} TO {}", s.qualified, s.staging, s.qualified)
                    }
                    None => format!("{} TO {}", s.staging, s.qualified),
                })
                .collect::<Vec<_>>()
                .join(", ");
            let r = exec(&mut c, &format!("RENAME TABLE {pairs}"), || {
                format!("{}: swap", self.settings)
            });
            // Back onto whichever table now has the name: the new one, or the old one if the
            // swap failed.
            for (fk, what) in &dependents {
                let added = foreign_keys::declare(&mut c, fk, what);
                if r.is_ok() {
                    added?;
                }
            }
            r
        };
        swapped?;
        let loads = format!(
            "{}.{}",
            quote_ident(&self.database),
            quote_ident(LOADS_TABLE)
        );
        if pending.iter().any(|p| p.load.is_some()) {
            exec(
                &mut c,
                &LoadRecord::create_sql(&loads, "varchar(128)"),
                || format!("{}: {LOADS_TABLE}", self.settings),
            )?;
        }
        for p in pending.iter_mut() {
            // Recorded in the append's own transaction, or after the swap.
            if let Some(load) = &p.load {
                let conn = match p.open.first_mut() {
                    Some(open) => open,
                    None => &mut c,
                };
                record_load(conn, &loads, load)
                    .map_err(|e| my_error(e, format!("{}: {LOADS_TABLE}", self.settings)))?;
            }
            p.staging = None;
        }
        // The swapped-in tables' progress rows have done their work.
        for p in pending.iter_mut() {
            if let Some(progress) = p.progress.take() {
                exec(&mut c, &progress.forget_sql(), || {
                    format!(
                        "{}: {}: dropping the load's progress",
                        self.settings, p.qualified
                    )
                })?;
            }
        }
        // Appends commit after the swap: a connection lost in between is named.
        for p in pending.iter_mut() {
            for mut conn in p.open.drain(..) {
                exec(&mut conn, "COMMIT", || {
                    format!(
                        "{}: {}: commit (the run's other tables are committed)",
                        self.settings, p.qualified
                    )
                })?;
            }
        }
        for s in &swaps {
            if let Some(old) = &s.old {
                exec(&mut c, &format!("DROP TABLE {old}"), || {
                    format!("{}: dropping the replaced table", s.what)
                })?;
            }
        }
        Ok(())
    }
}

/// Records `load` in `loads` ([`LOADS_TABLE`]), replacing an earlier record of it.
fn record_load(c: &mut Conn, loads: &str, load: &LoadRecord) -> mysql::Result<()> {
    c.exec_drop(
        format!("DELETE FROM {loads} WHERE snapshot_table = ? AND target_table = ?"),
        (&load.snapshot_table, &load.target_table),
    )?;
    c.exec_drop(
        format!(
            "INSERT INTO {loads} (snapshot_table, target_table, row_count, mode, loaded_at) \
             VALUES (?, ?, ?, ?, ?)"
        ),
        (
            &load.snapshot_table,
            &load.target_table,
            load.rows,
            format!("{:?}", load.mode).to_lowercase(),
            &load.loaded_at,
        ),
    )
}

struct MyWriter<'a> {
    sink: &'a MySink,
    /// The text columns with a declared length or blank padding, see [`super::check_text`].
    bounds: Vec<super::TextBound>,
    /// What `finish()` hands to the sink (taken then).
    publication: Option<Publication>,
    appending: bool,
    /// A load chunk by chunk (`tx` and `handles` unused then).
    chunked: Option<ChunkedLoad>,
    tx: Option<Sender<(usize, RecordBatch, Origin)>>,
    handles: Vec<JoinHandle<WorkerResult>>,
    abort: Arc<AtomicBool>,
    batches: usize,
    bytes: u64,
    /// Rows handed to the loading connections, checked against the rows the server took.
    rows_sent: u64,
    finished: bool,
    /// Counts the floats it replaced (`--float-loss replace`), shared with the workers' copies.
    encoder: Arc<TextEncoder>,
}

/// A chunked load's connections, and what earlier runs committed.
struct ChunkedLoad {
    router: chunks::Router<Conn>,
    progress: chunks::Progress,
    /// The `LOAD DATA` statement.
    sql: String,
    committed: Vec<(String, u64)>,
}

impl MyWriter<'_> {
    /// Hands `msg` for `chunk` to its connection (starting one if needed).
    fn send_chunk(&mut self, chunk: &Arc<str>, msg: chunks::ChunkMsg) -> Result<()> {
        let sink = self.sink;
        let what = format!("{}: {}", sink.settings, self.qualified());
        let (abort, encoder) = (self.abort.clone(), self.encoder.clone());
        let load = self.chunked.as_mut().expect("a chunked load");
        if let Some(e) = load.router.failure() {
            return Err(e);
        }
        let (sql, progress) = (&load.sql, &load.progress);
        let i = load.router.route(chunk, |k| {
            chunks::spawn_chunk_worker(
                k,
                sink.connect()?,
                sql.clone(),
                progress.clone(),
                encoder,
                abort,
                what.clone(),
            )
        })?;
        if !load.router.send(i, msg) {
            return Err(load.router.join().err().unwrap_or_else(|| {
                Error::internal(format!("{what}: the LOAD DATA connections stopped"))
            }));
        }
        Ok(())
    }

    /// The first failure of a loading connection that stopped early.
    fn worker_failure(&mut self) -> Option<Error> {
        let done = self.handles.iter().position(|h| h.is_finished())?;
        let h = self.handles.remove(done);
        match h.join() {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some(Error::internal("a LOAD DATA thread failed unexpectedly")),
        }
    }

    fn join_all(&mut self) -> Result<(Vec<Conn>, u64)> {
        self.tx = None;
        let mut conns = Vec::new();
        let mut rows = 0;
        let mut first: Option<Error> = None;
        for h in self.handles.drain(..) {
            match h.join() {
                Ok(Ok((c, r, _))) => {
                    conns.push(c);
                    rows += r;
                }
                Ok(Err(e)) => {
                    first.get_or_insert(e);
                }
                Err(_) => {
                    first.get_or_insert(Error::internal("a LOAD DATA thread failed unexpectedly"));
                }
            }
        }
        match first {
            Some(e) => Err(e),
            None => Ok((conns, rows)),
        }
    }

    fn qualified(&self) -> &str {
        self.publication
            .as_ref()
            .map(|p| p.qualified.as_str())
            .unwrap_or_default()
    }
}

impl TableWriter for MyWriter<'_> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let origin = Origin::default();
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
            return Err(self.join_all().err().unwrap_or_else(|| {
                Error::internal(format!(
                    "{}: the LOAD DATA connections stopped",
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
        let (conns, rows) = match self.chunked.as_mut() {
            // Every chunk committed on its own connection.
            Some(c) => (Vec::new(), c.router.join()?),
            None => self.join_all()?,
        };
        if rows != self.rows_sent {
            return Err(Error::new(
                ErrorKind::Integrity,
                format!(
                    "{}: {}: the server took {rows} rows, ferry sent {}; nothing was published",
                    self.sink.settings,
                    self.qualified(),
                    self.rows_sent
                ),
            ));
        }
        if let Some(mut p) = self.publication.take() {
            if let Some(load) = &mut p.load {
                load.rows = rows;
            }
            if self.appending {
                // Committed with the run's other tables.
                p.open = conns;
            }
            self.sink
                .run
                .lock()
                .map_err(|_| Error::internal("run state"))?
                .pending
                .push(p);
        }
        self.finished = true;
        Ok(WriteStats {
            rows,
            bytes: self.bytes,
            files: Vec::new(),
            lossy: self.encoder.lossy(),
        })
    }
}

impl Drop for MyWriter<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.abort.store(true, Ordering::Relaxed);
            self.tx = None;
            if let Some(c) = self.chunked.as_mut() {
                // Open chunks roll back with their connections; committed ones stay.
                let _ = c.router.join();
            }
            // A loading connection dropped unfinished rolls its transaction back.
            for h in self.handles.drain(..) {
                let _ = h.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_name_column_and_row() {
        assert_eq!(
            warning_place("Data truncated for column 's' at row 3"),
            Some(("s".into(), 3))
        );
        assert_eq!(
            warning_place("Out of range value for column 'i' at row 12"),
            Some(("i".into(), 12))
        );
        assert_eq!(warning_place("Something else"), None);
    }

    #[test]
    fn load_statement_converts_binary_and_bit() {
        let cols = vec![
            Column::new("a", "int".into(), false, &DataType::Int32),
            Column::new("b", "varbinary(16)".into(), false, &DataType::Binary),
            Column::new("c", "bit(3)".into(), false, &DataType::UInt64),
        ];
        let sql = load_sql("`db`.`t`", &cols);
        assert!(sql.contains("(`a`, @ferry_1, @ferry_2) SET `b` = UNHEX(@ferry_1), `c` = CAST(@ferry_2 AS UNSIGNED)"), "{sql}");
        // No backslash: the statement reads the same under NO_BACKSLASH_ESCAPES.
        assert!(
            sql.contains("FIELDS TERMINATED BY X'09' ESCAPED BY X'5C' LINES TERMINATED BY X'0A'"),
            "{sql}"
        );
        assert!(!sql.contains('\\'), "{sql}");
        assert!(
            !SESSION.contains("NO_BACKSLASH_ESCAPES") && SESSION.contains("NO_AUTO_VALUE_ON_ZERO")
        );
    }

    #[test]
    fn the_target_type_decides_the_text_form() {
        let form =
            |declared: &str, arrow: DataType| Column::new("c", declared.into(), false, &arrow).form;
        assert_eq!(form("year", DataType::Int16), TextForm::Year);
        assert_eq!(form("year(4)", DataType::Utf8), TextForm::Year);
        assert_eq!(form("date", DataType::Date32), TextForm::Day);
        assert_eq!(form("datetime", DataType::Int64), TextForm::Fraction(0));
        assert_eq!(form("timestamp(3)", DataType::Int64), TextForm::Fraction(3));
        assert_eq!(form("time(6)", DataType::Int64), TextForm::Plain);
        assert_eq!(form("datetime(6)", DataType::Int64), TextForm::Plain);
        assert_eq!(form("int(11)", DataType::Float64), TextForm::Whole);
        assert_eq!(form("tinyint(1)", DataType::Boolean), TextForm::Whole);
        assert_eq!(form("float", DataType::Float64), TextForm::Single);
        assert_eq!(form("float(12)", DataType::Float64), TextForm::Single);
        assert_eq!(form("float(7,2)", DataType::Float64), TextForm::Single);
        assert_eq!(form("float(30)", DataType::Float64), TextForm::Plain);
        assert_eq!(form("double", DataType::Float32), TextForm::Plain);
        assert_eq!(form("longblob", DataType::Binary), TextForm::Hex);
        assert_eq!(form("longtext", DataType::Binary), TextForm::Plain);
        assert_eq!(form("decimal(10,2)", DataType::Float64), TextForm::Plain);
    }

    fn col(name: &str, declared: &str) -> Column {
        Column::new(name, declared.into(), false, &DataType::Utf8)
    }

    fn keys(cols: &[Column], key: &[&str]) -> Result<Vec<String>> {
        let key: Vec<String> = key.iter().map(|k| k.to_string()).collect();
        Ok(key_types(cols, &key)?.into_iter().map(|(_, t)| t).collect())
    }

    #[test]
    fn text_keys_get_a_length_that_fits() {
        let cols = vec![col("k", "longtext"), col("v", "longtext")];
        let sql = create_sql("`t`", &cols, &["k".to_string()], "utf8mb4_nopad_bin").unwrap();
        assert!(sql.contains("`k` varchar(768) NOT NULL"), "{sql}");
        assert!(sql.contains("`v` longtext NULL"), "{sql}");
        assert!(sql.contains("PRIMARY KEY (`k`)"), "{sql}");
        assert!(
            sql.ends_with("DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"),
            "{sql}"
        );
        // The other key columns' bytes come first: an int and a datetime(6) leave 3060 bytes.
        let cols = vec![
            col("i", "int"),
            col("d", "datetime(6)"),
            col("t", "text"),
            col("b", "longblob"),
        ];
        assert_eq!(
            keys(&cols, &["i", "d", "t", "b"]).unwrap(),
            ["int", "datetime(6)", "varchar(382)", "varbinary(1530)"]
        );
        // Three text columns share the key: 3 x 256 x 4 = 3072 bytes.
        let cols = vec![
            col("a", "longtext"),
            col("b", "longtext"),
            col("c", "longtext"),
        ];
        assert_eq!(
            keys(&cols, &["a", "b", "c"]).unwrap(),
            ["varchar(256)", "varchar(256)", "varchar(256)"]
        );
        // Declared lengths are kept.
        let cols = vec![
            col("a", "varchar(100)"),
            col("b", "longtext"),
            col("n", "decimal(20,2)"),
        ];
        assert_eq!(
            keys(&cols, &["a", "b", "n"]).unwrap(),
            ["varchar(100)", "varchar(665)", "decimal(20,2)"]
        );
        // 4 x 767 + 4 is InnoDB's 3072 exactly (MariaDB takes it, 768 it refuses).
        let cols = vec![col("i", "int"), col("t", "text")];
        assert_eq!(keys(&cols, &["i", "t"]).unwrap(), ["int", "varchar(767)"]);
    }

    #[test]
    fn keys_that_cannot_fit_fail_naming_the_column_and_the_fix() {
        let cols = vec![
            col("a", "varchar(500)"),
            col("b", "varchar(300)"),
            col("c", "int"),
        ];
        let e = keys(&cols, &["a", "b", "c"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert_eq!(
            e.to_string(),
            "column \"a\": the primary key (`a`, `b`, `c`) takes 3204 bytes, more than InnoDB's \
             3072; \"a\" (varchar(500)) alone takes 2000 (utf8mb4 text takes 4 bytes a \
             character); cast the key's text columns to shorter types, e.g. --transform \
             'cast(a, VARCHAR(n))'"
        );
        let cols = vec![col("a", "varchar(768)"), col("t", "longtext")];
        let e = keys(&cols, &["a", "t"]).unwrap_err().to_string();
        assert_eq!(
            e,
            "column \"t\" (longtext) is in the primary key (`a`, `t`), and the key's other \
             columns take 3072 of InnoDB's 3072 bytes, leaving it no room; cast it or another \
             key column to a shorter type, e.g. --transform 'cast(t, VARCHAR(n))'"
        );
        // A key without text or blob is left to the server.
        let cols = vec![col("a", "int"), col("b", "geometry")];
        assert_eq!(keys(&cols, &["a", "b"]).unwrap(), ["int", "geometry"]);
    }
}
