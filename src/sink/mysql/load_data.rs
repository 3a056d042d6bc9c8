//! Arrow batches -> the text stream MySQL's `LOAD DATA LOCAL INFILE` reads with its defaults
//! (`FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n'`, no enclosing
//! character), loaded with `CHARACTER SET utf8mb4`.
//!
//! The stream is row-major, but ferry encodes it a column at a time: each column is written
//! into one byte buffer plus the offsets where its rows end, with one `match` on the column's
//! type outside the loop over its values (no per-value dispatch), and the columns are then
//! interleaved row by row with one copy per field. A string column with no NULL and no byte
//! to escape is not copied at all in the first step: its rows are read from the Arrow buffer.
//! Encoding a column is a pure function of the column, so columns can be encoded in parallel.
//! This is hand-written because it is the hot path of every MySQL load.
//!
//! Values MySQL cannot hold exactly (NaN, ±inf, -0, years outside 0 to 9999, nanoseconds,
//! durations past `838:59:59`) are errors naming the column and the row, never silently changed;
//! only `--float-loss replace` writes -0 as 0 and NaN and ±inf as NULL, counted per column. Where
//! the server would read a value's text as another value without a warning (`0` in a `YEAR` is
//! 2000, `1.5` in an `int` is 2, a fraction in a `datetime(0)` is cut), the target column's
//! [`TextForm`] writes a text it reads back exactly or refuses the value. A float is written
//! as the shortest text of its value as a double, which the server parses back to the same
//! bits.

use std::borrow::Cow;

use arrow::array::*;
use arrow::buffer::NullBuffer;
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::*;

use crate::error::{Error, Result};
use crate::report::{LossyCounter, LossyCounts};
use crate::sink::FloatLoss;
use crate::types::temporal;

/// One target column: its name (for messages) and how its values are written.
#[derive(Debug, Clone)]
pub struct ColumnText {
    pub name: String,
    pub form: TextForm,
}

/// How a column's values are written, chosen by the sink from the target column's type: the
/// server reads some text as another value than the one written, without a warning, so a
/// value it would change is written in a form it reads back exactly, or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextForm {
    /// The value's text, escaped (numbers, decimals, strings, dates, times, ...).
    Plain,
    /// Bytes as lowercase hex without `0x` (the sink loads the field into a user variable and
    /// sets the column to `UNHEX(@v)`), for binary columns: raw bytes would be reinterpreted
    /// by the connection's character set.
    Hex,
    /// A `YEAR` column: 0 as `0000`, 1901 to 2155 as they are, any other number refused. The
    /// server reads the text `0` as 2000, `1` to `99` (and `0001` to `0099`) as 2001 to 2069
    /// and 1970 to 1999. Integers and text holding an integer are checked.
    Year,
    /// A `time(p)`, `datetime(p)` or `timestamp(p)` column with p < 6: a time or timestamp
    /// with more fractional digits is refused (the server cuts them without a warning).
    Fraction(u8),
    /// A `date` column: a timestamp must be at midnight (the server drops `00:00:00.5`
    /// without a warning).
    Day,
    /// An integer column: a float or a decimal must be a whole number (the server rounds
    /// `1.5` to 2 without a warning).
    Whole,
    /// A single-precision `float` column: a double must be exactly a float (the server rounds
    /// `0.1` without a warning).
    Single,
}

/// Encodes batches of one schema.
#[derive(Debug, Clone)]
pub struct TextEncoder {
    columns: Vec<ColumnText>,
    /// Whether each column may be NULL: a float replaced by NULL may not go into a NOT NULL one.
    nullable: Vec<bool>,
    float_loss: FloatLoss,
    /// Values replaced under `float_loss`, by column; clones of the encoder share the counts.
    lossy: LossyCounter,
    /// The members of each `enum` or `set` column ([`TextEncoder::with_members`]).
    members: Vec<Option<Members>>,
}

/// What a float MySQL cannot hold becomes in one column.
#[derive(Debug, Clone, Copy)]
struct Floats {
    loss: FloatLoss,
    nullable: bool,
}

/// A float as it is written: kept, or replaced (`--float-loss replace`) by 0 (for -0) or NULL
/// (for NaN and ±inf).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Float {
    Keep,
    Zero,
    Null,
}

/// The field MySQL reads as NULL.
const NULL: &[u8] = b"\\N";

/// The largest MySQL `TIME`, `838:59:59`, in microseconds.
const TIME_MAX_MICROS: i64 = (838 * 3600 + 59 * 60 + 59) * 1_000_000;
/// 0000-01-01 and 9999-12-31 in days since 1970-01-01: the years MySQL's `DATE` can hold.
const MIN_DAYS: i64 = -719_528;
const MAX_DAYS: i64 = 2_932_896;

const NANOS_MESSAGE: &str = "has nanoseconds; MySQL keeps microseconds, so it cannot \
                             be stored without rounding";

/// Whether a column of type `t` can be written in `form`: the types [`encode_column`] takes
/// (or, for a dictionary, its values' type).
fn supported(t: &DataType, form: TextForm) -> bool {
    use DataType as D;
    match t {
        D::Dictionary(_, v) => supported(v, form),
        D::Null
        | D::Utf8
        | D::LargeUtf8
        | D::Utf8View
        | D::Binary
        | D::LargeBinary
        | D::BinaryView
        | D::FixedSizeBinary(_) => true,
        _ if form == TextForm::Hex => false,
        D::Boolean
        | D::Int8
        | D::Int16
        | D::Int32
        | D::Int64
        | D::UInt8
        | D::UInt16
        | D::UInt32
        | D::UInt64
        | D::Float32
        | D::Float64
        | D::Decimal32(..)
        | D::Decimal64(..)
        | D::Decimal128(..)
        | D::Decimal256(..)
        | D::Date32
        | D::Date64
        | D::Time32(TimeUnit::Second | TimeUnit::Millisecond)
        | D::Time64(TimeUnit::Microsecond | TimeUnit::Nanosecond)
        | D::Duration(_)
        | D::Timestamp(..) => true,
        _ => false,
    }
}

impl TextEncoder {
    /// Checks that every field of `schema` can be written in its column's form; an error names
    /// the column and its Arrow type.
    pub fn try_new(schema: &SchemaRef, columns: Vec<ColumnText>) -> Result<TextEncoder> {
        if schema.fields().len() != columns.len() {
            return Err(Error::internal(format!(
                "{} columns given for a schema of {} fields",
                columns.len(),
                schema.fields().len()
            )));
        }
        for (f, c) in schema.fields().iter().zip(&columns) {
            if !supported(f.data_type(), c.form) {
                return Err(unsupported(c, f.data_type()));
            }
        }
        Ok(TextEncoder {
            columns,
            nullable: schema.fields().iter().map(|f| f.is_nullable()).collect(),
            float_loss: FloatLoss::default(),
            lossy: LossyCounter::default(),
            members: Vec::new(),
        })
    }

    /// The members of each column that is an `enum` or a `set` (`None` for the others): a
    /// value that is not exactly a member (an enum) or members in their declared order (a
    /// set) is refused, since the server reads some such text as another value without a
    /// warning.
    pub fn with_members(mut self, members: Vec<Option<Members>>) -> Self {
        self.members = members;
        self
    }

    /// What a float MySQL cannot hold becomes: an error (the default), or 0 for -0 and NULL for
    /// NaN and ±inf, counted in [`TextEncoder::lossy`].
    pub fn with_float_loss(mut self, float_loss: FloatLoss) -> Self {
        self.float_loss = float_loss;
        self
    }

    /// The values replaced so far, by column, by this encoder and its clones.
    pub fn lossy(&self) -> LossyCounts {
        self.lossy.counts()
    }

    /// Appends the rows of `batch` to `out`, one line per row.
    pub fn encode(&self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<()> {
        if batch.num_columns() != self.columns.len() {
            return Err(Error::internal(format!(
                "a batch of {} columns for an encoder of {}",
                batch.num_columns(),
                self.columns.len()
            )));
        }
        let n = batch.num_rows();
        if n == 0 {
            return Ok(());
        }
        let arrays = batch
            .columns()
            .iter()
            .zip(&self.columns)
            .map(|(a, c)| unpack_dictionary(c, a))
            .collect::<Result<Vec<_>>>()?;
        for ((a, c), m) in arrays.iter().zip(&self.columns).zip(&self.members) {
            if let Some(m) = m {
                m.check(c, a)?;
            }
        }
        let fields = arrays
            .iter()
            .zip(&self.columns)
            .zip(&self.nullable)
            .map(|((a, c), &nullable)| {
                let floats = Floats {
                    loss: self.float_loss,
                    nullable,
                };
                let mut replaced = 0;
                let fields = encode_column(c, a.as_ref(), floats, &mut replaced)?;
                self.lossy.add(&c.name, replaced);
                Ok(fields)
            })
            .collect::<Result<Vec<_>>>()?;
        interleave(&fields, n, out);
        Ok(())
    }
}

/// The members of a target `enum` or `set` column. The server reads text that is no member but
/// looks like a number as a member's index (`3` into `enum('1','2','10')` is `'10'`) or a
/// set's bits (`3` into `set('a','b')` is `'a,b'`), without a warning; and it stores a set's
/// members in their declared order, each once. So only a member (an enum) or members in their
/// declared order (a set, `''` for none) are written, as text or integers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members {
    set: bool,
    members: Vec<String>,
}

impl Members {
    /// The members of an `enum(...)` or `set(...)` declaration as MySQL spells it
    /// (`COLUMN_TYPE`: quotes doubled, backslashes escaped), or `None` for another type. The
    /// server drops a member's trailing spaces, and so does this.
    pub fn of_declared(declared: &str) -> Option<Members> {
        let d = declared.trim();
        let open = d.find('(')?;
        let set = match d[..open].trim().to_ascii_lowercase().as_str() {
            "enum" => false,
            "set" => true,
            _ => return None,
        };
        let mut members = Vec::new();
        let mut chars = d[open + 1..].chars().peekable();
        loop {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            if chars.next()? != '\'' {
                return None;
            }
            let mut m = String::new();
            loop {
                match chars.next()? {
                    '\'' if chars.peek() == Some(&'\'') => {
                        chars.next();
                        m.push('\'');
                    }
                    '\'' => break,
                    '\\' => match chars.next()? {
                        'n' => m.push('\n'),
                        't' => m.push('\t'),
                        'r' => m.push('\r'),
                        '0' => m.push('\0'),
                        'b' => m.push('\u{8}'),
                        'Z' => m.push('\u{1a}'),
                        c @ ('%' | '_') => {
                            m.push('\\');
                            m.push(c);
                        }
                        c => m.push(c),
                    },
                    c => m.push(c),
                }
            }
            members.push(m.trim_end_matches(' ').to_string());
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            match chars.next()? {
                ',' => {}
                ')' => break,
                _ => return None,
            }
        }
        Some(Members { set, members })
    }

