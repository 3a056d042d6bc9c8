//! Command-line arguments -> a validated [`CopyPlan`]; the engine never sees clap types.

use std::sync::Arc;

use anyhow::{bail, Result};

use super::args::CopyArgs;
use ferry::endpoint::Endpoint;
use ferry::pipeline::{CopyOptions, CopyPlan, TableSpec};
use ferry::source::{BatchLimits, ReadOptions, TableRef};
use ferry::transform::{job, StepContext, StepSpec};

/// Parses an endpoint argument; a URL without a password takes `PGPASSWORD` (PostgreSQL) or
/// `MYSQL_PWD` (MySQL, MariaDB).
pub fn endpoint(s: &str) -> Result<Endpoint, ferry::Error> {
    use ferry::endpoint::Scheme;
    let mut e = s.parse::<Endpoint>()?;
    e.default_password = match e.scheme {
        Scheme::Postgres => std::env::var("PGPASSWORD").ok(),
        Scheme::Mysql => std::env::var("MYSQL_PWD").ok(),
        _ => None,
    };
    Ok(e)
}

/// Builds the plan of `ferry copy`.
pub fn copy_plan(args: &CopyArgs, resume: ferry::sink::Resume) -> Result<CopyPlan> {
    let from = endpoint(&args.from)?;
    let to = endpoint(&args.to)?;
    if args.batch_rows == 0 || args.batch_bytes == 0 {
        return Err(
            ferry::Error::invalid_args("--batch-rows and --batch-bytes must be positive").into(),
        );
    }
    let jobs = match args.jobs {
        Some(0) => return Err(ferry::Error::invalid_args("--jobs must be at least 1").into()),
        Some(n) => n,
        None => CopyOptions::default().jobs,
    };
    let limits = BatchLimits {
        rows: args.batch_rows,
        bytes: args.batch_bytes,
    };
    // Steps are checked before any endpoint is opened: a typo costs no connection.
    let steps = args
        .transforms
        .iter()
        .map(|t| StepSpec::parse(t))
        .collect::<Result<Vec<_>, _>>()?;
    let job_tables = match &args.job {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ferry::Error::io(format!("--job {}: cannot read", path.display()), e)
            })?;
            Some(job::parse_job(&text, &path.display().to_string())?)
        }
    };
    if args.read.partitions == Some(0) {
        return Err(ferry::Error::invalid_args("--partitions must be at least 1").into());
    }
    let read = ReadOptions {
        limits,
        jobs,
        schema: args.read.schema.clone(),
        partition_on: args.read.partition_on.clone(),
        partitions: args.read.partitions,
        zero_dates: args.read.zero_dates,
        no_snapshot_lock: args.read.no_snapshot_lock,
    };
    let source = ferry::source::open_source(&from, &read)?;
    // Views and the like are named when every table is copied: a run never leaves a relation
    // out without saying so.
    let mut not_copied = Vec::new();
    let tables: Vec<(TableRef, Option<String>)> = match (&args.query, &args.target_table) {
        _ if job_tables.is_some() => Vec::new(),
        (Some(sql), Some(target)) => vec![(TableRef::Query(sql.clone()), Some(target.clone()))],
        (Some(_), None) => bail!(ferry::Error::invalid_args("--query needs --target-table")),
        (None, target) => {
            let names = if args.tables.is_empty() {
                not_copied = source.not_copied()?;
                source.tables()?
            } else {
                args.tables.clone()
            };
            if names.is_empty() {
                let also = ferry::report::not_copied_line(&not_copied)
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default();
                return Err(
                    ferry::Error::not_found(format!("{from}: no tables to copy{also}")).into(),
                );
            }
            match target {
                Some(t) if names.len() == 1 => {
                    vec![(TableRef::Table(names[0].clone()), Some(t.clone()))]
                }
                Some(_) => {
                    return Err(ferry::Error::invalid_args(
                        "--target-table renames one table: give exactly one --table",
                    )
                    .into())
                }
                // Each table keeps its own name, without its schema (the source plans it).
                None => names
                    .into_iter()
                    .map(|n| (TableRef::Table(n), None))
                    .collect(),
            }
        }
    };
    let left_out = ferry::report::LeftOutLog::default();
    let sink = ferry::sink::open_sink(
        &to,
        &ferry::sink::WriteOptions {
            jobs,
            schema: args.read.schema.clone(),
            float_loss: args.float_loss,
            reload: args.reload,
            left_out: left_out.clone(),
        },
    )?;
    let options = CopyOptions {
        if_exists: args.if_exists,
        jobs,
        limits,
        with_keys: args.with_keys,
        indexes: !args.no_indexes,
        foreign_keys: !args.no_foreign_keys,
        left_out,
        resume,
        chunks: !args.no_chunks,
    };
    let tables: Vec<TableSpec> = match job_tables {
        // --transform steps run after the job's own.
        Some(job) => job
            .into_iter()
            .map(|t| TableSpec {
                source: t.source,
                target: t.target,
                steps: t.steps.into_iter().chain(steps.iter().cloned()).collect(),
            })
            .collect(),
        None => tables
            .into_iter()
            .map(|(source, target)| TableSpec {
                source,
                target,
                steps: steps.clone(),
            })
            .collect(),
    };
    // The library reads no environment: mask keys are looked up here, by the name a step gives.
    let context =
        StepContext::new("").with_secrets(Arc::new(|name: &str| std::env::var(name).ok()));
    let mut plan = CopyPlan::build(
        from.to_string(),
        to.to_string(),
        source,
        sink,
        tables,
        context,
        options,
    )?;
    plan.not_copied = not_copied;
    Ok(plan)
}
