//! PostgreSQL's side of the type mapping: how the source reads each catalog type into Arrow, and
//! which column type and wire encoding the sink uses for each Arrow field.

use arrow::datatypes::{DataType, Field, TimeUnit};

use super::{own_declared, parse_declared, source_type, sql_type_of, SqlType};
use crate::error::Result;

/// The dialect name recorded in field metadata for PostgreSQL sources.
pub const DIALECT: &str = "postgres";

/// Field-metadata key of a column whose type is an enum, or an array of one: the enum's
/// definition as JSON (`{"schema": "public", "name": "mood", "labels": ["sad", "ok"]}`), so a
/// PostgreSQL target that lacks the type can create it, as a snapshot can later.
pub const META_PG_ENUM: &str = "ferry.pg_enum";

/// A PostgreSQL enum type: its schema, name and labels in their sort order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PgEnum {
    pub schema: String,
    pub name: String,
    pub labels: Vec<String>,
}

impl PgEnum {
    /// The enum a field's metadata records, if any.
    pub fn of_field(field: &Field) -> Result<Option<PgEnum>> {
        let Some(json) = field.metadata().get(META_PG_ENUM) else {
            return Ok(None);
        };
        serde_json::from_str(json).map(Some).map_err(|e| {
            crate::error::Error::invalid_data(format!(
                "column \"{}\": its {META_PG_ENUM} metadata is not an enum definition: {e}",
                field.name()
            ))
        })
    }

    /// The field with this enum recorded in its metadata.
    pub fn on_field(&self, field: Field) -> Field {
        let mut meta = field.metadata().clone();
        meta.insert(
            META_PG_ENUM.into(),
            serde_json::to_string(self).expect("an enum definition serializes"),
        );
        field.with_metadata(meta)
    }

    /// `CREATE TYPE "schema"."name" AS ENUM (...)`, identifiers quoted, labels as literals.
    pub fn create_sql(&self) -> String {
        let labels = self
            .labels
            .iter()
            .map(|l| super::quote_literal(l))
            .collect::<Vec<_>>()
            .join(", ");
        format!("CREATE TYPE {} AS ENUM ({labels})", self.qualified())
    }

    /// `"schema"."name"`.
    pub fn qualified(&self) -> String {
        format!(
            "{}.{}",
            super::quote_ident(&self.schema),
            super::quote_ident(&self.name)
        )
    }
}

/// A PostgreSQL type as `format_type` spells it (`time(6) with time zone`, `interval day to
/// second(3)`, `character varying(44)[]`), taken apart: its modifiers stand in the middle of
/// some names, so the name is never just what comes before the first parenthesis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgType {
    Boolean,
    SmallInt,
    Integer,
    BigInt,
    Real,
    Double,
    /// `numeric(p,s)`; `None` when unconstrained. PostgreSQL allows p up to 1000 and a scale
    /// from -1000 to 1000.
    Numeric(Option<(u32, i32)>),
    /// `character(n)`; `None` for `bpchar`, blank-padded without a length.
    Char(Option<u32>),
    /// `character varying(n)`; `None` without a length.
    Varchar(Option<u32>),
    Text,
    Bytea,
    Date,
    /// `time(p) without time zone` or, with `tz`, `time(p) with time zone` (`timetz`).
    Time {
        precision: Option<u32>,
        tz: bool,
    },
    /// `timestamp(p) without time zone` or, with `tz`, `timestamp(p) with time zone`.
    Timestamp {
        precision: Option<u32>,
        tz: bool,
    },
    /// `interval`, with its fields (`year to month`, `day to second`) and its precision
    /// (`interval(2)`, `interval day to second(3)`).
    Interval {
        fields: Option<String>,
        precision: Option<u32>,
    },
    /// `bit(n)`.
    Bit(Option<u32>),
    /// `bit varying(n)`.
    VarBit(Option<u32>),
    Json,
    Jsonb,
    Uuid,
    /// An array of the element type (`format_type` writes one `[]` whatever the dimensions).
    Array(Box<PgType>),
    /// Any other type (`inet`, `money`, `name`, an enum, a range, `"char"`), as spelt.
    Other(String),
}

