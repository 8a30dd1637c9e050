//! Atomic file writes (temp file in the same folder, fsync, rename): a run killed mid-write never
//! leaves a truncated file behind. Below both `sinks` and `fetch`, which write through it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// Write `path` atomically with whatever `fill` writes.
pub fn atomic_write(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<()>,
) -> Result<()> {
    staged_write(path, fill)?.commit()
}

/// A file written in full beside `path` and synced, put in place by [`Staged::commit`]; dropped
/// before that, it is removed. A table written while a command may still fail (`build`'s geometry
/// table, encoded while the other sources are read) is committed once the rest succeeded.
#[must_use = "a staged file is removed unless committed"]
pub struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl Staged {
    pub fn commit(self) -> Result<()> {
        let path = self.path.clone();
        self.commit_as(&path)
    }

    /// Put the file in place under a name known only once it is written (`sinks::mapped`: the
    /// hash of another file written meanwhile), in the same folder.
    pub fn commit_as(mut self, path: &Path) -> Result<()> {
        std::fs::rename(&self.tmp, path).map_err(|e| Error::io(path, e))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// The first half of [`atomic_write`]: `path`'s content written and synced in its temp file.
pub fn staged_write(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<()>,
) -> Result<Staged> {
    stage(path, fill, true)
}

/// [`staged_write`] without the sync, for a file whose reader checks its bytes (the mapped copy:
/// it is used only if it hashes to its name), so that one cut short by a crash is not used.
pub fn staged_write_unsynced(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<()>,
) -> Result<Staged> {
    stage(path, fill, false)
}

fn stage(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<()>,
    sync: bool,
) -> Result<Staged> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let staged = Staged {
        tmp: dir.join(format!(".{name}.tmp-{}", std::process::id())),
        path: path.to_path_buf(),
        committed: false,
    };
    // Buffered: the Parquet and CSV writers issue many small writes, each a system call (a
    // partitioned batch of 150 files spent most of its time in the kernel's write path).
    let file = std::fs::File::create(&staged.tmp).map_err(|e| Error::io(&staged.tmp, e))?;
    let mut f = std::io::BufWriter::with_capacity(1 << 20, file);
    fill(&mut f)?;
    let f = f.into_inner().map_err(|e| Error::io(&staged.tmp, e.into_error()))?;
    if sync {
        f.sync_all().map_err(|e| Error::io(&staged.tmp, e))?;
    }
    Ok(staged)
}

/// Remove the `.<name>.tmp-<pid>` files and folders that runs killed mid-write left in `dir`.
/// A temp of a process still running (another run writing beside us) is left alone.
pub fn clean_temp_leftovers(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix('.').and_then(|n| n.rsplit_once(".tmp-")).map(|(_, pid)| pid.to_string())
        else {
            continue;
        };
        if is_running(&pid) {
            continue;
        }
        let p = e.path();
        let ok = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        if ok.is_ok() {
            removed.push(p);
        }
    }
    removed
}

/// Whether `pid` is this process or, where `/proc` tells, another live one.
fn is_running(pid: &str) -> bool {
    if pid == std::process::id().to_string() {
        return true;
    }
    let proc_root = Path::new("/proc");
    proc_root.is_dir() && pid.chars().all(|c| c.is_ascii_digit()) && proc_root.join(pid).exists()
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
    fn leftovers_of_dead_runs_are_cleaned_and_live_ones_kept() {
        let dir = std::env::temp_dir().join(format!("cpts-atomic-clean-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // pid 0 is never a user process; ours is alive.
        let dead = dir.join(".summary.json.tmp-0");
        let dead_dir = dir.join(".communes.tmp-0");
        let live = dir.join(format!(".report.md.tmp-{}", std::process::id()));
        let user = dir.join("notes.tmp-0");
        for f in [&dead, &live, &user] {
            std::fs::write(f, b"x").unwrap();
        }
        std::fs::create_dir_all(&dead_dir).unwrap();
        let removed = clean_temp_leftovers(&dir);
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(!dead.exists() && !dead_dir.exists() && live.exists() && user.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

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

    #[test]
    fn a_staged_file_is_in_place_once_committed_and_gone_if_dropped() {
        let dir = std::env::temp_dir().join(format!("cpts-diag-staged-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("geometry.parquet");
        write_bytes(&path, b"previous build").unwrap();
        let names = || -> Vec<String> {
            let mut n: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            n.sort();
            n
        };
        // Written in full, but the command failed before committing: the previous file stays.
        let staged = staged_write(&path, |f| f.write_all(b"new table").map_err(|e| Error::io(&path, e))).unwrap();
        assert_eq!(names().len(), 2, "the temp file sits beside the table until then");
        drop(staged);
        assert_eq!(names(), ["geometry.parquet"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"previous build");
        staged_write(&path, |f| f.write_all(b"new table").map_err(|e| Error::io(&path, e))).unwrap().commit().unwrap();
        assert_eq!(names(), ["geometry.parquet"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"new table");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
