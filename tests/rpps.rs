//! RPPS staging on fixtures that follow the published headers exactly (values and people are made
//! up): `PS_LibreAcces_Personne_activite` (`|`) and the quoted `;` "extraction RPPS" layout; and on
//! real rows of the data folder: the 5-line sample of the `;` layout and the 2017 Gironde selection.

use std::path::{Path, PathBuf};

use std::collections::HashMap;

use cpts_diag::sources::rpps::{self, extraction_2017, Layout};
use cpts_diag::sources::DataDir;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpps/PS_LibreAcces_Personne_activite_202611200000.txt")
}

fn extraction_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpps/extraction_rpps_format2020.csv")
}

fn to_latin1(text: &str) -> Vec<u8> {
    text.chars().map(|ch| u8::try_from(u32::from(ch)).expect("latin-1 text")).collect()
}

fn plm() -> rpps::Setup<'static> {
    let parents: HashMap<String, String> =
        [("75112", "75056"), ("75115", "75056")].iter().map(|(a, p)| (a.to_string(), p.to_string())).collect();
    rpps::Setup { parents, ..Default::default() }
}

fn count_bytes(bytes: &[u8]) -> (rpps::Counts, rpps::Stats) {
    rpps::count_reader(std::io::Cursor::new(bytes.to_vec()), Path::new("fixture.txt")).unwrap()
}

#[test]
fn header_is_the_published_one() {
    let text = std::fs::read_to_string(fixture()).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.ends_with('|'), "the published header ends with a trailing |");
    assert_eq!(header.split('|').count(), 53);
    for c in [
        rpps::COL_ID,
        rpps::COL_PROFESSION,
        rpps::COL_SAVOIR_FAIRE,
        rpps::COL_MODE,
        rpps::COL_COMMUNE,
        rpps::COL_POSTAL,
    ] {
        assert!(header.split('|').any(|h| h == c), "{c}");
    }
}

#[test]
fn counts_per_commune_profession_and_mode() {
    let (c, s) = rpps::count_file(&fixture()).unwrap();
    let gp = "gp";
    // Chartres: #1 (two cabinets, libéral), #2 (libéral and salarié), #3 (salarié); the cardiologist is not a GP.
    assert_eq!(c.get("28085", gp), (3, 2, 2));
    // Châteaudun: #1's second commune (libéral) and a bénévole (#7, in the total only).
    assert_eq!(c.get("28088", gp), (2, 1, 0));
    // Paris 12e keeps its arrondissement code.
    assert_eq!(c.get("75112", gp), (1, 1, 0));
    assert_eq!(c.get("75056", gp), (0, 0, 0));
    assert_eq!(c.get("28085", "nurse"), (2, 2, 0));
    assert_eq!(c.get("28088", "nurse"), (1, 0, 1));
    assert_eq!(c.get("28088", "physio"), (1, 1, 0));
    assert_eq!(c.get("28085", "midwife"), (1, 0, 1));
    assert_eq!(c.get("28085", "dentist"), (1, 1, 0));
    assert_eq!(c.get("28085", "pharmacist"), (1, 0, 1));

    assert_eq!(s.lines, 20);
    assert_eq!(s.activities_kept, 18);
    assert_eq!(s.repeated_activities, 3);
    assert_eq!(s.encoding(), "UTF-8");
    assert_eq!(s.malformed_lines, 0);
    // Empty commune codes: counted and reported, never dropped silently.
    let u = &s.unattributed[gp];
    assert_eq!((u.activities, u.practitioners, u.invalid_code), (1, 1, 0));
    assert_eq!(u.by_postal_departement.get("28"), Some(&1));
    assert_eq!(s.unattributed["nurse"].by_postal_departement.get("??"), Some(&1));
    assert!(s.one_line().contains("gp 1 activities (1 practitioners)"), "{}", s.one_line());
    assert_eq!(
        s.filtered_savoir_faire.get(&("10".into(), "SM04".into(), "Cardiologie et maladies vasculaires".into())),
        Some(&1)
    );
    assert_eq!(s.layout, Layout::LibreAcces);

    let df = c.frame().unwrap();
    assert_eq!(df.height(), 3);
    assert_eq!(df.width(), 2 + c.keys.len() * 3);
    assert_eq!(c.keys.len(), 8, "every RPPS profession of data/reference/professions.toml");
    let sal = df.column("rpps_pharmacist_salaried").unwrap().i64().unwrap();
    assert_eq!(sal.null_count(), 0, "the mode is known in this layout");
    assert!(df.column("rpps_speech_therapist_total").is_ok());
}

