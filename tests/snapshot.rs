//! The national snapshot built into the binary: a run with no data folder and no `build` output
//! uses it, and it is what `build --snapshot` writes from the published files, byte for byte.

use crate::common;

use std::path::{Path, PathBuf};

use clap::Parser;
use cpts_diag::cli::{run, Cli};
use cpts_diag::pipeline::{self, Origin};
use cpts_diag::progress::Progress;
use cpts_diag::sinks::parquet;
use cpts_diag::sources::DataDir;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn the_committed_snapshot_equals_a_fresh_build_of_the_published_files() {
    let Some(data) = common::real_data("snapshot freshness") else { return };
    let out = common::Scratch::new("snapshot");
    let mut progress = Progress::new(true);
    // As `build --snapshot` does: the geometry table encoded on a thread of its own.
    let (c, written) = pipeline::build_and_write(
        &data,
        &pipeline::snapshot_provenance(),
        pipeline::Target::Snapshot,
        &out.0,
        &mut progress,
    )
    .unwrap();
    assert!(c.boundaries.is_none(), "the features went to the geometry table");
    assert!(written.iter().any(|p| p.ends_with(pipeline::GEOMETRY_FILE)), "{written:?}");
    assert!(written.len() >= 4, "{written:?}");
    let info = json(&out.0.join(pipeline::SNAPSHOT_INFO_FILE));
    let mut files: Vec<String> =
        info["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_string()).collect();
    files.push(pipeline::SNAPSHOT_INFO_FILE.into());
    for f in &files {
        let fresh = std::fs::read(out.0.join(f)).unwrap();
        let committed = std::fs::read(repo(pipeline::SNAPSHOT_DIR).join(f))
            .unwrap_or_else(|e| panic!("{}/{f}: {e}", pipeline::SNAPSHOT_DIR));
        assert!(
            fresh == committed,
            "{}/{f} is stale: it differs from a build of {}. Run `cargo run --release -- build --snapshot` and commit data/snapshot/",
            pipeline::SNAPSHOT_DIR,
            data.root.display()
        );
    }
    // Nothing in the folder that a build does not write.
    let mut present: Vec<String> = std::fs::read_dir(repo(pipeline::SNAPSHOT_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    present.sort();
    files.sort();
    assert_eq!(present, files);
}

#[test]
fn the_embedded_snapshot_is_the_committed_folder_and_describes_its_vintages() {
    let info = pipeline::snapshot_info().unwrap();
    assert_eq!(info.geography, "COG 2026");
    assert!(info.sources.iter().any(|s| s.id == "cog_communes" && s.vintage.contains("2023")), "{info:?}");
    assert!(info.sources.iter().any(|s| s.id.starts_with("drees_apl")), "{info:?}");
    assert_eq!(cpts_diag::snapshot::COMMUNES, std::fs::read(repo("data/snapshot/communes.parquet")).unwrap());
    let communes = parquet::read_bytes(cpts_diag::snapshot::COMMUNES).unwrap();
    parquet::check_schema(Path::new("snapshot"), &communes, &cpts_diag::schema::COMMUNES).unwrap();
    let cog = pipeline::read_cog(cpts_diag::snapshot::COG, Path::new("cog.postcard.gz")).unwrap();
    // One curated row per COG unit, no more, no fewer.
    assert_eq!(communes.height(), cog.units.len());
}

#[test]
fn with_no_data_folder_and_no_build_output_the_snapshot_is_used() {
    let tmp = common::Scratch::new("bare");
    let nowhere = tmp.0.join("no-data");
    let mut progress = Progress::new(true);
    let i = pipeline::load_inputs(&tmp.0.join("no-processed"), &DataDir::new(&nowhere), &mut progress).unwrap();
    assert_eq!(i.origin, Origin::Snapshot);

    // The README's main job on a bare clone: the example territory from the snapshot.
    let out = tmp.0.join("report");
    let (nowhere_s, processed_s, out_s) =
        (nowhere.display().to_string(), tmp.0.join("no-processed").display().to_string(), out.display().to_string());
    let territory = repo("data/territories/grand-chateaudun.toml").display().to_string();
    let args = [
        "cpts-diag",
        "--quiet",
        "--data-dir",
        &nowhere_s,
        "diagnose",
        "--territory",
        &territory,
        "--processed",
        &processed_s,
        "--out",
        &out_s,
    ];
    run(Cli::try_parse_from(args).unwrap()).unwrap();
    let s = json(&out.join("summary.json"));
    // INSEE populations légales millésime 2023 of the 23 communes of the CC du Grand Châteaudun.
    assert_eq!(s["communes_count"], 23);
    assert_eq!(s["population"].as_f64(), Some(39_574.0));
    assert!(out.join("report.html").is_file());

    // The same figures as a build from the published files, when they are here.
    if let Some(data) = common::real_data("snapshot vs data folder") {
        let out2 = tmp.0.join("report-data");
        let mut args2 = args.to_vec();
        let root = data.root.display().to_string();
        args2[3] = &root;
        let out2_s = out2.display().to_string();
        args2[10] = &out2_s;
        run(Cli::try_parse_from(args2).unwrap()).unwrap();
        let s2 = json(&out2.join("summary.json"));
        for k in ["population", "gp_count", "apl_mg", "aci_band", "area_km2", "population_apl_below_2_5"] {
            assert_eq!(s[k], s2[k], "{k}");
        }
    }
}
