//! Chunked loads into DuckDB: a `fail` or `replace` load goes into a staging table named after
//! the plan, and its chunks (source partitions) commit in groups ([`Groups`]: one connection,
//! the partitions' batches interleaved on it) with their progress rows (`<staging>_p`). Each
//! group is one stream of the driver's bulk ingest (into the staging table, or into a side
//! table cast into it), then the progress rows and `COMMIT`: after a crash a chunk's rows are
//! in the staging table exactly when its progress row is. The staging tables are renamed into
//! place in the run's one commit ([`publish`]). DuckDB lets one process write a database file
//! and refuses every other, so no other run loads a staging table this run finds.

use std::sync::Arc;

use adbc_core::Connection;
use adbc_driver_manager::ManagedConnection;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::{AdbcSink, AdbcWriter, LoadPlan};
use crate::adbc::{execute, query_text, quote_ident, quote_literal, Dialect};
use crate::error::{Error, ErrorKind, Result};
use crate::sink::chunks::{leftovers, other_plan, GroupTarget, Groups};
use crate::sink::{
    chunked_staging_name, staging_name, staging_prefix, ChunkPlan, IfExists, LoadRecord, Resume,
    TableWriter, WriteStats, LOADS_TABLE, PROGRESS_SUFFIX,
};
use crate::source::Origin;
use adbc_core::options::IngestMode;

/// A chunked load's progress table and its plan.
#[derive(Debug, Clone)]
pub(super) struct Progress {
    /// The staging table's own name (unquoted, unqualified).
    pub staging: String,
    /// The progress table's name (unquoted, unqualified).
    pub table: String,
    pub fingerprint: String,
}

impl Progress {
    fn new(staging: String, fingerprint: String) -> Progress {
        Progress {
            table: format!("{staging}{PROGRESS_SUFFIX}"),
            staging,
            fingerprint,
        }
    }

    /// The chunks committed into the staging table for this plan, with their rows.
    fn committed(
        &self,
        sink: &AdbcSink,
        conn: &mut ManagedConnection,
    ) -> Result<Vec<(String, u64)>> {
        if !sink.table_exists(conn, &self.table)? {
            return Ok(Vec::new());
        }
        let rows = query_text(
            sink.settings(),
            conn,
            &format!(
                "SELECT chunk, CAST(row_count AS VARCHAR) FROM {} WHERE fingerprint = {} \
                 ORDER BY chunk",
                sink.quoted(&self.table),
                quote_literal(&self.fingerprint)
            ),
        )?;
        rows.into_iter()
            .map(
                |r| match (r.first().cloned().flatten(), r.get(1).cloned().flatten()) {
                    (Some(c), Some(n)) => n
                        .parse::<u64>()
                        .map(|n| (c, n))
                        .map_err(|_| Error::internal(format!("a progress row of {n} rows"))),
                    _ => Err(Error::internal("a progress row without its chunk")),
                },
            )
            .collect()
    }

    fn drop_sql(&self, sink: &AdbcSink) -> [String; 2] {
        [
            format!("DROP TABLE IF EXISTS {}", sink.quoted(&self.staging)),
            format!("DROP TABLE IF EXISTS {}", sink.quoted(&self.table)),
        ]
    }
}

/// A finished chunked load, waiting for the run's commit to rename it into place.
#[derive(Debug)]
pub(super) struct Staged {
    target: String,
    mode: IfExists,
    progress: Progress,
    chunks: usize,
    rows: u64,
    /// The snapshot table the rows come from, recorded with the publication.
    load: Option<LoadRecord>,
}

fn kept_line(sink: &AdbcSink, target: &str, chunks: usize, rows: u64, staging: &str) -> String {
    format!(
        "{} ({chunks} chunk(s), {rows} rows, in {})",
        sink.quoted(target),
        sink.quoted(staging)
    )
}

