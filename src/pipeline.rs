//! The pipeline's library entry points: build the curated national tables from a data folder
//! (with the normalization summary) and write them. The CLI's subcommands only call these.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::geo::{geoparquet, Geography};
use crate::progress::Progress;
use crate::schema;
use crate::sinks::{parquet, write_json, Provenance};
use crate::sources::{self, boundaries, DataDir};
use crate::transforms::cog::CogIndex;
use crate::transforms::curated::{self, Curated};

pub const COMMUNES_FILE: &str = "communes.parquet";
pub const REPORT_FILE: &str = "normalization_report.json";
/// GeoParquet 1.1 geometry of every COG 2026 unit with a polygon (see `geo::geoparquet`).
pub const GEOMETRY_FILE: &str = "geometry.parquet";

/// Build the curated tables in memory, printing the normalization summary.
pub fn build_curated(data: &DataDir, progress: &mut Progress) -> Result<Curated> {
    build_curated_with(data, &curated::Options::default(), progress)
}

pub fn build_curated_with(data: &DataDir, opts: &curated::Options, progress: &mut Progress) -> Result<Curated> {
    progress.say(&format!("reading published files from {}", data.root.display()));
    let c = curated::build_with(data, opts, &mut |s| progress.step(s))?;
    for r in &c.reports {
        progress.say(&format!("  {}", r.one_line()));
        // The fetched sources' notes carry what was not attributed (RPPS without commune) or masked.
        if ["rpps", "insee_age", "ameli_ald_sans_mt"].contains(&r.source.as_str()) {
            progress.say(&format!("    {}", r.coverage_note));
        }
        if let Some(c) = &r.comparison {
            let pct = |k: &str| c[k]["difference_pct"].as_f64().map_or("n.d.".into(), |v| format!("{v:+.2} %"));
            progress.say(&format!(
                "    boundary areas vs INSEE: median |difference| {} % over {} units; département 28 {}, Chartres 28085 {} ({} vs {} km²)",
                c["france"]["median_abs_difference_pct"],
                c["france"]["units_compared"],
                pct("departement_28"),
                pct("chartres_28085"),
                c["chartres_28085"]["boundaries_km2"],
                c["chartres_28085"]["insee_km2"],
            ));
            if let Some(list) = c["largest_differences"].as_array().filter(|l| !l.is_empty()) {
                let codes: Vec<String> = list
                    .iter()
                    .map(|o| format!("{} ({:+} %)", o["code"].as_str().unwrap_or("?"), o["difference_pct"]))
                    .collect();
                progress.say(&format!(
                    "warning: {} polygons differ from INSEE's area by more than half (probably not the whole commune): {}",
                    c["units_over_50_pct"],
                    codes.join(", ")
                ));
            }
        }
    }
    if let Some(b) = &c.boundaries {
        say_geometry_warnings(&b.warnings, progress);
    }
    let remapped: usize = c.reports.iter().map(|r| r.codes_remapped.len()).sum();
    let unknown: usize = c.reports.iter().map(|r| r.codes_unknown.len()).sum();
    let without: usize = c.reports.iter().map(|r| r.communes_without_data.len()).sum();
    progress.say(&format!(
        "normalization to COG 2026: {} sources, {remapped} former codes remapped, {unknown} unknown codes, \
         {without} commune gaps (details in {REPORT_FILE})",
        c.reports.len()
    ));
    Ok(c)
}

pub fn write_curated(out: &Path, c: &Curated) -> Result<Vec<PathBuf>> {
    write_curated_with(out, c, &Provenance::new(sources::all()))
}

