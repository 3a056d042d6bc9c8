//! `cast(col, TYPE[, safe=false])`: converts a column with arrow's cast kernel, then proves
//! every value made it: a number, date or time cast is cast back and compared with the input
//! (arrow rounds `1.5` to an integer, and decimals to a smaller scale, without an error);
//! text to a decimal is parsed exactly; `VARCHAR(n)` and `CHAR(n)` bound the length. A value that
//! does not fit fails the run naming column, row and value, unless `safe=false` turns it into
//! NULL, counted in the run report.
//!
//! The field records the type it was cast to (`ferry.source_type`, dialect `ferry`), so a sink
//! creates `VARCHAR(10)` rather than the `TEXT` the Arrow type alone would give.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Decimal128Builder, Decimal256Builder, StringArray,
};
use arrow::compute::kernels::boolean::{and, is_not_null, or};
use arrow::compute::kernels::cmp::{distinct, gt};
use arrow::compute::kernels::length::length;
use arrow::compute::{can_cast_types, cast_with_options, nullif, CastOptions};
use arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

use super::parse::Arg;
use super::{describe_row, find_column, replace_columns, without_key, StepContext, Transform};
use crate::error::{Error, ErrorKind, Result};
use crate::report::LossyCounter;
use crate::types::{decimal, parse_declared, SqlType, META_SOURCE, META_SOURCE_TYPE};

/// A type a column can be cast to: the Arrow type, the declared type recorded in the field,
/// and a length bound for `CHAR(n)`/`VARCHAR(n)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CastType {
    pub data_type: DataType,
    pub declared: String,
    pub max_chars: Option<u32>,
}

/// Parses a type name: `BOOLEAN`, `SMALLINT`, `INT`/`INTEGER` (32-bit), `BIGINT`, `REAL`,
/// `DOUBLE`, `DECIMAL(p,s)`, `CHAR(n)`, `VARCHAR(n)`, `TEXT`, `BLOB`, `DATE`, `TIME`,
/// `TIMESTAMP`, `TIMESTAMPTZ`.
pub fn parse_type(text: &str) -> Result<CastType> {
    let t = parse_declared("ferry", text).ok_or_else(|| {
        Error::invalid_args(format!(
            "unknown type `{text}` (types: BOOLEAN, SMALLINT, INT, BIGINT, REAL, DOUBLE, \
             DECIMAL(p,s), CHAR(n), VARCHAR(n), TEXT, BLOB, DATE, TIME, TIMESTAMP, TIMESTAMPTZ)"
        ))
    })?;
    let (data_type, declared, max_chars) = match t {
        SqlType::Boolean => (DataType::Boolean, "BOOLEAN".into(), None),
        SqlType::SmallInt => (DataType::Int16, "SMALLINT".into(), None),
        SqlType::Integer => (DataType::Int32, "INT".into(), None),
        SqlType::BigInt => (DataType::Int64, "BIGINT".into(), None),
        SqlType::Real => (DataType::Float32, "REAL".into(), None),
        SqlType::Double => (DataType::Float64, "DOUBLE".into(), None),
        SqlType::Decimal { precision, scale } => (
            if precision <= 38 {
                DataType::Decimal128(precision, scale)
            } else {
                DataType::Decimal256(precision, scale)
            },
            format!("DECIMAL({precision},{scale})"),
            None,
        ),
        SqlType::Char(n) => (DataType::Utf8, format!("CHAR({n})"), Some(n)),
        SqlType::Varchar(n) => (DataType::Utf8, format!("VARCHAR({n})"), Some(n)),
        SqlType::Text => (DataType::Utf8, "TEXT".into(), None),
        SqlType::Blob => (DataType::Binary, "BLOB".into(), None),
        SqlType::Date => (DataType::Date32, "DATE".into(), None),
        SqlType::Time => (DataType::Time64(TimeUnit::Microsecond), "TIME".into(), None),
        SqlType::Timestamp => (
            DataType::Timestamp(TimeUnit::Microsecond, None),
            "TIMESTAMP".into(),
            None,
        ),
        SqlType::TimestampTz => (
            DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
            "TIMESTAMPTZ".into(),
            None,
        ),
        SqlType::Json => (DataType::Utf8, "JSON".into(), None),
        SqlType::Interval => (
            DataType::Duration(TimeUnit::Microsecond),
            "INTERVAL".into(),
            None,
        ),
    };
    Ok(CastType {
        data_type,
        declared,
        max_chars,
    })
}

