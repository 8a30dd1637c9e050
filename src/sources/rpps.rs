//! RPPS / Annuaire Santé extractions (Agence du Numérique en Santé), one row **per activity** of
//! a practitioner, in either of the two layouts the ANS has published, told apart by the header
//! (never by the file name):
//! - `PS_LibreAcces_Personne_activite_<timestamp>.txt` (the current open extraction): pipe
//!   separated, no quoting, the header line ends with a trailing `|` (one empty extra column, and
//!   every data line too), `Code type savoir-faire` before `Code savoir-faire`, with
//!   `Code mode exercice`;
//! - the "extraction RPPS personne activité" layout (seen in 2020-2022 re-exports): `;` separated,
//!   every field double-quoted, a trailing `;`, `Code savoir-faire` *before*
//!   `Code type savoir-faire`, and **no `Code mode exercice`**: libéral and salarié cannot be told
//!   apart, so only totals are counted and the libéral/salarié counts are unknown (null), never 0.
//!
//! Both: recent files are UTF-8 but older ones (and some re-exports) are latin-1, so each line is
//! decoded as UTF-8 and, when it is not valid UTF-8, as latin-1 (the stats say how many lines
//! needed it); the file is hundreds of MB, so it is streamed line by line and only the counters
//! are kept: memory grows with the number of distinct (practitioner, commune, profession) keys,
//! never with the file.
//!
//! Counting rules:
//! - the professions and how to recognise them (`Code profession`, and `Code savoir-faire` where
//!   needed, e.g. the GPs among médecins) come from `data/reference/professions.toml`.
//! - one practitioner (`Identification nationale PP`) counts once per commune and profession,
//!   however many activities they have there; `liberal` / `salaried` count the practitioners with
//!   at least one activity in that mode (`Code mode exercice` L / S; B = bénévole counts only in
//!   the total), so `liberal + salaried` can exceed `total`.
//! - the commune is `Code commune (coord. structure)`, kept as published: Paris, Lyon and
//!   Marseille addresses carry arrondissement codes (751xx, 6938x, 132xx). When the caller gives
//!   the arrondissement → city pairs, the city is counted too, each practitioner once (a
//!   practitioner in two arrondissements is one practitioner of Paris).
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
use crate::professions::Professions;

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

/// The two published layouts, detected from the header line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// `PS_LibreAcces_Personne_activite`: `|`, unquoted, with `Code mode exercice`.
    #[default]
    LibreAcces,
    /// "Extraction RPPS": `;`, every field quoted, no `Code mode exercice`.
    Extraction,
}

