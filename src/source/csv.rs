//! CSV source: a `.csv` file (one table, named by its stem), a snapshot directory written by the
//! CSV sink (tables, exact Arrow schemas and the dialect come from the manifest, and every file
//! is checked against it before a row is read), or a plain directory of `.csv` files and
//! sub-directories of them (one table each). Without a manifest the declared types are not
//! known: column types are inferred by arrow-csv from the first `infer_rows` rows of the table's
//! first file, and every column is nullable.
//!
//! Records are split here, not by arrow-csv's reader: arrow-csv 56 takes every empty field for
//! NULL unless given a `regex::Regex`, so it cannot keep an empty string apart from NULL. The
//! rules are RFC 4180 (a field may be quoted, a quote inside quotes is doubled, a record ends
//! with LF, CRLF or CR) with PostgreSQL's NULL convention: an unquoted field equal to the null
//! string (`\N` by default) is NULL, a quoted one is text. Values are then decoded exactly:
//! decimals with [`decimal::parse_exact`] (arrow's parser drops digits past the scale), binary
//! from hex, and times or timestamps with digits past their unit are refused, not truncated.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Cursor};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::timezone::Tz;
use arrow::array::{
    make_array, Array, ArrayRef, ArrowPrimitiveType, BinaryArray, BinaryViewArray, BooleanArray,
    Date32Array, Decimal128Array, Decimal256Array, FixedSizeBinaryArray, Int64Array,
    LargeBinaryArray, LargeStringArray, NullArray, PrimitiveArray, RecordBatch, RecordBatchOptions,
    StringArray, StringBuilder, StringViewArray,
};
use arrow::compute::kernels::cast_utils::{string_to_datetime, string_to_time_nanoseconds, Parser};
use arrow::datatypes::*;
use chrono::{TimeZone, Utc};

use super::{BatchLimits, BatchStream, Partition, PartitionSpec, Source, TablePlan, TableRef};
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::snapshot::Manifest;
use crate::types::{decimal, temporal};

/// Schema-metadata key prefix under which the CSV sink records the dialect of a snapshot table.
pub const META_DIALECT_PREFIX: &str = "ferry.csv.";

/// The CSV dialect, from the URL's `?header=&delimiter=&quote=&null=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvFormat {
    /// The first record names the columns.
    pub header: bool,
    pub delimiter: u8,
    pub quote: u8,
    /// The text of NULL; an unquoted field equal to it is NULL.
    pub null: String,
}

impl Default for CsvFormat {
    fn default() -> Self {
        CsvFormat {
            header: true,
            delimiter: Self::DEFAULT_DELIMITER,
            quote: Self::DEFAULT_QUOTE,
            null: Self::DEFAULT_NULL.to_string(),
        }
    }
}

impl CsvFormat {
    pub const DEFAULT_DELIMITER: u8 = b',';
    pub const DEFAULT_QUOTE: u8 = b'"';
    pub const DEFAULT_NULL: &'static str = "\\N";
    /// The URL options that set the dialect.
    pub const OPTIONS: [&'static str; 4] = ["header", "delimiter", "quote", "null"];

    /// The dialect an endpoint's options give.
    pub fn from_endpoint(e: &Endpoint) -> Result<Self> {
        Self::from_options(&e.to_string(), |k| e.option(k))
    }

    /// The dialect the CSV sink recorded in a table's schema metadata, if it did.
    pub fn from_metadata(what: &str, meta: &HashMap<String, String>) -> Result<Option<Self>> {
        let get = |k: &str| {
            meta.get(&format!("{META_DIALECT_PREFIX}{k}"))
                .map(String::as_str)
        };
        if Self::OPTIONS.iter().all(|k| get(k).is_none()) {
            return Ok(None);
        }
        Self::from_options(what, get).map(Some)
    }

    /// The dialect as schema metadata, so a snapshot is read back the way it was written.
    pub fn to_metadata(&self) -> HashMap<String, String> {
        self.options()
            .into_iter()
            .map(|(k, v)| (format!("{META_DIALECT_PREFIX}{k}"), v))
            .collect()
    }

    /// The dialect as URL option values.
    fn options(&self) -> [(&'static str, String); 4] {
        [
            ("header", self.header.to_string()),
            ("delimiter", char::from(self.delimiter).to_string()),
            ("quote", char::from(self.quote).to_string()),
            ("null", self.null.clone()),
        ]
    }

    fn from_options<'a>(what: &str, get: impl Fn(&str) -> Option<&'a str>) -> Result<Self> {
        let header = match get("header") {
            None | Some("true") => true,
            Some("false") => false,
            Some(v) => {
                return Err(Error::invalid_args(format!(
                    "{what}: header={v} is not true or false"
                )))
            }
        };
        let byte = |key: &str, default: u8| -> Result<u8> {
            match get(key).map(str::as_bytes) {
                None => Ok(default),
                Some(&[b]) if b.is_ascii() && b != b'\r' && b != b'\n' => Ok(b),
                Some(_) => Err(Error::invalid_args(format!(
                    "{what}: {key} must be one ASCII character other than a line break (a tab is %09)"
                ))),
            }
        };
        let delimiter = byte("delimiter", Self::DEFAULT_DELIMITER)?;
        let quote = byte("quote", Self::DEFAULT_QUOTE)?;
        if delimiter == quote {
            return Err(Error::invalid_args(format!(
                "{what}: delimiter and quote are the same character"
            )));
        }
        let null = get("null").unwrap_or(Self::DEFAULT_NULL).to_string();
        if null
            .bytes()
            .any(|b| b == delimiter || b == quote || b == b'\r' || b == b'\n')
        {
            return Err(Error::invalid_args(format!(
                "{what}: null='{null}' holds the delimiter, the quote or a line break, so it would be \
                 written quoted and read back as text; choose another ?null="
            )));
        }
        Ok(CsvFormat {
            header,
            delimiter,
            quote,
            null,
        })
    }
}

impl std::fmt::Display for CsvFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (d, q) = (
            char::from(self.delimiter).escape_default(),
            char::from(self.quote),
        );
        write!(
            f,
            "header={} delimiter='{d}' quote='{q}' null='{}'",
            self.header, self.null
        )
    }
}

