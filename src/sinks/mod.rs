//! Sinks: everything that leaves the program. Every file is written atomically (temp file in the
//! same folder, fsync, rename), so a run killed mid-write never leaves a truncated output behind,
//! and every table carries its provenance.

use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::sources::SourceMeta;

pub mod access;
pub mod batch;
pub mod chart;
pub mod coverage;
pub mod coverage_map;
pub mod geojson;
pub mod map;
pub mod mapped;
pub mod parquet;
pub mod raster;
pub mod report;
pub mod territory;

/// Where a table's numbers come from; stored as JSON in Parquet metadata and in `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    pub tool: &'static str,
    pub tool_version: &'static str,
    pub sources: Vec<SourceMeta>,
    /// `fetch.lock.json` of the data folder, when the files were fetched by `cpts-diag fetch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetch_lock: Option<serde_json::Value>,
}

impl Provenance {
    pub fn new(sources: Vec<&SourceMeta>) -> Self {
        Provenance {
            tool: "cpts-diag",
            tool_version: env!("CARGO_PKG_VERSION"),
            sources: sources.into_iter().cloned().collect(),
            fetch_lock: None,
        }
    }

    /// Record the data folder's fetch lock, if there is one.
    pub fn with_fetch_lock(mut self, data_root: &Path) -> Result<Self> {
        self.fetch_lock = crate::fetch::lock::read_for_provenance(data_root)?;
        Ok(self)
    }
}

pub use crate::atomic::{atomic_write, write_bytes, write_json};
