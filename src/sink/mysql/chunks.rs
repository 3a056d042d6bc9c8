//! Chunked loads into a staging table: each source partition (a chunk) is one InnoDB
//! transaction on one connection, `START TRANSACTION; LOAD DATA ... (a statement per batch);
//! INSERT INTO <staging>_p ...; COMMIT`, so after a crash a chunk's rows are in the staging
//! table exactly when its progress row is. `--resume` reads the progress rows and loads only
//! the chunks without one; the staging table is swapped in with the run's one `RENAME TABLE`,
//! and its progress table dropped after it.
//!
//! The staging table is named after the plan's fingerprint
//! ([`super::super::chunked_staging_name`]), so the next run of the same plan finds it; the
//! target's named lock (`GET_LOCK`) keeps two runs from loading it at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::bounded;
use mysql::prelude::Queryable;
use mysql::Conn;

use super::load_data::TextEncoder;
use super::Stream;
use crate::error::{Error, ErrorKind, Result};
use crate::mysql::{exec, my_error, quote_ident};
pub(super) use crate::sink::chunks::{ChunkMsg, ChunkWorker, Router};

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
    /// The progress of staging table `staging` in database `db`.
    pub fn new(db: &str, staging: String, fingerprint: String) -> Progress {
        let table = format!(
            "{}.{}",
            quote_ident(db),
            quote_ident(&format!("{staging}{}", super::super::PROGRESS_SUFFIX))
        );
        Progress {
            staging,
            table,
            fingerprint,
        }
    }

    /// `CREATE TABLE` of the progress table: InnoDB, so a progress row commits with its chunk.
    pub fn create_sql(&self) -> String {
        format!(
            "CREATE TABLE {} (chunk TEXT NOT NULL, fingerprint VARCHAR(64) NOT NULL, \
             row_count BIGINT NOT NULL, committed_at TIMESTAMP(6) NOT NULL DEFAULT \
             CURRENT_TIMESTAMP(6)) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4",
            self.table
        )
    }

    /// The chunks committed into the staging table: their names and rows.
    pub fn committed(&self, c: &mut Conn, what: &str) -> Result<Vec<(String, u64)>> {
        c.exec(
            format!(
                "SELECT chunk, row_count FROM {} WHERE fingerprint = ? ORDER BY chunk",
                self.table
            ),
            (&self.fingerprint,),
        )
        .map_err(|e| my_error(e, format!("{what}: progress of {}", self.staging)))
    }

    /// Drops the progress table (after the swap, or with its staging table).
    pub fn forget_sql(&self) -> String {
        format!("DROP TABLE IF EXISTS {}", self.table)
    }
}

/// Whether `db`.`name` exists and is an InnoDB table: only there does a chunk's `LOAD DATA`
/// commit, or roll back, with its progress row.
pub(super) fn transactional(c: &mut Conn, db: &str, name: &str, what: &str) -> Result<bool> {
    let engine: Option<Option<String>> = c
        .exec_first(
            "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (db, name),
        )
        .map_err(|e| my_error(e, format!("{what}: staging table engine")))?;
    Ok(engine
        .flatten()
        .is_some_and(|e| e.eq_ignore_ascii_case("InnoDB")))
}

/// Starts connection `k` of a chunked load: for each chunk it is handed, `START TRANSACTION`,
/// a checked `LOAD DATA` (`sql`) per batch, the progress row, `COMMIT`. A chunk without rows
/// gets its progress row alone.
pub(super) fn spawn_chunk_worker(
    k: usize,
    mut conn: Conn,
    sql: String,
    progress: Progress,
    encoder: Arc<TextEncoder>,
    abort: Arc<AtomicBool>,
    what: String,
) -> Result<ChunkWorker<Conn>> {
    let (tx, rx) = bounded::<ChunkMsg>(2);
    let handle = std::thread::Builder::new()
        .name(format!("ferry-mysql-chunk-{k}"))
        .spawn(move || -> super::WorkerResult {
            let stream = Stream::serve(&mut conn);
            let record = format!(
                "INSERT INTO {} (chunk, fingerprint, row_count) VALUES (?, ?, ?)",
                progress.table
            );
            let aborted = || Error::new(ErrorKind::Cancelled, format!("{what}: load aborted"));
            let (mut rows, mut bytes) = (0u64, 0u64);
            let mut open = false;
            let (mut loaded, mut batches) = (0u64, 0usize);
            while let Ok(msg) = rx.recv() {
                if abort.load(Ordering::Relaxed) {
                    return Err(aborted());
                }
                match msg {
                    ChunkMsg::Batch(_, batch, origin) => {
                        if !open {
                            exec(&mut conn, "START TRANSACTION", || format!("{what}: begin"))?;
                            open = true;
                        }
                        batches += 1;
                        let at = format!(
                            "{what}: chunk {}, batch {batches} (from {})",
                            origin.partition,
                            origin.row(0)
                        );
                        bytes += stream.load(&mut conn, &sql, &encoder, &batch, &origin, &at)?;
                        loaded += batch.num_rows() as u64;
                    }
                    ChunkMsg::End(chunk, sent) => {
                        let at = format!("{what}: chunk {chunk}");
                        if loaded != sent {
                            return Err(Error::new(
                                ErrorKind::Integrity,
                                format!(
                                    "{at}: the server took {loaded} rows, ferry sent {sent}; \
                                     the chunk was not committed"
                                ),
                            ));
                        }
                        if !open {
                            // No rows: the progress row alone, in its own transaction.
                            exec(&mut conn, "START TRANSACTION", || format!("{at}: begin"))?;
                        }
                        conn.exec_drop(
                            record.as_str(),
                            (chunk.as_ref(), &progress.fingerprint, sent),
                        )
                        .map_err(|e| my_error(e, format!("{at}: progress")))?;
                        exec(&mut conn, "COMMIT", || format!("{at}: commit"))?;
                        rows += loaded;
                        (open, loaded, batches) = (false, 0, 0);
                    }
                }
            }
            if abort.load(Ordering::Relaxed) || open {
                // A chunk left open rolls back as the connection closes.
                return Err(aborted());
            }
            Ok((conn, rows, bytes))
        })
        .map_err(|e| Error::io("cannot start a LOAD DATA thread", e))?;
    Ok(ChunkWorker {
        tx: Some(tx),
        handle: Some(handle),
    })
}
