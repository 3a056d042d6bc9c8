//! Chunked loads into SQLite: a `fail` or `replace` load goes into a staging table named after
//! the plan (`chunked_staging_name`), and its chunks (source partitions) are committed with
//! their progress rows (`<staging>_p`), so a run killed at any point is continued by `--resume`
//! from the chunks committed. The staging tables are renamed into place in the run's one
//! publishing transaction ([`super::SqliteSink::commit`]): readers see the old tables or all
//! of the new ones.
//!
//! SQLite has one writer, so the chunks of a table share one connection and commit in groups
//! ([`Groups`]): a group commits once `?commit_mib=` ([`crate::sink::chunks::COMMIT_BYTES`] by
//! default) was written
//! or 5 s passed, when every chunk in it has ended, with their progress rows.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use rusqlite::Connection;

use super::{insert_batch, insert_sql, table_exists, Binder, SqliteSink};
use crate::error::{Error, ErrorKind, Result};
use crate::sink::chunks::{leftovers, other_plan, GroupTarget, Groups};
use crate::sink::{
    chunked_staging_name, staging_prefix, ChunkPlan, IfExists, LoadRecord, Resume, TableWriter,
    WriteStats, PROGRESS_SUFFIX,
};
use crate::source::Origin;
use crate::types::quote_ident;

/// A chunked load's progress table and its plan.
#[derive(Debug, Clone)]
pub(super) struct Progress {
    /// The staging table's own name (unquoted).
    pub staging: String,
    /// The progress table's name (unquoted).
    pub table: String,
    pub fingerprint: String,
}

impl Progress {
    pub fn new(staging: String, fingerprint: String) -> Progress {
        Progress {
            table: format!("{staging}{PROGRESS_SUFFIX}"),
            staging,
            fingerprint,
        }
    }

    fn create_sql(&self) -> String {
        format!(
            "CREATE TABLE {} (chunk TEXT NOT NULL, fingerprint TEXT NOT NULL, \
             row_count INTEGER NOT NULL, committed_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
            quote_ident(&self.table)
        )
    }

    /// The chunks committed into the staging table for this plan, with their rows.
    pub fn committed(&self, c: &Connection) -> rusqlite::Result<Vec<(String, u64)>> {
        if !table_exists(c, &self.table)? {
            return Ok(Vec::new());
        }
        let mut stmt = c.prepare(&format!(
            "SELECT chunk, row_count FROM {} WHERE fingerprint = ?1 ORDER BY chunk",
            quote_ident(&self.table)
        ))?;
        let rows = stmt.query_map([&self.fingerprint], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        rows.collect()
    }

    fn record_sql(&self) -> String {
        format!(
            "INSERT INTO {} (chunk, fingerprint, row_count) VALUES (?1, ?2, ?3)",
            quote_ident(&self.table)
        )
    }

    /// Drops the staging table and its progress table.
    pub fn drop_sql(&self) -> String {
        format!(
            "DROP TABLE IF EXISTS {}; DROP TABLE IF EXISTS {}",
            quote_ident(&self.staging),
            quote_ident(&self.table)
        )
    }
}

/// A finished chunked load, waiting for the run's commit to rename it into place.
#[derive(Debug)]
pub(super) struct Staged {
    pub target: String,
    pub mode: IfExists,
    pub progress: Progress,
    pub chunks: usize,
    pub rows: u64,
}

impl Staged {
    /// The line `--resume` is told about, should the run not commit.
    pub fn kept_line(&self) -> String {
        kept_line(&self.target, self.chunks, self.rows, &self.progress.staging)
    }
}

fn kept_line(target: &str, chunks: usize, rows: u64, staging: &str) -> String {
    format!(
        "{} ({chunks} chunk(s), {rows} rows, in {})",
        quote_ident(target),
        quote_ident(staging)
    )
}

/// Starts a chunked load of `table` (`fail` or `replace`) on a connection of its own: drops
/// the staging tables killed runs of other plans left (refusing, on `--resume`, one that holds
/// another plan's committed chunks), keeps this plan's when resuming, else creates it.
pub(super) fn prepare<'a>(
    sink: &'a SqliteSink,
    table: &str,
    schema: &SchemaRef,
    mode: IfExists,
    plan: &ChunkPlan,
    binders: Vec<Binder>,
) -> Result<Box<dyn TableWriter + 'a>> {
    let ctx = format!("{}: table {}", sink.name, quote_ident(table));
    let sqlerr = |e| Error::sqlite(ctx.clone(), e);
    let conn = sink.connect()?;
    if mode == IfExists::Fail && table_exists(&conn, table).map_err(sqlerr)? {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!("{ctx} exists (use --if-exists replace, truncate or append)"),
        ));
    }
    let staging = chunked_staging_name(table, table, &plan.fingerprint);
    let progress = Progress::new(staging.clone(), plan.fingerprint.clone());
    let resuming = plan.resume != Resume::No;
    drop_leftovers(
        &conn,
        &ctx,
        table,
        resuming.then_some(&progress),
        plan.resume == Resume::Yes,
    )?;
    let resumed = if resuming && table_exists(&conn, &staging).map_err(sqlerr)? {
        progress.committed(&conn).map_err(sqlerr)?
    } else {
        Vec::new()
    };
    if resumed.is_empty() {
        // Nothing to continue from: the staging table is made anew.
        let ddl = super::create_table_sql(&quote_ident(&staging), schema)?;
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {}; {ddl}; {}; COMMIT",
            progress.drop_sql(),
            progress.create_sql()
        ))
        .map_err(sqlerr)?;
    }
    let insert = insert_sql(&staging, schema);
    conn.prepare_cached(&insert).map_err(sqlerr)?;
    sink.build_indexes_at_commit(table, schema)?;
    Ok(Box::new(ChunkedWriter {
        sink,
        into: Staging {
            conn,
            ctx,
            insert,
            binders,
            progress,
            in_transaction: false,
        },
        target: table.to_string(),
        mode,
        resumed,
        groups: Groups::new(sink.commit_bytes),
        finished: false,
        load: LoadRecord::of(schema, table, mode),
    }))
}

