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
    /// Who publishes the data (for a compile, who compiled it too).
    pub publisher: String,
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
    /// What a build without this source lacks (`fetch --list`).
    pub lost_without: String,
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
            if s.publisher.trim().is_empty() || s.lost_without.trim().is_empty() {
                return Err(Error::Config(format!(
                    "{origin}: source \"{}\": `publisher` and `lost_without` must not be empty",
                    s.id
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

    /// Third-party hosts: a required source may not come from them (the publisher's own URL only).
    pub fn is_third_party_url(url: &str) -> bool {
        let host = url.split("://").nth(1).unwrap_or(url).split(['/', '?']).next().unwrap_or("");
        ["github.com", "raw.githubusercontent.com", "gitlab.com", "githubusercontent.com"]
            .iter()
            .any(|h| host == *h || host.ends_with(&format!(".{h}")))
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
            let (dir, name) = meta.file.rsplit_once('/').unwrap_or(("", meta.file));
            // Extracted from an archive of the manifest (found by pattern when it has a `*`).
            let unpacked = m.sources.iter().any(|s| {
                s.file.starts_with(dir)
                    && s.unpack.iter().any(|u| {
                        u == name
                            || crate::fetch::unpack::glob_match(u, name)
                            || crate::fetch::unpack::glob_match(name, u)
                    })
            });
            assert!(
                unpacked || m.sources.iter().any(|s| s.file == meta.file),
                "{} ({}) missing from data/sources.toml",
                meta.id,
                meta.file
            );
            assert!(m.get(meta.id).is_some(), "staged source {} has no manifest entry of that id", meta.id);
        }
    }

    /// Issue 8: a fresh fetch gets every required input from its publisher.
    #[test]
    fn required_sources_come_from_their_publisher() {
        let m = Manifest::embedded();
        for s in &m.sources {
            assert!(!s.publisher.trim().is_empty(), "{}: no publisher", s.id);
            assert!(!s.lost_without.trim().is_empty(), "{}: no lost_without", s.id);
            if s.required {
                assert!(!s.urls.is_empty(), "{}: required but mirror only", s.id);
                for u in &s.urls {
                    assert!(u.starts_with("https://"), "{}: {u}", s.id);
                    assert!(!Manifest::is_third_party_url(u), "{}: required from a third party: {u}", s.id);
                }
            }
        }
        // The sources the issue names.
        for (id, required) in [
            ("contours_communes_cog2026", true),
            ("contours_arrondissements_cog2026", true),
            ("rpps", true),
            ("insee_bv2022", true),
            ("bpe_nb_medg", false),
            ("insee_tagc_bv2022", false),
            ("insee_comparateur", false),
            ("comparateur_rcarlier", false),
            ("ign_communes_2018", false),
        ] {
            assert_eq!(m.get(id).unwrap_or_else(|| panic!("{id}")).required, required, "{id}");
        }
        assert!(Manifest::is_third_party_url("https://raw.githubusercontent.com/a/b/main/c.csv"));
        assert!(!Manifest::is_third_party_url("https://www.insee.fr/fr/statistiques/fichier/1/x.zip"));
    }

    #[test]
    fn publisher_and_lost_without_are_mandatory() {
        let no_pub = "[[source]]\nid='x'\ntitle='t'\nmodule='m'\nformat='f'\nlicence='l'\nfile='x'\nlost_without='a'\n";
        assert!(Manifest::parse(no_pub, "test").unwrap_err().to_string().contains("publisher"));
        let empty = format!("{no_pub}publisher=' '\n");
        assert!(Manifest::parse(&empty, "test").unwrap_err().to_string().contains("must not be empty"));
    }

    #[test]
    fn unsafe_paths_rejected() {
        for p in ["../x", "/etc/passwd", "a/../../b", "", "a\\b"] {
            assert!(!is_safe_relative(p), "{p}");
        }
        let bad = "[[source]]\nid='x'\ntitle='t'\npublisher='p'\nmodule='m'\nformat='f'\nlicence='l'\nfile='../x'\nlost_without='a'\n";
        let e = Manifest::parse(bad, "test").unwrap_err().to_string();
        assert!(e.contains("without `..`"), "{e}");
    }
}
