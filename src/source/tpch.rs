//! TPC-H source: `tpch://?sf=N` generates the eight TPC-H tables in memory with the
//! `tpchgen-arrow` generator (the one behind `tpchgen-cli`), no files in between. Each table is
//! split into the generator's parts (part `i` of `n` yields exactly the rows a whole run yields
//! at those positions), so partitions are generated in parallel and streamed batch by batch:
//! memory does not grow with the scale factor.
//!
//! The schema carries the specification's declared types (clause 1.4) in the field metadata,
//! spelt as `data/tpch-sqlite.sql` spells them: `DECIMAL(15,2)`, `CHAR(n)`, `VARCHAR(n)`, `DATE`,
//! `INTEGER`, every column NOT NULL. Identifier columns (keys) are `INTEGER` (Arrow `Int32`)
//! while the largest key of the scale factor fits 32 bits, which holds up to SF 357, and
//! `BIGINT` (`Int64`) above, as the specification asks of an identifier ("able to hold any key
//! value generated for that column"). Primary and foreign keys (clause 1.4.2) are given by
//! [`Source::keys`] for `--with-keys`.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::util::display::FormatOptions;
use tpchgen::dates::GenerateUtils;
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow,
    RecordBatchIterator, RegionArrow, SupplierArrow,
};

use super::{
    BatchLimits, BatchStream, ForeignKey, Partition, PartitionSpec, Source, TableKeys, TablePlan,
    TableRef,
};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::types::field_with_source;

/// The dialect recorded in `ferry.source`: the TPC-H specification's column types, in the
/// standard SQL spelling of `data/tpch-sqlite.sql`.
pub const DIALECT: &str = "tpch";

/// The tables, in the order of the specification (and of `data/tpch-sqlite.sql`'s loads).
pub const TABLES: [&str; 8] = [
    "region", "nation", "part", "supplier", "partsupp", "customer", "orders", "lineitem",
];

/// The largest scale factor whose keys all fit a 32-bit `INTEGER`: the largest order key,
/// `make_order_key(1,500,000 * SF)`, stays at or below `i32::MAX` up to here.
pub const MAX_SF_32_BIT_KEYS: f64 = 357.0;

/// A column's declared TPC-H type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decl {
    /// An identifier (clause 1.3.1): `INTEGER`, or `BIGINT` when the keys need 64 bits.
    Key,
    Integer,
    /// `DECIMAL(15,2)`.
    Money,
    Date,
    Char(u32),
    Varchar(u32),
}

use Decl::{Char, Date, Integer, Key, Money, Varchar};

/// Every table's columns with their declared types, as in `data/tpch-sqlite.sql`.
const COLUMNS: [&[(&str, Decl)]; 8] = [
    &[
        ("r_regionkey", Key),
        ("r_name", Char(25)),
        ("r_comment", Varchar(152)),
    ],
    &[
        ("n_nationkey", Key),
        ("n_name", Char(25)),
        ("n_regionkey", Key),
        ("n_comment", Varchar(152)),
    ],
    &[
        ("p_partkey", Key),
        ("p_name", Varchar(55)),
        ("p_mfgr", Char(25)),
        ("p_brand", Char(10)),
        ("p_type", Varchar(25)),
        ("p_size", Integer),
        ("p_container", Char(10)),
        ("p_retailprice", Money),
        ("p_comment", Varchar(23)),
    ],
    &[
        ("s_suppkey", Key),
        ("s_name", Char(25)),
        ("s_address", Varchar(40)),
        ("s_nationkey", Key),
        ("s_phone", Char(15)),
        ("s_acctbal", Money),
        ("s_comment", Varchar(101)),
    ],
    &[
        ("ps_partkey", Key),
        ("ps_suppkey", Key),
        ("ps_availqty", Integer),
        ("ps_supplycost", Money),
        ("ps_comment", Varchar(199)),
    ],
    &[
        ("c_custkey", Key),
        ("c_name", Varchar(25)),
        ("c_address", Varchar(40)),
        ("c_nationkey", Key),
        ("c_phone", Char(15)),
        ("c_acctbal", Money),
        ("c_mktsegment", Char(10)),
        ("c_comment", Varchar(117)),
    ],
    &[
        ("o_orderkey", Key),
        ("o_custkey", Key),
        ("o_orderstatus", Char(1)),
        ("o_totalprice", Money),
        ("o_orderdate", Date),
        ("o_orderpriority", Char(15)),
        ("o_clerk", Char(15)),
        ("o_shippriority", Integer),
        ("o_comment", Varchar(79)),
    ],
    &[
        ("l_orderkey", Key),
        ("l_partkey", Key),
        ("l_suppkey", Key),
        ("l_linenumber", Integer),
        ("l_quantity", Money),
        ("l_extendedprice", Money),
        ("l_discount", Money),
        ("l_tax", Money),
        ("l_returnflag", Char(1)),
        ("l_linestatus", Char(1)),
        ("l_shipdate", Date),
        ("l_commitdate", Date),
        ("l_receiptdate", Date),
        ("l_shipinstruct", Char(25)),
        ("l_shipmode", Char(10)),
        ("l_comment", Varchar(44)),
    ],
];

