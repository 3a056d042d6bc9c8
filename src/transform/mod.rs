//! Transforms: steps applied to every batch between source and sink. A step declares its output
//! schema at plan time, before any row moves, and is a pure function of a batch built on arrow
//! compute kernels. The pipeline applies a table's [`Chain`] on its reader threads, so batches
//! are transformed in parallel.
//!
//! Steps are written `name(arguments)` ([`StepSpec::parse`]), one per `--transform` flag or
//! job-file entry ([`job`]), and bound to a table with a [`StepContext`] (the table's name, the
//! load time, the mask keys). Each step carries the fields' metadata (`ferry.source_type`,
//! `ferry.primary_key`) forward, changing it where it changes the column: a cast records the
//! type it cast to, a hash drops the declared type it no longer fits.
//!
//! Filters that read source columns unchanged are pushed into a database source
//! ([`Chain::push_filters`]): the source's query does the filtering, and the step leaves the chain.

pub mod add;
pub mod cast;
pub mod filter;
pub mod job;
pub mod mask;
pub mod parse;
pub mod select;
pub mod strings;

use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::report::LossyCounter;
use crate::types::{META_PRIMARY_KEY, META_SOURCE, META_SOURCE_TYPE};
use filter::{Expr, SqlDialect};
use parse::StepText;

/// One transform step.
pub trait Transform: Send + Sync {
    /// The schema of the batches this step produces from batches of `input`; every error a
    /// step can see before the first row (a missing column, a type it does not take) is here.
    fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef>;
    /// Transforms one batch.
    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch>;
    /// For pushing filters down: the input column whose values the output `column` carries
    /// unchanged, or `None` if the step computes it (the default, which never pushes wrongly).
    fn passes_through(&self, _column: &str) -> Option<String> {
        None
    }
    /// The predicate, if this step is a filter.
    fn predicate(&self) -> Option<&Expr> {
        None
    }
}

/// The step that changes nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Identity;

impl Transform for Identity {
    fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef> {
        Ok(input.clone())
    }
    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        Ok(batch)
    }
    fn passes_through(&self, column: &str) -> Option<String> {
        Some(column.to_string())
    }
}

/// Looks up a secret (a mask key) by name; the command line reads environment variables, the
/// library never does.
pub type Secrets = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What steps may use besides their batches, fixed for a table before any row moves.
#[derive(Clone)]
pub struct StepContext {
    /// The source table's name (`add(col, source_table)`).
    pub table: String,
    /// The run's load time in microseconds since the epoch, UTC (`add(col, load_time)`).
    pub load_time_micros: i64,
    /// Mask keys by name.
    pub secrets: Secrets,
    /// Values a step replaced by NULL because the user allowed it (`cast(.., safe=false)`), per
    /// column; the table's plan counter, so the run report shows them.
    pub lossy: LossyCounter,
}

impl StepContext {
    /// A context for `table` with the current time, no secrets and a fresh counter.
    pub fn new(table: impl Into<String>) -> Self {
        StepContext {
            table: table.into(),
            load_time_micros: chrono::Utc::now().timestamp_micros(),
            secrets: Arc::new(|_| None),
            lossy: LossyCounter::default(),
        }
    }

    pub fn with_secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = secrets;
        self
    }

    pub fn with_load_time_micros(mut self, micros: i64) -> Self {
        self.load_time_micros = micros;
        self
    }

    pub fn with_lossy(mut self, lossy: LossyCounter) -> Self {
        self.lossy = lossy;
        self
    }
}

