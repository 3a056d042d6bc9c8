//! The MySQL and MariaDB source: one consistent snapshot for the whole run, the declared types
//! from `information_schema`, partitions by quantiles of a numeric or date key, each read with a
//! prepared `SELECT` (the binary protocol: integers, floats, dates and times arrive typed, floats
//! exactly) and built into Arrow batch by batch.
//!
//! Why not connectorx here: its MySQL reader reads every DECIMAL as `Decimal128(38,10)` (so
//! `decimal(65,30)` cannot be carried), has no answer for zero dates or `time` beyond 24 hours,
//! produces into an unbounded channel and turns every error into a panic; and its pooled
//! connections cannot be made to share one snapshot, which needs every reading connection to
//! start its transaction while the tables are locked. The `mysql` crate it uses underneath is
//! what this file reads through.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use arrow::array::*;
use arrow::datatypes::{Field, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use mysql::prelude::Queryable;
use mysql::{Conn, Value};

use super::{
    thread_stream, BatchLimits, BatchSender, BatchStream, NotCopied, Partition, PartitionSpec,
    ReadOptions, Source, TablePlan, TableRef,
};
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::mysql::{my_error, quote_ident, split_qualified, MySettings};
use crate::transform::filter::SqlDialect;
use crate::types::constraints::CheckDef;
use crate::types::indexes::{IndexColumn, IndexDef, NativeIndex};
use crate::types::mysql::{base_name, MyRead, DIALECT};
use crate::types::{decimal, field_with_source, META_PRIMARY_KEY};

/// Tables whose data takes at least this much are split without being asked.
pub const AUTO_PARTITION_BYTES: i64 = 64 * 1024 * 1024;

/// What the source does with a zero date (`0000-00-00`, `2024-00-10`), which no calendar has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ZeroDates {
    /// Fail, naming the column and the row (the default).
    #[default]
    Error,
    /// Read it as NULL; the run report counts them.
    Null,
}

/// A pool of reading connections, each inside the run's snapshot transaction.
struct Readers {
    idle: Mutex<Vec<Conn>>,
    returned: Condvar,
}

impl Readers {
    fn take(&self) -> Result<Conn> {
        let mut idle = self
            .idle
            .lock()
            .map_err(|_| Error::internal("the reader pool was poisoned"))?;
        loop {
            if let Some(c) = idle.pop() {
                return Ok(c);
            }
            idle = self
                .returned
                .wait(idle)
                .map_err(|_| Error::internal("the reader pool was poisoned"))?;
        }
    }

    fn give_back(&self, conn: Conn) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
            self.returned.notify_one();
        }
    }
}

pub struct MySource {
    settings: MySettings,
    /// Catalog reads (information_schema, quantiles) run here, outside the snapshot.
    catalog: Mutex<Conn>,
    readers: Arc<Readers>,
    options: ReadOptions,
    tinyint1_bool: bool,
    zero_dates: ZeroDates,
}

impl MySource {
    pub fn try_new(endpoint: &Endpoint, options: &ReadOptions) -> Result<MySource> {
        // `tinyint(1)` is a tinyint: it holds -128..127 whatever its display width, and MySQL's
        // BOOLEAN is only its alias. Read as Int8 it is exact on every route; as a boolean only
        // when asked, and then a value other than 0 and 1 is an error.
        let tinyint1_bool = match endpoint.option("tinyint1") {
            None | Some("int") => false,
            Some("bool") => true,
            Some(other) => {
                return Err(Error::invalid_args(format!(
                    "{endpoint}: tinyint1={other}: use tinyint1=int (the default) or tinyint1=bool"
                )))
            }
        };
        let settings = MySettings::from_endpoint(endpoint)?;
        let mut catalog = settings.connect()?;
        let jobs = options.jobs.max(1);
        let mut conns = Vec::with_capacity(jobs);
        for _ in 0..jobs {
            conns.push(settings.connect()?);
        }
        let start = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";
        let begin = |c: &mut Conn| {
            c.query_drop(start)
                .map_err(|e| my_error(e, format!("{settings}: cannot start the snapshot")))
        };
        if jobs == 1 || options.no_snapshot_lock {
            // One connection sees one moment by itself; without the lock each sees its own.
            for c in &mut conns {
                begin(c)?;
            }
        } else {
            // As mydumper: with the tables locked for a moment, every reader starts its
            // snapshot, so all of them see the same one.
            catalog
                .query_drop("FLUSH TABLES WITH READ LOCK")
                .map_err(|e| {
                    let e = my_error(
                        e,
                        format!("{settings}: cannot lock the tables for a consistent snapshot"),
                    );
                    if e.kind() == ErrorKind::Unauthenticated {
                        e.context(
                            "the user needs the RELOAD privilege (FLUSH TABLES WITH READ LOCK) for \
                             several connections to read one snapshot; use --jobs 1 (one \
                             connection, one snapshot) or --no-snapshot-lock (each connection its \
                             own snapshot, moments apart)",
                        )
                    } else {
                        e
                    }
                })?;
            let started: Result<()> = conns.iter_mut().try_for_each(begin);
            let unlocked = catalog
                .query_drop("UNLOCK TABLES")
                .map_err(|e| my_error(e, format!("{settings}: cannot unlock the tables")));
            started?;
            unlocked?;
        }
        Ok(MySource {
            settings,
            catalog: Mutex::new(catalog),
            readers: Arc::new(Readers {
                idle: Mutex::new(conns),
                returned: Condvar::new(),
            }),
            options: options.clone(),
            tinyint1_bool,
            zero_dates: options.zero_dates,
        })
    }