/// Primary keys (clause 1.4.2.2), by table.
const PRIMARY_KEYS: [&[&str]; 8] = [
    &["r_regionkey"],
    &["n_nationkey"],
    &["p_partkey"],
    &["s_suppkey"],
    &["ps_partkey", "ps_suppkey"],
    &["c_custkey"],
    &["o_orderkey"],
    &["l_orderkey", "l_linenumber"],
];

/// Foreign keys (clause 1.4.2.3): (table, columns, referenced table, referenced columns).
const FOREIGN_KEYS: &[(&str, &[&str], &str, &[&str])] = &[
    ("nation", &["n_regionkey"], "region", &["r_regionkey"]),
    ("supplier", &["s_nationkey"], "nation", &["n_nationkey"]),
    ("partsupp", &["ps_partkey"], "part", &["p_partkey"]),
    ("partsupp", &["ps_suppkey"], "supplier", &["s_suppkey"]),
    ("customer", &["c_nationkey"], "nation", &["n_nationkey"]),
    ("orders", &["o_custkey"], "customer", &["c_custkey"]),
    ("lineitem", &["l_orderkey"], "orders", &["o_orderkey"]),
    ("lineitem", &["l_partkey"], "part", &["p_partkey"]),
    ("lineitem", &["l_suppkey"], "supplier", &["s_suppkey"]),
    (
        "lineitem",
        &["l_partkey", "l_suppkey"],
        "partsupp",
        &["ps_partkey", "ps_suppkey"],
    ),
];

/// Generates TPC-H tables.
pub struct TpchSource {
    name: String,
    scale_factor: f64,
    partition_rows: u64,
    limits: BatchLimits,
    /// Keys need 64 bits at this scale factor.
    wide_keys: bool,
}

impl TpchSource {
    /// Rows per partition unless `?partition_rows=N` says otherwise.
    pub const DEFAULT_PARTITION_ROWS: u64 = 500_000;

    pub fn try_new(endpoint: &Endpoint, limits: BatchLimits) -> Result<Self> {
        endpoint.check_options(&["sf", "partition_rows"])?;
        let name = endpoint.to_string();
        if !endpoint.path.as_os_str().is_empty() {
            return Err(Error::invalid_args(format!(
                "{name}: a tpch URL has no path; write the scale factor as tpch://?sf=N"
            )));
        }
        let scale_factor = match endpoint.option("sf") {
            None => 1.0,
            Some(s) => match s.parse::<f64>() {
                Ok(f) if f.is_finite() && f > 0.0 && f <= 100_000.0 => f,
                _ => {
                    return Err(Error::invalid_args(format!(
                        "{name}: sf={s} is not a scale factor; give a number above 0 and at \
                         most 100000, such as sf=0.01 or sf=10"
                    )))
                }
            },
        };
        let partition_rows = match endpoint.option("partition_rows") {
            None => Self::DEFAULT_PARTITION_ROWS,
            Some(s) => s.parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(|| {
                Error::invalid_args(format!(
                    "{name}: partition_rows={s} is not a positive number of rows"
                ))
            })?,
        };
        let largest_key =
            OrderGenerator::make_order_key(OrderGenerator::calculate_row_count(scale_factor, 1, 1));
        Ok(TpchSource {
            name,
            scale_factor,
            partition_rows,
            limits,
            wide_keys: largest_key > i32::MAX as i64,
        })
    }

