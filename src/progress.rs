//! Progress bars on stderr while a copy runs: one per table and a total, with rows, rows/s,
//! MB/s and ETA. Shown only when stderr is a terminal and the run is not `--quiet`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The progress display of one run.
pub struct Progress {
    multi: MultiProgress,
    total: ProgressBar,
    enabled: bool,
}

impl Progress {
    /// A display for `total_rows` rows (0 when unknown), drawn only if `show` and stderr is a tty.
    pub fn new(show: bool, total_rows: u64) -> Self {
        let enabled = show && std::io::stderr().is_terminal();
        let target = if enabled {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let total = multi.add(ProgressBar::new(total_rows));
        total.set_style(style("total"));
        total.enable_steady_tick(Duration::from_millis(200));
        Progress {
            multi,
            total,
            enabled,
        }
    }

    /// A bar for one table.
    pub fn table(&self, name: &str, rows: Option<u64>) -> TableProgress {
        let bar = self
            .multi
            .insert_before(&self.total, ProgressBar::new(rows.unwrap_or(0)));
        bar.set_style(style(name));
        TableProgress {
            bar,
            total: self.total.clone(),
            bytes: 0,
        }
    }

    /// Removes the bars.
    pub fn finish(&self) {
        self.total.finish_and_clear();
        let _ = self.multi.clear();
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }
}

fn style(name: &str) -> ProgressStyle {
    let template = format!(
        "{:<20} {{bar:30}} {{human_pos:>11}}/{{human_len:11}} rows {{msg:>26}} ETA {{eta}}",
        truncate(name, 20)
    );
    ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// One table's bar.
pub struct TableProgress {
    bar: ProgressBar,
    total: ProgressBar,
    bytes: u64,
}

impl TableProgress {
    /// Counts rows and bytes written.
    pub fn add(&mut self, rows: u64, bytes: u64) {
        self.bytes += bytes;
        self.bar.inc(rows);
        self.total.inc(rows);
        let secs = self.bar.elapsed().as_secs_f64().max(1e-3);
        let rows_per_sec = self.bar.position() as f64 / secs;
        self.bar.set_message(format!(
            "{rows_per_sec:.0} rows/s {:.1} MB/s",
            self.bytes as f64 / 1e6 / secs
        ));
    }

    /// Says what the table's writer does once every row is sent (committing, building keys
    /// and indexes), the bar ticking meanwhile so a long build is not a silent 100%.
    pub fn phase(&self, what: &str) {
        self.bar.set_message(what.to_string());
        self.bar.enable_steady_tick(Duration::from_millis(200));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
