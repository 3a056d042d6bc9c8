//! ADBC source: tables listed through the driver's `GetObjects`, a table or `--query` executed
//! through the driver and its record batches streamed into the pipeline (with backpressure,
//! on a reader thread of their own). Where the driver implements `ExecutePartitions`, each
//! partition it returns is read on its own connection; otherwise one stream.
//!
//! The driver's Arrow types and field metadata are carried as the driver reports them, with
//! the declared type recorded where it is known (see [`crate::types::adbc`]).

use std::collections::HashMap;
use std::sync::Arc;

use adbc_core::error::Status;
use adbc_core::options::ObjectDepth;
use adbc_core::{Connection, Statement};
use arrow::array::{Array, AsArray, RecordBatchReader};
use arrow::record_batch::RecordBatch;

use super::{
    thread_stream, BatchLimits, BatchStream, NotCopied, Partition, PartitionSpec, Source,
    TablePlan, TableRef,
};
use crate::adbc::{query_text, quote_ident, quote_literal, AdbcDatabase, AdbcSettings, Dialect};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::types::adbc::{convert_batch, plan_fields_from, Convert, Declared};
use crate::types::duckdb;

/// Reads through an ADBC driver.
pub struct AdbcSource {
    db: AdbcDatabase,
    limits: BatchLimits,
    /// The schema whose tables are listed (`--schema`), if given.
    schema: Option<String>,
    /// How each planned table's columns are converted, by table plan name.
    converts: std::sync::Mutex<HashMap<String, Arc<Vec<Convert>>>>,
}

impl AdbcSource {
    pub fn try_new(endpoint: &Endpoint, options: &super::ReadOptions) -> Result<Self> {
        let mut settings = AdbcSettings::from_endpoint(endpoint)?;
        settings.read_only();
        Ok(AdbcSource {
            db: settings.open()?,
            limits: options.limits,
            schema: options.schema.clone(),
            converts: Default::default(),
        })
    }

    fn settings(&self) -> &AdbcSettings {
        &self.db.settings
    }

