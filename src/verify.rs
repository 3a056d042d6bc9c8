//! `ferry verify FROM TO`: proves that two endpoints hold the same rows, across engines.
//!
//! Both sides are read through ferry's own sources, in parallel (each side's partitions on a
//! local rayon pool, the two sides at once). Every value is first put in a canonical form that
//! depends on what it means, not on how an engine stores it: integers of any width by value,
//! decimals by value (`1.50` = `1.5`), floats by their bits (`-0.0` ≠ `0.0`, every NaN one
//! value), text and binary as bytes, dates as days, times, timestamps and durations as
//! nanoseconds (timestamps in UTC), anything else by its Arrow display text. A row's hash is
//! the hash of its canonical values, taken by column name, so a correct copy into another
//! engine compares equal.
//!
//! Each side is summarised as a row count and, per bucket of the primary key's hash (the whole
//! row when there is no key), a count and a sum of row hashes: the order rows come in does not
//! matter. Buckets that differ are read again, and only their rows are kept and compared key by
//! key, so a difference is narrowed down to the rows, keys and columns it is in, in memory
//! proportional to a few buckets.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{Field, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::source::{Source, TablePlan, TableRef};

/// Buckets the key hashes fall into; a difference is looked for in the buckets that differ.
pub const BUCKETS: usize = 1024;
/// Differing buckets read a second time to list rows (the first ones, in bucket order).
const MAX_BUCKETS_TO_LIST: usize = 16;

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Differences listed per table at most.
    pub max_differences: usize,
    /// Threads reading partitions.
    pub jobs: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            max_differences: DEFAULT_MAX_DIFFERENCES,
            jobs: 2,
        }
    }
}

/// Differences listed per table by default.
pub const DEFAULT_MAX_DIFFERENCES: usize = 10;

/// What verify found for one table.
#[derive(Debug, Clone, Serialize)]
pub struct TableVerdict {
    pub source: String,
    pub target: String,
    pub source_rows: u64,
    pub target_rows: u64,
    /// The columns rows are matched by (the primary key), or empty (whole rows).
    pub key: Vec<String>,
    pub equal: bool,
    /// Columns one side has and the other has not.
    pub column_mismatch: Vec<String>,
    /// Buckets whose counts or hashes differ.
    pub differing_buckets: usize,
    /// The first differences, by key.
    pub differences: Vec<Difference>,
}

/// One row that differs.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    /// `column=value` of the key (or of the whole row without a key).
    pub key: String,
    /// `changed`, `missing in target`, `extra in target`, `duplicated in target`,
    /// `duplicated in source`.
    pub kind: String,
    /// For `changed`: the columns whose values differ, with both values.
    pub columns: Vec<ChangedColumn>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangedColumn {
    pub column: String,
    pub source: String,
    pub target: String,
}

/// The outcome of a verify run.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub source: String,
    pub target: String,
    pub equal: bool,
    pub tables: Vec<TableVerdict>,
    pub seconds: f64,
}

/// One side's summary of a table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Digest {
    rows: u64,
    buckets: Vec<(u64, u64, u64)>,
}

impl Digest {
    fn new() -> Self {
        Digest {
            rows: 0,
            buckets: vec![(0, 0, 0); BUCKETS],
        }
    }

    fn add(&mut self, other: &Digest) {
        self.rows += other.rows;
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            a.0 += b.0;
            a.1 = a.1.wrapping_add(b.1);
            a.2 = a.2.wrapping_add(b.2);
        }
    }
}

/// A second, independent 64-bit mix of a hash: two sums make a collision of both unlikely.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Tags that keep values of different kinds apart (an integer 7 is not the text "7").
mod tag {
    pub const NULL: u64 = 0x6e75_6c6c;
    pub const INT: u64 = 1;
    pub const BOOL: u64 = 2;
    pub const FLOAT: u64 = 3;
    pub const DECIMAL: u64 = 4;
    pub const TEXT: u64 = 5;
    pub const BYTES: u64 = 6;
    pub const DATE: u64 = 7;
    pub const INSTANT: u64 = 8;
    pub const TIME: u64 = 9;
    pub const OTHER: u64 = 13;
}

/// The hash of one canonical value: its kind's tag and up to 128 bits of value.
fn cell(tag: u64, v: i128) -> u64 {
    mix(mix(tag ^ (v as u64)) ^ ((v >> 64) as u64))
}

/// The hash of text or bytes under a tag.
fn cell_bytes(tag: u64, b: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot_with_seed(tag, b)
}