/// Splits CSV text into records and remembers whether each field was quoted.
struct Records<R> {
    input: R,
    delimiter: u8,
    quote: u8,
    /// Physical line the next record starts on, from 1.
    line: u64,
    /// The last record ended with CR: a LF right after it belongs to the same line break.
    after_cr: bool,
    /// The current record's fields back to back, and where each ends and whether it was quoted.
    bytes: Vec<u8>,
    ends: Vec<(usize, bool)>,
}

#[derive(Clone, Copy)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the field's end, or the first half of a doubled quote.
    QuoteInQuoted,
}

fn malformed(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl<R: BufRead> Records<R> {
    fn new(mut input: R, format: &CsvFormat) -> io::Result<Self> {
        // A UTF-8 byte-order mark is not part of the first field.
        if input.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
            input.consume(3);
        }
        let (delimiter, quote) = (format.delimiter, format.quote);
        Ok(Records {
            input,
            delimiter,
            quote,
            line: 1,
            after_cr: false,
            bytes: Vec::new(),
            ends: Vec::new(),
        })
    }

    /// Reads the next record: `None` at the end of the input, else the line it starts on.
    fn next_record(&mut self) -> io::Result<Option<u64>> {
        use State::*;
        self.bytes.clear();
        self.ends.clear();
        let start = self.line;
        let (mut state, mut quoted, mut any) = (FieldStart, false, false);
        loop {
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                return match state {
                    Quoted => Err(malformed(format!(
                        "line {start}: a quoted field is not closed"
                    ))),
                    _ if !any => Ok(None),
                    _ => {
                        self.ends.push((self.bytes.len(), quoted));
                        self.line += 1;
                        Ok(Some(start))
                    }
                };
            }
            let (mut used, mut done) = (0, false);
            for &b in buf {
                used += 1;
                if std::mem::take(&mut self.after_cr) && b == b'\n' {
                    continue;
                }
                any = true;
                match state {
                    Quoted if b == self.quote => state = QuoteInQuoted,
                    Quoted => {
                        self.line += u64::from(b == b'\n');
                        self.bytes.push(b);
                    }
                    QuoteInQuoted if b == self.quote => {
                        self.bytes.push(b);
                        state = Quoted;
                    }
                    FieldStart if b == self.quote => (quoted, state) = (true, Quoted),
                    _ if b == self.delimiter => {
                        self.ends.push((self.bytes.len(), quoted));
                        (quoted, state) = (false, FieldStart);
                    }
                    _ if b == b'\n' || b == b'\r' => {
                        self.ends.push((self.bytes.len(), quoted));
                        self.after_cr = b == b'\r';
                        self.line += 1;
                        done = true;
                        break;
                    }
                    QuoteInQuoted => {
                        let line = self.line;
                        return Err(malformed(format!(
                            "line {line}: a character follows a closing quote"
                        )));
                    }
                    FieldStart | Unquoted => {
                        self.bytes.push(b);
                        state = Unquoted;
                    }
                }
            }
            self.input.consume(used);
            if done {
                return Ok(Some(start));
            }
        }
    }

    /// The next record with `columns` fields; blank lines are skipped unless a table has one
    /// column, where a blank line is an unquoted empty field.
    fn next_row(&mut self, columns: Option<usize>) -> io::Result<Option<u64>> {
        loop {
            let Some(line) = self.next_record()? else {
                return Ok(None);
            };
            if columns != Some(1) && self.ends.as_slice() == [(0, false)] {
                continue;
            }
            match columns {
                Some(n) if n != self.ends.len() => {
                    let found = self.ends.len();
                    return Err(malformed(format!(
                        "line {line} has {found} fields, the table has {n} columns"
                    )));
                }
                _ => return Ok(Some(line)),
            }
        }
    }

    /// Field `i` of the current record and whether it was quoted.
    fn field(&self, i: usize) -> (&[u8], bool) {
        let start = if i == 0 { 0 } else { self.ends[i - 1].0 };
        let (end, quoted) = self.ends[i];
        (&self.bytes[start..end], quoted)
    }

    fn names(&self) -> Vec<String> {
        (0..self.ends.len())
            .map(|i| String::from_utf8_lossy(self.field(i).0).into_owned())
            .collect()
    }
}

/// Converts a CSV reading error, keeping malformed text apart from I/O failures.
fn read_error(ctx: &str, e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::InvalidData => Error::invalid_data(format!("{ctx}, {e}")),
        _ => Error::io(ctx.to_string(), e),
    }
}

fn open_records(ctx: &str, path: &Path, format: &CsvFormat) -> Result<Records<BufReader<File>>> {
    let file = File::open(path).map_err(|e| Error::io(format!("{ctx}: cannot open"), e))?;
    Records::new(BufReader::with_capacity(1 << 20, file), format).map_err(|e| read_error(ctx, e))
}

/// A value for a message: quoted, and cut if long.
fn shown(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("'{}...'", &s[..i]),
        None => format!("'{s}'"),
    }
}

/// A decoded column, or the row that failed and why.
type Decoded<T = ArrayRef> = std::result::Result<T, (usize, String)>;

/// Decodes each non-null value with `f`, stopping at the first failure.
fn each<T, C: FromIterator<Option<T>>>(
    text: &StringArray,
    f: impl Fn(&str) -> std::result::Result<T, String>,
) -> Decoded<C> {
    let value = |(i, v): (usize, Option<&str>)| v.map(|s| f(s).map_err(|why| (i, why))).transpose();
    text.iter().enumerate().map(value).collect()
}

fn invalid(s: &str, what: impl std::fmt::Display) -> String {
    format!("{} is not a valid {what}", shown(s))
}