    /// The declaration, for messages.
    fn declaration(&self) -> String {
        let quoted: Vec<String> = self
            .members
            .iter()
            .map(|m| format!("'{}'", m.replace('\'', "''")))
            .collect();
        format!(
            "{}({})",
            if self.set { "set" } else { "enum" },
            quoted.join(",")
        )
    }

    /// Why `text` would not be stored as it is, if it would not.
    fn refusal(&self, text: &str) -> Option<String> {
        let position = |m: &str| self.members.iter().position(|x| x == m);
        let number = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        let declared = self.declaration();
        if !self.set {
            return match position(text) {
                Some(_) => None,
                None if text.is_empty() => Some(format!(
                    "'' is not a member of {declared}: it is how MySQL reads an enum's error \
                     value (index 0, stored for an invalid value outside strict mode), which a \
                     strict load cannot store"
                )),
                None if number => Some(format!(
                    "'{text}' is not a member of {declared}, and the server would read it as \
                     the index of another member"
                )),
                None => Some(format!("'{text}' is not a member of {declared}")),
            };
        }
        if text.is_empty() {
            return None;
        }
        let mut last = None;
        for part in text.split(',') {
            match position(part) {
                Some(p) if last.is_none_or(|l| p > l) => last = Some(p),
                Some(_) => {
                    let mut parts: Vec<&str> = text.split(',').collect();
                    parts.sort_by_key(|p| position(p));
                    parts.dedup();
                    return Some(format!(
                        "'{text}' would be stored as '{}' in {declared} (a set's members in \
                         their declared order, each once)",
                        parts.join(",")
                    ));
                }
                None if number => {
                    return Some(format!(
                        "'{text}' is not a member of {declared}, and the server would read it \
                         as the bits of a set of members"
                    ))
                }
                None => return Some(format!("'{part}' is not a member of {declared}")),
            }
        }
        None
    }

    /// Checks every value of a column (never a dictionary) against the members.
    fn check(&self, c: &ColumnText, a: &ArrayRef) -> Result<()> {
        use DataType as D;
        let text = match a.data_type() {
            D::Null => return Ok(()),
            D::Utf8 | D::LargeUtf8 | D::Utf8View => a.clone(),
            D::Int8
            | D::Int16
            | D::Int32
            | D::Int64
            | D::UInt8
            | D::UInt16
            | D::UInt32
            | D::UInt64 => cast_with_options(a, &D::Utf8, &CastOptions::default())
                .map_err(|e| Error::arrow(format!("column \"{}\"", c.name), e))?,
            t => {
                return Err(Error::unsupported(format!(
                    "column \"{}\": Arrow type {t} cannot be loaded into MySQL {}: it takes \
                     its members' text",
                    c.name,
                    self.declaration()
                )))
            }
        };
        let text = cast_with_options(&text, &D::Utf8, &CastOptions::default())
            .map_err(|e| Error::arrow(format!("column \"{}\"", c.name), e))?;
        let text = text.as_string::<i32>();
        for i in 0..text.len() {
            if text.is_valid(i) {
                if let Some(why) = self.refusal(text.value(i)) {
                    return Err(Error::invalid_data(format!(
                        "column \"{}\", row {}: {why}",
                        c.name,
                        i + 1
                    )));
                }
            }
        }
        Ok(())
    }
}

fn unsupported(c: &ColumnText, t: &DataType) -> Error {
    let how = match c.form {
        TextForm::Hex => " as hex",
        _ => "",
    };
    Error::unsupported(format!(
        "column \"{}\": Arrow type {t} cannot be loaded into MySQL{how}",
        c.name
    ))
}

/// A dictionary column as its values; any other column as it is.
fn unpack_dictionary(c: &ColumnText, a: &ArrayRef) -> Result<ArrayRef> {
    let DataType::Dictionary(_, v) = a.data_type() else {
        return Ok(a.clone());
    };
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(a, v, &options).map_err(|e| {
        Error::arrow(
            format!("column \"{}\": {} to {v}", c.name, a.data_type()),
            e,
        )
    })
}

/// One column's fields: row `i` is `bytes[offsets[i]..offsets[i + 1]]`, escaped and ready.
struct Fields<'a> {
    bytes: Cow<'a, [u8]>,
    offsets: Vec<usize>,
}

/// Writes the columns' fields row by row: a tab between fields, a newline after each row.
fn interleave(fields: &[Fields<'_>], n: usize, out: &mut Vec<u8>) {
    let bytes: usize = fields.iter().map(|f| f.bytes.len()).sum();
    out.reserve(bytes + n * fields.len().max(1));
    for i in 0..n {
        for (j, f) in fields.iter().enumerate() {
            if j > 0 {
                out.push(b'\t');
            }
            out.extend_from_slice(&f.bytes[f.offsets[i]..f.offsets[i + 1]]);
        }
        out.push(b'\n');
    }
}

/// Builds a column's fields in a buffer of its own.
struct Builder {
    bytes: Vec<u8>,
    offsets: Vec<usize>,
}

impl Builder {
    /// A builder for `rows` fields of about `width` bytes each.
    fn new(rows: usize, width: usize) -> Builder {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Builder {
            bytes: Vec::with_capacity(rows * width),
            offsets,
        }
    }

    #[inline]
    fn end_row(&mut self) {
        self.offsets.push(self.bytes.len());
    }

    #[inline]
    fn null(&mut self) {
        self.bytes.extend_from_slice(NULL);
        self.end_row();
    }

    fn finish(self) -> Fields<'static> {
        Fields {
            bytes: Cow::Owned(self.bytes),
            offsets: self.offsets,
        }
    }
}

/// A failure at a row (0-based) of the column being encoded.
type RowError = (usize, String);

/// Encodes one column (never a dictionary: see [`unpack_dictionary`]); floats MySQL cannot hold
/// are refused or, as `floats` says, replaced and counted in `replaced`.
fn encode_column<'a>(
    c: &ColumnText,
    a: &'a dyn Array,
    floats: Floats,
    replaced: &mut u64,
) -> Result<Fields<'a>> {
    use DataType as D;
    let form = c.form;
    let r = match a.data_type() {
        D::Null => {
            let mut b = Builder::new(a.len(), NULL.len());
            (0..a.len()).for_each(|_| b.null());
            Ok(b.finish())
        }
        D::Utf8 if form == TextForm::Year => {
            let arr = a.as_string::<i32>();
            encode_text_years(arr.len(), arr.nulls(), |i| arr.value(i).as_bytes())
        }
        D::LargeUtf8 if form == TextForm::Year => {
            let arr = a.as_string::<i64>();
            encode_text_years(arr.len(), arr.nulls(), |i| arr.value(i).as_bytes())
        }
        D::Utf8View if form == TextForm::Year => {
            let arr = a.as_string_view();
            encode_text_years(arr.len(), arr.nulls(), |i| arr.value(i).as_bytes())
        }
        D::Utf8 => Ok(encode_offsets(a.as_bytes::<Utf8Type>(), form)),
        D::LargeUtf8 => Ok(encode_offsets(a.as_bytes::<LargeUtf8Type>(), form)),
        D::Binary => Ok(encode_offsets(a.as_bytes::<BinaryType>(), form)),
        D::LargeBinary => Ok(encode_offsets(a.as_bytes::<LargeBinaryType>(), form)),
        D::Utf8View => {
            let arr = a.as_string_view();
            Ok(encode_bytes(arr.len(), arr.nulls(), form, 16, |i| {
                arr.value(i).as_bytes()
            }))
        }
        D::BinaryView => {
            let arr = a.as_binary_view();
            Ok(encode_bytes(arr.len(), arr.nulls(), form, 16, |i| {
                arr.value(i)
            }))
        }
        D::FixedSizeBinary(_) => {
            let arr = a.as_fixed_size_binary();
            let width = 2 * arr.value_length() as usize + 2;
            Ok(encode_bytes(arr.len(), arr.nulls(), form, width, |i| {
                arr.value(i)
            }))
        }
        t if form == TextForm::Hex => return Err(unsupported(c, t)),
        D::Boolean => {
            let arr = a.as_boolean();
            let mut b = Builder::new(arr.len(), 1);
            for i in 0..arr.len() {
                if arr.is_null(i) {
                    b.null();
                } else {
                    b.bytes.push(if arr.value(i) { b'1' } else { b'0' });
                    b.end_row();
                }
            }
            Ok(b.finish())
        }
        D::Int8 => encode_integers::<Int8Type>(a, 4, form),
        D::Int16 => encode_integers::<Int16Type>(a, 6, form),
        D::Int32 => encode_integers::<Int32Type>(a, 11, form),
        D::Int64 => encode_integers::<Int64Type>(a, 20, form),
        D::UInt8 => encode_integers::<UInt8Type>(a, 3, form),
        D::UInt16 => encode_integers::<UInt16Type>(a, 5, form),
        D::UInt32 => encode_integers::<UInt32Type>(a, 10, form),
        D::UInt64 => encode_integers::<UInt64Type>(a, 20, form),
        D::Float32 => {
            let mut buf = ryu::Buffer::new();
            encode_primitive::<Float32Type>(a, 24, |v, out| {
                if put_replaced(check_float(f64::from(v), &v, form, floats)?, out) {
                    *replaced += 1;
                    return Ok(());
                }
                // Widened to f64: its shortest digits parse back to that f64, which is this
                // f32 exactly. The f32's own shortest digits name a decimal the server parses
                // as a double first: for the largest floats (3.4028235e38) a double past
                // FLT_MAX, which it refuses as out of range.
                out.extend_from_slice(buf.format_finite(f64::from(v)).as_bytes());
                Ok(())
            })
        }
        D::Float64 => {
            let mut buf = ryu::Buffer::new();
            encode_primitive::<Float64Type>(a, 24, |v, out| {
                if put_replaced(check_float(v, &v, form, floats)?, out) {
                    *replaced += 1;
                    return Ok(());
                }
                if form == TextForm::Single && f64::from(v as f32) != v {
                    return Err(format!(
                        "{v} is not exactly a single-precision float: the server would round \
                         it into the FLOAT column without a warning"
                    ));
                }
                out.extend_from_slice(buf.format_finite(v).as_bytes());
                Ok(())
            })
        }
        D::Decimal32(p, s) => encode_decimals::<Decimal32Type>(a, *p, *s, form),
        D::Decimal64(p, s) => encode_decimals::<Decimal64Type>(a, *p, *s, form),
        D::Decimal128(p, s) => encode_decimals::<Decimal128Type>(a, *p, *s, form),
        D::Decimal256(p, s) => {
            let mut buf = itoa::Buffer::new();
            encode_primitive::<Decimal256Type>(a, usize::from(*p) + 2, |v, out| {
                let at = out.len();
                match v.to_i128() {
                    Some(v) => put_decimal(v, *s, &mut buf, out),
                    None => {
                        let text = v.to_string();
                        let (negative, digits) = match text.strip_prefix('-') {
                            Some(d) => (true, d),
                            None => (false, text.as_str()),
                        };
                        put_scaled(negative, digits.as_bytes(), *s, out);
                    }
                }
                check_whole_decimal(&out[at..], form)
            })
        }
        D::Date32 => encode_primitive::<Date32Type>(a, 10, |d, out| put_date(i64::from(d), out)),
        D::Date64 => encode_primitive::<Date64Type>(a, 10, |ms, out| {
            if ms % 86_400_000 != 0 {
                return Err(format!(
                    "{} is not a whole day",
                    temporal::shown_timestamp(ms, 1_000, false)
                ));
            }
            put_date(ms / 86_400_000, out)
        }),
        D::Time32(TimeUnit::Second) => encode_times::<Time32SecondType, 1>(a, form),
        D::Time32(TimeUnit::Millisecond) => encode_times::<Time32MillisecondType, 1_000>(a, form),
        D::Time64(TimeUnit::Microsecond) => {
            encode_times::<Time64MicrosecondType, 1_000_000>(a, form)
        }
        D::Time64(TimeUnit::Nanosecond) => {
            encode_times::<Time64NanosecondType, 1_000_000_000>(a, form)
        }
        D::Duration(TimeUnit::Second) => encode_times::<DurationSecondType, 1>(a, form),
        D::Duration(TimeUnit::Millisecond) => {
            encode_times::<DurationMillisecondType, 1_000>(a, form)
        }
        D::Duration(TimeUnit::Microsecond) => {
            encode_times::<DurationMicrosecondType, 1_000_000>(a, form)
        }
        D::Duration(TimeUnit::Nanosecond) => {
            encode_times::<DurationNanosecondType, 1_000_000_000>(a, form)
        }
        // The instant of a zoned timestamp is written as UTC: the sink sets the session's
        // time_zone to '+00:00'.
        D::Timestamp(TimeUnit::Second, _) => {
            encode_primitive::<TimestampSecondType>(a, 19, |v, out| {
                put_timestamp::<1>(v, form, out)
            })
        }
        D::Timestamp(TimeUnit::Millisecond, _) => {
            encode_primitive::<TimestampMillisecondType>(a, 26, |v, out| {
                put_timestamp::<1_000>(v, form, out)
            })
        }
        D::Timestamp(TimeUnit::Microsecond, _) => {
            encode_primitive::<TimestampMicrosecondType>(a, 26, |v, out| {
                put_timestamp::<1_000_000>(v, form, out)
            })
        }
        D::Timestamp(TimeUnit::Nanosecond, _) => {
            encode_primitive::<TimestampNanosecondType>(a, 26, |v, out| {
                put_timestamp::<1_000_000_000>(v, form, out)
            })
        }
        t => return Err(unsupported(c, t)),
    };
    r.map_err(|(row, e)| {
        Error::invalid_data(format!("column \"{}\", row {}: {e}", c.name, row + 1))
    })
}

