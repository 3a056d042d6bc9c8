//! Parquet sink: zstd by default, a configurable row-group size, a new file past a size. A
//! directory target is a snapshot (see [`crate::snapshot`]); a `.parquet` file target holds one
//! table, written under a temporary name and renamed at the end. Into a snapshot, a table is
//! written chunk by chunk (one source partition's files, then its record, see
//! [`crate::snapshot::ChunkStore`]), so a killed run is continued by `--resume`.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::{ChunkPlan, IfExists, Sink, TableWriter, WriteStats};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::snapshot::{ChunkRecord, ChunkStore, FileEntry, FileTarget, HashingWriter, WrittenFile};
use crate::source::Origin;

/// Options of the Parquet sink, from the URL's
/// `?compression=&row_group_rows=&file_bytes=&dictionary_bytes=`.
#[derive(Debug, Clone)]
pub struct ParquetOptions {
    pub compression: Compression,
    pub row_group_rows: usize,
    pub file_bytes: u64,
    pub dictionary_bytes: usize,
}

impl ParquetOptions {
    pub const DEFAULT_ROW_GROUP_ROWS: usize = 131_072;
    pub const DEFAULT_FILE_BYTES: u64 = 512 * 1024 * 1024;
    /// A column chunk's dictionary may grow to this size before its values are written plain.
    /// parquet's default, 1 MiB, keeps a large hash table per high-cardinality column (keys,
    /// prices, comments) only to give it up: on TPC-H SF1 lineitem 128 KiB makes the file 9%
    /// smaller (160 vs 175 MB), the writer's live heap 4 MiB smaller and PostgreSQL -> Parquet
    /// about 10% faster. Columns with few distinct values keep their dictionary.
    pub const DEFAULT_DICTIONARY_BYTES: u64 = 128 * 1024;

    fn from_endpoint(e: &Endpoint) -> Result<Self> {
        let compression = match e.option("compression").unwrap_or("zstd") {
            "zstd" => Compression::ZSTD(ZstdLevel::default()),
            "snappy" => Compression::SNAPPY,
            "none" | "uncompressed" => Compression::UNCOMPRESSED,
            other => {
                return Err(Error::invalid_args(format!(
                    "{e}: compression={other} is not one of zstd, snappy, none"
                )))
            }
        };
        let number = |key: &str, default: u64| -> Result<u64> {
            match e.option(key) {
                None => Ok(default),
                Some(v) => v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    Error::invalid_args(format!("{e}: {key}={v} is not a positive number"))
                }),
            }
        };
        Ok(ParquetOptions {
            compression,
            row_group_rows: number("row_group_rows", Self::DEFAULT_ROW_GROUP_ROWS as u64)? as usize,
            file_bytes: number("file_bytes", Self::DEFAULT_FILE_BYTES)?,
            dictionary_bytes: number("dictionary_bytes", Self::DEFAULT_DICTIONARY_BYTES)? as usize,
        })
    }

    fn properties(&self) -> WriterProperties {
        WriterProperties::builder()
            .set_compression(self.compression)
            .set_max_row_group_size(self.row_group_rows)
            .set_dictionary_page_size_limit(self.dictionary_bytes)
            .set_created_by(format!("ferry {}", env!("CARGO_PKG_VERSION")))
            .build()
    }
}

/// Writes tables to Parquet.
pub struct ParquetSink {
    name: String,
    target: FileTarget,
    options: ParquetOptions,
}

impl ParquetSink {
    pub fn try_new(endpoint: &Endpoint) -> Result<Self> {
        endpoint.check_options(&[
            "compression",
            "row_group_rows",
            "file_bytes",
            "dictionary_bytes",
        ])?;
        let options = ParquetOptions::from_endpoint(endpoint)?;
        let target = FileTarget::open(&endpoint.path, "parquet", "Parquet")?;
        Ok(ParquetSink {
            name: endpoint.to_string(),
            target,
            options,
        })
    }
}

