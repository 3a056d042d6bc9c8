//! What an ADBC driver reports, made into ferry's fields: the driver's own field metadata is
//! kept verbatim, the declared type is recorded where the driver says it (the PostgreSQL
//! driver's `POSTGRESQL:type` and `POSTGRESQL:typmod`, a DuckDB table's catalog), and the few
//! Arrow types ferry's sinks do not take are turned into exact equivalents: a PostgreSQL
//! `numeric` (sent as text) into a decimal of its declared precision, a UUID into its text, an
//! interval and a one-level array into PostgreSQL's text for them.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeBinaryArray, IntervalMonthDayNanoArray, StringArray,
    StringBuilder,
};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

use super::{META_SOURCE, META_SOURCE_TYPE};
use crate::error::{Error, Result};

/// The extension-name key of Arrow's field metadata.
const EXTENSION_NAME: &str = "ARROW:extension:name";
const EXTENSION_METADATA: &str = "ARROW:extension:metadata";
/// The PostgreSQL driver's keys.
const PG_TYPE: &str = "POSTGRESQL:type";
const PG_TYPMOD: &str = "POSTGRESQL:typmod";

/// How one column of a driver's batches becomes ferry's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Convert {
    /// As the driver sent it (cast to the planned type if a later batch differs).
    Keep,
    /// PostgreSQL `numeric` text into a decimal of the declared precision and scale.
    Decimal(DataType),
    /// PostgreSQL `numeric` text kept as text; `nan`/`inf` spelled as PostgreSQL spells them.
    NumericText,
    /// A 16-byte UUID into its canonical text.
    UuidText,
    /// An interval (months, days, nanoseconds) into PostgreSQL's interval text.
    IntervalText,
    /// A one-level list into PostgreSQL's array text (`{1,NULL,"a b"}`).
    ArrayText,
    /// PostgreSQL `char(n)` text without the trailing blanks PostgreSQL pads it with (as
    /// ferry's own PostgreSQL source reads it: the blanks are not significant there).
    Bpchar,
    /// A DuckDB date or timestamp: DuckDB's ±infinity as ferry's (see [`super::duckdb`]).
    DuckdbInfinities,
    /// A DuckDB `HUGEINT` (`unsigned: false`) or `UHUGEINT`, which DuckDB's driver sends as a
    /// `Decimal128(38, 0)` holding the integer's 128 bits (a `UHUGEINT` above 2^127 as a
    /// negative number, either past 38 digits), into a `Decimal256(39, 0)` of its value.
    HugeInt { unsigned: bool },
    /// A PostgreSQL date or timestamp from the PostgreSQL driver, which moves PostgreSQL's
    /// ±infinity (its largest and smallest values, counted from 2000-01-01) to 1970 with a
    /// wrapping addition: those two values are made ferry's ±infinity. No legal PostgreSQL
    /// date or timestamp is near either.
    PgDriverInfinities,
    /// A SQLite column from the SQLite driver (values in their storage classes), read by its
    /// declared type as ferry's own SQLite source reads it.
    Sqlite(super::SqliteRead),
}

/// A declared type found in a catalog: the type's text and whether the column is NOT NULL.
#[derive(Debug, Clone)]
pub struct Declared {
    pub dialect: &'static str,
    pub sql_type: String,
    pub not_null: bool,
}

/// The PostgreSQL type `format_type` prints for a type name and modifier, as ferry's own
/// PostgreSQL source records it.
pub fn pg_declared(typname: &str, typmod: Option<i32>) -> String {
    let m = typmod.filter(|m| *m >= 0);
    if let Some(elem) = typname.strip_prefix('_') {
        return format!("{}[]", pg_declared(elem, m));
    }
    match (typname, m) {
        ("numeric", Some(m)) => {
            let m = m - 4;
            format!("numeric({},{})", (m >> 16) & 0xffff, m & 0xffff)
        }
        ("varchar", Some(m)) => format!("character varying({})", m - 4),
        ("varchar", None) => "character varying".into(),
        ("bpchar", Some(m)) => format!("character({})", m - 4),
        ("bpchar", None) => "bpchar".into(),
        ("int2", _) => "smallint".into(),
        ("int4", _) => "integer".into(),
        ("int8", _) => "bigint".into(),
        ("float4", _) => "real".into(),
        ("float8", _) => "double precision".into(),
        ("bool", _) => "boolean".into(),
        ("timestamp", Some(p)) => format!("timestamp({p}) without time zone"),
        ("timestamp", None) => "timestamp without time zone".into(),
        ("timestamptz", Some(p)) => format!("timestamp({p}) with time zone"),
        ("timestamptz", None) => "timestamp with time zone".into(),
        ("time", Some(p)) => format!("time({p}) without time zone"),
        ("time", None) => "time without time zone".into(),
        ("timetz", Some(p)) => format!("time({p}) with time zone"),
        ("timetz", None) => "time with time zone".into(),
        ("bit", Some(n)) => format!("bit({n})"),
        ("varbit", Some(n)) => format!("bit varying({n})"),
        ("varbit", None) => "bit varying".into(),
        ("interval", m) => interval_declared(m),
        (other, _) => other.to_string(),
    }
}

