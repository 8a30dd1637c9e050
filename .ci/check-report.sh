#!/usr/bin/env bash
# Browser check of the founders' report: renders report.html in Debian's headless Chromium with
# networking disabled, takes a screenshot, and fails on any console message (a script error or a
# resource the page tried to fetch), on a page without its content, or on a blank screenshot.
#
#   .ci/check-report.sh                 diagnose the example territory, then check its report
#   .ci/check-report.sh path/report.html   check an existing report
#   SCREENSHOT=docs/img/report.png .ci/check-report.sh   also keep the first-screen screenshot
#   .ci/check-report.sh --self-test     prove the check fails on a broken and on a blank page
#   REPORT_EXPECT=text REPORT_MIN_SVG=n .ci/check-report.sh path/report.html   another report (coverage)
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

install_chromium() {
  command -v chromium >/dev/null 2>&1 && return
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "== installing Debian's chromium"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
}

# Flags: headless, no sandbox (containers), and no network: every host resolves to nothing and
# every proxied request goes to a closed port, so a page that reaches out logs a console error.
chrome() {
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d -p "$WORK")" \
    --host-resolver-rules='MAP * ~NOTFOUND' --proxy-server='127.0.0.1:9' \
    --enable-logging=stderr --v=0 --hide-scrollbars "$@"
}

# Exit 1 if the PNG is (nearly) one colour. Pure standard library: CI has no PIL.
blank_png() {
  python3 - "$1" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        bpp = {2: 3, 6: 4}[ctype]
        assert depth == 8
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
counts = {}
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    if f == 1:
        for i in range(bpp, stride):
            line[i] = (line[i] + line[i - bpp]) & 255
    elif f == 2:
        line = bytearray((a + b) & 255 for a, b in zip(line, prev))
    elif f == 3:
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
    elif f == 4:
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp * 3):
        px = bytes(line[x:x + 3])
        counts[px] = counts.get(px, 0) + 1
    prev = line
total = sum(counts.values())
top = max(counts.values())
print(f"screenshot {w}x{h}: {len(counts)} colours, {100 * (1 - top / total):.1f} % off the background")
sys.exit(1 if len(counts) < 20 or top / total > 0.98 else 0)
PY
}

# check REPORT: 0 if the page renders cleanly, 1 otherwise.
check() {
  local report shot log dom
  report=$(realpath "$1")
  shot="$WORK/shot.png"; log="$WORK/chrome.log"; dom="$WORK/dom.html"
  rm -f "$shot"
  chrome --window-size=1280,900 --screenshot="$shot" "file://$report" 2>"$log" >/dev/null || true
  chrome --dump-dom "file://$report" 2>>"$log" >"$dom" || true
  local ok=0
  if grep -iE 'CONSOLE|Failed to load resource|net::ERR_' "$log" >"$WORK/errors"; then
    echo "FAIL: console errors while rendering $report:"; sed 's/^/  /' "$WORK/errors"; ok=1
  fi
  if [ ! -s "$shot" ]; then
    echo "FAIL: no screenshot"; tail -5 "$log"; return 1
  fi
  if ! blank_png "$shot"; then echo "FAIL: the screenshot of $report is blank"; ok=1; fi
  if [ -n "${EXPECT:-}" ]; then
    local svgs
    svgs=$(grep -o '<svg' "$dom" | wc -l)
    if ! grep -q "$EXPECT" "$dom" || [ "$svgs" -lt "${MIN_SVG:-1}" ]; then
      echo "FAIL: the rendered page lacks \"$EXPECT\" or has $svgs inline SVG (< ${MIN_SVG:-1})"; ok=1
    fi
  fi
  return $ok
}

install_chromium
chromium --version

if [ "${1:-}" = "--self-test" ]; then
  printf '<!DOCTYPE html><html><body><h1>x</h1><script>undefinedFunction()</script><img src="https://example.org/a.png"></body></html>' >"$WORK/broken.html"
  printf '<!DOCTYPE html><html><body style="background:#fff"></body></html>' >"$WORK/blank.html"
  if EXPECT= check "$WORK/broken.html"; then echo "self-test FAILED: a page with a script error passed"; exit 1; fi
  if EXPECT= check "$WORK/blank.html"; then echo "self-test FAILED: a blank page passed"; exit 1; fi
  echo "self-test passed: broken and blank pages are caught"
  exit 0
fi

REPORT="${1:-}"
if [ -z "$REPORT" ]; then
  DATA="${CPTS_DATA_DIR:-../shared/data}"
  if [ ! -f "$DATA/geo/communes-france-2018.geojson.gz" ]; then
    echo "SKIP check-report: real data folder $DATA not found (set CPTS_DATA_DIR)"
    exit 0
  fi
  cargo build --locked --quiet
  BIN="${CARGO_TARGET_DIR:-target}/debug/cpts-diag"
  "$BIN" --quiet diagnose --territory data/territories/grand-chateaudun.toml --out "$WORK/report"
  REPORT="$WORK/report/report.html"
fi

EXPECT="${REPORT_EXPECT:-Diagnostic territorial}" MIN_SVG="${REPORT_MIN_SVG:-5}" check "$REPORT"
if [ -n "${SCREENSHOT:-}" ]; then cp "$WORK/shot.png" "$SCREENSHOT"; echo "screenshot kept in $SCREENSHOT"; fi
echo "OK: $REPORT renders in Chromium without console errors and is not blank"
