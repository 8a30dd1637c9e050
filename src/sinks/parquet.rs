//! Parquet tables with their provenance and column documentation in the file's key-value metadata
//! (`cpts_diag.provenance`, `cpts_diag.columns`), readable by pyarrow, DuckDB and polars.

use std::path::Path;

use polars::prelude::*;
use serde::Serialize;

use super::{atomic_write, Provenance};
use crate::atomic::{staged_write, Staged};
use crate::error::{Error, Result};

pub const PROVENANCE_KEY: &str = "cpts_diag.provenance";
pub const COLUMNS_KEY: &str = "cpts_diag.columns";

/// A column of an output table: name, type, unit and definition. Each output declares its schema
/// with these, and a test checks the written file against the declaration.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnDoc {
    pub name: &'static str,
    pub dtype: &'static str,
    pub unit: &'static str,
    pub definition: &'static str,
}

/// An output table, Snappy-compressed: the codec every Parquet reader has (Spark, Trino, DuckDB,
/// pyarrow; Spark's and pyarrow's default), and one without a context to create per column chunk.
/// With zstd, polars-parquet made a compression context per column: the partitioned batch (115
/// files × ~110 columns) spent a third of its time there, for files ~1/3 smaller
/// (docs/performance.md).
pub fn write(path: &Path, df: &mut DataFrame, provenance: &Provenance, columns: &[ColumnDoc]) -> Result<()> {
    write_with_metadata(path, df, provenance, columns, vec![])
}

/// [`write`], with more key-value metadata (GeoParquet's `geo`).
pub fn write_with_metadata(
    path: &Path,
    df: &mut DataFrame,
    provenance: &Provenance,
    columns: &[ColumnDoc],
    extra: Vec<(String, String)>,
) -> Result<()> {
    write_compressed(path, df, provenance, columns, extra, ParquetCompression::Snappy)
}

/// Bytes reserved for a table encoded into memory (see [`encode_row_groups`]).
const RESERVED: usize = 64 << 20;

/// What a table written a row group at a time carries besides its rows: the provenance and the
/// column documentation (its metadata, as every table's), more metadata, and its codec.
pub struct Grouped<'a> {
    pub provenance: &'a Provenance,
    pub columns: &'a [ColumnDoc],
    pub extra: Vec<(String, String)>,
    pub compression: ParquetCompression,
}

/// A table written one row group per frame of `groups` (same columns, in order), into memory:
/// only one group's columns need exist at once. `label` names the table in a schema error.
pub fn encode_row_groups(
    label: &Path,
    groups: impl Iterator<Item = Result<DataFrame>>,
    table: Grouped<'_>,
) -> Result<Vec<u8>> {
    // Reserved, not grown by doubling: each growth copied the table and held both copies, at
    // the end of `build`, beside its other peaks. Capacity never written is address space, not
    // memory (the national geometry table is 8 MB).
    let mut bytes = Vec::with_capacity(RESERVED);
    row_groups_into(&mut bytes, label, groups, table)?;
    Ok(bytes)
}

/// [`encode_row_groups`] written to a temp file beside `path` as the groups come (the national
/// geometry table is 20 MB that need not be held), put in place by [`Staged::commit`].
pub fn stage_row_groups(
    path: &Path,
    groups: impl Iterator<Item = Result<DataFrame>>,
    table: Grouped<'_>,
) -> Result<Staged> {
    staged_write(path, |f| row_groups_into(f, path, groups, table))
}

fn row_groups_into<W: std::io::Write>(
    w: W,
    label: &Path,
    groups: impl Iterator<Item = Result<DataFrame>>,
    table: Grouped<'_>,
) -> Result<()> {
    let Grouped { provenance, columns, mut extra, compression } = table;
    let mut w = Some(w);
    let mut batched = None;
    for df in groups {
        let df = df?;
        check_schema(label, &df, columns)?;
        if batched.is_none() {
            let w = writer(w.take().expect("one writer"), provenance, columns, std::mem::take(&mut extra), compression);
            batched = Some(w.batched(df.schema())?);
        }
        batched.as_mut().expect("created above").write_batch(&df)?;
    }
    match batched {
        Some(b) => b.finish()?,
        None => return Err(Error::Config(format!("{}: no frame to write", label.display()))),
    };
    Ok(())
}

