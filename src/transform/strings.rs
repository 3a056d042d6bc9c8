//! Value rewrites in place: `trim(col, ...)`, `lower(col, ...)`, `upper(col, ...)` on text, and
//! `tz(col, ...)`, time zone conversion of timestamps. Fields keep their declared types.
//!
//! arrow has no case or trim kernel. ASCII text (checked with one pass over the bytes) is cased
//! in a single pass over the values buffer, keeping offsets and nulls; other text goes value by
//! value. `trim` removes Unicode white space at both ends.

use std::sync::Arc;

use arrow::array::timezone::Tz as Zone;
use arrow::array::{Array, ArrayRef, AsArray, GenericStringArray, OffsetSizeTrait, PrimitiveArray};
use arrow::buffer::Buffer;
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{
    ArrowTimestampType, DataType, Field, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use arrow::record_batch::RecordBatch;
use chrono::{LocalResult, TimeZone};

use super::parse::{Arg, Token};
use super::{column_args, describe_row, find_column, replace_columns, Transform};
use crate::error::{Error, ErrorKind, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Trim,
    Lower,
    Upper,
}

/// `trim(col, ...)`, `lower(col, ...)`, `upper(col, ...)`.
pub struct StringStep {
    op: Op,
    name: &'static str,
    columns: Vec<String>,
}

impl StringStep {
    pub fn try_new(name: &str, args: &[Arg]) -> Result<Self> {
        let (op, name) = match name {
            "trim" => (Op::Trim, "trim"),
            "lower" => (Op::Lower, "lower"),
            "upper" => (Op::Upper, "upper"),
            other => return Err(Error::internal(format!("not a string step: {other}"))),
        };
        Ok(StringStep {
            op,
            name,
            columns: column_args(name, args)?,
        })
    }

    fn indices(&self, schema: &Schema) -> Result<Vec<usize>> {
        self.columns
            .iter()
            .map(|c| {
                let i = find_column(schema, c)?;
                match schema.field(i).data_type() {
                    DataType::Utf8 | DataType::LargeUtf8 => Ok(i),
                    other => Err(Error::invalid_args(format!(
                        "{}: column \"{c}\" is {other}; trim, lower and upper take text (cast it to TEXT first)",
                        self.name
                    ))),
                }
            })
            .collect()
    }
}

fn rewrite<O: OffsetSizeTrait>(a: &GenericStringArray<O>, op: Op) -> Result<ArrayRef> {
    let ascii_case = match op {
        Op::Lower => Some(u8::to_ascii_lowercase as fn(&u8) -> u8),
        Op::Upper => Some(u8::to_ascii_uppercase as fn(&u8) -> u8),
        Op::Trim => None,
    };
    if let Some(f) = ascii_case {
        if a.is_ascii() {
            // Lengths do not change: new bytes under the same offsets and nulls. The whole values
            // buffer is mapped so a sliced array's offsets still point at the right bytes.
            let values: Buffer = a.values().iter().map(f).collect::<Vec<u8>>().into();
            return GenericStringArray::<O>::try_new(
                a.offsets().clone(),
                values,
                a.nulls().cloned(),
            )
            .map(|x| Arc::new(x) as ArrayRef)
            .map_err(|e| Error::arrow("case conversion", e));
        }
    }
    Ok(match op {
        Op::Trim => Arc::new(
            a.iter()
                .map(|v| v.map(str::trim))
                .collect::<GenericStringArray<O>>(),
        ),
        Op::Lower => Arc::new(
            a.iter()
                .map(|v| v.map(str::to_lowercase))
                .collect::<GenericStringArray<O>>(),
        ),
        Op::Upper => Arc::new(
            a.iter()
                .map(|v| v.map(str::to_uppercase))
                .collect::<GenericStringArray<O>>(),
        ),
    })
}

impl Transform for StringStep {
    fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef> {
        self.indices(input)?;
        Ok(input.clone())
    }

    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let schema = batch.schema();
        let replaced = self
            .indices(&schema)?
            .into_iter()
            .map(|i| {
                let a = batch.column(i);
                let out = match a.data_type() {
                    DataType::LargeUtf8 => rewrite(a.as_string::<i64>(), self.op)?,
                    _ => rewrite(a.as_string::<i32>(), self.op)?,
                };
                Ok((i, out))
            })
            .collect::<Result<Vec<_>>>()?;
        replace_columns(&batch, schema, replaced)
    }

    fn passes_through(&self, column: &str) -> Option<String> {
        (!self.columns.iter().any(|c| c == column)).then(|| column.to_string())
    }
}

