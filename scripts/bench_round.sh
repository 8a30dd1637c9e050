#!/usr/bin/env bash
# One round of the issue-9 benchmarks, two binaries side by side (BENCHMARKS.md):
#   scripts/bench_round.sh BEFORE_BIN AFTER_BIN
# Each binary builds its own `data/processed` first (in /tmp/round-*), which its batch and
# diagnose rows read. Needs CPTS_DATA_DIR (the national data) and the Python tools of
# scripts/bench_*_epci.py. As root, drops the page cache and reads both binaries first: a binary
# written just before the run peaks several MiB higher than the same bytes read from disk.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CPTS_DATA_DIR:?set CPTS_DATA_DIR to the data folder}"
B=/tmp/round-before/cpts-diag; A=/tmp/round-after/cpts-diag
mkdir -p /tmp/round-before /tmp/round-after
cp "$1" "$B"; cp "$2" "$A"
if [ "$(id -u)" = 0 ]; then sync; echo 3 > /proc/sys/vm/drop_caches || true; fi
cat "$B" "$A" > /dev/null
"$B" -q build --out /tmp/round-before/processed
"$A" -q build --out /tmp/round-after/processed
L=commune,epci,bassin-de-vie,departement,region,territories
T=data/territories/grand-chateaudun.toml
bench() { python3 scripts/bench_interleaved.py "$@"; }
pair() { # RUNS ARGS… ({P} = the binary's own build output)
  local runs=$1; shift
  bench "$runs" "before=$B ${*//\{P\}//tmp/round-before/processed}" "after=$A ${*//\{P\}//tmp/round-after/processed}"
}
echo "## build $(date -u +%H:%M)";        pair 11 -q build --out /tmp/round-{}/out
echo "## raw -> EPCI $(date -u +%H:%M)"
bench 11 "before=$B -q batch --level epci --from-raw --population municipale --out /tmp/round-{}/raw" \
         "after=$A -q batch --level epci --from-raw --population municipale --out /tmp/round-{}/raw" \
         "duckdb=python3 scripts/bench_duckdb_epci.py /tmp/round-duck.csv" \
         "python-polars=python3 scripts/bench_polars_epci.py /tmp/round-pl.csv"
bench 5 "pandas=python3 scripts/bench_pandas_epci.py /tmp/round-pd.csv"
echo "## batch epci $(date -u +%H:%M)";   pair 21 -q batch --level epci --processed {P} --out /tmp/round-{}/e
echo "## six levels $(date -u +%H:%M)";   pair 9 -q batch --level $L --processed {P} --out /tmp/round-{}/l
echo "## diagnose, build output $(date -u +%H:%M)"; pair 15 -q diagnose --territory $T --processed {P} --out /tmp/round-{}/d
echo "## diagnose, snapshot $(date -u +%H:%M)"
CPTS_DATA_DIR=/nonexistent pair 15 -q diagnose --territory $T --processed /nonexistent --out /tmp/round-{}/s
echo "## end $(date -u +%H:%M)"
