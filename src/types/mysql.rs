//! MySQL's and MariaDB's side of the type mapping: how the source reads each column type into
//! Arrow, which SQL type it stands for at other targets, and which column type the sink creates.

use arrow::datatypes::{DataType, Field, TimeUnit};

use super::{source_type, sql_type_of, SqlType};
use crate::error::{Error, Result};

/// The dialect name recorded in field metadata for MySQL and MariaDB sources.
pub const DIALECT: &str = "mysql";

/// The widest `DECIMAL` MySQL holds: 65 digits, 30 after the point.
pub const MAX_DECIMAL_PRECISION: u8 = 65;
pub const MAX_DECIMAL_SCALE: i8 = 30;

/// How the MySQL source reads a column (from the binary protocol's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MyRead {
    /// `tinyint(1)` read as a boolean: 0 and 1 only, any other value is an error.
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Float32,
    Float64,
    Decimal128 {
        precision: u8,
        scale: i8,
    },
    Decimal256 {
        precision: u8,
        scale: i8,
    },
    /// Character data of any character set (sent as utf8mb4), `enum`, `set`, `json`.
    Text,
    /// `binary(n)`, `varbinary(n)`, blobs: the bytes as stored.
    Binary,
    /// `bit(n)`: the bits as an unsigned integer.
    Bit,
    /// `year`: 0 or 1901..2155.
    Year,
    Date,
    /// `datetime(p)`: a wall time without a zone.
    DateTime,
    /// `timestamp(p)`: an instant, read in UTC.
    Timestamp,
    /// `time(p)`: a signed duration up to ±838:59:59.999999.
    Time,
}

