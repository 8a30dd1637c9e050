//! The two steps of the enhanced two-step floating catchment area (E2SFCA), with the DREES APL
//! decay by travel time. Both steps use the same weights (as DREES and `access` do).

use super::network::Network;

/// Travel-time bands of the DREES APL (`Paramètres` sheet of the APL workbook): weight 1 up to
/// 10 minutes, 2/3 up to 15, 1/3 up to 20, nothing beyond. Band ends are inclusive, as in
/// `access.weights.step_fn` (the cross-check): a boundary value has measure zero anyway.
pub const DECAY_STEPS: [(f64, f64); 3] = [(10.0, 1.0), (15.0, 2.0 / 3.0), (20.0, 1.0 / 3.0)];

/// The largest travel time with a weight.
pub const MAX_MINUTES: f64 = 20.0;

pub fn decay(minutes: f64) -> f64 {
    for (upper, w) in DECAY_STEPS {
        if minutes <= upper {
            return w;
        }
    }
    0.0
}

/// Weight of every stored pair of `net` when a km of great-circle distance takes `minutes_per_km`.
pub fn weights(net: &Network, minutes_per_km: f64) -> Vec<f64> {
    net.km.iter().map(|&d| decay(d * minutes_per_km)).collect()
}

/// Step 1, the demand each supply point sees: `D_j = Σ_k w_jk P_k`.
pub fn demand_seen(net: &Network, w: &[f64], demand: &[f64]) -> Vec<f64> {
    (0..net.len()).map(|j| net.row(j).map(|e| w[e] * demand[net.neighbour[e] as usize]).sum()).collect()
}

/// Step 2, accessibility: `A_i = Σ_j w_ij S_j / D_j` (a supply point that no demand sees adds
/// nothing).
pub fn accessibility(net: &Network, w: &[f64], supply: &[f64], seen: &[f64]) -> Vec<f64> {
    let ratio: Vec<f64> =
        supply.iter().zip(seen).map(|(&s, &d)| if d > 0.0 && s != 0.0 { s / d } else { 0.0 }).collect();
    (0..net.len()).map(|i| net.row(i).map(|e| w[e] * ratio[net.neighbour[e] as usize]).sum()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decay_follows_the_drees_bands() {
        assert_eq!(decay(0.0), 1.0);
        assert_eq!(decay(10.0), 1.0);
        assert_eq!(decay(10.5), 2.0 / 3.0);
        assert_eq!(decay(15.0), 2.0 / 3.0);
        assert_eq!(decay(19.9), 1.0 / 3.0);
        assert_eq!(decay(20.1), 0.0);
    }

    #[test]
    fn two_units_worked_by_hand() {
        // A (1 000 people, 2 GPs) and B (3 000 people, none) 12 minutes apart (weight 2/3).
        let net = Network {
            offsets: vec![0, 2, 4],
            neighbour: vec![0, 1, 0, 1],
            km: vec![0.0, 12.0, 12.0, 0.0],
            radius_km: 20.0,
        };
        let w = weights(&net, 1.0);
        let seen = demand_seen(&net, &w, &[1000.0, 3000.0]);
        assert_eq!(seen, vec![1000.0 + 2000.0, 3000.0 + 2000.0 / 3.0]);
        let a = accessibility(&net, &w, &[2.0, 0.0], &seen);
        assert!((a[0] - 2.0 / 3000.0).abs() < 1e-15);
        assert!((a[1] - (2.0 / 3.0) * 2.0 / 3000.0).abs() < 1e-15);
        // Every GP's supply is shared out: Σ P_i A_i = Σ S_j (no GP loses patients at the border).
        assert!((1000.0 * a[0] + 3000.0 * a[1] - 2.0).abs() < 1e-12);
    }
}
