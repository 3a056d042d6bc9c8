//! The pipeline: runs a [`CopyPlan`] table by table. Partitions are read (and transformed) in
//! parallel on a local rayon pool and sent through a bounded channel to the table's writer, so a
//! slow sink slows the readers (backpressure) and memory stays flat whatever the table's size.
//! A failure anywhere stops the readers, drops the writer unfinished (the target stays as it was)
//! and returns one error naming the table and partition.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use crossbeam_channel::bounded;
use rayon::prelude::*;

use crate::error::{Error, ErrorKind, Result};
use crate::progress::Progress;
use crate::report::{peak_rss_bytes, RunReport, TableReport};
use crate::sink::{IfExists, Resume, Sink, TargetKeys};
use crate::source::{
    BatchLimits, NotCopied, Origin, Partition, Source, TableKeys, TablePlan, TableRef,
};
use crate::transform::{Chain, StepContext, StepSpec};

/// What readers hand the writer: a batch, or the end of a partition (a chunk) and its rows.
enum Piece {
    Batch(RecordBatch, Origin),
    End(Arc<str>, u64),
}

/// The digest of everything that decides a table's rows in the target: the source and its
/// table, the target table, the mode, the schema written (types and metadata, in a stable
/// order), the steps, the source filter and every partition. A resumed run of another plan
/// (a changed source schema or size, other steps, other options) is refused by it.
fn fingerprint(plan: &CopyPlan, job: &TableJob) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut put = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    put(&plan.source_name);
    put(&plan.target_name);
    put(&format!("{:?}", job.source));
    put(&job.target);
    put(&format!("{:?}", plan.options.if_exists));
    let sorted = |m: &std::collections::HashMap<String, String>| {
        let mut v: Vec<_> = m.iter().collect();
        v.sort();
        format!("{v:?}")
    };
    put(&sorted(job.output_schema.metadata()));
    for f in job.output_schema.fields() {
        put(f.name());
        put(&format!("{:?} {}", f.data_type(), f.is_nullable()));
        put(&sorted(f.metadata()));
    }
    for step in job.transforms.describe() {
        put(step);
    }
    put(job.plan.filter.as_deref().unwrap_or(""));
    for p in &job.plan.partitions {
        put(&p.label);
        put(&format!("{:?}", p.spec));
    }
    hex::encode(h.finalize())
}

/// One table to copy: what to read, where to write it, and the plans of both ends.
pub struct TableJob {
    pub source: TableRef,
    pub target: String,
    pub plan: TablePlan,
    /// The steps applied to the table's batches (filters pushed into the source left out).
    pub transforms: Chain,
    /// The schema after the transforms: what the target is created from.
    pub output_schema: SchemaRef,
    /// The target definition the sink would create.
    pub target_ddl: String,
    /// The keys to build (`--with-keys`).
    pub keys: Option<TableKeys>,
}

/// A validated copy: everything is planned, nothing has moved yet.
pub struct CopyPlan {
    pub source_name: String,
    pub target_name: String,
    pub source: Box<dyn Source>,
    pub sink: Box<dyn Sink>,
    pub tables: Vec<TableJob>,
    pub options: CopyOptions,
    /// Relations of the source a run of all its tables leaves out (views, materialized views,
    /// foreign tables: [`Source::not_copied`]), named in `--dry-run`, the summary and the report.
    pub not_copied: Vec<NotCopied>,
}

/// One table to plan: what to read, the target table, and the steps on the way.
#[derive(Debug, Clone)]
pub struct TableSpec {
    pub source: TableRef,
    /// The target table, one identifier (the target's schema or database comes from its URL);
    /// `None`: the source table's own name, without its schema.
    pub target: Option<String>,
    pub steps: Vec<StepSpec>,
}

/// How a copy runs.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub if_exists: IfExists,
    /// Reader (and transform) threads.
    pub jobs: usize,
    pub limits: BatchLimits,
    /// Build the source's primary and foreign keys in the target (`--with-keys`).
    pub with_keys: bool,
    /// Add a database source's foreign keys to the tables the run creates (the default;
    /// `--no-foreign-keys` leaves them out).
    pub foreign_keys: bool,
    /// Build the source's secondary indexes in a new target table (the default;
    /// `--no-indexes` leaves them out).
    pub indexes: bool,
    /// Where the schema objects the run leaves out are noted (the sink's log too).
    pub left_out: crate::report::LeftOutLog,
    /// Continue an interrupted run of the same plan from the chunks it committed (`--resume`,
    /// or a retry after a lost connection).
    pub resume: Resume,
    /// Commit each partition as a chunk with a progress row where the sink can (the default),
    /// so a failed run can be resumed; `--no-chunks` loads each table in one piece.
    pub chunks: bool,
}

