//! What the database sinks' chunked loads share: a chunk (a source partition) is loaded and
//! committed with its progress row on one connection, and [`Router`] hands each chunk's batches
//! to the connection loading it. The sinks' own modules (`postgres/chunks.rs`,
//! `mysql/chunks.rs`) hold the statements.

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::JoinHandle;

use arrow::record_batch::RecordBatch;
use crossbeam_channel::Sender;

use crate::error::{Error, Result};
use crate::source::Origin;

/// What a chunk's connection is handed.
pub(crate) enum ChunkMsg {
    Batch(usize, RecordBatch, Origin),
    /// The chunk's end and the rows the pipeline sent for it.
    End(Arc<str>, u64),
}

/// What a loading connection ends with: the connection, the rows it loaded and their bytes.
pub(crate) type WorkerResult<C> = Result<(C, u64, u64)>;

/// One loading connection of a chunked load.
pub(crate) struct ChunkWorker<C> {
    pub tx: Option<Sender<ChunkMsg>>,
    pub handle: Option<JoinHandle<WorkerResult<C>>>,
}

/// Routes each chunk's batches to one connection: a chunk takes a free connection at its first
/// batch (a new one when none is free: no more than the partitions read at once) and gives it
/// back at its end.
pub(crate) struct Router<C> {
    pub workers: Vec<ChunkWorker<C>>,
    busy: HashMap<Arc<str>, usize>,
    free: Vec<usize>,
}

impl<C> Router<C> {
    pub fn new() -> Router<C> {
        Router {
            workers: Vec::new(),
            busy: HashMap::new(),
            free: Vec::new(),
        }
    }

    /// The connection loading `chunk`, taking one (`spawn` starts a new one) if it has none.
    pub fn route(
        &mut self,
        chunk: &Arc<str>,
        spawn: impl FnOnce(usize) -> Result<ChunkWorker<C>>,
    ) -> Result<usize> {
        if let Some(&i) = self.busy.get(chunk) {
            return Ok(i);
        }
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                let k = self.workers.len();
                self.workers.push(spawn(k)?);
                k
            }
        };
        self.busy.insert(chunk.clone(), i);
        Ok(i)
    }

    /// Hands `msg` to connection `i`; false if it has stopped.
    pub fn send(&self, i: usize, msg: ChunkMsg) -> bool {
        self.workers[i]
            .tx
            .as_ref()
            .is_some_and(|tx| tx.send(msg).is_ok())
    }

    /// `chunk` has ended: its connection is free for the next.
    pub fn release(&mut self, chunk: &str) {
        if let Some(i) = self.busy.remove(chunk) {
            self.free.push(i);
        }
    }

    /// The first failure of a connection that stopped early.
    pub fn failure(&mut self) -> Option<Error> {
        for w in &mut self.workers {
            if w.handle.as_ref().is_some_and(|h| h.is_finished()) {
                match w.handle.take().map(|h| h.join()) {
                    Some(Ok(Err(e))) => return Some(e),
                    Some(Err(_)) => return Some(thread_failed()),
                    _ => {}
                }
            }
        }
        None
    }

    /// Closes every connection's channel and waits for them: the rows they loaded.
    pub fn join(&mut self) -> Result<u64> {
        for w in &mut self.workers {
            w.tx = None;
        }
        let mut rows = 0;
        let mut first = None;
        for w in &mut self.workers {
            match w.handle.take().map(|h| h.join()) {
                Some(Ok(Ok((_, r, _)))) => rows += r,
                Some(Ok(Err(e))) => {
                    first.get_or_insert(e);
                }
                Some(Err(_)) => {
                    first.get_or_insert(thread_failed());
                }
                None => {}
            }
        }
        match first {
            Some(e) => Err(e),
            None => Ok(rows),
        }
    }
}

fn thread_failed() -> Error {
    Error::internal("a loading thread failed unexpectedly")
}
