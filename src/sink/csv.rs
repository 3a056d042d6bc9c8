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
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::array::timezone::Tz;
use arrow::array::{make_array, Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::csv::WriterBuilder;
use arrow::datatypes::{i256, DataType, Decimal128Type, Decimal256Type, Field, Schema, SchemaRef};

use super::{IfExists, Sink, TableWriter, WriteStats};
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::snapshot::{HashingWriter, Manifest, SnapshotDir};
use crate::source::csv::{check_readable, decode_column, CsvFormat};
use crate::types::decimal;

enum Target {
    Snapshot(SnapshotDir),
    /// A single file: its path and, once written, its temporary file.
    File {
        path: PathBuf,
        pending: Mutex<Option<(PathBuf, IfExists)>>,
    },
}

/// Writes tables to CSV.
pub struct CsvSink {
    name: String,
    target: Target,
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
        let target = if path
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("csv"))
        {
            Target::File {
                path: path.clone(),
                pending: Mutex::new(None),
            }
        } else {
            if path.is_dir() {
                if let Some(m) = Manifest::load(path)? {
                    if m.file_format != "csv" {
                        return Err(Error::invalid_args(format!(
                            "{name}: the snapshot holds {} files; CSV tables cannot join it",
                            m.file_format
                        )));
                    }
                }
            }
            Target::Snapshot(SnapshotDir::open(path, "csv")?)
        };
        Ok(CsvSink {
            name,
            target,
            format,
            file_bytes,
        })
    }

    /// Refuses to append in another dialect than the table's files were written in.
    fn check_append(&self, table: &str) -> Result<()> {
        let Target::Snapshot(s) = &self.target else {
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

fn writer_builder(format: &CsvFormat) -> WriterBuilder {
    // Explicit forms, each parsed back exactly by the CSV source: `%.f` prints as many
    // fractional digits as the value needs (none, 3, 6 or 9), and zoned values carry their offset.
    WriterBuilder::new()
        .with_delimiter(format.delimiter)
        .with_quote(format.quote)
        .with_null(format.null.clone())
        .with_date_format("%Y-%m-%d".into())
        .with_datetime_format("%Y-%m-%dT%H:%M:%S%.f".into())
        .with_timestamp_format("%Y-%m-%dT%H:%M:%S%.f".into())
        .with_timestamp_tz_format("%Y-%m-%dT%H:%M:%S%.f%:z".into())
        .with_time_format("%H:%M:%S%.f".into())
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
        let at = match &self.target {
            Target::Snapshot(s) => s.root().join(table).display().to_string() + "/part-*.csv",
            Target::File { path, .. } => path.display().to_string(),
        };
        Ok(format!("{at} (CSV {})\n{}", self.format, cols.join("\n")))
    }

    fn exists(&self, table: &str) -> Result<bool> {
        match &self.target {
            Target::Snapshot(s) => s.exists(table),
            Target::File { path, .. } => Ok(path.exists()),
        }
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
        if mode == IfExists::Fail && self.exists(table)? {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{ctx} exists (use --if-exists replace or append)"),
            ));
        }
        if mode == IfExists::Append {
            self.check_append(table)?;
        }
        let (dir, single) = match &self.target {
            Target::Snapshot(s) => (s.staging_dir(table)?, None),
            Target::File { path, pending } => {
                if mode == IfExists::Append && path.exists() {
                    return Err(Error::unsupported(format!(
                        "{}: cannot append to a single CSV file; write to a directory",
                        self.name
                    )));
                }
                let taken = pending
                    .lock()
                    .map_err(|_| Error::internal("lock"))?
                    .is_some();
                if taken {
                    return Err(Error::invalid_args(format!(
                        "{}: a single .csv file holds one table; give a directory for several",
                        self.name
                    )));
                }
                let dir = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let tmp = dir.join(format!(
                    ".{}.ferry-tmp",
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                ));
                (dir.to_path_buf(), Some(tmp))
            }
        };
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
        match &self.target {
            Target::Snapshot(s) => s.commit(),
            Target::File { path, pending } => {
                let pending = pending.lock().map_err(|_| Error::internal("lock"))?.take();
                if let Some((tmp, mode)) = pending {
                    if mode == IfExists::Fail && path.exists() {
                        let _ = fs::remove_file(&tmp);
                        return Err(Error::new(
                            ErrorKind::AlreadyExists,
                            format!("{}: exists", self.name),
                        ));
                    }
                    fs::rename(&tmp, path)
                        .map_err(|e| Error::io(format!("{}: cannot rename", self.name), e))?;
                }
                Ok(())
            }
        }
    }
}

impl Drop for CsvSink {
    fn drop(&mut self) {
        if let Target::File { pending, .. } = &self.target {
            if let Ok(mut p) = pending.lock() {
                if let Some((tmp, _)) = p.take() {
                    let _ = fs::remove_file(tmp);
                }
            }
        }
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
    done: Vec<(PathBuf, u64, String, u64)>,
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
            columns.push(text);
        }
        RecordBatch::try_new(self.text_schema.clone(), columns)
            .map_err(|e| Error::arrow(self.ctx(), e))
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

impl TableWriter for CsvTableWriter<'_> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let text = self.encode(batch)?;
        self.write_text(&text)?;
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
        match &self.sink.target {
            Target::Snapshot(s) => s.stage(
                &self.table,
                self.mode,
                self.staged.clone(),
                std::mem::take(&mut self.done),
            )?,
            Target::File { pending, .. } => {
                let tmp = self
                    .single
                    .clone()
                    .ok_or_else(|| Error::internal("no temporary file"))?;
                *pending.lock().map_err(|_| Error::internal("lock"))? = Some((tmp, self.mode));
                self.done.clear();
            }
        }
        Ok(WriteStats {
            rows: self.rows,
            bytes,
            files,
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
