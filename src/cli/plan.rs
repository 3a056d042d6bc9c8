//! Command-line arguments -> a validated [`CopyPlan`]; the engine never sees clap types.

use anyhow::{bail, Result};

use super::args::CopyArgs;
use ferry::endpoint::Endpoint;
use ferry::pipeline::{CopyOptions, CopyPlan};
use ferry::source::{BatchLimits, TableRef};
use ferry::transform::Chain;

/// Parses an endpoint argument.
pub fn endpoint(s: &str) -> Result<Endpoint, ferry::Error> {
    s.parse::<Endpoint>()
}

/// Builds the plan of `ferry copy`.
pub fn copy_plan(args: &CopyArgs) -> Result<CopyPlan> {
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
    let source = ferry::source::open_source(&from, limits)?;
    let tables: Vec<(TableRef, String)> = match (&args.query, &args.target_table) {
        (Some(sql), Some(target)) => vec![(TableRef::Query(sql.clone()), target.clone())],
        (Some(_), None) => bail!(ferry::Error::invalid_args("--query needs --target-table")),
        (None, target) => {
            let names = if args.tables.is_empty() {
                source.tables()?
            } else {
                args.tables.clone()
            };
            if names.is_empty() {
                return Err(ferry::Error::not_found(format!("{from}: no tables to copy")).into());
            }
            match target {
                Some(t) if names.len() == 1 => vec![(TableRef::Table(names[0].clone()), t.clone())],
                Some(_) => {
                    return Err(ferry::Error::invalid_args(
                        "--target-table renames one table: give exactly one --table",
                    )
                    .into())
                }
                None => names
                    .into_iter()
                    .map(|n| (TableRef::Table(n.clone()), n))
                    .collect(),
            }
        }
    };
    let sink = ferry::sink::open_sink(&to)?;
    let options = CopyOptions {
        if_exists: args.if_exists,
        jobs,
        limits,
        with_keys: args.with_keys,
    };
    Ok(CopyPlan::build(
        from.to_string(),
        to.to_string(),
        source,
        sink,
        tables,
        Chain::default(),
        options,
    )?)
}
