//! Every fault of the hostile audit (issue 13) as a test: a temp copy of the real data folder with
//! one file mutated on commune 28088 (Châteaudun), then the build (and the diagnosis of the
//! Grand Châteaudun example when the build must succeed). Each test asserts the error or warning
//! and that no figure changed silently. Faults of the same kind on other columns and communes
//! check that the source's contract catches them, not a special case.
//! Mutations that need no real file use small fixtures in the publishers' formats.

use crate::common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use cpts_diag::aci::Grid;
use cpts_diag::diagnose::diagnose;
use cpts_diag::error::Error;
use cpts_diag::sources::{apl, bpe, comparateur, contract, decoupage, DataDir};
use cpts_diag::territory::{resolve, TerritorySpec};
use cpts_diag::transforms::cog::CogIndex;
use cpts_diag::transforms::curated::{self, Curated, Options};

const COMMUNES: &str = "population/decoupage-administratif-6.0.0/communes.json.gz";
const EPCI: &str = "population/decoupage-administratif-6.0.0/epci.json.gz";
const APL_CSV: &str = apl::DERIVED_FILE;
const BPE_CSV: &str = bpe::DERIVED_FILE;
const COMPARATEUR: &str = "population/communes_cog2024_comparateur_territoires.csv.gz";
const TAGC: &str = "population/insee_tagc_communes_cog2024_bv2022.csv.gz";

/// The lean build (CSV re-encodings, no 2018 boundaries): same contracts, a fraction of the time.
fn lean() -> Options {
    Options { derived_csv: true, boundaries: false, bassins_de_vie: true }
}

fn read_gz(p: &Path) -> String {
    let mut s = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(p).unwrap()).read_to_string(&mut s).unwrap();
    s
}

/// A copy of the real data folder (links to the real files) with `rel` replaced by `mutate` of
/// its text. `None` (and SKIP) when the real folder is absent.
struct Mutated {
    _scratch: common::Scratch,
    data: DataDir,
}

impl Mutated {
    fn path(&self, rel: &str) -> PathBuf {
        self.data.root.join(rel)
    }
}

fn link_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            link_tree(&src, &dst);
        } else {
            std::os::unix::fs::symlink(&src, &dst).unwrap();
        }
    }
}

fn mutated(test: &str, rel: &str, mutate: impl FnOnce(String) -> String) -> Option<Mutated> {
    let real = common::real_data(test)?;
    let scratch = common::Scratch::new(test);
    let root = scratch.0.join("data");
    link_tree(&real.root, &root);
    let dst = root.join(rel);
    std::fs::remove_file(&dst).unwrap();
    let src = real.root.join(rel);
    if rel.ends_with(".gz") {
        common::write_gz(&dst, &mutate(read_gz(&src)));
    } else {
        std::fs::write(&dst, mutate(std::fs::read_to_string(&src).unwrap())).unwrap();
    }
    Some(Mutated { _scratch: scratch, data: DataDir::new(root) })
}

fn build(data: &DataDir) -> Result<Curated, Error> {
    curated::build_with(data, &lean(), &mut |_| {})
}

/// The build fails with a bad-input error (exit 2) whose message holds every `needle`.
fn assert_bad_input(r: Result<Curated, Error>, needles: &[&str]) -> String {
    let e = match r {
        Ok(_) => panic!("the faulty file was accepted (expected an error with {needles:?})"),
        Err(e) => e,
    };
    let msg = e.to_string();
    assert_eq!(e.exit_code(), 2, "bad input must exit 2: {msg}");
    for n in needles {
        assert!(msg.contains(n), "{n:?} not in: {msg}");
    }
    msg
}

/// Replace the line starting with `prefix` by `f(line)`, asserting there is exactly one.
fn edit_line(text: &str, prefix: &str, f: impl Fn(&str) -> String) -> String {
    let mut hits = 0;
    let out: Vec<String> = text
        .split_inclusive('\n')
        .map(|l| {
            if l.starts_with(prefix) {
                hits += 1;
                f(l)
            } else {
                l.to_string()
            }
        })
        .collect();
    assert_eq!(hits, 1, "exactly one line starts with {prefix:?}");
    out.concat()
}

/// Duplicate the line starting with `prefix` right after itself.
fn duplicate_line(text: &str, prefix: &str) -> String {
    edit_line(text, prefix, |l| format!("{l}{l}"))
}

