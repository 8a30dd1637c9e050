//! `data/raw/fetch.lock.json`: what every fetched file is (URL asked, URL served after redirects,
//! size, sha256, date, HTTP validators). `fetch` reads it to make conditional requests; `build`
//! copies it into the outputs' provenance.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::atomic::write_json;
use crate::error::{Error, Result};

pub const LOCK_FILE: &str = "fetch.lock.json";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Lock {
    pub version: u32,
    /// By source id.
    pub files: BTreeMap<String, LockEntry>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LockEntry {
    /// Path inside the data folder.
    pub file: String,
    /// URL asked for (`file://…` for a mirror folder).
    pub url: String,
    /// URL that answered, after redirects.
    pub final_url: String,
    /// `canonical`, `mirror-url` or `mirror-folder`.
    pub via: String,
    /// Bytes of the file as stored.
    pub size: u64,
    /// sha256 of the file as stored (hex).
    pub sha256: String,
    /// When the stored bytes were fetched (UTC, RFC 3339).
    pub fetched_at: String,
    /// Last time the server was asked (a 304 updates only this).
    pub checked_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// `gzip` when the served file was compressed on storing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_as: Option<String>,
    /// Members extracted from a zip archive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Member {
    /// Path inside the data folder.
    pub file: String,
    pub size: u64,
    pub sha256: String,
}

impl Lock {
    /// The lock of a data folder; empty when there is none yet.
    pub fn load(dir: &Path) -> Result<Self> {
        let p = dir.join(LOCK_FILE);
        if !p.is_file() {
            return Ok(Lock { version: 1, files: BTreeMap::new() });
        }
        let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
        serde_json::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", p.display())))
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        write_json(&dir.join(LOCK_FILE), self)
    }
}

/// The lock file of a data folder as JSON, for provenance; `None` when the folder was not fetched.
pub fn read_for_provenance(dir: &Path) -> Result<Option<serde_json::Value>> {
    let p = dir.join(LOCK_FILE);
    if !p.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
    serde_json::from_str(&text).map(Some).map_err(|e| Error::Config(format!("{}: {e}", p.display())))
}

/// Current UTC time as RFC 3339 (seconds), without a date crate.
pub fn now_utc() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    rfc3339(secs)
}

pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
    }

    #[test]
    fn lock_round_trips() {
        let dir = std::env::temp_dir().join(format!("cpts-lock-{}", std::process::id()));
        let mut l = Lock::load(&dir).unwrap();
        assert!(l.files.is_empty());
        l.files.insert("x".into(), LockEntry { file: "a/b".into(), etag: Some("\"e\"".into()), ..Default::default() });
        l.save(&dir).unwrap();
        assert_eq!(Lock::load(&dir).unwrap(), l);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