    fn table_index(&self, table: &TableRef) -> Result<usize> {
        let name = match table {
            TableRef::Table(n) => n,
            TableRef::Query(_) => {
                return Err(Error::unsupported(format!(
                    "{}: the TPC-H generator has no SQL; pick tables with --table",
                    self.name
                )))
            }
        };
        TABLES.iter().position(|t| t == name).ok_or_else(|| {
            Error::not_found(format!(
                "{}: table \"{name}\" not found (tables: {})",
                self.name,
                TABLES.join(", ")
            ))
        })
    }

    /// The table's schema: the generator's columns with the declared types in the metadata.
    fn schema(&self, table: usize) -> SchemaRef {
        let fields: Vec<Field> = COLUMNS[table]
            .iter()
            .map(|&(name, decl)| {
                let (data_type, declared) = match decl {
                    Key if self.wide_keys => (DataType::Int64, "BIGINT".to_string()),
                    Key | Integer => (DataType::Int32, "INTEGER".to_string()),
                    Money => (DataType::Decimal128(15, 2), "DECIMAL(15,2)".to_string()),
                    Date => (DataType::Date32, "DATE".to_string()),
                    Char(n) => (DataType::Utf8, format!("CHAR({n})")),
                    Varchar(n) => (DataType::Utf8, format!("VARCHAR({n})")),
                };
                field_with_source(name, data_type, false, DIALECT, &declared)
            })
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// Rows the generator's driving table has (`orders` for `lineitem`, `part` for
    /// `partsupp`), and the table's rows per driving row, on average.
    fn driving_rows(&self, table: usize) -> (i64, u64) {
        let sf = self.scale_factor;
        match TABLES[table] {
            "region" | "nation" => (1, 1),
            "part" => (PartGenerator::calculate_row_count(sf, 1, 1), 1),
            "supplier" => (SupplierGenerator::calculate_row_count(sf, 1, 1), 1),
            "partsupp" => (PartSuppGenerator::calculate_row_count(sf, 1, 1), 4),
            "customer" => (CustomerGenerator::calculate_row_count(sf, 1, 1), 1),
            "orders" => (OrderGenerator::calculate_row_count(sf, 1, 1), 1),
            _ => (OrderGenerator::calculate_row_count(sf, 1, 1), 4),
        }
    }

    /// The rows of part `part` (1-based) of `parts`, computed without generating them.
    fn part_rows(&self, table: usize, part: i32, parts: i32) -> u64 {
        let sf = self.scale_factor;
        let rows = match TABLES[table] {
            "region" => 5,
            "nation" => 25,
            "part" => PartGenerator::calculate_row_count(sf, part, parts),
            "supplier" => SupplierGenerator::calculate_row_count(sf, part, parts),
            // Four suppliers for every part.
            "partsupp" => 4 * PartSuppGenerator::calculate_row_count(sf, part, parts),
            "customer" => CustomerGenerator::calculate_row_count(sf, part, parts),
            "orders" => OrderGenerator::calculate_row_count(sf, part, parts),
            _ => lineitem_rows(sf, part, parts),
        };
        rows.max(0) as u64
    }
}

/// Line items of orders part `part` of `parts`: the sum of each order's line count, drawn by the
/// same random stream the generator draws it from (one draw per order, not a whole row).
fn lineitem_rows(sf: f64, part: i32, parts: i32) -> i64 {
    let base = OrderGenerator::SCALE_BASE;
    let start = GenerateUtils::calculate_start_index(base, sf, part, parts);
    let orders = GenerateUtils::calculate_row_count(base, sf, part, parts);
    let mut line_count = OrderGenerator::create_line_count_random();
    line_count.advance_rows(start);
    let mut rows = 0i64;
    for _ in 0..orders {
        rows += line_count.next_value() as i64;
        line_count.row_finished();
    }
    rows
}

/// Strings leave the generator as `Utf8View` and keys as `Int64`; ferry's schema has `Utf8`
/// (what every sink reads) and, below SF 357, `Int32` keys. Casts are checked, never lossy.
const STRICT: CastOptions<'static> = CastOptions {
    safe: false,
    format_options: FormatOptions::new(),
};

