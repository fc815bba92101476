#!/usr/bin/env bash
# Dask across worker processes on one machine (issue #18, docs/scale.md): the same scoring run as
# one `marquee score --out DIR/` process, then `python3 -m marquee.dask score` on a LocalCluster of
# 1 worker (all cores) and of 2 workers (a core each): wall time, speed-up, per-task overhead, and a
# byte comparison of the parts.
#
#   bench/dask_workers.sh [USERS=100000] [PARTS=20]     (BUILD=build, DATA=/tmp/marquee-dask-USERS)
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-100000}
parts=${2:-20}
build=${BUILD:-build}
data=${DATA:-/tmp/marquee-dask-$users}
marquee="$build/marquee"
export PYTHONPATH="$build/python${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$data"
[ -f "$data/events.csv" ] || "$marquee" --log-level warn gen --users "$users" --titles 20000 --tags 500 --seed 1 --out "$data"
[ -f "$data/profiles.bin" ] || "$marquee" --log-level warn profile --catalog "$data/catalog" --events "$data/events.csv" --out "$data/profiles.bin"
cores=$(nproc)
timed() {  # label, command...
  local label=$1
  shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > "$data/$label.log" 2>&1
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}
rm -rf "$data/serial" "$data/dask1" "$data/dask2"
s=$(timed serial "$marquee" --log-level warn score --catalog "$data/catalog" --profiles "$data/profiles.bin" --model tags \
  --top 10 --out "$data/serial/" --partitions "$parts" --threads "$cores")
d1=$(timed dask1 /usr/bin/python3 -m marquee.dask score --scheduler local --workers 1 --threads "$cores" \
  --catalog "$data/catalog" --profiles "$data/profiles.bin" --model tags --top 10 --out "$data/dask1/" --partitions "$parts")
d2=$(timed dask2 /usr/bin/python3 -m marquee.dask score --scheduler local --workers "$cores" --threads 1 \
  --catalog "$data/catalog" --profiles "$data/profiles.bin" --model tags --top 10 --out "$data/dask2/" --partitions "$parts")
same=yes
for p in "$data"/serial/part-*; do cmp -s "$p" "$data/dask1/$(basename "$p")" && cmp -s "$p" "$data/dask2/$(basename "$p")" || same=no; done
printf '%s: %d users, %d parts, %d cores, load %s\n' "$(date -u +%FT%TZ)" "$users" "$parts" "$cores" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'one process (marquee score --out DIR/): %6.1f s\n' "$s"
printf 'dask, 1 worker x %d threads:           %6.1f s  (%.2fx the process; %.2f s a task over it, the LocalCluster start included)\n' "$cores" "$d1" \
  "$(echo "$s / $d1" | bc -l)" "$(echo "($d1 - $s) / $parts" | bc -l)"
printf 'dask, %d workers x 1 thread:            %6.1f s  (%.2fx 1 worker)\n' "$cores" "$d2" "$(echo "$d1 / $d2" | bc -l)"
echo "parts byte-identical to the one-process run: $same"
