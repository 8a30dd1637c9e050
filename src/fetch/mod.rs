//! `cpts-diag fetch`: download the published files listed in `data/sources.toml` into
//! `data/raw/<file>` (the same relative paths as `../shared/data`, so `--data-dir data/raw`
//! reads them unchanged), with conditional requests, retries, checksums, a lock file and zip
//! unpacking. `--offline` uses only the cache; `--mirror` takes every file from a copy (a base
//! URL or a local folder laid out like the manifest) for air-gapped machines.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

pub mod content;
pub mod http;
pub mod lock;
pub mod manifest;
pub mod unpack;

pub use crate::error::FetchError;
pub use lock::{Lock, LockEntry, LOCK_FILE};
pub use manifest::{Manifest, Source};

/// Default destination of `fetch`, and the folder to give `build --data-dir`.
pub const DEFAULT_DEST: &str = "data/raw";

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `<file>.part`, beside the file so that the final rename stays on one filesystem.
pub(crate) fn part_path(target: &Path) -> PathBuf {
    let mut s = target.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

/// sha256 and size of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<(u64, String), FetchError> {
    let mut f = std::fs::File::open(path).map_err(|e| FetchError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| FetchError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex(&h.finalize())))
}

/// Where copies of the files live, laid out like the manifest (`<mirror>/<file>`).
#[derive(Debug, Clone, PartialEq)]
pub enum Mirror {
    Url(String),
    Folder(PathBuf),
}

impl Mirror {
    pub fn parse(s: &str) -> Self {
        if s.starts_with("http://") || s.starts_with("https://") {
            Mirror::Url(s.trim_end_matches('/').to_string())
        } else {
            Mirror::Folder(PathBuf::from(s.strip_prefix("file://").unwrap_or(s)))
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Cache folder (`data/raw`).
    pub dest: PathBuf,
    pub offline: bool,
    pub mirror: Option<Mirror>,
    /// Serve the canonical URLs from another host: `https://www.insee.fr/fr/x.zip` is asked as
    /// `<base_url>/fr/x.zip` (path and query kept). For a local copy of the publishers' sites
    /// (tests, a proxy); unlike `mirror`, the manifest's URL paths are used, not its `file`s.
    pub base_url: Option<String>,
    /// Per-read timeout: a server silent for this long fails the attempt.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub retries: u32,
    pub backoff: Duration,
    /// Draw a progress bar (only meaningful on a terminal).
    pub progress_bar: bool,
}

impl Options {
    pub fn new(dest: impl Into<PathBuf>) -> Self {
        Options {
            dest: dest.into(),
            offline: false,
            mirror: None,
            base_url: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(20),
            retries: 3,
            backoff: Duration::from_secs(2),
            progress_bar: false,
        }
    }
}

/// What happened to one source.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// New bytes stored.
    Downloaded { size: u64 },
    /// The server answered 304: the cached file is current.
    NotModified,
    /// Copied from a mirror folder.
    Copied { size: u64 },
    /// `--offline`, or no URL to ask: the cached file is used as is.
    Cached,
}

pub struct Fetcher {
    pub opts: Options,
    pub lock: Lock,
    client: Option<reqwest::blocking::Client>,
    /// Messages for the user (retries, warnings).
    pub log: Box<dyn FnMut(&str)>,
}

impl Fetcher {
    pub fn new(opts: Options) -> crate::Result<Self> {
        let lock = Lock::load(&opts.dest)?;
        Ok(Fetcher { opts, lock, client: None, log: Box::new(|_| {}) })
    }

    fn client(&mut self) -> Result<reqwest::blocking::Client, FetchError> {
        if self.client.is_none() {
            self.client = Some(http::client(self.opts.timeout, self.opts.connect_timeout)?);
        }
        Ok(self.client.clone().expect("set above"))
    }

    /// Fetch one source into the cache and record it in the lock (saved by [`Fetcher::save`]).
    pub fn fetch(&mut self, src: &Source) -> Result<Outcome, FetchError> {
        let target = self.opts.dest.join(&src.file);
        if self.opts.offline {
            return self.offline(src, &target);
        }
        let outcome = match self.opts.mirror.clone() {
            Some(Mirror::Folder(dir)) => self.copy_from_folder(src, &dir, &target)?,
            Some(Mirror::Url(base)) => {
                let url = format!("{base}/{}", src.file);
                self.fetch_urls(src, &[url], &target, "mirror-url", false)?
            }
            None if src.urls.is_empty() => {
                if target.is_file() {
                    (self.log)(&format!("{}: no canonical URL (derived file); keeping the cached copy", src.id));
                    Outcome::Cached
                } else {
                    return Err(FetchError::Unavailable {
                        source_id: src.id.clone(),
                        message: "no canonical URL (a derived file): provide it with --mirror".into(),
                    });
                }
            }
            None => {
                let urls: Vec<String> = match &self.opts.base_url {
                    Some(base) => src.urls.iter().map(|u| rebase(u, base)).collect(),
                    None => src.urls.clone(),
                };
                self.fetch_urls(src, &urls, &target, "canonical", src.store.as_deref() == Some("gzip"))?
            }
        };
        // A cached archive whose members were removed is unpacked again.
        if !src.unpack.is_empty()
            && matches!(outcome, Outcome::NotModified | Outcome::Cached)
            && !self.members_present(src)
        {
            let members = self.unpack(src, &target)?;
            if let Some(e) = self.lock.files.get_mut(&src.id) {
                e.members = members;
            }
        }
        Ok(outcome)
    }