impl MyRead {
    /// Decides the read of a column from `information_schema.columns`: `DATA_TYPE` (the base
    /// name, `int`) and `COLUMN_TYPE` (the declaration, `int(10) unsigned`). `tinyint1_bool`
    /// reads `tinyint(1)` as a boolean. `None` for a type ferry does not read (spatial types).
    pub fn of(data_type: &str, column_type: &str, tinyint1_bool: bool) -> Option<MyRead> {
        let ct = column_type.to_ascii_lowercase();
        let unsigned = ct.contains("unsigned");
        let (p, s) = precision_scale(&ct);
        Some(match data_type.to_ascii_lowercase().as_str() {
            "tinyint" if tinyint1_bool && !unsigned && ct.starts_with("tinyint(1)") => MyRead::Bool,
            "bool" | "boolean" if tinyint1_bool => MyRead::Bool,
            "tinyint" | "bool" | "boolean" if unsigned => MyRead::UInt8,
            "tinyint" | "bool" | "boolean" => MyRead::Int8,
            "smallint" if unsigned => MyRead::UInt16,
            "smallint" => MyRead::Int16,
            "mediumint" | "int" | "integer" if unsigned => MyRead::UInt32,
            "mediumint" | "int" | "integer" => MyRead::Int32,
            "bigint" if unsigned => MyRead::UInt64,
            "bigint" => MyRead::Int64,
            "float" => MyRead::Float32,
            "double" | "real" | "double precision" => MyRead::Float64,
            "decimal" | "numeric" | "dec" | "fixed" => {
                let precision = p.unwrap_or(10);
                let scale = s.unwrap_or(0);
                if precision <= 38 {
                    MyRead::Decimal128 { precision, scale }
                } else {
                    MyRead::Decimal256 { precision, scale }
                }
            }
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum"
            | "set" | "json" | "uuid" | "inet4" | "inet6" => MyRead::Text,
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
                MyRead::Binary
            }
            "bit" => MyRead::Bit,
            "year" => MyRead::Year,
            "date" => MyRead::Date,
            "datetime" => MyRead::DateTime,
            "timestamp" => MyRead::Timestamp,
            "time" => MyRead::Time,
            _ => return None,
        })
    }

    /// The read for a planned field (its Arrow type).
    pub fn of_field(field: &Field) -> Option<MyRead> {
        Some(match field.data_type() {
            DataType::Boolean => MyRead::Bool,
            DataType::Int8 => MyRead::Int8,
            DataType::Int16 if is_year(field) => MyRead::Year,
            DataType::Int16 => MyRead::Int16,
            DataType::Int32 => MyRead::Int32,
            DataType::Int64 => MyRead::Int64,
            DataType::UInt8 => MyRead::UInt8,
            DataType::UInt16 => MyRead::UInt16,
            DataType::UInt32 => MyRead::UInt32,
            DataType::UInt64 if is_bit(field) => MyRead::Bit,
            DataType::UInt64 => MyRead::UInt64,
            DataType::Float32 => MyRead::Float32,
            DataType::Float64 => MyRead::Float64,
            DataType::Decimal128(p, s) => MyRead::Decimal128 {
                precision: *p,
                scale: *s,
            },
            DataType::Decimal256(p, s) => MyRead::Decimal256 {
                precision: *p,
                scale: *s,
            },
            DataType::Utf8 => MyRead::Text,
            DataType::Binary => MyRead::Binary,
            DataType::Date32 => MyRead::Date,
            DataType::Timestamp(_, None) => MyRead::DateTime,
            DataType::Timestamp(_, Some(_)) => MyRead::Timestamp,
            DataType::Duration(_) => MyRead::Time,
            _ => return None,
        })
    }

    /// The Arrow type the read produces.
    pub fn arrow_type(self) -> DataType {
        match self {
            MyRead::Bool => DataType::Boolean,
            MyRead::Int8 => DataType::Int8,
            MyRead::Int16 | MyRead::Year => DataType::Int16,
            MyRead::Int32 => DataType::Int32,
            MyRead::Int64 => DataType::Int64,
            MyRead::UInt8 => DataType::UInt8,
            MyRead::UInt16 => DataType::UInt16,
            MyRead::UInt32 => DataType::UInt32,
            MyRead::UInt64 | MyRead::Bit => DataType::UInt64,
            MyRead::Float32 => DataType::Float32,
            MyRead::Float64 => DataType::Float64,
            MyRead::Decimal128 { precision, scale } => DataType::Decimal128(precision, scale),
            MyRead::Decimal256 { precision, scale } => DataType::Decimal256(precision, scale),
            MyRead::Text => DataType::Utf8,
            MyRead::Binary => DataType::Binary,
            MyRead::Date => DataType::Date32,
            MyRead::DateTime => DataType::Timestamp(TimeUnit::Microsecond, None),
            MyRead::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
            MyRead::Time => DataType::Duration(TimeUnit::Microsecond),
        }
    }
}

fn is_year(field: &Field) -> bool {
    matches!(source_type(field), Some((DIALECT, t)) if t.eq_ignore_ascii_case("year") || t.to_ascii_lowercase().starts_with("year("))
}

fn is_bit(field: &Field) -> bool {
    matches!(source_type(field), Some((DIALECT, t)) if t.to_ascii_lowercase().starts_with("bit"))
}

/// The base name of a declaration, lower-cased: `int` of `INT(10) UNSIGNED`, `enum` of
/// `enum('a','b')`.
pub fn base_name(declared: &str) -> String {
    declared
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// `(p, s)` of `decimal(p,s)`, `(n, None)` of `varchar(n)`, from a lower-case declaration.
fn precision_scale(ct: &str) -> (Option<u8>, Option<i8>) {
    let Some(open) = ct.find('(') else {
        return (None, None);
    };
    let Some(close) = ct[open..].find(')') else {
        return (None, None);
    };
    let mut args = ct[open + 1..open + close].split(',').map(|a| a.trim());
    let p = args.next().and_then(|a| a.parse::<u8>().ok());
    let s = args.next().and_then(|a| a.parse::<i8>().ok());
    (p, s)
}

fn length(ct: &str) -> Option<u32> {
    let open = ct.find('(')?;
    let close = ct[open..].find(')')?;
    ct[open + 1..open + close].trim().parse().ok()
}

/// What a column of a MySQL declaration takes of an InnoDB index key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPart {
    /// This many bytes at most (utf8mb4 text at 4 bytes a character); 0 for a type ferry does
    /// not size, which the server then checks alone.
    Bytes(u32),
    /// A `text` type or `json`: no length a key can take in full, so `varchar(n)` in a key.
    Text,
    /// A blob: `varbinary(n)` in a key.
    Blob,
}