/// A decimal by value: the unscaled integer without trailing zeros and its power of ten, so
/// `1.50` (150, scale 2) and `1.5` (15, scale 1) hash alike, whatever the width.
fn cell_decimal(mut v: i128, mut scale: i32) -> u64 {
    if v == 0 {
        return cell(tag::DECIMAL, 0);
    }
    // Most values fit 64 bits, whose division by ten is a multiplication.
    while let Ok(small) = i64::try_from(v) {
        if small % 10 != 0 {
            break;
        }
        v = (small / 10) as i128;
        scale -= 1;
    }
    while v % 10 == 0 {
        v /= 10;
        scale -= 1;
    }
    mix(cell(tag::DECIMAL, v) ^ (scale as i64 as u64))
}

/// [`cell_decimal`] for a 256-bit decimal: the same hash as a 128-bit one of equal value.
fn cell_decimal256(v: arrow::datatypes::i256, scale: i32) -> u64 {
    use arrow::datatypes::i256;
    if let Some(small) = v.to_i128() {
        return cell_decimal(small, scale);
    }
    let (ten, mut v, mut scale) = (i256::from_i128(10), v, scale);
    while v.wrapping_rem(ten) == i256::ZERO {
        v = v.wrapping_div(ten);
        scale -= 1;
    }
    if let Some(small) = v.to_i128() {
        return cell_decimal(small, scale);
    }
    cell_bytes(
        tag::DECIMAL ^ (scale as i64 as u64).rotate_left(32),
        &v.to_le_bytes(),
    )
}

