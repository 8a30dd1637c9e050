//! What-if accessibility to GPs: an E2SFCA model of the DREES APL over COG 2026 units (communes,
//! and arrondissements for Paris, Lyon and Marseille), calibrated against DREES APL 2023, used to
//! move the DREES level by the change a scenario makes (add or remove GPs), and to find where
//! added GPs help a territory most. Method and what differs from DREES: docs/access.md.

pub mod calibrate;
pub mod e2sfca;
pub mod network;
pub mod scenario;

use std::collections::HashMap;

use compact_str::CompactString;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use network::Network;

/// Model parameters. Only `detour / speed` shapes travel times; `detour` is stated, the speed is
/// calibrated.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Road distance over great-circle distance.
    pub detour: f64,
    /// Mean road speed, km/h.
    pub speed_kmh: f64,
    /// Consultations and visits a year per GP (the DREES counts each GP's activity, with floors
    /// and caps; the model has counts only).
    pub consultations_per_gp: f64,
}

/// `data/reference/access.toml`: the parameters `cpts-diag access` calibrated.
pub const REFERENCE: &str = include_str!("../../data/reference/access.toml");

impl Params {
    /// The calibrated parameters shipped with the tool.
    pub fn reference() -> Params {
        toml::from_str(REFERENCE).expect("data/reference/access.toml is checked by the tests")
    }

    pub fn to_toml(&self) -> String {
        format!(
            "# Calibrated parameters of the what-if accessibility model (docs/access.md), used by `diagnose`\n\
             # for scenarios and GP placement. Written by `cpts-diag access --write-reference\n\
             # data/reference/access.toml` from DREES APL 2023; a real-data test checks that a fresh\n\
             # calibration gives these values.\n\
             detour = {:?}\nspeed_kmh = {:?}\nconsultations_per_gp = {:?}\n",
            self.detour, self.speed_kmh, self.consultations_per_gp
        )
    }

    pub fn minutes_per_km(&self) -> f64 {
        60.0 * self.detour / self.speed_kmh
    }

    /// Great-circle radius of the last decay band.
    pub fn radius_km(&self) -> f64 {
        e2sfca::MAX_MINUTES / self.minutes_per_km()
    }
}

/// Stated road detour factor (great-circle to road distance), the usual order of magnitude for
/// French rural roads; the calibration moves the speed, which has the same effect.
pub const DETOUR: f64 = 1.3;

/// The model's units: rows of the curated table that DREES gives an APL 2023 and that have a
/// centre; Paris, Lyon and Marseille by arrondissement, as DREES does.
#[derive(Debug, Clone, Default)]
pub struct Units {
    /// Codes and names inline (`CompactString`, up to 24 bytes): 35 000 units built on every
    /// `diagnose` were ~140 000 small allocations, a third of building them.
    pub code: Vec<CompactString>,
    pub name: Vec<CompactString>,
    pub lat: Vec<f64>,
    pub lon: Vec<f64>,
    /// DREES standardised population (the demand).
    pub demand: Vec<f64>,
    /// Population municipale (threshold counts, as DREES advises).
    pub population: Vec<f64>,
    /// GPs: RPPS when present, else BPE 2020; arrondissements get a population share of their
    /// city's BPE count (fractional).
    pub gps: Vec<f64>,
    pub apl_drees: Vec<f64>,
    pub epci: Vec<Option<CompactString>>,
    pub departement: Vec<CompactString>,
    /// Polars' hasher: built over the 35 000 units on every `diagnose` (SipHash was most of it).
    pub index: PlHashMap<CompactString, usize>,
    /// Units of the curated table left out of the model, with why (code, reason).
    pub left_out: Vec<(String, String)>,
    /// GPs of left-out units (their supply is not in the model).
    pub gps_left_out: f64,
}

// Columns read in place, in one chunk each: collected into vectors of options, the thirteen
// columns of 35 000 rows were ~9 MB of fresh memory on every `diagnose`.
fn str_col<'a>(df: &'a DataFrame, name: &str) -> Result<std::borrow::Cow<'a, StringChunked>> {
    Ok(df.column(name)?.str()?.rechunk())
}