impl PgType {
    /// Parses a `format_type` spelling; the short names (`int4`, `timestamptz`, `varchar(n)`)
    /// are taken too. A spelling ferry does not know, or whose modifiers it cannot read, is
    /// [`PgType::Other`].
    pub fn parse(declared: &str) -> PgType {
        let declared = declared.trim();
        if let Some(elem) = declared.strip_suffix("[]") {
            return PgType::Array(Box::new(PgType::parse(elem)));
        }
        let other = || PgType::Other(declared.to_string());
        // A quoted name is a type of the user's (or `"char"`), never a built-in spelling.
        if declared.starts_with('"') {
            return other();
        }
        let Some((name, args)) = name_and_modifier(declared) else {
            return other();
        };
        let one = |args: &[i64]| -> Option<Option<u32>> {
            match args {
                [] => Some(None),
                [n] => u32::try_from(*n).ok().map(Some),
                _ => None,
            }
        };
        let t = match name.as_str() {
            "boolean" | "bool" => Some(PgType::Boolean),
            "smallint" | "int2" => Some(PgType::SmallInt),
            "integer" | "int" | "int4" => Some(PgType::Integer),
            "bigint" | "int8" => Some(PgType::BigInt),
            "real" | "float4" => Some(PgType::Real),
            "double precision" | "float8" => Some(PgType::Double),
            "numeric" | "decimal" => match args.as_slice() {
                [] => Some(PgType::Numeric(None)),
                [p] => u32::try_from(*p)
                    .ok()
                    .map(|p| PgType::Numeric(Some((p, 0)))),
                [p, s] => match (u32::try_from(*p), i32::try_from(*s)) {
                    (Ok(p), Ok(s)) => Some(PgType::Numeric(Some((p, s)))),
                    _ => None,
                },
                _ => None,
            },
            // `character` alone is `character(1)`; `bpchar` has no length.
            "character" | "char" => one(&args).map(|n| PgType::Char(Some(n.unwrap_or(1)))),
            "bpchar" => one(&args).map(PgType::Char),
            "character varying" | "varchar" => one(&args).map(PgType::Varchar),
            "text" => Some(PgType::Text),
            "bytea" => Some(PgType::Bytea),
            "date" => Some(PgType::Date),
            "time" | "time without time zone" => one(&args).map(|precision| PgType::Time {
                precision,
                tz: false,
            }),
            "time with time zone" | "timetz" => one(&args).map(|precision| PgType::Time {
                precision,
                tz: true,
            }),
            "timestamp" | "timestamp without time zone" => {
                one(&args).map(|precision| PgType::Timestamp {
                    precision,
                    tz: false,
                })
            }
            "timestamp with time zone" | "timestamptz" => {
                one(&args).map(|precision| PgType::Timestamp {
                    precision,
                    tz: true,
                })
            }
            "bit" => one(&args).map(PgType::Bit),
            "bit varying" | "varbit" => one(&args).map(PgType::VarBit),
            "json" => Some(PgType::Json),
            "jsonb" => Some(PgType::Jsonb),
            "uuid" => Some(PgType::Uuid),
            n if n == "interval" || n.starts_with("interval ") => {
                let fields = n.strip_prefix("interval").map(str::trim).unwrap_or("");
                let known = INTERVAL_FIELDS.contains(&fields);
                match (known, one(&args)) {
                    (true, Some(precision)) => Some(PgType::Interval {
                        fields: (!fields.is_empty()).then(|| fields.to_string()),
                        precision,
                    }),
                    _ => None,
                }
            }
            _ => None,
        };
        t.unwrap_or_else(other)
    }

    /// The dialect-neutral SQL type this PostgreSQL type stands for at targets of other kinds;
    /// `None` where there is none and the Arrow type decides: arrays, `timetz` (its text keeps
    /// the offset), `interval` (months and days are not a duration), `bit`, `uuid`, and a
    /// `numeric` wider than 76 digits, negatively scaled or unconstrained (read as exact text).
    pub fn sql_type(&self) -> Option<SqlType> {
        Some(match self {
            PgType::Boolean => SqlType::Boolean,
            PgType::SmallInt => SqlType::SmallInt,
            PgType::Integer => SqlType::Integer,
            PgType::BigInt => SqlType::BigInt,
            PgType::Real => SqlType::Real,
            PgType::Double => SqlType::Double,
            PgType::Numeric(Some((p, s)))
                if (1..=76).contains(p) && (0..=*p as i32).contains(s) =>
            {
                SqlType::Decimal {
                    precision: *p as u8,
                    scale: *s as i8,
                }
            }
            PgType::Char(Some(n)) => SqlType::Char(*n),
            PgType::Varchar(Some(n)) => SqlType::Varchar(*n),
            PgType::Char(None) | PgType::Varchar(None) | PgType::Text => SqlType::Text,
            PgType::Bytea => SqlType::Blob,
            PgType::Date => SqlType::Date,
            PgType::Time { tz: false, .. } => SqlType::Time,
            PgType::Timestamp { tz: false, .. } => SqlType::Timestamp,
            PgType::Timestamp { tz: true, .. } => SqlType::TimestampTz,
            PgType::Json | PgType::Jsonb => SqlType::Json,
            PgType::Numeric(_)
            | PgType::Time { tz: true, .. }
            | PgType::Interval { .. }
            | PgType::Bit(_)
            | PgType::VarBit(_)
            | PgType::Uuid
            | PgType::Array(_)
            | PgType::Other(_) => return None,
        })
    }
}