/// The canonical hash of every value of a column (see the module documentation), one
/// column at a time: the type is matched once per batch, not once per value.
fn column_hashes(array: &ArrayRef) -> Result<Vec<u64>> {
    use arrow::datatypes::*;
    let n = array.len();
    fn each<T: ArrowPrimitiveType>(a: &ArrayRef, f: impl Fn(T::Native) -> u64) -> Vec<u64> {
        let a = a.as_primitive::<T>();
        (0..a.len())
            .map(|i| match a.is_null(i) {
                true => tag::NULL,
                false => f(a.value(i)),
            })
            .collect()
    }
    let int = |v: i128| cell(tag::INT, v);
    let float = |v: f64| {
        // Every NaN is one value; -0.0 stays apart from 0.0.
        let bits = if v.is_nan() {
            f64::NAN.to_bits()
        } else {
            v.to_bits()
        };
        cell(tag::FLOAT, bits as i128)
    };
    let instant = |unit: &TimeUnit| {
        let per = nanos(*unit);
        move |v: i64| cell(tag::INSTANT, v as i128 * per)
    };
    let time = |unit: &TimeUnit| {
        let per = nanos(*unit);
        move |v: i64| cell(tag::TIME, v as i128 * per)
    };
    let strings = |it: &mut dyn Iterator<Item = Option<&[u8]>>, t: u64| -> Vec<u64> {
        it.map(|v| v.map_or(tag::NULL, |b| cell_bytes(t, b)))
            .collect()
    };
    Ok(match array.data_type() {
        DataType::Int8 => each::<Int8Type>(array, |v| int(v as i128)),
        DataType::Int16 => each::<Int16Type>(array, |v| int(v as i128)),
        DataType::Int32 => each::<Int32Type>(array, |v| int(v as i128)),
        DataType::Int64 => each::<Int64Type>(array, |v| int(v as i128)),
        DataType::UInt8 => each::<UInt8Type>(array, |v| int(v as i128)),
        DataType::UInt16 => each::<UInt16Type>(array, |v| int(v as i128)),
        DataType::UInt32 => each::<UInt32Type>(array, |v| int(v as i128)),
        DataType::UInt64 => each::<UInt64Type>(array, |v| int(v as i128)),
        DataType::Boolean => {
            let a = array.as_boolean();
            (0..n)
                .map(|i| match a.is_null(i) {
                    true => tag::NULL,
                    false => cell(tag::BOOL, a.value(i) as i128),
                })
                .collect()
        }
        DataType::Float16 => each::<Float16Type>(array, |v| float(v.to_f64())),
        DataType::Float32 => each::<Float32Type>(array, |v| float(v as f64)),
        DataType::Float64 => each::<Float64Type>(array, float),
        DataType::Decimal128(_, s) => {
            let s = *s as i32;
            each::<Decimal128Type>(array, |v| cell_decimal(v, s))
        }
        DataType::Decimal256(_, s) => {
            let s = *s as i32;
            each::<Decimal256Type>(array, |v| cell_decimal256(v, s))
        }
        DataType::Utf8 => strings(
            &mut array
                .as_string::<i32>()
                .iter()
                .map(|v| v.map(str::as_bytes)),
            tag::TEXT,
        ),
        DataType::LargeUtf8 => strings(
            &mut array
                .as_string::<i64>()
                .iter()
                .map(|v| v.map(str::as_bytes)),
            tag::TEXT,
        ),
        DataType::Utf8View => strings(
            &mut array.as_string_view().iter().map(|v| v.map(str::as_bytes)),
            tag::TEXT,
        ),
        DataType::Binary => strings(&mut array.as_binary::<i32>().iter(), tag::BYTES),
        DataType::LargeBinary => strings(&mut array.as_binary::<i64>().iter(), tag::BYTES),
        DataType::BinaryView => strings(&mut array.as_binary_view().iter(), tag::BYTES),
        DataType::FixedSizeBinary(_) => {
            strings(&mut array.as_fixed_size_binary().iter(), tag::BYTES)
        }
        DataType::Date32 => each::<Date32Type>(array, |v| cell(tag::DATE, v as i128)),
        DataType::Date64 => {
            each::<Date64Type>(array, |v| cell(tag::DATE, v.div_euclid(86_400_000) as i128))
        }
        // Stored in UTC whatever the zone: the instant is the value.
        DataType::Timestamp(u, _) => match u {
            TimeUnit::Second => each::<TimestampSecondType>(array, instant(u)),
            TimeUnit::Millisecond => each::<TimestampMillisecondType>(array, instant(u)),
            TimeUnit::Microsecond => each::<TimestampMicrosecondType>(array, instant(u)),
            TimeUnit::Nanosecond => each::<TimestampNanosecondType>(array, instant(u)),
        },
        DataType::Time32(u) => {
            let time = time(u);
            match u {
                TimeUnit::Second => each::<Time32SecondType>(array, |v| time(v as i64)),
                _ => each::<Time32MillisecondType>(array, |v| time(v as i64)),
            }
        }
        DataType::Time64(u) => match u {
            TimeUnit::Microsecond => each::<Time64MicrosecondType>(array, time(u)),
            _ => each::<Time64NanosecondType>(array, time(u)),
        },
        // A MySQL TIME read as a duration is a time of day in another engine: both count
        // nanoseconds.
        DataType::Duration(u) => match u {
            TimeUnit::Second => each::<DurationSecondType>(array, time(u)),
            TimeUnit::Millisecond => each::<DurationMillisecondType>(array, time(u)),
            TimeUnit::Microsecond => each::<DurationMicrosecondType>(array, time(u)),
            TimeUnit::Nanosecond => each::<DurationNanosecondType>(array, time(u)),
        },
        DataType::Dictionary(_, v) => {
            let values = arrow::compute::cast(array, v)
                .map_err(|e| Error::arrow("verify: a dictionary's values", e))?;
            column_hashes(&values)?
        }
        _ => {
            let f = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())
                .map_err(|e| Error::arrow("verify: a value's text", e))?;
            (0..n)
                .map(|i| match array.is_null(i) {
                    true => tag::NULL,
                    false => cell_bytes(tag::OTHER, f.value(i).to_string().as_bytes()),
                })
                .collect()
        }
    })
}

fn nanos(unit: TimeUnit) -> i128 {
    match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

/// Folds the hashes of a row's values, in column order, into one.
fn fold(h: u64, cell: u64) -> u64 {
    mix(h.rotate_left(23) ^ cell)
}

/// How one side's batches map onto the compared columns.
struct Columns {
    /// The compared column names, in the source's order.
    names: Vec<String>,
    /// The key columns (indexes into `names`).
    key: Vec<usize>,
}

/// The column of `batch` named `name`.
fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| Error::internal(format!("verify: column \"{name}\" missing in a batch")))
}

/// `(key hash, row hash)` of every row of a batch: every column's value hashes, then each
/// row's folded (the hashing is the measured cost of `ferry verify`: by column, with xxh3 for
/// text and a 64-bit mix for the rest, it is several times cheaper than a SipHash per value).
fn row_hashes(batch: &RecordBatch, cols: &Columns) -> Result<Vec<(u64, u64)>> {
    let hashes: Vec<Vec<u64>> = cols
        .names
        .iter()
        .map(|n| column(batch, n).and_then(column_hashes))
        .collect::<Result<_>>()?;
    let rows = batch.num_rows();
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        let row_hash = hashes.iter().fold(0, |h, c| fold(h, c[row]));
        let key_hash = match cols.key.is_empty() {
            true => row_hash,
            false => cols.key.iter().fold(0, |h, &k| fold(h, hashes[k][row])),
        };
        out.push((key_hash, row_hash));
    }
    Ok(out)
}

