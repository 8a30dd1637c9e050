#!/usr/bin/env bash
# Two binaries, one command, interleaved runs (A B A B …) so that both see the same machine:
#   RUNS=15 scripts/bench_pair.sh BIN_A BIN_B -- ARGS…   (ARGS after the binary, `{}` = A or B)
# Prints, for each binary: median wall, median CPU (user + sys), median and largest peak RSS.
# `{}` in ARGS is replaced by `a` or `b`, so that each binary can read its own inputs
# (e.g. `--processed /tmp/pd-{}`) and write its own outputs.
set -euo pipefail
A=$1; B=$2; shift 2; [ "$1" = "--" ] && shift
RUNS="${RUNS:-15}"
tmp=$(mktemp -d)
for _ in $(seq "$RUNS"); do
  for side in a b; do
    bin=$A; [ "$side" = b ] && bin=$B
    args=(); for x in "$@"; do args+=("${x//\{\}/$side}"); done
    /usr/bin/time -f "%e %U %S %M" -a -o "$tmp/$side" "$bin" "${args[@]}" >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
  done
done
for side in a b; do
  bin=$A; [ "$side" = b ] && bin=$B
  awk -v name="$side: $bin" '
    { w[NR]=$1; c[NR]=$2+$3; r[NR]=$4 }
    function med(a, n,   i, j, t) { for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (a[j]<a[i]) { t=a[i]; a[i]=a[j]; a[j]=t }; return a[int((n+1)/2)] }
    END { n=NR; mx=0; for (i=1;i<=n;i++) if (r[i]>mx) mx=r[i];
          printf "%s: wall %.3f s, CPU %.3f s, RSS median %.0f MiB, max %.0f MiB (%d runs)\n", name, med(w,n), med(c,n), med(r,n)/1024, mx/1024, n }' "$tmp/$side"
done
rm -rf "$tmp"
