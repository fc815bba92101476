#!/usr/bin/env bash
# Training at scale (issue #14): wall, CPU and peak RSS of one behaviour-model fit — the refit
# `marquee train` ends with — at USERS x TITLES x FACTORS, and of `marquee train` itself with a short
# search budget. Generated data is cached in $DATA.
#
#   bench/train_scale.sh [USERS] [TITLES] [FACTORS] [BUDGET_S]     defaults: 300000 20000 128 120
#
# Environment: BUILD (default build), DATA (default /tmp/marquee-train-scale-USERSxTITLES).
# Prints one line per step: wall s, user+sys CPU s, peak RSS MiB (GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-300000}
titles=${2:-20000}
factors=${3:-128}
budget=${4:-120}
build=${BUILD:-build}
marquee="$build/marquee"
data=${DATA:-/tmp/marquee-train-scale-${users}x${titles}}
[ -x "$marquee" ] || { echo "train_scale.sh: build $marquee first (scripts/build.sh)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "train_scale.sh: needs GNU time (apt-get install time)" >&2; exit 2; }

measure() {  # label, command...
  local label=$1
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$data/time.txt" "$@" > "$data/$label.log" 2>&1
  read -r wall user sys rss < "$data/time.txt"
  printf '%-34s wall %8.1f s   cpu %8.1f s   peak RSS %7.0f MiB\n' "$label" "$wall" \
    "$(echo "$user + $sys" | bc)" "$(echo "$rss / 1024" | bc)"
}

mkdir -p "$data"
if [ ! -f "$data/data/events.csv" ]; then
  measure gen "$marquee" gen --users "$users" --titles "$titles" --tags 500 --seed 1 --out "$data/data"
fi
echo "# $(date -u +%Y-%m-%d) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores;" \
     "$users users x $titles titles, $(($(wc -l < "$data/data/events.csv") - 1)) events, $factors factors"
measure "profile" "$marquee" profile --catalog "$data/data/catalog" --events "$data/data/events.csv" \
  --out "$data/profiles.bin" --backend cpu
# One fit (12 iterations) + scoring everyone at K = 10: what `score --model behaviour` runs.
measure "fit f=$factors + score K=10" "$marquee" score --catalog "$data/data/catalog" --profiles "$data/profiles.bin" \
  --model behaviour --factors "$factors" --backend cpu -k 10 --out "$data/recs.csv"
grep -h "model: .* ready in" "$data/fit f=$factors + score K=10.log" | sed 's/^/    /'
measure "train --model behaviour ${budget}s" "$marquee" train --catalog "$data/data/catalog" \
  --profiles "$data/profiles.bin" --model behaviour --time-budget "$budget" --backend cpu --out "$data/model"
grep -h "refit in\|wrote" "$data/train --model behaviour ${budget}s.log" | sed 's/^/    /'
