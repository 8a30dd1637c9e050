//! The ACI CPTS grid (size bands and funding), loaded from `data/reference/aci.toml`: the figures
//! are data with their sources, and the file is embedded so the binary works from any folder.

use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const EMBEDDED: &str = include_str!("../data/reference/aci.toml");

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Band {
    pub taille: u8,
    pub label: String,
    pub min_population: i64,
    /// Inclusive; absent for the last band.
    pub max_population: Option<i64>,
    pub max_annual_funding_2019_eur: i64,
    pub fonctionnement_avenant2_eur: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Grid {
    pub title: String,
    pub population_basis: String,
    pub boundary_reading: String,
    pub bands_source: String,
    pub bands_source_url: String,
    pub max_funding_label: String,
    pub max_funding_source: String,
    pub max_funding_source_url: String,
    pub fonctionnement_label: String,
    pub fonctionnement_source: String,
    pub fonctionnement_source_url: String,
    #[serde(rename = "band")]
    pub bands: Vec<Band>,
}

/// Where a population falls in the grid.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Placement {
    pub taille: u8,
    pub label: String,
    pub max_annual_funding_2019_eur: i64,
    pub fonctionnement_avenant2_eur: i64,
    /// Inhabitants to add to reach the next band; `None` in the last band.
    pub inhabitants_to_next_band: Option<i64>,
    pub next_band_max_annual_funding_2019_eur: Option<i64>,
}

impl Grid {
    pub fn embedded() -> Grid {
        Grid::parse(EMBEDDED, "data/reference/aci.toml").expect("the embedded ACI grid is valid (tested)")
    }

    pub fn load(path: &Path) -> Result<Grid> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Grid::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Grid> {
        let g: Grid = toml::from_str(text).map_err(|e| Error::Config(format!("{origin}: {e}")))?;
        g.validate().map_err(|m| Error::Config(format!("{origin}: {m}")))?;
        Ok(g)
    }

    /// Bands must tile the integers from 0 upwards with no gap or overlap.
    fn validate(&self) -> std::result::Result<(), String> {
        let mut expect = 0;
        for (i, b) in self.bands.iter().enumerate() {
            if b.min_population != expect {
                return Err(format!("band {} starts at {} but should start at {expect}", b.taille, b.min_population));
            }
            match b.max_population {
                Some(m) if m < b.min_population => return Err(format!("band {} ends before it starts", b.taille)),
                Some(m) => expect = m + 1,
                None if i + 1 != self.bands.len() => return Err(format!("band {} has no max but is not the last", b.taille)),
                None => {}
            }
        }
        if self.bands.last().is_some_and(|b| b.max_population.is_some()) || self.bands.is_empty() {
            return Err("the last band must have no max_population".into());
        }
        Ok(())
    }

    pub fn place(&self, population: i64) -> Placement {
        let i = self
            .bands
            .iter()
            .position(|b| population >= b.min_population && b.max_population.is_none_or(|m| population <= m))
            .unwrap_or(0);
        let b = &self.bands[i];
        let next = self.bands.get(i + 1);
        Placement {
            taille: b.taille,
            label: b.label.clone(),
            max_annual_funding_2019_eur: b.max_annual_funding_2019_eur,
            fonctionnement_avenant2_eur: b.fonctionnement_avenant2_eur,
            inhabitants_to_next_band: next.map(|n| n.min_population - population),
            next_band_max_annual_funding_2019_eur: next.map(|n| n.max_annual_funding_2019_eur),
        }
    }

    /// Polars expressions giving `aci_band`, `aci_max_annual_funding_eur` and
    /// `aci_inhabitants_to_next_band` from a population column, for batch tables.
    pub fn exprs(&self, population: Expr) -> Vec<Expr> {
        let mut band = lit(NULL).cast(DataType::Float64);
        let mut funding = lit(NULL).cast(DataType::Float64);
        let mut to_next = lit(NULL).cast(DataType::Float64);
        // Each band wraps the previous ones, so the outermost test is the highest band's start.
        for (i, b) in self.bands.iter().enumerate() {
            let within = population.clone().gt_eq(lit(b.min_population as f64));
            band = when(within.clone()).then(lit(b.taille as f64)).otherwise(band);
            funding = when(within.clone()).then(lit(b.max_annual_funding_2019_eur as f64)).otherwise(funding);
            let next = match self.bands.get(i + 1) {
                Some(n) => lit(n.min_population as f64) - population.clone(),
                None => lit(NULL).cast(DataType::Float64),
            };
            to_next = when(within).then(next).otherwise(to_next);
        }
        vec![
            band.alias("aci_band"),
            funding.alias("aci_max_annual_funding_eur"),
            to_next.alias("aci_inhabitants_to_next_band"),
        ]
    }
}
