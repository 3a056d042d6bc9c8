//! The PostgreSQL source: one consistent snapshot for the whole run, the declared types from the
//! catalog, partitions by ctid ranges or key quantiles, each read with
//! `COPY (SELECT ...) TO STDOUT (FORMAT binary)` and decoded into Arrow batch by batch.
//!
//! Why not connectorx here: its PostgreSQL reader reads every numeric as `Decimal128(38,10)`
//! (rounding scale > 10, panicking on NaN and on values above 10^28), re-serialises `json`
//! (key order and spacing change), fails on `infinity` dates and timestamps, panics on types it
//! does not know (`interval`, ...), produces into an unbounded channel (no backpressure) and
//! turns every error into a panic. The binary COPY it uses underneath is what this file reads
//! directly, so nothing is lost in speed: the decoder keeps up with the server (see the README's
//! benchmark).

use std::io::{BufRead, Read};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use arrow::array::*;
use arrow::datatypes::{Field, SchemaRef};
use arrow::record_batch::RecordBatch;
use bytes::{Buf, Bytes};
use futures_core::Stream;
use postgres::Client;
use tokio_postgres::CopyOutStream;

use super::{
    thread_stream, BatchLimits, BatchStream, NotCopied, Partition, PartitionSpec, ReadOptions,
    Source, TablePlan, TableRef,
};
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::pg::{pg_error, quote_literal, split_qualified, Connection, PgSettings};
use crate::transform::filter::SqlDialect;
use crate::types::constraints::CheckDef;
use crate::types::defaults::ColumnDefault;
use crate::types::indexes::{IndexColumn, IndexDef, NativeIndex};
use crate::types::pg_numeric::Numeric;
use crate::types::postgres::{PgEnum, PgRead, DIALECT};
use crate::types::{field_with_source, quote_ident, temporal, with_identity, META_PRIMARY_KEY};

/// Tables of at least this many 8 KiB pages are split into ctid ranges without being asked.
pub const AUTO_PARTITION_PAGES: i64 = 8 * 1024;
/// Pages per automatic ctid partition (64 MiB): small enough to balance the readers and to
/// keep a failed partition cheap.
pub const PAGES_PER_PARTITION: i64 = 8 * 1024;

use temporal::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};

/// Session settings for every reading connection: the text forms of `::text` columns are then
/// the same whatever the server's defaults (ISO dates, ISO 8601 intervals, UTC, exact floats).
pub(crate) const SESSION: &str = "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; \
     SET TimeZone = 'UTC'; SET extra_float_digits = 3";

/// A planned relation's name, columns, `(label, COPY)` pieces and rows.
type Planned = (
    String,
    Vec<(Field, PgRead)>,
    Vec<(String, String)>,
    Option<u64>,
);

/// What the catalog says of a relation being planned.
struct Relation {
    /// The relation's own name, for messages.
    name: String,
    /// What a `SELECT` reads it as (`ONLY "s"."t"` for an ordinary table).
    from: String,
    relkind: String,
    /// 8 KiB pages and estimated rows (a partitioned table's: its leaves'); -1 rows when never
    /// analyzed.
    pages: i64,
    reltuples: i64,
}

/// A `pg_class.relkind` in words.
fn relkind_name(relkind: &str) -> &'static str {
    match relkind {
        "r" => "table",
        "p" => "partitioned table",
        "v" => "view",
        "m" => "materialized view",
        "f" => "foreign table",
        "S" => "sequence",
        "i" | "I" => "index",
        "c" => "composite type",
        "t" => "TOAST table",
        _ => "relation",
    }
}

pub struct PgSource {
    settings: PgSettings,
    /// The connection holding the exported snapshot open; catalog reads run in it too.
    coordinator: Mutex<Client>,
    snapshot: String,
    options: ReadOptions,
    numeric_as_text: bool,
}