    fn with_catalog<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let mut c = self
            .catalog
            .lock()
            .map_err(|_| Error::internal("the catalog connection was poisoned"))?;
        f(&mut c)
    }

    /// A table of `db` as `--table` takes it: bare in the URL's database, else `db.table`,
    /// quoted where needed so `plan` reads it back as one name (`a.b`).
    fn listed_name(&self, db: &str, table: &str) -> String {
        if Some(db) == self.settings.database.as_deref() {
            quote_part(table)
        } else {
            format!("{}.{}", quote_part(db), quote_part(table))
        }
    }

    /// The database a table name refers to, and its bare name.
    fn locate(&self, name: &str) -> Result<(String, String)> {
        let (db, table) = split_qualified(name);
        let db = db
            .or_else(|| self.options.schema.clone())
            .or_else(|| self.settings.database.clone())
            .ok_or_else(|| {
                Error::invalid_args(format!(
                    "{}: the URL names no database; add it (mysql://host/DB) or write DB.{table}",
                    self.settings
                ))
            })?;
        Ok((db, table))
    }

    /// The CHECK constraints of `db`.`bare` (MySQL 8.0.16+, MariaDB 10.2+; none where the server
    /// has no `CHECK_CONSTRAINTS`), but for MariaDB's `json_valid()` of its JSON columns, which
    /// the column's type carries; its comment and its columns'.
    fn checks_and_comments(
        &self,
        c: &mut Conn,
        db: &str,
        bare: &str,
        given: &str,
    ) -> Result<crate::types::constraints::Annotations> {
        let ctx = |e| my_error(e, format!("{}: table {given}: comments", self.settings));
        let columns: Vec<(String, String)> = c
            .exec(
                "SELECT COLUMN_NAME, COLUMN_COMMENT FROM information_schema.COLUMNS
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (db, bare),
            )
            .map_err(ctx)?;
        let comment: Option<String> = c
            .exec_first(
                "SELECT TABLE_COMMENT FROM information_schema.TABLES
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (db, bare),
            )
            .map_err(ctx)?;
        let clauses: Vec<(String, String)> = c
            .exec(
                "SELECT cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE
                 FROM information_schema.TABLE_CONSTRAINTS tc
                 JOIN information_schema.CHECK_CONSTRAINTS cc
                   ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA
                  AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
                 WHERE tc.TABLE_SCHEMA = ? AND tc.TABLE_NAME = ? AND tc.CONSTRAINT_TYPE = 'CHECK'
                 ORDER BY cc.CONSTRAINT_NAME",
                (db, bare),
            )
            .unwrap_or_default();
        let checks = clauses
            .into_iter()
            .filter(|(_, clause)| {
                !columns.iter().any(|(col, _)| {
                    clause.eq_ignore_ascii_case(&format!("json_valid({})", quote_ident(col)))
                })
            })
            .map(|(name, clause)| CheckDef {
                name,
                dialect: DIALECT.into(),
                // The columns it names, as the server prints them (quoted).
                reads: columns
                    .iter()
                    .filter(|(col, _)| clause.contains(&quote_ident(col)))
                    .map(|(col, _)| col.clone())
                    .collect(),
                definition: format!("CHECK ({clause})"),
            })
            .collect();
        let comments = columns.into_iter().filter(|(_, c)| !c.is_empty()).collect();
        Ok((checks, comment.filter(|c| !c.is_empty()), comments))
    }

    /// The secondary indexes of `db`.`bare` (`information_schema.STATISTICS`, not `PRIMARY`):
    /// portable when each part is a whole column of a B-tree (or hash) index; a prefix
    /// (`name(10)`), FULLTEXT or SPATIAL index also verbatim, for a MySQL/MariaDB target. A
    /// non-unique prefix index is portable as an index of the whole column.
    fn indexes(&self, c: &mut Conn, db: &str, bare: &str, given: &str) -> Result<Vec<IndexDef>> {
        type Row = (
            String,
            i64,
            Option<String>,
            Option<String>,
            Option<i64>,
            String,
        );
        const FUNCTIONAL: &str = "a MySQL functional index";
        let rows: Vec<Row> = c
            .exec(
                "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, COLLATION, SUB_PART, INDEX_TYPE
                 FROM information_schema.STATISTICS
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME <> 'PRIMARY'
                 ORDER BY INDEX_NAME, SEQ_IN_INDEX",
                (db, bare),
            )
            .map_err(|e| my_error(e, format!("{}: table {given}: indexes", self.settings)))?;
        let mut out: Vec<IndexDef> = Vec::new();
        let mut parts: Vec<String> = Vec::new();
        let flush = |ix: Option<IndexDef>, parts: &mut Vec<String>, out: &mut Vec<IndexDef>| {
            if let Some(mut ix) = ix {
                let kind = ix.native.take().map(|n| n.definition).unwrap_or_default();
                let body = format!("({})", parts.join(", "));
                // A functional index has no definition to carry.
                let functional = ix.not_portable.as_deref() == Some(FUNCTIONAL);
                ix.native = (!functional).then(|| NativeIndex {
                    dialect: "mysql".into(),
                    definition: match kind.as_str() {
                        "" => body,
                        kind => format!("{kind} {body}"),
                    },
                });
                if ix.not_portable.is_some() {
                    ix.columns.clear();
                }
                out.push(ix);
            }
            parts.clear();
        };
        let mut current: Option<IndexDef> = None;
        for (name, non_unique, column, collation, prefix, kind) in rows {
            if current.as_ref().is_none_or(|ix| ix.name != name) {
                flush(current.take(), &mut parts, &mut out);
                let kind = kind.to_ascii_uppercase();
                let special = matches!(kind.as_str(), "FULLTEXT" | "SPATIAL");
                current = Some(IndexDef {
                    name: name.clone(),
                    unique: non_unique == 0,
                    constraint: false,
                    columns: Vec::new(),
                    not_portable: special.then(|| format!("a MySQL {kind} index")),
                    reads: Vec::new(),
                    // The kind, until the parts are all read.
                    native: special.then(|| NativeIndex {
                        dialect: "mysql".into(),
                        definition: kind.clone(),
                    }),
                });
            }
            let Some(ix) = current.as_mut() else { continue };
            let Some(column) = column else {
                // A functional key part (MySQL 8): its expression is not read.
                ix.not_portable = Some(FUNCTIONAL.into());
                parts.push("?".into());
                continue;
            };
            let descending = collation.as_deref() == Some("D");
            let mut part = quote_ident(&column);
            if let Some(n) = prefix {
                part.push_str(&format!("({n})"));
                if ix.unique && ix.not_portable.is_none() {
                    ix.not_portable = Some("a MySQL unique index of column prefixes".into());
                }
            }
            if descending {
                part.push_str(" DESC");
            }
            parts.push(part);
            ix.reads.push(column.clone());
            ix.columns.push(IndexColumn {
                name: column,
                descending,
            });
        }
        flush(current.take(), &mut parts, &mut out);
        Ok(out)
    }

    /// The columns of a table from `information_schema`, with their reads.
    fn describe_table(
        &self,
        c: &mut Conn,
        db: &str,
        table: &str,
        name: &str,
    ) -> Result<Vec<(Field, MyRead)>> {
        let ctx = || format!("{}: table {name}", self.settings);
        type Row = (String, String, String, String, String, Option<String>);
        let rows: Vec<Row> = c
            .exec(
                "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, EXTRA, COLUMN_DEFAULT
                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
                 ORDER BY ORDINAL_POSITION",
                (db, table),
            )
            .map_err(|e| my_error(e, ctx()))?;
        if rows.is_empty() {
            return Err(Error::not_found(format!(
                "{}: table {name} does not exist",
                self.settings
            )));
        }
        let key: Vec<(String, u32)> = c
            .exec(
                "SELECT COLUMN_NAME, SEQ_IN_INDEX FROM information_schema.STATISTICS
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY'",
                (db, table),
            )
            .map_err(|e| my_error(e, ctx()))?;
        // MariaDB's JSON is longtext with a json_valid() check: find those to keep the type.
        let checks: Vec<String> = c
            .exec(
                "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
                 WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
                (db, table),
            )
            .unwrap_or_default();
        rows.into_iter()
            .map(|(col, data_type, column_type, nullable, extra, default)| {
                let json_check = format!("json_valid({})", quote_ident(&col));
                let declared = if data_type.eq_ignore_ascii_case("longtext")
                    && checks.iter().any(|c| c.eq_ignore_ascii_case(&json_check))
                {
                    "json".to_string()
                } else {
                    column_type
                };
                let read =
                    MyRead::of(&data_type, &declared, self.tinyint1_bool).ok_or_else(|| {
                        Error::unsupported(format!(
                            "{}: table {name}, column \"{col}\": type {declared} is not supported \
                         (select it converted, e.g. ST_AsText(...), with --query)",
                            self.settings
                        ))
                    })?;
                let mut field = field_with_source(
                    &col,
                    read.arrow_type(),
                    nullable != "NO",
                    DIALECT,
                    &declared,
                );
                if let Some((_, pos)) = key.iter().find(|(k, _)| *k == col) {
                    let mut meta = field.metadata().clone();
                    meta.insert(META_PRIMARY_KEY.into(), pos.to_string());
                    field = field.with_metadata(meta);
                }
                let extra = extra.to_ascii_lowercase();
                if extra.contains("auto_increment") {
                    field = crate::types::with_identity(field, "BY DEFAULT");
                } else if !["virtual", "stored", "persistent"]
                    .iter()
                    .any(|g| extra.contains(g))
                {
                    // A generated column's expression is no default.
                    let default = default
                        .as_deref()
                        .and_then(crate::types::defaults::ColumnDefault::from_mysql);
                    if let Some(d) = default {
                        field = d.on_field(field);
                    }
                }
                Ok((field, read))
            })
            .collect()
    }

    /// The columns of a query, from the metadata of its prepared statement.
    fn describe_query(&self, c: &mut Conn, sql: &str) -> Result<Vec<(Field, MyRead)>> {
        let stmt = c
            .prep(sql)
            .map_err(|e| my_error(e, format!("{}: query", self.settings)))?;
        stmt.columns()
            .iter()
            .map(|col| {
                let name = col.name_str().to_string();
                let declared = wire_declaration(col);
                let read = MyRead::of(&base_name(&declared), &declared, self.tinyint1_bool)
                    .ok_or_else(|| {
                        Error::unsupported(format!(
                            "{}: query, column \"{name}\": type {declared} is not supported",
                            self.settings
                        ))
                    })?;
                let not_null = col
                    .flags()
                    .contains(mysql::consts::ColumnFlags::NOT_NULL_FLAG);
                Ok((
                    field_with_source(&name, read.arrow_type(), !not_null, DIALECT, &declared),
                    read,
                ))
            })
            .collect()
    }

    /// Splits a table on a numeric or date key by quantiles: `(label, predicate)` pairs.
    fn partitions(
        &self,
        c: &mut Conn,
        name: &str,
        from: &str,
        fields: &[(Field, MyRead)],
        data_bytes: i64,
    ) -> Result<Vec<(String, Option<String>)>> {
        let whole = || Ok(vec![("whole table".to_string(), None)]);
        let jobs = self.options.jobs.max(1);
        let primary = fields
            .iter()
            .find(|(f, _)| crate::types::primary_key_position(f) == Some(1));
        let key = match (&self.options.partition_on, self.options.partitions) {
            (Some(k), _) => match fields.iter().find(|(f, _)| f.name() == k) {
                Some(f) => f,
                None => {
                    return Err(Error::not_found(format!(
                        "{}: table {name} has no column \"{k}\" to partition on",
                        self.settings
                    )))
                }
            },
            (None, asked) => match primary {
                Some(p)
                    if partition_key(p.1)
                        && (asked.is_some() || data_bytes >= AUTO_PARTITION_BYTES) =>
                {
                    p
                }
                _ => return whole(),
            },
        };
        if !partition_key(key.1) {
            return Err(Error::invalid_args(format!(
                "{}: table {name}: column \"{}\" ({:?}) cannot be partitioned on: use a numeric or \
                 date column",
                self.settings,
                key.0.name(),
                key.1
            )));
        }
        let n = match self.options.partitions {
            Some(n) => n.max(1),
            None if self.options.partition_on.is_some() => jobs,
            None => ((data_bytes / AUTO_PARTITION_BYTES) as usize).max(jobs),
        };
        if n == 1 {
            return whole();
        }
        // The key values that start each of n equal parts of the rows in key order, counted
        // exactly in the same pass over the key's index (not from InnoDB's row estimate, which
        // changes, after a server restart say: the bounds, and so a resume's plan, do not).
        let k = quote_ident(key.0.name());
        let sql = format!(
            "SELECT CAST(k AS CHAR) FROM (SELECT {k} AS k, ROW_NUMBER() OVER (ORDER BY {k}) AS rn, \
             COUNT(*) OVER () AS cnt FROM {from} WHERE {k} IS NOT NULL) q \
             WHERE (rn * {n}) DIV cnt > ((rn - 1) * {n}) DIV cnt AND (rn * {n}) DIV cnt < {n} \
             ORDER BY rn"
        );
        let mut bounds: Vec<String> = c
            .query::<Option<String>, _>(sql)
            .map_err(|e| {
                my_error(
                    e,
                    format!("{}: table {name}: quantiles of {k}", self.settings),
                )
            })?
            .into_iter()
            .flatten()
            .collect();
        bounds.dedup();
        if bounds.is_empty() {
            return whole();
        }
        let lit = |b: &str| -> Result<String> { bound_literal(key.1, b) };
        let mut parts = vec![(
            format!("{k} < {} or NULL", bounds[0]),
            Some(format!("({k} < {} OR {k} IS NULL)", lit(&bounds[0])?)),
        )];
        for w in bounds.windows(2) {
            parts.push((
                format!("{} <= {k} < {}", w[0], w[1]),
                Some(format!("{k} >= {} AND {k} < {}", lit(&w[0])?, lit(&w[1])?)),
            ));
        }
        let last = &bounds[bounds.len() - 1];
        parts.push((
            format!("{k} >= {last}"),
            Some(format!("{k} >= {}", lit(last)?)),
        ));
        Ok(parts)
    }
}

