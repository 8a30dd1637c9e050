//! cpts-diag: the diagnostic territorial of a CPTS from official open data.
//!
//! The data's path is the module layout: `sources` (one staging module per published file) →
//! `transforms` (COG 2026 normalization, curated national table) → `territory` + `indicators` +
//! `aci` + `diagnose` (the marts) → `sinks` (Parquet, JSON, charts). `cli` holds one module per
//! subcommand; `main.rs` only parses arguments.

pub mod aci;
pub mod cli;
pub mod diagnose;
pub mod error;
pub mod fetch;
pub mod indicators;
pub mod schema;
pub mod sinks;
pub mod sources;
pub mod territory;
pub mod transforms;

pub use error::{Error, Result};