/// Set field `i` (0-based, comma-separated, no quoted fields before it) of a CSV line.
fn set_field(line: &str, i: usize, v: &str) -> String {
    let (body, end) = line.split_at(line.trim_end_matches(['\r', '\n']).len());
    let mut f: Vec<&str> = body.split(',').collect();
    f[i] = v;
    format!("{}{end}", f.join(","))
}

// ---- communes.json (COG 2026 reference) ----

const CHATEAUDUN_JSON: &str = "{\"code\":\"28088\",";

#[test]
fn duplicated_commune_object_is_an_error_not_a_bigger_territory() {
    let Some(m) = mutated("dup_commune", COMMUNES, |t| duplicate_line(&t, CHATEAUDUN_JSON)) else { return };
    let msg = assert_bad_input(build(&m.data), &["communes.json.gz:", "column \"code\"", "(28088)", "repeats line"]);
    // Same file, same contract, another commune: an arrondissement municipal duplicated.
    let Some(m) = mutated("dup_arrondissement", COMMUNES, |t| duplicate_line(&t, "{\"code\":\"75113\",")) else {
        return;
    };
    assert_bad_input(build(&m.data), &["(75113)", "repeats line"]);
    // The territory cannot be resolved over a reference that does not load: no 26-commune taille 2.
    assert!(!msg.contains("taille"));
}

#[test]
fn renamed_population_key_is_an_error_not_zeros() {
    let Some(m) = mutated("renamed_population", COMMUNES, |t| t.replace("\"population\":", "\"populaton\":")) else {
        return;
    };
    assert_bad_input(build(&m.data), &["column \"population\" missing", "did you mean \"populaton\"?"]);
}

#[test]
fn missing_population_of_one_commune_is_an_error() {
    let strip = |l: &str| {
        let i = l.find(",\"population\":").unwrap();
        let j = i + l[i + 1..].find([',', '}']).unwrap() + 1;
        format!("{}{}", &l[..i], &l[j..])
    };
    let Some(m) = mutated("missing_population", COMMUNES, |t| edit_line(&t, CHATEAUDUN_JSON, strip)) else { return };
    assert_bad_input(build(&m.data), &["communes.json.gz:", "column \"population\"", "value is missing for 28088"]);
    // Same contract, another commune and kind (arrondissement 75113): same error.
    let Some(m) = mutated("missing_population_arm", COMMUNES, |t| edit_line(&t, "{\"code\":\"75113\",", strip)) else {
        return;
    };
    assert_bad_input(build(&m.data), &["value is missing for 75113"]);
}

#[test]
fn negative_or_fractional_population_is_an_error() {
    let neg = |l: &str| regex_lite_replace_population(l, "-13000");
    let Some(m) = mutated("negative_population", COMMUNES, |t| edit_line(&t, CHATEAUDUN_JSON, neg)) else { return };
    assert_bad_input(build(&m.data), &["column \"population\"", "-13000 for 28088 is out of range", ">= 0"]);
    // Same range contract, another commune (Chartres) and another kind of bad value.
    let frac = |l: &str| regex_lite_replace_population(l, "38578.5");
    let Some(m) = mutated("fractional_population", COMMUNES, |t| edit_line(&t, "{\"code\":\"28085\",", frac)) else {
        return;
    };
    assert_bad_input(build(&m.data), &["column \"population\"", "38578.5 is not a count"]);
}

fn regex_lite_replace_population(line: &str, v: &str) -> String {
    let i = line.find("\"population\":").unwrap() + "\"population\":".len();
    let j = i + line[i..].find([',', '}']).unwrap();
    format!("{}{v}{}", &line[..i], &line[j..])
}

#[test]
fn commune_in_two_epci_is_an_error() {
    // Châteaudun also listed as a member of the first EPCI of the file.
    let Some(m) = mutated("two_epci", EPCI, |t| t.replacen("\"membres\":[", "\"membres\":[{\"code\":\"28088\"},", 1))
    else {
        return;
    };
    assert_bad_input(build(&m.data), &["epci.json.gz", "commune 28088 is a member of two EPCI"]);
}

// ---- DREES APL ----

const APL_2023_CHATEAUDUN: &str = "2023,28088,";

