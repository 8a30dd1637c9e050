//! Shared test helpers: a made-up data folder in the published formats (our own values, chosen
//! so that every expected figure can be worked out by hand), and access to the real data folder.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use cpts_diag::sources::DataDir;

pub mod batch_fixture;
pub mod xlsx;

/// A fresh empty folder under the system temp dir.
fn temp_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "cpts-diag-test-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A scratch folder removed when the test ends (pass or fail).
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        Scratch(temp_dir(name))
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

/// A file alone in a scratch folder, removed with it when the test ends, as a `Path`.
pub struct ScratchFile {
    path: PathBuf,
    _dir: Scratch,
}

impl ScratchFile {
    pub fn new(tag: &str, name: &str, contents: impl AsRef<[u8]>) -> ScratchFile {
        let dir = Scratch::new(tag);
        let path = dir.0.join(name);
        std::fs::write(&path, contents).unwrap();
        ScratchFile { path, _dir: dir }
    }
}

impl std::ops::Deref for ScratchFile {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The real data folder, or `None` with a visible SKIP line when it is absent.
pub fn real_data(test: &str) -> Option<DataDir> {
    let d = DataDir::from_env();
    let d = if d.root.is_relative() {
        // cargo runs tests from the package root, which sits beside `shared/`.
        DataDir::new(Path::new(env!("CARGO_MANIFEST_DIR")).join(&d.root))
    } else {
        d
    };
    if d.exists("population/decoupage-administratif-6.0.0/communes.json.gz") {
        Some(d)
    } else {
        // Written to the stderr handle, not with eprintln!, so that libtest's capture does not
        // hide it: a skipped real-data check must be visible in the test output.
        let _ = writeln!(
            std::io::stderr(),
            "SKIP {test}: real data folder {} not found (set CPTS_DATA_DIR)",
            d.root.display()
        );
        None
    }
}

pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

pub fn write_gz(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let f = std::fs::File::create(path).unwrap();
    let mut z = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    z.write_all(text.as_bytes()).unwrap();
    z.finish().unwrap();
}

pub const COMMUNES_JSON: &str = r#"[
{"code":"28001","nom":"Alpha","type":"commune-actuelle","zone":"metro","departement":"28","region":"24","population":1000,"anciensCodes":["28901"]},
{"code":"28901","nom":"Alpha-le-Vieux","type":"commune-deleguee","zone":"metro","departement":"28","region":"24","chefLieu":"28001"},
{"code":"28002","nom":"Beta","type":"commune-actuelle","zone":"metro","departement":"28","region":"24","population":3000},
{"code":"28003","nom":"Gamma","type":"commune-actuelle","zone":"metro","departement":"28","region":"24","population":500},
{"code":"75056","nom":"Paris","type":"commune-actuelle","zone":"metro","departement":"75","region":"11","population":3000},
{"code":"75101","nom":"Paris 1er Arrondissement","type":"arrondissement-municipal","commune":"75056","zone":"metro","departement":"75","region":"11","population":1000},
{"code":"75102","nom":"Paris 2e Arrondissement","type":"arrondissement-municipal","commune":"75056","zone":"metro","departement":"75","region":"11","population":2000},
{"code":"98411","nom":"Îles Test","type":"commune-actuelle","zone":"com","departement":"984","region":"984"}
]"#;

pub const EPCI_JSON: &str = r#"[
{"code":"200000001","nom":"CC de Test","type":"CC","populationTotale":4605,"populationMunicipale":4470,"membres":[{"code":"28001","siren":"212800011","nom":"Alpha","populationTotale":1010,"populationMunicipale":990},{"code":"28002","siren":"212800022","nom":"Beta","populationTotale":3090,"populationMunicipale":2980},{"code":"28003","siren":"212800033","nom":"Gamma","populationTotale":505,"populationMunicipale":500}]},
{"code":"200054781","nom":"Métropole de Test","type":"METRO","populationTotale":3100,"populationMunicipale":2950,"membres":[{"code":"75056","siren":"217500016","nom":"Paris","populationTotale":3100,"populationMunicipale":2950}]}
]"#;

pub const DEPARTEMENTS_JSON: &str = r#"[
{"code":"28","nom":"Dép Test","region":"24"},{"code":"75","nom":"Paris","region":"11"},{"code":"984","nom":"TAAF","region":"984"}
]"#;

