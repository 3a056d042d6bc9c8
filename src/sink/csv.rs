//! CSV sink, the twin of the Parquet sink: a directory target is a snapshot (see
//! [`crate::snapshot`]) with `part-NNNNN.csv` files per table, a new file past `file_bytes`, each
//! with the header; a `.csv` file target holds one table, written under a temporary name and
//! renamed at the end. Options: `?header=&delimiter=&quote=&null=&file_bytes=`.
//!
//! Only what the CSV source reads back exactly is written (see
//! [`crate::source::csv::decode_column`]); other types are refused at `prepare()`, before any
//! row. arrow-csv writes the text, after three conversions made here: binary becomes lowercase
//! hex, decimals are formatted by ferry (arrow's formatter silently cuts a value wider than its
//! precision), and zoned timestamps whose zone arrow cannot load without chrono-tz are written
//! in UTC. A value whose text equals the null string would read back as NULL: it is refused.
//! The dialect is recorded in the snapshot's schema metadata, so the source reads it back the
//! way it was written.

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::timezone::Tz;
use arrow::array::{make_array, Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::csv::WriterBuilder;
use arrow::datatypes::{i256, DataType, Decimal128Type, Decimal256Type, Field, Schema, SchemaRef};

use super::{IfExists, Sink, TableWriter, WriteStats};
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::snapshot::{FileTarget, HashingWriter, Manifest, WrittenFile};
use crate::source::csv::{check_readable, decode_column, CsvFormat};
use crate::types::decimal;

/// Writes tables to CSV.
pub struct CsvSink {
    name: String,
    target: FileTarget,
    format: CsvFormat,
    file_bytes: u64,
}

impl CsvSink {
    /// A new file is started once a file is past this size.
    pub const DEFAULT_FILE_BYTES: u64 = 512 * 1024 * 1024;

    pub fn try_new(endpoint: &Endpoint) -> Result<Self> {
        endpoint.check_options(&["header", "delimiter", "quote", "null", "file_bytes"])?;
        let name = endpoint.to_string();
        let format = CsvFormat::from_endpoint(endpoint)?;
        let file_bytes = match endpoint.option("file_bytes") {
            None => Self::DEFAULT_FILE_BYTES,
            Some(v) => v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                Error::invalid_args(format!("{name}: file_bytes={v} is not a positive number"))
            })?,
        };
        let path = &endpoint.path;
        if !FileTarget::is_single_file(path, "csv") && path.is_dir() {
            if let Some(m) = Manifest::load(path)? {
                if m.file_format != "csv" {
                    return Err(Error::invalid_args(format!(
                        "{name}: the snapshot holds {} files; CSV tables cannot join it",
                        m.file_format
                    )));
                }
            }
        }
        let target = FileTarget::open(path, "csv", "CSV")?;
        Ok(CsvSink {
            name,
            target,
            format,
            file_bytes,
        })
    }

    /// Refuses to append in another dialect than the table's files were written in.
    fn check_append(&self, table: &str) -> Result<()> {
        let Some(s) = self.target.snapshot() else {
            return Ok(());
        };
        let Some(m) = Manifest::load(s.root())? else {
            return Ok(());
        };
        let Some(t) = m.tables.iter().find(|t| t.name == table) else {
            return Ok(());
        };
        let what = format!("{}: table \"{table}\"", self.name);
        match CsvFormat::from_metadata(&what, &t.schema.metadata)? {
            Some(old) if old != self.format => Err(Error::invalid_args(format!(
                "{what} was written with {old}; append with the same options"
            ))),
            _ => Ok(()),
        }
    }
}

/// How a column becomes text, chosen once per schema.
#[derive(Debug, Clone)]
enum Encoder {
    /// Written by arrow-csv as it is.
    Native,
    /// Strings, checked against the null string.
    Text,
    /// Bytes as lowercase hex, checked against the null string.
    Hex,
    /// Plain decimal text with exactly `scale` digits after the point.
    Decimal { precision: u8, scale: i8 },
    /// A zoned timestamp relabelled as UTC, since arrow cannot load its zone to format it.
    Utc(DataType),
}

impl Encoder {
    fn for_field(f: &Field) -> Encoder {
        match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Encoder::Text,
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => Encoder::Hex,
            DataType::Decimal128(precision, scale) | DataType::Decimal256(precision, scale) => {
                Encoder::Decimal {
                    precision: *precision,
                    scale: *scale,
                }
            }
            DataType::Timestamp(unit, Some(tz)) if tz.parse::<Tz>().is_err() => {
                Encoder::Utc(DataType::Timestamp(*unit, Some("+00:00".into())))
            }
            _ => Encoder::Native,
        }
    }

    /// The type handed to arrow-csv.
    fn text_type(&self, original: &DataType) -> DataType {
        match self {
            Encoder::Native | Encoder::Text => original.clone(),
            Encoder::Hex | Encoder::Decimal { .. } => DataType::Utf8,
            Encoder::Utc(t) => t.clone(),
        }
    }
}

/// The text forms the writer gives dates, times and timestamps (see [`writer_builder`]).
const DATE_FORMAT: &str = "%Y-%m-%d";
const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";
const TIMESTAMP_TZ_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f%:z";
const TIME_FORMAT: &str = "%H:%M:%S%.f";