/// The field of a cast result: the new type, recorded as declared in dialect `ferry`.
pub fn cast_field(field: &Field, to: &CastType, nullable: bool) -> Field {
    let mut meta: HashMap<String, String> = field.metadata().clone();
    meta.insert(META_SOURCE.into(), "ferry".into());
    meta.insert(META_SOURCE_TYPE.into(), to.declared.clone());
    Field::new(field.name(), to.data_type.clone(), nullable).with_metadata(meta)
}

/// `cast(col, TYPE[, safe=false])`.
pub struct Cast {
    column: String,
    to: CastType,
    /// `safe=false`: values that do not fit become NULL.
    lenient: bool,
    lossy: LossyCounter,
}

impl Cast {
    pub fn try_new(args: &[Arg], ctx: &StepContext) -> Result<Self> {
        let usage =
            || Error::invalid_args("cast takes a column and a type: cast(col, TYPE[, safe=false])");
        let (column, ty, rest) = match args {
            [c, t, rest @ ..] if t.key.is_none() => (c.column().ok_or_else(usage)?, t, rest),
            _ => return Err(usage()),
        };
        let mut lenient = false;
        for a in rest {
            match (a.key.as_deref(), a.word().as_deref()) {
                (Some("safe"), Some("false")) => lenient = true,
                (Some("safe"), Some("true")) => lenient = false,
                _ => {
                    return Err(Error::invalid_args(format!(
                        "cast: unknown option `{}` (only safe=false)",
                        a.text()
                    )))
                }
            }
        }
        Ok(Cast {
            column: column.to_string(),
            to: parse_type(&ty.text())?,
            lenient,
            lossy: ctx.lossy.clone(),
        })
    }

    fn field(&self, input: &Field) -> Field {
        let f = cast_field(input, &self.to, input.is_nullable() || self.lenient);
        if self.lenient {
            without_key(&f)
        } else {
            f
        }
    }
}

/// Casts `array` to `to`: the result (NULL where arrow could not cast) and which input values
/// did not fit exactly (`column` names it in errors).
pub fn cast_checked(
    array: &ArrayRef,
    to: &CastType,
    column: &str,
) -> Result<(ArrayRef, BooleanArray)> {
    let from = array.data_type();
    let target = &to.data_type;
    let k = |e| Error::arrow(format!("cast of column \"{column}\""), e);
    let (out, mut bad) = match (from, target) {
        (
            DataType::Utf8 | DataType::LargeUtf8,
            DataType::Decimal128(..) | DataType::Decimal256(..),
        ) => text_to_decimal(array, target)?,
        _ => {
            let out = cast_with_options(array, target, &CastOptions::default()).map_err(k)?;
            let bad = if round_trips(from, target) {
                // Cast back and compare: catches truncation, rounding and overflow alike.
                let back = cast_with_options(&out, from, &CastOptions::default()).map_err(k)?;
                distinct(&back, array).map_err(k)?
            } else {
                distinct(
                    &is_not_null(&out).map_err(k)?,
                    &is_not_null(array).map_err(k)?,
                )
                .map_err(k)?
            };
            (out, bad)
        }
    };
    if let Some(n) = to.max_chars {
        bad = or(&bad, &too_long(&out, n)?).map_err(k)?;
    }
    // Only values present in the input can fail.
    let bad = and(&bad, &is_not_null(array).map_err(k)?).map_err(k)?;
    Ok((out, bad))
}

/// Whether exactness is checked by casting back: numbers, decimals, dates, times and booleans to
/// anything but text (text renders any value exactly).
fn round_trips(from: &DataType, to: &DataType) -> bool {
    let exact_source = from.is_numeric() || from.is_temporal() || matches!(from, DataType::Boolean);
    exact_source
        && !matches!(
            to,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        )
}

