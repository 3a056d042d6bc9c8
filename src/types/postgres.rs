//! PostgreSQL's side of the type mapping: how the source reads each catalog type into Arrow, and
//! which column type and wire encoding the sink uses for each Arrow field.

use arrow::datatypes::{DataType, Field, TimeUnit};

use super::{parse_declared, source_type, sql_type_of, SqlType};
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
            _ => match source_type(field).map(|(_, t)| t) {
                Some(t) if t == "numeric" || t.starts_with("numeric(") => PgRead::NumericText,
                Some("jsonb") => PgRead::Jsonb,
                Some("uuid") => PgRead::Uuid,
                Some(t) if t == "character" || t.starts_with("character(") => PgRead::Bpchar,
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
        // The type name without its modifiers: `timestamp(3) with time zone` ->
        // `timestamp with time zone`.
        let mut base = String::new();
        let mut depth = 0;
        for c in declared.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                c if depth == 0 => base.push(c.to_ascii_lowercase()),
                _ => {}
            }
        }
        let base = base.trim();
        if base.ends_with("[]") {
            return PgWrite::StagedText;
        }
        match base {
            "boolean" | "bool" => PgWrite::Bool,
            "smallint" | "int2" => PgWrite::Int2,
            "integer" | "int" | "int4" => PgWrite::Int4,
            "bigint" | "int8" => PgWrite::Int8,
            "real" | "float4" => PgWrite::Float4,
            "double precision" | "float8" => PgWrite::Float8,
            "numeric" | "decimal" => PgWrite::Numeric,
            "text" | "character varying" | "varchar" | "character" | "char" | "bpchar" | "name"
            | "json" => PgWrite::Text,
            "jsonb" => PgWrite::Jsonb,
            "uuid" => PgWrite::Uuid,
            "bytea" => PgWrite::Bytea,
            "date" => PgWrite::Date,
            "time" | "time without time zone" => PgWrite::Time,
            "timestamp" | "timestamp without time zone" => PgWrite::Timestamp,
            "timestamptz" | "timestamp with time zone" => PgWrite::TimestampTz,
            _ => PgWrite::StagedText,
        }
    }

    /// The encoding for a target column declared as `declared` that receives `data_type`:
    /// [`PgWrite::for_declared`], except that a duration goes to an `interval` in binary.
    pub fn for_column(declared: &str, data_type: &DataType) -> PgWrite {
        match (PgWrite::for_declared(declared), data_type) {
            (PgWrite::StagedText, DataType::Duration(_))
                if declared.trim().to_ascii_lowercase().starts_with("interval") =>
            {
                PgWrite::Interval
            }
            (w, _) => w,
        }
    }
}

/// The PostgreSQL column type ferry creates for a field: a PostgreSQL source's declared type
/// verbatim, else the mapping of its SQL type.
pub fn pg_target_type(field: &Field) -> Result<String> {
    if let Some((DIALECT, declared)) = source_type(field) {
        return Ok(declared.to_string());
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
    use crate::types::field_with_source;

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
