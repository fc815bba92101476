#!/usr/bin/env bash
# Load test of the front service (docs/benchmarks.md, "Front service").
#
# Starts `marquee serve` on loopback over a generated 50k-title set and drives it with our own
# open-loop client (bench/load_client.cpp: fixed request rates, latency measured from each request's
# scheduled start, so a slow server is not hidden by a waiting client):
#   1. fixed rates (RATES), K = 20, GET /v1/users/{id}/recommendations on random users; then the same
#      rates over gRPC (the Recommend RPC on serve's --grpc-port GRPC_PORT) unless GRPC_PORT is empty;
#   2. a capacity probe: far more than the server can take, the answered rate is its capacity;
#   3. an overload run at 10x that capacity with more connections than the server has threads:
#      the server must stay up and shed with 503 while the requests it accepts keep a bounded p99.
# Prints a table and writes every run as one JSON line to $OUT/results.jsonl.
#
# Environment: OUT (bench-results/serve), BUILD (build-load), USERS (100000), TITLES (50000),
# TAGS (500), RATES ("100 250 500 1000 2000"), DURATION (20 s per rate), CONNECTIONS (64),
# BACKEND (auto), SERVE_ARGS (extra `marquee serve` flags, e.g. "--index HNSW32 --index-params efSearch=64"),
# PORT (18080), GRPC_PORT (18081; empty: HTTP only, e.g. for a build without gRPC), OVERLOAD_CONNECTIONS (256), CMAKE_ARGS (extra configure flags for BUILD),
# CLIENT_ARGS (extra load_client flags, e.g. "--random-hour" with SERVE_ARGS="--daypart FILE"),
# MODEL (empty: the tags model; a family, e.g. "behaviour": `marquee train --model MODEL` on the
# data, kept beside it, and served with --model-dir), MODEL_ARGS (train flags; default "--time-budget 120").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:-$root/bench-results/serve}"
BUILD="${BUILD:-$root/build-load}"
USERS="${USERS:-100000}" TITLES="${TITLES:-50000}" TAGS="${TAGS:-500}"
RATES="${RATES:-100 250 500 1000 2000}"
DURATION="${DURATION:-20}"
CONNECTIONS="${CONNECTIONS:-64}"
OVERLOAD_CONNECTIONS="${OVERLOAD_CONNECTIONS:-256}"
BACKEND="${BACKEND:-auto}"
SERVE_ARGS="${SERVE_ARGS:-}"
PORT="${PORT:-18080}"
GRPC_PORT="${GRPC_PORT-18081}"
CMAKE_ARGS="${CMAKE_ARGS:-}"
CLIENT_ARGS="${CLIENT_ARGS:-}"
MODEL="${MODEL:-}"
MODEL_ARGS="${MODEL_ARGS:---time-budget 120}"

mkdir -p "$OUT"
"$root/scripts/setup.sh"
# shellcheck disable=SC2086
cmake -S "$root" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMARQUEE_BUILD_TESTS=OFF $CMAKE_ARGS >/dev/null
cmake --build "$BUILD" --target marquee load_client >/dev/null
marquee="$BUILD/marquee"
client="$BUILD/bench/load_client"

data="$OUT/data_${USERS}u_${TITLES}t_${TAGS}g"
if [ ! -f "$data/profiles.bin" ]; then
  "$marquee" gen --users "$USERS" --titles "$TITLES" --tags "$TAGS" --seed 1 --out "$data"
  "$marquee" profile --catalog "$data/catalog" --events "$data/events.csv" --out "$data/profiles.bin"
  # 20,000 distinct users to ask for, in order of first appearance.
  awk -F, 'NR > 1 && !seen[$2]++ { print $2; if (++n == 20000) exit }' "$data/events.csv" > "$data/user_ids.txt"
fi

model_args=""
if [ -n "$MODEL" ]; then
  if [ ! -f "$data/model_$MODEL/manifest.json" ]; then
    # shellcheck disable=SC2086
    "$marquee" train --catalog "$data/catalog" --profiles "$data/profiles.bin" --model "$MODEL" $MODEL_ARGS \
      --out "$data/model_$MODEL"
  fi
  model_args="--model-dir $data/model_$MODEL"
