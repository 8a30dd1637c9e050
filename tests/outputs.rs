//! A run owns its output folder; a bad territory file is named and the good ones written; codes
//! typed in lower case are read. Through the CLI on the made-up data folder.

use crate::common;

use cpts_diag::cli::{run, Cli};
use cpts_diag::error::Error;

fn cli(args: &[&str]) -> Result<(), Error> {
    let mut v = vec!["cpts-diag", "--quiet"];
    v.extend_from_slice(args);
    run(<Cli as clap::Parser>::try_parse_from(v).unwrap())
}

#[test]
fn diagnose_into_an_earlier_runs_folder_leaves_nothing_stale() {
    let data = common::fixture_data("stale");
    let d = data.root.to_str().unwrap();
    let scratch = common::Scratch::new("stale_out");
    let out = scratch.0.join("report");
    let o = out.to_str().unwrap();
    let processed = scratch.0.join("none");
    let p = processed.to_str().unwrap();
    // An earlier run with maps (boundaries present in the fixture), for another territory.
    cli(&["--data-dir", d, "diagnose", "--communes", "28002,28003", "--processed", p, "-o", o]).unwrap();
    let maps: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("map_") || n == "advice.json" || n == "territory.geojson")
        .collect();
    assert!(!maps.is_empty(), "the first run drew maps");
    // Leftovers of a killed run and a file of the user's.
    std::fs::write(out.join(".summary.json.tmp-0"), b"half").unwrap();
    std::fs::write(out.join("my-notes.txt"), b"mine").unwrap();

    cli(&["--data-dir", d, "diagnose", "--communes", "28001", "--processed", p, "-o", o, "--no-geo"]).unwrap();
    for m in &maps {
        assert!(!out.join(m).exists(), "{m} of the earlier territory is still beside the new summary");
    }
    assert!(!out.join(".summary.json.tmp-0").exists(), "temp leftover cleaned");
    assert!(out.join("my-notes.txt").exists(), "files the tool does not write are left alone");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("28001") && !summary.contains("\"28003\""), "the summary is the new territory's");
}

#[test]
fn batch_names_a_bad_territory_file_writes_the_good_ones_and_fails() {
    let data = common::fixture_data("batch_bad");
    let d = data.root.to_str().unwrap();
    let scratch = common::Scratch::new("batch_bad_out");
    let terr = scratch.0.join("territories");
    std::fs::create_dir_all(&terr).unwrap();
    std::fs::write(terr.join("good.toml"), "name = \"Bonne\"\ncommunes = [\"28001\", \"28002\"]\n").unwrap();
    std::fs::write(terr.join("typo.toml"), "name = \"Mauvaise\"\ncommunes = [\"28999\"]\n").unwrap();
    std::fs::write(terr.join("broken.toml"), "name = \"Cassée\"\ncommunes = [\"28001\"\n").unwrap();
    let out = scratch.0.join("out");
    let (t, o) = (terr.to_str().unwrap(), out.to_str().unwrap());
    let p = scratch.0.join("none");
    let e = cli(&[
        "--data-dir",
        d,
        "batch",
        "--level",
        "territories",
        "--territories",
        t,
        "--out",
        o,
        "--processed",
        p.to_str().unwrap(),
    ])
    .unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("typo.toml") && msg.contains("broken.toml") && !msg.contains("good.toml"), "{msg}");
    let written: Vec<String> = walk(&out).into_iter().filter(|f| f.contains("territories")).collect();
    assert!(!written.is_empty(), "the good territory is written");
    let table = cpts_diag::sinks::parquet::read(
        &out.join(written.iter().find(|f| f.ends_with(".parquet")).expect("a parquet table")),
    )
    .unwrap();
    assert_eq!(table.height(), 1, "only the good territory");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            v.extend(walk(&p).into_iter().map(|s| format!("{}/{s}", e.file_name().to_string_lossy())));
        } else {
            v.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    v
}

