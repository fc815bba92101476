#!/usr/bin/env bash
# Slow clients against the front service (issue #15; docs/benchmarks.md, "Slow clients").
#
# Starts `marquee serve` (the binary in MARQUEE) on loopback over a small generated set and drives
# GET /v1/users/{id}/recommendations at a fixed rate with bench/load_client, twice: alone, then with
# SLOW hostile connections that each send a request line and then one header byte a second, forever
# (reconnecting when the server closes them). Prints p50/p99 of the real requests and their status
# and error counts. Run it once per binary to compare servers, e.g. before and after a change:
#   MARQUEE=/path/to/old/marquee bench/slow_clients.sh; bench/slow_clients.sh
#
# Environment: MARQUEE (build-h/marquee), CLIENT (build-h/bench/load_client), OUT
# (bench-results/slow), SLOW (200), RATE (100/s), DURATION (20 s measured, after 2 s of warm-up),
# CONNECTIONS (16 real keep-alive connections), PORT (18090), SERVE_ARGS (extra serve flags).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
MARQUEE="${MARQUEE:-$root/build-h/marquee}"
CLIENT="${CLIENT:-$root/build-h/bench/load_client}"
OUT="${OUT:-$root/bench-results/slow}"
SLOW="${SLOW:-200}" RATE="${RATE:-100}" DURATION="${DURATION:-20}" CONNECTIONS="${CONNECTIONS:-16}"
PORT="${PORT:-18090}"
SERVE_ARGS="${SERVE_ARGS:-}"

mkdir -p "$OUT"
data="$OUT/data"
if [ ! -f "$data/profiles.bin" ]; then
  "$MARQUEE" gen --users 20000 --titles 5000 --tags 200 --seed 1 --out "$data" >/dev/null
  "$MARQUEE" profile --catalog "$data/catalog" --events "$data/events.csv" --out "$data/profiles.bin" >/dev/null
  awk -F, 'NR > 1 && !seen[$2]++ { print $2; if (++n == 5000) exit }' "$data/events.csv" >"$data/user_ids.txt"
fi

log="$OUT/serve.log"
# shellcheck disable=SC2086
"$MARQUEE" serve --catalog "$data/catalog" --profiles "$data/profiles.bin" --port "$PORT" --backend cpu \
  $SERVE_ARGS >"$log" 2>&1 &
server=$!
stop_server() { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
trap stop_server EXIT
for _ in $(seq 1 240); do
  curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.5
done

run() {  # label slow-clients
  local line
  line="$("$CLIENT" --port "$PORT" --rate "$RATE" --connections "$CONNECTIONS" --duration "$DURATION" --warmup 2 \
            --ids "$data/user_ids.txt" -k 20 --slow-clients "$2")"
  echo "{\"run\":\"$1\",${line#\{}" | tee -a "$OUT/results.jsonl"
}
: >"$OUT/results.jsonl"
run "alone" 0
run "slow" "$SLOW"
kill -0 "$server" && echo "server still up"
curl -s "http://127.0.0.1:$PORT/metrics" >"$OUT/metrics.txt" || true
grep -E '^marquee_(searches_total|http_connections_shed_total|http_connections_dropped_total)' "$OUT/metrics.txt" || true

echo "== $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $MARQUEE"
python3 - "$OUT/results.jsonl" <<'PY'
import json, sys
print("| run | slow clients | offered/s | 200/s | 200 | 503 | no answer | p50 ms | p99 ms | slow conns closed by server |")
print("|---|---|---|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    r = json.loads(line)
    st = r["status"] or {}
    sc = r.get("slow_clients", {})
    print(f"| {r['run']} | {sc.get('connections', 0)} | {r['offered_rps']:.0f} | {r['ok_rps']:.0f} | {st.get('200', 0)} "
          f"| {st.get('503', 0)} | {st.get('error', 0) + r['unsent']} | {r['ok_ms']['p50']} | {r['ok_ms']['p99']} "
          f"| {sc.get('closed_by_server', '-')} |")
PY