fi

log="$OUT/serve.log"
# shellcheck disable=SC2086
"$marquee" serve --catalog "$data/catalog" --profiles "$data/profiles.bin" --port "$PORT" --backend "$BACKEND" \
  ${GRPC_PORT:+--grpc-port "$GRPC_PORT"} $model_args $SERVE_ARGS >"$log" 2>&1 &
server=$!
stop_server() { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
trap stop_server EXIT
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.5
done
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "server not ready"; cat "$log"; exit 1; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
results="$OUT/results.jsonl"
: >"$results"
run() {  # label rate connections duration [protocol port]
  local line
  # shellcheck disable=SC2086
  line="$("$client" --protocol "${5:-http}" --port "${6:-$PORT}" --rate "$2" --connections "$3" --duration "$4" \
            --warmup 2 --ids "$data/user_ids.txt" -k 20 $CLIENT_ARGS)"
  echo "{\"run\":\"$1\",${line#\{}" | tee -a "$results"
}

echo "== fixed rates (K = 20, $CONNECTIONS connections, $DURATION s each)"
for r in $RATES; do run "rate" "$r" "$CONNECTIONS" "$DURATION"; done
if [ -n "$GRPC_PORT" ]; then
  echo "== the same over gRPC (Recommend RPC, port $GRPC_PORT)"
  for r in $RATES; do run "grpc rate" "$r" "$CONNECTIONS" "$DURATION" grpc "$GRPC_PORT"; done
fi

echo "== capacity probe"
run "capacity" 20000 "$CONNECTIONS" 10
capacity="$(tail -1 "$results" | sed -E 's/.*"ok_rps":([0-9.]+).*/\1/')"
overload="$(awk -v c="$capacity" 'BEGIN { printf "%d", c * 10 }')"

echo "== overload: 10 x capacity ($capacity/s) = $overload/s offered, $OVERLOAD_CONNECTIONS connections"
run "overload" "$overload" "$OVERLOAD_CONNECTIONS" "$DURATION"
kill -0 "$server" && echo "server still up after the overload run"
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && echo "and ready"
curl -s "http://127.0.0.1:$PORT/metrics" >"$OUT/metrics.txt"

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "== summary ($(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
grep -m1 "listening on" "$log" | sed 's/.*serve: //'
grep -m1 "recall@" "$log" | sed 's/.*serve: //' || true
python3 - "$results" "$OUT/metrics.txt" <<'EOF'
import json, re, sys
print("| run | offered/s | answered/s | 200/s | 503 | p50 ms | p99 ms | p999 ms | accepted p99 (service) ms |")
print("|---|---|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    r = json.loads(line)
    st = r["status"] or {}
    print(f"| {r['run']} | {r['offered_rps']:.0f} | {r['achieved_rps']:.0f} | {r['ok_rps']:.0f} | {st.get('503', 0)} "
          f"| {r['ok_ms']['p50']} | {r['ok_ms']['p99']} | {r['ok_ms']['p999']} | {r['ok_service_ms']['p99']} |")
m = open(sys.argv[2]).read()
s = float(re.search(r"^marquee_batch_size_sum (\S+)", m, re.M).group(1))
c = float(re.search(r"^marquee_batch_size_count (\S+)", m, re.M).group(1))
shed = re.search(r"^marquee_http_connections_shed_total (\S+)", m, re.M)
over = re.search(r'^marquee_searches_total\{outcome="overloaded"\} (\S+)', m, re.M)
dead = re.search(r'^marquee_searches_total\{outcome="deadline"\} (\S+)', m, re.M)
print(f"\nmean batch size {s / c:.1f} over {c:.0f} batches; searches refused: queue full "
      f"{over.group(1) if over else 0}, deadline {dead.group(1) if dead else 0}; connections shed "
      f"{shed.group(1) if shed else 0}")
EOF
