//! RPPS staging on fixtures that follow the published header of `PS_LibreAcces_Personne_activite`
//! exactly (values are made up), and on the real 2017 Gironde rows of `../shared/data` (old format).

use std::path::{Path, PathBuf};

use cpts_diag::sources::rpps::{self, extraction_2017, Profession};
use cpts_diag::sources::DataDir;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpps/PS_LibreAcces_Personne_activite_202611200000.txt")
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
    let gp = Profession::GeneralPractitioner;
    // Chartres: #1 (two cabinets, libéral), #2 (libéral and salarié), #3 (salarié); the cardiologist is not a GP.
    assert_eq!(c.get("28085", gp), (3, 2, 2));
    // Châteaudun: #1's second commune (libéral) and a bénévole (#7, in the total only).
    assert_eq!(c.get("28088", gp), (2, 1, 0));
    // Paris 12e keeps its arrondissement code.
    assert_eq!(c.get("75112", gp), (1, 1, 0));
    assert_eq!(c.get("75056", gp), (0, 0, 0));
    assert_eq!(c.get("28085", Profession::Nurse), (2, 2, 0));
    assert_eq!(c.get("28088", Profession::Nurse), (1, 0, 1));
    assert_eq!(c.get("28088", Profession::Physiotherapist), (1, 1, 0));
    assert_eq!(c.get("28085", Profession::Midwife), (1, 0, 1));
    assert_eq!(c.get("28085", Profession::Dentist), (1, 1, 0));
    assert_eq!(c.get("28085", Profession::Pharmacist), (1, 0, 1));

    assert_eq!(s.lines, 20);
    assert_eq!(s.activities_kept, 18);
    assert_eq!(s.repeated_activities, 3);
    assert_eq!(s.encoding(), "UTF-8");
    assert_eq!(s.malformed_lines, 0);
    // Empty commune codes: counted and reported, never dropped silently.
    let u = &s.unattributed[&gp];
    assert_eq!((u.activities, u.practitioners, u.invalid_code), (1, 1, 0));
    assert_eq!(u.by_postal_departement.get("28"), Some(&1));
    assert_eq!(s.unattributed[&Profession::Nurse].by_postal_departement.get("??"), Some(&1));
    assert!(s.one_line().contains("gp 1 activities (1 practitioners)"), "{}", s.one_line());
    assert_eq!(s.physician_savoir_faire.get(&("SM04".into(), "Cardiologie et maladies vasculaires".into())), Some(&1));

    let df = c.frame().unwrap();
    assert_eq!(df.height(), 3);
    assert_eq!(df.width(), 2 + 6 * 3);
    assert!(df.column("gp_liberal").is_ok() && df.column("pharmacist_salaried").is_ok());
}

#[test]
fn latin1_file_gives_the_same_counts() {
    let utf8 = std::fs::read_to_string(fixture()).unwrap();
    let latin1: Vec<u8> = utf8.chars().map(|ch| u8::try_from(u32::from(ch)).expect("latin-1 text")).collect();
    assert!(std::str::from_utf8(&latin1).is_err());
    let (a, sa) = count_bytes(utf8.as_bytes());
    let (b, sb) = count_bytes(&latin1);
    assert_eq!(sa.encoding(), "UTF-8");
    assert_eq!(sb.encoding(), "latin-1");
    assert_eq!(sb.latin1_lines, 20, "every line has an accent (Prénom, Médecin…)");
    assert_eq!(a.communes, b.communes);
    assert_eq!(a.values, b.values);
    // Labels are decoded, not mangled.
    assert!(sb.physician_savoir_faire.keys().any(|(_, l)| l == "Médecine Générale"));
}

#[test]
fn malformed_lines_and_bom_are_reported() {
    let mut text = String::from("\u{feff}");
    text.push_str(&std::fs::read_to_string(fixture()).unwrap());
    text.push_str("8|too|few|fields|\n");
    let (c, s) = count_bytes(text.as_bytes());
    assert_eq!(s.malformed_lines, 1);
    assert_eq!(s.malformed_examples, vec![21]);
    assert_eq!(c.get("28085", Profession::GeneralPractitioner).0, 3);
}

#[test]
fn a_wrong_header_names_the_missing_column() {
    let err = rpps::count_reader(std::io::Cursor::new(b"a;b;c\n1;2;3\n".to_vec()), Path::new("x.txt")).unwrap_err();
    let m = err.to_string();
    assert!(m.contains("x.txt:1") && m.contains("Identification nationale PP") && m.contains("pipe"), "{m}");
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