pub const REGIONS_JSON: &str =
    r#"[{"code":"24","nom":"Région Test"},{"code":"11","nom":"Île-de-Test"},{"code":"984","nom":"TAAF"}]"#;

/// (code, name, apl, apl_u65, pop_std, pop_total): 28901 is a former code of 28001; Paris only by
/// arrondissement, as DREES publishes it.
pub const APL_ROWS: &[(&str, &str, f64, f64, f64, f64)] = &[
    ("28001", "Alpha", 2.0, 1.5, 800.0, 790.0),
    ("28901", "Alpha-le-Vieux", 4.0, 3.0, 200.0, 210.0),
    ("28002", "Beta", 3.0, 2.0, 3000.0, 3100.0),
    ("28003", "Gamma", 1.0, 0.5, 500.0, 480.0),
    ("75101", "Paris 1er", 5.0, 4.0, 1000.0, 1000.0),
    ("75102", "Paris 2e", 2.0, 1.0, 2000.0, 2000.0),
];

/// The DREES layout: 8 title/notes rows, header on row 9, units on row 10, data from row 11.
pub fn write_apl_xlsx(path: &Path, rows: &[(&str, &str, f64, f64, f64, f64)], header: &[&str]) {
    use rust_xlsxwriter::Workbook;
    let mut wb = Workbook::new();
    wb.add_worksheet().set_name("Paramètres").unwrap().write_string(0, 0, "Paramètres").unwrap();
    for year in [2022, 2023] {
        let ws = wb.add_worksheet();
        ws.set_name(format!("APL {year}")).unwrap();
        ws.write_string(0, 0, format!("Indicateur APL {year} (données de test)")).unwrap();
        ws.write_string(2, 0, format!("Millésime : {year}")).unwrap();
        ws.write_string(6, 0, "Note : pondérer par la population standardisée").unwrap();
        for (j, h) in header.iter().enumerate() {
            ws.write_string(8, j as u16, h.replace("{pop_year}", &(year - 2).to_string())).unwrap();
        }
        ws.write_string(9, 2, "En nombre de consultations/visites accessibles par habitant standardisé").unwrap();
        ws.write_string(9, 5, "En nombre d'habitants").unwrap();
        for (i, r) in rows.iter().enumerate() {
            let row = 10 + i as u32;
            // 2022 values differ from 2023 so a mixed-up sheet is caught.
            let k = if year == 2022 { 1.1 } else { 1.0 };
            ws.write_string(row, 0, r.0).unwrap();
            ws.write_string(row, 1, r.1).unwrap();
            ws.write_number(row, 2, r.2 * k).unwrap();
            ws.write_number(row, 3, r.3 * k).unwrap();
            ws.write_number(row, 4, r.4).unwrap();
            ws.write_number(row, 5, r.5).unwrap();
        }
    }
    wb.save(path).unwrap();
}

pub const APL_HEADER: &[&str] = &[
    "Code commune INSEE",
    "Commune",
    "APL aux médecins généralistes",
    "APL aux médecins généralistes de moins de 65 ans",
    "Population standardisée {pop_year} pour la médecine générale",
    "Population totale {pop_year}",
];

/// The ANCT layout: 4 title rows, header on row 5. 28901 is a former code; Paris whole.
pub fn write_bpe_xlsx(path: &Path, rows: &[(&str, &str, Option<f64>)]) {
    use rust_xlsxwriter::Workbook;
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Data").unwrap();
    ws.write_string(0, 0, "Observatoire des territoires - test").unwrap();
    ws.write_string(1, 0, "Offre de services de santé (Commune (2021))").unwrap();
    ws.write_string(3, 3, "Nombre de médecins généralistes libéraux").unwrap();
    for (j, h) in ["codgeo", "libgeo", "an", "nb_medg"].iter().enumerate() {
        ws.write_string(4, j as u16, *h).unwrap();
    }
    for (i, r) in rows.iter().enumerate() {
        let row = 5 + i as u32;
        ws.write_string(row, 0, r.0).unwrap();
        ws.write_string(row, 1, r.1).unwrap();
        ws.write_string(row, 2, "2020").unwrap();
        match r.2 {
            Some(v) => ws.write_number(row, 3, v).unwrap(),
            None => ws.write_string(row, 3, "N/A - secret statistique").unwrap(),
        };
    }
    ws.set_name("Data").unwrap();
    wb.add_worksheet().set_name("nb_medg").unwrap();
    wb.save(path).unwrap();
}

