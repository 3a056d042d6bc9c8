//! What the database sinks' chunked loads share: a chunk (a source partition) is loaded and
//! committed with its progress row on one connection, and [`Router`] hands each chunk's batches
//! to the connection loading it; a sink with one writing connection (SQLite, DuckDB) commits
//! chunks in groups instead ([`Groups`]). The sinks' own modules (`postgres/chunks.rs`,
//! `mysql/chunks.rs`, `sqlite/chunks.rs`, `adbc.rs`) hold the statements.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use crossbeam_channel::Sender;

use crate::error::{Error, ErrorKind, Result};
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

/// The staging tables among `names` (every table of one target's staging prefix) that a run
/// drops, or refuses to resume past: each with its progress table, if there is one. `own`, the
/// staging table a resumed plan continues, is left out with its progress table; a progress
/// table goes with its staging table, or stands alone when that is gone.
pub(crate) fn leftovers(names: &[String], own: Option<&str>) -> Vec<(String, Option<String>)> {
    let progress_of = |t: &str| format!("{t}{}", super::PROGRESS_SUFFIX);
    names
        .iter()
        .filter(|t| !own.is_some_and(|o| o == t.as_str() || progress_of(o) == **t))
        .filter(|t| {
            !(t.ends_with(super::PROGRESS_SUFFIX) && names.iter().any(|s| progress_of(s) == **t))
        })
        .map(|t| {
            let p = progress_of(t);
            (t.clone(), names.contains(&p).then_some(p))
        })
        .collect()
}

/// The refusal of a `--resume` whose target holds `chunks` chunks of another plan, in
/// `staging` (shown as the target names it).
pub(crate) fn other_plan(chunks: u64, staging: &str) -> Error {
    Error::invalid_args(format!(
        "cannot resume: the {chunks} chunk(s) an earlier run committed (in {staging}) are of \
         another plan: the source's schema or size, the steps or the options changed since; \
         run without --resume to load the table again from the start"
    ))
}

/// A connection whose transaction takes a commit group: the rows of some chunks, then their
/// progress rows and the commit.
pub(crate) trait GroupTarget {
    /// Writes a batch into the open transaction (the first of a group begins it).
    fn write(&mut self, batch: &RecordBatch, origin: &Origin) -> Result<()>;
    /// Records `ended` as committed (their progress rows) and commits the group: every row
    /// written since the last commit, and only the rows of `ended`.
    fn commit(&mut self, ended: &[(Arc<str>, u64)]) -> Result<()>;
}

/// A group's transaction is due once this much was written into it, by default...
pub(crate) const COMMIT_BYTES: u64 = 32 << 20;

/// The commit size an endpoint's `?commit_mib=` asks for, or [`COMMIT_BYTES`].
pub(crate) fn commit_bytes(endpoint: &crate::endpoint::Endpoint) -> Result<u64> {
    match endpoint.option("commit_mib") {
        None => Ok(COMMIT_BYTES),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=1 << 20).contains(n))
            .map(|n| n << 20)
            .ok_or_else(|| {
                Error::invalid_args(format!(
                    "{endpoint}: commit_mib={v} is not a number of MiB from 1 to 1048576"
                ))
            }),
    }
}
/// ...or once it has been open this long.
const GROUP_SECONDS: Duration = Duration::from_secs(5);

/// Chunks committed in groups on one connection. The partitions read at once interleave their
/// batches on it, and a transaction may commit only when every chunk with rows in it has
/// ended: batches go straight into the open transaction until it is due (`commit_bytes`
/// written or `GROUP_SECONDS` passed); then the chunks already in it are let finish while the
/// batches of chunks not in it yet are held in memory (at most twice `commit_bytes`; past that
/// they join the transaction, which then waits for them too); when the last chunk in it ends,
/// the group commits with its progress rows and the held batches go into the next. A
/// transaction's rows are in the target exactly when their chunks' progress rows are.
pub(crate) struct Groups {
    commit_bytes: u64,
    group: Group,
    held: VecDeque<Held>,
    held_bytes: u64,
    held_chunks: HashSet<Arc<str>>,
    /// Rows and bytes written.
    pub rows: u64,
    pub bytes: u64,
    /// Groups committed.
    pub commits: u64,
}

/// The open transaction's chunks.
#[derive(Default)]
struct Group {
    /// Something was written or ended since the last commit.
    open: bool,
    started: Option<Instant>,
    bytes: u64,
    /// Chunks with rows in the transaction that have not ended: their rows so far.
    loading: HashMap<Arc<str>, u64>,
    /// Chunks ended in the transaction, recorded as committed when it commits.
    ended: Vec<(Arc<str>, u64)>,
    /// Due: no chunk joins it any more.
    draining: bool,
}

/// A batch or a chunk's end held back while a due group waits for its chunks.
enum Held {
    Batch(RecordBatch, Origin),
    End(Arc<str>, u64),
}