/// Whether a column can split a table by ranges.
fn partition_key(read: MyRead) -> bool {
    matches!(
        read,
        MyRead::Int8
            | MyRead::Int16
            | MyRead::Int32
            | MyRead::Int64
            | MyRead::UInt8
            | MyRead::UInt16
            | MyRead::UInt32
            | MyRead::UInt64
            | MyRead::Decimal128 { .. }
            | MyRead::Decimal256 { .. }
            | MyRead::Year
            | MyRead::Date
            | MyRead::DateTime
            | MyRead::Timestamp
    )
}

/// A partition bound as a literal of the key's type: numbers bare (a quoted number would be
/// compared as a double, inexact beyond 2^53), dates quoted.
fn bound_literal(read: MyRead, b: &str) -> Result<String> {
    let temporal = matches!(read, MyRead::Date | MyRead::DateTime | MyRead::Timestamp);
    let ok = if temporal {
        b.chars().all(|c| c.is_ascii_digit() || " -:.".contains(c))
    } else {
        b.chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '.')
    };
    if !ok || b.is_empty() {
        return Err(Error::internal(format!("unexpected partition bound {b:?}")));
    }
    Ok(if temporal {
        format!("'{b}'")
    } else {
        b.to_string()
    })
}

/// A declaration for a query column, from the protocol's column metadata.
fn wire_declaration(col: &mysql::Column) -> String {
    use mysql::consts::{ColumnFlags, ColumnType as T};
    let flags = col.flags();
    let unsigned = if flags.contains(ColumnFlags::UNSIGNED_FLAG) {
        " unsigned"
    } else {
        ""
    };
    let binary = col.character_set() == 63;
    let len = col.column_length();
    let decimals = col.decimals();
    match col.column_type() {
        T::MYSQL_TYPE_TINY if len == 1 && unsigned.is_empty() => "tinyint(1)".into(),
        T::MYSQL_TYPE_TINY => format!("tinyint{unsigned}"),
        T::MYSQL_TYPE_SHORT => format!("smallint{unsigned}"),
        T::MYSQL_TYPE_INT24 => format!("mediumint{unsigned}"),
        T::MYSQL_TYPE_LONG => format!("int{unsigned}"),
        T::MYSQL_TYPE_LONGLONG => format!("bigint{unsigned}"),
        T::MYSQL_TYPE_FLOAT => "float".into(),
        T::MYSQL_TYPE_DOUBLE => "double".into(),
        T::MYSQL_TYPE_NEWDECIMAL | T::MYSQL_TYPE_DECIMAL => {
            // The display length counts the sign and the point.
            let scale = decimals as u32;
            let sign = u32::from(unsigned.is_empty());
            let point = u32::from(scale > 0);
            let precision = len.saturating_sub(sign + point).max(1);
            format!("decimal({precision},{scale}){unsigned}")
        }
        T::MYSQL_TYPE_YEAR => "year".into(),
        T::MYSQL_TYPE_DATE | T::MYSQL_TYPE_NEWDATE => "date".into(),
        T::MYSQL_TYPE_DATETIME | T::MYSQL_TYPE_DATETIME2 => format!("datetime{}", fsp(decimals)),
        T::MYSQL_TYPE_TIMESTAMP | T::MYSQL_TYPE_TIMESTAMP2 => {
            format!("timestamp{}", fsp(decimals))
        }
        T::MYSQL_TYPE_TIME | T::MYSQL_TYPE_TIME2 => format!("time{}", fsp(decimals)),
        T::MYSQL_TYPE_BIT => format!("bit({len})"),
        T::MYSQL_TYPE_JSON => "json".into(),
        T::MYSQL_TYPE_GEOMETRY => "geometry".into(),
        T::MYSQL_TYPE_TINY_BLOB
        | T::MYSQL_TYPE_MEDIUM_BLOB
        | T::MYSQL_TYPE_LONG_BLOB
        | T::MYSQL_TYPE_BLOB => if binary { "longblob" } else { "longtext" }.into(),
        // Fixed and variable strings: the length is in bytes of the result's character set
        // (utf8mb4, 4 bytes a character, as ferry's sessions ask).
        t => {
            let fixed = t == T::MYSQL_TYPE_STRING;
            match (binary, fixed) {
                (true, true) => format!("binary({len})"),
                (true, false) => format!("varbinary({len})"),
                (false, true) => format!("char({})", (len / 4).max(1)),
                (false, false) if len / 4 <= 16383 => format!("varchar({})", (len / 4).max(1)),
                (false, false) => "longtext".into(),
            }
        }
    }
}

