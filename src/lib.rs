//! ferry moves tables between databases and files through Apache Arrow, at the speed of each
//! target's bulk path, keeping every value and every declared type.
//!
//! ```text
//! Endpoint (URL) ──> Source ──partitions──> [RecordBatch stream] ──> Transform* ──> Sink ──> TableWriter.finish()
//!                       │                                                            │
//!                       └──── plan: tables, Arrow schema with source types ──────────┘  (CopyPlan, --dry-run prints it)
//! ```
//!
//! * [`source`]: a [`source::Source`] lists tables, plans each into an Arrow schema (the declared
//!   source type of every column in the field metadata, see [`types`]) and partitions, and opens
//!   a partition as a stream of batches.
//! * [`transform`]: steps applied to every batch between source and sink.
//! * [`sink`]: a [`sink::Sink`] prepares a target table and returns a [`sink::TableWriter`]
//!   that commits only in `finish()`; dropped unfinished, it leaves the target as it was.
//! * [`pipeline`]: runs a [`pipeline::CopyPlan`] with bounded channels (backpressure), a local
//!   rayon pool for partitions, and returns a [`report::RunReport`].
//!
//! # Adding an endpoint
//! Add a scheme to [`endpoint`], one file under `source/` implementing `Source` and/or one under
//! `sink/` implementing `Sink`, its type rules to [`types`] (the README table is generated from
//! there), and a conformance test in `tests/it/` that round-trips the hard-types table.

pub use arrow;

pub mod adbc;
pub mod cleanup;
pub mod endpoint;
pub mod error;
pub mod mysql;
pub mod pg;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod sink;
pub mod snapshot;
pub mod source;
pub mod transform;
pub mod types;
pub mod verify;

pub use error::{Error, ErrorKind, Result};