impl CopyOptions {
    /// Batches that may wait between readers and the writer, per reader thread.
    pub const BATCHES_IN_FLIGHT_PER_JOB: usize = 2;
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            if_exists: IfExists::Fail,
            jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            limits: BatchLimits::default(),
            with_keys: false,
            foreign_keys: true,
            indexes: true,
            left_out: Default::default(),
            resume: Resume::No,
            chunks: true,
        }
    }
}

impl CopyPlan {
    /// Plans every table: schemas, partitions, transforms and target DDL. Fails before anything
    /// moves on a missing table, an unsupported type, a step that does not fit the table's
    /// columns, or (with `fail`) an existing target. `context` carries the run's load time and
    /// mask keys; each table gets its own name and lossy counter in it. Filters the source can
    /// evaluate are handed to it in its plan (`TablePlan::filter`).
    pub fn build(
        source_name: String,
        target_name: String,
        source: Box<dyn Source>,
        sink: Box<dyn Sink>,
        tables: Vec<TableSpec>,
        context: StepContext,
        options: CopyOptions,
    ) -> Result<Self> {
        let mut jobs = Vec::new();
        for TableSpec {
            source: table,
            target,
            steps,
        } in tables
        {
            let mut plan = source.plan(&table)?;
            let target = target.unwrap_or_else(|| plan.name.clone());
            if let Some(other) = jobs.iter().find(|j: &&TableJob| j.target == target) {
                return Err(Error::invalid_args(format!(
                    "{target_name}: {} and {table} would both be written to table \"{target}\"; \
                     name their targets in a --job file",
                    other.source
                )));
            }
            let at = || format!("{source_name}: {table}");
            let ctx = StepContext {
                table: plan.name.clone(),
                lossy: plan.lossy.clone(),
                ..context.clone()
            };
            let chain = Chain::bind(&steps, &ctx).map_err(|e| e.context(at()))?;
            // Checked on the whole chain first, so an error names the step as written.
            chain
                .output_schema(&plan.schema)
                .map_err(|e| e.context(at()))?;
            let (transforms, pushed) = chain
                .push_filters(&plan.schema, source.filter_dialect())
                .map_err(|e| e.context(at()))?;
            if !pushed.is_empty() {
                plan.filter = Some(pushed.join(" AND "));
            }
            let mut output_schema = transforms
                .output_schema(&plan.schema)
                .map_err(|e| e.context(at()))?;
            // `--with-keys` (TPC-H's keys, or a snapshot's recorded ones) builds the source's
            // keys whatever the mode; a database source's declared foreign keys come with every
            // table the run creates, unless `--no-foreign-keys`.
            let creating = !matches!(options.if_exists, IfExists::Append | IfExists::Truncate);
            let mut keys = if options.with_keys {
                let keys = source.keys(&table, &plan)?;
                output_schema = with_primary_key(&output_schema, &keys.primary_key)
                    .map_err(|e| e.context(format!("{source_name}: {table}: --with-keys")))?;
                Some(keys)
            } else if options.foreign_keys && creating && source.declares_keys() {
                let mut keys = source.keys(&table, &plan)?;
                // The key the target gets, as the steps left it.
                let mut key: Vec<(u32, String)> = output_schema
                    .fields()
                    .iter()
                    .filter_map(|f| {
                        crate::types::primary_key_position(f).map(|p| (p, f.name().clone()))
                    })
                    .collect();
                key.sort();
                keys.primary_key = key.into_iter().map(|(_, n)| n).collect();
                Some(keys)
            } else {
                None
            };
            if let Some(keys) = keys.as_mut().filter(|_| !options.foreign_keys) {
                keys.foreign_keys.clear();
            }
            output_schema = schema_objects(
                &output_schema,
                &target,
                &target_name,
                sink.carries(),
                &options,
            );
            // The snapshot table the rows come from, whatever the steps keep of the schema's
            // metadata: a database target records it (`_ferry_loads`).
            if let Some(id) = source.snapshot_table(&plan) {
                let mut metadata = output_schema.metadata().clone();
                metadata.insert(crate::snapshot::META_SNAPSHOT_TABLE.into(), id);
                output_schema =
                    std::sync::Arc::new(output_schema.as_ref().clone().with_metadata(metadata));
            }
            let target_ddl = sink
                .describe_target(&target, &output_schema)
                .map_err(|e| e.context(format!("{target_name}: table \"{target}\"")))?;
            if options.if_exists == IfExists::Fail && sink.exists(&target)? {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!(
                        "{target_name}: table \"{target}\" exists (use --if-exists replace, truncate or append)"
                    ),
                ));
            }
            jobs.push(TableJob {
                source: table,
                target,
                plan,
                transforms,
                output_schema,
                target_ddl,
                keys,
            });
        }
        Ok(CopyPlan {
            source_name,
            target_name,
            source,
            sink,
            tables: jobs,
            options,
            not_copied: Vec::new(),
        })
    }

    /// The plan as text, for `--dry-run`.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "copy {} -> {} (if exists: {:?}, jobs: {})\n",
            self.source_name, self.target_name, self.options.if_exists, self.options.jobs
        );
        for t in &self.tables {
            out.push_str(&format!(
                "\n{} -> \"{}\": {} rows, {} partition(s)\n",
                t.source,
                t.target,
                t.plan
                    .rows
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "?".into()),
                t.plan.partitions.len()
            ));
            for p in t.plan.partitions.iter().take(8) {
                out.push_str(&format!("  partition {}: {}\n", p.index, p.label));
            }
            if t.plan.partitions.len() > 8 {
                out.push_str(&format!("  ... {} more\n", t.plan.partitions.len() - 8));
            }
            if let Some(filter) = &t.plan.filter {
                out.push_str(&format!("  filter at the source: {filter}\n"));
            }
            for step in t.transforms.describe() {
                out.push_str(&format!("  transform: {step}\n"));
            }
            for line in t.target_ddl.lines() {
                out.push_str(&format!("  {line}\n"));
            }
        }
        if let Some(line) = crate::report::not_copied_line(&self.not_copied) {
            out.push_str(&format!("\n{line}\n"));
        }
        let left_out = self.options.left_out.items();
        if !left_out.is_empty() {
            out.push_str(&format!(
                "\nleft out: {} schema object(s) the target would not get:\n",
                left_out.len()
            ));
            for l in left_out {
                out.push_str(&format!("  {l}\n"));
            }
        }
        out
    }
}