impl Groups {
    pub fn new(commit_bytes: u64) -> Groups {
        Groups {
            commit_bytes,
            group: Group::default(),
            held: VecDeque::new(),
            held_bytes: 0,
            held_chunks: HashSet::new(),
            rows: 0,
            bytes: 0,
            commits: 0,
        }
    }

    /// Takes a batch of the chunk `origin.partition`.
    pub fn write(
        &mut self,
        t: &mut dyn GroupTarget,
        batch: &RecordBatch,
        origin: &Origin,
    ) -> Result<()> {
        self.pump(t, Held::Batch(batch.clone(), origin.clone()))
    }

    /// Takes the end of `chunk`, of `rows` rows.
    pub fn end(&mut self, t: &mut dyn GroupTarget, chunk: &str, rows: u64) -> Result<()> {
        self.pump(t, Held::End(Arc::from(chunk), rows))
    }

    /// Writes everything held and commits the last group: every chunk is committed. `what`
    /// names the table in an error.
    pub fn finish(&mut self, t: &mut dyn GroupTarget, what: &str) -> Result<()> {
        self.admit_held(t)?;
        if let Some((chunk, _)) = self.group.loading.iter().next() {
            return Err(Error::internal(format!(
                "{what}: chunk {chunk} did not end"
            )));
        }
        self.commit(t)
    }

    fn due(&self) -> bool {
        self.group.bytes >= self.commit_bytes
            || self
                .group
                .started
                .is_some_and(|t| t.elapsed() >= GROUP_SECONDS)
    }

    fn opened(&mut self) {
        if !self.group.open {
            self.group.open = true;
            self.group.started = Some(Instant::now());
        }
    }

    fn insert(
        &mut self,
        t: &mut dyn GroupTarget,
        batch: &RecordBatch,
        origin: &Origin,
    ) -> Result<()> {
        self.opened();
        t.write(batch, origin)?;
        let n = batch.num_rows() as u64;
        *self
            .group
            .loading
            .entry(origin.partition.clone())
            .or_default() += n;
        let size = crate::pipeline::data_bytes(batch) as u64;
        self.group.bytes += size;
        self.rows += n;
        self.bytes += size;
        if self.due() {
            self.group.draining = true;
        }
        Ok(())
    }

    /// A chunk's end in the open group (a chunk without rows ends in any), checked against the
    /// rows written for it.
    fn ended(&mut self, chunk: Arc<str>, sent: u64) -> Result<()> {
        let written = self.group.loading.remove(&chunk).unwrap_or(0);
        if written != sent {
            return Err(Error::new(
                ErrorKind::Integrity,
                format!(
                    "chunk {chunk}: {written} rows were written, the source sent {sent}; the \
                     chunk was not committed"
                ),
            ));
        }
        self.opened();
        self.group.ended.push((chunk, sent));
        if self.due() {
            self.group.draining = true;
        }
        Ok(())
    }

    fn commit(&mut self, t: &mut dyn GroupTarget) -> Result<()> {
        if self.group.open {
            t.commit(&self.group.ended)?;
            self.commits += 1;
        }
        self.group = Group::default();
        Ok(())
    }

    /// Takes an entry, and whatever was held back once a group commits.
    fn pump(&mut self, t: &mut dyn GroupTarget, first: Held) -> Result<()> {
        let mut queue = VecDeque::from([first]);
        while let Some(h) = queue.pop_front() {
            if self.step(t, h)? {
                // A group committed: what was held back goes first, in the order it came.
                let mut held = std::mem::take(&mut self.held);
                self.held_chunks.clear();
                self.held_bytes = 0;
                held.append(&mut queue);
                queue = held;
            }
        }
        Ok(())
    }