// Cells of a one-chunk column by row: `ChunkedArray::get` looks the chunk up at every call
// (~56 instructions; [`Units::from_curated`]'s 560 000 reads were a third of its time).
fn str_at<'a>(ca: &'a StringChunked) -> impl Fn(usize) -> Option<&'a str> + 'a {
    let arr = ca.downcast_as_array();
    move |i| arr.get(i)
}

fn f64_at(ca: &Float64Chunked) -> impl Fn(usize) -> Option<f64> + '_ {
    let arr = ca.downcast_as_array();
    let (values, validity) = (arr.values().as_slice(), arr.validity());
    move |i| validity.is_none_or(|v| v.get_bit(i)).then(|| values[i])
}

fn f64_col(df: &DataFrame, name: &str) -> Result<Float64Chunked> {
    let c = df.column(name)?.cast(&DataType::Float64)?;
    Ok(c.f64()?.rechunk().into_owned())
}

impl Units {
    /// From the curated national table (schema [`crate::schema::COMMUNES`]).
    pub fn from_curated(curated: &DataFrame) -> Result<Units> {
        let no_unit = || {
            Error::Config(
                "unavailable: the curated table has no unit with both a DREES APL 2023 and a centre (comparateur de territoires)"
                    .into(),
            )
        };
        if curated.height() == 0 {
            return Err(no_unit());
        }
        let texts = ["code", "name", "kind", "parent_code", "departement", "epci"].map(|c| str_col(curated, c));
        let texts = texts.into_iter().collect::<Result<Vec<_>>>()?;
        let [code, name, kind, parent, dep, epci] = std::array::from_fn(|k| str_at(&texts[k]));
        let numbers =
            ["population", "apl_mg_2023", "apl_pop_std_2023", "gp_count_bpe2020", "gp_count_rpps", "lat", "lon"]
                .map(|c| f64_col(curated, c));
        let numbers = numbers.into_iter().collect::<Result<Vec<_>>>()?;
        let [pop, apl, pop_std, bpe, rpps, lat, lon] = std::array::from_fn(|k| f64_at(&numbers[k]));
        let n = curated.height();
        let gp_of = |i: usize| rpps(i).or(bpe(i));
        // Paris, Lyon and Marseille: the city row is replaced by its arrondissements, whose
        // BPE count (none) is the city's split by population share.
        let mut arr_pop: PlHashMap<&str, f64> = PlHashMap::default();
        for i in 0..n {
            if kind(i) == Some("arrondissement") {
                if let Some(p) = parent(i) {
                    *arr_pop.entry(p).or_default() += pop(i).unwrap_or(0.0);
                }
            }
        }
        let mut row_of: PlHashMap<&str, usize> = PlHashMap::with_capacity(n);
        row_of.extend((0..n).filter_map(|i| code(i).map(|c| (c, i))));
        // Sized once: growing ten vectors of 35 000 rows copied and faulted in each of them again.
        let mut u = Units {
            code: Vec::with_capacity(n),
            name: Vec::with_capacity(n),
            lat: Vec::with_capacity(n),
            lon: Vec::with_capacity(n),
            demand: Vec::with_capacity(n),
            population: Vec::with_capacity(n),
            gps: Vec::with_capacity(n),
            apl_drees: Vec::with_capacity(n),
            epci: Vec::with_capacity(n),
            departement: Vec::with_capacity(n),
            index: PlHashMap::with_capacity(n),
            ..Units::default()
        };
        for i in 0..n {
            let Some(c) = code(i) else { continue };
            if arr_pop.contains_key(c) {
                continue;
            }
            let gps = match (gp_of(i), kind(i), parent(i)) {
                (Some(g), _, _) => g,
                (None, Some("arrondissement"), Some(p)) => {
                    let city = row_of.get(p).and_then(|&r| gp_of(r)).unwrap_or(0.0);
                    let total = arr_pop.get(p).copied().unwrap_or(0.0);
                    if total > 0.0 {
                        city * pop(i).unwrap_or(0.0) / total
                    } else {
                        0.0
                    }
                }
                _ => 0.0,
            };
            let reason = match (apl(i), pop_std(i), lat(i), lon(i)) {
                (Some(_), Some(_), Some(_), Some(_)) => None,
                (None, _, _, _) | (_, None, _, _) => {
                    Some("no DREES APL 2023 (Mayotte, COM, uninhabited or re-created commune)")
                }
                _ => Some("no centre (commune absent from the comparateur de territoires 2024)"),
            };
            if let Some(r) = reason {
                u.gps_left_out += gps;
                u.left_out.push((c.to_string(), r.to_string()));
                continue;
            }
            u.index.insert(c.into(), u.code.len());
            u.code.push(c.into());
            u.name.push(name(i).unwrap_or_default().into());
            u.lat.push(lat(i).unwrap_or_default());
            u.lon.push(lon(i).unwrap_or_default());
            u.demand.push(pop_std(i).unwrap_or_default());
            u.population.push(pop(i).unwrap_or(0.0));
            u.gps.push(gps);
            u.apl_drees.push(apl(i).unwrap_or_default());
            u.epci.push(epci(i).map(CompactString::from));
            u.departement.push(dep(i).unwrap_or_default().into());
        }
        if u.code.is_empty() {
            return Err(no_unit());
        }
        Ok(u)
    }