/// Figures gathered by the reading threads of one table.
#[derive(Default)]
struct ReadTimes {
    read: Duration,
    transform: Duration,
    /// Rows the source returned, before the transforms.
    rows: u64,
}

/// Runs copy plans.
pub struct Pipeline<'a> {
    progress: &'a Progress,
    /// Set (by the CLI's Ctrl-C / SIGTERM handler) to stop the run: the readers stop, the open
    /// writer is dropped unfinished (its load rolls back), nothing more is committed.
    cancel: Arc<AtomicBool>,
}

impl<'a> Pipeline<'a> {
    pub fn new(progress: &'a Progress) -> Self {
        Pipeline {
            progress,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Stops the run when `cancel` is set.
    pub fn with_cancel(mut self, cancel: Arc<AtomicBool>) -> Self {
        self.cancel = cancel;
        self
    }

    fn cancelled(&self) -> Option<Error> {
        self.cancel.load(Ordering::Relaxed).then(|| {
            Error::new(
                ErrorKind::Cancelled,
                "interrupted: nothing was committed, the target is as it was",
            )
        })
    }

    /// Runs the plan. The report is filled as tables finish, so a failed run still tells what
    /// was done before the error.
    pub fn run(&self, plan: &CopyPlan, report: &mut RunReport) -> Result<()> {
        if plan.options.resume == Resume::Yes && !plan.sink.resumes() {
            return Err(Error::invalid_args(format!(
                "--resume: {} keeps no resumable state (PostgreSQL, MySQL/MariaDB and SQLite \
                 targets and Parquet snapshot directories do); a failed run left it as it was, \
                 so run the copy again without --resume",
                plan.target_name
            )));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(plan.options.jobs.max(1))
            .thread_name(|i| format!("ferry-read-{i}"))
            .build()
            .map_err(|e| {
                Error::with_source(ErrorKind::Internal, "cannot start the reader pool", e)
            })?;
        for job in &plan.tables {
            if let Some(e) = self.cancelled() {
                return Err(e);
            }
            let t = self.copy_table(plan, job, &pool)?;
            report.tables.push(t);
        }
        if let Some(e) = self.cancelled() {
            return Err(e);
        }
        if let Err(e) = plan.sink.commit_unless_cancelled(&self.cancel) {
            // A Ctrl-C while the commit waited (on a lock, say) cancelled it: nothing is
            // published.
            return Err(self
                .cancelled()
                .unwrap_or_else(|| e.context(format!("{}: commit", plan.target_name))));
        }
        if plan.tables.iter().any(|t| t.keys.is_some()) {
            let started = Instant::now();
            plan.sink
                .add_foreign_keys(&target_keys(&plan.tables, &plan.options.left_out))
                .map_err(|e| e.context(format!("{}: foreign keys", plan.target_name)))?;
            report.foreign_keys_seconds = started.elapsed().as_secs_f64();
            tracing::info!(seconds = report.foreign_keys_seconds, "foreign keys built");
        }
        Ok(())
    }

    fn copy_table(
        &self,
        plan: &CopyPlan,
        job: &TableJob,
        pool: &rayon::ThreadPool,
    ) -> Result<TableReport> {
        let started = Instant::now();
        let mut bar = self.progress.table(&job.target, job.plan.rows);
        // Chunks are partitions: each is committed on its own where the sink can (a partition
        // label names one chunk, so labels must be distinct).
        let labels: std::collections::HashSet<&str> = job
            .plan
            .partitions
            .iter()
            .map(|p| p.label.as_str())
            .collect();
        let chunked =
            plan.options.chunks && plan.sink.resumes() && labels.len() == job.plan.partitions.len();
        let mut writer = if chunked {
            let chunks = crate::sink::ChunkPlan {
                fingerprint: fingerprint(plan, job),
                resume: plan.options.resume,
            };
            plan.sink.prepare_chunked(
                &job.target,
                &job.output_schema,
                plan.options.if_exists,
                &chunks,
            )?
        } else {
            plan.sink
                .prepare(&job.target, &job.output_schema, plan.options.if_exists)?
        };
        let committed: std::collections::HashMap<String, u64> =
            writer.committed_chunks()?.into_iter().collect();
        let rows_resumed: u64 = committed.values().sum();
        let to_read: Vec<&Partition> = job
            .plan
            .partitions
            .iter()
            .filter(|p| !committed.contains_key(&p.label))
            .collect();
        if !committed.is_empty() {
            tracing::info!(
                table = %job.target,
                chunks = committed.len(),
                rows = rows_resumed,
                "resuming: chunks an earlier run committed are not read again"
            );
            bar.add(rows_resumed, 0);
        }
        let capacity = plan.options.jobs.max(1) * CopyOptions::BATCHES_IN_FLIGHT_PER_JOB;
        let (tx, rx) = bounded::<Result<Piece>>(capacity);
        let stop = AtomicBool::new(false);
        let times = Mutex::new(ReadTimes::default());
        let (mut rows, mut bytes, mut write_time) = (0u64, 0u64, Duration::ZERO);
        let mut failure: Option<Error> = None;
        std::thread::scope(|scope| {
            let readers = scope.spawn(|| {
                let tx = tx;
                pool.install(|| {
                    to_read.par_iter().for_each(|p| {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let result = catch_unwind(AssertUnwindSafe(|| {
                            self.read_partition(plan, job, p, &tx, &stop, &times)
                        }))
                        .unwrap_or_else(|panic| Err(panicked(panic)));
                        if let Err(e) = result {
                            stop.store(true, Ordering::Relaxed);
                            let e = e.context(format!(
                                "{}: {}, partition {}",
                                plan.source_name, job.source, p.label
                            ));
                            let _ = tx.send(Err(e));
                        }
                    })
                });
            });
            loop {
                // Woken now and then to see a Ctrl-C while the readers wait on their source.
                let msg = match rx.recv_timeout(Duration::from_millis(100)) {
                    Ok(m) => m,
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                        if let Some(e) = self.cancelled() {
                            failure = Some(e);
                            break;
                        }
                        continue;
                    }
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
                };
                if let Some(e) = self.cancelled() {
                    failure = Some(e);
                    break;
                }
                let (batch, origin) = match msg {
                    Ok(Piece::Batch(b, o)) => (b, o),
                    Ok(Piece::End(chunk, chunk_rows)) => {
                        let t = Instant::now();
                        if let Err(e) = writer.end_chunk(&chunk, chunk_rows) {
                            failure = Some(e);
                            break;
                        }
                        write_time += t.elapsed();
                        continue;
                    }
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                };
                let t = Instant::now();
                if let Err(e) = writer.write_from(&batch, &origin) {
                    failure = Some(e);
                    break;
                }
                write_time += t.elapsed();
                let size = data_bytes(&batch) as u64;
                rows += batch.num_rows() as u64;
                bytes += size;
                bar.add(batch.num_rows() as u64, size);
            }
            if failure.is_some() {
                stop.store(true, Ordering::Relaxed);
                // Unblock readers waiting on a full channel, then let them see `stop`.
                while rx.try_recv().is_ok() {}
                drop(rx);
            }
            let _ = readers.join();
        });
        if let Some(e) = failure {
            bar.finish();
            drop(writer);
            return Err(e);
        }
        bar.phase("rows in; committing, building keys and indexes");
        let t = Instant::now();
        let stats = writer.finish();
        bar.finish();
        let stats = stats?;
        write_time += t.elapsed();
        let wall = started.elapsed().as_secs_f64();
        let times = times.into_inner().unwrap_or_default();
        let mut lossy_columns = job.plan.lossy.counts();
        crate::report::add_counts(&mut lossy_columns, &stats.lossy);
        Ok(TableReport {
            source: match &job.source {
                TableRef::Table(n) => n.clone(),
                TableRef::Query(_) => "query".into(),
            },
            target: job.target.clone(),
            rows: rows + rows_resumed,
            rows_read: times.rows,
            bytes,
            partitions: job.plan.partitions.len(),
            chunks_resumed: committed.len(),
            rows_resumed,
            read_seconds: times.read.as_secs_f64(),
            transform_seconds: times.transform.as_secs_f64(),
            write_seconds: write_time.as_secs_f64(),
            schema_seconds: stats.schema_seconds,
            wall_seconds: wall,
            rows_per_second: if wall > 0.0 { rows as f64 / wall } else { 0.0 },
            mb_per_second: if wall > 0.0 {
                bytes as f64 / 1e6 / wall
            } else {
                0.0
            },
            lossy_values: lossy_columns.values().sum(),
            lossy_columns,
            files: stats
                .files
                .iter()
                .map(|f| f.display().to_string())
                .collect(),
            peak_rss_bytes: peak_rss_bytes(),
        })
    }

    fn read_partition(
        &self,
        plan: &CopyPlan,
        job: &TableJob,
        partition: &Partition,
        tx: &crossbeam_channel::Sender<Result<Piece>>,
        stop: &AtomicBool,
        times: &Mutex<ReadTimes>,
    ) -> Result<()> {
        let mut t = Instant::now();
        let stream = plan.source.open(&job.plan, partition)?;
        let (mut read, mut transform, mut rows) = (Duration::ZERO, Duration::ZERO, 0u64);
        let label: std::sync::Arc<str> = partition.label.as_str().into();
        let filtered = job.transforms.filters();
        // Rows of the partition before the next batch: read, or kept by the filter.
        let mut position = 0u64;
        // Rows handed to the writer.
        let mut written = 0u64;
        for batch in stream {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let batch = batch?;
            read += t.elapsed();
            rows += batch.num_rows() as u64;
            for piece in split_by_bytes(batch, plan.options.limits.bytes) {
                let tt = Instant::now();
                let read_rows = piece.num_rows() as u64;
                let out = job.transforms.apply(piece)?;
                transform += tt.elapsed();
                let origin = Origin {
                    partition: label.clone(),
                    first_row: position,
                    filtered,
                };
                position += if filtered {
                    out.num_rows() as u64
                } else {
                    read_rows
                };
                // A filter may leave nothing: no need to hand the writer an empty batch.
                if out.num_rows() == 0 {
                    continue;
                }
                written += out.num_rows() as u64;
                if tx.send(Ok(Piece::Batch(out, origin))).is_err() {
                    stop.store(true, Ordering::Relaxed);
                    break;
                }
            }
            t = Instant::now();
        }
        // The whole partition went to the writer: its chunk can commit. Rows as written (the
        // filter's survivors).
        if !stop.load(Ordering::Relaxed) {
            let _ = tx.send(Ok(Piece::End(label.clone(), written)));
        }
        if let Ok(mut times) = times.lock() {
            times.read += read;
            times.transform += transform;
            times.rows += rows;
        }
        Ok(())
    }
}

/// The schema with `ferry.primary_key` set on the key's columns (and removed elsewhere).
fn with_primary_key(schema: &SchemaRef, key: &[String]) -> Result<SchemaRef> {
    if let Some(missing) = key.iter().find(|c| schema.field_with_name(c).is_err()) {
        return Err(Error::not_found(format!(
            "the primary key's column \"{missing}\" is not in the copied columns"
        )));
    }
    let fields: Vec<arrow::datatypes::Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let mut meta = f.metadata().clone();
            meta.remove(crate::types::META_PRIMARY_KEY);
            if let Some(i) = key.iter().position(|c| c == f.name()) {
                meta.insert(crate::types::META_PRIMARY_KEY.into(), (i + 1).to_string());
            }
            f.as_ref().clone().with_metadata(meta)
        })
        .collect();
    Ok(std::sync::Arc::new(
        arrow::datatypes::Schema::new_with_metadata(fields, schema.metadata().clone()),
    ))
}