/// `(n)` for a temporal type with fractional seconds.
fn fsp(decimals: u8) -> String {
    if (1..=6).contains(&decimals) {
        format!("({decimals})")
    } else {
        String::new()
    }
}

/// The `SELECT` of a table or query with an optional predicate.
fn select_sql(from: &str, fields: &[(Field, MyRead)], filter: Option<&str>) -> String {
    let cols = fields
        .iter()
        .map(|(f, _)| quote_ident(f.name()))
        .collect::<Vec<_>>()
        .join(", ");
    let filter = filter.map(|f| format!(" WHERE {f}")).unwrap_or_default();
    format!("SELECT {cols} FROM {from}{filter}")
}

impl Source for MySource {
    fn tables(&self) -> Result<Vec<String>> {
        let db = self
            .options
            .schema
            .clone()
            .or(self.settings.database.clone())
            .ok_or_else(|| {
                Error::invalid_args(format!(
                    "{}: the URL names no database; add it (mysql://host/DB) or use --schema",
                    self.settings
                ))
            })?;
        self.with_catalog(|c| {
            let ctx = || format!("{}: list tables", self.settings);
            let exists: Option<String> = c
                .exec_first(
                    "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
                    (&db,),
                )
                .map_err(|e| my_error(e, ctx()))?;
            if exists.is_none() {
                return Err(Error::not_found(format!(
                    "{}: database \"{db}\" does not exist",
                    self.settings
                )));
            }
            let names: Vec<String> = c
                .exec(
                    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?
                     AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')
                     ORDER BY TABLE_NAME",
                    (&db,),
                )
                .map_err(|e| my_error(e, ctx()))?;
            Ok(names
                .iter()
                .filter(|t| !super::is_ferry_state(t))
                .map(|t| self.listed_name(&db, t))
                .collect())
        })
    }

