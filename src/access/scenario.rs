//! Scenarios (GPs added or removed) and the greedy placement of added GPs, for one territory.
//! A scenario's APL is the DREES APL 2023 plus the model's change: DREES stays the level, the
//! model carries the difference.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::Model;
use crate::error::{Error, Result};
use crate::indicators::APL_THRESHOLD;
use crate::territory::ScenarioSpec;

/// A scenario checked against the model: (unit index, GP change).
#[derive(Debug, Clone)]
pub struct Checked {
    pub name: String,
    pub changes: Vec<(usize, f64)>,
}

/// Refuse unknown codes, negative counts and removals larger than a unit's GPs, naming them.
pub fn check(model: &Model, spec: &ScenarioSpec) -> Result<Checked> {
    let err = |m: String| Error::Config(format!("scenario \"{}\": {m}", spec.name));
    let mut net: BTreeMap<usize, f64> = BTreeMap::new();
    for (field, map, sign) in [("add_gps", &spec.add_gps, 1.0), ("remove_gps", &spec.remove_gps, -1.0)] {
        for (code, &n) in map {
            let Some(&i) = model.units.index.get(code.trim()) else {
                let hint = if ["75056", "69123", "13055"].contains(&code.trim()) {
                    " (Paris, Lyon and Marseille are modelled by arrondissement: give 75101…, 69381…, 13201…)"
                } else {
                    ""
                };
                return Err(err(format!(
                    "{field}: unknown code \"{code}\": not a COG 2026 unit with a DREES APL 2023{hint}"
                )));
            };
            if n < 0 {
                return Err(err(format!("{field}: negative count {n} for \"{code}\" (use add_gps or remove_gps)")));
            }
            if sign < 0.0 && n as f64 > model.units.gps[i] + 1e-9 {
                return Err(err(format!(
                    "remove_gps: {n} GPs removed from \"{code}\" ({}), which has {}",
                    model.units.name[i],
                    fmt_gps(model.units.gps[i])
                )));
            }
            *net.entry(i).or_default() += sign * n as f64;
        }
    }
    Ok(Checked { name: spec.name.clone(), changes: net.into_iter().collect() })
}

fn fmt_gps(g: f64) -> String {
    if g.fract() == 0.0 {
        format!("{g}")
    } else {
        format!("{g:.2}")
    }
}

/// `28061=2,28103=-3` (negative: removal), the `--add-gps` form of `diagnose`.
pub fn parse_cli(text: &str) -> Result<ScenarioSpec> {
    let mut spec = ScenarioSpec { name: format!("--add-gps {text}"), ..Default::default() };
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (code, n) = part
            .split_once('=')
            .ok_or_else(|| Error::Config(format!("--add-gps: \"{part}\" is not CODE=COUNT (e.g. 28061=2)")))?;
        let n: i64 = n
            .trim()
            .parse()
            .map_err(|_| Error::Config(format!("--add-gps: \"{part}\": the count \"{n}\" is not a whole number")))?;
        if n >= 0 {
            *spec.add_gps.entry(code.trim().to_string()).or_default() += n;
        } else {
            *spec.remove_gps.entry(code.trim().to_string()).or_default() += -n;
        }
    }
    Ok(spec)
}

#[derive(Debug, Clone, Serialize)]
pub struct Crossing {
    pub code: String,
    pub name: String,
    /// `up` (lifted to 2.5 or more) or `down` (fallen under 2.5).
    pub direction: &'static str,
    pub apl_before: f64,
    pub apl_after: f64,
    pub population: f64,
    pub in_territory: bool,
}

