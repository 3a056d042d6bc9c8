//! ferry's integration tests: one binary, one module per area.

mod adbc;
mod atomic;
mod cleanup;
mod cli;
mod concurrent;
mod docs;
mod failures;
mod fidelity_mysql;
mod fidelity_types;
mod foreign_keys;
mod hard_types;
mod lossy;
mod matrix;
mod mysql;
mod names;
mod postgres;
mod relations;
mod reload;
mod resume;
mod retry;
mod roundtrip;
mod support;
mod tls;
mod tpch;
mod transforms;
mod verify;
