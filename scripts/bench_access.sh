#!/usr/bin/env bash
# BENCHMARKS.md, "What-if accessibility": the national E2SFCA model next to the `access` package
# (PyPI, pysal) on the same inputs and travel-time pairs, and the greedy placement of 5 GPs for the
# example territory. Release build; `pip install access pandas` first.
#   bash scripts/bench_access.sh [path/to/cpts-diag]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-${CARGO_TARGET_DIR:-target}/release/cpts-diag}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
echo "== national model (every unit, all pairs within 20 minutes) vs access"
"$BIN" access --processed data/snapshot --no-geo --export-case all --out "$WORK" 2>&1 | grep -E "calibrated|Spearman"
python3 scripts/access_crosscheck.py "$WORK/case-all"
echo "== greedy placement of 5 GPs, Grand Châteaudun"
"$BIN" diagnose --territory data/territories/grand-chateaudun.toml --processed data/snapshot --no-geo \
  --out "$WORK/gc" --place-gps 5 2>&1 | grep -E "GP placement|scenario"