    /// The schema a table name without one is in, for this driver.
    fn default_schema(&self) -> Option<&'static str> {
        match self.settings().dialect {
            Some(Dialect::Postgres) => Some("public"),
            Some(Dialect::Duckdb) => Some("main"),
            _ => None,
        }
    }

    /// The schema tables are listed from and unqualified names are read in: `--schema`, else
    /// the URL's `schema=`, else the driver's default (`public`, `main`).
    fn schema(&self) -> Option<String> {
        self.schema
            .clone()
            .or_else(|| self.settings().schema.clone())
            .or_else(|| self.default_schema().map(str::to_string))
    }

    /// A table as `--table` names it (`t`, `s.t`, `"a.b"`, `"s"."a""b"`: double quotes around
    /// a name with dots or quotes, as [`Source::tables`] lists them), as `(schema, table)`.
    fn resolve(&self, given: &str) -> (Option<String>, String) {
        let (schema, table) = split_qualified(given);
        (schema.or_else(|| self.schema()), table)
    }

    /// Declared types and NOT NULL from the catalog, for drivers whose catalog ferry knows
    /// (PostgreSQL: `format_type`, which the driver's own metadata lacks for lengths;
    /// DuckDB: `information_schema.columns`; SQLite: `pragma_table_info`).
    fn declared(&self, schema: Option<&str>, name: &str) -> Result<HashMap<String, Declared>> {
        let (dialect, sql) = match self.settings().dialect {
            Some(Dialect::Postgres) => (
                Dialect::Postgres.name(),
                format!(
                    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), \
                     CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END \
                     FROM pg_catalog.pg_attribute a WHERE a.attrelid = to_regclass({}) \
                     AND a.attnum > 0 AND NOT a.attisdropped",
                    quote_literal(&qualified(schema, name))
                ),
            ),
            Some(Dialect::Duckdb) => (
                Dialect::Duckdb.name(),
                format!(
                    "SELECT column_name, data_type, is_nullable FROM information_schema.columns \
                     WHERE table_catalog = current_database() AND table_schema = {} \
                     AND table_name = {}",
                    quote_literal(schema.unwrap_or("main")),
                    quote_literal(name)
                ),
            ),
            Some(Dialect::Sqlite) => (
                Dialect::Sqlite.name(),
                format!(
                    "SELECT name, type, CASE WHEN \"notnull\" = 1 THEN 'NO' ELSE 'YES' END \
                     FROM pragma_table_info({})",
                    quote_literal(name)
                ),
            ),
            _ => return Ok(HashMap::new()),
        };
        let mut conn = self.db.connect()?;
        let rows = query_text(self.settings(), &mut conn, &sql)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| match r.as_slice() {
                [Some(c), Some(t), n] => Some((
                    c.clone(),
                    Declared {
                        dialect,
                        sql_type: t.clone(),
                        not_null: n.as_deref() == Some("NO"),
                    },
                )),
                _ => None,
            })
            .collect())
    }

    /// The types of a query's result columns where the driver can say them (DuckDB's
    /// `DESCRIBE`), so that a query's columns are read as a table's are; none otherwise, or if
    /// the driver cannot describe it (the query then fails or runs as it is).
    fn declared_of_query(&self, query: &str) -> HashMap<String, Declared> {
        if self.settings().dialect != Some(Dialect::Duckdb) {
            return HashMap::new();
        }
        let sql = format!("DESCRIBE {}", query.trim().trim_end_matches(';'));
        let Ok(mut conn) = self.db.connect() else {
            return HashMap::new();
        };
        let Ok(rows) = query_text(self.settings(), &mut conn, &sql) else {
            return HashMap::new();
        };
        rows.into_iter()
            .filter_map(|r| match r.as_slice() {
                [Some(c), Some(t), ..] => Some((
                    c.clone(),
                    Declared {
                        dialect: duckdb::DIALECT,
                        sql_type: t.clone(),
                        not_null: false,
                    },
                )),
                _ => None,
            })
            .collect()
    }

    /// The relations of the listed schema and what each is, by name: from the catalog for the
    /// drivers whose catalog ferry knows, else from the table types `GetObjects` gives.
    fn relations(&self) -> Result<Vec<Relation>> {
        let mut all = self.relations_unsorted()?;
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all.dedup_by(|a, b| a.name == b.name);
        // ferry's own staging and load records are listed as its state, never copied.
        for r in &mut all {
            if matches!(r.listed, Listed::Copied) && super::is_ferry_state(&r.name) {
                let state = super::ferry_state(String::new());
                r.listed = Listed::NotCopied {
                    kind: state.kind,
                    note: state.note,
                };
            }
        }
        Ok(all)
    }

    fn relations_unsorted(&self) -> Result<Vec<Relation>> {
        let schema = self.schema();
        let settings = self.settings();
        let sql = match settings.dialect {
            // Partitions are read through their parent, never as tables of their own.
            Some(Dialect::Postgres) => format!(
                "SELECT c.relname, c.relkind::text, CASE WHEN c.relispopulated THEN 't' ELSE 'f' \
                 END FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n \
                 ON n.oid = c.relnamespace WHERE n.nspname = {} \
                 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition \
                 ORDER BY c.relname",
                quote_literal(schema.as_deref().unwrap_or("public"))
            ),
            Some(Dialect::Duckdb) => format!(
                "SELECT table_name, table_type, 't' FROM information_schema.tables \
                 WHERE table_catalog = current_database() AND table_schema = {} \
                 ORDER BY table_name",
                quote_literal(schema.as_deref().unwrap_or("main"))
            ),
            // As the SQLite source lists them: views and virtual tables are not copied,
            // shadow tables and SQLite's `sqlite_` tables are not listed.
            Some(Dialect::Sqlite) => format!(
                "SELECT m.name, l.type, 't' FROM {}.sqlite_master AS m \
                 JOIN pragma_table_list AS l ON l.schema = {} AND l.name = m.name \
                 WHERE m.type IN ('table', 'view') ORDER BY m.rowid",
                quote_ident(schema.as_deref().unwrap_or("main")),
                quote_literal(schema.as_deref().unwrap_or("main")),
            ),
            None => {
                let conn = self.db.connect()?;
                return Ok(object_tables(settings, &conn, schema.as_deref())?
                    .into_iter()
                    .filter(|(s, ..)| match (&schema, s) {
                        (Some(w), Some(s)) => w == s,
                        _ => true,
                    })
                    .map(|(_, name, kind)| Relation {
                        listed: Listed::of_table_type(&kind),
                        name,
                    })
                    .collect());
            }
        };
        let mut conn = self.db.connect()?;
        let rows = query_text(settings, &mut conn, &sql)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| match r.as_slice() {
                [Some(name), Some(kind), populated] => Some((
                    name.clone(),
                    kind.clone(),
                    populated.as_deref() == Some("t"),
                )),
                _ => None,
            })
            .map(|(name, kind, populated)| {
                let listed = match (settings.dialect, kind.as_str()) {
                    (Some(Dialect::Postgres), "r" | "p") => Listed::Copied,
                    (Some(Dialect::Postgres), k) => Listed::NotCopied {
                        kind: match k {
                            "v" => "view",
                            "m" => "materialized view",
                            _ => "foreign table",
                        }
                        .into(),
                        note: (!populated).then(|| "not populated".to_string()),
                    },
                    (Some(Dialect::Sqlite), _)
                        if name
                            .get(..7)
                            .is_some_and(|p| p.eq_ignore_ascii_case("sqlite_")) =>
                    {
                        Listed::Hidden
                    }
                    (Some(Dialect::Sqlite), "table") => Listed::Copied,
                    (Some(Dialect::Sqlite), "view") => Listed::not_copied("view"),
                    (Some(Dialect::Sqlite), "virtual") => Listed::not_copied("virtual table"),
                    (Some(Dialect::Sqlite), _) => Listed::Hidden,
                    (_, k) => Listed::of_table_type(k),
                };
                Relation { name, listed }
            })
            .collect())
    }

    /// What a PostgreSQL relation is (`relkind`) and whether it is populated, if it exists.
    fn pg_relkind(&self, schema: Option<&str>, name: &str) -> Result<Option<(String, bool)>> {
        let sql = format!(
            "SELECT c.relkind::text, CASE WHEN c.relispopulated THEN 't' ELSE 'f' END \
             FROM pg_catalog.pg_class c WHERE c.oid = to_regclass({})",
            quote_literal(&qualified(schema, name))
        );
        let mut conn = self.db.connect()?;
        let rows = query_text(self.settings(), &mut conn, &sql)?;
        Ok(rows.into_iter().next().and_then(|r| match r.as_slice() {
            [Some(k), p] => Some((k.clone(), p.as_deref() == Some("t"))),
            _ => None,
        }))
    }
}