    /// Views: their rows are a query over other tables, copied only when named; and ferry's
    /// own tables.
    fn not_copied(&self) -> Result<Vec<NotCopied>> {
        let Some(db) = self
            .options
            .schema
            .clone()
            .or(self.settings.database.clone())
        else {
            return Ok(Vec::new());
        };
        self.with_catalog(|c| {
            let names: Vec<(String, String)> = c
                .exec(
                    "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES
                     WHERE TABLE_SCHEMA = ? ORDER BY TABLE_TYPE = 'VIEW' DESC, TABLE_NAME",
                    (&db,),
                )
                .map_err(|e| my_error(e, format!("{}: list views", self.settings)))?;
            Ok(names
                .iter()
                .filter_map(|(t, kind)| match kind.as_str() {
                    "VIEW" => Some(NotCopied {
                        name: self.listed_name(&db, t),
                        kind: "view".into(),
                        note: None,
                    }),
                    _ if super::is_ferry_state(t) => {
                        Some(super::ferry_state(self.listed_name(&db, t)))
                    }
                    _ => None,
                })
                .collect())
        })
    }

    fn declares_keys(&self) -> bool {
        true
    }

    /// The primary key, and the foreign keys of `information_schema` (composite and
    /// self-referencing, with their `ON DELETE` / `ON UPDATE` rules); a referenced table of the
    /// same database by its bare name, as `tables()` lists it.
    fn keys(&self, table: &TableRef, plan: &TablePlan) -> Result<super::TableKeys> {
        let mut keys = super::primary_key_of(plan);
        let TableRef::Table(given) = table else {
            return Ok(keys);
        };
        let (db, bare) = self.locate(given)?;
        type Row = (String, String, String, String, String, String, String);
        let rows: Vec<Row> = self.with_catalog(|c| {
            c.exec(
                "SELECT k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA,
                        k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.DELETE_RULE,
                        r.UPDATE_RULE
                 FROM information_schema.KEY_COLUMN_USAGE k
                 JOIN information_schema.REFERENTIAL_CONSTRAINTS r
                   ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA
                  AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
                 WHERE k.TABLE_SCHEMA = ? AND k.TABLE_NAME = ?
                   AND k.REFERENCED_TABLE_NAME IS NOT NULL
                 ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
                (&db, &bare),
            )
            .map_err(|e| my_error(e, format!("{}: table {given}: foreign keys", self.settings)))
        })?;
        let mut current: Option<(String, super::ForeignKey)> = None;
        for (name, column, ref_db, ref_table, referenced, on_delete, on_update) in rows {
            if current.as_ref().is_none_or(|(n, _)| *n != name) {
                keys.foreign_keys.extend(current.take().map(|(_, fk)| fk));
                let table = if ref_db == db {
                    quote_part(&ref_table)
                } else {
                    format!("{}.{}", quote_part(&ref_db), quote_part(&ref_table))
                };
                let fk = super::ForeignKey {
                    table,
                    on_delete: super::KeyAction::from_rule(&on_delete),
                    on_update: super::KeyAction::from_rule(&on_update),
                    ..Default::default()
                };
                current = Some((name, fk));
            }
            if let Some((_, fk)) = current.as_mut() {
                fk.columns.push(column);
                fk.referenced.push(referenced);
            }
        }
        keys.foreign_keys.extend(current.map(|(_, fk)| fk));
        Ok(keys)
    }

    fn plan(&self, table: &TableRef) -> Result<TablePlan> {
        self.with_catalog(|c| {
            let mut indexes = Vec::new();
            let mut annotations = None;
            let (name, fields, pieces, rows) = match table {
                TableRef::Table(name) => {
                    let (db, bare) = self.locate(name)?;
                    let from = format!("{}.{}", quote_ident(&db), quote_ident(&bare));
                    let fields = self.describe_table(c, &db, &bare, name)?;
                    let stat: Option<(String, Option<i64>, Option<i64>)> = c
                        .exec_first(
                            "SELECT TABLE_TYPE, TABLE_ROWS, DATA_LENGTH FROM information_schema.TABLES
                             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                            (&db, &bare),
                        )
                        .map_err(|e| my_error(e, format!("{}: table {name}", self.settings)))?;
                    let (kind, rows, bytes) = stat.unwrap_or_default();
                    // A view (named with --table) is read as its rows; how many is known only
                    // by reading them.
                    let view = kind == "VIEW";
                    let (rows, bytes) = (rows.unwrap_or(0), bytes.unwrap_or(0));
                    let parts = self.partitions(c, name, &from, &fields, bytes)?;
                    let pieces = parts
                        .into_iter()
                        .map(|(label, filter)| {
                            (label, select_sql(&from, &fields, filter.as_deref()))
                        })
                        .collect::<Vec<_>>();
                    // TABLE_ROWS is InnoDB's estimate: for progress only.
                    // Named by the table alone: the target's default name.
                    let rows = (!view).then_some(rows as u64);
                    if !view {
                        indexes = self.indexes(c, &db, &bare, name)?;
                        annotations = Some(self.checks_and_comments(c, &db, &bare, name)?);
                    }
                    (bare.clone(), fields, pieces, rows)
                }
                TableRef::Query(sql) => {
                    let sql = sql.trim().trim_end_matches(';').to_string();
                    let fields = self.describe_query(c, &sql)?;
                    (
                        "query".to_string(),
                        fields,
                        vec![("query".to_string(), sql)],
                        None,
                    )
                }
            };
            let mut plan = TablePlan::of_statements(
                name,
                fields.into_iter().map(|(f, _)| f).collect(),
                pieces,
                rows,
            );
            plan.schema = crate::types::constraints::record(
                &plan.schema,
                &indexes,
                &annotations.unwrap_or_default(),
            );
            Ok(plan)
        })
    }

