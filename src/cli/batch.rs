use std::path::PathBuf;

use crate::aci::Grid;
use crate::batch::{self, BatchTable, Level};
use crate::cli::Progress;
use crate::error::{Error, Result};
use crate::pipeline;
use crate::sinks::batch as out;
use crate::sources::DataDir;
use crate::transforms::cog::CogIndex;
use crate::transforms::curated;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Level(s) to compute, comma-separated: commune, epci, bassin-de-vie, departement, region,
    /// territories (every data/territories/*.toml).
    #[arg(long, short, required = true, value_delimiter = ',')]
    pub level: Vec<Level>,
    /// Output folder: <out>/<level>.parquet and <out>/<level>.csv.
    #[arg(long, short, default_value = "reports/batch")]
    pub out: PathBuf,
    /// Also write a Hive-style partitioned copy, <out>/<level>/region=XX/part-0.parquet.
    #[arg(long, value_name = "COLUMN", value_parser = ["region"])]
    pub partition_by: Option<String>,
    /// Curated tables written by `build`; built in memory when absent.
    #[arg(long, default_value = "data/processed")]
    pub processed: PathBuf,
    /// Build the curated table in memory from the published files even if `--processed` has one,
    /// the lean way: APL and BPE from their CSV re-encodings, no 2018 boundaries, bassins de vie
    /// only for the levels that show them. Same figures as `build` (tested).
    #[arg(long)]
    pub from_raw: bool,
    /// For `--level territories`: a folder of territory .toml files, or a CPTS listing as
    /// `coverage` reads it (CSV with nom/communes/arrondissements, GeoJSON of perimeters).
    #[arg(long, default_value = "data/territories")]
    pub territories: PathBuf,
    /// ACI grid (default: the embedded data/reference/aci.toml).
    #[arg(long)]
    pub aci: Option<PathBuf>,
    /// Population the ACI band counts, overriding the grid's `population` (default there:
    /// totale, the rule of the decrees on populations légales).
    #[arg(long, value_enum)]
    pub population: Option<crate::aci::Basis>,
}

pub fn run(data: &DataDir, args: &Args, progress: &mut Progress) -> Result<()> {
    let grid = match &args.aci {
        Some(p) => Grid::load(p)?,
        None => Grid::embedded(),
    }
    .with_basis(args.population);
    // Only territories resolve against the COG; the administrative levels read the table alone.
    let needs_cog = args.level.contains(&Level::Territories);
    let (cog, curated) = if args.from_raw {
        crate::memory::for_staging();
        let opts = curated::Options {
            derived_csv: true,
            boundaries: false,
            bassins_de_vie: args.level.iter().any(|l| matches!(l, Level::Commune | Level::BassinDeVie)),
        };
        let c = pipeline::build_curated_with(data, &opts, progress)?;
        // The staged sources are freed: returned before the batch allocates.
        crate::memory::release_freed();
        (Some((c.cog, c.index)), c.communes)
    } else if needs_cog {
        let i = pipeline::load_inputs(&args.processed, data, progress)?;
        (Some((i.cog, i.index)), i.communes)
    } else {
        (None, pipeline::load_curated_table(&args.processed, data, progress)?.0)
    };
    if args.partition_by.is_some() {
        // Hundreds of partition files written while the next level is computed: freed memory
        // returned promptly keeps the peak under 200 MiB for 1 % more time (crate::memory).
        crate::memory::purge_freed_after(10);
    }
    let mut bad_territories: Vec<batch::BadTerritory> = Vec::new();
    let mut levels = args.level.clone();
    levels.dedup();
    let mut run = batch::Batch::new(&curated);
    // A level is written on its own thread while the next ones are computed: both use the two
    // cores, and the commune level's Parquet and CSV take as long as the other levels' compute.
    type Written = (Level, usize, Vec<batch::Excluded>, Vec<PathBuf>);
    let written = std::thread::scope(|s| -> Result<Vec<Written>> {
        let (tx, rx) = std::sync::mpsc::channel::<BatchTable>();
        let writer = std::thread::Builder::new()
            .name("write-levels".into())
            .spawn_scoped(s, move || -> Result<Vec<Written>> {
                let mut done = Vec::new();
                for table in rx {
                    let mut written = out::write_table(&args.out, &table)?;
                    if let Some(by) = &args.partition_by {
                        let parts = out::write_partitioned(&args.out, &table, by)?;
                        written.push(args.out.join(table.level.id()).join(format!("{by}=* ({} files)", parts.len())));
                    }
                    // Only the summary is kept: the frame is dropped as soon as it is written.
                    let BatchTable { level, frame, excluded } = table;
                    let height = frame.height();
                    drop(frame);
                    done.push((level, height, excluded, written));
                }
                Ok(done)
            })
            .map_err(|e| Error::io(&args.out, e))?;
        let computed = (|| -> Result<()> {
            for level in levels {
                progress.step(&format!("{}: computing", level.id()));
                let Some(table) = compute_level(
                    level,
                    data,
                    args,
                    &grid,
                    cog.as_ref().map(|(c, i)| (c, i)),
                    &curated,
                    &mut run,
                    &mut bad_territories,
                    progress,
                )?
                else {
                    continue;
                };
                // A level's intermediate columns are freed: returned before the next level (and
                // the writer) allocate, they do not add to the peak memory.
                crate::memory::release_freed();
                if tx.send(table).is_err() {
                    // The writer stopped on an error: its join below reports it.
                    break;
                }
            }
            Ok(())
        })();
        drop(tx);
        progress.step("writing");
        // The writer is always joined: a computing error is reported first, else the writer's
        // (a full disk while an earlier level was written is not lost), and a panic goes on as it was.
        let written = writer.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        computed?;
        written
    })?;
    for (level, height, excluded, files) in written {
        progress.say(&format!("{}: {height} units ({})", level.id(), level.noun()));
        if !excluded.is_empty() {
            let shown: Vec<String> =
                excluded.iter().take(8).map(|e| format!("{} {} ({})", e.code, e.name, e.reason)).collect();
            let more = excluded.len().saturating_sub(shown.len());
            progress.say(&format!(
                "  {} communes are in no {}: {}{}",
                excluded.len(),
                level.noun(),
                shown.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            ));
        }
        for p in files {
            progress.say(&format!("wrote {}", p.display()));
        }
    }
    if !bad_territories.is_empty() {
        // The good territories are written; the run still fails so that no one takes the table
        // for complete.
        return Err(Error::Config(format!(
            "{} territory file(s) could not be used (the others were written): {}",
            bad_territories.len(),
            bad_territories.iter().map(|b| b.file.display().to_string()).collect::<Vec<_>>().join(", ")
        )));
    }
    progress.done("batch done");
    Ok(())
}

