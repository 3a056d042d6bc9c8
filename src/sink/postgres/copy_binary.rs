//! Arrow batches -> PostgreSQL's `COPY ... FROM STDIN (FORMAT binary)` rows, column by column.
//!
//! The format is row-major (per row: an i16 field count, then per field an i32 length, -1 for
//! NULL, and the value), but ferry encodes it a column at a time: one pass sums every row's
//! length, the output is allocated once, and each column then writes its values straight into
//! their rows, with one `match` on the column's type outside the loop over its values (no
//! per-value dispatch). This is hand-written because it is the hot path of every PostgreSQL load.

use arrow::array::*;
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::*;

use crate::error::{Error, Result};
use crate::types::pg_numeric;
use crate::types::postgres::PgWrite;
use crate::types::temporal;

/// The stream header: signature, flags (none), header extension length (0).
pub const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The stream trailer: a field count of -1.
pub const TRAILER: &[u8] = &[0xff, 0xff];

use temporal::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};

/// A finite `Date32` as PostgreSQL's days since 2000-01-01, or `None` when it has none: the
/// shift overflows near `i32::MIN` (wrapping, in a release build, to a date far in the future),
/// or lands on `i32::MIN` / `i32::MAX`, which PostgreSQL reads as `-infinity` / `infinity`.
fn pg_days(d: i32) -> Option<i32> {
    d.checked_sub(PG_EPOCH_DAYS)
        .filter(|p| *p != i32::MIN && *p != i32::MAX)
}

/// A finite timestamp (microseconds since 1970) as PostgreSQL's microseconds since 2000-01-01,
/// or `None` when it has none: as [`pg_days`], a finite value never becomes an infinity.
fn pg_micros(t: i64) -> Option<i64> {
    t.checked_sub(PG_EPOCH_MICROS)
        .filter(|p| *p != i64::MIN && *p != i64::MAX)
}

/// One target column: its name (for messages) and how it goes on the wire.
#[derive(Debug, Clone)]
pub struct ColumnEncoding {
    pub name: String,
    pub write: PgWrite,
}

/// Encodes batches of one schema.
#[derive(Debug, Clone)]
pub struct BatchEncoder {
    columns: Vec<ColumnEncoding>,
}

/// The Arrow type a column is brought to before it is encoded for `write`, given its type.
fn wire_type(write: PgWrite, t: &DataType) -> Option<DataType> {
    use DataType as D;
    let text_like = matches!(t, D::Utf8 | D::LargeUtf8 | D::Utf8View);
    Some(match write {
        PgWrite::Bool => D::Boolean,
        PgWrite::Int2 => D::Int16,
        PgWrite::Int4 => D::Int32,
        PgWrite::Int8 => D::Int64,
        PgWrite::Float4 => D::Float32,
        PgWrite::Float8 => D::Float64,
        PgWrite::Numeric => match t {
            D::Decimal128(..) | D::Decimal256(..) => t.clone(),
            D::Int8
            | D::Int16
            | D::Int32
            | D::Int64
            | D::UInt8
            | D::UInt16
            | D::UInt32
            | D::UInt64 => D::Decimal128(20, 0),
            _ => D::Utf8,
        },
        PgWrite::Text | PgWrite::Jsonb | PgWrite::StagedText => D::Utf8,
        PgWrite::Uuid => match t {
            D::FixedSizeBinary(16) => t.clone(),
            _ if text_like => D::Utf8,
            _ => return None,
        },
        PgWrite::Bytea => D::Binary,
        PgWrite::Date => D::Date32,
        PgWrite::Time => D::Time64(TimeUnit::Microsecond),
        PgWrite::Interval => D::Duration(TimeUnit::Microsecond),
        PgWrite::Timestamp | PgWrite::TimestampTz => match t {
            D::Timestamp(_, tz) => D::Timestamp(TimeUnit::Microsecond, tz.clone()),
            D::Date32 | D::Date64 => D::Timestamp(TimeUnit::Microsecond, None),
            _ => return None,
        },
    })
}