/// Starts a chunked load of `table` (`fail` or `replace`) on a connection of its own: drops the
/// staging tables killed runs of other plans left (refusing, on `--resume`, one that holds
/// another plan's committed chunks), keeps this plan's when resuming, else creates it.
pub(super) fn prepare<'a>(
    sink: &'a AdbcSink,
    table: &str,
    schema: &SchemaRef,
    mode: IfExists,
    plan: &ChunkPlan,
) -> Result<Box<dyn TableWriter + 'a>> {
    let settings = sink.settings();
    let ctx = format!("{settings}: table \"{table}\"");
    let dialect = Dialect::Duckdb;
    let mut conn = sink
        .db
        .connect_transaction()?
        .ok_or_else(|| Error::internal(format!("{ctx}: the driver has no transactions")))?;
    let failed = |conn: &mut ManagedConnection, e: Error| {
        let _ = conn.rollback();
        e.context(ctx.clone())
    };
    if mode == IfExists::Fail && sink.table_exists(&mut conn, table)? {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!("{ctx} already exists (use --if-exists append, replace or truncate)"),
        ));
    }
    let staging = chunked_staging_name(table, table, &plan.fingerprint);
    let progress = Progress::new(staging.clone(), plan.fingerprint.clone());
    let resuming = plan.resume != Resume::No;
    let side = staging_name(table, table, "_in");
    let setup = (|| -> Result<Vec<(String, u64)>> {
        drop_leftovers(
            sink,
            &mut conn,
            table,
            resuming.then_some(&progress),
            plan.resume == Resume::Yes,
        )?;
        let resumed = if resuming && sink.table_exists(&mut conn, &staging)? {
            progress.committed(sink, &mut conn)?
        } else {
            Vec::new()
        };
        let mut sql = vec![format!("DROP TABLE IF EXISTS {}", sink.quoted(&side))];
        if resumed.is_empty() {
            // Nothing to continue from: the staging table is made anew.
            sql.extend(progress.drop_sql(sink));
            sql.push(sink.create_table(dialect, &staging, schema)?);
            sql.push(format!(
                "CREATE TABLE {} (chunk VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL, \
                 row_count BIGINT NOT NULL, committed_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                sink.quoted(&progress.table)
            ));
        }
        for q in &sql {
            execute(settings, &mut conn, q)?;
        }
        conn.commit()
            .map_err(|e| settings.error("cannot commit the staging table", e))?;
        Ok(resumed)
    })();
    let resumed = setup.map_err(|e| failed(&mut conn, e))?;
    // Each group is one ingest: into the staging table, or into a side table the driver
    // creates, cast into it and dropped in the group's transaction.
    let mut load = LoadPlan {
        ingest_table: staging.clone(),
        ingest_schema: settings.schema.clone(),
        ingest_mode: IngestMode::Append.into(),
        after: Vec::new(),
        cleanup: Vec::new(),
    };
    if !AdbcSink::direct(dialect, schema) {
        load.ingest_table = side.clone();
        load.ingest_mode = IngestMode::Create.into();
        load.after = vec![
            sink.cast_insert(dialect, schema, &staging, &side)?,
            format!("DROP TABLE {}", sink.quoted(&side)),
        ];
    }
    let writer = AdbcWriter {
        settings: settings.clone(),
        ctx: ctx.clone(),
        schema: sink.ingest_schema(schema),
        tx: None,
        loader: None,
        idle: Some(conn),
        streamed: 0,
        plan: load,
        transactional: true,
        run: sink.run.clone(),
        load: None,
        origin: None,
        float_loss: sink.float_loss,
        lossy: Default::default(),
        stats: WriteStats::default(),
    };
    Ok(Box::new(ChunkedWriter {
        sink,
        w: writer,
        progress,
        target: table.to_string(),
        mode,
        resumed,
        groups: Groups::new(settings.commit_bytes),
        finished: false,
        load: LoadRecord::of(schema, table, mode),
    }))
}

/// Drops the staging tables of `table` that killed runs left behind, with their progress
/// tables. When resuming, `own` is kept, and a staging table holding another plan's committed
/// chunks is a refusal when `strict` (`--resume`), or dropped (a retry).
fn drop_leftovers(
    sink: &AdbcSink,
    conn: &mut ManagedConnection,
    table: &str,
    own: Option<&Progress>,
    strict: bool,
) -> Result<()> {
    let settings = sink.settings();
    let prefix = staging_prefix(table, table);
    let names: Vec<String> = query_text(
        settings,
        conn,
        &format!(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = {} \
             AND starts_with(table_name, {}) ORDER BY 1",
            quote_literal(settings.schema.as_deref().unwrap_or("main")),
            quote_literal(&prefix)
        ),
    )?
    .into_iter()
    .filter_map(|r| r.into_iter().next().flatten())
    .collect();
    for (t, progress) in leftovers(&names, own.map(|p| p.staging.as_str())) {
        let chunks: u64 = match &progress {
            Some(p) => query_text(
                settings,
                conn,
                &format!("SELECT CAST(count(*) AS VARCHAR) FROM {}", sink.quoted(p)),
            )?
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
            None => 0,
        };
        if strict && chunks > 0 {
            return Err(other_plan(chunks, &sink.quoted(&t)));
        }
        tracing::info!(table = %t, "dropping a staging table a killed run left behind");
        for q in [t.clone(), format!("{t}{PROGRESS_SUFFIX}")] {
            execute(
                settings,
                conn,
                &format!("DROP TABLE IF EXISTS {}", sink.quoted(&q)),
            )?;
        }
    }
    Ok(())
}

