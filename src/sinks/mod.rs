//! Sinks: everything that leaves the program. Every file is written atomically (temp file in the
//! same folder, fsync, rename), so a run killed mid-write never leaves a truncated output behind,
//! and every table carries its provenance.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::sources::SourceMeta;

pub mod batch;
pub mod chart;
pub mod geojson;
pub mod map;
pub mod parquet;
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

/// Write `path` atomically with whatever `fill` writes.
pub fn atomic_write(path: &Path, fill: impl FnOnce(&mut std::fs::File) -> Result<()>) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        fill(&mut f)?;
        f.flush().map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic_write(path, |f| f.write_all(bytes).map_err(|e| Error::io(path, e)))
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    text.push('\n');
    write_bytes(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_previous_file_and_no_temp_file() {
        let dir = std::env::temp_dir().join(format!("cpts-diag-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("table.parquet");
        write_bytes(&path, b"good old content").unwrap();
        // A writer that dies half-way, as a killed run would.
        let r = atomic_write(&path, |f| {
            f.write_all(b"half a ne").unwrap();
            Err(Error::Config("killed".into()))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"good old content");
        let names: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["table.parquet"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
