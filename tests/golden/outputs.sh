#!/usr/bin/env bash
# Golden outputs: runs the demo job and score/project/segment/daypart/eval-recs/similar/explain on a
# generated set and prints "sha256  name" for every file they write (timings and temp names are not
# in the files, so two builds of the same behaviour print the same list).
#
#   tests/golden/outputs.sh BUILD_DIR WORK_DIR > manifest.txt
#   diff manifest-before.txt manifest-after.txt     # empty: byte-identical behaviour
#
# Used to show that a refactor changes no output (issue #13); the default set is the demo set.
set -euo pipefail
bin="$(cd "$1" && pwd)/marquee"
work=$2
users=${USERS:-20000} titles=${TITLES:-3000} tags=${TAGS:-400}
rm -rf "$work" && mkdir -p "$work" && cd "$work"
q() { "$bin" --log-level warn "$@"; }

q gen --users "$users" --titles "$titles" --tags "$tags" --seed 42 --discovery 0.1 --out d >/dev/null
q gen --users 3000 --titles 400 --tags 120 --seed 7 --daypart-effect 0.5 --artwork-variants 3 --out h >/dev/null
q profile --catalog d/catalog --events d/events.csv --out d/profiles.bin --backend cpu
q score --catalog d/catalog --profiles d/profiles.bin --top 20 --out recs.csv --backend cpu --model tags --show 3 > show.txt
q score --catalog d/catalog --profiles d/profiles.bin --top 20 --out recs.jsonl --backend cpu --model tags --exclude completed
q score --catalog d/catalog --events d/events.csv --top 10 --out hybrid.csv --backend cpu --model hybrid
q similar --catalog d/catalog --title "$(sed -n 2p d/catalog/titles.csv | cut -d, -f1)" --top 5 --out similar.csv > similar.txt
u=$(sed -n 2p recs.csv | cut -d, -f1); t=$(sed -n 2p recs.csv | cut -d, -f3)
q explain --catalog d/catalog --profiles d/profiles.bin --user "$u" --title "$t" > explain.txt
q explain --catalog d/catalog --profiles d/profiles.bin --user "$u" --title "$t" --json > explain.json
q segment --catalog d/catalog --profiles d/profiles.bin --k 5 --out seg.csv --backend cpu > segment.txt
q project --catalog d/catalog --events d/events.csv --title "$t" --as-new --out project.json --trailers 3 \
  --backend cpu --report project.html > project.txt
q eval-recs --catalog d/catalog --events d/events.csv --time-budget 0 --out eval.json > eval.txt
q eval-projection --catalog h/catalog --events h/events.csv --titles 4 --backend cpu --out evalproj.json \
  --rows evalproj.csv > evalproj.txt
q daypart --catalog h/catalog --events h/events.csv --out dp.json --backend cpu > daypart.txt
q score --catalog h/catalog --events h/events.csv --top 10 --out dp-recs.csv --backend cpu --model tags --daypart dp.json \
  --hour 21 --artwork h/artwork.csv
find . -type f ! -name '*.tmp.*' -print0 | sort -z | xargs -0 sha256sum