/// Encodes a primitive column with `put`, with a fast path when it has no NULLs. `width` is
/// a guess of a value's length, to allocate once.
fn encode_primitive<T: ArrowPrimitiveType>(
    a: &dyn Array,
    width: usize,
    mut put: impl FnMut(T::Native, &mut Vec<u8>) -> std::result::Result<(), String>,
) -> std::result::Result<Fields<'static>, RowError> {
    let arr = a.as_primitive::<T>();
    let mut b = Builder::new(arr.len(), width);
    match arr.nulls().filter(|n| n.null_count() > 0) {
        None => {
            for (i, v) in arr.values().iter().enumerate() {
                put(*v, &mut b.bytes).map_err(|e| (i, e))?;
                b.end_row();
            }
        }
        Some(nulls) => {
            for (i, v) in arr.values().iter().enumerate() {
                if nulls.is_valid(i) {
                    put(*v, &mut b.bytes).map_err(|e| (i, e))?;
                    b.end_row();
                } else {
                    b.null();
                }
            }
        }
    }
    Ok(b.finish())
}

fn encode_integers<T: ArrowPrimitiveType>(
    a: &dyn Array,
    width: usize,
    form: TextForm,
) -> std::result::Result<Fields<'static>, RowError>
where
    T::Native: itoa::Integer,
{
    let mut buf = itoa::Buffer::new();
    if form == TextForm::Year {
        return encode_primitive::<T>(a, 4, |v, out| match v.to_i64() {
            Some(y) => put_year(y, out),
            None => Err(not_a_year(buf.format(v))),
        });
    }
    encode_primitive::<T>(a, width, |v, out| {
        out.extend_from_slice(buf.format(v).as_bytes());
        Ok(())
    })
}

/// Appends a year as the server reads it back: 0 as `0000` (the text `0` is 2000), 1901 to
/// 2155 as they are. Any other number is refused: the server reads 1 to 99 as two-digit years
/// and refuses the rest.
fn put_year(y: i64, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    match y {
        0 => out.extend_from_slice(b"0000"),
        1901..=2155 => out.extend_from_slice(itoa::Buffer::new().format(y).as_bytes()),
        _ => return Err(not_a_year(y)),
    }
    Ok(())
}

#[cold]
fn not_a_year(y: impl std::fmt::Display) -> String {
    format!(
        "{y} is not a MySQL YEAR (0, or 1901 to 2155; the server reads 1 to 99 as the years \
         2001 to 2069 and 1970 to 1999)"
    )
}

/// Text for a `YEAR` column: text that is an integer is written as that year ([`put_year`]),
/// other text as it is (the server warns about it).
fn encode_text_years<'v>(
    n: usize,
    nulls: Option<&NullBuffer>,
    value: impl Fn(usize) -> &'v [u8],
) -> std::result::Result<Fields<'static>, RowError> {
    let mut b = Builder::new(n, 4);
    let nulls = nulls.filter(|n| n.null_count() > 0);
    for i in 0..n {
        if nulls.is_some_and(|n| n.is_null(i)) {
            b.null();
            continue;
        }
        let v = value(i);
        match std::str::from_utf8(v)
            .ok()
            .and_then(|t| t.parse::<i64>().ok())
        {
            Some(y) => put_year(y, &mut b.bytes).map_err(|e| (i, e))?,
            None => put_escaped(v, &mut b.bytes),
        }
        b.end_row();
    }
    Ok(b.finish())
}

/// Refuses a float MySQL cannot hold (NaN, the infinities, -0: its FLOAT and DOUBLE keep 0
/// without the sign) unless `floats` asks to replace it (-0 by 0; NaN and ±inf by NULL, where
/// the column may be NULL), or, for an integer column, one that is not whole. `shown` is the
/// value as its own type prints it.
fn check_float(
    v: f64,
    shown: &dyn std::fmt::Display,
    form: TextForm,
    floats: Floats,
) -> std::result::Result<Float, String> {
    if !v.is_finite() {
        return match (floats.loss, floats.nullable) {
            (FloatLoss::Error, _) => Err(format!(
                "{shown} cannot be stored in MySQL; --float-loss replace writes it as NULL \
                 (counted in the report)"
            )),
            (FloatLoss::Replace, false) => Err(format!(
                "{shown} cannot be stored in MySQL, and the column is NOT NULL, so --float-loss \
                 replace cannot write it as NULL"
            )),
            (FloatLoss::Replace, true) => Ok(Float::Null),
        };
    }
    if v == 0.0 && v.is_sign_negative() {
        return match floats.loss {
            FloatLoss::Error => Err(format!(
                "{shown} cannot be stored in MySQL: its FLOAT and DOUBLE columns keep -0 as 0; \
                 --float-loss replace writes it as 0 (counted in the report)"
            )),
            FloatLoss::Replace => Ok(Float::Zero),
        };
    }
    if form == TextForm::Whole && v.fract() != 0.0 {
        return Err(not_whole(shown));
    }
    Ok(Float::Keep)
}

/// Writes a replaced float (`0`, or NULL) and says so; a kept one is the caller's to write.
fn put_replaced(f: Float, out: &mut Vec<u8>) -> bool {
    match f {
        Float::Keep => return false,
        Float::Zero => out.push(b'0'),
        Float::Null => out.extend_from_slice(NULL),
    }
    true
}

#[cold]
fn not_whole(v: &dyn std::fmt::Display) -> String {
    format!(
        "{v} is not a whole number: the server would round it into the integer column without \
         a warning"
    )
}

/// For an integer column, refuses decimal text with a fraction other than zeros.
fn check_whole_decimal(text: &[u8], form: TextForm) -> std::result::Result<(), String> {
    if form != TextForm::Whole {
        return Ok(());
    }
    match text.iter().position(|&b| b == b'.') {
        Some(dot) if text[dot + 1..].iter().any(|&b| b != b'0') => {
            Err(not_whole(&String::from_utf8_lossy(text)))
        }
        _ => Ok(()),
    }
}

fn encode_decimals<T: ArrowPrimitiveType>(
    a: &dyn Array,
    precision: u8,
    scale: i8,
    form: TextForm,
) -> std::result::Result<Fields<'static>, RowError>
where
    T::Native: Into<i128>,
{
    let mut buf = itoa::Buffer::new();
    encode_primitive::<T>(a, usize::from(precision) + 2, |v, out| {
        let at = out.len();
        put_decimal(v.into(), scale, &mut buf, out);
        check_whole_decimal(&out[at..], form)
    })
}

/// Encodes times of day and durations, in units of `1/PER_SEC` second, as MySQL `TIME`.
fn encode_times<T: ArrowPrimitiveType, const PER_SEC: i64>(
    a: &dyn Array,
    form: TextForm,
) -> std::result::Result<Fields<'static>, RowError>
where
    T::Native: Into<i64>,
{
    encode_primitive::<T>(a, 16, |v, out| {
        let v: i64 = v.into();
        let micros = to_micros::<PER_SEC>(v).map_err(|e| {
            let nanos = i128::from(v) * i128::from(1_000_000_000 / PER_SEC);
            format!("{} {e}", temporal::format_duration(nanos))
        })?;
        let at = out.len();
        put_time(micros, out)?;
        check_fraction((micros.unsigned_abs() % 1_000_000) as u32, &out[at..], form)
    })
}

