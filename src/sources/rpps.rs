//! RPPS / Annuaire Santé "extraction en libre accès" (Agence du Numérique en Santé):
//! `PS_LibreAcces_Personne_activite_<timestamp>.txt`, one row **per activity** of a practitioner.
//!
//! Quirks: pipe-separated, no quoting, the header line ends with a trailing `|` (one empty extra
//! column, and every data line too); recent files are UTF-8 but older ones (and some re-exports)
//! are latin-1, so each line is decoded as UTF-8 and, when it is not valid UTF-8, as latin-1 (the
//! stats say how many lines needed it); the file is hundreds of MB, so it is streamed line by
//! line and only the counters are kept: memory grows with the number of distinct
//! (practitioner, commune, profession) keys, never with the file.
//!
//! Counting rules:
//! - professions (nomenclature G15 "Profession"): 10 médecin, 21 pharmacien, 40 chirurgien-dentiste,
//!   50 sage-femme, 60 infirmier, 70 masseur-kinésithérapeute. A GP is a médecin (10) whose
//!   savoir-faire (nomenclature R02/R04: spécialités ordinales) is SM54 "Médecine Générale",
//!   SM53 "Spécialiste en Médecine Générale" or SM26 "Qualifié en Médecine Générale".
//! - one practitioner (`Identification nationale PP`) counts once per commune and profession,
//!   however many activities they have there; `liberal` / `salaried` count the practitioners with
//!   at least one activity in that mode (`Code mode exercice` L / S; B = bénévole counts only in
//!   the total), so `liberal + salaried` can exceed `total`.
//! - the commune is `Code commune (coord. structure)`, kept as published: Paris, Lyon and
//!   Marseille addresses carry arrondissement codes (751xx, 6938x, 132xx).
//! - an activity without a commune code (or with one that is not an INSEE code) is **not**
//!   attributed to a commune (a postal code maps to several communes, a CEDEX to none): it is
//!   counted in [`Stats::unattributed`] per profession, with the département of its postal code,
//!   and every output of `build` reports those counts.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::table::normalize_commune_code;
use super::{DataDir, SourceMeta};
use crate::error::{Error, Location, Result};

pub const META: SourceMeta = SourceMeta {
    id: "rpps",
    title: "Annuaire Santé (RPPS), extraction en libre accès : activités des professionnels de santé",
    publisher: "Agence du Numérique en Santé (ANS)",
    vintage: "extraction du jour du fichier (horodatage dans le nom du fichier, date dans fetch.lock.json)",
    geography: "COG de l'année de l'extraction (arrondissements municipaux pour Paris, Lyon, Marseille)",
    licence: "Licence Ouverte / Open Licence",
    url: "https://service.annuaire.sante.fr/annuaire-sante-webservices/V300/services/extraction/PS_LibreAcces",
    file: "health/rpps/PS_LibreAcces_Personne_activite_*.txt",
};

/// Folder and file-name pattern of the extraction inside the data folder.
pub const DIR: &str = "health/rpps";
pub const PATTERN: &str = "PS_LibreAcces_Personne_activite_*.txt";

pub const COL_ID: &str = "Identification nationale PP";
pub const COL_PROFESSION: &str = "Code profession";
pub const COL_SAVOIR_FAIRE: &str = "Code savoir-faire";
pub const COL_SAVOIR_FAIRE_LABEL: &str = "Libellé savoir-faire";
pub const COL_MODE: &str = "Code mode exercice";
pub const COL_POSTAL: &str = "Code postal (coord. structure)";
pub const COL_COMMUNE: &str = "Code commune (coord. structure)";

