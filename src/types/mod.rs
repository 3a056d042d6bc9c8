//! The type-mapping rules, in one place: source SQL type -> Arrow type (the source type kept in
//! the field metadata) -> target SQL type. The README's mapping table is generated from
//! [`mapping_markdown`] and a test keeps the two equal.

pub mod adbc;
pub mod decimal;
pub mod duckdb;
pub mod mysql;
pub mod pg_numeric;
pub mod postgres;
pub mod temporal;

use std::collections::HashMap;

use arrow::datatypes::{DataType, Field, TimeUnit};

use crate::error::{Error, Result};

/// Field-metadata key holding the declared SQL type at the source, verbatim (`DECIMAL(15,2)`).
pub const META_SOURCE_TYPE: &str = "ferry.source_type";
/// Field-metadata key naming the dialect of [`META_SOURCE_TYPE`] (`sqlite`, `postgres`, ...).
pub const META_SOURCE: &str = "ferry.source";

/// Field-metadata key marking a primary-key column: its 1-based position in the key.
pub const META_PRIMARY_KEY: &str = "ferry.primary_key";

/// The largest decimal precision SQLite's NUMERIC storage holds exactly: an f64 carries any
/// 15-digit decimal and gives it back (DBL_DIG).
pub const SQLITE_EXACT_REAL_DIGITS: u8 = 15;

/// A dialect-neutral SQL type, parsed from a declared type or derived from an Arrow type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    Boolean,
    SmallInt,
    Integer,
    BigInt,
    Real,
    Double,
    Decimal {
        precision: u8,
        scale: i8,
    },
    Char(u32),
    Varchar(u32),
    Text,
    Blob,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    /// JSON text.
    Json,
    /// A signed duration (MySQL's `time`, which goes beyond 24 hours and below zero).
    Interval,
}

/// An Arrow field carrying its declared source type.
pub fn field_with_source(
    name: &str,
    data_type: DataType,
    nullable: bool,
    dialect: &str,
    declared: &str,
) -> Field {
    let mut meta = HashMap::new();
    if !declared.is_empty() {
        meta.insert(META_SOURCE_TYPE.to_string(), declared.to_string());
    }
    meta.insert(META_SOURCE.to_string(), dialect.to_string());
    Field::new(name, data_type, nullable).with_metadata(meta)
}

/// The field's position in its table's primary key, if a source recorded one.
pub fn primary_key_position(field: &Field) -> Option<u32> {
    field.metadata().get(META_PRIMARY_KEY)?.parse().ok()
}

/// The declared source type of a field and its dialect, if a source recorded them.
pub fn source_type(field: &Field) -> Option<(&str, &str)> {
    let m = field.metadata();
    Some((
        m.get(META_SOURCE)?.as_str(),
        m.get(META_SOURCE_TYPE)?.as_str(),
    ))
}

/// A declared type taken apart: the name upper-cased with spaces folded and every modifier
/// removed wherever it stands (`TIMESTAMP(6) WITH TIME ZONE` -> `TIMESTAMP WITH TIME ZONE`),
/// the integers of its first modifier (`DECIMAL(15, 2)` -> [15, 2]; `None` when a modifier
/// is not a list of integers, as in `ENUM('a')`), and whether it is an array (`INTEGER[]`).
struct Declaration {
    name: String,
    args: Option<Vec<i64>>,
    array: bool,
}

fn split_declared(declared: &str) -> Declaration {
    let mut rest = declared.trim();
    let mut array = false;
    while let Some(elem) = rest.strip_suffix("[]") {
        array = true;
        rest = elem.trim_end();
    }
    let mut name = String::with_capacity(rest.len());
    let mut first: Option<String> = None;
    let mut current = String::new();
    let mut depth = 0usize;
    for c in rest.chars() {
        match c {
            '(' => {
                if depth > 0 {
                    current.push(c);
                }
                depth += 1;
                // A modifier separates words: `TIME(6)WITH` is two.
                name.push(' ');
            }
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    if first.is_none() {
                        first = Some(std::mem::take(&mut current));
                    }
                    current.clear();
                } else {
                    current.push(c);
                }
            }
            c if depth > 0 => current.push(c),
            c => name.push(c),
        }
    }
    let name = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase();
    let args = match first {
        None => Some(Vec::new()),
        Some(m) => m
            .split(',')
            .map(|a| a.trim().parse::<i64>().ok())
            .collect::<Option<Vec<_>>>(),
    };
    Declaration { name, args, array }
}

fn decimal_args(args: &[i64]) -> Option<(u8, i8)> {
    let p = *args.first()?;
    let s = args.get(1).copied().unwrap_or(0);
    ((1..=76).contains(&p) && (0..=p).contains(&s)).then_some((p as u8, s as i8))
}

