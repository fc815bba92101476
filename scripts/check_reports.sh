#!/usr/bin/env bash
# Checks both HTML reports in a real browser: generates a small data set, writes
# `project --report` (a title projected as new, 5 trailers) and `eval-recs --report`, then for each
#   1. node host/report/js/check_report.mjs: every spec compiles and renders with Vega;
#   2. headless Chromium loads the page from disk (no network) and dumps its DOM after the scripts
#      ran; check_report.mjs --dom then checks every chart was drawn, fills the page's width and
#      has its legend.
# With SCREENSHOTS=DIR it also saves DIR/report-projection.png and DIR/report-eval-recs.png
# (how docs/*.png were made). Exit 77 (ctest: skipped) when node, the report's node_modules or
# Chromium are missing.
#
#   scripts/check_reports.sh BUILD_DIR [WORK_DIR]
#   SCREENSHOTS=docs scripts/check_reports.sh build
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(cd "$1" && pwd)/marquee"
work=${2:-$(mktemp -d)}
js="$root/host/report/js"

command -v node >/dev/null || { echo "check_reports: skipped: no node (apt-get install nodejs)"; exit 77; }
[ -f "$js/node_modules/vega-embed/build/vega-embed.min.js" ] ||
  { echo "check_reports: skipped: no $js/node_modules (npm ci --prefix host/report/js)"; exit 77; }
browser=""
for b in chromium chromium-browser google-chrome; do command -v "$b" >/dev/null && { browser=$b; break; }; done
[ -n "$browser" ] || { echo "check_reports: skipped: no Chromium (apt-get install chromium)"; exit 77; }

rm -rf "$work" && mkdir -p "$work" && cd "$work"
q() { "$bin" --log-level warn "$@"; }
q gen --users 4000 --titles 500 --tags 120 --seed 42 --discovery 0.1 --out d >/dev/null
title=$(sed -n 43p d/catalog/titles.csv | cut -d, -f1)
q project --catalog d/catalog --events d/events.csv --title "$title" --as-new --trailers 5 --backend cpu \
  --report projection.html --out projection.json >/dev/null
q eval-recs --catalog d/catalog --events d/events.csv --time-budget 0 --report eval-recs.html --out eval-recs.json \
  >/dev/null

# Headless Chromium as a batch tool: no sandbox (containers, root), no GPU, nothing fetched; virtual
# time lets the page's scripts finish before the DOM is dumped.
chrome() {
  "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-extensions \
    --no-first-run --hide-scrollbars --user-data-dir="$work/chrome-profile" --window-size="$1" \
    --virtual-time-budget=15000 "${@:2}" 2>>"$work/chromium.log"
}
status=0
for r in projection eval-recs; do
  echo "== $r.html"
  chrome 1400,1000 --dump-dom "file://$work/$r.html" > "$r.dom.html"
  (cd "$js" && node check_report.mjs "$work/$r.html" --dom "$work/$r.dom.html" --min-width 1000) || status=1
  if [ -n "${SCREENSHOTS:-}" ]; then
    height=$([ "$r" = projection ] && echo 2250 || echo 1700)
    mkdir -p "$root/$SCREENSHOTS"
    chrome "1400,$height" --screenshot="$(cd "$root/$SCREENSHOTS" && pwd)/report-$r.png" "file://$work/$r.html"
  fi
done
exit $status
