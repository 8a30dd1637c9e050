//! The E2SFCA engine alone (src/access/network.rs and e2sfca.rs, std only), optimised, on a case
//! exported by `cpts-diag access --export-case all`: neighbour search from the unit centres and
//! both steps, best of N runs, checked against the exported model result. Lets the engine be timed
//! without a release build of the whole tool (polars):
//!   rustc -O --edition 2021 scripts/bench_engine.rs -o /tmp/bench_engine
//!   /tmp/bench_engine reports/access/case-all 1.56 [runs]
#![allow(dead_code)]

#[path = "../src/access/e2sfca.rs"]
mod e2sfca;
#[path = "../src/access/network.rs"]
mod network;

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::Path::new(&args[1]);
    let minutes_per_km: f64 = args[2].parse().expect("minutes per km");
    let runs: usize = args.get(3).map_or(5, |r| r.parse().unwrap());
    let text = std::fs::read_to_string(dir.join("units.csv")).unwrap();
    let (mut demand, mut supply, mut lat, mut lon) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        demand.push(f[1].parse::<f64>().unwrap());
        supply.push(f[2].parse::<f64>().unwrap());
        lat.push(f[3].parse::<f64>().unwrap());
        lon.push(f[4].parse::<f64>().unwrap());
    }
    let want: Vec<f64> = std::fs::read_to_string(dir.join("model.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let mut best = f64::INFINITY;
    let mut a = Vec::new();
    let mut pairs = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let net = network::Network::build(&lat, &lon, e2sfca::MAX_MINUTES / minutes_per_km);
        let w = e2sfca::weights(&net, minutes_per_km);
        let seen = e2sfca::demand_seen(&net, &w, &demand);
        a = e2sfca::accessibility(&net, &w, &supply, &seen);
        best = best.min(t.elapsed().as_secs_f64());
        pairs = w.iter().filter(|&&x| x > 0.0).count();
    }
    let diff = a.iter().zip(&want).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    println!(
        "{} units, {pairs} pairs within 20 min: best of {runs} {best:.3} s (neighbour search + both steps); max |diff| vs model.csv {diff:.1e}",
        lat.len()
    );
}
