#!/usr/bin/env bash
# Batch outputs end to end, for CI (run from anywhere; works in the repository root):
#   1. pip-installs the Python side (polars, pyarrow, duckdb, pandas, matplotlib, nbconvert, ipykernel);
#   2. runs the cpts-diag binary: build, batch (every level, partitioned by région), diagnose;
#   3. executes notebooks/01-territory-indicators.ipynb headless with nbconvert;
#   4. reads every output Parquet with pyarrow and DuckDB and checks the documented column names
#      and types (scripts/check_outputs.py against docs/schema.md and the files' own metadata).
# Needs the published files in ../shared/data (or $CPTS_DATA_DIR); skips, saying so, without them.
# The binary: $CPTS_BIN, else the debug build (built here if absent; `cargo test` already builds it).
set -euo pipefail
cd "$(dirname "$0")/.."

DATA="${CPTS_DATA_DIR:-../shared/data}"
if [ ! -f "$DATA/population/decoupage-administratif-6.0.0/communes.json.gz" ]; then
  echo "SKIP: check-batch needs the published files in $DATA (set CPTS_DATA_DIR)"
  exit 0
fi

PY="${PYTHON:-python3}"
echo "== pip install (polars pyarrow duckdb pandas matplotlib nbconvert ipykernel)"
"$PY" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
  polars pyarrow duckdb pandas matplotlib nbconvert ipykernel

BIN="${CPTS_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build --quiet
  BIN="${CARGO_TARGET_DIR:-target}/debug/cpts-diag"
fi
echo "== $BIN"

"$BIN" build --out data/processed
"$BIN" batch --level commune,epci,bassin-de-vie,departement,region,territories --partition-by region --out reports/batch
"$BIN" diagnose --territory data/territories/grand-chateaudun.toml --out reports/grand-chateaudun

echo "== notebook"
mkdir -p reports/notebooks
"$PY" -m jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=300 \
  --output-dir reports/notebooks notebooks/01-territory-indicators.ipynb
test -s reports/batch/figures/epci_inhabitants_per_gp.png

echo "== output schemas (pyarrow, DuckDB)"
"$PY" scripts/check_outputs.py --schema docs/schema.md data/processed reports/batch reports/grand-chateaudun