/// A relation the driver lists, and whether a run without `--table` copies it.
struct Relation {
    name: String,
    listed: Listed,
}

enum Listed {
    /// A table holding its own rows.
    Copied,
    /// A view, a materialized view, a foreign or virtual table: copied when named.
    NotCopied { kind: String, note: Option<String> },
    /// Storage or bookkeeping of the database itself: temporary and system tables, SQLite's
    /// shadow and `sqlite_` tables.
    Hidden,
}

impl Listed {
    fn not_copied(kind: &str) -> Listed {
        Listed::NotCopied {
            kind: kind.into(),
            note: None,
        }
    }

    /// From a `GetObjects` table type (`TABLE`, `BASE TABLE`, `VIEW`, `SYSTEM TABLE`,
    /// `MATERIALIZED_VIEW`, `EXTERNAL`, ...): tables are copied, system and temporary ones
    /// left out, and anything else named as not copied under its own type.
    fn of_table_type(table_type: &str) -> Listed {
        let kind = table_type.to_ascii_lowercase().replace('_', " ");
        match kind.as_str() {
            "table" | "base table" => Listed::Copied,
            k if k.contains("system") || k.contains("temp") => Listed::Hidden,
            k => Listed::not_copied(k),
        }
    }
}

/// The DuckDB SELECT that reads `sql` (a table's `SELECT *` or a query): the columns whose
/// Arrow form in DuckDB's driver loses what they hold ([`duckdb::read_as_text`]: a TIMETZ's
/// offset, a BIT's bits, nested values other targets have no type for) are read as DuckDB's
/// own text of them, which a DuckDB target casts back to the declared type.
fn duckdb_select(sql: &str, table: &TableRef, declared: &HashMap<String, Declared>) -> String {
    let mut text: Vec<&String> = declared
        .iter()
        .filter(|(_, d)| duckdb::read_as_text(&d.sql_type))
        .map(|(c, _)| c)
        .collect();
    if text.is_empty() {
        return sql.to_string();
    }
    text.sort();
    let replace: Vec<String> = text
        .iter()
        .map(|c| format!("{}::VARCHAR AS {}", quote_ident(c), quote_ident(c)))
        .collect();
    format!(
        "SELECT * REPLACE ({}) FROM {}",
        replace.join(", "),
        select_from(sql, table)
    )
}