/// The bytes `digits` decimal digits take in MySQL's packed `DECIMAL`: 4 for each 9, and
/// 1 to 4 for the rest.
fn decimal_digit_bytes(digits: u32) -> u32 {
    const REST: [u32; 9] = [0, 1, 1, 2, 2, 3, 3, 4, 4];
    digits / 9 * 4 + REST[(digits % 9) as usize]
}

/// What a column declared `declared` (in a utf8mb4 table) takes of an InnoDB key: the
/// storage sizes of MySQL's manual ("Data Type Storage Requirements"), the longest a
/// variable-length value can be.
pub fn key_part(declared: &str) -> KeyPart {
    let ct = declared.to_ascii_lowercase();
    let base = base_name(&ct);
    let n = length(&ct);
    let fraction = |ct: &str| fractional_digits(ct).div_ceil(2);
    KeyPart::Bytes(match base.as_str() {
        "tinytext" | "text" | "mediumtext" | "longtext" | "json" => return KeyPart::Text,
        "tinyblob" | "blob" | "mediumblob" | "longblob" => return KeyPart::Blob,
        "tinyint" | "bool" | "boolean" | "year" => 1,
        "smallint" => 2,
        "mediumint" | "date" => 3,
        "int" | "integer" | "inet4" => 4,
        "bigint" | "double" | "real" => 8,
        "float" if n.is_some_and(|p| p > 24) && !ct.contains(',') => 8,
        "float" => 4,
        "decimal" | "numeric" | "dec" | "fixed" => {
            let (p, s) = precision_scale(&ct);
            let p = u32::from(p.unwrap_or(10));
            let s = s.map_or(0, |s| u32::from(s.unsigned_abs()));
            decimal_digit_bytes(p.saturating_sub(s)) + decimal_digit_bytes(s)
        }
        "time" => 3 + u32::from(fraction(&ct)),
        "datetime" => 5 + u32::from(fraction(&ct)),
        "timestamp" => 4 + u32::from(fraction(&ct)),
        "char" => 4 * n.unwrap_or(1),
        "varchar" => 4 * n.unwrap_or(0),
        "binary" => n.unwrap_or(1),
        "varbinary" => n.unwrap_or(0),
        "bit" => n.unwrap_or(1).div_ceil(8),
        "enum" => 2,
        "set" => 8,
        "uuid" | "inet6" => 16,
        _ => 0,
    })
}

/// The fractional-second digits a `time(p)`, `datetime(p)` or `timestamp(p)` keeps (0 to 6;
/// 0 when the declaration gives none).
pub fn fractional_digits(declared: &str) -> u8 {
    length(&declared.to_ascii_lowercase()).map_or(0, |p| p.min(6) as u8)
}

/// Whether a `float` declaration is single precision: `float`, `float(p)` with p <= 24,
/// `float(m,d)`; `float(25)` to `float(53)` are doubles.
pub fn is_single_float(declared: &str) -> bool {
    let ct = declared.to_ascii_lowercase();
    base_name(&ct) == "float" && (ct.contains(',') || length(&ct).is_none_or(|p| p <= 24))
}