/// The steps ferry knows, with their syntax, for error messages and `--help`.
pub const STEPS: &[(&str, &str)] = &[
    ("select", "select(col, ...)"),
    ("drop", "drop(col, ...)"),
    ("rename", "rename(old, new)"),
    ("cast", "cast(col, TYPE[, safe=false])"),
    ("filter", "filter(EXPRESSION)"),
    (
        "mask",
        "mask(col, hmac[, length=N][, key=ENV]) | mask(col, null) | mask(col, prefix, length=N)",
    ),
    (
        "add",
        "add(name, 'text' | number | TRUE | FALSE | load_time | source_table[, type=TYPE])",
    ),
    ("trim", "trim(col, ...)"),
    ("lower", "lower(col, ...)"),
    ("upper", "upper(col, ...)"),
    ("tz", "tz(col, TO) | tz(col, FROM, TO)"),
];

/// A step as written, checked for its syntax; [`StepSpec::bind`] makes it a [`Transform`].
#[derive(Debug, Clone, PartialEq)]
pub struct StepSpec {
    text: String,
    parsed: StepText,
}

impl StepSpec {
    /// Parses one step, `name(arguments)`.
    pub fn parse(text: &str) -> Result<Self> {
        let wrap = |e: Error| e.context(format!("transform `{}`", text.trim()));
        let parsed = parse::parse_step(text).map_err(wrap)?;
        let spec = StepSpec {
            text: text.trim().to_string(),
            parsed,
        };
        // Bind once with a neutral context so syntax errors surface at parse time; mask keys
        // are only looked up by the real bind.
        spec.build(&StepContext::new(""), false).map_err(wrap)?;
        Ok(spec)
    }

    /// The step as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The step bound to a table.
    pub fn bind(&self, ctx: &StepContext) -> Result<Box<dyn Transform>> {
        self.build(ctx, true)
    }

    fn build(&self, ctx: &StepContext, with_secrets: bool) -> Result<Box<dyn Transform>> {
        let p = &self.parsed;
        Ok(match p.name.as_str() {
            "select" => Box::new(select::Select::try_new(&p.args)?),
            "drop" => Box::new(select::Drop::try_new(&p.args)?),
            "rename" => Box::new(select::Rename::try_new(&p.args)?),
            "cast" => Box::new(cast::Cast::try_new(&p.args, ctx)?),
            "filter" => Box::new(filter::Filter::new(parse::parse_expr(&p.body)?)),
            "mask" => Box::new(mask::Mask::try_new(&p.args, ctx, with_secrets)?),
            "add" => Box::new(add::Add::try_new(&p.args, ctx)?),
            "trim" | "lower" | "upper" => Box::new(strings::StringStep::try_new(&p.name, &p.args)?),
            "tz" => Box::new(strings::Tz::try_new(&p.args)?),
            other => {
                return Err(Error::invalid_args(format!(
                    "unknown step `{other}` (steps: {})",
                    STEPS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                )))
            }
        })
    }
}

/// An ordered chain of steps.
#[derive(Default)]
pub struct Chain {
    steps: Vec<(String, Box<dyn Transform>)>,
}

impl Chain {
    pub fn new(steps: Vec<Box<dyn Transform>>) -> Self {
        Chain {
            steps: steps
                .into_iter()
                .enumerate()
                .map(|(i, s)| (format!("step {}", i + 1), s))
                .collect(),
        }
    }

