//! DuckDB target types (through DuckDB's ADBC entry point).

use arrow::datatypes::Field;

use super::{source_type, sql_type_of, SqlType};
use crate::error::Result;

/// The dialect name a DuckDB source records.
pub const DIALECT: &str = "duckdb";

/// The DuckDB column type ferry creates for a field: a DuckDB source's declared type verbatim,
/// else the mapping of its SQL type.
pub fn duckdb_target_type(field: &Field) -> Result<String> {
    if let Some((DIALECT, declared)) = source_type(field) {
        return Ok(declared.to_string());
    }
    Ok(duckdb_type_for(sql_type_of(field)?))
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