#[test]
fn duplicated_apl_row_is_an_error_not_a_merged_commune() {
    let Some(m) = mutated("dup_apl", APL_CSV, |t| duplicate_line(&t, APL_2023_CHATEAUDUN)) else { return };
    assert_bad_input(build(&m.data), &["drees_apl", "column \"millesime\"", "(2023, 28088) repeats line"]);
    // Another millésime and commune: the key is per millésime.
    let Some(m) = mutated("dup_apl_2022", APL_CSV, |t| duplicate_line(&t, "2022,75113,")) else { return };
    assert_bad_input(build(&m.data), &["(2022, 75113) repeats line"]);
}

#[test]
fn apl_out_of_range_or_french_formatted_is_an_error() {
    let Some(m) =
        mutated("apl_negative", APL_CSV, |t| edit_line(&t, APL_2023_CHATEAUDUN, |l| set_field(l, 3, "-3.007")))
    else {
        return;
    };
    assert_bad_input(build(&m.data), &["column \"apl_mg\"", "-3.007 for 2023, 28088 is out of range", "drees_apl"]);
    let french = |l: &str| set_field(l, 3, "\"1 234,5\"");
    let Some(m) = mutated("apl_french", APL_CSV, |t| edit_line(&t, APL_2023_CHATEAUDUN, french)) else { return };
    assert_bad_input(build(&m.data), &["column \"apl_mg\"", "\"1 234,5\"", "decimal comma"]);
    // Same contract, another column (APL under 65) and commune: the range holds everywhere.
    let Some(m) = mutated("apl_u65_range", APL_CSV, |t| edit_line(&t, "2022,28085,", |l| set_field(l, 4, "391")))
    else {
        return;
    };
    assert_bad_input(build(&m.data), &["column \"apl_mg_moins_65ans\"", "391 for 2022, 28085 is out of range"]);
    // A negative standardised population is the same kind of fault.
    let Some(m) = mutated("apl_pop_std", APL_CSV, |t| edit_line(&t, APL_2023_CHATEAUDUN, |l| set_field(l, 5, "-1")))
    else {
        return;
    };
    assert_bad_input(build(&m.data), &["column \"population_standardisee\"", "out of range"]);
}

#[test]
fn apl_csv_cut_inside_its_last_field_is_an_error() {
    // The cut keeps a plausible number (the last population loses its last digits).
    let Some(m) = mutated("apl_cut_field", APL_CSV, |t| t[..t.len() - 4].to_string()) else { return };
    assert_bad_input(build(&m.data), &["drees_apl", "ends inside this line", "cut short"]);
    // Same contract on other sources: the BPE and TAGC CSVs cut the same way.
    let Some(m) = mutated("bpe_cut_field", BPE_CSV, |t| t[..t.len() - 2].to_string()) else { return };
    assert_bad_input(build(&m.data), &["anct_offre_sante", "ends inside this line"]);
    let Some(m) = mutated("tagc_cut_field", TAGC, |t| t[..t.len() - 5].to_string()) else { return };
    assert_bad_input(build(&m.data), &["insee_tagc", "ends inside this line"]);
}

fn cut_at_line(t: &str, share: f64) -> String {
    let lines: Vec<&str> = t.split_inclusive('\n').collect();
    lines[..(lines.len() as f64 * share) as usize].concat()
}

#[test]
fn csv_cut_at_a_line_boundary_is_a_coverage_error_not_gaps() {
    let Some(m) = mutated("apl_cut_line", APL_CSV, |t| cut_at_line(&t, 0.75)) else { return };
    assert_bad_input(build(&m.data), &["drees_apl", "covers only", "cut short or is not the national file"]);
    let Some(m) = mutated("bpe_cut_line", BPE_CSV, |t| cut_at_line(&t, 0.5)) else { return };
    assert_bad_input(build(&m.data), &["anct_offre_sante", "covers only"]);
    let Some(m) = mutated("comparateur_cut_line", COMPARATEUR, |t| cut_at_line(&t, 0.6)) else { return };
    assert_bad_input(build(&m.data), &["comparateur", "covers only"]);
}

#[test]
fn truncated_gzip_is_bad_input() {
    let Some(m) = mutated("gzip_cut", APL_CSV, |t| t) else { return };
    let p = m.path(APL_CSV);
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    assert_bad_input(build(&m.data), &["drees_apl", "gzip stream cut short or corrupt"]);
    // Same check for the reference itself.
    let p = m.path(COMMUNES);
    std::fs::remove_file(&p).unwrap();
    let bytes = std::fs::read(common::real_data("gzip_cut").unwrap().root.join(COMMUNES)).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() - 20]).unwrap();
    assert_bad_input(build(&m.data), &["communes.json.gz", "gzip stream cut short or corrupt"]);
}

