//! Commune areas (and, from the compile, centres). Two layouts, INSEE's own first:
//!
//! - INSEE **Base du comparateur de territoires** (https://www.insee.fr/fr/statistiques/2521169):
//!   `base_cc_comparateur_csv.zip` holding `base_cc_comparateur.csv`, `;`-separated, key `CODGEO`,
//!   area `SUPERF` (km²), population `Pyy_POP` (the census year is in the prefix), secret values `s`.
//!   One row per commune, Paris, Lyon and Marseille by arrondissement municipal. No centre: lat/lon
//!   stay null (the boundaries give them).
//! - The **rcarlier/datas.fun compile** (optional third-party fallback, read only when INSEE's file
//!   is absent): the comparateur of June 2024 (COG 2024) joined with La Poste's base des codes
//!   postaux, with the commune centre. Quirks: one row per (commune, code postal), so communes
//!   repeat; `COMD` rows (communes déléguées) repeat their parent's figures and are skipped;
//!   Paris, Lyon and Marseille appear only as arrondissements (`ARM`).

use std::collections::HashMap;

use polars::prelude::*;

use super::table::{read_delimited, Num};
use super::{DataDir, SourceMeta};
use crate::error::{Error, Result};

pub const META: SourceMeta = SourceMeta {
    id: "insee_comparateur",
    title: "Base du comparateur de territoires (superficie de la commune)",
    publisher: "INSEE",
    vintage: "superficie INSEE (SUPERF) of the edition fetched",
    geography: "COG of the edition (Paris, Lyon, Marseille par arrondissement)",
    licence: "Licence Ouverte / Open Licence",
    url: "https://www.insee.fr/fr/statistiques/2521169",
    file: "population/base_cc_comparateur.csv",
};

pub const META_RCARLIER: SourceMeta = SourceMeta {
    id: "comparateur_rcarlier",
    title: "Base du comparateur de territoires (superficie, centre de la commune), compiled per commune",
    publisher: "INSEE, compiled with La Poste codes postaux by rcarlier/datas.fun (third party)",
    vintage: "superficie INSEE, recensement 2021 (édition juin 2024)",
    geography: "COG 2024 (Paris, Lyon, Marseille par arrondissement)",
    licence: "Licence Ouverte / Open Licence",
    url: "https://github.com/rcarlier/datas.fun",
    file: "population/communes_cog2024_comparateur_territoires.csv.gz",
};

/// INSEE's archive as `fetch` stores it (`data/sources.toml`).
pub const INSEE_ZIP: &str = "population/base_cc_comparateur_csv.zip";
const INSEE_MEMBER: &str = "base_cc_comparateur.csv";

/// Staged areas and the source they came from.
pub struct Staged {
    /// See [`load_file`] for the columns.
    pub frame: DataFrame,
    pub meta: &'static SourceMeta,
    pub path: std::path::PathBuf,
}

/// INSEE's file (unpacked CSV, else the zip), else the rcarlier compile, else `None`.
pub fn load_any(data: &DataDir) -> Result<Option<Staged>> {
    for (rel, meta) in [(META.file, &META), (INSEE_ZIP, &META), (META_RCARLIER.file, &META_RCARLIER)] {
        if data.exists(rel) {
            let path = data.root.join(rel);
            let frame = if meta.id == META.id { load_insee_file(&path)? } else { load_file(&path)? };
            return Ok(Some(Staged { frame, meta, path }));
        }
    }
    Ok(None)
}

const REQUIRED: [&str; 7] = ["insee_com", "commune", "commune_type", "lat", "lng", "superficie_km2", "population_2021"];

/// The rcarlier compile. One row per COM or ARM code. Columns: `code`, `area_km2`, `lat`, `lon`,
/// `population_2021`, `line` (first line of that code), `masked` (cells masked by the publisher,
/// see [`super::contract`]). The commune's name and type are checked, not staged: the COG names
/// and types every unit.
pub fn load(data: &DataDir) -> Result<DataFrame> {
    load_file(&data.file(META_RCARLIER.file)?)
}

pub fn load_file(path: &std::path::Path) -> Result<DataFrame> {
    let text = super::table::read_text(path)?;
    // One typed pass; a file it refuses is read again as text cells, which name the first fault
    // exactly as they always have (the typed pass is at least as strict).
    typed(path, &text).or_else(|_| cells(path, &text))
}