    /// Filters on the column types MySQL compares as arrow does are run in the SELECT.
    fn filter_dialect(&self) -> Option<SqlDialect> {
        Some(SqlDialect::Mysql {
            dates: self.zero_dates == ZeroDates::Error,
        })
    }

    fn open(&self, plan: &TablePlan, partition: &Partition) -> Result<BatchStream> {
        let PartitionSpec::Sql(sql) = &partition.spec else {
            return Err(Error::internal("a MySQL partition without its SELECT"));
        };
        let readers = self.readers.clone();
        let settings = self.settings.clone();
        // The pushed-down filter as the WHERE of a derived table: MySQL and MariaDB merge it
        // into the partition's SELECT, so a key range is still one index range.
        let sql = match &plan.filter {
            Some(f) => format!("SELECT * FROM ({sql}) AS ferry_filtered WHERE {f}"),
            None => sql.clone(),
        };
        tracing::debug!(source = %settings, partition = %partition.label, %sql, "reading");
        let schema = plan.schema.clone();
        let reads: Vec<MyRead> = schema
            .fields()
            .iter()
            .map(|f| {
                MyRead::of_field(f).ok_or_else(|| {
                    Error::internal(format!("column \"{}\": no MySQL read", f.name()))
                })
            })
            .collect::<Result<_>>()?;
        let limits = self.options.limits;
        let zero_dates = self.zero_dates;
        // Each column's count of the values it replaced, taken once: counted without a lock.
        let lossy = schema
            .fields()
            .iter()
            .map(|f| plan.lossy.column(f.name()))
            .collect();
        let table = plan.name.clone();
        thread_stream(format!("ferry-mysql-{}", partition.index), move |tx| {
            let mut conn = readers.take()?;
            let mut decoder = Decoder {
                schema,
                reads,
                limits,
                zero_dates,
                lossy,
                table,
                row: 0,
            };
            let done = decoder.run(&mut conn, &sql, tx);
            match &done {
                // A connection left in the middle of a result is not given back.
                Ok(true) => readers.give_back(conn),
                _ => drop(conn),
            }
            done.map(|_| ())
                .map_err(|e| e.context(settings.to_string()))
        })
    }
}

/// `sales` stays bare; names that need it are quoted, so `split_qualified` reads them back.
fn quote_part(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        s.to_string()
    } else {
        quote_ident(s)
    }
}

/// Builds batches from the rows of one `SELECT`.
struct Decoder {
    schema: SchemaRef,
    reads: Vec<MyRead>,
    limits: BatchLimits,
    zero_dates: ZeroDates,
    /// Per column: the values it replaced (`--zero-dates null`).
    lossy: Vec<Arc<AtomicU64>>,
    table: String,
    /// Rows read so far (for messages).
    row: u64,
}

impl Decoder {
    /// Reads every row into batches sent to `tx`. `Ok(true)`: the result was read to its end.
    fn run(&mut self, conn: &mut Conn, sql: &str, tx: &BatchSender) -> Result<bool> {
        let ctx = |t: &str| format!("{t}: read");
        let mut result = conn
            .exec_iter(sql, ())
            .map_err(|e| my_error(e, ctx(&self.table)))?;
        let Some(set) = result.iter() else {
            return Ok(true);
        };
        let mut builders: Vec<Builder> = self
            .reads
            .iter()
            .map(|r| Builder::new(*r, self.limits.rows.min(4096)))
            .collect();
        let (mut rows, mut bytes) = (0usize, 0usize);
        for row in set {
            let row = row.map_err(|e| my_error(e, ctx(&self.table)))?;
            self.row += 1;
            for (i, v) in row.unwrap_raw().into_iter().enumerate() {
                let b = &mut builders[i];
                let v = v.unwrap_or(Value::NULL);
                let lossy = &self.lossy[i];
                bytes += b.append(v, self.zero_dates, lossy).map_err(|msg| {
                    Error::invalid_data(format!(
                        "{}, column \"{}\", row {}: {msg}",
                        self.table,
                        self.schema.field(i).name(),
                        self.row
                    ))
                })?;
            }
            rows += 1;
            if rows >= self.limits.rows || bytes >= self.limits.bytes {
                if tx.send(Ok(self.flush(&mut builders)?)).is_err() {
                    return Ok(false);
                }
                rows = 0;
                bytes = 0;
            }
        }
        if rows > 0 && tx.send(Ok(self.flush(&mut builders)?)).is_err() {
            return Ok(false);
        }
        Ok(true)
    }

    fn flush(&self, builders: &mut [Builder]) -> Result<RecordBatch> {
        let arrays = builders.iter_mut().map(Builder::finish).collect::<Vec<_>>();
        RecordBatch::try_new(self.schema.clone(), arrays)
            .map_err(|e| Error::arrow(format!("{}: batch", self.table), e))
    }
}

const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("1970-01-01 is a date"),
};

/// Days since 1970-01-01 of a calendar date; `None` for a zero or impossible date.
fn days(y: u16, m: u8, d: u8) -> Option<i32> {
    let date = NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32)?;
    Some((date - EPOCH).num_days() as i32)
}

/// One column's Arrow builder.
enum Builder {
    Bool(BooleanBuilder),
    I8(Int8Builder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    U8(UInt8Builder),
    U16(UInt16Builder),
    U32(UInt32Builder),
    U64(UInt64Builder, MyRead),
    F32(Float32Builder),
    F64(Float64Builder),
    D128(Decimal128Builder, u8, i8),
    D256(Decimal256Builder, u8, i8),
    Text(StringBuilder),
    Binary(BinaryBuilder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder, MyRead),
    Time(DurationMicrosecondBuilder),
}

fn int(v: &Value) -> std::result::Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::UInt(u) => i64::try_from(*u).map_err(|_| format!("{u} out of range")),
        Value::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("{:?} is not an integer", String::from_utf8_lossy(b))),
        other => Err(format!("unexpected value {other:?}")),
    }
}