/// The SELECT that reads `sql` through the PostgreSQL driver with the columns it cannot send
/// exactly as `::text`: a type it sends as raw binary (its `POSTGRESQL:type` is not `bytea`), an
/// array (declared `...[]`, which it would flatten), `money` (sent as cents) and `interval`;
/// `None` when there are none. Read in [`crate::source::postgres::SESSION`]'s settings, the
/// text is the one ferry's own PostgreSQL source reads.
fn pg_text_select(
    sql: &str,
    table: &TableRef,
    schema: &arrow::datatypes::Schema,
    declared: &HashMap<String, Declared>,
) -> Option<String> {
    use arrow::datatypes::DataType;
    let as_text = |f: &arrow::datatypes::Field| {
        let pg_type = f.metadata().get("POSTGRESQL:type").map(String::as_str);
        let raw = matches!(f.data_type(), DataType::Binary | DataType::LargeBinary)
            && pg_type.is_some_and(|t| t != "bytea");
        // money as a count of cents; interval as months, days and nanoseconds, not the text
        // ferry's own PostgreSQL source reads.
        let other = matches!(pg_type, Some("money" | "interval"));
        let array = matches!(f.data_type(), DataType::List(_) | DataType::LargeList(_))
            || declared
                .get(f.name())
                .is_some_and(|d| d.sql_type.ends_with(']'));
        raw || array || other
    };
    if !schema.fields().iter().any(|f| as_text(f)) {
        return None;
    }
    let list: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| match as_text(f) {
            true => format!(
                "{}::text AS {}",
                quote_ident(f.name()),
                quote_ident(f.name())
            ),
            false => quote_ident(f.name()),
        })
        .collect();
    Some(format!(
        "SELECT {} FROM {}",
        list.join(", "),
        select_from(sql, table)
    ))
}

/// What a rewritten SELECT reads from: a table's relation (`sql` is its `SELECT * FROM ...`),
/// or the query as a subquery.
fn select_from(sql: &str, table: &TableRef) -> String {
    match table {
        TableRef::Table(_) => sql.trim_start_matches("SELECT * FROM ").to_string(),
        TableRef::Query(q) => format!("({}) AS ferry_query", q.trim().trim_end_matches(';')),
    }
}

/// `"schema"."name"`, or `"name"` without a schema: each part one identifier.
fn qualified(schema: Option<&str>, name: &str) -> String {
    match schema {
        Some(s) => format!("{}.{}", quote_ident(s), quote_ident(name)),
        None => quote_ident(name),
    }
}

/// `name` as `--table` takes it back: bare when it is letters, digits and `_` only, else
/// double-quoted (a dot or a quote in it would otherwise split it or end it).
fn listed_name(name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        name.to_string()
    } else {
        quote_ident(name)
    }
}

/// Splits `schema.table` at its first dot outside double quotes and unquotes both parts: `s.t`,
/// `"x.y"`, `"s"."a""b"` (`""` is a quote inside a quoted part), `t`. A quote opens a quoted
/// part only at the part's start: elsewhere it is one of the name's characters (`s.a "b"`).
fn split_qualified(name: &str) -> (Option<String>, String) {
    let mut schema = None;
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if cur.is_empty() => quoted = true,
            '.' if !quoted && schema.is_none() => schema = Some(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    (schema, cur)
}

/// The relations `GetObjects` returns: `(schema, name, table type)`.
fn object_tables(
    settings: &AdbcSettings,
    conn: &adbc_driver_manager::ManagedConnection,
    db_schema: Option<&str>,
) -> Result<Vec<(Option<String>, String, String)>> {
    let reader = conn
        .get_objects(ObjectDepth::Tables, None, db_schema, None, None, None)
        .map_err(|e| settings.error("cannot list the tables (GetObjects)", e))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| Error::arrow(format!("{settings}: GetObjects"), e))?;
        let schemas = batch.column(1).as_list::<i32>();
        for c in 0..batch.num_rows() {
            if schemas.is_null(c) {
                continue;
            }
            let schemas = schemas.value(c);
            let schemas = schemas.as_struct();
            let names = schemas.column(0).as_string::<i32>();
            let tables = schemas.column(1).as_list::<i32>();
            for s in 0..schemas.len() {
                if tables.is_null(s) {
                    continue;
                }
                let schema = names.is_valid(s).then(|| names.value(s).to_string());
                let tables = tables.value(s);
                let tables = tables.as_struct();
                let tnames = tables.column(0).as_string::<i32>();
                let ttypes = tables.column(1).as_string::<i32>();
                for t in 0..tables.len() {
                    out.push((
                        schema.clone().filter(|s| !s.is_empty()),
                        tnames.value(t).into(),
                        ttypes.value(t).into(),
                    ));
                }
            }
        }
    }
    Ok(out)
}

