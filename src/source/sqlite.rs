//! SQLite source: a purpose-built streaming reader over rusqlite (the SQLite connectorx links).
//!
//! connectorx's SQLite reader infers a column's type from the first row when the declared type
//! is not one it knows (every `DECIMAL(p,s)`), fails on NULL in that row and panics on a later
//! value of another storage class. SQLite's dynamic typing needs a value-by-value decision, so
//! ferry decides each column's Arrow type from its declared type (SQLite's affinity rules) and
//! checks every value's storage class, naming table, column and rowid when one does not fit.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder,
    Decimal256Builder, Float64Builder, Int64Builder, StringBuilder, Time64MicrosecondBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::{
    thread_stream, BatchLimits, BatchSender, BatchStream, NotCopied, Partition, PartitionSpec,
    Source, TablePlan, TableRef,
};
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::transform::filter::SqlDialect;
use crate::types::indexes::{IndexColumn, IndexDef};
use crate::types::{
    decimal, field_with_source, quote_ident, sqlite_read, temporal, SqliteRead, META_PRIMARY_KEY,
};

/// What to do with a value whose storage class does not fit its column's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    /// Fail, naming table, column and rowid (the default).
    Error,
    /// Load NULL instead, and count it in the report.
    Null,
}

/// A column of a table: name, declared type, NOT NULL, position in the primary key or 0.
type SqliteColumn = (String, String, bool, i64);

/// What a relation of a SQLite database is, as `PRAGMA table_list` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RelationKind {
    /// A table holding its own rows: what a run without `--table` copies.
    Table { without_rowid: bool },
    /// A view: its rows are a query over other tables.
    View,
    /// A virtual table (FTS5, R*Tree, a module's table): its rows are what its module makes of
    /// the shadow tables, or of another table or a file.
    Virtual,
    /// A table a virtual table keeps its storage in (`docs_data`, `docs_idx` of FTS5).
    Shadow,
    /// SQLite's own (`sqlite_sequence`, `sqlite_stat1`).
    Internal,
}

struct Relation {
    name: String,
    kind: RelationKind,
}

/// Reads tables and queries of one SQLite database file.
pub struct SqliteSource {
    path: PathBuf,
    name: String,
    limits: BatchLimits,
    mismatch: Mismatch,
    partition_rows: i64,
}

