//! Staging: one module per published source. Each one alone knows its file names, vintage,
//! licence, expected columns and quirks, and hands back a typed polars frame keyed by the commune
//! code **of its own vintage** (`transforms::cog` brings codes to COG 2026).

use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};

pub mod age;
pub mod ald;
pub mod apl;
pub mod boundaries;
pub mod bpe;
pub mod bv2022;
pub mod cartosante;
pub mod comparateur;
pub mod contract;
pub mod decoupage;
pub mod gzip;
pub mod listing;
pub mod populations_legales;
pub mod rpps;
pub mod table;
pub mod tagc;
pub mod xlsx;

/// Environment variable naming the folder of the published files.
pub const DATA_DIR_ENV: &str = "CPTS_DATA_DIR";
/// Default data folder, relative to the working directory (the checkout sits beside `shared/`).
pub const DEFAULT_DATA_DIR: &str = "../shared/data";

/// What every output says about where a number comes from.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SourceMeta {
    pub id: &'static str,
    pub title: &'static str,
    pub publisher: &'static str,
    /// Reference date of the figures (millésime).
    pub vintage: &'static str,
    /// Commune geography (COG) the file's codes belong to.
    pub geography: &'static str,
    pub licence: &'static str,
    pub url: &'static str,
    /// Path of the file inside the data folder.
    pub file: &'static str,
}

/// The folder holding the published files (`--data-dir`, `CPTS_DATA_DIR`, or `../shared/data`).
#[derive(Debug, Clone)]
pub struct DataDir {
    pub root: PathBuf,
    /// Boundary files to read instead of the default COG 2026 ones (`--boundaries`): an older
    /// vintage, or Etalab's own files.
    pub boundaries: Vec<PathBuf>,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into(), boundaries: Vec::new() }
    }

    /// The data folder from the environment or the documented default.
    pub fn from_env() -> Self {
        DataDir::new(std::env::var_os(DATA_DIR_ENV).map(PathBuf::from).unwrap_or_else(|| DEFAULT_DATA_DIR.into()))
    }

    /// Path of a source's file, which must exist.
    pub fn file(&self, rel: &str) -> Result<PathBuf> {
        let p = self.root.join(rel);
        if p.is_file() {
            Ok(p)
        } else {
            Err(Error::Config(format!(
                "{}: file not found (data folder {}; set --data-dir or {DATA_DIR_ENV})",
                p.display(),
                self.root.display()
            )))
        }
    }

    pub fn with_boundaries(mut self, files: Vec<PathBuf>) -> Self {
        self.boundaries = files;
        self
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.root.join(rel).is_file()
    }
}

/// Every source the curated tables are built from, for provenance listings.
pub fn all() -> Vec<&'static SourceMeta> {
    vec![
        &decoupage::COMMUNES,
        &decoupage::EPCI,
        &populations_legales::META,
        &comparateur::META,
        &comparateur::META_RCARLIER,
        &boundaries::META,
        &boundaries::ARRONDISSEMENTS,
        &apl::META,
        &bpe::META,
        &bv2022::META,
        &tagc::META,
        &rpps::META,
        &age::META,
        &ald::META,
        &cartosante::META,
    ]
}