/// Drops the staging tables of `table` that killed runs left behind, with their progress
/// tables; called with the database's run lock held, so no live run loads any of them. When
/// resuming, `own` is kept, and a staging table holding another plan's committed chunks is a
/// refusal when `strict` (`--resume`), or dropped (a retry).
fn drop_leftovers(
    c: &Connection,
    ctx: &str,
    table: &str,
    own: Option<&Progress>,
    strict: bool,
) -> Result<()> {
    let sqlerr = |e| Error::sqlite(format!("{ctx}: leftover staging tables"), e);
    let prefix = staging_prefix(table, table);
    let names: Vec<String> = {
        let mut stmt = c
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND substr(name, 1, length(?1)) = ?1 ORDER BY name",
            )
            .map_err(sqlerr)?;
        let rows = stmt
            .query_map([&prefix], |r| r.get::<_, String>(0))
            .map_err(sqlerr)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sqlerr)?
    };
    for (t, progress) in leftovers(&names, own.map(|p| p.staging.as_str())) {
        let chunks: i64 = match &progress {
            Some(p) => c
                .query_row(
                    &format!("SELECT count(*) FROM {}", quote_ident(p)),
                    [],
                    |r| r.get(0),
                )
                .map_err(sqlerr)?,
            None => 0,
        };
        if strict && chunks > 0 {
            return Err(other_plan(chunks as u64, &quote_ident(&t)).context(ctx.to_string()));
        }
        tracing::info!(table = %t, "dropping a staging table a killed run left behind");
        c.execute_batch(&format!(
            "DROP TABLE IF EXISTS {}; DROP TABLE IF EXISTS {}",
            quote_ident(&t),
            quote_ident(&format!("{t}{PROGRESS_SUFFIX}"))
        ))
        .map_err(sqlerr)?;
    }
    Ok(())
}

/// The staging table's connection, which takes the commit groups.
struct Staging {
    conn: Connection,
    ctx: String,
    insert: String,
    binders: Vec<Binder>,
    progress: Progress,
    in_transaction: bool,
}

impl Staging {
    fn err(&self, what: &str) -> impl Fn(rusqlite::Error) -> Error {
        let what = format!("{}: {what}", self.ctx);
        move |e| Error::sqlite(what.clone(), e)
    }

    fn begin(&mut self) -> Result<()> {
        if !self.in_transaction {
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(self.err("begin"))?;
            self.in_transaction = true;
        }
        Ok(())
    }
}

impl GroupTarget for Staging {
    fn write(&mut self, batch: &RecordBatch, origin: &Origin) -> Result<()> {
        self.begin()?;
        insert_batch(
            &self.conn,
            &self.insert,
            &self.binders,
            &self.ctx,
            batch,
            origin,
        )
    }

    fn commit(&mut self, ended: &[(Arc<str>, u64)]) -> Result<()> {
        self.begin()?;
        {
            let mut stmt = self
                .conn
                .prepare_cached(&self.progress.record_sql())
                .map_err(self.err("progress"))?;
            for (chunk, rows) in ended {
                stmt.execute(rusqlite::params![
                    chunk.as_ref(),
                    &self.progress.fingerprint,
                    *rows as i64
                ])
                .map_err(self.err("progress"))?;
            }
        }
        self.conn
            .execute_batch("COMMIT")
            .map_err(self.err("commit"))?;
        self.in_transaction = false;
        Ok(())
    }
}