/// Parses a declared type of `dialect` into a [`SqlType`]; `None` if ferry does not know it,
/// or if it has no dialect-neutral type (arrays, PostgreSQL's `timetz`, `interval`, `bit`):
/// then the Arrow type decides. PostgreSQL's `format_type` spellings are parsed by
/// [`postgres::PgType`].
pub fn parse_declared(dialect: &str, declared: &str) -> Option<SqlType> {
    if dialect == postgres::DIALECT {
        return postgres::PgType::parse(declared).sql_type();
    }
    let Declaration { name, args, array } = split_declared(declared);
    if array {
        return None;
    }
    let args = args?;
    let len = match args.first() {
        Some(&n) => Some(u32::try_from(n).ok()?),
        None => None,
    };
    Some(match name.as_str() {
        "BOOL" | "BOOLEAN" => SqlType::Boolean,
        "SMALLINT" | "INT2" | "TINYINT" => SqlType::SmallInt,
        // SQLite integers are 64-bit whatever the name.
        "INT" | "INTEGER" | "INT4" | "MEDIUMINT" if dialect == "sqlite" => SqlType::BigInt,
        "INT" | "INTEGER" | "INT4" | "MEDIUMINT" => SqlType::Integer,
        "BIGINT" | "INT8" => SqlType::BigInt,
        // DuckDB's unsigned and 128-bit integers, in the narrowest type that holds them all.
        "UTINYINT" if dialect == duckdb::DIALECT => SqlType::SmallInt,
        "USMALLINT" if dialect == duckdb::DIALECT => SqlType::Integer,
        "UINTEGER" if dialect == duckdb::DIALECT => SqlType::BigInt,
        "UBIGINT" if dialect == duckdb::DIALECT => SqlType::Decimal {
            precision: 20,
            scale: 0,
        },
        "HUGEINT" | "UHUGEINT" if dialect == duckdb::DIALECT => SqlType::Decimal {
            precision: 39,
            scale: 0,
        },
        "REAL" | "FLOAT4" if dialect != "sqlite" => SqlType::Real,
        // DuckDB's FLOAT is 32-bit (and so is its REAL).
        "FLOAT" if dialect == duckdb::DIALECT => SqlType::Real,
        "REAL" | "FLOAT4" | "FLOAT" | "FLOAT8" | "DOUBLE" | "DOUBLE PRECISION" => SqlType::Double,
        "DECIMAL" | "NUMERIC" | "DECIMAL_TEXT" | "NUMERIC_TEXT" => {
            let (precision, scale) = decimal_args(&args)?;
            SqlType::Decimal { precision, scale }
        }
        "CHAR" | "CHARACTER" | "NCHAR" => SqlType::Char(len.unwrap_or(1)),
        "VARCHAR" | "CHARACTER VARYING" | "NVARCHAR" | "VARYING CHARACTER" => match len {
            Some(n) => SqlType::Varchar(n),
            None => SqlType::Text,
        },
        "TEXT" | "CLOB" | "STRING" => SqlType::Text,
        "BLOB" | "BYTEA" | "BINARY" | "VARBINARY" => SqlType::Blob,
        "DATE" => SqlType::Date,
        "TIME" | "TIME WITHOUT TIME ZONE" => SqlType::Time,
        "TIMESTAMP" | "DATETIME" | "TIMESTAMP WITHOUT TIME ZONE" => SqlType::Timestamp,
        "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" => SqlType::TimestampTz,
        "JSON" | "JSONB" => SqlType::Json,
        _ => return None,
    })
}

/// The SQL type an Arrow type stands for when no source type was recorded.
pub fn sql_type_of_arrow(column: &str, data_type: &DataType) -> Result<SqlType> {
    Ok(match data_type {
        DataType::Boolean => SqlType::Boolean,
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => SqlType::SmallInt,
        DataType::Int32 | DataType::UInt16 => SqlType::Integer,
        DataType::Int64 | DataType::UInt32 => SqlType::BigInt,
        DataType::UInt64 => SqlType::Decimal {
            precision: 20,
            scale: 0,
        },
        DataType::Float16 | DataType::Float32 => SqlType::Real,
        DataType::Float64 => SqlType::Double,
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) if *s >= 0 => SqlType::Decimal {
            precision: *p,
            scale: *s,
        },
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => SqlType::Text,
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => SqlType::Blob,
        DataType::Date32 | DataType::Date64 => SqlType::Date,
        DataType::Time32(_) | DataType::Time64(_) => SqlType::Time,
        DataType::Timestamp(_, None) => SqlType::Timestamp,
        DataType::Timestamp(_, Some(_)) => SqlType::TimestampTz,
        DataType::Duration(_) => SqlType::Interval,
        other => {
            return Err(Error::unsupported(format!(
                "column \"{column}\": Arrow type {other} has no SQL mapping in ferry"
            )))
        }
    })
}

/// Whether a column of SQL type `t` takes the values of Arrow type `data_type` as they are:
/// the same kind of value, and none changed silently on the way in. A narrower integer or a
/// decimal with fewer integer digits agrees (a value that does not fit fails the load, loudly);
/// an integer into a boolean (every non-zero value `true`), a wider float into a `real`, fewer
/// decimal places, a zoned timestamp into a wall time, text into a time do not. Decimal text
/// agrees with a decimal: it is the exact value (PostgreSQL's `?numeric=text`), read by the
/// target's own numeric input.
pub fn declared_agrees(t: SqlType, data_type: &DataType) -> bool {
    use DataType as D;
    let integer = matches!(
        data_type,
        D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32 | D::UInt64
    );
    let text = matches!(data_type, D::Utf8 | D::LargeUtf8 | D::Utf8View);
    match t {
        SqlType::Boolean => data_type == &D::Boolean,
        SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => integer,
        SqlType::Real => matches!(data_type, D::Float16 | D::Float32),
        SqlType::Double => matches!(data_type, D::Float16 | D::Float32 | D::Float64),
        SqlType::Decimal { scale, .. } => match data_type {
            D::Decimal128(_, s) | D::Decimal256(_, s) => *s <= scale,
            _ => integer || text,
        },
        SqlType::Char(_) | SqlType::Varchar(_) | SqlType::Text | SqlType::Json => text,
        SqlType::Blob => matches!(
            data_type,
            D::Binary | D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_)
        ),
        SqlType::Date => matches!(data_type, D::Date32 | D::Date64),
        SqlType::Time => matches!(data_type, D::Time32(_) | D::Time64(_)),
        SqlType::Timestamp => matches!(data_type, D::Timestamp(_, None)),
        SqlType::TimestampTz => matches!(data_type, D::Timestamp(_, Some(_))),
        SqlType::Interval => matches!(data_type, D::Duration(_)),
    }
}

/// The SQL type a field's recorded declaration stands for, whether or not it agrees with the
/// field's Arrow type. A MySQL `tinyint(1)` (or `bool`) is a `tinyint` that MySQL calls a
/// boolean: a boolean only when it was read as one (`?tinyint1=int` reads its integers).
fn recorded_sql_type(field: &Field) -> Option<SqlType> {
    let (dialect, declared) = source_type(field)?;
    let t = match dialect {
        mysql::DIALECT => mysql::sql_type(declared).or_else(|| parse_declared(dialect, declared)),
        _ => parse_declared(dialect, declared),
    }?;
    Some(match (dialect, t, field.data_type()) {
        (mysql::DIALECT, SqlType::Boolean, DataType::Int8 | DataType::UInt8) => SqlType::SmallInt,
        _ => t,
    })
}