/// GP savoir-faire codes: Médecine Générale, Spécialiste en MG, Qualifié en MG.
pub const GP_SAVOIR_FAIRE: [&str; 3] = ["SM54", "SM53", "SM26"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profession {
    GeneralPractitioner,
    Nurse,
    Physiotherapist,
    Midwife,
    Dentist,
    Pharmacist,
}

impl Profession {
    pub const ALL: [Profession; 6] = [
        Profession::GeneralPractitioner,
        Profession::Nurse,
        Profession::Physiotherapist,
        Profession::Midwife,
        Profession::Dentist,
        Profession::Pharmacist,
    ];
    /// Column prefix in the staged frame.
    pub fn key(self) -> &'static str {
        match self {
            Profession::GeneralPractitioner => "gp",
            Profession::Nurse => "nurse",
            Profession::Physiotherapist => "physio",
            Profession::Midwife => "midwife",
            Profession::Dentist => "dentist",
            Profession::Pharmacist => "pharmacist",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Profession::GeneralPractitioner => "médecins généralistes",
            Profession::Nurse => "infirmiers",
            Profession::Physiotherapist => "masseurs-kinésithérapeutes",
            Profession::Midwife => "sages-femmes",
            Profession::Dentist => "chirurgiens-dentistes",
            Profession::Pharmacist => "pharmaciens",
        }
    }
    /// The profession of an activity row, from `Code profession` and `Code savoir-faire`.
    pub fn of(profession: &[u8], savoir_faire: &[u8]) -> Option<Profession> {
        match profession {
            b"10" if GP_SAVOIR_FAIRE.iter().any(|c| c.as_bytes() == savoir_faire) => {
                Some(Profession::GeneralPractitioner)
            }
            b"21" => Some(Profession::Pharmacist),
            b"40" => Some(Profession::Dentist),
            b"50" => Some(Profession::Midwife),
            b"60" => Some(Profession::Nurse),
            b"70" => Some(Profession::Physiotherapist),
            _ => None,
        }
    }
    fn index(self) -> usize {
        Profession::ALL.iter().position(|p| *p == self).expect("listed")
    }
}

const LIBERAL: u8 = 1;
const SALARIED: u8 = 2;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Unattributed {
    /// Activities without a usable commune code.
    pub activities: u64,
    /// Of which: commune code present but not an INSEE code.
    pub invalid_code: u64,
    /// Distinct practitioners among them.
    pub practitioners: u64,
    /// Activities per département of the postal code (`??` when there is none).
    pub by_postal_departement: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub file: PathBuf,
    pub lines: u64,
    /// Activity rows of the six professions.
    pub activities_kept: u64,
    /// Rows repeating a (practitioner, commune, profession) already seen.
    pub repeated_activities: u64,
    /// Lines that were not valid UTF-8 and were read as latin-1.
    pub latin1_lines: u64,
    /// Lines whose field count differs from the header (first 5 line numbers kept).
    pub malformed_lines: u64,
    pub malformed_examples: Vec<u64>,
    pub unattributed: BTreeMap<Profession, Unattributed>,
    /// Rows of médecins (profession 10) per savoir-faire code and label, as published.
    pub physician_savoir_faire: BTreeMap<(String, String), u64>,
}

impl Stats {
    pub fn encoding(&self) -> &'static str {
        if self.latin1_lines == 0 {
            "UTF-8"
        } else {
            "latin-1"
        }
    }
    /// One line for the build log and the normalization report.
    pub fn one_line(&self) -> String {
        let un: Vec<String> = self
            .unattributed
            .iter()
            .filter(|(_, u)| u.activities > 0)
            .map(|(p, u)| format!("{} {} activities ({} practitioners)", p.key(), u.activities, u.practitioners))
            .collect();
        format!(
            "{} lines ({}), {} activities of the 6 professions, {} repeated; without a commune code (not attributed): {}; malformed lines: {}",
            self.lines,
            self.encoding(),
            self.activities_kept,
            self.repeated_activities,
            if un.is_empty() { "none".to_string() } else { un.join(", ") },
            self.malformed_lines
        )
    }
}

/// Per commune code (as published) and profession: distinct practitioners in total, with a
/// libéral activity, with a salaried activity.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub communes: Vec<String>,
    /// `[commune][profession] = (total, liberal, salaried)`
    pub values: Vec<[(u32, u32, u32); 6]>,
    /// First line where the commune appeared.
    pub first_line: Vec<u32>,
}

impl Counts {
    pub fn get(&self, code: &str, p: Profession) -> (u32, u32, u32) {
        self.communes.iter().position(|c| c == code).map_or((0, 0, 0), |i| self.values[i][p.index()])
    }