/// Whether a number's text is the one its value prints as, as far as its sign and leading
/// digits go: no `+`, no leading zeros (`007`, `-01`, `00.5`), no `-0` for an integer. A CSV
/// column whose numbers are written otherwise (zip codes, account numbers) is text: read as
/// numbers, `02134` would arrive as `2134`.
fn plain_number(s: &str, integer: bool) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let b = body.as_bytes();
    let leading_zero = b.len() > 1 && b[0] == b'0' && b[1].is_ascii_digit();
    !(s.starts_with('+') || leading_zero || integer && s == "-0")
}

/// Why a number's text is refused for `t` (see [`plain_number`]).
fn not_plain(s: &str, t: &DataType) -> String {
    format!(
        "{} is not written as {t} writes its value (a sign or leading zeros would be lost; a \
         column whose type was inferred is read as text with ?infer_rows=0)",
        shown(s)
    )
}

/// Parses an integer, refusing text that is not the integer's own (see [`plain_number`]).
fn integer<T: ArrowPrimitiveType + Parser>(text: &StringArray) -> Decoded {
    let parse = |s: &str| {
        let v = T::parse(s).ok_or_else(|| invalid(s, T::DATA_TYPE))?;
        if !plain_number(s, true) {
            return Err(not_plain(s, &T::DATA_TYPE));
        }
        Ok(v)
    };
    Ok(Arc::new(each::<_, PrimitiveArray<T>>(text, parse)?))
}

fn primitive<T: ArrowPrimitiveType + Parser>(text: &StringArray) -> Decoded {
    let parse = |s: &str| T::parse(s).ok_or_else(|| invalid(s, T::DATA_TYPE));
    Ok(Arc::new(each::<_, PrimitiveArray<T>>(text, parse)?))
}

/// The significant digits and power of ten of a number's text (`-12.50e3` -> (true, "125", 2)),
/// zero as `(false, "", 0)`; `None` if the text is not a plain decimal number.
fn significant(s: &str) -> Option<(bool, String, i64)> {
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i64>().ok()?),
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !(int.bytes().chain(frac.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let all = format!("{int}{frac}");
    let digits = all.trim_start_matches('0').trim_end_matches('0');
    if digits.is_empty() {
        return Some((false, String::new(), 0));
    }
    let trailing = (all.len() - all.trim_end_matches('0').len()) as i64;
    Some((
        negative,
        digits.to_string(),
        exp - frac.len() as i64 + trailing,
    ))
}

/// Parses a float, refusing text with more significant digits than the float keeps (a 40-digit
/// decimal in a column inferred as Float64): the float's shortest text must be the same number.
fn float<T: ArrowPrimitiveType + Parser>(text: &StringArray) -> Decoded
where
    T::Native: std::fmt::LowerExp,
{
    let parse = |s: &str| {
        let f = T::parse(s).ok_or_else(|| invalid(s, T::DATA_TYPE))?;
        if !plain_number(s, false) {
            return Err(not_plain(s, &T::DATA_TYPE));
        }
        match significant(s) {
            Some(digits) if significant(&format!("{f:e}")).as_ref() != Some(&digits) => {
                Err(format!(
                "{} has more significant digits than {} keeps (a column whose type was inferred \
                 is read as text with ?infer_rows=0)",
                shown(s),
                T::DATA_TYPE
            ))
            }
            _ => Ok(f), // the same number, or NaN or an infinity
        }
    };
    Ok(Arc::new(each::<_, PrimitiveArray<T>>(text, parse)?))
}

/// A count of `unit`s from nanoseconds, refused if it would drop digits.
fn in_unit(nanos: i64, unit: &TimeUnit) -> Option<i64> {
    let per = match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    };
    (nanos % per == 0).then_some(nanos / per)
}

fn time<T: ArrowPrimitiveType>(text: &StringArray, unit: &TimeUnit) -> Decoded
where
    T::Native: TryFrom<i64>,
{
    let parse = |s: &str| {
        // 24:00:00, the end of the day, is a time in PostgreSQL: the CSV sink writes it so.
        let n = match s {
            "24:00:00" => Some(86_400_000_000_000),
            _ => string_to_time_nanoseconds(s).ok(),
        };
        let v = n.and_then(|n| in_unit(n, unit)?.try_into().ok());
        v.ok_or_else(|| invalid(s, format!("time with {unit:?} precision")))
    };
    Ok(Arc::new(each::<_, PrimitiveArray<T>>(text, parse)?))
}

fn instants<Z: TimeZone>(text: &StringArray, zone: &Z, unit: &TimeUnit) -> Decoded<Int64Array> {
    let parse = |s: &str| {
        // ±infinity, written so by the CSV sink, are the microsecond sentinels every sink knows.
        match (s, unit) {
            ("infinity", TimeUnit::Microsecond) => return Ok(temporal::TS_INFINITY),
            ("-infinity", TimeUnit::Microsecond) => return Ok(temporal::TS_NEG_INFINITY),
            _ => {}
        }
        let t = string_to_datetime(zone, s).ok();
        let v = t.and_then(|t| {
            let sub = in_unit(i64::from(t.timestamp_subsec_nanos()), unit)?;
            let per_second = in_unit(1_000_000_000, unit)?;
            // In i128: near the ends of the nanosecond range the whole seconds alone overflow.
            let v = i128::from(t.timestamp()) * i128::from(per_second) + i128::from(sub);
            v.try_into().ok()
        });
        v.ok_or_else(|| invalid(s, format!("timestamp with {unit:?} precision")))
    };
    each(text, parse)
}

fn unhex(s: &str, width: Option<i32>) -> std::result::Result<Vec<u8>, String> {
    match hex::decode(s) {
        Ok(b) if width.is_none_or(|w| b.len() == w as usize) => Ok(b),
        Ok(b) => Err(format!(
            "{} is {} bytes, the column holds {}",
            shown(s),
            b.len(),
            width.unwrap_or(0)
        )),
        Err(e) => Err(format!("{} is not hexadecimal: {e}", shown(s))),
    }
}

