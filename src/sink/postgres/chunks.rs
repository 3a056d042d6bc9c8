//! Chunked loads into a staging table: each source partition (a chunk) is one transaction on
//! one connection, `BEGIN; COPY ...; INSERT INTO <staging>_p ...; COMMIT`, so after a crash
//! a chunk's rows are in the staging table exactly when its progress row is. `--resume` reads
//! the progress rows and loads only the chunks without one; the staging table is swapped in,
//! and its progress table dropped, in the run's one publishing transaction.
//!
//! The staging table is named after the plan's fingerprint ([`super::super::chunked_staging_name`]),
//! so the next run of the same plan finds it; the target's advisory lock keeps two runs from
//! loading it at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use crossbeam_channel::{bounded, Receiver};
use postgres::Client;

use super::copy_binary::BatchEncoder;
use super::CopyStream;
use crate::error::{Error, ErrorKind, Result};
use crate::pg::pg_error;
pub(super) use crate::sink::chunks::{ChunkMsg, ChunkWorker, Router};
use crate::source::Origin;
use crate::types::quote_ident;

/// The progress row that marks a staging table as built (its text columns converted, its
/// primary key made): no partition has an empty label.
pub(super) const BUILT: &str = "";

/// A chunked load's progress table (`<staging>_p`, beside its staging table) and its plan.
#[derive(Debug, Clone)]
pub(super) struct Progress {
    /// The staging table's own name (unquoted).
    pub staging: String,
    /// The progress table, quoted and qualified.
    pub table: String,
    pub fingerprint: String,
}

impl Progress {
    /// The progress of staging table `staging` in `schema` (quoted).
    pub fn new(schema: &str, staging: String, fingerprint: String) -> Progress {
        let table = format!(
            "{schema}.{}",
            quote_ident(&format!("{staging}{}", super::super::PROGRESS_SUFFIX))
        );
        Progress {
            staging,
            table,
            fingerprint,
        }
    }

    /// `CREATE TABLE` of the progress table.
    pub fn create_sql(&self) -> String {
        format!(
            "CREATE TABLE {} (chunk text NOT NULL, fingerprint text NOT NULL, \
             row_count bigint NOT NULL, committed_at timestamptz NOT NULL DEFAULT now())",
            self.table
        )
    }

    /// The chunks committed into the staging table, and whether it is built.
    pub fn committed(&self, c: &mut Client, what: &str) -> Result<(Vec<(String, u64)>, bool)> {
        let rows = c
            .query(
                &format!(
                    "SELECT chunk, row_count FROM {} WHERE fingerprint = $1 ORDER BY chunk",
                    self.table
                ),
                &[&self.fingerprint],
            )
            .map_err(|e| pg_error(e, format!("{what}: progress of {}", self.staging)))?;
        let mut built = false;
        let mut chunks = Vec::new();
        for r in rows {
            let chunk: String = r.get(0);
            let n: i64 = r.get(1);
            if chunk == BUILT {
                built = true;
            } else {
                chunks.push((chunk, n as u64));
            }
        }
        Ok((chunks, built))
    }

    /// Records a chunk (`$1`) of `$2` rows as committed, in the connection's transaction.
    pub fn record_sql(&self) -> String {
        format!(
            "INSERT INTO {} (chunk, fingerprint, row_count) VALUES ($1, {}, $2)",
            self.table,
            crate::types::quote_literal(&self.fingerprint)
        )
    }

    /// Drops the progress table (with the swap, or with its staging table).
    pub fn forget_sql(&self) -> String {
        format!("DROP TABLE IF EXISTS {}", self.table)
    }
}