/// One row of `scenarios.parquet`.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub code: String,
    pub baseline: f64,
    pub scenario: f64,
    pub delta: f64,
    pub population: f64,
    pub in_territory: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub name: String,
    pub gp_changes: BTreeMap<String, f64>,
    /// Territory APL (weighted by standardised population), baseline = DREES 2023.
    pub apl_mg_baseline: f64,
    pub apl_mg: f64,
    pub population_apl_below_2_5_baseline: f64,
    pub population_apl_below_2_5: f64,
    pub communes_crossing: Vec<Crossing>,
    /// Units outside the territory whose APL moves (effects spill over the boundary).
    pub outside_units_changed: usize,
    #[serde(skip)]
    pub rows: Vec<Row>,
}

/// Territory indices in the model, and codes of the territory the model has no unit for.
pub fn members(model: &Model, codes: &[String]) -> (Vec<usize>, Vec<String>) {
    let mut inside = Vec::new();
    let mut missing = Vec::new();
    for c in codes {
        match model.units.index.get(c.as_str()) {
            Some(&i) => inside.push(i),
            None => missing.push(c.clone()),
        }
    }
    (inside, missing)
}

fn weighted_apl(model: &Model, inside: &[usize], apl: impl Fn(usize) -> f64) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for &i in inside {
        num += model.units.demand[i] * apl(i);
        den += model.units.demand[i];
    }
    num / den
}

fn below(model: &Model, inside: &[usize], apl: impl Fn(usize) -> f64) -> f64 {
    inside.iter().filter(|&&i| apl(i) < APL_THRESHOLD).map(|&i| model.units.population[i]).sum()
}

/// Evaluate a checked scenario for a territory (its model unit indices).
pub fn evaluate(model: &Model, inside: &[usize], s: &Checked) -> Outcome {
    let delta: HashMap<usize, f64> = model.delta(&s.changes).into_iter().collect();
    let u = &model.units;
    let base = |i: usize| u.apl_drees[i];
    let after = |i: usize| u.apl_drees[i] + delta.get(&i).copied().unwrap_or(0.0);
    let in_set: std::collections::HashSet<usize> = inside.iter().copied().collect();
    let mut rows: Vec<Row> = inside
        .iter()
        .map(|&i| Row {
            code: u.code[i].to_string(),
            baseline: base(i),
            scenario: after(i),
            delta: after(i) - base(i),
            population: u.population[i],
            in_territory: true,
        })
        .collect();
    let mut outside: Vec<usize> =
        delta.iter().filter(|(i, d)| !in_set.contains(i) && **d != 0.0).map(|(&i, _)| i).collect();
    outside.sort_unstable();
    for &i in &outside {
        rows.push(Row {
            code: u.code[i].to_string(),
            baseline: base(i),
            scenario: after(i),
            delta: after(i) - base(i),
            population: u.population[i],
            in_territory: false,
        });
    }
    let mut communes_crossing = Vec::new();
    for r in &rows {
        let (b, a) = (r.baseline < APL_THRESHOLD, r.scenario < APL_THRESHOLD);
        if b != a {
            let i = u.index[r.code.as_str()];
            communes_crossing.push(Crossing {
                code: r.code.clone(),
                name: u.name[i].to_string(),
                direction: if b { "up" } else { "down" },
                apl_before: r.baseline,
                apl_after: r.scenario,
                population: r.population,
                in_territory: r.in_territory,
            });
        }
    }
    Outcome {
        name: s.name.clone(),
        gp_changes: s.changes.iter().map(|&(i, g)| (u.code[i].to_string(), g)).collect(),
        apl_mg_baseline: weighted_apl(model, inside, base),
        apl_mg: weighted_apl(model, inside, after),
        population_apl_below_2_5_baseline: below(model, inside, base),
        population_apl_below_2_5: below(model, inside, after),
        communes_crossing,
        outside_units_changed: outside.len(),
        rows,
    }
}

/// One added GP at a commune of the territory.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub code: String,
    pub name: String,
    /// Inhabitants of the territory lifted to an APL of 2.5 or more.
    pub lifted: f64,
    /// Gain of the territory's weighted APL.
    pub apl_gain: f64,
}