/// Fails when bringing `a` to microseconds would drop nanoseconds.
fn check_micros(name: &str, a: &ArrayRef) -> Result<()> {
    let values: Option<Vec<Option<i64>>> = match a.data_type() {
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            Some(a.as_primitive::<TimestampNanosecondType>().iter().collect())
        }
        DataType::Time64(TimeUnit::Nanosecond) => {
            Some(a.as_primitive::<Time64NanosecondType>().iter().collect())
        }
        DataType::Duration(TimeUnit::Nanosecond) => Some(
            a.as_primitive::<arrow::datatypes::DurationNanosecondType>()
                .iter()
                .collect(),
        ),
        _ => None,
    };
    if let Some(values) = values {
        if let Some(row) = values.iter().position(|v| v.is_some_and(|v| v % 1000 != 0)) {
            return Err(Error::invalid_data(format!(
                "column \"{name}\", row {}: {} has nanoseconds; PostgreSQL keeps \
                 microseconds, so it cannot be stored without rounding",
                row + 1,
                crate::transform::describe_value(a, row)
            )));
        }
    }
    Ok(())
}

impl BatchEncoder {
    /// Checks that every field can be encoded as its column's `write`.
    pub fn try_new(schema: &SchemaRef, columns: Vec<ColumnEncoding>) -> Result<BatchEncoder> {
        for (f, c) in schema.fields().iter().zip(&columns) {
            if wire_type(c.write, f.data_type()).is_none() {
                return Err(Error::unsupported(format!(
                    "column \"{}\": Arrow type {} cannot be written to a PostgreSQL {:?} column",
                    f.name(),
                    f.data_type(),
                    c.write
                )));
            }
        }
        Ok(BatchEncoder { columns })
    }