/// A date, timestamp or time column holding PostgreSQL's special values, which chrono cannot
/// format (±infinity as ferry's sentinels, `24:00:00` as the end of the day), as the text the
/// writer gives every other value of it and `infinity`, `-infinity` and `24:00:00` for those,
/// which the CSV source reads back as the same values; any other column as it is.
fn specials_as_text(column: ArrayRef) -> std::result::Result<ArrayRef, arrow::error::ArrowError> {
    use arrow::datatypes::TimeUnit;
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let temporal = matches!(
        column.data_type(),
        DataType::Date32
            | DataType::Timestamp(TimeUnit::Microsecond, _)
            | DataType::Time64(TimeUnit::Microsecond | TimeUnit::Nanosecond)
    );
    let valid = |r: &usize| column.is_valid(*r);
    if !temporal
        || !(0..column.len())
            .filter(valid)
            .any(|r| special_text(column.as_ref(), r).is_some())
    {
        return Ok(column);
    }
    let options = FormatOptions::default()
        .with_date_format(Some(DATE_FORMAT))
        .with_timestamp_format(Some(TIMESTAMP_FORMAT))
        .with_timestamp_tz_format(Some(TIMESTAMP_TZ_FORMAT))
        .with_time_format(Some(TIME_FORMAT));
    let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
    let mut text = Vec::with_capacity(column.len());
    for r in 0..column.len() {
        text.push(
            match (column.is_valid(r), special_text(column.as_ref(), r)) {
                (false, _) => None,
                (true, Some(s)) => Some(s.to_string()),
                (true, None) => match formatter.value(r).try_to_string() {
                    Ok(s) => Some(s),
                    // A finite value chrono cannot format: the writer fails on it, and
                    // `unwritable` names it.
                    Err(_) => return Ok(column.clone()),
                },
            },
        );
    }
    Ok(Arc::new(StringArray::from(text)))
}

/// The text [`specials_as_text`] writes for row `r` of `column` when it holds a special value:
/// `infinity` / `-infinity` for ferry's sentinels, `24:00:00` for the end of the day.
fn special_text(column: &dyn Array, r: usize) -> Option<&'static str> {
    use crate::types::temporal;
    use arrow::datatypes::{
        Date32Type, Time64MicrosecondType, Time64NanosecondType, TimeUnit, TimestampMicrosecondType,
    };
    match column.data_type() {
        DataType::Date32 => match column.as_primitive::<Date32Type>().value(r) {
            temporal::DATE_INFINITY => Some("infinity"),
            temporal::DATE_NEG_INFINITY => Some("-infinity"),
            _ => None,
        },
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            match column.as_primitive::<TimestampMicrosecondType>().value(r) {
                temporal::TS_INFINITY => Some("infinity"),
                temporal::TS_NEG_INFINITY => Some("-infinity"),
                _ => None,
            }
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            let v = column.as_primitive::<Time64MicrosecondType>().value(r);
            (v == 86_400_000_000).then_some("24:00:00")
        }
        DataType::Time64(TimeUnit::Nanosecond) => {
            let v = column.as_primitive::<Time64NanosecondType>().value(r);
            (v == 86_400_000_000_000).then_some("24:00:00")
        }
        _ => None,
    }
}

fn writer_builder(format: &CsvFormat) -> WriterBuilder {
    // Explicit forms, each parsed back exactly by the CSV source: `%.f` prints as many
    // fractional digits as the value needs (none, 3, 6 or 9), and zoned values carry their offset.
    WriterBuilder::new()
        .with_delimiter(format.delimiter)
        .with_quote(format.quote)
        .with_null(format.null.clone())
        .with_date_format(DATE_FORMAT.into())
        .with_datetime_format(TIMESTAMP_FORMAT.into())
        .with_timestamp_format(TIMESTAMP_FORMAT.into())
        .with_timestamp_tz_format(TIMESTAMP_TZ_FORMAT.into())
        .with_time_format(TIME_FORMAT.into())
}

impl Sink for CsvSink {
    fn describe_target(&self, table: &str, schema: &SchemaRef) -> Result<String> {
        let cols: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| {
                format!(
                    "  {} {}{}",
                    f.name(),
                    f.data_type(),
                    if f.is_nullable() { "" } else { " NOT NULL" }
                )
            })
            .collect();
        let at = self.target.location(table);
        Ok(format!("{at} (CSV {})\n{}", self.format, cols.join("\n")))
    }

    fn exists(&self, table: &str) -> Result<bool> {
        self.target.exists(table)
    }

    fn prepare(
        &self,
        table: &str,
        schema: &SchemaRef,
        mode: IfExists,
    ) -> Result<Box<dyn TableWriter + '_>> {
        let ctx = format!("{}: table \"{table}\"", self.name);
        let mut encoders = Vec::new();
        let mut text_fields = Vec::new();
        for f in schema.fields() {
            check_readable(f.name(), f.data_type()).map_err(|e| e.context(ctx.clone()))?;
            let encoder = Encoder::for_field(f);
            // A NULL is written as the null string: a value of the column must never print as it.
            // Strings and hex are checked value by value; other types here, once.
            let null = &self.format.null;
            if matches!(
                encoder,
                Encoder::Native | Encoder::Decimal { .. } | Encoder::Utc(_)
            ) && f.data_type() != &DataType::Null
                && decode_column(&StringArray::from(vec![null.as_str()]), f.data_type()).is_ok()
            {
                return Err(Error::invalid_args(format!(
                    "{ctx}: the null string '{null}' is also a {} value of column \"{}\"; choose another with ?null=...",
                    f.data_type(),
                    f.name()
                )));
            }
            text_fields.push(Field::new(f.name(), encoder.text_type(f.data_type()), true));
            encoders.push(encoder);
        }
        if mode == IfExists::Append {
            self.check_append(table)?;
        }
        let (dir, single) = self.target.start(&self.name, table, mode)?;
        let mut staged = schema.as_ref().clone();
        staged.metadata.extend(self.format.to_metadata());
        Ok(Box::new(CsvTableWriter {
            sink: self,
            table: table.to_string(),
            staged,
            text_schema: Arc::new(Schema::new(text_fields)),
            encoders,
            builder: writer_builder(&self.format),
            mode,
            dir,
            single,
            current: None,
            done: Vec::new(),
            rows: 0,
        }))
    }

    fn commit(&self) -> Result<()> {
        self.target.commit(&self.name)
    }
}

/// Counts what arrow-csv writes into a file.
struct Counting<'a> {
    inner: &'a mut HashingWriter,
    bytes: u64,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