/// A step of the greedy plan: the k-th GP and where it goes.
#[derive(Debug, Clone, Serialize)]
pub struct Pick {
    pub code: String,
    pub name: String,
    pub lifted_total: f64,
    pub apl_mg: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Placement {
    /// Every commune of the territory for one added GP, by inhabitants lifted then APL gain.
    pub by_lifted: Vec<Candidate>,
    /// The same, by APL gain.
    pub by_apl_gain: Vec<Candidate>,
    /// Best k added GPs chosen one at a time (most inhabitants lifted, then most APL gained).
    pub greedy: Vec<Pick>,
    pub apl_mg_baseline: f64,
    pub population_apl_below_2_5_baseline: f64,
}

/// Where added GPs help the territory most: one GP anywhere in it, and `k` GPs greedily.
pub fn place(model: &Model, inside: &[usize], k: usize) -> Placement {
    let u = &model.units;
    let pos: HashMap<usize, usize> = inside.iter().enumerate().map(|(p, &i)| (i, p)).collect();
    let total: f64 = inside.iter().map(|&i| u.demand[i]).sum();
    // One GP's effect on the territory's units, per candidate: linear, so it adds up.
    let effect: Vec<Vec<(usize, f64)>> = inside
        .iter()
        .map(|&j| model.delta(&[(j, 1.0)]).into_iter().filter_map(|(i, d)| pos.get(&i).map(|&p| (p, d))).collect())
        .collect();
    let score = |apl: &[f64], e: &[(usize, f64)]| {
        let mut lifted = 0.0;
        let mut gain = 0.0;
        for &(p, d) in e {
            let i = inside[p];
            if apl[p] < APL_THRESHOLD && apl[p] + d >= APL_THRESHOLD {
                lifted += u.population[i];
            }
            gain += u.demand[i] * d / total;
        }
        (lifted, gain)
    };
    let mut apl: Vec<f64> = inside.iter().map(|&i| u.apl_drees[i]).collect();
    let apl_mg_baseline = weighted_apl(model, inside, |i| u.apl_drees[i]);
    let population_apl_below_2_5_baseline = below(model, inside, |i| u.apl_drees[i]);
    let candidates: Vec<Candidate> = inside
        .iter()
        .zip(&effect)
        .map(|(&j, e)| {
            let (lifted, apl_gain) = score(&apl, e);
            Candidate { code: u.code[j].to_string(), name: u.name[j].to_string(), lifted, apl_gain }
        })
        .collect();
    let better = |a: (f64, f64), b: (f64, f64)| a.0 > b.0 || (a.0 == b.0 && a.1 > b.1);
    let mut by_lifted = candidates.clone();
    by_lifted.sort_by(|a, b| b.lifted.total_cmp(&a.lifted).then(b.apl_gain.total_cmp(&a.apl_gain)));
    let mut by_apl_gain = candidates;
    by_apl_gain.sort_by(|a, b| b.apl_gain.total_cmp(&a.apl_gain));
    let mut greedy = Vec::new();
    let (mut lifted_total, mut apl_mg) = (0.0, apl_mg_baseline);
    for _ in 0..k.min(if inside.is_empty() { 0 } else { k }) {
        let mut best: Option<(usize, (f64, f64))> = None;
        for (c, e) in effect.iter().enumerate() {
            let s = score(&apl, e);
            if best.is_none_or(|(_, b)| better(s, b)) {
                best = Some((c, s));
            }
        }
        let Some((c, (lifted, gain))) = best else { break };
        for &(p, d) in &effect[c] {
            apl[p] += d;
        }
        lifted_total += lifted;
        apl_mg += gain;
        greedy.push(Pick {
            code: u.code[inside[c]].to_string(),
            name: u.name[inside[c]].to_string(),
            lifted_total,
            apl_mg,
        });
    }
    Placement { by_lifted, by_apl_gain, greedy, apl_mg_baseline, population_apl_below_2_5_baseline }
}