/// The fields an `interval` may be restricted to, as `format_type` prints them.
const INTERVAL_FIELDS: [&str; 14] = [
    "",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "year to month",
    "day to hour",
    "day to minute",
    "day to second",
    "hour to minute",
    "hour to second",
    "minute to second",
];

/// A spelling's name, lower-cased with spaces folded and its modifier removed wherever it
/// stands (`time(6) with time zone` -> `time with time zone`), and the modifier's integers.
/// `None` for more than one modifier or one that is not a list of integers.
fn name_and_modifier(declared: &str) -> Option<(String, Vec<i64>)> {
    let mut name = String::with_capacity(declared.len());
    let mut modifier: Option<String> = None;
    let mut rest = declared;
    while let Some(open) = rest.find('(') {
        let close = open + rest[open..].find(')')?;
        if modifier.is_some() {
            return None;
        }
        name.push_str(&rest[..open]);
        name.push(' ');
        modifier = Some(rest[open + 1..close].to_string());
        rest = &rest[close + 1..];
    }
    name.push_str(rest);
    if name.contains(')') {
        return None;
    }
    let name = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    let args = match modifier {
        None => Vec::new(),
        Some(m) => m
            .split(',')
            .map(|a| a.trim().parse::<i64>().ok())
            .collect::<Option<Vec<_>>>()?,
    };
    Some((name, args))
}

/// How the PostgreSQL source reads a column (decoded from `COPY ... (FORMAT binary)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgRead {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// `numeric(p,s)` with p <= 38.
    Decimal128 {
        precision: u8,
        scale: i8,
    },
    /// `numeric(p,s)` with 38 < p <= 76.
    Decimal256 {
        precision: u8,
        scale: i8,
    },
    /// Unconstrained or wider `numeric`: exact decimal text, `NaN` and `±Infinity` included.
    NumericText,
    /// Types whose binary form is their text: text, varchar, name, json, enums.
    Text,
    /// `char(n)`: its text without the trailing blanks PostgreSQL pads it with (as its own
    /// `char(n)::text` does; the blanks are not significant in PostgreSQL).
    Bpchar,
    /// `jsonb`: a version byte, then the text.
    Jsonb,
    /// `uuid`: 16 bytes, read as its canonical text.
    Uuid,
    Bytea,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    /// Everything else (arrays, inet, interval, ranges, money, ...): the column is selected as
    /// `::text` and kept as PostgreSQL's own text form, with its type in the field metadata.
    AsText,
}

impl PgRead {
    /// Decides the read of a column from its base type (`pg_type.typname`, `typtype`) and its
    /// formatted type (`format_type`, which carries `numeric`'s precision and scale).
    /// `numeric_as_text` reads every numeric as exact text (for NaN in a `numeric(p,s)`).
    pub fn of(typname: &str, typtype: &str, formatted: &str, numeric_as_text: bool) -> PgRead {
        match typname {
            "bool" => PgRead::Bool,
            "int2" => PgRead::Int2,
            "int4" => PgRead::Int4,
            "int8" => PgRead::Int8,
            "float4" => PgRead::Float4,
            "float8" => PgRead::Float8,
            "numeric" if numeric_as_text => PgRead::NumericText,
            "numeric" => match parse_declared(DIALECT, formatted) {
                Some(SqlType::Decimal { precision, scale }) if precision <= 38 => {
                    PgRead::Decimal128 { precision, scale }
                }
                Some(SqlType::Decimal { precision, scale }) => {
                    PgRead::Decimal256 { precision, scale }
                }
                _ => PgRead::NumericText,
            },
            "bpchar" => PgRead::Bpchar,
            "text" | "varchar" | "name" | "json" => PgRead::Text,
            _ if typtype == "e" => PgRead::Text,
            "jsonb" => PgRead::Jsonb,
            "uuid" => PgRead::Uuid,
            "bytea" => PgRead::Bytea,
            "date" => PgRead::Date,
            "time" => PgRead::Time,
            "timestamp" => PgRead::Timestamp,
            "timestamptz" => PgRead::TimestampTz,
            _ => PgRead::AsText,
        }
    }