/// `schema` keeping the schema objects of the source (indexes, checks, comments) the target
/// will create: those whose columns the steps kept, that the target carries (`carries`), and
/// that the options ask for (`--no-indexes`). Each one left out is noted, when the table is
/// created (`append` and `truncate` never change a table's objects).
fn schema_objects(
    schema: &SchemaRef,
    target: &str,
    target_name: &str,
    carries: crate::sink::Carries,
    options: &CopyOptions,
) -> SchemaRef {
    use crate::types::{constraints, indexes};
    let creating = !matches!(options.if_exists, IfExists::Append | IfExists::Truncate);
    let note = |object: &str, name: &str, why: &str| {
        if creating {
            options.left_out.note(target, object, name, why);
        }
    };
    let (mut kept, gone) = indexes::still_readable(schema);
    for l in gone {
        note("index", &l.index, &l.why);
    }
    if !options.indexes {
        kept.clear();
    } else if !carries.indexes {
        for ix in kept.drain(..) {
            note(
                "index",
                &ix.describe(),
                &format!("{target_name} does not build indexes"),
            );
        }
    }
    let schema = indexes::with_indexes(schema, &kept);
    let (mut checks, gone) = constraints::checks_still_readable(&schema);
    for (name, why) in gone {
        note("check", &name, &why);
    }
    checks.retain(|c| match carries.checks {
        Some("*") => true,
        Some(dialect) => match c.for_dialect(dialect) {
            Ok(_) => true,
            Err(why) => {
                note("check", &c.name, &why);
                false
            }
        },
        None => {
            note(
                "check",
                &c.name,
                &format!("{target_name} takes no CHECK constraints"),
            );
            false
        }
    });
    let comment = constraints::table_comment(&schema).map(str::to_string);
    if !carries.comments {
        if comment.is_some() {
            note("comment", "", &format!("{target_name} has no comments"));
        }
        for f in schema.fields() {
            if constraints::column_comment(f).is_some() {
                note(
                    "comment",
                    &format!("of column {}", f.name()),
                    &format!("{target_name} has no comments"),
                );
            }
        }
    }
    constraints::with_checks_and_comment(&schema, &checks, comment.as_deref())
}