impl Builder {
    fn new(read: MyRead, cap: usize) -> Builder {
        match read {
            MyRead::Bool => Builder::Bool(BooleanBuilder::with_capacity(cap)),
            MyRead::Int8 => Builder::I8(Int8Builder::with_capacity(cap)),
            MyRead::Int16 | MyRead::Year => Builder::I16(Int16Builder::with_capacity(cap)),
            MyRead::Int32 => Builder::I32(Int32Builder::with_capacity(cap)),
            MyRead::Int64 => Builder::I64(Int64Builder::with_capacity(cap)),
            MyRead::UInt8 => Builder::U8(UInt8Builder::with_capacity(cap)),
            MyRead::UInt16 => Builder::U16(UInt16Builder::with_capacity(cap)),
            MyRead::UInt32 => Builder::U32(UInt32Builder::with_capacity(cap)),
            MyRead::UInt64 | MyRead::Bit => Builder::U64(UInt64Builder::with_capacity(cap), read),
            MyRead::Float32 => Builder::F32(Float32Builder::with_capacity(cap)),
            MyRead::Float64 => Builder::F64(Float64Builder::with_capacity(cap)),
            MyRead::Decimal128 { precision, scale } => {
                Builder::D128(Decimal128Builder::with_capacity(cap), precision, scale)
            }
            MyRead::Decimal256 { precision, scale } => {
                Builder::D256(Decimal256Builder::with_capacity(cap), precision, scale)
            }
            MyRead::Text => Builder::Text(StringBuilder::with_capacity(cap, cap * 16)),
            MyRead::Binary => Builder::Binary(BinaryBuilder::with_capacity(cap, cap * 16)),
            MyRead::Date => Builder::Date(Date32Builder::with_capacity(cap)),
            MyRead::DateTime | MyRead::Timestamp => {
                Builder::Ts(TimestampMicrosecondBuilder::with_capacity(cap), read)
            }
            MyRead::Time => Builder::Time(DurationMicrosecondBuilder::with_capacity(cap)),
        }
    }

    /// Appends one value; returns the bytes it takes. An error is the reason, without context.
    fn append(
        &mut self,
        v: Value,
        zero_dates: ZeroDates,
        lossy: &AtomicU64,
    ) -> std::result::Result<usize, String> {
        if v == Value::NULL {
            match self {
                Builder::Bool(b) => b.append_null(),
                Builder::I8(b) => b.append_null(),
                Builder::I16(b) => b.append_null(),
                Builder::I32(b) => b.append_null(),
                Builder::I64(b) => b.append_null(),
                Builder::U8(b) => b.append_null(),
                Builder::U16(b) => b.append_null(),
                Builder::U32(b) => b.append_null(),
                Builder::U64(b, _) => b.append_null(),
                Builder::F32(b) => b.append_null(),
                Builder::F64(b) => b.append_null(),
                Builder::D128(b, ..) => b.append_null(),
                Builder::D256(b, ..) => b.append_null(),
                Builder::Text(b) => b.append_null(),
                Builder::Binary(b) => b.append_null(),
                Builder::Date(b) => b.append_null(),
                Builder::Ts(b, _) => b.append_null(),
                Builder::Time(b) => b.append_null(),
            }
            return Ok(1);
        }
        let range = |what: &str, i: i64| format!("{i} does not fit {what}");
        match self {
            Builder::Bool(b) => match int(&v)? {
                0 => b.append_value(false),
                1 => b.append_value(true),
                i => {
                    return Err(format!(
                        "tinyint(1) value {i} is not a boolean (0 or 1); read the column as an \
                         integer with tinyint1=int (the default) instead of ?tinyint1=bool"
                    ))
                }
            },
            Builder::I8(b) => {
                let i = int(&v)?;
                b.append_value(i8::try_from(i).map_err(|_| range("tinyint", i))?)
            }
            Builder::I16(b) => {
                let i = int(&v)?;
                b.append_value(i16::try_from(i).map_err(|_| range("smallint", i))?)
            }
            Builder::I32(b) => {
                let i = int(&v)?;
                b.append_value(i32::try_from(i).map_err(|_| range("int", i))?)
            }
            Builder::I64(b) => b.append_value(int(&v)?),
            Builder::U8(b) => {
                let i = int(&v)?;
                b.append_value(u8::try_from(i).map_err(|_| range("tinyint unsigned", i))?)
            }
            Builder::U16(b) => {
                let i = int(&v)?;
                b.append_value(u16::try_from(i).map_err(|_| range("smallint unsigned", i))?)
            }
            Builder::U32(b) => {
                let i = int(&v)?;
                b.append_value(u32::try_from(i).map_err(|_| range("int unsigned", i))?)
            }
            Builder::U64(b, read) => match (v, *read) {
                (Value::UInt(u), _) => b.append_value(u),
                (Value::Int(i), _) => {
                    b.append_value(u64::try_from(i).map_err(|_| range("bigint unsigned", i))?)
                }
                // bit(n) arrives as its bytes, most significant first.
                (Value::Bytes(bytes), MyRead::Bit) if bytes.len() <= 8 => {
                    b.append_value(bytes.iter().fold(0u64, |acc, x| (acc << 8) | *x as u64))
                }
                (Value::Bytes(bytes), _) => b.append_value(
                    std::str::from_utf8(&bytes)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .ok_or("not an unsigned integer")?,
                ),
                (other, _) => return Err(format!("unexpected value {other:?}")),
            },
            Builder::F32(b) => match v {
                Value::Float(f) => b.append_value(f),
                Value::Double(f) if (f as f32) as f64 == f || f.is_nan() => {
                    b.append_value(f as f32)
                }
                other => return Err(format!("unexpected value {other:?} for a float")),
            },
            Builder::F64(b) => match v {
                Value::Double(f) => b.append_value(f),
                Value::Float(f) => b.append_value(f as f64),
                other => return Err(format!("unexpected value {other:?} for a double")),
            },
            Builder::D128(b, p, s) => {
                let text = decimal_text(&v)?;
                let d = decimal::parse_exact(text, *p, *s)
                    .and_then(|d| d.to_i128())
                    .ok_or_else(|| format!("{text} does not fit decimal({p},{s})"))?;
                b.append_value(d)
            }
            Builder::D256(b, p, s) => {
                let text = decimal_text(&v)?;
                let d = decimal::parse_exact(text, *p, *s)
                    .ok_or_else(|| format!("{text} does not fit decimal({p},{s})"))?;
                b.append_value(d)
            }
            Builder::Text(b) => match v {
                Value::Bytes(bytes) => {
                    let n = bytes.len();
                    let s = std::str::from_utf8(&bytes)
                        .map_err(|e| format!("text that is not valid UTF-8: {e}"))?;
                    b.append_value(s);
                    return Ok(n + 4);
                }
                other => b.append_value(other.as_sql(true).trim_matches('\'')),
            },
            Builder::Binary(b) => match v {
                Value::Bytes(bytes) => {
                    b.append_value(&bytes);
                    return Ok(bytes.len() + 4);
                }
                other => return Err(format!("unexpected value {other:?} for binary data")),
            },
            Builder::Date(b) => match v {
                Value::Date(y, m, d, ..) => match days(y, m, d) {
                    Some(x) => b.append_value(x),
                    None => zero_date(zero_dates, lossy, &format!("{y:04}-{m:02}-{d:02}"), || {
                        b.append_null()
                    })?,
                },
                other => return Err(format!("unexpected value {other:?} for a date")),
            },
            Builder::Ts(b, _) => match v {
                Value::Date(y, mo, d, h, mi, s, us) => match days(y, mo, d) {
                    Some(x) => b.append_value(
                        x as i64 * 86_400_000_000
                            + (h as i64 * 3600 + mi as i64 * 60 + s as i64) * 1_000_000
                            + us as i64,
                    ),
                    None => zero_date(
                        zero_dates,
                        lossy,
                        &format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
                        || b.append_null(),
                    )?,
                },
                other => return Err(format!("unexpected value {other:?} for a timestamp")),
            },
            Builder::Time(b) => match v {
                Value::Time(neg, d, h, m, s, us) => {
                    let micros = ((d as i64 * 24 + h as i64) * 3600 + m as i64 * 60 + s as i64)
                        * 1_000_000
                        + us as i64;
                    b.append_value(if neg { -micros } else { micros })
                }
                other => return Err(format!("unexpected value {other:?} for a time")),
            },
        }
        Ok(8)
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::I8(b) => Arc::new(b.finish()),
            Builder::I16(b) => Arc::new(b.finish()),
            Builder::I32(b) => Arc::new(b.finish()),
            Builder::I64(b) => Arc::new(b.finish()),
            Builder::U8(b) => Arc::new(b.finish()),
            Builder::U16(b) => Arc::new(b.finish()),
            Builder::U32(b) => Arc::new(b.finish()),
            Builder::U64(b, _) => Arc::new(b.finish()),
            Builder::F32(b) => Arc::new(b.finish()),
            Builder::F64(b) => Arc::new(b.finish()),
            Builder::D128(b, p, s) => Arc::new(
                b.finish()
                    .with_precision_and_scale(*p, *s)
                    .expect("precision and scale were checked when planning"),
            ),
            Builder::D256(b, p, s) => Arc::new(
                b.finish()
                    .with_precision_and_scale(*p, *s)
                    .expect("precision and scale were checked when planning"),
            ),
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Binary(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Ts(b, MyRead::Timestamp) => Arc::new(b.finish().with_timezone("+00:00")),
            Builder::Ts(b, _) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
        }
    }
}