/// [`write`] of a table every run reads back (the curated table): LZ4 decodes about twice as
/// fast as zstd for a third more bytes (docs/performance.md).
pub fn write_for_reading(
    path: &Path,
    df: &mut DataFrame,
    provenance: &Provenance,
    columns: &[ColumnDoc],
) -> Result<()> {
    write_compressed(path, df, provenance, columns, vec![], ParquetCompression::Lz4Raw)
}

fn write_compressed(
    path: &Path,
    df: &mut DataFrame,
    provenance: &Provenance,
    columns: &[ColumnDoc],
    extra: Vec<(String, String)>,
    compression: ParquetCompression,
) -> Result<()> {
    check_schema(path, df, columns)?;
    atomic_write(path, |f| {
        writer(f, provenance, columns, extra, compression).finish(df)?;
        Ok(())
    })
}

/// A Parquet writer carrying the provenance and column documentation in its metadata.
fn writer<W: std::io::Write>(
    w: W,
    provenance: &Provenance,
    columns: &[ColumnDoc],
    extra: Vec<(String, String)>,
    compression: ParquetCompression,
) -> ParquetWriter<W> {
    let mut meta = vec![
        (PROVENANCE_KEY.to_string(), serde_json::to_string(provenance).expect("serializable")),
        (COLUMNS_KEY.to_string(), serde_json::to_string(columns).expect("serializable")),
    ];
    meta.extend(extra);
    ParquetWriter::new(w)
        .with_compression(compression)
        .with_key_value_metadata(Some(KeyValueMetadata::from_static(meta)))
}

/// polars' name for a declared type.
pub fn dtype_name(d: &DataType) -> &'static str {
    match d {
        DataType::String => "string",
        DataType::Float64 => "float64",
        DataType::Int64 => "int64",
        DataType::UInt32 => "uint32",
        DataType::Int32 => "int32",
        DataType::Boolean => "bool",
        DataType::Binary => "binary",
        DataType::Struct(_) => "struct",
        _ => "other",
    }
}

/// The frame must have exactly the declared columns, in order, with the declared types.
pub fn check_schema(path: &Path, df: &DataFrame, columns: &[ColumnDoc]) -> Result<()> {
    let actual: Vec<(String, &'static str)> =
        df.columns().iter().map(|c| (c.name().to_string(), dtype_name(c.dtype()))).collect();
    let declared: Vec<(String, &'static str)> = columns.iter().map(|c| (c.name.to_string(), c.dtype)).collect();
    if actual != declared {
        return Err(Error::Config(format!(
            "{}: output schema drifted from its declaration\n  declared: {declared:?}\n  actual:   {actual:?}",
            path.display()
        )));
    }
    Ok(())
}

/// Read back the key-value metadata of a Parquet file (used by tests and `cpts-diag info`).
pub fn read_metadata(path: &Path) -> Result<Vec<(String, Option<String>)>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut r = ParquetReader::new(f);
    let md = r.get_metadata()?;
    Ok(md
        .key_value_metadata()
        .as_ref()
        .map(|kv| kv.iter().map(|k| (k.key.clone(), k.value.clone())).collect())
        .unwrap_or_default())
}

pub fn read(path: &Path) -> Result<DataFrame> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // A cut or foreign file is bad input that names itself, not an anonymous polars error.
    ParquetReader::new(f).finish().map_err(|e| {
        Error::data(
            crate::error::Location::file(path),
            format!("not a readable Parquet file ({e}); rebuild it with `cpts-diag build`"),
        )
    })
}

/// Read a Parquet file held in memory (the embedded snapshot).
pub fn read_bytes(bytes: &[u8]) -> Result<DataFrame> {
    Ok(ParquetReader::new(std::io::Cursor::new(bytes)).finish()?)
}