pub const BPE_ROWS: &[(&str, &str, Option<f64>)] = &[
    ("28001", "Alpha", Some(1.0)),
    ("28901", "Alpha-le-Vieux", Some(1.0)),
    ("28002", "Beta", Some(3.0)),
    ("28003", "Gamma", Some(0.0)),
    ("75056", "Paris", Some(5.0)),
];

pub const COMPARATEUR_HEADER: &str = "insee_com,insee_reg,insee_dep,commune,commune_article,code_postal,commune_type,insee_parente,lat,lng,superficie_km2,population_2021,population_2015";

/// One row per (commune, code postal) as published: 28001 twice; a COMD row; Paris by ARM.
pub fn comparateur_csv(header: &str) -> String {
    format!(
        "{header}\n\
28001,24,28,Alpha,Alpha,28100,COM,,48.0,1.0,10.0,990,950\n\
28001,24,28,Alpha,Alpha,28101,COM,,48.0,1.0,10.0,990,950\n\
28901,24,28,Alpha-le-Vieux,Alpha-le-Vieux,28102,COM,,48.2,1.2,5.0,200,210\n\
28901,24,28,Alpha-le-Vieux,Alpha-le-Vieux,28102,COMD,28001,48.2,1.2,5.0,200,210\n\
28002,24,28,Beta,Beta,28200,COM,,48.5,1.5,20.0,3000,2900\n\
28003,24,28,Gamma,Gamma,28300,COM,,48.7,1.7,15.0,N/A - résultat non disponible,500\n\
75101,11,75,Paris 1er,Paris 1er,75001,ARM,75056,48.86,2.34,1.0,1000,1000\n\
75102,11,75,Paris 2e,Paris 2e,75002,ARM,75056,48.87,2.35,2.0,2000,2000\n"
    )
}

fn square(code: &str, name: &str, x: f64, y: f64) -> String {
    format!(
        r#"{{"type":"Feature","geometry":{{"type":"Polygon","coordinates":[[[{x},{y}],[{x1},{y}],[{x1},{y1}],[{x},{y1}],[{x},{y}]]]}},"properties":{{"code":"{code}","nom":"{name}"}}}}"#,
        x1 = x + 0.1,
        y1 = y + 0.1
    )
}

pub fn geojson() -> String {
    let f = [
        square("28001", "Alpha", 1.0, 48.0),
        square("28901", "Alpha-le-Vieux", 1.1, 48.0),
        square("28002", "Beta", 1.2, 48.0),
        square("28003", "Gamma", 1.3, 48.0),
        square("75056", "Paris", 2.3, 48.8),
    ];
    format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, f.join(","))
}

pub const TAGC_CSV: &str = "CODGEO,LIBGEO,DEP,CTCD,REG,EPCI,EPT,ARR,CANOV,ZE2020,UU2020,AAV2020,BV2022,LIBBV2022\n\
28001,Alpha,28,28D,24,200000001,ZZZZZZZZZ,281,2801,2401,28000,000,28002,Beta\n\
28901,Alpha-le-Vieux,28,28D,24,200000001,ZZZZZZZZZ,281,2801,2401,28000,000,28002,Beta\n\
28002,Beta,28,28D,24,200000001,ZZZZZZZZZ,281,2801,2401,28000,000,28002,Beta\n\
28003,Gamma,28,28D,24,200000001,ZZZZZZZZZ,281,2801,2401,28000,000,28002,Beta\n\
75056,Paris,75,75C,11,200054781,200054781,751,7599,1101,00851,001,75056,Paris\n";

/// A rectangle feature in Etalab's contours administratifs layout: MultiPolygon, `departement`,
/// `region`, `epci`, and `commune` (the parent) for an arrondissement or `plm` for its city.
pub fn etalab_feature(code: &str, name: &str, extra: &str, x: f64, y: f64, w: f64) -> String {
    let (x1, y1) = (x + w, y + 0.1);
    format!(
        r#"{{"type":"Feature","properties":{{"code":"{code}","nom":"{name}","departement":"{dep}","region":"{reg}"{extra}}},"geometry":{{"type":"MultiPolygon","coordinates":[[[[{x},{y}],[{x1},{y}],[{x1},{y1}],[{x},{y1}],[{x},{y}]]]]}}}}"#,
        dep = &code[..2],
        reg = if code.starts_with("75") { "11" } else { "24" },
    )
}