/// The staging table's connection, as a commit group sees it.
struct Group<'w> {
    sink: &'w AdbcSink,
    w: &'w mut AdbcWriter,
    progress: &'w Progress,
}

impl GroupTarget for Group<'_> {
    fn write(&mut self, batch: &RecordBatch, origin: &Origin) -> Result<()> {
        self.w.write_from(batch, origin)
    }

    fn commit(&mut self, ended: &[(Arc<str>, u64)]) -> Result<()> {
        let settings = self.w.settings.clone();
        let mut conn = if self.w.loader.is_some() {
            // The group's stream ends: the driver's count, then the side table's cast.
            let (mut conn, result) = self.w.join()?;
            let checked = match result {
                Err(e) => Err(e),
                Ok(Some(n)) if n >= 0 && n as u64 != self.w.streamed => Err(Error::new(
                    ErrorKind::Integrity,
                    format!("the driver loaded {n} rows of {} sent", self.w.streamed),
                )),
                Ok(_) => self
                    .w
                    .plan
                    .after
                    .iter()
                    .try_for_each(|sql| execute(&settings, &mut conn, sql)),
            };
            if let Err(e) = checked {
                let _ = conn.rollback();
                self.w.idle = Some(conn);
                return Err(e.context(self.w.ctx.clone()));
            }
            conn
        } else {
            self.w
                .idle
                .take()
                .ok_or_else(|| Error::internal(format!("{}: no connection", self.w.ctx)))?
        };
        let recorded = ended.iter().try_for_each(|(chunk, rows)| {
            execute(
                &settings,
                &mut conn,
                &format!(
                    "INSERT INTO {} (chunk, fingerprint, row_count) VALUES ({}, {}, {rows})",
                    self.sink.quoted(&self.progress.table),
                    quote_literal(chunk),
                    quote_literal(&self.progress.fingerprint)
                ),
            )
        });
        let committed = recorded.and_then(|_| {
            conn.commit()
                .map_err(|e| settings.error("commit failed", e))
        });
        if committed.is_err() {
            let _ = conn.rollback();
        }
        self.w.idle = Some(conn);
        committed.map_err(|e| e.context(self.w.ctx.clone()))
    }
}

struct ChunkedWriter<'a> {
    sink: &'a AdbcSink,
    w: AdbcWriter,
    progress: Progress,
    target: String,
    mode: IfExists,
    /// The chunks an earlier run of this plan committed.
    resumed: Vec<(String, u64)>,
    groups: Groups,
    finished: bool,
    load: Option<LoadRecord>,
}

impl ChunkedWriter<'_> {
    fn group(&mut self) -> (&mut Groups, Group<'_>) {
        (
            &mut self.groups,
            Group {
                sink: self.sink,
                w: &mut self.w,
                progress: &self.progress,
            },
        )
    }
}

impl TableWriter for ChunkedWriter<'_> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.write_from(batch, &Origin::default())
    }

    fn write_from(&mut self, batch: &RecordBatch, origin: &Origin) -> Result<()> {
        let (groups, mut into) = self.group();
        groups.write(&mut into, batch, origin)
    }

    fn committed_chunks(&mut self) -> Result<Vec<(String, u64)>> {
        Ok(self.resumed.clone())
    }

    fn end_chunk(&mut self, chunk: &str, rows: u64) -> Result<()> {
        let ctx = self.w.ctx.clone();
        let (groups, mut into) = self.group();
        groups
            .end(&mut into, chunk, rows)
            .map_err(|e| e.context(ctx))
    }

    fn finish(mut self: Box<Self>) -> Result<WriteStats> {
        // Everything held goes into the last group, which commits: the staging table is whole.
        let ctx = self.w.ctx.clone();
        let (groups, mut into) = self.group();
        groups.finish(&mut into, &ctx)?;
        let mut conn = self
            .w
            .idle
            .take()
            .ok_or_else(|| Error::internal(format!("{ctx}: no connection")))?;
        let committed = self.progress.committed(self.sink, &mut conn)?;
        let rows: u64 = committed.iter().map(|(_, r)| r).sum();
        let load = self.load.take().map(|mut l| {
            l.rows = rows;
            l
        });
        self.sink
            .staged
            .lock()
            .map_err(|_| Error::internal("run state"))?
            .push(Staged {
                target: self.target.clone(),
                mode: self.mode,
                progress: self.progress.clone(),
                chunks: committed.len(),
                rows,
                load,
            });
        self.finished = true;
        Ok(WriteStats {
            rows: self.groups.rows,
            bytes: self.groups.bytes,
            files: Vec::new(),
            schema_seconds: 0.0,
            lossy: self.w.lossy.counts(),
        })
    }
}