    /// The read for a planned field (its Arrow type and recorded source type).
    pub fn of_field(field: &Field) -> PgRead {
        match field.data_type() {
            DataType::Boolean => PgRead::Bool,
            DataType::Int16 => PgRead::Int2,
            DataType::Int32 => PgRead::Int4,
            DataType::Int64 => PgRead::Int8,
            DataType::Float32 => PgRead::Float4,
            DataType::Float64 => PgRead::Float8,
            DataType::Decimal128(p, s) => PgRead::Decimal128 {
                precision: *p,
                scale: *s,
            },
            DataType::Decimal256(p, s) => PgRead::Decimal256 {
                precision: *p,
                scale: *s,
            },
            DataType::Binary => PgRead::Bytea,
            DataType::Date32 => PgRead::Date,
            DataType::Time64(_) => PgRead::Time,
            DataType::Timestamp(_, None) => PgRead::Timestamp,
            DataType::Timestamp(_, Some(_)) => PgRead::TimestampTz,
            // Text: how PostgreSQL sends it depends on the declared type (not an array of it).
            _ => match source_type(field).map(|(_, t)| PgType::parse(t)) {
                Some(PgType::Numeric(_)) => PgRead::NumericText,
                Some(PgType::Jsonb) => PgRead::Jsonb,
                Some(PgType::Uuid) => PgRead::Uuid,
                Some(PgType::Char(_)) => PgRead::Bpchar,
                _ => PgRead::Text,
            },
        }
    }

    /// Whether the column must be selected as `::text`.
    pub fn selects_text(self) -> bool {
        self == PgRead::AsText
    }

    /// The Arrow type the read produces.
    pub fn arrow_type(self) -> DataType {
        match self {
            PgRead::Bool => DataType::Boolean,
            PgRead::Int2 => DataType::Int16,
            PgRead::Int4 => DataType::Int32,
            PgRead::Int8 => DataType::Int64,
            PgRead::Float4 => DataType::Float32,
            PgRead::Float8 => DataType::Float64,
            PgRead::Decimal128 { precision, scale } => DataType::Decimal128(precision, scale),
            PgRead::Decimal256 { precision, scale } => DataType::Decimal256(precision, scale),
            PgRead::NumericText
            | PgRead::Text
            | PgRead::Bpchar
            | PgRead::Jsonb
            | PgRead::Uuid
            | PgRead::AsText => DataType::Utf8,
            PgRead::Bytea => DataType::Binary,
            PgRead::Date => DataType::Date32,
            PgRead::Time => DataType::Time64(TimeUnit::Microsecond),
            PgRead::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            PgRead::TimestampTz => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
            }
        }
    }
}

/// How the sink puts a column on the COPY wire, decided by the target column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgWrite {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    /// text, varchar, char(n), name, json: the UTF-8 bytes.
    Text,
    Jsonb,
    Uuid,
    Bytea,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    /// `interval` from a duration (MySQL's `time`): microseconds, no days or months.
    Interval,
    /// A type ferry has no binary encoder for (arrays, inet, interval, enums, ...): loaded as
    /// text into a staging column and converted by PostgreSQL's own input function (`::type`),
    /// once, after the load.
    StagedText,
}

impl PgWrite {
    /// The encoding for a target column declared as `declared` (PostgreSQL spelling).
    pub fn for_declared(declared: &str) -> PgWrite {
        match PgType::parse(declared) {
            PgType::Boolean => PgWrite::Bool,
            PgType::SmallInt => PgWrite::Int2,
            PgType::Integer => PgWrite::Int4,
            PgType::BigInt => PgWrite::Int8,
            PgType::Real => PgWrite::Float4,
            PgType::Double => PgWrite::Float8,
            PgType::Numeric(_) => PgWrite::Numeric,
            PgType::Char(_) | PgType::Varchar(_) | PgType::Text | PgType::Json => PgWrite::Text,
            PgType::Other(name) if name == "name" => PgWrite::Text,
            PgType::Jsonb => PgWrite::Jsonb,
            PgType::Uuid => PgWrite::Uuid,
            PgType::Bytea => PgWrite::Bytea,
            PgType::Date => PgWrite::Date,
            PgType::Time { tz: false, .. } => PgWrite::Time,
            PgType::Timestamp { tz: false, .. } => PgWrite::Timestamp,
            PgType::Timestamp { tz: true, .. } => PgWrite::TimestampTz,
            PgType::Time { tz: true, .. }
            | PgType::Interval { .. }
            | PgType::Bit(_)
            | PgType::VarBit(_)
            | PgType::Array(_)
            | PgType::Other(_) => PgWrite::StagedText,
        }
    }

