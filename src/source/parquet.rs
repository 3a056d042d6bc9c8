//! Parquet source: a `.parquet` file (one table), a snapshot directory with a manifest (every
//! file checked against it before a row is read), or a plain directory of `.parquet` files and
//! sub-directories (one table each). Row groups are read in parallel, one partition each.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};

use super::{BatchLimits, BatchStream, Partition, PartitionSpec, Source, TablePlan, TableRef};
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::snapshot::Manifest;

/// Reads Parquet files.
pub struct ParquetSource {
    name: String,
    root: PathBuf,
    manifest: Option<Manifest>,
    /// Table name -> its files, in order.
    tables: Vec<(String, Vec<PathBuf>)>,
    limits: BatchLimits,
}

fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| Error::io(format!("cannot list {}", dir.display()), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    Ok(files)
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl ParquetSource {
    pub fn try_new(endpoint: &Endpoint, limits: BatchLimits) -> Result<Self> {
        endpoint.check_options(&[])?;
        let root = endpoint.path.clone();
        let name = endpoint.to_string();
        if !root.exists() {
            return Err(Error::not_found(format!(
                "{name}: no such file or directory"
            )));
        }
        let (manifest, tables) = if root.is_file() {
            (None, vec![(stem(&root), vec![root.clone()])])
        } else {
            match Manifest::load(&root).map_err(|e| e.context(name.clone()))? {
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
                None => {
                    let mut tables: Vec<(String, Vec<PathBuf>)> = parquet_files(&root)?
                        .into_iter()
                        .map(|p| (crate::snapshot::table_of_file_name(&stem(&p)), vec![p]))
                        .collect();
                    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
                        .map_err(|e| Error::io(format!("cannot list {}", root.display()), e))?
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.is_dir() && !stem(p).starts_with('.'))
                        .collect();
                    dirs.sort();
                    for d in dirs {
                        let files = parquet_files(&d)?;
                        if !files.is_empty() {
                            tables.push((crate::snapshot::table_of_dir(&d), files));
                        }
                    }
                    (None, tables)
                }
            }
        };
        Ok(ParquetSource {
            name,
            root,
            manifest,
            tables,
            limits,
        })
    }
}

impl Source for ParquetSource {
    fn tables(&self) -> Result<Vec<String>> {
        Ok(self.tables.iter().map(|(n, _)| n.clone()).collect())
    }

    fn plan(&self, table: &TableRef) -> Result<TablePlan> {
        let name = match table {
            TableRef::Table(n) => n,
            TableRef::Query(_) => {
                return Err(Error::unsupported(format!(
                    "{}: a Parquet source has no SQL; pick tables with --table",
                    self.name
                )))
            }
        };
        let files = match self.tables.iter().find(|(n, _)| n == name) {
            Some((_, files)) => files,
            None => {
                return Err(Error::not_found(format!(
                    "{}: table \"{name}\" not found (tables: {})",
                    self.name,
                    self.tables
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        };
        if let Some(m) = &self.manifest {
            if let Some(entry) = m.tables.iter().find(|t| &t.name == name) {
                m.verify(&self.root, entry)?;
            }
        }
        let mut schema: Option<SchemaRef> = None;
        let mut partitions = Vec::new();
        let mut rows = 0u64;
        for path in files {
            let file = File::open(path).map_err(|e| {
                Error::io(format!("{}: cannot open {}", self.name, path.display()), e)
            })?;
            let meta = ArrowReaderMetadata::load(&file, Default::default()).map_err(|e| {
                Error::parquet(
                    format!(
                        "{}: {} is not a readable Parquet file",
                        self.name,
                        path.display()
                    ),
                    e,
                )
            })?;
            let file_schema = meta.schema().clone();
            match &schema {
                None => schema = Some(file_schema),
                Some(s) if s.fields() != file_schema.fields() => {
                    return Err(Error::new(
                        ErrorKind::InvalidData,
                        format!(
                        "{}: table \"{name}\": {} has another schema than the table's first file",
                        self.name,
                        path.display()
                    ),
                    ))
                }
                Some(_) => {}
            }
            let md = meta.metadata();
            rows += md.file_metadata().num_rows() as u64;
            for rg in 0..md.num_row_groups() {
                partitions.push(Partition {
                    index: partitions.len(),
                    label: format!(
                        "{} row group {rg}",
                        path.file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default()
                    ),
                    spec: PartitionSpec::File {
                        path: path.clone(),
                        row_groups: Some(vec![rg]),
                    },
                });
            }
        }
        let schema = schema.ok_or_else(|| {
            Error::not_found(format!("{}: table \"{name}\" has no files", self.name))
        })?;

        Ok(TablePlan {
            name: name.clone(),
            schema,
            partitions,
            rows: Some(rows),
            lossy: Default::default(),
            filter: None,
        })
    }

    fn snapshot_table(&self, plan: &TablePlan) -> Option<String> {
        let m = self.manifest.as_ref()?;
        m.tables
            .iter()
            .find(|t| t.name == plan.name)
            .map(|t| t.identity())
    }

    fn open(&self, plan: &TablePlan, partition: &Partition) -> Result<BatchStream> {
        let (path, row_groups) = match &partition.spec {
            PartitionSpec::File { path, row_groups } => (path.clone(), row_groups.clone()),
            _ => return Err(Error::internal("a Parquet partition names a file")),
        };
        let ctx = format!(
            "{}: table \"{}\", {}",
            self.name, plan.name, partition.label
        );
        let file = File::open(&path).map_err(|e| Error::io(ctx.clone(), e))?;
        let mut builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| Error::parquet(ctx.clone(), e))?
            .with_batch_size(self.limits.rows.min(16_384));
        if let Some(rgs) = row_groups {
            builder = builder.with_row_groups(rgs);
        }
        let reader = builder
            .build()
            .map_err(|e| Error::parquet(ctx.clone(), e))?;
        Ok(Box::new(
            reader.map(move |r| r.map_err(|e| Error::arrow(ctx.clone(), e))),
        ))
    }
}