impl SqliteSource {
    /// The indexes of `table` other than its primary key (`pragma_index_list`): portable when
    /// every key is a column and the index has no `WHERE`; a `UNIQUE (...)` of the table
    /// definition is recorded as a unique constraint.
    fn indexes(&self, conn: &Connection, table: &str) -> Result<Vec<IndexDef>> {
        let err = |e| self.err(table, e);
        let mut list = conn
            .prepare(
                "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1) \
                 WHERE origin <> 'pk' ORDER BY name",
            )
            .map_err(err)?;
        let listed: Vec<(String, bool, String, bool)> = list
            .query_map([table], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .map_err(err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(err)?;
        let mut parts = conn
            .prepare(
                "SELECT cid, name, \"desc\" FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno",
            )
            .map_err(err)?;
        let mut out = Vec::new();
        for (name, unique, origin, partial) in listed {
            let keys: Vec<(i64, Option<String>, bool)> = parts
                .query_map([&name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(err)?;
            let expression = keys.iter().any(|(cid, n, _)| *cid < 0 || n.is_none());
            let not_portable = if expression {
                Some("a SQLite expression index".to_string())
            } else if partial {
                Some("a SQLite partial index (WHERE ...)".to_string())
            } else {
                None
            };
            let columns: Vec<IndexColumn> = keys
                .iter()
                .filter_map(|(_, n, desc)| {
                    n.clone().map(|name| IndexColumn {
                        name,
                        descending: *desc,
                    })
                })
                .collect();
            // A `UNIQUE (...)` of the table definition has SQLite's internal name, which no
            // other index may take: it gets the name PostgreSQL would give the constraint.
            let name = match name.starts_with("sqlite_autoindex_") {
                true => format!(
                    "{table}_{}_key",
                    columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join("_")
                ),
                false => name,
            };
            out.push(IndexDef {
                name,
                unique,
                constraint: origin == "u",
                reads: columns.iter().map(|c| c.name.clone()).collect(),
                columns: if not_portable.is_some() {
                    Vec::new()
                } else {
                    columns
                },
                not_portable,
                native: None,
            });
        }
        Ok(out)
    }

    /// Rows per rowid-range partition unless `?partition_rows=` says otherwise.
    pub const DEFAULT_PARTITION_ROWS: i64 = 250_000;

    pub fn try_new(endpoint: &Endpoint, limits: BatchLimits) -> Result<Self> {
        endpoint.check_options(&["mismatch", "partition_rows"])?;
        let mismatch = match endpoint.option("mismatch") {
            None | Some("error") => Mismatch::Error,
            Some("null") => Mismatch::Null,
            Some(other) => {
                return Err(Error::invalid_args(format!(
                    "{endpoint}: mismatch={other} is not one of error, null"
                )))
            }
        };
        let partition_rows = match endpoint.option("partition_rows") {
            None => Self::DEFAULT_PARTITION_ROWS,
            Some(v) => v.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                Error::invalid_args(format!(
                    "{endpoint}: partition_rows={v} is not a positive number"
                ))
            })?,
        };
        if !endpoint.path.is_file() {
            return Err(Error::not_found(format!("{endpoint}: no such file")));
        }
        let source = SqliteSource {
            path: endpoint.path.clone(),
            name: endpoint.to_string(),
            limits,
            mismatch,
            partition_rows,
        };
        let conn = source.connect()?;
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .map_err(|e| Error::sqlite(format!("{}: not a SQLite database", source.name), e))?;
        Ok(source)
    }

    fn connect(&self) -> Result<Connection> {
        open_read_only(&self.path)
            .map_err(|e| Error::sqlite(format!("{}: cannot open", self.name), e))
    }

    /// (name, declared type, NOT NULL, position in the primary key or 0) of each column, and
    /// the names of every column, hidden ones included (they can shadow `rowid`).
    ///
    /// `PRAGMA table_xinfo`, not `table_info`: `table_info` leaves out generated columns
    /// (VIRTUAL and STORED alike), which are read as their values. The hidden columns of a
    /// virtual table (`hidden` 1: FTS5's own `docs` and `rank`) are not columns of its rows.
    fn columns(&self, conn: &Connection, table: &str) -> Result<(Vec<SqliteColumn>, Vec<String>)> {
        let sql = format!("PRAGMA table_xinfo({})", quote_ident(table));
        let mut stmt = conn.prepare(&sql).map_err(|e| self.err(table, e))?;
        let rows = stmt
            .query_map([], |r| {
                let name: String = r.get(1)?;
                let declared: String = r.get::<_, Option<String>>(2)?.unwrap_or_default();
                let notnull: bool = r.get(3)?;
                let pk: i64 = r.get(5)?;
                let hidden: i64 = r.get(6)?;
                // An INTEGER PRIMARY KEY is the rowid: never NULL.
                let rowid_alias = pk == 1 && declared.eq_ignore_ascii_case("INTEGER");
                Ok(((name, declared, notnull || rowid_alias, pk), hidden))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(table, e))?;
        let all = rows.iter().map(|((n, ..), _)| n.clone()).collect();
        let columns = rows
            .into_iter()
            .filter(|(_, hidden)| *hidden != 1)
            .map(|(c, _)| c)
            .collect();
        Ok((columns, all))
    }

    /// The relations of the `main` schema, in the order they were created, with what each is
    /// (`PRAGMA table_list`, which also knows a virtual table whose module this SQLite lacks).
    fn relations(&self, conn: &Connection) -> Result<Vec<Relation>> {
        let ctx = || format!("{}: cannot list tables", self.name);
        let mut stmt = conn
            .prepare(
                "SELECT m.name, l.type, l.wr FROM sqlite_master AS m \
                 JOIN pragma_table_list AS l ON l.schema = 'main' AND l.name = m.name \
                 WHERE m.type IN ('table', 'view') ORDER BY m.rowid",
            )
            .map_err(|e| Error::sqlite(ctx(), e))?;
        let rows = stmt
            .query_map([], |r| {
                let name: String = r.get(0)?;
                let kind: String = r.get(1)?;
                let without_rowid: bool = r.get(2)?;
                Ok((name, kind, without_rowid))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| Error::sqlite(ctx(), e))?;
        Ok(rows
            .into_iter()
            .map(|(name, kind, without_rowid)| {
                // SQLite reserves every name beginning with `sqlite_`, in any case.
                let internal = name
                    .get(..7)
                    .is_some_and(|p| p.eq_ignore_ascii_case("sqlite_"));
                let kind = match kind.as_str() {
                    _ if internal => RelationKind::Internal,
                    "view" => RelationKind::View,
                    "virtual" => RelationKind::Virtual,
                    "shadow" => RelationKind::Shadow,
                    _ => RelationKind::Table { without_rowid },
                };
                Relation { name, kind }
            })
            .collect())
    }

    fn err(&self, table: &str, e: rusqlite::Error) -> Error {
        Error::sqlite(format!("{}: table \"{table}\"", self.name), e)
    }

    /// The Arrow field of a column of `from` (a quoted table or a parenthesised query): its type
    /// from the declared type, or from a scan of the values when the declared type says nothing.
    fn field(
        &self,
        conn: &Connection,
        from: &str,
        column: &str,
        declared: &str,
        nullable: bool,
    ) -> Result<Field> {
        let read = match sqlite_read(declared) {
            SqliteRead::Infer => self.infer(conn, from, column)?,
            r => r,
        };
        let dt = read
            .arrow_type()
            .ok_or_else(|| Error::internal("unresolved read"))?;
        Ok(field_with_source(column, dt, nullable, "sqlite", declared))
    }

    /// Decides the type of an untyped column from the storage classes it holds.
    fn infer(&self, conn: &Connection, from: &str, column: &str) -> Result<SqliteRead> {
        let sql = format!(
            "SELECT DISTINCT typeof({}) FROM {from}",
            quote_ident(column)
        );
        let mut stmt = conn.prepare(&sql).map_err(|e| self.err(from, e))?;
        let classes = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(from, e))?;
        let has = |c: &str| classes.iter().any(|x| x == c);
        Ok(
            match (has("integer"), has("real"), has("text"), has("blob")) {
                (_, false, false, false) => SqliteRead::Integer,
                (_, true, false, false) => SqliteRead::Real,
                (false, false, true, false) => SqliteRead::Text,
                (false, false, false, true) => SqliteRead::Blob,
                _ => {
                    return Err(Error::unsupported(format!(
                        "{}: {from}, column \"{column}\" has no declared type and holds values of \
                     several storage classes ({}); declare its type or select it with a CAST \
                     in --query",
                        self.name,
                        classes.join(", ")
                    )))
                }
            },
        )
    }
}

fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

impl Source for SqliteSource {
    fn declares_keys(&self) -> bool {
        true
    }

    /// The primary key, and the foreign keys of `PRAGMA foreign_key_list` (composite and
    /// self-referencing, with their actions); a key that names no referenced columns references
    /// the parent's primary key.
    fn keys(&self, table: &TableRef, plan: &TablePlan) -> Result<super::TableKeys> {
        let mut keys = super::primary_key_of(plan);
        let TableRef::Table(name) = table else {
            return Ok(keys);
        };
        let conn = self.connect()?;
        let ctx = |e| Error::sqlite(format!("{}: table \"{name}\": foreign keys", self.name), e);
        type Row = (i64, String, String, Option<String>, String, String);
        let rows: Vec<Row> = conn
            .prepare(
                "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete
                 FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
            )
            .and_then(|mut stmt| {
                stmt.query_map([name], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })?
                .collect()
            })
            .map_err(ctx)?;
        let mut current: Option<(i64, super::ForeignKey, bool)> = None;
        let mut done = Vec::new();
        for (id, parent, from, to, on_update, on_delete) in rows {
            if current.as_ref().is_none_or(|(i, ..)| *i != id) {
                done.extend(current.take());
                let fk = super::ForeignKey {
                    table: parent,
                    on_delete: super::KeyAction::from_rule(&on_delete),
                    on_update: super::KeyAction::from_rule(&on_update),
                    ..Default::default()
                };
                current = Some((id, fk, false));
            }
            if let Some((_, fk, implicit)) = current.as_mut() {
                fk.columns.push(from);
                match to {
                    Some(to) => fk.referenced.push(to),
                    None => *implicit = true,
                }
            }
        }
        done.extend(current);
        for (_, mut fk, implicit) in done {
            if implicit {
                // `REFERENCES parent` alone: the parent's primary key, in key order.
                fk.referenced = conn
                    .prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")
                    .and_then(|mut stmt| stmt.query_map([&fk.table], |r| r.get(0))?.collect())
                    .map_err(ctx)?;
            }
            keys.foreign_keys.push(fk);
        }
        Ok(keys)
    }

    /// The tables that hold their own rows: not views, virtual tables, the shadow tables a
    /// virtual table keeps its storage in, or SQLite's own `sqlite_` tables.
    fn tables(&self) -> Result<Vec<String>> {
        let conn = self.connect()?;
        Ok(self
            .relations(&conn)?
            .into_iter()
            .filter(|r| matches!(r.kind, RelationKind::Table { .. }))
            .filter(|r| !super::is_ferry_state(&r.name))
            .map(|r| r.name)
            .collect())
    }

    /// Views and virtual tables: copied as their rows when named with `--table`. Shadow tables
    /// and `sqlite_` tables are the storage of others and SQLite's bookkeeping, not listed.
    fn not_copied(&self) -> Result<Vec<NotCopied>> {
        let conn = self.connect()?;
        Ok(self
            .relations(&conn)?
            .into_iter()
            .filter_map(|r| {
                let kind = match r.kind {
                    RelationKind::View => "view",
                    RelationKind::Virtual => "virtual table",
                    RelationKind::Table { .. } if super::is_ferry_state(&r.name) => {
                        return Some(super::ferry_state(r.name));
                    }
                    _ => return None,
                };
                Some(NotCopied {
                    name: r.name,
                    kind: kind.into(),
                    note: None,
                })
            })
            .collect())
    }

    fn plan(&self, table: &TableRef) -> Result<TablePlan> {
        let conn = self.connect()?;
        match table {
            TableRef::Table(name) => {
                let relations = self.relations(&conn)?;
                let Some(kind) = relations.iter().find(|r| &r.name == name).map(|r| r.kind) else {
                    let tables: Vec<&str> = relations
                        .iter()
                        .filter(|r| matches!(r.kind, RelationKind::Table { .. }))
                        .map(|r| r.name.as_str())
                        .collect();
                    return Err(Error::not_found(format!(
                        "{}: table \"{name}\" not found (tables: {})",
                        self.name,
                        if tables.is_empty() {
                            "none".into()
                        } else {
                            tables.join(", ")
                        }
                    )));
                };
                let from = quote_ident(name);
                let (columns, all_columns) = self.columns(&conn, name).map_err(|e| {
                    let cause = e.chain();
                    match (kind, cause.find("no such module")) {
                        (RelationKind::Virtual, Some(at)) => Error::unsupported(format!(
                            "{}: virtual table \"{name}\" cannot be read: its module is not \
                             built into ferry's SQLite ({})",
                            self.name,
                            cause[at..].split(':').take(2).collect::<Vec<_>>().join(":")
                        )),
                        _ => e,
                    }
                })?;
                let mut fields = Vec::new();
                for (column, declared, not_null, pk) in columns {
                    let mut field = self.field(&conn, &from, &column, &declared, !not_null)?;
                    if pk > 0 {
                        let mut meta = field.metadata().clone();
                        meta.insert(META_PRIMARY_KEY.to_string(), pk.to_string());
                        field = field.with_metadata(meta);
                    }
                    fields.push(field);
                }
                // Rowid ranges make partitions, through a name of the rowid no column takes
                // (`rowid`, else `_rowid_`, else `oid`): in a table with a column `rowid`,
                // `rowid` is that column, and ranges of it would miss its NULLs and text. A
                // WITHOUT ROWID table, a table whose every rowid name is a column, a view and
                // a virtual table are read whole; the rows of a view or a virtual table are
                // counted by reading them, so they are not counted here.
                let rowid = match kind {
                    RelationKind::Table {
                        without_rowid: false,
                    } => rowid_name(&all_columns),
                    _ => None,
                };
                let (partitions, rows) = match (kind, rowid) {
                    (RelationKind::View | RelationKind::Virtual, _) => (vec![whole()], None),
                    (_, None) => {
                        let count = conn
                            .query_row(&format!("SELECT count(*) FROM {from}"), [], |r| {
                                r.get::<_, i64>(0)
                            })
                            .ok();
                        (vec![whole()], count.map(|c| c as u64))
                    }
                    (_, Some(rowid)) => {
                        let bounds = conn.query_row(
                            &format!("SELECT min({rowid}), max({rowid}), count(*) FROM {from}"),
                            [],
                            |r| {
                                Ok((
                                    r.get::<_, Option<i64>>(0)?,
                                    r.get::<_, Option<i64>>(1)?,
                                    r.get::<_, i64>(2)?,
                                ))
                            },
                        );
                        match bounds {
                            Ok((Some(lo), Some(hi), count)) => (
                                rowid_partitions(lo, hi, count, self.partition_rows),
                                Some(count as u64),
                            ),
                            Ok((_, _, count)) => (vec![whole()], Some(count as u64)),
                            Err(e) => return Err(self.err(name, e)),
                        }
                    }
                };
                let indexes = match kind {
                    RelationKind::Table { .. } => self.indexes(&conn, name)?,
                    _ => Vec::new(),
                };
                Ok(TablePlan {
                    name: name.clone(),
                    schema: crate::types::indexes::with_indexes(&Schema::new(fields), &indexes),
                    partitions,
                    rows,
                    lossy: Default::default(),
                    filter: None,
                })
            }
            TableRef::Query(sql) => {
                let stmt = conn.prepare(sql).map_err(|e| {
                    Error::sqlite(format!("{}: query does not prepare", self.name), e)
                })?;
                let cols: Vec<(String, String)> = stmt
                    .columns()
                    .iter()
                    .map(|c| {
                        (
                            c.name().to_string(),
                            c.decl_type().unwrap_or("").to_string(),
                        )
                    })
                    .collect();
                drop(stmt);
                let from = format!("({sql})");
                let fields = cols
                    .iter()
                    .map(|(column, declared)| self.field(&conn, &from, column, declared, true))
                    .collect::<Result<Vec<_>>>()?;
                Ok(TablePlan {
                    name: "query".into(),
                    schema: Arc::new(Schema::new(fields)),
                    partitions: vec![Partition {
                        index: 0,
                        label: "query".into(),
                        spec: PartitionSpec::Query(sql.clone()),
                    }],
                    rows: None,
                    lossy: Default::default(),
                    filter: None,
                })
            }
        }
    }

    /// SQLite evaluates pushed filters, unless `?mismatch=null` is set: then a value that does
    /// not fit its column is NULL for ferry but not for SQLite, and they could disagree.
    fn filter_dialect(&self) -> Option<SqlDialect> {
        (self.mismatch == Mismatch::Error).then_some(SqlDialect::Sqlite)
    }

    fn open(&self, plan: &TablePlan, partition: &Partition) -> Result<BatchStream> {
        let conn = self.connect()?;
        let cols: Vec<String> = plan
            .schema
            .fields()
            .iter()
            .map(|f| quote_ident(f.name()))
            .collect();
        let table = quote_ident(&plan.name);
        let and_filter = plan
            .filter
            .as_ref()
            .map(|f| format!(" AND ({f})"))
            .unwrap_or_default();
        let (sql, has_rowid) = match &partition.spec {
            PartitionSpec::RowidRange { lo, hi } => {
                // The plan made rowid ranges only where a name of the rowid is no column's.
                let names: Vec<String> = plan
                    .schema
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                let rowid = rowid_name(&names).ok_or_else(|| {
                    Error::internal(format!(
                        "table \"{}\": every rowid name is a column",
                        plan.name
                    ))
                })?;
                (
                    format!(
                        "SELECT {}, {rowid} FROM {table} WHERE {rowid} BETWEEN {lo} AND {hi}{and_filter} \
                         ORDER BY {rowid}",
                        cols.join(", "),
                    ),
                    true,
                )
            }
            PartitionSpec::Query(sql) | PartitionSpec::Sql(sql) => match &plan.filter {
                Some(f) => (format!("SELECT * FROM ({sql}) WHERE {f}"), false),
                None => (sql.clone(), false),
            },
            PartitionSpec::Whole
            | PartitionSpec::File { .. }
            | PartitionSpec::Generated { .. }
            | PartitionSpec::Handle(_) => (
                format!(
                    "SELECT {} FROM {table} WHERE 1{and_filter}",
                    cols.join(", ")
                ),
                false,
            ),
        };
        tracing::debug!(source = %self.name, partition = %partition.label, %sql, "reading");
        let reads: Vec<SqliteRead> = plan
            .schema
            .fields()
            .iter()
            .map(|f| {
                let declared = crate::types::source_type(f).map(|(_, t)| t).unwrap_or("");
                match sqlite_read(declared) {
                    SqliteRead::Infer => read_of_arrow(f.data_type()),
                    r => r,
                }
            })
            .collect();
        let ctx = ReadContext {
            source: self.name.clone(),
            table: plan.name.clone(),
            schema: plan.schema.clone(),
            reads,
            limits: self.limits,
            mismatch: self.mismatch,
            lossy: (plan.schema.fields().iter())
                .map(|f| plan.lossy.column(f.name()))
                .collect(),
        };
        thread_stream(format!("ferry-sqlite-{}", partition.index), move |tx| {
            ctx.read(&conn, &sql, has_rowid, tx)
        })
    }
}

/// The first of SQLite's names for the rowid (`rowid`, `_rowid_`, `oid`) that no column of
/// the table has taken (column names compare without case), if any is left.
fn rowid_name(columns: &[String]) -> Option<&'static str> {
    ["rowid", "_rowid_", "oid"]
        .into_iter()
        .find(|r| !columns.iter().any(|c| c.eq_ignore_ascii_case(r)))
}

fn whole() -> Partition {
    Partition {
        index: 0,
        label: "whole table".into(),
        spec: PartitionSpec::Whole,
    }
}

/// Splits rowids `lo..=hi` into ranges of about `per` rows.
fn rowid_partitions(lo: i64, hi: i64, count: i64, per: i64) -> Vec<Partition> {
    let parts = ((count + per - 1) / per).max(1);
    let span = hi as i128 - lo as i128 + 1;
    let step = (span + parts as i128 - 1) / parts as i128;
    (0..parts)
        .map(|i| {
            let a = lo as i128 + step * i as i128;
            let b = (a + step - 1).min(hi as i128);
            (a as i64, b as i64)
        })
        .filter(|(a, b)| a <= b)
        .enumerate()
        .map(|(index, (a, b))| Partition {
            index,
            label: format!("rowid {a}..={b}"),
            spec: PartitionSpec::RowidRange { lo: a, hi: b },
        })
        .collect()
}

fn read_of_arrow(dt: &arrow::datatypes::DataType) -> SqliteRead {
    use arrow::datatypes::DataType as D;
    match dt {
        D::Int64 => SqliteRead::Integer,
        D::Float64 => SqliteRead::Real,
        D::Binary => SqliteRead::Blob,
        _ => SqliteRead::Text,
    }
}

struct ReadContext {
    source: String,
    table: String,
    schema: SchemaRef,
    reads: Vec<SqliteRead>,
    limits: BatchLimits,
    mismatch: Mismatch,
    /// Per column: the values it replaced (`?mismatch=null`).
    lossy: Vec<Arc<AtomicU64>>,
}

impl ReadContext {
    fn read(&self, conn: &Connection, sql: &str, has_rowid: bool, tx: &BatchSender) -> Result<()> {
        let where_ = format!("{}: table \"{}\"", self.source, self.table);
        let mut stmt = conn
            .prepare(sql)
            .map_err(|e| Error::sqlite(where_.clone(), e))?;
        let mut rows = stmt
            .query([])
            .map_err(|e| Error::sqlite(where_.clone(), e))?;
        let mut builders: Vec<ColumnBuilder> = self
            .reads
            .iter()
            .map(|r| ColumnBuilder::new(*r, self.limits.rows))
            .collect();
        let ncols = self.reads.len();
        let (mut n, mut bytes, mut row_number) = (0usize, 0usize, 0i64);
        while let Some(row) = rows.next().map_err(|e| Error::sqlite(where_.clone(), e))? {
            row_number += 1;
            let rowid = if has_rowid {
                row.get::<_, i64>(ncols).unwrap_or(row_number)
            } else {
                row_number
            };
            for (i, b) in builders.iter_mut().enumerate() {
                let v = row
                    .get_ref(i)
                    .map_err(|e| Error::sqlite(where_.clone(), e))?;
                match b.append(v) {
                    Ok(size) => bytes += size,
                    Err(found) => self.mismatched(b, i, rowid, has_rowid, &found)?,
                }
            }
            n += 1;
            if n >= self.limits.rows || bytes >= self.limits.bytes {
                if tx.send(Ok(self.finish(&mut builders)?)).is_err() {
                    return Ok(());
                }
                n = 0;
                bytes = 0;
            }
        }
        if n > 0 {
            let _ = tx.send(Ok(self.finish(&mut builders)?));
        }
        Ok(())
    }

