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

/// The population a territory is placed in the grid by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// Population municipale.
    Municipale,
    /// Population totale (municipale + comptée à part).
    Totale,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Municipale => "municipale",
            Basis::Totale => "totale",
        }
    }
    /// The other reading, shown beside the grid's.
    pub fn other(self) -> Basis {
        match self {
            Basis::Municipale => Basis::Totale,
            Basis::Totale => Basis::Municipale,
        }
    }
    /// French name, as in the report.
    pub fn label_fr(self) -> &'static str {
        match self {
            Basis::Municipale => "population municipale",
            Basis::Totale => "population totale",
        }
    }
    /// The indicator (and batch column) holding that population.
    pub fn indicator(self) -> &'static str {
        match self {
            Basis::Municipale => "population",
            Basis::Totale => "population_totale",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Grid {
    pub title: String,
    /// The population the bands count (`--population` overrides it for one run).
    pub population: Basis,
    pub population_basis_rule: String,
    pub population_basis_source: String,
    pub population_basis_source_url: String,
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
                None if i + 1 != self.bands.len() => {
                    return Err(format!("band {} has no max but is not the last", b.taille))
                }
                None => {}
            }
        }
        if self.bands.last().is_some_and(|b| b.max_population.is_some()) || self.bands.is_empty() {
            return Err("the last band must have no max_population".into());
        }
        Ok(())
    }

    /// The same grid counting `basis` (the `--population` override).
    pub fn with_basis(mut self, basis: Option<Basis>) -> Grid {
        if let Some(b) = basis {
            self.population = b;
        }
        self
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

    /// The band (Float64, null when `population` is) of a population column.
    pub fn band_expr(&self, population: Expr) -> Expr {
        self.exprs(population).swap_remove(0)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_edges_follow_the_documented_reading() {
        let g = Grid::embedded();
        let band = |p| g.place(p).taille;
        assert_eq!(band(0), 1);
        assert_eq!(band(39_999), 1);
        assert_eq!(band(40_000), 2);
        assert_eq!(band(79_999), 2);
        assert_eq!(band(80_000), 3);
        assert_eq!(band(175_000), 3);
        assert_eq!(band(175_001), 4);
        assert_eq!(g.place(39_574).inhabitants_to_next_band, Some(426));
        assert_eq!(g.place(175_000).inhabitants_to_next_band, Some(1));
        assert_eq!(g.place(200_000).inhabitants_to_next_band, None);
        let p = g.place(40_000);
        assert_eq!((p.max_annual_funding_2019_eur, p.fonctionnement_avenant2_eur), (287_000, 105_000));
        assert_eq!(p.next_band_max_annual_funding_2019_eur, Some(370_000));
    }

    #[test]
    fn polars_expressions_agree_with_place() {
        let pops = [0i64, 39_999, 40_000, 79_999, 80_000, 175_000, 175_001, 1_000_000];
        let g = Grid::embedded();
        let df = df!("population" => pops.to_vec()).unwrap();
        let out = df.lazy().select(g.exprs(col("population").cast(DataType::Float64))).collect().unwrap();
        for (i, p) in pops.iter().enumerate() {
            let want = g.place(*p);
            assert_eq!(out.column("aci_band").unwrap().f64().unwrap().get(i), Some(want.taille as f64), "{p}");
            assert_eq!(
                out.column("aci_max_annual_funding_eur").unwrap().f64().unwrap().get(i),
                Some(want.max_annual_funding_2019_eur as f64)
            );
            assert_eq!(
                out.column("aci_inhabitants_to_next_band").unwrap().f64().unwrap().get(i),
                want.inhabitants_to_next_band.map(|n| n as f64)
            );
        }
    }

    #[test]
    fn the_embedded_grid_counts_the_population_totale_and_can_be_overridden() {
        let g = Grid::embedded();
        assert_eq!(g.population, Basis::Totale);
        assert!(g.population_basis_rule.contains("population totale"));
        assert_eq!(g.clone().with_basis(Some(Basis::Municipale)).population, Basis::Municipale);
        assert_eq!(g.with_basis(None).population, Basis::Totale);
        let bad = EMBEDDED.replace("population = \"totale\"", "population = \"légale\"");
        assert!(Grid::parse(&bad, "aci.toml").is_err());
    }

    #[test]
    fn a_grid_with_a_gap_is_rejected() {
        let bad = EMBEDDED.replace("min_population = 40000", "min_population = 40001");
        let e = Grid::parse(&bad, "aci.toml").unwrap_err().to_string();
        assert!(e.contains("aci.toml: band 2 starts at 40001 but should start at 40000"), "{e}");
    }
}