fn bucket_of(key_hash: u64) -> usize {
    (mix(key_hash) % BUCKETS as u64) as usize
}

/// Reads every partition of `plan` in parallel, calling `each` with each batch.
fn read_all(
    source: &dyn Source,
    plan: &TablePlan,
    each: &(dyn Fn(&RecordBatch) -> Result<()> + Sync),
) -> Result<()> {
    plan.partitions.par_iter().try_for_each(|p| {
        for batch in source.open(plan, p)? {
            each(&batch?)?;
        }
        Ok(())
    })
}

fn digest(source: &dyn Source, plan: &TablePlan, cols: &Columns) -> Result<Digest> {
    let total = Mutex::new(Digest::new());
    read_all(source, plan, &|batch| {
        let mut d = Digest::new();
        for (k, r) in row_hashes(batch, cols)? {
            let b = &mut d.buckets[bucket_of(k)];
            b.0 += 1;
            b.1 = b.1.wrapping_add(r);
            b.2 = b.2.wrapping_add(mix(r));
        }
        d.rows = batch.num_rows() as u64;
        total
            .lock()
            .map_err(|_| Error::internal("verify: digest lock"))?
            .add(&d);
        Ok(())
    })?;
    total
        .into_inner()
        .map_err(|_| Error::internal("verify: digest lock"))
}

/// A row kept for listing: its key text, row hash and every compared value's text.
#[derive(Debug, Clone)]
struct Kept {
    key: String,
    row_hash: u64,
    values: Vec<String>,
}