/// The SQL type a MySQL declaration stands for at a target of another kind. Unsigned integers
/// widen to the next signed type (`bigint unsigned` to `decimal(20,0)`), `time` (a signed
/// duration) to an interval, `timestamp` (an instant) to a timestamp with time zone.
pub fn sql_type(column_type: &str) -> Option<SqlType> {
    let ct = column_type.to_ascii_lowercase();
    let base = base_name(&ct);
    let base = base.as_str();
    let read = MyRead::of(base, &ct, true)?;
    let (p, s) = precision_scale(&ct);
    Some(match read {
        MyRead::Bool => SqlType::Boolean,
        MyRead::Int8 | MyRead::UInt8 | MyRead::Int16 | MyRead::Year => SqlType::SmallInt,
        MyRead::UInt16 | MyRead::Int32 => SqlType::Integer,
        MyRead::UInt32 | MyRead::Int64 => SqlType::BigInt,
        MyRead::Bit if p.is_some_and(|n| n < 64) => SqlType::BigInt,
        MyRead::UInt64 | MyRead::Bit => SqlType::Decimal {
            precision: 20,
            scale: 0,
        },
        MyRead::Float32 => SqlType::Real,
        MyRead::Float64 => SqlType::Double,
        MyRead::Decimal128 { precision, scale } | MyRead::Decimal256 { precision, scale } => {
            SqlType::Decimal { precision, scale }
        }
        MyRead::Text => match base {
            "char" => SqlType::Char(length(&ct).unwrap_or(1)),
            "varchar" => SqlType::Varchar(length(&ct).unwrap_or(255)),
            "json" => SqlType::Json,
            _ => SqlType::Text,
        },
        MyRead::Binary => SqlType::Blob,
        MyRead::Date => SqlType::Date,
        MyRead::DateTime => SqlType::Timestamp,
        MyRead::Timestamp => SqlType::TimestampTz,
        MyRead::Time => {
            let _ = s;
            SqlType::Interval
        }
    })
}

/// The MySQL column type ferry creates for a field: a MySQL source's declaration verbatim, else
/// the mapping of its SQL type. Arrow's unsigned integers keep their unsignedness.
pub fn my_target_type(field: &Field) -> Result<String> {
    if let Some(declared) = super::own_declared(field, &[DIALECT]) {
        return Ok(declared.to_string());
    }
    if super::declared_sql_type(field).is_none() {
        match field.data_type() {
            DataType::UInt8 => return Ok("tinyint unsigned".into()),
            DataType::UInt16 => return Ok("smallint unsigned".into()),
            DataType::UInt32 => return Ok("int unsigned".into()),
            DataType::UInt64 => return Ok("bigint unsigned".into()),
            DataType::Duration(_) => return Ok("time(6)".into()),
            _ => {}
        }
    }
    let t = sql_type_of(field)?;
    my_type_for(t).map_err(|e| e.context(format!("column \"{}\"", field.name())))
}

/// The MySQL type for a [`SqlType`]; an error for a decimal wider than MySQL's.
pub fn my_type_for(t: SqlType) -> Result<String> {
    Ok(match t {
        SqlType::Boolean => "tinyint(1)".into(),
        SqlType::SmallInt => "smallint".into(),
        SqlType::Integer => "int".into(),
        SqlType::BigInt => "bigint".into(),
        SqlType::Real => "float".into(),
        SqlType::Double => "double".into(),
        SqlType::Decimal { precision, scale }
            if precision <= MAX_DECIMAL_PRECISION && scale <= MAX_DECIMAL_SCALE =>
        {
            format!("decimal({precision},{scale})")
        }
        SqlType::Decimal { precision, scale } => {
            return Err(Error::unsupported(format!(
                "decimal({precision},{scale}) is wider than MySQL's DECIMAL (at most 65 digits, \
                 30 after the point); cast the column to text to keep every digit"
            )))
        }
        SqlType::Char(n) if n <= 255 => format!("char({n})"),
        SqlType::Char(n) | SqlType::Varchar(n) if n <= 4096 => format!("varchar({n})"),
        SqlType::Char(n) | SqlType::Varchar(n) if n <= 16383 => "text".into(),
        SqlType::Char(_) | SqlType::Varchar(_) => "mediumtext".into(),
        SqlType::Text => "longtext".into(),
        SqlType::Json => "json".into(),
        SqlType::Blob => "longblob".into(),
        SqlType::Date => "date".into(),
        SqlType::Time | SqlType::Interval => "time(6)".into(),
        SqlType::Timestamp | SqlType::TimestampTz => "datetime(6)".into(),
    })
}

