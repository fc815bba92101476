#!/usr/bin/env bash
# Cost of ?hour= in serve (docs/benchmarks.md): same data and rates, plain vs --daypart with random hours.
# Needs bench/load_server.sh's data set (D) and a daypart model with a non-zero weight (DP).
set -u
B=${BUILD:-build}; D=${D:-bench-results/serve/data_100000u_50000t_500g}; DP=${DP:?daypart model}; PORT=${PORT:-18181}
one() {  # label serve_args client_args
  $B/marquee serve --catalog $D/catalog --profiles $D/profiles.bin --port $PORT --backend cpu $2 >"${TMPDIR:-/tmp}/serve_$1.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null 2>&1 && break; sleep 0.5; done
  for rate in 500 20000; do
    echo "$1 rate $rate: $($B/bench/load_client --port $PORT --rate $rate --connections 64 --duration 15 --warmup 2 --ids $D/user_ids.txt -k 20 $3)"
  done
  kill -TERM $pid; wait $pid 2>/dev/null
}
one plain "" ""
one hour "--daypart $DP" "--random-hour"
