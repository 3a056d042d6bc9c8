//! The run report: per-table figures (rows, bytes, seconds reading, transforming and writing,
//! rows/s, values changed under a lossy flag per column, peak memory), printed as a one-screen
//! summary and written as JSON with `--report`; and [`LossyCounter`], which a table's source,
//! transform steps and sink count those values with.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
    /// Partitions (chunks) an earlier, interrupted run committed, which `--resume` did not
    /// read again; their rows are counted in `rows`.
    pub chunks_resumed: usize,
    /// The rows of those chunks.
    pub rows_resumed: u64,
    /// Summed over the reading threads.
    pub read_seconds: f64,
    /// Summed over the transforming threads.
    pub transform_seconds: f64,
    pub write_seconds: f64,
    /// Of `write_seconds`: building the table's keys, indexes and checks once its rows were in
    /// (PostgreSQL and MySQL/MariaDB targets).
    pub schema_seconds: f64,
    pub wall_seconds: f64,
    pub rows_per_second: f64,
    pub mb_per_second: f64,
    /// Values the user allowed to be replaced (for example `?mismatch=null`), in all columns.
    pub lossy_values: u64,
    /// The same values by column, named as the column was where the value was replaced (a
    /// source's column, a step's, the target's); columns with none are left out.
    pub lossy_columns: LossyCounts,
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
    /// The source's schema objects the target did not get (indexes, defaults, identities,
    /// foreign keys), each with the reason.
    pub left_out: Vec<LeftOut>,
    /// Seconds spent adding the foreign keys once every table was in.
    pub foreign_keys_seconds: f64,
    /// The transient failures (lost connections, server restarts, deadlocks) after which the
    /// run was tried again (`--retries`), in order; the figures are those of the last attempt.
    pub retried_after: Vec<String>,
    /// `copy --verify`: the verdict of comparing the copied tables with their sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<crate::verify::VerifyReport>,
}

/// Values replaced under a lossy flag, by column name.
pub type LossyCounts = BTreeMap<String, u64>;

/// Counts the values replaced under a lossy flag (`?mismatch=null`, `--zero-dates null`,
/// `cast(.., safe=false)`, `--float-loss replace`), per column, for one table. Clones share the
/// counts; a reader that counts value by value takes its column's [`LossyCounter::column`]
/// once, and then counts without a lock.
#[derive(Debug, Clone, Default)]
pub struct LossyCounter {
    columns: Arc<Mutex<BTreeMap<String, Arc<AtomicU64>>>>,
}

impl LossyCounter {
    /// The count of `column`, shared with this counter.
    pub fn column(&self, column: &str) -> Arc<AtomicU64> {
        let mut columns = self.columns.lock().unwrap_or_else(|p| p.into_inner());
        columns.entry(column.to_string()).or_default().clone()
    }

    /// Counts `n` values of `column`.
    pub fn add(&self, column: &str, n: u64) {
        if n > 0 {
            self.column(column).fetch_add(n, Ordering::Relaxed);
        }
    }

    /// The counts so far, leaving out columns with none.
    pub fn counts(&self) -> LossyCounts {
        let columns = self.columns.lock().unwrap_or_else(|p| p.into_inner());
        columns
            .iter()
            .map(|(c, n)| (c.clone(), n.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Every column's count, added up.
    pub fn total(&self) -> u64 {
        self.counts().values().sum()
    }
}

/// Adds the counts of `more` into `into`.
pub fn add_counts(into: &mut LossyCounts, more: &LossyCounts) {
    for (c, n) in more {
        *into.entry(c.clone()).or_default() += n;
    }
}

/// A schema object of the source a run did not create in the target (an index, a default, an
/// identity, a foreign key), and why: listed in the summary and the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    /// The target table.
    pub table: String,
    /// `index`, `default`, `identity`, `foreign key`.
    pub object: String,
    /// The object's name (an index's, a key's), or its column.
    pub name: String,
    pub why: String,
}

impl std::fmt::Display for LeftOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name.is_empty() {
            true => write!(f, "{} of {}: {}", self.object, self.table, self.why),
            false => write!(
                f,
                "{} {} of {}: {}",
                self.object, self.name, self.table, self.why
            ),
        }
    }
}

/// Where the parts of a run note what they leave out: each note is logged as a warning when
/// made and listed once in the run's report.
#[derive(Debug, Clone, Default)]
pub struct LeftOutLog(Arc<Mutex<Vec<LeftOut>>>);

