//! DuckDB's side of the type mapping (through DuckDB's ADBC entry point): the column types
//! ferry creates, and DuckDB's ±infinity dates and timestamps, which are not ferry's.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Field, TimeUnit, TimestampMicrosecondType,
};

use super::{own_declared, sql_type_of, temporal, SqlType};
use crate::error::Result;

/// The dialect name a DuckDB source records.
pub const DIALECT: &str = "duckdb";

/// Whether a DuckDB column of this declared type is read as DuckDB's own text of it: its
/// driver sends a TIMETZ without its offset, a BIT as DuckDB's internal bytes, a BIGNUM
/// (VARINT) as bytes too; and lists, arrays, structs, maps and unions have no type in the other
/// targets. Their text is exact, and a DuckDB target casts it back to the declared type.
pub fn read_as_text(declared: &str) -> bool {
    matches!(
        declared,
        "TIME WITH TIME ZONE" | "TIMETZ" | "BIT" | "BITSTRING" | "VARINT" | "BIGNUM"
    ) || declared.ends_with(']')
        || ["STRUCT(", "MAP(", "UNION("]
            .iter()
            .any(|p| declared.starts_with(p))
}

/// The DuckDB column type ferry creates for a field: a DuckDB source's declared type verbatim
/// unless it contradicts the Arrow type ([`own_declared`]), else the mapping of its SQL type
/// ([`sql_type_of`]). A wall time or a time of day in nanoseconds is DuckDB's `TIMESTAMP_NS` or
/// `TIME_NS`: its `TIMESTAMP` and `TIME` keep microseconds, and DuckDB would cut or round the
/// nanoseconds on the way in without a word.
pub fn duckdb_target_type(field: &Field) -> Result<String> {
    if let Some(declared) = own_declared(field, &[DIALECT]) {
        return Ok(declared.to_string());
    }
    let t = sql_type_of(field)?;
    match (t, field.data_type()) {
        (SqlType::Timestamp, DataType::Timestamp(TimeUnit::Nanosecond, None)) => {
            Ok("TIMESTAMP_NS".into())
        }
        (SqlType::Time, DataType::Time64(TimeUnit::Nanosecond)) => Ok("TIME_NS".into()),
        _ => Ok(duckdb_type_for(t)),
    }
}

/// The DuckDB type for a [`SqlType`]. DuckDB's `VARCHAR` has no length limit (a declared
/// length is not enforced by DuckDB, so none is written); decimals wider than DuckDB's 38
/// digits are kept as their exact text.
pub fn duckdb_type_for(t: SqlType) -> String {
    match t {
        SqlType::Boolean => "BOOLEAN".into(),
        SqlType::SmallInt => "SMALLINT".into(),
        SqlType::Integer => "INTEGER".into(),
        SqlType::BigInt => "BIGINT".into(),
        SqlType::Real => "REAL".into(),
        SqlType::Double => "DOUBLE".into(),
        SqlType::Decimal { precision, scale } if precision <= 38 => {
            format!("DECIMAL({precision},{scale})")
        }
        SqlType::Decimal { .. } => "VARCHAR".into(),
        SqlType::Char(_) | SqlType::Varchar(_) | SqlType::Text => "VARCHAR".into(),
        SqlType::Blob => "BLOB".into(),
        SqlType::Date => "DATE".into(),
        SqlType::Time => "TIME".into(),
        SqlType::Timestamp => "TIMESTAMP".into(),
        SqlType::TimestampTz => "TIMESTAMPTZ".into(),
        SqlType::Json => "JSON".into(),
        SqlType::Interval => "INTERVAL".into(),
    }
}

/// DuckDB's `infinity` and `-infinity` dates, in days since 1970-01-01: ±`i32::MAX`. ferry's
/// `-infinity` ([`temporal::DATE_NEG_INFINITY`], `i32::MIN`) is not DuckDB's; its `infinity` is.
pub const DATE_INFINITY: i32 = i32::MAX;
pub const DATE_NEG_INFINITY: i32 = -i32::MAX;
/// DuckDB's `infinity` and `-infinity` timestamps, in microseconds: ±`i64::MAX`.
pub const TS_INFINITY: i64 = i64::MAX;
pub const TS_NEG_INFINITY: i64 = -i64::MAX;

/// A date or microsecond timestamp column with ferry's ±infinity ([`temporal`]'s sentinels) as
/// DuckDB's; any other column as it is. A finite value that DuckDB would take for an infinity
/// is refused, with its row (0-based in `col`) and why: it would arrive as `-infinity`.
pub fn infinities_to_duckdb(col: &ArrayRef) -> std::result::Result<ArrayRef, (usize, String)> {
    match col.data_type() {
        DataType::Date32 => {
            let a = col.as_primitive::<Date32Type>();
            if let Some(i) = position(a, |d| d == DATE_NEG_INFINITY) {
                return Err((
                    i,
                    format!(
                        "date {} is DuckDB's -infinity; DuckDB has no finite date there",
                        temporal::shown_date(i64::from(DATE_NEG_INFINITY))
                    ),
                ));
            }
            Ok(replace(a, temporal::DATE_NEG_INFINITY, DATE_NEG_INFINITY))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let a = col.as_primitive::<TimestampMicrosecondType>();
            if let Some(i) = position(a, |t| t == TS_NEG_INFINITY) {
                return Err((
                    i,
                    format!(
                        "timestamp {} is DuckDB's -infinity; DuckDB has no finite timestamp \
                         there",
                        temporal::shown_timestamp(TS_NEG_INFINITY, 1_000_000, false)
                    ),
                ));
            }
            Ok(replace(a, temporal::TS_NEG_INFINITY, TS_NEG_INFINITY))
        }
        _ => Ok(col.clone()),
    }
}