    fn mismatched(
        &self,
        b: &mut ColumnBuilder,
        col: usize,
        rowid: i64,
        has_rowid: bool,
        found: &str,
    ) -> Result<()> {
        let field = self.schema.field(col);
        let declared = crate::types::source_type(field)
            .map(|(_, t)| t)
            .unwrap_or("");
        match self.mismatch {
            Mismatch::Null if field.is_nullable() => {
                b.append_null();
                self.lossy[col].fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            _ => {
                Err(Error::new(
                    ErrorKind::InvalidData,
                    format!(
                    "{}: table \"{}\", column \"{}\" (declared {}), {} {rowid}: {found} does not \
                     fit the column's type; fix the value, or add ?mismatch=null to the source \
                     URL to load it as NULL (counted in the report)",
                    self.source,
                    self.table,
                    field.name(),
                    if declared.is_empty() { "without a type" } else { declared },
                    if has_rowid { "rowid" } else { "row" },
                ),
                ))
            }
        }
    }

    fn finish(&self, builders: &mut [ColumnBuilder]) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = builders.iter_mut().map(|b| b.finish()).collect();
        RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| {
            Error::arrow(
                format!(
                    "{}: table \"{}\": cannot build a batch",
                    self.source, self.table
                ),
                e,
            )
        })
    }
}

