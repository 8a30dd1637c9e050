//! `fetch` against a tiny HTTP server on 127.0.0.1 started by each test (std only): it answers a
//! fixed script of replies, one per connection, and stops by itself after the script or after
//! a deadline, so no test can hang.

use crate::common;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use std::path::{Path, PathBuf};

use common::Scratch;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cpts_diag::fetch::{sha256_file, FetchError, Fetcher, Manifest, Options, Outcome, Source};

#[derive(Clone)]
enum Reply {
    /// Status, extra headers, body (Content-Length set from the body).
    Full(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// 304 when the request carries `If-None-Match: <etag>`, else 200 with the body.
    Etag(String, Vec<u8>),
    /// Announces `declared` bytes, sends `body`, closes.
    Cut(u64, Vec<u8>),
    /// Reads the request, then stays silent for this long before closing.
    Silent(Duration),
}

struct Server {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
    handle: Option<JoinHandle<()>>,
}

impl Server {
    fn start(script: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let handle = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut script = script.into_iter();
            let mut next = script.next();
            while let Some(reply) = next.take() {
                if Instant::now() > deadline {
                    return;
                }
                match listener.accept() {
                    Ok((stream, _)) => {
                        handle(stream, &reply, &seen);
                        next = script.next();
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                        next = Some(reply);
                    }
                    Err(_) => return,
                }
            }
        });
        Server { url, requests, handle: Some(handle) }
    }

    fn requests(&mut self) -> Vec<String> {
        // The script may have more replies than the client used: give the thread a moment.
        std::thread::sleep(Duration::from_millis(50));
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Unblock the accept loop if replies are left: it stops at its deadline anyway.
        if let Some(h) = self.handle.take() {
            if h.is_finished() {
                let _ = h.join();
            }
        }
    }
}