impl Drop for ChunkedWriter<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Not finished (the run failed or was cancelled): the open group's stream fails and
        // rolls back; the staging table stays if it holds committed chunks, which `--resume`
        // continues from.
        if let Some(tx) = self.w.tx.take() {
            let _ = tx.send(Err(arrow::error::ArrowError::ExternalError(
                "the load was abandoned".into(),
            )));
            drop(tx);
            if let Ok((conn, _)) = self.w.join() {
                self.w.idle = Some(conn);
            }
        }
        let Some(conn) = self.w.idle.as_mut() else {
            return;
        };
        let _ = conn.rollback();
        match self.progress.committed(self.sink, conn) {
            Ok(c) if !c.is_empty() => {
                let rows = c.iter().map(|(_, r)| r).sum();
                let line = kept_line(
                    self.sink,
                    &self.target,
                    c.len(),
                    rows,
                    &self.progress.staging,
                );
                if let Ok(mut kept) = self.sink.kept.lock() {
                    kept.push(line);
                }
            }
            Ok(_) => {
                let settings = self.sink.settings();
                let dropped = self
                    .progress
                    .drop_sql(self.sink)
                    .iter()
                    .try_for_each(|sql| execute(settings, conn, sql))
                    .and_then(|_| {
                        conn.commit()
                            .map_err(|e| settings.error("commit failed", e))
                    });
                if let Err(e) = dropped {
                    tracing::warn!(
                        "cannot drop the staging table {}: {e}",
                        self.sink.quoted(&self.progress.staging)
                    );
                }
            }
            Err(_) => {}
        }
    }
}

/// Renames the staged tables into place, in `conn`'s transaction (not committed here): for
/// `replace` the target goes first, for `fail` it must still be missing.
pub(super) fn publish(
    sink: &AdbcSink,
    conn: &mut ManagedConnection,
    staged: &[Staged],
) -> Result<()> {
    let settings = sink.settings();
    let loads = sink.quoted(LOADS_TABLE);
    let mut created_loads = false;
    for s in staged {
        let ctx = format!("{settings}: table \"{}\"", s.target);
        let exists = sink.table_exists(conn, &s.target)?;
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
            (_, true) => sql.push(format!("DROP TABLE {}", sink.quoted(&s.target))),
            (_, false) => {}
        }
        sql.push(format!(
            "ALTER TABLE {} RENAME TO {}",
            sink.quoted(&s.progress.staging),
            quote_ident(&s.target)
        ));
        sql.push(format!("DROP TABLE {}", sink.quoted(&s.progress.table)));
        if let Some(load) = &s.load {
            if !created_loads {
                sql.push(LoadRecord::create_sql(&loads, "VARCHAR"));
                created_loads = true;
            }
            sql.extend(load.record_sql(&loads, quote_literal));
        }
        for q in &sql {
            execute(settings, conn, q).map_err(|e| e.context(ctx.clone()))?;
        }
    }
    Ok(())
}

/// What a failed run keeps for `--resume`: the loads that did not finish with chunks committed,
/// and the finished ones (a staged table without chunks is dropped).
pub(super) fn abandon(sink: &AdbcSink) -> Vec<String> {
    let mut kept = sink.kept.lock().map(|k| k.clone()).unwrap_or_default();
    let staged = sink
        .staged
        .lock()
        .map(|mut s| std::mem::take(&mut *s))
        .unwrap_or_default();
    let mut conn = None;
    for s in staged {
        if s.chunks > 0 {
            kept.push(kept_line(
                sink,
                &s.target,
                s.chunks,
                s.rows,
                &s.progress.staging,
            ));
        } else if let Some(c) = conn.get_or_insert_with(|| sink.db.connect().ok()) {
            for sql in s.progress.drop_sql(sink) {
                let _ = execute(sink.settings(), c, &sql);
            }
        }
    }
    if let Ok(mut k) = sink.kept.lock() {
        k.clone_from(&kept);
    }
    kept
}