    /// Binds parsed steps to a table.
    pub fn bind(specs: &[StepSpec], ctx: &StepContext) -> Result<Self> {
        let steps = specs
            .iter()
            .map(|s| {
                s.bind(ctx)
                    .map(|t| (s.text.clone(), t))
                    .map_err(|e| e.context(format!("transform `{}`", s.text)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Chain { steps })
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Whether a step may leave rows out (a filter): then row positions after the chain are
    /// not the source's.
    pub fn filters(&self) -> bool {
        self.steps.iter().any(|(_, t)| t.predicate().is_some())
    }

    /// The steps as written.
    pub fn describe(&self) -> Vec<&str> {
        self.steps.iter().map(|(t, _)| t.as_str()).collect()
    }

    /// The schema after every step; an error names the step.
    pub fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef> {
        self.steps.iter().try_fold(input.clone(), |s, (text, t)| {
            t.output_schema(&s)
                .map_err(|e| e.context(format!("transform `{text}`")))
        })
    }

    /// Applies every step in order; an error names the step.
    pub fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        self.steps.iter().try_fold(batch, |b, (text, t)| {
            t.apply(b)
                .map_err(|e| e.context(format!("transform `{text}`")))
        })
    }

    /// Takes out of the chain each filter that reads only columns the earlier steps pass
    /// through unchanged and that `dialect` can write, and returns the chain left and the
    /// pushed predicates in the source's SQL, over the source's column names. Every other step
    /// maps each row to one row, so a filter on source values may run before them.
    pub fn push_filters(
        self,
        input: &SchemaRef,
        dialect: Option<SqlDialect>,
    ) -> Result<(Chain, Vec<String>)> {
        let Some(dialect) = dialect else {
            return Ok((self, Vec::new()));
        };
        let mut pushed = Vec::new();
        let mut kept: Vec<usize> = Vec::new();
        for (i, (text, step)) in self.steps.iter().enumerate() {
            let sql = step.predicate().and_then(|p| {
                let mut names = std::collections::HashMap::new();
                for c in p.columns() {
                    let mut name = c.to_string();
                    // A pushed filter passes every column through: only kept steps map names.
                    for &j in kept.iter().rev() {
                        name = self.steps[j].1.passes_through(&name)?;
                    }
                    names.insert(c.to_string(), name);
                }
                let at_source = p.rename_columns(&|c| names.get(c).cloned().unwrap_or_default());
                at_source.check(input).ok()?;
                dialect.render(&at_source, input)
            });
            match sql {
                Some(sql) => {
                    tracing::debug!(step = %text, %sql, "filter pushed to the source");
                    pushed.push(sql);
                }
                None => kept.push(i),
            }
        }
        let kept = self
            .steps
            .into_iter()
            .enumerate()
            .filter(|(i, _)| kept.contains(i))
            .map(|(_, s)| s)
            .collect();
        Ok((Chain { steps: kept }, pushed))
    }
}

/// `a, b, c`: the columns of a schema, for error messages.
pub fn column_list(schema: &Schema) -> String {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// The index of column `name`, or an error listing the columns.
pub fn find_column(schema: &Schema, name: &str) -> Result<usize> {
    schema.index_of(name).map_err(|_| {
        Error::invalid_args(format!(
            "column \"{name}\" not found (columns: {})",
            column_list(schema)
        ))
    })
}

/// The field without its declared source type: the sink derives the type from the Arrow type.
pub fn without_source_type(field: &Field) -> Field {
    let mut meta = field.metadata().clone();
    meta.remove(META_SOURCE_TYPE);
    meta.remove(META_SOURCE);
    field.clone().with_metadata(meta)
}

/// The field no longer marked as part of the primary key (its values may repeat or be NULL).
pub fn without_key(field: &Field) -> Field {
    let mut meta = field.metadata().clone();
    meta.remove(META_PRIMARY_KEY);
    field.clone().with_metadata(meta)
}

/// `row 3 of its batch (c_custkey = 42)`: where a value is, for error messages. Partitions are
/// read in parallel, so the row is counted in its batch, and the primary key says which it is.
pub fn describe_row(batch: &RecordBatch, row: usize) -> String {
    let schema = batch.schema();
    let mut keys: Vec<(u32, String)> = schema
        .fields()
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let pos = crate::types::primary_key_position(f)?;
            Some((
                pos,
                format!("{} = {}", f.name(), describe_value(batch.column(i), row)),
            ))
        })
        .collect();
    keys.sort();
    let keys: Vec<String> = keys.into_iter().map(|(_, k)| k).collect();
    if keys.is_empty() {
        format!("row {} of its batch", row + 1)
    } else {
        format!("row {} of its batch ({})", row + 1, keys.join(", "))
    }
}

/// A value for an error message, as the user would write it: text quoted and shortened;
/// dates, timestamps and durations in their SQL text (`infinity` for ferry's sentinels, `BC`
/// for years before 1, never a raw count of days or microseconds); others as arrow displays them.
pub fn describe_value(array: &dyn arrow::array::Array, row: usize) -> String {
    use crate::types::temporal;
    use arrow::array::AsArray;
    use arrow::datatypes::{DataType, Int64Type, TimeUnit};
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    if array.is_null(row) {
        return "NULL".into();
    }
    let per_sec = |u: &TimeUnit| match u {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    };
    match array.data_type() {
        DataType::Utf8 => return describe_text(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => return describe_text(array.as_string::<i64>().value(row)),
        DataType::Utf8View => return describe_text(array.as_string_view().value(row)),
        DataType::Date32 => {
            let d = array
                .as_primitive::<arrow::datatypes::Date32Type>()
                .value(row);
            return temporal::shown_date(i64::from(d));
        }
        DataType::Date64 => {
            let ms = array
                .as_primitive::<arrow::datatypes::Date64Type>()
                .value(row);
            return if ms % 86_400_000 == 0 {
                temporal::shown_date(ms / 86_400_000)
            } else {
                temporal::shown_timestamp(ms, 1_000, false)
            };
        }
        DataType::Timestamp(unit, tz) => {
            if let Ok(v) = arrow::compute::cast(&array.slice(row, 1), &DataType::Int64) {
                let v = v.as_primitive::<Int64Type>().value(0);
                return temporal::shown_timestamp(v, per_sec(unit), tz.is_some());
            }
        }
        DataType::Duration(unit) | DataType::Time32(unit) | DataType::Time64(unit) => {
            let as_int = match array.data_type() {
                DataType::Time32(_) => DataType::Int32,
                _ => DataType::Int64,
            };
            let v = arrow::compute::cast(&array.slice(row, 1), &as_int)
                .and_then(|v| arrow::compute::cast(&v, &DataType::Int64));
            if let Ok(v) = v {
                let v = v.as_primitive::<Int64Type>().value(0);
                let nanos = i128::from(v) * i128::from(1_000_000_000 / per_sec(unit));
                return temporal::format_duration(nanos);
            }
        }
        _ => {}
    }
    let shown = ArrayFormatter::try_new(array, &FormatOptions::default())
        .map(|f| f.value(row).to_string())
        .unwrap_or_else(|_| "?".into());
    shorten(&shown)
}

/// A text value for an error message: quoted as SQL quotes it, shortened past 40 characters.
pub fn describe_text(v: &str) -> String {
    format!("'{}'", shorten(v).replace('\'', "''"))
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}...", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Column arguments of a step (`trim(a, b)`), at least one, each a column name.
pub(crate) fn column_args(step: &str, args: &[parse::Arg]) -> Result<Vec<String>> {
    if args.is_empty() {
        return Err(Error::invalid_args(format!(
            "{step} needs at least one column"
        )));
    }
    args.iter()
        .map(|a| {
            a.column().map(str::to_string).ok_or_else(|| {
                Error::invalid_args(format!("{step}: `{}` is not a column name", a.text()))
            })
        })
        .collect()
}

/// Replaces the columns at `indices` and their fields, keeping the rest.
pub(crate) fn replace_columns(
    batch: &RecordBatch,
    schema: SchemaRef,
    replaced: Vec<(usize, arrow::array::ArrayRef)>,
) -> Result<RecordBatch> {
    let mut columns = batch.columns().to_vec();
    for (i, a) in replaced {
        columns[i] = a;
    }
    RecordBatch::try_new(schema, columns)
        .map_err(|e| Error::arrow("cannot assemble the transformed batch", e))
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::DataType;

    use super::*;
    use crate::types::field_with_source;

    #[test]
    fn identity_chain_keeps_batches() {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(vec![Some(1), None]))],
        )
        .unwrap();
        let chain = Chain::new(vec![Box::new(Identity)]);
        assert_eq!(chain.output_schema(&schema).unwrap(), schema);
        assert_eq!(chain.apply(batch.clone()).unwrap(), batch);
    }

