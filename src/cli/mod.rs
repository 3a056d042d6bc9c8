//! The command-line front end: parses arguments, builds a validated plan and runs it. The only
//! place (with `main.rs`) that uses `anyhow` and knows about clap.

pub mod args;
pub mod cleanup;
pub mod plan;
pub mod verify;

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use args::{Cli, Command, CopyArgs, InspectArgs, OutputArgs};
use ferry::pipeline::Pipeline;
use ferry::progress::Progress;
use ferry::report::RunReport;
use ferry::sink::Resume;
use ferry::source::{BatchLimits, ReadOptions, TableRef};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Copy(args) => copy(args),
        Command::Inspect(args) => inspect(args),
        Command::Verify(args) => verify::verify(args),
        Command::Cleanup(args) => cleanup::cleanup(args),
    }
}

fn init_logging(out: &OutputArgs) {
    let level = match (out.quiet, out.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(format!("ferry={level}")))
        .try_init();
}

/// `e`, saying what a failed run kept for `--resume` (`kept`: one line per table).
fn with_kept_state(e: ferry::Error, kept: &[String]) -> ferry::Error {
    if kept.is_empty() {
        return e;
    }
    let kept = format!(
        "the target's tables are as they were; the chunks committed are kept for --resume: \
         {}; run the same command with --resume to continue, or `ferry cleanup` to remove them",
        kept.join(", ")
    );
    match e.kind() {
        ferry::ErrorKind::Cancelled => ferry::Error::new(e.kind(), format!("interrupted: {kept}")),
        kind => ferry::Error::new(kind, format!("{}; {kept}", e.chain())),
    }
}

