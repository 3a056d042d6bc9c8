//! The type-by-route matrix (issue 17). Each source engine has one wide torture table, one
//! column per declared type it has, each with NULL, the extremes of its range and its special
//! values. The ferry binary copies it to every sink, one `#[test]` per route, and every cell is
//! compared with the source's, both sides read by the engines' own renderings and never by
//! ferry's readers: PostgreSQL's `::text` and its own arithmetic (`extract(epoch ...)`),
//! MariaDB's `CAST(... AS CHAR)` and binary-protocol floats, rusqlite's typed values with their
//! storage class, DuckDB's `::VARCHAR` and `epoch_us`, the `parquet` crate's row API, and the
//! CSV file's text.
//!
//! Both sides are brought to one canonical form per class of cell ([`Kind`]), by the rule the
//! README documents for it (named where each reader applies it). Each cell then ends as one of
//! [`Expect`]: equal; refused by ferry with a non-zero exit naming the table, the column and the
//! value (the message is asserted). A silent difference fails the route.
//!
//! A route is run as few times as its refusals allow: once with every column that has no
//! refused cell, once per set of such columns without their refused rows, and once per refused
//! cell (`select(id, c)` and `filter(id = r)`: ferry stops at the first refused value), the
//! refusals side by side. Values the source itself refuses live in a `refused` table of their
//! own per engine (`*_source_refusals`): every column is read at the source before `select`
//! drops any, so one of them would fail every run of the torture table. Each torture table is
//! built once per test run and read by its six routes. `FERRY_MATRIX_PROBE=1` (or a list of
//! columns) runs every column and cell alone and prints what arrived, for a new type or sink.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use mysql::prelude::Queryable;
use tempfile::TempDir;

use crate::adbc::{drivers, fx};
use crate::fidelity_types::duck_rows;
use crate::postgres::{fresh_schema, pg};

// ---------------------------------------------------------------------------------------------
// Cells and their canonical forms
// ---------------------------------------------------------------------------------------------

/// The class of a cell, which decides its canonical form: the text both sides are brought to
/// before they are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An integer of any width or signedness: its decimal text.
    Int,
    /// `true` / `false`.
    Bool,
    /// A float by its bits: Rust's shortest round-trip text of the `f32` (`NaN`, `inf`, `-0.0`).
    F32,
    /// The same for an `f64`.
    F64,
    /// A decimal: its exact text with this many digits after the point.
    Dec(usize),
    /// Text, byte for byte.
    Text,
    /// Bytes, as lowercase hex.
    Bytes,
    /// Days since 1970-01-01, or `infinity` / `-infinity`.
    Date,
    /// Microseconds since midnight.
    Time,
    /// Microseconds since 1970-01-01 00:00:00 of the wall time, or `infinity` / `-infinity`.
    Ts,
    /// Microseconds since 1970-01-01 00:00:00 UTC, or `infinity` / `-infinity`.
    TsTz,
    /// A signed duration in microseconds (MySQL's `time`).
    Dur,
}