    /// Columns: `code`, `line`, then `<profession>_total`, `_liberal`, `_salaried` (int64) for
    /// each profession of [`Profession::ALL`].
    pub fn frame(&self) -> Result<DataFrame> {
        let mut cols: Vec<Column> =
            vec![Column::new("code".into(), &self.communes), Column::new("line".into(), &self.first_line)];
        for p in Profession::ALL {
            let i = p.index();
            for (suffix, pick) in [("total", 0usize), ("liberal", 1), ("salaried", 2)] {
                let v: Vec<i64> = self
                    .values
                    .iter()
                    .map(|row| {
                        let (t, l, s) = row[i];
                        i64::from([t, l, s][pick])
                    })
                    .collect();
                cols.push(Column::new(format!("{}_{suffix}", p.key()).into(), v));
            }
        }
        Ok(DataFrame::new_infer_height(cols)?)
    }
}

/// The latest extraction in the data folder (`health/rpps/PS_LibreAcces_Personne_activite_*.txt`,
/// the timestamp in the name sorting by date), if any.
pub fn find(data: &DataDir) -> Option<PathBuf> {
    let dir = data.root.join(DIR);
    let mut hits: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name().is_some_and(|n| crate::fetch::unpack::glob_match(PATTERN, &n.to_string_lossy()))
        })
        .collect();
    hits.sort();
    hits.pop()
}

/// Practitioner id as a compact key: digits as a number, anything else hashed (FNV-1a) into the
/// upper half of the key space. Ids are `8` + 10 digits (RPPS) or `0` + ADELI: almost always digits.
fn practitioner_key(id: &[u8]) -> u64 {
    if !id.is_empty() && id.len() <= 18 && id.iter().all(u8::is_ascii_digit) {
        // A leading tag keeps "0123" and "123" apart.
        let mut v: u64 = 1;
        for d in id {
            v = v * 10 + u64::from(d - b'0');
        }
        v
    } else {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in id {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h | (1 << 63)
    }
}

/// Decode a field: UTF-8, else latin-1 (every byte is its own code point).
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &b[start..end]
}

/// Count practitioners in an extraction, streaming it line by line.
pub fn count_file(path: &Path) -> Result<(Counts, Stats)> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    count_reader(std::io::BufReader::with_capacity(1 << 20, f), path)
}