impl PgSource {
    pub fn try_new(endpoint: &Endpoint, options: &ReadOptions) -> Result<PgSource> {
        let numeric_as_text = match endpoint.option("numeric") {
            None | Some("decimal") => false,
            Some("text") => true,
            Some(other) => {
                return Err(Error::invalid_args(format!(
                    "{endpoint}: numeric={other}: use numeric=decimal (the default) or numeric=text"
                )))
            }
        };
        let mut e = endpoint.clone();
        e.options.remove("numeric");
        let settings = PgSettings::from_endpoint(&e)?;
        let mut client = settings.connect()?;
        // One moment for the whole run, as pg_dump -j: every reader imports this snapshot.
        client
            .batch_execute(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; {SESSION}"
            ))
            .map_err(|e| pg_error(e, format!("{settings}: cannot start the snapshot")))?;
        let snapshot: String = client
            .query_one("SELECT pg_export_snapshot()", &[])
            .map_err(|e| pg_error(e, format!("{settings}: cannot export a snapshot")))?
            .get(0);
        Ok(PgSource {
            settings,
            coordinator: Mutex::new(client),
            snapshot,
            options: options.clone(),
            numeric_as_text,
        })
    }

    /// The schema a table name without one is in: the URL's `schema=`, `--schema`, or `public`.
    fn schema(&self) -> &str {
        self.settings
            .schema
            .as_deref()
            .or(self.options.schema.as_deref())
            .unwrap_or("public")
    }

    /// The relations of the source's schema of the given `relkind`s, not partitions, by name:
    /// `(name as --table takes it, relkind, populated)`.
    /// The relations of the schema of `kinds` (`relkind`s), with their kind and whether they are
    /// populated; ferry's own tables ([`super::is_ferry_state`]) only when `ferry_state`, and
    /// then only those.
    fn relations(&self, kinds: &[&str], ferry_state: bool) -> Result<Vec<(String, String, bool)>> {
        let schema = self.schema().to_string();
        let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
        let rows = self.with_client(|c| {
            c.query(
                "SELECT c.relname::text, c.relkind::text, c.relispopulated
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND c.relkind::text = ANY($2) AND NOT c.relispartition
                 ORDER BY c.relname",
                &[&schema, &kinds],
            )
            .map_err(|e| pg_error(e, format!("{}: list tables", self.settings)))
        })?;
        // Quoted where needed, so `plan` reads each back as one name (`a"b`, `x.y`).
        Ok(rows
            .iter()
            .filter(|r| super::is_ferry_state(r.get::<_, &str>(0)) == ferry_state)
            .map(|r| {
                let t: String = r.get(0);
                let name = if schema == "public" {
                    quote_part(&t)
                } else {
                    format!("{}.{}", quote_part(&schema), quote_part(&t))
                };
                (name, r.get(1), r.get(2))
            })
            .collect())
    }

    fn with_client<T>(&self, f: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        let mut c = self
            .coordinator
            .lock()
            .map_err(|_| Error::internal("the catalog connection was poisoned"))?;
        f(&mut c)
    }

    /// Columns of a relation or query: Arrow fields with their declared types.
    fn describe(
        &self,
        client: &mut Client,
        select: &str,
        what: &str,
    ) -> Result<Vec<(Field, PgRead)>> {
        let stmt = client
            .prepare(select)
            .map_err(|e| pg_error(e, format!("{}: {what}", self.settings)))?;
        let cols = stmt.columns();
        let types: Vec<u32> = cols.iter().map(|c| c.type_().oid()).collect();
        let mods: Vec<i32> = cols.iter().map(|c| c.type_modifier()).collect();
        let rels: Vec<u32> = cols.iter().map(|c| c.table_oid().unwrap_or(0)).collect();
        let atts: Vec<i16> = cols.iter().map(|c| c.column_id().unwrap_or(0)).collect();
        let rows = client
            .query(
                "SELECT bt.typname::text, bt.typtype::text,
                        format_type(bt.oid, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE c.mod END),
                        coalesce(a.attnotnull, false),
                        coalesce((SELECT k.n::int4 FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(att, n)
                                  WHERE i.indrelid = a.attrelid AND i.indisprimary AND k.att = a.attnum), 0),
                        en.nspname::text, e.typname::text,
                        (SELECT array_agg(l.enumlabel::text ORDER BY l.enumsortorder)
                         FROM pg_enum l WHERE l.enumtypid = e.oid),
                        coalesce(a.attidentity::text, ''),
                        CASE WHEN a.attgenerated = '' THEN
                            (SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
                             WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum) END
                 FROM unnest($1::oid[], $2::int4[], $3::oid[], $4::int2[]) WITH ORDINALITY
                      AS c(typ, mod, rel, att, n)
                 JOIN pg_type t ON t.oid = c.typ
                 JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
                 LEFT JOIN pg_attribute a ON a.attrelid = c.rel AND a.attnum = c.att
                 LEFT JOIN pg_type e ON e.typtype = 'e'
                      AND e.oid = CASE WHEN bt.typtype = 'e' THEN bt.oid ELSE bt.typelem END
                 LEFT JOIN pg_namespace en ON en.oid = e.typnamespace
                 ORDER BY c.n",
                &[&types, &mods, &rels, &atts],
            )
            .map_err(|e| pg_error(e, format!("{}: {what}: catalog", self.settings)))?;
        Ok(cols
            .iter()
            .zip(rows)
            .map(|(col, row)| {
                let typname: String = row.get(0);
                let typtype: String = row.get(1);
                let formatted: String = row.get(2);
                let not_null: bool = row.get(3);
                let pk: i32 = row.get(4);
                let read = PgRead::of(&typname, &typtype, &formatted, self.numeric_as_text);
                let mut field = field_with_source(
                    col.name(),
                    read.arrow_type(),
                    !not_null,
                    DIALECT,
                    &formatted,
                );
                if pk > 0 {
                    let mut meta = field.metadata().clone();
                    meta.insert(META_PRIMARY_KEY.into(), pk.to_string());
                    field = field.with_metadata(meta);
                }
                // An identity column, or a `serial` (its default a sequence's nextval).
                let identity: String = row.get(8);
                let default: Option<String> = row.get(9);
                let serial = default
                    .as_deref()
                    .is_some_and(|d| d.starts_with("nextval("));
                match (identity.as_str(), serial) {
                    ("a", _) => field = with_identity(field, "ALWAYS"),
                    ("d", _) | (_, true) => field = with_identity(field, "BY DEFAULT"),
                    _ => {
                        if let Some(d) = default.as_deref().and_then(ColumnDefault::from_pg) {
                            field = d.on_field(field);
                        }
                    }
                }
                if let (Some(schema), Some(name), Some(labels)) =
                    (row.get(5), row.get(6), row.get(7))
                {
                    field = PgEnum {
                        schema,
                        name,
                        labels,
                    }
                    .on_field(field);
                }
                (field, read)
            })
            .collect())
    }

    /// Plans a relation named `schema.table` or `table` (in the source's schema), quoted parts
    /// unquoted: a table, a partitioned table (one table, read through its parent), a view, a
    /// materialized view or a foreign table (their rows, as a query gives them). The plan is
    /// named by the relation alone, the target's default name.
    fn plan_relation(&self, c: &mut Client, given: &str) -> Result<Planned> {
        let (schema, bare) = split_qualified(given);
        let schema = schema.unwrap_or_else(|| self.schema().to_string());
        let qualified = format!("{}.{}", quote_ident(&schema), quote_ident(&bare));
        let name = &bare;
        // A partitioned table has no pages of its own: its leaves' are summed (-1 tuples, never
        // analyzed, when any leaf is).
        let stat = c
            .query_opt(
                "WITH leaves AS (
                     SELECT l.relpages, l.reltuples FROM pg_partition_tree(to_regclass($1)) t
                     JOIN pg_class l ON l.oid = t.relid WHERE t.isleaf)
                 SELECT c.relkind::text, c.relispopulated,
                        EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                                AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> ''),
                        CASE WHEN c.relkind = 'p'
                             THEN (SELECT coalesce(sum(relpages), 0) FROM leaves)
                             ELSE c.relpages END::int8,
                        CASE WHEN c.relkind <> 'p' THEN c.reltuples
                             WHEN (SELECT bool_or(reltuples < 0) FROM leaves) THEN -1
                             ELSE (SELECT coalesce(sum(reltuples), 0) FROM leaves) END::int8
                 FROM pg_class c WHERE c.oid = to_regclass($1)",
                &[&qualified],
            )
            .map_err(|e| pg_error(e, format!("{}: table {name}", self.settings)))?;
        let Some(stat) = stat else {
            return Err(Error::not_found(format!(
                "{}: table {qualified} does not exist{}",
                self.settings,
                similar_tables(c, &schema, &bare)
            )));
        };
        let (relkind, populated, generated): (String, bool, bool) =
            (stat.get(0), stat.get(1), stat.get(2));
        // `COPY table` only for an ordinary table without generated columns: it refuses every
        // other relation, and leaves generated columns out (`SELECT *` has them). `ONLY`: an
        // inheritance parent's own rows, as `COPY table` reads them; its children are tables
        // of their own.
        let (from, plain) = match relkind.as_str() {
            "r" => (format!("ONLY {qualified}"), !generated),
            "p" | "v" | "f" => (qualified.clone(), false),
            "m" if populated => (qualified.clone(), false),
            "m" => {
                return Err(Error::invalid_data(format!(
                    "{}: materialized view {qualified} is not populated, so it has no rows to \
                     read: run REFRESH MATERIALIZED VIEW {qualified} first",
                    self.settings
                )))
            }
            other => {
                return Err(Error::unsupported(format!(
                    "{}: {qualified} is a {}, which has no rows to copy",
                    self.settings,
                    relkind_name(other)
                )))
            }
        };
        let rel = Relation {
            name: name.clone(),
            from,
            relkind,
            pages: stat.get(3),
            reltuples: stat.get(4),
        };
        let fields = self.describe(
            c,
            &format!("SELECT * FROM {qualified}"),
            &format!("table {name}"),
        )?;
        let parts = self.partitions(c, &rel, &fields)?;
        let rows = match rel.relkind.as_str() {
            // A view's or foreign table's rows are known only by reading them: counting first
            // would read them twice.
            "v" | "f" => None,
            // Small tables are counted exactly; large ones estimated from the statistics (for
            // progress only).
            _ if rel.pages < AUTO_PARTITION_PAGES || rel.reltuples < 0 => {
                let r = c
                    .query_one(&format!("SELECT count(*) FROM {}", rel.from), &[])
                    .map_err(|e| pg_error(e, format!("{}: table {name}: count", self.settings)))?;
                Some(r.get::<_, i64>(0) as u64)
            }
            _ => Some(rel.reltuples as u64),
        };
        let pieces = parts
            .into_iter()
            .map(|(label, filter)| {
                let plain = (plain && filter.is_none()).then_some(qualified.as_str());
                (
                    label,
                    copy_sql(&rel.from, &fields, filter.as_deref(), plain),
                )
            })
            .collect::<Vec<_>>();
        Ok((name.clone(), fields, pieces, rows))
    }

    /// A table's CHECK constraints (`pg_get_constraintdef`, ` NOT VALID` kept), its comment and
    /// its columns' comments.
    fn checks_and_comments(
        &self,
        c: &mut Client,
        given: &str,
    ) -> Result<crate::types::constraints::Annotations> {
        let (schema, bare) = split_qualified(given);
        let schema = schema.unwrap_or_else(|| self.schema().to_string());
        let qualified = format!("{}.{}", quote_ident(&schema), quote_ident(&bare));
        let ctx = |e| pg_error(e, format!("{}: table {qualified}: checks", self.settings));
        let checks = c
            .query(
                "SELECT con.conname::text, pg_get_constraintdef(con.oid, true), con.convalidated,
                        ARRAY(SELECT a.attname::text FROM pg_attribute a
                              WHERE a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey)
                              ORDER BY a.attnum)
                 FROM pg_constraint con
                 WHERE con.conrelid = to_regclass($1) AND con.contype = 'c'
                 ORDER BY con.conname",
                &[&qualified],
            )
            .map_err(ctx)?
            .iter()
            .map(|r| {
                let (name, def, valid, reads): (String, String, bool, Vec<String>) =
                    (r.get(0), r.get(1), r.get(2), r.get(3));
                CheckDef {
                    name,
                    dialect: DIALECT.into(),
                    definition: match valid || def.ends_with(" NOT VALID") {
                        true => def,
                        false => format!("{def} NOT VALID"),
                    },
                    reads,
                }
            })
            .collect();
        let comment: Option<String> = c
            .query_one(
                "SELECT obj_description(to_regclass($1), 'pg_class')",
                &[&qualified],
            )
            .map_err(ctx)?
            .get(0);
        let comments = c
            .query(
                "SELECT a.attname::text, col_description(a.attrelid, a.attnum)
                 FROM pg_attribute a
                 WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
                   AND col_description(a.attrelid, a.attnum) IS NOT NULL",
                &[&qualified],
            )
            .map_err(ctx)?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        Ok((checks, comment, comments))
    }

    /// The secondary indexes of a table (not its primary key, nor an exclusion constraint's,
    /// nor an invalid one): portable when every key is a plain column of a B-tree index
    /// without predicate or `INCLUDE`; each also verbatim (`pg_get_indexdef` after the table),
    /// for a PostgreSQL target.
    fn indexes(&self, c: &mut Client, given: &str) -> Result<Vec<IndexDef>> {
        let (schema, bare) = split_qualified(given);
        let schema = schema.unwrap_or_else(|| self.schema().to_string());
        let qualified = format!("{}.{}", quote_ident(&schema), quote_ident(&bare));
        let rows = c
            .query(
                "SELECT ic.relname::text, ix.indisunique, am.amname::text,
                        pg_get_indexdef(ix.indexrelid),
                        quote_ident(ic.relname), quote_ident(n.nspname) || '.' || quote_ident(t.relname),
                        ix.indexprs IS NOT NULL, ix.indpred IS NOT NULL,
                        ix.indnkeyatts < ix.indnatts,
                        EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid
                                AND con.conrelid = ix.indrelid AND con.contype = 'u'),
                        ARRAY(SELECT coalesce(a.attname::text, '') FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(att, n)
                              LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.att
                              WHERE k.n <= ix.indnkeyatts ORDER BY k.n),
                        ARRAY(SELECT (o.opt & 1) = 1 FROM unnest(ix.indoption::int2[]) WITH ORDINALITY o(opt, n)
                              ORDER BY o.n),
                        ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = ix.indrelid
                              AND a.attnum > 0 AND (a.attnum = ANY (ix.indkey::int2[]) OR EXISTS (
                                  SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                  AND d.objid = ix.indexrelid AND d.refclassid = 'pg_class'::regclass
                                  AND d.refobjid = ix.indrelid AND d.refobjsubid = a.attnum))
                              ORDER BY a.attnum)
                 FROM pg_index ix
                 JOIN pg_class ic ON ic.oid = ix.indexrelid
                 JOIN pg_am am ON am.oid = ic.relam
                 JOIN pg_class t ON t.oid = ix.indrelid
                 JOIN pg_namespace n ON n.oid = t.relnamespace
                 WHERE ix.indrelid = to_regclass($1) AND NOT ix.indisprimary AND ix.indisvalid
                   AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid
                                   AND con.contype = 'x')
                 ORDER BY ic.relname",
                &[&qualified],
            )
            .map_err(|e| pg_error(e, format!("{}: table {qualified}: indexes", self.settings)))?;
        let mut out = Vec::new();
        for r in rows {
            let (name, unique, method, def): (String, bool, String, String) =
                (r.get(0), r.get(1), r.get(2), r.get(3));
            let (quoted_name, quoted_table): (String, String) = (r.get(4), r.get(5));
            let (exprs, pred, include, constraint): (bool, bool, bool, bool) =
                (r.get(6), r.get(7), r.get(8), r.get(9));
            let (keys, desc, reads): (Vec<String>, Vec<bool>, Vec<String>) =
                (r.get(10), r.get(11), r.get(12));
            // `CREATE [UNIQUE] INDEX name ON [ONLY] schema.table USING ...`: what follows the
            // table, to build the same index on another table.
            let head = format!(
                "CREATE {}INDEX {quoted_name} ON ",
                if unique { "UNIQUE " } else { "" }
            );
            let native = def
                .strip_prefix(&head)
                .map(|rest| rest.strip_prefix("ONLY ").unwrap_or(rest))
                .and_then(|rest| rest.strip_prefix(&quoted_table))
                .map(|rest| NativeIndex {
                    dialect: "postgres".into(),
                    definition: rest.trim_start().to_string(),
                });
            let not_portable = if native.is_none() {
                Some(format!("its definition could not be read: {def}"))
            } else if method != "btree" {
                Some(format!("a PostgreSQL {method} index"))
            } else if exprs {
                Some("a PostgreSQL expression index".into())
            } else if pred {
                Some("a PostgreSQL partial index (WHERE ...)".into())
            } else if include {
                Some("a PostgreSQL index with INCLUDE columns".into())
            } else {
                None
            };
            let columns = match not_portable {
                Some(_) => Vec::new(),
                None => keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| IndexColumn {
                        name: k.clone(),
                        descending: desc.get(i).copied().unwrap_or(false),
                    })
                    .collect(),
            };
            out.push(IndexDef {
                name,
                unique,
                constraint,
                columns,
                not_portable,
                reads,
                native,
            });
        }
        Ok(out)
    }

    /// Splits a table into partitions: predicates on ctid or on the partition key.
    fn partitions(
        &self,
        client: &mut Client,
        rel: &Relation,
        fields: &[(Field, PgRead)],
    ) -> Result<Vec<(String, Option<String>)>> {
        let Relation {
            name: table,
            from,
            relkind,
            pages,
            reltuples,
        } = rel;
        let (pages, reltuples) = (*pages, *reltuples);
        let jobs = self.options.jobs.max(1) as i64;
        if let Some(key) = &self.options.partition_on {
            let n = self.options.partitions.unwrap_or(jobs as usize).max(1);
            let Some((field, _)) = fields.iter().find(|(f, _)| f.name() == key) else {
                return Err(Error::not_found(format!(
                    "{}: table {table} has no column \"{key}\" to partition on",
                    self.settings
                )));
            };
            let declared = crate::types::source_type(field)
                .map(|(_, t)| t.to_string())
                .unwrap_or_default();
            if n == 1 {
                return Ok(vec![("whole table".into(), None)]);
            }
            // Quantiles of the key, from a sample on large tables (a full sort would cost as
            // much as the copy).
            let fractions: Vec<f64> = (1..n).map(|i| i as f64 / n as f64).collect();
            // TABLESAMPLE reads tables and materialized views only.
            let sample = if reltuples > 1_000_000 && matches!(relkind.as_str(), "r" | "p" | "m") {
                format!(
                    " TABLESAMPLE SYSTEM ({})",
                    (100.0 * 200_000.0 / reltuples as f64).min(100.0)
                )
            } else {
                String::new()
            };
            let k = quote_ident(key);
            let sql = format!(
                "SELECT percentile_disc($1::float8[]) WITHIN GROUP (ORDER BY {k})::text[] FROM {from}{sample}"
            );
            let row = client.query_one(&sql, &[&fractions]).map_err(|e| {
                pg_error(e, format!("{}: {table}: quantiles of {k}", self.settings))
            })?;
            let mut bounds: Vec<String> = row
                .get::<_, Option<Vec<Option<String>>>>(0)
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .collect();
            bounds.dedup();
            let lit = |b: &str| format!("{}::{declared}", quote_literal(b));
            let mut parts = Vec::new();
            if bounds.is_empty() {
                return Ok(vec![("whole table".into(), None)]);
            }
            parts.push((
                format!("{k} < {} or NULL", bounds[0]),
                Some(format!("({k} < {} OR {k} IS NULL)", lit(&bounds[0]))),
            ));
            for w in bounds.windows(2) {
                parts.push((
                    format!("{} <= {k} < {}", w[0], w[1]),
                    Some(format!("{k} >= {} AND {k} < {}", lit(&w[0]), lit(&w[1]))),
                ));
            }
            let last = &bounds[bounds.len() - 1];
            parts.push((
                format!("{k} >= {last}"),
                Some(format!("{k} >= {}", lit(last))),
            ));
            return Ok(parts);
        }
        // ctid ranges: in the number asked for (--partitions alone), or automatically on large
        // tables; only ordinary tables have pages to split.
        if relkind != "r" || (self.options.partitions.is_none() && pages < AUTO_PARTITION_PAGES) {
            return Ok(vec![("whole table".into(), None)]);
        }
        let n = match self.options.partitions {
            Some(n) => n.max(1) as i64,
            None => (pages / PAGES_PER_PARTITION).max(jobs),
        };
        if n == 1 {
            return Ok(vec![("whole table".into(), None)]);
        }
        let per = (pages.max(n) + n - 1) / n;
        let tid = |p: i64| format!("'({p},0)'::tid");
        Ok((0..n)
            .map(|i| {
                let (lo, hi) = (i * per, (i + 1) * per);
                // The last range is open: pages added since the statistics were taken are read.
                match (i, i == n - 1) {
                    (0, _) => (
                        format!("ctid pages < {hi}"),
                        Some(format!("ctid < {}", tid(hi))),
                    ),
                    (_, true) => (
                        format!("ctid pages >= {lo}"),
                        Some(format!("ctid >= {}", tid(lo))),
                    ),
                    _ => (
                        format!("ctid pages {lo}..{hi}"),
                        Some(format!("ctid >= {} AND ctid < {}", tid(lo), tid(hi))),
                    ),
                }
            })
            .collect())
    }
}