/// Write the curated tables, and the geometry table when the boundaries were read.
pub fn write_curated_with(out: &Path, c: &Curated, prov: &Provenance) -> Result<Vec<PathBuf>> {
    let p = out.join(COMMUNES_FILE);
    parquet::write(&p, &mut c.communes.clone(), prov, schema::COMMUNES)?;
    let mut written = vec![p];
    let warnings = c.boundaries.as_ref().map(|b| b.warnings.clone()).unwrap_or_default();
    if let Some(b) = &c.boundaries {
        let g = out.join(GEOMETRY_FILE);
        write_geometry(&g, &Geography::new(b.clone(), &c.index), prov)?;
        written.push(g);
    }
    let r = out.join(REPORT_FILE);
    write_json(&r, &serde_json::json!({ "provenance": prov, "sources": c.reports, "geometry_warnings": warnings }))?;
    written.push(r);
    Ok(written)
}

/// Write the GeoParquet geometry table of `g`.
pub fn write_geometry(path: &Path, g: &Geography, prov: &Provenance) -> Result<()> {
    let (mut df, geo_meta) = geoparquet::frame(g)?;
    parquet::write_with_metadata(
        path,
        &mut df,
        prov,
        schema::GEOMETRY,
        vec![(geoparquet::GEO_KEY.to_string(), geo_meta)],
    )
}

/// The geometry table as bytes (what the snapshot embeds).
pub fn geometry_bytes(g: &Geography, prov: &Provenance) -> Result<Vec<u8>> {
    let dir = std::env::temp_dir().join(format!("cpts-diag-geometry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| crate::error::Error::io(&dir, e))?;
    let p = dir.join(GEOMETRY_FILE);
    write_geometry(&p, g, prov)?;
    let bytes = std::fs::read(&p).map_err(|e| crate::error::Error::io(&p, e));
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

/// The national boundaries in COG 2026, or `None` (with a visible line) when there are none.
/// `--boundaries` files win; else the GeoParquet table of `processed` (no GeoJSON parsing); else
/// the data folder's GeoJSON. Returns the number of warning lines printed.
pub fn load_geography_from(
    data: &DataDir,
    processed: Option<&Path>,
    index: &CogIndex,
    progress: &mut Progress,
) -> Result<(Option<Geography>, usize)> {
    let table = processed.map(|d| d.join(GEOMETRY_FILE)).filter(|p| p.is_file());
    if let (Some(t), true) = (&table, data.boundaries.is_empty()) {
        progress.step(&format!("reading commune boundaries ({})", t.display()));
        let g = Geography::from_geoparquet_file(t, index)?;
        let warned = unknown_warning(&g.unknown_codes, progress);
        return Ok((Some(g), warned));
    }
    if !boundaries::available(data) {
        progress.say(&format!(
            "warning: {} not found in {}: no maps, neighbours or sizing advice",
            boundaries::META.file,
            data.root.display()
        ));
        return Ok((None, 1));
    }
    progress.step("reading commune boundaries (GeoJSON)");
    let g = Geography::load(data, index)?;
    let warned = unknown_warning(&g.unknown_codes, progress) + say_geometry_warnings(&g.warnings, progress);
    Ok((Some(g), warned))
}

/// Print what reading the boundaries repaired or dropped (the first few, then a count); returns
/// the number of warning lines.
fn say_geometry_warnings(warnings: &[boundaries::GeometryWarning], progress: &mut Progress) -> usize {
    const SHOWN: usize = 5;
    for w in warnings.iter().take(SHOWN) {
        progress.say(&format!("warning: {w}"));
    }
    if warnings.len() > SHOWN {
        progress.say(&format!(
            "warning: {} more boundary polygons repaired or dropped (listed under geometry_warnings in {REPORT_FILE} by `build`)",
            warnings.len() - SHOWN
        ));
    }
    warnings.len().min(SHOWN + 1)
}

fn unknown_warning(unknown: &[String], progress: &mut Progress) -> usize {
    if unknown.is_empty() {
        return 0;
    }
    progress.say(&format!(
        "warning: {} boundary codes unknown to COG 2026, not drawn: {}",
        unknown.len(),
        unknown.join(", ")
    ));
    1
}

/// [`load_geography_from`] the data folder only.
pub fn load_geography(data: &DataDir, index: &CogIndex, progress: &mut Progress) -> Result<Option<Geography>> {
    Ok(load_geography_from(data, None, index, progress)?.0)
}
