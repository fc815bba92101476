#!/usr/bin/env bash
# The demo job: installs what is missing, builds, generates a demo data set, builds profiles, trains
# and saves the best model, runs the nightly scoring job with it and prints a few users'
# recommendations with their explanations.
# Usage: scripts/demo.sh [USERS] [TITLES] [TAGS]   (defaults: 20000 users, 3000 titles, 400 tags)
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-20000}
titles=${2:-3000}
tags=${3:-400}
out=demo

./scripts/build.sh
echo
echo "== generating ${users} users x ${titles} titles x ${tags} tags into ${out}/"
# --discovery 0.1: a tenth of what users come across follows their taste (docs/projection.md).
./build/marquee gen --users "$users" --titles "$titles" --tags "$tags" --seed 42 --discovery 0.1 --out "$out"
echo
echo "== building user profiles from playback events"
./build/marquee profile --catalog "$out/catalog" --events "$out/events.csv" --out "$out/profiles.bin"
echo
echo "== training: every model family tuned on held-out watches, the best one saved (docs/models.md)"
./build/marquee train --catalog "$out/catalog" --events "$out/events.csv" --out "$out/model" --time-budget 60
echo
echo "== nightly job: top-20 titles for every user with that model, excluding what they watched"
./build/marquee score --catalog "$out/catalog" --profiles "$out/profiles.bin" --model-dir "$out/model" --top 20 \
  --out "$out/recommendations.csv" --show 3
echo
echo "== titles most like $(sed -n 2p "$out/catalog/titles.csv" | cut -d, -f1)"
./build/marquee similar --catalog "$out/catalog" --title "$(sed -n 2p "$out/catalog/titles.csv" | cut -d, -f1)" --top 5
echo
rejects="$out/recommendations.csv.rejects.csv"
echo "Full output: $out/recommendations.csv ($(($(wc -l < "$out/recommendations.csv") - 1)) rows);" \
  "$([ -f "$rejects" ] && echo "rejected input rows: $rejects" || echo "no input row was rejected")"
