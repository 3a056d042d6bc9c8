//! `select(col, ...)`, `drop(col, ...)` and `rename(old, new)`: column sets and names. Arrays
//! move untouched (an `Arc` clone each), fields keep their metadata.

use std::sync::Arc;

use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::parse::Arg;
use super::{column_args, find_column, Transform};
use crate::error::{Error, Result};

fn no_duplicates(step: &str, columns: &[String]) -> Result<()> {
    for (i, c) in columns.iter().enumerate() {
        if columns[..i].contains(c) {
            return Err(Error::invalid_args(format!(
                "{step}: column \"{c}\" is named twice"
            )));
        }
    }
    Ok(())
}

/// Projects a batch onto `indices` with the output schema (row count kept even with no column).
fn project(batch: &RecordBatch, schema: SchemaRef, indices: &[usize]) -> Result<RecordBatch> {
    let columns = indices.iter().map(|&i| batch.column(i).clone()).collect();
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(schema, columns, &options)
        .map_err(|e| Error::arrow("cannot assemble the transformed batch", e))
}

/// `select(col, ...)`: these columns, in this order.
pub struct Select {
    columns: Vec<String>,
}

impl Select {
    pub fn try_new(args: &[Arg]) -> Result<Self> {
        let columns = column_args("select", args)?;
        no_duplicates("select", &columns)?;
        Ok(Select { columns })
    }

    fn indices(&self, schema: &Schema) -> Result<Vec<usize>> {
        self.columns
            .iter()
            .map(|c| find_column(schema, c))
            .collect()
    }
}

impl Transform for Select {
    fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef> {
        let fields: Vec<_> = self
            .indices(input)?
            .into_iter()
            .map(|i| input.field(i).clone())
            .collect();
        Ok(Arc::new(Schema::new_with_metadata(
            fields,
            input.metadata().clone(),
        )))
    }

    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let schema = self.output_schema(&batch.schema())?;
        project(&batch, schema, &self.indices(&batch.schema())?)
    }

    fn passes_through(&self, column: &str) -> Option<String> {
        Some(column.to_string())
    }
}

/// `drop(col, ...)`: every column but these.
pub struct Drop {
    columns: Vec<String>,
}

impl Drop {
    pub fn try_new(args: &[Arg]) -> Result<Self> {
        let columns = column_args("drop", args)?;
        no_duplicates("drop", &columns)?;
        Ok(Drop { columns })
    }

    fn indices(&self, schema: &Schema) -> Result<Vec<usize>> {
        for c in &self.columns {
            find_column(schema, c)?;
        }
        let keep: Vec<usize> = (0..schema.fields().len())
            .filter(|&i| !self.columns.contains(schema.field(i).name()))
            .collect();
        if keep.is_empty() {
            return Err(Error::invalid_args(
                "drop would leave no column; keep at least one",
            ));
        }
        Ok(keep)
    }
}

impl Transform for Drop {
    fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef> {
        let fields: Vec<_> = self
            .indices(input)?
            .into_iter()
            .map(|i| input.field(i).clone())
            .collect();
        Ok(Arc::new(Schema::new_with_metadata(
            fields,
            input.metadata().clone(),
        )))
    }

    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let schema = self.output_schema(&batch.schema())?;
        project(&batch, schema, &self.indices(&batch.schema())?)
    }

    fn passes_through(&self, column: &str) -> Option<String> {
        Some(column.to_string())
    }
}

/// `rename(old, new)`.
pub struct Rename {
    from: String,
    to: String,
}

impl Rename {
    pub fn try_new(args: &[Arg]) -> Result<Self> {
        let columns = column_args("rename", args)?;
        match columns.as_slice() {
            [from, to] if !to.is_empty() => Ok(Rename {
                from: from.clone(),
                to: to.clone(),
            }),
            _ => Err(Error::invalid_args(
                "rename takes two columns: rename(old, new)",
            )),
        }
    }
}

