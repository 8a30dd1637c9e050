#!/usr/bin/env python3
"""Cross-check of cpts-diag's E2SFCA against the `access` package (PyPI, pysal) on the same inputs
and the same travel-time matrix, exported by `cpts-diag access --export-case DEP`.

    python3 scripts/access_crosscheck.py reports/access/case-28 [--tolerance 1e-9]

Reads units.csv (code, demand, supply), cost.csv (origin, destination, minutes: every pair within
20 minutes, both directions, self-pairs at 0) and model.csv (code, apl: cpts-diag's result),
runs access.Access.enhanced_two_stage_fca with the DREES steps (1 up to 10 min, 2/3 up to 15,
1/3 up to 20) and fails when any unit differs by more than the tolerance. Prints both timings
(cpts-diag's from timing.json) for BENCHMARKS.md.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd
from access import Access, weights


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("case", type=Path)
    ap.add_argument("--tolerance", type=float, default=1e-9)
    a = ap.parse_args()
    units = pd.read_csv(a.case / "units.csv", dtype={"code": str})
    cost = pd.read_csv(a.case / "cost.csv", dtype={"origin": str, "destination": str})
    ours = pd.read_csv(a.case / "model.csv", dtype={"code": str}).set_index("code")["apl"]
    timing = json.loads((a.case / "timing.json").read_text())

    t0 = time.perf_counter()
    acc = Access(
        demand_df=units[["code", "demand"]],
        demand_index="code",
        demand_value="demand",
        supply_df=units[["code", "supply"]],
        supply_index="code",
        supply_value="supply",
        cost_df=cost,
        cost_origin="origin",
        cost_dest="destination",
        cost_name="minutes",
    )
    step = weights.step_fn({10: 1.0, 15: 2.0 / 3.0, 20: 1.0 / 3.0})
    theirs = acc.enhanced_two_stage_fca(name="e2sfca", weight_fn=step, max_cost=20)
    access_s = time.perf_counter() - t0
    theirs = theirs.iloc[:, 0].reindex(ours.index).fillna(0.0)

    diff = (theirs - ours).abs()
    worst = diff.idxmax()
    print(
        f"{a.case}: {len(units)} units, {len(cost)} pairs; max |cpts-diag - access| = {diff.max():.3e} "
        f"(unit {worst}: {ours[worst]!r} vs {theirs[worst]!r})"
    )
    print(
        f"timing: cpts-diag {timing['model_seconds']:.3f} s ({timing['build_profile']}, neighbour search and both steps), "
        f"access {access_s:.3f} s (E2SFCA on the given cost table), ratio {access_s / timing['model_seconds']:.0f}x"
    )
    if diff.max() > a.tolerance:
        print(f"FAIL: difference above {a.tolerance}", file=sys.stderr)
        return 1
    print(f"OK: agrees to {a.tolerance}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