/// The `COPY (SELECT ...) TO STDOUT` of a relation or query with an optional predicate.
fn copy_sql(
    from: &str,
    fields: &[(Field, PgRead)],
    filter: Option<&str>,
    plain_table: Option<&str>,
) -> String {
    let all_native = fields.iter().all(|(_, r)| !r.selects_text());
    if let (true, None, Some(t)) = (all_native, filter, plain_table) {
        return format!("COPY {t} TO STDOUT (FORMAT binary)");
    }
    let cols = fields
        .iter()
        .map(|(f, r)| {
            let q = quote_ident(f.name());
            if r.selects_text() {
                format!("{q}::text")
            } else {
                q
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let filter = filter.map(|f| format!(" WHERE {f}")).unwrap_or_default();
    format!("COPY (SELECT {cols} FROM {from}{filter}) TO STDOUT (FORMAT binary)")
}

/// A planned `COPY <relation or (SELECT ...)> TO STDOUT (FORMAT binary)` with a pushed-down
/// filter (`TablePlan::filter`, rendered by `SqlDialect::Postgres` over the source's columns) as
/// the `WHERE` of a query around it; the planner flattens it, so a partition's `ctid` range or
/// key range is still one scan.
fn filtered_copy(copy: &str, filter: &str) -> Result<String> {
    let inner = copy
        .strip_prefix("COPY ")
        .and_then(|s| s.strip_suffix(" TO STDOUT (FORMAT binary)"))
        .ok_or_else(|| Error::internal(format!("unexpected COPY statement: {copy}")))?;
    // A plain `COPY table` reads an ordinary table's own rows: `ONLY` keeps it so.
    let only = if inner.starts_with('(') { "" } else { "ONLY " };
    Ok(format!(
        "COPY (SELECT * FROM {only}{inner} AS ferry_filtered WHERE {filter}) TO STDOUT (FORMAT binary)"
    ))
}

impl Source for PgSource {
    /// Ordinary and partitioned tables: a partitioned table is one table (read through its
    /// parent), its partitions are not listed, so no row is copied twice.
    fn tables(&self) -> Result<Vec<String>> {
        let names = self.relations(&["r", "p"], false)?;
        if names.is_empty() {
            let schema = self.schema().to_string();
            let exists = self.with_client(|c| {
                c.query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
                    .map_err(|e| pg_error(e, format!("{}: list tables", self.settings)))
            })?;
            if exists.is_none() {
                return Err(Error::not_found(format!(
                    "{}: schema \"{schema}\" does not exist",
                    self.settings
                )));
            }
        }
        Ok(names.into_iter().map(|(name, ..)| name).collect())
    }

    /// Views, materialized views and foreign tables: their rows are a query over other
    /// relations (or another server's), copied only when named; and ferry's own tables.
    fn not_copied(&self) -> Result<Vec<NotCopied>> {
        let mut out: Vec<NotCopied> = self
            .relations(&["v", "m", "f"], false)?
            .into_iter()
            .map(|(name, relkind, populated)| NotCopied {
                name,
                kind: relkind_name(&relkind).to_string(),
                note: (!populated).then(|| "not populated".to_string()),
            })
            .collect();
        out.extend(
            self.relations(&["r", "p"], true)?
                .into_iter()
                .map(|(name, ..)| super::ferry_state(name)),
        );
        Ok(out)
    }

    fn declares_keys(&self) -> bool {
        true
    }

    /// The primary key, and the foreign keys of `pg_constraint`: composite and self-referencing,
    /// with their actions and deferrability; a referenced table named as `tables()` lists it.
    fn keys(&self, table: &TableRef, plan: &TablePlan) -> Result<super::TableKeys> {
        let mut keys = super::primary_key_of(plan);
        let TableRef::Table(given) = table else {
            return Ok(keys);
        };
        let (schema, bare) = split_qualified(given);
        let given_qualified = schema.is_some();
        let schema = schema.unwrap_or_else(|| self.schema().to_string());
        let qualified = format!("{}.{}", quote_ident(&schema), quote_ident(&bare));
        let rows = self.with_client(|c| {
            c.query(
                "SELECT ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(att, n)
                              JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.att
                              ORDER BY k.n),
                        rn.nspname::text, rc.relname::text,
                        ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(att, n)
                              JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.att
                              ORDER BY k.n),
                        con.confdeltype::text, con.confupdtype::text, con.condeferrable,
                        con.condeferred
                 FROM pg_constraint con
                 JOIN pg_class rc ON rc.oid = con.confrelid
                 JOIN pg_namespace rn ON rn.oid = rc.relnamespace
                 WHERE con.contype = 'f' AND con.conrelid = to_regclass($1)
                 ORDER BY con.conname",
                &[&qualified],
            )
            .map_err(|e| pg_error(e, format!("{}: table {qualified}: foreign keys", self.settings)))
        })?;
        for r in rows {
            let (ns, rel): (String, String) = (r.get(1), r.get(2));
            // As `relations` lists it, or bare when the table was named bare (`--table child`)
            // and the referenced one is in its schema, so the run finds it among its tables.
            let table = if (ns == "public" && self.schema() == "public")
                || (ns == schema && !given_qualified)
            {
                quote_part(&rel)
            } else {
                format!("{}.{}", quote_part(&ns), quote_part(&rel))
            };
            keys.foreign_keys.push(super::ForeignKey {
                columns: r.get(0),
                table,
                referenced: r.get(3),
                on_delete: super::KeyAction::from_pg(r.get(4)),
                on_update: super::KeyAction::from_pg(r.get(5)),
                deferrable: r.get(6),
                initially_deferred: r.get(7),
            });
        }
        Ok(keys)
    }

    fn plan(&self, table: &TableRef) -> Result<TablePlan> {
        self.with_client(|c| {
            let (name, fields, pieces, rows) = match table {
                TableRef::Table(given) => self.plan_relation(c, given)?,
                TableRef::Query(sql) => {
                    let sql = sql.trim().trim_end_matches(';');
                    let fields = self.describe(c, sql, "query")?;
                    let from = format!("({sql}) AS q");
                    let copy = if fields.iter().any(|(_, r)| r.selects_text()) {
                        copy_sql(&from, &fields, None, None)
                    } else {
                        format!("COPY ({sql}) TO STDOUT (FORMAT binary)")
                    };
                    (
                        "query".to_string(),
                        fields,
                        vec![("query".to_string(), copy)],
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
            if let TableRef::Table(given) = table {
                let indexes = self.indexes(c, given)?;
                let annotations = self.checks_and_comments(c, given)?;
                plan.schema =
                    crate::types::constraints::record(&plan.schema, &indexes, &annotations);
            }
            Ok(plan)
        })
    }

    /// Filters on the column types PostgreSQL compares as arrow does are run in the COPY's query.
    fn filter_dialect(&self) -> Option<SqlDialect> {
        Some(SqlDialect::Postgres)
    }

    fn open(&self, plan: &TablePlan, partition: &Partition) -> Result<BatchStream> {
        let PartitionSpec::Sql(sql) = &partition.spec else {
            return Err(Error::internal("a PostgreSQL partition without its COPY"));
        };
        let settings = self.settings.clone();
        let snapshot = self.snapshot.clone();
        let sql = match &plan.filter {
            Some(f) => filtered_copy(sql, f)?,
            None => sql.clone(),
        };
        tracing::debug!(source = %settings, partition = %partition.label, %sql, "reading");
        let schema = plan.schema.clone();
        let limits = self.options.limits;
        let table = plan.name.clone();
        thread_stream(format!("ferry-pg-{}", partition.index), move |tx| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::io(format!("{settings}: cannot start a reader"), e))?;
            let (client, connection) = settings.connect_on(&rt)?;
            rt.block_on(client.batch_execute(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; \
                 SET TRANSACTION SNAPSHOT {}; {SESSION}",
                quote_literal(&snapshot)
            )))
            .map_err(|e| pg_error(e, format!("{settings}: cannot join the run's snapshot")))?;
            let stream = rt
                .block_on(client.copy_out(sql.as_str()))
                .map_err(|e| pg_error(e, format!("{table}: reading the COPY stream")))?;
            let mut decoder = Decoder::new(schema, limits, &table);
            let mut wire = Wire::new(CopyReader::new(&rt, stream, connection));
            decoder.read_header(&mut wire)?;
            while let Some(batch) = decoder.next_batch(&mut wire)? {
                if tx.send(Ok(batch)).is_err() {
                    return Ok(());
                }
            }
            drop(wire);
            rt.block_on(client.batch_execute("COMMIT"))
                .map_err(|e| pg_error(e, format!("{table}: ending the read")))
        })
    }
}

/// The tables of `schema` whose names match `name` but for case, as a hint for a not-found
/// error (`--table orders` for a table created as `"Orders"`), or the empty string.
fn similar_tables(c: &mut Client, schema: &str, name: &str) -> String {
    let rows = c
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND lower(c.relname) = lower($2) ORDER BY 1",
            &[&schema, &name],
        )
        .unwrap_or_default();
    let names: Vec<String> = rows
        .iter()
        .map(|r| quote_ident(&r.get::<_, String>(0)))
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(
            " (did you mean {}? a name is matched as written, case included)",
            names.join(" or ")
        )
    }
}