/// Text to a decimal, exactly: `1.255` is not a `DECIMAL(10,2)`.
fn text_to_decimal(array: &ArrayRef, to: &DataType) -> Result<(ArrayRef, BooleanArray)> {
    let text = cast_with_options(array, &DataType::Utf8, &CastOptions::default())
        .map_err(|e| Error::arrow("cast to text", e))?;
    let text = text.as_string::<i32>();
    let mut bad = Vec::with_capacity(text.len());
    let (p, s) = match to {
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => (*p, *s),
        _ => return Err(Error::internal("text_to_decimal to a non-decimal")),
    };
    let parsed = text.iter().map(|v| {
        let d = v.and_then(|v| decimal::parse_exact(v.trim(), p, s));
        bad.push(v.is_some() && d.is_none());
        d
    });
    let out: ArrayRef = match to {
        DataType::Decimal128(..) => {
            let mut b = Decimal128Builder::with_capacity(text.len());
            for d in parsed {
                b.append_option(d.and_then(|d| d.to_i128()));
            }
            Arc::new(
                b.finish()
                    .with_precision_and_scale(p, s)
                    .map_err(|e| Error::arrow("decimal", e))?,
            )
        }
        _ => {
            let mut b = Decimal256Builder::with_capacity(text.len());
            for d in parsed {
                b.append_option(d);
            }
            Arc::new(
                b.finish()
                    .with_precision_and_scale(p, s)
                    .map_err(|e| Error::arrow("decimal", e))?,
            )
        }
    };
    Ok((out, BooleanArray::from(bad)))
}

/// Which values of a text array have more than `n` characters. Byte lengths (a kernel) find the
/// candidates; only those are counted in characters.
fn too_long(array: &ArrayRef, n: u32) -> Result<BooleanArray> {
    let k = |e| Error::arrow("length", e);
    let bytes = length(array).map_err(k)?;
    let over = match bytes.data_type() {
        DataType::Int32 => gt(
            bytes.as_primitive::<Int32Type>(),
            &arrow::array::Int32Array::new_scalar(n as i32),
        ),
        _ => gt(
            bytes.as_primitive::<Int64Type>(),
            &arrow::array::Int64Array::new_scalar(n as i64),
        ),
    }
    .map_err(k)?;
    if over.true_count() == 0 {
        return Ok(over);
    }
    let text = cast_with_options(array, &DataType::Utf8, &CastOptions::default()).map_err(k)?;
    let text: &StringArray = text.as_string::<i32>();
    Ok((0..text.len())
        .map(|i| {
            Some(over.is_valid(i) && over.value(i) && text.value(i).chars().count() > n as usize)
        })
        .collect())
}