fn decimal_text(v: &Value) -> std::result::Result<&str, String> {
    match v {
        Value::Bytes(b) => std::str::from_utf8(b).map_err(|_| "a decimal that is not text".into()),
        other => Err(format!("unexpected value {other:?} for a decimal")),
    }
}

/// A zero date: an error, or NULL counted as a lossy value when the user asked for that.
fn zero_date(
    mode: ZeroDates,
    lossy: &AtomicU64,
    text: &str,
    null: impl FnOnce(),
) -> std::result::Result<(), String> {
    match mode {
        ZeroDates::Error => Err(format!(
            "zero date {text} is not a calendar date; --zero-dates null reads such values as NULL"
        )),
        ZeroDates::Null => {
            lossy.fetch_add(1, Ordering::Relaxed);
            null();
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_typed_literals() {
        assert_eq!(
            bound_literal(MyRead::UInt64, "18446744073709551615").unwrap(),
            "18446744073709551615"
        );
        assert_eq!(
            bound_literal(MyRead::Date, "2024-01-02").unwrap(),
            "'2024-01-02'"
        );
        assert!(bound_literal(MyRead::Int64, "1; DROP TABLE x").is_err());
    }

    #[test]
    fn zero_dates_are_errors_or_counted_nulls() {
        let lossy = AtomicU64::new(0);
        let mut b = Builder::new(MyRead::Date, 4);
        let e = b
            .append(Value::Date(0, 0, 0, 0, 0, 0, 0), ZeroDates::Error, &lossy)
            .unwrap_err();
        assert!(e.contains("zero date 0000-00-00"), "{e}");
        b.append(
            Value::Date(2024, 0, 10, 0, 0, 0, 0),
            ZeroDates::Null,
            &lossy,
        )
        .unwrap();
        b.append(
            Value::Date(1969, 12, 31, 0, 0, 0, 0),
            ZeroDates::Null,
            &lossy,
        )
        .unwrap();
        let a = b.finish();
        let a = a.as_primitive::<arrow::datatypes::Date32Type>();
        assert!(a.is_null(0));
        assert_eq!(a.value(1), -1);
        assert_eq!(lossy.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn times_beyond_a_day_and_negative() {
        let lossy = AtomicU64::new(0);
        let mut b = Builder::new(MyRead::Time, 2);
        b.append(
            Value::Time(true, 34, 22, 59, 59, 0),
            ZeroDates::Error,
            &lossy,
        )
        .unwrap();
        b.append(
            Value::Time(false, 1, 1, 0, 0, 500_000),
            ZeroDates::Error,
            &lossy,
        )
        .unwrap();
        let a = b.finish();
        let a = a.as_primitive::<arrow::datatypes::DurationMicrosecondType>();
        assert_eq!(a.value(0), -((838 * 3600 + 59 * 60 + 59) * 1_000_000));
        assert_eq!(a.value(1), 25 * 3600 * 1_000_000 + 500_000);
    }

    #[test]
    fn tinyint1_outside_zero_one_is_an_error() {
        let lossy = AtomicU64::new(0);
        let mut b = Builder::new(MyRead::Bool, 2);
        b.append(Value::Int(1), ZeroDates::Error, &lossy).unwrap();
        let e = b
            .append(Value::Int(2), ZeroDates::Error, &lossy)
            .unwrap_err();
        assert!(e.contains("tinyint(1) value 2"), "{e}");
    }
}