/// Starts connection `k` of a chunked load: for each chunk it is handed, `BEGIN`, one COPY of
/// the chunk's batches, its progress row, `COMMIT`. A chunk without rows gets its progress row
/// alone.
pub(super) fn spawn_chunk_worker(
    k: usize,
    mut client: Client,
    copy: String,
    progress: Progress,
    encoder: Arc<BatchEncoder>,
    abort: Arc<AtomicBool>,
    what: String,
) -> Result<ChunkWorker<Client>> {
    let (tx, rx) = bounded::<ChunkMsg>(2);
    let handle = std::thread::Builder::new()
        .name(format!("ferry-pg-chunk-{k}"))
        .spawn(move || -> super::WorkerResult {
            let (mut rows, mut bytes) = (0u64, 0u64);
            let record = progress.record_sql();
            while let Ok(msg) = rx.recv() {
                if abort.load(Ordering::Relaxed) {
                    break;
                }
                let (chunk, sent, confirmed, began) = match msg {
                    ChunkMsg::End(chunk, sent) => {
                        // No rows: the progress row alone, in its own transaction.
                        (chunk, sent, 0, false)
                    }
                    ChunkMsg::Batch(idx, batch, origin) => {
                        client
                            .batch_execute("BEGIN")
                            .map_err(|e| pg_error(e, what.clone()))?;
                        let (chunk, sent, confirmed, b) = copy_chunk(
                            &mut client,
                            &copy,
                            &rx,
                            &encoder,
                            &abort,
                            &what,
                            (idx, batch, origin),
                        )?;
                        bytes += b;
                        (chunk, sent, confirmed, true)
                    }
                };
                let at = format!("{what}: chunk {chunk}");
                if confirmed != sent {
                    return Err(Error::new(
                        ErrorKind::Integrity,
                        format!(
                            "{at}: the server confirmed {confirmed} rows, ferry sent {sent}; the \
                             chunk was not committed"
                        ),
                    ));
                }
                client
                    .execute(record.as_str(), &[&chunk.as_ref(), &(sent as i64)])
                    .map_err(|e| pg_error(e, format!("{at}: progress")))?;
                if began {
                    client
                        .batch_execute("COMMIT")
                        .map_err(|e| pg_error(e, format!("{at}: commit")))?;
                }
                rows += confirmed;
            }
            if abort.load(Ordering::Relaxed) {
                return Err(Error::new(
                    ErrorKind::Cancelled,
                    format!("{what}: load aborted"),
                ));
            }
            Ok((client, rows, bytes))
        })
        .map_err(|e| Error::io("cannot start a COPY thread", e))?;
    Ok(ChunkWorker {
        tx: Some(tx),
        handle: Some(handle),
    })
}

/// One chunk's COPY, from its first batch to its end: (chunk, rows sent, rows the server
/// confirmed, bytes).
fn copy_chunk(
    client: &mut Client,
    copy: &str,
    rx: &Receiver<ChunkMsg>,
    encoder: &BatchEncoder,
    abort: &AtomicBool,
    what: &str,
    first: (usize, RecordBatch, Origin),
) -> Result<(Arc<str>, u64, u64, u64)> {
    let mut w = client
        .copy_in(copy)
        .map_err(|e| pg_error(e, what.to_string()))?;
    let mut stream = CopyStream::start(&mut w);
    let mut next = Some(ChunkMsg::Batch(first.0, first.1, first.2));
    let end = loop {
        let msg = match next.take() {
            Some(m) => m,
            None => match rx.recv() {
                Ok(m) => m,
                // The writer went away mid-chunk: the COPY is aborted with the transaction.
                Err(_) => {
                    return Err(Error::new(
                        ErrorKind::Cancelled,
                        format!("{what}: load aborted"),
                    ))
                }
            },
        };
        if abort.load(Ordering::Relaxed) {
            return Err(Error::new(
                ErrorKind::Cancelled,
                format!("{what}: load aborted"),
            ));
        }
        match msg {
            ChunkMsg::End(chunk, sent) => break (chunk, sent),
            // After a failed write, the rest of the chunk is only waited out: the server's
            // reason comes with the close.
            ChunkMsg::Batch(idx, batch, origin) if stream.failed.is_none() => {
                stream.push(&mut w, encoder, idx, &batch, origin, what)?;
            }
            ChunkMsg::Batch(..) => {}
        }
    };
    let bytes = stream.bytes;
    let confirmed = stream.close(w, what)?;
    Ok((end.0, end.1, confirmed, bytes))
}

/// The staging table `name` (unquoted) in `schema` (quoted) exists.
pub(super) fn staging_exists(c: &mut Client, schema: &str, name: &str, what: &str) -> Result<bool> {
    let q = format!("{schema}.{}", quote_ident(name));
    let row = c
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&q])
        .map_err(|e| pg_error(e, what.to_string()))?;
    Ok(row.get(0))
}