fn copy(args: CopyArgs) -> Result<()> {
    init_logging(&args.output);
    let started = Instant::now();
    // Ctrl-C or SIGTERM stops the run: the open loads roll back, nothing is committed (a
    // second one exits at once). Set first: a signal while the plan is built is seen by the run.
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        let _ = ctrlc::set_handler(move || {
            if cancel.swap(true, std::sync::atomic::Ordering::Relaxed) {
                std::process::exit(130);
            }
        });
    }
    if args.verify && args.query.is_some() {
        return Err(ferry::Error::invalid_args(
            "--verify compares tables: not with --query (verify the target table with \
             `ferry verify` against a source table)",
        )
        .into());
    }
    if args.verify && args.if_exists == ferry::sink::IfExists::Append {
        return Err(ferry::Error::invalid_args(
            "--verify compares a target with its source: not with --if-exists append, which \
             adds to the rows already there (run `ferry verify` on a fresh target instead)",
        )
        .into());
    }
    let first = if args.resume { Resume::Yes } else { Resume::No };
    let mut plan = plan::copy_plan(&args, first)?;
    if args.verify {
        if let Some(t) = plan
            .tables
            .iter()
            .find(|t| !t.transforms.describe().is_empty())
        {
            return Err(ferry::Error::invalid_args(format!(
                "--verify compares tables as they are: table \"{}\" has transform steps",
                t.target
            ))
            .into());
        }
    }
    let verify_tables: Vec<(String, Option<String>)> = plan
        .tables
        .iter()
        .filter_map(|t| match &t.source {
            TableRef::Table(n) => Some((n.clone(), Some(t.target.clone()))),
            TableRef::Query(_) => None,
        })
        .collect();
    if args.dry_run {
        print!("{}", plan.describe());
        return Ok(());
    }
    let total_rows = plan.tables.iter().filter_map(|t| t.plan.rows).sum();
    let progress = Progress::new(!args.output.quiet, total_rows);
    let mut report = RunReport {
        ferry_version: env!("CARGO_PKG_VERSION").into(),
        source: plan.source_name.clone(),
        target: plan.target_name.clone(),
        not_copied: plan.not_copied.clone(),
        ..Default::default()
    };
    tracing::info!(source = %plan.source_name, target = %plan.target_name, tables = plan.tables.len(), "copy starts");
    let mut retry = 0u32;
    let result = loop {
        report.tables.clear();
        let result = Pipeline::new(&progress)
            .with_cancel(cancel.clone())
            .run(&plan, &mut report);
        let Err(e) = result else { break Ok(()) };
        // A failed run's tables are as they were; chunks it committed into staging tables
        // are kept for --resume (and for a retry), and the error says so.
        let kept = plan.sink.abandon();
        if !e.is_transient() || retry >= args.retries || cancelled(&cancel) {
            break Err(with_kept_state(gave_up(e, retry), &kept));
        }
        drop(plan);
        // A transient failure (a lost connection, a server restart): the run is tried again
        // after a wait, from the chunks committed; so is planning it again, in a new session.
        let mut failure = e;
        plan = loop {
            retry += 1;
            let wait = backoff(retry);
            if !args.output.quiet {
                eprintln!(
                    "ferry: {}; trying again in {} s (retry {retry} of {}){}",
                    failure.chain(),
                    wait.as_secs(),
                    args.retries,
                    if kept.is_empty() {
                        ""
                    } else {
                        ", from the chunks committed"
                    }
                );
            }
            report.retried_after.push(failure.chain());
            if !sleep_unless_cancelled(wait, &cancel) {
                break Err(with_kept_state(
                    ferry::Error::new(
                        ferry::ErrorKind::Cancelled,
                        format!(
                            "interrupted while waiting to try again after: {}",
                            failure.chain()
                        ),
                    ),
                    &kept,
                ));
            }
            match plan::copy_plan(&args, Resume::Retry) {
                Ok(p) => break Ok(p),
                Err(e) => match e.downcast::<ferry::Error>() {
                    Ok(fe) if fe.is_transient() && retry < args.retries => failure = fe,
                    Ok(fe) => break Err(with_kept_state(gave_up(fe, retry), &kept)),
                    Err(other) => return Err(other),
                },
            }
        }?;
    };
    progress.finish();
    report.left_out = plan.options.left_out.items();
    drop(plan);
    report.total(started.elapsed().as_secs_f64());
    match &result {
        Ok(()) => report.status = "ok".into(),
        Err(e) => {
            report.status = "failed".into();
            report.error = Some(e.chain());
        }
    }
    if let Some(path) = &args.output.report {
        write_json(path, &report)
            .with_context(|| format!("cannot write the report {}", path.display()))?;
    }
    result?;
    if !args.output.quiet {
        print!("{}", report.summary());
    }
    if args.verify {
        let verdict = verify::after_copy(&args, &verify_tables)?;
        let equal = verdict.equal;
        report.verify = Some(verdict);
        if let Some(path) = &args.output.report {
            write_json(path, &report)
                .with_context(|| format!("cannot write the report {}", path.display()))?;
        }
        if !equal {
            return verify::differs(report.verify.as_ref().expect("set above"));
        }
    }
    Ok(())
}

fn cancelled(cancel: &std::sync::atomic::AtomicBool) -> bool {
    cancel.load(std::sync::atomic::Ordering::Relaxed)
}

/// The wait before retry `n` (from 1): 1 s, 2 s, 4 s, ..., at most 30 s.
fn backoff(n: u32) -> std::time::Duration {
    std::time::Duration::from_secs((1u64 << n.saturating_sub(1).min(5)).min(30))
}

