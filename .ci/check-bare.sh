#!/usr/bin/env bash
# A real user's machine: no ../shared/data, no CPTS_DATA_DIR, no build output. The README's main job
# must still run, from the national snapshot built into the binary, and the tests that check the
# published figures must pass on that snapshot.
#   1. the main job (`diagnose` of the example) with the data folder pointed at nothing, from a
#      folder outside the checkout (as after `cargo install`), checking summary, maps and report;
#   2. the snapshot's GeoParquet geometry opened by GeoPandas as is (GeoParquet 1.1, OGC:CRS84);
#   3. the figure tests with no data folder: they run on the snapshot instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

BIN="${CPTS_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build --quiet
  TARGET="${CARGO_TARGET_DIR:-target}"
  case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
  BIN="$TARGET/debug/cpts-diag"
fi

echo "== main job with no data folder (from $WORK)"
(cd "$WORK" && CPTS_DATA_DIR="$WORK/no-data" "$BIN" diagnose \
  --territory "$ROOT/data/territories/grand-chateaudun.toml" --out "$WORK/report" 2>&1 | tee "$WORK/log")
grep -q "built-in national snapshot" "$WORK/log"
for f in summary.json report.html map_apl.svg map_apl.png territory.geojson indicators.parquet; do
  test -s "$WORK/report/$f" || { echo "missing $f"; exit 1; }
done
python3 - "$WORK/report/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["communes_count"] == 23, s["communes_count"]
assert s["population"] == 39574, s["population"]
print("summary: 23 communes, 39 574 inhabitants, band", s.get("aci_band"))
PY
echo "== Paris 13e + 14e from the snapshot: three maps"
(cd "$WORK" && CPTS_DATA_DIR="$WORK/no-data" "$BIN" --quiet diagnose --communes 75113,75114 --out "$WORK/paris")
for f in map_apl.svg map_gp_density.svg map_population.svg; do
  test -s "$WORK/paris/$f" || { echo "missing paris $f"; exit 1; }
done

echo "== GeoParquet geometry read by GeoPandas"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore geopandas pyarrow duckdb
python3 scripts/check_geoparquet.py data/snapshot/geometry.parquet

echo "== figure tests with no data folder (on the snapshot)"
CPTS_DATA_DIR="$WORK/no-data" cargo test --quiet --test integration -- snapshot:: real_data:: batch_real::