/// For a column keeping fewer than 6 fractional-second digits, refuses a value (written as
/// `text`) with more: the server cuts them without a warning.
fn check_fraction(micros: u32, text: &[u8], form: TextForm) -> std::result::Result<(), String> {
    let TextForm::Fraction(digits) = form else {
        return Ok(());
    };
    if micros.is_multiple_of(10u32.pow(6 - u32::from(digits.min(6)))) {
        return Ok(());
    }
    Err(format!(
        "{} has more fractional-second digits than the column keeps ({digits}): the server \
         would cut them without a warning",
        String::from_utf8_lossy(text)
    ))
}

/// Encodes a column of Arrow's offsets + values layout. In plain form, the values buffer is
/// scanned once for bytes to escape (a scan per value would be too short to vectorise); if it
/// has none, fields are copied as they are, or, when no row is NULL, not copied at all: they
/// are the Arrow values themselves.
fn encode_offsets<T: ByteArrayType>(arr: &GenericByteArray<T>, form: TextForm) -> Fields<'_> {
    let (offsets, values) = (arr.value_offsets(), arr.value_data());
    let n = arr.len();
    let start = offsets[0].as_usize();
    let data = &values[start..offsets[n].as_usize()];
    let value = |i: usize| &values[offsets[i].as_usize()..offsets[i + 1].as_usize()];
    // Forms other than hex check numbers and times: bytes are written as plain text.
    let hex = form == TextForm::Hex;
    let width = match hex {
        false => data.len() / n.max(1) + 2,
        true => 2 * data.len() / n.max(1) + 2,
    };
    match hex {
        false if !needs_escape(data) => {
            if arr.null_count() == 0 {
                return Fields {
                    bytes: Cow::Borrowed(data),
                    offsets: offsets.iter().map(|o| o.as_usize() - start).collect(),
                };
            }
            encode_values(n, arr.nulls(), width, value, |v, out| {
                out.extend_from_slice(v)
            })
        }
        _ => encode_bytes(n, arr.nulls(), form, width, value),
    }
}

/// Encodes `n` byte values read by `value`, escaped or as hex, in fields of about `width`
/// bytes.
fn encode_bytes<'v>(
    n: usize,
    nulls: Option<&NullBuffer>,
    form: TextForm,
    width: usize,
    value: impl Fn(usize) -> &'v [u8],
) -> Fields<'static> {
    match form {
        TextForm::Hex => encode_values(n, nulls, width, value, put_hex),
        _ => encode_values(n, nulls, width, value, put_escaped),
    }
}

/// Encodes `n` byte values read by `value`, each written by `put`.
fn encode_values<'v>(
    n: usize,
    nulls: Option<&NullBuffer>,
    width: usize,
    value: impl Fn(usize) -> &'v [u8],
    put: impl Fn(&[u8], &mut Vec<u8>),
) -> Fields<'static> {
    let mut b = Builder::new(n, width);
    let nulls = nulls.filter(|n| n.null_count() > 0);
    for i in 0..n {
        if nulls.is_some_and(|n| n.is_null(i)) {
            b.null();
        } else {
            put(value(i), &mut b.bytes);
            b.end_row();
        }
    }
    b.finish()
}

/// The letter after `\` that stands for each byte that must be escaped, or 0.
const ESCAPES: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'\\' as usize] = b'\\';
    t[b'\t' as usize] = b't';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[0] = b'0';
    t
};

/// Whether any byte of `v` needs escaping. The test is branch-free and ORs bytes over
/// fixed-size chunks, a shape the compiler vectorises (a `bool` accumulator or one `any` over
/// the slice stays a byte-at-a-time loop, 2 to 3 times slower), stopping at the first chunk
/// with a hit.
fn needs_escape(v: &[u8]) -> bool {
    #[inline(always)]
    fn special(b: u8) -> u8 {
        ((b == b'\\') | (b == b'\t') | (b == b'\n') | (b == b'\r') | (b == 0)) as u8
    }
    let chunks = v.chunks_exact(32);
    let rest = chunks.remainder();
    for chunk in chunks {
        if chunk.iter().fold(0, |hit, &b| hit | special(b)) != 0 {
            return true;
        }
    }
    rest.iter().any(|&b| special(b) != 0)
}

/// Appends `v` with `\`, TAB, LF, CR and NUL escaped. A lone `\N` thus comes out as `\\N`,
/// the text, not NULL.
fn put_escaped(v: &[u8], out: &mut Vec<u8>) {
    if !needs_escape(v) {
        out.extend_from_slice(v);
        return;
    }
    let mut from = 0;
    for (i, &b) in v.iter().enumerate() {
        let e = ESCAPES[b as usize];
        if e != 0 {
            out.extend_from_slice(&v[from..i]);
            out.extend_from_slice(&[b'\\', e]);
            from = i + 1;
        }
    }
    out.extend_from_slice(&v[from..]);
}

fn put_hex(v: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let at = out.len();
    out.resize(at + 2 * v.len(), 0);
    for (pair, &b) in out[at..].chunks_exact_mut(2).zip(v) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0xf)];
    }
}

/// Appends the decimal text of `v` scaled by `10^-scale`.
fn put_decimal(v: i128, scale: i8, buf: &mut itoa::Buffer, out: &mut Vec<u8>) {
    let abs = v.unsigned_abs();
    // 64-bit division is several times faster than 128-bit, and most values fit.
    let digits = match u64::try_from(abs) {
        Ok(abs) => buf.format(abs),
        Err(_) => buf.format(abs),
    };
    put_scaled(v < 0, digits.as_bytes(), scale, out);
}

/// Appends `digits` (of a magnitude, no sign) with the point placed `scale` digits from the
/// right: `-12.30`, `0.05`, and for a negative scale, zeros appended (`1200`).
fn put_scaled(negative: bool, digits: &[u8], scale: i8, out: &mut Vec<u8>) {
    if negative {
        out.push(b'-');
    }
    if scale <= 0 {
        out.extend_from_slice(digits);
        if digits != b"0" {
            out.resize(out.len() + usize::from(scale.unsigned_abs()), b'0');
        }
        return;
    }
    let scale = usize::from(scale.unsigned_abs());
    if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(int);
        out.push(b'.');
        out.extend_from_slice(frac);
    } else {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + scale - digits.len(), b'0');
        out.extend_from_slice(digits);
    }
}

/// Days since 1970-01-01 -> (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`, <https://howardhinnant.github.io/date_algorithms.html>).
/// Past the era, the arithmetic is on u32, which is faster than on i64.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        i64::from(yoe) + era * 400 + i64::from(month <= 2),
        month,
        day,
    )
}

#[inline]
fn two_digits(v: u32) -> [u8; 2] {
    [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]
}

/// Appends `YYYY-MM-DD` for a day in MySQL's years 0 to 9999.
fn put_date(days: i64, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    if !(MIN_DAYS..=MAX_DAYS).contains(&days) {
        return Err(out_of_range("date", &temporal::shown_date(days)));
    }
    put_ymd(days, out);
    Ok(())
}

/// Appends `YYYY-MM-DD` for a day between [`MIN_DAYS`] and [`MAX_DAYS`].
#[inline]
fn put_ymd(days: i64, out: &mut Vec<u8>) {
    let (y, m, d) = civil_from_days(days);
    let y = y as u32;
    let [y1, y2] = two_digits(y / 100);
    let [y3, y4] = two_digits(y % 100);
    let [m1, m2] = two_digits(m);
    let [d1, d2] = two_digits(d);
    out.extend_from_slice(&[y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2]);
}

#[cold]
fn out_of_range(what: &str, shown: &str) -> String {
    format!(
        "{what} {shown} is out of MySQL's range (0001-01-01 BC, MySQL's year 0000, to \
         9999-12-31)"
    )
}

/// Appends `HH:MM:SS` for a second of the day, and `.ffffff` if `micros` is not 0.
fn put_clock(seconds: u64, micros: u32, out: &mut Vec<u8>) {
    let [m1, m2] = two_digits((seconds / 60 % 60) as u32);
    let [s1, s2] = two_digits((seconds % 60) as u32);
    out.extend_from_slice(&[b':', m1, m2, b':', s1, s2]);
    if micros != 0 {
        let [a, b] = two_digits(micros / 10_000);
        let [c, d] = two_digits(micros / 100 % 100);
        let [e, f] = two_digits(micros % 100);
        out.extend_from_slice(&[b'.', a, b, c, d, e, f]);
    }
}

/// Appends `YYYY-MM-DD HH:MM:SS[.ffffff]` for `v` in units of `1/PER_SEC` second since
/// 1970-01-01 00:00:00.
///
/// `form` checks what the column keeps: fractional digits ([`TextForm::Fraction`]), or no time
/// of day ([`TextForm::Day`]).
fn put_timestamp<const PER_SEC: i64>(
    v: i64,
    form: TextForm,
    out: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    let seconds = v.div_euclid(PER_SEC);
    let shown = || temporal::shown_timestamp(v, PER_SEC, false);
    let micros =
        to_micros::<PER_SEC>(v.rem_euclid(PER_SEC)).map_err(|e| format!("{} {e}", shown()))? as u32;
    let days = seconds.div_euclid(86_400);
    if !(MIN_DAYS..=MAX_DAYS).contains(&days) {
        return Err(out_of_range("timestamp", &shown()));
    }
    let at = out.len();
    put_ymd(days, out);
    let second = seconds.rem_euclid(86_400) as u64;
    out.push(b' ');
    out.extend_from_slice(&two_digits((second / 3600) as u32));
    put_clock(second, micros, out);
    if form == TextForm::Day && (second != 0 || micros != 0) {
        return Err(format!(
            "{} is not at midnight: the date column would drop its time of day",
            String::from_utf8_lossy(&out[at..])
        ));
    }
    check_fraction(micros, &out[at..], form)
}

/// `v` in units of `1/PER_SEC` second, as microseconds (wider than i64 for seconds near its
/// ends, which are out of MySQL's range anyway).
#[inline]
fn to_micros<const PER_SEC: i64>(v: i64) -> std::result::Result<i128, String> {
    if PER_SEC > 1_000_000 {
        if v % (PER_SEC / 1_000_000) != 0 {
            return Err(NANOS_MESSAGE.into());
        }
        Ok(i128::from(v / (PER_SEC / 1_000_000)))
    } else {
        Ok(i128::from(v) * i128::from(1_000_000 / PER_SEC))
    }
}

