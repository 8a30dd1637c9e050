//! What `fetch` checks on a new copy before it may replace the cached file: the format its
//! staging module reads. A web page served with HTTP 200 (a portal's error or login page), a
//! gzip stream that stops early or a zip/xlsx without its central directory is refused, and the
//! good cached file stays; `build` would otherwise be the first to notice, after the lock file
//! had recorded the bad copy's checksum.

use std::io::Read;
use std::path::Path;

use crate::error::FetchError;

fn refuse(path: &Path, message: impl Into<String>) -> FetchError {
    FetchError::Content { path: path.to_path_buf(), message: message.into() }
}

/// Whether the first bytes are an HTML page rather than data.
fn looks_like_html(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start_matches('\u{feff}').trim_start().to_ascii_lowercase();
    t.starts_with("<!doctype html") || t.starts_with("<html") || t.starts_with("<head") || t.starts_with("<body")
}

/// Check `staged` (the new copy) against the format of `file` (its name in the manifest).
/// `stored_gzip`: the download is the plain file that `fetch` compresses itself.
pub fn check(file: &str, staged: &Path) -> Result<(), FetchError> {
    check_as(file, staged, false)
}

pub fn check_as(file: &str, staged: &Path, stored_gzip: bool) -> Result<(), FetchError> {
    let lower = file.to_ascii_lowercase();
    let open = || std::fs::File::open(staged).map_err(|e| FetchError::io(staged, e));
    if std::fs::metadata(staged).map_err(|e| FetchError::io(staged, e))?.len() == 0 {
        return Err(refuse(staged, "empty file"));
    }
    if lower.ends_with(".gz") && !stored_gzip {
        let mut z = flate2::read::GzDecoder::new(open()?);
        let mut head = vec![0u8; 512];
        let mut n = 0;
        while n < head.len() {
            match z.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) => return Err(refuse(staged, format!("not a whole gzip file ({e})"))),
            }
        }
        if looks_like_html(&head[..n]) {
            return Err(refuse(staged, "an HTML page, not the published file"));
        }
        // Read to the end: a stream cut short only shows at its end.
        std::io::copy(&mut z, &mut std::io::sink())
            .map_err(|e| refuse(staged, format!("gzip stream cut short or corrupt ({e})")))?;
        return Ok(());
    }
    let mut head = Vec::with_capacity(512);
    open()?.take(512).read_to_end(&mut head).map_err(|e| FetchError::io(staged, e))?;
    if looks_like_html(&head) {
        return Err(refuse(staged, "an HTML page, not the published file"));
    }
    if lower.ends_with(".xlsx") || lower.ends_with(".zip") {
        let mut zip = zip::ZipArchive::new(open()?)
            .map_err(|e| refuse(staged, format!("not a whole zip archive ({e}): cut short or corrupt")))?;
        if lower.ends_with(".xlsx") && zip.by_name("xl/workbook.xml").is_err() {
            return Err(refuse(staged, "a zip without xl/workbook.xml: not an xlsx workbook"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tmp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("cpts-content-{}-{name}", std::process::id()));
        std::fs::write(&d, bytes).unwrap();
        d
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(bytes).unwrap();
        z.finish().unwrap()
    }

    #[test]
    fn html_pages_cut_gzip_and_cut_zip_are_refused() {
        let page = b"<!DOCTYPE html><html><body>Maintenance</body></html>";
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("a.csv", page.to_vec(), "HTML page"),
            ("a.csv.gz", gz(page), "HTML page"),
            ("a.json.gz", gz(b"[1,2,3]")[..10].to_vec(), "gzip"),
            ("a.xlsx", b"PK\x03\x04 truncated".to_vec(), "zip"),
            ("a.csv", Vec::new(), "empty"),
        ];
        for (i, (name, bytes, why)) in cases.into_iter().enumerate() {
            let p = tmp(&format!("{i}-{name}"), &bytes);
            let e = check(name, &p).unwrap_err().to_string();
            assert!(e.contains(why), "{name}: {e}");
            std::fs::remove_file(p).unwrap();
        }
        let p = tmp("ok.csv.gz", &gz(b"code,value\n01001,1\n"));
        check("ok.csv.gz", &p).unwrap();
        std::fs::remove_file(p).unwrap();
    }
}