/// `tz(col, TO)`: a timestamp with a time zone shown in another (the same instants);
/// `tz(col, FROM, TO)`: a timestamp without time zone, read as wall-clock time in FROM, becomes
/// the wall-clock time in TO. Zones are IANA names (`Europe/Paris`) or offsets (`+05:30`).
pub struct Tz {
    column: String,
    from: Option<String>,
    to: String,
}

fn zone(arg: &Arg) -> Result<String> {
    let z = match arg.tokens.as_slice() {
        [Token::Str(s)] | [Token::Word(s)] => s.clone(),
        _ => arg.text().replace(' ', ""),
    };
    z.parse::<Zone>()
        .map_err(|_| Error::invalid_args(format!("tz: `{z}` is not a time zone (an IANA name such as 'Europe/Paris', or an offset such as '+05:30')")))?;
    Ok(z)
}

impl Tz {
    pub fn try_new(args: &[Arg]) -> Result<Self> {
        let usage = || {
            Error::invalid_args(
                "tz takes a column and zones: tz(col, 'TO') or tz(col, 'FROM', 'TO')",
            )
        };
        match args {
            [c, to] => Ok(Tz {
                column: c.column().ok_or_else(usage)?.to_string(),
                from: None,
                to: zone(to)?,
            }),
            [c, from, to] => Ok(Tz {
                column: c.column().ok_or_else(usage)?.to_string(),
                from: Some(zone(from)?),
                to: zone(to)?,
            }),
            _ => Err(usage()),
        }
    }

    fn field(&self, f: &Field) -> Result<Field> {
        match (f.data_type(), &self.from) {
            (DataType::Timestamp(unit, Some(_)), None) => {
                Ok(f.clone().with_data_type(DataType::Timestamp(*unit, Some(self.to.as_str().into()))))
            }
            (DataType::Timestamp(_, None), Some(_)) => Ok(f.clone()),
            (DataType::Timestamp(_, None), None) => Err(Error::invalid_args(format!(
                "tz: column \"{}\" has no time zone; say which zone its values are in: tz({}, 'FROM', '{}')",
                self.column, self.column, self.to
            ))),
            (DataType::Timestamp(_, Some(z)), Some(_)) => Err(Error::invalid_args(format!(
                "tz: column \"{}\" is in time zone {z} already; write tz({}, '{}')",
                self.column, self.column, self.to
            ))),
            (other, _) => Err(Error::invalid_args(format!(
                "tz: column \"{}\" is {other}, not a timestamp",
                self.column
            ))),
        }
    }
}

/// Wall-clock values in `from` to wall-clock values in `to`; a time that does not exist or is
/// ambiguous in `from` (a clock change) fails naming the row.
fn convert_wall_clock<T: ArrowTimestampType>(
    a: &PrimitiveArray<T>,
    from: &Zone,
    to: &Zone,
) -> std::result::Result<PrimitiveArray<T>, usize> {
    let mut failed = None;
    let out = a.unary_opt::<_, T>(|v| {
        let naive = arrow::array::temporal_conversions::as_datetime::<T>(v)?;
        match from.from_local_datetime(&naive) {
            LocalResult::Single(t) => T::make_value(t.with_timezone(to).naive_local()),
            _ => None,
        }
    });
    for i in 0..a.len() {
        if a.is_valid(i) && out.is_null(i) {
            failed = Some(i);
            break;
        }
    }
    match failed {
        Some(i) => Err(i),
        None => Ok(out),
    }
}