/// A commune code (5 ASCII bytes once normalized) as a number: a hash key without a `String`.
fn code_key(code: &str) -> u64 {
    code.bytes().fold(0, |k, b| (k << 8) | u64::from(b))
}

/// [`cells`] without a table of text cells: the contract row by row, values parsed once into
/// the staged columns. Any error sends the caller to [`cells`].
fn typed(path: &std::path::Path, text: &str) -> Result<DataFrame> {
    use super::table::{normalize_commune_code_cow, Delimited};
    let d = Delimited::new(path, text, "insee_com")?;
    let mut c = [0; 7];
    for (i, name) in REQUIRED.iter().enumerate() {
        c[i] = d.column(name)?;
    }
    let [c_code, _, c_type, c_lat, c_lng, c_area, c_pop] = c;
    let rc = super::contract::RowCheck::new(&super::contract::COMPARATEUR, path, &d.headers, d.header_line)?;
    let n = 36_000;
    let mut seen: PlHashMap<u64, usize> = PlHashMap::with_capacity(n);
    let mut code = StringChunkedBuilder::new("code".into(), n);
    let (mut area, mut lat, mut lon, mut pop): (Vec<Option<f64>>, Vec<_>, Vec<_>, Vec<_>) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut line, mut masked) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let fail = || Error::data(crate::error::Location::file(path), "refused by the typed reader");
    rc.records(&d, |rc, l, r| {
        let cell = |i: usize| super::table::trim(r.get(i).unwrap_or(""));
        let ty = cell(c_type);
        match ty {
            "COM" | "ARM" => {}
            "COMD" => return Ok(()),
            _ => return Err(fail()),
        }
        let number = |i: usize| match rc.number(l, i, cell(i)) {
            Ok(Num::Value(v)) => Ok(Some(v)),
            Ok(Num::Missing) => Ok(None),
            Err(_) => Err(fail()),
        };
        let cc = normalize_commune_code_cow(cell(c_code)).ok_or_else(fail)?;
        let a = number(c_area)?;
        let key = code_key(&cc);
        if let Some(&i) = seen.get(&key) {
            // Repeated per postal code: the figures must agree ([`cells`] says where they do not).
            return if area[i] == a { Ok(()) } else { Err(fail()) };
        }
        seen.insert(key, area.len());
        code.append_value(&cc);
        area.push(a);
        lat.push(number(c_lat)?);
        lon.push(number(c_lng)?);
        pop.push(number(c_pop)?);
        line.push(l as u32);
        masked.push(rc.masked_at_line(l));
        Ok(())
    })?;
    Ok(DataFrame::new_infer_height(vec![
        code.finish().into_column(),
        Column::new("area_km2".into(), area),
        Column::new("lat".into(), lat),
        Column::new("lon".into(), lon),
        Column::new("population_2021".into(), pop),
        Column::new("line".into(), line),
        Column::new("masked".into(), masked),
    ])?)
}

/// The compile as a table of text cells, checked whole, then staged.
fn cells(path: &std::path::Path, text: &str) -> Result<DataFrame> {
    let t = super::table::parse_delimited(path, text, "insee_com", &REQUIRED)?;
    let [c_code, _, c_type, c_lat, c_lng, c_area, c_pop] = REQUIRED.map(|c| t.column(c).expect("checked"));
    let checked = super::contract::check(&t, &super::contract::COMPARATEUR, |_, _| false)?;
    let mut masked = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut code = Vec::new();
    let mut area: Vec<Option<f64>> = Vec::new();
    let mut lat = Vec::new();
    let mut lon = Vec::new();
    let mut pop = Vec::new();
    let mut line = Vec::new();
    let opt = |n: Num| match n {
        Num::Value(v) => Some(v),
        Num::Missing => None,
    };
    for row in &t.rows {
        let ty = t.text(row, c_type);
        match ty {
            "COM" | "ARM" => {}
            "COMD" => continue,
            other => return Err(Error::data(t.location(row, c_type), format!("unknown commune_type \"{other}\""))),
        }
        let c = t.commune_code(row, c_code)?;
        let a = opt(t.number(row, c_area)?);
        if let Some(&i) = seen.get(&c) {
            // Repeated per postal code: the figures must agree, or the file is not what we think.
            if area[i] != a {
                return Err(Error::data(
                    t.location(row, c_area),
                    format!("{c} repeats with a different area ({:?} vs {:?} on line {})", a, area[i], line[i]),
                ));
            }
            continue;
        }
        seen.insert(c.clone(), code.len());
        code.push(c);
        area.push(a);
        lat.push(opt(t.number(row, c_lat)?));
        lon.push(opt(t.number(row, c_lng)?));
        pop.push(opt(t.number(row, c_pop)?));
        line.push(row.line as u32);
        masked.push(checked.masked_at(row));
    }
    Ok(df!(
        "code" => code, "area_km2" => area, "lat" => lat, "lon" => lon, "population_2021" => pop, "line" => line, "masked" => masked,
    )?)
}

