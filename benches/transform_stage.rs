//! The transform stage alone: a Parquet snapshot of a table is read into memory, then a chain of
//! steps is applied to every batch on a local rayon pool of 1 and of 2 threads, as the pipeline
//! does, timing only the transforms.
//!
//! Usage: cargo bench --bench transform_stage -- SNAPSHOT_TABLE_DIR [STEP]...
//! (`benches/transforms.sh` runs it on TPC-H lineitem at SF1.)

use std::path::PathBuf;
use std::time::Instant;

use ferry::arrow::record_batch::RecordBatch;
use ferry::transform::{Chain, StepContext, StepSpec};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rayon::prelude::*;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let dir = PathBuf::from(args.next().expect("a snapshot table directory"));
    let steps: Vec<String> = args.collect();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the table directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    let mut batches: Vec<RecordBatch> = Vec::new();
    for f in &files {
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(f).unwrap())
            .unwrap()
            .with_batch_size(ferry::source::BatchLimits::DEFAULT_ROWS)
            .build()
            .unwrap();
        for b in reader {
            batches.push(b.unwrap());
        }
    }
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let specs: Vec<StepSpec> = steps.iter().map(|s| StepSpec::parse(s).unwrap()).collect();
    let secrets: ferry::transform::Secrets =
        std::sync::Arc::new(|_| Some("bench-key-of-32-bytes-long-xxxxx".into()));
    let ctx = StepContext::new("lineitem").with_secrets(secrets);
    let chain = Chain::bind(&specs, &ctx).unwrap();
    chain.output_schema(&batches[0].schema()).unwrap();
    println!(
        "{rows} rows in {} batches, steps: {}",
        batches.len(),
        steps.join(" ")
    );
    for jobs in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .unwrap();
        let mut walls = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            let out: usize = pool.install(|| {
                batches
                    .par_iter()
                    .map(|b| chain.apply(b.clone()).unwrap().num_rows())
                    .sum()
            });
            walls.push(t.elapsed().as_secs_f64());
            assert!(out <= rows);
        }
        walls.sort_by(f64::total_cmp);
        let wall = walls[1];
        println!(
            "transform stage, --jobs {jobs}: {wall:.2} s, {:.0} rows/s (median of 3)",
            rows as f64 / wall
        );
    }
}