/// `sales` stays bare; names that need it are quoted, so `split_qualified` reads them back.
fn quote_part(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        s.to_string()
    } else {
        quote_ident(s)
    }
}

/// The bytes of a `COPY ... TO STDOUT`, one CopyData message (one row) at a time. The blocking
/// `postgres` client enters its tokio runtime for every message, which was a tenth of ferry's
/// CPU on PostgreSQL -> Parquet. This reader takes the messages already received without the
/// runtime, and runs it (on the reading thread) only to wait for the socket.
struct CopyReader<'a> {
    rt: &'a tokio::runtime::Runtime,
    stream: Pin<Box<CopyOutStream>>,
    connection: Option<Connection>,
    cur: Bytes,
}

impl<'a> CopyReader<'a> {
    fn new(rt: &'a tokio::runtime::Runtime, stream: CopyOutStream, connection: Connection) -> Self {
        CopyReader {
            rt,
            stream: Box::pin(stream),
            connection: Some(connection),
            cur: Bytes::new(),
        }
    }

    /// The stream's error, or, when the stream only saw its connection close, why the
    /// connection ended (a reset, the server's FATAL message).
    fn why(&mut self, e: tokio_postgres::Error) -> std::io::Error {
        if e.is_closed() {
            if let Some(connection) = self.connection.take() {
                if let Ok(Err(cause)) = self.rt.block_on(connection) {
                    return std::io::Error::other(cause);
                }
            }
        }
        std::io::Error::other(e)
    }
}