impl Source for AdbcSource {
    /// The tables of the listed schema, each named as `--table` takes it back.
    fn tables(&self) -> Result<Vec<String>> {
        Ok(self
            .relations()?
            .into_iter()
            .filter(|r| matches!(r.listed, Listed::Copied))
            .map(|r| listed_name(&r.name))
            .collect())
    }

    /// Views, materialized views, foreign and virtual tables: copied only when named.
    fn not_copied(&self) -> Result<Vec<NotCopied>> {
        Ok(self
            .relations()?
            .into_iter()
            .filter_map(|r| match r.listed {
                Listed::NotCopied { kind, note } => Some(NotCopied {
                    name: listed_name(&r.name),
                    kind,
                    note,
                }),
                _ => None,
            })
            .collect())
    }

    fn plan(&self, table: &TableRef) -> Result<TablePlan> {
        let settings = self.settings();
        let (name, sql) = match table {
            TableRef::Table(t) => {
                let (schema, bare) = self.resolve(t);
                let from = qualified(schema.as_deref(), &bare);
                // A PostgreSQL inheritance parent is read ONLY: its children are tables of
                // their own. A materialized view not populated has no rows to read.
                let only = match self.settings().dialect {
                    Some(Dialect::Postgres) => match self.pg_relkind(schema.as_deref(), &bare)? {
                        Some((k, _)) if k == "r" => "ONLY ",
                        Some((k, false)) if k == "m" => {
                            return Err(Error::invalid_data(format!(
                                "{settings}: materialized view {from} is not populated, so it \
                                 has no rows to read: run REFRESH MATERIALIZED VIEW {from} first"
                            )))
                        }
                        _ => "",
                    },
                    _ => "",
                };
                // Named by the table alone: the target's default name.
                (bare, format!("SELECT * FROM {only}{from}"))
            }
            TableRef::Query(q) => ("query".to_string(), q.clone()),
        };
        let declared = match table {
            TableRef::Table(t) => {
                let (schema, bare) = self.resolve(t);
                self.declared(schema.as_deref(), &bare)?
            }
            TableRef::Query(q) => self.declared_of_query(q),
        };
        let sql = match settings.dialect {
            Some(Dialect::Duckdb) => duckdb_select(&sql, table, &declared),
            _ => sql,
        };
        let mut conn = self.db.connect()?;
        let mut stmt = conn
            .new_statement()
            .map_err(|e| settings.error("cannot create a statement", e))?;
        stmt.set_sql_query(&sql)
            .map_err(|e| settings.error(&format!("{table}"), e))?;
        // The result's schema without running the query where the driver can; else the
        // schema of a run that returns no rows. The SQLite driver types a result's columns
        // from its first rows (a column of text is Utf8 only once a row holds text), and its
        // schema without rows says Int64 for every column: its schema is the one its rows are
        // read with.
        let schema_of_rows = settings.dialect == Some(Dialect::Sqlite);
        let schema_of = |stmt: &mut adbc_driver_manager::ManagedStatement,
                         sql: &str|
         -> Result<arrow::datatypes::Schema> {
            if schema_of_rows {
                return stmt
                    .execute()
                    .map(|r| r.schema().as_ref().clone())
                    .map_err(|e| self.plan_error(table, e));
            }
            match stmt.execute_schema() {
                Ok(s) => Ok(s),
                Err(e) if e.status == Status::NotImplemented => {
                    let probe = format!("SELECT * FROM ({sql}) AS ferry_probe LIMIT 0");
                    stmt.set_sql_query(&probe)
                        .and_then(|_| stmt.execute())
                        .map(|r| r.schema().as_ref().clone())
                        .map_err(|e| self.plan_error(table, e))
                }
                Err(e) => Err(self.plan_error(table, e)),
            }
        };
        let mut driver_schema = schema_of(&mut stmt, &sql)?;
        // The PostgreSQL driver sends types it does not know (timetz, inet, ranges, money,
        // bit, ...) as their raw binary wire form, and flattens a multi-dimensional array into
        // one dimension without a word: those columns are read as PostgreSQL's own text of
        // them, which a PostgreSQL target casts back to the declared type.
        let mut sql = sql;
        let mut declared = declared;
        if settings.dialect == Some(Dialect::Postgres) {
            if let Some(text_sql) = pg_text_select(&sql, table, &driver_schema, &declared) {
                // A query's columns have no catalog entry: their types as the driver named them
                // before they were read as text.
                for f in driver_schema.fields() {
                    let m = f.metadata();
                    if let (false, Some(t)) =
                        (declared.contains_key(f.name()), m.get("POSTGRESQL:type"))
                    {
                        let typmod = m.get("POSTGRESQL:typmod").and_then(|v| v.parse().ok());
                        declared.insert(
                            f.name().clone(),
                            Declared {
                                dialect: Dialect::Postgres.name(),
                                sql_type: crate::types::adbc::pg_declared(t, typmod),
                                not_null: false,
                            },
                        );
                    }
                }
                stmt.set_sql_query(&text_sql)
                    .map_err(|e| settings.error(&format!("{table}"), e))?;
                driver_schema = schema_of(&mut stmt, &text_sql)?;
                sql = text_sql;
            }
        }
        // The driver's dialect, not only a catalog's: DuckDB's dates and timestamps need
        // converting in a query's result too.
        let dialect = settings.dialect.map(Dialect::name);
        let (schema, converts) = plan_fields_from(dialect, &driver_schema, &declared)
            .map_err(|e| e.context(format!("{settings}: {table}")))?;
        // Partitions where the driver makes them (Flight SQL, Snowflake, BigQuery, ...). The
        // drivers whose SQL ferry knows have none, and asking the PostgreSQL driver 1.13
        // crashes in its error path, so they are not asked.
        let handles = if settings.dialect.is_none() {
            let mut stmt = conn
                .new_statement()
                .map_err(|e| settings.error("cannot create a statement", e))?;
            stmt.set_sql_query(&sql)
                .map_err(|e| settings.error(&format!("{table}"), e))?;
            match stmt.execute_partitions() {
                Ok(result) if result.partitions.len() > 1 => result.partitions,
                _ => Vec::new(),
            }
        } else {
            Vec::new()
        };
        let partitions = if handles.is_empty() {
            vec![Partition {
                index: 0,
                label: "one stream".into(),
                spec: PartitionSpec::Query(sql),
            }]
        } else {
            handles
                .into_iter()
                .enumerate()
                .map(|(index, handle)| Partition {
                    index,
                    label: format!("driver partition {}", index + 1),
                    spec: PartitionSpec::Handle(handle),
                })
                .collect()
        };
        self.converts
            .lock()
            .map_err(|_| Error::internal("a reader panicked"))?
            .insert(name.clone(), Arc::new(converts));
        Ok(TablePlan {
            name,
            schema,
            partitions,
            rows: None,
            lossy: Default::default(),
            filter: None,
        })
    }