/// A date or microsecond timestamp column read from DuckDB with its ±infinity as ferry's
/// sentinels, which every sink knows; any other column as it is.
pub fn infinities_from_duckdb(col: &ArrayRef) -> ArrayRef {
    match col.data_type() {
        DataType::Date32 => replace(
            col.as_primitive::<Date32Type>(),
            DATE_NEG_INFINITY,
            temporal::DATE_NEG_INFINITY,
        ),
        DataType::Timestamp(TimeUnit::Microsecond, _) => replace(
            col.as_primitive::<TimestampMicrosecondType>(),
            TS_NEG_INFINITY,
            temporal::TS_NEG_INFINITY,
        ),
        _ => col.clone(),
    }
}

/// The first non-null row whose value satisfies `f`.
fn position<T: ArrowPrimitiveType>(
    a: &PrimitiveArray<T>,
    f: impl Fn(T::Native) -> bool,
) -> Option<usize> {
    (0..a.len()).find(|&i| a.is_valid(i) && f(a.value(i)))
}

/// `a` with every `from` replaced by `to`, its data type (a timestamp's zone) kept; `a` itself
/// when no value is `from`.
fn replace<T: ArrowPrimitiveType>(a: &PrimitiveArray<T>, from: T::Native, to: T::Native) -> ArrayRef
where
    T::Native: PartialEq,
{
    if position(a, |v| v == from).is_none() {
        return Arc::new(a.clone());
    }
    let out: PrimitiveArray<T> = a.unary(|v| if v == from { to } else { v });
    Arc::new(out.with_data_type(a.data_type().clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Date32Array, TimestampMicrosecondArray};

    #[test]
    fn nanosecond_wall_times_are_timestamp_ns() {
        let ns = |tz: Option<&str>| {
            Field::new(
                "t",
                DataType::Timestamp(TimeUnit::Nanosecond, tz.map(Into::into)),
                true,
            )
        };
        assert_eq!(duckdb_target_type(&ns(None)).unwrap(), "TIMESTAMP_NS");
        let us = Field::new("t", DataType::Timestamp(TimeUnit::Microsecond, None), true);
        assert_eq!(duckdb_target_type(&us).unwrap(), "TIMESTAMP");
        let t = |u| Field::new("t", DataType::Time64(u), true);
        assert_eq!(
            duckdb_target_type(&t(TimeUnit::Nanosecond)).unwrap(),
            "TIME_NS"
        );
        assert_eq!(
            duckdb_target_type(&t(TimeUnit::Microsecond)).unwrap(),
            "TIME"
        );
        // A DuckDB source's own declaration stays.
        let f = crate::types::field_with_source(
            "t",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            true,
            DIALECT,
            "TIMESTAMP_NS",
        );
        assert_eq!(duckdb_target_type(&f).unwrap(), "TIMESTAMP_NS");
    }

    #[test]
    fn infinities_map_both_ways_and_finite_values_stay() {
        let d: ArrayRef = Arc::new(Date32Array::from(vec![
            Some(temporal::DATE_INFINITY),
            Some(temporal::DATE_NEG_INFINITY),
            Some(0),
            Some(-2_451_545),
            None,
        ]));
        let to = infinities_to_duckdb(&d).unwrap();
        let v: Vec<Option<i32>> = to.as_primitive::<Date32Type>().iter().collect();
        assert_eq!(
            v,
            [
                Some(DATE_INFINITY),
                Some(DATE_NEG_INFINITY),
                Some(0),
                Some(-2_451_545),
                None
            ]
        );
        assert_eq!(infinities_from_duckdb(&to).as_ref(), d.as_ref());
        let t: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![
                Some(temporal::TS_NEG_INFINITY),
                Some(temporal::TS_INFINITY),
                Some(-1),
                None,
            ])
            .with_timezone("+00:00"),
        );
        let to = infinities_to_duckdb(&t).unwrap();
        assert_eq!(to.data_type(), t.data_type(), "the zone is kept");
        assert_eq!(
            to.as_primitive::<TimestampMicrosecondType>().value(0),
            TS_NEG_INFINITY
        );
        assert_eq!(infinities_from_duckdb(&to).as_ref(), t.as_ref());
        // A finite value DuckDB would read as -infinity is refused, by row.
        let bad: ArrayRef = Arc::new(Date32Array::from(vec![None, Some(-i32::MAX)]));
        assert_eq!(infinities_to_duckdb(&bad).unwrap_err().0, 1);
    }
}
