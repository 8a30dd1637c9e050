//! `cpts-diag fetch --mirror ../shared/data` → `build --data-dir <cache>` → `diagnose`, end to
//! end through the CLI entry point; then the same cache with an RPPS extraction, an INSEE age
//! zip and an ALD file added (made-up fixtures) to show the RPPS taking over from the BPE and the
//! ALD estimate labelled as one.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Parser;
use cpts_diag::cli::{run, Cli};
use cpts_diag::sinks::parquet;
use cpts_diag::sources::DataDir;

fn cli(args: &[&str]) {
    let mut v = vec!["cpts-diag", "--quiet"];
    v.extend_from_slice(args);
    run(Cli::try_parse_from(v).unwrap()).unwrap();
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn age_zip(path: &Path) {
    let csv = "CODGEO;P22_POP;P22_POP0014;P22_POP1529;P22_POP3044;P22_POP4559;P22_POP6074;P22_POP75P\n\
28088;13000;2000;2000;2200;2600;2400;1800\n28061;3000;500;400;500;600;500;500\n";
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    w.start_file("base-cc-evol-struct-pop-2022.CSV", zip::write::SimpleFileOptions::default()).unwrap();
    w.write_all(csv.as_bytes()).unwrap();
    w.finish().unwrap();
}

#[test]
fn fetch_from_mirror_then_build_then_diagnose() {
    let shared = DataDir::from_env();
    if !shared.exists("population/decoupage-administratif-6.0.0/communes.json.gz") {
        eprintln!("SKIP: ../shared/data not found ({}): no mirror to fetch from", shared.root.display());
        return;
    }
    let tmp = std::env::temp_dir().join(format!("cpts-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let raw = tmp.join("raw");
    let (processed, out) = (tmp.join("processed"), tmp.join("report"));
    let s = |p: &PathBuf| p.display().to_string();
    let mirror = s(&shared.root);

    // The mirror has what it has: the sources whose file ../shared/data holds (RPPS, age, ALD and
    // INSEE's BV2022 and comparateur are not there; the TAGC and rcarlier compiles stand in).
    let manifest = cpts_diag::fetch::Manifest::embedded();
    let present: Vec<&str> =
        manifest.sources.iter().filter(|x| shared.exists(&x.file)).map(|x| x.id.as_str()).collect();
    assert!(present.contains(&"insee_tagc_bv2022") && !present.contains(&"insee_bv2022"), "{present:?}");
    let mut args = vec!["fetch", "--mirror", &mirror, "--dest"];
    let dest = s(&raw);
    args.push(&dest);
    args.extend(present.iter().copied());
    cli(&args);
    let lock = json(&raw.join("fetch.lock.json"));
    let files = lock["files"].as_object().unwrap();
    assert!(files.contains_key("cog_communes") && files.contains_key("insee_tagc_bv2022"));
    assert!(!files.contains_key("rpps"));
    let e = &files["bpe_nb_medg"];
    assert_eq!(e["via"], "mirror-folder");
    assert_eq!(e["file"], "health/anct_offre_sante_nb_medg_bpe2020_communes.xlsx");
    assert_eq!(e["sha256"].as_str().unwrap().len(), 64);
    // data/raw/<file> is byte-for-byte the mirror's <file>.
    let a = cpts_diag::fetch::sha256_file(&raw.join("health/anct_offre_sante_nb_medg_bpe2020_communes.xlsx")).unwrap();
    let b = cpts_diag::fetch::sha256_file(&shared.root.join("health/anct_offre_sante_nb_medg_bpe2020_communes.xlsx"))
        .unwrap();
    assert_eq!(a, b);

    // Offline re-run: every required file is in the cache and matches the lock.
    cli(&["fetch", "--offline", "--dest", &s(&raw), "cog_communes", "bpe_nb_medg"]);

    let territory = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/territories/grand-chateaudun.toml");
    cli(&["--data-dir", &s(&raw), "build", "--out", &s(&processed)]);
    let md = parquet::read_metadata(&processed.join("communes.parquet")).unwrap();
    let prov = md.iter().find(|(k, _)| k == parquet::PROVENANCE_KEY).unwrap().1.clone().unwrap();
    let prov: serde_json::Value = serde_json::from_str(&prov).unwrap();
    assert_eq!(prov["fetch_lock"]["files"]["bpe_nb_medg"]["sha256"], e["sha256"], "build records the lock");

    cli(&["--data-dir", &s(&raw), "diagnose", "-t", &s(&territory), "--processed", &s(&processed), "--out", &s(&out)]);
    let sum = json(&out.join("summary.json"));
    assert_eq!(sum["communes"].as_array().unwrap().len(), 23);
    assert!(sum["gp_count"].as_i64().unwrap() > 0);
    assert!(sum["notes"]["gp_count"].as_str().unwrap().contains("source: BPE 2020"), "{}", sum["notes"]["gp_count"]);
    assert!(sum["share_75_plus"].is_null());
    assert!(sum["notes"]["share_75_plus"].as_str().unwrap().contains("cpts-diag fetch insee_age"));
    assert!(sum["ald_without_mt_share"].is_null());
    let bpe_gp = sum["gp_count"].as_i64().unwrap();

    // Add the optional sources as `fetch` would lay them out, and rebuild.
    let rpps_dir = raw.join("health/rpps");
    std::fs::create_dir_all(&rpps_dir).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/rpps/PS_LibreAcces_Personne_activite_202611200000.txt"),
        rpps_dir.join("PS_LibreAcces_Personne_activite_202611200000.txt"),
    )
    .unwrap();
    age_zip(&raw.join("population/base-cc-evol-struct-pop-2022_csv.zip"));
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ald/patients-longueduree-annuelle.csv"),
        raw.join("health/ameli_patients_longueduree_annuelle.csv"),
    )
    .unwrap();
    cli(&["--data-dir", &s(&raw), "build", "--out", &s(&processed)]);
    let c = parquet::read(&processed.join("communes.parquet")).unwrap();
    let get = |code: &str, col: &str| -> Option<i64> {
        let i = c.column("code").unwrap().str().unwrap().iter().position(|x| x == Some(code)).unwrap();
        c.column(col).unwrap().i64().unwrap().get(i)
    };
    // Fixture: Chartres has 2 libéral GPs, Châteaudun 1, Paris 12e 1 (rolled up into Paris), Dreux none.
    assert_eq!(get("28085", "gp_count_rpps"), Some(2));
    assert_eq!(get("28088", "gp_count_rpps"), Some(1));
    assert_eq!(get("75112", "gp_count_rpps"), Some(1));
    assert_eq!(get("75056", "gp_count_rpps"), Some(1));
    assert_eq!(get("28134", "gp_count_rpps"), Some(0));
    let report = json(&processed.join("normalization_report.json"));
    let rpps_rep = report["sources"].as_array().unwrap().iter().find(|r| r["source"] == "rpps").unwrap();
    assert!(
        rpps_rep["coverage_note"].as_str().unwrap().contains("gp 1 activities (1 practitioners)"),
        "unattributed GP reported"
    );

    cli(&["--data-dir", &s(&raw), "diagnose", "-t", &s(&territory), "--processed", &s(&processed), "--out", &s(&out)]);
    let sum = json(&out.join("summary.json"));
    assert_eq!(sum["gp_count"].as_i64(), Some(1), "RPPS preferred: Châteaudun's one libéral GP (BPE said {bpe_gp})");
    assert!(sum["notes"]["gp_count"]
        .as_str()
        .unwrap()
        .contains("source: RPPS (PS_LibreAcces_Personne_activite_202611200000.txt)"));
    // Age: only Châteaudun and Brou are in the fixture: a partial sum, said so.
    assert_eq!(sum["population_75_plus"].as_f64(), Some(2300.0));
    assert!((sum["share_75_plus"].as_f64().unwrap() - 100.0 * 2300.0 / 16000.0).abs() < 1e-9);
    let n = sum["notes"]["share_75_plus"].as_str().unwrap();
    assert!(n.contains("census: RP 2022") && n.contains("partial"), "{n}");
    // ALD: every commune is in 28 → the estimate equals the département's figure, and says it is an estimate.
    assert!((sum["ald_without_mt_share"].as_f64().unwrap() - 4.6).abs() < 1e-9);
    let n = sum["notes"]["ald_without_mt_share"].as_str().unwrap();
    assert!(n.contains("ESTIMATE") && n.contains("year: 2024"), "{n}");
    let dep = &sum["comparisons"]["departements"][0];
    assert!(dep["notes"]["ald_without_mt_share"].as_str().unwrap().contains("measured"));
    let ind = parquet::read(&out.join("indicators.parquet")).unwrap();
    let notes = ind.column("note").unwrap().str().unwrap().clone();
    let ids = ind.column("indicator").unwrap().str().unwrap().clone();
    let kinds = ind.column("scope_kind").unwrap().str().unwrap().clone();
    let i = (0..ind.height())
        .find(|&i| ids.get(i) == Some("ald_without_mt_share") && kinds.get(i) == Some("territory"))
        .unwrap();
    assert!(notes.get(i).unwrap().contains("ESTIMATE"), "the method is next to the number in indicators.parquet");
    std::fs::remove_dir_all(&tmp).unwrap();
}