/// The SQL type of a field's recorded declaration, if ferry knows it and it agrees with the
/// Arrow type that travels ([`declared_agrees`]); `None` otherwise.
pub fn declared_sql_type(field: &Field) -> Option<SqlType> {
    recorded_sql_type(field).filter(|t| declared_agrees(*t, field.data_type()))
}

/// A field's recorded declaration, verbatim, for a target of its own kind (`dialects`): unless
/// it contradicts the Arrow type that travels, as an `integer` declaration on text does. A
/// declaration ferry does not parse (arrays, enums, `inet`, PostgreSQL's `interval`, ...) is
/// kept: the source that recorded it read it into the Arrow type the field has.
pub fn own_declared<'a>(field: &'a Field, dialects: &[&str]) -> Option<&'a str> {
    let (dialect, declared) = source_type(field)?;
    if !dialects.contains(&dialect) {
        return None;
    }
    match recorded_sql_type(field) {
        Some(t) if !declared_agrees(t, field.data_type()) => None,
        _ => Some(declared),
    }
}

/// The SQL type of a field: its recorded source type if ferry knows it and it agrees with the
/// Arrow type ([`declared_sql_type`]), else its Arrow type's. Every target's type mapping goes
/// through here, so a recorded spelling never outvotes the values that travel.
pub fn sql_type_of(field: &Field) -> Result<SqlType> {
    match declared_sql_type(field) {
        Some(t) => Ok(t),
        None => sql_type_of_arrow(field.name(), field.data_type()),
    }
}

/// How the SQLite source reads a column, decided from its declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteRead {
    Integer,
    Real,
    Text,
    Blob,
    Decimal {
        precision: u8,
        scale: i8,
    },
    Boolean,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    /// No usable declared type: decided from the storage classes present (a scan of the column).
    Infer,
}

impl SqliteRead {
    /// The Arrow type this read produces (`None` for [`SqliteRead::Infer`]).
    pub fn arrow_type(self) -> Option<DataType> {
        Some(match self {
            SqliteRead::Integer => DataType::Int64,
            SqliteRead::Real => DataType::Float64,
            SqliteRead::Text => DataType::Utf8,
            SqliteRead::Blob => DataType::Binary,
            SqliteRead::Decimal { precision, scale } if precision <= 38 => {
                DataType::Decimal128(precision, scale)
            }
            SqliteRead::Decimal { precision, scale } => DataType::Decimal256(precision, scale),
            SqliteRead::Boolean => DataType::Boolean,
            SqliteRead::Date => DataType::Date32,
            SqliteRead::Time => DataType::Time64(TimeUnit::Microsecond),
            SqliteRead::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            SqliteRead::TimestampTz => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
            }
            SqliteRead::Infer => return None,
        })
    }
}

/// SQLite's column affinity for a declared type (<https://www.sqlite.org/datatype3.html>, 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affinity {
    Integer,
    Text,
    Blob,
    Real,
    Numeric,
}

/// The affinity rules of SQLite, in their order.
pub fn sqlite_affinity(declared: &str) -> Affinity {
    let d = declared.to_ascii_uppercase();
    if d.contains("INT") {
        Affinity::Integer
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        Affinity::Text
    } else if d.contains("BLOB") || d.trim().is_empty() {
        Affinity::Blob
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        Affinity::Real
    } else {
        Affinity::Numeric
    }
}

/// Decides how a SQLite column of `declared` type is read. Names ferry recognises (decimals with
/// precision, dates, times, booleans) come first; then SQLite's own affinity rules.
pub fn sqlite_read(declared: &str) -> SqliteRead {
    let name = split_declared(declared).name;
    match parse_declared("sqlite", declared) {
        Some(SqlType::Decimal { precision, scale }) => {
            return SqliteRead::Decimal { precision, scale }
        }
        Some(SqlType::Boolean) => return SqliteRead::Boolean,
        Some(SqlType::Date) => return SqliteRead::Date,
        Some(SqlType::Time) => return SqliteRead::Time,
        Some(SqlType::Timestamp) => return SqliteRead::Timestamp,
        Some(SqlType::TimestampTz) => return SqliteRead::TimestampTz,
        _ => {}
    }
    match sqlite_affinity(&name) {
        Affinity::Integer => SqliteRead::Integer,
        Affinity::Text => SqliteRead::Text,
        Affinity::Real => SqliteRead::Real,
        Affinity::Blob if !name.is_empty() => SqliteRead::Blob,
        Affinity::Blob | Affinity::Numeric => SqliteRead::Infer,
    }
}

/// The SQLite column type ferry creates for a field. A field read from SQLite keeps its declared
/// type verbatim, and so does a TPC-H column (the specification's types, spelt as SQLite takes
/// them: `data/tpch-sqlite.sql`), unless it contradicts the Arrow type ([`own_declared`]);
/// others are mapped from their SQL type ([`sql_type_of`]). Decimals wider than 15
/// digits are declared `DECIMAL_TEXT(p,s)`: TEXT affinity, so SQLite keeps every digit as text.
pub fn sqlite_target_type(field: &Field) -> Result<String> {
    if let Some(declared) = own_declared(field, &["sqlite", "tpch"]) {
        return Ok(declared.to_string());
    }
    Ok(sqlite_type_for(sql_type_of(field)?))
}

/// The SQLite declared type for a [`SqlType`].
pub fn sqlite_type_for(t: SqlType) -> String {
    match t {
        SqlType::Boolean => "BOOLEAN".into(),
        SqlType::SmallInt => "SMALLINT".into(),
        SqlType::Integer => "INT".into(),
        SqlType::BigInt => "INTEGER".into(),
        SqlType::Real => "FLOAT".into(),
        SqlType::Double => "REAL".into(),
        SqlType::Decimal { precision, scale } if precision <= SQLITE_EXACT_REAL_DIGITS => {
            format!("DECIMAL({precision},{scale})")
        }
        SqlType::Decimal { precision, scale } => format!("DECIMAL_TEXT({precision},{scale})"),
        SqlType::Char(n) => format!("CHAR({n})"),
        SqlType::Varchar(n) => format!("VARCHAR({n})"),
        SqlType::Text => "TEXT".into(),
        SqlType::Blob => "BLOB".into(),
        SqlType::Date => "DATE".into(),
        SqlType::Time => "TIME".into(),
        SqlType::Timestamp => "TIMESTAMP".into(),
        SqlType::TimestampTz => "TIMESTAMPTZ".into(),
        // Not `JSON`: that name has NUMERIC affinity, which would turn `1` into an integer.
        SqlType::Json => "TEXT".into(),
        SqlType::Interval => "TEXT".into(),
    }
}

