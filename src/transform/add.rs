//! `add(name, VALUE[, type=TYPE])`: a new last column holding one value on every row: a literal
//! (`'text'`, a number, `TRUE`/`FALSE`, `NULL` with a type), `load_time` (the run's start, one
//! instant for every table, `TIMESTAMPTZ`) or `source_table` (the table's name at the source).
//! The one-value array is repeated once per batch size and sliced (zero-copy) after that.

use std::sync::{Arc, RwLock};

use arrow::array::{
    Array, ArrayRef, BooleanArray, Decimal128Array, Float64Array, Int64Array, NullArray,
    StringArray, TimestampMicrosecondArray, UInt32Array,
};
use arrow::compute::take;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

use super::cast::{cast_checked, cast_field, parse_type};
use super::parse::{Arg, Token};
use super::{StepContext, Transform};
use crate::error::{Error, Result};
use crate::types::{decimal, field_with_source};

/// `add(name, VALUE[, type=TYPE])`.
pub struct Add {
    field: Field,
    value: ArrayRef,
    repeated: RwLock<ArrayRef>,
}

impl Add {
    pub fn try_new(args: &[Arg], ctx: &StepContext) -> Result<Self> {
        let usage = || {
            Error::invalid_args(
                "add takes a name and a value: add(name, 'text' | number | TRUE | FALSE | \
                 load_time | source_table[, type=TYPE])",
            )
        };
        let (name, value, rest) = match args {
            [n, v, rest @ ..] if v.key.is_none() => (n.column().ok_or_else(usage)?, v, rest),
            _ => return Err(usage()),
        };
        let mut ty = None;
        for o in rest {
            match o.key.as_deref() {
                Some("type") => {
                    ty = Some(parse_type(
                        &Arg {
                            key: None,
                            tokens: o.tokens.clone(),
                        }
                        .text(),
                    )?)
                }
                _ => {
                    return Err(Error::invalid_args(format!(
                        "add: unknown option `{}` (type=TYPE)",
                        o.text()
                    )))
                }
            }
        }
        let (array, field): (ArrayRef, Field) = match value.tokens.as_slice() {
            [Token::Str(s)] => (Arc::new(StringArray::from(vec![s.as_str()])), Field::new(name, DataType::Utf8, false)),
            [Token::Number(n)] => number(name, n)?,
            [Token::Word(w)] => match w.to_ascii_lowercase().as_str() {
                "true" | "false" => (
                    Arc::new(BooleanArray::from(vec![w.eq_ignore_ascii_case("true")])),
                    Field::new(name, DataType::Boolean, false),
                ),
                "load_time" => (
                    Arc::new(
                        TimestampMicrosecondArray::from(vec![ctx.load_time_micros])
                            .with_timezone("+00:00"),
                    ),
                    field_with_source(
                        name,
                        DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
                        false,
                        "ferry",
                        "TIMESTAMPTZ",
                    ),
                ),
                "source_table" => (
                    Arc::new(StringArray::from(vec![ctx.table.as_str()])),
                    Field::new(name, DataType::Utf8, false),
                ),
                "null" if ty.is_some() => (Arc::new(NullArray::new(1)), Field::new(name, DataType::Null, true)),
                "null" => {
                    return Err(Error::invalid_args(format!(
                        "add: a NULL column needs a type: add({name}, NULL, type=TEXT)"
                    )))
                }
                other => {
                    return Err(Error::invalid_args(format!(
                        "add: `{other}` is not a value; quote text ('{other}'), or use load_time or source_table"
                    )))
                }
            },
            _ => return Err(usage()),
        };
        let (array, field) = match ty {
            None => (array, field),
            Some(to) => {
                let (out, bad) = cast_checked(&array, &to, name)?;
                if bad.true_count() > 0 {
                    return Err(Error::invalid_args(format!(
                        "add: {} does not fit {}",
                        value.text(),
                        to.declared
                    )));
                }
                (out, cast_field(&field, &to, field.is_nullable()))
            }
        };
        Ok(Add {
            field,
            repeated: RwLock::new(array.clone()),
            value: array,
        })
    }

    /// The value repeated `n` times.
    fn column(&self, n: usize) -> Result<ArrayRef> {
        if let Ok(r) = self.repeated.read() {
            if r.len() >= n {
                return Ok(r.slice(0, n));
            }
        }
        let zeros = UInt32Array::from(vec![0u32; n]);
        let a = take(&self.value, &zeros, None).map_err(|e| Error::arrow("add", e))?;
        if let Ok(mut w) = self.repeated.write() {
            *w = a.clone();
        }
        Ok(a)
    }
}

/// A number literal: an integer is `BIGINT`, a decimal fraction `DECIMAL(p,s)` exactly as
/// written, an exponent a `DOUBLE`.
fn number(name: &str, n: &str) -> Result<(ArrayRef, Field)> {
    let bad = || Error::invalid_args(format!("add: {n} is not a number ferry can hold"));
    if let Ok(i) = n.parse::<i64>() {
        return Ok((
            Arc::new(Int64Array::from(vec![i])),
            Field::new(name, DataType::Int64, false),
        ));
    }
    if n.contains(['e', 'E']) {
        let f: f64 = n.parse().map_err(|_| bad())?;
        return Ok((
            Arc::new(Float64Array::from(vec![f])),
            Field::new(name, DataType::Float64, false),
        ));
    }
    let digits = n.trim_start_matches(['-', '+']);
    let scale = digits.split_once('.').map(|(_, f)| f.len()).unwrap_or(0);
    let precision = digits
        .chars()
        .filter(char::is_ascii_digit)
        .count()
        .max(scale + 1);
    if precision > 38 {
        return Err(bad());
    }
    let (p, s) = (precision as u8, scale as i8);
    let v = decimal::parse_exact(n, p, s)
        .and_then(|v| v.to_i128())
        .ok_or_else(bad)?;
    let a = Decimal128Array::from(vec![v])
        .with_precision_and_scale(p, s)
        .map_err(|_| bad())?;
    Ok((
        Arc::new(a),
        Field::new(name, DataType::Decimal128(p, s), false),
    ))
}

