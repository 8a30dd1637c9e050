#!/usr/bin/env python3
"""Baseline for BENCHMARKS: plain pandas, from the published files to the all-EPCI table
(population, GPs, weighted APL 2023, population where APL 2023 < 2.5, ACI band).

Inputs (paths relative to the data folder, ../shared/data by default or $CPTS_DATA_DIR):
  population/decoupage-administratif-6.0.0/communes.json.gz  COG 2026 communes, populations
  population/decoupage-administratif-6.0.0/epci.json.gz      EPCI composition 2026
  health/drees_apl_medecins_generalistes_2022_2023_communes.csv.gz
      the DREES APL xlsx re-encoded as CSV (SOURCES.md §3a, "derived"): pandas + openpyxl on
      the xlsx alone takes several seconds, so the baseline reads the CSV (pass --xlsx to read
      the xlsx with openpyxl instead)
  health/anct_offre_sante_nb_medg_bpe2020_communes.csv.gz   BPE 2020 GPs (derived CSV of the xlsx)

Same rules as cpts-diag: former codes → COG 2026 through `anciensCodes`, APL arrondissements
rolled up to Paris/Lyon/Marseille, APL weighted by the DREES standardised population, communes
only (no arrondissement twice). usage: bench_pandas_epci.py [--xlsx] OUT.csv
"""
import gzip
import json
import os
import sys
from pathlib import Path

import pandas as pd

DATA = Path(os.environ.get("CPTS_DATA_DIR", "../shared/data"))
DA = DATA / "population/decoupage-administratif-6.0.0"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = args[0] if args else "reports/bench/pandas_epci.csv"
    with gzip.open(DA / "communes.json.gz", "rt", encoding="utf-8") as f:
        cog = pd.DataFrame(json.load(f))
    units = cog[cog["type"].isin(["commune-actuelle", "arrondissement-municipal"])]
    communes = units[units["type"] == "commune-actuelle"][["code", "population", "anciensCodes"]]
    parent = dict(units.loc[units["type"] == "arrondissement-municipal", ["code", "commune"]].itertuples(index=False))
    current = set(units["code"])
    anc = communes[["code", "anciensCodes"]].explode("anciensCodes").dropna()
    anc = anc[~anc["anciensCodes"].isin(current)]
    former = dict(zip(anc["anciensCodes"], anc["code"]))

    def to_commune(codes):
        c = codes.where(codes.isin(current), codes.map(former))
        return c.map(lambda x: parent.get(x, x))

    with gzip.open(DA / "epci.json.gz", "rt", encoding="utf-8") as f:
        epcis = json.load(f)
    members = pd.DataFrame(
        [(m["code"], e["code"], e["nom"]) for e in epcis for m in e["membres"]], columns=["code", "epci", "epci_name"]
    )

    if "--xlsx" in sys.argv:
        apl = pd.read_excel(DATA / "health/drees_apl_medecins_generalistes_2022_2023.xlsx", sheet_name="APL 2023",
                            skiprows=8, dtype={"Code commune INSEE": str}).iloc[1:]
        apl = apl.rename(columns={"Code commune INSEE": "code", "APL aux médecins généralistes": "apl"})
        apl["std"] = apl[[c for c in apl.columns if c.startswith("Population standardisée")][0]]
    else:
        apl = pd.read_csv(DATA / "health/drees_apl_medecins_generalistes_2022_2023_communes.csv.gz",
                          dtype={"code_commune_insee": str})
        apl = apl[apl["millesime"] == 2023].rename(
            columns={"code_commune_insee": "code", "apl_mg": "apl", "population_standardisee": "std"})
    apl = apl.assign(code=to_commune(apl["code"]), num=apl["apl"].astype(float) * apl["std"].astype(float),
                     std=apl["std"].astype(float))
    apl["apl"] = apl["apl"].astype(float)
    apl = apl.groupby("code", as_index=False).agg(num=("num", "sum"), std=("std", "sum"), mean=("apl", "mean"))
    # A merged commune whose parts have no standardised population: plain mean (as cpts-diag).
    apl["apl"] = (apl["num"] / apl["std"]).where(apl["std"] > 0, apl["mean"])

    bpe = pd.read_csv(DATA / "health/anct_offre_sante_nb_medg_bpe2020_communes.csv.gz", dtype={"codgeo": str})
    bpe = bpe.assign(code=to_commune(bpe["codgeo"])).groupby("code", as_index=False)["nb_medg"].sum()

    t = communes[["code", "population"]].merge(members, on="code").merge(apl, on="code", how="left").merge(bpe, on="code", how="left")
    t["pop_below"] = t["population"].where(t["apl"] < 2.5, 0)
    t["num"] = t["apl"] * t["std"]
    g = t.groupby(["epci", "epci_name"], as_index=False).agg(
        population=("population", "sum"), gp_count=("nb_medg", "sum"), num=("num", "sum"), std=("std", "sum"),
        population_apl_below_2_5=("pop_below", "sum"), n_apl=("apl", "count"))
    g["apl_mg"] = g["num"] / g["std"]
    # No commune with an APL (Mayotte): no figure, not 0.
    g["population_apl_below_2_5"] = g["population_apl_below_2_5"].astype("Int64").where(g["n_apl"] > 0)
    g = g.drop(columns=["n_apl"])
    g["aci_band"] = pd.cut(g["population"], [0, 40_000, 80_000, 175_001, float("inf")], right=False, labels=[1, 2, 3, 4]).astype(int)
    nxt = g["aci_band"].map({1: 40_000, 2: 80_000, 3: 175_001})
    g["aci_inhabitants_to_next_band"] = (nxt - g["population"]).astype("Int64")
    g = g.drop(columns=["num", "std"]).sort_values("epci")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    g.to_csv(out, index=False)
    print(f"pandas: {len(g)} EPCIs -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
