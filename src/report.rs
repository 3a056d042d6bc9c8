//! The run report: per-table figures (rows, bytes, seconds reading, transforming and writing,
//! rows/s, peak memory), printed as a one-screen summary and written as JSON with `--report`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::source::NotCopied;

/// What happened to one table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TableReport {
    pub source: String,
    pub target: String,
    pub rows: u64,
    /// Rows the source returned, before the transforms (a filter evaluated by the source
    /// returns fewer).
    pub rows_read: u64,
    /// Bytes of Arrow data moved.
    pub bytes: u64,
    pub partitions: usize,
    /// Summed over the reading threads.
    pub read_seconds: f64,
    /// Summed over the transforming threads.
    pub transform_seconds: f64,
    pub write_seconds: f64,
    pub wall_seconds: f64,
    pub rows_per_second: f64,
    pub mb_per_second: f64,
    /// Values the user allowed to be replaced (for example `?mismatch=null`).
    pub lossy_values: u64,
    /// Files written (file targets).
    pub files: Vec<String>,
    /// The process's peak resident memory when the table was done.
    pub peak_rss_bytes: u64,
}

/// What happened in one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    pub ferry_version: String,
    pub source: String,
    pub target: String,
    pub status: String,
    pub error: Option<String>,
    pub tables: Vec<TableReport>,
    pub rows: u64,
    pub bytes: u64,
    pub wall_seconds: f64,
    pub rows_per_second: f64,
    pub lossy_values: u64,
    pub peak_rss_bytes: u64,
    /// Relations of the source a run of all its tables leaves out (views, materialized views,
    /// foreign tables); `--table` copies one's rows.
    pub not_copied: Vec<NotCopied>,
}

/// The line naming the relations a run did not copy, if any: `not copied: v (view), ...`.
pub fn not_copied_line(not_copied: &[NotCopied]) -> Option<String> {
    if not_copied.is_empty() {
        return None;
    }
    let names: Vec<String> = not_copied.iter().map(|n| n.to_string()).collect();
    Some(format!(
        "not copied: {}; name one with --table to copy its rows",
        names.join(", ")
    ))
}

/// The process's peak resident set size so far (`VmHWM`), 0 where it cannot be read.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

impl RunReport {
    /// Adds up the tables into the run's totals.
    pub fn total(&mut self, wall_seconds: f64) {
        self.rows = self.tables.iter().map(|t| t.rows).sum();
        self.bytes = self.tables.iter().map(|t| t.bytes).sum();
        self.lossy_values = self.tables.iter().map(|t| t.lossy_values).sum();
        self.wall_seconds = wall_seconds;
        self.rows_per_second = if wall_seconds > 0.0 {
            self.rows as f64 / wall_seconds
        } else {
            0.0
        };
        self.peak_rss_bytes = peak_rss_bytes();
    }

    /// The one-screen summary.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} -> {}", self.source, self.target);
        let _ = writeln!(
            out,
            "{:<24} {:>12} {:>10} {:>8} {:>12} {:>8} {:>8} {:>8}",
            "table", "rows", "MiB", "secs", "rows/s", "read s", "xform s", "write s"
        );
        for t in &self.tables {
            let name = if t.source == t.target {
                t.target.clone()
            } else {
                format!("{} -> {}", t.source, t.target)
            };
            let _ = writeln!(
                out,
                "{:<24} {:>12} {:>10.1} {:>8.2} {:>12.0} {:>8.2} {:>8.2} {:>8.2}",
                name,
                t.rows,
                mib(t.bytes),
                t.wall_seconds,
                t.rows_per_second,
                t.read_seconds,
                t.transform_seconds,
                t.write_seconds
            );
        }
        let _ = writeln!(
            out,
            "{} table(s), {} rows, {:.1} MiB in {:.2} s ({:.0} rows/s), peak memory {:.0} MiB{}",
            self.tables.len(),
            self.rows,
            mib(self.bytes),
            self.wall_seconds,
            self.rows_per_second,
            mib(self.peak_rss_bytes),
            if self.lossy_values > 0 {
                format!(", {} value(s) replaced by NULL as asked", self.lossy_values)
            } else {
                String::new()
            }
        );
        if let Some(line) = not_copied_line(&self.not_copied) {
            let _ = writeln!(out, "{line}");
        }
        out
    }
}
