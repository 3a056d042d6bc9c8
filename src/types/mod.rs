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

/// Splits `DECIMAL(15, 2)` into (`DECIMAL`, [15, 2]); the name upper-cased, spaces folded.
fn split_declared(declared: &str) -> (String, Vec<i64>) {
    let (name, args) = match declared.find('(') {
        Some(i) => (
            &declared[..i],
            declared[i + 1..].trim_end().trim_end_matches(')'),
        ),
        None => (declared, ""),
    };
    let name = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase();
    let args = args
        .split(',')
        .filter_map(|a| a.trim().parse::<i64>().ok())
        .collect();
    (name, args)
}

fn decimal_args(args: &[i64]) -> Option<(u8, i8)> {
    let p = *args.first()?;
    let s = args.get(1).copied().unwrap_or(0);
    ((1..=76).contains(&p) && (0..=p).contains(&s)).then_some((p as u8, s as i8))
}

/// Parses a declared type of `dialect` into a [`SqlType`]; `None` if ferry does not know it.
pub fn parse_declared(dialect: &str, declared: &str) -> Option<SqlType> {
    let (name, args) = split_declared(declared);
    let len = args.first().map(|&n| n as u32);
    Some(match name.as_str() {
        "BOOL" | "BOOLEAN" => SqlType::Boolean,
        "SMALLINT" | "INT2" | "TINYINT" => SqlType::SmallInt,
        // SQLite integers are 64-bit whatever the name.
        "INT" | "INTEGER" | "INT4" | "MEDIUMINT" if dialect == "sqlite" => SqlType::BigInt,
        "INT" | "INTEGER" | "INT4" | "MEDIUMINT" => SqlType::Integer,
        "BIGINT" | "INT8" => SqlType::BigInt,
        "REAL" | "FLOAT4" if dialect != "sqlite" => SqlType::Real,
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

/// The SQL type of a field: its recorded source type if ferry knows it, else its Arrow type's.
pub fn sql_type_of(field: &Field) -> Result<SqlType> {
    if let Some((mysql::DIALECT, declared)) = source_type(field) {
        if let Some(t) = mysql::sql_type(declared) {
            return Ok(t);
        }
    }
    if let Some(t) = source_type(field).and_then(|(d, t)| parse_declared(d, t)) {
        return Ok(t);
    }
    sql_type_of_arrow(field.name(), field.data_type())
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
    let (name, _) = split_declared(declared);
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
/// them: `data/tpch-sqlite.sql`); others are mapped from their SQL type. Decimals wider than 15
/// digits are declared `DECIMAL_TEXT(p,s)`: TEXT affinity, so SQLite keeps every digit as text.
pub fn sqlite_target_type(field: &Field) -> Result<String> {
    if let Some(("sqlite" | "tpch", declared)) = source_type(field) {
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
    vec![
        DataType::Boolean,
        DataType::Int16,
        DataType::Int32,
        DataType::Int64,
        DataType::UInt64,
        DataType::Float32,
        DataType::Float64,
        DataType::Decimal128(15, 2),
        DataType::Decimal128(38, 10),
        DataType::Decimal256(76, 20),
        DataType::Utf8,
        DataType::Binary,
        DataType::Date32,
        DataType::Time64(TimeUnit::Microsecond),
        DataType::Timestamp(TimeUnit::Microsecond, None),
        DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
    ]
}

fn csv_form(t: &DataType) -> &'static str {
    match t {
        DataType::Boolean => "true / false",
        DataType::Float32 | DataType::Float64 => "shortest round-trip text, NaN, inf, -inf",
        DataType::Decimal128(..) | DataType::Decimal256(..) => "plain decimal text, exact",
        DataType::Binary => "hex",
        DataType::Date32 => "YYYY-MM-DD",
        DataType::Time64(_) => "HH:MM:SS[.fraction]",
        DataType::Timestamp(_, None) => "YYYY-MM-DDTHH:MM:SS[.fraction]",
        DataType::Timestamp(_, Some(_)) => "YYYY-MM-DDTHH:MM:SS[.fraction]+HH:MM",
        DataType::Utf8 => "text; NULL is the null string (default \\N)",
        _ => "decimal text",
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
         the field metadata (`ferry.source_type`), or from the Arrow type:\n\n\
         | Arrow type | SQLite target | PostgreSQL target | MySQL target | Parquet | CSV text |\n|---|---|---|---|---|---|\n",
    );
    for t in &arrow_target_examples() {
        let (sqlite, pg) = match sql_type_of_arrow("c", t) {
            Ok(s) => (sqlite_type_for(s), postgres::pg_type_for(s)),
            Err(_) => ("unsupported".into(), "unsupported".into()),
        };
        let my = match mysql::my_target_type(&Field::new("c", t.clone(), true)) {
            Ok(m) => format!("`{m}`"),
            Err(_) => "an error: wider than MySQL's DECIMAL(65,30)".into(),
        };
        out.push_str(&format!(
            "| `{t}` | `{sqlite}` | `{pg}` | {my} | `{t}` (native) | {} |\n",
            csv_form(t)
        ));
    }
    out.push_str(
        "\nA PostgreSQL target column of a type ferry has no binary encoder for (arrays, `inet`, \
         `interval`, enums, ranges, ...) is loaded as text into the staging table and converted \
         once by PostgreSQL's own input function (`ALTER COLUMN ... TYPE t USING c::t`) before the \
         swap: exact, at the cost of one rewrite of that table.\n\n\
         MySQL targets: text columns are `utf8mb4` with the binary collation `utf8mb4_bin`, so \
         values distinct at the source (by case, by accents) stay distinct; a text or blob column \
         in the primary key becomes `varchar(n)` / `varbinary(n)`, n sharing InnoDB's 3072-byte \
         key limit among the key's text columns; a longer value fails the load. `varchar(n)` \
         stays `varchar(n)` up to 4096 characters, then `text` / `mediumtext`. A timestamp with \
         time zone becomes `datetime(6)` holding UTC (MySQL's `timestamp` ends in 2038), a \
         duration `time(6)` (±838:59:59); a PostgreSQL `interval` (read as its ISO 8601 text, months and days included) arrives as that text. A MySQL source's declared type is kept verbatim.\n",
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

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b c"), "\"a\"\"b c\"");
    }
}
