//! One module per subcommand. Each takes its parsed arguments and returns what happened; all
//! the work is in the library.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::sources::{DataDir, DATA_DIR_ENV, DEFAULT_DATA_DIR};

pub mod access;
pub mod batch;
pub mod build;
pub mod coverage;
pub mod diagnose;
pub mod fetch;
pub mod map;

pub use crate::progress::Progress;

#[derive(Debug, Parser)]
#[command(name = "cpts-diag", version, about = "Diagnostic territorial of a CPTS from official open data")]
pub struct Cli {
    /// Folder of the published files (INSEE, DREES, BPE, IGN…).
    #[arg(long, global = true, env = DATA_DIR_ENV, default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Commune boundaries to read instead of the data folder's COG 2026 files (repeat for the
    /// arrondissements file): Etalab's contours administratifs, or an older vintage such as
    /// geo/communes-france-2018.geojson.gz, dissolved into COG 2026.
    #[arg(long, global = true, value_name = "FILE")]
    pub boundaries: Vec<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the curated national tables (data/processed/*.parquet) from the published files.
    Build(build::Args),
    /// Diagnose one territory: indicators, communes, summary and chart.
    Diagnose(diagnose::Args),
    /// Download the published files of data/sources.toml into data/raw (see docs/fetch.md).
    Fetch(fetch::Args),
    /// Draw the APL, GP-density and population maps of a département or a territory.
    Map(map::Args),
    /// Every indicator for every unit of a level (commune, EPCI, bassin de vie, département,
    /// région, territory files) in one pass: reports/batch/<level>.parquet and .csv.
    Batch(batch::Args),
    /// What-if accessibility: calibrate the E2SFCA model on DREES APL 2023 and write
    /// reports/access/communes.parquet, calibration.json and a residual map (docs/access.md).
    Access(access::Args),
    /// Every CPTS of a listing at once (ARS CSV, GeoJSON of perimeters, folder of territory
    /// files): région coverage, zones blanches, overlaps, ACI bands, maps and an HTML report.
    Coverage(coverage::Args),
    /// Print (or write) docs/schema.md: every output table, column, type, unit and definition.
    Schema(SchemaArgs),
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Write the Markdown to this file instead of stdout.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

pub fn run(cli: Cli) -> crate::Result<()> {
    let data = DataDir::new(cli.data_dir).with_boundaries(cli.boundaries);
    let mut progress = Progress::new(cli.quiet);
    if !matches!(cli.command, Command::Schema(_) | Command::Fetch(_)) {
        crate::memory::fill_shared_zeroes();
    }
    match cli.command {
        Command::Build(a) => build::run(&data, &a, &mut progress),
        Command::Diagnose(a) => diagnose::run(&data, &a, &mut progress),
        Command::Map(a) => map::run(&data, &a, &mut progress),
        Command::Batch(a) => batch::run(&data, &a, &mut progress),
        Command::Access(a) => access::run(&data, &a, &mut progress),
        Command::Coverage(a) => coverage::run(&data, &a, &mut progress),
        Command::Schema(a) => match a.out {
            Some(p) => crate::sinks::write_bytes(&p, crate::schema::markdown().as_bytes()),
            None => {
                print!("{}", crate::schema::markdown());
                Ok(())
            }
        },
        Command::Fetch(a) => fetch::run(&a, &mut progress),
    }
}