pub fn count_reader(mut r: impl BufRead, path: &Path) -> Result<(Counts, Stats)> {
    let mut stats = Stats { file: path.to_path_buf(), ..Default::default() };
    let mut line: Vec<u8> = Vec::with_capacity(4096);
    let n = r.read_until(b'\n', &mut line).map_err(|e| Error::io(path, e))?;
    if n == 0 {
        return Err(Error::data(Location::file(path), "empty file: no header line"));
    }
    stats.lines = 1;
    let mut head: &[u8] = &line;
    if head.starts_with(b"\xEF\xBB\xBF") {
        head = &head[3..];
    }
    if std::str::from_utf8(head).is_err() {
        stats.latin1_lines += 1;
    }
    let header_text = decode(head.strip_suffix(b"\n").unwrap_or(head));
    let header_text = header_text.strip_suffix('\r').unwrap_or(&header_text);
    let mut headers: Vec<String> = header_text.split('|').map(|h| h.trim().to_string()).collect();
    let trailing = headers.last().is_some_and(|h| h.is_empty());
    if trailing {
        headers.pop();
    }
    let find = |name: &str| -> Result<usize> {
        headers.iter().position(|h| h == name).ok_or_else(|| Error::MissingColumn {
            location: Location::at(path, 1),
            column: name.to_string(),
            detail: format!(
                "(header has: {}){}",
                headers.iter().map(|h| format!("\"{h}\"")).collect::<Vec<_>>().join(", "),
                if headers.len() < 3 { "; expected a pipe-separated (|) header" } else { "" }
            ),
        })
    };
    let (c_id, c_prof, c_sf, c_sfl, c_mode, c_cp, c_com) = (
        find(COL_ID)?,
        find(COL_PROFESSION)?,
        find(COL_SAVOIR_FAIRE)?,
        find(COL_SAVOIR_FAIRE_LABEL)?,
        find(COL_MODE)?,
        find(COL_POSTAL)?,
        find(COL_COMMUNE)?,
    );
    let width = headers.len();

    let mut commune_index: HashMap<String, u32> = HashMap::new();
    let mut counts = Counts::default();
    // (practitioner, commune, profession) → modes seen.
    let mut seen: HashMap<(u64, u32, u8), u8> = HashMap::new();
    // Practitioners without a commune, per profession (to count them once).
    let mut unattributed_seen: HashMap<(u64, u8), ()> = HashMap::new();
    // Field bounds of the current line, reused from line to line.
    let mut bounds: Vec<(usize, usize)> = Vec::with_capacity(width + 1);
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        stats.lines += 1;
        let mut l: &[u8] = &line;
        if let Some(x) = l.strip_suffix(b"\n") {
            l = x;
        }
        if let Some(x) = l.strip_suffix(b"\r") {
            l = x;
        }
        if l.is_empty() {
            continue;
        }
        if std::str::from_utf8(l).is_err() {
            stats.latin1_lines += 1;
        }
        bounds.clear();
        let mut start = 0;
        for (i, &b) in l.iter().enumerate() {
            if b == b'|' {
                bounds.push((start, i));
                start = i + 1;
            }
        }
        bounds.push((start, l.len()));
        if trailing && bounds.len() == width + 1 && bounds[width].0 == bounds[width].1 {
            bounds.pop();
        }
        let field = |i: usize| -> &[u8] { &l[bounds[i].0..bounds[i].1] };
        if bounds.len() != width {
            stats.malformed_lines += 1;
            if stats.malformed_examples.len() < 5 {
                stats.malformed_examples.push(stats.lines);
            }
            continue;
        }
        let (prof, sf) = (trim(field(c_prof)), trim(field(c_sf)));
        if prof == b"10" {
            let key = (decode(sf), decode(trim(field(c_sfl))));
            *stats.physician_savoir_faire.entry(key).or_default() += 1;
        }
        let Some(p) = Profession::of(prof, sf) else {
            continue;
        };
        stats.activities_kept += 1;
        let pp = practitioner_key(trim(field(c_id)));
        let mode = match trim(field(c_mode)) {
            b"L" => LIBERAL,
            b"S" => SALARIED,
            _ => 0,
        };
        let raw_code = trim(field(c_com));
        let code = std::str::from_utf8(raw_code).ok().and_then(normalize_commune_code);
        let Some(code) = code else {
            let u = stats.unattributed.entry(p).or_default();
            u.activities += 1;
            if !raw_code.is_empty() {
                u.invalid_code += 1;
            }
            let cp = trim(field(c_cp));
            let dep = if cp.len() == 5 && cp.iter().all(u8::is_ascii_digit) {
                let d = if cp.starts_with(b"97") { &cp[..3] } else { &cp[..2] };
                decode(d)
            } else {
                "??".to_string()
            };
            *u.by_postal_departement.entry(dep).or_default() += 1;
            if unattributed_seen.insert((pp, p as u8), ()).is_none() {
                u.practitioners += 1;
            }
            continue;
        };
        let ci = match commune_index.get(&code) {
            Some(&i) => i,
            None => {
                let i = counts.communes.len() as u32;
                commune_index.insert(code.clone(), i);
                counts.communes.push(code);
                counts.values.push([(0, 0, 0); 6]);
                counts.first_line.push(u32::try_from(stats.lines).unwrap_or(u32::MAX));
                i
            }
        };
        let modes = seen.entry((pp, ci, p as u8)).or_insert(0xFF);
        let cell = &mut counts.values[ci as usize][p.index()];
        if *modes == 0xFF {
            *modes = 0;
            cell.0 += 1;
        } else {
            stats.repeated_activities += 1;
        }
        if mode & LIBERAL != 0 && *modes & LIBERAL == 0 {
            cell.1 += 1;
        }
        if mode & SALARIED != 0 && *modes & SALARIED == 0 {
            cell.2 += 1;
        }
        *modes |= mode;
    }
    Ok((counts, stats))
}