    /// The encoding for a target column declared as `declared` that receives `data_type`:
    /// [`PgWrite::for_declared`], except that a duration goes to an `interval` in binary.
    pub fn for_column(declared: &str, data_type: &DataType) -> PgWrite {
        match (PgType::parse(declared), data_type) {
            (PgType::Interval { .. }, DataType::Duration(_)) => PgWrite::Interval,
            _ => PgWrite::for_declared(declared),
        }
    }
}

/// The PostgreSQL column type ferry creates for a field: a PostgreSQL source's declared type
/// verbatim unless it contradicts the Arrow type ([`own_declared`]), else the mapping of its
/// SQL type ([`sql_type_of`]).
pub fn pg_target_type(field: &Field) -> Result<String> {
    if let Some(declared) = own_declared(field, &[DIALECT]) {
        return Ok(declared.to_string());
    }
    // DuckDB's UUID, INTERVAL, TIMETZ and BIT travel as text PostgreSQL's own types read
    // exactly (see `types::adbc` and `types::duckdb::read_as_text`).
    if let (Some((super::duckdb::DIALECT, declared)), DataType::Utf8) =
        (super::source_type(field), field.data_type())
    {
        match declared {
            "UUID" => return Ok("uuid".into()),
            "INTERVAL" => return Ok("interval".into()),
            "TIME WITH TIME ZONE" => return Ok("time with time zone".into()),
            "BIT" => return Ok("bit varying".into()),
            _ => {}
        }
    }
    Ok(pg_type_for(sql_type_of(field)?))
}

/// The PostgreSQL type for a [`SqlType`].
pub fn pg_type_for(t: SqlType) -> String {
    match t {
        SqlType::Boolean => "boolean".into(),
        SqlType::SmallInt => "smallint".into(),
        SqlType::Integer => "integer".into(),
        SqlType::BigInt => "bigint".into(),
        SqlType::Real => "real".into(),
        SqlType::Double => "double precision".into(),
        SqlType::Decimal { precision, scale } => format!("numeric({precision},{scale})"),
        SqlType::Char(n) => format!("character({n})"),
        SqlType::Varchar(n) => format!("character varying({n})"),
        SqlType::Text => "text".into(),
        SqlType::Blob => "bytea".into(),
        SqlType::Date => "date".into(),
        SqlType::Time => "time without time zone".into(),
        SqlType::Timestamp => "timestamp without time zone".into(),
        SqlType::TimestampTz => "timestamp with time zone".into(),
        SqlType::Json => "json".into(),
        SqlType::Interval => "interval".into(),
    }
}