impl Read for CopyReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let b = self.fill_buf()?;
        let n = b.len().min(out.len());
        out[..n].copy_from_slice(&b[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for CopyReader<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.cur.is_empty() {
            // The connection's task hands over every message of a socket read at once: the
            // rest of them are ready without the runtime.
            let mut cx = Context::from_waker(Waker::noop());
            let next = match self.stream.as_mut().poll_next(&mut cx) {
                Poll::Ready(next) => next,
                Poll::Pending => {
                    let stream = &mut self.stream;
                    self.rt
                        .block_on(std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)))
                }
            };
            match next {
                Some(Ok(message)) => self.cur = message,
                Some(Err(e)) => return Err(self.why(e)),
                None => break,
            }
        }
        Ok(&self.cur)
    }

    fn consume(&mut self, n: usize) {
        self.cur.advance(n);
    }
}

/// A buffered reader of the COPY stream with the few primitives the format needs.
struct Wire<R: BufRead> {
    r: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
}

impl<R: BufRead> Wire<R> {
    fn new(r: R) -> Self {
        Wire {
            r,
            buf: vec![0; 1 << 20],
            pos: 0,
            end: 0,
        }
    }

    /// Makes `n` bytes available at `pos`; false at the end of the stream.
    fn fill(&mut self, n: usize) -> std::io::Result<bool> {
        if self.end - self.pos >= n {
            return Ok(true);
        }
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        if self.buf.len() < n {
            self.buf.resize(n.next_power_of_two(), 0);
        }
        while self.end < n {
            let got = self.r.read(&mut self.buf[self.end..])?;
            if got == 0 {
                return Ok(false);
            }
            self.end += got;
        }
        Ok(true)
    }

    /// The bytes at hand: those waiting in the wire's buffer, or else those the reader holds
    /// in its own (for a COPY, the rest of one CopyData message, read without a copy). Empty
    /// at the end of the stream.
    fn at_hand(&mut self) -> std::io::Result<&[u8]> {
        if self.pos < self.end {
            return Ok(&self.buf[self.pos..self.end]);
        }
        self.r.fill_buf()
    }

    /// Drops `n` bytes of [`Wire::at_hand`].
    fn consume(&mut self, n: usize) {
        if self.pos < self.end {
            self.pos += n;
        } else {
            self.r.consume(n);
        }
    }

    /// Gathers what is at hand in the wire's buffer with at least one more byte after it;
    /// false at the end of the stream.
    fn more(&mut self) -> std::io::Result<bool> {
        let have = self.end - self.pos;
        self.fill(have + 1)
    }