#[test]
fn latin1_file_gives_the_same_counts() {
    let utf8 = std::fs::read_to_string(fixture()).unwrap();
    let latin1 = to_latin1(&utf8);
    assert!(std::str::from_utf8(&latin1).is_err());
    let (a, sa) = count_bytes(utf8.as_bytes());
    let (b, sb) = count_bytes(&latin1);
    assert_eq!(sa.encoding(), "UTF-8");
    assert_eq!(sb.encoding(), "latin-1");
    assert_eq!(sb.latin1_lines, 20, "every line has an accent (Prénom, Médecin…)");
    assert_eq!(a.communes, b.communes);
    assert_eq!(a.values, b.values);
    // Labels are decoded, not mangled.
    assert!(sb.filtered_savoir_faire.keys().any(|(_, _, l)| l == "Médecine Générale"));
}

#[test]
fn malformed_lines_and_bom_are_reported() {
    let mut text = String::from("\u{feff}");
    text.push_str(&std::fs::read_to_string(fixture()).unwrap());
    text.push_str("8|too|few|fields|\n");
    let (c, s) = count_bytes(text.as_bytes());
    assert_eq!(s.malformed_lines, 1);
    assert_eq!(s.malformed_examples, vec![21]);
    assert_eq!(c.get("28085", "gp").0, 3);
}

#[test]
fn a_wrong_header_names_the_missing_column() {
    let err = rpps::count_reader(std::io::Cursor::new(b"a;b;c\n1;2;3\n".to_vec()), Path::new("x.txt")).unwrap_err();
    let m = err.to_string();
    assert!(
        m.contains("x.txt:1") && m.contains("Identification nationale PP") && m.contains("pipe")
            || m.contains("Identification nationale PP"),
        "{m}"
    );
    // Neither | nor ; in the header: the message says which layouts are read.
    let err = rpps::count_reader(std::io::Cursor::new(b"just one column\n".to_vec()), Path::new("y.txt")).unwrap_err();
    assert!(err.to_string().contains("pipe-separated (|)"), "{err}");
}

