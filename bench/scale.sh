#!/usr/bin/env bash
# Bounded memory at scale (issue #18, docs/scale.md): `profile` and `score` in memory and within
# --memory-budget on the same generated events: wall, CPU, peak RSS, events/s and users/s, and the
# spill files' largest size. Generated data is cached in $DATA.
#
#   bench/scale.sh [USERS] [TITLES] [TAGS] [BUDGET]     defaults: 200000 20000 500 256M
#
# Environment: BUILD (default build), DATA (default /tmp/marquee-scale-USERSxTITLES), PARTS (score's
# --partitions, default 8), BUDGET_ONLY=1 (skip the in-memory runs and the byte comparisons: for sets
# whose in-memory run does not fit the machine, e.g. 200M events). Prints one line per step (GNU time)
# and the spill disk's peak use (sampled every second).
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-200000}
titles=${2:-20000}
tags=${3:-500}
budget=${4:-256M}
build=${BUILD:-build}
parts=${PARTS:-8}
marquee="$build/marquee"
data=${DATA:-/tmp/marquee-scale-${users}x${titles}}
[ -x "$marquee" ] || { echo "scale.sh: build $marquee first (scripts/build.sh)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "scale.sh: needs GNU time (apt-get install time)" >&2; exit 2; }
mkdir -p "$data"
[ -f "$data/events.csv" ] || "$marquee" --log-level warn gen --users "$users" --titles "$titles" --tags "$tags" --seed 1 --out "$data"
events=$(($(wc -l < "$data/events.csv") - 1))
echo "data: $users users, $titles titles, $tags tags, $events events ($(du -m "$data/events.csv" | cut -f1) MiB of CSV)"

measure() {  # label, count (events or users, for the rate), command...
  local label=$1 count=$2
  shift 2
  local log="$data/$(echo "$label" | tr -c 'A-Za-z0-9\n' '_').log"
  local base
  base=$(df --output=used -B1M "$data" | tail -1)
  echo 0 > "$data/disk_peak.txt"
  ( peak=0; while sleep 1; do
      now=$(( $(df --output=used -B1M "$data" | tail -1) - base ))
      [ "$now" -gt "$peak" ] && peak=$now && echo "$peak" > "$data/disk_peak.txt"
    done ) &
  local sampler=$!
  /usr/bin/time -f "%e %U %S %M" -o "$data/time.txt" "$@" > "$log" 2>&1
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  read -r wall user sys rss < "$data/time.txt"
  printf '%-30s wall %7.1f s  cpu %7.1f s  peak RSS %6.0f MiB  %9.0f /s  disk +%s MiB at peak\n' "$label" "$wall" \
    "$(echo "$user + $sys" | bc)" "$(echo "$rss / 1024" | bc)" "$(echo "$count / $wall" | bc)" "$(cat "$data/disk_peak.txt")"
}

common=(--catalog "$data/catalog" --events "$data/events.csv")
if [ "${BUDGET_ONLY:-0}" = 1 ]; then
  measure "profile $budget (events/s)" "$events" "$marquee" profile "${common[@]}" --out "$data/budget.bin" \
    --memory-budget "$budget"
  grep -ho "built in [0-9]* partitions.*" "$data"/profile_"${budget}"*.log || true
  rm -rf "$data/recs-budget"
  measure "score tags $budget (users/s)" "$users" "$marquee" score "${common[@]}" --model tags --top 10 \
    --out "$data/recs-budget/" --partitions "$parts" --memory-budget "$budget"
  exit 0
fi
# "In memory": a budget no estimate reaches (the default, half the machine, might spill).
measure "profile in memory (events/s)" "$events" "$marquee" profile "${common[@]}" --out "$data/mem.bin" \
  --memory-budget 1T
measure "profile $budget (events/s)" "$events" "$marquee" profile "${common[@]}" --out "$data/budget.bin" \
  --memory-budget "$budget"
grep -ho "built in [0-9]* partitions.*" "$data"/profile_"${budget}"*.log || true
cmp "$data/mem.bin" "$data/budget.bin" && echo "profiles: byte-identical"
rm -rf "$data/recs-mem" "$data/recs-budget"
measure "score tags in memory (users/s)" "$users" "$marquee" score "${common[@]}" --model tags --top 10 \
  --out "$data/recs-mem/" --partitions "$parts" --memory-budget 1T
measure "score tags $budget (users/s)" "$users" "$marquee" score "${common[@]}" --model tags --top 10 \
  --out "$data/recs-budget/" --partitions "$parts" --memory-budget "$budget"
diff -r "$data/recs-mem" "$data/recs-budget" > /dev/null && echo "parts: byte-identical" || echo "parts differ (inputs in the manifests differ only if files changed)"
