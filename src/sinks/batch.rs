//! Outputs of `batch`: `<level>.parquet` (typed, provenance and column docs in the metadata) and
//! `<level>.csv` for spreadsheets; optionally a Hive-style partitioned copy
//! `<level>/region=XX/part-0.parquet` that DuckDB, Spark or Trino read as one table.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::{atomic_write, parquet, Provenance};
use crate::batch::BatchTable;
use crate::error::{Error, Result};
use crate::schema;
use crate::sources;

pub fn write_csv(path: &Path, df: &mut DataFrame) -> Result<()> {
    atomic_write(path, |f| {
        CsvWriter::new(f).include_header(true).finish(df)?;
        Ok(())
    })
}

/// `<dir>/<level>.parquet` and `<dir>/<level>.csv`.
pub fn write_table(dir: &Path, t: &BatchTable) -> Result<Vec<PathBuf>> {
    let prov = Provenance::new(sources::all());
    let p = dir.join(format!("{}.parquet", t.level.id()));
    let c = dir.join(format!("{}.csv", t.level.id()));
    // Side by side: each writer leaves a core idle much of the time (the commune level's CSV
    // formats 35 014 rows × 110 columns on one thread).
    std::thread::scope(|s| {
        let csv = s.spawn(|| write_csv(&c, &mut t.frame.clone()));
        let parquet = parquet::write(&p, &mut t.frame.clone(), &prov, schema::batch(t.level));
        let csv = csv.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        parquet.and(csv)
    })?;
    Ok(vec![p, c])
}

/// `<dir>/<level>/region=XX/part-0.parquet`, one folder per value of the partition column, which
/// the files themselves leave out (readers take it from the path). The folder is written beside
/// the old one and swapped in at the end, so a reader never sees half a table.
pub fn write_partitioned(dir: &Path, t: &BatchTable, by: &str) -> Result<Vec<PathBuf>> {
    if by != schema::PARTITION_COLUMN {
        return Err(Error::Config(format!("--partition-by {by}: only `{}` is supported", schema::PARTITION_COLUMN)));
    }
    let prov = Provenance::new(sources::all());
    let declared = schema::batch_partitioned(t.level);
    let target = dir.join(t.level.id());
    let tmp = dir.join(format!(".{}.tmp-{}", t.level.id(), std::process::id()));
    crate::atomic::clean_temp_leftovers(dir);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    let values = t.frame.column(by)?.unique_stable()?.sort(SortOptions::default())?;
    let mut parts = Vec::new();
    for v in values.str()?.iter() {
        let Some(v) = v else {
            return Err(Error::Config(format!("{}: a row has no {by}; it cannot be partitioned", t.level.id())));
        };
        let mut part = t.frame.clone().lazy().filter(col(by).eq(lit(v))).drop(cols([by])).collect()?;
        let rel = PathBuf::from(format!("{by}={v}")).join("part-0.parquet");
        parquet::write(&tmp.join(&rel), &mut part, &prov, &declared)?;
        parts.push(target.join(rel));
    }
    if target.exists() {
        std::fs::remove_dir_all(&target).map_err(|e| Error::io(&target, e))?;
    }
    std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))?;
    Ok(parts)
}