/// Appends MySQL `TIME` text, `[-]HH:MM:SS[.ffffff]`, hours past 24 as they are (a duration).
fn put_time(micros: i128, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    let abs = micros.unsigned_abs();
    if abs > TIME_MAX_MICROS as u128 {
        let sign = if micros < 0 { "-" } else { "" };
        let seconds = abs / 1_000_000;
        let mut text = format!("{sign}{:02}", seconds / 3600).into_bytes();
        put_clock((seconds % 3600) as u64, (abs % 1_000_000) as u32, &mut text);
        return Err(format!(
            "{} is out of MySQL's TIME range (-838:59:59 to 838:59:59)",
            String::from_utf8_lossy(&text)
        ));
    }
    if micros < 0 {
        out.push(b'-');
    }
    let (seconds, micros) = ((abs / 1_000_000) as u64, (abs % 1_000_000) as u32);
    let hours = (seconds / 3600) as u32;
    if hours < 100 {
        out.extend_from_slice(&two_digits(hours));
    } else {
        out.extend_from_slice(itoa::Buffer::new().format(hours).as_bytes());
    }
    put_clock(seconds, micros, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::error::ErrorKind;
    use crate::types::decimal;

    use TextForm::{Hex, Plain};

    fn batch(columns: &[(&str, ArrayRef)]) -> RecordBatch {
        RecordBatch::try_from_iter_with_nullable(columns.iter().map(|(n, a)| (*n, a.clone(), true)))
            .unwrap()
    }

    fn encoder(batch: &RecordBatch, forms: &[TextForm]) -> Result<TextEncoder> {
        let columns = batch
            .schema()
            .fields()
            .iter()
            .zip(forms)
            .map(|(f, form)| ColumnText {
                name: f.name().clone(),
                form: *form,
            })
            .collect();
        TextEncoder::try_new(&batch.schema(), columns)
    }

    /// The stream of `batch`, column `i` written in `forms[i]`.
    fn encode(batch: &RecordBatch, forms: &[TextForm]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        encoder(batch, forms)?.encode(batch, &mut out)?;
        Ok(out)
    }

    /// The lines of column "x" holding `a`, in `form`.
    fn lines_in(a: ArrayRef, form: TextForm) -> Vec<Vec<u8>> {
        let out = encode(&batch(&[("x", a)]), &[form]).unwrap();
        assert_eq!(out.last(), Some(&b'\n'));
        out[..out.len() - 1]
            .split(|b| *b == b'\n')
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// The lines of column "x" holding `a`, plain, as text.
    fn lines(a: ArrayRef) -> Vec<String> {
        lines_in(a, Plain)
            .into_iter()
            .map(|l| String::from_utf8(l).unwrap())
            .collect()
    }

    /// The message of encoding column "x" holding `a`, plain.
    fn error(a: ArrayRef) -> String {
        encode(&batch(&[("x", a)]), &[Plain])
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn nulls_in_every_type() {
        let dec128 = Decimal128Array::from(vec![Some(12345), None])
            .with_precision_and_scale(10, 2)
            .unwrap();
        let dec256 = Decimal256Array::from(vec![Some(i256::ONE), None])
            .with_precision_and_scale(40, 3)
            .unwrap();
        let fixed = FixedSizeBinaryArray::try_from_sparse_iter_with_size(
            vec![Some([1u8, 2]), None].into_iter(),
            2,
        )
        .unwrap();
        let dict: DictionaryArray<Int8Type> = vec![Some("k"), None].into_iter().collect();
        let ts = TimestampMicrosecondArray::from(vec![Some(0), None]).with_timezone("+02:00");
        let columns: Vec<(&str, ArrayRef, TextForm)> = vec![
            (
                "bool",
                Arc::new(BooleanArray::from(vec![Some(true), None])),
                Plain,
            ),
            ("i8", Arc::new(Int8Array::from(vec![Some(-5), None])), Plain),
            (
                "i16",
                Arc::new(Int16Array::from(vec![Some(300), None])),
                Plain,
            ),
            (
                "i32",
                Arc::new(Int32Array::from(vec![Some(-70000), None])),
                Plain,
            ),
            (
                "i64",
                Arc::new(Int64Array::from(vec![Some(1 << 40), None])),
                Plain,
            ),
            (
                "u8",
                Arc::new(UInt8Array::from(vec![Some(255), None])),
                Plain,
            ),
            (
                "u16",
                Arc::new(UInt16Array::from(vec![Some(65535), None])),
                Plain,
            ),
            (
                "u32",
                Arc::new(UInt32Array::from(vec![Some(u32::MAX), None])),
                Plain,
            ),
            (
                "u64",
                Arc::new(UInt64Array::from(vec![Some(u64::MAX), None])),
                Plain,
            ),
            (
                "f32",
                Arc::new(Float32Array::from(vec![Some(1.5), None])),
                Plain,
            ),
            (
                "f64",
                Arc::new(Float64Array::from(vec![Some(2.25), None])),
                Plain,
            ),
            ("d128", Arc::new(dec128), Plain),
            ("d256", Arc::new(dec256), Plain),
            (
                "s",
                Arc::new(StringArray::from(vec![Some("a"), None])),
                Plain,
            ),
            (
                "ls",
                Arc::new(LargeStringArray::from(vec![Some("b"), None])),
                Plain,
            ),
            (
                "sv",
                Arc::new(StringViewArray::from(vec![Some("c"), None])),
                Plain,
            ),
            (
                "hs",
                Arc::new(StringArray::from(vec![Some("AB"), None])),
                Hex,
            ),
            (
                "bin",
                Arc::new(BinaryArray::from(vec![Some(&[0xde, 0xad][..]), None])),
                Hex,
            ),
            (
                "lbin",
                Arc::new(LargeBinaryArray::from(vec![Some(&b"x"[..]), None])),
                Plain,
            ),
            ("fixed", Arc::new(fixed), Hex),
            (
                "bv",
                Arc::new(BinaryViewArray::from(vec![Some(&b"y"[..]), None])),
                Plain,
            ),
            (
                "date",
                Arc::new(Date32Array::from(vec![Some(0), None])),
                Plain,
            ),
            (
                "date64",
                Arc::new(Date64Array::from(vec![Some(86_400_000), None])),
                Plain,
            ),
            (
                "t32",
                Arc::new(Time32SecondArray::from(vec![Some(3661), None])),
                Plain,
            ),
            (
                "t64",
                Arc::new(Time64NanosecondArray::from(vec![Some(1_500_000), None])),
                Plain,
            ),
            (
                "dur",
                Arc::new(DurationMillisecondArray::from(vec![Some(-1), None])),
                Plain,
            ),
            ("ts", Arc::new(ts), Plain),
            ("dict", Arc::new(dict), Plain),
            ("null", Arc::new(NullArray::new(2)), Plain),
        ];
        let forms: Vec<TextForm> = columns.iter().map(|c| c.2).collect();
        let b = batch(
            &columns
                .iter()
                .map(|c| (c.0, c.1.clone()))
                .collect::<Vec<_>>(),
        );
        let out = String::from_utf8(encode(&b, &forms).unwrap()).unwrap();
        let first = [
            "1",
            "-5",
            "300",
            "-70000",
            "1099511627776",
            "255",
            "65535",
            "4294967295",
            "18446744073709551615",
            "1.5",
            "2.25",
            "123.45",
            "0.001",
            "a",
            "b",
            "c",
            "4142",
            "dead",
            "x",
            "0102",
            "y",
            "1970-01-01",
            "1970-01-02",
            "01:01:01",
            "00:00:00.001500",
            "-00:00:00.001000",
            "1970-01-01 00:00:00",
            "k",
            "\\N",
        ];
        let second = vec!["\\N"; columns.len()];
        assert_eq!(
            out,
            format!("{}\n{}\n", first.join("\t"), second.join("\t"))
        );
    }

    #[test]
    fn an_empty_batch_writes_nothing() {
        let b = batch(&[
            (
                "i",
                Arc::new(Int32Array::from(Vec::<i32>::new())) as ArrayRef,
            ),
            ("s", Arc::new(StringArray::from(Vec::<&str>::new()))),
        ]);
        let mut out = b"kept".to_vec();
        encoder(&b, &[Plain, Plain])
            .unwrap()
            .encode(&b, &mut out)
            .unwrap();
        assert_eq!(out, b"kept");
    }

    #[test]
    fn a_slice_writes_its_own_rows() {
        let b = batch(&[
            (
                "i",
                Arc::new(Int32Array::from(vec![1, 2, 3, 4])) as ArrayRef,
            ),
            (
                "clean",
                Arc::new(StringArray::from(vec!["aa", "bbb", "c", "dddd"])),
            ),
            (
                "escaped",
                Arc::new(StringArray::from(vec![
                    Some("a\tb"),
                    None,
                    Some("x\\y"),
                    Some("z"),
                ])),
            ),
            (
                "bin",
                Arc::new(BinaryArray::from(vec![
                    &b"\x01"[..],
                    b"\x02",
                    b"\x03\x04",
                    b"",
                ])),
            ),
            (
                "d",
                Arc::new(
                    Decimal128Array::from(vec![Some(1), Some(-250), None, Some(7)])
                        .with_precision_and_scale(5, 2)
                        .unwrap(),
                ),
            ),
            (
                "f",
                Arc::new(Float64Array::from(vec![1.0, 2.0, f64::NAN, 4.0])),
            ),
        ]);
        let forms = [Plain, Plain, Plain, Hex, Plain, Plain];
        let out = encode(&b.slice(1, 2).project(&[0, 1, 2, 3, 4]).unwrap(), &forms).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2\tbbb\t\\N\t02\t-2.50\n3\tc\tx\\\\y\t0304\t\\N\n"
        );
        // Rows in messages count from the batch's first row.
        let err = encode(&b.slice(1, 2), &forms).unwrap_err().to_string();
        assert_eq!(
            err,
            "column \"f\", row 2: NaN cannot be stored in MySQL; --float-loss replace writes it \
             as NULL (counted in the report)"
        );
    }

    #[test]
    fn strings_are_escaped() {
        let values = [
            "plain",
            "tab\there",
            "line\nbreak",
            "cr\rx",
            "nul\0x",
            "back\\slash",
            "\\N",
            "",
            "N",
            "emoji 🦀 and ünïcödé, 日本語",
            "\\\t\n\r\0",
            "a value longer than twelve bytes, out of line in a view",
        ];
        let expected = [
            "plain",
            r"tab\there",
            r"line\nbreak",
            r"cr\rx",
            r"nul\0x",
            r"back\\slash",
            r"\\N",
            "",
            "N",
            "emoji 🦀 and ünïcödé, 日本語",
            r"\\\t\n\r\0",
            "a value longer than twelve bytes, out of line in a view",
        ];
        assert_eq!(
            lines(Arc::new(StringArray::from(values.to_vec()))),
            expected
        );
        assert_eq!(
            lines(Arc::new(LargeStringArray::from(values.to_vec()))),
            expected
        );
        assert_eq!(
            lines(Arc::new(StringViewArray::from(values.to_vec()))),
            expected
        );
        let dict: DictionaryArray<Int32Type> = values.iter().copied().collect();
        assert_eq!(lines(Arc::new(dict)), expected);
        // The fast path: nothing to escape, no NULL.
        let clean = ["a", "", "ü🦀", "\\N".trim_start_matches('\\')];
        assert_eq!(lines(Arc::new(StringArray::from(clean.to_vec()))), clean);
        // As hex, a string is its UTF-8 bytes.
        let hex = lines_in(Arc::new(StringArray::from(vec!["ü\t", ""])), Hex);
        assert_eq!(hex, [b"c3bc09".to_vec(), vec![]]);
    }

    #[test]
    fn binary_in_both_forms() {
        let values: Vec<&[u8]> = vec![b"\0a\tb\\", b"", &[0xff, 0x00, b'N'], b"\\N"];
        let plain: Vec<Vec<u8>> = vec![
            b"\\0a\\tb\\\\".to_vec(),
            vec![],
            vec![0xff, b'\\', b'0', b'N'],
            b"\\\\N".to_vec(),
        ];
        let hex: Vec<Vec<u8>> = vec![
            b"006109625c".to_vec(),
            vec![],
            b"ff004e".to_vec(),
            b"5c4e".to_vec(),
        ];
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(BinaryArray::from(values.clone())),
            Arc::new(LargeBinaryArray::from(values.clone())),
            Arc::new(BinaryViewArray::from(values.clone())),
        ];
        for a in arrays {
            assert_eq!(lines_in(a.clone(), Plain), plain, "{}", a.data_type());
            assert_eq!(lines_in(a.clone(), Hex), hex, "{}", a.data_type());
        }
        let fixed =
            FixedSizeBinaryArray::try_from_iter(vec![vec![0u8, 1], vec![0xff, b'\n']].into_iter())
                .unwrap();
        let fixed: ArrayRef = Arc::new(fixed);
        assert_eq!(
            lines_in(fixed.clone(), Plain),
            [b"\\0\x01".to_vec(), b"\xff\\n".to_vec()]
        );
        assert_eq!(lines_in(fixed, Hex), [b"0001".to_vec(), b"ff0a".to_vec()]);
    }

    #[test]
    fn integer_edges() {
        assert_eq!(
            lines(Arc::new(Int8Array::from(vec![i8::MIN, i8::MAX, 0]))),
            ["-128", "127", "0"]
        );
        assert_eq!(
            lines(Arc::new(Int16Array::from(vec![i16::MIN, i16::MAX]))),
            ["-32768", "32767"]
        );
        assert_eq!(
            lines(Arc::new(Int32Array::from(vec![i32::MIN, i32::MAX]))),
            ["-2147483648", "2147483647"]
        );
        assert_eq!(
            lines(Arc::new(Int64Array::from(vec![i64::MIN, i64::MAX, -1]))),
            ["-9223372036854775808", "9223372036854775807", "-1"]
        );
        assert_eq!(
            lines(Arc::new(UInt8Array::from(vec![0, u8::MAX]))),
            ["0", "255"]
        );
        assert_eq!(
            lines(Arc::new(UInt16Array::from(vec![u16::MAX]))),
            ["65535"]
        );
        assert_eq!(
            lines(Arc::new(UInt32Array::from(vec![u32::MAX]))),
            ["4294967295"]
        );
        assert_eq!(
            lines(Arc::new(UInt64Array::from(vec![0, u64::MAX]))),
            ["0", "18446744073709551615"]
        );
        assert_eq!(
            lines(Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None
            ]))),
            ["1", "0", "\\N"]
        );
    }

    /// The lines of column "x" holding `a` in `form`, as text.
    fn lines_as(a: ArrayRef, form: TextForm) -> Vec<String> {
        lines_in(a, form)
            .into_iter()
            .map(|l| String::from_utf8(l).unwrap())
            .collect()
    }

    /// The message of encoding column "x" holding `a` in `form`.
    fn error_as(a: ArrayRef, form: TextForm) -> String {
        encode(&batch(&[("x", a)]), &[form])
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn floats_are_the_shortest_text_of_their_double() {
        let f32s = vec![
            0.1f32,
            1.0 / 3.0,
            f32::MAX,
            -f32::MAX,
            f32::MIN_POSITIVE,
            1e-45,
            -1e-45,
            1e-7,
            16_777_216.0,
            1.0,
            0.0,
        ];
        let text = lines(Arc::new(Float32Array::from(f32s.clone())));
        assert_eq!(
            text,
            [
                "0.10000000149011612",
                "0.3333333432674408",
                "3.4028234663852886e38",
                "-3.4028234663852886e38",
                "1.1754943508222875e-38",
                "1.401298464324817e-45",
                "-1.401298464324817e-45",
                "1.0000000116860974e-7",
                "16777216.0",
                "1.0",
                "0.0"
            ]
        );
        // Each is the f32 exactly, as a double: a server parsing it as a double and storing
        // it as a float gets the same bits, and never a double past FLT_MAX.
        for (v, t) in f32s.iter().zip(&text) {
            let d = t.parse::<f64>().unwrap();
            assert_eq!(d, f64::from(*v), "{t}");
            assert_eq!((d as f32).to_bits(), v.to_bits(), "{t}");
        }
        // Every f32 bit pattern in a stride over the whole range, subnormals included.
        let all: Vec<f32> = (0..=u32::MAX)
            .step_by(65_521)
            .map(f32::from_bits)
            .filter(|v| v.is_finite() && !(*v == 0.0 && v.is_sign_negative()))
            .collect();
        for (v, t) in all
            .iter()
            .zip(lines(Arc::new(Float32Array::from(all.clone()))))
        {
            assert_eq!(
                (t.parse::<f64>().unwrap() as f32).to_bits(),
                v.to_bits(),
                "{t}"
            );
        }
        let f64s = vec![
            0.1,
            1e300,
            0.1 + 0.2,
            5e-324,
            f64::MAX,
            123_456_789_012_345_680.0,
            -2.5,
        ];
        let text = lines(Arc::new(Float64Array::from(f64s.clone())));
        assert_eq!(
            text,
            [
                "0.1",
                "1e300",
                "0.30000000000000004",
                "5e-324",
                "1.7976931348623157e308",
                "1.2345678901234568e17",
                "-2.5"
            ]
        );
        for (v, t) in f64s.iter().zip(&text) {
            assert_eq!(t.parse::<f64>().unwrap().to_bits(), v.to_bits());
        }
    }

    #[test]
    fn floats_mysql_cannot_hold_are_replaced_and_counted_when_asked() {
        let b = RecordBatch::try_from_iter_with_nullable([
            (
                "d",
                Arc::new(Float64Array::from(vec![
                    Some(-0.0),
                    Some(f64::NAN),
                    None,
                    Some(f64::NEG_INFINITY),
                    Some(-1.5),
                ])) as ArrayRef,
                true,
            ),
            (
                "f",
                Arc::new(Float32Array::from(vec![
                    Some(f32::NAN),
                    Some(-0.0),
                    Some(0.5),
                    Some(-0.0),
                    Some(f32::INFINITY),
                ])) as ArrayRef,
                true,
            ),
        ])
        .unwrap();
        let e = encoder(&b, &[Plain, TextForm::Single])
            .unwrap()
            .with_float_loss(FloatLoss::Replace);
        let mut out = Vec::new();
        e.encode(&b, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "0\t\\N\n\\N\t0\n\\N\t0.5\n\\N\t0\n-1.5\t\\N\n"
        );
        // Counted per column, and by the encoder's clones (one per loading connection).
        let clone = e.clone();
        clone.encode(&b.slice(0, 1), &mut Vec::new()).unwrap();
        assert_eq!(
            e.lossy(),
            LossyCounts::from([("d".into(), 4), ("f".into(), 5)])
        );
        // NULL cannot go into a NOT NULL column: NaN there stays an error; -0 is written as 0.
        let strict = RecordBatch::try_from_iter_with_nullable([(
            "x",
            Arc::new(Float64Array::from(vec![-0.0, f64::NAN])) as ArrayRef,
            false,
        )])
        .unwrap();
        let err = encoder(&strict, &[Plain])
            .unwrap()
            .with_float_loss(FloatLoss::Replace)
            .encode(&strict, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "column \"x\", row 2: NaN cannot be stored in MySQL, and the column is NOT NULL, so \
             --float-loss replace cannot write it as NULL"
        );
    }

    #[test]
    fn floats_mysql_cannot_hold_are_refused() {
        assert_eq!(
            error(Arc::new(Float64Array::from(vec![1.0, 2.0, f64::NAN]))),
            "column \"x\", row 3: NaN cannot be stored in MySQL; --float-loss replace writes \
             it as NULL (counted in the report)"
        );
        assert_eq!(
            error(Arc::new(Float32Array::from(vec![f32::INFINITY]))),
            "column \"x\", row 1: inf cannot be stored in MySQL; --float-loss replace writes \
             it as NULL (counted in the report)"
        );
        let err = encode(
            &batch(&[("x", Arc::new(Float64Array::from(vec![f64::NEG_INFINITY])))]),
            &[Plain],
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert_eq!(
            err.to_string(),
            "column \"x\", row 1: -inf cannot be stored in MySQL; --float-loss replace writes \
             it as NULL (counted in the report)"
        );
        // -0: MariaDB's FLOAT and DOUBLE store 0.
        assert_eq!(
            error(Arc::new(Float64Array::from(vec![0.0, -0.0]))),
            "column \"x\", row 2: -0 cannot be stored in MySQL: its FLOAT and DOUBLE columns \
             keep -0 as 0; --float-loss replace writes it as 0 (counted in the report)"
        );
        assert_eq!(
            error(Arc::new(Float32Array::from(vec![-0.0f32]))),
            "column \"x\", row 1: -0 cannot be stored in MySQL: its FLOAT and DOUBLE columns \
             keep -0 as 0; --float-loss replace writes it as 0 (counted in the report)"
        );
        // A double into a FLOAT column must be a float exactly.
        assert_eq!(
            lines_as(
                Arc::new(Float64Array::from(vec![0.5, f64::from(0.1f32)])),
                TextForm::Single
            ),
            ["0.5", "0.10000000149011612"]
        );
        assert_eq!(
            error_as(
                Arc::new(Float64Array::from(vec![0.5, 0.1])),
                TextForm::Single
            ),
            "column \"x\", row 2: 0.1 is not exactly a single-precision float: the server would \
             round it into the FLOAT column without a warning"
        );
        assert!(
            error_as(Arc::new(Float64Array::from(vec![1e300])), TextForm::Single).ends_with(
                "is not exactly a single-precision float: the server would round it into \
                       the FLOAT column without a warning"
            )
        );
    }

    #[test]
    fn years_are_written_as_the_server_reads_them_back() {
        assert_eq!(
            lines_as(
                Arc::new(Int16Array::from(vec![
                    Some(0),
                    Some(1901),
                    Some(2155),
                    None,
                    Some(2000)
                ])),
                TextForm::Year
            ),
            ["0000", "1901", "2155", "\\N", "2000"]
        );
        assert_eq!(
            lines_as(
                Arc::new(UInt64Array::from(vec![0u64, 1999])),
                TextForm::Year
            ),
            ["0000", "1999"]
        );
        for bad in [1i64, 69, 70, 99, 100, 1900, 2156, -1] {
            assert_eq!(
                error_as(Arc::new(Int64Array::from(vec![2000, bad])), TextForm::Year),
                format!(
                    "column \"x\", row 2: {bad} is not a MySQL YEAR (0, or 1901 to 2155; the \
                     server reads 1 to 99 as the years 2001 to 2069 and 1970 to 1999)"
                )
            );
        }
        assert!(
            error_as(Arc::new(UInt64Array::from(vec![u64::MAX])), TextForm::Year)
                .contains("18446744073709551615 is not a MySQL YEAR")
        );
        // Text holding an integer is that year; other text goes as it is, for the server
        // to warn about.
        assert_eq!(
            lines_as(
                Arc::new(StringArray::from(vec![
                    Some("0"),
                    Some("2024"),
                    None,
                    Some("x\ty")
                ])),
                TextForm::Year
            ),
            ["0000", "2024", "\\N", "x\\ty"]
        );
        assert!(
            error_as(Arc::new(StringArray::from(vec!["69"])), TextForm::Year)
                .starts_with("column \"x\", row 1: 69 is not a MySQL YEAR")
        );
        // Plain integers are untouched.
        assert_eq!(lines(Arc::new(Int16Array::from(vec![0, 69]))), ["0", "69"]);
    }

    #[test]
    fn fractions_a_column_cannot_keep_are_refused() {
        let ts = |v: Vec<i64>| -> ArrayRef { Arc::new(TimestampMicrosecondArray::from(v)) };
        assert_eq!(
            lines_as(ts(vec![1_000_000, 1_500_000]), TextForm::Fraction(1)),
            ["1970-01-01 00:00:01", "1970-01-01 00:00:01.500000"]
        );
        assert_eq!(
            error_as(ts(vec![1_000_000, 1_500_000]), TextForm::Fraction(0)),
            "column \"x\", row 2: 1970-01-01 00:00:01.500000 has more fractional-second digits \
             than the column keeps (0): the server would cut them without a warning"
        );
        assert!(
            error_as(ts(vec![1_250_000]), TextForm::Fraction(1)).contains(
                "00:00:01.250000 has more fractional-second digits than the column keeps (1)"
            )
        );
        assert_eq!(
            lines_as(ts(vec![1_250_000]), TextForm::Fraction(2)),
            ["1970-01-01 00:00:01.250000"]
        );
        let t = |v: Vec<i64>| -> ArrayRef { Arc::new(DurationMicrosecondArray::from(v)) };
        assert_eq!(
            lines_as(t(vec![-3_000_000]), TextForm::Fraction(0)),
            ["-00:00:03"]
        );
        assert_eq!(
            error_as(t(vec![-3_000_001]), TextForm::Fraction(5)),
            "column \"x\", row 1: -00:00:03.000001 has more fractional-second digits than the \
             column keeps (5): the server would cut them without a warning"
        );
        // A date column takes midnights only.
        assert_eq!(
            lines_as(ts(vec![86_400_000_000]), TextForm::Day),
            ["1970-01-02 00:00:00"]
        );
        assert_eq!(
            error_as(ts(vec![0, 500_000]), TextForm::Day),
            "column \"x\", row 2: 1970-01-01 00:00:00.500000 is not at midnight: the date \
             column would drop its time of day"
        );
    }

    #[test]
    fn integer_columns_take_whole_numbers_only() {
        assert_eq!(
            lines_as(
                Arc::new(Float64Array::from(vec![2.0, -7.0])),
                TextForm::Whole
            ),
            ["2.0", "-7.0"]
        );
        assert_eq!(
            error_as(
                Arc::new(Float64Array::from(vec![2.0, 1.5])),
                TextForm::Whole
            ),
            "column \"x\", row 2: 1.5 is not a whole number: the server would round it into the \
             integer column without a warning"
        );
        assert_eq!(
            lines_as(d128(vec![200, -700], 10, 2), TextForm::Whole),
            ["2.00", "-7.00"]
        );
        assert_eq!(
            error_as(d128(vec![200, 150], 10, 2), TextForm::Whole),
            "column \"x\", row 2: 1.50 is not a whole number: the server would round it into the \
             integer column without a warning"
        );
        let big = decimal::parse_exact(&("1".repeat(50) + ".5"), 60, 1).unwrap();
        let a = Decimal256Array::from(vec![big])
            .with_precision_and_scale(60, 1)
            .unwrap();
        assert!(error_as(Arc::new(a), TextForm::Whole).contains(".5 is not a whole number"));
        // Integers, and decimals into other columns, are untouched.
        assert_eq!(
            lines_as(Arc::new(Int32Array::from(vec![5])), TextForm::Whole),
            ["5"]
        );
        assert_eq!(lines(d128(vec![150], 10, 2)), ["1.50"]);
    }

    fn d128(values: Vec<i128>, p: u8, s: i8) -> ArrayRef {
        Arc::new(
            Decimal128Array::from(values)
                .with_precision_and_scale(p, s)
                .unwrap(),
        )
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(
            lines(d128(vec![-1230, 5, -5, 0, 123, 100], 10, 2)),
            ["-12.30", "0.05", "-0.05", "0.00", "1.23", "1.00"]
        );
        assert_eq!(lines(d128(vec![42, -7, 0], 5, 0)), ["42", "-7", "0"]);
        assert_eq!(lines(d128(vec![12, 0, -1], 5, -3)), ["12000", "0", "-1000"]);
        let max = 10i128.pow(38) - 1;
        let nines = "9".repeat(38);
        assert_eq!(
            lines(d128(vec![max, -max], 38, 0)),
            [nines.clone(), format!("-{nines}")]
        );
        assert_eq!(lines(d128(vec![-max], 38, 38)), [format!("-0.{nines}")]);
        // Past 64 bits.
        let big = i128::from(u64::MAX) + 1;
        assert_eq!(
            lines(d128(vec![big, -big], 38, 10)),
            ["1844674407.3709551616", "-1844674407.3709551616"]
        );
        // 76 digits, and values that fit 128 bits, in a Decimal256.
        let digits = "1234567890".repeat(7) + "123456";
        let v = decimal::parse_exact(&digits, 76, 0).unwrap();
        let small = i256::from_i128(-5);
        let a = Decimal256Array::from(vec![v, v.wrapping_neg(), small])
            .with_precision_and_scale(76, 20)
            .unwrap();
        let (int, frac) = digits.split_at(56);
        assert_eq!(
            lines(Arc::new(a)),
            [
                format!("{int}.{frac}"),
                format!("-{int}.{frac}"),
                "-0.00000000000000000005".to_string()
            ]
        );
        let narrow: ArrayRef = Arc::new(
            Decimal64Array::from(vec![-1234])
                .with_precision_and_scale(10, 3)
                .unwrap(),
        );
        assert_eq!(lines(narrow), ["-1.234"]);
        // The same text as the decimal module's formatter, which the rest of ferry uses.
        for v in [
            0i128,
            1,
            -1,
            9,
            10,
            -99,
            1005,
            -123_456_789,
            i128::MAX,
            i128::MIN + 1,
        ] {
            for s in [-3i8, 0, 1, 2, 5, 10, 38] {
                let mut out = Vec::new();
                put_decimal(v, s, &mut itoa::Buffer::new(), &mut out);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    decimal::format(i256::from_i128(v), s),
                    "{v} scale {s}"
                );
            }
        }
    }

    #[test]
    fn days_match_chrono() {
        let ce = |days: i64| {
            let d = chrono::NaiveDate::from_num_days_from_ce_opt((days + 719_163) as i32).unwrap();
            use chrono::Datelike;
            (i64::from(d.year()), d.month(), d.day())
        };
        for days in (-1_000_000..3_500_000).step_by(13).chain(-800..800) {
            assert_eq!(civil_from_days(days), ce(days), "{days}");
        }
        assert_eq!(civil_from_days(MIN_DAYS), (0, 1, 1));
        assert_eq!(civil_from_days(MAX_DAYS), (9999, 12, 31));
    }

    #[test]
    fn dates() {
        let days = vec![
            -1,
            MIN_DAYS as i32,
            -719_162,
            -25_567,
            MAX_DAYS as i32,
            0,
            11_016,
        ];
        assert_eq!(
            lines(Arc::new(Date32Array::from(days))),
            [
                "1969-12-31",
                "0000-01-01",
                "0001-01-01",
                "1900-01-01",
                "9999-12-31",
                "1970-01-01",
                "2000-02-29"
            ]
        );
        assert_eq!(
            error(Arc::new(Date32Array::from(vec![0, MAX_DAYS as i32 + 1]))),
            "column \"x\", row 2: date 10000-01-01 is out of MySQL's range (0001-01-01 BC, MySQL's year 0000, to 9999-12-31)"
        );
        assert_eq!(
            error(Arc::new(Date32Array::from(vec![
                crate::types::temporal::DATE_INFINITY
            ]))),
            "column \"x\", row 1: date infinity is out of MySQL's range (0001-01-01 BC, MySQL's year 0000, to 9999-12-31)"
        );
        assert_eq!(
            lines(Arc::new(Date64Array::from(vec![
                -86_400_000,
                951_782_400_000
            ]))),
            ["1969-12-31", "2000-02-29"]
        );
        assert_eq!(
            error(Arc::new(Date64Array::from(vec![1]))),
            "column \"x\", row 1: 1970-01-01 00:00:00.001 is not a whole day"
        );
    }

    #[test]
    fn times_of_day() {
        assert_eq!(
            lines(Arc::new(Time32SecondArray::from(vec![0, 86_399, 3661]))),
            ["00:00:00", "23:59:59", "01:01:01"]
        );
        assert_eq!(
            lines(Arc::new(Time32MillisecondArray::from(vec![45_296_789]))),
            ["12:34:56.789000"]
        );
        assert_eq!(
            lines(Arc::new(Time64MicrosecondArray::from(vec![
                1,
                86_400_000_000
            ]))),
            ["00:00:00.000001", "24:00:00"]
        );
        assert_eq!(
            lines(Arc::new(Time64NanosecondArray::from(vec![
                1_000,
                45_296_000_000_000
            ]))),
            ["00:00:00.000001", "12:34:56"]
        );
        assert_eq!(
            error(Arc::new(Time64NanosecondArray::from(vec![0, 1_500]))),
            "column \"x\", row 2: 00:00:00.000001500 has nanoseconds; MySQL keeps \
             microseconds, so it cannot be stored without rounding"
        );
    }

    #[test]
    fn durations_are_mysql_times() {
        assert_eq!(
            lines(Arc::new(DurationSecondArray::from(vec![
                -3_020_399, 360_000, 0, -1
            ]))),
            ["-838:59:59", "100:00:00", "00:00:00", "-00:00:01"]
        );
        assert_eq!(
            lines(Arc::new(DurationMillisecondArray::from(vec![
                360_000_500,
                -90_061_001
            ]))),
            ["100:00:00.500000", "-25:01:01.001000"]
        );
        assert_eq!(
            lines(Arc::new(DurationMicrosecondArray::from(vec![
                TIME_MAX_MICROS
            ]))),
            ["838:59:59"]
        );
        assert_eq!(
            lines(Arc::new(DurationNanosecondArray::from(vec![-1_000]))),
            ["-00:00:00.000001"]
        );
        assert_eq!(
            error(Arc::new(DurationSecondArray::from(vec![3_020_400]))),
            "column \"x\", row 1: 839:00:00 is out of MySQL's TIME range (-838:59:59 to 838:59:59)"
        );
        assert_eq!(
            error(Arc::new(DurationMicrosecondArray::from(vec![
                -TIME_MAX_MICROS - 1
            ]))),
            "column \"x\", row 1: -838:59:59.000001 is out of MySQL's TIME range \
             (-838:59:59 to 838:59:59)"
        );
        assert!(error(Arc::new(DurationSecondArray::from(vec![i64::MIN])))
            .ends_with("is out of MySQL's TIME range (-838:59:59 to 838:59:59)"));
        assert_eq!(
            error(Arc::new(DurationNanosecondArray::from(vec![1]))),
            "column \"x\", row 1: 00:00:00.000000001 has nanoseconds; MySQL keeps \
             microseconds, so it cannot be stored without rounding"
        );
    }

    #[test]
    fn timestamps_before_and_after_1970() {
        assert_eq!(
            lines(Arc::new(TimestampMicrosecondArray::from(vec![
                -1,
                -86_400_000_001,
                253_402_300_799_999_999,
                1_700_000_000_000_000,
            ]))),
            [
                "1969-12-31 23:59:59.999999",
                "1969-12-30 23:59:59.999999",
                "9999-12-31 23:59:59.999999",
                "2023-11-14 22:13:20"
            ]
        );
        assert_eq!(
            lines(Arc::new(TimestampMillisecondArray::from(vec![-1500, 1]))),
            ["1969-12-31 23:59:58.500000", "1970-01-01 00:00:00.001000"]
        );
        assert_eq!(
            lines(Arc::new(TimestampSecondArray::from(vec![
                -2_208_988_800,
                -62_167_219_200
            ]))),
            ["1900-01-01 00:00:00", "0000-01-01 00:00:00"]
        );
        assert_eq!(
            lines(Arc::new(TimestampNanosecondArray::from(vec![
                1_700_000_000_123_456_000,
                -1_000
            ]))),
            ["2023-11-14 22:13:20.123456", "1969-12-31 23:59:59.999999"]
        );
        // A zoned timestamp is its UTC instant.
        let utc = vec![-1_500_000, 1_700_000_000_000_000];
        let zoned = TimestampMicrosecondArray::from(utc.clone()).with_timezone("America/New_York");
        assert_eq!(
            lines(Arc::new(zoned)),
            lines(Arc::new(TimestampMicrosecondArray::from(utc)))
        );
        assert_eq!(
            error(Arc::new(TimestampSecondArray::from(vec![253_402_300_800]))),
            "column \"x\", row 1: timestamp 10000-01-01 00:00:00 is out of MySQL's range \
             (0001-01-01 BC, MySQL's year 0000, to 9999-12-31)"
        );
        assert!(error(Arc::new(TimestampMicrosecondArray::from(vec![
            crate::types::temporal::TS_INFINITY
        ])))
        .contains("is out of MySQL's range"));
        assert_eq!(
            error(Arc::new(TimestampNanosecondArray::from(vec![0, -1]))),
            "column \"x\", row 2: 1969-12-31 23:59:59.999999999 has nanoseconds; MySQL keeps \
             microseconds, so it cannot be stored without rounding"
        );
    }

    #[test]
    fn unsupported_types_fail_at_creation() {
        let try_new = |t: DataType, form: TextForm| {
            let schema = Arc::new(Schema::new(vec![Field::new("c", t, true)]));
            let columns = vec![ColumnText {
                name: "c".into(),
                form,
            }];
            TextEncoder::try_new(&schema, columns).unwrap_err()
        };
        let err = try_new(DataType::Interval(IntervalUnit::MonthDayNano), Plain);
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert_eq!(
            err.to_string(),
            "column \"c\": Arrow type Interval(MonthDayNano) cannot be loaded into MySQL"
        );
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int32, true)));
        let err = try_new(list, Plain).to_string();
        assert!(err.starts_with("column \"c\": Arrow type List("), "{err}");
        assert!(err.ends_with(" cannot be loaded into MySQL"), "{err}");
        assert_eq!(
            try_new(DataType::Int32, Hex).to_string(),
            "column \"c\": Arrow type Int32 cannot be loaded into MySQL as hex"
        );
        let dict = DataType::Dictionary(
            Box::new(DataType::Int32),
            Box::new(DataType::Interval(IntervalUnit::DayTime)),
        );
        assert_eq!(try_new(dict, Plain).kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn try_new_accepts_what_the_encoder_takes() {
        use DataType as D;
        let item = Arc::new(Field::new("item", D::Int32, true));
        let types = [
            D::Null,
            D::Boolean,
            D::Int8,
            D::UInt64,
            D::Float16,
            D::Float32,
            D::Float64,
            D::Decimal32(9, 2),
            D::Decimal64(18, 2),
            D::Decimal128(38, 2),
            D::Decimal256(76, 2),
            D::Utf8,
            D::LargeUtf8,
            D::Utf8View,
            D::Binary,
            D::LargeBinary,
            D::BinaryView,
            D::FixedSizeBinary(16),
            D::Date32,
            D::Date64,
            D::Time32(TimeUnit::Second),
            D::Time32(TimeUnit::Millisecond),
            D::Time64(TimeUnit::Microsecond),
            D::Time64(TimeUnit::Nanosecond),
            D::Duration(TimeUnit::Second),
            D::Duration(TimeUnit::Nanosecond),
            D::Timestamp(TimeUnit::Second, None),
            D::Timestamp(TimeUnit::Nanosecond, Some("+01:00".into())),
            D::Interval(IntervalUnit::YearMonth),
            D::List(item.clone()),
            D::Struct(vec![item].into()),
            D::Dictionary(Box::new(D::Int16), Box::new(D::Utf8)),
            D::Dictionary(Box::new(D::UInt8), Box::new(D::Date32)),
            D::Dictionary(
                Box::new(D::Int32),
                Box::new(D::Interval(IntervalUnit::DayTime)),
            ),
        ];
        for t in &types {
            for form in [Plain, Hex] {
                let c = ColumnText {
                    name: "c".into(),
                    form,
                };
                let encodes = unpack_dictionary(&c, &new_empty_array(t))
                    .and_then(|a| {
                        let floats = Floats {
                            loss: FloatLoss::Error,
                            nullable: true,
                        };
                        encode_column(&c, a.as_ref(), floats, &mut 0).map(drop)
                    })
                    .is_ok();
                assert_eq!(supported(t, form), encodes, "{t} {form:?}");
            }
        }
    }

    #[test]
    fn enum_and_set_members_are_parsed_and_only_they_are_written() {
        let m = |d: &str| Members::of_declared(d).unwrap();
        let e = m("enum('1','2','10','it''s','back\\\\slash','', 'sp  ')");
        assert_eq!(
            e.members,
            ["1", "2", "10", "it's", "back\\slash", "", "sp"].map(String::from)
        );
        assert_eq!(Members::of_declared("varchar(10)"), None);
        assert_eq!(Members::of_declared("enum('a'"), None);
        let s = m("SET('b','a','10','2')");
        assert!(s.set);
        let check = |m: &Members, a: ArrayRef| {
            let c = ColumnText {
                name: "c".into(),
                form: TextForm::Plain,
            };
            m.check(&c, &a).map_err(|e| e.to_string())
        };
        let text = |v: Vec<Option<&str>>| -> ArrayRef { Arc::new(StringArray::from(v)) };
        assert!(check(&e, text(vec![Some("10"), None, Some(""), Some("it's")])).is_ok());
        assert!(check(&e, Arc::new(Int64Array::from(vec![1, 10]))).is_ok());
        let err = check(&e, text(vec![Some("1"), Some("3")])).unwrap_err();
        assert!(
            err.contains("row 2: '3' is not a member of enum(") && err.contains("the index"),
            "{err}"
        );
        let err = check(&m("enum('a','b')"), text(vec![Some("")])).unwrap_err();
        assert!(err.contains("error value (index 0"), "{err}");
        assert!(check(&m("enum('a')"), text(vec![Some("A")])).is_err());
        assert!(check(&s, text(vec![Some(""), Some("b,a"), Some("a,10,2"), None])).is_ok());
        let err = check(&s, text(vec![Some("a,b")])).unwrap_err();
        assert!(err.contains("'a,b' would be stored as 'b,a'"), "{err}");
        let err = check(&s, text(vec![Some("a,a")])).unwrap_err();
        assert!(err.contains("would be stored as 'a'"), "{err}");
        let err = check(&s, text(vec![Some("3")])).unwrap_err();
        assert!(err.contains("the bits of a set"), "{err}");
        let err = check(&s, text(vec![Some("b,c")])).unwrap_err();
        assert!(err.contains("'c' is not a member of set("), "{err}");
        let err = check(&s, Arc::new(Float64Array::from(vec![1.0]))).unwrap_err();
        assert!(err.contains("cannot be loaded into MySQL set("), "{err}");
    }
}