    fn members_present(&self, src: &Source) -> bool {
        self.lock
            .files
            .get(&src.id)
            .is_some_and(|e| !e.members.is_empty() && e.members.iter().all(|m| self.opts.dest.join(&m.file).is_file()))
    }

    fn unpack(&self, src: &Source, archive: &Path) -> Result<Vec<lock::Member>, FetchError> {
        let target = self.opts.dest.join(&src.file);
        let dir = target.parent().unwrap_or(Path::new("."));
        let got = unpack::extract(archive, dir, &src.unpack)?;
        Ok(got
            .into_iter()
            .map(|x| lock::Member {
                file: x.path.strip_prefix(&self.opts.dest).unwrap_or(&x.path).to_string_lossy().replace('\\', "/"),
                size: x.size,
                sha256: x.sha256,
            })
            .collect())
    }

    /// Where a new copy lands before it may replace the cached file: beside it when it still has
    /// to be compressed or checked as an archive, so a refused archive never replaces a good one.
    /// Every new copy is checked there first ([`content::check_as`]).
    fn staging_path(target: &Path) -> PathBuf {
        PathBuf::from(format!("{}.download", target.display()))
    }

    /// Turn a complete download at `raw` into the cached `target`: compress it, or unpack it
    /// (refusing unsafe archives) then move it in place. Returns the stored size, sha256, the
    /// `stored_as` mark and the extracted members.
    fn finish(
        &self,
        src: &Source,
        raw: &Path,
        target: &Path,
        gzip: bool,
    ) -> Result<(u64, String, Option<String>, Vec<lock::Member>), FetchError> {
        if let Err(e) = content::check_as(&src.file, raw, gzip) {
            let _ = std::fs::remove_file(raw);
            return Err(e);
        }
        if gzip {
            gzip_into(raw, target)?;
            let (size, sha) = sha256_file(target)?;
            return Ok((size, sha, Some("gzip".into()), Vec::new()));
        }
        let mut members = Vec::new();
        if !src.unpack.is_empty() {
            match self.unpack(src, raw) {
                Ok(m) => members = m,
                Err(e) => {
                    let _ = std::fs::remove_file(raw);
                    return Err(e);
                }
            }
        }
        std::fs::rename(raw, target).map_err(|e| FetchError::io(target, e))?;
        let (size, sha) = sha256_file(target)?;
        Ok((size, sha, None, members))
    }

    fn offline(&mut self, src: &Source, target: &Path) -> Result<Outcome, FetchError> {
        if !target.is_file() {
            return Err(FetchError::Unavailable {
                source_id: src.id.clone(),
                message: format!("--offline and {} is not in the cache", target.display()),
            });
        }
        if let Some(e) = self.lock.files.get(&src.id) {
            let (size, sha) = sha256_file(target)?;
            if size != e.size || sha != e.sha256 {
                return Err(FetchError::Unavailable {
                    source_id: src.id.clone(),
                    message: format!(
                        "{} differs from the lock file (sha256 {sha}, locked {})",
                        target.display(),
                        e.sha256
                    ),
                });
            }
        }
        Ok(Outcome::Cached)
    }

    fn copy_from_folder(&mut self, src: &Source, dir: &Path, target: &Path) -> Result<Outcome, FetchError> {
        let from = dir.join(&src.file);
        if !from.is_file() {
            return Err(FetchError::Unavailable {
                source_id: src.id.clone(),
                message: format!("{} not found in the mirror folder", from.display()),
            });
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| FetchError::io(parent, e))?;
        }
        let raw = Self::staging_path(target);
        let part = part_path(&raw);
        let copied = (|| {
            let mut r = std::fs::File::open(&from).map_err(|e| FetchError::io(&from, e))?;
            let mut w = std::fs::File::create(&part).map_err(|e| FetchError::io(&part, e))?;
            std::io::copy(&mut r, &mut w).map_err(|e| FetchError::io(&part, e))?;
            w.flush().map_err(|e| FetchError::io(&part, e))?;
            w.sync_all().map_err(|e| FetchError::io(&part, e))?;
            std::fs::rename(&part, &raw).map_err(|e| FetchError::io(&raw, e))
        })();
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
        let (size, sha256, _, members) = self.finish(src, &raw, target, false)?;
        let abs = std::fs::canonicalize(&from).unwrap_or(from);
        let url = format!("file://{}", abs.display());
        let now = lock::now_utc();
        self.lock.files.insert(
            src.id.clone(),
            LockEntry {
                file: src.file.clone(),
                final_url: url.clone(),
                url,
                via: "mirror-folder".into(),
                size,
                sha256,
                fetched_at: now.clone(),
                checked_at: now,
                members,
                ..Default::default()
            },
        );
        Ok(Outcome::Copied { size })
    }