#[test]
fn find_picks_the_latest_extraction() {
    let dir = std::env::temp_dir().join(format!("cpts-rpps-find-{}", std::process::id()));
    let sub = dir.join(rpps::DIR);
    std::fs::create_dir_all(&sub).unwrap();
    let data = DataDir::new(&dir);
    assert!(rpps::find(&data).is_none());
    for n in [
        "PS_LibreAcces_Personne_activite_202601010000.txt",
        "PS_LibreAcces_Personne_activite_202611200000.txt",
        "PS_LibreAcces_Dipl_AutExerc_202611200000.txt",
    ] {
        std::fs::write(sub.join(n), "x").unwrap();
    }
    assert!(rpps::find(&data).unwrap().ends_with("PS_LibreAcces_Personne_activite_202611200000.txt"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn real_2017_gironde_extraction_old_format() {
    let data = DataDir::from_env();
    if !data.exists(extraction_2017::FILE) {
        eprintln!("SKIP: {} not in {}", extraction_2017::FILE, data.root.display());
        return;
    }
    let x = extraction_2017::read(&data.file(extraction_2017::FILE).unwrap()).unwrap();
    assert_eq!(x.rows, 1495);
    // The real savoir-faire labels of this selection.
    assert_eq!(x.rows_by_label.get("Spécialiste en Médecine Générale"), Some(&1414));
    assert_eq!(x.rows_by_label.get("Neurologie"), Some(&81));
    assert_eq!(x.rows_by_label.len(), 2);
    // Bordeaux: 400 distinct GPs once the repeated activities are folded.
    assert_eq!(x.gps_by_commune["33063"].len(), 400);
    let distinct: std::collections::BTreeSet<&String> = x.gps_by_commune.values().flatten().collect();
    assert_eq!(distinct.len(), 1220);
}

#[test]
fn arrondissements_are_kept_and_their_city_counts_each_practitioner_once() {
    let (c, _) = rpps::count_file_with(&fixture(), &plm()).unwrap();
    assert_eq!(c.get("75112", "gp"), (1, 1, 0));
    assert_eq!(c.get("75056", "gp"), (1, 1, 0));
    let (c, _) = rpps::count_file_with(&extraction_fixture(), &plm()).unwrap();
    // #104 practises in the 12e and the 15e: one GP in each arrondissement, one GP of Paris.
    assert_eq!(c.get("75112", "gp").0, 1);
    assert_eq!(c.get("75115", "gp").0, 1);
    assert_eq!(c.get("75056", "gp").0, 1);
    assert_eq!(c.get("75056", "dentist").0, 1);
}

#[test]
fn quoted_semicolon_layout_counts_without_mode() {
    let header = std::fs::read_to_string(extraction_fixture()).unwrap().lines().next().unwrap().to_string();
    // The real header of the layout: savoir-faire code before its type, no mode, trailing `;`.
    assert!(header.ends_with("\"Adresse BAL MSSanté\";"));
    assert!(header.find("\"Code savoir-faire\"").unwrap() < header.find("\"Code type savoir-faire\"").unwrap());
    assert!(!header.contains(rpps::COL_MODE));

    let (c, s) = rpps::count_file(&extraction_fixture()).unwrap();
    assert_eq!(s.layout, Layout::Extraction);
    assert!(!c.has_mode);
    assert_eq!(s.lines, 13);
    assert_eq!(s.malformed_lines, 0, "the `;` inside a quoted raison sociale does not split");
    // Nurse #101: two sites in Chartres, counted once; physio #102 in Chartres and Châteaudun: in both.
    assert_eq!(c.get("28085", "nurse").0, 1);
    assert_eq!(c.get("28085", "physio").0, 1);
    assert_eq!(c.get("28088", "physio").0, 1);
    assert_eq!(c.get("28088", "speech_therapist").0, 1);
    assert_eq!(c.get("28085", "podiatrist").0, 1);
    assert_eq!(c.get("28088", "pharmacist").0, 1);
    // The pédiatre (SM40) is a médecin but no GP.
    assert_eq!(c.get("28085", "gp").0, 0);
    assert_eq!(s.repeated_activities, 1);
    // The midwife without a commune code is reported with her postal département, not dropped.
    let u = &s.unattributed["midwife"];
    assert_eq!((u.activities, u.practitioners), (1, 1));
    assert_eq!(u.by_postal_departement.get("28"), Some(&1));
    // Without `Code mode exercice`, libéral and salarié are unknown: null, never 0.
    let df = c.frame().unwrap();
    assert_eq!(df.column("rpps_nurse_liberal").unwrap().null_count(), df.height());
    assert_eq!(df.column("rpps_nurse_salaried").unwrap().null_count(), df.height());
    assert_eq!(df.column("rpps_nurse_total").unwrap().null_count(), 0);

    // Latin-1: same counts.
    let latin1 = to_latin1(&std::fs::read_to_string(extraction_fixture()).unwrap());
    let (b, sb) = count_bytes(&latin1);
    assert_eq!(sb.encoding(), "latin-1");
    assert_eq!(sb.layout, Layout::Extraction);
    assert_eq!((b.communes.clone(), b.values.clone()), (c.communes.clone(), c.values.clone()));
    assert!(sb.filtered_savoir_faire.keys().any(|(_, _, l)| l == "Pédiatrie"));
}

#[test]
fn real_five_line_sample_of_the_semicolon_layout() {
    const FILE: &str = "health/rpps-samples/rpps_extraction_format2020_5_lines.csv";
    let data = DataDir::from_env();
    if !data.exists(FILE) {
        eprintln!("SKIP: {FILE} not in {}", data.root.display());
        return;
    }
    let (c, s) = rpps::count_file(&data.file(FILE).unwrap()).unwrap();
    assert_eq!(s.layout, Layout::Extraction);
    assert_eq!((s.lines, s.malformed_lines), (6, 0));
    assert!(!c.has_mode, "this layout has no Code mode exercice");
    assert_eq!(c.get("75112", "physio").0, 1);
    assert_eq!(c.get("82121", "physio").0, 1);
    assert_eq!(c.get("33069", "dentist").0, 1);
    // SM40 (pédiatrie, 13215) and SM20 (gynécologie-obstétrique, 78646) are not general medicine.
    let gps: u32 = c.values.iter().map(|v| v[c.keys.iter().position(|k| k == "gp").unwrap()].0).sum();
    assert_eq!(gps, 0);
    let sf: Vec<&str> = s.filtered_savoir_faire.keys().map(|(_, c, _)| c.as_str()).collect();
    assert_eq!(sf, vec!["SM20", "SM40"]);
    assert_eq!(s.activities_kept, 3);
    assert!(s.unattributed.is_empty());
}
