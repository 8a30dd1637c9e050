//! `@etalab/decoupage-administratif` 6.0.0: the COG 2026 reference (communes, arrondissements
//! municipaux, EPCI, départements, régions) with INSEE populations légales millésime 2023.
//!
//! Quirks: the package lists communes déléguées/associées beside communes actuelles (only the
//! latter and the 45 arrondissements municipaux are units here); `anciensCodes` on a commune
//! actuelle lists every former code merged into it; EPCI member populations (`populationTotale`,
//! `populationMunicipale`) come from the DGCL file of the previous millésime
//! ([`DGCL_MILLESIME`]), so the population municipale is taken from `communes.json` and the DGCL
//! figures serve only for the population totale, labelled with their own millésime; the DGCL
//! lists Paris, Lyon and Marseille whole and has no commune outside an EPCI (4 islands, the COM);
//! 6 uninhabited COM entries have no population.

use std::borrow::Cow;
use std::path::Path;

pub use compact_str::CompactString;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::{DataDir, SourceMeta};
use crate::error::{Error, Location, Result};

pub const COMMUNES: SourceMeta = SourceMeta {
    id: "cog_communes",
    title: "Découpage administratif: communes, arrondissements municipaux, départements, régions",
    publisher: "INSEE (COG) via Etalab @etalab/decoupage-administratif 6.0.0",
    vintage: "populations légales millésime 2023 (Mayotte: recensement 2017)",
    geography: "COG 2026",
    licence: "Licence Ouverte / Open Licence",
    url: "https://unpkg.com/@etalab/decoupage-administratif@6.0.0/data/communes.json",
    file: "population/decoupage-administratif-6.0.0/communes.json.gz",
};

/// Millésime of the populations légales of `communes.json` (the population municipale).
pub const MUNICIPALE_MILLESIME: i64 = 2023;
/// Millésime of the member populations of `epci.json` (DGCL file of the year before).
pub const DGCL_MILLESIME: i64 = 2022;

pub const EPCI: SourceMeta = SourceMeta {
    id: "cog_epci",
    title: "EPCI à fiscalité propre et leurs communes membres, populations totale et municipale des membres",
    publisher: "DGCL via Etalab @etalab/decoupage-administratif 6.0.0",
    vintage: "composition au 1er janvier 2026; member populations: populations légales millésime 2022",
    geography: "COG 2026",
    licence: "Licence Ouverte / Open Licence",
    url: "https://unpkg.com/@etalab/decoupage-administratif@6.0.0/data/epci.json",
    file: "population/decoupage-administratif-6.0.0/epci.json.gz",
};

const DEPARTEMENTS_FILE: &str = "population/decoupage-administratif-6.0.0/departements.json";
const REGIONS_FILE: &str = "population/decoupage-administratif-6.0.0/regions.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitKind {
    Commune,
    /// Arrondissement municipal of Paris, Lyon or Marseille.
    Arrondissement,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Commune => "commune",
            UnitKind::Arrondissement => "arrondissement",
        }
    }
}

/// A current territorial unit: a commune actuelle or an arrondissement municipal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unit {
    pub code: CompactString,
    pub name: CompactString,
    pub kind: UnitKind,
    /// Paris/Lyon/Marseille code for an arrondissement.
    pub parent: Option<CompactString>,
    pub departement: CompactString,
    pub region: CompactString,
    pub zone: CompactString,
    pub population: Option<i64>,
    pub anciens_codes: Vec<CompactString>,
    pub epci: Option<CompactString>,
    /// DGCL population totale and municipale ([`DGCL_MILLESIME`]) of a commune member of an EPCI.
    #[serde(default)]
    pub dgcl: Option<DgclPopulation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DgclPopulation {
    pub totale: i64,
    pub municipale: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Epci {
    pub code: CompactString,
    pub name: CompactString,
    pub kind: CompactString,
    pub members: Vec<CompactString>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Area {
    pub code: CompactString,
    pub name: CompactString,
    pub region: Option<CompactString>,
}

/// The COG 2026 reference.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cog {
    #[serde(deserialize_with = "sized_vec")]
    pub units: Vec<Unit>,
    #[serde(deserialize_with = "sized_vec")]
    pub epcis: Vec<Epci>,
    pub departements: Vec<Area>,
    pub regions: Vec<Area>,
}

/// A sequence read into a vector sized once from the length the format states (postcard does),
/// where serde's `Vec` caps its first allocation at 1 MiB and then doubles: 35 000 units of
/// ~240 bytes were copied four times, and ~30 MB of fresh pages faulted in for 8 MB of units, on
/// the thread every command waits for. The stated length is trusted up to `MAX` elements only,
/// so that a corrupt file cannot ask for a huge allocation before its data runs out.
fn sized_vec<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    const MAX: usize = 1 << 18;
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a sequence")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Vec<T>, A::Error> {
            let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX));
            while let Some(x) = seq.next_element()? {
                v.push(x);
            }
            Ok(v)
        }
    }
    d.deserialize_seq(V(std::marker::PhantomData))
}