impl Sink for ParquetSink {
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
        Ok(format!("{at}\n{}", cols.join("\n")))
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
        let (dir, single) = self.target.start(&self.name, table, mode)?;
        Ok(Box::new(ParquetTableWriter {
            sink: self,
            table: table.to_string(),
            schema: written_schema(schema),
            mode,
            dir,
            single,
            current: None,
            done: Vec::new(),
            rows: 0,
            chunked: None,
        }))
    }

    fn prepare_chunked(
        &self,
        table: &str,
        schema: &SchemaRef,
        mode: IfExists,
        chunks: &ChunkPlan,
    ) -> Result<Box<dyn TableWriter + '_>> {
        let Some(snapshot) = self.target.snapshot() else {
            return self.prepare(table, schema, mode);
        };
        let (dir, single) = self.target.start(&self.name, table, mode)?;
        let store = snapshot.chunks(table, &chunks.fingerprint, chunks.resume)?;
        Ok(Box::new(ParquetTableWriter {
            sink: self,
            table: table.to_string(),
            schema: written_schema(schema),
            mode,
            dir,
            single,
            current: None,
            done: Vec::new(),
            rows: 0,
            chunked: Some(Chunked {
                store,
                open: HashMap::new(),
                new: Vec::new(),
            }),
        }))
    }

    /// A snapshot keeps the chunks a failed run committed; a single file does not.
    fn carries(&self) -> super::Carries {
        super::Carries {
            indexes: true,
            checks: Some("*"),
            comments: true,
        }
    }

    fn resumes(&self) -> bool {
        self.target.snapshot().is_some()
    }

    fn abandon(&self) -> Vec<String> {
        self.target.snapshot().map(|s| s.kept()).unwrap_or_default()
    }

    fn commit(&self) -> Result<()> {
        self.target.commit(&self.name)
    }
}

/// A chunked table write: the chunks open (a partition's files so far) and committed.
struct Chunked {
    store: ChunkStore,
    open: HashMap<Arc<str>, ChunkFiles>,
    /// The chunks this run committed.
    new: Vec<ChunkRecord>,
}

#[derive(Default)]
struct ChunkFiles {
    done: Vec<WrittenFile>,
    current: Option<OpenFile>,
    rows: u64,
}

impl Chunked {
    fn records(&self) -> impl Iterator<Item = &ChunkRecord> {
        self.store.committed.iter().chain(&self.new)
    }
}

/// The Arrow type a column is written as: Parquet has no unit of seconds, and arrow-rs writes
/// `Timestamp(Second)` and `Time32(Second)` as plain integers, which every other reader takes
/// for numbers; they are written in milliseconds (the same instants and times, exactly), which
/// every Parquet reader knows as timestamps and times.
fn written_type(t: &DataType) -> Option<DataType> {
    match t {
        DataType::Timestamp(TimeUnit::Second, tz) => {
            Some(DataType::Timestamp(TimeUnit::Millisecond, tz.clone()))
        }
        DataType::Time32(TimeUnit::Second) => Some(DataType::Time32(TimeUnit::Millisecond)),
        _ => None,
    }
}