/// Decodes one column of text (NULLs already found) into `data_type`; on failure, the row and why.
/// The CSV sink writes only the types this reads back.
pub fn decode_column(text: &StringArray, data_type: &DataType) -> Decoded {
    use DataType::*;
    let arrow_error = |e: arrow::error::ArrowError| (0, e.to_string());
    let exact = |s: &str, p: u8, sc: i8| {
        decimal::parse_exact(s, p, sc)
            .ok_or_else(|| format!("{} does not fit DECIMAL({p},{sc}) exactly", shown(s)))
    };
    Ok(match data_type {
        Null => match (0..text.len()).find(|&i| text.is_valid(i)) {
            None => Arc::new(NullArray::new(text.len())),
            Some(i) => {
                return Err((
                    i,
                    format!("{} in a column of type Null", shown(text.value(i))),
                ))
            }
        },
        Boolean => Arc::new(each::<_, BooleanArray>(text, |s| {
            match s.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(format!("{} is not true or false", shown(s))),
            }
        })?),
        Int8 => integer::<Int8Type>(text)?,
        Int16 => integer::<Int16Type>(text)?,
        Int32 => integer::<Int32Type>(text)?,
        Int64 => integer::<Int64Type>(text)?,
        UInt8 => integer::<UInt8Type>(text)?,
        UInt16 => integer::<UInt16Type>(text)?,
        UInt32 => integer::<UInt32Type>(text)?,
        UInt64 => integer::<UInt64Type>(text)?,
        Float16 => primitive::<Float16Type>(text)?,
        Float32 => float::<Float32Type>(text)?,
        Float64 => float::<Float64Type>(text)?,
        // At most 38 digits, as parse_exact checks: every value fits an i128.
        Decimal128(p, sc) => Arc::new(
            each::<_, Decimal128Array>(text, |s| {
                exact(s, *p, *sc)?
                    .to_i128()
                    .ok_or_else(|| invalid(s, data_type))
            })?
            .with_precision_and_scale(*p, *sc)
            .map_err(arrow_error)?,
        ),
        Decimal256(p, sc) => Arc::new(
            each::<_, Decimal256Array>(text, |s| exact(s, *p, *sc))?
                .with_precision_and_scale(*p, *sc)
                .map_err(arrow_error)?,
        ),
        Utf8 => Arc::new(text.clone()),
        LargeUtf8 => Arc::new(text.iter().collect::<LargeStringArray>()),
        Utf8View => Arc::new(text.iter().collect::<StringViewArray>()),
        Binary => Arc::new(each::<_, BinaryArray>(text, |s| unhex(s, None))?),
        LargeBinary => Arc::new(each::<_, LargeBinaryArray>(text, |s| unhex(s, None))?),
        BinaryView => Arc::new(each::<_, BinaryViewArray>(text, |s| unhex(s, None))?),
        FixedSizeBinary(w) => {
            let values: Vec<Option<Vec<u8>>> = each(text, |s| unhex(s, Some(*w)))?;
            let array =
                FixedSizeBinaryArray::try_from_sparse_iter_with_size(values.into_iter(), *w);
            Arc::new(array.map_err(arrow_error)?)
        }
        // arrow's date parser also takes a timestamp and drops its time: only a date is a date.
        Date32 => Arc::new(each::<_, Date32Array>(text, |s| {
            match s {
                "infinity" => return Ok(temporal::DATE_INFINITY),
                "-infinity" => return Ok(temporal::DATE_NEG_INFINITY),
                _ => {}
            }
            let date = (s.len() <= 10 || s.starts_with(['+', '-'])).then(|| Date32Type::parse(s));
            date.flatten()
                .ok_or_else(|| invalid(s, "date (YYYY-MM-DD)"))
        })?),
        Date64 => primitive::<Date64Type>(text)?,
        Time32(u @ TimeUnit::Second) => time::<Time32SecondType>(text, u)?,
        Time32(u @ TimeUnit::Millisecond) => time::<Time32MillisecondType>(text, u)?,
        Time64(u @ TimeUnit::Microsecond) => time::<Time64MicrosecondType>(text, u)?,
        Time64(u @ TimeUnit::Nanosecond) => time::<Time64NanosecondType>(text, u)?,
        Timestamp(unit, tz) => {
            // The sink writes an offset with every value of a zoned column, so a zone arrow cannot
            // load without chrono-tz (a name such as `UTC` or `Europe/Paris`) is not needed here.
            let values = match tz.as_deref().map(str::parse::<Tz>) {
                Some(Ok(zone)) => instants(text, &zone, unit)?,
                _ => instants(text, &Utc, unit)?,
            };
            let data = values
                .into_data()
                .into_builder()
                .data_type(data_type.clone())
                .build();
            make_array(data.map_err(arrow_error)?)
        }
        other => return Err((0, format!("CSV cannot carry values of type {other}"))),
    })
}

/// Fails if CSV text cannot be read back into `data_type` exactly.
pub fn check_readable(column: &str, data_type: &DataType) -> Result<()> {
    decode_column(&StringArray::new_null(0), data_type)
        .map(|_| ())
        .map_err(|(_, why)| {
            Error::unsupported(format!("column \"{column}\" has type {data_type}: {why}"))
        })
}

/// Reads CSV files.
pub struct CsvSource {
    name: String,
    root: PathBuf,
    manifest: Option<Manifest>,
    /// Table name -> its files, in order.
    tables: Vec<(String, Vec<PathBuf>)>,
    format: CsvFormat,
    /// Dialect options given in the URL, which a snapshot's recorded dialect must agree with.
    given: Vec<(&'static str, String)>,
    infer_rows: usize,
    limits: BatchLimits,
}

impl CsvSource {
    /// Rows read to infer the column types of a table without a manifest.
    pub const DEFAULT_INFER_ROWS: usize = 1000;