    pub fn len(&self) -> usize {
        self.code.len()
    }

    pub fn is_empty(&self) -> bool {
        self.code.is_empty()
    }
}

/// The model on its units: neighbour lists within 20 minutes, decay weights, the demand each
/// supply point sees, and the baseline APL.
#[derive(Debug, Clone)]
pub struct Model {
    pub units: Units,
    pub params: Params,
    pub net: Network,
    pub weights: Vec<f64>,
    pub seen: Vec<f64>,
    /// The model's APL of every unit; empty for a model of a few rows ([`Model::for_rows`]).
    pub baseline: Vec<f64>,
}

impl Model {
    pub fn new(units: Units, params: Params) -> Model {
        let net = Network::build(&units.lat, &units.lon, params.radius_km());
        Model::on_network(units, params, net)
    }

    /// On a network built for a radius at least `params.radius_km()`.
    pub fn on_network(units: Units, params: Params, net: Network) -> Model {
        let weights = e2sfca::weights(&net, params.minutes_per_km());
        let seen = e2sfca::demand_seen(&net, &weights, &units.demand);
        let supply: Vec<f64> = units.gps.iter().map(|g| g * params.consultations_per_gp).collect();
        let baseline = e2sfca::accessibility(&net, &weights, &supply, &seen);
        Model { units, params, net, weights, seen, baseline }
    }

    /// The model of the rows `rows` only: what [`Model::delta`] needs for changes at those units,
    /// and nothing else (no baseline). A unit's row and the demand it sees depend only on the
    /// units within the radius, found as for the national network, so the changes are those of
    /// the national model, to the bit.
    pub fn for_rows(units: Units, params: Params, rows: &[usize]) -> Model {
        let net = Network::build_rows(&units.lat, &units.lon, params.radius_km(), Some(rows));
        let weights = e2sfca::weights(&net, params.minutes_per_km());
        let mut seen = vec![f64::NAN; net.len()];
        for &j in rows.iter().filter(|&&j| j < net.len()) {
            seen[j] = net.row(j).map(|e| weights[e] * units.demand[net.neighbour[e] as usize]).sum();
        }
        Model { units, params, net, weights, seen, baseline: Vec::new() }
    }

    /// Full recomputation of the APL for other GP counts (one per unit).
    pub fn apl_with(&self, gps: &[f64]) -> Vec<f64> {
        let supply: Vec<f64> = gps.iter().map(|g| g * self.params.consultations_per_gp).collect();
        e2sfca::accessibility(&self.net, &self.weights, &supply, &self.seen)
    }

