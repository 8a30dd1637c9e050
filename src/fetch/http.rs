//! One HTTP download: a GET (conditional when validators are known), streamed to `<file>.part`
//! while hashing, checked against Content-Length, then renamed over the file. Retries with
//! exponential backoff on 5xx, 429 and transport errors (connection, timeout, body cut short);
//! never on 4xx, so a 404 fails at once and leaves the cached file alone.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use reqwest::blocking::Client;
use reqwest::header::{CONTENT_LENGTH, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use super::{hex, part_path, FetchError};

/// What the server said last time, for a conditional request.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Downloaded {
    pub final_url: String,
    pub size: u64,
    pub sha256: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Answer {
    NotModified,
    Downloaded(Downloaded),
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub retries: u32,
    /// First pause between attempts; doubled after each failure.
    pub backoff: Duration,
}

/// Called with (bytes so far, total if known) while a body streams.
pub type OnProgress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

pub fn client(timeout: Duration, connect_timeout: Duration) -> Result<Client, FetchError> {
    Client::builder()
        .user_agent(concat!("cpts-diag/", env!("CARGO_PKG_VERSION"), " (open-data fetch)"))
        // Applies to each read: a stalled server fails, a large file that keeps flowing does not.
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .build()
        .map_err(|e| FetchError::Transport { url: String::new(), message: e.to_string() })
}

/// Download `url` to `target` with retries. `target` is replaced only by a complete body.
pub fn download(
    client: &Client,
    url: &str,
    target: &Path,
    validators: Option<&Validators>,
    policy: &Policy,
    on_progress: OnProgress,
    on_retry: &mut dyn FnMut(u32, &FetchError, Duration),
) -> Result<Answer, FetchError> {
    let mut pause = policy.backoff;
    let mut attempt = 0u32;
    loop {
        match attempt_once(client, url, target, validators, on_progress) {
            Ok(a) => return Ok(a),
            Err(e) if e.is_retryable() && attempt < policy.retries => {
                attempt += 1;
                on_retry(attempt, &e, pause);
                std::thread::sleep(pause);
                pause = pause.saturating_mul(2);
            }
            Err(e) => return Err(e),
        }
    }
}

fn header(resp: &reqwest::blocking::Response, name: reqwest::header::HeaderName) -> Option<String> {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn attempt_once(
    client: &Client,
    url: &str,
    target: &Path,
    validators: Option<&Validators>,
    on_progress: OnProgress,
) -> Result<Answer, FetchError> {
    let transport = |e: reqwest::Error| FetchError::Transport { url: url.to_string(), message: error_chain(&e) };
    let mut req = client.get(url);
    if let Some(v) = validators {
        if let Some(etag) = &v.etag {
            req = req.header(IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &v.last_modified {
            req = req.header(IF_MODIFIED_SINCE, lm);
        }
    }
    let mut resp = req.send().map_err(transport)?;
    let status = resp.status();
    if status == StatusCode::NOT_MODIFIED {
        return Ok(Answer::NotModified);
    }
    if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
        return Err(FetchError::NotFound { url: url.to_string(), status: status.as_u16() });
    }
    if !status.is_success() {
        return Err(FetchError::Status { url: url.to_string(), status: status.as_u16() });
    }
    let expected: Option<u64> = header(&resp, CONTENT_LENGTH).and_then(|v| v.parse().ok());
    let final_url = resp.url().to_string();
    let (etag, last_modified) = (header(&resp, ETAG), header(&resp, LAST_MODIFIED));
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| FetchError::io(parent, e))?;
    }
    let part = part_path(target);
    let result = (|| {
        let mut f = std::fs::File::create(&part).map_err(|e| FetchError::io(&part, e))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut got = 0u64;
        loop {
            let n = match resp.read(&mut buf) {
                Ok(n) => n,
                Err(e) => {
                    return Err(FetchError::Transport {
                        url: url.to_string(),
                        message: format!("body interrupted after {got} bytes: {}", io_chain(&e)),
                    })
                }
            };
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            f.write_all(&buf[..n]).map_err(|e| FetchError::io(&part, e))?;
            got += n as u64;
            on_progress(got, expected);
        }
        if let Some(exp) = expected {
            if got != exp {
                return Err(FetchError::Truncated { url: url.to_string(), expected: exp, got });
            }
        }
        f.sync_all().map_err(|e| FetchError::io(&part, e))?;
        Ok((got, hex(&h.finalize())))
    })();
    match result {
        Ok((size, sha256)) => {
            std::fs::rename(&part, target).map_err(|e| FetchError::io(target, e))?;
            Ok(Answer::Downloaded(Downloaded { final_url, size, sha256, etag, last_modified }))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            Err(e)
        }
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn io_chain(e: &std::io::Error) -> String {
    error_chain(e)
}