/// MySQL source rows of the README table: declared type, Arrow type, notes.
pub fn source_rows() -> Vec<(String, String, &'static str)> {
    let rows: &[(&str, &str, &str, &str)] = &[
        ("tinyint(1), bool", "tinyint", "tinyint(1)", "exact, -128 to 127 (the default, `?tinyint1=int`); `?tinyint1=bool` reads a `Boolean`, 0 and 1 only, any other value an error naming column and row"),
        ("tinyint", "tinyint", "tinyint(4)", ""),
        ("smallint", "smallint", "smallint(6)", ""),
        ("mediumint, int", "int", "int(11)", ""),
        ("bigint", "bigint", "bigint(20)", ""),
        ("tinyint / smallint / mediumint, int unsigned", "int", "int(10) unsigned", "`UInt8` / `UInt16` / `UInt32`"),
        ("bigint unsigned", "bigint", "bigint(20) unsigned", "up to 18446744073709551615; `numeric(20)` in PostgreSQL"),
        ("float", "float", "float", "the stored 32-bit value, exactly"),
        ("double", "double", "double", ""),
        ("decimal(p,s), p <= 38", "decimal", "decimal(15,2)", "exact"),
        ("decimal(p,s), 38 < p <= 65", "decimal", "decimal(65,30)", "exact"),
        ("char(n), varchar(n), text types, any character set", "varchar", "varchar(44)", "sent as utf8mb4 (latin1 columns converted by the server, exactly)"),
        ("enum, set, json", "enum", "enum('a','b')", "their text; the declaration is kept for a MySQL target (`json` for PostgreSQL)"),
        ("binary(n), varbinary(n), blobs", "varbinary", "varbinary(16)", "the bytes as stored (binary(n) with its padding)"),
        ("bit(n)", "bit", "bit(12)", "the bits as an integer"),
        ("year", "year", "year(4)", ""),
        ("date", "date", "date", "zero dates (`0000-00-00`, `2024-00-10`) are an error naming column and row; `--zero-dates null` reads them as NULL and the report counts them"),
        ("datetime(p)", "datetime", "datetime(6)", "a wall time without zone; zero dates as for `date`"),
        ("timestamp(p)", "timestamp", "timestamp(6)", "an instant, read in UTC (session `time_zone = '+00:00'`)"),
        ("time(p)", "time", "time(6)", "a signed duration, -838:59:59 to 838:59:59; `interval` in PostgreSQL"),
    ];
    rows.iter()
        .map(|(decl, data_type, column_type, note)| {
            // As the source reads them by default (`?tinyint1=int`).
            let arrow = match MyRead::of(data_type, column_type, false) {
                Some(MyRead::Decimal128 { .. }) => "`Decimal128(p, s)`".to_string(),
                Some(MyRead::Decimal256 { .. }) => "`Decimal256(p, s)`".to_string(),
                Some(read) => format!("`{}`", read.arrow_type()),
                None => "unsupported".into(),
            };
            (decl.to_string(), arrow, *note)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::field_with_source;

    #[test]
    fn reads_follow_the_declaration() {
        assert_eq!(
            MyRead::of("tinyint", "tinyint(1)", true),
            Some(MyRead::Bool)
        );
        assert_eq!(
            MyRead::of("tinyint", "tinyint(1)", false),
            Some(MyRead::Int8)
        );
        assert_eq!(
            MyRead::of("tinyint", "tinyint(1) unsigned", true),
            Some(MyRead::UInt8)
        );
        assert_eq!(
            MyRead::of("bigint", "bigint(20) unsigned", true),
            Some(MyRead::UInt64)
        );
        assert_eq!(
            MyRead::of("decimal", "decimal(65,30)", true),
            Some(MyRead::Decimal256 {
                precision: 65,
                scale: 30
            })
        );
        assert_eq!(
            MyRead::of("decimal", "decimal(15,2)", true)
                .unwrap()
                .arrow_type(),
            DataType::Decimal128(15, 2)
        );
        assert_eq!(MyRead::of("geometry", "geometry", true), None);
        assert_eq!(
            MyRead::of("time", "time(6)", true).unwrap().arrow_type(),
            DataType::Duration(TimeUnit::Microsecond)
        );
    }

    #[test]
    fn other_targets_widen_unsigned_and_keep_lengths() {
        assert_eq!(
            sql_type("bigint(20) unsigned"),
            Some(SqlType::Decimal {
                precision: 20,
                scale: 0
            })
        );
        assert_eq!(sql_type("int unsigned"), Some(SqlType::BigInt));
        assert_eq!(sql_type("varchar(44)"), Some(SqlType::Varchar(44)));
        assert_eq!(sql_type("char(3)"), Some(SqlType::Char(3)));
        assert_eq!(sql_type("time(6)"), Some(SqlType::Interval));
        assert_eq!(sql_type("timestamp"), Some(SqlType::TimestampTz));
        assert_eq!(sql_type("json"), Some(SqlType::Json));
        assert_eq!(sql_type("enum('a','b')"), Some(SqlType::Text));
        assert_eq!(sql_type("tinyint(1)"), Some(SqlType::Boolean));
    }

    #[test]
    fn key_parts_are_storage_sizes() {
        let cases = [
            ("int(11)", KeyPart::Bytes(4)),
            ("bigint(20) unsigned", KeyPart::Bytes(8)),
            ("tinyint(1)", KeyPart::Bytes(1)),
            ("decimal(15,2)", KeyPart::Bytes(7)),
            ("decimal(65,30)", KeyPart::Bytes(30)),
            ("decimal", KeyPart::Bytes(5)),
            ("datetime(6)", KeyPart::Bytes(8)),
            ("datetime", KeyPart::Bytes(5)),
            ("timestamp(3)", KeyPart::Bytes(6)),
            ("time(1)", KeyPart::Bytes(4)),
            ("date", KeyPart::Bytes(3)),
            ("year(4)", KeyPart::Bytes(1)),
            ("float", KeyPart::Bytes(4)),
            ("float(30)", KeyPart::Bytes(8)),
            ("double", KeyPart::Bytes(8)),
            ("char(5)", KeyPart::Bytes(20)),
            ("VARCHAR(44)", KeyPart::Bytes(176)),
            ("binary(16)", KeyPart::Bytes(16)),
            ("varbinary(10)", KeyPart::Bytes(10)),
            ("bit(12)", KeyPart::Bytes(2)),
            ("enum('a','b')", KeyPart::Bytes(2)),
            ("uuid", KeyPart::Bytes(16)),
            ("longtext", KeyPart::Text),
            ("json", KeyPart::Text),
            ("text", KeyPart::Text),
            ("blob", KeyPart::Blob),
            ("longblob", KeyPart::Blob),
            ("geometry", KeyPart::Bytes(0)),
        ];
        for (declared, part) in cases {
            assert_eq!(key_part(declared), part, "{declared}");
        }
        assert_eq!(fractional_digits("datetime(3)"), 3);
        assert_eq!(fractional_digits("time"), 0);
        assert!(is_single_float("float") && is_single_float("float(24)"));
        assert!(is_single_float("float(7,2)") && !is_single_float("float(25)"));
        assert!(!is_single_float("double"));
    }

    #[test]
    fn targets_keep_declarations_and_refuse_wide_decimals() {
        let f = field_with_source("u", DataType::UInt64, false, DIALECT, "bigint(20) unsigned");
        assert_eq!(my_target_type(&f).unwrap(), "bigint(20) unsigned");
        let f = field_with_source(
            "n",
            DataType::Decimal128(15, 2),
            true,
            "postgres",
            "numeric(15,2)",
        );
        assert_eq!(my_target_type(&f).unwrap(), "decimal(15,2)");
        let f = field_with_source(
            "v",
            DataType::Utf8,
            true,
            "postgres",
            "character varying(44)",
        );
        assert_eq!(my_target_type(&f).unwrap(), "varchar(44)");
        let f = Field::new("w", DataType::Decimal256(76, 10), true);
        let e = my_target_type(&f).unwrap_err().to_string();
        assert!(
            e.contains("column \"w\"") || e.contains("decimal(76,10)"),
            "{e}"
        );
        let f = Field::new("u", DataType::UInt32, true);
        assert_eq!(my_target_type(&f).unwrap(), "int unsigned");
        let f = Field::new(
            "t",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        );
        assert_eq!(my_target_type(&f).unwrap(), "datetime(6)");
    }
}