    pub fn try_new(endpoint: &Endpoint, limits: BatchLimits) -> Result<Self> {
        endpoint.check_options(&["header", "delimiter", "quote", "null", "infer_rows"])?;
        let name = endpoint.to_string();
        let format = CsvFormat::from_endpoint(endpoint)?;
        let given = CsvFormat::OPTIONS
            .iter()
            .filter_map(|k| endpoint.option(k).map(|v| (*k, v.to_string())))
            .collect();
        let infer_rows = match endpoint.option("infer_rows") {
            None => Self::DEFAULT_INFER_ROWS,
            Some(v) => v.parse().map_err(|_| {
                Error::invalid_args(format!("{name}: infer_rows={v} is not a number of rows"))
            })?,
        };
        let root = endpoint.path.clone();
        if !root.exists() {
            return Err(Error::not_found(format!(
                "{name}: no such file or directory"
            )));
        }
        let (manifest, tables) = if root.is_file() {
            (None, vec![(stem(&root), vec![root.clone()])])
        } else {
            match Manifest::load(&root).map_err(|e| e.context(name.clone()))? {
                Some(m) if m.file_format != "csv" => {
                    return Err(Error::invalid_args(format!(
                        "{name}: the snapshot holds {} files; read it as {}://",
                        m.file_format, m.file_format
                    )))
                }
                Some(m) => {
                    let tables = m
                        .tables
                        .iter()
                        .map(|t| {
                            (
                                t.name.clone(),
                                t.files.iter().map(|f| root.join(&f.path)).collect(),
                            )
                        })
                        .collect();
                    (Some(m), tables)
                }
                None => (None, plain_tables(&root)?),
            }
        };
        Ok(CsvSource {
            name,
            root,
            manifest,
            tables,
            format,
            given,
            infer_rows,
            limits,
        })
    }

    /// The dialect of `table`: the one its snapshot recorded, else the URL's.
    fn dialect(&self, table: &str) -> Result<CsvFormat> {
        let Some(entry) = self
            .manifest
            .as_ref()
            .and_then(|m| m.tables.iter().find(|t| t.name == table))
        else {
            return Ok(self.format.clone());
        };
        let what = format!("{}: table \"{table}\"", self.name);
        let Some(recorded) = CsvFormat::from_metadata(&what, &entry.schema.metadata)? else {
            return Ok(self.format.clone());
        };
        for (key, value) in recorded.options() {
            if let Some((_, given)) = self.given.iter().find(|(k, _)| *k == key) {
                if *given != value {
                    return Err(Error::invalid_args(format!(
                        "{what} was written with {key}='{value}', not '{given}'; drop ?{key}= from the URL"
                    )));
                }
            }
        }
        Ok(recorded)
    }