impl Layout {
    /// From the header line: a `|` means the open extraction, a `;` the quoted one.
    fn detect(header: &[u8]) -> Option<Layout> {
        if header.contains(&b'|') {
            Some(Layout::LibreAcces)
        } else if header.contains(&b';') {
            Some(Layout::Extraction)
        } else {
            None
        }
    }
    fn separator(self) -> u8 {
        match self {
            Layout::LibreAcces => b'|',
            Layout::Extraction => b';',
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Layout::LibreAcces => "PS_LibreAcces (|)",
            Layout::Extraction => "extraction RPPS (; quoted, no mode d'exercice)",
        }
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
    pub layout: Layout,
    pub lines: u64,
    /// Activity rows of the professions of the table.
    pub activities_kept: u64,
    /// Rows repeating a (practitioner, commune, profession) already seen.
    pub repeated_activities: u64,
    /// Lines that were not valid UTF-8 and were read as latin-1.
    pub latin1_lines: u64,
    /// Lines whose field count differs from the header (first 5 line numbers kept).
    pub malformed_lines: u64,
    pub malformed_examples: Vec<u64>,
    /// Per profession key.
    pub unattributed: BTreeMap<String, Unattributed>,
    /// Rows of the professions recognised by savoir-faire (the médecins), per (profession code,
    /// savoir-faire code, label) as published: shows what the savoir-faire filter kept and left.
    pub filtered_savoir_faire: BTreeMap<(String, String, String), u64>,
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
            .map(|(p, u)| format!("{p} {} activities ({} practitioners)", u.activities, u.practitioners))
            .collect();
        format!(
            "{} lines ({}, layout {}), {} activities of the professions, {} repeated; without a commune code (not attributed): {}; malformed lines: {}",
            self.lines,
            self.encoding(),
            self.layout.name(),
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
    /// Profession keys, in the order of `values`' inner vectors.
    pub keys: Vec<String>,
    pub communes: Vec<String>,
    /// `[commune][profession] = (total, liberal, salaried)`
    pub values: Vec<Vec<(u32, u32, u32)>>,
    /// First line where the commune appeared.
    pub first_line: Vec<u32>,
    /// The layout had `Code mode exercice`: without it `liberal` and `salaried` are unknown.
    pub has_mode: bool,
}

impl Counts {
    /// `(total, liberal, salaried)` of a profession in a commune; zeros for an unseen commune.
    pub fn get(&self, code: &str, key: &str) -> (u32, u32, u32) {
        let Some(p) = self.keys.iter().position(|k| k == key) else {
            return (0, 0, 0);
        };
        self.communes.iter().position(|c| c == code).map_or((0, 0, 0), |i| self.values[i][p])
    }

    /// Columns: `code`, `line`, then `rpps_<key>_total`, `_liberal`, `_salaried` (int64) for
    /// each profession; `_liberal` and `_salaried` are null when the layout has no mode.
    pub fn frame(&self) -> Result<DataFrame> {
        let mut cols: Vec<Column> =
            vec![Column::new("code".into(), &self.communes), Column::new("line".into(), &self.first_line)];
        for (i, key) in self.keys.iter().enumerate() {
            for (suffix, pick) in [("total", 0usize), ("liberal", 1), ("salaried", 2)] {
                let v: Vec<Option<i64>> = self
                    .values
                    .iter()
                    .map(|row| {
                        let (t, l, s) = row[i];
                        (pick == 0 || self.has_mode).then(|| i64::from([t, l, s][pick]))
                    })
                    .collect();
                cols.push(Column::new(format!("rpps_{key}_{suffix}").into(), v));
            }
        }
        Ok(DataFrame::new_infer_height(cols)?)
    }
}

/// What the counter needs besides the file.
#[derive(Debug, Clone)]
pub struct Setup<'a> {
    pub professions: &'a Professions,
    /// Arrondissement municipal → its city (75112 → 75056): the city is counted too.
    pub parents: HashMap<String, String>,
}

impl Default for Setup<'_> {
    fn default() -> Self {
        Setup { professions: Professions::embedded(), parents: HashMap::new() }
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

/// Field bounds of a line. In the quoted layout a field's surrounding quotes are left out and a
/// separator inside quotes does not split (doubled quotes stay as they are: no counted field
/// holds one).
fn split(l: &[u8], layout: Layout, bounds: &mut Vec<(usize, usize)>) {
    bounds.clear();
    let sep = layout.separator();
    if layout == Layout::LibreAcces {
        let mut start = 0;
        for (i, &b) in l.iter().enumerate() {
            if b == sep {
                bounds.push((start, i));
                start = i + 1;
            }
        }
        bounds.push((start, l.len()));
        return;
    }
    let mut i = 0;
    loop {
        if l.get(i) == Some(&b'"') {
            let start = i + 1;
            let mut j = start;
            while j < l.len() {
                if l[j] == b'"' {
                    if l.get(j + 1) == Some(&b'"') {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            bounds.push((start, j.min(l.len())));
            // Past the closing quote to the next separator.
            let next = l[j.min(l.len())..].iter().position(|&b| b == sep).map(|p| j + p);
            match next {
                Some(n) => i = n + 1,
                None => return,
            }
        } else {
            let start = i;
            match l[i..].iter().position(|&b| b == sep) {
                Some(p) => {
                    bounds.push((start, i + p));
                    i += p + 1;
                }
                None => {
                    bounds.push((start, l.len()));
                    return;
                }
            }
        }
        if i == l.len() {
            bounds.push((i, i));
            return;
        }
    }
}

/// Count practitioners in an extraction, streaming it line by line, with the embedded
/// professions table and no arrondissement → city pairs.
pub fn count_file(path: &Path) -> Result<(Counts, Stats)> {
    count_file_with(path, &Setup::default())
}

pub fn count_file_with(path: &Path, setup: &Setup) -> Result<(Counts, Stats)> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    count_reader_with(std::io::BufReader::with_capacity(1 << 20, f), path, setup)
}

pub fn count_reader(r: impl BufRead, path: &Path) -> Result<(Counts, Stats)> {
    count_reader_with(r, path, &Setup::default())
}

fn strip_eol(mut l: &[u8]) -> &[u8] {
    if let Some(x) = l.strip_suffix(b"\n") {
        l = x;
    }
    if let Some(x) = l.strip_suffix(b"\r") {
        l = x;
    }
    l
}

pub fn count_reader_with(mut r: impl BufRead, path: &Path, setup: &Setup) -> Result<(Counts, Stats)> {
    let professions: Vec<&crate::professions::Profession> = setup.professions.rpps().collect();
    let mut stats = Stats { file: path.to_path_buf(), ..Default::default() };
    let mut line: Vec<u8> = Vec::with_capacity(4096);
    let n = r.read_until(b'\n', &mut line).map_err(|e| Error::io(path, e))?;
    if n == 0 {
        return Err(Error::data(Location::file(path), "empty file: no header line"));
    }
    stats.lines = 1;
    let mut head: &[u8] = strip_eol(&line);
    if head.starts_with(b"\xEF\xBB\xBF") {
        head = &head[3..];
    }
    if std::str::from_utf8(head).is_err() {
        stats.latin1_lines += 1;
    }
    let layout = Layout::detect(head);
    stats.layout = layout.unwrap_or_default();
    let mut bounds: Vec<(usize, usize)> = Vec::with_capacity(64);
    let mut headers: Vec<String> = match layout {
        Some(l) => {
            split(head, l, &mut bounds);
            bounds.iter().map(|&(a, b)| decode(&head[a..b]).trim().to_string()).collect()
        }
        None => vec![decode(head)],
    };
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
                if layout.is_none() {
                    "; expected a pipe-separated (|) PS_LibreAcces header or a ;-separated quoted extraction header"
                } else {
                    ""
                }
            ),
        })
    };
    let (c_id, c_prof, c_sf, c_sfl, c_cp, c_com) = (
        find(COL_ID)?,
        find(COL_PROFESSION)?,
        find(COL_SAVOIR_FAIRE)?,
        find(COL_SAVOIR_FAIRE_LABEL)?,
        find(COL_POSTAL)?,
        find(COL_COMMUNE)?,
    );
    // The open extraction always has the mode: its absence there is a renamed column, an error.
    let c_mode = match stats.layout {
        Layout::LibreAcces => Some(find(COL_MODE)?),
        Layout::Extraction => headers.iter().position(|h| h == COL_MODE),
    };
    let layout = stats.layout;
    let width = headers.len();
    let filtered: Vec<&[u8]> = professions
        .iter()
        .filter(|p| !p.rpps_savoir_faire.is_empty())
        .flat_map(|p| p.rpps_professions.iter().map(|c| c.as_bytes()))
        .collect();

