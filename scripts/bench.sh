#!/usr/bin/env bash
# Wall time and peak RSS of the main job, release build, on the real data.
# Usage: scripts/bench.sh [runs]   (needs GNU time: apt-get install -y time)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
bin=target/release/cpts-diag
cargo build --release --quiet
measure() {
  local label="$1"; shift
  local best_wall="" best_rss=""
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o /tmp/cpts-bench.time "$@" >/dev/null 2>&1
    read -r wall rss < /tmp/cpts-bench.time
    if [ -z "$best_wall" ] || awk "BEGIN{exit !($wall < $best_wall)}"; then best_wall=$wall; fi
    if [ -z "$best_rss" ] || [ "$rss" -gt "$best_rss" ]; then best_rss=$rss; fi
  done
  printf '| %s | %s s | %d MiB |\n' "$label" "$best_wall" "$((best_rss / 1024))"
}
echo "| step | best wall of $runs | peak RSS (max of $runs) |"
echo "|---|---|---|"
measure "build (national, all sources)" $bin --quiet build
measure "diagnose grand-chateaudun (curated Parquet)" $bin --quiet diagnose --territory data/territories/grand-chateaudun.toml
measure "diagnose --communes 75113,75114" $bin --quiet diagnose --communes 75113,75114 --out /tmp/cpts-bench-paris
