#!/usr/bin/env bash
# The accessibility model against an independent implementation, for CI: pip-installs `access`
# (PyPI, pysal), exports département 28 (inputs, 20-minute travel-time pairs, cpts-diag's APL) with
# `cpts-diag access --export-case 28`, and runs scripts/access_crosscheck.py, which fails when any
# unit differs by more than 1e-9. Works on the built-in snapshot: no data folder needed.
# The binary: $CPTS_BIN, else the debug build (built here if absent).
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"
echo "== pip install access pandas"
"$PY" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore access pandas

BIN="${CPTS_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build --quiet
  BIN="${CARGO_TARGET_DIR:-target}/debug/cpts-diag"
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$BIN" --quiet access --processed data/snapshot --no-geo --export-case 28 --out "$WORK"
"$PY" scripts/access_crosscheck.py "$WORK/case-28"
