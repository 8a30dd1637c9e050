#!/usr/bin/env python3
"""The python-polars script an analyst would write, for BENCHMARKS: same published files and same
rules as bench_pandas_epci.py and bench_duckdb_epci.py (former codes → COG 2026 through
`anciensCodes`, arrondissements rolled up to their city, APL weighted by the DREES standardised
population, communes only), to the all-EPCI table. usage: bench_polars_epci.py OUT.csv
"""
import gzip
import json
import os
import sys
from pathlib import Path

import polars as pl

DATA = Path(os.environ.get("CPTS_DATA_DIR", "../shared/data"))
DA = DATA / "population/decoupage-administratif-6.0.0"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "reports/bench/polars_epci.csv"
    with gzip.open(DA / "communes.json.gz", "rb") as f:
        cog = pl.DataFrame(json.load(f), infer_schema_length=None)
    units = cog.filter(pl.col("type").is_in(["commune-actuelle", "arrondissement-municipal"]))
    current = units.select(src="code", code=pl.coalesce("commune", "code"))
    former = (
        units.filter(pl.col("type") == "commune-actuelle")
        .select("code", src="anciensCodes").explode("src").drop_nulls()
        .filter(~pl.col("src").is_in(units["code"].implode())).unique("src", keep="first")
    )
    to_commune = pl.concat([current, former.select("src", "code")])
    with gzip.open(DA / "epci.json.gz", "rb") as f:
        epcis = json.load(f)
    members = pl.DataFrame(
        [(m["code"], e["code"], e["nom"]) for e in epcis for m in e["membres"]],
        schema=["code", "epci", "epci_name"], orient="row",
    )
    apl = (
        pl.read_csv(DATA / "health/drees_apl_medecins_generalistes_2022_2023_communes.csv.gz",
                    schema_overrides={"code_commune_insee": pl.String})
        .filter(pl.col("millesime") == 2023)
        .join(to_commune, left_on="code_commune_insee", right_on="src")
        .group_by("code")
        .agg(num=(pl.col("apl_mg") * pl.col("population_standardisee")).sum(),
             std=pl.col("population_standardisee").sum(), mean=pl.col("apl_mg").mean())
        # A merged commune whose parts have no standardised population: plain mean (as cpts-diag).
        .with_columns(apl=pl.when(pl.col("std") > 0).then(pl.col("num") / pl.col("std")).otherwise("mean"))
    )
    bpe = (
        pl.read_csv(DATA / "health/anct_offre_sante_nb_medg_bpe2020_communes.csv.gz",
                    schema_overrides={"codgeo": pl.String})
        .join(to_commune, left_on="codgeo", right_on="src").group_by("code").agg(pl.col("nb_medg").sum())
    )
    pop = pl.col("population")
    g = (
        units.filter(pl.col("type") == "commune-actuelle").select("code", "population")
        .join(members, on="code").join(apl, on="code", how="left").join(bpe, on="code", how="left")
        .group_by("epci", "epci_name")
        .agg(population=pop.sum(), gp_count=pl.col("nb_medg").sum(),
             apl_mg=(pl.col("apl") * pl.col("std")).sum() / pl.col("std").sum(),
             population_apl_below_2_5=pl.when(pl.col("apl").count() > 0)
             .then(pl.when(pl.col("apl") < 2.5).then(pop).otherwise(0).sum()))
        .with_columns(aci_band=pl.when(pop >= 175_001).then(4).when(pop >= 80_000).then(3)
                      .when(pop >= 40_000).then(2).otherwise(1))
        .with_columns(aci_inhabitants_to_next_band=pl.col("aci_band").replace_strict(
            {1: 40_000, 2: 80_000, 3: 175_001}, default=None) - pop)
        .sort("epci")
    )
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    g.write_csv(out)
    print(f"polars: {g.height} EPCIs -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