    fn open(&self, plan: &TablePlan, partition: &Partition) -> Result<BatchStream> {
        let converts = self
            .converts
            .lock()
            .map_err(|_| Error::internal("a reader panicked"))?
            .get(&plan.name)
            .cloned()
            .ok_or_else(|| Error::internal(format!("table {} was not planned", plan.name)))?;
        if plan.filter.is_some() {
            return Err(Error::unsupported(format!(
                "{}: the ADBC source does not evaluate filters",
                self.settings()
            )));
        }
        let db = self.db.clone();
        let schema = plan.schema.clone();
        let spec = partition.spec.clone();
        let label = format!(
            "{}: table \"{}\", {}",
            db.settings, plan.name, partition.label
        );
        let rows = self.limits.rows;
        thread_stream(format!("adbc {}", plan.name), move |tx| {
            let settings = &db.settings;
            let mut conn = db.connect()?;
            if settings.dialect == Some(Dialect::Postgres) {
                // The text forms of the columns read as text, as ferry's PostgreSQL source has them.
                for set in super::postgres::SESSION.split(';') {
                    crate::adbc::execute(settings, &mut conn, set.trim())?;
                }
            }
            let mut stmt = conn
                .new_statement()
                .map_err(|e| settings.error("cannot create a statement", e))?;
            let reader: Box<dyn RecordBatchReader + Send + '_> = match &spec {
                PartitionSpec::Query(sql) => Box::new(
                    stmt.set_sql_query(sql)
                        .and_then(|_| stmt.execute())
                        .map_err(|e| settings.error(&label, e))?,
                ),
                PartitionSpec::Handle(handle) => Box::new(
                    conn.read_partition(handle)
                        .map_err(|e| settings.error(&label, e))?,
                ),
                other => {
                    return Err(Error::internal(format!(
                        "the ADBC source cannot read {other:?}"
                    )))
                }
            };
            let mut coalescer = arrow::compute::BatchCoalescer::new(schema.clone(), rows.max(1));
            let send = |b: RecordBatch| tx.send(Ok(b)).is_ok();
            for batch in reader {
                let batch = batch.map_err(|e| Error::arrow(label.clone(), e))?;
                let batch = convert_batch(&batch, &schema, &converts)
                    .map_err(|e| e.context(label.clone()))?;
                coalescer
                    .push_batch(batch)
                    .map_err(|e| Error::arrow(label.clone(), e))?;
                while let Some(b) = coalescer.next_completed_batch() {
                    if !send(b) {
                        return Ok(());
                    }
                }
            }
            coalescer
                .finish_buffered_batch()
                .map_err(|e| Error::arrow(label.clone(), e))?;
            while let Some(b) = coalescer.next_completed_batch() {
                if !send(b) {
                    return Ok(());
                }
            }
            Ok(())
        })
    }
}