/// COG 2026 communes in Etalab's layout: Alpha already merged with Alpha-le-Vieux, Paris whole.
pub fn etalab_communes() -> String {
    let f = [
        etalab_feature("28001", "Alpha", r#","epci":"200000001""#, 1.0, 48.0, 0.2),
        etalab_feature("28002", "Beta", r#","epci":"200000001""#, 1.2, 48.0, 0.1),
        etalab_feature("28003", "Gamma", r#","epci":"200000001""#, 1.3, 48.0, 0.1),
        etalab_feature("75056", "Paris", r#","epci":"200054781","plm":true"#, 2.3, 48.8, 0.1),
    ];
    format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, f.join(","))
}

/// The two arrondissements of the made-up Paris, halves of the city.
pub fn etalab_arrondissements() -> String {
    let f = [
        etalab_feature("75101", "Paris 1er Arrondissement", r#","commune":"75056""#, 2.3, 48.8, 0.05),
        etalab_feature("75102", "Paris 2e Arrondissement", r#","commune":"75056""#, 2.35, 48.8, 0.05),
    ];
    format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, f.join(","))
}

/// A made-up data folder, removed when the test ends (pass or fail), as a `DataDir`.
pub struct Fixture {
    data: DataDir,
    _scratch: Scratch,
}

impl std::ops::Deref for Fixture {
    type Target = DataDir;
    fn deref(&self) -> &DataDir {
        &self.data
    }
}

/// A complete made-up data folder in the published layout.
pub fn fixture_data(tag: &str) -> Fixture {
    let scratch = Scratch::new(tag);
    let root = scratch.0.clone();
    let p = |rel: &str| root.join(rel);
    let dec = "population/decoupage-administratif-6.0.0";
    write_gz(&p(&format!("{dec}/communes.json.gz")), COMMUNES_JSON);
    write_gz(&p(&format!("{dec}/epci.json.gz")), EPCI_JSON);
    write(&p(&format!("{dec}/departements.json")), DEPARTEMENTS_JSON.as_bytes());
    write(&p(&format!("{dec}/regions.json")), REGIONS_JSON.as_bytes());
    std::fs::create_dir_all(p("health")).unwrap();
    write_apl_xlsx(&p("health/drees_apl_medecins_generalistes_2022_2023.xlsx"), APL_ROWS, APL_HEADER);
    write_bpe_xlsx(&p("health/anct_offre_sante_nb_medg_bpe2020_communes.xlsx"), BPE_ROWS);
    write_gz(&p("population/communes_cog2024_comparateur_territoires.csv.gz"), &comparateur_csv(COMPARATEUR_HEADER));
    write_gz(&p("geo/communes-cog2026-datafrance-1.1.0.geojson.gz"), &etalab_communes());
    write_gz(&p("geo/arrondissements-municipaux-cog2026-datafrance-1.1.0.geojson.gz"), &etalab_arrondissements());
    // An older vintage, for `--boundaries`.
    write_gz(&p("geo/communes-france-2018.geojson.gz"), &geojson());
    write_gz(&p("population/insee_tagc_communes_cog2024_bv2022.csv.gz"), TAGC_CSV);
    Fixture { data: DataDir::new(root), _scratch: scratch }
}

/// The curated national table built from the real data folder, or, where that folder is absent
/// (a bare clone), the snapshot embedded in the binary, which is that same build (a test in
/// tests/snapshot.rs keeps them equal). Reports are empty on the snapshot.
pub fn curated_or_snapshot(test: &str) -> cpts_diag::transforms::curated::Curated {
    use cpts_diag::transforms::{cog::CogIndex, curated};
    match real_data(test) {
        Some(d) => curated::build(&d, &mut |_| {}).expect("the real data builds"),
        None => {
            let _ = writeln!(std::io::stderr(), "{test}: on the built-in snapshot");
            let cog = cpts_diag::pipeline::read_cog(cpts_diag::snapshot::COG, Path::new("snapshot")).unwrap();
            let communes = cpts_diag::sinks::parquet::read_bytes(cpts_diag::snapshot::COMMUNES).unwrap();
            let index = CogIndex::new(&cog);
            curated::Curated {
                cog,
                index,
                communes,
                reports: Vec::new(),
                boundaries: None,
                geometry_warnings: Vec::new(),
            }
        }
    }
}