// ---- BPE ----

const BPE_CHATEAUDUN: &str = "28088,";

#[test]
fn duplicated_bpe_row_is_an_error_not_more_gps() {
    let Some(m) = mutated("dup_bpe", BPE_CSV, |t| duplicate_line(&t, BPE_CHATEAUDUN)) else { return };
    assert_bad_input(build(&m.data), &["anct_offre_sante", "column \"codgeo\"", "(codgeo) = (28088) repeats line"]);
    // Same contract on the comparateur (key: commune and code postal) and the TAGC.
    let Some(m) = mutated("dup_comparateur", COMPARATEUR, |t| duplicate_line(&t, "28085,")) else { return };
    assert_bad_input(build(&m.data), &["comparateur", "repeats line"]);
    let Some(m) = mutated("dup_tagc", TAGC, |t| duplicate_line(&t, "28088,")) else { return };
    assert_bad_input(build(&m.data), &["insee_tagc", "(CODGEO) = (28088) repeats line"]);
}

#[test]
fn negative_area_or_count_is_an_error() {
    let Some(m) = mutated("negative_area", COMPARATEUR, |t| edit_line(&t, "28088,", |l| set_field(l, 10, "-28.41")))
    else {
        return;
    };
    assert_bad_input(build(&m.data), &["column \"superficie_km2\"", "-28.41 for 28088, 28200 is out of range", "> 0"]);
    let Some(m) = mutated("negative_bpe", BPE_CSV, |t| edit_line(&t, BPE_CHATEAUDUN, |l| set_field(l, 3, "-8"))) else {
        return;
    };
    assert_bad_input(build(&m.data), &["column \"nb_medg\"", "-8 for 28088 is out of range"]);
    // Same contract, another column: a latitude off the globe.
    let Some(m) = mutated("bad_lat", COMPARATEUR, |t| edit_line(&t, "28085,", |l| set_field(l, 8, "148.44"))) else {
        return;
    };
    assert_bad_input(build(&m.data), &["column \"lat\"", "148.44 for 28085, 28000 is out of range"]);
}

/// The Grand Châteaudun example diagnosed on a curated table.
fn chateaudun(c: &Curated) -> cpts_diag::diagnose::Diagnosis {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/territories/grand-chateaudun.toml");
    let spec = TerritorySpec::load(&path).unwrap();
    let index = CogIndex::new(&c.cog);
    diagnose(&c.communes, resolve(&spec, &c.cog, &index).unwrap(), &Grid::embedded()).unwrap()
}