    fn source_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            field_with_source("id", DataType::Int64, false, "sqlite", "INTEGER"),
            field_with_source("name", DataType::Utf8, true, "sqlite", "VARCHAR(25)"),
            field_with_source(
                "bal",
                DataType::Decimal128(15, 2),
                true,
                "sqlite",
                "DECIMAL(15,2)",
            ),
        ]))
    }

    fn chain(steps: &[&str]) -> Chain {
        let specs: Vec<StepSpec> = steps.iter().map(|s| StepSpec::parse(s).unwrap()).collect();
        Chain::bind(&specs, &StepContext::new("t")).unwrap()
    }

    #[test]
    fn filters_on_source_columns_are_pushed_through_renames_and_other_steps() {
        let (left, pushed) = chain(&[
            "rename(name, n)",
            "upper(n)",
            "filter(id > 10)",
            "filter(n = 'X')",
            "rename(bal, balance)",
            "filter(balance >= 0 AND id < 100)",
        ])
        .push_filters(&source_schema(), Some(SqlDialect::Sqlite))
        .unwrap();
        assert_eq!(
            pushed,
            vec![
                "\"id\" > 10".to_string(),
                "(\"bal\" >= 0.00 AND \"id\" < 100)".to_string()
            ]
        );
        // upper(n) computes n, so the filter on it stays after it.
        assert_eq!(
            left.describe(),
            vec![
                "rename(name, n)",
                "upper(n)",
                "filter(n = 'X')",
                "rename(bal, balance)"
            ]
        );
        let (left, pushed) = chain(&["filter(id > 10)"])
            .push_filters(&source_schema(), None)
            .unwrap();
        assert!(pushed.is_empty());
        assert_eq!(left.describe(), vec!["filter(id > 10)"]);
    }

    #[test]
    fn errors_name_the_step_and_the_column() {
        let c = chain(&["rename(name, n)", "upper(name)"]);
        let e = c.output_schema(&source_schema()).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::InvalidArguments);
        assert_eq!(
            e.chain(),
            "transform `upper(name)`: column \"name\" not found (columns: id, n, bal)"
        );
        let e = StepSpec::parse("shout(name)").unwrap_err();
        assert_eq!(
            e.chain(),
            "transform `shout(name)`: unknown step `shout` (steps: select, drop, rename, cast, filter, mask, add, trim, lower, upper, tz)"
        );
        let e = StepSpec::parse("filter(id >)").unwrap_err();
        assert_eq!(
            e.chain(),
            "transform `filter(id >)`: expected a column or a literal at the end"
        );
    }

    #[test]
    fn chain_applies_steps_in_order() {
        let schema = source_schema();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])),
                Arc::new(
                    arrow::array::Decimal128Array::from(vec![Some(5), Some(-5), None])
                        .with_precision_and_scale(15, 2)
                        .unwrap(),
                ),
            ],
        )
        .unwrap();
        let c = chain(&[
            "rename(name, n)",
            "upper(n)",
            "filter(n IS NOT NULL)",
            "drop(bal)",
        ]);
        let out = c.apply(batch).unwrap();
        assert_eq!(out.schema(), c.output_schema(&schema).unwrap());
        let n = out
            .column(1)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(n.iter().collect::<Vec<_>>(), vec![Some("A"), Some("C")]);
        assert_eq!(out.schema().field(1).name(), "n");
        assert_eq!(
            out.schema()
                .field(1)
                .metadata()
                .get(META_SOURCE_TYPE)
                .map(String::as_str),
            Some("VARCHAR(25)")
        );
    }
}
