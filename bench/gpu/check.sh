#!/usr/bin/env bash
# The device check: one command, one deadline (docs/gpu.md "The device check").
#
#   bench/gpu/pack.sh                 # here: builds and packs build-gpu/carry.tar.xz
#   bench/gpu/check.sh                # there, with build-gpu/carry.tar.xz carried along
#   DRY_RUN=1 bench/gpu/check.sh      # here: every step that needs no device (automatic without one)
#
# Steps, most valuable first, each capped and all inside DEADLINE seconds (default 420, well under the
# device tool's 600 s a command, so that a rerun still fits): unpack the carried build, resolve its
# libraries, self-test, the GPU tests, the artwork GPU tests, compute-sanitizer memcheck and racecheck
# on small cases (K <= 256 for racecheck), the GPU benchmarks, the PyTorch peer, the results table.
# STEPS="gpu-tests racecheck" runs a subset (after unpack and libs); DEADLINE=N another budget.
#
# Results: $OUT/summary.txt (a line per step, failing tests, sanitizer verdicts, the tables) and
# $OUT/gpu-check.tar.gz (every log and JSON): two files, the device tool returns at most 8.
# Exit status 0 when every step that ran passed; a sanitizer refusing the device ("Device not
# supported") is noted, not counted as a failure. The carried binaries alone get LD_LIBRARY_PATH
# (never python3/torch or the sanitizer itself). Nothing is built here: without the carried build the
# binary steps fail and say so.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
root=$PWD
OUT=${OUT:-$root/gpu-results}
DEADLINE=${DEADLINE:-420}
STEPS=${STEPS:-self-test gpu-tests artwork-tests memcheck racecheck bench torch report}  # unpack, libs: always
RESERVE=15  # seconds kept back for the summary and the archive
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
res=$(mktemp -d "${TMPDIR:-/tmp}/marquee-gpu-check.XXXXXX")  # everything gathered here, packed at the end
steps_file=$res/steps.txt
start=$(date +%s)
failures=0

elapsed() { echo $(($(date +%s) - start)); }
left() { echo $((DEADLINE - $(elapsed) - RESERVE)); }
log() { echo "[check +$(elapsed)s] $*" | tee -a "$res/check.log"; }
# record NAME STATUS DETAIL: one summary line; FAIL counts against the exit status.
record() {
  printf '%-14s %-8s %s\n' "$1" "$2" "$3" >>"$steps_file"
  log "$1: $2 $3"
  [ "$2" = FAIL ] && failures=$((failures + 1))
  return 0
}
wanted() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
# run_step NAME CAP CMD...: CMD under min(CAP, time left) -> $res/NAME.log; sets rc and secs.
# rc 124/137: the cap or the deadline stopped it; 125: no time was left to start it.
run_step() {
  local name=$1 cap=$2 t
  shift 2
  t=$(left)
  [ "$t" -lt "$cap" ] && cap=$t
  if [ "$cap" -lt 5 ]; then
    rc=125 secs=0
    return
  fi
  log "$name (up to ${cap}s): $*"
  t=$(date +%s)
  timeout -k 5 "$cap" "$@" >"$res/$name.log" 2>&1
  rc=$?
  secs=$(($(date +%s) - t))
}
# The verdict of a gtest run from its log.
gtest_verdict() {
  local f=$1 passed skipped failed
  passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$f" | tail -1)
  skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$f" | tail -1)
  failed=$(grep -c '^\[  FAILED  \] .*(' "$f")
  echo "${passed:-0} passed, ${skipped:-0} skipped, ${failed} failed"
}
last_test_started() { grep '^\[ RUN      \]' "$1" | tail -1 | sed 's/^\[ RUN      \] //'; }

# --- where are we -------------------------------------------------------------------------------------
dry=""
if [ "${DRY_RUN:-0}" = 1 ]; then
  dry="DRY_RUN=1"
elif ! command -v nvidia-smi >/dev/null; then
  dry="no nvidia-smi"
elif ! nvidia-smi -L >"$res/nvidia-smi.txt" 2>&1 || ! grep -q '^GPU ' "$res/nvidia-smi.txt"; then
  dry="nvidia-smi lists no GPU"