impl Transform for Cast {
    fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef> {
        let i = find_column(input, &self.column)?;
        let from = input.field(i).data_type();
        if !can_cast_types(from, &self.to.data_type) {
            return Err(Error::invalid_args(format!(
                "column \"{}\" ({from}) cannot be cast to {}",
                self.column, self.to.declared
            )));
        }
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields[i] = self.field(input.field(i));
        Ok(Arc::new(Schema::new_with_metadata(
            fields,
            input.metadata().clone(),
        )))
    }

    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let schema = self.output_schema(&batch.schema())?;
        let i = find_column(&batch.schema(), &self.column)?;
        let input = batch.column(i);
        let (out, bad) = cast_checked(input, &self.to, &self.column)?;
        let count = bad.true_count();
        let out = if count == 0 {
            out
        } else if self.lenient {
            self.lossy.add(&self.column, count as u64);
            nullif(&out, &bad).map_err(|e| Error::arrow("cast", e))?
        } else {
            let row = (0..bad.len()).find(|&r| bad.value(r)).unwrap_or(0);
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!(
                    "column \"{}\" ({}), {}: {} does not fit {}; fix the value, or write \
                     cast({}, {}, safe=false) to load NULL instead (counted in the report)",
                    self.column,
                    input.data_type(),
                    describe_row(&batch, row),
                    super::describe_value(input.as_ref(), row),
                    self.to.declared,
                    self.column,
                    self.to.declared
                ),
            ));
        };
        replace_columns(&batch, schema, vec![(i, out)])
    }

    fn passes_through(&self, column: &str) -> Option<String> {
        (column != self.column).then(|| column.to_string())
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{
        BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
        TimestampMicrosecondArray,
    };

    use super::super::parse::parse_step;
    use super::*;
    use crate::types::{field_with_source, META_PRIMARY_KEY};

    fn step(text: &str) -> (Cast, LossyCounter) {
        let ctx = StepContext::new("t");
        let lossy = ctx.lossy.clone();
        (
            Cast::try_new(&parse_step(text).unwrap().args, &ctx).unwrap(),
            lossy,
        )
    }

    fn one(name: &str, array: ArrayRef) -> RecordBatch {
        let mut f = field_with_source(name, array.data_type().clone(), true, "sqlite", "X");
        let mut meta = f.metadata().clone();
        meta.insert(META_PRIMARY_KEY.into(), "1".into());
        f = f.with_metadata(meta);
        RecordBatch::try_new(Arc::new(Schema::new(vec![f])), vec![array]).unwrap()
    }

    fn run(text: &str, array: ArrayRef) -> Result<ArrayRef> {
        let (s, _) = step(text);
        s.apply(one("c", array)).map(|b| b.column(0).clone())
    }

    fn strings(a: &ArrayRef) -> Vec<Option<String>> {
        let t = cast_with_options(a, &DataType::Utf8, &CastOptions::default()).unwrap();
        t.as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    #[test]
    fn types_parse_to_arrow_and_declared() {
        let t = parse_type("decimal(12, 2)").unwrap();
        assert_eq!(t.data_type, DataType::Decimal128(12, 2));
        assert_eq!(t.declared, "DECIMAL(12,2)");
        assert_eq!(parse_type("INTEGER").unwrap().data_type, DataType::Int32);
        assert_eq!(parse_type("bigint").unwrap().data_type, DataType::Int64);
        assert_eq!(parse_type("VARCHAR(10)").unwrap().max_chars, Some(10));
        assert_eq!(
            parse_type("DECIMAL(40,2)").unwrap().data_type,
            DataType::Decimal256(40, 2)
        );
        assert!(parse_type("MONEY")
            .unwrap_err()
            .to_string()
            .starts_with("unknown type `MONEY`"));
    }

    #[test]
    fn exact_casts_pass_and_record_the_new_type() {
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(1),
            None,
            Some(-7),
            Some(i32::MAX as i64),
        ]));
        let (s, _) = step("cast(c, INT)");
        let b = one("c", ints.clone());
        let schema = s.output_schema(&b.schema()).unwrap();
        let f = schema.field(0);
        assert_eq!(f.data_type(), &DataType::Int32);
        assert_eq!(f.metadata().get(META_SOURCE_TYPE).unwrap(), "INT");
        assert_eq!(f.metadata().get(META_SOURCE).unwrap(), "ferry");
        assert_eq!(f.metadata().get(META_PRIMARY_KEY).unwrap(), "1");
        let out = s.apply(b).unwrap();
        assert_eq!(out.schema(), schema);
        let out = out.column(0).as_primitive::<Int32Type>();
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            vec![Some(1), None, Some(-7), Some(i32::MAX)]
        );
        // Sliced and empty inputs.
        let out = run("cast(c, INT)", ints.slice(2, 2)).unwrap();
        assert_eq!(
            strings(&out),
            vec![Some("-7".into()), Some("2147483647".into())]
        );
        assert_eq!(run("cast(c, INT)", ints.slice(0, 0)).unwrap().len(), 0);
        let dec: ArrayRef = Arc::new(
            Decimal128Array::from(vec![Some(12345), None, Some(-10)])
                .with_precision_and_scale(15, 2)
                .unwrap(),
        );
        assert_eq!(
            strings(&run("cast(c, DECIMAL(12,3))", dec.clone()).unwrap()),
            vec![Some("123.450".into()), None, Some("-0.100".into())]
        );
        assert_eq!(
            strings(&run("cast(c, DOUBLE)", dec.clone()).unwrap()),
            vec![Some("123.45".into()), None, Some("-0.1".into())]
        );
        assert_eq!(
            strings(&run("cast(c, TEXT)", dec).unwrap()),
            vec![Some("123.45".into()), None, Some("-0.10".into())]
        );
        let text: ArrayRef = Arc::new(StringArray::from(vec![
            Some(" 1.5"),
            None,
            Some("-0.25"),
            Some("7"),
        ]));
        assert_eq!(
            strings(&run("cast(c, DECIMAL(5,2))", text).unwrap()),
            vec![
                Some("1.50".into()),
                None,
                Some("-0.25".into()),
                Some("7.00".into())
            ]
        );
        let dates: ArrayRef = Arc::new(StringArray::from(vec![Some("1996-03-13"), None]));
        let out = run("cast(c, DATE)", dates).unwrap();
        assert_eq!(
            out.as_primitive::<arrow::datatypes::Date32Type>().value(0),
            9568
        );
        let d: ArrayRef = Arc::new(Date32Array::from(vec![Some(9568), None]));
        assert_eq!(
            strings(&run("cast(c, TIMESTAMP)", d).unwrap()),
            vec![Some("1996-03-13T00:00:00".into()), None]
        );
        let b: ArrayRef = Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)]));
        assert_eq!(
            strings(&run("cast(c, SMALLINT)", b).unwrap()),
            vec![Some("1".into()), None, Some("0".into())]
        );
        let v: ArrayRef = Arc::new(StringArray::from(vec![Some("héé"), None, Some("abcd")]));
        assert_eq!(run("cast(c, VARCHAR(4))", v).unwrap().len(), 3);
    }

    #[test]
    fn values_that_do_not_fit_fail_naming_column_row_and_value() {
        let e = |text: &str, a: ArrayRef| run(text, a).unwrap_err();
        let err = e(
            "cast(c, INT)",
            Arc::new(Int64Array::from(vec![Some(1), None, Some(1 << 40)])),
        );
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert_eq!(
            err.to_string(),
            "column \"c\" (Int64), row 3 of its batch (c = 1099511627776): 1099511627776 does not \
             fit INT; fix the value, or write cast(c, INT, safe=false) to load NULL instead \
             (counted in the report)"
        );
        // Arrow truncates 1.5 to 1 without an error; the round trip catches it.
        let err = e(
            "cast(c, BIGINT)",
            Arc::new(Float64Array::from(vec![1.0, 1.5])),
        );
        assert!(
            err.to_string()
                .contains("row 2 of its batch (c = 1.5): 1.5 does not fit BIGINT"),
            "{err}"
        );
        // And rounds 1.255 to 1.26 at scale 2.
        let dec: ArrayRef = Arc::new(
            Decimal128Array::from(vec![1255])
                .with_precision_and_scale(10, 3)
                .unwrap(),
        );
        assert!(e("cast(c, DECIMAL(10,2))", dec)
            .to_string()
            .contains("1.255 does not fit DECIMAL(10,2)"));
        let text: ArrayRef = Arc::new(StringArray::from(vec!["1.255"]));
        assert!(e("cast(c, DECIMAL(10,2))", text)
            .to_string()
            .contains("'1.255' does not fit DECIMAL(10,2)"));
        let text: ArrayRef = Arc::new(StringArray::from(vec![Some("1"), Some("x")]));
        assert!(e("cast(c, INT)", text)
            .to_string()
            .contains("row 2 of its batch (c = 'x'): 'x' does not fit INT"));
        let ts: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![
            86_400_000_000,
            86_400_000_001,
        ]));
        assert!(e("cast(c, DATE)", ts)
            .to_string()
            .contains("row 2 of its batch"));
        let v: ArrayRef = Arc::new(StringArray::from(vec![Some("héé"), Some("abcde")]));
        assert!(e("cast(c, VARCHAR(4))", v)
            .to_string()
            .contains("'abcde' does not fit VARCHAR(4)"));
        let i: ArrayRef = Arc::new(Int32Array::from(vec![0, 2]));
        assert!(e("cast(c, BOOLEAN)", i)
            .to_string()
            .contains("2 does not fit BOOLEAN"));
        // The row is counted in the sliced batch it was found in.
        let a: ArrayRef = Arc::new(Int64Array::from(vec![1 << 40, 1, 1 << 41]));
        assert!(e("cast(c, INT)", a.slice(1, 2))
            .to_string()
            .contains("row 2 of its batch (c = 2199023255552)"));
    }

    #[test]
    fn safe_false_loads_null_and_counts() {
        let (s, lossy) = step("cast(c, INT, safe=false)");
        let b = one(
            "c",
            Arc::new(Int64Array::from(vec![
                Some(1),
                None,
                Some(1 << 40),
                Some(1 << 33),
            ])),
        );
        let schema = s.output_schema(&b.schema()).unwrap();
        assert!(schema.field(0).is_nullable());
        assert_eq!(schema.field(0).metadata().get(META_PRIMARY_KEY), None);
        let out = s.apply(b).unwrap();
        let out = out.column(0).as_primitive::<Int32Type>();
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            vec![Some(1), None, None, None]
        );
        assert_eq!(
            lossy.counts(),
            crate::report::LossyCounts::from([("c".into(), 2)])
        );
    }

    #[test]
    fn impossible_casts_fail_at_plan_time() {
        let (s, _) = step("cast(c, DATE)");
        let b = one("c", Arc::new(BooleanArray::from(vec![true])));
        assert_eq!(
            s.output_schema(&b.schema()).unwrap_err().to_string(),
            "column \"c\" (Boolean) cannot be cast to DATE"
        );
        let ctx = StepContext::new("t");
        let e = Cast::try_new(&parse_step("cast(c, INT, safe=maybe)").unwrap().args, &ctx)
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "cast: unknown option `safe=maybe` (only safe=false)"
        );
    }
}