/// Count the latest extraction of the data folder; `None` when there is none.
pub fn load(data: &DataDir) -> Result<Option<(Counts, Stats)>> {
    match find(data) {
        Some(p) => count_file(&p).map(Some),
        None => Ok(None),
    }
}

/// The **old** ASIP Santé extraction as re-exported in `health/rpps_extraction_2017-07_gironde33_mg_neurologie.csv`
/// (comma-separated, header `RPPS,Nom,Prenom,FINESS,RaisonSociale,Commune,LibCommune,CodePostal,Specialite,Etablissement`,
/// one row per activity, savoir-faire as a label only, no mode d'exercice). Read only to check the
/// GP rules on real rows; the pipeline reads the current format.
pub mod extraction_2017 {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    use crate::error::{Error, Location, Result};

    pub const FILE: &str = "health/rpps_extraction_2017-07_gironde33_mg_neurologie.csv";

    /// Savoir-faire labels of the GP codes SM54, SM53, SM26.
    pub const GP_LABELS: [(&str, &str); 3] = [
        ("Médecine Générale", "SM54"),
        ("Spécialiste en Médecine Générale", "SM53"),
        ("Qualifié en Médecine Générale", "SM26"),
    ];

    #[derive(Debug, Default)]
    pub struct Extract {
        /// Rows per savoir-faire label.
        pub rows_by_label: BTreeMap<String, usize>,
        /// Distinct GPs (by RPPS id) per commune code.
        pub gps_by_commune: BTreeMap<String, BTreeSet<String>>,
        pub rows: usize,
    }

    pub fn read(path: &Path) -> Result<Extract> {
        let mut r =
            csv::ReaderBuilder::new().from_path(path).map_err(|e| Error::data(Location::file(path), e.to_string()))?;
        let headers = r.headers().map_err(|e| Error::data(Location::at(path, 1), e.to_string()))?.clone();
        let col = |name: &str| {
            headers.iter().position(|h| h == name).ok_or_else(|| Error::MissingColumn {
                location: Location::at(path, 1),
                column: name.into(),
                detail: format!("(header has: {})", headers.iter().collect::<Vec<_>>().join(", ")),
            })
        };
        let (c_id, c_com, c_sf) = (col("RPPS")?, col("Commune")?, col("Specialite")?);
        let mut out = Extract::default();
        for (i, rec) in r.records().enumerate() {
            let rec = rec.map_err(|e| Error::data(Location::at(path, i as u64 + 2), e.to_string()))?;
            out.rows += 1;
            let label = rec.get(c_sf).unwrap_or("").trim();
            *out.rows_by_label.entry(label.to_string()).or_default() += 1;
            if GP_LABELS.iter().any(|(l, _)| *l == label) {
                out.gps_by_commune
                    .entry(rec.get(c_com).unwrap_or("").trim().to_string())
                    .or_default()
                    .insert(rec.get(c_id).unwrap_or("").trim().to_string());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn professions() {
        assert_eq!(Profession::of(b"10", b"SM54"), Some(Profession::GeneralPractitioner));
        assert_eq!(Profession::of(b"10", b"SM53"), Some(Profession::GeneralPractitioner));
        assert_eq!(Profession::of(b"10", b"SM26"), Some(Profession::GeneralPractitioner));
        assert_eq!(Profession::of(b"10", b"SM38"), None);
        assert_eq!(Profession::of(b"10", b""), None);
        assert_eq!(Profession::of(b"60", b""), Some(Profession::Nurse));
        assert_eq!(Profession::of(b"70", b""), Some(Profession::Physiotherapist));
        assert_eq!(Profession::of(b"99", b""), None);
    }

    #[test]
    fn practitioner_keys_distinguish_leading_zeros() {
        assert_ne!(practitioner_key(b"0123"), practitioner_key(b"123"));
        assert_ne!(practitioner_key(b"2A1234567"), practitioner_key(b"2B1234567"));
        assert_eq!(practitioner_key(b"810001234567"), practitioner_key(b"810001234567"));
    }
}