/// PostgreSQL source rows of the README table: declared type, Arrow type, notes.
pub fn source_rows() -> Vec<(String, String, &'static str)> {
    let rows: &[(&str, &str, &str, &str)] = &[
        ("boolean", "bool", "boolean", ""),
        ("smallint", "int2", "smallint", ""),
        ("integer", "int4", "integer", ""),
        ("bigint", "int8", "bigint", ""),
        ("real", "float4", "real", ""),
        ("double precision", "float8", "double precision", ""),
        ("numeric(p,s), p <= 38", "numeric", "numeric(15,2)", "exact; NaN is an error (`?numeric=text` reads it as text)"),
        ("numeric(p,s), 38 < p <= 76", "numeric", "numeric(60,20)", "exact"),
        ("numeric, numeric(p,s) p > 76", "numeric", "numeric", "exact decimal text; `NaN`, `Infinity`, `-Infinity` kept"),
        ("text, varchar(n), name, json, enums", "text", "character varying(44)", "as stored"),
        ("char(n)", "bpchar", "character(10)", "without its trailing blanks, as `char(n)::text` gives it; a PostgreSQL target pads it again"),
        ("jsonb", "jsonb", "jsonb", "PostgreSQL's jsonb text"),
        ("uuid", "uuid", "uuid", "canonical text"),
        ("bytea", "bytea", "bytea", ""),
        ("date", "date", "date", "BC dates kept; `infinity`/`-infinity` as the largest/smallest Date32"),
        ("time", "time", "time without time zone", "microseconds"),
        ("timestamp", "timestamp", "timestamp without time zone", "microseconds; `±infinity` as the largest/smallest value"),
        ("timestamptz", "timestamptz", "timestamp with time zone", "UTC instant, whatever offset it was written with"),
        ("arrays, inet, cidr, interval, money, ranges, timetz, xml, bit, ... (any other)", "int4[]", "integer[]", "PostgreSQL's own text form (`::text`, DateStyle ISO, IntervalStyle iso_8601, UTC); the type is kept in the metadata, so a PostgreSQL target gets it back exactly"),
    ];
    rows.iter()
        .map(|(decl, typname, formatted, note)| {
            let arrow = match PgRead::of(typname, "b", formatted, false) {
                PgRead::Decimal128 { .. } => "`Decimal128(p, s)`".to_string(),
                PgRead::Decimal256 { .. } => "`Decimal256(p, s)`".to_string(),
                read => format!("`{}`", read.arrow_type()),
            };
            (decl.to_string(), arrow, *note)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{duckdb::duckdb_target_type, field_with_source, sqlite_target_type};

    /// Asserts how a `format_type` spelling of base type `typname` parses, the SQL type it
    /// stands for, and the PostgreSQL, SQLite and DuckDB column types ferry creates for a
    /// column read from it (with the Arrow type the source reads it as); then the same for an
    /// array of it (`_typname`, `spelling[]`), which every target but PostgreSQL gets as text.
    fn check(
        typname: &str,
        spelling: &str,
        parsed: PgType,
        sql: Option<SqlType>,
        [sqlite, duckdb]: [&str; 2],
    ) {
        assert_eq!(PgType::parse(spelling), parsed, "{spelling}");
        assert_eq!(parse_declared(DIALECT, spelling), sql, "{spelling}");
        let read = PgRead::of(typname, "b", spelling, false);
        let f = field_with_source("c", read.arrow_type(), true, DIALECT, spelling);
        assert_eq!(pg_target_type(&f).unwrap(), spelling);
        assert_eq!(
            sqlite_target_type(&f).unwrap(),
            sqlite,
            "{spelling} in SQLite"
        );
        assert_eq!(
            duckdb_target_type(&f).unwrap(),
            duckdb,
            "{spelling} in DuckDB"
        );
        let array = format!("{spelling}[]");
        assert_eq!(PgType::parse(&array), PgType::Array(Box::new(parsed)));
        assert_eq!(parse_declared(DIALECT, &array), None, "{array}");
        let read = PgRead::of(&format!("_{typname}"), "b", &array, false);
        assert_eq!(read, PgRead::AsText, "{array}");
        let f = field_with_source("c", read.arrow_type(), true, DIALECT, &array);
        assert_eq!(pg_target_type(&f).unwrap(), array);
        assert_eq!(PgRead::of_field(&f), PgRead::Text, "{array} is array text");
        assert_eq!(PgWrite::for_declared(&array), PgWrite::StagedText);
        assert_eq!(sqlite_target_type(&f).unwrap(), "TEXT", "{array} in SQLite");
        assert_eq!(
            duckdb_target_type(&f).unwrap(),
            "VARCHAR",
            "{array} in DuckDB"
        );
    }

    #[test]
    fn spelling_time_p_without_time_zone() {
        for (spelling, precision) in [
            ("time(3) without time zone", Some(3)),
            ("time without time zone", None),
        ] {
            let parsed = PgType::Time {
                precision,
                tz: false,
            };
            check(
                "time",
                spelling,
                parsed,
                Some(SqlType::Time),
                ["TIME", "TIME"],
            );
            assert_eq!(PgWrite::for_declared(spelling), PgWrite::Time);
        }
    }

    #[test]
    fn spelling_time_p_with_time_zone() {
        // Read as PostgreSQL's text, which keeps the offset: text elsewhere, not a `time`.
        for (spelling, precision) in [
            ("time(6) with time zone", Some(6)),
            ("time with time zone", None),
        ] {
            let parsed = PgType::Time {
                precision,
                tz: true,
            };
            check("timetz", spelling, parsed, None, ["TEXT", "VARCHAR"]);
            assert_eq!(PgWrite::for_declared(spelling), PgWrite::StagedText);
        }
    }

    #[test]
    fn spelling_timestamp_p_without_time_zone() {
        for (spelling, precision) in [
            ("timestamp(0) without time zone", Some(0)),
            ("timestamp(6) without time zone", Some(6)),
            ("timestamp without time zone", None),
        ] {
            let parsed = PgType::Timestamp {
                precision,
                tz: false,
            };
            let sql = Some(SqlType::Timestamp);
            check(
                "timestamp",
                spelling,
                parsed,
                sql,
                ["TIMESTAMP", "TIMESTAMP"],
            );
            assert_eq!(PgWrite::for_declared(spelling), PgWrite::Timestamp);
        }
    }

    #[test]
    fn spelling_timestamp_p_with_time_zone() {
        for (spelling, precision) in [
            ("timestamp(6) with time zone", Some(6)),
            ("timestamp(3) with time zone", Some(3)),
            ("timestamp with time zone", None),
        ] {
            let parsed = PgType::Timestamp {
                precision,
                tz: true,
            };
            let sql = Some(SqlType::TimestampTz);
            check(
                "timestamptz",
                spelling,
                parsed,
                sql,
                ["TIMESTAMPTZ", "TIMESTAMPTZ"],
            );
            assert_eq!(PgWrite::for_declared(spelling), PgWrite::TimestampTz);
        }
    }

    #[test]
    fn spelling_interval_with_fields_and_precision() {
        for (spelling, fields, precision) in [
            ("interval", None, None),
            ("interval(2)", None, Some(2)),
            ("interval year to month", Some("year to month"), None),
            ("interval day to second(3)", Some("day to second"), Some(3)),
            ("interval second(2)", Some("second"), Some(2)),
            ("interval hour", Some("hour"), None),
        ] {
            let parsed = PgType::Interval {
                fields: fields.map(String::from),
                precision,
            };
            // Months and days are no duration: PostgreSQL's text travels.
            check("interval", spelling, parsed, None, ["TEXT", "VARCHAR"]);
            assert_eq!(PgWrite::for_declared(spelling), PgWrite::StagedText);
            let micros = DataType::Duration(TimeUnit::Microsecond);
            assert_eq!(PgWrite::for_column(spelling, &micros), PgWrite::Interval);
        }
        assert_eq!(
            PgType::parse("interval fortnight"),
            PgType::Other("interval fortnight".into())
        );
    }

    #[test]
    fn spelling_bit_n() {
        for (spelling, n) in [("bit(3)", Some(3)), ("bit", None)] {
            check("bit", spelling, PgType::Bit(n), None, ["TEXT", "VARCHAR"]);
            assert_eq!(PgWrite::for_declared(spelling), PgWrite::StagedText);
        }
    }

    #[test]
    fn spelling_bit_varying_n() {
        for (spelling, n) in [("bit varying(5)", Some(5)), ("bit varying", None)] {
            check(
                "varbit",
                spelling,
                PgType::VarBit(n),
                None,
                ["TEXT", "VARCHAR"],
            );
            assert_eq!(PgWrite::for_declared(spelling), PgWrite::StagedText);
        }
    }

    #[test]
    fn spelling_numeric() {
        // Unconstrained: exact text (NaN and ±Infinity included), text elsewhere.
        check(
            "numeric",
            "numeric",
            PgType::Numeric(None),
            None,
            ["TEXT", "VARCHAR"],
        );
        assert_eq!(PgWrite::for_declared("numeric"), PgWrite::Numeric);
    }

    #[test]
    fn spelling_numeric_p_s() {
        let dec = |precision, scale| Some(SqlType::Decimal { precision, scale });
        check(
            "numeric",
            "numeric(15,2)",
            PgType::Numeric(Some((15, 2))),
            dec(15, 2),
            ["DECIMAL(15,2)", "DECIMAL(15,2)"],
        );
        check(
            "numeric",
            "numeric(38,0)",
            PgType::Numeric(Some((38, 0))),
            dec(38, 0),
            ["DECIMAL_TEXT(38,0)", "DECIMAL(38,0)"],
        );
        check(
            "numeric",
            "numeric(60,10)",
            PgType::Numeric(Some((60, 10))),
            dec(60, 10),
            ["DECIMAL_TEXT(60,10)", "VARCHAR"],
        );
        // Past 76 digits, or a negative scale: exact text.
        check(
            "numeric",
            "numeric(1000,500)",
            PgType::Numeric(Some((1000, 500))),
            None,
            ["TEXT", "VARCHAR"],
        );
        check(
            "numeric",
            "numeric(5,-2)",
            PgType::Numeric(Some((5, -2))),
            None,
            ["TEXT", "VARCHAR"],
        );
        assert_eq!(PgWrite::for_declared("numeric(15,2)"), PgWrite::Numeric);
    }

    #[test]
    fn spelling_character_n() {
        check(
            "bpchar",
            "character(10)",
            PgType::Char(Some(10)),
            Some(SqlType::Char(10)),
            ["CHAR(10)", "VARCHAR"],
        );
        check(
            "bpchar",
            "bpchar",
            PgType::Char(None),
            Some(SqlType::Text),
            ["TEXT", "VARCHAR"],
        );
        assert_eq!(PgType::parse("character"), PgType::Char(Some(1)));
        assert_eq!(PgWrite::for_declared("character(10)"), PgWrite::Text);
    }

    #[test]
    fn spelling_character_varying_n() {
        check(
            "varchar",
            "character varying(44)",
            PgType::Varchar(Some(44)),
            Some(SqlType::Varchar(44)),
            ["VARCHAR(44)", "VARCHAR"],
        );
        check(
            "varchar",
            "character varying",
            PgType::Varchar(None),
            Some(SqlType::Text),
            ["TEXT", "VARCHAR"],
        );
        assert_eq!(
            PgWrite::for_declared("character varying(44)"),
            PgWrite::Text
        );
    }

    #[test]
    fn other_spellings_stay_what_they_are() {
        for spelling in [
            "inet",
            "\"char\"",
            "public.mood",
            "\"My Type\"",
            "money",
            "name",
        ] {
            assert_eq!(PgType::parse(spelling), PgType::Other(spelling.into()));
            assert_eq!(parse_declared(DIALECT, spelling), None);
        }
        assert_eq!(PgWrite::for_declared("name"), PgWrite::Text);
        assert_eq!(
            PgType::parse("\"My Type\"[]"),
            PgType::Array(Box::new(PgType::Other("\"My Type\"".into())))
        );
        assert_eq!(
            PgType::parse("integer[]"),
            PgType::Array(Box::new(PgType::Integer))
        );
        assert_eq!(
            PgType::parse("numeric(15,x)"),
            PgType::Other("numeric(15,x)".into())
        );
    }

    #[test]
    fn reads_follow_the_catalog() {
        assert_eq!(
            PgRead::of("numeric", "b", "numeric(15,2)", false),
            PgRead::Decimal128 {
                precision: 15,
                scale: 2
            }
        );
        assert_eq!(
            PgRead::of("numeric", "b", "numeric(50,20)", false),
            PgRead::Decimal256 {
                precision: 50,
                scale: 20
            }
        );
        assert_eq!(
            PgRead::of("numeric", "b", "numeric", false),
            PgRead::NumericText
        );
        assert_eq!(
            PgRead::of("numeric", "b", "numeric(15,2)", true),
            PgRead::NumericText
        );
        assert_eq!(
            PgRead::of("numeric", "b", "numeric(1000,500)", false),
            PgRead::NumericText
        );
        assert_eq!(PgRead::of("mood", "e", "mood", false), PgRead::Text);
        assert_eq!(PgRead::of("_int4", "b", "integer[]", false), PgRead::AsText);
        assert_eq!(
            PgRead::of("interval", "b", "interval", false),
            PgRead::AsText
        );
        for (typname, formatted) in [("jsonb", "jsonb"), ("uuid", "uuid"), ("numeric", "numeric")] {
            let read = PgRead::of(typname, "b", formatted, false);
            let f = field_with_source("c", read.arrow_type(), true, DIALECT, formatted);
            assert_eq!(PgRead::of_field(&f), read, "{typname}");
        }
    }

    #[test]
    fn targets_keep_declared_types() {
        let f = field_with_source("c", DataType::Utf8, true, DIALECT, "integer[]");
        assert_eq!(pg_target_type(&f).unwrap(), "integer[]");
        assert_eq!(PgWrite::for_declared("integer[]"), PgWrite::StagedText);
        let f = field_with_source(
            "c",
            DataType::Decimal128(15, 2),
            false,
            "sqlite",
            "DECIMAL(15,2)",
        );
        assert_eq!(pg_target_type(&f).unwrap(), "numeric(15,2)");
        let f = field_with_source("c", DataType::Int64, false, "sqlite", "INTEGER");
        assert_eq!(pg_target_type(&f).unwrap(), "bigint");
        assert_eq!(
            PgWrite::for_declared("character varying(44)"),
            PgWrite::Text
        );
        assert_eq!(PgWrite::for_declared("numeric(15,2)"), PgWrite::Numeric);
        assert_eq!(
            PgWrite::for_declared("timestamp with time zone"),
            PgWrite::TimestampTz
        );
        assert_eq!(PgWrite::for_declared("interval"), PgWrite::StagedText);
        assert_eq!(
            PgWrite::for_declared("time(3) with time zone"),
            PgWrite::StagedText
        );
        assert_eq!(
            PgWrite::for_declared("timestamp(3) with time zone"),
            PgWrite::TimestampTz
        );
    }
}