/// The rows of one side that fall into `buckets`, by key hash.
fn rows_in(
    source: &dyn Source,
    plan: &TablePlan,
    cols: &Columns,
    buckets: &std::collections::HashSet<usize>,
) -> Result<HashMap<u64, Vec<Kept>>> {
    let kept: Mutex<HashMap<u64, Vec<Kept>>> = Mutex::new(HashMap::new());
    read_all(source, plan, &|batch| {
        let hashes = row_hashes(batch, cols)?;
        let arrays: Vec<&ArrayRef> = cols
            .names
            .iter()
            .map(|n| column(batch, n))
            .collect::<Result<_>>()?;
        let formatters: Vec<ArrayFormatter> = arrays
            .iter()
            .map(|a| {
                ArrayFormatter::try_new(a.as_ref(), &FormatOptions::default().with_null("NULL"))
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::arrow("verify: a value's text", e))?;
        // The columns a row is named by: its key, or every column without one.
        let key_cols: Vec<usize> = if cols.key.is_empty() {
            (0..cols.names.len()).collect()
        } else {
            cols.key.clone()
        };
        let mut mine: Vec<(u64, Kept)> = Vec::new();
        for (row, (k, r)) in hashes.into_iter().enumerate() {
            if !buckets.contains(&bucket_of(k)) {
                continue;
            }
            let values: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            let key = key_cols
                .iter()
                .map(|&i| format!("{}={}", cols.names[i], values[i]))
                .collect::<Vec<_>>()
                .join(", ");
            mine.push((
                k,
                Kept {
                    key,
                    row_hash: r,
                    values,
                },
            ));
        }
        let mut kept = kept
            .lock()
            .map_err(|_| Error::internal("verify: rows lock"))?;
        for (k, row) in mine {
            kept.entry(k).or_default().push(row);
        }
        Ok(())
    })?;
    kept.into_inner()
        .map_err(|_| Error::internal("verify: rows lock"))
}

/// The primary key's columns recorded in a schema, in key order.
fn key_of(schema: &SchemaRef) -> Vec<String> {
    let mut key: Vec<(u32, String)> = schema
        .fields()
        .iter()
        .filter_map(|f: &std::sync::Arc<Field>| {
            crate::types::primary_key_position(f).map(|p| (p, f.name().clone()))
        })
        .collect();
    key.sort();
    key.into_iter().map(|(_, n)| n).collect()
}

/// Compares table `source_table` of `source` with `target_table` of `target` (by default the
/// source table's own name, as `ferry copy` names its target).
pub fn verify_table(
    source: &dyn Source,
    target: &dyn Source,
    source_table: &str,
    target_table: Option<&str>,
    options: &VerifyOptions,
) -> Result<TableVerdict> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs.max(1))
        .thread_name(|i| format!("ferry-verify-{i}"))
        .build()
        .map_err(|e| Error::internal(format!("cannot start the verify threads: {e}")))?;
    let splan = source
        .plan(&TableRef::Table(source_table.to_string()))
        .map_err(|e| e.context("verify: source"))?;
    let target_table = target_table.unwrap_or(&splan.name).to_string();
    let tplan = target
        .plan(&TableRef::Table(target_table.clone()))
        .map_err(|e| e.context("verify: target"))?;
    let snames: Vec<String> = splan
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let tnames: Vec<String> = tplan
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut column_mismatch: Vec<String> = snames
        .iter()
        .filter(|n| !tnames.contains(n))
        .map(|n| format!("{n} (source only)"))
        .collect();
    column_mismatch.extend(
        tnames
            .iter()
            .filter(|n| !snames.contains(n))
            .map(|n| format!("{n} (target only)")),
    );
    let names: Vec<String> = snames
        .iter()
        .filter(|n| tnames.contains(n))
        .cloned()
        .collect();
    let mut key_names = key_of(&splan.schema);
    if key_names.is_empty() {
        key_names = key_of(&tplan.schema);
    }
    key_names.retain(|k| names.contains(k));
    let cols = Columns {
        key: key_names
            .iter()
            .filter_map(|k| names.iter().position(|n| n == k))
            .collect(),
        names,
    };
    let (sd, td) = pool.install(|| {
        rayon::join(
            || digest(source, &splan, &cols),
            || digest(target, &tplan, &cols),
        )
    });
    let (sd, td) = (
        sd.map_err(|e| e.context("verify: source"))?,
        td.map_err(|e| e.context("verify: target"))?,
    );
    let differing: Vec<usize> = (0..BUCKETS)
        .filter(|&b| sd.buckets[b] != td.buckets[b])
        .collect();
    let mut verdict = TableVerdict {
        source: source_table.to_string(),
        target: target_table,
        source_rows: sd.rows,
        target_rows: td.rows,
        key: key_names,
        equal: differing.is_empty() && column_mismatch.is_empty(),
        column_mismatch,
        differing_buckets: differing.len(),
        differences: Vec::new(),
    };
    if differing.is_empty() {
        return Ok(verdict);
    }
    let listed: std::collections::HashSet<usize> = differing
        .iter()
        .take(MAX_BUCKETS_TO_LIST)
        .copied()
        .collect();
    let (sr, tr) = pool.install(|| {
        rayon::join(
            || rows_in(source, &splan, &cols, &listed),
            || rows_in(target, &tplan, &cols, &listed),
        )
    });
    let (sr, tr) = (sr?, tr?);
    verdict.differences = differences(&cols, sr, tr, options.max_differences);
    Ok(verdict)
}

