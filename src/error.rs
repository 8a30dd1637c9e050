//! One error type for the library. Every data error says where it happened
//! (`file:line: column "X": …`) because the people reading it are fixing a file, not the code.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in an input a problem was found. Lines are 1-based as an editor or a spreadsheet shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub path: PathBuf,
    pub line: Option<u64>,
    pub column: Option<String>,
}

impl Location {
    pub fn file(path: &Path) -> Self {
        Location { path: path.to_path_buf(), line: None, column: None }
    }
    pub fn at(path: &Path, line: u64) -> Self {
        Location { path: path.to_path_buf(), line: Some(line), column: None }
    }
    pub fn col(mut self, column: &str) -> Self {
        self.column = Some(column.to_string());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(col) = &self.column {
            write!(f, ": column \"{col}\"")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },

    /// A value or structure in an input file that cannot be read as the source is documented.
    #[error("{location}: {message}")]
    Data { location: Location, message: String },

    /// A required column is absent; `detail` lists what the header had (and the closest name) so
    /// a renamed column is obvious.
    #[error("{location}: column \"{column}\" missing {detail}")]
    MissingColumn { location: Location, column: String, detail: String },

    /// A territory that cannot be resolved to communes.
    #[error("territory {name}: {message}")]
    Territory { name: String, message: String },

    #[error("{0}")]
    Config(String),

    /// Boxed: a download error carries URLs and would otherwise make every `Result` larger.
    #[error("fetch: {0}")]
    Fetch(Box<FetchError>),

    #[error("polars: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
}

impl From<FetchError> for Error {
    fn from(e: FetchError) -> Self {
        Error::Fetch(Box::new(e))
    }
}

/// A download failure. Defined here, below every module, so that `Error` can carry it without
/// this bottom layer importing `fetch`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: HTTP {status} (not found; not retried, cached file left untouched)")]
    NotFound { url: String, status: u16 },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error(
        "{url}: body cut short: {got} of {expected} bytes announced by Content-Length (partial download discarded)"
    )]
    Truncated { url: String, expected: u64, got: u64 },
    #[error("{}: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Archive { path: PathBuf, message: String },
    /// A new copy that is not the published file (a web page, a cut archive); the cache is kept.
    #[error("{}: {message}; the cached file was kept", path.display())]
    Content { path: PathBuf, message: String },
    #[error("{source_id}: {message}")]
    Unavailable { source_id: String, message: String },
}

impl FetchError {
    pub fn io(path: &Path, e: std::io::Error) -> Self {
        FetchError::Io { path: path.to_path_buf(), message: e.to_string() }
    }
    /// Worth another attempt: server errors, throttling, transport failures, cut bodies.
    pub fn is_retryable(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            FetchError::Transport { .. } | FetchError::Truncated { .. } => true,
            _ => false,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io { path: path.to_path_buf(), source }
    }
    pub fn data(location: Location, message: impl Into<String>) -> Self {
        Error::Data { location, message: message.into() }
    }
    /// Exit code for the CLI: 2 for bad input data or territory, 1 for anything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Data { .. } | Error::MissingColumn { .. } | Error::Territory { .. } => 2,
            Error::Config(_) => 2,
            _ => 1,
        }
    }
}