/// Quotes an SQL identifier with double quotes, doubling any inside.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A UUID's 16 bytes in its canonical text, `8-4-4-4-12` lowercase hex digits (as PostgreSQL
/// prints it).
pub fn uuid_text(bytes: &[u8; 16]) -> String {
    let h = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A standard SQL string literal (PostgreSQL, SQLite, DuckDB): single quotes, doubling any
/// inside.
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// SQLite source rows of the README table: declared type, how it is read, Arrow type, notes.
const SQLITE_SOURCE_ROWS: &[(&str, &str)] = &[
    ("INTEGER, INT, BIGINT, ... (INTEGER affinity)", "integer storage only"),
    ("TEXT, CHAR(n), VARCHAR(n), CLOB (TEXT affinity)", "text storage only, valid UTF-8"),
    ("REAL, DOUBLE, FLOAT (REAL affinity)", "real, or integer up to 2^53"),
    ("BLOB", "blob storage only"),
    ("DECIMAL(p,s), NUMERIC(p,s), DECIMAL_TEXT(p,s)", "integer, real or text; exact at scale s, else an error"),
    ("BOOLEAN, BOOL", "integer 0 or 1"),
    ("DATE", "text YYYY-MM-DD"),
    ("TIME", "text HH:MM:SS[.fff or .ffffff]"),
    ("DATETIME, TIMESTAMP", "text YYYY-MM-DD HH:MM:SS[.fff or .ffffff]"),
    ("TIMESTAMPTZ", "text as TIMESTAMP with +00:00, UTC"),
    ("no type, NUMERIC, other (BLOB/NUMERIC affinity)", "decided by a scan: all integer -> Int64, integer/real -> Float64, text -> Utf8, blob -> Binary; mixed -> an error"),
];

/// Example declared type for each SQLite source row, used to compute its Arrow type.
const SQLITE_SOURCE_EXAMPLES: &[&str] = &[
    "INTEGER",
    "VARCHAR(44)",
    "REAL",
    "BLOB",
    "DECIMAL(15,2)",
    "BOOLEAN",
    "DATE",
    "TIME",
    "DATETIME",
    "TIMESTAMPTZ",
    "",
];

/// Arrow -> target rows of the README table.
fn arrow_target_examples() -> Vec<DataType> {
    use TimeUnit::{Microsecond as Us, Nanosecond as Ns};
    let utc = || Some("+00:00".into());
    vec![
        DataType::Boolean,
        DataType::Int8,
        DataType::Int16,
        DataType::Int32,
        DataType::Int64,
        DataType::UInt8,
        DataType::UInt16,
        DataType::UInt32,
        DataType::UInt64,
        DataType::Float32,
        DataType::Float64,
        DataType::Decimal128(15, 2),
        DataType::Decimal128(38, 10),
        DataType::Decimal256(76, 20),
        DataType::Utf8,
        DataType::Binary,
        DataType::Date32,
        DataType::Time64(Us),
        DataType::Time64(Ns),
        DataType::Timestamp(Us, None),
        DataType::Timestamp(Ns, None),
        DataType::Timestamp(Us, utc()),
        DataType::Timestamp(Ns, utc()),
        DataType::Duration(Us),
        DataType::Duration(Ns),
    ]
}

/// A column of the README's "Arrow to targets" table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Sqlite,
    Postgres,
    Mysql,
    Duckdb,
    Parquet,
    Csv,
}