    fn take(&mut self, n: usize) -> std::io::Result<Option<&[u8]>> {
        if !self.fill(n)? {
            return Ok(None);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(Some(s))
    }
}

/// The last finite PostgreSQL timestamp (microseconds since 2000-01-01) ferry carries: the next
/// one is `i64::MAX` microseconds since 1970, [`temporal::TS_INFINITY`].
const LAST_MICROS: i64 = temporal::TS_INFINITY - 1 - PG_EPOCH_MICROS;

/// A finite PostgreSQL timestamp (microseconds since 2000-01-01) as microseconds since
/// 1970-01-01, or `None` when it has no Arrow value of its own: PostgreSQL's range goes to
/// 294276 AD, `i64` microseconds since 1970 end at 294247-01-10 04:00:54.775807, and that last
/// one is ferry's `infinity`. A legal finite value must never arrive as `infinity`.
fn unix_micros(pg: i64) -> Option<i64> {
    pg.checked_add(PG_EPOCH_MICROS)
        .filter(|t| *t != temporal::TS_INFINITY && *t != temporal::TS_NEG_INFINITY)
}

/// A finite PostgreSQL date (days since 2000-01-01) as days since 1970-01-01, or `None` on an
/// overflow or a ±infinity sentinel. No legal PostgreSQL date (4713 BC to 5874897 AD) is either:
/// the check keeps a value off the sentinels whatever the server sends.
fn unix_days(pg: i32) -> Option<i32> {
    pg.checked_add(PG_EPOCH_DAYS)
        .filter(|d| *d != temporal::DATE_INFINITY && *d != temporal::DATE_NEG_INFINITY)
}

/// `YYYY-MM-DD`, or `YYYY-MM-DD BC` before year 1, as PostgreSQL prints a date.
fn pg_civil_text(days: i64) -> (String, &'static str) {
    let (y, m, d) = temporal::civil_from_days(days);
    let (y, bc) = if y <= 0 { (1 - y, " BC") } else { (y, "") };
    (format!("{y:04}-{m:02}-{d:02}"), bc)
}

/// A PostgreSQL date (days since 2000-01-01) as PostgreSQL's `::text` prints it, for messages.
fn pg_date_text(pg: i32) -> String {
    let (date, bc) = pg_civil_text(i64::from(pg) + i64::from(PG_EPOCH_DAYS));
    format!("{date}{bc}")
}

/// A PostgreSQL timestamp (microseconds since 2000-01-01) as PostgreSQL's `::text` prints it
/// (ISO, UTC for `timestamptz`), for messages: the value as the user sees it in the database.
fn pg_timestamp_text(pg: i64, tz: bool) -> String {
    let micros = i128::from(pg) + i128::from(PG_EPOCH_MICROS);
    let day_micros = 86_400_000_000i128;
    let (days, of_day) = (micros.div_euclid(day_micros), micros.rem_euclid(day_micros));
    let (date, bc) = pg_civil_text(days as i64);
    let secs = of_day / 1_000_000;
    let frac = of_day % 1_000_000;
    let frac = if frac == 0 {
        String::new()
    } else {
        format!(".{frac:06}").trim_end_matches('0').to_string()
    };
    format!(
        "{date} {:02}:{:02}:{:02}{frac}{}{bc}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        if tz { "+00" } else { "" }
    )
}

/// Column builders for one batch, appended to row by row as the COPY format requires.
enum Builder {
    Bool(BooleanBuilder),
    Int2(Int16Builder),
    Int4(Int32Builder),
    Int8(Int64Builder),
    Float4(Float32Builder),
    Float8(Float64Builder),
    Dec128(Decimal128Builder, u8, i8),
    Dec256(Decimal256Builder, u8, i8),
    NumericText(StringBuilder),
    /// Text straight from the wire, checked as UTF-8 once per batch by [`utf8_column`].
    Text(BinaryBuilder),
    /// As `Text`, trailing spaces trimmed.
    Bpchar(BinaryBuilder),
    Jsonb(StringBuilder),
    Uuid(StringBuilder),
    Bytea(BinaryBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Timestamp(TimestampMicrosecondBuilder, Option<Arc<str>>),
}

impl Builder {
    /// A builder for `cap` values; `bytes` of text or binary data for variable-width types.
    fn new(read: PgRead, cap: usize, bytes: usize) -> Builder {
        match read {
            PgRead::Bool => Builder::Bool(BooleanBuilder::with_capacity(cap)),
            PgRead::Int2 => Builder::Int2(Int16Builder::with_capacity(cap)),
            PgRead::Int4 => Builder::Int4(Int32Builder::with_capacity(cap)),
            PgRead::Int8 => Builder::Int8(Int64Builder::with_capacity(cap)),
            PgRead::Float4 => Builder::Float4(Float32Builder::with_capacity(cap)),
            PgRead::Float8 => Builder::Float8(Float64Builder::with_capacity(cap)),
            PgRead::Decimal128 { precision, scale } => {
                Builder::Dec128(Decimal128Builder::with_capacity(cap), precision, scale)
            }
            PgRead::Decimal256 { precision, scale } => {
                Builder::Dec256(Decimal256Builder::with_capacity(cap), precision, scale)
            }
            PgRead::NumericText => Builder::NumericText(StringBuilder::with_capacity(cap, bytes)),
            PgRead::Text | PgRead::AsText => {
                Builder::Text(BinaryBuilder::with_capacity(cap, bytes))
            }
            PgRead::Bpchar => Builder::Bpchar(BinaryBuilder::with_capacity(cap, bytes)),
            PgRead::Jsonb => Builder::Jsonb(StringBuilder::with_capacity(cap, bytes)),
            PgRead::Uuid => Builder::Uuid(StringBuilder::with_capacity(cap, bytes)),
            PgRead::Bytea => Builder::Bytea(BinaryBuilder::with_capacity(cap, bytes)),
            PgRead::Date => Builder::Date(Date32Builder::with_capacity(cap)),
            PgRead::Time => Builder::Time(Time64MicrosecondBuilder::with_capacity(cap)),
            PgRead::Timestamp => {
                Builder::Timestamp(TimestampMicrosecondBuilder::with_capacity(cap), None)
            }
            PgRead::TimestampTz => Builder::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(cap),
                Some("+00:00".into()),
            ),
        }
    }

    fn append_null(&mut self) {
        match self {
            Builder::Bool(b) => b.append_null(),
            Builder::Int2(b) => b.append_null(),
            Builder::Int4(b) => b.append_null(),
            Builder::Int8(b) => b.append_null(),
            Builder::Float4(b) => b.append_null(),
            Builder::Float8(b) => b.append_null(),
            Builder::Dec128(b, ..) => b.append_null(),
            Builder::Dec256(b, ..) => b.append_null(),
            Builder::NumericText(b) | Builder::Jsonb(b) | Builder::Uuid(b) => b.append_null(),
            Builder::Text(b) | Builder::Bpchar(b) | Builder::Bytea(b) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Time(b) => b.append_null(),
            Builder::Timestamp(b, _) => b.append_null(),
        }
    }

    /// Appends one value in PostgreSQL's binary form.
    fn append(&mut self, v: &[u8]) -> std::result::Result<(), String> {
        fn fixed<const N: usize>(v: &[u8]) -> std::result::Result<[u8; N], String> {
            v.try_into()
                .map_err(|_| format!("{} bytes where {N} were expected", v.len()))
        }
        fn utf8(v: &[u8]) -> std::result::Result<&str, String> {
            simdutf8::basic::from_utf8(v).map_err(|_| "text that is not valid UTF-8".to_string())
        }
        match self {
            Builder::Bool(b) => b.append_value(fixed::<1>(v)?[0] != 0),
            Builder::Int2(b) => b.append_value(i16::from_be_bytes(fixed(v)?)),
            Builder::Int4(b) => b.append_value(i32::from_be_bytes(fixed(v)?)),
            Builder::Int8(b) => b.append_value(i64::from_be_bytes(fixed(v)?)),
            Builder::Float4(b) => b.append_value(f32::from_be_bytes(fixed(v)?)),
            Builder::Float8(b) => b.append_value(f64::from_be_bytes(fixed(v)?)),
            Builder::Dec128(b, _, s) => b.append_value(match Numeric::wire_i128(v, *s) {
                Some(x) => x,
                None => Numeric::from_wire(v)?.to_i128(*s)?,
            }),
            Builder::Dec256(b, _, s) => b.append_value(Numeric::from_wire(v)?.to_i256(*s)?),
            Builder::NumericText(b) => b.append_value(Numeric::from_wire(v)?.to_text()),
            Builder::Text(b) => b.append_value(v),
            Builder::Bpchar(b) => {
                // Trailing spaces are whole characters in UTF-8: trimmed as bytes.
                let end = v.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
                b.append_value(&v[..end])
            }
            Builder::Jsonb(b) => match v.split_first() {
                Some((1, rest)) => b.append_value(utf8(rest)?),
                _ => return Err("a jsonb value in an unknown binary version".into()),
            },
            Builder::Uuid(b) => b.append_value(crate::types::uuid_text(&fixed::<16>(v)?)),
            Builder::Bytea(b) => b.append_value(v),
            Builder::Date(b) => {
                let d = i32::from_be_bytes(fixed(v)?);
                b.append_value(match d {
                    i32::MAX => temporal::DATE_INFINITY,
                    i32::MIN => temporal::DATE_NEG_INFINITY,
                    d => unix_days(d).ok_or_else(|| {
                        format!(
                            "date {} has no Date32 value of its own: ferry holds infinity and \
                             -infinity in the largest and smallest Date32",
                            pg_date_text(d)
                        )
                    })?,
                })
            }
            Builder::Time(b) => b.append_value(i64::from_be_bytes(fixed(v)?)),
            Builder::Timestamp(b, tz) => {
                let t = i64::from_be_bytes(fixed(v)?);
                b.append_value(match t {
                    i64::MAX => temporal::TS_INFINITY,
                    i64::MIN => temporal::TS_NEG_INFINITY,
                    t => unix_micros(t).ok_or_else(|| {
                        format!(
                            "timestamp {} has no Arrow value of its own: Arrow's microseconds \
                             end at {}, which ferry holds for infinity, so the last timestamp \
                             it carries is {}; read the column as text (--query with \
                             \"column\"::text)",
                            pg_timestamp_text(t, tz.is_some()),
                            pg_timestamp_text(LAST_MICROS + 1, tz.is_some()),
                            pg_timestamp_text(LAST_MICROS, tz.is_some()),
                        )
                    })?,
                })
            }
        }
        Ok(())
    }