#[test]
fn masked_values_are_null_and_the_indicators_depending_on_them_unavailable() {
    let Some(m) = mutated("masked", BPE_CSV, |t| edit_line(&t, BPE_CHATEAUDUN, |l| set_field(l, 3, "NS"))) else {
        return;
    };
    // The area of another commune of the territory masked too ("N/A - secret statistique").
    let real = common::real_data("masked").unwrap();
    let comp = read_gz(&real.root.join(COMPARATEUR));
    let comp = comp
        .split_inclusive('\n')
        .map(|l| if l.starts_with("28061,") { set_field(l, 10, "N/A - secret statistique") } else { l.to_string() })
        .collect::<String>();
    std::fs::remove_file(m.path(COMPARATEUR)).unwrap();
    common::write_gz(&m.path(COMPARATEUR), &comp);

    let c = build(&m.data).expect("masked values are not an error");
    let get = |code: &str, column: &str| {
        let i = c.communes.column("code").unwrap().str().unwrap().iter().position(|x| x == Some(code)).unwrap();
        c.communes.column(column).unwrap().get(i).unwrap().to_string()
    };
    assert_eq!(get("28088", "gp_count_bpe2020"), "null", "a masked count is null, never 0");
    assert!(get("28088", "gp_count_note").contains(contract::MASKED_REASON));
    assert_eq!(get("28061", "area_km2"), "null");
    assert!(get("28061", "area_note").contains(contract::MASKED_REASON));
    // The normalization report says what the contracts found.
    let bpe_rep = c.reports.iter().find(|r| r.source == bpe::META.id).unwrap();
    let k = bpe_rep.contract.as_ref().unwrap();
    assert_eq!(k.masked_rows, 1);
    assert_eq!((k.masked[0].code.as_str(), k.masked[0].cells.as_str()), ("28088", "nb_medg=NS"));
    assert!(k.status.contains("masked by the publisher"), "{}", k.status);

    // Every indicator depending on them is unavailable, with the reason; nothing computed over a
    // partial count as if complete (the old "16 GPs" and inhabitants per GP over them).
    let d = chateaudun(&c);
    let s = d.territory();
    assert_eq!(s.value("population"), Some(39_574.0), "population does not depend on them");
    for id in ["gp_count", "inhabitants_per_gp", "gp_per_100k", "area_km2", "density_per_km2"] {
        let v = s.get(id).unwrap_or_else(|| panic!("{id}"));
        assert_eq!(v.value, None, "{id} computed over a partial count");
        let note = v.note.as_deref().unwrap_or_default();
        assert!(note.contains("unavailable") && note.contains(contract::MASKED_REASON), "{id}: {note}");
    }
    // The département too: one masked commune makes its GP count unknown, not 8 lower.
    let dep = &d.scopes[1];
    assert_eq!(dep.value("gp_count"), None);
    // The band depends on populations only: the embedded grid counts the population totale
    // (DGCL 2022: 40 648, taille 2, as in real_data.rs), unchanged by the masked values.
    let aci = d.aci.unwrap();
    assert_eq!((aci.taille, aci.inhabitants_to_next_band), (2, Some(80_000 - 40_648)));
}

// ---- fixtures for the workbooks (xlsx): same contracts as their CSV re-encodings ----

#[test]
fn xlsx_duplicated_rows_and_out_of_range_values_are_errors() {
    let dir = common::Scratch::new("xlsx_contracts");
    let p = dir.0.join("apl.xlsx");
    let mut rows = common::APL_ROWS.to_vec();
    rows.push(rows[2]);
    common::write_apl_xlsx(&p, &rows, common::APL_HEADER);
    let e = apl::load_file(&p, 2023).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let msg = e.to_string();
    assert!(
        msg.contains("apl.xlsx:17: column \"Code commune INSEE\"") && msg.contains("(28002) repeats line 13"),
        "{msg}"
    );

    let mut rows = common::APL_ROWS.to_vec();
    rows[3].2 = -3.007;
    common::write_apl_xlsx(&p, &rows, common::APL_HEADER);
    let msg = apl::load_file(&p, 2023).unwrap_err().to_string();
    assert!(msg.contains("column \"APL aux médecins généralistes\": -3.007 for 28003 is out of range"), "{msg}");

    let p = dir.0.join("bpe.xlsx");
    common::write_bpe_xlsx(
        &p,
        &[("28001", "Alpha", Some(1.0)), ("28002", "Beta", Some(2.0)), ("28001", "Alpha", Some(1.0))],
    );
    let msg = bpe::load_file(&p).unwrap_err().to_string();
    assert!(msg.contains("bpe.xlsx:8: column \"codgeo\"") && msg.contains("(28001) repeats line 6"), "{msg}");
}

