//! `data/sources.toml`: every source `fetch` knows, its canonical URL(s), format, licence, the
//! staging module that reads it and its path inside the data folder. That path is the same in
//! `data/raw/` (what `fetch` writes), in a mirror (folder or base URL) and in `../shared/data`,
//! so `--data-dir data/raw` resolves every source exactly as `--data-dir ../shared/data` does.

use std::collections::BTreeSet;
use std::path::{Component, Path};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The manifest shipped with the binary (`data/sources.toml`).
pub const EMBEDDED: &str = include_str!("../../data/sources.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(rename = "source")]
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Short id used on the command line (`cpts-diag fetch rpps`).
    pub id: String,
    pub title: String,
    /// Staging module reading the file (`sources::bpe`, …).
    pub module: String,
    pub format: String,
    pub licence: String,
    /// Path inside the data folder (`data/raw/<file>`, `<mirror>/<file>`).
    pub file: String,
    /// Canonical URLs, tried in order (a 404 moves on to the next one). Empty for derived files
    /// that only a mirror can provide.
    #[serde(default)]
    pub urls: Vec<String>,
    /// `gzip`: the canonical URL serves the plain file; store it gzip-compressed as `file`.
    #[serde(default)]
    pub store: Option<String>,
    /// For a zip archive: the member names (`*` wildcard, case-insensitive) to extract next to it.
    #[serde(default)]
    pub unpack: Vec<String>,
    /// A required source that cannot be fetched fails the run; an optional one is reported and skipped.
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default)]
    pub note: String,
}

fn yes() -> bool {
    true
}

/// A relative path that stays inside the folder it is joined to.
pub fn is_safe_relative(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty() && !p.contains('\\') && path.components().all(|c| matches!(c, Component::Normal(_)))
}

impl Manifest {
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let m: Manifest = toml::from_str(text).map_err(|e| Error::Config(format!("{origin}: {e}")))?;
        let mut ids = BTreeSet::new();
        for s in &m.sources {
            if !ids.insert(s.id.as_str()) {
                return Err(Error::Config(format!("{origin}: source \"{}\" listed twice", s.id)));
            }
            if !is_safe_relative(&s.file) {
                return Err(Error::Config(format!(
                    "{origin}: source \"{}\": file \"{}\" must be a relative path without `..`",
                    s.id, s.file
                )));
            }
            if let Some(st) = &s.store {
                if st != "gzip" {
                    return Err(Error::Config(format!(
                        "{origin}: source \"{}\": unknown store \"{st}\" (only gzip)",
                        s.id
                    )));
                }
            }
        }
        Ok(m)
    }

    pub fn embedded() -> Self {
        Manifest::parse(EMBEDDED, "data/sources.toml (embedded)").expect("the embedded manifest is valid")
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Manifest::parse(&text, &path.display().to_string())
    }

    pub fn get(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.id == id)
    }

    /// The sources named on the command line (all when none), unknown names being an error.
    pub fn select(&self, ids: &[String]) -> Result<Vec<&Source>> {
        if ids.is_empty() {
            return Ok(self.sources.iter().collect());
        }
        ids.iter()
            .map(|id| {
                self.get(id).ok_or_else(|| {
                    Error::Config(format!(
                        "unknown source \"{id}\" (manifest has: {})",
                        self.sources.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")
                    ))
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_manifest_parses_and_paths_are_safe() {
        let m = Manifest::embedded();
        assert!(m.get("rpps").is_some());
        assert!(m.sources.iter().all(|s| is_safe_relative(&s.file)));
    }

    /// `--data-dir data/raw` must find every file a staging module reads where `fetch` puts it.
    #[test]
    fn manifest_covers_every_staged_file() {
        let m = Manifest::embedded();
        for meta in crate::sources::all() {
            if meta.file.contains('*') {
                // Extracted from an archive of the manifest, found by pattern.
                let dir = meta.file.rsplit_once('/').map_or("", |(d, _)| d);
                assert!(m.sources.iter().any(|s| s.file.starts_with(dir) && (!s.unpack.is_empty())), "{}", meta.id);
            } else {
                assert!(
                    m.sources.iter().any(|s| s.file == meta.file),
                    "{} ({}) missing from data/sources.toml",
                    meta.id,
                    meta.file
                );
            }
        }
    }

    #[test]
    fn unsafe_paths_rejected() {
        for p in ["../x", "/etc/passwd", "a/../../b", "", "a\\b"] {
            assert!(!is_safe_relative(p), "{p}");
        }
        let bad = "[[source]]\nid='x'\ntitle='t'\nmodule='m'\nformat='f'\nlicence='l'\nfile='../x'\n";
        let e = Manifest::parse(bad, "test").unwrap_err().to_string();
        assert!(e.contains("without `..`"), "{e}");
    }
}
