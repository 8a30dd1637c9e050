//! Zip archives (INSEE, RPPS) unpacked next to themselves. An archive with a member whose path
//! is absolute or climbs out (`../evil`) is refused as a whole, before anything is written: such
//! an archive is not what the publisher ships.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use super::FetchError;

/// A member extracted: its path on disk, size and sha256.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

/// `*` wildcard, ASCII case-insensitive (publishers change `.CSV` / `.csv`).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.to_ascii_lowercase(), name.to_ascii_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == n;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !n.starts_with(first) || !n[first.len()..].ends_with(last) || n.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &n[first.len()..n.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// The member's path if it stays inside the destination: relative, no `..`, no drive or root.
fn safe_member_path(name: &str) -> Option<PathBuf> {
    if name.starts_with('/') || name.starts_with('\\') || name.contains('\\') || name.contains(':') {
        return None;
    }
    let p = Path::new(name);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(x) => out.push(x),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// Extract the members of `archive` whose file name matches one of `patterns` (every file when
/// `patterns` is empty) into `dest`. Each member goes through a `.part` file and a rename.
pub fn extract(archive: &Path, dest: &Path, patterns: &[String]) -> Result<Vec<Extracted>, FetchError> {
    let io = |p: &Path, e: std::io::Error| FetchError::Io { path: p.to_path_buf(), message: e.to_string() };
    let bad = |m: String| FetchError::Archive { path: archive.to_path_buf(), message: m };
    let f = std::fs::File::open(archive).map_err(|e| io(archive, e))?;
    let mut zip =
        zip::ZipArchive::new(std::io::BufReader::new(f)).map_err(|e| bad(format!("not a readable zip: {e}")))?;
    // Check every name first: refuse the archive before writing anything.
    let mut wanted = Vec::new();
    for i in 0..zip.len() {
        let e = zip.by_index_raw(i).map_err(|e| bad(e.to_string()))?;
        let name = e.name().map_err(|e| bad(e.to_string()))?.to_string();
        let Some(rel) = safe_member_path(&name) else {
            return Err(bad(format!("member \"{name}\" has an absolute or parent (`..`) path: archive refused")));
        };
        if e.is_dir() {
            continue;
        }
        let base = rel.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if patterns.is_empty() || patterns.iter().any(|p| glob_match(p, &base)) {
            wanted.push((i, rel));
        }
    }
    if wanted.is_empty() {
        return Err(bad(format!("no member matches {patterns:?}")));
    }
    let mut out = Vec::new();
    for (i, rel) in wanted {
        let target = dest.join(&rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        let part = super::part_path(&target);
        let result = (|| {
            let mut entry = zip.by_index(i).map_err(|e| bad(e.to_string()))?;
            let mut w = std::fs::File::create(&part).map_err(|e| io(&part, e))?;
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 1 << 16];
            let mut size = 0u64;
            loop {
                let n = entry.read(&mut buf).map_err(|e| bad(format!("member \"{}\": {e}", rel.display())))?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
                w.write_all(&buf[..n]).map_err(|e| io(&part, e))?;
                size += n as u64;
            }
            w.sync_all().map_err(|e| io(&part, e))?;
            std::fs::rename(&part, &target).map_err(|e| io(&target, e))?;
            Ok(Extracted { path: target.clone(), size, sha256: super::hex(&h.finalize()) })
        })();
        match result {
            Ok(x) => out.push(x),
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                return Err(e);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match(
            "PS_LibreAcces_Personne_activite_*.txt",
            "PS_LibreAcces_Personne_activite_202611200814.txt"
        ));
        assert!(glob_match("base-cc-evol-struct-pop-*.csv", "base-cc-evol-struct-pop-2022.CSV"));
        assert!(!glob_match("base-cc-*.csv", "meta_base-cc-evol.csv"));
        assert!(glob_match("*", "x"));
        assert!(glob_match("a*b*c", "abc"));
        assert!(!glob_match("a*b*c", "acb"));
        assert!(!glob_match("ab*ba", "aba"));
    }

    #[test]
    fn member_paths() {
        assert!(safe_member_path("a/b.csv").is_some());
        assert!(safe_member_path("./a.csv").is_some());
        for bad in ["../evil", "a/../../evil", "/etc/passwd", "C:/x", "a\\..\\b", ""] {
            assert!(safe_member_path(bad).is_none(), "{bad}");
        }
    }
}