fi
passed=ok  # the status of a step that passed: "dry" when it could not use a device
[ -n "$dry" ] && passed=dry
log "device check: deadline ${DEADLINE}s, steps: $STEPS; ${dry:+DRY RUN ($dry): device steps only print their commands}"
if [ -z "$dry" ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv >>"$res/nvidia-smi.txt" 2>&1
fi

carry=$root/build-gpu/carry
bin=$carry/bin
libpath=$carry/lib
have_bin() { [ -x "$bin/marquee" ] && [ -x "$bin/marquee_gpu_tests" ]; }
carried() { env LD_LIBRARY_PATH="$libpath" "$@"; }  # only the carried binaries see their libraries

# --- unpack -------------------------------------------------------------------------------------------
if [ -f build-gpu/carry.tar.xz ]; then
  run_step unpack 60 tar -C build-gpu -xJf build-gpu/carry.tar.xz
  if [ "$rc" = 0 ] && have_bin; then
    record unpack ok "build-gpu/carry.tar.xz (${secs}s; $(head -1 "$carry/MANIFEST.txt" 2>/dev/null))"
  else
    record unpack FAIL "tar exited $rc (see unpack.log)"
  fi
elif have_bin; then
  record unpack ok "using the unpacked build-gpu/carry"
else
  record unpack FAIL "no build-gpu/carry.tar.xz: run bench/gpu/pack.sh here and carry build-gpu/carry.tar.xz"
fi

# --- libraries ----------------------------------------------------------------------------------------
if have_bin; then
  for b in "$bin"/*; do carried ldd "$b"; done >"$res/libs.log" 2>&1
  missing=$(awk '/not found/{print $1}' "$res/libs.log" | sort -u)
  # cuBLAS is not carried (too large); look for it beyond the default paths (e.g. the CUDA wheels).
  for lib in $missing; do
    found=$(timeout 20 find /usr/local /opt /usr/lib -maxdepth 8 -name "$lib" 2>/dev/null | head -1)
    [ -n "$found" ] && libpath="$libpath:$(dirname "$found")" && echo "$lib: using $found" >>"$res/libs.log"
  done
  if [ -n "$missing" ]; then
    for b in "$bin"/*; do carried ldd "$b"; done >"$res/libs-after.log" 2>&1
    missing=$(awk '/not found/{print $1}' "$res/libs-after.log" | sort -u)
  fi
  if [ -z "$missing" ]; then
    record libs ok "every library resolves ($(awk '/libcublas\.so/{print $3; exit}' "$res/libs.log"))"
  else
    record libs FAIL "not found: $(tr "\n" " " <<<"$missing")"
  fi
fi

# --- self-test ----------------------------------------------------------------------------------------
if wanted self-test && have_bin; then
  run_step self-test 30 env LD_LIBRARY_PATH="$libpath" "$bin/marquee" devices --self-test
  if [ "$rc" != 0 ]; then
    record self-test FAIL "exit $rc: $(tail -1 "$res/self-test.log")"
  elif grep -q 'self-test: passed' "$res/self-test.log"; then
    record self-test ok "$(grep 'self-test:' "$res/self-test.log")"
  elif [ -n "$dry" ]; then
    record self-test dry "$(grep 'self-test:' "$res/self-test.log")"
  else
    record self-test FAIL "$(grep 'self-test:' "$res/self-test.log")"
  fi
fi

# --- GPU tests (they skip without a device, so the dry run runs them too) -----------------------------
gtest_step() {  # NAME CAP BINARY [gtest args]
  local name=$1 cap=$2 binary=$3
  shift 3
  run_step "$name" "$cap" env LD_LIBRARY_PATH="$libpath" "$binary" --gtest_output="json:$res/$name.json" "$@"
  local verdict
  verdict=$(gtest_verdict "$res/$name.log")
  case $rc in
    0) record "$name" "$passed" "$verdict (${secs}s)" ;;
    124 | 137) record "$name" FAIL "stopped after ${secs}s (cap or deadline); last test started: $(last_test_started "$res/$name.log")" ;;
    125) record "$name" FAIL "no time left to start it" ;;
    *) record "$name" FAIL "exit $rc: $verdict (${secs}s)" ;;
  esac
}
if wanted gpu-tests && have_bin; then gtest_step gpu-tests 150 "$bin/marquee_gpu_tests"; fi
if wanted artwork-tests && have_bin; then
  gtest_step artwork-tests 45 "$bin/marquee_artwork_tests" --gtest_filter='ArtworkGpu.*'
fi

# --- compute-sanitizer ----------------------------------------------------------------------------------
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
sanitize_step() {  # NAME CAP TOOL FILTER
  local name=$1 cap=$2 tool=$3 filter=$4
  local cmd=("$sanitizer" --tool "$tool" --error-exitcode 9 --target-processes all
    env LD_LIBRARY_PATH="$libpath" "$bin/marquee_gpu_tests" --gtest_filter="$filter")
  if [ -z "$sanitizer" ]; then
    record "$name" noted "compute-sanitizer not found: not run"
    return
  fi
  if [ -n "$dry" ]; then
    echo "${cmd[*]}" >"$res/$name.log"
    record "$name" dry "would run: $tool on $filter"
    return
  fi
  run_step "$name" "$cap" "${cmd[@]}"
  local verdict
  verdict=$(grep -h 'ERROR SUMMARY\|RACECHECK SUMMARY' "$res/$name.log" | tail -1)
  if grep -qiE 'device not supported|not supported on this (device|platform)|unable to (find|load) injection' "$res/$name.log"; then
    record "$name" noted "the sanitizer refused this device (not a failure): $(grep -iE -m1 'not supported|injection' "$res/$name.log")"
  elif [ "$rc" = 0 ]; then
    record "$name" ok "${verdict:-no summary} (${secs}s)"
  elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    record "$name" FAIL "stopped after ${secs}s; last test started: $(last_test_started "$res/$name.log")"
  elif [ "$rc" = 125 ]; then
    record "$name" FAIL "no time left to start it"
  else
    record "$name" FAIL "exit $rc: ${verdict:-see $name.log}"
  fi
}
if wanted memcheck && have_bin; then
  sanitize_step memcheck 75 memcheck \
    '*u37_t333_k1*:*u50_t2000_k257*:*ExactTies*:CudaBackend.*:CudaScorer.AFaultMidBatch*'
fi
if wanted racecheck && have_bin; then  # the block path's shared queue, K <= 256
  sanitize_step racecheck 60 racecheck 'CudaBlockSelect.*:*u50_t2000_k256*'
fi

# --- benchmarks -----------------------------------------------------------------------------------------
if wanted bench && have_bin; then
  if [ -n "$dry" ]; then
    run_step bench 30 env LD_LIBRARY_PATH="$libpath" "$bin/bench_gpu" --benchmark_list_tests
    if [ "$rc" = 0 ]; then record bench dry "$(wc -l <"$res/bench.log") benchmarks listed"; else record bench FAIL "exit $rc"; fi
  else
    run_step bench 150 env LD_LIBRARY_PATH="$libpath" "$bin/bench_gpu" --benchmark_format=json \
      --benchmark_out="$res/bench_gpu.json" --benchmark_out_format=json
    case $rc in
      0) record bench ok "$(grep -c '"name"' "$res/bench_gpu.json") results (${secs}s)" ;;
      125) record bench FAIL "no time left to start it" ;;
      *) record bench FAIL "exit $rc after ${secs}s (partial results, if any, in bench_gpu.json)" ;;
    esac
  fi
fi

# --- the PyTorch peer (the device's own python3, no carried libraries) ---------------------------------
if wanted torch; then
  run_step torch 90 python3 bench/gpu/torch_compare.py "$res/torch.json"
  if [ "$rc" = 0 ]; then
    skipped=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("skipped", ""))' "$res/torch.json" 2>/dev/null)
    if [ -z "$skipped" ]; then
      record torch ok "(${secs}s)"
    elif [ -n "$dry" ]; then
      record torch dry "skipped: $skipped"
    else
      record torch noted "skipped: $skipped"
    fi
  elif [ "$rc" = 125 ]; then
    record torch FAIL "no time left to start it"
  else
    record torch FAIL "exit $rc after ${secs}s (see torch.log)"
  fi
fi

# --- report, summary, archive -----------------------------------------------------------------------------
if wanted report; then
  if python3 bench/gpu/report.py "$res" >"$res/results.md" 2>"$res/report.log"; then
    record report ok "results.md"
  else
    record report FAIL "report.py failed (see report.log)"
  fi
fi

summary=$OUT/summary.txt
{
  echo "# Marquee device check: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(elapsed)s of ${DEADLINE}s, $failures failed step(s)"
  [ -n "$dry" ] && echo "DRY RUN ($dry): steps marked 'dry' did not use a device"
  [ -f "$carry/MANIFEST.txt" ] && sed 's/^/build: /' "$carry/MANIFEST.txt"
  grep -v '^GPU ' "$res/nvidia-smi.txt" 2>/dev/null | sed 's/^/gpu: /'
  echo
  cat "$steps_file"
  for f in "$res"/gpu-tests.log "$res"/artwork-tests.log; do
    [ -f "$f" ] && grep '^\[  FAILED  \] .*(' "$f" | head -20 | sed "s|^|$(basename "$f" .log): |"
  done
  for f in "$res"/memcheck.log "$res"/racecheck.log; do
    [ -f "$f" ] && grep -E '^========= (Invalid|Race|Error|Warning|ERROR SUMMARY|RACECHECK SUMMARY)' "$f" | head -10 |
      sed "s|^|$(basename "$f" .log): |"
  done
  if [ -s "$res/results.md" ]; then
    echo
    cat "$res/results.md"
  fi
} >"$summary"
cp "$summary" "$res/summary.txt"
tar -C "$res" -czf "$OUT/gpu-check.tar.gz" .
rm -rf "$res"
cat "$summary"
echo "results: $OUT/summary.txt and $OUT/gpu-check.tar.gz ($(du -k "$OUT/gpu-check.tar.gz" | cut -f1) KiB)"
[ "$failures" = 0 ]
