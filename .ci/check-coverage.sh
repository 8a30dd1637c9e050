#!/usr/bin/env bash
# `coverage` on the real ARS PACA listing, then its report in headless Chromium (check-report.sh:
# no console error, no network request, not blank, the title and the three inline maps), and the
# figures of coverage.json that must add up.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${CPTS_DATA_DIR:-../shared/data}"
LISTING="$DATA/cpts/ars-paca_cpts_communes_2026-01.csv"
if [ ! -f "$LISTING" ]; then
  echo "SKIP check-coverage: $LISTING not found (set CPTS_DATA_DIR)"
  exit 0
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cargo build --locked --quiet
BIN="${CARGO_TARGET_DIR:-target}/debug/cpts-diag"
"$BIN" --quiet --data-dir "$DATA" coverage --listing "$LISTING" --out "$WORK/coverage"
python3 - "$WORK/coverage/coverage.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
assert c["region"] == "93" and c["cpts_count"] == 70, (c["region"], c["cpts_count"])
assert c["population_covered"] + c["population_not_covered"] == c["region_population"]
assert sum(u["population"] for u in c["units_not_covered"]) == c["population_not_covered"]
assert any(u["code"] == "13201" for u in c["units_not_covered"])
print(f"coverage.json: {c['cpts_count']} CPTS, {c['population_covered']} + {c['population_not_covered']} = {c['region_population']} inhabitants")
PY
REPORT_EXPECT="Couverture CPTS" REPORT_MIN_SVG=3 bash .ci/check-report.sh "$WORK/coverage/report.html"