/// `interval` as `format_type` prints it for a type modifier: the fields (a bit mask in the
/// upper half, `INTERVAL_FULL_RANGE` when all) and the precision (the lower half,
/// `INTERVAL_FULL_PRECISION` when none), as PostgreSQL's `intervaltypmodout`.
fn interval_declared(typmod: Option<i32>) -> String {
    const FULL_RANGE: i32 = 0x7fff;
    const FULL_PRECISION: i32 = 0xffff;
    let Some(m) = typmod else {
        return "interval".into();
    };
    let (range, precision) = ((m >> 16) & 0x7fff, m & 0xffff);
    // MONTH, YEAR, DAY, HOUR, MINUTE, SECOND are bits 1, 2, 3, 10, 11, 12 (datetime.h).
    let (month, year, day, hour, minute, second) =
        (1 << 1, 1 << 2, 1 << 3, 1 << 10, 1 << 11, 1 << 12);
    let fields = match range {
        FULL_RANGE => "",
        r if r == year => " year",
        r if r == month => " month",
        r if r == day => " day",
        r if r == hour => " hour",
        r if r == minute => " minute",
        r if r == second => " second",
        r if r == year | month => " year to month",
        r if r == day | hour => " day to hour",
        r if r == day | hour | minute => " day to minute",
        r if r == day | hour | minute | second => " day to second",
        r if r == hour | minute => " hour to minute",
        r if r == hour | minute | second => " hour to second",
        r if r == minute | second => " minute to second",
        _ => "",
    };
    match precision {
        FULL_PRECISION => format!("interval{fields}"),
        p => format!("interval{fields}({p})"),
    }
}

/// The fields ferry plans for a driver's schema, and how each column is converted. `declared`
/// holds types read from a catalog by column name (they win over what the driver reports).
pub fn plan_fields(
    schema: &Schema,
    declared: &HashMap<String, Declared>,
) -> Result<(SchemaRef, Vec<Convert>)> {
    let dialect = declared.values().next().map(|d| d.dialect);
    plan_fields_from(dialect, schema, declared)
}

/// [`plan_fields`] for a driver of a known `dialect` (`"duckdb"`, `"postgres"`, ...): a query's
/// columns have no catalog entry to tell the dialect, and DuckDB's dates and timestamps need
/// converting whatever they come from.
pub fn plan_fields_from(
    dialect: Option<&str>,
    schema: &Schema,
    declared: &HashMap<String, Declared>,
) -> Result<(SchemaRef, Vec<Convert>)> {
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut converts = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let (field, mut convert) = plan_field(f, declared.get(f.name()))?;
        if dialect == Some(super::duckdb::DIALECT)
            && convert == Convert::Keep
            && matches!(
                field.data_type(),
                DataType::Date32 | DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, _)
            )
        {
            convert = Convert::DuckdbInfinities;
        }
        fields.push(field);
        converts.push(convert);
    }
    Ok((Arc::new(Schema::new(fields)), converts))
}