/// Describes a SQLite value for an error message, shortened.
fn describe(v: ValueRef<'_>) -> String {
    fn short(s: &str) -> String {
        if s.chars().count() > 40 {
            format!("{}...", s.chars().take(40).collect::<String>())
        } else {
            s.to_string()
        }
    }
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => format!("integer {i}"),
        ValueRef::Real(f) => format!("real {f}"),
        ValueRef::Text(t) => format!("text '{}'", short(&String::from_utf8_lossy(t))),
        ValueRef::Blob(b) => format!("blob of {} bytes", b.len()),
    }
}

/// A column the ADBC SQLite driver sent (each value in its storage class: integer, real, text
/// or blob) read by the rule this source reads its declared type by ([`SqliteRead`]), so that
/// both ways of reading a SQLite file give the same values; on a value the rule refuses, its
/// row in `col` and a description of it.
pub(crate) fn decode_stored(
    read: SqliteRead,
    col: &ArrayRef,
) -> std::result::Result<ArrayRef, (usize, String)> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Float64Type, Int64Type};
    let mut b = ColumnBuilder::new(read, col.len());
    for i in 0..col.len() {
        let v = match col.data_type() {
            _ if col.is_null(i) => ValueRef::Null,
            DataType::Int64 => ValueRef::Integer(col.as_primitive::<Int64Type>().value(i)),
            DataType::Float64 => ValueRef::Real(col.as_primitive::<Float64Type>().value(i)),
            DataType::Utf8 => ValueRef::Text(col.as_string::<i32>().value(i).as_bytes()),
            DataType::LargeUtf8 => ValueRef::Text(col.as_string::<i64>().value(i).as_bytes()),
            DataType::Binary => ValueRef::Blob(col.as_binary::<i32>().value(i)),
            DataType::LargeBinary => ValueRef::Blob(col.as_binary::<i64>().value(i)),
            other => return Err((i, format!("the driver sent a value of type {other}"))),
        };
        b.append(v).map_err(|why| (i, why))?;
    }
    Ok(b.finish())
}

