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
    thread_stream, BatchLimits, BatchStream, Partition, PartitionSpec, Source, TablePlan, TableRef,
};
use crate::adbc::{query_text, quote_literal, quote_table, AdbcDatabase, AdbcSettings, Dialect};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::types::adbc::{convert_batch, plan_fields, Convert, Declared};

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
        let settings = AdbcSettings::from_endpoint(endpoint)?;
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

    /// Declared types and NOT NULL from the catalog, for drivers whose catalog ferry knows
    /// (PostgreSQL: `format_type`, which the driver's own metadata lacks for lengths;
    /// DuckDB: `information_schema.columns`).
    fn declared(&self, table: &str) -> Result<HashMap<String, Declared>> {
        let (schema, name) = match table.split_once('.') {
            Some((s, t)) => (Some(s.to_string()), t.to_string()),
            None => (self.schema.clone(), table.to_string()),
        };
        let (dialect, sql) = match self.settings().dialect {
            Some(Dialect::Postgres) => (
                "postgres",
                format!(
                    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), \
                     CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END \
                     FROM pg_catalog.pg_attribute a WHERE a.attrelid = to_regclass({}) \
                     AND a.attnum > 0 AND NOT a.attisdropped",
                    quote_literal(&quote_table(&match &schema {
                        Some(s) => format!("{s}.{name}"),
                        None => name.clone(),
                    }))
                ),
            ),
            Some(Dialect::Duckdb) => (
                "duckdb",
                format!(
                    "SELECT column_name, data_type, is_nullable FROM information_schema.columns \
                     WHERE table_schema = {} AND table_name = {}",
                    quote_literal(schema.as_deref().unwrap_or("main")),
                    quote_literal(&name)
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
}

/// The table names `GetObjects` returns: `(schema, table)` pairs of tables (not views).
fn object_tables(
    settings: &AdbcSettings,
    conn: &adbc_driver_manager::ManagedConnection,
    db_schema: Option<&str>,
) -> Result<Vec<(Option<String>, String)>> {
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
                    let kind = ttypes.value(t).to_ascii_lowercase();
                    if kind.contains("view") || kind.contains("temp") || kind.contains("system") {
                        continue;
                    }
                    out.push((
                        schema.clone().filter(|s| !s.is_empty()),
                        tnames.value(t).into(),
                    ));
                }
            }
        }
    }
    Ok(out)
}

impl Source for AdbcSource {
    fn tables(&self) -> Result<Vec<String>> {
        let conn = self.db.connect()?;
        let wanted = self.schema.as_deref().or(self.default_schema());
        let mut names: Vec<String> = object_tables(self.settings(), &conn, wanted)?
            .into_iter()
            .filter(|(s, _)| match (wanted, s) {
                (Some(w), Some(s)) => w == s,
                _ => true,
            })
            .map(|(s, t)| match (s, self.default_schema()) {
                (Some(s), Some(d)) if s == d => t,
                (Some(s), _) if self.schema.is_none() && self.default_schema().is_some() => {
                    format!("{s}.{t}")
                }
                (_, _) => t,
            })
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn plan(&self, table: &TableRef) -> Result<TablePlan> {
        let settings = self.settings();
        let (name, sql) = match table {
            TableRef::Table(t) => {
                let qualified = match (&self.schema, t.contains('.')) {
                    (Some(s), false) => format!("{s}.{t}"),
                    _ => t.clone(),
                };
                // Named by the table alone: the target's default name.
                let bare = t.split_once('.').map_or(t.as_str(), |(_, n)| n);
                (
                    bare.to_string(),
                    format!("SELECT * FROM {}", quote_table(&qualified)),
                )
            }
            TableRef::Query(q) => ("query".to_string(), q.clone()),
        };
        let mut conn = self.db.connect()?;
        let mut stmt = conn
            .new_statement()
            .map_err(|e| settings.error("cannot create a statement", e))?;
        stmt.set_sql_query(&sql)
            .map_err(|e| settings.error(&format!("{table}"), e))?;
        // The result's schema without running the query where the driver can; else the
        // schema of a run that returns no rows.
        let driver_schema = match stmt.execute_schema() {
            Ok(s) => s,
            Err(e) if e.status == Status::NotImplemented => {
                let probe = format!("SELECT * FROM ({sql}) AS ferry_probe LIMIT 0");
                stmt.set_sql_query(&probe)
                    .and_then(|_| stmt.execute())
                    .map(|r| r.schema().as_ref().clone())
                    .map_err(|e| self.plan_error(table, e))?
            }
            Err(e) => return Err(self.plan_error(table, e)),
        };
        let declared = match table {
            TableRef::Table(t) => self.declared(t)?,
            TableRef::Query(_) => HashMap::new(),
        };
        let (schema, converts) = plan_fields(&driver_schema, &declared)
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