/// What becomes of the values of Arrow type `t` in `target`: exact, exact by a rule (which), or
/// refused (and the message). The type-by-route matrix test (`tests/it/matrix.rs`) checks each
/// against the targets' own readers, value by value.
fn fidelity(target: Target, t: &DataType) -> &'static str {
    use DataType as D;
    use Target::*;
    use TimeUnit::Nanosecond as Ns;
    let ns = matches!(t, D::Time64(Ns) | D::Timestamp(Ns, _) | D::Duration(Ns));
    match (target, t) {
        (Parquet, _) => "exact",
        (Sqlite | Mysql, D::Boolean) => "exact: the integers 0 and 1",
        (Csv, D::Boolean) => "exact: `true` / `false`",
        (Sqlite, D::UInt64) => "exact: its decimal text (TEXT affinity)",
        (Csv, D::Int8 | D::Int16 | D::Int32 | D::Int64)
        | (Csv, D::UInt8 | D::UInt16 | D::UInt32 | D::UInt64) => "exact: decimal text",
        (Sqlite, D::Float32 | D::Float64) => {
            "exact, held as a double; -0.0 and NaN refused (`SQLite stores -0.0 as 0.0`, \
             `SQLite stores NaN as NULL`), or 0.0 and NULL with `--float-loss replace`"
        }
        (Mysql, D::Float32 | D::Float64) => {
            "exact; -0, NaN and ±inf refused (`-0 cannot be stored in MySQL`, `NaN cannot be \
             stored in MySQL`), or 0 and NULL with `--float-loss replace`"
        }
        (Postgres | Duckdb, D::Float32 | D::Float64) => "exact: NaN, ±inf and -0 kept",
        (Csv, D::Float32 | D::Float64) => "exact: shortest round-trip text, `NaN`, `inf`, `-inf`",
        (Sqlite, D::Decimal128(p, _)) if *p <= SQLITE_EXACT_REAL_DIGITS => {
            "exact: an integer when whole, else a real (whose shortest text is the decimal)"
        }
        (Sqlite, D::Decimal128(..) | D::Decimal256(..)) => "exact: its decimal text",
        (Mysql, D::Decimal256(..)) => {
            "refused before any row: `decimal(76,20) is wider than MySQL's DECIMAL` (exit 9)"
        }
        (Duckdb, D::Decimal256(..)) => {
            "exact: its decimal text (DuckDB's decimals end at 38 digits)"
        }
        (Csv, D::Decimal128(..) | D::Decimal256(..)) => "exact: plain decimal text at the scale",
        (Postgres, D::Utf8) => {
            "exact; a NUL refused by the server (`invalid byte sequence for encoding \"UTF8\": \
             0x00`); into a declared `character(n)`, a value ending in a blank refused (`ends in \
             a blank, which a character(5) column pads and strips`); into a declared \
             `varchar(n)` or `character(n)`, a longer value refused (`has 11 characters, more \
             than the 10 of its character varying(10) column`)"
        }
        (Mysql, D::Utf8) => {
            "exact: utf8mb4, binary collation, NUL kept; into a declared `char(n)`, a value \
             ending in a blank refused (`ends in a blank, which a char(5) column pads and \
             strips`); into a declared `varchar(n)` or `char(n)`, a longer value refused (`has \
             11 characters, more than the 10 of its varchar(10) column`)"
        }
        (Csv, D::Utf8) => {
            "exact; NULL is the null string (`\\N`), a value equal to it refused (`the value \
             equals the null string`)"
        }
        (Csv, D::Binary) => "exact: lowercase hex",
        (Sqlite, D::Date32) => {
            "exact: `YYYY-MM-DD` text, BC as negative years, ±infinity as `infinity` / \
             `-infinity`; years past 262143 refused (`date 5874897-12-31 is out of range`)"
        }
        (Postgres, D::Date32) => {
            "exact: BC dates; the largest and smallest are `infinity` / `-infinity`"
        }
        (Mysql, D::Date32) => {
            "exact for years 0000 to 9999, others refused (`date 4713-01-01 BC is out of \
             MySQL's range`)"
        }
        (Duckdb, D::Date32 | D::Timestamp(_, _)) if !ns => "exact; ±infinity as DuckDB's own",
        (Csv, D::Date32) => {
            "exact: `YYYY-MM-DD`, ±infinity as `infinity` / `-infinity`; years past 262143 \
             refused (`the value 300000-01-01 has no CSV text`)"
        }
        (Sqlite, D::Time64(_)) if !ns => "exact: `HH:MM:SS[.fff or .ffffff]` text, `24:00:00` too",
        (Postgres | Mysql | Duckdb, D::Time64(_)) if !ns => "exact, `24:00:00` too",
        (Csv, D::Time64(_)) if !ns => {
            "exact: `HH:MM:SS[.fraction]`, `24:00:00` too"
        }
        (Sqlite, D::Timestamp(_, None)) if !ns => {
            "exact: `YYYY-MM-DD HH:MM:SS[.fff or .ffffff]` text, ±infinity as `infinity` / \
             `-infinity`; years past 262143 refused (`is out of range`)"
        }
        (Sqlite, D::Timestamp(_, Some(_))) if !ns => {
            "exact: UTC text ending `+00:00`, ±infinity as `infinity` / `-infinity`; years \
             past 262143 refused (`is out of range`)"
        }
        (Postgres, D::Timestamp(..)) if !ns => {
            "exact: the largest and smallest are `infinity` / `-infinity`"
        }
        (Mysql, D::Timestamp(_, None)) if !ns => {
            "exact for years 0000 to 9999, others refused (`timestamp 4713-01-01 00:00:00 BC is out of \
             MySQL's range`)"
        }
        (Mysql, D::Timestamp(_, Some(_))) if !ns => {
            "exact, in UTC, for years 0000 to 9999; others refused (`is out of MySQL's range`)"
        }
        (Csv, D::Timestamp(..)) if !ns => {
            "exact: `YYYY-MM-DDTHH:MM:SS[.fraction]`, `+00:00` when zoned, ±infinity as \
             `infinity` / `-infinity`; years past 262143 refused (`has no CSV text`)"
        }
        (Sqlite, D::Duration(_)) => {
            "exact: `[-]HH:MM:SS[.ffffff]` text, nine digits for nanoseconds"
        }
        (Mysql, D::Duration(_)) if !ns => {
            "exact within ±838:59:59; beyond refused (`839:00:00 is out of MySQL's TIME range`)"
        }
        (Csv, D::Duration(_)) => {
            "refused before any row: `CSV cannot carry values of type Duration` (exit 9)"
        }
        // Nanoseconds where the target keeps microseconds.
        (Sqlite, _) if ns => {
            "as for microseconds; a value with nanoseconds refused (`has nanoseconds, which would be lost`)"
        }
        (Postgres, _) if ns => {
            "a value with nanoseconds refused (`has nanoseconds; PostgreSQL keeps \
             microseconds`)"
        }
        (Mysql, _) if ns => {
            "a value with nanoseconds refused (`has nanoseconds; MySQL keeps \
             microseconds`)"
        }
        (Duckdb, D::Time64(_) | D::Timestamp(_, None)) if ns => "exact",
        (Duckdb, _) if ns => {
            "a value with nanoseconds refused (`has nanoseconds; DuckDB's TIMESTAMPTZ \
             and INTERVAL keep microseconds`)"
        }
        (Csv, _) if ns => "exact: nine fraction digits",
        _ => "exact",
    }
}