/// One column's Arrow builder and the rule that accepts SQLite values into it.
enum ColumnBuilder {
    Integer(Int64Builder),
    Real(Float64Builder),
    Text(StringBuilder),
    Blob(BinaryBuilder),
    Decimal128(Decimal128Builder, u8, i8),
    Decimal256(Decimal256Builder, u8, i8),
    Boolean(BooleanBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Timestamp(TimestampMicrosecondBuilder, bool),
}

/// The largest integer an f64 holds exactly.
const F64_EXACT_INT: i64 = 1 << 53;

impl ColumnBuilder {
    fn new(read: SqliteRead, cap: usize) -> Self {
        match read {
            SqliteRead::Integer | SqliteRead::Infer => {
                ColumnBuilder::Integer(Int64Builder::with_capacity(cap))
            }
            SqliteRead::Real => ColumnBuilder::Real(Float64Builder::with_capacity(cap)),
            SqliteRead::Text => ColumnBuilder::Text(StringBuilder::new()),
            SqliteRead::Blob => ColumnBuilder::Blob(BinaryBuilder::new()),
            SqliteRead::Decimal { precision, scale } if precision <= 38 => {
                ColumnBuilder::Decimal128(
                    Decimal128Builder::with_capacity(cap)
                        .with_precision_and_scale(precision, scale)
                        .unwrap_or_default(),
                    precision,
                    scale,
                )
            }
            SqliteRead::Decimal { precision, scale } => ColumnBuilder::Decimal256(
                Decimal256Builder::with_capacity(cap)
                    .with_precision_and_scale(precision, scale)
                    .unwrap_or_default(),
                precision,
                scale,
            ),
            SqliteRead::Boolean => ColumnBuilder::Boolean(BooleanBuilder::with_capacity(cap)),
            SqliteRead::Date => ColumnBuilder::Date(Date32Builder::with_capacity(cap)),
            SqliteRead::Time => ColumnBuilder::Time(Time64MicrosecondBuilder::with_capacity(cap)),
            SqliteRead::Timestamp => {
                ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::with_capacity(cap), false)
            }
            SqliteRead::TimestampTz => ColumnBuilder::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(cap).with_timezone("+00:00"),
                true,
            ),
        }
    }

    /// Appends a value; returns the bytes it adds, or a description of a value that does not fit.
    fn append(&mut self, v: ValueRef<'_>) -> Result<usize, String> {
        if let ValueRef::Null = v {
            self.append_null();
            return Ok(1);
        }
        let bad = || describe(v);
        match (self, v) {
            (ColumnBuilder::Integer(b), ValueRef::Integer(i)) => b.append_value(i),
            (ColumnBuilder::Real(b), ValueRef::Real(f)) => b.append_value(f),
            (ColumnBuilder::Real(b), ValueRef::Integer(i)) if i.abs() <= F64_EXACT_INT => {
                b.append_value(i as f64)
            }
            (ColumnBuilder::Text(b), ValueRef::Text(t)) => {
                let s = std::str::from_utf8(t)
                    .map_err(|_| "text that is not valid UTF-8".to_string())?;
                b.append_value(s);
                return Ok(t.len() + 4);
            }
            (ColumnBuilder::Blob(b), ValueRef::Blob(x)) => {
                b.append_value(x);
                return Ok(x.len() + 4);
            }
            (ColumnBuilder::Decimal128(b, p, s), v) => {
                let d = decimal_of(v, *p, *s).ok_or_else(bad)?;
                b.append_value(d.as_i128());
                return Ok(16);
            }
            (ColumnBuilder::Decimal256(b, p, s), v) => {
                b.append_value(decimal_of(v, *p, *s).ok_or_else(bad)?);
                return Ok(32);
            }
            (ColumnBuilder::Boolean(b), ValueRef::Integer(i @ (0 | 1))) => b.append_value(i == 1),
            (ColumnBuilder::Date(b), ValueRef::Text(t)) => {
                let d = std::str::from_utf8(t)
                    .ok()
                    .and_then(temporal::parse_date)
                    .ok_or_else(bad)?;
                b.append_value(d)
            }
            (ColumnBuilder::Time(b), ValueRef::Text(t)) => {
                let d = std::str::from_utf8(t)
                    .ok()
                    .and_then(temporal::parse_time)
                    .ok_or_else(bad)?;
                b.append_value(d)
            }
            (ColumnBuilder::Timestamp(b, tz), ValueRef::Text(t)) => {
                let s = std::str::from_utf8(t).map_err(|_| bad())?;
                let s = if *tz && !s.ends_with("infinity") {
                    s.strip_suffix("+00:00").ok_or_else(bad)?
                } else {
                    s
                };
                b.append_value(temporal::parse_timestamp(s).ok_or_else(bad)?)
            }
            _ => return Err(bad()),
        }
        Ok(8)
    }

    fn append_null(&mut self) {
        match self {
            ColumnBuilder::Integer(b) => b.append_null(),
            ColumnBuilder::Real(b) => b.append_null(),
            ColumnBuilder::Text(b) => b.append_null(),
            ColumnBuilder::Blob(b) => b.append_null(),
            ColumnBuilder::Decimal128(b, ..) => b.append_null(),
            ColumnBuilder::Decimal256(b, ..) => b.append_null(),
            ColumnBuilder::Boolean(b) => b.append_null(),
            ColumnBuilder::Date(b) => b.append_null(),
            ColumnBuilder::Time(b) => b.append_null(),
            ColumnBuilder::Timestamp(b, _) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Integer(b) => Arc::new(b.finish()),
            ColumnBuilder::Real(b) => Arc::new(b.finish()),
            ColumnBuilder::Text(b) => Arc::new(b.finish()),
            ColumnBuilder::Blob(b) => Arc::new(b.finish()),
            ColumnBuilder::Decimal128(b, ..) => Arc::new(b.finish()),
            ColumnBuilder::Decimal256(b, ..) => Arc::new(b.finish()),
            ColumnBuilder::Boolean(b) => Arc::new(b.finish()),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
            ColumnBuilder::Time(b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b, _) => ArrayBuilder::finish(b),
        }
    }
}

