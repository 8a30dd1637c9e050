#!/usr/bin/env bash
# Scaling of `batch --level territories` (issue 9): 10, 100, 1 000 and 10 000 territories, each a
# random union of 1-4 adjacent EPCI (scripts/gen_territories.py, fixed seed), the way an ARS
# compares CPTS scenarios. Median wall and CPU of $RUNS runs (default 5), largest peak RSS; writes
# reports/bench/scaling.md and prints it. Needs a release build, python3 with pyarrow, numpy and
# shapely, and `build` output in $PROCESSED (default data/processed; built when absent).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${CPTS_BIN:-${CARGO_TARGET_DIR:-target}/release/cpts-diag}"
RUNS="${RUNS:-5}"
PY="${PYTHON:-python3}"
PROCESSED="${PROCESSED:-data/processed}"
OUT=reports/bench
mkdir -p "$OUT"
[ -f "$PROCESSED/communes.parquet" ] || "$BIN" -q build --out "$PROCESSED"
RES="$OUT/scaling.md"
{
  echo "# batch --level territories: scaling"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, binary $BIN, median of $RUNS runs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| territories | EPCI memberships | wall (s) | CPU user+sys (s) | peak RSS (MiB) | wall per 1 000 territories (s) |"
  echo "|---|---|---|---|---|---|"
} > "$RES"
for n in 10 100 1000 10000; do
  dir="$OUT/territories-$n"
  memberships=$("$PY" scripts/gen_territories.py "$n" "$dir" --geometry "$PROCESSED/geometry.parquet" --communes "$PROCESSED/communes.parquet" | sed -E 's/.*\(([0-9]+) EPCI memberships.*/\1/')
  walls=(); cpus=(); rss=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %U %S %M" -o "$OUT/.time" "$BIN" -q batch --level territories --territories "$dir" \
      --processed "$PROCESSED" --out "$OUT/scaling-out" >/dev/null 2>"$OUT/.stderr" || { cat "$OUT/.stderr"; exit 1; }
    read -r w u s m < "$OUT/.time"
    walls+=("$w"); cpus+=("$(echo "$u + $s" | bc -l)"); [ "$m" -gt "$rss" ] && rss=$m
  done
  med=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  cpu=$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  rows=$("$PY" -c "import pyarrow.parquet as pq; print(pq.read_metadata('$OUT/scaling-out/territories.parquet').num_rows)")
  [ "$rows" = "$n" ] || { echo "expected $n rows, got $rows"; exit 1; }
  printf '| %s | %s | %s | %.2f | %.0f | %.3f |\n' "$n" "$memberships" "$med" "$cpu" "$(echo "$rss / 1024" | bc -l)" "$(echo "$med * 1000 / $n" | bc -l)" | tee -a "$RES"
done
cat "$RES"