fn plan_field(f: &Field, declared: Option<&Declared>) -> Result<(Field, Convert)> {
    let mut meta = f.metadata().clone();
    let ext = meta.remove(EXTENSION_NAME);
    let ext_meta = meta.remove(EXTENSION_METADATA).unwrap_or_default();
    let pg_type = meta.get(PG_TYPE).cloned();
    let typmod = meta.get(PG_TYPMOD).and_then(|m| m.parse::<i32>().ok());
    let mut nullable = f.is_nullable();
    // The declared type: a catalog's, else the PostgreSQL driver's.
    let (dialect, sql_type) = match (declared, &pg_type) {
        (Some(d), _) => {
            nullable = nullable && !d.not_null;
            (Some(d.dialect), Some(d.sql_type.clone()))
        }
        (None, Some(t)) => (Some("postgres"), Some(pg_declared(t, typmod))),
        (None, None) => (None, None),
    };
    let is_numeric = pg_type.as_deref() == Some("numeric")
        || (ext.as_deref() == Some("arrow.opaque") && ext_meta.contains("\"numeric\""));
    let pg_temporal = matches!(
        pg_type.as_deref(),
        Some("date" | "timestamp" | "timestamptz")
    );
    // A SQLite column whose declared type reads into another Arrow type than the driver's.
    let sqlite = match (dialect, &sql_type) {
        (Some("sqlite"), Some(t)) => {
            let read = super::sqlite_read(t);
            read.arrow_type()
                .filter(|a| a != f.data_type())
                .map(|a| (a, Convert::Sqlite(read)))
        }
        _ => None,
    };
    let (data_type, convert) = if let Some(planned) = sqlite {
        planned
    } else {
        match (f.data_type(), ext.as_deref()) {
            (
                DataType::Date32 | DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, _),
                _,
            ) if pg_temporal => (f.data_type().clone(), Convert::PgDriverInfinities),
            (DataType::Utf8 | DataType::LargeUtf8, _) if is_numeric => {
                match sql_type
                    .as_deref()
                    .and_then(|t| super::parse_declared("postgres", t))
                {
                    Some(super::SqlType::Decimal { precision, scale }) if precision <= 38 => {
                        let t = DataType::Decimal128(precision, scale);
                        (t.clone(), Convert::Decimal(t))
                    }
                    Some(super::SqlType::Decimal { precision, scale }) => {
                        let t = DataType::Decimal256(precision, scale);
                        (t.clone(), Convert::Decimal(t))
                    }
                    _ => (DataType::Utf8, Convert::NumericText),
                }
            }
            (DataType::Binary | DataType::LargeBinary, _)
                if pg_type.as_deref().is_some_and(|t| t != "bytea") =>
            {
                // The PostgreSQL driver sends a type it does not know (inet, ranges, ...) as its
                // raw binary wire form, which no target reads back as that type.
                return Err(Error::unsupported(format!(
                    "column \"{}\": the driver sends PostgreSQL type {} as raw binary; read it \
                 as text (--query 'SELECT ..., \"{}\"::text ...') or use a postgres:// URL",
                    f.name(),
                    sql_type.as_deref().unwrap_or("?"),
                    f.name()
                )));
            }
            (DataType::Utf8, _) if pg_type.as_deref() == Some("bpchar") => {
                (DataType::Utf8, Convert::Bpchar)
            }
            (DataType::Decimal128(38, 0), _)
                if dialect == Some(super::duckdb::DIALECT)
                    && matches!(sql_type.as_deref(), Some("HUGEINT" | "UHUGEINT")) =>
            {
                let unsigned = sql_type.as_deref() == Some("UHUGEINT");
                (DataType::Decimal256(39, 0), Convert::HugeInt { unsigned })
            }
            (DataType::FixedSizeBinary(16), Some("arrow.uuid")) => {
                (DataType::Utf8, Convert::UuidText)
            }
            // An enum's labels (DuckDB's ENUM): the text of each value, which every target takes.
            (DataType::Dictionary(_, v), _)
                if matches!(**v, DataType::Utf8 | DataType::LargeUtf8) =>
            {
                (DataType::Utf8, Convert::Keep)
            }
            (DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano), _) => {
                (DataType::Utf8, Convert::IntervalText)
            }
            (DataType::List(item) | DataType::LargeList(item), _)
                if !matches!(
                    item.data_type(),
                    DataType::List(_) | DataType::LargeList(_) | DataType::Struct(_)
                ) =>
            {
                (DataType::Utf8, Convert::ArrayText)
            }
            (other, _) => (other.clone(), Convert::Keep),
        }
    };
    let sql_type = match (&convert, sql_type) {
        (_, Some(t)) => Some(t),
        (Convert::UuidText, None) => Some("uuid".to_string()),
        (Convert::IntervalText, None) => Some("interval".to_string()),
        (_, None) => None,
    };
    if let Some(t) = sql_type {
        meta.insert(META_SOURCE_TYPE.to_string(), t);
        meta.insert(
            META_SOURCE.to_string(),
            dialect.unwrap_or("postgres").to_string(),
        );
    }
    Ok((
        Field::new(f.name(), data_type, nullable).with_metadata(meta),
        convert,
    ))
}