fn written_schema(schema: &SchemaRef) -> SchemaRef {
    if !schema
        .fields()
        .iter()
        .any(|f| written_type(f.data_type()).is_some())
    {
        return schema.clone();
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match written_type(f.data_type()) {
            Some(t) => f.as_ref().clone().with_data_type(t),
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// A batch in the written schema ([`written_type`]); a value past the milliseconds' range
/// fails, naming its column.
fn written_batch(batch: &RecordBatch, schema: &SchemaRef, ctx: &str) -> Result<RecordBatch> {
    let same = |(c, f): (&ArrayRef, &FieldRef)| c.data_type() == f.data_type();
    if batch.columns().iter().zip(schema.fields()).all(same) {
        return Ok(batch.clone());
    }
    let strict = arrow::compute::CastOptions {
        safe: false,
        ..Default::default()
    };
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (col, f) in batch.columns().iter().zip(schema.fields()) {
        if col.data_type() == f.data_type() {
            columns.push(col.clone());
            continue;
        }
        let cast = arrow::compute::cast_with_options(col, f.data_type(), &strict).map_err(|e| {
            Error::invalid_data(format!(
                "{ctx}, column \"{}\": a value has no {} in Parquet: {e}",
                f.name(),
                f.data_type()
            ))
        })?;
        columns.push(cast);
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| Error::arrow(ctx.to_string(), e))
}

fn new_file(
    path: PathBuf,
    schema: &SchemaRef,
    options: &ParquetOptions,
    ctx: &str,
) -> Result<OpenFile> {
    let out = HashingWriter::create(&path)?;
    let writer = ArrowWriter::try_new(out, schema.clone(), Some(options.properties()))
        .map_err(|e| Error::parquet(ctx.to_string(), e))?;
    Ok(OpenFile {
        path,
        writer,
        rows: 0,
    })
}

fn close_file(f: OpenFile, ctx: &str) -> Result<WrittenFile> {
    let out = f
        .writer
        .into_inner()
        .map_err(|e| Error::parquet(ctx.to_string(), e))?;
    let (bytes, sha) = out.close().map_err(|e| Error::io(ctx.to_string(), e))?;
    Ok((f.path, bytes, sha, f.rows))
}

struct OpenFile {
    path: PathBuf,
    writer: ArrowWriter<HashingWriter>,
    rows: u64,
}

struct ParquetTableWriter<'a> {
    sink: &'a ParquetSink,
    table: String,
    schema: SchemaRef,
    mode: IfExists,
    dir: PathBuf,
    single: Option<PathBuf>,
    current: Option<OpenFile>,
    /// Closed files: path, size, sha256, rows.
    done: Vec<WrittenFile>,
    rows: u64,
    /// Into a snapshot: written chunk by chunk, each committed at its end.
    chunked: Option<Chunked>,
}

impl ParquetTableWriter<'_> {
    fn ctx(&self) -> String {
        format!("{}: table \"{}\"", self.sink.name, self.table)
    }

    fn open_file(&mut self) -> Result<&mut OpenFile> {
        if self.current.is_none() {
            let path = match &self.single {
                Some(tmp) => tmp.clone(),
                None => self
                    .dir
                    .join(format!("part-{:05}.parquet", self.done.len())),
            };
            self.current = Some(new_file(
                path,
                &self.schema,
                &self.sink.options,
                &self.ctx(),
            )?);
        }
        self.current
            .as_mut()
            .ok_or_else(|| Error::internal("no open file"))
    }

    fn close_file(&mut self) -> Result<()> {
        if let Some(f) = self.current.take() {
            let written = close_file(f, &self.ctx())?;
            self.done.push(written);
        }
        Ok(())
    }

    /// Notes the committed chunks with the snapshot, for a failed run's message.
    fn keep_chunks(&self) {
        let (Some(c), Some(s)) = (&self.chunked, self.sink.target.snapshot()) else {
            return;
        };
        let (chunks, rows) = c.records().fold((0, 0), |(n, r), c| (n + 1, r + c.rows));
        if chunks > 0 {
            s.keep(format!(
                "table \"{}\" ({chunks} chunk(s), {rows} rows, in {})",
                self.table,
                c.store.dir.display()
            ));
        }
    }
}

impl TableWriter for ParquetTableWriter<'_> {
    fn write_from(&mut self, batch: &RecordBatch, origin: &Origin) -> Result<()> {
        let ctx = self.ctx();
        if self.chunked.is_none() {
            return self.write(batch);
        }
        let batch = &written_batch(batch, &self.schema, &ctx)?;
        let Some(c) = self.chunked.as_mut() else {
            return self.write(batch);
        };
        let chunk = c.open.entry(origin.partition.clone()).or_default();
        let f = match &mut chunk.current {
            Some(f) => f,
            None => {
                let name = c
                    .store
                    .file_name(&origin.partition, chunk.done.len(), "parquet");
                chunk.current.insert(new_file(
                    c.store.dir.join(name),
                    &self.schema,
                    &self.sink.options,
                    &ctx,
                )?)
            }
        };
        f.writer
            .write(batch)
            .map_err(|e| Error::parquet(ctx.clone(), e))?;
        f.rows += batch.num_rows() as u64;
        chunk.rows += batch.num_rows() as u64;
        self.rows += batch.num_rows() as u64;
        let size = f.writer.bytes_written() as u64 + f.writer.in_progress_size() as u64;
        if size >= self.sink.options.file_bytes {
            if let Some(f) = chunk.current.take() {
                chunk.done.push(close_file(f, &ctx)?);
            }
        }
        Ok(())
    }

    fn committed_chunks(&mut self) -> Result<Vec<(String, u64)>> {
        Ok(self
            .chunked
            .as_ref()
            .map(|c| {
                c.store
                    .committed
                    .iter()
                    .map(|r| (r.chunk.clone(), r.rows))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Closes the chunk's files (synced) and commits its record.
    fn end_chunk(&mut self, chunk: &str, rows: u64) -> Result<()> {
        let ctx = self.ctx();
        let Some(c) = self.chunked.as_mut() else {
            return Ok(());
        };
        let mut files = c.open.remove(chunk).unwrap_or_default();
        if files.rows != rows {
            return Err(Error::internal(format!(
                "{ctx}: chunk \"{chunk}\": {} rows written of {rows}",
                files.rows
            )));
        }
        if let Some(f) = files.current.take() {
            files.done.push(close_file(f, &ctx)?);
        }
        let record = ChunkRecord {
            chunk: chunk.to_string(),
            fingerprint: c.store.fingerprint.clone(),
            rows,
            files: files
                .done
                .iter()
                .map(|(path, bytes, sha256, rows)| FileEntry {
                    path: path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    rows: *rows,
                    bytes: *bytes,
                    sha256: sha256.clone(),
                })
                .collect(),
        };
        c.store.commit(&record)?;
        c.new.push(record);
        Ok(())
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let limit = self.sink.options.file_bytes;
        let single = self.single.is_some();
        let ctx = self.ctx();
        let batch = &written_batch(batch, &self.schema, &ctx)?;
        let f = self.open_file()?;
        f.writer.write(batch).map_err(|e| Error::parquet(ctx, e))?;
        f.rows += batch.num_rows() as u64;
        let size = f.writer.bytes_written() as u64 + f.writer.in_progress_size() as u64;
        self.rows += batch.num_rows() as u64;
        if !single && size >= limit {
            self.close_file()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<WriteStats> {
        if let Some(c) = &self.chunked {
            if let Some(open) = c.open.keys().next() {
                return Err(Error::internal(format!(
                    "{}: chunk \"{open}\" was not ended",
                    self.ctx()
                )));
            }
            let files: Vec<WrittenFile> = c
                .records()
                .flat_map(|r| {
                    r.files
                        .iter()
                        .map(|f| (c.store.dir.join(&f.path), f.bytes, f.sha256.clone(), f.rows))
                })
                .collect();
            self.rows = c.records().map(|r| r.rows).sum();
            self.done.extend(files);
        }
        if self.current.is_none() && self.done.is_empty() {
            // An empty table still gets a file, so its schema travels.
            self.open_file()?;
        }
        self.close_file()?;
        let bytes = self.done.iter().map(|f| f.1).sum();
        let files: Vec<PathBuf> = self.done.iter().map(|f| f.0.clone()).collect();
        self.sink.target.finish_table(
            &self.table,
            self.mode,
            self.schema.as_ref().clone(),
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

impl Drop for ParquetTableWriter<'_> {
    fn drop(&mut self) {
        // Not finished: remove what was written, but for the chunks committed.
        // (Also after `finish`: a later failure, of another table or of the commit, keeps
        // the chunks for --resume, and the message lists them.)
        if let Some(c) = self.chunked.as_mut() {
            for (_, open) in c.open.drain() {
                let files = open.current.map(|f| f.path).into_iter();
                for path in files.chain(open.done.into_iter().map(|f| f.0)) {
                    let _ = fs::remove_file(path);
                }
            }
            let committed: std::collections::HashSet<PathBuf> = c
                .records()
                .flat_map(|r| r.files.iter().map(|f| c.store.dir.join(&f.path)))
                .collect();
            self.done.retain(|f| !committed.contains(&f.0));
        }
        self.keep_chunks();
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
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::basic::{Encoding, PageType};
    use parquet::file::reader::{FileReader, SerializedFileReader};

    use super::*;

    /// Writes 60,000 rows: `k` with a distinct i64 per row (469 KiB of dictionary), `flag` with
    /// three values. Returns, per column, whether any data page was written plain.
    fn plain_pages(url_options: &str) -> Vec<(String, bool)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let endpoint: Endpoint = format!("parquet://{}{url_options}", path.display())
            .parse()
            .unwrap();
        let sink = ParquetSink::try_new(&endpoint).unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("flag", DataType::Utf8, false),
        ]));
        let n = 60_000;
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values((0..n).map(|i| i * 7919))),
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| ["A", "N", "R"][i as usize % 3]),
                )),
            ],
        )
        .unwrap();
        let mut writer = sink.prepare("t", &schema, IfExists::Fail).unwrap();
        writer.write(&batch).unwrap();
        writer.finish().unwrap();
        sink.commit().unwrap();
        let reader = SerializedFileReader::new(fs::File::open(&path).unwrap()).unwrap();
        let rg = reader.metadata().row_group(0);
        rg.columns()
            .iter()
            .map(|c| {
                let plain =
                    c.page_encoding_stats().unwrap().iter().any(|s| {
                        s.page_type == PageType::DATA_PAGE && s.encoding == Encoding::PLAIN
                    });
                (c.column_path().string(), plain)
            })
            .collect()
    }

    #[test]
    fn a_dictionary_past_dictionary_bytes_gives_way_to_plain_pages() {
        let by_default = plain_pages("");
        assert_eq!(by_default, [("k".into(), true), ("flag".into(), false)]);
        let large = plain_pages("?dictionary_bytes=1048576");
        assert_eq!(large, [("k".into(), false), ("flag".into(), false)]);
    }

    #[test]
    fn dictionary_bytes_must_be_a_positive_number() {
        for bad in ["0", "-1", "lots"] {
            let endpoint: Endpoint = format!("parquet:///tmp/x.parquet?dictionary_bytes={bad}")
                .parse()
                .unwrap();
            let e = ParquetSink::try_new(&endpoint).err().unwrap().to_string();
            assert!(
                e.contains(&format!("dictionary_bytes={bad} is not a positive number")),
                "{e}"
            );
        }
    }
}