/// Verifies every table of `tables` (`(source table, target table)`), or every table of the
/// source when it is empty.
pub fn verify(
    source_name: &str,
    target_name: &str,
    source: &dyn Source,
    target: &dyn Source,
    tables: &[(String, Option<String>)],
    options: &VerifyOptions,
) -> Result<VerifyReport> {
    let started = std::time::Instant::now();
    let tables: Vec<(String, Option<String>)> = if tables.is_empty() {
        source.tables()?.into_iter().map(|t| (t, None)).collect()
    } else {
        tables.to_vec()
    };
    let mut verdicts = Vec::new();
    for (s, t) in &tables {
        let v = verify_table(source, target, s, t.as_deref(), options)
            .map_err(|e| e.context(format!("{source_name} -> {target_name}: table \"{s}\"")))?;
        tracing::info!(table = %s, equal = v.equal, rows = v.source_rows, "verified");
        verdicts.push(v);
    }
    Ok(VerifyReport {
        source: source_name.to_string(),
        target: target_name.to_string(),
        equal: verdicts.iter().all(|v| v.equal),
        tables: verdicts,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Pairs the kept rows of both sides by key and lists the first `max` that differ, by key.
fn differences(
    cols: &Columns,
    sr: HashMap<u64, Vec<Kept>>,
    mut tr: HashMap<u64, Vec<Kept>>,
    max: usize,
) -> Vec<Difference> {
    let mut out: BTreeMap<String, Difference> = BTreeMap::new();
    let mut note = |row: &Kept, kind: &str, columns: Vec<ChangedColumn>| {
        out.entry(row.key.clone()).or_insert_with(|| Difference {
            key: row.key.clone(),
            kind: kind.to_string(),
            columns,
        });
    };
    let mut groups: Vec<(Vec<Kept>, Vec<Kept>)> = sr
        .into_iter()
        .map(|(k, s)| (s, tr.remove(&k).unwrap_or_default()))
        .collect();
    groups.extend(tr.into_values().map(|t| (Vec::new(), t)));
    for (mut s, mut t) in groups {
        let (in_source, in_target) = (!s.is_empty(), !t.is_empty());
        // Rows equal on both sides pair off.
        s.retain(
            |row| match t.iter().position(|x| x.row_hash == row.row_hash) {
                Some(i) => {
                    t.swap_remove(i);
                    false
                }
                None => true,
            },
        );
        if !cols.key.is_empty() && s.len() == 1 && t.len() == 1 {
            let columns = cols
                .names
                .iter()
                .enumerate()
                .filter(|(i, _)| s[0].values[*i] != t[0].values[*i])
                .map(|(i, n)| ChangedColumn {
                    column: n.clone(),
                    source: s[0].values[i].clone(),
                    target: t[0].values[i].clone(),
                })
                .collect();
            note(&s[0], "changed", columns);
            continue;
        }
        for row in &s {
            let kind = if in_target {
                "duplicated in source"
            } else {
                "missing in target"
            };
            note(row, kind, Vec::new());
        }
        for row in &t {
            let kind = if in_source {
                "duplicated in target"
            } else {
                "extra in target"
            };
            note(row, kind, Vec::new());
        }
    }
    out.into_values().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(unscaled: i128, scale: i32) -> u64 {
        cell_decimal(unscaled, scale)
    }

    #[test]
    fn decimals_compare_by_value() {
        assert_eq!(dec(150, 2), dec(15, 1)); // 1.50 = 1.5
        assert_eq!(dec(0, 2), dec(0, 0));
        assert_eq!(dec(-1, 3), dec(-10, 4)); // -0.001
        assert_eq!(dec(12, -2), dec(1200, 0));
        assert_ne!(dec(150, 2), dec(-150, 2));
        assert_ne!(dec(1, 2), dec(1, 1));
        // Past 64 bits, and in 256 bits: the same value, the same hash.
        let big = 170_141_183_460_469_231_731_687_303_715_884_105_000_i128;
        assert_eq!(dec(big, 3), dec(big / 1000, 0));
        use arrow::datatypes::i256;
        assert_eq!(cell_decimal256(i256::from_i128(big), 3), dec(big / 1000, 0));
        let huge = i256::from_i128(big).wrapping_mul(i256::from_i128(1000));
        assert_eq!(cell_decimal256(huge, 6), dec(big / 1000, 0));
        assert_ne!(cell_decimal256(huge, 5), dec(big / 1000, 0));
    }

    #[test]
    fn integers_of_any_width_and_floats_by_bits() {
        use arrow::array::{Float32Array, Float64Array, Int32Array, Int64Array, UInt8Array};
        let one = |a: ArrayRef| column_hashes(&a).unwrap()[0];
        let i32a: ArrayRef = std::sync::Arc::new(Int32Array::from(vec![7]));
        let i64a: ArrayRef = std::sync::Arc::new(Int64Array::from(vec![7]));
        let u8a: ArrayRef = std::sync::Arc::new(UInt8Array::from(vec![7]));
        assert_eq!(one(i32a.clone()), one(i64a));
        assert_eq!(one(i32a), one(u8a));
        let f32a: ArrayRef = std::sync::Arc::new(Float32Array::from(vec![0.5f32]));
        let f64a: ArrayRef = std::sync::Arc::new(Float64Array::from(vec![0.5f64]));
        assert_eq!(one(f32a), one(f64a));
        let z: ArrayRef = std::sync::Arc::new(Float64Array::from(vec![0.0]));
        let nz: ArrayRef = std::sync::Arc::new(Float64Array::from(vec![-0.0]));
        assert_ne!(one(z), one(nz));
        let n1: ArrayRef = std::sync::Arc::new(Float64Array::from(vec![f64::NAN]));
        let n2: ArrayRef = std::sync::Arc::new(Float64Array::from(vec![-f64::NAN]));
        assert_eq!(one(n1), one(n2));
    }
}