    /// The change of APL that GP changes (unit index, GPs added, negative for removed) make, as
    /// (unit index, change) for every unit within 20 minutes of a change. Demand does not move
    /// with supply, so only the supply ratios of the changed units move: `ΔA_i = Σ_j w_ij ΔS_j / D_j`.
    pub fn delta(&self, changes: &[(usize, f64)]) -> Vec<(usize, f64)> {
        let mut acc: HashMap<usize, f64> = HashMap::new();
        for &(j, dg) in changes {
            assert!(!self.seen[j].is_nan(), "unit {} is not a row of this model", self.units.code[j]);
            if self.seen[j] <= 0.0 || dg == 0.0 {
                continue;
            }
            let r = dg * self.params.consultations_per_gp / self.seen[j];
            // The network is symmetric: row j lists every i that sees j, with w_ij = w_ji.
            for e in self.net.row(j) {
                if self.weights[e] > 0.0 {
                    *acc.entry(self.net.neighbour[e] as usize).or_default() += self.weights[e] * r;
                }
            }
        }
        let mut v: Vec<(usize, f64)> = acc.into_iter().collect();
        v.sort_unstable_by_key(|&(i, _)| i);
        v
    }
}

/// What `diagnose` adds with the model: scenario outcomes and the placement of added GPs.
#[derive(Debug, Clone, Serialize)]
pub struct WhatIf {
    pub params: Params,
    pub scenarios: Vec<scenario::Outcome>,
    pub placement: Option<scenario::Placement>,
    /// Territory codes the model has no unit for (no DREES APL, or a city modelled by arrondissement).
    pub not_modelled: Vec<String>,
    /// Wall-clock seconds: the model (neighbour lists and demand seen of the rows used), then the placement.
    #[serde(skip)]
    pub seconds: (f64, f64),
}

/// Scenarios and placement of `k` GPs for the territory `codes`, with the reference parameters.
pub fn what_if(
    curated: &DataFrame,
    codes: &[String],
    specs: &[crate::territory::ScenarioSpec],
    k: usize,
) -> Result<WhatIf> {
    what_if_on(Units::from_curated(curated)?, codes, specs, k)
}

/// [`what_if`] on units already read (the caller tells an absent source from a bad scenario).
/// The model holds only the rows the territory and the scenarios change (see [`Model::for_rows`]):
/// the same figures as [`what_if_national`], without the national neighbour search.
pub fn what_if_on(
    units: Units,
    codes: &[String],
    specs: &[crate::territory::ScenarioSpec],
    k: usize,
) -> Result<WhatIf> {
    let t = std::time::Instant::now();
    let mut rows: Vec<usize> = codes.iter().filter_map(|c| units.index.get(c.as_str()).copied()).collect();
    for s in specs {
        for code in s.add_gps.keys().chain(s.remove_gps.keys()) {
            rows.extend(units.index.get(code.trim()).copied());
        }
    }
    let model = Model::for_rows(units, Params::reference(), &rows);
    what_if_with(&model, t.elapsed().as_secs_f64(), codes, specs, k)
}

/// [`what_if_on`] on the whole national model (the reference the local model is tested against).
pub fn what_if_national(
    units: Units,
    codes: &[String],
    specs: &[crate::territory::ScenarioSpec],
    k: usize,
) -> Result<WhatIf> {
    let t = std::time::Instant::now();
    let model = Model::new(units, Params::reference());
    what_if_with(&model, t.elapsed().as_secs_f64(), codes, specs, k)
}

fn what_if_with(
    model: &Model,
    model_s: f64,
    codes: &[String],
    specs: &[crate::territory::ScenarioSpec],
    k: usize,
) -> Result<WhatIf> {
    let (inside, not_modelled) = scenario::members(model, codes);
    let mut scenarios = Vec::new();
    for s in specs {
        let c = scenario::check(model, s)?;
        scenarios.push(scenario::evaluate(model, &inside, &c));
    }
    let t = std::time::Instant::now();
    let placement = (k > 0 && !inside.is_empty()).then(|| scenario::place(model, &inside, k));
    let place_s = t.elapsed().as_secs_f64();
    Ok(WhatIf { params: model.params, scenarios, placement, not_modelled, seconds: (model_s, place_s) })
}