/// A JSON string borrowed from the text when it has no escapes (nearly always): the 35 000
/// objects of `communes.json` are read without a `String` per field.
struct Str<'a>(Cow<'a, str>);

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            // As `String` says it, so that a bad value is named as it always was.
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> std::result::Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct RawCommune<'a> {
    #[serde(borrow)]
    code: Str<'a>,
    #[serde(borrow)]
    nom: Str<'a>,
    #[serde(rename = "type", borrow)]
    kind: Str<'a>,
    #[serde(borrow)]
    zone: Option<Str<'a>>,
    #[serde(borrow)]
    departement: Option<Str<'a>>,
    #[serde(borrow)]
    region: Option<Str<'a>>,
    population: Option<i64>,
    #[serde(rename = "anciensCodes", default, borrow)]
    anciens_codes: Vec<Str<'a>>,
    #[serde(borrow)]
    commune: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct RawEpci<'a> {
    #[serde(borrow)]
    code: Str<'a>,
    #[serde(borrow)]
    nom: Str<'a>,
    #[serde(rename = "type", borrow)]
    kind: Str<'a>,
    #[serde(borrow)]
    membres: Vec<RawMember<'a>>,
}

#[derive(Deserialize)]
struct RawMember<'a> {
    #[serde(borrow)]
    code: Str<'a>,
    #[serde(rename = "populationTotale")]
    population_totale: Option<i64>,
    #[serde(rename = "populationMunicipale")]
    population_municipale: Option<i64>,
}

#[derive(Deserialize)]
struct RawArea {
    code: String,
    nom: String,
    region: Option<String>,
}

fn parse_json<'t, T: Deserialize<'t>>(path: &Path, text: &'t str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        Error::data(Location::at(path, e.line() as u64), format!("invalid JSON at column {}: {e}", e.column()))
    })
}

/// The communes of `text` once the source's contract has passed on them. They are typed in one
/// pass and the contract runs on those values; only when it finds a fault (or the typing fails)
/// is the text read again as a table of text cells, whose check names the object's line and
/// column as it always has.
fn parse_communes<'t>(path: &Path, text: &'t str, contract: &super::contract::Contract) -> Result<Vec<RawCommune<'t>>> {
    let parsed: serde_json::Result<Vec<RawCommune<'t>>> = serde_json::from_str(text);
    if parsed.as_ref().is_ok_and(|raw| typed_contract_holds(path, raw, contract)) {
        return Ok(parsed.expect("checked above"));
    }
    let table = super::contract::json_table(path, text)?;
    super::contract::check(&table, contract, |_, _| false)?;
    drop(table);
    parsed.map_err(|e| {
        Error::data(Location::at(path, e.line() as u64), format!("invalid object at column {}: {e}", e.column()))
    })
}

/// The columns the typed check gives the contract, each object's value as the text-cell table
/// has it (`null` and absent as empty).
const TYPED_COLUMNS: [&str; 6] = ["code", "type", "population", "departement", "region", "zone"];