    let np = professions.len();
    let mut commune_index: HashMap<String, u32> = HashMap::new();
    let mut counts = Counts {
        keys: professions.iter().map(|p| p.key.clone()).collect(),
        has_mode: c_mode.is_some(),
        ..Default::default()
    };
    // (practitioner, commune, profession) → modes seen.
    let mut seen: HashMap<(u64, u32, u16), u8> = HashMap::new();
    // Practitioners without a commune, per profession (to count them once).
    let mut unattributed_seen: HashMap<(u64, u16), ()> = HashMap::new();
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        stats.lines += 1;
        let l = strip_eol(&line);
        if l.is_empty() {
            continue;
        }
        if std::str::from_utf8(l).is_err() {
            stats.latin1_lines += 1;
        }
        split(l, layout, &mut bounds);
        if trailing && bounds.len() == width + 1 && bounds[width].0 == bounds[width].1 {
            bounds.pop();
        }
        if bounds.len() != width {
            stats.malformed_lines += 1;
            if stats.malformed_examples.len() < 5 {
                stats.malformed_examples.push(stats.lines);
            }
            continue;
        }
        let field = |i: usize| -> &[u8] { &l[bounds[i].0..bounds[i].1] };
        let (prof, sf) = (trim(field(c_prof)), trim(field(c_sf)));
        if filtered.contains(&prof) {
            let key = (decode(prof), decode(sf), decode(trim(field(c_sfl))));
            *stats.filtered_savoir_faire.entry(key).or_default() += 1;
        }
        let Some(p) = professions.iter().position(|x| x.matches(prof, sf)) else {
            continue;
        };
        stats.activities_kept += 1;
        let pp = practitioner_key(trim(field(c_id)));
        let mode = match c_mode.map(|c| trim(field(c))) {
            Some(b"L") => LIBERAL,
            Some(b"S") => SALARIED,
            _ => 0,
        };
        let raw_code = trim(field(c_com));
        let code = std::str::from_utf8(raw_code).ok().and_then(normalize_commune_code);
        let Some(code) = code else {
            let u = stats.unattributed.entry(professions[p].key.clone()).or_default();
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
            if unattributed_seen.insert((pp, p as u16), ()).is_none() {
                u.practitioners += 1;
            }
            continue;
        };
        let parent = setup.parents.get(&code).cloned();
        let mut first = true;
        for code in std::iter::once(code).chain(parent) {
            let ci = match commune_index.get(&code) {
                Some(&i) => i,
                None => {
                    let i = counts.communes.len() as u32;
                    commune_index.insert(code.clone(), i);
                    counts.communes.push(code);
                    counts.values.push(vec![(0, 0, 0); np]);
                    counts.first_line.push(u32::try_from(stats.lines).unwrap_or(u32::MAX));
                    i
                }
            };
            let modes = seen.entry((pp, ci, p as u16)).or_insert(0xFF);
            let cell = &mut counts.values[ci as usize][p];
            if *modes == 0xFF {
                *modes = 0;
                cell.0 += 1;
            } else if first {
                stats.repeated_activities += 1;
            }
            if mode & LIBERAL != 0 && *modes & LIBERAL == 0 {
                cell.1 += 1;
            }
            if mode & SALARIED != 0 && *modes & SALARIED == 0 {
                cell.2 += 1;
            }
            *modes |= mode;
            first = false;
        }
    }
    Ok((counts, stats))
}

/// Count the latest extraction of the data folder; `None` when there is none.
pub fn load(data: &DataDir, setup: &Setup) -> Result<Option<(Counts, Stats)>> {
    match find(data) {
        Some(p) => count_file_with(&p, setup).map(Some),
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
    fn practitioner_keys_distinguish_leading_zeros() {
        assert_ne!(practitioner_key(b"0123"), practitioner_key(b"123"));
        assert_ne!(practitioner_key(b"2A1234567"), practitioner_key(b"2B1234567"));
        assert_eq!(practitioner_key(b"810001234567"), practitioner_key(b"810001234567"));
    }

    #[test]
    fn quoted_fields_split_outside_quotes_only() {
        let mut b = Vec::new();
        let l: &[u8] = br#""8";"A;B";"";"x""y";"#;
        split(l, Layout::Extraction, &mut b);
        let f: Vec<&[u8]> = b.iter().map(|&(x, y)| &l[x..y]).collect();
        assert_eq!(f, vec![&b"8"[..], b"A;B", b"", br#"x""y"#, b""]);
        let l: &[u8] = b"1|2||";
        split(l, Layout::LibreAcces, &mut b);
        assert_eq!(b.len(), 4);
    }
}