struct ChunkedWriter<'a> {
    sink: &'a SqliteSink,
    into: Staging,
    target: String,
    mode: IfExists,
    /// The chunks an earlier run of this plan committed.
    resumed: Vec<(String, u64)>,
    groups: Groups,
    finished: bool,
    load: Option<LoadRecord>,
}

impl TableWriter for ChunkedWriter<'_> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.write_from(batch, &Origin::default())
    }

    fn write_from(&mut self, batch: &RecordBatch, origin: &Origin) -> Result<()> {
        self.groups.write(&mut self.into, batch, origin)
    }

    fn committed_chunks(&mut self) -> Result<Vec<(String, u64)>> {
        Ok(self.resumed.clone())
    }

    fn end_chunk(&mut self, chunk: &str, rows: u64) -> Result<()> {
        self.groups
            .end(&mut self.into, chunk, rows)
            .map_err(|e| e.context(self.into.ctx.clone()))
    }

    fn finish(mut self: Box<Self>) -> Result<WriteStats> {
        // Everything held goes into the last group, which commits: the staging table is whole.
        let ctx = self.into.ctx.clone();
        self.groups.finish(&mut self.into, &ctx)?;
        let committed = self
            .into
            .progress
            .committed(&self.into.conn)
            .map_err(self.into.err("progress"))?;
        let rows: u64 = committed.iter().map(|(_, r)| r).sum();
        if let Some(mut load) = self.load.take() {
            load.rows = rows;
            self.sink
                .loads
                .lock()
                .map_err(|_| Error::internal("run state"))?
                .push(load);
        }
        tracing::debug!(table = %self.target, commits = self.groups.commits, "staging table loaded");
        self.sink
            .staged
            .lock()
            .map_err(|_| Error::internal("run state"))?
            .push(Staged {
                target: self.target.clone(),
                mode: self.mode,
                progress: self.into.progress.clone(),
                chunks: committed.len(),
                rows,
            });
        self.finished = true;
        Ok(WriteStats {
            rows: self.groups.rows,
            bytes: self.groups.bytes,
            files: Vec::new(),
            schema_seconds: 0.0,
            lossy: self
                .into
                .binders
                .iter()
                .filter_map(Binder::replaced)
                .collect(),
        })
    }
}

impl Drop for ChunkedWriter<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Not finished (the run failed or was cancelled): the open group rolls back; the
        // staging table stays if it holds committed chunks, which `--resume` continues from.
        if self.into.in_transaction {
            let _ = self.into.conn.execute_batch("ROLLBACK");
        }
        let (conn, progress) = (&self.into.conn, &self.into.progress);
        match progress.committed(conn) {
            Ok(c) if !c.is_empty() => {
                let rows = c.iter().map(|(_, r)| r).sum();
                if let Ok(mut kept) = self.sink.kept.lock() {
                    kept.push(kept_line(&self.target, c.len(), rows, &progress.staging));
                }
            }
            Ok(_) => {
                if let Err(e) = conn.execute_batch(&progress.drop_sql()) {
                    tracing::warn!(
                        "cannot drop the staging table {}: {e}",
                        quote_ident(&progress.staging)
                    );
                }
            }
            Err(_) => {}
        }
    }
}

/// Renames the staged tables into place, in `conn`'s transaction: for `replace` the target
/// goes first, for `fail` it must still be missing. References to the target in views and
/// triggers are kept as they are written (`legacy_alter_table`), so they name the new table.
pub(super) fn publish(conn: &Connection, name: &str, staged: &[Staged]) -> Result<()> {
    for s in staged {
        let ctx = format!("{name}: table {}", quote_ident(&s.target));
        let sqlerr = |e| Error::sqlite(ctx.clone(), e);
        let exists = table_exists(conn, &s.target).map_err(sqlerr)?;
        let q = quote_ident(&s.target);
        let mut sql = Vec::new();
        match (s.mode, exists) {
            (IfExists::Fail, true) => {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!(
                        "{ctx} was created by someone else during the run (use --if-exists \
                         replace, truncate or append)"
                    ),
                ))
            }
            (_, true) => sql.push(format!("DROP TABLE {q}")),
            (_, false) => {}
        }
        sql.push(format!(
            "ALTER TABLE {} RENAME TO {q}",
            quote_ident(&s.progress.staging)
        ));
        sql.push(format!("DROP TABLE {}", quote_ident(&s.progress.table)));
        conn.execute_batch(&sql.join(";\n")).map_err(sqlerr)?;
    }
    Ok(())
}

/// Drops a staged table that holds nothing to resume from.
pub(super) fn forget(conn: &Connection, s: &Staged) {
    if let Err(e) = conn.execute_batch(&s.progress.drop_sql()) {
        tracing::warn!(
            "cannot drop the staging table {}: {e}",
            quote_ident(&s.progress.staging)
        );
    }
}