/// A column of a torture table: its name, its declaration in the source's SQL, its class, and
/// its values as SQL literals for rows 2 to 8 (row 1 is NULL in every column).
struct Col {
    name: &'static str,
    decl: &'static str,
    kind: Kind,
    vals: [&'static str; 7],
}

const fn col(name: &'static str, decl: &'static str, kind: Kind, vals: [&'static str; 7]) -> Col {
    Col {
        name,
        decl,
        kind,
        vals,
    }
}

/// Rows by `id`, each the canonical text of its cells (`None`: NULL), columns in the order asked.
type Rows = BTreeMap<i64, Vec<Option<String>>>;

/// Row ids: 1 holds NULLs, 2 to 8 the values of [`Col::vals`].
const IDS: [i64; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

/// The literal of a cell: `None` for the NULL row.
fn literal(c: &Col, id: i64) -> Option<&'static str> {
    (id > 1).then(|| c.vals[(id - 2) as usize])
}

fn f32c(x: f32) -> String {
    format!("{x:?}")
}

fn f64c(x: f64) -> String {
    format!("{x:?}")
}

/// A double that must hold a float32 exactly (a float32 widened, as SQLite and DuckDB's DOUBLE
/// hold one): its float32's canonical text, or a marker that differs from every float's.
fn f64_as_f32(x: f64) -> String {
    if x.is_nan() || (x as f32) as f64 == x {
        f32c(x as f32)
    } else {
        format!("{x:?} (not a float32)")
    }
}

/// A number's text at `scale` digits after the point (`17` -> `17.00`); more digits than
/// `scale` are kept, so the text differs from every value of the column.
fn dec_at(text: &str, scale: usize) -> String {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if scale == 0 {
        return if frac.is_empty() {
            int.to_string()
        } else {
            text.to_string()
        };
    }
    format!("{int}.{frac:0<scale$}")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!(),
};

fn days(d: NaiveDate) -> String {
    (d - EPOCH).num_days().to_string()
}

fn micros_of(t: NaiveDateTime) -> String {
    let t = t.and_utc();
    ts_from_ns(t.timestamp() as i128 * 1_000_000_000 + t.timestamp_subsec_nanos() as i128)
}

/// A timestamp's canonical text from nanoseconds since the epoch: its microseconds, or, when it
/// has a fraction of a microsecond, a text no microsecond value has.
fn ts_from_ns(ns: i128) -> String {
    if ns % 1000 == 0 {
        (ns / 1000).to_string()
    } else {
        format!("{ns} ns (no whole microsecond)")
    }
}

fn time_micros(t: NaiveTime) -> String {
    ts_from_ns(t.num_seconds_from_midnight() as i128 * 1_000_000_000 + t.nanosecond() as i128)
}

/// `[-]H+:MM:SS[.ffffff]` (MySQL's `time` text; nine digits for nanoseconds) -> the canonical
/// signed microseconds.
fn duration_micros(s: &str) -> Option<String> {
    // PostgreSQL's interval input text ferry carries a DuckDB INTERVAL as (README, DuckDB
    // source): exact when its months and days are zero.
    if let Some(us) = s
        .strip_prefix("0 mons 0 days ")
        .and_then(|r| r.strip_suffix(" microseconds"))
    {
        return us.parse::<i128>().ok().map(|v| ts_from_ns(v * 1000));
    }
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (hms, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let mut parts = hms.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let sec: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || frac.len() > 9 || m > 59 || sec > 59 {
        return None;
    }
    let f: i128 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    let v = ((h as i128 * 60 + m as i128) * 60 + sec as i128) * 1_000_000_000 + f;
    Some(ts_from_ns(if neg { -v } else { v }))
}

// ---------------------------------------------------------------------------------------------
// Expectations
// ---------------------------------------------------------------------------------------------

/// What becomes of one cell on one route.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// It arrives, equal in its kind's canonical form.
    Equal,
    /// ferry exits with `code` and one error line naming the table, the column and `says`.
    Refused { code: i32, says: &'static str },
    /// The sink refuses the column's type before any row is read: exit `code`, `says`.
    TypeRefused { code: i32, says: &'static str },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sink {
    Pg,
    My,
    Sqlite,
    Parquet,
    Csv,
    Duck,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Pg,
    My,
    Sqlite,
    Parquet,
    Duck,
    Csv,
    AdbcPg,
    AdbcSqlite,
}

impl Engine {
    fn short(self) -> &'static str {
        match self {
            Engine::Pg => "pg",
            Engine::My => "my",
            Engine::Sqlite => "sq",
            Engine::Parquet => "pq",
            Engine::Duck => "dk",
            Engine::Csv => "cv",
            Engine::AdbcPg => "apg",
            Engine::AdbcSqlite => "asq",
        }
    }
}

impl Sink {
    fn short(self) -> &'static str {
        match self {
            Sink::Pg => "pg",
            Sink::My => "my",
            Sink::Sqlite => "sq",
            Sink::Parquet => "pq",
            Sink::Csv => "csv",
            Sink::Duck => "duck",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running a route
// ---------------------------------------------------------------------------------------------

/// A source torture table, built once per test run and read by every route from it.
struct Source {
    engine: Engine,
    /// ferry's URL of the source.
    url: String,
    /// The table as `--table` names it.
    table: &'static str,
    cols: &'static [Col],
    /// Every cell as the source engine itself renders it, in canonical form.
    want: Rows,
    expect: fn(Sink, &Col, Option<&str>) -> Expect,
}

/// A route's target: a fresh schema, database or directory, and its reader.
struct Target {
    sink: Sink,
    name: String,
    dir: TempDir,
    drv: Option<PathBuf>,
    pg: Option<(String, postgres::Client)>,
    my: Option<(String, mysql::Conn)>,
    runs: usize,
}

const TABLE: &str = "torture";

impl Target {
    /// `None` when the sink's server or driver is missing (skipped, as `support` decides).
    fn new(sink: Sink, engine: Engine) -> Option<Target> {
        let name = format!("mx_{}_{}", engine.short(), sink.short());
        let mut t = Target {
            sink,
            name: name.clone(),
            dir: TempDir::new().unwrap(),
            drv: None,
            pg: None,
            my: None,
            runs: 0,
        };
        match sink {
            Sink::Pg => {
                let (url, mut c) = pg()?;
                fresh_schema(&mut c, &name);
                t.pg = Some((url, c));
            }
            Sink::My => t.my = Some(crate::mysql::fresh_db(&format!("ferry_it_{name}"))?),
            Sink::Duck => t.drv = Some(drivers()?),
            _ => {}
        }
        Some(t)
    }

    /// The URL of the next run's target: file targets get a fresh path each run.
    fn url(&mut self) -> String {
        self.runs += 1;
        let run = self.dir.path().join(format!("run{}", self.runs));
        match self.sink {
            Sink::Pg => format!("{}?schema={}", self.pg.as_ref().unwrap().0, self.name),
            Sink::My => self.my.as_ref().unwrap().0.clone(),
            Sink::Sqlite => format!("sqlite://{}.sqlite", run.display()),
            Sink::Parquet => format!("parquet://{}", run.display()),
            Sink::Csv => format!("csv://{}", run.display()),
            Sink::Duck => format!("duckdb://{}.duckdb", run.display()),
        }
    }

    fn last_run(&self) -> PathBuf {
        self.dir.path().join(format!("run{}", self.runs))
    }

    /// The cells of the last run's table, by the target's own reader.
    fn read(&mut self, cols: &[&Col]) -> Rows {
        let run = self.last_run();
        match self.sink {
            Sink::Pg => {
                let c = &mut self.pg.as_mut().unwrap().1;
                pg_read(c, &self.name, TABLE, cols)
            }
            Sink::My => my_read(&mut self.my.as_mut().unwrap().1, TABLE, cols),
            Sink::Sqlite => sqlite_read(&run.with_extension("sqlite"), TABLE, cols),
            Sink::Parquet => parquet_read(&run.join(TABLE), cols),
            Sink::Csv => csv_read(&run.join(TABLE), cols),
            Sink::Duck => duck_read(
                self.drv.as_ref().unwrap(),
                &run.with_extension("duckdb"),
                TABLE,
                cols,
            ),
        }
    }
}

/// One run of ferry over `cols` (with `id`) and the rows `filter` keeps.
fn ferry_run(
    src: &Source,
    t: &mut Target,
    cols: &[&Col],
    filter: Option<String>,
) -> std::process::Output {
    let url = t.url();
    let drv = t.drv.clone().or_else(drivers_quiet).unwrap_or_default();
    fx(&drv)
        .args(ferry_args(src, &url, TABLE, cols, filter))
        .output()
        .unwrap()
}

/// `ferry copy` of the source's `cols` (with `id`) and the rows `filter` keeps into `table`.
fn ferry_args(
    src: &Source,
    url: &str,
    table: &str,
    cols: &[&Col],
    filter: Option<String>,
) -> Vec<String> {
    let names: Vec<&str> = std::iter::once("id")
        .chain(cols.iter().map(|c| c.name))
        .collect();
    let mut args: Vec<String> = [
        "copy",
        &src.url,
        url,
        "--table",
        src.table,
        "--target-table",
        table,
        "--if-exists",
        "replace",
        "--jobs",
        "1",
        "-q",
        "--transform",
        &format!("select({})", names.join(", ")),
    ]
    .map(String::from)
    .into();
    if let Some(f) = filter {
        args.push("--transform".into());
        args.push(format!("filter({f})"));
    }
    args
}

/// Refusal runs side by side: they only fail, so they need no reading, and a run spends most
/// of its time on connections and the target's DDL.
const REFUSAL_THREADS: usize = 4;

/// The drivers' directory when installed, without a notice (a route without DuckDB needs none).
fn drivers_quiet() -> Option<PathBuf> {
    let dir = std::env::var_os("FERRY_ADBC_DRIVER_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/adbc-drivers"));
    dir.is_dir().then_some(dir)
}

fn id_list(ids: &BTreeSet<i64>) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One `#[test]` per route from a source: `routes!(source; test_name => Sink, ...)`.
macro_rules! routes {
    ($source:ident; $($name:ident => $sink:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let Some(src) = $source() else { return };
                route(src, Sink::$sink);
            }
        )*
    };
}

/// Runs the route `src` -> `sink` and panics with every difference and every broken refusal.
fn route(src: &Source, sink: Sink) {
    let Some(mut t) = Target::new(sink, src.engine) else {
        return;
    };
    let route = format!("{:?} -> {:?}", src.engine, sink);
    let started = std::time::Instant::now();
    if std::env::var_os("FERRY_MATRIX_DUMP").is_some() {
        for (id, row) in &src.want {
            for (c, v) in src.cols.iter().zip(row) {
                eprintln!("DUMP {:?} {} row {id}: {v:?}", src.engine, c.name);
            }
        }
    }
    if std::env::var_os("FERRY_MATRIX_PROBE").is_some() {
        return probe(src, &mut t, &route);
    }
    let mut failures: Vec<String> = Vec::new();
    // The expectation of every cell, and the rows each column leaves out of its equal runs.
    let mut left_out: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    let mut refusals: Vec<(&Col, i64, i32, &str)> = Vec::new();
    let mut type_refused: Vec<(&Col, i32, &str)> = Vec::new();
    let mut plain: Vec<&Col> = Vec::new();
    for c in src.cols {
        let mut out = BTreeSet::new();
        let mut whole = None;
        for id in IDS {
            match (src.expect)(sink, c, literal(c, id)) {
                Expect::Equal => {}
                Expect::Refused { code, says } => {
                    out.insert(id);
                    refusals.push((c, id, code, says));
                }
                Expect::TypeRefused { code, says } => whole = Some((code, says)),
            }
        }
        match whole {
            Some((code, says)) => type_refused.push((c, code, says)),
            None if out.is_empty() => plain.push(c),
            None => {
                left_out.insert(c.name, out);
            }
        }
    }
    let compare = |t: &mut Target,
                   cols: &[&Col],
                   ids: &BTreeSet<i64>,
                   failures: &mut Vec<String>| {
        let got = t.read(cols);
        let got_ids: BTreeSet<i64> = got.keys().copied().collect();
        if &got_ids != ids {
            failures.push(format!(
                "{route}: rows {got_ids:?} arrived, {ids:?} expected"
            ));
            return;
        }
        let idx: HashMap<&str, usize> = src
            .cols
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name, i))
            .collect();
        for id in ids {
            for (j, c) in cols.iter().enumerate() {
                let want = &src.want[id][idx[c.name]];
                let have = &got[id][j];
                if want != have {
                    failures.push(format!(
                        "{route}: column {} ({}), row {id} (literal {:?}): source {want:?}, target {have:?}",
                        c.name,
                        c.decl,
                        literal(c, *id)
                    ));
                }
            }
        }
    };
    // 1. Every column without a refused cell, every row.
    let all: BTreeSet<i64> = IDS.into_iter().collect();
    let out = ferry_run(src, &mut t, &plain, None);
    if out.status.success() {
        compare(&mut t, &plain, &all, &mut failures);
    } else {
        failures.push(format!(
            "{route}: the run of the columns without refusals failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // 2. The other columns, grouped by the rows they leave out.
    let mut groups: BTreeMap<Vec<i64>, Vec<&Col>> = BTreeMap::new();
    for c in src.cols {
        if let Some(ids) = left_out.get(c.name) {
            groups
                .entry(ids.iter().copied().collect())
                .or_default()
                .push(c);
        }
    }
    for (out_ids, cols) in &groups {
        let out_set: BTreeSet<i64> = out_ids.iter().copied().collect();
        let keep: BTreeSet<i64> = all.difference(&out_set).copied().collect();
        let o = ferry_run(
            src,
            &mut t,
            cols,
            Some(format!("id NOT IN ({})", id_list(&out_set))),
        );
        if o.status.success() {
            compare(&mut t, cols, &keep, &mut failures);
        } else {
            failures.push(format!(
                "{route}: the run of {:?} without rows {out_ids:?} failed: {}",
                cols.iter().map(|c| c.name).collect::<Vec<_>>(),
                String::from_utf8_lossy(&o.stderr)
            ));
        }
    }
    // 3. Each refused cell alone: a non-zero exit naming the table, the column and the value.
    let check_refusal = |what: String,
                         o: std::process::Output,
                         col: &str,
                         code: i32,
                         says: &str,
                         failures: &mut Vec<String>| {
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        let named = (err.contains(&format!("\"{col}\"")) || err.contains(&format!("column {col}")))
            && err.contains(TABLE)
            && err.contains(says);
        if o.status.code() != Some(code) || err.lines().count() != 1 || !named {
            failures.push(format!(
                "{route}: {what}: expected exit {code} naming table {TABLE}, column \"{col}\" and {says:?}; got exit {:?}: {err}",
                o.status.code()
            ));
        }
    };
    // Each into a table of its own: a run holds its target table's lock.
    let mut jobs = Vec::new();
    for (c, id, code, says) in refusals {
        let what = format!("column {} row {id} ({:?})", c.name, literal(c, id));
        jobs.push((
            what,
            c,
            Some(format!("id = {id}")),
            code,
            says,
            t.url(),
            format!("{TABLE}_{}", t.runs),
        ));
    }
    for (c, code, says) in type_refused {
        let what = format!("column {} ({})", c.name, c.decl);
        jobs.push((
            what,
            c,
            None,
            code,
            says,
            t.url(),
            format!("{TABLE}_{}", t.runs),
        ));
    }
    let drv = t.drv.clone().or_else(drivers_quiet).unwrap_or_default();
    let queue = std::sync::Mutex::new(jobs.into_iter());
    let done = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..REFUSAL_THREADS {
            s.spawn(|| loop {
                let Some((what, c, filter, code, says, url, table)) = queue.lock().unwrap().next()
                else {
                    break;
                };
                let o = fx(&drv)
                    .args(ferry_args(src, &url, &table, &[c], filter))
                    .output()
                    .unwrap();
                done.lock().unwrap().push((what, o, c.name, code, says));
            });
        }
    });
    for (what, o, col, code, says) in done.into_inner().unwrap() {
        check_refusal(what, o, col, code, says, &mut failures);
    }
    eprintln!(
        "matrix {route}: {} runs in {:.1} s",
        t.runs,
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} difference(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Development aid (`FERRY_MATRIX_PROBE=1`, or a comma-separated list of columns): every column alone, then every cell of a failing
/// column alone, printing what arrived; asserts nothing.
fn probe(src: &Source, t: &mut Target, route: &str) {
    let idx: HashMap<&str, usize> = src
        .cols
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name, i))
        .collect();
    let only = std::env::var("FERRY_MATRIX_PROBE").unwrap_or_default();
    for c in src.cols {
        if only.len() > 1 && !only.split(',').any(|n| n == c.name) {
            continue;
        }
        let o = ferry_run(src, t, &[c], None);
        if o.status.success() {
            let got = t.read(&[c]);
            for id in IDS {
                let want = &src.want[&id][idx[c.name]];
                let have = got.get(&id).map(|r| r[0].clone());
                if have.as_ref() != Some(want) {
                    eprintln!(
                        "PROBE {route} {} ({}) row {id}: source {want:?}, target {have:?}",
                        c.name, c.decl
                    );
                }
            }
            continue;
        }
        eprintln!(
            "PROBE {route} {} ({}) column fails: {}",
            c.name,
            c.decl,
            String::from_utf8_lossy(&o.stderr).trim()
        );
        for id in IDS {
            let o = ferry_run(src, t, &[c], Some(format!("id = {id}")));
            if o.status.success() {
                let got = t.read(&[c]);
                let want = &src.want[&id][idx[c.name]];
                let have = got.get(&id).map(|r| r[0].clone());
                if have.as_ref() != Some(want) {
                    eprintln!(
                        "PROBE {route} {} row {id}: source {want:?}, target {have:?}",
                        c.name
                    );
                }
            } else {
                eprintln!(
                    "PROBE {route} {} row {id} ({:?}) exit {:?}: {}",
                    c.name,
                    literal(c, id),
                    o.status.code(),
                    String::from_utf8_lossy(&o.stderr).trim()
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Source-side refusals
// ---------------------------------------------------------------------------------------------

/// A value the source itself refuses to read, whatever the sink: every column of a run is
/// read and decoded at the source (`select` and `drop` run in ferry, after the read), so these
/// values live in a table of their own, `refused`, one per row, each row read alone
/// (`filter(id = N)` runs in the source).
struct SourceRefusal {
    col: &'static str,
    decl: &'static str,
    /// The value, as an SQL literal.
    lit: &'static str,
    /// Query options for the source URL that make it a refusal (`?tinyint1=bool`).
    opts: &'static str,
    code: i32,
    says: &'static str,
}

const fn refusal(
    col: &'static str,
    decl: &'static str,
    lit: &'static str,
    opts: &'static str,
    code: i32,
    says: &'static str,
) -> SourceRefusal {
    SourceRefusal {
        col,
        decl,
        lit,
        opts,
        code,
        says,
    }
}

/// The `refused` table's DDL columns and rows: each row holds one refusal's value, NULL elsewhere.
fn refused_table(list: &[SourceRefusal], quote: char) -> (Vec<String>, Vec<String>) {
    let mut cols: Vec<(&str, &str)> = Vec::new();
    for r in list {
        if !cols.iter().any(|(c, _)| *c == r.col) {
            cols.push((r.col, r.decl));
        }
    }
    let defs = cols
        .iter()
        .map(|(c, d)| format!("{quote}{c}{quote} {d}"))
        .collect();
    let rows = list
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let vals: Vec<&str> = cols
                .iter()
                .map(|(c, _)| if *c == r.col { r.lit } else { "NULL" })
                .collect();
            format!(
                "INSERT INTO refused VALUES ({}, {})",
                i + 1,
                vals.join(", ")
            )
        })
        .collect();
    (defs, rows)
}

/// Runs every refusal alone into a Parquet file and asserts its exit and one error line naming
/// the table `refused`, the column and the value.
fn assert_source_refusals(url: &str, table: &str, list: &[SourceRefusal]) {
    let dir = TempDir::new().unwrap();
    let mut failures = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let target = format!(
            "parquet://{}",
            dir.path().join(format!("r{i}.parquet")).display()
        );
        let o = crate::support::ferry()
            .args([
                "copy",
                &format!("{url}{}", r.opts),
                &target,
                "--table",
                table,
                "-q",
            ])
            .args(["--transform", &format!("filter(id = {})", i + 1)])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        let named = err.contains("refused")
            && err.contains(&format!("\"{}\"", r.col))
            && err.contains(r.says);
        if o.status.code() != Some(r.code) || err.lines().count() != 1 || !named {
            failures.push(format!(
                "{} {} = {}{}: expected exit {} naming the table, the column and {:?}; got exit {:?}: {err}",
                r.col, r.decl, r.lit, r.opts, r.code, r.says, o.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Readers: each engine's own rendering, brought to the canonical form of the column's kind
// ---------------------------------------------------------------------------------------------

/// PostgreSQL: `::text` (DateStyle ISO, UTC), and PostgreSQL's own arithmetic for temporal
/// values (`extract(epoch ...)`, date differences), chosen by the column's actual type.
fn pg_read(c: &mut postgres::Client, schema: &str, table: &str, cols: &[&Col]) -> Rows {
    let qualified = format!("\"{schema}\".\"{table}\"");
    let types: HashMap<String, String> = c
        .query(
            "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute
             WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped",
            &[&qualified],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let ty = |c: &Col| {
        types
            .get(c.name)
            .cloned()
            .unwrap_or_else(|| panic!("no column {}", c.name))
    };
    let exprs: Vec<String> = cols
        .iter()
        .map(|c| {
            let q = format!("\"{}\"", c.name);
            let t = ty(c);
            match c.kind {
                Kind::Date if t == "date" => format!(
                    "CASE WHEN isfinite({q}) THEN ({q} - DATE '1970-01-01')::text ELSE {q}::text END"
                ),
                Kind::Time if t.starts_with("time") && !t.contains("with time zone") => {
                    format!("(extract(epoch FROM {q}) * 1000000)::numeric(40,0)::text")
                }
                Kind::Ts | Kind::TsTz if t.starts_with("timestamp") => format!(
                    "CASE WHEN isfinite({q}) THEN (extract(epoch FROM {q}) * 1000000)::numeric(40,0)::text \
                     ELSE {q}::text END"
                ),
                Kind::Dur if t.starts_with("interval") => {
                    format!("(extract(epoch FROM {q}) * 1000000)::numeric(40,0)::text")
                }
                Kind::Bytes if t == "bytea" => format!("encode({q}, 'hex')"),
                _ => format!("{q}::text"),
            }
        })
        .collect();
    let sql = format!("SELECT id::bigint, {} FROM {qualified}", exprs.join(", "));
    let mut rows = Rows::new();
    for r in c.query(&sql, &[]).unwrap() {
        let id: i64 = r.get(0);
        let cells = cols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let s: Option<String> = r.get(i + 1);
                let t = ty(c);
                s.map(|s| match c.kind {
                    // Floats by their bits: PostgreSQL prints the shortest text that reads back
                    // as the same float (extra_float_digits = 1, PostgreSQL 12+).
                    Kind::F32 | Kind::F64 if t == "real" => {
                        let x: f32 = s.parse().unwrap();
                        if c.kind == Kind::F32 {
                            f32c(x)
                        } else {
                            f64c(x as f64)
                        }
                    }
                    Kind::F32 if t == "double precision" => f64_as_f32(s.parse().unwrap()),
                    Kind::F64 if t == "double precision" => f64c(s.parse().unwrap()),
                    _ => s,
                })
            })
            .collect();
        rows.insert(id, cells);
    }
    rows
}

/// MariaDB: `CAST(... AS CHAR)` of the binary protocol, floats as the binary protocol's 32- or
/// 64-bit values (MariaDB's text of a float rounds it), binary as `HEX`, `bit` and `year` as
/// numbers, temporal values by MariaDB's own arithmetic (`TIMESTAMPDIFF`, `DATEDIFF`,
/// `TIME_TO_SEC`), chosen by the column's actual type. The session is in UTC.
fn my_read(c: &mut mysql::Conn, table: &str, cols: &[&Col]) -> Rows {
    let types: HashMap<String, String> = c
        .exec::<(String, String), _, _>(
            "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
            (table,),
        )
        .unwrap()
        .into_iter()
        .collect();
    let ty = |c: &Col| {
        types
            .get(c.name)
            .cloned()
            .unwrap_or_else(|| panic!("no column {}", c.name))
    };
    let exprs: Vec<String> = cols
        .iter()
        .map(|c| {
            let q = format!("`{}`", c.name);
            match (c.kind, ty(c).as_str()) {
                (_, "float" | "double") => q,
                (_, "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob") => {
                    format!("LOWER(HEX({q}))")
                }
                (_, "bit" | "year") => format!("CAST({q} + 0 AS CHAR)"),
                (Kind::Date, "date") => format!("CAST(DATEDIFF({q}, '1970-01-01') AS CHAR)"),
                (Kind::Ts | Kind::TsTz, "datetime" | "timestamp") => {
                    format!("CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', {q}) AS CHAR)")
                }
                (Kind::Time | Kind::Dur, "time") => {
                    format!("CAST(CAST(TIME_TO_SEC({q}) * 1000000 AS SIGNED) AS CHAR)")
                }
                _ => format!("CAST({q} AS CHAR)"),
            }
        })
        .collect();
    let sql = format!(
        "SELECT CAST(id AS SIGNED), {} FROM `{table}`",
        exprs.join(", ")
    );
    let mut rows = Rows::new();
    for r in c.exec::<mysql::Row, _, _>(sql, ()).unwrap() {
        let vals = r.unwrap();
        let id = match &vals[0] {
            mysql::Value::Int(i) => *i,
            v => panic!("id {v:?}"),
        };
        let cells = cols
            .iter()
            .zip(&vals[1..])
            .map(|(c, v)| match (c.kind, v) {
                (_, mysql::Value::NULL) => None,
                (Kind::F32, mysql::Value::Float(x)) => Some(f32c(*x)),
                (Kind::F64, mysql::Value::Float(x)) => Some(f64c(*x as f64)),
                (Kind::F32, mysql::Value::Double(x)) => Some(f64_as_f32(*x)),
                (Kind::F64, mysql::Value::Double(x)) => Some(f64c(*x)),
                (kind, mysql::Value::Bytes(b)) => {
                    let s = String::from_utf8(b.clone()).unwrap();
                    Some(match (kind, s.as_str()) {
                        // A MySQL target's boolean is tinyint(1): 0 and 1 (README, Arrow to
                        // targets).
                        (Kind::Bool, "0") => "false".into(),
                        (Kind::Bool, "1") => "true".into(),
                        // A DuckDB INTERVAL's text, in a text column.
                        (Kind::Dur, t) if t.ends_with(" microseconds") => {
                            duration_micros(t).unwrap_or(s)
                        }
                        _ => s,
                    })
                }
                (_, v) => Some(format!("{v:?}")),
            })
            .collect();
        rows.insert(id, cells);
    }
    rows
}

/// SQLite: rusqlite's typed values; each kind accepts only the storage class the README gives
/// it, anything else is rendered as a text no canonical form has.
fn sqlite_read(db: &Path, table: &str, cols: &[&Col]) -> Rows {
    use rusqlite::types::Value as V;
    let conn = rusqlite::Connection::open(db).unwrap();
    let declared: HashMap<String, String> = crate::support::columns(db, table)
        .into_iter()
        .map(|(name, decl, ..)| (name, decl))
        .collect();
    let select: Vec<String> = cols.iter().map(|c| format!("\"{}\"", c.name)).collect();
    let sql = format!("SELECT id, {} FROM \"{table}\"", select.join(", "));
    let mut stmt = conn.prepare(&sql).unwrap();
    let mut rows = Rows::new();
    let mut q = stmt.query([]).unwrap();
    while let Some(r) = q.next().unwrap() {
        let id: i64 = r.get(0).unwrap();
        let cells = cols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let v: V = r.get(i + 1).unwrap();
                let cell = match (c.kind, &v) {
                    (_, V::Null) => return None,
                    (Kind::Int, V::Integer(x)) => Some(x.to_string()),
                    // UInt64 is DECIMAL_TEXT(20,0): its exact decimal text (README, Arrow to
                    // targets).
                    (Kind::Int, V::Text(t)) if declared[c.name].starts_with("DECIMAL_TEXT") => t
                        .parse::<i128>()
                        .map(|x| x.to_string())
                        .or_else(|_| t.parse::<u128>().map(|x| x.to_string()))
                        .ok()
                        .filter(|x| x == t),
                    // BOOLEAN: the integers 0 and 1.
                    (Kind::Bool, V::Integer(0)) => Some("false".into()),
                    (Kind::Bool, V::Integer(1)) => Some("true".into()),
                    // REAL and FLOAT hold an f64; a float32 column's values are float32s widened.
                    (Kind::F32, V::Real(x)) => Some(f64_as_f32(*x)),
                    (Kind::F64, V::Real(x)) => Some(f64c(*x)),
                    // A REAL or NUMERIC column may hold integers: exact as doubles up to 2^53.
                    (Kind::F64, V::Integer(x)) if x.unsigned_abs() <= 1 << 53 => {
                        Some(f64c(*x as f64))
                    }
                    // DECIMAL(p,s) up to 15 digits: an integer when whole, else a real (whose
                    // shortest text is the decimal); DECIMAL_TEXT(p,s): the exact text.
                    (Kind::Dec(s), V::Integer(x)) => Some(dec_at(&x.to_string(), s)),
                    (Kind::Dec(s), V::Real(x)) => Some(dec_at(&format!("{x}"), s)),
                    (Kind::Dec(_), V::Text(t)) => Some(t.clone()),
                    (Kind::Text, V::Text(t)) => Some(t.clone()),
                    (Kind::Bytes, V::Blob(b)) => Some(hex(b)),
                    // Dates, times and timestamps: text in ferry's canonical form only (README,
                    // SQLite notes), `infinity` / `-infinity` for PostgreSQL's.
                    (Kind::Date, V::Text(t)) => sqlite_date(t),
                    (Kind::Time, V::Text(t)) => sqlite_time(t),
                    (Kind::Ts, V::Text(t)) => sqlite_ts(t, ""),
                    (Kind::TsTz, V::Text(t)) => sqlite_ts(t, "+00:00"),
                    // A duration: its exact [-]HH:MM:SS[.ffffff] text.
                    (Kind::Dur, V::Text(t)) => duration_micros(t),
                    _ => None,
                };
                Some(cell.unwrap_or_else(|| format!("<sqlite {v:?}>")))
            })
            .collect();
        rows.insert(id, cells);
    }
    rows
}

/// The fraction ferry writes: none, 3 or 6 digits.
fn canonical_fraction(micros: u32) -> String {
    match micros {
        0 => String::new(),
        m if m % 1000 == 0 => format!(".{:03}", m / 1000),
        m => format!(".{m:06}"),
    }
}

fn sqlite_date(t: &str) -> Option<String> {
    if t == "infinity" || t == "-infinity" {
        return Some(t.into());
    }
    let d = NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()?;
    (d.format("%Y-%m-%d").to_string() == t).then(|| days(d))
}

fn sqlite_time(t: &str) -> Option<String> {
    if t == "24:00:00" {
        return Some("86400000000".into());
    }
    let v = NaiveTime::parse_from_str(t, "%H:%M:%S%.f").ok()?;
    let back = format!(
        "{}{}",
        v.format("%H:%M:%S"),
        canonical_fraction(v.nanosecond() / 1000)
    );
    (back == t).then(|| time_micros(v))
}

fn sqlite_ts(t: &str, zone: &str) -> Option<String> {
    if t == "infinity" || t == "-infinity" {
        return Some(t.into());
    }
    let body = t.strip_suffix(zone)?;
    let v = NaiveDateTime::parse_from_str(body, "%Y-%m-%d %H:%M:%S%.f").ok()?;
    let back = format!(
        "{}{}{zone}",
        v.format("%Y-%m-%d %H:%M:%S"),
        canonical_fraction(v.nanosecond() / 1000)
    );
    (back == t).then(|| micros_of(v))
}

/// DuckDB, through its own library: `::VARCHAR`, `hex`, `epoch_us` and `isinf`, chosen by the
/// column's actual type.
fn duck_read(drv: &Path, file: &Path, table: &str, cols: &[&Col]) -> Rows {
    let types: HashMap<String, String> = duck_rows(
        drv,
        file,
        &format!(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '{table}'"
        ),
    )
    .into_iter()
    .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
    .collect();
    let ty = |c: &Col| {
        types
            .get(c.name)
            .cloned()
            .unwrap_or_else(|| panic!("no column {}", c.name))
    };
    let inf = |q: &str, cut: &str| {
        format!(
            "CASE WHEN isinf({q}) THEN (CASE WHEN {q} > {cut} THEN 'infinity' ELSE '-infinity' END)"
        )
    };
    let exprs: Vec<String> = cols
        .iter()
        .map(|c| {
            let q = format!("\"{}\"", c.name);
            let t = ty(c);
            match c.kind {
                Kind::Bytes if t == "BLOB" => format!("lower(hex({q}))"),
                Kind::Date if t == "DATE" => format!(
                    "{} ELSE ({q} - DATE '1970-01-01')::VARCHAR END",
                    inf(&q, "DATE '2000-01-01'")
                ),
                // Nanoseconds as they are: DuckDB's largest TIMESTAMP_NS is also its infinity.
                Kind::Ts | Kind::TsTz if t == "TIMESTAMP_NS" => format!("epoch_ns({q})::VARCHAR"),
                Kind::Ts | Kind::TsTz if t.starts_with("TIMESTAMP") => format!(
                    "{} ELSE epoch_us({q})::VARCHAR END",
                    inf(&q, "TIMESTAMP '2000-01-01'")
                ),
                _ => format!("{q}::VARCHAR"),
            }
        })
        .collect();
    let sql = format!("SELECT id::VARCHAR, {} FROM \"{table}\"", exprs.join(", "));
    let mut rows = Rows::new();
    for r in duck_rows(drv, file, &sql) {
        let id: i64 = r[0].as_ref().unwrap().parse().unwrap();
        let cells = cols
            .iter()
            .zip(&r[1..])
            .map(|(c, v)| {
                let t = ty(c);
                v.as_ref().map(|s| match c.kind {
                    Kind::F32 if t == "FLOAT" => f32c(s.parse().unwrap()),
                    Kind::F32 if t == "DOUBLE" => f64_as_f32(s.parse().unwrap()),
                    Kind::F64 if t == "DOUBLE" => f64c(s.parse().unwrap()),
                    Kind::F64 if t == "FLOAT" => f64c(s.parse::<f32>().unwrap() as f64),
                    Kind::Ts | Kind::TsTz if t == "TIMESTAMP_NS" => ts_from_ns(s.parse().unwrap()),
                    // TIME and TIME_NS as DuckDB prints them, HH:MM:SS[.fraction] (24:00:00 too).
                    Kind::Time if t == "TIME" || t == "TIME_NS" => match s.as_str() {
                        "24:00:00" => "86400000000".into(),
                        _ => NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
                            .map_or_else(|_| format!("<duckdb {s}>"), time_micros),
                    },
                    // An INTERVAL of microseconds only: DuckDB prints it as [-]HH:MM:SS[.ffffff].
                    Kind::Dur if t == "INTERVAL" => {
                        duration_micros(s).unwrap_or_else(|| format!("<duckdb {s}>"))
                    }
                    _ => s.clone(),
                })
            })
            .collect();
        rows.insert(id, cells);
    }
    rows
}

/// Parquet, by the `parquet` crate's row API over every part file: physical values with their
/// logical types; PostgreSQL's ±infinity are the largest and smallest values (README,
/// PostgreSQL source), and a timestamp's zone is its `isAdjustedToUTC` flag.
fn parquet_read(dir: &Path, cols: &[&Col]) -> Rows {
    use parquet::basic::LogicalType;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field as F;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    let mut rows = Rows::new();
    for f in files {
        let reader = SerializedFileReader::new(std::fs::File::open(&f).unwrap()).unwrap();
        let schema = reader.metadata().file_metadata().schema_descr_ptr();
        // Each timestamp column's isAdjustedToUTC, and whether a column's unit is nanoseconds:
        // the row API gives nanosecond times and timestamps, and durations of any unit, as
        // plain Longs (a duration's unit is in the file's Arrow schema only).
        let arrow_schema = parquet::arrow::parquet_to_arrow_schema(
            &schema,
            reader.metadata().file_metadata().key_value_metadata(),
        )
        .unwrap();
        let utc: HashMap<String, Option<(bool, bool)>> = schema
            .columns()
            .iter()
            .map(|c| {
                let nanos = |f: &arrow::datatypes::Field| {
                    use arrow::datatypes::{DataType as D, TimeUnit as U};
                    matches!(
                        f.data_type(),
                        D::Timestamp(U::Nanosecond, _)
                            | D::Time64(U::Nanosecond)
                            | D::Duration(U::Nanosecond)
                    )
                };
                let ns = arrow_schema.field_with_name(c.name()).is_ok_and(nanos);
                let adjusted = match c.logical_type() {
                    Some(LogicalType::Timestamp {
                        is_adjusted_to_u_t_c,
                        ..
                    }) => Some((is_adjusted_to_u_t_c, ns)),
                    _ => Some((false, ns)),
                };
                (c.name().to_string(), adjusted)
            })
            .collect();
        for row in reader.get_row_iter(None).unwrap() {
            let fields: HashMap<String, F> = row.unwrap().into_columns().into_iter().collect();
            let id = match &fields["id"] {
                F::Long(i) => *i,
                F::Int(i) => *i as i64,
                v => panic!("id {v:?}"),
            };
            let cells = cols
                .iter()
                .map(|c| {
                    let v = fields
                        .get(c.name)
                        .unwrap_or_else(|| panic!("no column {}", c.name));
                    let ts = utc.get(c.name).copied().flatten();
                    let nanos = ts.is_some_and(|(_, ns)| ns);
                    let zoned = matches!(
                        schema
                            .columns()
                            .iter()
                            .find(|d| d.name() == c.name)
                            .and_then(|d| d.logical_type()),
                        Some(LogicalType::Timestamp {
                            is_adjusted_to_u_t_c: true,
                            ..
                        })
                    );
                    let zone_ok = match c.kind {
                        Kind::Ts => !zoned,
                        Kind::TsTz => zoned,
                        _ => true,
                    };
                    let s = match (c.kind, v) {
                        (_, F::Null) => return None,
                        (Kind::Int, F::Byte(x)) => x.to_string(),
                        (Kind::Int, F::Short(x)) => x.to_string(),
                        (Kind::Int, F::Int(x)) => x.to_string(),
                        (Kind::Int, F::Long(x)) => x.to_string(),
                        (Kind::Int, F::UByte(x)) => x.to_string(),
                        (Kind::Int, F::UShort(x)) => x.to_string(),
                        (Kind::Int, F::UInt(x)) => x.to_string(),
                        (Kind::Int, F::ULong(x)) => x.to_string(),
                        (Kind::Bool, F::Bool(b)) => b.to_string(),
                        (Kind::F32, F::Float(x)) => f32c(*x),
                        (Kind::F64, F::Double(x)) => f64c(*x),
                        (Kind::Dec(_), F::Decimal(d)) => decimal_text(d.data(), d.scale()),
                        (Kind::Int, F::Decimal(d)) if d.scale() == 0 => decimal_text(d.data(), 0),
                        (Kind::Text, F::Str(s)) => s.clone(),
                        (Kind::Bytes, F::Bytes(b)) => hex(b.data()),
                        (Kind::Date, F::Date(d)) => match *d {
                            i32::MAX => "infinity".into(),
                            i32::MIN => "-infinity".into(),
                            d => d.to_string(),
                        },
                        (Kind::Time, F::TimeMicros(t)) => t.to_string(),
                        (Kind::Time, F::TimeMillis(t)) => (*t as i64 * 1000).to_string(),
                        (Kind::Ts | Kind::TsTz, F::TimestampMicros(t)) if zone_ok => match *t {
                            i64::MAX => "infinity".into(),
                            i64::MIN => "-infinity".into(),
                            t => t.to_string(),
                        },
                        (Kind::Ts | Kind::TsTz, F::TimestampMillis(t)) if zone_ok => {
                            (t * 1000).to_string()
                        }
                        (Kind::Ts | Kind::TsTz, F::Long(t)) if zone_ok && nanos => {
                            ts_from_ns(*t as i128)
                        }
                        (Kind::Time | Kind::Dur, F::Long(x)) if nanos => ts_from_ns(*x as i128),
                        (Kind::Dur, F::Long(x)) => x.to_string(),
                        // A DuckDB INTERVAL's text (README, DuckDB source).
                        (Kind::Dur, F::Str(t)) => {
                            duration_micros(t).unwrap_or_else(|| format!("<parquet {t:?}>"))
                        }
                        (_, v) => format!("<parquet {v:?}, zone ok: {zone_ok}>"),
                    };
                    Some(s)
                })
                .collect();
            rows.insert(id, cells);
        }
    }
    rows
}

/// A big-endian two's-complement unscaled decimal at `scale`, as exact text.
fn decimal_text(be: &[u8], scale: i32) -> String {
    let neg = be.first().is_some_and(|b| b & 0x80 != 0);
    let mut bytes = [if neg { 0xff } else { 0 }; 32];
    bytes[32 - be.len()..].copy_from_slice(be);
    let v = arrow::datatypes::i256::from_be_bytes(bytes);
    let digits = v.wrapping_abs().to_string();
    let scale = scale as usize;
    let digits = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = digits.split_at(digits.len() - scale);
    let sign = if neg { "-" } else { "" };
    if scale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// CSV: the text of every part file, split by RFC 4180 (ferry's defaults: `,`, `"`, a header,
/// NULL as an unquoted `\N`), each field parsed by the form the README gives its type.
fn csv_read(dir: &Path, cols: &[&Col]) -> Rows {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    let mut rows = Rows::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut records = csv_records(&text).into_iter();
        let header: Vec<String> = records
            .next()
            .unwrap()
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        let at = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .unwrap_or_else(|| panic!("no column {name}"))
        };
        for rec in records {
            let id: i64 = rec[at("id")].0.parse().unwrap();
            let cells = cols
                .iter()
                .map(|c| {
                    let (s, quoted) = &rec[at(c.name)];
                    if !quoted && s == "\\N" {
                        return None;
                    }
                    let parsed = match c.kind {
                        // PostgreSQL's infinities, as the SQLite sink writes them.
                        Kind::Date | Kind::Ts | Kind::TsTz
                            if s == "infinity" || s == "-infinity" =>
                        {
                            Some(s.clone())
                        }
                        // The end of the day, as PostgreSQL writes it.
                        Kind::Time if s == "24:00:00" => Some("86400000000".into()),
                        // Floats: the shortest round-trip text, NaN, inf, -inf.
                        Kind::F32 => s.parse::<f32>().ok().map(f32c),
                        Kind::F64 => s.parse::<f64>().ok().map(f64c),
                        // YYYY-MM-DD, HH:MM:SS[.fraction], YYYY-MM-DDTHH:MM:SS[.fraction][+HH:MM].
                        Kind::Date => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().map(days),
                        Kind::Time => NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
                            .ok()
                            .map(time_micros),
                        Kind::Ts => NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                            .ok()
                            .map(micros_of),
                        Kind::TsTz => {
                            chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%:z")
                                .ok()
                                .map(|t| micros_of(t.naive_utc()))
                        }
                        Kind::Dur => duration_micros(s),
                        _ => Some(s.clone()),
                    };
                    Some(parsed.unwrap_or_else(|| format!("<csv {s:?}>")))
                })
                .collect();
            rows.insert(id, cells);
        }
    }
    rows
}

/// RFC 4180 records: each field's text and whether it was quoted.
fn csv_records(text: &str) -> Vec<Vec<(String, bool)>> {
    let mut out = Vec::new();
    let mut rec = Vec::new();
    let mut field = String::new();
    let (mut quoted, mut in_quotes, mut chars) = (false, false, text.chars().peekable());
    while let Some(ch) = chars.next() {
        match (in_quotes, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => in_quotes = false,
            (true, c) => field.push(c),
            (false, '"') => {
                in_quotes = true;
                quoted = true;
            }
            (false, ',') => rec.push((
                std::mem::take(&mut field),
                std::mem::replace(&mut quoted, false),
            )),
            (false, '\n') => {
                rec.push((
                    std::mem::take(&mut field),
                    std::mem::replace(&mut quoted, false),
                ));
                out.push(std::mem::take(&mut rec));
            }
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !rec.is_empty() {
        rec.push((field, quoted));
        out.push(rec);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------

/// PostgreSQL 15's types: rows 2 to 8 hold the minimum, the maximum, and special values.
#[rustfmt::skip]
static PG_COLS: &[Col] = &[
    col("i2", "smallint", Kind::Int, ["-32768", "32767", "0", "-1", "1", "255", "-256"]),
    col("i4", "integer", Kind::Int, ["-2147483648", "2147483647", "0", "-1", "1", "65536", "-65537"]),
    col("i8", "bigint", Kind::Int, ["-9223372036854775808", "9223372036854775807", "0", "-1", "1", "4294967296", "-9007199254740993"]),
    col("n152", "numeric(15,2)", Kind::Dec(2), ["-9999999999999.99", "9999999999999.99", "0", "0.01", "-0.01", "1.50", "17"]),
    col("n3810", "numeric(38,10)", Kind::Dec(10),
        ["-9999999999999999999999999999.9999999999", "9999999999999999999999999999.9999999999", "0", "0.0000000001", "-0.0000000001", "12.5", "123456789012345678.0123456789"]),
    col("n6530", "numeric(65,30)", Kind::Dec(30),
        ["-99999999999999999999999999999999999.999999999999999999999999999999", "99999999999999999999999999999999999.999999999999999999999999999999", "0", "0.000000000000000000000000000001", "-1", "1.5", "3.141592653589793238462643383279"]),
    col("n7620", "numeric(76,20)", Kind::Dec(20),
        ["-99999999999999999999999999999999999999999999999999999999.99999999999999999999", "99999999999999999999999999999999999999999999999999999999.99999999999999999999", "0", "0.00000000000000000001", "-1", "1.5", "2"]),
    col("n", "numeric", Kind::Text, ["-1e-30", "1e100", "'NaN'", "'Infinity'", "'-Infinity'", "1.50", "0"]),
    col("f4", "real", Kind::F32, ["-3.4028235e38", "3.4028235e38", "'-0'", "'NaN'", "'Infinity'", "'-Infinity'", "1.4e-45"]),
    col("f8", "double precision", Kind::F64,
        ["-1.7976931348623157e308", "1.7976931348623157e308", "'-0'", "'NaN'", "'Infinity'", "'-Infinity'", "5e-324"]),
    col("f4n", "real", Kind::F32, ["-1.4e-45", "1.17549435e-38", "0", "0.1", "16777216", "-1.5", "3.1415927"]),
    col("f8n", "double precision", Kind::F64, ["-5e-324", "2.2250738585072014e-308", "0", "0.1", "0.30000000000000004", "9007199254740993", "-1e15"]),
    col("t", "text", Kind::Text, ["''", "'plain'", "E'tab\\tnl\\nq''\"\\\\'", "'🦀 é 漢字 \u{200d}'", "' lead and trail '", "'NULL'", "'\\N'"]),
    col("vc", "varchar(10)", Kind::Text, ["''", "'0123456789'", "'héllo'", "'a '", "' '", "'ü'", "'x'"]),
    col("c5", "char(5)", Kind::Text, ["''", "'abcde'", "'ab   '", "'é'", "' x'", "'a'", "'ü'"]),
    col("b", "bytea", Kind::Bytes, ["'\\x'", "'\\xff'", "'\\x00'", "'\\x5c4e'", "'\\xdeadbeef'", "'\\x0a0d09'", "'\\x2c22'"]),
    col("bo", "boolean", Kind::Bool, ["false", "true", "true", "false", "true", "false", "true"]),
    col("d", "date", Kind::Date, ["'0001-01-01'", "'9999-12-31'", "'1970-01-01'", "'1969-12-31'", "'2000-02-29'", "'1900-03-01'", "'2038-01-19'"]),
    col("dx", "date", Kind::Date,
        ["'4713-01-01 BC'", "'5874897-12-31'", "'infinity'", "'-infinity'", "'1999-12-31'", "'10000-01-01'", "'2000-01-01'"]),
    col("tm", "time", Kind::Time,
        ["'00:00:00'", "'23:59:59.999999'", "'12:34:56.5'", "'00:00:00.000001'", "'10:00:00'", "'01:02:03.123'", "'18:00:00.25'"]),
    col("tm24", "time", Kind::Time, ["'24:00:00'", "'00:00:00'", "'12:00:00'", "'12:00:00'", "'12:00:00'", "'12:00:00'", "'12:00:00'"]),
    col("tm3", "time(3)", Kind::Time, ["'00:00:00'", "'23:59:59.999'", "'12:00:00.5'", "'00:00:00.001'", "'01:00:00'", "'02:00:00'", "'03:00:00'"]),
    col("ttz", "timetz", Kind::Text,
        ["'00:00:00+1459'", "'23:59:59.999999-1459'", "'10:11:12.123456+02'", "'00:00:00+00'", "'12:00:00-08'", "'01:02:03+05:30'", "'24:00:00+00'"]),
    col("ts", "timestamp", Kind::Ts,
        ["'0001-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'", "'1970-01-01 00:00:00'", "'1969-12-31 23:59:59.999999'", "'2000-02-29 12:34:56.789'", "'2038-01-19 03:14:08'", "'1900-01-01 00:00:00.000001'"]),
    col("tsx", "timestamp", Kind::Ts,
        ["'4713-01-01 00:00:00 BC'", "'294246-12-31 23:59:59.999999'", "'infinity'", "'-infinity'", "'1999-12-31 23:59:59.999999'", "'10000-01-01 00:00:00'", "'2000-01-01 00:00:00'"]),
    col("ts0", "timestamp(0)", Kind::Ts,
        ["'1000-01-01 00:00:00'", "'9999-12-31 23:59:59'", "'1970-01-01 00:00:00'", "'2020-02-29 23:59:59'", "'1999-12-31 23:59:59'", "'2001-01-01 00:00:01'", "'1969-07-20 20:17:40'"]),
    col("tstz", "timestamptz", Kind::TsTz,
        ["'0001-01-01 00:00:00+00'", "'9999-12-31 23:59:59.999999+00'", "'1970-01-01 00:00:00+00'", "'2020-06-01 12:00:00+05:30'", "'1999-12-31 23:59:59.999999+14'", "'2020-06-01 12:00:00-08'", "'2038-01-19 03:14:08.5+00'"]),
    col("tstzx", "timestamptz", Kind::TsTz,
        ["'4713-01-01 00:00:00+00 BC'", "'294246-12-31 23:59:59.999999+00'", "'infinity'", "'-infinity'", "'1999-12-31 23:59:59.999999+00'", "'10000-01-01 00:00:00+00'", "'2000-01-01 00:00:00+00'"]),
    col("iv", "interval", Kind::Text,
        ["'-178000000 years'", "'178000000 years'", "'0'", "'1 year 2 mons -3 days 04:05:06.789'", "'-00:00:00.000001'", "'1 day'", "'838:59:59'"]),
    col("u", "uuid", Kind::Text,
        ["'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12'", "'00000000-0000-0000-0000-000000000001'", "'12345678-1234-1234-1234-123456789abc'", "'ffffffff-0000-0000-0000-000000000000'"]),
    col("j", "json", Kind::Text,
        ["'{\"b\":1,  \"a\":[1,2]}'", "'[]'", "'null'", "'\"s\"'", "'{\"k\":\"\\u00e9 é\"}'", "'1e400'", "'{\"a\":1,\"a\":2}'"]),
    col("jb", "jsonb", Kind::Text,
        ["'{\"b\":1,  \"a\":[1,2]}'", "'[]'", "'null'", "'\"s\"'", "'{\"k\":\"\\u00e9 é\"}'", "'1e400'", "'{\"a\":1,\"a\":2}'"]),
    col("ip", "inet", Kind::Text,
        ["'0.0.0.0'", "'255.255.255.255/32'", "'192.168.0.1/24'", "'::1'", "'2001:db8::/32'", "'::ffff:1.2.3.4'", "'10.0.0.0/8'"]),
    col("cid", "cidr", Kind::Text,
        ["'0.0.0.0/0'", "'255.255.255.255/32'", "'192.168.0.0/24'", "'::/0'", "'2001:db8::/32'", "'10.0.0.0/8'", "'10.1.0.0/16'"]),
    col("mac", "macaddr", Kind::Text,
        ["'00:00:00:00:00:00'", "'ff:ff:ff:ff:ff:ff'", "'08:00:2b:01:02:03'", "'08-00-2b-01-02-04'", "'0800.2b01.0205'", "'01:02:03:04:05:06'", "'aa:bb:cc:dd:ee:ff'"]),
    col("ia", "integer[]", Kind::Text,
        ["'{}'", "'{-2147483648,2147483647}'", "'{1,NULL,3}'", "'{{1,2},{3,4}}'", "'[0:1]={7,8}'", "'{NULL}'", "'{0}'"]),
    col("ta", "text[]", Kind::Text,
        ["'{}'", "'{\"a b\",\"c,d\",NULL,\"\"}'", "'{\"\\\\\\\"q\\\\\\\"\"}'", "'{\"NULL\"}'", "'{é,漢字}'", "'{{a,b},{c,d}}'", "'{x}'"]),
    col("m", "mood", Kind::Text, ["'sad'", "'happy 😀'", "'ok'", "'sad'", "'ok'", "'happy 😀'", "'ok'"]),
    col("bt", "bit(3)", Kind::Text, ["B'000'", "B'111'", "B'101'", "B'010'", "B'001'", "B'100'", "B'110'"]),
    col("vbt", "bit varying(5)", Kind::Text, ["B''", "B'11111'", "B'1'", "B'01'", "B'10101'", "B'0'", "B'00000'"]),
    col("rg", "int4range", Kind::Text, ["'empty'", "'(,)'", "'[1,5)'", "'[-2147483648,2147483647)'", "'(1,2]'", "'[3,)'", "'(,4]'"]),
    col("mo", "money", Kind::Text, ["'-92233720368547758.08'", "'92233720368547758.07'", "'0'", "'1.5'", "'-0.01'", "'12'", "'1000'"]),
];

/// What becomes of a PostgreSQL cell on each sink (`v` is the cell's literal, `None` for NULL).
fn pg_expect(sink: Sink, c: &Col, v: Option<&str>) -> Expect {
    use Expect::*;
    use Sink::*;
    let Some(v) = v else {
        return match (sink, c.name) {
            (My, "n7620") => pg_expect(sink, c, Some("0")),
            _ => Equal,
        };
    };
    let refused = |says| Refused { code: 5, says };
    match (sink, c.name, v) {
        // MySQL has no NaN, no infinities, and keeps -0 as 0 (README, MySQL targets).
        (My, "f4" | "f8", "'-0'") => refused("-0 cannot be stored in MySQL"),
        (My, "f4" | "f8", "'NaN'") => refused("NaN cannot be stored in MySQL"),
        (My, "f4" | "f8", "'Infinity'") => refused("inf cannot be stored in MySQL"),
        (My, "f4" | "f8", "'-Infinity'") => refused("-inf cannot be stored in MySQL"),
        // Wider than MySQL's DECIMAL(65,30) (README, Arrow to targets).
        (My, "n7620", _) => TypeRefused {
            code: 9,
            says: "decimal(76,20) is wider than MySQL's DECIMAL",
        },
        // Years outside MySQL's 0000 to 9999, named as PostgreSQL writes them.
        (My, "dx", "'4713-01-01 BC'") => refused("date 4713-01-01 BC is out of MySQL's range"),
        (My, "dx", "'5874897-12-31'") => refused("date 5874897-12-31 is out of MySQL's range"),
        (My, "dx", "'infinity'") => refused("date infinity is out of MySQL's range"),
        (My, "dx", "'-infinity'") => refused("date -infinity is out of MySQL's range"),
        (My, "dx", "'10000-01-01'") => refused("date 10000-01-01 is out of MySQL's range"),
        (My, "tsx" | "tstzx", v) if v.contains(" BC") && v.contains("4713") => {
            refused("timestamp 4713-01-01 00:00:00 BC is out of MySQL's range")
        }
        (My, "tsx" | "tstzx", v) if v.starts_with("'294246") => {
            refused("timestamp 294246-12-31 23:59:59.999999 is out of MySQL's range")
        }
        (My, "tsx" | "tstzx", "'infinity'") => {
            refused("timestamp infinity is out of MySQL's range")
        }
        (My, "tsx" | "tstzx", "'-infinity'") => {
            refused("timestamp -infinity is out of MySQL's range")
        }
        (My, "tsx" | "tstzx", v) if v.starts_with("'10000") => {
            refused("timestamp 10000-01-01 00:00:00 is out of MySQL's range")
        }
        // SQLite stores NaN as NULL and -0.0 as 0.0 (README, SQLite targets).
        (Sqlite, "f4" | "f8", "'-0'") => refused("-0.0: SQLite stores -0.0 as 0.0"),
        (Sqlite, "f4" | "f8", "'NaN'") => refused("NaN: SQLite stores NaN as NULL"),
        // Years past chrono's (262143) have no SQLite text; the message names the value.
        (Sqlite, "dx", "'5874897-12-31'") => refused("date 5874897-12-31 is out of range"),
        (Sqlite, "tsx", v) if v.starts_with("'294246") => {
            refused("timestamp 294246-12-31 23:59:59.999999 is out of range")
        }
        (Sqlite, "tstzx", v) if v.starts_with("'294246") => {
            refused("timestamp 294246-12-31 23:59:59.999999+00 is out of range")
        }
        // A text equal to CSV's null string would read back as NULL.
        (Csv, "t", "'\\N'") => refused("the value equals the null string '\\N'"),
        // The CSV writer has no text for years past ±262143 (±infinity and 24:00:00 it writes
        // as PostgreSQL does): refused naming the column and the value.
        (Csv, "dx", "'5874897-12-31'") => refused("the value 5874897-12-31 has no CSV text"),
        (Csv, "tsx", v) if v.starts_with("'294246") => {
            refused("the value 294246-12-31 23:59:59.999999 has no CSV text")
        }
        (Csv, "tstzx", v) if v.starts_with("'294246") => {
            refused("the value 294246-12-31 23:59:59.999999+00 has no CSV text")
        }
        _ => Equal,
    }
}

fn pg_source() -> Option<&'static Source> {
    static SRC: OnceLock<Option<Source>> = OnceLock::new();
    SRC.get_or_init(|| {
        let (url, mut c) = pg()?;
        fresh_schema(&mut c, "mx_src");
        c.batch_execute("CREATE TYPE mx_src.mood AS ENUM ('sad', 'ok', 'happy 😀')")
            .unwrap();
        let defs: Vec<String> = PG_COLS
            .iter()
            .map(|k| format!("\"{}\" {}", k.name, k.decl.replace("mood", "mx_src.mood")))
            .collect();
        c.batch_execute(&format!(
            "CREATE TABLE mx_src.{TABLE} (id integer PRIMARY KEY, {})",
            defs.join(", ")
        ))
        .unwrap();
        insert_rows(
            |sql| c.batch_execute(sql).unwrap(),
            &format!("mx_src.{TABLE}"),
            PG_COLS,
        );
        let all: Vec<&Col> = PG_COLS.iter().collect();
        let want = pg_read(&mut c, "mx_src", TABLE, &all);
        Some(Source {
            engine: Engine::Pg,
            url,
            table: "mx_src.torture",
            cols: PG_COLS,
            want,
            expect: pg_expect,
        })
    })
    .as_ref()
}

/// Inserts row 1 (NULLs) and rows 2 to 8 (the literals), one statement per row.
fn insert_rows(mut exec: impl FnMut(&str), table: &str, cols: &[Col]) {
    for id in IDS {
        let vals: Vec<&str> = cols
            .iter()
            .map(|c| literal(c, id).unwrap_or("NULL"))
            .collect();
        exec(&format!(
            "INSERT INTO {table} VALUES ({id}, {})",
            vals.join(", ")
        ));
    }
}

/// What PostgreSQL's own values ferry refuses to read: NaN in a `numeric(p,s)` (no Arrow
/// decimal holds it; `?numeric=text` reads it as text), timestamps past Arrow's microseconds.
#[rustfmt::skip]
static PG_REFUSED: &[SourceRefusal] = &[
    refusal("n_nan", "numeric(15,2)", "'NaN'", "", 5, "NaN does not fit a decimal type; add ?numeric=text"),
    refusal("ts_big", "timestamp", "'294247-01-10 04:00:54.775807'", "", 5, "294247-01-10 04:00:54.775807"),
    refusal("ts_big", "timestamp", "'294276-12-31 23:59:59.999999'", "", 5, "294276-12-31 23:59:59.999999"),
    refusal("tstz_big", "timestamptz", "'294247-01-10 04:00:54.775807+00'", "", 5, "294247-01-10 04:00:54.775807"),
];

#[test]
fn pg_source_refusals() {
    let Some((url, mut c)) = pg() else { return };
    fresh_schema(&mut c, "mx_src_refused");
    let (defs, rows) = refused_table(PG_REFUSED, '"');
    c.batch_execute(&format!(
        "SET search_path = mx_src_refused; CREATE TABLE refused (id integer PRIMARY KEY, {}); {};",
        defs.join(", "),
        rows.join("; ")
    ))
    .unwrap();
    assert_source_refusals(&url, "mx_src_refused.refused", PG_REFUSED);
    // The documented way out: `?numeric=text` reads NaN as PostgreSQL's text.
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("n.parquet");
    crate::support::copy(
        &format!("{url}?numeric=text"),
        &format!("parquet://{}", out.display()),
        &[
            "--table",
            "mx_src_refused.refused",
            "--transform",
            "select(id, n_nan)",
            "--transform",
            "filter(id = 1)",
        ],
    );
    let c = col("n_nan", "numeric(15,2)", Kind::Text, [""; 7]);
    let mut rows = parquet_read(dir.path(), &[&c]);
    assert_eq!(rows.remove(&1), Some(vec![Some("NaN".to_string())]));
}

routes!(pg_source;
    pg_to_pg => Pg,
    pg_to_mariadb => My,
    pg_to_sqlite => Sqlite,
    pg_to_parquet => Parquet,
    pg_to_csv => Csv,
    pg_to_duckdb => Duck,
);

// ---------------------------------------------------------------------------------------------
// MariaDB
// ---------------------------------------------------------------------------------------------

/// MariaDB 10.11's types: rows 2 to 8 hold the minimum, the maximum, and special values.
#[rustfmt::skip]
static MY_COLS: &[Col] = &[
    col("b1", "tinyint(1)", Kind::Int, ["-128", "127", "0", "1", "-1", "2", "0"]),
    col("ti", "tinyint", Kind::Int, ["-128", "127", "0", "-1", "1", "64", "-64"]),
    col("tu", "tinyint unsigned", Kind::Int, ["0", "255", "1", "128", "127", "2", "3"]),
    col("si", "smallint", Kind::Int, ["-32768", "32767", "0", "-1", "1", "255", "-256"]),
    col("su", "smallint unsigned", Kind::Int, ["0", "65535", "1", "32768", "32767", "2", "3"]),
    col("mi", "mediumint", Kind::Int, ["-8388608", "8388607", "0", "-1", "1", "65536", "-65537"]),
    col("mu", "mediumint unsigned", Kind::Int, ["0", "16777215", "1", "8388608", "2", "3", "4"]),
    col("i", "int", Kind::Int, ["-2147483648", "2147483647", "0", "-1", "1", "65536", "-65537"]),
    col("iu", "int unsigned", Kind::Int, ["0", "4294967295", "1", "2147483648", "2", "3", "4"]),
    col("bi", "bigint", Kind::Int, ["-9223372036854775808", "9223372036854775807", "0", "-1", "1", "4294967296", "-9007199254740993"]),
    col("bu", "bigint unsigned", Kind::Int, ["0", "18446744073709551615", "1", "9223372036854775808", "9223372036854775807", "2", "3"]),
    col("f", "float", Kind::F32,
        ["-3.4028234663852886e38", "3.4028234663852886e38", "0", "1.401298464324817e-45", "1.1754943508222875e-38", "0.1", "-1.5"]),
    col("d", "double", Kind::F64, ["-1.7976931348623157e308", "1.7976931348623157e308", "0", "5e-324", "2.2250738585072014e-308", "0.1", "-1.5"]),
    col("dec152", "decimal(15,2)", Kind::Dec(2), ["-9999999999999.99", "9999999999999.99", "0", "0.01", "-0.01", "1.50", "17"]),
    col("dec380", "decimal(38,0)", Kind::Dec(0),
        ["-99999999999999999999999999999999999999", "99999999999999999999999999999999999999", "0", "1", "-1", "12345678901234567890", "2"]),
    col("dec6530", "decimal(65,30)", Kind::Dec(30),
        ["-99999999999999999999999999999999999.999999999999999999999999999999", "99999999999999999999999999999999999.999999999999999999999999999999", "0", "0.000000000000000000000000000001", "-1", "1.5", "12345678901234567890123456789012345.123456789012345678901234567891"]),
    col("bt", "bit(12)", Kind::Int, ["b'000000000000'", "b'111111111111'", "b'101010101010'", "b'1'", "b'10'", "b'100000000000'", "b'11'"]),
    col("bt64", "bit(64)", Kind::Int, ["0", "18446744073709551615", "9223372036854775808", "1", "2", "3", "4"]),
    col("y", "year", Kind::Int, ["0", "1901", "2155", "1970", "2000", "1999", "2069"]),
    col("dt", "date", Kind::Date, ["'1000-01-01'", "'9999-12-31'", "'1970-01-01'", "'0001-01-01'", "'2000-02-29'", "'1969-12-31'", "'2024-02-29'"]),
    col("dtm", "datetime(6)", Kind::Ts,
        ["'1000-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'", "'1970-01-01 00:00:00'", "'1969-12-31 23:59:59.999999'", "'2000-02-29 12:34:56.789'", "'0001-01-01 00:00:00'", "'2038-01-19 03:14:08.5'"]),
    col("dtm0", "datetime", Kind::Ts,
        ["'1000-01-01 00:00:00'", "'9999-12-31 23:59:59'", "'1970-01-01 00:00:00'", "'2020-02-29 23:59:59'", "'1999-12-31 23:59:59'", "'2001-01-01 00:00:01'", "'1969-07-20 20:17:40'"]),
    col("ts", "timestamp(6) NULL", Kind::TsTz,
        ["'1970-01-01 00:00:01'", "'2038-01-19 03:14:07.999999'", "'2000-02-29 12:34:56.789'", "'1999-12-31 23:59:59.999999'", "'2024-03-31 01:30:00'", "'2001-09-09 01:46:40'", "'1970-01-01 00:00:01.000001'"]),
    col("tm", "time(6)", Kind::Dur,
        ["'-838:59:59'", "'838:59:59'", "'00:00:00'", "'-00:00:00.000001'", "'24:00:00'", "'100:00:00.5'", "'12:34:56.789'"]),
    col("tm0", "time", Kind::Dur, ["'-838:59:59'", "'838:59:59'", "'00:00:00'", "'-00:00:01'", "'23:59:59'", "'-12:34:56'", "'01:02:03'"]),
    col("c", "char(5)", Kind::Text, ["''", "'abcde'", "'ab   '", "'é'", "' x'", "'a'", "'ü'"]),
    col("vc", "varchar(20)", Kind::Text, ["''", "'01234567890123456789'", "'tab\\there'", "'a '", "'😀 emoji'", "'NULL'", "'\\\\N'"]),
    col("tx", "text", Kind::Text, ["''", "'line\\nbreak \\\\ back'", "'plain'", "'q\\'s \"d\"'", "'漢字'", "' '", "'x'"]),
    col("lt", "longtext", Kind::Text, ["''", "'nul\\0byte'", "'a,b;c|d'", "'\\r\\n'", "'é'", "'x'", "'y'"]),
    col("l1", "varchar(10) CHARACTER SET latin1", Kind::Text, ["''", "'café'", "'Ünïcödé'", "'ÿ'", "'x'", "'y'", "'z'"]),
    col("bin", "binary(4)", Kind::Bytes, ["0x00000000", "0xffffffff", "'ab'", "0x5c4e0000", "0x00010203", "0x0a0d0900", "0x2c220000"]),
    col("vb", "varbinary(10)", Kind::Bytes, ["''", "0xffffffffffffffffffff", "0x00", "0x5c4e", "0xdeadbeef", "0x0a0d09", "0x2c22"]),
    col("bl", "blob", Kind::Bytes, ["''", "0xff", "0x00", "0x5c4e", "0xdeadbeef00", "0x0a", "0x22"]),
    col("e", "enum('a','b','c d','')", Kind::Text, ["''", "'c d'", "'a'", "'b'", "'a'", "'b'", "'c d'"]),
    col("st", "set('x','y','z')", Kind::Text, ["''", "'x,y,z'", "'x'", "'y,z'", "'x,z'", "'z'", "'y'"]),
    col("j", "json", Kind::Text, ["'{\"k\": [1, 2.5, \"é\"]}'", "'[]'", "'null'", "'\"s\"'", "'{\"b\":1,  \"a\":2}'", "'1e400'", "'0'"]),
    col("uu", "uuid", Kind::Text,
        ["'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000001'", "'12345678-1234-1234-1234-123456789abc'", "'ffffffff-0000-0000-0000-000000000000'", "'01234567-89ab-4def-8123-456789abcdef'"]),
    col("ip6", "inet6", Kind::Text,
        ["'::'", "'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'", "'::1'", "'2001:db8::1'", "'::ffff:1.2.3.4'", "'fe80::1'", "'1::'"]),
];

fn my_expect(sink: Sink, c: &Col, v: Option<&str>) -> Expect {
    use Expect::*;
    match (sink, c.kind, v) {
        // Durations (MySQL's time) have no CSV form.
        (Sink::Csv, Kind::Dur, _) => TypeRefused {
            code: 9,
            says: "CSV cannot carry values of type Duration",
        },
        // A text equal to CSV's null string would read back as NULL.
        (Sink::Csv, Kind::Text, Some("'\\\\N'")) => Refused {
            code: 5,
            says: "the value equals the null string '\\N'",
        },
        // PostgreSQL text has no NUL (the server refuses it, naming the column).
        (Sink::Pg, Kind::Text, Some("'nul\\0byte'")) => Refused {
            code: 5,
            says: "invalid byte sequence for encoding \"UTF8\": 0x00",
        },
        _ => Equal,
    }
}

fn my_source() -> Option<&'static Source> {
    static SRC: OnceLock<Option<Source>> = OnceLock::new();
    SRC.get_or_init(|| {
        let (url, mut c) = crate::mysql::fresh_db("ferry_it_mx_src")?;
        let defs: Vec<String> = MY_COLS
            .iter()
            .map(|k| format!("`{}` {}", k.name, k.decl))
            .collect();
        c.query_drop(format!(
            "CREATE TABLE {TABLE} (id int PRIMARY KEY, {}) DEFAULT CHARSET=utf8mb4",
            defs.join(", ")
        ))
        .unwrap();
        // Strict, as the server's default is, and zero dates allowed (no NO_ZERO_DATE).
        c.query_drop("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
            .unwrap();
        insert_rows(|sql| c.query_drop(sql).unwrap(), TABLE, MY_COLS);
        let all: Vec<&Col> = MY_COLS.iter().collect();
        let want = my_read(&mut c, TABLE, &all);
        Some(Source {
            engine: Engine::My,
            url,
            table: TABLE,
            cols: MY_COLS,
            want,
            expect: my_expect,
        })
    })
    .as_ref()
}

/// MariaDB values ferry refuses to read: zero dates (`--zero-dates null` reads them as NULL),
/// and `tinyint(1)` values other than 0 and 1 when asked to read it as a boolean.
#[rustfmt::skip]
static MY_REFUSED: &[SourceRefusal] = &[
    refusal("dz", "date", "'0000-00-00'", "", 5, "0000-00-00"),
    refusal("dz", "date", "'2024-00-10'", "", 5, "2024-00-10"),
    refusal("dz", "date", "'2024-01-00'", "", 5, "2024-01-00"),
    refusal("dtz", "datetime(6)", "'0000-00-00 00:00:00'", "", 5, "0000-00-00"),
    refusal("dtz", "datetime(6)", "'2024-00-01 12:00:00.5'", "", 5, "2024-00-01"),
    refusal("tb", "tinyint(1)", "2", "?tinyint1=bool", 5, "2"),
    refusal("tb", "tinyint(1)", "-128", "?tinyint1=bool", 5, "-128"),
];

#[test]
fn mariadb_source_refusals() {
    let Some((url, mut c)) = crate::mysql::fresh_db("ferry_it_mx_src_refused") else {
        return;
    };
    let (defs, rows) = refused_table(MY_REFUSED, '`');
    c.query_drop(format!(
        "CREATE TABLE refused (id int PRIMARY KEY, {})",
        defs.join(", ")
    ))
    .unwrap();
    c.query_drop("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
        .unwrap();
    for r in rows {
        c.query_drop(r).unwrap();
    }
    assert_source_refusals(&url, "refused", MY_REFUSED);
    // The documented way out: `--zero-dates null` reads zero dates as NULL.
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("z.parquet");
    crate::support::copy(
        &url,
        &format!("parquet://{}", out.display()),
        &[
            "--table",
            "refused",
            "--zero-dates",
            "null",
            "--transform",
            "select(id, dz, dtz)",
            "--transform",
            "filter(id <= 5)",
        ],
    );
    let cols = [
        col("dz", "date", Kind::Date, [""; 7]),
        col("dtz", "datetime(6)", Kind::Ts, [""; 7]),
    ];
    let rows = parquet_read(dir.path(), &[&cols[0], &cols[1]]);
    assert_eq!(rows.len(), 5);
    assert!(rows.values().all(|r| r == &vec![None, None]), "{rows:?}");
}

routes!(my_source;
    mariadb_to_pg => Pg,
    mariadb_to_mariadb => My,
    mariadb_to_sqlite => Sqlite,
    mariadb_to_parquet => Parquet,
    mariadb_to_csv => Csv,
    mariadb_to_duckdb => Duck,
);

// ---------------------------------------------------------------------------------------------
// SQLite
// ---------------------------------------------------------------------------------------------

/// SQLite's storage classes under the declared types ferry maps: rows 2 to 8 hold the minimum,
/// the maximum, and special values, each stored in the class its affinity gives it.
#[rustfmt::skip]
static SQ_COLS: &[Col] = &[
    col("i", "INTEGER", Kind::Int, ["-9223372036854775808", "9223372036854775807", "0", "-1", "1", "9007199254740993", "-9007199254740993"]),
    col("i2", "SMALLINT", Kind::Int, ["-32768", "32767", "0", "-1", "1", "255", "-256"]),
    col("bi", "BIGINT", Kind::Int, ["-9223372036854775808", "9223372036854775807", "0", "-1", "1", "4294967296", "-4294967296"]),
    col("r", "REAL", Kind::F64, ["-1.7976931348623157e308", "1.7976931348623157e308", "0.0", "5e-324", "9e999", "-9e999", "2.2250738585072014e-308"]),
    col("fl", "FLOAT", Kind::F64, ["-1.5", "0.1", "0.30000000000000004", "1e15", "-5e-324", "3", "9007199254740992"]),
    col("t", "TEXT", Kind::Text, ["''", "'plain'", "'tab\tnl\nq''\"\\'", "'🦀 é 漢字 \u{200d}'", "' lead and trail '", "'NULL'", "'\\N'"]),
    col("vc", "VARCHAR(10)", Kind::Text, ["''", "'0123456789'", "'héllo'", "'a '", "' '", "'ü'", "'0123456789é'"]),
    col("ch", "CHAR(5)", Kind::Text, ["''", "'abcde'", "'ab  '", "'é'", "' x'", "'a'", "'ü'"]),
    col("cl", "CLOB", Kind::Text, ["''", "'a,b'", "'\"'", "char(0)", "'x'", "'y'", "'z'"]),
    col("b", "BLOB", Kind::Bytes, ["x''", "x'ff'", "x'00'", "x'5c4e'", "x'deadbeef'", "x'0a0d09'", "x'2c22'"]),
    col("d152", "DECIMAL(15,2)", Kind::Dec(2), ["-9999999999999.99", "9999999999999.99", "0", "0.01", "-0.01", "1.5", "17"]),
    col("n102", "NUMERIC(10,2)", Kind::Dec(2), ["-99999999.99", "99999999.99", "0", "0.5", "'12.25'", "-3", "100"]),
    col("dt40", "DECIMAL_TEXT(40,20)", Kind::Dec(20),
        ["'-99999999999999999999.99999999999999999999'", "'99999999999999999999.99999999999999999999'", "'0.00000000000000000000'", "'0.00000000000000000001'", "'-1.00000000000000000000'", "'12345678901234567890.12345678901234567890'", "'1.50000000000000000000'"]),
    col("bo", "BOOLEAN", Kind::Bool, ["0", "1", "1", "0", "1", "0", "1"]),
    col("da", "DATE", Kind::Date, ["'0001-01-01'", "'9999-12-31'", "'1970-01-01'", "'1969-12-31'", "'2000-02-29'", "'1900-03-01'", "'2038-01-19'"]),
    col("tm", "TIME", Kind::Time,
        ["'00:00:00'", "'23:59:59.999999'", "'12:34:56.500'", "'00:00:00.000001'", "'10:00:00'", "'01:02:03.123'", "'18:00:00.250'"]),
    col("ts", "DATETIME", Kind::Ts,
        ["'0001-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'", "'1970-01-01 00:00:00'", "'1969-12-31 23:59:59.999999'", "'2000-02-29 12:34:56.789'", "'2038-01-19 03:14:08'", "'1900-01-01 00:00:00.000001'"]),
    col("tz", "TIMESTAMPTZ", Kind::TsTz,
        ["'0001-01-01 00:00:00+00:00'", "'9999-12-31 23:59:59.999999+00:00'", "'1970-01-01 00:00:00+00:00'", "'2020-06-01 06:30:00+00:00'", "'1999-12-31 09:59:59.999999+00:00'", "'2038-01-19 03:14:08.500+00:00'", "'2000-01-01 00:00:00+00:00'"]),
    col("x", "", Kind::Int, ["-9223372036854775808", "9223372036854775807", "0", "1", "-1", "2", "3"]),
    col("nm", "NUMERIC", Kind::F64, ["-1.5", "1e300", "0", "1", "0.1", "-2", "9007199254740992"]),
];

fn sq_expect(sink: Sink, c: &Col, v: Option<&str>) -> Expect {
    use Expect::*;
    use Sink::*;
    match (sink, c.name, v) {
        // SQLite does not hold a VARCHAR(10) to its length: PostgreSQL and MariaDB do, and
        // the longer value is refused before the server sees it, naming it and its length.
        (Pg, "vc", Some("'0123456789é'")) => Refused {
            code: 5,
            says: "the value '0123456789é' has 11 characters, more than the 10 of its character \
                   varying(10) column",
        },
        (My, "vc", Some("'0123456789é'")) => Refused {
            code: 5,
            says: "the value '0123456789é' has 11 characters, more than the 10 of its \
                   varchar(10) column",
        },
        // MySQL has no infinities (README, MySQL targets).
        (My, "r", Some("9e999")) => Refused {
            code: 5,
            says: "inf cannot be stored in MySQL",
        },
        (My, "r", Some("-9e999")) => Refused {
            code: 5,
            says: "-inf cannot be stored in MySQL",
        },
        // SQLite's CHAR(n) has no padding: 'ab  ' is not 'ab'. PostgreSQL's and MariaDB's
        // char(n) pad and strip, so a value ending in a blank is refused (README, lossy flags).
        (Pg, "ch", Some("'ab  '")) => Refused {
            code: 5,
            says: "the value \"ab  \" ends in a blank, which a character(5) column pads and strips",
        },
        (My, "ch", Some("'ab  '")) => Refused {
            code: 5,
            says: "the value \"ab  \" ends in a blank, which a char(5) column pads and strips",
        },
        // PostgreSQL text has no NUL (the server refuses it, naming the column).
        (Pg, "cl", Some("char(0)")) => Refused {
            code: 5,
            says: "invalid byte sequence for encoding \"UTF8\": 0x00",
        },
        // A text equal to CSV's null string would read back as NULL.
        (Csv, "t", Some("'\\N'")) => Refused {
            code: 5,
            says: "the value equals the null string '\\N'",
        },
        _ => Equal,
    }
}

fn sq_source() -> Option<&'static Source> {
    static SRC: OnceLock<Option<Source>> = OnceLock::new();
    SRC.get_or_init(|| {
        static DIR: OnceLock<TempDir> = OnceLock::new();
        let db = DIR
            .get_or_init(|| TempDir::new().unwrap())
            .path()
            .join("src.sqlite");
        let conn = rusqlite::Connection::open(&db).unwrap();
        let defs: Vec<String> = SQ_COLS
            .iter()
            .map(|k| format!("\"{}\" {}", k.name, k.decl))
            .collect();
        conn.execute_batch(&format!(
            "CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, {})",
            defs.join(", ")
        ))
        .unwrap();
        insert_rows(|sql| conn.execute_batch(sql).unwrap(), TABLE, SQ_COLS);
        let all: Vec<&Col> = SQ_COLS.iter().collect();
        let want = sqlite_read(&db, TABLE, &all);
        Some(Source {
            engine: Engine::Sqlite,
            url: format!("sqlite://{}", db.display()),
            table: TABLE,
            cols: SQ_COLS,
            want,
            expect: sq_expect,
        })
    })
    .as_ref()
}

/// SQLite values ferry refuses to read: a storage class the declared type does not take, a
/// decimal not exact at its scale, a date not in canonical form, text that is not UTF-8
/// (`?mismatch=null` reads a storage-class mismatch as NULL).
#[rustfmt::skip]
static SQ_REFUSED: &[SourceRefusal] = &[
    refusal("im", "INTEGER", "'abc'", "", 5, "text 'abc' does not fit the column's type"),
    refusal("im", "INTEGER", "1.5", "", 5, "1.5"),
    refusal("rl", "REAL", "'x'", "", 5, "'x'"),
    refusal("dc", "DECIMAL(15,2)", "0.125", "", 5, "real 0.125 does not fit"),
    refusal("da", "DATE", "'2020-1-1'", "", 5, "2020-1-1"),
    refusal("da", "DATE", "20200101", "", 5, "20200101"),
    refusal("tm", "TIME", "'10:00'", "", 5, "10:00"),
    refusal("ts", "DATETIME", "'2020-01-01T10:00:00'", "", 5, "2020-01-01T10:00:00"),
    refusal("bo", "BOOLEAN", "2", "", 5, "2"),
    refusal("bl", "BLOB", "'text'", "", 5, "text"),
    refusal("tx", "TEXT", "x'ff'", "", 5, "blob"),
    refusal("tx", "TEXT", "CAST(x'ff' AS TEXT)", "", 5, "UTF-8"),
];

#[test]
fn sqlite_source_refusals() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("refused.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (defs, rows) = refused_table(SQ_REFUSED, '"');
    conn.execute_batch(&format!(
        "CREATE TABLE refused (id INTEGER PRIMARY KEY, {}); {};",
        defs.join(", "),
        rows.join("; ")
    ))
    .unwrap();
    let url = format!("sqlite://{}", db.display());
    assert_source_refusals(&url, "refused", SQ_REFUSED);
    // The documented way out: `?mismatch=null` reads a storage-class mismatch as NULL.
    let out = dir.path().join("m.parquet");
    crate::support::copy(
        &format!("{url}?mismatch=null"),
        &format!("parquet://{}", out.display()),
        &[
            "--table",
            "refused",
            "--transform",
            "select(id, im)",
            "--transform",
            "filter(id = 1)",
        ],
    );
    let c = col("im", "INTEGER", Kind::Int, [""; 7]);
    let rows = parquet_read(dir.path(), &[&c]);
    assert_eq!(rows.get(&1), Some(&vec![None]));
}

routes!(sq_source;
    sqlite_to_pg => Pg,
    sqlite_to_mariadb => My,
    sqlite_to_sqlite => Sqlite,
    sqlite_to_parquet => Parquet,
    sqlite_to_csv => Csv,
    sqlite_to_duckdb => Duck,
);

// ---------------------------------------------------------------------------------------------
// Parquet written by the `parquet` crate (no ferry metadata: the Arrow types decide)
// ---------------------------------------------------------------------------------------------

/// Arrow types as another tool writes them. The values are given in canonical form (integers,
/// exact decimals, days, microseconds; nanoseconds for the nanosecond types, milliseconds for
/// the millisecond types), and are the reference themselves. A nanosecond column's extremes are
/// the extremes of its range in whole microseconds, and row 7 holds its one value with a
/// fraction of a microsecond (which every microsecond target refuses: one run for each).
#[rustfmt::skip]
static PQ_COLS: &[Col] = &[
    col("i8", "Int8", Kind::Int, ["-128", "127", "0", "-1", "1", "2", "3"]),
    col("i16", "Int16", Kind::Int, ["-32768", "32767", "0", "-1", "1", "255", "-256"]),
    col("i32", "Int32", Kind::Int, ["-2147483648", "2147483647", "0", "-1", "1", "65536", "-65537"]),
    col("i64", "Int64", Kind::Int, ["-9223372036854775808", "9223372036854775807", "0", "-1", "1", "4294967296", "-9007199254740993"]),
    col("u8", "UInt8", Kind::Int, ["0", "255", "1", "128", "127", "2", "3"]),
    col("u16", "UInt16", Kind::Int, ["0", "65535", "1", "32768", "32767", "2", "3"]),
    col("u32", "UInt32", Kind::Int, ["0", "4294967295", "1", "2147483648", "2", "3", "4"]),
    col("u64", "UInt64", Kind::Int, ["0", "18446744073709551615", "1", "9223372036854775808", "9223372036854775807", "2", "3"]),
    col("f32", "Float32", Kind::F32, ["-3.4028235e38", "3.4028235e38", "-0.0", "NaN", "inf", "-inf", "1e-45"]),
    col("f32n", "Float32", Kind::F32, ["-1e-45", "1.1754944e-38", "0.0", "0.1", "16777216.0", "-1.5", "3.1415927"]),
    col("f64", "Float64", Kind::F64, ["-1.7976931348623157e308", "1.7976931348623157e308", "-0.0", "NaN", "inf", "-inf", "5e-324"]),
    col("f64n", "Float64", Kind::F64, ["-5e-324", "2.2250738585072014e-308", "0.0", "0.1", "0.30000000000000004", "9007199254740992.0", "-1e15"]),
    col("d5", "Decimal128(5, 2)", Kind::Dec(2), ["-999.99", "999.99", "0.00", "0.01", "-0.01", "1.50", "17.00"]),
    col("d38", "Decimal128(38, 10)", Kind::Dec(10),
        ["-9999999999999999999999999999.9999999999", "9999999999999999999999999999.9999999999", "0.0000000000", "0.0000000001", "-0.0000000001", "12.5000000000", "1.0000000000"]),
    col("d76", "Decimal256(76, 20)", Kind::Dec(20),
        ["-99999999999999999999999999999999999999999999999999999999.99999999999999999999", "99999999999999999999999999999999999999999999999999999999.99999999999999999999", "0.00000000000000000000", "0.00000000000000000001", "-1.00000000000000000000", "1.50000000000000000000", "2.00000000000000000000"]),
    col("s", "Utf8", Kind::Text, ["", "plain", "tab\tnl\nq'\"\\", "🦀 é 漢字 \u{200d}", " lead and trail ", "NULL", "\\N"]),
    col("ls", "LargeUtf8", Kind::Text, ["", "x", "a,b", "\"", "\0", "é", "z"]),
    col("bin", "Binary", Kind::Bytes, ["", "ff", "00", "5c4e", "deadbeef", "0a0d09", "2c22"]),
    col("fsb", "FixedSizeBinary(2)", Kind::Bytes, ["0000", "ffff", "5c4e", "0102", "0a0d", "2c22", "ab00"]),
    col("bo", "Boolean", Kind::Bool, ["false", "true", "true", "false", "true", "false", "true"]),
    col("d32", "Date32", Kind::Date, ["-719162", "2932896", "0", "-1", "11016", "-2440550", "2147483647"]),
    col("t64", "Time64(Microsecond)", Kind::Time, ["0", "86399999999", "45296500000", "1", "36000000000", "3723123000", "64800250000"]),
    col("t32", "Time32(Millisecond)", Kind::Time, ["0", "86399999", "45296500", "1", "36000000", "3723123", "64800250"]),
    col("ts", "Timestamp(Microsecond, None)", Kind::Ts,
        ["-62135596800000000", "253402300799999999", "0", "-1", "951827696789000", "2147483648000000", "-9223372036854775808"]),
    col("tsn", "Timestamp(Nanosecond, None)", Kind::Ts,
        ["-9223372036854775000", "9223372036854775000", "0", "-1000", "951827696789000000", "1", "1000"]),
    col("tstz", "Timestamp(Microsecond, Some(\"+00:00\"))", Kind::TsTz,
        ["-62135596800000000", "253402300799999999", "0", "-1", "951827696789000", "2147483648500000", "9223372036854775807"]),
    col("tsutc", "Timestamp(Millisecond, Some(\"UTC\"))", Kind::TsTz,
        ["-62135596800000", "253402300799999", "0", "-1", "951827696789", "2147483648500", "1"]),
    col("tsnz", "Timestamp(Nanosecond, Some(\"+00:00\"))", Kind::TsTz,
        ["-9223372036854775000", "9223372036854775000", "0", "-1000", "951827696789000000", "1", "1000"]),
    col("t64n", "Time64(Nanosecond)", Kind::Time, ["0", "86399999999000", "45296500000000", "36000000000000", "3723123000000", "1", "64800250000000"]),
    col("durn", "Duration(Nanosecond)", Kind::Dur, ["-3020399000000000", "3020399000000000", "0", "-1000", "1000", "1", "45296789000000"]),
    col("dur", "Duration(Microsecond)", Kind::Dur, ["-3020399000000", "3020399000000", "0", "-1", "86400000000", "360000500000", "3020400000000"]),
];

/// The canonical form of a Parquet column's literal (nanoseconds and milliseconds become
/// microseconds; a nanosecond value with a fraction of a microsecond has none).
fn pq_canonical(c: &Col, v: &str) -> String {
    match c.kind {
        Kind::F32 => f32c(v.parse().unwrap()),
        Kind::F64 => f64c(v.parse().unwrap()),
        Kind::Date => match v {
            "2147483647" => "infinity".into(),
            "-2147483648" => "-infinity".into(),
            _ => v.to_string(),
        },
        Kind::Ts | Kind::TsTz | Kind::Time | Kind::Dur if c.decl.contains("Nanosecond") => {
            ts_from_ns(v.parse().unwrap())
        }
        Kind::Ts | Kind::TsTz | Kind::Time if c.decl.contains("Millisecond") => {
            (v.parse::<i64>().unwrap() * 1000).to_string()
        }
        Kind::Ts | Kind::TsTz => match v {
            "9223372036854775807" => "infinity".into(),
            "-9223372036854775808" => "-infinity".into(),
            _ => v.to_string(),
        },
        _ => v.to_string(),
    }
}

/// The Arrow array of a Parquet column: NULL in row 1, then its literals.
fn pq_array(c: &Col) -> arrow::array::ArrayRef {
    use arrow::array::*;
    use arrow::datatypes::{i256, DataType, TimeUnit};
    use std::sync::Arc;
    fn vals<T: std::str::FromStr>(c: &Col) -> Vec<Option<T>>
    where
        T::Err: std::fmt::Debug,
    {
        std::iter::once(None)
            .chain(c.vals.iter().map(|v| Some(v.parse::<T>().unwrap())))
            .collect()
    }
    let texts = || {
        std::iter::once(None)
            .chain(c.vals.iter().map(|v| Some(*v)))
            .collect::<Vec<_>>()
    };
    let bytes = || {
        std::iter::once(None)
            .chain(c.vals.iter().map(|v| Some(::hex::decode(v).unwrap())))
            .collect::<Vec<_>>()
    };
    let unscaled = |v: &str| -> i256 { i256::from_string(&v.replace('.', "")).unwrap() };
    let decimals = || {
        std::iter::once(None)
            .chain(c.vals.iter().map(|v| Some(unscaled(v))))
            .collect::<Vec<_>>()
    };
    let us = TimeUnit::Microsecond;
    match c.decl {
        "Int8" => Arc::new(Int8Array::from(vals::<i8>(c))),
        "Int16" => Arc::new(Int16Array::from(vals::<i16>(c))),
        "Int32" => Arc::new(Int32Array::from(vals::<i32>(c))),
        "Int64" => Arc::new(Int64Array::from(vals::<i64>(c))),
        "UInt8" => Arc::new(UInt8Array::from(vals::<u8>(c))),
        "UInt16" => Arc::new(UInt16Array::from(vals::<u16>(c))),
        "UInt32" => Arc::new(UInt32Array::from(vals::<u32>(c))),
        "UInt64" => Arc::new(UInt64Array::from(vals::<u64>(c))),
        "Float32" => Arc::new(Float32Array::from(vals::<f32>(c))),
        "Float64" => Arc::new(Float64Array::from(vals::<f64>(c))),
        "Utf8" => Arc::new(StringArray::from(texts())),
        "LargeUtf8" => Arc::new(LargeStringArray::from(texts())),
        "Binary" => Arc::new(BinaryArray::from_iter(bytes())),
        "FixedSizeBinary(2)" => Arc::new(
            FixedSizeBinaryArray::try_from_sparse_iter_with_size(bytes().into_iter(), 2).unwrap(),
        ),
        "Boolean" => Arc::new(BooleanArray::from(vals::<bool>(c))),
        "Date32" => Arc::new(Date32Array::from(vals::<i32>(c))),
        "Time64(Microsecond)" => Arc::new(Time64MicrosecondArray::from(vals::<i64>(c))),
        "Time32(Millisecond)" => Arc::new(Time32MillisecondArray::from(vals::<i32>(c))),
        "Timestamp(Microsecond, None)" => Arc::new(TimestampMicrosecondArray::from(vals::<i64>(c))),
        "Timestamp(Nanosecond, None)" => Arc::new(TimestampNanosecondArray::from(vals::<i64>(c))),
        "Timestamp(Microsecond, Some(\"+00:00\"))" => {
            Arc::new(TimestampMicrosecondArray::from(vals::<i64>(c)).with_timezone("+00:00"))
        }
        "Timestamp(Nanosecond, Some(\"+00:00\"))" => {
            Arc::new(TimestampNanosecondArray::from(vals::<i64>(c)).with_timezone("+00:00"))
        }
        "Time64(Nanosecond)" => Arc::new(Time64NanosecondArray::from(vals::<i64>(c))),
        "Duration(Nanosecond)" => Arc::new(DurationNanosecondArray::from(vals::<i64>(c))),
        "Timestamp(Millisecond, Some(\"UTC\"))" => {
            Arc::new(TimestampMillisecondArray::from(vals::<i64>(c)).with_timezone("UTC"))
        }
        "Duration(Microsecond)" => Arc::new(DurationMicrosecondArray::from(vals::<i64>(c))),
        d if d.starts_with("Decimal128") => {
            let DataType::Decimal128(p, s) = arrow_type(d) else {
                unreachable!()
            };
            let v: Vec<Option<i128>> = decimals()
                .into_iter()
                .map(|x| x.map(|x| x.as_i128()))
                .collect();
            Arc::new(
                Decimal128Array::from(v)
                    .with_precision_and_scale(p, s)
                    .unwrap(),
            )
        }
        d if d.starts_with("Decimal256") => {
            let DataType::Decimal256(p, s) = arrow_type(d) else {
                unreachable!()
            };
            Arc::new(
                Decimal256Array::from(decimals())
                    .with_precision_and_scale(p, s)
                    .unwrap(),
            )
        }
        d => panic!("no array for {d}: {us:?}"),
    }
}

fn arrow_type(d: &str) -> arrow::datatypes::DataType {
    let (name, args) = d.split_once('(').unwrap();
    let mut a = args.trim_end_matches(')').split(',').map(|x| x.trim());
    let p: u8 = a.next().unwrap().parse().unwrap();
    let s: i8 = a.next().unwrap().parse().unwrap();
    match name {
        "Decimal128" => arrow::datatypes::DataType::Decimal128(p, s),
        _ => arrow::datatypes::DataType::Decimal256(p, s),
    }
}

fn pq_expect(sink: Sink, c: &Col, v: Option<&str>) -> Expect {
    use Expect::*;
    use Sink::*;
    let Some(v) = v else {
        return match (sink, c.name) {
            (My, "d76") | (Csv, "dur" | "durn") => pq_expect(sink, c, Some("0")),
            _ => Equal,
        };
    };
    // A value with a fraction of a microsecond, which a microsecond target would round.
    let sub_micro = c.decl.contains("Nanosecond") && v.parse::<i64>().unwrap() % 1000 != 0;
    match (sink, c.kind, c.name, v) {
        // MySQL has no NaN, no infinities, and keeps -0 as 0 (README, MySQL targets).
        (My, Kind::F32 | Kind::F64, _, "-0.0") => Refused {
            code: 5,
            says: "-0 cannot be stored in MySQL",
        },
        (My, Kind::F32 | Kind::F64, _, "NaN") => Refused {
            code: 5,
            says: "NaN cannot be stored in MySQL",
        },
        (My, Kind::F32 | Kind::F64, _, "inf") => Refused {
            code: 5,
            says: "inf cannot be stored in MySQL",
        },
        (My, Kind::F32 | Kind::F64, _, "-inf") => Refused {
            code: 5,
            says: "-inf cannot be stored in MySQL",
        },
        // Wider than MySQL's DECIMAL(65,30) (README, Arrow to targets).
        (My, _, "d76", _) => TypeRefused {
            code: 9,
            says: "decimal(76,20) is wider than MySQL's DECIMAL",
        },
        // Years outside MySQL's 0000 to 9999.
        (My, _, "d32", "-2440550") => Refused {
            code: 5,
            says: "date 4713-01-01 BC is out of MySQL's range",
        },
        (My, _, "d32", "2147483647") => Refused {
            code: 5,
            says: "date infinity is out of MySQL's range",
        },
        (My, _, "ts", "-9223372036854775808") => Refused {
            code: 5,
            says: "timestamp -infinity is out of MySQL's range",
        },
        (My, _, "tstz", "9223372036854775807") => Refused {
            code: 5,
            says: "timestamp infinity is out of MySQL's range",
        },
        // MySQL's time holds -838:59:59 to 838:59:59.
        (My, _, "dur", "3020400000000") => Refused {
            code: 5,
            says: "839:00:00 is out of MySQL's TIME range",
        },
        // Nanoseconds where a target keeps microseconds: PostgreSQL's interval and DuckDB's
        // TIMESTAMPTZ and INTERVAL cut them off without a word.
        (Duck, _, "tsnz" | "durn", _) if sub_micro => Refused {
            code: 5,
            says: "has nanoseconds; DuckDB's TIMESTAMPTZ and INTERVAL keep microseconds",
        },
        (My, ..) if sub_micro => Refused {
            code: 5,
            says: "has nanoseconds; MySQL keeps microseconds",
        },
        (Pg, ..) if sub_micro => Refused {
            code: 5,
            says: "has nanoseconds; PostgreSQL keeps microseconds",
        },
        // SQLite keeps a duration as its exact text, nine digits for nanoseconds.
        (Sqlite, ..) if sub_micro && c.kind != Kind::Dur => Refused {
            code: 5,
            says: "has nanoseconds, which would be lost",
        },
        // PostgreSQL text has no NUL (the server refuses it, naming the column).
        (Pg, _, "ls", "\0") => Refused {
            code: 5,
            says: "invalid byte sequence for encoding \"UTF8\": 0x00",
        },
        // SQLite stores NaN as NULL and -0.0 as 0.0 (README, SQLite targets).
        (Sqlite, Kind::F32 | Kind::F64, _, "-0.0") => Refused {
            code: 5,
            says: "-0.0: SQLite stores -0.0 as 0.0",
        },
        (Sqlite, Kind::F32 | Kind::F64, _, "NaN") => Refused {
            code: 5,
            says: "NaN: SQLite stores NaN as NULL",
        },
        // CSV: a text equal to the null string would read back as NULL; durations have no CSV
        // form.
        (Csv, Kind::Text, _, "\\N") => Refused {
            code: 5,
            says: "the value equals the null string '\\N'",
        },
        (Csv, Kind::Dur, ..) => TypeRefused {
            code: 9,
            says: "CSV cannot carry values of type Duration",
        },
        _ => Equal,
    }
}

fn pq_source() -> Option<&'static Source> {
    use arrow::array::{ArrayRef, Int64Array};
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;
    static SRC: OnceLock<Option<Source>> = OnceLock::new();
    SRC.get_or_init(|| {
        static DIR: OnceLock<TempDir> = OnceLock::new();
        let file = DIR
            .get_or_init(|| TempDir::new().unwrap())
            .path()
            .join(format!("{TABLE}.parquet"));
        let mut fields = vec![Field::new("id", arrow::datatypes::DataType::Int64, false)];
        let mut arrays: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(IDS.to_vec()))];
        for c in PQ_COLS {
            let a = pq_array(c);
            fields.push(Field::new(c.name, a.data_type().clone(), true));
            arrays.push(a);
        }
        let schema = Arc::new(Schema::new(fields));
        let batch = arrow::record_batch::RecordBatch::try_new(schema.clone(), arrays).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&file).unwrap(),
            schema,
            None,
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let want = IDS
            .iter()
            .map(|&id| {
                (
                    id,
                    PQ_COLS
                        .iter()
                        .map(|c| literal(c, id).map(|v| pq_canonical(c, v)))
                        .collect(),
                )
            })
            .collect();
        Some(Source {
            engine: Engine::Parquet,
            url: format!("parquet://{}", file.display()),
            table: TABLE,
            cols: PQ_COLS,
            want,
            expect: pq_expect,
        })
    })
    .as_ref()
}

routes!(pq_source;
    parquet_to_pg => Pg,
    parquet_to_mariadb => My,
    parquet_to_sqlite => Sqlite,
    parquet_to_parquet => Parquet,
    parquet_to_csv => Csv,
    parquet_to_duckdb => Duck,
);

// ---------------------------------------------------------------------------------------------
// DuckDB, through its own ADBC entry point
// ---------------------------------------------------------------------------------------------

/// DuckDB 1.x's types: rows 2 to 8 hold the minimum, the maximum, and special values.
#[rustfmt::skip]
static DK_COLS: &[Col] = &[
    col("ti", "TINYINT", Kind::Int, ["-128", "127", "0", "-1", "1", "2", "3"]),
    col("si", "SMALLINT", Kind::Int, ["-32768", "32767", "0", "-1", "1", "255", "-256"]),
    col("ii", "INTEGER", Kind::Int, ["-2147483648", "2147483647", "0", "-1", "1", "65536", "-65537"]),
    col("bi", "BIGINT", Kind::Int, ["-9223372036854775808", "9223372036854775807", "0", "-1", "1", "9007199254740993", "-9007199254740993"]),
    col("hi", "HUGEINT", Kind::Int, ["-170141183460469231731687303715884105728", "170141183460469231731687303715884105727", "0", "-1", "1", "18446744073709551616", "-99999999999999999999999999999999999999"]),
    col("uti", "UTINYINT", Kind::Int, ["0", "255", "1", "128", "127", "2", "3"]),
    col("usi", "USMALLINT", Kind::Int, ["0", "65535", "1", "32768", "32767", "2", "3"]),
    col("ui", "UINTEGER", Kind::Int, ["0", "4294967295", "1", "2147483648", "2147483647", "2", "3"]),
    col("ubi", "UBIGINT", Kind::Int, ["0", "18446744073709551615", "1", "9223372036854775808", "9223372036854775807", "2", "3"]),
    col("uhi", "UHUGEINT", Kind::Int, ["0", "340282366920938463463374607431768211455", "1", "170141183460469231731687303715884105728", "18446744073709551616", "2", "3"]),
    col("f", "FLOAT", Kind::F32, ["'-3.4028235e38'", "'3.4028235e38'", "'-0.0'", "'nan'", "'inf'", "'-inf'", "'1e-45'"]),
    col("d", "DOUBLE", Kind::F64, ["'-1.7976931348623157e308'", "'1.7976931348623157e308'", "'-0.0'", "'nan'", "'inf'", "'-inf'", "'5e-324'"]),
    col("d41", "DECIMAL(4,1)", Kind::Dec(1), ["-999.9", "999.9", "0", "0.1", "-0.1", "1.5", "17"]),
    col("d183", "DECIMAL(18,3)", Kind::Dec(3), ["-999999999999999.999", "999999999999999.999", "0", "0.001", "-1", "12.5", "100"]),
    col("d3810", "DECIMAL(38,10)", Kind::Dec(10),
        ["-9999999999999999999999999999.9999999999", "9999999999999999999999999999.9999999999", "0", "0.0000000001", "-1", "1.5", "123"]),
    col("v", "VARCHAR", Kind::Text, ["''", "'plain'", "'tab\tnl\nq''\"\\'", "'🦀 é 漢字 \u{200d}'", "' lead and trail '", "'NULL'", "'\\N'"]),
    col("bl", "BLOB", Kind::Bytes, ["''::BLOB", "'\\xFF'::BLOB", "'\\x00'::BLOB", "'\\x5C\\x4E'::BLOB", "'\\xDE\\xAD\\xBE\\xEF'::BLOB", "'a,b'::BLOB", "'\\x0A\\x0D\\x09'::BLOB"]),
    col("bo", "BOOLEAN", Kind::Bool, ["false", "true", "true", "false", "true", "false", "true"]),
    col("da", "DATE", Kind::Date, ["'0001-01-01'", "'9999-12-31'", "'1970-01-01'", "'infinity'", "'-infinity'", "'4713-01-01 (BC)'", "'2000-02-29'"]),
    col("tm", "TIME", Kind::Time, ["'00:00:00'", "'23:59:59.999999'", "'24:00:00'", "'12:34:56.5'", "'00:00:00.000001'", "'10:00:00'", "'18:00:00.25'"]),
    col("tn", "TIME_NS", Kind::Time, ["'00:00:00'", "'23:59:59.999999'", "'12:00:00'", "'12:34:56.5'", "'00:00:00.000001'", "'10:00:00'", "'18:00:00.25'"]),
    col("ts", "TIMESTAMP", Kind::Ts,
        ["'0001-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'", "'1970-01-01 00:00:00'", "'infinity'", "'-infinity'", "'1969-12-31 23:59:59.999999'", "'2000-02-29 12:34:56.789'"]),
    col("tss", "TIMESTAMP_S", Kind::Ts,
        ["'0001-01-01 00:00:00'", "'9999-12-31 23:59:59'", "'1970-01-01 00:00:00'", "'1969-12-31 23:59:59'", "'2000-02-29 12:34:56'", "'2038-01-19 03:14:08'", "'1900-01-01 00:00:01'"]),
    col("tsm", "TIMESTAMP_MS", Kind::Ts,
        ["'0001-01-01 00:00:00'", "'9999-12-31 23:59:59.999'", "'1970-01-01 00:00:00'", "'1969-12-31 23:59:59.999'", "'2000-02-29 12:34:56.789'", "'2038-01-19 03:14:08'", "'1900-01-01 00:00:00.001'"]),
    col("tsn", "TIMESTAMP_NS", Kind::Ts,
        ["'1677-09-22 00:00:00'", "'2262-04-11 23:47:16.854775'", "'1970-01-01 00:00:00'", "'1969-12-31 23:59:59.999999'", "'2000-02-29 12:34:56.789'", "'2038-01-19 03:14:08'", "'1900-01-01 00:00:00.000001'"]),
    col("tz", "TIMESTAMPTZ", Kind::TsTz,
        ["'0001-01-01 00:00:00+00'", "'9999-12-31 23:59:59.999999+00'", "'1970-01-01 00:00:00+00'", "'infinity'", "'-infinity'", "'2020-06-01 08:30:00+02'", "'1999-12-31 23:59:59.999999-10'"]),
    col("iv", "INTERVAL", Kind::Dur, ["'00:00:00'", "'838:59:59'", "'-838:59:59'", "'00:00:00.000001'", "'-00:00:01'", "'24:00:00'", "'12:34:56.789'"]),
    col("uu", "UUID", Kind::Text,
        ["'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'80000000-0000-0000-0000-000000000000'", "'7fffffff-ffff-ffff-ffff-ffffffffffff'", "'00000000-0000-0000-0000-000000000001'", "'12345678-1234-5678-1234-567812345678'"]),
    col("en", "mood", Kind::Text, ["'sad'", "'ok'", "'happy 😀'", "'sad'", "'ok'", "'sad'", "'ok'"]),
    col("li", "INTEGER[]", Kind::Text, ["[]", "[1, 2, 3]", "[NULL]", "[-2147483648, 2147483647]", "[0]", "[1, NULL, 3]", "[42]"]),
    col("lt", "VARCHAR[]", Kind::Text, ["[]", "['a', 'b']", "['a,b', 'q\"q']", "['']", "[NULL, 'x']", "['🦀']", "['{}']"]),
    col("st", "STRUCT(a INTEGER, b VARCHAR)", Kind::Text, ["{'a': 1, 'b': 'x'}", "{'a': NULL, 'b': NULL}", "{'a': -1, 'b': ''}", "{'a': 0, 'b': 'y'}", "{'a': 2, 'b': 'z'}", "{'a': 3, 'b': 'w'}", "{'a': 4, 'b': 'v'}"]),
    col("mp", "MAP(VARCHAR, INTEGER)", Kind::Text, ["MAP {}", "MAP {'k': 1}", "MAP {'a': 1, 'b': 2}", "MAP {'x': NULL}", "MAP {'y': 0}", "MAP {'z': -1}", "MAP {'w': 5}"]),
    col("bt", "BIT", Kind::Text, ["'0'::BIT", "'1'::BIT", "'0101'::BIT", "'11111111'::BIT", "'000000001'::BIT", "'10'::BIT", "'1'::BIT"]),
    col("ttz", "TIMETZ", Kind::Text, ["'00:00:00+00'", "'23:59:59.999999+15:59'", "'12:00:00-15:59'", "'10:11:12.5+02'", "'01:02:03+05:30'", "'12:00:00+00'", "'24:00:00+00'"]),
    col("arr", "INTEGER[2]", Kind::Text, ["[1, 2]", "[NULL, 3]", "[0, 0]", "[-1, 1]", "[5, 6]", "[7, 8]", "[9, 10]"]),
];

fn dk_expect(sink: Sink, c: &Col, v: Option<&str>) -> Expect {
    use Expect::*;
    use Sink::*;
    let refused = |says| Refused { code: 5, says };
    let Some(v) = v else { return Equal };
    match (sink, c.kind, v) {
        // MySQL has no NaN, no infinities, and keeps -0 as 0; SQLite stores NaN as NULL and
        // -0.0 as 0.0 (README, MySQL and SQLite targets).
        (My, Kind::F32 | Kind::F64, "'-0.0'") => refused("-0 cannot be stored in MySQL"),
        (My, Kind::F32 | Kind::F64, "'nan'") => refused("NaN cannot be stored in MySQL"),
        (My, Kind::F32 | Kind::F64, "'inf'") => refused("inf cannot be stored in MySQL"),
        (My, Kind::F32 | Kind::F64, "'-inf'") => refused("-inf cannot be stored in MySQL"),
        (Sqlite, Kind::F32 | Kind::F64, "'-0.0'") => refused("-0.0: SQLite stores -0.0 as 0.0"),
        (Sqlite, Kind::F32 | Kind::F64, "'nan'") => refused("NaN: SQLite stores NaN as NULL"),
        // MySQL's dates and timestamps run from year 0000 to 9999, without infinities.
        (My, Kind::Date, "'infinity'") => refused("date infinity is out of MySQL's range"),
        (My, Kind::Date, "'-infinity'") => refused("date -infinity is out of MySQL's range"),
        (My, Kind::Date, "'4713-01-01 (BC)'") => {
            refused("date 4713-01-01 BC is out of MySQL's range")
        }
        (My, Kind::Ts | Kind::TsTz, "'infinity'") => {
            refused("timestamp infinity is out of MySQL's range")
        }
        (My, Kind::Ts | Kind::TsTz, "'-infinity'") => {
            refused("timestamp -infinity is out of MySQL's range")
        }
        // A text equal to CSV's null string would read back as NULL.
        (Csv, Kind::Text, "'\\N'") => refused("the value equals the null string '\\N'"),
        _ => Equal,
    }
}

fn dk_source() -> Option<&'static Source> {
    static SRC: OnceLock<Option<Source>> = OnceLock::new();
    SRC.get_or_init(|| {
        let drv = drivers()?;
        static DIR: OnceLock<TempDir> = OnceLock::new();
        let file = DIR
            .get_or_init(|| TempDir::new().unwrap())
            .path()
            .join("src.duckdb");
        let defs: Vec<String> = DK_COLS
            .iter()
            .map(|k| format!("\"{}\" {}", k.name, k.decl))
            .collect();
        let mut sql = vec![
            "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy 😀')".to_string(),
            format!(
                "CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, {})",
                defs.join(", ")
            ),
        ];
        insert_rows(|s| sql.push(s.to_string()), TABLE, DK_COLS);
        let sql: Vec<&str> = sql.iter().map(String::as_str).collect();
        crate::relations::duck(&drv, &file, &sql);
        let all: Vec<&Col> = DK_COLS.iter().collect();
        let want = duck_read(&drv, &file, TABLE, &all);
        Some(Source {
            engine: Engine::Duck,
            url: format!("duckdb://{}", file.display()),
            table: TABLE,
            cols: DK_COLS,
            want,
            expect: dk_expect,
        })
    })
    .as_ref()
}

routes!(dk_source;
    duckdb_to_pg => Pg,
    duckdb_to_mariadb => My,
    duckdb_to_sqlite => Sqlite,
    duckdb_to_parquet => Parquet,
    duckdb_to_csv => Csv,
    duckdb_to_duckdb => Duck,
);

/// A query's result is read as the table's columns are: DuckDB describes the query, so its
/// 128-bit integers keep their values, its infinities stay infinities and its TIMETZ, BIT and
/// STRUCT arrive as DuckDB's text of them (a query had no declared types: a UHUGEINT past 2^127
/// arrived negative, DuckDB's -infinity a finite date, a TIMETZ without its offset).
#[test]
fn duckdb_query_columns_are_read_as_the_table_columns() {
    let Some(src) = dk_source() else { return };
    let cols: Vec<&Col> = DK_COLS
        .iter()
        .filter(|c| ["hi", "uhi", "da", "ts", "tz", "uu", "ttz", "bt", "st"].contains(&c.name))
        .collect();
    let names: Vec<String> = cols.iter().map(|c| format!("\"{}\"", c.name)).collect();
    let dir = TempDir::new().unwrap();
    let drv = drivers_quiet().unwrap_or_default();
    let out = fx(&drv)
        .args([
            "copy",
            &src.url,
            &format!("parquet://{}", dir.path().join("q").display()),
            "--query",
            &format!("SELECT id, {} FROM {TABLE}", names.join(", ")),
            "--target-table",
            TABLE,
            "-q",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = parquet_read(&dir.path().join("q").join(TABLE), &cols);
    let idx: HashMap<&str, usize> = DK_COLS
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name, i))
        .collect();
    for id in IDS {
        for (j, c) in cols.iter().enumerate() {
            assert_eq!(
                got[&id][j], src.want[&id][idx[c.name]],
                "column {} row {id}",
                c.name
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CSV written by hand (no manifest: the types are inferred)
// ---------------------------------------------------------------------------------------------

/// A CSV file as another tool writes it, its types inferred by ferry. The values are the
/// fields' text (quoted when `"` starts them), and their canonical forms are computed from that
/// text alone. A column whose text a number would not give back (leading zeros, a `+`) must be
/// read as text, and so must integers past 64 bits.
#[rustfmt::skip]
static CV_COLS: &[Col] = &[
    col("i", "integer", Kind::Int, ["-9223372036854775808", "9223372036854775807", "0", "-1", "1", "42", "-42"]),
    col("big", "integer past 64 bits", Kind::Text, ["18446744073709551615", "-9223372036854775809", "0", "1", "-1", "99999999999999999999999999999999999999", "2"]),
    col("f", "float", Kind::F64, ["-1.7976931348623157e308", "1.7976931348623157e308", "0.1", "-0.0", "5e-324", "1.5", "2.5e-10"]),
    col("b", "boolean", Kind::Bool, ["true", "false", "TRUE", "FALSE", "True", "false", "true"]),
    col("d", "date", Kind::Date, ["0001-01-01", "9999-12-31", "1970-01-01", "2000-02-29", "1969-12-31", "2038-01-19", "1900-03-01"]),
    col("ts", "timestamp", Kind::Ts,
        ["0001-01-01 00:00:00.000000", "9999-12-31 23:59:59.999999", "1970-01-01 00:00:00.000000", "1969-12-31 23:59:59.999999", "2000-02-29 12:34:56.789000", "2038-01-19 03:14:08.000000", "1900-01-01 00:00:00.000001"]),
    col("t", "text", Kind::Text, ["plain", "\"a,b\"", "\"say \"\"hi\"\"\"", "\"line1\nline2\"", "🦀 é 漢字", "\"\"", "NULL"]),
    col("z", "digits with leading zeros", Kind::Text, ["007", "02134", "0", "00", "-01", "0010", "10"]),
    col("p", "digits with a sign", Kind::Text, ["+5", "-5", "0", "+0", "1", "2", "3"]),
    col("n", "numbers and words", Kind::Text, ["1", "2.5", "x", "3", "4", "5", "6"]),
];

/// The value a CSV field's text holds, in the canonical form of its column's kind.
fn cv_canonical(c: &Col, field: &str) -> String {
    let text = match field.strip_prefix('"').and_then(|f| f.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => field.to_string(),
    };
    match c.kind {
        Kind::Int | Kind::Text => text,
        Kind::F64 => f64c(text.parse().unwrap()),
        Kind::Bool => text.to_lowercase(),
        Kind::Date => days(NaiveDate::parse_from_str(&text, "%Y-%m-%d").unwrap()),
        Kind::Ts => {
            micros_of(NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f").unwrap())
        }
        k => panic!("no CSV canonical form for {k:?}"),
    }
}

fn cv_expect(sink: Sink, c: &Col, v: Option<&str>) -> Expect {
    use Expect::*;
    use Sink::*;
    let refused = |says| Refused { code: 5, says };
    match (sink, c.name, v) {
        (My, "f", Some("-0.0")) => refused("-0 cannot be stored in MySQL"),
        (Sqlite, "f", Some("-0.0")) => refused("-0.0: SQLite stores -0.0 as 0.0"),
        _ => Equal,
    }
}

fn cv_source() -> Option<&'static Source> {
    static SRC: OnceLock<Option<Source>> = OnceLock::new();
    SRC.get_or_init(|| {
        static DIR: OnceLock<TempDir> = OnceLock::new();
        let dir = DIR
            .get_or_init(|| TempDir::new().unwrap())
            .path()
            .join("csv");
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = String::from("id");
        for c in CV_COLS {
            text += &format!(",{}", c.name);
        }
        text.push('\n');
        for id in IDS {
            text += &id.to_string();
            for c in CV_COLS {
                text.push(',');
                text += literal(c, id).unwrap_or("\\N");
            }
            text.push('\n');
        }
        std::fs::write(dir.join(format!("{TABLE}.csv")), text).unwrap();
        let want = IDS
            .iter()
            .map(|&id| {
                (
                    id,
                    CV_COLS
                        .iter()
                        .map(|c| literal(c, id).map(|v| cv_canonical(c, v)))
                        .collect(),
                )
            })
            .collect();
        Some(Source {
            engine: Engine::Csv,
            url: format!("csv://{}", dir.display()),
            table: TABLE,
            cols: CV_COLS,
            want,
            expect: cv_expect,
        })
    })
    .as_ref()
}

routes!(cv_source;
    csv_to_pg => Pg,
    csv_to_mariadb => My,
    csv_to_sqlite => Sqlite,
    csv_to_parquet => Parquet,
    csv_to_csv => Csv,
    csv_to_duckdb => Duck,
);

// ---------------------------------------------------------------------------------------------
// PostgreSQL through the ADBC PostgreSQL driver (the same torture table)
// ---------------------------------------------------------------------------------------------

/// A source's torture table read through an ADBC driver (`url`): the same cells and the same
/// refusals as the source's own endpoint.
fn through_driver(src: &Source, engine: Engine, url: String) -> Option<Source> {
    drivers()?;
    Some(Source {
        engine,
        url,
        table: src.table,
        cols: src.cols,
        want: src.want.clone(),
        expect: src.expect,
    })
}

fn apg_source() -> Option<&'static Source> {
    static SRC: OnceLock<Option<Source>> = OnceLock::new();
    SRC.get_or_init(|| {
        let pg = pg_source()?;
        through_driver(
            pg,
            Engine::AdbcPg,
            format!("adbc://postgresql?uri={}", pg.url),
        )
    })
    .as_ref()
}

routes!(apg_source;
    adbc_pg_to_pg => Pg,
    adbc_pg_to_mariadb => My,
    adbc_pg_to_sqlite => Sqlite,
    adbc_pg_to_parquet => Parquet,
    adbc_pg_to_csv => Csv,
    adbc_pg_to_duckdb => Duck,
);

// ---------------------------------------------------------------------------------------------
// SQLite through the ADBC SQLite driver (the same torture table)
// ---------------------------------------------------------------------------------------------

fn asq_source() -> Option<&'static Source> {
    static SRC: OnceLock<Option<Source>> = OnceLock::new();
    SRC.get_or_init(|| {
        let sq = sq_source()?;
        let path = sq.url.trim_start_matches("sqlite://");
        through_driver(
            sq,
            Engine::AdbcSqlite,
            format!("adbc://sqlite?uri=file:{path}"),
        )
    })
    .as_ref()
}

routes!(asq_source;
    adbc_sqlite_to_pg => Pg,
    adbc_sqlite_to_mariadb => My,
    adbc_sqlite_to_sqlite => Sqlite,
    adbc_sqlite_to_parquet => Parquet,
    adbc_sqlite_to_csv => Csv,
    adbc_sqlite_to_duckdb => Duck,
);