fn read_head(stream: &mut TcpStream) -> String {
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") && buf.len() < 16_384 {
        match stream.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn respond(stream: &mut TcpStream, status: u16, headers: &[(&str, String)], len: u64, body: &[u8]) {
    let reason = match status {
        200 => "OK",
        304 => "Not Modified",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Other",
    };
    let mut out = format!("HTTP/1.1 {status} {reason}\r\nConnection: close\r\n");
    if status != 304 {
        out.push_str(&format!("Content-Length: {len}\r\n"));
    }
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

fn handle(mut stream: TcpStream, reply: &Reply, seen: &Mutex<Vec<String>>) {
    let head = read_head(&mut stream);
    seen.lock().unwrap().push(head.clone());
    match reply {
        Reply::Full(status, headers, body) => respond(&mut stream, *status, headers, body.len() as u64, body),
        Reply::Etag(etag, body) => {
            let lower = head.to_ascii_lowercase();
            if lower.contains(&format!("if-none-match: {}", etag.to_ascii_lowercase())) {
                respond(&mut stream, 304, &[("ETag", etag.clone())], 0, b"");
            } else {
                respond(&mut stream, 200, &[("ETag", etag.clone())], body.len() as u64, body);
            }
        }
        Reply::Cut(declared, body) => respond(&mut stream, 200, &[], *declared, body),
        Reply::Silent(d) => std::thread::sleep(*d),
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn source(url: &str, file: &str, unpack: &[&str]) -> Source {
    let unpack = unpack.iter().map(|u| format!("\"{u}\"")).collect::<Vec<_>>().join(",");
    let toml = format!(
        "[[source]]\nid='t'\ntitle='test'\npublisher='p'\nlost_without='x'\nmodule='m'\nformat='f'\nlicence='l'\nfile='{file}'\nurls=['{url}/{file}']\nunpack=[{unpack}]\n"
    );
    Manifest::parse(&toml, "test").unwrap().sources.remove(0)
}

fn fetcher(dir: &Path, retries: u32, timeout: Duration) -> Fetcher {
    let mut o = Options::new(dir);
    o.retries = retries;
    o.backoff = Duration::from_millis(10);
    o.timeout = timeout;
    o.connect_timeout = Duration::from_secs(2);
    Fetcher::new(o).unwrap()
}

fn no_part_files(dir: &Path) -> bool {
    walk(dir).iter().all(|p| !p.to_string_lossy().ends_with(".part") && !p.to_string_lossy().ends_with(".download"))
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Put a "good" cached file in place, as a previous run would have left it.
fn seed(dir: &Path, file: &str, content: &[u8]) -> PathBuf {
    let p = dir.join(file);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    p
}

const SECS: Duration = Duration::from_secs(5);

#[test]
fn ok_200_then_304_on_rerun() {
    let tmp = Scratch::new("304");
    let body = b"code;value\n28085;1\n".to_vec();
    let mut server =
        Server::start(vec![Reply::Etag("\"v1\"".into(), body.clone()), Reply::Etag("\"v1\"".into(), body.clone())]);
    let src = source(&server.url, "health/x.csv", &[]);

    let mut f = fetcher(&tmp.0, 0, SECS);
    assert_eq!(f.fetch(&src).unwrap(), Outcome::Downloaded { size: body.len() as u64 });
    f.save().unwrap();
    let target = tmp.0.join("health/x.csv");
    assert_eq!(std::fs::read(&target).unwrap(), body);
    let e = f.lock.files.get("t").unwrap().clone();
    assert_eq!(e.etag.as_deref(), Some("\"v1\""));
    assert_eq!((e.size, e.sha256.clone()), sha256_file(&target).unwrap());
    assert_eq!(e.final_url, format!("{}/health/x.csv", server.url));

    // A new run reads the lock and asks conditionally.
    let mut f = fetcher(&tmp.0, 0, SECS);
    assert_eq!(f.fetch(&src).unwrap(), Outcome::NotModified);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert!(!reqs[0].to_ascii_lowercase().contains("if-none-match"));
    assert!(reqs[1].to_ascii_lowercase().contains("if-none-match: \"v1\""), "{}", reqs[1]);
    assert_eq!(std::fs::read(&target).unwrap(), body);
    assert_eq!(f.lock.files.get("t").unwrap().sha256, e.sha256);
    assert!(no_part_files(&tmp.0));
}

#[test]
fn not_found_is_not_retried_and_leaves_the_cache() {
    let tmp = Scratch::new("404");
    let mut server =
        Server::start(vec![Reply::Full(404, vec![], b"nope".to_vec()), Reply::Full(200, vec![], b"x".to_vec())]);
    let src = source(&server.url, "a/file.csv", &[]);
    let cached = seed(&tmp.0, "a/file.csv", b"good old data");
    let mut f = fetcher(&tmp.0, 3, SECS);
    let err = f.fetch(&src).unwrap_err();
    assert!(matches!(err, FetchError::NotFound { status: 404, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("404") && msg.contains("a/file.csv") && msg.contains("not retried"), "{msg}");
    assert_eq!(server.requests().len(), 1, "a 404 must not be retried");
    assert_eq!(std::fs::read(&cached).unwrap(), b"good old data");
    assert!(no_part_files(&tmp.0));
}

#[test]
fn server_error_then_ok_is_retried() {
    let tmp = Scratch::new("500");
    let mut server = Server::start(vec![
        Reply::Full(500, vec![], b"busy".to_vec()),
        Reply::Full(503, vec![], b"busy".to_vec()),
        Reply::Full(200, vec![("Last-Modified", "Wed, 21 Oct 2026 07:28:00 GMT".into())], b"fresh".to_vec()),
    ]);
    let src = source(&server.url, "f.txt", &[]);
    let mut f = fetcher(&tmp.0, 3, SECS);
    let retries = Arc::new(Mutex::new(Vec::new()));
    let r = retries.clone();
    f.log = Box::new(move |m| r.lock().unwrap().push(m.to_string()));
    assert_eq!(f.fetch(&src).unwrap(), Outcome::Downloaded { size: 5 });
    assert_eq!(std::fs::read(tmp.0.join("f.txt")).unwrap(), b"fresh");
    assert_eq!(server.requests().len(), 3);
    let log = retries.lock().unwrap().clone();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log[0].contains("HTTP 500") && log[1].contains("HTTP 503"), "{log:?}");
    assert_eq!(f.lock.files["t"].last_modified.as_deref(), Some("Wed, 21 Oct 2026 07:28:00 GMT"));
}

#[test]
fn body_cut_short_is_detected_and_discarded() {
    let tmp = Scratch::new("cut");
    let mut server = Server::start(vec![Reply::Cut(1000, b"only a few bytes".to_vec())]);
    let src = source(&server.url, "big.txt", &[]);
    let cached = seed(&tmp.0, "big.txt", b"previous complete file");
    let mut f = fetcher(&tmp.0, 0, SECS);
    let err = f.fetch(&src).unwrap_err();
    // hyper may notice the early close itself (transport error) or hand back a short body.
    assert!(
        matches!(&err, FetchError::Truncated { expected: 1000, .. })
            || matches!(&err, FetchError::Transport { message, .. } if message.contains("interrupted")),
        "{err:?}"
    );
    assert_eq!(std::fs::read(&cached).unwrap(), b"previous complete file");
    assert!(no_part_files(&tmp.0), "{:?}", walk(&tmp.0));
    assert_eq!(server.requests().len(), 1);
    assert!(f.lock.files.is_empty());
}

#[test]
fn silent_server_times_out() {
    let tmp = Scratch::new("slow");
    let mut server = Server::start(vec![Reply::Silent(Duration::from_secs(3))]);
    let src = source(&server.url, "slow.txt", &[]);
    let cached = seed(&tmp.0, "slow.txt", b"kept");
    let mut f = fetcher(&tmp.0, 0, Duration::from_millis(300));
    let err = f.fetch(&src).unwrap_err();
    assert!(matches!(&err, FetchError::Transport { .. }), "{err:?}");
    assert!(err.to_string().to_lowercase().contains("timed out"), "{err}");
    assert_eq!(std::fs::read(&cached).unwrap(), b"kept");
    assert!(no_part_files(&tmp.0));
    assert_eq!(server.requests().len(), 1);
}

fn zip_bytes(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn zip_with_parent_member_is_refused() {
    let tmp = Scratch::new("evil");
    let cache = tmp.0.join("cache");
    let good = zip_bytes(&[("PS_LibreAcces_Personne_activite_1.txt", b"good")]);
    let evil = zip_bytes(&[("PS_LibreAcces_Personne_activite_2.txt", b"x"), ("../evil", b"pwned")]);
    let mut server = Server::start(vec![Reply::Full(200, vec![], good.clone()), Reply::Full(200, vec![], evil)]);
    let src = source(&server.url, "health/rpps/PS.zip", &["PS_LibreAcces_Personne_activite_*.txt"]);

    let mut f = fetcher(&cache, 0, SECS);
    assert!(matches!(f.fetch(&src).unwrap(), Outcome::Downloaded { .. }));
    let member = cache.join("health/rpps/PS_LibreAcces_Personne_activite_1.txt");
    assert_eq!(std::fs::read(&member).unwrap(), b"good");
    assert_eq!(f.lock.files["t"].members.len(), 1);
    assert_eq!(f.lock.files["t"].members[0].file, "health/rpps/PS_LibreAcces_Personne_activite_1.txt");
    let locked = f.lock.files["t"].clone();
    f.save().unwrap();

    // The publisher's URL now serves an archive with `../evil`: refused, nothing written.
    let mut f2 = fetcher(&cache, 0, SECS);
    let err = f2.fetch(&src).unwrap_err();
    assert!(matches!(&err, FetchError::Archive { message, .. } if message.contains("../evil")), "{err:?}");
    assert!(!cache.join("health/evil").exists() && !tmp.0.join("evil").exists() && !cache.join("evil").exists());
    assert!(!cache.join("health/rpps/PS_LibreAcces_Personne_activite_2.txt").exists());
    assert_eq!(std::fs::read(cache.join("health/rpps/PS.zip")).unwrap(), good, "the good archive stays");
    assert_eq!(f2.lock.files["t"], locked);
    assert!(no_part_files(&tmp.0));
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn offline_uses_only_the_cache() {
    let tmp = Scratch::new("offline");
    let mut o = Options::new(&tmp.0);
    o.offline = true;
    let src = source("http://127.0.0.1:9", "x/y.csv", &[]);
    let mut f = Fetcher::new(o.clone()).unwrap();
    assert!(matches!(f.fetch(&src).unwrap_err(), FetchError::Unavailable { .. }));
    seed(&tmp.0, "x/y.csv", b"cached");
    let mut f = Fetcher::new(o).unwrap();
    assert_eq!(f.fetch(&src).unwrap(), Outcome::Cached);
}

#[test]
fn mirror_base_url_is_laid_out_like_the_manifest() {
    use cpts_diag::fetch::Mirror;
    let tmp = Scratch::new("mirror-url");
    let mut server = Server::start(vec![Reply::Full(200, vec![], b"copy".to_vec())]);
    // The canonical URL is never asked: the source points elsewhere.
    let src = source("http://127.0.0.1:9", "health/x.csv", &[]);
    let mut o = Options::new(&tmp.0);
    o.retries = 0;
    o.mirror = Some(Mirror::parse(&format!("{}/copy/", server.url)));
    let mut f = Fetcher::new(o).unwrap();
    assert_eq!(f.fetch(&src).unwrap(), Outcome::Downloaded { size: 4 });
    let reqs = server.requests();
    assert!(reqs[0].starts_with("GET /copy/health/x.csv HTTP/1.1"), "{}", reqs[0]);
    assert_eq!(f.lock.files["t"].via, "mirror-url");
    assert_eq!(Mirror::parse("../shared/data"), Mirror::Folder("../shared/data".into()));
    assert_eq!(Mirror::parse("file:///srv/data"), Mirror::Folder("/srv/data".into()));
}

#[test]
fn html_page_with_200_or_cut_gzip_never_replaces_the_cached_file() {
    let tmp = Scratch::new("html200");
    let page = b"<!DOCTYPE html>\n<html><body>Service momentanement indisponible</body></html>".to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, b"code,value\n28088,1\n28085,2\n").unwrap();
    let gz = gz.finish().unwrap();
    let cut = gz[..gz.len() - 8].to_vec();
    let mut server = Server::start(vec![Reply::Full(200, vec![], page), Reply::Full(200, vec![], cut)]);
    for file in ["a/file.csv", "a/file.csv.gz"] {
        let src = source(&server.url, file, &[]);
        let cached = seed(&tmp.0, file, b"good old data");
        let mut f = fetcher(&tmp.0, 0, SECS);
        let err = f.fetch(&src).unwrap_err();
        assert!(matches!(err, FetchError::Content { .. }), "{file}: {err:?}");
        let msg = err.to_string();
        assert!(msg.contains("HTML page") || msg.contains("gzip"), "{msg}");
        assert!(msg.contains("cached file was kept"), "{msg}");
        assert_eq!(std::fs::read(&cached).unwrap(), b"good old data", "{file}: the good copy stays");
        assert!(!f.lock.files.contains_key("t"), "nothing recorded for a refused copy");
    }
    assert_eq!(server.requests().len(), 2);
    assert!(no_part_files(&tmp.0));
}

#[test]
fn truncated_mirror_xlsx_is_refused_and_the_cache_kept() {
    let tmp = Scratch::new("mirror-cut");
    let mirror = tmp.0.join("mirror");
    let full = zip_bytes(&[("xl/workbook.xml", b"<workbook/>"), ("xl/worksheets/sheet1.xml", b"<sheet/>")]);
    seed(&mirror, "health/w.xlsx", &full[..full.len() / 2]);
    let cache = tmp.0.join("cache");
    let cached = seed(&cache, "health/w.xlsx", &full);
    let mut o = Options::new(&cache);
    o.mirror = Some(cpts_diag::fetch::Mirror::Folder(mirror));
    let mut f = Fetcher::new(o).unwrap();
    let src = source("http://127.0.0.1:9", "health/w.xlsx", &[]);
    let err = f.fetch(&src).unwrap_err();
    assert!(err.to_string().contains("not a whole zip archive"), "{err}");
    assert_eq!(std::fs::read(&cached).unwrap(), full);
    assert!(no_part_files(&cache));
}
