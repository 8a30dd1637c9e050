//! cpts-diag: the diagnostic territorial of a CPTS from official open data.
//!
//! The data's path is the module layout: `sources` (one staging module per published file) →
//! `transforms` (COG 2026 normalization, curated national table) → `territory` + `indicators` +
//! `aci` + `diagnose` (the marts), with `geo` (boundaries in COG 2026, contiguity) and `advice`
//! (band sizing) → `sinks` (Parquet, JSON, charts, maps, report, GeoJSON). `cli` holds one module
//! per subcommand; `main.rs` only parses arguments.

pub mod access;
pub mod aci;
pub mod advice;
pub mod atomic;
pub mod batch;
pub mod cli;
pub mod coverage;
pub mod diagnose;
pub mod error;
pub mod fetch;
pub mod geo;
pub mod indicators;
pub mod level;
pub mod memory;
pub mod pipeline;
pub mod professions;
pub mod progress;
pub mod schema;
pub mod sinks;
pub mod snapshot;
pub mod sources;
pub mod territory;
pub mod transforms;

pub use error::{Error, Result};
