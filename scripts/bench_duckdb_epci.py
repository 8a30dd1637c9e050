#!/usr/bin/env python3
"""DuckDB (Python package) over the same published files as bench_pandas_epci.py: the all-EPCI
table (population, GPs, weighted APL 2023, population where APL 2023 < 2.5, ACI band) in one SQL
query. Same inputs (the derived APL and BPE CSVs), same rules. usage: bench_duckdb_epci.py OUT.csv
"""
import os
import sys
from pathlib import Path

import duckdb

DATA = Path(os.environ.get("CPTS_DATA_DIR", "../shared/data"))
DA = DATA / "population/decoupage-administratif-6.0.0"

SQL = f"""
WITH cog AS (
  SELECT code, type, population, anciensCodes, commune
  FROM read_json('{DA / "communes.json.gz"}', format = 'array',
       columns = {{code: 'VARCHAR', type: 'VARCHAR', population: 'BIGINT', anciensCodes: 'VARCHAR[]', commune: 'VARCHAR'}})
  WHERE type IN ('commune-actuelle', 'arrondissement-municipal')
),
former AS (
  SELECT DISTINCT ON (old) old, code FROM (SELECT unnest(anciensCodes) AS old, code FROM cog WHERE type = 'commune-actuelle')
  WHERE old NOT IN (SELECT code FROM cog)
),
-- any published code -> its COG 2026 commune (arrondissements -> Paris, Lyon, Marseille)
to_commune AS (
  SELECT code AS src, coalesce(commune, code) AS code FROM cog
  UNION ALL SELECT old, code FROM former
),
members AS (
  SELECT m.code AS code, e.code AS epci, e.nom AS epci_name
  FROM (SELECT code, nom, unnest(membres) AS m
        FROM read_json('{DA / "epci.json.gz"}', format = 'array',
             columns = {{code: 'VARCHAR', nom: 'VARCHAR', membres: 'STRUCT(code VARCHAR)[]'}})) e
),
apl AS (
  -- a merged commune whose parts have no standardised population: plain mean (as cpts-diag)
  SELECT t.code, CASE WHEN sum(population_standardisee) > 0 THEN sum(apl_mg * population_standardisee) / sum(population_standardisee)
                      ELSE avg(apl_mg) END AS apl, sum(population_standardisee) AS std
  FROM read_csv('{DATA / "health/drees_apl_medecins_generalistes_2022_2023_communes.csv.gz"}',
                types = {{'code_commune_insee': 'VARCHAR'}}) a
  JOIN to_commune t ON t.src = a.code_commune_insee
  WHERE millesime = 2023 GROUP BY t.code
),
bpe AS (
  SELECT t.code, sum(nb_medg) AS gp
  FROM read_csv('{DATA / "health/anct_offre_sante_nb_medg_bpe2020_communes.csv.gz"}', types = {{'codgeo': 'VARCHAR'}}) b
  JOIN to_commune t ON t.src = b.codgeo GROUP BY t.code
),
c AS (
  SELECT m.epci, m.epci_name, cog.population, apl.apl * apl.std AS num, apl.std, apl.apl, bpe.gp
  FROM cog JOIN members m USING (code) LEFT JOIN apl USING (code) LEFT JOIN bpe USING (code)
  WHERE cog.type = 'commune-actuelle'
),
g AS (
  SELECT epci, epci_name, sum(population) AS population, sum(gp) AS gp_count,
         sum(num) / sum(std) AS apl_mg, CASE WHEN count(apl) > 0 THEN sum(CASE WHEN apl < 2.5 THEN population ELSE 0 END) END AS population_apl_below_2_5
  FROM c GROUP BY epci, epci_name
)
SELECT *, CASE WHEN population >= 175001 THEN 4 WHEN population >= 80000 THEN 3 WHEN population >= 40000 THEN 2 ELSE 1 END AS aci_band,
       CASE WHEN population >= 175001 THEN NULL WHEN population >= 80000 THEN 175001 - population
            WHEN population >= 40000 THEN 80000 - population ELSE 40000 - population END AS aci_inhabitants_to_next_band
FROM g ORDER BY epci
"""


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "reports/bench/duckdb_epci.csv"
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(SQL).write_csv(out)
    n = duckdb.sql(f"SELECT count(*) FROM read_csv('{out}')").fetchall()[0][0]
    print(f"duckdb: {n} EPCIs -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