impl LeftOutLog {
    /// Notes that `object` `name` of `table` is left out, and why; a note made again (a retried
    /// run) is listed once.
    pub fn note(&self, table: &str, object: &str, name: &str, why: &str) {
        let item = LeftOut {
            table: table.to_string(),
            object: object.to_string(),
            name: name.to_string(),
            why: why.to_string(),
        };
        match name.is_empty() {
            true => tracing::warn!(table, "{object} left out: {why}"),
            false => tracing::warn!(table, "{object} {name} left out: {why}"),
        }
        if let Ok(mut all) = self.0.lock() {
            if !all.contains(&item) {
                all.push(item);
            }
        }
    }

    /// Everything noted so far, in order.
    pub fn items(&self) -> Vec<LeftOut> {
        self.0.lock().map(|a| a.clone()).unwrap_or_default()
    }
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

/// The summary's line under a table with replaced values: `replaced as asked: "d" 2, "f" 1`.
fn lossy_line(counts: &LossyCounts) -> Option<String> {
    if counts.is_empty() {
        return None;
    }
    let columns: Vec<String> = counts.iter().map(|(c, n)| format!("{c:?} {n}")).collect();
    Some(format!("replaced as asked: {}", columns.join(", ")))
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
            if t.schema_seconds >= 0.05 {
                let _ = writeln!(
                    out,
                    "  keys, indexes and checks built in {:.2} s, after the load",
                    t.schema_seconds
                );
            }
            if let Some(line) = lossy_line(&t.lossy_columns) {
                let _ = writeln!(out, "  {line}");
            }
            if t.chunks_resumed > 0 {
                let _ = writeln!(
                    out,
                    "  resumed: {} of {} chunk(s) ({} rows) were committed by an earlier run and \
                     not read again; the table is not one snapshot of the source across the \
                     resume",
                    t.chunks_resumed, t.partitions, t.rows_resumed
                );
            }
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
                format!(", {} value(s) replaced as asked", self.lossy_values)
            } else {
                String::new()
            }
        );
        if self.foreign_keys_seconds >= 0.05 {
            let _ = writeln!(
                out,
                "foreign keys added in {:.2} s, once every table was in",
                self.foreign_keys_seconds
            );
        }
        if let Some(line) = not_copied_line(&self.not_copied) {
            let _ = writeln!(out, "{line}");
        }
        if !self.left_out.is_empty() {
            let _ = writeln!(
                out,
                "left out: {} schema object(s) the target did not get:",
                self.left_out.len()
            );
            for l in &self.left_out {
                let _ = writeln!(out, "  {l}");
            }
        }
        if let Some(last) = self.retried_after.last() {
            let _ = writeln!(
                out,
                "retried {} time(s) after a transient failure; the last: {last}",
                self.retried_after.len()
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_values_are_counted_per_column_and_summarised() {
        let counter = LossyCounter::default();
        let shared = counter.clone();
        let d = counter.column("d");
        d.fetch_add(2, Ordering::Relaxed);
        shared.add("f", 1);
        shared.add("g", 0);
        counter.column("unused");
        let mut counts = counter.counts();
        assert_eq!(
            counts,
            LossyCounts::from([("d".into(), 2), ("f".into(), 1)])
        );
        assert_eq!(counter.total(), 3);
        add_counts(
            &mut counts,
            &LossyCounts::from([("f".into(), 4), ("x y".into(), 1)]),
        );
        assert_eq!(
            lossy_line(&counts).unwrap(),
            "replaced as asked: \"d\" 2, \"f\" 5, \"x y\" 1"
        );
        assert_eq!(lossy_line(&LossyCounts::new()), None);
        let mut report = RunReport {
            tables: vec![TableReport {
                source: "t".into(),
                target: "t".into(),
                lossy_values: 8,
                lossy_columns: counts,
                ..Default::default()
            }],
            ..Default::default()
        };
        report.total(1.0);
        let summary = report.summary();
        assert!(
            summary.contains("\n  replaced as asked: \"d\" 2, \"f\" 5"),
            "{summary}"
        );
        assert!(
            summary.contains(", 8 value(s) replaced as asked\n"),
            "{summary}"
        );
        let json = serde_json::to_value(&report.tables[0]).unwrap();
        assert_eq!(json["lossy_columns"]["f"], 5);
    }
}