fn to_schema(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                return Ok(column.clone());
            }
            cast_with_options(column, field.data_type(), &STRICT).map_err(|e| {
                Error::arrow(
                    format!(
                        "column \"{}\": cannot convert the generator's {} to {}",
                        field.name(),
                        column.data_type(),
                        field.data_type()
                    ),
                    e,
                )
            })
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| Error::arrow("cannot build a batch of the table's schema", e))
}

/// The generator of part `part` of `parts` of a table, as Arrow batches of `rows` rows.
fn generator(
    table: &str,
    sf: f64,
    part: i32,
    parts: i32,
    rows: usize,
) -> Box<dyn RecordBatchIterator> {
    match table {
        "region" => {
            Box::new(RegionArrow::new(RegionGenerator::new(sf, part, parts)).with_batch_size(rows))
        }
        "nation" => {
            Box::new(NationArrow::new(NationGenerator::new(sf, part, parts)).with_batch_size(rows))
        }
        "part" => {
            Box::new(PartArrow::new(PartGenerator::new(sf, part, parts)).with_batch_size(rows))
        }
        "supplier" => Box::new(
            SupplierArrow::new(SupplierGenerator::new(sf, part, parts)).with_batch_size(rows),
        ),
        "partsupp" => Box::new(
            PartSuppArrow::new(PartSuppGenerator::new(sf, part, parts)).with_batch_size(rows),
        ),
        "customer" => Box::new(
            CustomerArrow::new(CustomerGenerator::new(sf, part, parts)).with_batch_size(rows),
        ),
        "orders" => {
            Box::new(OrderArrow::new(OrderGenerator::new(sf, part, parts)).with_batch_size(rows))
        }
        _ => Box::new(
            LineItemArrow::new(LineItemGenerator::new(sf, part, parts)).with_batch_size(rows),
        ),
    }
}

impl Source for TpchSource {
    fn tables(&self) -> Result<Vec<String>> {
        Ok(TABLES.iter().map(|t| t.to_string()).collect())
    }

    fn plan(&self, table: &TableRef) -> Result<TablePlan> {
        let index = self.table_index(table)?;
        let (driving, per_row) = self.driving_rows(index);
        // Parts split the driving table, so there can be no more parts than its rows.
        let wanted = (driving as u64 * per_row).div_ceil(self.partition_rows);
        let parts = wanted.clamp(1, driving.max(1) as u64).min(i32::MAX as u64) as i32;
        let mut rows = 0u64;
        let partitions = (1..=parts)
            .map(|part| {
                let n = self.part_rows(index, part, parts);
                rows += n;
                Partition {
                    index: part as usize - 1,
                    label: format!("part {part} of {parts} ({n} rows)"),
                    spec: PartitionSpec::Generated { part, parts },
                }
            })
            .collect();
        Ok(TablePlan {
            name: TABLES[index].to_string(),
            schema: self.schema(index),
            partitions,
            rows: Some(rows),
            lossy: Default::default(),
            filter: None,
        })
    }

    fn open(&self, plan: &TablePlan, partition: &Partition) -> Result<BatchStream> {
        let (part, parts) = match partition.spec {
            PartitionSpec::Generated { part, parts } => (part, parts),
            _ => return Err(Error::internal("a TPC-H partition is a generator part")),
        };
        let ctx = format!(
            "{}: table \"{}\", {}",
            self.name, plan.name, partition.label
        );
        let batches = generator(
            &plan.name,
            self.scale_factor,
            part,
            parts,
            self.limits.rows.max(1),
        );
        if batches.schema().fields().len() != plan.schema.fields().len() {
            return Err(Error::internal(format!(
                "{ctx}: the generator's columns differ from the table's"
            )));
        }
        let schema = plan.schema.clone();
        Ok(Box::new(batches.map(move |batch| {
            to_schema(batch, &schema).map_err(|e| e.context(ctx.clone()))
        })))
    }