    /// The column built so far; [`Unfinished::NotUtf8`] names the first text value, counted
    /// from the batch's first row, that is not UTF-8.
    fn finish(&mut self) -> std::result::Result<ArrayRef, Unfinished> {
        Ok(match self {
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Int2(b) => Arc::new(b.finish()),
            Builder::Int4(b) => Arc::new(b.finish()),
            Builder::Int8(b) => Arc::new(b.finish()),
            Builder::Float4(b) => Arc::new(b.finish()),
            Builder::Float8(b) => Arc::new(b.finish()),
            Builder::Dec128(b, p, s) => Arc::new(b.finish().with_precision_and_scale(*p, *s)?),
            Builder::Dec256(b, p, s) => Arc::new(b.finish().with_precision_and_scale(*p, *s)?),
            Builder::NumericText(b) | Builder::Jsonb(b) | Builder::Uuid(b) => Arc::new(b.finish()),
            Builder::Text(b) | Builder::Bpchar(b) => {
                Arc::new(utf8_column(b.finish()).map_err(Unfinished::NotUtf8)?)
            }
            Builder::Bytea(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
            Builder::Timestamp(b, tz) => Arc::new(b.finish().with_timezone_opt(tz.clone())),
        })
    }
}

/// Why a builder could not finish its column.
enum Unfinished {
    Arrow(arrow::error::ArrowError),
    /// The index in the batch of the first value that is not UTF-8.
    NotUtf8(usize),
}

impl From<arrow::error::ArrowError> for Unfinished {
    fn from(e: arrow::error::ArrowError) -> Self {
        Unfinished::Arrow(e)
    }
}

/// The text column of `values`, or the index of its first value that is not UTF-8. The check
/// runs once over the batch's whole buffer (and each value's start at a character boundary),
/// not once per value: per value, std's check of short strings was 4% of a PostgreSQL read.
fn utf8_column(values: BinaryArray) -> std::result::Result<StringArray, usize> {
    StringArray::try_from_binary(values.clone()).map_err(|_| {
        values
            .iter()
            .position(|v| v.is_some_and(|v| std::str::from_utf8(v).is_err()))
            .unwrap_or(0)
    })
}

/// Decodes `COPY ... (FORMAT binary)` rows into batches.
struct Decoder {
    schema: SchemaRef,
    reads: Vec<PgRead>,
    builders: Vec<Builder>,
    limits: BatchLimits,
    table: String,
    row: u64,
    /// The trailer was read.
    done: bool,
}

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";
/// The field count that ends a COPY stream.
const TRAILER: [u8; 2] = (-1i16).to_be_bytes();

/// What starts a run of COPY bytes.
#[derive(Debug, PartialEq, Eq)]
enum Extent {
    /// A whole row of that many bytes.
    Row(usize),
    /// The end of the stream.
    Trailer,
    /// The bytes end inside a row (or before its field count).
    Short,
    /// A row with that many fields, not the table's.
    Fields(i16),
}

fn row_extent(b: &[u8], ncols: usize) -> Extent {
    let (Some(&h0), Some(&h1)) = (b.first(), b.get(1)) else {
        return Extent::Short;
    };
    if [h0, h1] == TRAILER {
        return Extent::Trailer;
    }
    let n = i16::from_be_bytes([h0, h1]);
    if n as usize != ncols {
        return Extent::Fields(n);
    }
    let mut off = 2usize;
    for _ in 0..ncols {
        let Some(l) = b.get(off..off + 4) else {
            return Extent::Short;
        };
        let len = i32::from_be_bytes([l[0], l[1], l[2], l[3]]);
        off += 4 + len.max(0) as usize;
    }
    if off <= b.len() {
        Extent::Row(off)
    } else {
        Extent::Short
    }
}

impl Decoder {
    fn new(schema: SchemaRef, limits: BatchLimits, table: &str) -> Decoder {
        let reads: Vec<PgRead> = schema
            .fields()
            .iter()
            .map(|f| PgRead::of_field(f))
            .collect();
        let builders = reads
            .iter()
            .map(|r| Builder::new(*r, Self::capacity(&limits), 0))
            .collect();
        Decoder {
            schema,
            reads,
            builders,
            limits,
            table: table.to_string(),
            row: 0,
            done: false,
        }
    }

    fn broken(&self, what: impl std::fmt::Display) -> Error {
        Error::new(
            ErrorKind::Io,
            format!(
                "{}: row {}: the COPY stream {what}",
                self.table,
                self.row + 1
            ),
        )
    }

    fn read_header<R: BufRead>(&self, wire: &mut Wire<R>) -> Result<()> {
        let io =
            |e: std::io::Error| Error::io(format!("{}: reading the COPY stream", self.table), e);
        let head = wire
            .take(19)
            .map_err(io)?
            .ok_or_else(|| self.broken("ended before its header"))?;
        if &head[..11] != SIGNATURE {
            return Err(self.broken("has no PGCOPY signature"));
        }
        let ext = u32::from_be_bytes([head[15], head[16], head[17], head[18]]) as usize;
        wire.take(ext)
            .map_err(io)?
            .ok_or_else(|| self.broken("ended in its header"))?;
        Ok(())
    }

    /// The next batch, or `None` after the trailer.
    fn next_batch<R: BufRead>(&mut self, wire: &mut Wire<R>) -> Result<Option<RecordBatch>> {
        let io = |e: std::io::Error, t: &str| Error::io(format!("{t}: reading the COPY stream"), e);
        if self.done {
            return Ok(None);
        }
        let ncols = self.builders.len();
        let (mut rows, mut bytes) = (0usize, 0usize);
        loop {
            // PostgreSQL sends each row in a CopyData message of its own, which the reader
            // holds whole: decoded in place. Only a row split across reads (the first one
            // shares its message with the header) is gathered in the wire's buffer first.
            let chunk = wire.at_hand().map_err(|e| io(e, &self.table))?;
            match row_extent(chunk, ncols) {
                Extent::Row(n) => {
                    bytes += self.append_row(&chunk[2..n])?;
                    wire.consume(n);
                }
                Extent::Trailer => {
                    wire.consume(TRAILER.len());
                    self.done = true;
                    break;
                }
                Extent::Short => {
                    let empty = chunk.is_empty();
                    if !wire.more().map_err(|e| io(e, &self.table))? {
                        return Err(self.broken(if empty {
                            "ended without its trailer"
                        } else {
                            "ended inside a row"
                        }));
                    }
                    continue;
                }
                Extent::Fields(n) => {
                    return Err(self.broken(format!("has {n} fields where {ncols} were expected")))
                }
            }
            self.row += 1;
            rows += 1;
            if rows >= self.limits.rows || bytes >= self.limits.bytes {
                return self.flush(rows).map(Some);
            }
        }
        if rows == 0 {
            return Ok(None);
        }
        self.flush(rows).map(Some)
    }

    /// Appends the fields of one row (after its field count, lengths checked by
    /// [`row_extent`]); returns the bytes of its values.
    fn append_row(&mut self, mut fields: &[u8]) -> Result<usize> {
        let mut bytes = 0;
        for c in 0..self.builders.len() {
            let len = i32::from_be_bytes([fields[0], fields[1], fields[2], fields[3]]);
            fields = &fields[4..];
            if len < 0 {
                self.builders[c].append_null();
                continue;
            }
            let (v, rest) = fields.split_at(len as usize);
            fields = rest;
            bytes += v.len();
            if let Err(reason) = self.builders[c].append(v) {
                return Err(self.bad_value(c, self.row, reason));
            }
        }
        Ok(bytes)
    }

    /// A value of column `c` in row `row` (from 0) that its builder refused.
    fn bad_value(&self, c: usize, row: u64, reason: String) -> Error {
        let f = self.schema.field(c);
        let declared = crate::types::source_type(f).map(|(_, t)| t).unwrap_or("?");
        let hint = if matches!(self.builders[c], Builder::Dec128(..) | Builder::Dec256(..)) {
            "; add ?numeric=text to the source URL to read numerics as exact text"
        } else {
            ""
        };
        Error::invalid_data(format!(
            "{}: column \"{}\" ({declared}), row {}: {reason}{hint}",
            self.table,
            f.name(),
            row + 1
        ))
    }

    /// Rows a batch's builders are made for.
    fn capacity(limits: &BatchLimits) -> usize {
        limits.rows.min(1 << 16)
    }

