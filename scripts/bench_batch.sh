#!/usr/bin/env bash
# Side-by-side benchmark of issue 9 in one run (run from the repository root):
#   cpts-diag build; diagnose of the example territory (from data/processed, and from the built-in
#   snapshot with no data folder); cpts-diag batch --level L for every level (from data/processed)
#   and all six at once; raw files -> EPCI table: cpts-diag (batch --level epci --from-raw),
#   DuckDB, a python-polars script and pandas.
# Wall time, CPU time (user + sys) and peak RSS from /usr/bin/time; each command runs $RUNS times
# (default 5): median wall, median CPU and the largest RSS are reported. On a shared machine the
# CPU time is the steadier figure; the load average is printed with the results. Needs a release build (cargo build --release) and
# pandas + duckdb (pip). Writes reports/bench/results.md and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${CPTS_BIN:-${CARGO_TARGET_DIR:-target}/release/cpts-diag}"
RUNS="${RUNS:-5}"
PY="${PYTHON:-python3}"
OUT=reports/bench
mkdir -p "$OUT"
RES="$OUT/results${TAG:+-$TAG}.md"

measure() { # name, command...
  local name=$1; shift
  local walls=() cpus=() rss=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %U %S %M" -o "$OUT/.time" "$@" >/dev/null 2>"$OUT/.stderr" || { cat "$OUT/.stderr"; exit 1; }
    read -r w u s m < "$OUT/.time"
    walls+=("$w"); cpus+=("$(echo "$u + $s" | bc -l)"); [ "$m" -gt "$rss" ] && rss=$m
  done
  local med cpu
  med=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  cpu=$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf '| %s | %s | %.2f | %.1f | `%s` |\n' "$name" "$med" "$cpu" "$(echo "$rss / 1024" | bc -l)" "$*" | tee -a "$RES"
  echo "$name $med $cpu $rss" >> "$OUT/.raw"
}

: > "$OUT/.raw"
{
  echo "# cpts-diag batch benchmark"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -m), binary $BIN, median of $RUNS runs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| step | wall (s) | CPU user+sys (s) | peak RSS (MiB) | command |"
  echo "|---|---|---|---|---|"
} > "$RES"
measure "build (raw files -> data/processed)" "$BIN" -q build --out data/processed
measure "diagnose example, every output (from data/processed)" "$BIN" -q diagnose --territory data/territories/grand-chateaudun.toml --out "$OUT/diagnose"
measure "diagnose example, every output (built-in snapshot)" env CPTS_DATA_DIR=/nonexistent "$BIN" -q diagnose --territory data/territories/grand-chateaudun.toml --processed /nonexistent --out "$OUT/diagnose-snapshot"
# The other commands, for their peak memory (issue 9: 200 MiB at most in every command).
measure "map of the example territory" "$BIN" -q map --territory data/territories/grand-chateaudun.toml --out "$OUT/map"
measure "coverage of région PACA (70 CPTS)" "$BIN" -q coverage --listing "${CPTS_DATA_DIR:-../shared/data}/cpts/ars-paca_cpts_communes_2026-01.csv" --out "$OUT/coverage"
measure "access (E2SFCA calibration, national)" "$BIN" -q access --out "$OUT/access"
for level in commune epci bassin-de-vie departement region territories; do
  measure "batch $level (from curated Parquet)" "$BIN" -q batch --level "$level" --out "$OUT/batch"
done
measure "batch all six levels" "$BIN" -q batch --level commune,epci,bassin-de-vie,departement,region,territories --out "$OUT/batch"
measure "batch all six levels, partitioned" "$BIN" -q batch --level commune,epci,bassin-de-vie,departement,region,territories --partition-by region --out "$OUT/batch"
# pandas and DuckDB place the population municipale in the ACI grid: same basis here.
measure "raw -> EPCI: cpts-diag" "$BIN" -q batch --level epci --from-raw --population municipale --out "$OUT/raw"
measure "raw -> EPCI: pandas" "$PY" scripts/bench_pandas_epci.py "$OUT/pandas_epci.csv"
measure "raw -> EPCI: DuckDB" "$PY" scripts/bench_duckdb_epci.py "$OUT/duckdb_epci.csv"
measure "raw -> EPCI: python-polars" "$PY" scripts/bench_polars_epci.py "$OUT/polars_epci.csv"

awk '
  /^raw -> EPCI: cpts-diag/ {r=$(NF-2); rc=$(NF-1)}
  /^raw -> EPCI: pandas/ {p=$(NF-2); pc=$(NF-1)}
  /^raw -> EPCI: DuckDB/ {d=$(NF-2); dc=$(NF-1)}
  /^raw -> EPCI: python-polars/ {l=$(NF-2); lc=$(NF-1)}
  END {printf "\nraw -> EPCI speed-up of cpts-diag, wall: %.1fx vs pandas, %.1fx vs DuckDB, %.1fx vs python-polars; CPU: %.1fx vs pandas, %.1fx vs DuckDB, %.1fx vs python-polars\n", p/r, d/r, l/r, pc/rc, dc/rc, lc/rc}
' "$OUT/.raw" | tee -a "$RES"

# The three raw -> EPCI tables must agree, or the comparison means nothing.
"$PY" - "$OUT/raw/epci.csv" "$OUT/pandas_epci.csv" "$OUT/duckdb_epci.csv" "$OUT/polars_epci.csv" <<'PYEOF' | tee -a "$RES"
import sys
import pandas as pd
cols = ["population", "gp_count", "apl_mg", "population_apl_below_2_5", "aci_band", "aci_inhabitants_to_next_band"]
rust, pandas, duck, pol = (pd.read_csv(p, dtype={"epci": str}).set_index("epci").sort_index() for p in sys.argv[1:])
for name, other in (("pandas", pandas), ("DuckDB", duck), ("python-polars", pol)):
    common = rust.index.intersection(other.index)
    diff = {c: float((rust.loc[common, c].astype(float) - other.loc[common, c].astype(float)).abs().max()) for c in cols}
    nulls = sum(int((rust.loc[common, c].isna() != other.loc[common, c].isna()).sum()) for c in cols)
    print(f"cpts-diag vs {name}: {len(common)} EPCIs in common of {len(rust)}/{len(other)}; "
          f"max abs difference {diff}; {nulls} null mismatches")
PYEOF
cat "$RES"
