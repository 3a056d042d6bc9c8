//! `ferry cleanup TARGET`: the arguments and the printed list.

use anyhow::{Context, Result};
use clap::Args;

use super::args::OutputArgs;
use ferry::cleanup::{Action, CleanupOptions, CleanupReport};

pub const CLEANUP_EXAMPLES: &str = "\
Examples:
  # what killed runs left in a PostgreSQL schema: listed, nothing removed
  ferry cleanup 'postgres://me@db/app?schema=sales' --dry-run
  # removed; staging tables a running ferry holds are listed as in use and left alone
  ferry cleanup mysql://me@db/shop
  # a snapshot's staged and unlisted files, and its lock file too, as JSON
  ferry cleanup parquet://snap --all --json
  # temporary files of killed runs beside a single file
  ferry cleanup parquet://out/orders.parquet

Exit code 0 also when something was left alone because a run uses it: it is listed as
\"in use\" (with --json, \"action\": \"in_use\"); run cleanup again once the run has ended.";

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// The target to clean: a database URL (postgres://, mysql://, adbc://, duckdb://), a
    /// SQLite file, a snapshot directory or a single .parquet/.csv file.
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// List what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also remove ferry's state that is not debris: the _ferry_loads record (which snapshot
    /// tables were loaded here), any other table named _ferry_..., a snapshot's lock file.
    #[arg(long)]
    pub all: bool,
    /// PostgreSQL: the schema to clean when the URL names none (default: current_schema()).
    #[arg(long, value_name = "NAME")]
    pub schema: Option<String>,
    /// Print the list as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `ferry cleanup`: objects in use are listed, not an error.
pub fn cleanup(args: CleanupArgs) -> Result<()> {
    super::init_logging(&args.output);
    let target = super::plan::endpoint(&args.target)?;
    let options = CleanupOptions::default()
        .with_dry_run(args.dry_run)
        .with_all(args.all)
        .with_schema(args.schema.clone());
    let report = ferry::cleanup::cleanup(&target, &options)?;
    if let Some(path) = &args.output.report {
        super::write_json(path, &report)
            .with_context(|| format!("cannot write the report {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if !args.output.quiet {
        print!("{}", text(&report));
    }
    Ok(())
}

/// One line per object, then the totals.
fn text(report: &CleanupReport) -> String {
    let mut out = String::new();
    for o in &report.objects {
        out.push_str(&format!(
            "{:<13}{}: {}\n",
            o.action.as_str(),
            o.object,
            o.reason
        ));
    }
    let removed = if report.dry_run {
        format!("{} to remove", report.count(Action::WouldRemove))
    } else {
        format!("{} removed", report.count(Action::Removed))
    };
    let in_use = report.count(Action::InUse);
    let in_use = if in_use > 0 {
        format!(", {in_use} in use (left alone; run again once the run has ended)")
    } else {
        String::new()
    };
    if report.objects.is_empty() {
        out.push_str(&format!(
            "{}: nothing of ferry's to clean up\n",
            report.target
        ));
    } else {
        out.push_str(&format!(
            "{}: {removed}, {} kept{in_use}\n",
            report.target,
            report.count(Action::Kept)
        ));
    }
    out
}