/// A SQLite value as a decimal at `scale`, exactly, or `None`.
fn decimal_of(v: ValueRef<'_>, precision: u8, scale: i8) -> Option<arrow::datatypes::i256> {
    match v {
        ValueRef::Integer(i) => decimal::parse_exact(&i.to_string(), precision, scale),
        ValueRef::Real(f) => decimal::from_f64_exact(f, precision, scale),
        ValueRef::Text(t) => decimal::parse_exact(std::str::from_utf8(t).ok()?, precision, scale),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rowid_ranges_cover_everything_once() {
        let parts = rowid_partitions(1, 1000, 1000, 300);
        let ranges: Vec<(i64, i64)> = parts
            .iter()
            .map(|p| match p.spec {
                PartitionSpec::RowidRange { lo, hi } => (lo, hi),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(ranges, vec![(1, 250), (251, 500), (501, 750), (751, 1000)]);
        let parts = rowid_partitions(i64::MIN, i64::MAX, 3, 250_000);
        assert_eq!(parts.len(), 1);
    }

    #[test]
    fn the_rowid_is_reached_by_a_name_no_column_takes() {
        let cols = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(rowid_name(&cols(&["id", "v"])), Some("rowid"));
        assert_eq!(rowid_name(&cols(&["ROWID", "v"])), Some("_rowid_"));
        assert_eq!(rowid_name(&cols(&["rowid", "_ROWID_"])), Some("oid"));
        assert_eq!(rowid_name(&cols(&["RowId", "_rowid_", "OID"])), None);
    }
}