/// One level's table; `None` for a territories level with no usable territory (reported).
#[allow(clippy::too_many_arguments)]
fn compute_level(
    level: Level,
    data: &DataDir,
    args: &Args,
    grid: &Grid,
    cog: Option<(&crate::sources::decoupage::Cog, &CogIndex)>,
    curated: &polars::prelude::DataFrame,
    run: &mut batch::Batch,
    bad_territories: &mut Vec<batch::BadTerritory>,
    progress: &mut Progress,
) -> Result<Option<BatchTable>> {
    // `build` output's GeoParquet when the table came from there.
    let processed = (!args.from_raw).then_some(args.processed.as_path());
    Ok(Some(match level {
        Level::Territories => {
            let (cog, index) = cog.expect("the COG is read when territories are asked for");
            // A folder of territory files, or a CPTS listing (CSV, GeoJSON) as `coverage` reads.
            let list = if args.territories.is_dir() {
                let (specs, mut bad) = batch::read_territory_specs(&args.territories)?;
                let geography = if specs.iter().any(|(_, _, s)| s.polygon.is_some()) {
                    pipeline::load_geography_from(data, processed, index, None, progress)?.0
                } else {
                    None
                };
                let (list, unresolved) = batch::resolve_territories(specs, cog, index, curated, geography.as_ref());
                bad.extend(unresolved);
                for b in &bad {
                    progress.say(&format!("error: {b}"));
                }
                bad_territories.extend(bad);
                for (id, t) in &list {
                    for w in &t.warnings {
                        progress.say(&format!("warning: {id}: {w}"));
                    }
                }
                list
            } else {
                let listing = crate::coverage::read_listing(&args.territories)?;
                let geography = if listing.needs_geography() {
                    pipeline::load_geography_from(data, processed, index, None, progress)?.0
                } else {
                    None
                };
                let ctx = crate::territory::Context { curated: Some(curated), geography: geography.as_ref() };
                let cpts = crate::coverage::resolve_listing(&listing, cog, index, ctx)?;
                for c in &cpts {
                    for w in &c.territory.warnings {
                        progress.say(&format!("warning: {}: CPTS \"{}\": {w}", c.origin, c.territory.name));
                    }
                }
                cpts.into_iter().map(|c| (c.id, c.territory)).collect()
            };
            if list.is_empty() {
                return Ok(None);
            }
            run.territories(&list, grid)?
        }
        l => run.compute(l, grid)?,
    }))
}