/// INSEE's own `base_cc_comparateur.csv` (or its zip), staged with the columns of [`load_file`]:
/// `lat`/`lon` null, `population_2021` from the first `Pyy_POP` column (whatever its year).
pub fn load_insee_file(path: &std::path::Path) -> Result<DataFrame> {
    let t = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")) {
        let (bytes, label) = super::table::zip_member(path, INSEE_MEMBER)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::data(crate::error::Location::file(&label), "not valid UTF-8"))?;
        super::table::parse_delimited(&label, &text, "CODGEO", &["CODGEO", "SUPERF"])?
    } else {
        read_delimited(path, "CODGEO", &["CODGEO", "SUPERF"])?
    };
    let checked = super::contract::check(&t, &super::contract::COMPARATEUR_INSEE, |_, _| false)?;
    let (c_code, c_area) = (t.column("CODGEO")?, t.column("SUPERF")?);
    let c_pop = t.headers.iter().position(|h| {
        h.len() == 7 && h.starts_with('P') && h.ends_with("_POP") && h[1..3].bytes().all(|b| b.is_ascii_digit())
    });
    let mut seen: HashMap<String, u64> = HashMap::new();
    let (mut code, mut area, mut pop, mut line) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut masked = Vec::new();
    for row in &t.rows {
        let c = t.commune_code(row, c_code)?;
        if let Some(first) = seen.insert(c.clone(), row.line) {
            return Err(Error::data(t.location(row, c_code), format!("{c} already on line {first}")));
        }
        let a = match t.number(row, c_area)? {
            Num::Value(v) if v >= 0.0 => Some(v),
            Num::Value(v) => return Err(Error::data(t.location(row, c_area), format!("{v} is not an area"))),
            Num::Missing => None,
        };
        code.push(c);
        area.push(a);
        pop.push(match c_pop {
            Some(i) => match t.number(row, i)? {
                Num::Value(v) => Some(v),
                Num::Missing => None,
            },
            None => None,
        });
        line.push(row.line as u32);
        masked.push(checked.masked_at(row));
    }
    let none = vec![None::<f64>; code.len()];
    Ok(df!(
        "code" => code, "area_km2" => area, "lat" => none.clone(), "lon" => none, "population_2021" => pop, "line" => line, "masked" => masked,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_read_is_taken_and_equals_the_text_cell_read() {
        let csv = "insee_com,commune,commune_type,code_postal,lat,lng,superficie_km2,population_2021\n\
            01001,Alpha,COM,01400,46.15,4.93,15.95,832\n\
            01001,Alpha,COM,01401,46.15,4.93,15.95,832\n\
            01002,Alpha-Delta,COMD,01400,46.1,4.9,3.5,100\n\
            75101,Paris 1er,ARM,75001,48.86,2.34,1.83,NS\n";
        let p = std::path::Path::new("comparateur.csv");
        let typed = typed(p, csv).expect("a good file takes the typed path");
        assert_eq!(typed.height(), 2);
        assert_eq!(typed, cells(p, csv).unwrap());
        // A repeated commune with another area: the typed read gives way, the text read names it.
        let bad = csv.replace("01401,46.15,4.93,15.95", "01401,46.15,4.93,16.95");
        assert!(super::typed(p, &bad).is_err());
        assert!(cells(p, &bad).unwrap_err().to_string().contains("01001 repeats with a different area"));
    }
}