    /// The batch of the rows appended so far. Each builder is then made again at full capacity
    /// (arrow's `finish` leaves it empty), text and binary ones for as many bytes as this batch
    /// held: growing them value by value again cost a tenth of a read in copies.
    fn flush(&mut self, rows: usize) -> Result<RecordBatch> {
        let cap = Self::capacity(&self.limits);
        let first_row = self.row - rows as u64;
        let mut columns = Vec::with_capacity(self.builders.len());
        for c in 0..self.builders.len() {
            let a = match self.builders[c].finish() {
                Ok(a) => a,
                Err(Unfinished::NotUtf8(i)) => {
                    let reason = "text that is not valid UTF-8".to_string();
                    return Err(self.bad_value(c, first_row + i as u64, reason));
                }
                Err(Unfinished::Arrow(e)) => {
                    return Err(Error::arrow(format!("{}: building a batch", self.table), e))
                }
            };
            let bytes = a.to_data().buffers().last().map_or(0, |b| b.len());
            self.builders[c] = Builder::new(self.reads[c], cap, bytes);
            columns.push(a);
        }
        RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|e| Error::arrow(format!("{}: building a batch", self.table), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A COPY binary stream of one nullable text column holding `values`, read in batches of
    /// `batch_rows`.
    fn decode_text(values: &[Option<&[u8]>], batch_rows: usize) -> Result<Vec<RecordBatch>> {
        let mut copy = SIGNATURE.to_vec();
        copy.extend_from_slice(&[0; 8]); // flags, header extension length
        for v in values {
            copy.extend_from_slice(&1i16.to_be_bytes());
            match v {
                Some(v) => {
                    copy.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    copy.extend_from_slice(v);
                }
                None => copy.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        copy.extend_from_slice(&TRAILER);
        let field = field_with_source(
            "t",
            arrow::datatypes::DataType::Utf8,
            true,
            "postgres",
            "text",
        );
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![field]));
        let limits = BatchLimits {
            rows: batch_rows,
            ..BatchLimits::default()
        };
        let mut decoder = Decoder::new(schema, limits, "t");
        let mut wire = Wire::new(std::io::BufReader::new(&copy[..]));
        decoder.read_header(&mut wire)?;
        let mut batches = Vec::new();
        while let Some(b) = decoder.next_batch(&mut wire)? {
            batches.push(b);
        }
        Ok(batches)
    }

    #[test]
    fn text_is_checked_as_utf8_per_value_though_once_per_batch() {
        let good: [Option<&[u8]>; 5] = [
            Some("é".as_bytes()),
            None,
            Some(b""),
            Some("🦀 e\u{301}".as_bytes()),
            Some(b"plain"),
        ];
        let batches = decode_text(&good, 2).unwrap();
        let got: Vec<Option<String>> = batches
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_string::<i32>()
                    .iter()
                    .map(|v| v.map(String::from))
            })
            .collect();
        let want: Vec<Option<String>> = good
            .iter()
            .map(|v| v.map(|v| String::from_utf8(v.to_vec()).unwrap()))
            .collect();
        assert_eq!(got, want);
        // "é" split across two values: the batch's buffer is valid UTF-8, its values are not.
        let split: [Option<&[u8]>; 4] = [Some(b"ok"), Some(b"a\xc3"), Some(b"\xa9b"), Some(b"ok")];
        let e = decode_text(&split, 10).unwrap_err().to_string();
        assert!(
            e.contains("column \"t\" (text), row 2: text that is not valid UTF-8"),
            "{e}"
        );
        // In the second batch of two rows: row 4 of the partition.
        let bad: [Option<&[u8]>; 5] = [Some(b"a"), Some(b"b"), Some(b"c"), Some(b"\xff"), None];
        let e = decode_text(&bad, 2).unwrap_err().to_string();
        assert!(e.contains("row 4: text that is not valid UTF-8"), "{e}");
    }

    #[test]
    fn finite_timestamps_and_dates_never_land_on_the_infinity_sentinels() {
        // The last microsecond before i64::MAX since 1970 is carried; i64::MAX itself, a legal
        // PostgreSQL timestamp, would be ferry's infinity and is refused, as is all after it.
        let max = temporal::TS_INFINITY - PG_EPOCH_MICROS;
        assert_eq!(unix_micros(max - 1), Some(temporal::TS_INFINITY - 1));
        assert_eq!(unix_micros(max), None);
        assert_eq!(unix_micros(max + 1), None);
        assert_eq!(unix_micros(i64::MAX - 1), None);
        assert_eq!(unix_micros(0), Some(PG_EPOCH_MICROS));
        // i64::MIN microseconds since 1970 is out of PostgreSQL's reach (it starts in 4713 BC).
        assert_eq!(
            unix_micros(i64::MIN + 1),
            Some(i64::MIN + 1 + PG_EPOCH_MICROS)
        );
        assert_eq!(unix_days(0), Some(PG_EPOCH_DAYS));
        assert_eq!(unix_days(i32::MAX - PG_EPOCH_DAYS), None);
        assert_eq!(unix_days(i32::MAX - PG_EPOCH_DAYS - 1), Some(i32::MAX - 1));
        assert_eq!(unix_days(i32::MAX - 1), None);
        assert_eq!(unix_days(i32::MIN + 1), Some(i32::MIN + 1 + PG_EPOCH_DAYS));

        let mut b = Builder::new(PgRead::Timestamp, 4, 0);
        assert_eq!(b.append(&(max - 1).to_be_bytes()), Ok(()));
        assert_eq!(b.append(&i64::MAX.to_be_bytes()), Ok(()));
        let e = b.append(&max.to_be_bytes()).unwrap_err();
        assert_eq!(
            e,
            "timestamp 294247-01-10 04:00:54.775807 has no Arrow value of its own: Arrow's \
             microseconds end at 294247-01-10 04:00:54.775807, which ferry holds for infinity, \
             so the last timestamp it carries is 294247-01-10 04:00:54.775806; read the column \
             as text (--query with \"column\"::text)"
        );
        let mut b = Builder::new(PgRead::TimestampTz, 4, 0);
        let e = b.append(&(max + 1).to_be_bytes()).unwrap_err();
        assert!(
            e.starts_with("timestamp 294247-01-10 04:00:54.775808+00 has no Arrow value"),
            "{e}"
        );
    }

    #[test]
    fn timestamps_and_dates_are_shown_as_postgres_prints_them() {
        let day = 86_400_000_000i64;
        assert_eq!(pg_timestamp_text(0, false), "2000-01-01 00:00:00");
        assert_eq!(pg_timestamp_text(-1, true), "1999-12-31 23:59:59.999999+00");
        assert_eq!(
            pg_timestamp_text(day + 500_000, false),
            "2000-01-02 00:00:00.5"
        );
        assert_eq!(
            pg_timestamp_text(-PG_EPOCH_MICROS, false),
            "1970-01-01 00:00:00"
        );
        // PostgreSQL's first and last timestamps.
        assert_eq!(
            pg_timestamp_text(-211_813_488_000_000_000, false),
            "4714-11-24 00:00:00 BC"
        );
        assert_eq!(
            pg_timestamp_text(9_223_371_331_199_999_999, true),
            "294276-12-31 23:59:59.999999+00"
        );
        // Year 0 is 1 BC; leap days.
        assert_eq!(pg_date_text(-730_120), "0001-12-31 BC");
        assert_eq!(pg_date_text(-730_119), "0001-01-01");
        assert_eq!(pg_date_text(59), "2000-02-29");
        assert_eq!(pg_date_text(2_145_031_948), "5874897-12-31");
        assert_eq!(pg_date_text(-2_451_545), "4714-11-24 BC");
    }

    #[test]
    fn row_extents_cover_whole_rows_only() {
        // Two fields: NULL, then 3 bytes.
        let row = [0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 3, b'a', b'b', b'c'];
        assert_eq!(row_extent(&row, 2), Extent::Row(row.len()));
        let mut two = row.to_vec();
        two.extend_from_slice(&row);
        assert_eq!(row_extent(&two, 2), Extent::Row(row.len()));
        for cut in 0..row.len() {
            assert_eq!(row_extent(&row[..cut], 2), Extent::Short, "cut at {cut}");
        }
        assert_eq!(row_extent(&row, 3), Extent::Fields(2));
        assert_eq!(row_extent(&TRAILER, 2), Extent::Trailer);
        // A row of a table without columns is two bytes too, but not the trailer.
        assert_eq!(row_extent(&[0, 0], 0), Extent::Row(2));
        // A length past what is at hand asks for more.
        assert_eq!(
            row_extent(&[0, 1, 0x7f, 0xff, 0xff, 0xff], 1),
            Extent::Short
        );
    }
}
