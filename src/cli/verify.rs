//! `ferry verify FROM TO`: the arguments and the printed verdict.

use anyhow::Result;
use clap::Args;

use super::args::OutputArgs;
use ferry::source::{BatchLimits, ReadOptions};
use ferry::verify::{VerifyOptions, VerifyReport, DEFAULT_MAX_DIFFERENCES};

pub const VERIFY_EXAMPLES: &str = "\
Examples:
  # after a copy: the same rows, compared by value across engines
  ferry verify sqlite://app.db postgres://me@db/app
  # one table, renamed in the target, the result as JSON
  ferry verify postgres://me@db/app parquet://snap --table orders --target-table orders_2024 --json";

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The endpoint copied from.
    #[arg(value_name = "FROM")]
    pub from: String,
    /// The endpoint copied to.
    #[arg(value_name = "TO")]
    pub to: String,
    /// Verify only this table (repeatable). Default: every table of FROM.
    #[arg(long = "table", value_name = "NAME")]
    pub tables: Vec<String>,
    /// The table's name in TO, for a single --table copied under another name.
    #[arg(long, value_name = "NAME")]
    pub target_table: Option<String>,
    /// Differences listed per table at most.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_DIFFERENCES)]
    pub max_differences: usize,
    /// Readers at once, per side. Default: the number of cores.
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Database sources: the schema of the tables (default: public).
    #[arg(long, value_name = "NAME")]
    pub schema: Option<String>,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `ferry verify`; differences are an error of kind `Differs` (exit 11) after the verdict
/// is printed.
pub fn verify(args: VerifyArgs) -> Result<()> {
    super::init_logging(&args.output);
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if jobs == 0 {
        return Err(ferry::Error::invalid_args("--jobs must be at least 1").into());
    }
    if args.target_table.is_some() && args.tables.len() != 1 {
        return Err(ferry::Error::invalid_args(
            "--target-table names one table: give exactly one --table",
        )
        .into());
    }
    let from = super::plan::endpoint(&args.from)?;
    let to = super::plan::endpoint(&args.to)?;
    let read = ReadOptions {
        jobs,
        schema: args.schema.clone(),
        ..ReadOptions::new(BatchLimits::default())
    };
    let source = ferry::source::open_source(&from, &read)?;
    let target = ferry::source::open_source(&to, &read)?;
    let tables: Vec<(String, Option<String>)> = args
        .tables
        .iter()
        .map(|t| (t.clone(), args.target_table.clone()))
        .collect();
    let options = VerifyOptions {
        max_differences: args.max_differences,
        jobs,
    };
    let report = ferry::verify::verify(
        &from.to_string(),
        &to.to_string(),
        source.as_ref(),
        target.as_ref(),
        &tables,
        &options,
    )?;
    if let Some(path) = &args.output.report {
        super::write_json(path, &report)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if !args.output.quiet || !report.equal {
        print!("{}", text(&report));
    }
    differs(&report)
}

/// `ferry copy --verify`: verifies the copied tables (`(source table, target table)`) with the
/// copy's reading options, prints the verdict unless quiet (always when they differ).
pub(super) fn after_copy(
    args: &super::args::CopyArgs,
    tables: &[(String, Option<String>)],
) -> Result<VerifyReport> {
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let from = super::plan::endpoint(&args.from)?;
    let to = super::plan::endpoint(&args.to)?;
    let read = ReadOptions {
        jobs,
        schema: args.read.schema.clone(),
        ..ReadOptions::new(BatchLimits::default())
    };
    let source = ferry::source::open_source(&from, &read)?;
    let target = ferry::source::open_source(&to, &read)?;
    let options = VerifyOptions {
        max_differences: DEFAULT_MAX_DIFFERENCES,
        jobs,
    };
    let report = ferry::verify::verify(
        &from.to_string(),
        &to.to_string(),
        source.as_ref(),
        target.as_ref(),
        tables,
        &options,
    )?;
    if !args.output.quiet || !report.equal {
        print!("{}", text(&report));
    }
    Ok(report)
}

/// Ok when the report is equal, else the `Differs` error (exit 11) naming the tables.
pub(super) fn differs(report: &VerifyReport) -> Result<()> {
    if report.equal {
        return Ok(());
    }
    let differing: Vec<&str> = report
        .tables
        .iter()
        .filter(|t| !t.equal)
        .map(|t| t.source.as_str())
        .collect();
    Err(ferry::Error::new(
        ferry::ErrorKind::Differs,
        format!(
            "{} -> {}: {} of {} table(s) differ: {}",
            report.source,
            report.target,
            differing.len(),
            report.tables.len(),
            differing.join(", ")
        ),
    )
    .into())
}

/// The verdict as text: a line per table, then its differences.
fn text(report: &VerifyReport) -> String {
    let mut out = format!("{} -> {}\n", report.source, report.target);
    for t in &report.tables {
        let by = if t.key.is_empty() {
            "whole rows".to_string()
        } else {
            format!("key ({})", t.key.join(", "))
        };
        out.push_str(&format!(
            "{} -> {}: {} ({} / {} rows, by {by})\n",
            t.source,
            t.target,
            if t.equal { "equal" } else { "DIFFERENT" },
            t.source_rows,
            t.target_rows
        ));
        for c in &t.column_mismatch {
            out.push_str(&format!("  column {c}\n"));
        }
        for d in &t.differences {
            out.push_str(&format!("  {}: {}\n", d.kind, d.key));
            for c in &d.columns {
                out.push_str(&format!(
                    "    {}: {} (source) != {} (target)\n",
                    c.column, c.source, c.target
                ));
            }
        }
        if !t.equal && t.differences.is_empty() && t.column_mismatch.is_empty() {
            out.push_str(&format!(
                "  {} bucket(s) of keys differ; rerun with a larger --max-differences\n",
                t.differing_buckets
            ));
        }
    }
    out.push_str(&format!(
        "{} table(s) verified in {:.2} s: {}\n",
        report.tables.len(),
        report.seconds,
        if report.equal { "equal" } else { "different" }
    ));
    out
}
