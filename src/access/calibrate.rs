//! Calibration against DREES APL 2023: the speed that ranks communes most like DREES (Spearman at
//! commune level), then the consultations per GP that fit the level (least squares weighted by the
//! standardised population). Agreement is reported at commune, EPCI and département levels.

use std::collections::BTreeMap;

use serde::Serialize;

use super::e2sfca;
use super::network::Network;
use super::{Model, Params, Units, DETOUR};

/// Speeds tried, km/h (with the stated detour factor).
pub const SPEEDS_KMH: [f64; 13] = [30.0, 35.0, 40.0, 45.0, 50.0, 55.0, 60.0, 65.0, 70.0, 75.0, 80.0, 90.0, 100.0];

#[derive(Debug, Clone, Serialize)]
pub struct LevelFit {
    /// `commune`, `epci` or `departement`.
    pub level: String,
    /// Units compared (aggregates weighted by standardised population, the DREES rule).
    pub n: usize,
    pub spearman: f64,
    pub pearson: f64,
    /// Median of |model − DREES|, consultations/an/habitant standardisé.
    pub median_abs_error: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchStep {
    pub speed_kmh: f64,
    pub spearman_commune: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub params: Params,
    pub minutes_per_km: f64,
    pub radius_km: f64,
    pub units: usize,
    pub pairs_within_20_min: usize,
    pub levels: Vec<LevelFit>,
    pub search: Vec<SearchStep>,
    pub units_left_out: usize,
    pub gps_in_model: f64,
    pub gps_left_out: f64,
}

/// Ranks from 1, ties sharing their mean rank.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = mean;
        }
        i = j + 1;
    }
    r
}

pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    sxy / (sxx * syy).sqrt()
}

pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn fit(level: &str, model: &[f64], drees: &[f64]) -> LevelFit {
    LevelFit {
        level: level.into(),
        n: model.len(),
        spearman: spearman(model, drees),
        pearson: pearson(model, drees),
        median_abs_error: median(model.iter().zip(drees).map(|(a, b)| (a - b).abs()).collect()),
    }
}

/// Model and DREES averaged per group with the standardised population as weight.
fn grouped(units: &Units, model: &[f64], key: impl Fn(usize) -> Option<String>) -> (Vec<f64>, Vec<f64>) {
    let mut g: BTreeMap<String, [f64; 3]> = BTreeMap::new();
    for (i, &m) in model.iter().enumerate() {
        if let Some(k) = key(i) {
            let e = g.entry(k).or_default();
            e[0] += units.demand[i] * m;
            e[1] += units.demand[i] * units.apl_drees[i];
            e[2] += units.demand[i];
        }
    }
    g.values().filter(|e| e[2] > 0.0).map(|e| (e[0] / e[2], e[1] / e[2])).unzip()
}

/// Agreement of an APL vector with DREES at the three levels.
pub fn levels(units: &Units, model: &[f64]) -> Vec<LevelFit> {
    let mut out = vec![fit("commune", model, &units.apl_drees)];
    let (m, d) = grouped(units, model, |i| units.epci[i].as_ref().map(|e| e.to_string()));
    out.push(fit("epci", &m, &d));
    let (m, d) = grouped(units, model, |i| Some(units.departement[i].to_string()));
    out.push(fit("departement", &m, &d));
    out
}

/// Least-squares scale of a model run with one consultation per GP, weighted by standardised
/// population: `argmin_c Σ P (DREES − c·a)²`.
pub fn scale(units: &Units, unit_apl: &[f64]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for ((&p, &a), &d) in units.demand.iter().zip(unit_apl).zip(&units.apl_drees) {
        num += p * a * d;
        den += p * a * a;
    }
    num / den
}

/// Search the speed, fit the consultations per GP, and return the calibrated model.
pub fn calibrate(units: Units) -> (Model, Calibration) {
    let fastest = SPEEDS_KMH[SPEEDS_KMH.len() - 1];
    let probe = |s: f64| Params { detour: DETOUR, speed_kmh: s, consultations_per_gp: 1.0 };
    // One network at the widest radius serves every speed: farther pairs get weight 0.
    let wide = Network::build(&units.lat, &units.lon, probe(fastest).radius_km());
    let mut search = Vec::new();
    let mut best = (f64::NEG_INFINITY, SPEEDS_KMH[0]);
    for &s in &SPEEDS_KMH {
        let w = e2sfca::weights(&wide, probe(s).minutes_per_km());
        let seen = e2sfca::demand_seen(&wide, &w, &units.demand);
        let a = e2sfca::accessibility(&wide, &w, &units.gps, &seen);
        let rho = spearman(&a, &units.apl_drees);
        search.push(SearchStep { speed_kmh: s, spearman_commune: rho });
        if rho > best.0 {
            best = (rho, s);
        }
    }
    drop(wide);
    crate::memory::release_freed();
    let unit_model = Model::new(units.clone(), probe(best.1));
    let c = scale(&units, &unit_model.baseline);
    let params = Params { consultations_per_gp: c, ..probe(best.1) };
    let model = Model::on_network(units, params, unit_model.net);
    let cal = Calibration {
        params,
        minutes_per_km: params.minutes_per_km(),
        radius_km: params.radius_km(),
        units: model.units.len(),
        pairs_within_20_min: model.weights.iter().filter(|&&w| w > 0.0).count(),
        levels: levels(&model.units, &model.baseline),
        search,
        units_left_out: model.units.left_out.len(),
        gps_in_model: model.units.gps.iter().sum(),
        gps_left_out: model.units.gps_left_out,
    };
    (model, cal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_share_ties() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn correlations_of_monotone_and_reversed_series() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [1.0, 4.0, 9.0, 16.0, 25.0];
        assert!((spearman(&x, &y) - 1.0).abs() < 1e-12);
        assert!(pearson(&x, &y) < 1.0 && pearson(&x, &y) > 0.95);
        let r: Vec<f64> = y.iter().rev().copied().collect();
        assert!((spearman(&x, &r) + 1.0).abs() < 1e-12);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}