    fn keys(&self, _table: &TableRef, plan: &TablePlan) -> Result<TableKeys> {
        let index = TABLES
            .iter()
            .position(|t| *t == plan.name)
            .ok_or_else(|| Error::internal(format!("no TPC-H table \"{}\"", plan.name)))?;
        let strings = |s: &[&str]| s.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        Ok(TableKeys {
            primary_key: strings(PRIMARY_KEYS[index]),
            foreign_keys: FOREIGN_KEYS
                .iter()
                .filter(|(t, ..)| *t == plan.name)
                .map(|&(_, columns, table, referenced)| ForeignKey {
                    columns: strings(columns),
                    table: table.to_string(),
                    referenced: strings(referenced),
                    ..Default::default()
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(url: &str) -> TpchSource {
        TpchSource::try_new(&url.parse().unwrap(), BatchLimits::default()).unwrap()
    }

    #[test]
    fn columns_are_the_generators_in_its_order() {
        let s = source("tpch://?sf=0.01");
        for (i, t) in TABLES.iter().enumerate() {
            let generated = generator(t, 0.01, 1, 1, 10).schema().clone();
            let names: Vec<&String> = generated.fields().iter().map(|f| f.name()).collect();
            let schema = s.schema(i);
            let ours: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
            assert_eq!(names, ours, "{t}");
        }
    }

    #[test]
    fn keys_widen_past_sf_357() {
        let key = |url: &str| {
            let f = source(url).schema(7).field(0).clone();
            (
                f.data_type().clone(),
                f.metadata()["ferry.source_type"].clone(),
            )
        };
        assert_eq!(key("tpch://?sf=357"), (DataType::Int32, "INTEGER".into()));
        assert_eq!(key("tpch://?sf=358"), (DataType::Int64, "BIGINT".into()));
        assert!(
            OrderGenerator::make_order_key(OrderGenerator::calculate_row_count(
                MAX_SF_32_BIT_KEYS,
                1,
                1
            )) <= i32::MAX as i64
        );
    }

    #[test]
    fn counted_rows_are_the_generated_rows_in_every_part() {
        let s = source("tpch://?sf=0.01&partition_rows=7000");
        for (i, t) in TABLES.iter().enumerate() {
            let plan = s.plan(&TableRef::Table(t.to_string())).unwrap();
            let mut total = 0u64;
            for p in &plan.partitions {
                let generated: usize = s
                    .open(&plan, p)
                    .unwrap()
                    .map(|b| b.unwrap().num_rows())
                    .sum();
                let PartitionSpec::Generated { part, parts } = p.spec else {
                    panic!("{t}: {:?}", p.spec)
                };
                assert_eq!(
                    generated as u64,
                    s.part_rows(i, part, parts),
                    "{t} {}",
                    p.label
                );
                total += generated as u64;
            }
            assert_eq!(Some(total), plan.rows, "{t}");
        }
        let lineitem = s.plan(&TableRef::Table("lineitem".into())).unwrap();
        assert_eq!(
            lineitem.partitions.len(),
            9,
            "60,175 rows in parts of 7,000"
        );
    }

    #[test]
    fn bad_urls_say_what_to_write() {
        let err = |url: &str| {
            TpchSource::try_new(&url.parse().unwrap(), BatchLimits::default())
                .err()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            err("tpch://?sf=-1"),
            "tpch://?sf=-1: sf=-1 is not a scale factor; give a number above 0 and at most \
             100000, such as sf=0.01 or sf=10"
        );
        assert_eq!(
            err("tpch://?scale=1"),
            "tpch://?scale=1: unknown option 'scale' (known: sf, partition_rows)"
        );
        assert_eq!(
            err("tpch://db?sf=1"),
            "tpch://db?sf=1: a tpch URL has no path; write the scale factor as tpch://?sf=N"
        );
    }
}