/// `contract` on the typed objects: true only if [`super::contract::check`] on the text-cell
/// table would pass. A column the table would lack (no object has the key) is refused here
/// because no in-scope object has a value in it.
fn typed_contract_holds(path: &Path, raw: &[RawCommune<'_>], contract: &super::contract::Contract) -> bool {
    use std::fmt::Write;
    // A rule on a column this check does not give would be skipped (optional) or fail every
    // file (required): leave such a contract to the text-cell check, which sees every key.
    let typed = |c: &str| TYPED_COLUMNS.contains(&c);
    if !(contract.columns.iter().all(|r| typed(&r.name))
        && contract.key.iter().all(|k| typed(k))
        && contract.rows.as_ref().is_none_or(|f| typed(&f.column)))
    {
        return false;
    }
    let headers: Vec<String> = TYPED_COLUMNS.iter().map(|h| h.to_string()).collect();
    let Ok(mut rc) = super::contract::RowCheck::new(contract, path, &headers, 1) else { return false };
    let mut present = [false; TYPED_COLUMNS.len()];
    let mut population = String::new();
    for (n, c) in raw.iter().enumerate() {
        population.clear();
        if let Some(p) = c.population {
            write!(population, "{p}").expect("a String takes any write");
        }
        let cells = [
            &*c.code,
            &*c.kind,
            population.as_str(),
            c.departement.as_deref().unwrap_or(""),
            c.region.as_deref().unwrap_or(""),
            c.zone.as_deref().unwrap_or(""),
        ];
        for (p, v) in present.iter_mut().zip(cells) {
            *p |= !v.is_empty();
        }
        if rc.row(n as u64 + 1, |i| cells[i]).is_err() {
            return false;
        }
    }
    present.iter().all(|p| *p) && rc.finish(false, true, None).is_ok()
}

/// `epci.json`: its path, the EPCI, and the DGCL populations of each one's members in order.
type EpciRead = (std::path::PathBuf, Vec<Epci>, Vec<Vec<Option<DgclPopulation>>>);

fn load_epci(data: &DataDir) -> Result<EpciRead> {
    let path = data.file(EPCI.file)?;
    let text = super::table::read_text(&path)?;
    let raw: Vec<RawEpci> = parse_json(&path, &text)?;
    let dgcl = raw
        .iter()
        .map(|e| {
            e.membres
                .iter()
                .map(|m| match (m.population_totale, m.population_municipale) {
                    (Some(totale), Some(municipale)) => Some(DgclPopulation { totale, municipale }),
                    _ => None,
                })
                .collect()
        })
        .collect();
    let epcis = raw
        .into_iter()
        .map(|e| Epci {
            code: CompactString::from(&*e.code),
            name: CompactString::from(&*e.nom),
            kind: CompactString::from(&*e.kind),
            members: e.membres.iter().map(|m| CompactString::from(&*m.code)).collect(),
        })
        .collect();
    Ok((path, epcis, dgcl))
}

/// A unit's identity as `communes.json` gives it, before the EPCI, the other files and the
/// checks: what an index of codes needs ([`Cog::load_keyed`]).
pub struct UnitKey<'r, 't> {
    raw: &'r RawCommune<'t>,
    kind: UnitKind,
}

impl UnitKey<'_, '_> {
    pub fn code(&self) -> &str {
        &self.raw.code
    }
    pub fn kind(&self) -> UnitKind {
        self.kind
    }
    /// The city of an arrondissement municipal.
    pub fn parent(&self) -> Option<&str> {
        match self.kind {
            UnitKind::Arrondissement => self.raw.commune.as_deref(),
            UnitKind::Commune => None,
        }
    }
    pub fn anciens_codes(&self) -> impl Iterator<Item = &str> {
        self.raw.anciens_codes.iter().map(|a| &**a)
    }
}

impl Cog {
    pub fn load(data: &DataDir) -> Result<Cog> {
        Cog::load_keyed(data, |_| {})
    }

    /// [`Cog::load`], handing `keyed` the units' keys as soon as `communes.json` is parsed and
    /// its contract has passed: the sources' codes can be placed while the EPCI, départements and
    /// régions are read and checked. Those checks can still fail: what `keyed` started is then
    /// for nothing, and the error is this function's.
    pub fn load_keyed(data: &DataDir, keyed: impl FnOnce(&mut dyn Iterator<Item = UnitKey<'_, '_>>)) -> Result<Cog> {
        // `epci.json` needs nothing from `communes.json` until the checks: read on another thread.
        // Its errors still come after those of `communes.json`, as when they were read in turn.
        std::thread::scope(|s| {
            let epci = std::thread::Builder::new()
                .name("stage-epci".into())
                .spawn_scoped(s, || load_epci(data))
                .expect("spawn a thread");
            Cog::load_with(data, keyed, || epci.join().expect("EPCI thread panicked"))
        })
    }

    fn load_with(
        data: &DataDir,
        keyed: impl FnOnce(&mut dyn Iterator<Item = UnitKey<'_, '_>>),
        epci: impl FnOnce() -> Result<EpciRead>,
    ) -> Result<Cog> {
        let communes_path = data.file(COMMUNES.file)?;
        let communes_text = super::table::read_text(&communes_path)?;
        let raw: Vec<RawCommune> = parse_communes(&communes_path, &communes_text, &super::contract::COG_COMMUNES)?;
        // The kinds as the loop below reads them; an unknown kind fails there.
        keyed(&mut raw.iter().filter_map(|raw| {
            let kind = match &*raw.kind {
                "commune-actuelle" => UnitKind::Commune,
                "arrondissement-municipal" => UnitKind::Arrondissement,
                _ => return None,
            };
            Some(UnitKey { raw, kind })
        }));
        let (epci_path, epcis, dgcl) = epci()?;
        let deps_path = data.file(DEPARTEMENTS_FILE)?;
        let deps: Vec<RawArea> = parse_json(&deps_path, &super::table::read_text(&deps_path)?)?;
        let regs_path = data.file(REGIONS_FILE)?;
        let regs: Vec<RawArea> = parse_json(&regs_path, &super::table::read_text(&regs_path)?)?;
        let current =
            || raw.iter().filter(|c| &*c.kind == "commune-actuelle" || &*c.kind == "arrondissement-municipal");
        super::contract::check_single_membership(
            &epci_path,
            "EPCI",
            epcis.iter().flat_map(|e| e.members.iter().map(|m| (m.as_str(), e.code.as_str()))),
        )?;
        let dep_codes: Vec<&str> = deps.iter().map(|d| d.code.as_str()).collect();
        let reg_codes: Vec<&str> = regs.iter().map(|r| r.code.as_str()).collect();
        super::contract::check_listed(
            &deps_path,
            "département",
            &dep_codes,
            current().filter_map(|c| Some((&*c.code, c.departement.as_deref()?))),
        )?;
        super::contract::check_listed(
            &regs_path,
            "région",
            &reg_codes,
            current().filter_map(|c| Some((&*c.code, c.region.as_deref()?))),
        )?;

        let mut epci_of: PlHashMap<&str, &str> = PlHashMap::with_capacity(36_000);
        let mut dgcl_of: PlHashMap<&str, DgclPopulation> = PlHashMap::with_capacity(36_000);
        for (e, d) in epcis.iter().zip(&dgcl) {
            for (m, d) in e.members.iter().zip(d) {
                epci_of.insert(m, &e.code);
                if let Some(d) = d {
                    dgcl_of.insert(m, *d);
                }
            }
        }
        let mut units = Vec::with_capacity(35_100);
        for (i, c) in raw.iter().enumerate() {
            let kind = match &*c.kind {
                "commune-actuelle" => UnitKind::Commune,
                "arrondissement-municipal" => UnitKind::Arrondissement,
                "commune-deleguee" | "commune-associee" => continue,
                other => {
                    return Err(Error::data(
                        Location::file(&communes_path).col("type"),
                        format!("object {i} ({}): unknown type \"{other}\"", &*c.code),
                    ))
                }
            };
            let missing = |field: &str| {
                Error::data(
                    Location::file(&communes_path).col(field),
                    format!("object {i} ({}) has no {field}", &*c.code),
                )
            };
            let epci = match kind {
                UnitKind::Commune => epci_of.get(&*c.code),
                UnitKind::Arrondissement => c.commune.as_deref().and_then(|p| epci_of.get(p)),
            };
            let owned =
                |s: &Option<Str>, field: &str| s.as_deref().map(CompactString::from).ok_or_else(|| missing(field));
            units.push(Unit {
                departement: owned(&c.departement, "departement")?,
                region: owned(&c.region, "region")?,
                zone: owned(&c.zone, "zone")?,
                parent: if kind == UnitKind::Arrondissement { Some(owned(&c.commune, "commune")?) } else { None },
                name: CompactString::from(&*c.nom),
                kind,
                population: c.population,
                anciens_codes: c.anciens_codes.iter().map(|a| CompactString::from(&**a)).collect(),
                epci: epci.map(|e| CompactString::from(*e)),
                // The DGCL lists Paris, Lyon and Marseille whole: their figure is not an
                // arrondissement's.
                dgcl: if kind == UnitKind::Commune { dgcl_of.get(&*c.code).copied() } else { None },
                code: CompactString::from(&*c.code),
            });
        }
        drop(epci_of);
        drop(dgcl_of);
        Ok(Cog {
            units,
            epcis,
            departements: deps
                .into_iter()
                .map(|d| Area { code: d.code.into(), name: d.nom.into(), region: d.region.map(Into::into) })
                .collect(),
            regions: regs.into_iter().map(|r| Area { code: r.code.into(), name: r.nom.into(), region: None }).collect(),
        })
    }

    pub fn epci_name(&self, code: &str) -> Option<&str> {
        self.epcis.iter().find(|e| e.code == code).map(|e| e.name.as_str())
    }
    pub fn departement_name(&self, code: &str) -> Option<&str> {
        self.departements.iter().find(|e| e.code == code).map(|e| e.name.as_str())
    }
    /// The codes of the communes (not arrondissements) of département `dep`, in COG order.
    pub fn communes_of_departement(&self, dep: &str) -> Vec<String> {
        self.units
            .iter()
            .filter(|u| u.kind == UnitKind::Commune && u.departement == dep)
            .map(|u| u.code.to_string())
            .collect()
    }
    pub fn region_name(&self, code: &str) -> Option<&str> {
        self.regions.iter().find(|e| e.code == code).map(|e| e.name.as_str())
    }

    /// One row per unit (communes actuelles and arrondissements municipaux).
    pub fn units_frame(&self) -> Result<DataFrame> {
        let u = &self.units;
        let epci_names: PlHashMap<&str, &str> = self.epcis.iter().map(|e| (e.code.as_str(), e.name.as_str())).collect();
        let dep_names: PlHashMap<&str, &str> =
            self.departements.iter().map(|e| (e.code.as_str(), e.name.as_str())).collect();
        let reg_names: PlHashMap<&str, &str> =
            self.regions.iter().map(|e| (e.code.as_str(), e.name.as_str())).collect();
        let df = df!(
            "code" => u.iter().map(|x| x.code.as_str()).collect::<Vec<_>>(),
            "name" => u.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
            "kind" => u.iter().map(|x| x.kind.as_str()).collect::<Vec<_>>(),
            "parent_code" => u.iter().map(|x| x.parent.as_deref()).collect::<Vec<_>>(),
            "departement" => u.iter().map(|x| x.departement.as_str()).collect::<Vec<_>>(),
            "departement_name" => u.iter().map(|x| dep_names.get(x.departement.as_str()).copied()).collect::<Vec<_>>(),
            "region" => u.iter().map(|x| x.region.as_str()).collect::<Vec<_>>(),
            "region_name" => u.iter().map(|x| reg_names.get(x.region.as_str()).copied()).collect::<Vec<_>>(),
            "zone" => u.iter().map(|x| x.zone.as_str()).collect::<Vec<_>>(),
            "epci" => u.iter().map(|x| x.epci.as_deref()).collect::<Vec<_>>(),
            "epci_name" => u.iter().map(|x| x.epci.as_deref().and_then(|e| epci_names.get(e).copied())).collect::<Vec<_>>(),
            "population" => u.iter().map(|x| x.population).collect::<Vec<_>>(),
        )?;
        Ok(df)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"[
{"code":"28001","nom":"Alpha","type":"commune-actuelle","zone":"metro","departement":"28","region":"24","population":1000,"anciensCodes":["28901"]},
{"code":"28901","nom":"Alpha-le-Vieux","type":"commune-deleguee","zone":"metro","departement":"28","region":"24","chefLieu":"28001"},
{"code":"98411","nom":"Îles Saint-Paul","type":"commune-actuelle","zone":"com","departement":"984","region":"984"},
{"code":"75101","nom":"Paris 1er","type":"arrondissement-municipal","commune":"75056","zone":"metro","departement":"75","region":"11","population":1000}
]"#;

    #[test]
    fn typed_contract_passes_a_good_file_and_refuses_what_the_text_check_refuses() {
        let p = Path::new("communes.json");
        let c = &super::super::contract::COG_COMMUNES;
        let ok = |t: &str| typed_contract_holds(p, &serde_json::from_str::<Vec<RawCommune>>(t).unwrap(), c);
        assert!(ok(JSON));
        // Each fault the text-cell check names: the typed check refuses it too.
        assert!(!ok(&JSON.replace("\"population\":1000,\"anciensCodes\"", "\"anciensCodes\"")));
        assert!(!ok(&JSON.replace("1000,\"anciensCodes\"", "-5,\"anciensCodes\"")));
        assert!(!ok(&JSON.replace("\"code\":\"75101\"", "\"code\":\"28001\"")));
        assert!(!ok(&JSON.replace("\"region\":\"11\"", "\"region\":\"\"")));
        assert!(!ok(&JSON.replace("\"zone\":", "\"zones\":")));
        // The text-cell check agrees on the first, and names it.
        let bad = JSON.replace("\"code\":\"75101\"", "\"code\":\"28001\"");
        let e = parse_communes(p, &bad, c).err().unwrap().to_string();
        assert!(e.contains("communes.json:5: column \"code\"") && e.contains("repeats line 2"), "{e}");
        // A population the typing refuses (a float) is the contract's "not a count" first.
        let frac = JSON.replace("1000,\"anciensCodes\"", "1000.5,\"anciensCodes\"");
        let e = parse_communes(p, &frac, c).err().unwrap().to_string();
        assert!(e.contains("1000.5 is not a count"), "{e}");
    }
}