/// Sleeps `wait`, waking early when the run is cancelled; whether it was not.
fn sleep_unless_cancelled(
    wait: std::time::Duration,
    cancel: &std::sync::atomic::AtomicBool,
) -> bool {
    let until = Instant::now() + wait;
    while Instant::now() < until {
        if cancelled(cancel) {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    !cancelled(cancel)
}

/// `e`, saying how many retries came before it when there were any.
fn gave_up(e: ferry::Error, retries: u32) -> ferry::Error {
    if retries == 0 || !e.is_transient() {
        return e;
    }
    e.context(format!("after {retries} retries"))
}

fn write_json(path: &std::path::Path, value: &impl Serialize) -> Result<()> {
    let mut f = std::fs::File::create(path)?;
    serde_json::to_writer_pretty(&mut f, value)?;
    f.write_all(b"\n")?;
    Ok(())
}

#[derive(Serialize)]
struct ColumnInfo {
    name: String,
    source_type: Option<String>,
    arrow_type: String,
    nullable: bool,
}

#[derive(Serialize)]
struct TableInfo {
    name: String,
    /// `table`, or what a relation left out of a default run is (`view`, ...).
    kind: String,
    /// Whether a run without `--table` copies it.
    copied: bool,
    /// Why it cannot be read now (`not populated`, a catalog error), if so.
    note: Option<String>,
    rows: Option<u64>,
    partitions: usize,
    columns: Vec<ColumnInfo>,
}

fn inspect(args: InspectArgs) -> Result<()> {
    init_logging(&args.output);
    let endpoint = plan::endpoint(&args.url)?;
    let read = ReadOptions {
        schema: args.schema.clone(),
        ..ReadOptions::new(BatchLimits::default())
    };
    let source = ferry::source::open_source(&endpoint, &read)?;
    let (names, not_copied) = if args.tables.is_empty() {
        (source.tables()?, source.not_copied()?)
    } else {
        (args.tables.clone(), Vec::new())
    };
    let mut tables = Vec::new();
    for name in names {
        let plan = source.plan(&TableRef::Table(name.clone()))?;
        tables.push(table_info(name, "table".into(), true, None, Some(&plan)));
    }
    // A relation left out of a default run is listed with its columns when it can be planned;
    // when it cannot (a materialized view not populated), with the reason, not as a failure.
    for n in not_copied {
        let planned = match &n.note {
            Some(_) => Err(None),
            None => source
                .plan(&TableRef::Table(n.name.clone()))
                .map_err(|e| Some(e.chain())),
        };
        tables.push(match planned {
            Ok(plan) => table_info(n.name, n.kind, false, None, Some(&plan)),
            Err(e) => table_info(n.name, n.kind, false, e.or(n.note), None),
        });
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &tables)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "{endpoint}")?;
    for t in &tables {
        let rows = t.rows.map(|r| r.to_string()).unwrap_or_else(|| "?".into());
        if t.copied {
            writeln!(
                out,
                "\n{} ({rows} rows, {} partition(s))",
                t.name, t.partitions
            )?;
        } else {
            let note = t
                .note
                .as_ref()
                .map(|n| format!(", {n}"))
                .unwrap_or_default();
            writeln!(
                out,
                "\n{} ({}{note}; not copied unless named with --table)",
                t.name, t.kind
            )?;
        }
        for c in &t.columns {
            writeln!(
                out,
                "  {:<24} {:<20} {:<28}{}",
                c.name,
                c.source_type.as_deref().unwrap_or("-"),
                c.arrow_type,
                if c.nullable { "" } else { " NOT NULL" }
            )?;
        }
    }
    Ok(())
}

/// What `inspect` shows of one relation; `plan` is `None` when it could not be planned.
fn table_info(
    name: String,
    kind: String,
    copied: bool,
    note: Option<String>,
    plan: Option<&ferry::source::TablePlan>,
) -> TableInfo {
    let columns = plan
        .map(|p| {
            p.schema
                .fields()
                .iter()
                .map(|f| ColumnInfo {
                    name: f.name().clone(),
                    source_type: ferry::types::source_type(f).map(|(_, t)| t.to_string()),
                    arrow_type: f.data_type().to_string(),
                    nullable: f.is_nullable(),
                })
                .collect()
        })
        .unwrap_or_default();
    TableInfo {
        name,
        kind,
        copied,
        note,
        rows: plan.and_then(|p| p.rows),
        partitions: plan.map_or(0, |p| p.partitions.len()),
        columns,
    }
}