    /// Appends the rows of `batch` to `out` (without header or trailer).
    pub fn encode(&self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<()> {
        let n = batch.num_rows();
        if n == 0 {
            return Ok(());
        }
        // Bring every column to the Arrow type its encoder reads.
        let mut arrays = Vec::with_capacity(self.columns.len());
        for (a, c) in batch.columns().iter().zip(&self.columns) {
            check_micros(&c.name, a)?;
            let Some(t) = wire_type(c.write, a.data_type()) else {
                return Err(Error::unsupported(format!(
                    "column \"{}\": Arrow type {} has no PostgreSQL encoding",
                    c.name,
                    a.data_type()
                )));
            };
            let a = if a.data_type() == &t {
                a.clone()
            } else {
                let options = CastOptions {
                    safe: false,
                    ..Default::default()
                };
                cast_with_options(a, &t, &options).map_err(|e| {
                    Error::arrow(
                        format!("column \"{}\": {} to {t}", c.name, a.data_type()),
                        e,
                    )
                })?
            };
            if c.write == PgWrite::Float4 {
                check_float4(&c.name, batch.column(arrays.len()), &a)?;
            }
            arrays.push(a);
        }
        // Numerics vary in length: encode them first, into their own buffers.
        let mut numerics: Vec<Option<(Vec<u8>, Vec<usize>)>> = Vec::new();
        for (a, c) in arrays.iter().zip(&self.columns) {
            numerics.push(if c.write == PgWrite::Numeric {
                Some(encode_numerics(&c.name, a)?)
            } else {
                None
            });
        }
        // Pass 1: the length of every row.
        let mut len = vec![2usize; n];
        for ((a, c), num) in arrays.iter().zip(&self.columns).zip(&numerics) {
            add_lengths(c.write, a, num.as_ref(), &mut len);
        }
        let base = out.len();
        let total: usize = len.iter().sum();
        out.resize(base + total, 0);
        let buf = &mut out[base..];
        let mut pos = Vec::with_capacity(n);
        let mut at = 0usize;
        let fields = (self.columns.len() as i16).to_be_bytes();
        for l in &len {
            buf[at..at + 2].copy_from_slice(&fields);
            pos.push(at + 2);
            at += l;
        }
        // Pass 2: each column writes its values into its rows.
        for ((a, c), num) in arrays.iter().zip(&self.columns).zip(&numerics) {
            write_column(c, a, num.as_ref(), buf, &mut pos)?;
        }
        Ok(())
    }
}

/// A Float64 written to a `real` column must come back equal.
fn check_float4(name: &str, original: &ArrayRef, cast: &ArrayRef) -> Result<()> {
    if let DataType::Float64 = original.data_type() {
        let o = original.as_primitive::<Float64Type>();
        let c = cast.as_primitive::<Float32Type>();
        for i in 0..o.len() {
            if o.is_valid(i) && !(c.value(i) as f64 == o.value(i) || o.value(i).is_nan()) {
                return Err(Error::invalid_data(format!(
                    "column \"{name}\", row {}: {} does not fit a real without rounding",
                    i + 1,
                    o.value(i)
                )));
            }
        }
    }
    Ok(())
}

fn encode_numerics(name: &str, a: &ArrayRef) -> Result<(Vec<u8>, Vec<usize>)> {
    let mut bytes = Vec::with_capacity(a.len() * 16);
    let mut ends = Vec::with_capacity(a.len());
    match a.data_type() {
        DataType::Decimal128(_, s) => {
            let arr = a.as_primitive::<Decimal128Type>();
            for i in 0..arr.len() {
                if arr.is_valid(i) {
                    pg_numeric::encode_i128(arr.value(i), *s, &mut bytes);
                }
                ends.push(bytes.len());
            }
        }
        DataType::Decimal256(_, s) => {
            let arr = a.as_primitive::<Decimal256Type>();
            for i in 0..arr.len() {
                if arr.is_valid(i) {
                    pg_numeric::encode_i256(arr.value(i), *s, &mut bytes);
                }
                ends.push(bytes.len());
            }
        }
        _ => {
            let arr = a.as_string::<i32>();
            for i in 0..arr.len() {
                if arr.is_valid(i) {
                    pg_numeric::encode_text(arr.value(i), &mut bytes).map_err(|e| {
                        Error::invalid_data(format!("column \"{name}\", row {}: {e}", i + 1))
                    })?;
                }
                ends.push(bytes.len());
            }
        }
    }
    Ok((bytes, ends))
}

fn fixed_width(write: PgWrite) -> Option<usize> {
    Some(match write {
        PgWrite::Bool => 1,
        PgWrite::Int2 => 2,
        PgWrite::Int4 | PgWrite::Float4 | PgWrite::Date => 4,
        PgWrite::Int8
        | PgWrite::Float8
        | PgWrite::Time
        | PgWrite::Timestamp
        | PgWrite::TimestampTz => 8,
        PgWrite::Uuid | PgWrite::Interval => 16,
        _ => return None,
    })
}

fn add_lengths(
    write: PgWrite,
    a: &ArrayRef,
    num: Option<&(Vec<u8>, Vec<usize>)>,
    len: &mut [usize],
) {
    let nulls = a.logical_nulls();
    let valid = |i: usize| nulls.as_ref().is_none_or(|n| n.is_valid(i));
    if let Some(w) = fixed_width(write) {
        for (i, l) in len.iter_mut().enumerate() {
            *l += 4 + if valid(i) { w } else { 0 };
        }
        return;
    }
    if let Some((_, ends)) = num {
        let mut prev = 0;
        for (l, &e) in len.iter_mut().zip(ends) {
            *l += 4 + (e - prev);
            prev = e;
        }
        return;
    }
    let extra = usize::from(write == PgWrite::Jsonb);
    match a.data_type() {
        DataType::Binary => {
            let arr = a.as_binary::<i32>();
            let offsets = arr.value_offsets();
            for (i, l) in len.iter_mut().enumerate() {
                *l += 4 + if valid(i) {
                    (offsets[i + 1] - offsets[i]) as usize
                } else {
                    0
                };
            }
        }
        _ => {
            let arr = a.as_string::<i32>();
            let offsets = arr.value_offsets();
            for (i, l) in len.iter_mut().enumerate() {
                *l += 4 + if valid(i) {
                    (offsets[i + 1] - offsets[i]) as usize + extra
                } else {
                    0
                };
            }
        }
    }
}

#[inline]
fn put(buf: &mut [u8], pos: &mut usize, bytes: &[u8]) {
    buf[*pos..*pos + bytes.len()].copy_from_slice(bytes);
    *pos += bytes.len();
}

const NULL: [u8; 4] = (-1i32).to_be_bytes();

/// Writes a primitive column of fixed width `N`, with a fast path when it has no NULLs.
fn write_primitive<T: ArrowPrimitiveType, const N: usize>(
    a: &ArrayRef,
    buf: &mut [u8],
    pos: &mut [usize],
    mut enc: impl FnMut(usize, T::Native) -> std::result::Result<[u8; N], String>,
) -> std::result::Result<(), (usize, String)> {
    let arr = a.as_primitive::<T>();
    let len = (N as i32).to_be_bytes();
    let values = arr.values();
    match arr.nulls().filter(|n| n.null_count() > 0) {
        None => {
            for (i, (p, v)) in pos.iter_mut().zip(values.iter()).enumerate() {
                put(buf, p, &len);
                put(buf, p, &enc(i, *v).map_err(|e| (i, e))?);
            }
        }
        Some(nulls) => {
            for (i, (p, v)) in pos.iter_mut().zip(values.iter()).enumerate() {
                if nulls.is_valid(i) {
                    put(buf, p, &len);
                    put(buf, p, &enc(i, *v).map_err(|e| (i, e))?);
                } else {
                    put(buf, p, &NULL);
                }
            }
        }
    }
    Ok(())
}

/// Writes variable-length values from an offsets + values layout.
fn write_var(
    offsets: &[i32],
    values: &[u8],
    nulls: Option<&arrow::buffer::NullBuffer>,
    prefix: Option<u8>,
    buf: &mut [u8],
    pos: &mut [usize],
) {
    for (i, p) in pos.iter_mut().enumerate() {
        if nulls.is_some_and(|n| n.is_null(i)) {
            put(buf, p, &NULL);
            continue;
        }
        let v = &values[offsets[i] as usize..offsets[i + 1] as usize];
        let l = v.len() + usize::from(prefix.is_some());
        put(buf, p, &(l as i32).to_be_bytes());
        if let Some(b) = prefix {
            put(buf, p, &[b]);
        }
        put(buf, p, v);
    }
}

fn parse_uuid(s: &str) -> std::result::Result<[u8; 16], String> {
    let hexdigits: String = s.chars().filter(|c| *c != '-').collect();
    let t = hexdigits.trim_start_matches('{').trim_end_matches('}');
    let mut out = [0u8; 16];
    hex::decode_to_slice(t, &mut out).map_err(|_| format!("'{s}' is not a uuid"))?;
    Ok(out)
}

fn write_column(
    c: &ColumnEncoding,
    a: &ArrayRef,
    num: Option<&(Vec<u8>, Vec<usize>)>,
    buf: &mut [u8],
    pos: &mut [usize],
) -> Result<()> {
    let r = match c.write {
        PgWrite::Bool => {
            let arr = a.as_boolean();
            for (i, p) in pos.iter_mut().enumerate() {
                if arr.is_valid(i) {
                    put(buf, p, &1i32.to_be_bytes());
                    put(buf, p, &[arr.value(i) as u8]);
                } else {
                    put(buf, p, &NULL);
                }
            }
            Ok(())
        }
        PgWrite::Int2 => write_primitive::<Int16Type, 2>(a, buf, pos, |_, v| Ok(v.to_be_bytes())),
        PgWrite::Int4 => write_primitive::<Int32Type, 4>(a, buf, pos, |_, v| Ok(v.to_be_bytes())),
        PgWrite::Int8 => write_primitive::<Int64Type, 8>(a, buf, pos, |_, v| Ok(v.to_be_bytes())),
        PgWrite::Float4 => {
            write_primitive::<Float32Type, 4>(a, buf, pos, |_, v| Ok(v.to_be_bytes()))
        }
        PgWrite::Float8 => {
            write_primitive::<Float64Type, 8>(a, buf, pos, |_, v| Ok(v.to_be_bytes()))
        }
        PgWrite::Date => write_primitive::<Date32Type, 4>(a, buf, pos, |_, d| {
            Ok(match d {
                temporal::DATE_INFINITY => i32::MAX,
                temporal::DATE_NEG_INFINITY => i32::MIN,
                d => pg_days(d).ok_or_else(|| {
                    format!(
                        "date {} is out of PostgreSQL's range",
                        temporal::shown_date(i64::from(d))
                    )
                })?,
            }
            .to_be_bytes())
        }),
        PgWrite::Time => {
            write_primitive::<Time64MicrosecondType, 8>(a, buf, pos, |_, t| Ok(t.to_be_bytes()))
        }
        PgWrite::Timestamp | PgWrite::TimestampTz => {
            write_primitive::<TimestampMicrosecondType, 8>(a, buf, pos, |_, t| {
                Ok(match t {
                    temporal::TS_INFINITY => i64::MAX,
                    temporal::TS_NEG_INFINITY => i64::MIN,
                    t => pg_micros(t).ok_or_else(|| {
                        format!(
                            "timestamp {} is out of PostgreSQL's range",
                            temporal::shown_timestamp(t, 1_000_000, false)
                        )
                    })?,
                }
                .to_be_bytes())
            })
        }
        // An interval of microseconds only: no days, no months (a duration has neither).
        PgWrite::Interval => write_primitive::<DurationMicrosecondType, 16>(a, buf, pos, |_, d| {
            let mut v = [0u8; 16];
            v[..8].copy_from_slice(&d.to_be_bytes());
            Ok(v)
        }),
        PgWrite::Uuid => match a.data_type() {
            DataType::FixedSizeBinary(_) => {
                let arr = a.as_fixed_size_binary();
                for (i, p) in pos.iter_mut().enumerate() {
                    if arr.is_valid(i) {
                        put(buf, p, &16i32.to_be_bytes());
                        put(buf, p, arr.value(i));
                    } else {
                        put(buf, p, &NULL);
                    }
                }
                Ok(())
            }
            _ => {
                let arr = a.as_string::<i32>();
                let mut r = Ok(());
                for (i, p) in pos.iter_mut().enumerate() {
                    if arr.is_valid(i) {
                        match parse_uuid(arr.value(i)) {
                            Ok(u) => {
                                put(buf, p, &16i32.to_be_bytes());
                                put(buf, p, &u);
                            }
                            Err(e) => {
                                r = Err((i, e));
                                break;
                            }
                        }
                    } else {
                        put(buf, p, &NULL);
                    }
                }
                r
            }
        },
        PgWrite::Numeric => {
            let Some((bytes, ends)) = num else {
                return Err(Error::internal("numeric column without its encoding"));
            };
            let nulls = a.logical_nulls();
            let mut prev = 0;
            for (i, (p, &e)) in pos.iter_mut().zip(ends).enumerate() {
                if nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                    put(buf, p, &NULL);
                } else {
                    put(buf, p, &((e - prev) as i32).to_be_bytes());
                    put(buf, p, &bytes[prev..e]);
                }
                prev = e;
            }
            Ok(())
        }
        PgWrite::Bytea => {
            let arr = a.as_binary::<i32>();
            write_var(
                arr.value_offsets(),
                arr.value_data(),
                arr.nulls(),
                None,
                buf,
                pos,
            );
            Ok(())
        }
        PgWrite::Text | PgWrite::StagedText | PgWrite::Jsonb => {
            let arr = a.as_string::<i32>();
            let prefix = (c.write == PgWrite::Jsonb).then_some(1u8);
            write_var(
                arr.value_offsets(),
                arr.value_data(),
                arr.nulls(),
                prefix,
                buf,
                pos,
            );
            Ok(())
        }
    };
    r.map_err(|(row, e)| {
        Error::invalid_data(format!("column \"{}\", row {}: {e}", c.name, row + 1))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn encoder(schema: &SchemaRef, writes: &[PgWrite]) -> BatchEncoder {
        let cols = schema
            .fields()
            .iter()
            .zip(writes)
            .map(|(f, w)| ColumnEncoding {
                name: f.name().clone(),
                write: *w,
            })
            .collect();
        BatchEncoder::try_new(schema, cols).unwrap()
    }

    /// Splits encoded rows back into fields, as PostgreSQL reads them.
    fn decode_rows(mut b: &[u8]) -> Vec<Vec<Option<Vec<u8>>>> {
        let mut rows = Vec::new();
        while !b.is_empty() {
            let n = i16::from_be_bytes([b[0], b[1]]) as usize;
            b = &b[2..];
            let mut row = Vec::new();
            for _ in 0..n {
                let l = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                b = &b[4..];
                if l < 0 {
                    row.push(None);
                } else {
                    row.push(Some(b[..l as usize].to_vec()));
                    b = &b[l as usize..];
                }
            }
            rows.push(row);
        }
        rows
    }

    #[test]
    fn rows_come_back_field_by_field() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int32, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("d", DataType::Decimal128(15, 2), true),
            Field::new("j", DataType::Utf8, true),
            Field::new("t", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new("u", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int32Array::from(vec![Some(1), None, Some(-7)])),
                Arc::new(StringArray::from(vec![Some("a\tb"), Some(""), None])),
                Arc::new(
                    Decimal128Array::from(vec![Some(12345), None, Some(-1)])
                        .with_precision_and_scale(15, 2)
                        .unwrap(),
                ),
                Arc::new(StringArray::from(vec![Some("{}"), None, Some("[1]")])),
                Arc::new(TimestampMicrosecondArray::from(vec![
                    Some(PG_EPOCH_MICROS),
                    Some(temporal::TS_INFINITY),
                    None,
                ])),
                Arc::new(StringArray::from(vec![
                    Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                    None,
                    None,
                ])),
            ],
        )
        .unwrap();
        let enc = encoder(
            &schema,
            &[
                PgWrite::Int4,
                PgWrite::Text,
                PgWrite::Numeric,
                PgWrite::Jsonb,
                PgWrite::Timestamp,
                PgWrite::Uuid,
            ],
        );
        let mut out = Vec::new();
        enc.encode(&batch, &mut out).unwrap();
        let rows = decode_rows(&out);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0][0].as_deref(), Some(&1i32.to_be_bytes()[..]));
        assert_eq!(rows[1][0], None);
        assert_eq!(rows[0][1].as_deref(), Some(&b"a\tb"[..]));
        assert_eq!(rows[1][1].as_deref(), Some(&b""[..]));
        assert_eq!(rows[2][1], None);
        let n = pg_numeric::Numeric::from_wire(rows[0][2].as_deref().unwrap()).unwrap();
        assert_eq!(n.to_text(), "123.45");
        let n = pg_numeric::Numeric::from_wire(rows[2][2].as_deref().unwrap()).unwrap();
        assert_eq!(n.to_text(), "-0.01");
        assert_eq!(rows[0][3].as_deref(), Some(&b"\x01{}"[..]));
        assert_eq!(rows[0][4].as_deref(), Some(&0i64.to_be_bytes()[..]));
        assert_eq!(rows[1][4].as_deref(), Some(&i64::MAX.to_be_bytes()[..]));
        assert_eq!(
            hex::encode(rows[0][5].as_deref().unwrap()),
            "a0eebc999c0b4ef8bb6d6bb9bd380a11"
        );
        // A slice encodes only its rows.
        let mut out = Vec::new();
        enc.encode(&batch.slice(1, 2), &mut out).unwrap();
        let rows = decode_rows(&out);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1][0].as_deref(), Some(&(-7i32).to_be_bytes()[..]));
        assert_eq!(rows[0][1].as_deref(), Some(&b""[..]));
    }

    #[test]
    fn finite_dates_and_timestamps_never_become_infinities() {
        assert_eq!(
            pg_days(temporal::DATE_INFINITY - 1),
            Some(i32::MAX - 1 - PG_EPOCH_DAYS)
        );
        assert_eq!(pg_days(0), Some(-PG_EPOCH_DAYS));
        // i32::MIN + PG_EPOCH_DAYS shifts onto PostgreSQL's -infinity; below it, it overflows.
        assert_eq!(pg_days(i32::MIN + PG_EPOCH_DAYS), None);
        assert_eq!(pg_days(i32::MIN + 1), None);
        assert_eq!(pg_days(i32::MIN + PG_EPOCH_DAYS + 1), Some(i32::MIN + 1));
        assert_eq!(pg_micros(i64::MIN + PG_EPOCH_MICROS), None);
        assert_eq!(pg_micros(i64::MIN + 1), None);
        assert_eq!(
            pg_micros(temporal::TS_INFINITY - 1),
            Some(i64::MAX - 1 - PG_EPOCH_MICROS)
        );
        let schema = Arc::new(Schema::new(vec![
            Field::new("d", DataType::Date32, true),
            Field::new("t", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        ]));
        let batch = |d: i32, t: i64| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Date32Array::from(vec![Some(0), Some(d)])),
                    Arc::new(TimestampMicrosecondArray::from(vec![Some(0), Some(t)])),
                ],
            )
            .unwrap()
        };
        let enc = encoder(&schema, &[PgWrite::Date, PgWrite::Timestamp]);
        let err = enc
            .encode(&batch(i32::MIN + PG_EPOCH_DAYS, 0), &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "column \"d\", row 2: date 5877612-06-22 BC is out of PostgreSQL's range"
        );
        let err = enc
            .encode(&batch(0, i64::MIN + PG_EPOCH_MICROS), &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "column \"t\", row 2: timestamp 290279-12-22 19:59:05.224192 BC is out of \
             PostgreSQL's range"
        );
        // The sentinels themselves are the infinities.
        let mut out = Vec::new();
        enc.encode(
            &batch(temporal::DATE_NEG_INFINITY, temporal::TS_NEG_INFINITY),
            &mut out,
        )
        .unwrap();
        let rows = decode_rows(&out);
        assert_eq!(rows[1][0].as_deref(), Some(&i32::MIN.to_be_bytes()[..]));
        assert_eq!(rows[1][1].as_deref(), Some(&i64::MIN.to_be_bytes()[..]));
    }

    #[test]
    fn lossy_values_are_errors_naming_column_and_row() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(vec![Some(1), Some(1 << 40)]))],
        )
        .unwrap();
        let err = encoder(&schema, &[PgWrite::Int4])
            .encode(&batch, &mut Vec::new())
            .unwrap_err()
            .chain();
        assert!(err.contains("column \"x\""), "{err}");
        let schema = Arc::new(Schema::new(vec![Field::new("f", DataType::Float64, true)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Float64Array::from(vec![Some(0.5), Some(0.1)]))],
        )
        .unwrap();
        let err = encoder(&schema, &[PgWrite::Float4])
            .encode(&batch, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "column \"f\", row 2: 0.1 does not fit a real without rounding"
        );
        let schema = Arc::new(Schema::new(vec![Field::new("u", DataType::Utf8, true)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(vec![Some("nope")]))],
        )
        .unwrap();
        let err = encoder(&schema, &[PgWrite::Uuid])
            .encode(&batch, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert_eq!(err, "column \"u\", row 1: 'nope' is not a uuid");
    }
}