    /// Infers a table's schema from its first file, as arrow-csv would.
    fn infer(&self, table: &str, files: &[PathBuf], format: &CsvFormat) -> Result<Schema> {
        let first = files.first().ok_or_else(|| {
            Error::not_found(format!("{}: table \"{table}\" has no files", self.name))
        })?;
        let ctx = format!("{}: table \"{table}\", file {}", self.name, first.display());
        let mut records = open_records(&ctx, first, format)?;
        if records
            .next_row(None)
            .map_err(|e| read_error(&ctx, e))?
            .is_none()
        {
            return Err(Error::invalid_data(format!("{ctx}: the file is empty")));
        }
        let names = if format.header {
            records.names()
        } else {
            (1..=records.ends.len())
                .map(|i| format!("column_{i}"))
                .collect()
        };
        // arrow-csv takes an empty field for NULL and `\N` for text, so it is given the sample in
        // its own terms: NULL as an empty field, an empty string as `"` (text to it), any other
        // value quoted.
        let quote = |f: Option<&[u8]>| match f {
            None => String::new(),
            Some(b"") => "\"\"\"\"".to_string(),
            Some(v) => format!("\"{}\"", String::from_utf8_lossy(v).replace('"', "\"\"")),
        };
        let header: Vec<String> = names.iter().map(|n| quote(Some(n.as_bytes()))).collect();
        let mut sample = header.join(",") + "\n";
        let null = format.null.as_bytes();
        let mut have_row = !format.header;
        // Columns with a number written otherwise than its value prints: text, not numbers.
        // (as an integer, as a float: `-0` is a float's text for -0.0, not an integer's).
        let mut not_plain = vec![(false, false); names.len()];
        for _ in 0..self.infer_rows {
            let next = |r: &mut Records<_>| {
                r.next_row(Some(names.len()))
                    .map_err(|e| read_error(&ctx, e))
            };
            if !std::mem::take(&mut have_row) && next(&mut records)?.is_none() {
                break;
            }
            let row: Vec<String> = (0..names.len())
                .map(|i| match records.field(i) {
                    (v, false) if v == null => quote(None),
                    (v, _) => {
                        let text = String::from_utf8_lossy(v);
                        not_plain[i].0 |= !plain_number(&text, true);
                        not_plain[i].1 |= !plain_number(&text, false);
                        quote(Some(v))
                    }
                })
                .collect();
            sample += &(row.join(",") + "\n");
        }
        let (inferred, _) = arrow::csv::reader::Format::default()
            .with_header(true)
            .infer_schema(Cursor::new(sample), None)
            .map_err(|e| Error::arrow(format!("{ctx}: cannot infer the column types"), e))?;
        let fields: Fields = inferred
            .fields()
            .iter()
            .zip(&not_plain)
            .map(|(f, not_plain)| match f.data_type() {
                DataType::Null => Field::new(f.name(), DataType::Utf8, true),
                DataType::Int64 if not_plain.0 => Field::new(f.name(), DataType::Utf8, true),
                DataType::Float64 if not_plain.1 => Field::new(f.name(), DataType::Utf8, true),
                t => Field::new(f.name(), t.clone(), true),
            })
            .collect();
        for path in &files[1..] {
            let ctx = format!("{}: table \"{table}\", file {}", self.name, path.display());
            check_header(
                &ctx,
                &mut open_records(&ctx, path, format)?,
                format,
                &fields,
            )?;
        }
        Ok(Schema::new(fields))
    }
}

/// Reads a file's header, if it has one, and checks it names the table's columns.
fn check_header<R: BufRead>(
    ctx: &str,
    records: &mut Records<R>,
    format: &CsvFormat,
    fields: &[FieldRef],
) -> Result<()> {
    if !format.header {
        return Ok(());
    }
    let expected: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
    match records.next_row(None).map_err(|e| read_error(ctx, e))? {
        None => Err(Error::invalid_data(format!("{ctx}: the file is empty; it has no header"))),
        Some(_) if records.names() != expected => Err(Error::invalid_data(format!(
            "{ctx}: the header ({}) does not name the table's columns ({}); if the file has no header, use ?header=false",
            records.names().join(", "),
            expected.join(", ")
        ))),
        Some(_) => Ok(()),
    }
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn csv_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| Error::io(format!("cannot list {}", dir.display()), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
        .collect();
    files.sort();
    Ok(files)
}

/// The tables of a directory without a manifest: each `.csv` file, then each sub-directory
/// holding `.csv` files.
fn plain_tables(root: &Path) -> Result<Vec<(String, Vec<PathBuf>)>> {
    let mut tables: Vec<(String, Vec<PathBuf>)> = csv_files(root)?
        .into_iter()
        .map(|p| (crate::snapshot::table_of_file_name(&stem(&p)), vec![p]))
        .collect();
    let mut dirs: Vec<PathBuf> = fs::read_dir(root)
        .map_err(|e| Error::io(format!("cannot list {}", root.display()), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && !stem(p).starts_with('.'))
        .collect();
    dirs.sort();
    for d in dirs {
        let files = csv_files(&d)?;
        if !files.is_empty() {
            tables.push((crate::snapshot::table_of_dir(&d), files));
        }
    }
    Ok(tables)
}

impl Source for CsvSource {
    fn snapshot_table(&self, plan: &TablePlan) -> Option<String> {
        let m = self.manifest.as_ref()?;
        m.tables
            .iter()
            .find(|t| t.name == plan.name)
            .map(|t| t.identity())
    }

    fn tables(&self) -> Result<Vec<String>> {
        Ok(self.tables.iter().map(|(n, _)| n.clone()).collect())
    }

    fn plan(&self, table: &TableRef) -> Result<TablePlan> {
        let name = match table {
            TableRef::Table(n) => n,
            TableRef::Query(_) => {
                return Err(Error::unsupported(format!(
                    "{}: a CSV source has no SQL; pick tables with --table",
                    self.name
                )))
            }
        };
        let Some((_, files)) = self.tables.iter().find(|(n, _)| n == name) else {
            return Err(Error::not_found(format!(
                "{}: table \"{name}\" not found (tables: {})",
                self.name,
                self.tables
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let format = self.dialect(name)?;
        let entry = self
            .manifest
            .as_ref()
            .and_then(|m| m.tables.iter().find(|t| &t.name == name).map(|t| (m, t)));
        let (schema, rows) = match entry {
            Some((m, entry)) => {
                m.verify(&self.root, entry)?;
                let mut schema = entry.schema.clone();
                schema
                    .metadata
                    .retain(|k, _| !k.starts_with(META_DIALECT_PREFIX));
                for f in schema.fields() {
                    check_readable(f.name(), f.data_type())
                        .map_err(|e| e.context(format!("{}: table \"{name}\"", self.name)))?;
                }
                (schema, Some(entry.rows))
            }
            None => (self.infer(name, files, &format)?, None),
        };
        let partitions = files
            .iter()
            .enumerate()
            .map(|(index, path)| Partition {
                index,
                label: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                spec: PartitionSpec::File {
                    path: path.clone(),
                    row_groups: None,
                },
            })
            .collect();
        Ok(TablePlan {
            name: name.clone(),
            schema: Arc::new(schema),
            partitions,
            rows,
            lossy: Default::default(),
            filter: None,
        })
    }

    fn open(&self, plan: &TablePlan, partition: &Partition) -> Result<BatchStream> {
        let PartitionSpec::File { path, .. } = &partition.spec else {
            return Err(Error::internal("a CSV partition names a file"));
        };
        let format = self.dialect(&plan.name)?;
        let ctx = format!(
            "{}: table \"{}\", file {}",
            self.name,
            plan.name,
            path.display()
        );
        let mut records = open_records(&ctx, path, &format)?;
        check_header(&ctx, &mut records, &format, plan.schema.fields())?;
        Ok(Box::new(Batches {
            records,
            schema: plan.schema.clone(),
            null: format.null.into_bytes(),
            rows: self.limits.rows.clamp(1, 16_384),
            ctx,
            done: false,
        }))
    }
}

/// The batches of one file.
struct Batches {
    records: Records<BufReader<File>>,
    schema: SchemaRef,
    null: Vec<u8>,
    rows: usize,
    ctx: String,
    done: bool,
}

impl Batches {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let fields = self.schema.fields();
        let mut columns: Vec<StringBuilder> = fields.iter().map(|_| StringBuilder::new()).collect();
        let mut lines = Vec::new();
        while lines.len() < self.rows {
            let Some(line) = self
                .records
                .next_row(Some(fields.len()))
                .map_err(|e| read_error(&self.ctx, e))?
            else {
                break;
            };
            for (i, column) in columns.iter_mut().enumerate() {
                match self.records.field(i) {
                    (v, false) if v == self.null.as_slice() => column.append_null(),
                    (v, _) => column.append_value(std::str::from_utf8(v).map_err(|_| {
                        Error::invalid_data(format!(
                            "{}, line {line}, column \"{}\": the text is not UTF-8",
                            self.ctx,
                            fields[i].name()
                        ))
                    })?),
                }
            }
            lines.push(line);
        }
        if lines.is_empty() {
            return Ok(None);
        }
        let arrays = fields
            .iter()
            .zip(columns)
            .map(|(f, mut text)| {
                decode_column(&text.finish(), f.data_type()).map_err(|(row, why)| {
                    Error::new(
                        ErrorKind::InvalidData,
                        format!(
                            "{}, line {}, column \"{}\": {why}",
                            self.ctx,
                            lines[row],
                            f.name()
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(lines.len()));
        RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)
            .map(Some)
            .map_err(|e| Error::arrow(self.ctx.clone(), e))
    }
}

impl Iterator for Batches {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        if self.done {
            return None;
        }
        let next = self.next_batch();
        self.done = !matches!(next, Ok(Some(_)));
        next.transpose()
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use arrow::compute::concat_batches;

    use super::*;
    use crate::sink::csv::CsvSink;
    use crate::sink::{IfExists, Sink};

    fn source(path: &Path, query: &str) -> Result<CsvSource> {
        let e: Endpoint = format!("csv://{}{query}", path.display()).parse().unwrap();
        CsvSource::try_new(&e, BatchLimits::default())
    }

    fn read(src: &CsvSource, table: &str) -> Result<RecordBatch> {
        let plan = src.plan(&TableRef::Table(table.into()))?;
        let mut batches = Vec::new();
        for p in &plan.partitions {
            for b in src.open(&plan, p)? {
                batches.push(b?);
            }
        }
        Ok(concat_batches(&plan.schema, &batches).unwrap())
    }

    /// Each record's line, and its fields with whether they were quoted.
    type Split = Vec<(u64, Vec<(String, bool)>)>;

    fn records(text: &str, format: &CsvFormat) -> io::Result<Split> {
        let mut r = Records::new(text.as_bytes(), format)?;
        let mut out = Vec::new();
        while let Some(line) = r.next_record()? {
            let fields = (0..r.ends.len()).map(|i| {
                (
                    String::from_utf8_lossy(r.field(i).0).into_owned(),
                    r.field(i).1,
                )
            });
            out.push((line, fields.collect()));
        }
        Ok(out)
    }

    #[test]
    fn records_follow_rfc_4180_and_remember_quoting() {
        let f = CsvFormat::default();
        let got = records("\u{feff}a,\"b\"\r\n\"x\"\"y\n z\",\r\n\n,\"\"\rlast", &f).unwrap();
        let field = |s: &str, q: bool| (s.to_string(), q);
        assert_eq!(
            got,
            vec![
                (1, vec![field("a", false), field("b", true)]),
                (2, vec![field("x\"y\n z", true), field("", false)]),
                (4, vec![field("", false)]),
                (5, vec![field("", false), field("", true)]),
                (6, vec![field("last", false)]),
            ]
        );
        let semi = CsvFormat {
            delimiter: b';',
            quote: b'\'',
            ..CsvFormat::default()
        };
        assert_eq!(
            records("'a;b''c';d\"e", &semi).unwrap(),
            vec![(1, vec![field("a;b'c", true), field("d\"e", false)])]
        );
        let e = records("a\n\"b\nc", &f).unwrap_err();
        assert_eq!(e.to_string(), "line 2: a quoted field is not closed");
        let e = records("a\n\"b\"c", &f).unwrap_err();
        assert_eq!(e.to_string(), "line 2: a character follows a closing quote");
    }

    #[test]
    fn exact_decoding_refuses_what_it_cannot_keep() {
        let text = |v: &[Option<&str>]| StringArray::from(v.to_vec());
        let err = |v: &[Option<&str>], t: DataType| decode_column(&text(v), &t).unwrap_err();
        // Numbers written otherwise than their values print: refused, never read as another text.
        for (bad, t) in [
            ("007", DataType::Int64),
            ("-01", DataType::Int32),
            ("+5", DataType::Int64),
            ("-0", DataType::Int16),
            ("00.5", DataType::Float64),
            ("+1.5", DataType::Float64),
        ] {
            let (row, why) = err(&[Some("1"), None, Some(bad)], t.clone());
            assert_eq!(row, 2, "{bad}");
            assert!(
                why.contains("a sign or leading zeros would be lost"),
                "{bad}: {why}"
            );
        }
        let plain = decode_column(
            &text(&[Some("0"), Some("-0"), Some("0.5"), Some("-0.0"), Some("10")]),
            &DataType::Float64,
        )
        .unwrap();
        assert_eq!(plain.len(), 5);
        let ok = decode_column(
            &text(&[Some("-0.05"), None, Some("1e2")]),
            &DataType::Decimal128(15, 2),
        )
        .unwrap();
        assert_eq!(
            ok.as_primitive::<Decimal128Type>()
                .iter()
                .collect::<Vec<_>>(),
            vec![Some(-5), None, Some(10_000)]
        );
        assert_eq!(
            err(&[Some("1"), Some("0.045")], DataType::Decimal128(15, 2)),
            (1, "'0.045' does not fit DECIMAL(15,2) exactly".into())
        );
        assert_eq!(
            err(&[Some("0g")], DataType::Binary).1,
            "'0g' is not hexadecimal: Invalid character 'g' at position 1"
        );
        assert_eq!(
            err(&[Some("00")], DataType::FixedSizeBinary(2)).1,
            "'00' is 1 bytes, the column holds 2"
        );
        let us = DataType::Timestamp(TimeUnit::Microsecond, None);
        assert_eq!(
            err(&[Some("2020-01-01T00:00:00.0000001")], us).1,
            "'2020-01-01T00:00:00.0000001' is not a valid timestamp with Microsecond precision"
        );
        assert_eq!(
            err(&[Some("2020-01-01T10:00:00")], DataType::Date32).1,
            "'2020-01-01T10:00:00' is not a valid date (YYYY-MM-DD)"
        );
        assert_eq!(
            err(&[Some("10:00:00.5")], DataType::Time32(TimeUnit::Second)).1,
            "'10:00:00.5' is not a valid time with Second precision"
        );
        assert_eq!(
            err(&[Some("yes")], DataType::Boolean).1,
            "'yes' is not true or false"
        );
        assert_eq!(err(&[Some("1e400")], DataType::Float64).1, "'1e400' has more significant digits than Float64 keeps (a column whose type was inferred is read as text with ?infer_rows=0)");
        let floats = decode_column(
            &text(&[
                Some("0.10"),
                Some("-0"),
                Some("NaN"),
                Some("-inf"),
                Some("1E-2"),
            ]),
            &DataType::Float64,
        )
        .unwrap();
        let bits: Vec<u64> = floats
            .as_primitive::<Float64Type>()
            .values()
            .iter()
            .map(|f| f.to_bits())
            .collect();
        assert_eq!(
            bits,
            [0.1f64, -0.0, f64::NAN, f64::NEG_INFINITY, 0.01].map(f64::to_bits)
        );
        assert!(check_readable("c", &DataType::Duration(TimeUnit::Second)).is_err());
    }

    #[test]
    fn plain_directories_infer_types_and_keep_empty_strings() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("people.csv"), "id,name,score,ok,born,seen\n1,,1.5,true,1960-01-02,2020-01-01T00:00:00.5\n\\N,\"\\N\",\\N,\\N,\\N,\\N\n3,\\N,-2,FALSE,1999-12-31,2020-01-01 10:11:12\n").unwrap();
        fs::create_dir(dir.path().join("parts")).unwrap();
        fs::write(dir.path().join("parts/a.csv"), "x\nfoo\n").unwrap();
        fs::write(dir.path().join("parts/b.csv"), "x\n\n2\n").unwrap();
        fs::create_dir(dir.path().join(".hidden")).unwrap();
        fs::write(dir.path().join(".hidden/c.csv"), "x\n1\n").unwrap();
        let src = source(dir.path(), "").unwrap();
        assert_eq!(src.tables().unwrap(), ["people", "parts"]);

        let got = read(&src, "people").unwrap();
        let schema = got.schema();
        let types: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| format!("{}:{}:{}", f.name(), f.data_type(), f.is_nullable()))
            .collect();
        assert_eq!(
            types,
            [
                "id:Int64:true",
                "name:Utf8:true",
                "score:Float64:true",
                "ok:Boolean:true",
                "born:Date32:true",
                "seen:Timestamp(Millisecond, None):true"
            ]
        );
        assert_eq!(
            got.column(0).as_ref(),
            &Int64Array::from(vec![Some(1), None, Some(3)]) as &dyn Array
        );
        // Unquoted \N is NULL, quoted "\N" is text, an empty field is an empty string.
        assert_eq!(
            got.column(1).as_ref(),
            &StringArray::from(vec![Some(""), Some("\\N"), None]) as &dyn Array
        );

        // In a one-column table a blank line is a value: here the empty string.
        let parts = read(&src, "parts").unwrap();
        assert_eq!(
            parts.column(0).as_ref(),
            &StringArray::from(vec!["foo", "", "2"]) as &dyn Array
        );
        // Every column as text.
        let text = read(&source(dir.path(), "?infer_rows=0").unwrap(), "people").unwrap();
        assert!(text
            .schema()
            .fields()
            .iter()
            .all(|f| f.data_type() == &DataType::Utf8));

        let e = src.plan(&TableRef::Query("select 1".into())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        let e = src.plan(&TableRef::Table("nope".into())).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "csv://{}: table \"nope\" not found (tables: people, parts)",
                dir.path().display()
            )
        );
    }

    #[test]
    fn errors_name_table_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        fs::write(&path, "a,b\n1,2\n3,4\n5,x\n").unwrap();
        let e = read(&source(&path, "?infer_rows=2").unwrap(), "t").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidData);
        assert_eq!(
            e.to_string(),
            format!(
                "csv://{0}: table \"t\", file {0}, line 4, column \"b\": 'x' is not a valid Int64",
                path.display()
            )
        );
        fs::write(&path, "a,b\n1,2\n3\n").unwrap();
        let e = read(&source(&path, "").unwrap(), "t").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "csv://{0}: table \"t\", file {0}, line 3 has 1 fields, the table has 2 columns",
                path.display()
            )
        );
        fs::write(dir.path().join("u.csv"), "a,b\n1,\"2\n").unwrap();
        let e = read(&source(&dir.path().join("u.csv"), "").unwrap(), "u").unwrap_err();
        assert!(
            e.to_string()
                .ends_with("line 2: a quoted field is not closed"),
            "{e}"
        );
        let e = source(&path, "?delimiter=ab").err().unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidArguments);
        let e = source(&path, "?null=a,b").err().unwrap();
        assert!(
            e.to_string().contains("null='a,b' holds the delimiter"),
            "{e}"
        );
    }

    fn snapshot(dir: &Path) -> PathBuf {
        let snap = dir.join("snap");
        let e: Endpoint = format!("csv://{}", snap.display()).parse().unwrap();
        let sink = CsvSink::try_new(&e).unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new(
            "price",
            DataType::Decimal128(15, 2),
            true,
        )]));
        let mut w = sink.prepare("t", &schema, IfExists::Fail).unwrap();
        let prices = Decimal128Array::from(vec![Some(100), None])
            .with_precision_and_scale(15, 2)
            .unwrap();
        w.write(&RecordBatch::try_new(schema, vec![Arc::new(prices)]).unwrap())
            .unwrap();
        w.finish().unwrap();
        sink.commit().unwrap();
        assert_eq!(
            fs::read_to_string(snap.join("t/part-00000.csv")).unwrap(),
            "price\n1.00\n\\N\n"
        );
        snap
    }

    #[test]
    fn a_snapshot_file_of_another_size_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let snap = snapshot(dir.path());
        fs::write(snap.join("t/part-00000.csv"), "price\n1.00\n\\N\n2.00\n").unwrap();
        let e = source(&snap, "")
            .unwrap()
            .plan(&TableRef::Table("t".into()))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity);
        assert_eq!(
            e.to_string(),
            format!("snapshot {}: file t/part-00000.csv is 19 bytes, the manifest says 14; the snapshot is refused", snap.display())
        );
    }

    #[test]
    fn a_hand_edited_snapshot_file_is_refused_by_its_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let snap = snapshot(dir.path());
        // Same size, a value with a digit past the scale: refused before it could be read.
        fs::write(snap.join("t/part-00000.csv"), "price\n1.005\n\\N").unwrap();
        let e = source(&snap, "")
            .unwrap()
            .plan(&TableRef::Table("t".into()))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity);
        assert!(
            e.to_string()
                .contains("file t/part-00000.csv does not match its SHA-256 checksum"),
            "{e}"
        );
    }
}