impl Transform for Rename {
    fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef> {
        let i = find_column(input, &self.from)?;
        if self.from != self.to && input.index_of(&self.to).is_ok() {
            return Err(Error::invalid_args(format!(
                "column \"{}\" exists already",
                self.to
            )));
        }
        let fields: Vec<_> = input
            .fields()
            .iter()
            .enumerate()
            .map(|(j, f)| {
                if j == i {
                    f.as_ref().clone().with_name(&self.to)
                } else {
                    f.as_ref().clone()
                }
            })
            .collect();
        Ok(Arc::new(Schema::new_with_metadata(
            fields,
            input.metadata().clone(),
        )))
    }

    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let schema = self.output_schema(&batch.schema())?;
        let indices: Vec<usize> = (0..batch.num_columns()).collect();
        project(&batch, schema, &indices)
    }

    fn passes_through(&self, column: &str) -> Option<String> {
        if column == self.to {
            Some(self.from.clone())
        } else if column == self.from {
            // The old name no longer exists after the step.
            None
        } else {
            Some(column.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, BinaryArray, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field};

    use super::super::parse::parse_step;
    use super::*;
    use crate::types::{field_with_source, META_PRIMARY_KEY};

    fn batch() -> RecordBatch {
        let mut key = field_with_source("id", DataType::Int64, false, "sqlite", "INTEGER");
        let mut meta = key.metadata().clone();
        meta.insert(META_PRIMARY_KEY.into(), "1".into());
        key = key.with_metadata(meta);
        let schema = Arc::new(Schema::new(vec![
            key,
            field_with_source("name", DataType::Utf8, true, "sqlite", "VARCHAR(25)"),
            Field::new("raw", DataType::Binary, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
                Arc::new(StringArray::from(vec![
                    Some("a"),
                    None,
                    Some("c"),
                    Some("d"),
                ])),
                Arc::new(BinaryArray::from(vec![
                    Some(&b"x"[..]),
                    Some(b""),
                    None,
                    Some(b"z"),
                ])),
            ],
        )
        .unwrap()
    }

    fn args(step: &str) -> Vec<Arg> {
        parse_step(step).unwrap().args
    }

    fn names(b: &RecordBatch) -> Vec<String> {
        b.schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    #[test]
    fn select_reorders_and_keeps_metadata_on_sliced_and_empty_batches() {
        let s = Select::try_new(&args("select(raw, id)")).unwrap();
        let b = batch();
        for input in [b.clone(), b.slice(1, 2), b.slice(4, 0)] {
            let out = s.apply(input.clone()).unwrap();
            assert_eq!(names(&out), vec!["raw", "id"]);
            assert_eq!(out.num_rows(), input.num_rows());
            assert_eq!(out.column(0), input.column(2));
            assert_eq!(out.column(1), input.column(0));
            assert_eq!(out.schema().field(1), b.schema().field(0));
        }
        assert_eq!(
            s.output_schema(&b.schema()).unwrap(),
            s.apply(b.clone()).unwrap().schema()
        );
        let e = Select::try_new(&args("select(id, id)")).err().unwrap();
        assert_eq!(e.to_string(), "select: column \"id\" is named twice");
        let e = Select::try_new(&args("select(nope)"))
            .unwrap()
            .output_schema(&b.schema())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "column \"nope\" not found (columns: id, name, raw)"
        );
    }

    #[test]
    fn drop_removes_columns_but_not_all_of_them() {
        let b = batch();
        let d = Drop::try_new(&args("drop(name)")).unwrap();
        let out = d.apply(b.slice(2, 2)).unwrap();
        assert_eq!(names(&out), vec!["id", "raw"]);
        let raw = out
            .column(1)
            .as_any()
            .downcast_ref::<BinaryArray>()
            .unwrap();
        assert!(raw.is_null(0));
        assert_eq!(raw.value(1), b"z");
        let e = Drop::try_new(&args("drop(id, name, raw)"))
            .unwrap()
            .output_schema(&b.schema())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "drop would leave no column; keep at least one"
        );
    }

    #[test]
    fn rename_keeps_values_and_declared_type() {
        let b = batch();
        let r = Rename::try_new(&args("rename(name, full_name)")).unwrap();
        let out = r.apply(b.clone()).unwrap();
        assert_eq!(names(&out), vec!["id", "full_name", "raw"]);
        assert_eq!(out.column(1), b.column(1));
        assert_eq!(
            out.schema().field(1).metadata(),
            b.schema().field(1).metadata()
        );
        assert_eq!(r.passes_through("full_name").as_deref(), Some("name"));
        assert_eq!(r.passes_through("name"), None);
        assert_eq!(r.passes_through("id").as_deref(), Some("id"));
        assert_eq!(r.apply(b.slice(0, 0)).unwrap().num_rows(), 0);
        let e = Rename::try_new(&args("rename(name, id)"))
            .unwrap()
            .output_schema(&b.schema())
            .unwrap_err();
        assert_eq!(e.to_string(), "column \"id\" exists already");
        let e = Rename::try_new(&args("rename(name)")).err().unwrap();
        assert_eq!(e.to_string(), "rename takes two columns: rename(old, new)");
    }
}