struct OpenFile {
    path: PathBuf,
    out: HashingWriter,
    bytes: u64,
    rows: u64,
    /// The header (if any) is written.
    started: bool,
}

struct CsvTableWriter<'a> {
    sink: &'a CsvSink,
    table: String,
    /// The schema recorded in the manifest: the table's, plus the dialect.
    staged: Schema,
    /// The schema of the batches handed to arrow-csv.
    text_schema: SchemaRef,
    encoders: Vec<Encoder>,
    builder: WriterBuilder,
    mode: IfExists,
    dir: PathBuf,
    single: Option<PathBuf>,
    current: Option<OpenFile>,
    /// Closed files: path, size, sha256, rows.
    done: Vec<WrittenFile>,
    rows: u64,
}

impl CsvTableWriter<'_> {
    fn ctx(&self) -> String {
        format!("{}: table \"{}\"", self.sink.name, self.table)
    }

    /// Fails naming the first value of a column that prints as the null string.
    fn refuse_null_text<'v>(
        &self,
        column: usize,
        values: impl Iterator<Item = Option<&'v str>>,
    ) -> Result<()> {
        let null = self.sink.format.null.as_str();
        match values.enumerate().find(|(_, v)| *v == Some(null)) {
            None => Ok(()),
            Some((i, _)) => Err(Error::new(
                ErrorKind::InvalidData,
                format!(
                    "{}, column \"{}\", row {}: the value equals the null string '{null}' and would read back as NULL; \
                     choose another null string with ?null=...",
                    self.ctx(),
                    self.text_schema.field(column).name(),
                    self.rows + i as u64 + 1
                ),
            )),
        }
    }

    /// The batch as arrow-csv is to write it.
    fn encode(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let mut columns = Vec::with_capacity(batch.num_columns());
        for (i, (column, encoder)) in batch.columns().iter().zip(&self.encoders).enumerate() {
            let text: ArrayRef = match encoder {
                Encoder::Native => column.clone(),
                Encoder::Text => {
                    match column.data_type() {
                        DataType::Utf8 => {
                            self.refuse_null_text(i, column.as_string::<i32>().iter())?
                        }
                        DataType::LargeUtf8 => {
                            self.refuse_null_text(i, column.as_string::<i64>().iter())?
                        }
                        _ => self.refuse_null_text(i, column.as_string_view().iter())?,
                    }
                    column.clone()
                }
                Encoder::Hex => {
                    let hex: StringArray = match column.data_type() {
                        DataType::Binary => column
                            .as_binary::<i32>()
                            .iter()
                            .map(|v| v.map(hex::encode))
                            .collect(),
                        DataType::LargeBinary => column
                            .as_binary::<i64>()
                            .iter()
                            .map(|v| v.map(hex::encode))
                            .collect(),
                        DataType::BinaryView => column
                            .as_binary_view()
                            .iter()
                            .map(|v| v.map(hex::encode))
                            .collect(),
                        _ => column
                            .as_fixed_size_binary()
                            .iter()
                            .map(|v| v.map(hex::encode))
                            .collect(),
                    };
                    self.refuse_null_text(i, hex.iter())?;
                    Arc::new(hex)
                }
                Encoder::Decimal { precision, scale } => {
                    let values: Vec<Option<i256>> = match column.data_type() {
                        DataType::Decimal128(..) => column
                            .as_primitive::<Decimal128Type>()
                            .iter()
                            .map(|v| v.map(i256::from_i128))
                            .collect(),
                        _ => column.as_primitive::<Decimal256Type>().iter().collect(),
                    };
                    let mut text = Vec::with_capacity(values.len());
                    for (row, v) in values.into_iter().enumerate() {
                        if v.is_some_and(|v| decimal::digits(v) > *precision as usize) {
                            return Err(Error::new(
                                ErrorKind::InvalidData,
                                format!(
                                    "{}, column \"{}\", row {}: the value has more digits than its type {} allows",
                                    self.ctx(),
                                    self.text_schema.field(i).name(),
                                    self.rows + row as u64 + 1,
                                    column.data_type()
                                ),
                            ));
                        }
                        text.push(v.map(|v| decimal::format(v, *scale)));
                    }
                    Arc::new(StringArray::from(text))
                }
                Encoder::Utc(t) => {
                    let data = column.to_data().into_builder().data_type(t.clone()).build();
                    make_array(data.map_err(|e| Error::arrow(self.ctx(), e))?)
                }
            };
            // A one-column record of one empty field is written `""`, which reads back as text.
            if batch.num_columns() == 1
                && self.sink.format.null.is_empty()
                && column.null_count() > 0
            {
                let row = (0..column.len()).find(|&r| column.is_null(r)).unwrap_or(0);
                return Err(Error::new(
                    ErrorKind::InvalidData,
                    format!(
                        "{}, row {}: a NULL in a one-column table cannot be written with an empty null string; \
                         choose one with ?null=...",
                        self.ctx(),
                        self.rows + row as u64 + 1
                    ),
                ));
            }
            columns.push(specials_as_text(text).map_err(|e| Error::arrow(self.ctx(), e))?);
        }
        // A column with special values is text in this batch only; the header is the same.
        let fields = self.text_schema.fields().iter().zip(&columns);
        let schema = Schema::new(
            fields
                .map(|(f, c)| f.as_ref().clone().with_data_type(c.data_type().clone()))
                .collect::<Vec<_>>(),
        );
        RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| Error::arrow(self.ctx(), e))
    }

    fn open_file(&mut self) -> Result<&mut OpenFile> {
        if self.current.is_none() {
            let path = match &self.single {
                Some(tmp) => tmp.clone(),
                None => self.dir.join(format!("part-{:05}.csv", self.done.len())),
            };
            let out = HashingWriter::create(&path)?;
            self.current = Some(OpenFile {
                path,
                out,
                bytes: 0,
                rows: 0,
                started: false,
            });
        }
        self.current
            .as_mut()
            .ok_or_else(|| Error::internal("no open file"))
    }

    /// Writes an encoded batch to the open file, with the header first.
    fn write_text(&mut self, text: &RecordBatch) -> Result<()> {
        let ctx = self.ctx();
        let header = self.sink.format.header;
        let builder = self.builder.clone();
        let f = self.open_file()?;
        let mut out = Counting {
            inner: &mut f.out,
            bytes: 0,
        };
        let mut writer = builder.with_header(header && !f.started).build(&mut out);
        writer.write(text).map_err(|e| Error::arrow(ctx, e))?;
        drop(writer);
        f.bytes += out.bytes;
        f.rows += text.num_rows() as u64;
        f.started = true;
        Ok(())
    }

    fn close_file(&mut self) -> Result<()> {
        if let Some(f) = self.current.take() {
            let (bytes, sha) = f.out.close().map_err(|e| Error::io(self.ctx(), e))?;
            self.done.push((f.path, bytes, sha, f.rows));
        }
        Ok(())
    }
}