impl Transform for Add {
    fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef> {
        if input.index_of(self.field.name()).is_ok() {
            return Err(Error::invalid_args(format!(
                "column \"{}\" exists already; add a column of another name, or drop it first",
                self.field.name()
            )));
        }
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(self.field.clone());
        Ok(Arc::new(Schema::new_with_metadata(
            fields,
            input.metadata().clone(),
        )))
    }

    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let schema = self.output_schema(&batch.schema())?;
        let mut columns = batch.columns().to_vec();
        columns.push(self.column(batch.num_rows())?);
        RecordBatch::try_new(schema, columns)
            .map_err(|e| Error::arrow("cannot assemble the transformed batch", e))
    }

    fn passes_through(&self, column: &str) -> Option<String> {
        (column != self.field.name()).then(|| column.to_string())
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use arrow::datatypes::TimestampMicrosecondType;

    use super::super::parse::parse_step;
    use super::*;
    use crate::types::{META_SOURCE, META_SOURCE_TYPE};

    fn add(text: &str) -> Result<Add> {
        let ctx = StepContext::new("customer").with_load_time_micros(1_700_000_000_123_456);
        Add::try_new(&parse_step(text).unwrap().args, &ctx)
    }

    fn input(rows: usize) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let ids: Vec<i64> = (0..rows as i64).collect();
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(ids))]).unwrap()
    }

    fn shown(b: &RecordBatch) -> Vec<String> {
        let a = b.column(1);
        (0..a.len())
            .map(|r| super::super::describe_value(a.as_ref(), r))
            .collect()
    }

    #[test]
    fn literals_and_run_time_values_on_every_row() {
        let cases: &[(&str, DataType, &str)] = &[
            ("add(v, 'batch 7')", DataType::Utf8, "'batch 7'"),
            ("add(v, 42)", DataType::Int64, "42"),
            ("add(v, -1.50)", DataType::Decimal128(3, 2), "-1.50"),
            ("add(v, 2.5e3)", DataType::Float64, "2500.0"),
            ("add(v, TRUE)", DataType::Boolean, "true"),
            ("add(v, source_table)", DataType::Utf8, "'customer'"),
            (
                "add(v, load_time)",
                DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
                "2023-11-14 22:13:20.123456+00",
            ),
            ("add(v, 7, type=SMALLINT)", DataType::Int16, "7"),
            ("add(v, NULL, type=DATE)", DataType::Date32, "NULL"),
        ];
        for (text, ty, value) in cases {
            let step = add(text).unwrap();
            let schema = step.output_schema(&input(0).schema()).unwrap();
            assert_eq!(schema.field(1).data_type(), ty, "{text}");
            // A batch, a bigger one, a smaller one (a slice of the cached array), an empty one.
            for rows in [3, 5, 2, 0] {
                let out = step.apply(input(rows)).unwrap();
                assert_eq!(out.schema(), schema);
                assert_eq!(shown(&out), vec![value.to_string(); rows], "{text}");
            }
        }
        let t = add("add(v, load_time)").unwrap().apply(input(1)).unwrap();
        assert_eq!(
            t.column(1)
                .as_primitive::<TimestampMicrosecondType>()
                .value(0),
            1_700_000_000_123_456
        );
        let f = add("add(v, load_time)")
            .unwrap()
            .output_schema(&input(0).schema())
            .unwrap();
        assert_eq!(
            f.field(1).metadata().get(META_SOURCE_TYPE).unwrap(),
            "TIMESTAMPTZ"
        );
        let f = add("add(v, 'x', type=VARCHAR(3))")
            .unwrap()
            .output_schema(&input(0).schema())
            .unwrap();
        assert_eq!(
            f.field(1).metadata().get(META_SOURCE_TYPE).unwrap(),
            "VARCHAR(3)"
        );
        assert_eq!(f.field(1).metadata().get(META_SOURCE).unwrap(), "ferry");
        let sliced = add("add(v, 1)")
            .unwrap()
            .apply(input(4).slice(1, 2))
            .unwrap();
        assert_eq!(
            sliced
                .column(0)
                .as_primitive::<arrow::datatypes::Int64Type>()
                .values(),
            &[1, 2]
        );
        assert_eq!(sliced.column(1).len(), 2);
        let texts = add("add(v, 'x')").unwrap().apply(input(2)).unwrap();
        assert_eq!(texts.column(1).as_string::<i32>().value(1), "x");
    }

    #[test]
    fn bad_additions_say_why() {
        let e = |t: &str| add(t).err().unwrap().to_string();
        assert_eq!(
            e("add(v, NULL)"),
            "add: a NULL column needs a type: add(v, NULL, type=TEXT)"
        );
        assert_eq!(
            e("add(v, now)"),
            "add: `now` is not a value; quote text ('now'), or use load_time or source_table"
        );
        assert_eq!(
            e("add(v, 'abcd', type=VARCHAR(3))"),
            "add: 'abcd' does not fit VARCHAR(3)"
        );
        assert_eq!(e("add(v, 1.5, type=INT)"), "add: 1.5 does not fit INT");
        let step = add("add(id, 1)").unwrap();
        assert_eq!(
            step.output_schema(&input(0).schema())
                .unwrap_err()
                .to_string(),
            "column \"id\" exists already; add a column of another name, or drop it first"
        );
    }
}