/// Converts one batch from the driver into the planned schema.
pub fn convert_batch(
    batch: &RecordBatch,
    schema: &SchemaRef,
    converts: &[Convert],
) -> Result<RecordBatch> {
    if batch.num_columns() != converts.len() {
        return Err(Error::invalid_data(format!(
            "the driver sent {} columns where the plan has {}",
            batch.num_columns(),
            converts.len()
        )));
    }
    let mut columns = Vec::with_capacity(converts.len());
    for ((col, convert), field) in batch.columns().iter().zip(converts).zip(schema.fields()) {
        let out = convert_column(col, convert, field.data_type())
            .map_err(|e| e.context(format!("column \"{}\"", field.name())))?;
        columns.push(out);
    }
    RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| Error::arrow("cannot assemble a batch from the driver", e))
}

fn strict() -> CastOptions<'static> {
    CastOptions {
        safe: false,
        ..Default::default()
    }
}

fn convert_column(col: &ArrayRef, convert: &Convert, target: &DataType) -> Result<ArrayRef> {
    let cast = |col: &ArrayRef, to: &DataType| -> Result<ArrayRef> {
        if col.data_type() == to {
            return Ok(col.clone());
        }
        cast_with_options(col, to, &strict()).map_err(|e| {
            Error::invalid_data(format!(
                "the driver sent {} where {to} was planned, and it does not convert exactly: {e}",
                col.data_type()
            ))
        })
    };
    Ok(match convert {
        Convert::Keep => cast(col, target)?,
        Convert::DuckdbInfinities => super::duckdb::infinities_from_duckdb(&cast(col, target)?),
        Convert::Sqlite(read) => {
            crate::source::sqlite::decode_stored(*read, col).map_err(|(row, why)| {
                Error::invalid_data(format!(
                    "row {} of the driver's batch: {why} does not fit the column's declared type",
                    row + 1
                ))
            })?
        }
        Convert::PgDriverInfinities => {
            use super::temporal;
            use arrow::array::{Date32Array, TimestampMicrosecondArray};
            use arrow::datatypes::{Date32Type, TimestampMicrosecondType};
            let col = cast(col, target)?;
            match target {
                DataType::Date32 => {
                    let (inf, neg) = (
                        i32::MAX.wrapping_add(temporal::PG_EPOCH_DAYS),
                        i32::MIN.wrapping_add(temporal::PG_EPOCH_DAYS),
                    );
                    let a = col.as_primitive::<Date32Type>();
                    let out: Date32Array = a.unary(|d| match d {
                        d if d == inf => temporal::DATE_INFINITY,
                        d if d == neg => temporal::DATE_NEG_INFINITY,
                        d => d,
                    });
                    Arc::new(out)
                }
                _ => {
                    let (inf, neg) = (
                        i64::MAX.wrapping_add(temporal::PG_EPOCH_MICROS),
                        i64::MIN.wrapping_add(temporal::PG_EPOCH_MICROS),
                    );
                    let a = col.as_primitive::<TimestampMicrosecondType>();
                    let out: TimestampMicrosecondArray = a.unary(|t| match t {
                        t if t == inf => temporal::TS_INFINITY,
                        t if t == neg => temporal::TS_NEG_INFINITY,
                        t => t,
                    });
                    Arc::new(out.with_data_type(target.clone()))
                }
            }
        }
        Convert::HugeInt { unsigned } => {
            use arrow::array::Decimal256Array;
            use arrow::datatypes::{i256, Decimal128Type};
            let bits = col.as_primitive_opt::<Decimal128Type>().ok_or_else(|| {
                Error::invalid_data(format!(
                    "the driver sent {} where a 128-bit integer was planned",
                    col.data_type()
                ))
            })?;
            let value = |v: i128| match unsigned {
                true => i256::from_parts(v as u128, 0),
                false => i256::from_i128(v),
            };
            let out: Decimal256Array = bits.iter().map(|v| v.map(value)).collect();
            Arc::new(
                out.with_precision_and_scale(39, 0)
                    .map_err(|e| Error::arrow("a 128-bit integer", e))?,
            )
        }
        Convert::Decimal(t) => {
            let text = cast(col, &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            if let Some(bad) = text.iter().flatten().find(|v| {
                !v.bytes()
                    .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
            }) {
                return Err(Error::invalid_data(format!(
                    "numeric value '{bad}' has no exact {t}; read the column as text \
                     (--query with ::text)"
                )));
            }
            cast(&(Arc::new(text.clone()) as ArrayRef), t)?
        }
        Convert::NumericText => {
            let text = cast(col, &DataType::Utf8)?;
            let out: StringArray = text
                .as_string::<i32>()
                .iter()
                .map(|v| {
                    v.map(|v| match v {
                        "nan" | "NaN" => "NaN",
                        "inf" | "Infinity" | "+inf" => "Infinity",
                        "-inf" | "-Infinity" => "-Infinity",
                        other => other,
                    })
                })
                .collect();
            Arc::new(out)
        }
        Convert::UuidText => {
            let bin: &FixedSizeBinaryArray = col.as_fixed_size_binary();
            let mut b = StringBuilder::with_capacity(bin.len(), bin.len() * 36);
            for v in bin.iter() {
                match v {
                    Some(u) => {
                        // FixedSizeBinary(16), as the plan requires for this conversion.
                        let u: &[u8; 16] = u
                            .try_into()
                            .map_err(|_| Error::internal("a uuid of other than 16 bytes"))?;
                        b.append_value(super::uuid_text(u));
                    }
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        Convert::IntervalText => {
            let iv: &IntervalMonthDayNanoArray = col.as_primitive();
            let mut b = StringBuilder::with_capacity(iv.len(), iv.len() * 32);
            for v in iv.iter() {
                match v {
                    Some(v) => b.append_value(interval_text(v.months, v.days, v.nanoseconds)),
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        Convert::ArrayText => array_text(col)?,
        Convert::Bpchar => {
            let text = cast(col, &DataType::Utf8)?;
            let out: StringArray = text
                .as_string::<i32>()
                .iter()
                .map(|v| v.map(|v| v.trim_end_matches(' ')))
                .collect();
            Arc::new(out)
        }
    })
}

/// PostgreSQL's interval input for months, days and nanoseconds, exact to the nanosecond.
pub fn interval_text(months: i32, days: i32, nanos: i64) -> String {
    let micros = nanos / 1000;
    let rest = (nanos % 1000).abs();
    if rest == 0 {
        format!("{months} mons {days} days {micros} microseconds")
    } else {
        let sign = if nanos < 0 && micros == 0 { "-" } else { "" };
        format!("{months} mons {days} days {sign}{micros}.{rest:03} microseconds")
    }
}

/// A list column as PostgreSQL array text: `{1,2,NULL}`, strings quoted and escaped.
fn array_text(col: &ArrayRef) -> Result<ArrayRef> {
    let list: Vec<Option<ArrayRef>> = match col.data_type() {
        DataType::List(_) => col.as_list::<i32>().iter().collect(),
        DataType::LargeList(_) => col.as_list::<i64>().iter().collect(),
        other => {
            return Err(Error::unsupported(format!(
                "Arrow type {other} has no array text in ferry"
            )))
        }
    };
    let opts = FormatOptions::default().with_null("NULL");
    let mut b = StringBuilder::new();
    for item in list {
        let Some(values) = item else {
            b.append_null();
            continue;
        };
        let quote = matches!(
            values.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        );
        let fmt = ArrayFormatter::try_new(values.as_ref(), &opts)
            .map_err(|e| Error::arrow("cannot format an array element", e))?;
        let mut s = String::from("{");
        for i in 0..values.len() {
            if i > 0 {
                s.push(',');
            }
            if values.is_null(i) {
                s.push_str("NULL");
            } else if quote {
                s.push('"');
                for ch in fmt.value(i).to_string().chars() {
                    if ch == '"' || ch == '\\' {
                        s.push('\\');
                    }
                    s.push(ch);
                }
                s.push('"');
            } else {
                let _ = write!(s, "{}", fmt.value(i));
            }
        }
        s.push('}');
        b.append_value(s);
    }
    Ok(Arc::new(b.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::ListArray;
    use arrow::datatypes::{Int32Type, IntervalMonthDayNano};

    #[test]
    fn pg_declared_types_from_typmod() {
        assert_eq!(pg_declared("numeric", Some(1966099)), "numeric(30,15)");
        assert_eq!(pg_declared("numeric", Some(-1)), "numeric");
        assert_eq!(pg_declared("varchar", Some(16)), "character varying(12)");
        assert_eq!(pg_declared("bpchar", Some(7)), "character(3)");
        assert_eq!(pg_declared("_int4", Some(-1)), "integer[]");
        assert_eq!(pg_declared("int8", None), "bigint");
        // As format_type prints them (typmods read from a PostgreSQL 16 catalog).
        for (typname, typmod, spelling) in [
            ("interval", 458751, "interval year to month"),
            ("interval", 470286339, "interval day to second(3)"),
            ("interval", 2147418114, "interval(2)"),
            ("interval", 268435458, "interval second(2)"),
            ("interval", -1, "interval"),
            ("timetz", 6, "time(6) with time zone"),
            ("timetz", -1, "time with time zone"),
            ("timestamptz", 6, "timestamp(6) with time zone"),
            ("bit", 3, "bit(3)"),
            ("varbit", 5, "bit varying(5)"),
            ("varbit", -1, "bit varying"),
            ("bpchar", -1, "bpchar"),
            ("_interval", 470286339, "interval day to second(3)[]"),
        ] {
            assert_eq!(
                pg_declared(typname, Some(typmod)),
                spelling,
                "{typname} {typmod}"
            );
        }
    }

    fn pg_field(name: &str, t: DataType, pg: &str, typmod: i32) -> Field {
        Field::new(name, t, true).with_metadata(HashMap::from([
            (PG_TYPE.to_string(), pg.to_string()),
            (PG_TYPMOD.to_string(), typmod.to_string()),
        ]))
    }

    #[test]
    fn numeric_text_becomes_exact_decimal_or_stays_text() {
        let schema = Schema::new(vec![
            pg_field("n", DataType::Utf8, "numeric", 1966099),
            pg_field("u", DataType::Utf8, "numeric", -1),
        ]);
        let (planned, converts) = plan_fields(&schema, &HashMap::new()).unwrap();
        assert_eq!(planned.field(0).data_type(), &DataType::Decimal128(30, 15));
        assert_eq!(
            planned.field(0).metadata().get(META_SOURCE_TYPE).unwrap(),
            "numeric(30,15)"
        );
        assert_eq!(converts[1], Convert::NumericText);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec![
                    Some("123456789012345.123456789012345"),
                    None,
                ])),
                Arc::new(StringArray::from(vec![Some("nan"), Some("-inf")])),
            ],
        )
        .unwrap();
        let out = convert_batch(&batch, &planned, &converts).unwrap();
        let d = out
            .column(0)
            .as_primitive::<arrow::datatypes::Decimal128Type>();
        assert_eq!(d.value(0), 123456789012345123456789012345i128);
        assert!(d.is_null(1));
        let t = out.column(1).as_string::<i32>();
        assert_eq!((t.value(0), t.value(1)), ("NaN", "-Infinity"));
    }

    #[test]
    fn uuid_interval_and_arrays_become_postgres_text() {
        let uuid = Field::new("x", DataType::FixedSizeBinary(16), true).with_metadata(
            HashMap::from([(EXTENSION_NAME.to_string(), "arrow.uuid".to_string())]),
        );
        let iv = Field::new(
            "i",
            DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano),
            true,
        );
        let list = Field::new(
            "a",
            DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
            true,
        );
        let schema = Arc::new(Schema::new(vec![uuid, iv, list]));
        let (planned, converts) = plan_fields(&schema, &HashMap::new()).unwrap();
        let bytes: Vec<u8> = (0..16).collect();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(FixedSizeBinaryArray::try_from_iter(vec![bytes].into_iter()).unwrap()),
                Arc::new(IntervalMonthDayNanoArray::from(vec![
                    IntervalMonthDayNano::new(-1, 2, -3_500_000),
                ])),
                Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
                    Some(vec![Some(1), None, Some(-3)]),
                ])),
            ],
        )
        .unwrap();
        let out = convert_batch(&batch, &planned, &converts).unwrap();
        assert_eq!(
            out.column(0).as_string::<i32>().value(0),
            "00010203-0405-0607-0809-0a0b0c0d0e0f"
        );
        assert_eq!(
            out.column(1).as_string::<i32>().value(0),
            "-1 mons 2 days -3500 microseconds"
        );
        assert_eq!(out.column(2).as_string::<i32>().value(0), "{1,NULL,-3}");
        assert_eq!(
            planned.field(0).metadata().get(META_SOURCE_TYPE).unwrap(),
            "uuid"
        );
    }
}