impl CsvTableWriter<'_> {
    /// After arrow-csv failed to write `text`: the cell it could not format (a date or
    /// timestamp in a year past 262143, where chrono stops; the special values are written as
    /// text), as an error naming the column, the source row and the value; `None` if no cell
    /// fails to format.
    fn unwritable(&self, text: &RecordBatch, origin: &crate::source::Origin) -> Option<Error> {
        use arrow::util::display::{ArrayFormatter, FormatOptions};
        let options = FormatOptions::default();
        for (col, field) in text.columns().iter().zip(text.schema().fields()) {
            if !col.data_type().is_temporal() {
                continue;
            }
            let Ok(formatter) = ArrayFormatter::try_new(col.as_ref(), &options) else {
                continue;
            };
            for r in (0..col.len()).filter(|&r| col.is_valid(r)) {
                if special_text(col.as_ref(), r).is_some()
                    || formatter.value(r).try_to_string().is_ok()
                {
                    continue;
                }
                let value = crate::transform::describe_value(col.as_ref(), r);
                return Some(Error::invalid_data(format!(
                    "{}, column \"{}\", {}: the value {value} has no CSV text: a date, time or \
                     timestamp beyond what the CSV writer formats (years past 262143); \
                     write this table to Parquet, SQLite or a database, \
                     which keep it",
                    self.ctx(),
                    field.name(),
                    origin.row(r)
                )));
            }
        }
        None
    }
}