    fn fetch_urls(
        &mut self,
        src: &Source,
        urls: &[String],
        target: &Path,
        via: &str,
        gzip: bool,
    ) -> Result<Outcome, FetchError> {
        let client = self.client()?;
        let policy = http::Policy { retries: self.opts.retries, backoff: self.opts.backoff };
        let raw_target = Self::staging_path(target);
        let mut last_err = None;
        for url in urls {
            // Conditional only when the cache still holds what the lock describes.
            let validators = self.lock.files.get(&src.id).filter(|e| &e.url == url && target.is_file()).and_then(|e| {
                let v = http::Validators { etag: e.etag.clone(), last_modified: e.last_modified.clone() };
                (v.etag.is_some() || v.last_modified.is_some()).then_some(v)
            });
            let bar = progress_bar(self.opts.progress_bar, &src.id);
            let log = &mut self.log;
            let answer = http::download(
                &client,
                url,
                &raw_target,
                validators.as_ref(),
                &policy,
                &mut |got, total| {
                    if let Some(t) = total {
                        bar.set_length(t);
                    }
                    bar.set_position(got);
                },
                &mut |n, e, pause| {
                    log(&format!("{}: attempt {n} failed ({e}); retrying in {:.1} s", src.id, pause.as_secs_f64()))
                },
            );
            bar.finish_and_clear();
            match answer {
                Ok(http::Answer::NotModified) => {
                    if let Some(e) = self.lock.files.get_mut(&src.id) {
                        e.checked_at = lock::now_utc();
                    }
                    return Ok(Outcome::NotModified);
                }
                Ok(http::Answer::Downloaded(d)) => {
                    let (size, sha256, stored_as, members) = self.finish(src, &raw_target, target, gzip)?;
                    let now = lock::now_utc();
                    self.lock.files.insert(
                        src.id.clone(),
                        LockEntry {
                            file: src.file.clone(),
                            url: url.clone(),
                            final_url: d.final_url,
                            via: via.into(),
                            size,
                            sha256,
                            fetched_at: now.clone(),
                            checked_at: now,
                            etag: d.etag,
                            last_modified: d.last_modified,
                            stored_as,
                            members,
                        },
                    );
                    return Ok(Outcome::Downloaded { size: d.size });
                }
                // Another canonical URL may still serve it (publishers move attachments).
                Err(e @ FetchError::NotFound { .. }) if urls.len() > 1 => {
                    (self.log)(&format!("{}: {e}; trying the next URL", src.id));
                    last_err = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| FetchError::Unavailable { source_id: src.id.clone(), message: "no URL".into() }))
    }

    pub fn save(&self) -> crate::Result<()> {
        self.lock.save(&self.opts.dest)
    }
}

/// `url` with its scheme and host replaced by `base` (path and query kept).
pub fn rebase(url: &str, base: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    format!("{}{path}", base.trim_end_matches('/'))
}

/// Compress `raw` into `target` (through `.part`), then remove `raw`.
fn gzip_into(raw: &Path, target: &Path) -> Result<(), FetchError> {
    let part = part_path(target);
    let r = (|| {
        let mut input = std::fs::File::open(raw).map_err(|e| FetchError::io(raw, e))?;
        let out = std::fs::File::create(&part).map_err(|e| FetchError::io(&part, e))?;
        let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
        std::io::copy(&mut input, &mut gz).map_err(|e| FetchError::io(&part, e))?;
        let out = gz.finish().map_err(|e| FetchError::io(&part, e))?;
        out.sync_all().map_err(|e| FetchError::io(&part, e))?;
        std::fs::rename(&part, target).map_err(|e| FetchError::io(target, e))
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    let _ = std::fs::remove_file(raw);
    r
}

/// A progress bar on stderr when asked and on a terminal; a hidden one otherwise.
fn progress_bar(enabled: bool, id: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !enabled || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{prefix:>14} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(id.to_string());
    bar
}

#[cfg(test)]
mod tests {
    use super::rebase;

    #[test]
    fn rebase_keeps_path_and_query() {
        assert_eq!(
            rebase("https://www.insee.fr/fr/statistiques/fichier/2521169/x.zip", "http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/fr/statistiques/fichier/2521169/x.zip"
        );
        assert_eq!(
            rebase("https://data.ameli.fr/api/exports/csv?delimiter=%3B", "http://h:1"),
            "http://h:1/api/exports/csv?delimiter=%3B"
        );
        assert_eq!(rebase("https://host", "http://h:1"), "http://h:1");
    }
}