#[test]
fn fixture_masked_cells_are_listed_in_the_staged_frame() {
    let dir = common::Scratch::new("masked_fixture");
    let p = dir.0.join("bpe.csv");
    std::fs::write(
        &p,
        "codgeo,libgeo,an,nb_medg\n28001,Alpha,2020,3\n28002,Beta,2020,NC\n28003,Gamma,2020,N/A - secret statistique\n",
    )
    .unwrap();
    let df = bpe::load_derived_file(&p).unwrap();
    let masked: Vec<Option<&str>> = df.column("masked").unwrap().str().unwrap().iter().collect();
    assert_eq!(masked, vec![None, Some("nb_medg=NC"), Some("nb_medg=N/A - secret statistique")]);
    assert_eq!(df.column("gp_count").unwrap().null_count(), 2);
    // A masked value where the contract requires one (the commune code) is an error.
    std::fs::write(&p, "codgeo,libgeo,an,nb_medg\nNS,Alpha,2020,3\n").unwrap();
    let msg = bpe::load_derived_file(&p).unwrap_err().to_string();
    assert!(msg.contains("bpe.csv:2: column \"codgeo\": \"NS\" (masked by the publisher)"), "{msg}");
    // An APL under 65 masked would leave a territory average over the other communes: an error.
    let p = dir.0.join("apl.csv");
    std::fs::write(
        &p,
        "millesime,code_commune_insee,commune,apl_mg,apl_mg_moins_65ans,population_standardisee,population_totale\n\
         2023,28001,Alpha,2.5,NS,800.5,790\n",
    )
    .unwrap();
    let msg = apl::load_derived_file(&p, &[2023]).unwrap_err().to_string();
    assert!(msg.contains("apl.csv:2: column \"apl_mg_moins_65ans\": \"NS\" (masked by the publisher)"), "{msg}");
    // The comparateur's area: masked is null and listed, "NS" included.
    let p = dir.0.join("comparateur.csv");
    let text = common::comparateur_csv(common::COMPARATEUR_HEADER).replace("48.7,1.7,15.0", "48.7,1.7,NS");
    std::fs::write(&p, text).unwrap();
    let df = comparateur::load_file(&p).unwrap();
    let i = df.column("code").unwrap().str().unwrap().iter().position(|c| c == Some("28003")).unwrap();
    assert_eq!(df.column("area_km2").unwrap().f64().unwrap().get(i), None);
    assert_eq!(df.column("masked").unwrap().str().unwrap().get(i), Some("superficie_km2=NS"));
}

#[test]
fn fixture_build_reports_each_contract() {
    let data = common::fixture_data("contract_report");
    let c = curated::build(&data, &mut |_| {}).unwrap();
    for id in
        ["cog_communes", "drees_apl_2023", "drees_apl_2022", "bpe_nb_medg", "comparateur_rcarlier", "insee_tagc_bv2022"]
    {
        let r = c.reports.iter().find(|r| r.source == id).unwrap_or_else(|| panic!("{id}"));
        let k = r.contract.as_ref().unwrap_or_else(|| panic!("{id}: no contract result"));
        assert!(k.status.starts_with("passed") && !k.checks.is_empty(), "{id}: {k:?}");
        assert!(k.checks.iter().any(|c| c.contains("unique")), "{id}: {:?}", k.checks);
    }
    // And the report file carries them.
    let out = common::Scratch::new("contract_report_out");
    let files = cpts_diag::pipeline::write_curated(&out.0, &c).unwrap();
    let report = files.iter().find(|f| f.ends_with(cpts_diag::pipeline::REPORT_FILE)).unwrap();
    let json = std::fs::read_to_string(report).unwrap();
    assert!(json.contains("\"contract\"") && json.contains("key (codgeo) unique"), "{json}");
}

#[test]
fn fixture_cog_reference_checks() {
    let data = common::fixture_data("cog_checks");
    let dec = data.root.join("population/decoupage-administratif-6.0.0");
    // A commune whose département is not listed.
    let deps = std::fs::read_to_string(dec.join("departements.json")).unwrap();
    std::fs::write(
        dec.join("departements.json"),
        deps.replace("{\"code\":\"28\",\"nom\":\"Dép Test\",\"region\":\"24\"},", ""),
    )
    .unwrap();
    let e = decoupage::Cog::load(&data).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("département 28 of commune 28001 is not listed"), "{e}");
    std::fs::write(dec.join("departements.json"), deps).unwrap();
    // A région missing.
    common::write(&dec.join("regions.json"), br#"[{"code":"24","nom":"R"},{"code":"984","nom":"TAAF"}]"#);
    let e = decoupage::Cog::load(&data).unwrap_err();
    assert!(e.to_string().contains("région 11 of commune 75056 is not listed"), "{e}");
    // The documented uninhabited COM (98411 in the fixture) has no population and is fine.
    common::write(&dec.join("regions.json"), common::REGIONS_JSON.as_bytes());
    decoupage::Cog::load(&data).unwrap();
}

#[test]
fn gzip_errors_exit_2_on_fixtures() {
    let data = common::fixture_data("gzip_fixture");
    let p = data.root.join("population/communes_cog2024_comparateur_territoires.csv.gz");
    let mut bytes = std::fs::read(&p).unwrap();
    bytes.truncate(bytes.len() - 10);
    std::fs::File::create(&p).unwrap().write_all(&bytes).unwrap();
    let e = comparateur::load(&data).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
}