#[test]
fn lower_case_corsica_code_is_read_with_a_warning() {
    use cpts_diag::sources::decoupage::Cog;
    use cpts_diag::territory::{resolve, TerritorySpec};
    use cpts_diag::transforms::cog::CogIndex;
    let data = common::fixture_data("corsica");
    // Add a Corsican commune to the made-up reference.
    let p = data.root.join("population/decoupage-administratif-6.0.0/communes.json.gz");
    let json = common::COMMUNES_JSON.replace(
        "\n]",
        ",\n{\"code\":\"2A004\",\"nom\":\"Ajaccio\",\"type\":\"commune-actuelle\",\"zone\":\"metro\",\"departement\":\"2A\",\"region\":\"94\",\"population\":70000}\n]",
    );
    common::write_gz(&p, &json);
    let dep = data.root.join("population/decoupage-administratif-6.0.0/departements.json");
    let deps = std::fs::read_to_string(&dep)
        .unwrap()
        .replace("\n]", ",{\"code\":\"2A\",\"nom\":\"Corse-du-Sud\",\"region\":\"94\"}\n]");
    std::fs::write(&dep, deps).unwrap();
    let reg = data.root.join("population/decoupage-administratif-6.0.0/regions.json");
    let regs = std::fs::read_to_string(&reg).unwrap().replace("]", ",{\"code\":\"94\",\"nom\":\"Corse\"}]");
    std::fs::write(&reg, regs).unwrap();
    let cog = Cog::load(&data).unwrap();
    let index = CogIndex::new(&cog);
    let t = resolve(&TerritorySpec::from_codes(Some("Ajaccio"), "2a004"), &cog, &index).unwrap();
    assert_eq!(t.codes, vec!["2A004".to_string()]);
    assert!(t.warnings.iter().any(|w| w.contains("\"2a004\" read as commune code 2A004")), "{:?}", t.warnings);
}

/// The index the staging threads get as soon as `communes.json` is read places every code as
/// the index of the loaded COG does: on the made-up reference, and on the real one when present.
#[test]
fn the_early_index_places_codes_as_the_cog_index() {
    use cpts_diag::sources::decoupage::Cog;
    use cpts_diag::transforms::cog::CogIndex;
    let fixture = common::fixture_data("early_index");
    let real = common::real_data("the_early_index_places_codes_as_the_cog_index");
    for data in std::iter::once(&*fixture).chain(real.as_ref()) {
        let mut early = None;
        let cog = Cog::load_keyed(data, |keys| early = Some(CogIndex::from_keys(keys))).unwrap();
        let (early, index) = (early.unwrap(), CogIndex::new(&cog));
        assert_eq!(early.arrondissement_pairs(), index.arrondissement_pairs());
        assert!(!index.arrondissement_pairs().is_empty());
        let mut codes: Vec<&str> = vec!["00000", "99999", ""];
        for u in &cog.units {
            codes.push(&u.code);
            codes.extend(u.anciens_codes.iter().map(|a| a.as_str()));
        }
        assert!(codes.iter().any(|c| matches!(index.resolve(c), cpts_diag::transforms::cog::Resolution::Remapped(_))));
        for c in codes {
            assert_eq!(early.resolve(c), index.resolve(c), "{c}");
            assert_eq!(early.kind_and_parent(c), index.kind_and_parent(c), "{c}");
        }
    }
}

#[test]
fn corrupt_curated_parquet_names_its_file_and_is_bad_input() {
    let scratch = common::Scratch::new("corrupt_parquet");
    let p = scratch.0.join("communes.parquet");
    std::fs::write(&p, b"PAR1 this is not a parquet file at all").unwrap();
    let e = cpts_diag::sinks::parquet::read(&p).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let msg = e.to_string();
    assert!(msg.contains("communes.parquet") && msg.contains("cpts-diag build"), "{msg}");
}

#[test]
fn batch_from_the_mapped_copy_writes_what_it_writes_from_the_parquet() {
    let data = common::fixture_data("mapped_batch");
    let d = data.root.to_str().unwrap();
    let scratch = common::Scratch::new("mapped_batch_out");
    let processed = scratch.0.join("processed");
    let p = processed.to_str().unwrap();
    cli(&["--data-dir", d, "build", "--out", p]).unwrap();
    let copies = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
        walk(dir).into_iter().filter(|f| f.ends_with(".arrow")).map(|f| dir.join(f)).collect()
    };
    assert_eq!(copies(&processed).len(), 1, "build writes one mapped copy");
    let levels = "commune,epci,bassin-de-vie,departement,region";
    let (mapped, decoded) = (scratch.0.join("mapped"), scratch.0.join("decoded"));
    cli(&["--data-dir", d, "batch", "--level", levels, "--processed", p, "--out", mapped.to_str().unwrap()]).unwrap();
    for c in copies(&processed) {
        std::fs::remove_file(c).unwrap();
    }
    cli(&["--data-dir", d, "batch", "--level", levels, "--processed", p, "--out", decoded.to_str().unwrap()]).unwrap();
    let files = walk(&mapped);
    assert_eq!(files.len(), 10);
    for f in files {
        assert!(std::fs::read(mapped.join(&f)).unwrap() == std::fs::read(decoded.join(&f)).unwrap(), "{f} differs");
    }
    // A second build replaces the copy rather than adding one.
    cli(&["--data-dir", d, "build", "--out", p]).unwrap();
    cli(&["--data-dir", d, "build", "--out", p]).unwrap();
    assert_eq!(copies(&processed).len(), 1);
}