impl Transform for Tz {
    fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef> {
        let i = find_column(input, &self.column)?;
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields[i] = self.field(input.field(i))?;
        Ok(Arc::new(Schema::new_with_metadata(
            fields,
            input.metadata().clone(),
        )))
    }

    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let schema = self.output_schema(&batch.schema())?;
        let i = find_column(&batch.schema(), &self.column)?;
        let a = batch.column(i);
        let out: ArrayRef = match &self.from {
            None => cast_with_options(a, schema.field(i).data_type(), &CastOptions::default())
                .map_err(|e| Error::arrow("tz", e))?,
            Some(from) => {
                let (f, t): (Zone, Zone) = (
                    from.parse().map_err(|e| Error::arrow("tz", e))?,
                    self.to.parse().map_err(|e| Error::arrow("tz", e))?,
                );
                let result = match a.data_type() {
                    DataType::Timestamp(TimeUnit::Second, _) => {
                        convert_wall_clock(a.as_primitive::<TimestampSecondType>(), &f, &t)
                            .map(|x| Arc::new(x) as ArrayRef)
                    }
                    DataType::Timestamp(TimeUnit::Millisecond, _) => {
                        convert_wall_clock(a.as_primitive::<TimestampMillisecondType>(), &f, &t)
                            .map(|x| Arc::new(x) as ArrayRef)
                    }
                    DataType::Timestamp(TimeUnit::Microsecond, _) => {
                        convert_wall_clock(a.as_primitive::<TimestampMicrosecondType>(), &f, &t)
                            .map(|x| Arc::new(x) as ArrayRef)
                    }
                    _ => convert_wall_clock(a.as_primitive::<TimestampNanosecondType>(), &f, &t)
                        .map(|x| Arc::new(x) as ArrayRef),
                };
                result.map_err(|row| {
                    Error::new(
                        ErrorKind::InvalidData,
                        format!(
                            "column \"{}\", {}: {} does not exist or is ambiguous in {from} (a clock change)",
                            self.column,
                            describe_row(&batch, row),
                            super::describe_value(a.as_ref(), row)
                        ),
                    )
                })?
            }
        };
        replace_columns(&batch, schema, vec![(i, out)])
    }

    fn passes_through(&self, column: &str) -> Option<String> {
        (column != self.column).then(|| column.to_string())
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, LargeStringArray, StringArray, TimestampMicrosecondArray};

    use super::super::parse::parse_step;
    use super::*;
    use crate::types::{field_with_source, META_SOURCE_TYPE};

    fn one(array: ArrayRef) -> RecordBatch {
        let f = field_with_source(
            "c",
            array.data_type().clone(),
            true,
            "sqlite",
            "VARCHAR(25)",
        );
        RecordBatch::try_new(Arc::new(Schema::new(vec![f])), vec![array]).unwrap()
    }

    fn run(step: &str, array: ArrayRef) -> Vec<Option<String>> {
        let p = parse_step(step).unwrap();
        let s = StringStep::try_new(&p.name, &p.args).unwrap();
        let b = one(array);
        let out = s.apply(b.clone()).unwrap();
        assert_eq!(out.schema(), s.output_schema(&b.schema()).unwrap());
        assert_eq!(
            out.schema()
                .field(0)
                .metadata()
                .get(META_SOURCE_TYPE)
                .unwrap(),
            "VARCHAR(25)"
        );
        let a = cast_with_options(out.column(0), &DataType::Utf8, &CastOptions::default()).unwrap();
        a.as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    fn s(v: &[Option<&str>]) -> Vec<Option<String>> {
        v.iter().map(|x| x.map(str::to_string)).collect()
    }

    #[test]
    fn case_and_trim_on_ascii_unicode_nulls_slices_and_large_strings() {
        let ascii: ArrayRef = Arc::new(StringArray::from(vec![
            Some("Customer#1"),
            None,
            Some(" a B "),
            Some(""),
        ]));
        assert_eq!(
            run("upper(c)", ascii.clone()),
            s(&[Some("CUSTOMER#1"), None, Some(" A B "), Some("")])
        );
        assert_eq!(
            run("lower(c)", ascii.clone()),
            s(&[Some("customer#1"), None, Some(" a b "), Some("")])
        );
        assert_eq!(
            run("trim(c)", ascii.clone()),
            s(&[Some("Customer#1"), None, Some("a B"), Some("")])
        );
        assert_eq!(
            run("upper(c)", ascii.slice(1, 2)),
            s(&[None, Some(" A B ")])
        );
        assert_eq!(run("lower(c)", ascii.slice(2, 0)), s(&[]));
        let uni: ArrayRef = Arc::new(StringArray::from(vec![
            Some("\u{3000}Straße\t"),
            None,
            Some("ÉCOLE"),
        ]));
        assert_eq!(
            run("upper(c)", uni.clone()),
            s(&[Some("\u{3000}STRASSE\t"), None, Some("ÉCOLE")])
        );
        assert_eq!(
            run("lower(c)", uni.clone()),
            s(&[Some("\u{3000}straße\t"), None, Some("école")])
        );
        assert_eq!(
            run("trim(c)", uni.clone()),
            s(&[Some("Straße"), None, Some("ÉCOLE")])
        );
        assert_eq!(run("lower(c)", uni.slice(2, 1)), s(&[Some("école")]));
        let large: ArrayRef = Arc::new(LargeStringArray::from(vec![Some(" x "), None]));
        assert_eq!(run("trim(c)", large.clone()), s(&[Some("x"), None]));
        assert_eq!(run("upper(c)", large), s(&[Some(" X "), None]));
    }

    #[test]
    fn string_steps_refuse_other_types() {
        let p = parse_step("lower(c)").unwrap();
        let st = StringStep::try_new(&p.name, &p.args).unwrap();
        let b = one(Arc::new(Int64Array::from(vec![1])));
        assert_eq!(
            st.output_schema(&b.schema()).unwrap_err().to_string(),
            "lower: column \"c\" is Int64; trim, lower and upper take text (cast it to TEXT first)"
        );
    }

    fn tz(step: &str, array: ArrayRef) -> Result<Vec<Option<String>>> {
        let t = Tz::try_new(&parse_step(step).unwrap().args)?;
        let b = one(array);
        let out = t.apply(b.clone())?;
        assert_eq!(out.schema(), t.output_schema(&b.schema())?);
        let a = cast_with_options(out.column(0), &DataType::Utf8, &CastOptions::default()).unwrap();
        Ok(a.as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect())
    }

    #[test]
    fn time_zones() {
        // 2021-06-01 12:00:00 UTC and 2021-12-01 12:00:00 UTC, NULL.
        let instants = TimestampMicrosecondArray::from(vec![
            Some(1_622_548_800_000_000),
            Some(1_638_360_000_000_000),
            None,
        ]);
        let utc: ArrayRef = Arc::new(instants.clone().with_timezone("+00:00"));
        assert_eq!(
            tz("tz(c, 'Europe/Paris')", utc.clone()).unwrap(),
            s(&[
                Some("2021-06-01T14:00:00+02:00"),
                Some("2021-12-01T13:00:00+01:00"),
                None
            ])
        );
        assert_eq!(
            tz("tz(c, '+05:30')", utc.slice(1, 2)).unwrap(),
            s(&[Some("2021-12-01T17:30:00+05:30"), None])
        );
        let naive: ArrayRef = Arc::new(instants);
        // Paris wall-clock time to UTC wall-clock time: summer and winter offsets.
        assert_eq!(
            tz("tz(c, 'Europe/Paris', 'UTC')", naive.clone()).unwrap(),
            s(&[
                Some("2021-06-01T10:00:00"),
                Some("2021-12-01T11:00:00"),
                None
            ])
        );
        assert_eq!(
            tz("tz(c, 'UTC', 'America/New_York')", naive.slice(0, 0)).unwrap(),
            s(&[])
        );
        // 2021-03-28 02:30 does not exist in Paris.
        let gap: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![
            0,
            1_616_898_600_000_000,
        ]));
        let e = tz("tz(c, 'Europe/Paris', 'UTC')", gap).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidData);
        assert_eq!(e.to_string(), "column \"c\", row 2 of its batch: 2021-03-28 02:30:00 does not exist or is ambiguous in Europe/Paris (a clock change)");
        let e = tz("tz(c, 'UTC')", naive).unwrap_err();
        assert_eq!(e.to_string(), "tz: column \"c\" has no time zone; say which zone its values are in: tz(c, 'FROM', 'UTC')");
        let e = Tz::try_new(&parse_step("tz(c, 'Mars/Olympus')").unwrap().args)
            .err()
            .unwrap();
        assert!(e
            .to_string()
            .starts_with("tz: `Mars/Olympus` is not a time zone"));
    }
}