impl AdbcSource {
    fn plan_error(&self, table: &TableRef, e: adbc_core::error::Error) -> Error {
        let mut err = self.settings().error(&format!("{table}"), e);
        if let TableRef::Table(t) = table {
            // Drivers report a missing table in their own words; say it in ferry's.
            let msg = err.message().to_ascii_lowercase();
            if msg.contains("does not exist")
                || msg.contains("no such table")
                || msg.contains("not found")
            {
                err = Error::not_found(format!(
                    "{}: table \"{t}\" does not exist ({})",
                    self.settings(),
                    err.message()
                ));
            }
        }
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_names_read_back_as_one_name() {
        for name in [
            "t",
            "x.y",
            "a\"b",
            "public.canary",
            "..",
            " lead",
            "Ünï ☀",
            "MixedCase",
        ] {
            assert_eq!(
                split_qualified(&listed_name(name)),
                (None, name.to_string())
            );
        }
        assert_eq!(
            split_qualified("s.t"),
            (Some("s".to_string()), "t".to_string())
        );
        assert_eq!(
            split_qualified("\"s.x\".\"a\"\"b.c\""),
            (Some("s.x".to_string()), "a\"b.c".to_string())
        );
        assert_eq!(
            split_qualified("s.Hard \"Types\" é"),
            (Some("s".to_string()), "Hard \"Types\" é".to_string())
        );
        assert_eq!(listed_name("a_1"), "a_1");
        assert_eq!(listed_name("x.y"), "\"x.y\"");
    }

    #[test]
    fn get_objects_types_decide_what_is_copied() {
        assert!(matches!(Listed::of_table_type("TABLE"), Listed::Copied));
        assert!(matches!(
            Listed::of_table_type("BASE TABLE"),
            Listed::Copied
        ));
        assert!(matches!(
            Listed::of_table_type("SYSTEM TABLE"),
            Listed::Hidden
        ));
        assert!(matches!(
            Listed::of_table_type("LOCAL TEMPORARY"),
            Listed::Hidden
        ));
        for (t, kind) in [
            ("VIEW", "view"),
            ("MATERIALIZED_VIEW", "materialized view"),
            ("EXTERNAL", "external"),
        ] {
            match Listed::of_table_type(t) {
                Listed::NotCopied {
                    kind: k,
                    note: None,
                } => assert_eq!(k, kind),
                _ => panic!("{t}"),
            }
        }
    }
}