    /// Writes, ends or holds back one entry; true when a group committed.
    fn step(&mut self, t: &mut dyn GroupTarget, h: Held) -> Result<bool> {
        let held_back = match &h {
            Held::Batch(_, o) => {
                self.held_chunks.contains(&o.partition)
                    || (self.group.draining && !self.group.loading.contains_key(&o.partition))
            }
            Held::End(c, _) => self.held_chunks.contains(c),
        };
        if held_back {
            if let Held::Batch(b, o) = &h {
                self.held_bytes += crate::pipeline::data_bytes(b) as u64;
                self.held_chunks.insert(o.partition.clone());
            }
            self.held.push_back(h);
            if self.held_bytes > 2 * self.commit_bytes {
                // Too much held back: the held chunks join the open transaction, which then
                // waits for them to end too.
                self.admit_held(t)?;
            }
        } else {
            match h {
                Held::Batch(b, o) => self.insert(t, &b, &o)?,
                Held::End(c, n) => self.ended(c, n)?,
            }
        }
        if self.group.draining && self.group.loading.is_empty() && self.group.open {
            self.commit(t)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Writes everything held back into the open transaction.
    fn admit_held(&mut self, t: &mut dyn GroupTarget) -> Result<()> {
        let held = std::mem::take(&mut self.held);
        self.held_chunks.clear();
        self.held_bytes = 0;
        for h in held {
            match h {
                Held::Batch(b, o) => self.insert(t, &b, &o)?,
                Held::End(c, n) => self.ended(c, n)?,
            }
        }
        Ok(())
    }
}

fn thread_failed() -> Error {
    Error::internal("a loading thread failed unexpectedly")
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};

    /// A transaction log: what is written since the last commit, and what each commit held.
    #[derive(Default)]
    struct Log {
        open: Vec<(Arc<str>, i64)>,
        committed: Vec<(Arc<str>, i64)>,
        chunks: Vec<(Arc<str>, u64)>,
    }

    impl GroupTarget for Log {
        fn write(&mut self, batch: &RecordBatch, origin: &Origin) -> Result<()> {
            let v = batch
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            self.open
                .extend((0..v.len()).map(|i| (origin.partition.clone(), v.value(i))));
            Ok(())
        }

        fn commit(&mut self, ended: &[(Arc<str>, u64)]) -> Result<()> {
            // Only the rows of the chunks that end with this commit are in it.
            for (chunk, _) in &self.open {
                assert!(
                    ended.iter().any(|(c, _)| c == chunk),
                    "a row of {chunk} commits before its chunk ends"
                );
            }
            self.committed.append(&mut self.open);
            self.chunks.extend_from_slice(ended);
            Ok(())
        }
    }

    fn batch(values: std::ops::Range<i64>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(values))]).unwrap()
    }

    /// Four chunks of 10 batches, read two at a time with their batches interleaved, and an
    /// empty one: with commits due after every ~3 batches, every chunk commits once, with all
    /// its rows in order, and no commit holds a row of a chunk still loading.
    #[test]
    fn interleaved_chunks_commit_only_whole_in_groups() {
        for commit_bytes in [1, 8 * 100, 24 * 100, 1 << 30] {
            let mut log = Log::default();
            let mut groups = Groups::new(commit_bytes);
            let origin = |c: &str| Origin {
                partition: Arc::from(c),
                ..Default::default()
            };
            for pair in [["a", "b"], ["c", "d"]] {
                for i in 0..10 {
                    for (k, c) in pair.iter().enumerate() {
                        // `b` and `d` start later and end later than their partners.
                        let j = i as i64 - k as i64;
                        if (0..10).contains(&j) {
                            let base = (c.as_bytes()[0] as i64) * 1000 + j * 10;
                            groups
                                .write(&mut log, &batch(base..base + 10), &origin(c))
                                .unwrap();
                        }
                    }
                    if i == 9 {
                        groups.end(&mut log, pair[0], 100).unwrap();
                    }
                }
                let last = pair[1];
                let base = (last.as_bytes()[0] as i64) * 1000 + 90;
                groups
                    .write(&mut log, &batch(base..base + 10), &origin(last))
                    .unwrap();
                groups.end(&mut log, last, 100).unwrap();
            }
            groups.end(&mut log, "empty", 0).unwrap();
            groups.finish(&mut log, "t").unwrap();
            assert!(log.open.is_empty());
            let mut chunks: Vec<&str> = log.chunks.iter().map(|(c, _)| c.as_ref()).collect();
            chunks.sort();
            assert_eq!(chunks, ["a", "b", "c", "d", "empty"], "{commit_bytes}");
            for c in ["a", "b", "c", "d"] {
                let rows: Vec<i64> = log
                    .committed
                    .iter()
                    .filter(|(k, _)| k.as_ref() == c)
                    .map(|(_, v)| *v)
                    .collect();
                let base = (c.as_bytes()[0] as i64) * 1000;
                assert_eq!(rows, (base..base + 100).collect::<Vec<_>>(), "{c}");
            }
            assert_eq!(groups.rows, 400);
            if commit_bytes == 1 << 30 {
                assert_eq!(groups.commits, 1, "one group when nothing comes due");
            } else {
                assert!(groups.commits > 1, "{commit_bytes}: {}", groups.commits);
            }
        }
    }

    #[test]
    fn leftovers_skip_the_resumed_plan_and_take_progress_tables_with_their_staging() {
        let names: Vec<String> = ["_s_a", "_s_a_p", "_s_b", "_s_b_p", "_s_c", "_s_d_p"]
            .map(String::from)
            .into();
        let got = leftovers(&names, Some("_s_b"));
        let p = |s: &str| Some(s.to_string());
        assert_eq!(
            got,
            [
                ("_s_a".to_string(), p("_s_a_p")),
                ("_s_c".to_string(), None),
                ("_s_d_p".to_string(), None),
            ]
        );
        assert_eq!(leftovers(&names, None).len(), 4);
    }

    /// A chunk whose rows written differ from the rows its end says is refused.
    #[test]
    fn a_chunk_short_of_its_rows_is_not_committed() {
        let mut log = Log::default();
        let mut groups = Groups::new(1 << 30);
        let o = Origin {
            partition: Arc::from("a"),
            ..Default::default()
        };
        groups.write(&mut log, &batch(0..10), &o).unwrap();
        let e = groups.end(&mut log, "a", 11).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity);
        assert!(log.chunks.is_empty());
    }
}