/// The keys of a run's target tables. A foreign key names the target of the table it references;
/// one whose table is not part of the run is left out (its target may not exist).
fn target_keys(jobs: &[TableJob], left_out: &crate::report::LeftOutLog) -> Vec<TargetKeys> {
    let target_of = |source: &str| {
        jobs.iter().find_map(|j| match &j.source {
            TableRef::Table(t) if t == source => Some(j.target.clone()),
            _ => None,
        })
    };
    // The keys a foreign key may reference in a table of the run: its primary key and the
    // unique indexes of plain columns it gets.
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    let unique_keys_of = |source: &str| {
        jobs.iter().find_map(|j| match &j.source {
            TableRef::Table(t) if t == source => j.keys.as_ref().map(|k| {
                let mut keys = vec![sorted(&k.primary_key)];
                for ix in crate::types::indexes::indexes_of(&j.output_schema) {
                    if ix.unique && ix.not_portable.is_none() {
                        let cols: Vec<String> = ix.columns.into_iter().map(|c| c.name).collect();
                        keys.push(sorted(&cols));
                    }
                }
                keys
            }),
            _ => None,
        })
    };
    jobs.iter()
        .filter_map(|j| {
            let mut keys = j.keys.clone()?;
            keys.foreign_keys.retain(|fk| {
                // A column a step dropped or renamed, in the table or in the one it references.
                let parent = jobs
                    .iter()
                    .find(|p| matches!(&p.source, TableRef::Table(t) if *t == fk.table));
                let missing = fk
                    .columns
                    .iter()
                    .find(|c| j.output_schema.field_with_name(c).is_err())
                    .or_else(|| {
                        let p = parent?;
                        fk.referenced
                            .iter()
                            .find(|c| p.output_schema.field_with_name(c).is_err())
                    });
                if let Some(c) = missing {
                    left_out.note(
                        &j.target,
                        "foreign key",
                        &format!("({})", fk.columns.join(", ")),
                        &format!(
                            "its column {c} is not in the target (a step dropped or renamed it)"
                        ),
                    );
                    return false;
                }
                match unique_keys_of(&fk.table) {
                    Some(keys) if !keys.contains(&sorted(&fk.referenced)) => {
                        left_out.note(
                            &j.target,
                            "foreign key",
                            &format!("({})", fk.columns.join(", ")),
                            &format!(
                                "it references ({}), which is neither the primary key nor a \
                                 unique index of {} in the target",
                                fk.referenced.join(", "),
                                target_of(&fk.table).unwrap_or_else(|| fk.table.clone())
                            ),
                        );
                        false
                    }
                    _ => true,
                }
            });
            // A table not copied in this run is looked for in the target under its source
            // name; the sink leaves the key out if it is not there.
            for fk in &mut keys.foreign_keys {
                if let Some(target) = target_of(&fk.table) {
                    fk.table = target;
                }
            }
            Some(TargetKeys {
                table: j.target.clone(),
                keys,
            })
        })
        .collect()
}

