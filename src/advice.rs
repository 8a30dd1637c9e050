//! Band-sizing advice: which neighbouring communes would move the territory into the next ACI
//! band, and, for a territory in a band above the first, which of its communes it cannot lose.
//!
//! Neighbours are communes sharing a border with the territory (see `geo`), so adding any set of
//! them keeps the territory in one piece. Sets are ranked by fewest communes, then fewest extra
//! inhabitants (a founder wants to reach the band while changing the project the least).

use polars::prelude::*;
use serde::Serialize;

use crate::aci::{Basis, Grid, Placement};
use crate::diagnose::Diagnosis;
use crate::error::Result;
use crate::geo::territory::{analyse, Neighbour, TerritoryGeometry};
use crate::geo::Geography;
use crate::transforms::cog::CogIndex;

/// A neighbouring commune with what founders weigh before inviting it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NeighbourFacts {
    pub code: String,
    pub name: String,
    pub departement: String,
    pub population: Option<i64>,
    /// Population totale (see the curated `population_totale_vintage` for its millésime).
    pub population_totale: Option<i64>,
    /// BPE 2020 médecins généralistes libéraux.
    pub gp_count: Option<i64>,
    pub gp_per_10k: Option<f64>,
    /// DREES APL 2023.
    pub apl_mg: Option<f64>,
    pub border_km: f64,
    /// Members of the territory it borders.
    pub borders: Vec<String>,
}

/// A set of neighbours that reaches the next band.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Combination {
    pub codes: Vec<String>,
    pub names: Vec<String>,
    pub added_population: i64,
    pub new_population: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NextBand {
    pub taille: u8,
    pub label: String,
    pub min_population: i64,
    /// Inhabitants missing to reach it.
    pub shortfall: i64,
    pub max_annual_funding_2019_eur: i64,
    pub fonctionnement_avenant2_eur: i64,
    /// Gain in maximum annual funding over the current band.
    pub funding_gain_eur: i64,
    /// Smallest number of neighbours that reaches the band (`None`: all neighbours together do not).
    pub fewest_communes: Option<usize>,
    /// Best sets first (at most [`MAX_OPTIONS`]).
    pub options: Vec<Combination>,
    /// Total number of sets of `fewest_communes` neighbours that reach the band.
    pub options_count: usize,
    /// How the options were found, or why there are none (French: the report shows it).
    pub note: String,
}

/// A member whose departure would drop the territory into the band below.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Essential {
    pub code: String,
    pub name: String,
    pub population: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KeepBand {
    pub taille: u8,
    pub min_population: i64,
    /// Inhabitants above the band's lower bound.
    pub margin: i64,
    pub lower_band_max_annual_funding_2019_eur: i64,
    /// Members with more inhabitants than the margin, largest first.
    pub essential: Vec<Essential>,
}