impl TableWriter for CsvTableWriter<'_> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let origin = crate::source::Origin {
            first_row: self.rows,
            ..Default::default()
        };
        self.write_from(batch, &origin)
    }

    fn write_from(&mut self, batch: &RecordBatch, origin: &crate::source::Origin) -> Result<()> {
        let text = self.encode(batch)?;
        if let Err(e) = self.write_text(&text) {
            return Err(self.unwritable(&text, origin).unwrap_or(e));
        }
        self.rows += batch.num_rows() as u64;
        let full = self
            .current
            .as_ref()
            .is_some_and(|f| f.bytes >= self.sink.file_bytes);
        if self.single.is_none() && full {
            self.close_file()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<WriteStats> {
        if self.current.is_none() && self.done.is_empty() {
            // An empty table still gets a file, with its header.
            self.write_text(&RecordBatch::new_empty(self.text_schema.clone()))?;
        }
        self.close_file()?;
        let bytes = self.done.iter().map(|f| f.1).sum();
        let files: Vec<PathBuf> = self.done.iter().map(|f| f.0.clone()).collect();
        self.sink.target.finish_table(
            &self.table,
            self.mode,
            self.staged.clone(),
            &mut self.done,
            self.single.as_deref(),
        )?;
        Ok(WriteStats {
            rows: self.rows,
            bytes,
            files,
            ..Default::default()
        })
    }
}

impl Drop for CsvTableWriter<'_> {
    fn drop(&mut self) {
        // Not finished: remove what was written.
        if let Some(f) = self.current.take() {
            let _ = fs::remove_file(&f.path);
        }
        for (path, ..) in &self.done {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use arrow::array::*;
    use arrow::compute::concat_batches;
    use arrow::datatypes::{ArrowPrimitiveType, Float16Type, TimeUnit};

    use super::*;
    use crate::source::csv::CsvSource;
    use crate::source::{BatchLimits, Source, TableRef};
    use crate::types::field_with_source;

    /// arrow's half-precision float (the `half` crate is not a dependency of ferry).
    type F16 = <Float16Type as ArrowPrimitiveType>::Native;

    fn endpoint(path: &Path, query: &str) -> Endpoint {
        format!("csv://{}{query}", path.display()).parse().unwrap()
    }

    fn d256(s: &str, scale: i8) -> i256 {
        decimal::parse_exact(s, 76, scale).unwrap()
    }

    /// Every type the sink writes, with the values that break naive CSV.
    fn hard_batch() -> RecordBatch {
        let bytes: Vec<u8> = (0..=255).collect();
        let us = TimeUnit::Microsecond;
        let text = vec![
            Some(""),
            None,
            Some("crab 🦀, e\u{301}, 漢字"),
            Some("a,b \"quoted\" ; tab\tend\nline two\r\nthree"),
            Some("\\n \\\\N N NULL null"),
            Some("  spaced  "),
        ];
        let columns: Vec<(Field, ArrayRef)> = vec![
            (
                Field::new("n", DataType::Null, true),
                Arc::new(NullArray::new(6)),
            ),
            (
                Field::new("b", DataType::Boolean, true),
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    Some(false),
                    None,
                    Some(true),
                    Some(false),
                    None,
                ])),
            ),
            (
                Field::new("i8", DataType::Int8, true),
                Arc::new(Int8Array::from(vec![
                    Some(i8::MIN),
                    Some(i8::MAX),
                    None,
                    Some(0),
                    Some(-1),
                    Some(1),
                ])),
            ),
            (
                Field::new("i16", DataType::Int16, true),
                Arc::new(Int16Array::from(vec![
                    Some(i16::MIN),
                    Some(i16::MAX),
                    None,
                    Some(0),
                    Some(-1),
                    Some(1),
                ])),
            ),
            (
                Field::new("i32", DataType::Int32, true),
                Arc::new(Int32Array::from(vec![
                    Some(i32::MIN),
                    Some(i32::MAX),
                    None,
                    Some(0),
                    Some(-1),
                    Some(1),
                ])),
            ),
            (
                field_with_source("i64", DataType::Int64, true, "sqlite", "BIGINT"),
                Arc::new(Int64Array::from(vec![
                    Some(i64::MIN),
                    Some(i64::MAX),
                    None,
                    Some(0),
                    Some(-1),
                    Some(1),
                ])),
            ),
            (
                Field::new("u8", DataType::UInt8, true),
                Arc::new(UInt8Array::from(vec![
                    Some(u8::MAX),
                    Some(0),
                    None,
                    Some(1),
                    Some(2),
                    Some(3),
                ])),
            ),
            (
                Field::new("u16", DataType::UInt16, true),
                Arc::new(UInt16Array::from(vec![
                    Some(u16::MAX),
                    Some(0),
                    None,
                    Some(1),
                    Some(2),
                    Some(3),
                ])),
            ),
            (
                Field::new("u32", DataType::UInt32, true),
                Arc::new(UInt32Array::from(vec![
                    Some(u32::MAX),
                    Some(0),
                    None,
                    Some(1),
                    Some(2),
                    Some(3),
                ])),
            ),
            (
                Field::new("u64", DataType::UInt64, false),
                Arc::new(UInt64Array::from(vec![u64::MAX, 0, 7, 1, 2, 3])),
            ),
            (
                Field::new("f16", DataType::Float16, true),
                Arc::new(PrimitiveArray::<Float16Type>::from(vec![
                    Some(F16::NAN),
                    Some(F16::MAX),
                    None,
                    Some(F16::NEG_INFINITY),
                    Some(F16::from_f32(-0.0)),
                    Some(F16::MIN_POSITIVE_SUBNORMAL),
                ])),
            ),
            (
                Field::new("f32", DataType::Float32, true),
                Arc::new(Float32Array::from(vec![
                    Some(f32::NAN),
                    Some(f32::INFINITY),
                    None,
                    Some(-0.0),
                    Some(0.1),
                    Some(f32::MIN_POSITIVE),
                ])),
            ),
            (
                Field::new("f64", DataType::Float64, true),
                Arc::new(Float64Array::from(vec![
                    Some(f64::NAN),
                    Some(f64::NEG_INFINITY),
                    None,
                    Some(-0.0),
                    Some(0.1 + 0.2),
                    Some(5e-324),
                ])),
            ),
            (
                Field::new("f64b", DataType::Float64, true),
                Arc::new(Float64Array::from(vec![
                    Some(f64::INFINITY),
                    Some(f64::MAX),
                    Some(f64::MIN),
                    Some(1e300),
                    Some(-1.5e-7),
                    Some(123456789.0),
                ])),
            ),
            (
                field_with_source(
                    "d15",
                    DataType::Decimal128(15, 2),
                    true,
                    "sqlite",
                    "DECIMAL(15,2)",
                ),
                Arc::new(
                    Decimal128Array::from(vec![
                        Some(9_999_999_999_999),
                        Some(-9_999_999_999_999),
                        None,
                        Some(0),
                        Some(-5),
                        Some(100),
                    ])
                    .with_precision_and_scale(15, 2)
                    .unwrap(),
                ),
            ),
            (
                Field::new("d40", DataType::Decimal256(40, 20), true),
                Arc::new(
                    Decimal256Array::from(vec![
                        Some(d256("12345678901234567890.12345678901234567890", 20)),
                        Some(d256("-99999999999999999999.99999999999999999999", 20)),
                        None,
                        Some(d256("0", 20)),
                        Some(d256("-0.00000000000000000001", 20)),
                        Some(d256("1", 20)),
                    ])
                    .with_precision_and_scale(40, 20)
                    .unwrap(),
                ),
            ),
            (
                field_with_source("s", DataType::Utf8, true, "sqlite", "TEXT"),
                Arc::new(StringArray::from(text.clone())),
            ),
            (
                Field::new("ls", DataType::LargeUtf8, true),
                Arc::new(LargeStringArray::from(text.clone())),
            ),
            (
                Field::new("sv", DataType::Utf8View, true),
                Arc::new(StringViewArray::from(text)),
            ),
            (
                Field::new("bin", DataType::Binary, true),
                Arc::new(BinaryArray::from(vec![
                    Some(&bytes[..]),
                    Some(&b""[..]),
                    None,
                    Some(&b"\\N"[..]),
                    Some(&[0u8][..]),
                    Some(&[255u8][..]),
                ])),
            ),
            (
                Field::new("lbin", DataType::LargeBinary, true),
                Arc::new(LargeBinaryArray::from(vec![
                    Some(&bytes[..]),
                    Some(&b""[..]),
                    None,
                    Some(&b"x"[..]),
                    Some(&[0u8][..]),
                    Some(&[255u8][..]),
                ])),
            ),
            (
                Field::new("bv", DataType::BinaryView, true),
                Arc::new(BinaryViewArray::from(vec![
                    Some(&bytes[..]),
                    Some(&b""[..]),
                    None,
                    Some(&b"x"[..]),
                    Some(&[0u8][..]),
                    Some(&[255u8][..]),
                ])),
            ),
            (
                Field::new("fsb", DataType::FixedSizeBinary(2), true),
                Arc::new(
                    FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                        vec![
                            Some([0u8, 255]),
                            Some([1, 2]),
                            None,
                            Some([0, 0]),
                            Some([255, 255]),
                            Some([16, 32]),
                        ]
                        .into_iter(),
                        2,
                    )
                    .unwrap(),
                ),
            ),
            (
                Field::new("date", DataType::Date32, true),
                Arc::new(Date32Array::from(vec![
                    Some(-719_162),
                    Some(2_932_896),
                    None,
                    Some(-1),
                    Some(0),
                    Some(-25_567),
                ])),
            ),
            (
                Field::new("date64", DataType::Date64, true),
                Arc::new(Date64Array::from(vec![
                    Some(-86_400_000),
                    Some(0),
                    None,
                    Some(1_700_000_000_000),
                    Some(86_400_000),
                    Some(-62_135_596_800_000),
                ])),
            ),
            (
                Field::new("t32s", DataType::Time32(TimeUnit::Second), true),
                Arc::new(Time32SecondArray::from(vec![
                    Some(0),
                    Some(86_399),
                    None,
                    Some(1),
                    Some(3600),
                    Some(45_296),
                ])),
            ),
            (
                Field::new("t32ms", DataType::Time32(TimeUnit::Millisecond), true),
                Arc::new(Time32MillisecondArray::from(vec![
                    Some(0),
                    Some(86_399_999),
                    None,
                    Some(1),
                    Some(1000),
                    Some(45_296_789),
                ])),
            ),
            (
                Field::new("t64us", DataType::Time64(us), true),
                Arc::new(Time64MicrosecondArray::from(vec![
                    Some(0),
                    Some(86_399_999_999),
                    None,
                    Some(1),
                    Some(1_000),
                    Some(45_296_000_001),
                ])),
            ),
            (
                Field::new("t64ns", DataType::Time64(TimeUnit::Nanosecond), true),
                Arc::new(Time64NanosecondArray::from(vec![
                    Some(0),
                    Some(86_399_999_999_999),
                    None,
                    Some(1),
                    Some(1_000),
                    Some(45_296_000_000_001),
                ])),
            ),
            (
                Field::new("ts", DataType::Timestamp(us, None), true),
                Arc::new(TimestampMicrosecondArray::from(vec![
                    Some(-1),
                    Some(-14_182_940_000_001),
                    None,
                    Some(0),
                    Some(1_700_000_000_123_456),
                    Some(253_402_300_799_999_999),
                ])),
            ),
            (
                Field::new("tsz", DataType::Timestamp(us, Some("+05:30".into())), true),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        Some(-1),
                        Some(-14_182_940_000_001),
                        None,
                        Some(0),
                        Some(1_700_000_000_123_456),
                        Some(1),
                    ])
                    .with_timezone("+05:30"),
                ),
            ),
            (
                Field::new("tsutc", DataType::Timestamp(us, Some("UTC".into())), true),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        Some(-1),
                        Some(0),
                        None,
                        Some(1),
                        Some(1_700_000_000_123_456),
                        Some(2),
                    ])
                    .with_timezone("UTC"),
                ),
            ),
            (
                Field::new("tss", DataType::Timestamp(TimeUnit::Second, None), true),
                Arc::new(TimestampSecondArray::from(vec![
                    Some(-1),
                    Some(0),
                    None,
                    Some(1),
                    Some(1_700_000_000),
                    Some(-62_135_596_800),
                ])),
            ),
            (
                Field::new(
                    "tsns",
                    DataType::Timestamp(TimeUnit::Nanosecond, Some("-08:00".into())),
                    true,
                ),
                Arc::new(
                    TimestampNanosecondArray::from(vec![
                        Some(-1),
                        Some(i64::MAX),
                        None,
                        Some(1),
                        Some(i64::MIN + 1),
                        Some(2),
                    ])
                    .with_timezone("-08:00"),
                ),
            ),
        ];
        let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
        let meta = HashMap::from([("ferry.test".to_string(), "schema metadata".to_string())]);
        RecordBatch::try_new(Arc::new(Schema::new_with_metadata(fields, meta)), arrays).unwrap()
    }

    fn write(path: &Path, query: &str, table: &str, batches: &[RecordBatch]) -> Result<WriteStats> {
        let sink = CsvSink::try_new(&endpoint(path, query))?;
        let mut w = sink.prepare(table, &batches[0].schema(), IfExists::Fail)?;
        for b in batches {
            w.write(b)?;
        }
        let stats = w.finish()?;
        sink.commit()?;
        Ok(stats)
    }

    fn read(path: &Path, query: &str, table: &str) -> Result<RecordBatch> {
        let source = CsvSource::try_new(
            &endpoint(path, query),
            BatchLimits {
                rows: 4,
                bytes: 1 << 20,
            },
        )?;
        let plan = source.plan(&TableRef::Table(table.into()))?;
        let mut batches = Vec::new();
        for p in &plan.partitions {
            for b in source.open(&plan, p)? {
                batches.push(b?);
            }
        }
        Ok(concat_batches(&plan.schema, &batches).unwrap())
    }

    /// Equal schemas (with metadata) and values; floats by bit pattern, so NaN and -0.0 count.
    fn assert_same(want: &RecordBatch, got: &RecordBatch) {
        assert_eq!(want.schema(), got.schema());
        assert_eq!(want.num_rows(), got.num_rows());
        for (i, (w, g)) in want.columns().iter().zip(got.columns()).enumerate() {
            let name = want.schema().field(i).name().clone();
            match w.data_type() {
                DataType::Float64 => {
                    let bits = |a: &ArrayRef| {
                        a.as_primitive::<arrow::datatypes::Float64Type>()
                            .iter()
                            .map(|v| v.map(f64::to_bits))
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(bits(w), bits(g), "column {name}");
                }
                DataType::Float32 => {
                    let bits = |a: &ArrayRef| {
                        a.as_primitive::<arrow::datatypes::Float32Type>()
                            .iter()
                            .map(|v| v.map(f32::to_bits))
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(bits(w), bits(g), "column {name}");
                }
                DataType::Float16 => {
                    let bits = |a: &ArrayRef| {
                        a.as_primitive::<Float16Type>()
                            .iter()
                            .map(|v| v.map(F16::to_bits))
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(bits(w), bits(g), "column {name}");
                }
                _ => assert_eq!(w.as_ref(), g.as_ref(), "column {name}"),
            }
        }
    }

    #[test]
    fn hard_types_round_trip_through_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("snap");
        let batch = hard_batch();
        // Two batches and a small file size: several files, each with its header.
        let stats = write(
            &snap,
            "?file_bytes=100",
            "hard",
            &[batch.clone(), batch.slice(2, 3)],
        )
        .unwrap();
        assert_eq!(stats.rows, 9);
        assert_eq!(stats.files.len(), 2);
        let first = fs::read_to_string(snap.join("hard/part-00000.csv")).unwrap();
        let second = fs::read_to_string(snap.join("hard/part-00001.csv")).unwrap();
        assert!(
            first.starts_with("n,b,i8,") && second.starts_with("n,b,i8,"),
            "{first}"
        );
        assert!(!snap.join(crate::snapshot::INCOMPLETE).exists());
        let got = read(&snap, "", "hard").unwrap();
        let want = concat_batches(&batch.schema(), &[batch.clone(), batch.slice(2, 3)]).unwrap();
        assert_same(&want, &got);
    }

    /// PostgreSQL's special values (±infinity dates and timestamps, `24:00:00`) are written as
    /// PostgreSQL's text, next to ordinary values written as every other value, and read back
    /// as the same values; a batch without them keeps arrow's native forms.
    #[test]
    fn special_values_round_trip_as_postgresql_text() {
        use crate::types::temporal::*;
        let us = TimeUnit::Microsecond;
        let schema = Arc::new(Schema::new(vec![
            Field::new("d", DataType::Date32, true),
            Field::new("ts", DataType::Timestamp(us, None), true),
            Field::new("tsz", DataType::Timestamp(us, Some("+00:00".into())), true),
            Field::new("t", DataType::Time64(us), true),
            Field::new("tn", DataType::Time64(TimeUnit::Nanosecond), true),
        ]));
        let specials = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Date32Array::from(vec![
                    Some(DATE_INFINITY),
                    Some(DATE_NEG_INFINITY),
                    None,
                    Some(-719_162),
                ])),
                Arc::new(TimestampMicrosecondArray::from(vec![
                    Some(TS_NEG_INFINITY),
                    None,
                    Some(1_500_000),
                    Some(TS_INFINITY),
                ])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        Some(TS_INFINITY),
                        Some(-1),
                        Some(TS_NEG_INFINITY),
                        None,
                    ])
                    .with_timezone("+00:00"),
                ),
                Arc::new(Time64MicrosecondArray::from(vec![
                    Some(86_400_000_000),
                    Some(0),
                    None,
                    Some(86_399_999_999),
                ])),
                Arc::new(Time64NanosecondArray::from(vec![
                    None,
                    Some(86_400_000_000_000),
                    Some(1),
                    Some(0),
                ])),
            ],
        )
        .unwrap();
        let plain = specials.slice(2, 2);
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("snap");
        write(&snap, "", "s", &[specials.clone(), plain.clone()]).unwrap();
        let text = fs::read_to_string(snap.join("s/part-00000.csv")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "d,ts,tsz,t,tn",
                "infinity,-infinity,infinity,24:00:00,\\N",
                "-infinity,\\N,1969-12-31T23:59:59.999999+00:00,00:00:00,24:00:00",
                "\\N,1970-01-01T00:00:01.500,-infinity,\\N,00:00:00.000000001",
                "0001-01-01,infinity,\\N,23:59:59.999999,00:00:00",
                "\\N,1970-01-01T00:00:01.500,-infinity,\\N,00:00:00.000000001",
                "0001-01-01,infinity,\\N,23:59:59.999999,00:00:00",
            ]
        );
        let got = read(&snap, "", "s").unwrap();
        let want = concat_batches(&schema, &[specials, plain]).unwrap();
        assert_same(&want, &got);
    }

    #[test]
    fn text_forms_are_plain_and_exact() {
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("snap");
        write(&snap, "", "hard", &[hard_batch()]).unwrap();
        let text = fs::read_to_string(snap.join("hard/part-00000.csv")).unwrap();
        for expected in [
            "-9223372036854775808",
            "99999999999.99",
            "-0.05",
            "0.00",
            "12345678901234567890.12345678901234567890",
            "-0.00000000000000000001",
            "1.00000000000000000000",
            "NaN",
            "-inf",
            "-0.0",
            "0.30000000000000004",
            "0001-01-01",
            "1969-12-31",
            "1969-07-20T20:17:39.999999",
            "2023-11-15T03:43:20.123456+05:30",
            "1970-01-01T00:00:00.000001+00:00",
            "23:59:59.999999",
            "\"a,b \"\"quoted\"\" ; tab\tend\nline two\r\nthree\"",
            &hex::encode((0..=255u8).collect::<Vec<_>>()),
        ] {
            assert!(text.contains(expected), "{expected} not in\n{text}");
        }
    }

    #[test]
    fn single_file_target_and_dialect_options() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.csv");
        let hard = hard_batch();
        let batch = hard.project(&[5, 13, 14, 16, 23]).unwrap(); // i64, f64b, d15, s, date
        let q = "?delimiter=%3B&quote=%27&null=NULL&header=false";
        write(&file, q, "hard", std::slice::from_ref(&batch)).unwrap();
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.csv")]);
        let text = fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("-9223372036854775808;inf;99999999999.99;;0001-01-01\n"),
            "{text}"
        );
        assert!(
            text.contains(";'a,b \"quoted\" ; tab\tend\nline two\r\nthree';"),
            "{text}"
        );
        // Without a manifest the types are inferred (names too, without a header); every value
        // comes back, the decimals as Float64.
        let got = read(&file, q, "out").unwrap();
        let types: Vec<DataType> = got
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            [
                DataType::Int64,
                DataType::Float64,
                DataType::Float64,
                DataType::Utf8,
                DataType::Date32
            ]
        );
        assert_eq!(got.schema().field(3).name(), "column_4");
        for i in [0, 3, 4] {
            assert_eq!(
                got.column(i).as_ref(),
                batch.column(i).as_ref(),
                "column {i}"
            );
        }
        let decimals_as_floats = arrow::compute::cast(batch.column(2), &DataType::Float64).unwrap();
        assert_eq!(got.column(2).as_ref(), decimals_as_floats.as_ref());
        let bits = |a: &ArrayRef| {
            a.as_primitive::<arrow::datatypes::Float64Type>()
                .iter()
                .map(|v| v.map(f64::to_bits))
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(got.column(1)), bits(batch.column(1)));
    }

    #[test]
    fn a_value_equal_to_the_null_string_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int32, false),
            Field::new("note", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int32Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![Some("a"), None, Some("\\N")])),
            ],
        )
        .unwrap();
        let e = write(
            &dir.path().join("snap"),
            "",
            "t",
            std::slice::from_ref(&batch),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidData);
        assert_eq!(
            e.to_string(),
            format!(
                "csv://{}: table \"t\", column \"note\", row 3: the value equals the null string '\\N' and would read \
                 back as NULL; choose another null string with ?null=...",
                dir.path().join("snap").display()
            )
        );
        assert!(
            !dir.path().join("snap").exists(),
            "an aborted new snapshot leaves nothing"
        );
        // Another null string carries it.
        write(
            &dir.path().join("snap"),
            "?null=NULL",
            "t",
            std::slice::from_ref(&batch),
        )
        .unwrap();
        assert_eq!(read(&dir.path().join("snap"), "", "t").unwrap(), batch);
        // A null string that a non-text column could hold is refused before any row.
        let e = write(&dir.path().join("other"), "?null=1", "t", &[batch]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArguments);
        assert!(
            e.to_string()
                .contains("'1' is also a Int32 value of column \"id\""),
            "{e}"
        );
    }

    #[test]
    fn unsupported_types_are_refused_at_prepare() {
        let dir = tempfile::tempdir().unwrap();
        let sink = CsvSink::try_new(&endpoint(&dir.path().join("snap"), "")).unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int32, false),
            Field::new("tags", DataType::new_list(DataType::Utf8, true), true),
        ]));
        let e = sink.prepare("t", &schema, IfExists::Fail).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert_eq!(
            crate::error::Error::chain(&e),
            format!(
                "csv://{}: table \"t\": column \"tags\" has type List(Field {{ name: \"item\", data_type: Utf8, nullable: true, dict_id: 0, dict_is_ordered: false, metadata: {{}} }}): CSV cannot carry values of type List(Field {{ name: \"item\", data_type: Utf8, nullable: true, dict_id: 0, dict_is_ordered: false, metadata: {{}} }})",
                dir.path().join("snap").display()
            )
        );
    }

    #[test]
    fn if_exists_and_unfinished_writers() {
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("snap");
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let batch = |v: Vec<i64>| {
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(v))]).unwrap()
        };
        write(&snap, "", "t", &[batch(vec![1, 2])]).unwrap();

        let sink = CsvSink::try_new(&endpoint(&snap, "")).unwrap();
        let e = sink.prepare("t", &schema, IfExists::Fail).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        // Dropped without finish: its files are gone, the table is as it was.
        let mut w = sink.prepare("t", &schema, IfExists::Replace).unwrap();
        w.write(&batch(vec![9])).unwrap();
        drop(w);
        let mut w = sink.prepare("t", &schema, IfExists::Append).unwrap();
        w.write(&batch(vec![3])).unwrap();
        w.finish().unwrap();
        sink.commit().unwrap();
        drop(sink);
        assert_eq!(read(&snap, "", "t").unwrap(), batch(vec![1, 2, 3]));

        // Appending in another dialect is refused; replacing is not.
        let sink = CsvSink::try_new(&endpoint(&snap, "?delimiter=%3B")).unwrap();
        let e = sink.prepare("t", &schema, IfExists::Append).err().unwrap();
        assert!(
            e.to_string()
                .contains("was written with header=true delimiter=','"),
            "{e}"
        );
        let mut w = sink.prepare("t", &schema, IfExists::Replace).unwrap();
        w.write(&batch(vec![4])).unwrap();
        w.finish().unwrap();
        sink.commit().unwrap();
        assert_eq!(read(&snap, "", "t").unwrap(), batch(vec![4]));
        assert_eq!(read(&snap, "", "t").unwrap().schema(), schema);
        let e = read(&snap, "?delimiter=%7C", "t").unwrap_err();
        assert!(
            e.to_string()
                .contains("was written with delimiter=';', not '|'"),
            "{e}"
        );

        // A single file: an unfinished writer leaves no file.
        let file = dir.path().join("one.csv");
        let sink = CsvSink::try_new(&endpoint(&file, "")).unwrap();
        let mut w = sink.prepare("t", &schema, IfExists::Fail).unwrap();
        w.write(&batch(vec![1])).unwrap();
        drop(w);
        drop(sink);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "only the snapshot"
        );
    }

    #[test]
    fn empty_tables_keep_their_header_and_describe_names_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("snap");
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Utf8, true),
        ]));
        write(
            &snap,
            "",
            "empty",
            &[RecordBatch::new_empty(schema.clone())],
        )
        .unwrap();
        assert_eq!(
            fs::read_to_string(snap.join("empty/part-00000.csv")).unwrap(),
            "a,b\n"
        );
        assert_eq!(
            read(&snap, "", "empty").unwrap(),
            RecordBatch::new_empty(schema.clone())
        );
        let sink = CsvSink::try_new(&endpoint(&snap, "")).unwrap();
        assert_eq!(
            sink.describe_target("t", &schema).unwrap(),
            format!("{}/t/part-*.csv (CSV header=true delimiter=',' quote='\"' null='\\N')\n  a Int64\n  b Utf8", snap.display())
        );
    }
}