/// The README's type-mapping section, generated from the rules above.
pub fn mapping_markdown() -> String {
    let mut out = String::new();
    out.push_str(
        "### SQLite source\n\n| declared type | values accepted | Arrow type |\n|---|---|---|\n",
    );
    for ((decl, accepted), example) in SQLITE_SOURCE_ROWS.iter().zip(SQLITE_SOURCE_EXAMPLES) {
        let arrow = match sqlite_read(example) {
            SqliteRead::Decimal { .. } => {
                "`Decimal128(p, s)`; `Decimal256(p, s)` above 38 digits".into()
            }
            read => match read.arrow_type() {
                Some(t) => format!("`{t}`"),
                None => "by scan".to_string(),
            },
        };
        out.push_str(&format!("| {decl} | {accepted} | {arrow} |\n"));
    }
    out.push_str(
        "\n### PostgreSQL source\n\nTypes come from the catalog (`format_type`), domains as their \
         base type; NOT NULL and the primary key are kept in the field metadata, and so is the \
         definition of an enum a column's type is (or is an array of): its schema, name and \
         labels in their order (`ferry.pg_enum`), so a PostgreSQL target can create it, from the \
         source or from a snapshot.\n\n\
         | declared type | Arrow type | notes |\n|---|---|---|\n",
    );
    for (decl, arrow, note) in postgres::source_rows() {
        out.push_str(&format!("| {decl} | {arrow} | {note} |\n"));
    }
    out.push_str(
        "\n### MySQL / MariaDB source\n\nTypes come from `information_schema.columns` (the \
         full `COLUMN_TYPE`; MariaDB's `json`, a `longtext` with a `json_valid` check, is \
         recognised), NOT NULL and the primary key are kept; a query's columns are typed from \
         the protocol's column metadata. Generated columns are read as their values and created \
         as plain columns.\n\n\
         | declared type | Arrow type | notes |\n|---|---|---|\n",
    );
    for (decl, arrow, note) in mysql::source_rows() {
        out.push_str(&format!("| {decl} | {arrow} | {note} |\n"));
    }
    out.push_str(
        "\n### Arrow to targets\n\nA column keeps its declared type verbatim in a target of its own \
         kind (SQLite to SQLite, PostgreSQL to PostgreSQL: `numeric(15,2)`, `integer[]`, \
         `interval`, an enum). Otherwise the target type comes from the source type recorded in \
         the field metadata (`ferry.source_type`), or from the Arrow type. A recorded type that \
         contradicts the Arrow type that travels gives way to it, in a target of its own kind \
         too: a MySQL `tinyint(1)` read as `Int8` (`?tinyint1=int`) is a `smallint` in \
         PostgreSQL, SQLite and DuckDB (and stays `tinyint(1)` in MySQL), never a boolean; an \
         `integer` spelling on text is text. PostgreSQL spellings are parsed whole \
         (`timestamp(6) with time zone` is a timestamp with time zone; `time(p) with time \
         zone`, `interval ...`, `bit(n)` and arrays travel as PostgreSQL's text, and are text \
         in other targets).\n\n\
         Each cell says whether the values arrive exact, exact by a rule (which), or are \
         refused (and the message, which names the table, the column and the row; exit 5 \
         unless said). `tests/it/matrix.rs` copies a torture table of every PostgreSQL, \
         MariaDB, SQLite and Parquet type into every target and checks each cell against the \
         target's own reader.\n\n\
         | Arrow type | SQLite | PostgreSQL | MySQL / MariaDB | DuckDB | Parquet | CSV |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for t in &arrow_target_examples() {
        let f = Field::new("c", t.clone(), true);
        let (sqlite, pg) = match sql_type_of_arrow("c", t) {
            Ok(s) => (sqlite_type_for(s), postgres::pg_type_for(s)),
            Err(_) => ("unsupported".into(), "unsupported".into()),
        };
        let cell = |name: String, target: Target| format!("`{name}`: {}", fidelity(target, t));
        let my = match mysql::my_target_type(&f) {
            Ok(m) => cell(m, Target::Mysql),
            Err(_) => fidelity(Target::Mysql, t).to_string(),
        };
        let duck = match duckdb::duckdb_target_type(&f) {
            Ok(d) => cell(d, Target::Duckdb),
            Err(_) => "unsupported".into(),
        };
        out.push_str(&format!(
            "| `{t}` | {} | {} | {my} | {duck} | {} | {} |\n",
            cell(sqlite, Target::Sqlite),
            cell(pg, Target::Postgres),
            cell(t.to_string(), Target::Parquet),
            fidelity(Target::Csv, t),
        ));
    }
    out.push_str(
        "\nSQLite targets: SQLite stores NaN as NULL and -0.0 as 0.0, so either is an error \
         naming table, column, row and value, unless `--float-loss replace` asks for NULL and \
         0.0 (counted per column in the report; NaN in a NOT NULL column stays an error); \
         ±infinity is kept. A duration (MySQL's `time`) is its exact \
         `[-]HH:MM:SS[.ffffff]` text. DuckDB targets: PostgreSQL's `infinity` and `-infinity` \
         dates and timestamps arrive as DuckDB's own (a DuckDB table read back gives PostgreSQL's); decimals \
         wider than DuckDB's 38 digits arrive as their exact text in a `VARCHAR`.\n\n\
         A PostgreSQL target column of a type ferry has no binary encoder for (arrays, `inet`, \
         `interval`, enums, ranges, ...) is loaded as text into the staging table and converted \
         once by PostgreSQL's own input function (`ALTER COLUMN ... TYPE t USING c::t`) before the \
         swap: exact, at the cost of one rewrite of that table.\n\n\
         MySQL targets: text columns are `utf8mb4` with the binary collation `utf8mb4_bin`, so \
         values distinct at the source (by case, by accents) stay distinct; a text or blob column \
         in the primary key becomes `varchar(n)` / `varbinary(n)`, n sharing InnoDB's 3072-byte \
         key limit among the key's text columns; a longer value fails the load. `varchar(n)` \
         stays `varchar(n)` up to 4096 characters, then `text` / `mediumtext`. A timestamp with \
         time zone becomes `datetime(6)` holding UTC (MySQL's `timestamp` ends in 2038), a \
         duration `time(6)` (±838:59:59); a PostgreSQL `interval` (read as its ISO 8601 text, months and days included) arrives as that text. A MySQL source's declared type is kept verbatim. \
         MySQL's and MariaDB's `float` and `double` keep -0 as 0 and have no NaN or ±infinity: \
         each is an error naming table, column, row and value, unless `--float-loss replace` \
         asks for 0 and NULL (counted per column in the report; NULL in a NOT NULL column \
         stays an error).\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_read_follows_affinity_and_known_names() {
        assert_eq!(sqlite_read("INTEGER"), SqliteRead::Integer);
        assert_eq!(sqlite_read("BIGINT"), SqliteRead::Integer);
        assert_eq!(sqlite_read("varchar(44)"), SqliteRead::Text);
        assert_eq!(sqlite_read("CHAR(1)"), SqliteRead::Text);
        assert_eq!(sqlite_read("DOUBLE PRECISION"), SqliteRead::Real);
        assert_eq!(
            sqlite_read("DECIMAL(15,2)"),
            SqliteRead::Decimal {
                precision: 15,
                scale: 2
            }
        );
        assert_eq!(
            sqlite_read("decimal(15, 2)"),
            SqliteRead::Decimal {
                precision: 15,
                scale: 2
            }
        );
        assert_eq!(
            sqlite_read("DECIMAL_TEXT(40,20)"),
            SqliteRead::Decimal {
                precision: 40,
                scale: 20
            }
        );
        assert_eq!(sqlite_read("DATE"), SqliteRead::Date);
        assert_eq!(sqlite_read("BLOB"), SqliteRead::Blob);
        assert_eq!(sqlite_read(""), SqliteRead::Infer);
        assert_eq!(sqlite_read("NUMERIC"), SqliteRead::Infer);
        assert_eq!(sqlite_read("MONEY"), SqliteRead::Infer);
    }

    #[test]
    fn sqlite_targets_keep_declared_types() {
        let f = field_with_source(
            "q",
            DataType::Decimal128(15, 2),
            false,
            "sqlite",
            "DECIMAL(15,2)",
        );
        assert_eq!(sqlite_target_type(&f).unwrap(), "DECIMAL(15,2)");
        let f = field_with_source(
            "c",
            DataType::Utf8,
            false,
            "postgres",
            "character varying(44)",
        );
        assert_eq!(sqlite_target_type(&f).unwrap(), "VARCHAR(44)");
        let f = Field::new("d", DataType::Decimal256(40, 20), true);
        assert_eq!(sqlite_target_type(&f).unwrap(), "DECIMAL_TEXT(40,20)");
        assert_eq!(sqlite_affinity("DECIMAL_TEXT(40,20)"), Affinity::Text);
        let f = Field::new("l", DataType::new_list(DataType::Int32, true), true);
        assert!(sqlite_target_type(&f)
            .unwrap_err()
            .to_string()
            .contains("column \"l\""));
    }

    /// The target types for PostgreSQL, SQLite, DuckDB and MySQL of a field declared `declared`
    /// in `dialect` that carries `data_type`.
    fn targets(dialect: &str, declared: &str, data_type: DataType) -> [String; 4] {
        let f = field_with_source("c", data_type, true, dialect, declared);
        [
            postgres::pg_target_type(&f).unwrap(),
            sqlite_target_type(&f).unwrap(),
            duckdb::duckdb_target_type(&f).unwrap(),
            mysql::my_target_type(&f).unwrap(),
        ]
    }

    #[test]
    fn a_declaration_that_contradicts_the_arrow_type_gives_way_to_it() {
        use DataType as D;
        let tz = || D::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()));
        let us = |tz: Option<&str>| D::Timestamp(TimeUnit::Microsecond, tz.map(Into::into));
        // (dialect, declared, Arrow type, [PostgreSQL, SQLite, DuckDB, MySQL]); "-": a MySQL
        // declaration in a MySQL target is types::mysql's to decide.
        let cases: Vec<(&str, &str, DataType, [&str; 4])> = vec![
            // MySQL's tinyint(1) read as integers (`?tinyint1=int`) is a tinyint everywhere,
            // and keeps its spelling in MySQL; read as a boolean it is one.
            (
                "mysql",
                "tinyint(1)",
                D::Int8,
                ["smallint", "SMALLINT", "SMALLINT", "tinyint(1)"],
            ),
            (
                "mysql",
                "tinyint(1)",
                D::Boolean,
                ["boolean", "BOOLEAN", "BOOLEAN", "tinyint(1)"],
            ),
            (
                "mysql",
                "bool",
                D::Int8,
                ["smallint", "SMALLINT", "SMALLINT", "bool"],
            ),
            (
                "mysql",
                "tinyint(1) unsigned",
                D::UInt8,
                ["smallint", "SMALLINT", "SMALLINT", "tinyint(1) unsigned"],
            ),
            // Agreeing declarations keep their lengths, precision and kind.
            (
                "mysql",
                "varchar(44)",
                D::Utf8,
                [
                    "character varying(44)",
                    "VARCHAR(44)",
                    "VARCHAR",
                    "varchar(44)",
                ],
            ),
            (
                "mysql",
                "bigint(20) unsigned",
                D::UInt64,
                [
                    "numeric(20,0)",
                    "DECIMAL_TEXT(20,0)",
                    "DECIMAL(20,0)",
                    "bigint(20) unsigned",
                ],
            ),
            (
                "mysql",
                "bit(12)",
                D::UInt64,
                ["bigint", "INTEGER", "BIGINT", "bit(12)"],
            ),
            (
                "mysql",
                "time(6)",
                D::Duration(TimeUnit::Microsecond),
                ["interval", "TEXT", "INTERVAL", "time(6)"],
            ),
            (
                "postgres",
                "numeric(10,2)",
                D::Utf8,
                [
                    "numeric(10,2)",
                    "DECIMAL(10,2)",
                    "DECIMAL(10,2)",
                    "decimal(10,2)",
                ],
            ),
            (
                "sqlite",
                "SMALLINT",
                D::Int64,
                ["smallint", "SMALLINT", "SMALLINT", "smallint"],
            ),
            // Contradicted: the Arrow type decides, in every target, its own dialect's too.
            (
                "postgres",
                "boolean",
                D::Int8,
                ["smallint", "SMALLINT", "SMALLINT", "smallint"],
            ),
            (
                "sqlite",
                "BOOLEAN",
                D::Int64,
                ["bigint", "INTEGER", "BIGINT", "bigint"],
            ),
            (
                "duckdb",
                "BOOLEAN",
                D::Int32,
                ["integer", "INT", "INTEGER", "int"],
            ),
            (
                "postgres",
                "integer",
                D::Utf8,
                ["text", "TEXT", "VARCHAR", "longtext"],
            ),
            (
                "sqlite",
                "INTEGER",
                D::Float64,
                ["double precision", "REAL", "DOUBLE", "double"],
            ),
            (
                "postgres",
                "real",
                D::Float64,
                ["double precision", "REAL", "DOUBLE", "double"],
            ),
            (
                "postgres",
                "numeric(15,2)",
                D::Decimal128(15, 4),
                [
                    "numeric(15,4)",
                    "DECIMAL(15,4)",
                    "DECIMAL(15,4)",
                    "decimal(15,4)",
                ],
            ),
            (
                "mysql",
                "decimal(15,2)",
                D::Float64,
                ["double precision", "REAL", "DOUBLE", "-"],
            ),
            (
                "postgres",
                "numeric(15,2)",
                D::Int64,
                [
                    "numeric(15,2)",
                    "DECIMAL(15,2)",
                    "DECIMAL(15,2)",
                    "decimal(15,2)",
                ],
            ),
            (
                "postgres",
                "timestamp without time zone",
                tz(),
                [
                    "timestamp with time zone",
                    "TIMESTAMPTZ",
                    "TIMESTAMPTZ",
                    "datetime(6)",
                ],
            ),
            (
                "sqlite",
                "TIMESTAMPTZ",
                us(None),
                [
                    "timestamp without time zone",
                    "TIMESTAMP",
                    "TIMESTAMP",
                    "datetime(6)",
                ],
            ),
            (
                "sqlite",
                "DATE",
                us(None),
                [
                    "timestamp without time zone",
                    "TIMESTAMP",
                    "TIMESTAMP",
                    "datetime(6)",
                ],
            ),
            (
                "mysql",
                "time(6)",
                D::Utf8,
                ["text", "TEXT", "VARCHAR", "-"],
            ),
            (
                "postgres",
                "bytea",
                D::Utf8,
                ["text", "TEXT", "VARCHAR", "longtext"],
            ),
            (
                "sqlite",
                "TEXT",
                D::Binary,
                ["bytea", "BLOB", "BLOB", "longblob"],
            ),
            (
                "postgres",
                "character(3)",
                D::Int16,
                ["smallint", "SMALLINT", "SMALLINT", "smallint"],
            ),
            // Declarations ferry does not parse stay verbatim in their own kind of target.
            (
                "postgres",
                "inet",
                D::Utf8,
                ["inet", "TEXT", "VARCHAR", "longtext"],
            ),
            (
                "duckdb",
                "INTEGER[]",
                D::Utf8,
                ["text", "TEXT", "INTEGER[]", "longtext"],
            ),
        ];
        for (dialect, declared, data_type, want) in cases {
            let mut got = targets(dialect, declared, data_type.clone());
            if want[3] == "-" {
                got[3] = "-".into();
            }
            assert_eq!(
                got,
                want.map(String::from),
                "{dialect} {declared} as {data_type}"
            );
        }
    }

    #[test]
    fn agreement_by_kind() {
        use DataType as D;
        assert!(declared_agrees(SqlType::Boolean, &D::Boolean));
        for t in [D::Int8, D::Int16, D::UInt8, D::Int64, D::Utf8, D::Float64] {
            assert!(!declared_agrees(SqlType::Boolean, &t), "{t}");
            assert!(!declared_agrees(SqlType::Date, &t), "{t}");
        }
        let dec = SqlType::Decimal {
            precision: 15,
            scale: 2,
        };
        assert!(declared_agrees(dec, &D::Decimal128(38, 2)));
        assert!(declared_agrees(dec, &D::Decimal256(10, 0)));
        assert!(!declared_agrees(dec, &D::Decimal128(15, 3)));
        assert!(!declared_agrees(SqlType::Real, &D::Float64));
        assert!(declared_agrees(SqlType::Double, &D::Float32));
        assert!(!declared_agrees(SqlType::Time, &D::Utf8));
        assert!(!declared_agrees(
            SqlType::Interval,
            &D::Time64(TimeUnit::Microsecond)
        ));
        // The MySQL target keeps tinyint(1) on Int8; PostgreSQL does not make it a boolean.
        let f = field_with_source("b", D::Int8, true, "mysql", "tinyint(1)");
        assert_eq!(own_declared(&f, &["mysql"]), Some("tinyint(1)"));
        assert_eq!(declared_sql_type(&f), Some(SqlType::SmallInt));
        let f = field_with_source("b", D::Int8, true, "postgres", "boolean");
        assert_eq!(own_declared(&f, &["postgres"]), None);
        assert_eq!(declared_sql_type(&f), None);
    }

    #[test]
    fn modifiers_anywhere_and_arrays_in_other_dialects() {
        assert_eq!(
            parse_declared("sqlite", "TIMESTAMP(6) WITH TIME ZONE"),
            Some(SqlType::TimestampTz)
        );
        assert_eq!(
            sqlite_read("TIMESTAMP(6) WITH TIME ZONE"),
            SqliteRead::TimestampTz
        );
        assert_eq!(
            parse_declared("duckdb", "TIME WITH TIME ZONE"),
            None,
            "not a time of day"
        );
        assert_eq!(parse_declared("duckdb", "DECIMAL(15,2)[]"), None);
        assert_eq!(parse_declared("duckdb", "VARCHAR[]"), None);
        assert_eq!(parse_declared("sqlite", "DECIMAL(15,x)"), None);
        assert_eq!(parse_declared("duckdb", "FLOAT"), Some(SqlType::Real));
        assert_eq!(parse_declared("sqlite", "FLOAT"), Some(SqlType::Double));
        assert_eq!(parse_declared("duckdb", "STRUCT(a DECIMAL(15,2))"), None);
        assert_eq!(
            parse_declared("ferry", "decimal( 15 , 2 )"),
            Some(SqlType::Decimal {
                precision: 15,
                scale: 2
            })
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b c"), "\"a\"\"b c\"");
    }
}