impl NeighbourFacts {
    pub fn population_on(&self, basis: Basis) -> Option<i64> {
        match basis {
            Basis::Municipale => self.population,
            Basis::Totale => self.population_totale,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Advice {
    /// The population the advice counts (the grid's basis, or the municipale when the territory's
    /// population totale is unknown), and the territory's figure on it.
    pub basis: Basis,
    pub population: i64,
    pub placement: Placement,
    /// The territory's population and band on the other basis, shown beside the advice.
    pub other_population: Option<i64>,
    pub other_placement: Option<Placement>,
    /// Sorted by population, largest first (unknown populations last).
    pub neighbours: Vec<NeighbourFacts>,
    pub next_band: Option<NextBand>,
    pub keep_band: Option<KeepBand>,
}

pub const MAX_OPTIONS: usize = 10;
/// Above this many sets to examine, the search stops and says so.
const MAX_VISITS: usize = 2_000_000;

fn strs(df: &DataFrame, c: &str) -> Result<Vec<Option<String>>> {
    Ok(df.column(c)?.str()?.iter().map(|s| s.map(str::to_string)).collect())
}

fn ints(df: &DataFrame, c: &str) -> Result<Vec<Option<i64>>> {
    Ok(df.column(c)?.cast(&DataType::Int64)?.i64()?.iter().collect())
}

fn floats(df: &DataFrame, c: &str) -> Result<Vec<Option<f64>>> {
    Ok(df.column(c)?.cast(&DataType::Float64)?.f64()?.iter().collect())
}

/// Facts on the neighbours from the curated table.
pub fn neighbour_facts(curated: &DataFrame, neighbours: &[Neighbour]) -> Result<Vec<NeighbourFacts>> {
    let codes: Vec<String> = neighbours.iter().map(|n| n.code.clone()).collect();
    let rows = crate::diagnose::select_units(curated, &codes)?;
    let (code, name, dep) = (strs(&rows, "code")?, strs(&rows, "name")?, strs(&rows, "departement")?);
    let (pop, gp, apl) = (ints(&rows, "population")?, ints(&rows, "gp_count_bpe2020")?, floats(&rows, "apl_mg_2023")?);
    let totale = ints(&rows, "population_totale")?;
    let mut out = Vec::new();
    for n in neighbours {
        let Some(i) = code.iter().position(|c| c.as_deref() == Some(n.code.as_str())) else {
            continue;
        };
        let gp_per_10k = match (gp[i], pop[i]) {
            (Some(g), Some(p)) if p > 0 => Some(g as f64 * 10_000.0 / p as f64),
            _ => None,
        };
        out.push(NeighbourFacts {
            code: n.code.clone(),
            name: name[i].clone().unwrap_or_default(),
            departement: dep[i].clone().unwrap_or_default(),
            population: pop[i],
            population_totale: totale[i],
            gp_count: gp[i],
            gp_per_10k,
            apl_mg: apl[i],
            border_km: n.border_km,
            borders: n.borders.clone(),
        });
    }
    out.sort_by(|a, b| b.population.unwrap_or(-1).cmp(&a.population.unwrap_or(-1)).then_with(|| a.code.cmp(&b.code)));
    Ok(out)
}

/// All sets of exactly `k` items (populations sorted descending) whose sum reaches `need`,
/// visiting at most `budget` nodes. Returns (sets as indices with their sum, complete?).
fn sets_reaching(pops: &[i64], k: usize, need: i64, budget: usize) -> (Vec<(Vec<usize>, i64)>, bool) {
    let mut found = Vec::new();
    let mut visits = 0usize;
    let mut stack: Vec<usize> = Vec::with_capacity(k);
    fn best_rest(pops: &[i64], from: usize, j: usize) -> i64 {
        pops[from..].iter().take(j).sum()
    }
    #[allow(clippy::too_many_arguments)]
    fn go(
        pops: &[i64],
        k: usize,
        need: i64,
        from: usize,
        sum: i64,
        stack: &mut Vec<usize>,
        found: &mut Vec<(Vec<usize>, i64)>,
        visits: &mut usize,
        budget: usize,
    ) -> bool {
        if stack.len() == k {
            if sum >= need {
                found.push((stack.clone(), sum));
            }
            return true;
        }
        let left = k - stack.len();
        for i in from..pops.len() {
            if pops.len() - i < left {
                break;
            }
            // Sorted descending: if the best completion from here falls short, later ones do too.
            if sum + best_rest(pops, i, left) < need {
                break;
            }
            *visits += 1;
            if *visits > budget {
                return false;
            }
            stack.push(i);
            let ok = go(pops, k, need, i + 1, sum + pops[i], stack, found, visits, budget);
            stack.pop();
            if !ok {
                return false;
            }
        }
        true
    }
    let complete = go(pops, k, need, 0, 0, &mut stack, &mut found, &mut visits, budget);
    (found, complete)
}

fn next_band(grid: &Grid, placement: &Placement, population: i64, neighbours: &[NeighbourFacts]) -> Option<NextBand> {
    let i = grid.bands.iter().position(|b| b.taille == placement.taille)?;
    let next = grid.bands.get(i + 1)?;
    let shortfall = next.min_population - population;
    let basis = grid.population;
    let mut known: Vec<&NeighbourFacts> =
        neighbours.iter().filter(|n| n.population_on(basis).is_some_and(|p| p > 0)).collect();
    // `sets_reaching` wants populations sorted descending, on the basis counted.
    known.sort_by_key(|n| std::cmp::Reverse(n.population_on(basis)));
    let pops: Vec<i64> = known.iter().map(|n| n.population_on(basis).unwrap_or(0)).collect();
    let mut total = 0;
    let fewest = pops.iter().position(|p| {
        total += p;
        total >= shortfall
    });
    let (mut options, mut count, note) = match fewest {
        None => (
            Vec::new(),
            0,
            format!(
                "les {} communes voisines réunies n'apportent que {} habitants, moins que les {shortfall} manquants : il faudrait aller au-delà des voisines",
                known.len(),
                pops.iter().sum::<i64>()
            ),
        ),
        Some(k0) => {
            let k = k0 + 1;
            let (sets, complete) = sets_reaching(&pops, k, shortfall, MAX_VISITS);
            let n = sets.len();
            let mut v: Vec<Combination> = sets
                .into_iter()
                .map(|(ix, sum)| Combination {
                    codes: ix.iter().map(|&i| known[i].code.clone()).collect(),
                    names: ix.iter().map(|&i| known[i].name.clone()).collect(),
                    added_population: sum,
                    new_population: population + sum,
                })
                .collect();
            v.sort_by(|a, b| a.added_population.cmp(&b.added_population).then_with(|| a.codes.cmp(&b.codes)));
            let note = if complete {
                format!("tous les ensembles de {k} commune(s) voisine(s) ont été examinés ; classés par nombre d'habitants ajoutés, le plus petit d'abord")
            } else {
                format!("recherche arrêtée après {MAX_VISITS} ensembles de {k} communes voisines : les ensembles montrés sont les meilleurs trouvés, pas forcément les meilleurs")
            };
            (v, n, note)
        }
    };
    count = count.max(options.len());
    options.truncate(MAX_OPTIONS);
    Some(NextBand {
        taille: next.taille,
        label: next.label.clone(),
        min_population: next.min_population,
        shortfall,
        max_annual_funding_2019_eur: next.max_annual_funding_2019_eur,
        fonctionnement_avenant2_eur: next.fonctionnement_avenant2_eur,
        funding_gain_eur: next.max_annual_funding_2019_eur - placement.max_annual_funding_2019_eur,
        fewest_communes: fewest.map(|k| k + 1),
        options,
        options_count: count,
        note,
    })
}

fn keep_band(grid: &Grid, placement: &Placement, population: i64, members: &DataFrame) -> Result<Option<KeepBand>> {
    let Some(i) = grid.bands.iter().position(|b| b.taille == placement.taille) else {
        return Ok(None);
    };
    if i == 0 {
        return Ok(None);
    }
    let band = &grid.bands[i];
    let margin = population - band.min_population;
    let (code, name) = (strs(members, "code")?, strs(members, "name")?);
    let pop = ints(members, grid.population.indicator())?;
    let mut essential: Vec<Essential> = (0..members.height())
        .filter_map(|r| {
            let p = pop[r]?;
            (p > margin).then(|| Essential {
                code: code[r].clone().unwrap_or_default(),
                name: name[r].clone().unwrap_or_default(),
                population: p,
            })
        })
        .collect();
    essential.sort_by(|a, b| b.population.cmp(&a.population).then_with(|| a.code.cmp(&b.code)));
    Ok(Some(KeepBand {
        taille: band.taille,
        min_population: band.min_population,
        margin,
        lower_band_max_annual_funding_2019_eur: grid.bands[i - 1].max_annual_funding_2019_eur,
        essential,
    }))
}

/// The advice for a territory of `population` inhabitants whose unit rows are `members`.
pub fn advise(grid: &Grid, population: i64, members: &DataFrame, neighbours: Vec<NeighbourFacts>) -> Result<Advice> {
    let placement = grid.place(population);
    let next_band = next_band(grid, &placement, population, &neighbours);
    let keep_band = keep_band(grid, &placement, population, members)?;
    Ok(Advice {
        basis: grid.population,
        population,
        placement,
        other_population: None,
        other_placement: None,
        neighbours,
        next_band,
        keep_band,
    })
}

/// What `diagnose` knows around a territory: its geometry, the sizing advice, and the curated
/// rows of the communes drawn around it (neighbours and enclaves).
pub struct Surroundings {
    pub geometry: TerritoryGeometry,
    pub advice: Advice,
    pub others: DataFrame,
}

pub fn surroundings(
    geography: &Geography,
    index: &CogIndex,
    d: &Diagnosis,
    curated: &DataFrame,
    grid: &Grid,
) -> Result<Surroundings> {
    surroundings_of(neighbourhood(geography, index, &d.territory.codes, curated)?, d, curated, grid)
}

/// The part of [`surroundings`] that needs only the territory's codes, not its indicators (so
/// that `diagnose` runs it alongside them): its geometry and the facts of its neighbours.
pub fn neighbourhood(
    geography: &Geography,
    index: &CogIndex,
    codes: &[String],
    curated: &DataFrame,
) -> Result<(TerritoryGeometry, Vec<NeighbourFacts>)> {
    let geometry = analyse(geography, codes, index);
    let facts = neighbour_facts(curated, &geometry.neighbours)?;
    Ok((geometry, facts))
}

/// [`surroundings`] from the [`neighbourhood`] of `d`'s territory.
pub fn surroundings_of(
    (geometry, facts): (TerritoryGeometry, Vec<NeighbourFacts>),
    d: &Diagnosis,
    curated: &DataFrame,
    grid: &Grid,
) -> Result<Surroundings> {
    let value = |b: Basis| d.territory().value(b.indicator()).map(|p| p.round() as i64);
    // Without a population totale (arrondissements without INSEE's file), the municipale.
    let grid = match value(grid.population) {
        Some(_) => grid.clone(),
        None => grid.clone().with_basis(Some(Basis::Municipale)),
    };
    let population = value(grid.population).unwrap_or(0);
    let mut advice = advise(&grid, population, &d.units, facts)?;
    let other = grid.population.other();
    advice.other_population = value(other);
    advice.other_placement = advice.other_population.map(|p| grid.place(p));
    let mut others: Vec<String> = geometry.neighbours.iter().map(|n| n.code.clone()).collect();
    others.extend(geometry.enclaves.iter().flatten().cloned());
    others.sort();
    others.dedup();
    let others = crate::diagnose::select_units(curated, &others)?;
    Ok(Surroundings { geometry, advice, others })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(code: &str, pop: i64) -> NeighbourFacts {
        NeighbourFacts {
            code: code.into(),
            name: format!("N{code}"),
            departement: "28".into(),
            population: Some(pop),
            population_totale: Some(pop),
            gp_count: None,
            gp_per_10k: None,
            apl_mg: None,
            border_km: 1.0,
            borders: vec![],
        }
    }

    fn members(rows: &[(&str, i64)]) -> DataFrame {
        df!(
            "code" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            "name" => rows.iter().map(|r| format!("M{}", r.0)).collect::<Vec<_>>(),
            "population" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            "population_totale" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn single_neighbours_ranked_by_fewest_extra_inhabitants() {
        let g = Grid::embedded();
        let mut n = vec![facts("1", 300), facts("2", 5000), facts("3", 430), facts("4", 426), facts("5", 100)];
        n.sort_by_key(|f| std::cmp::Reverse(f.population));
        let a = advise(&g, 39_574, &members(&[("9", 39_574)]), n).unwrap();
        let nb = a.next_band.unwrap();
        assert_eq!((nb.taille, nb.shortfall, nb.fewest_communes, nb.options_count), (2, 426, Some(1), 3));
        let order: Vec<&str> = nb.options.iter().map(|o| o.codes[0].as_str()).collect();
        assert_eq!(order, vec!["4", "3", "2"]);
        assert_eq!(nb.options[0].new_population, 40_000);
        assert_eq!(nb.max_annual_funding_2019_eur, g.bands[1].max_annual_funding_2019_eur);
        assert!(a.keep_band.is_none(), "taille 1 has no band below");
    }

    #[test]
    fn pairs_when_no_single_neighbour_suffices() {
        let g = Grid::embedded();
        let n = vec![facts("1", 300), facts("2", 200), facts("3", 150), facts("4", 10)];
        let a = advise(&g, 39_500, &members(&[("9", 39_500)]), n).unwrap();
        let nb = a.next_band.unwrap();
        assert_eq!(nb.fewest_communes, Some(2));
        assert_eq!(nb.options_count, 1);
        assert_eq!(nb.options[0].codes, vec!["1".to_string(), "2".to_string()]);
        let short = advise(&g, 30_000, &members(&[("9", 30_000)]), vec![facts("1", 300)]).unwrap().next_band.unwrap();
        assert_eq!((short.fewest_communes, short.options.len()), (None, 0));
        assert!(short.note.contains("moins que les 10000"), "{}", short.note);
    }

    #[test]
    fn communes_a_territory_just_above_a_threshold_cannot_lose() {
        let g = Grid::embedded();
        let m = members(&[("a", 30_000), ("b", 6_000), ("c", 4_500), ("d", 100)]);
        let a = advise(&g, 40_600, &m, vec![]).unwrap();
        let k = a.keep_band.unwrap();
        assert_eq!((k.taille, k.margin), (2, 600));
        let codes: Vec<&str> = k.essential.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, vec!["a", "b", "c"]);
    }

    #[test]
    fn search_budget_is_reported() {
        let pops: Vec<i64> = (0..40).map(|i| 1000 - i).collect();
        let (sets, complete) = sets_reaching(&pops, 5, 1, 50);
        assert!(!complete);
        assert!(sets.len() <= 50);
    }
}
