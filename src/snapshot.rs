//! The national snapshot built into the binary: the curated tables that `cpts-diag build --snapshot`
//! writes to `data/snapshot/` from the current vintages. It lets `diagnose`, `batch` and `map` run on
//! a machine with no published files at all (a bare clone, `cargo install --path .` run from any
//! folder). A real-data test rebuilds it and fails if the committed files differ.
//!
//! `static`, not `const`: a `const` byte string may be copied into every codegen unit that uses
//! it (the geometry was in the binary twice, 7 MB).

/// The curated national table (`communes.parquet` of `build`).
pub static COMMUNES: &[u8] = include_bytes!("../data/snapshot/communes.parquet");
/// The COG 2026 reference the table was built on (`cog.postcard.gz`).
pub static COG: &[u8] = include_bytes!("../data/snapshot/cog.postcard.gz");
/// COG 2026 commune and arrondissement boundaries, GeoParquet 1.1 (`geometry.parquet` of `build`).
pub static GEOMETRY: &[u8] = include_bytes!("../data/snapshot/geometry.parquet");
/// Sources and vintages (`snapshot.json`).
pub static INFO: &str = include_str!("../data/snapshot/snapshot.json");