fn panicked(panic: Box<dyn std::any::Any + Send>) -> Error {
    let msg = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    Error::internal(format!("a reader failed unexpectedly: {msg}"))
}

/// The bytes of Arrow data a batch holds (its slice of the buffers, not their capacity).
pub fn data_bytes(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|c| {
            c.to_data()
                .get_slice_memory_size()
                .unwrap_or_else(|_| c.get_array_memory_size())
        })
        .sum()
}

/// Slices a batch whose Arrow buffers exceed `max_bytes` into pieces of about that size, so one
/// batch of very wide values does not have to be written (and buffered by the sink) whole.
pub fn split_by_bytes(batch: RecordBatch, max_bytes: usize) -> Vec<RecordBatch> {
    let size = data_bytes(&batch);
    let rows = batch.num_rows();
    if size <= max_bytes || rows <= 1 {
        return vec![batch];
    }
    let pieces = size.div_ceil(max_bytes).min(rows);
    let per = rows.div_ceil(pieces);
    (0..rows)
        .step_by(per)
        .map(|start| batch.slice(start, per.min(rows - start)))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::StringArray;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn splits_wide_batches_and_keeps_every_row() {
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, false)]));
        let big = "x".repeat(1 << 20);
        let values: Vec<&str> = (0..10).map(|_| big.as_str()).collect();
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(values))]).unwrap();
        let pieces = split_by_bytes(batch.clone(), 3 << 20);
        assert!(pieces.len() >= 4, "{} pieces", pieces.len());
        assert_eq!(pieces.iter().map(|b| b.num_rows()).sum::<usize>(), 10);
        assert_eq!(split_by_bytes(batch, 64 << 20).len(), 1);
    }
}
