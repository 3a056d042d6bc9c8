//! Transforms: steps applied to every batch between source and sink. A step declares its output
//! schema at plan time, before any row moves, and is a pure function of a batch. The steps
//! themselves (select, cast, filter, mask, ...) plug in here; the pipeline applies the chain in
//! parallel on its rayon pool.

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::Result;

/// One transform step.
pub trait Transform: Send + Sync {
    /// The schema of the batches this step produces from batches of `input`.
    fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef>;
    /// Transforms one batch.
    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch>;
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
}

/// An ordered chain of steps.
#[derive(Default)]
pub struct Chain {
    steps: Vec<Box<dyn Transform>>,
}

impl Chain {
    pub fn new(steps: Vec<Box<dyn Transform>>) -> Self {
        Chain { steps }
    }

    /// The schema after every step.
    pub fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef> {
        self.steps
            .iter()
            .try_fold(input.clone(), |s, t| t.output_schema(&s))
    }

    /// Applies every step in order.
    pub fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        self.steps.iter().try_fold(batch, |b, t| t.apply(b))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

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
}
