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

use std::collections::HashMap;
use std::path::Path;

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
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    /// Paris/Lyon/Marseille code for an arrondissement.
    pub parent: Option<String>,
    pub departement: String,
    pub region: String,
    pub zone: String,
    pub population: Option<i64>,
    pub anciens_codes: Vec<String>,
    pub epci: Option<String>,
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
    pub code: String,
    pub name: String,
    pub kind: String,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Area {
    pub code: String,
    pub name: String,
    pub region: Option<String>,
}

/// The COG 2026 reference.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cog {
    pub units: Vec<Unit>,
    pub epcis: Vec<Epci>,
    pub departements: Vec<Area>,
    pub regions: Vec<Area>,
}

#[derive(Deserialize)]
struct RawCommune {
    code: String,
    nom: String,
    #[serde(rename = "type")]
    kind: String,
    zone: Option<String>,
    departement: Option<String>,
    region: Option<String>,
    population: Option<i64>,
    #[serde(rename = "anciensCodes", default)]
    anciens_codes: Vec<String>,
    commune: Option<String>,
}

#[derive(Deserialize)]
struct RawEpci {
    code: String,
    nom: String,
    #[serde(rename = "type")]
    kind: String,
    membres: Vec<RawMember>,
}

#[derive(Deserialize)]
struct RawMember {
    code: String,
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

fn parse_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = super::table::read_text(path)?;
    serde_json::from_str(&text).map_err(|e| {
        Error::data(Location::at(path, e.line() as u64), format!("invalid JSON at column {}: {e}", e.column()))
    })
}

/// [`parse_json`] after the source's contract has passed on the objects (read as text cells,
/// then typed in a second pass over the same text).
fn parse_checked<T: for<'de> Deserialize<'de>>(path: &Path, contract: &super::contract::Contract) -> Result<Vec<T>> {
    let text = super::table::read_text(path)?;
    let table = super::contract::json_table(path, &text)?;
    super::contract::check(&table, contract, |_, _| false)?;
    drop(table);
    serde_json::from_str(&text).map_err(|e| {
        Error::data(Location::at(path, e.line() as u64), format!("invalid object at column {}: {e}", e.column()))
    })
}

impl Cog {
    pub fn load(data: &DataDir) -> Result<Cog> {
        let communes_path = data.file(COMMUNES.file)?;
        let raw: Vec<RawCommune> = parse_checked(&communes_path, &super::contract::COG_COMMUNES)?;
        let epci_path = data.file(EPCI.file)?;
        let raw_epci: Vec<RawEpci> = parse_json(&epci_path)?;
        let deps_path = data.file(DEPARTEMENTS_FILE)?;
        let deps: Vec<RawArea> = parse_json(&deps_path)?;
        let regs_path = data.file(REGIONS_FILE)?;
        let regs: Vec<RawArea> = parse_json(&regs_path)?;
        let current = || raw.iter().filter(|c| c.kind == "commune-actuelle" || c.kind == "arrondissement-municipal");
        super::contract::check_single_membership(
            &epci_path,
            "EPCI",
            raw_epci.iter().flat_map(|e| e.membres.iter().map(|m| (m.code.as_str(), e.code.as_str()))),
        )?;
        let dep_codes: Vec<&str> = deps.iter().map(|d| d.code.as_str()).collect();
        let reg_codes: Vec<&str> = regs.iter().map(|r| r.code.as_str()).collect();
        super::contract::check_listed(
            &deps_path,
            "département",
            &dep_codes,
            current().filter_map(|c| Some((c.code.as_str(), c.departement.as_deref()?))),
        )?;
        super::contract::check_listed(
            &regs_path,
            "région",
            &reg_codes,
            current().filter_map(|c| Some((c.code.as_str(), c.region.as_deref()?))),
        )?;

        let mut epci_of: HashMap<String, String> = HashMap::new();
        let mut dgcl_of: HashMap<String, DgclPopulation> = HashMap::new();
        for e in &raw_epci {
            for m in &e.membres {
                epci_of.insert(m.code.clone(), e.code.clone());
                if let (Some(totale), Some(municipale)) = (m.population_totale, m.population_municipale) {
                    dgcl_of.insert(m.code.clone(), DgclPopulation { totale, municipale });
                }
            }
        }
        let mut units = Vec::with_capacity(35_100);
        for (i, c) in raw.into_iter().enumerate() {
            let kind = match c.kind.as_str() {
                "commune-actuelle" => UnitKind::Commune,
                "arrondissement-municipal" => UnitKind::Arrondissement,
                "commune-deleguee" | "commune-associee" => continue,
                other => {
                    return Err(Error::data(
                        Location::file(&communes_path).col("type"),
                        format!("object {i} ({}): unknown type \"{other}\"", c.code),
                    ))
                }
            };
            let missing = |field: &str| {
                Error::data(
                    Location::file(&communes_path).col(field),
                    format!("object {i} ({}) has no {field}", c.code),
                )
            };
            let epci = match kind {
                UnitKind::Commune => epci_of.get(&c.code).cloned(),
                UnitKind::Arrondissement => c.commune.as_ref().and_then(|p| epci_of.get(p).cloned()),
            };
            units.push(Unit {
                departement: c.departement.clone().ok_or_else(|| missing("departement"))?,
                region: c.region.clone().ok_or_else(|| missing("region"))?,
                zone: c.zone.clone().ok_or_else(|| missing("zone"))?,
                parent: if kind == UnitKind::Arrondissement {
                    Some(c.commune.clone().ok_or_else(|| missing("commune"))?)
                } else {
                    None
                },
                name: c.nom,
                kind,
                population: c.population,
                anciens_codes: c.anciens_codes,
                epci,
                // The DGCL lists Paris, Lyon and Marseille whole: their figure is not an
                // arrondissement's.
                dgcl: if kind == UnitKind::Commune { dgcl_of.get(&c.code).copied() } else { None },
                code: c.code,
            });
        }
        Ok(Cog {
            units,
            epcis: raw_epci
                .into_iter()
                .map(|e| Epci {
                    code: e.code,
                    name: e.nom,
                    kind: e.kind,
                    members: e.membres.into_iter().map(|m| m.code).collect(),
                })
                .collect(),
            departements: deps.into_iter().map(|d| Area { code: d.code, name: d.nom, region: d.region }).collect(),
            regions: regs.into_iter().map(|r| Area { code: r.code, name: r.nom, region: None }).collect(),
        })
    }

    pub fn epci_name(&self, code: &str) -> Option<&str> {
        self.epcis.iter().find(|e| e.code == code).map(|e| e.name.as_str())
    }
    pub fn departement_name(&self, code: &str) -> Option<&str> {
        self.departements.iter().find(|e| e.code == code).map(|e| e.name.as_str())
    }
    pub fn region_name(&self, code: &str) -> Option<&str> {
        self.regions.iter().find(|e| e.code == code).map(|e| e.name.as_str())
    }

    /// One row per unit (communes actuelles and arrondissements municipaux).
    pub fn units_frame(&self) -> Result<DataFrame> {
        let u = &self.units;
        let epci_names: HashMap<&str, &str> = self.epcis.iter().map(|e| (e.code.as_str(), e.name.as_str())).collect();
        let dep_names: HashMap<&str, &str> =
            self.departements.iter().map(|e| (e.code.as_str(), e.name.as_str())).collect();
        let reg_names: HashMap<&str, &str> = self.regions.iter().map(|e| (e.code.as_str(), e.name.as_str())).collect();
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
