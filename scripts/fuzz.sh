#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, clang, ASan+UBSan) in ./build-fuzz when needed and runs
# each against a scratch copy of its seed corpus (tests/fuzz/corpus/<target>/; the repository is never
# written). Exits non-zero on any finding (crash, sanitizer report, uncaught exception, leak, timeout,
# out-of-memory) and prints where the reproducer is.
#
#   scripts/fuzz.sh [--seconds N] [--ci] [--keep] [TARGET...]
#     --seconds N   run each harness N seconds (default 60)
#     --ci          about 90 s in all, shared over the harnesses
#     --keep        keep the scratch folder (corpus grown by the run) and print it
#     TARGET...     only these harnesses (default: all; fuzz_events_csv fuzz_events_jsonl fuzz_catalog
#                   fuzz_profiles fuzz_model_dir fuzz_npy fuzz_http)
# Environment: MARQUEE_JOBS (build parallelism, default min(nproc, 2)), MARQUEE_FUZZ_DIR (default
# build-fuzz), MARQUEE_FUZZ_OUT (where findings go, default build-fuzz/findings), extra libFuzzer flags
# in MARQUEE_FUZZ_FLAGS (e.g. "-jobs=4 -workers=4").
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=60
ci=0
keep=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --ci) ci=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all=(fuzz_events_csv fuzz_events_jsonl fuzz_catalog fuzz_profiles fuzz_model_dir fuzz_npy fuzz_http)
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
if [ "$ci" = 1 ]; then seconds=$(( 90 / ${#targets[@]} )); [ "$seconds" -ge 5 ] || seconds=5; fi

dir=${MARQUEE_FUZZ_DIR:-build-fuzz}
jobs=${MARQUEE_JOBS:-$(( $(nproc) < 2 ? $(nproc) : 2 ))}
# clang and its libFuzzer runtime from Debian when missing (as scripts/setup.sh does for the build).
if [ -z "${CXX:-}" ] && { ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; }; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "fuzz.sh: installing clang libclang-rt-dev"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-dev
fi
export CC=${CC:-clang} CXX=${CXX:-clang++}
if ! "$CXX" --version 2>/dev/null | grep -qi clang; then
  echo "fuzz.sh: needs clang with libFuzzer (CXX=$CXX is not clang); install clang and libclang-rt-dev" >&2
  exit 2
fi
start=$(date +%s)
if [ ! -f "$dir/build.ninja" ] || ! grep -q "^MARQUEE_BUILD_FUZZERS:BOOL=ON" "$dir/CMakeCache.txt" 2>/dev/null; then
  rm -f "$dir/CMakeCache.txt"  # e.g. a folder configured for something else
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" -DMARQUEE_ENABLE_CUDA=OFF \
    -DMARQUEE_BUILD_TESTS=OFF -DMARQUEE_BUILD_BENCH=OFF -DMARQUEE_BUILD_PYTHON=OFF -DMARQUEE_BUILD_FUZZERS=ON
fi
cmake --build "$dir" --parallel "$jobs" --target "${targets[@]}"
echo "fuzz.sh: build took $(( $(date +%s) - start )) s"

out=${MARQUEE_FUZZ_OUT:-$root/$dir/findings}
mkdir -p "$out"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/marquee-fuzz-run.XXXXXX")
[ "$keep" = 1 ] || trap 'rm -rf "$scratch"' EXIT
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:allocator_may_return_null=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

failed=()
for t in "${targets[@]}"; do
  corpus=$scratch/corpus/$t
  mkdir -p "$corpus" "$out/$t"
  [ -d tests/fuzz/corpus/$t ] && cp -r tests/fuzz/corpus/$t/. "$corpus/"
  dict=()
  [ -f tests/fuzz/dict/$t.dict ] && dict=(-dict=tests/fuzz/dict/$t.dict)
  log=$out/$t/run.log
  echo "fuzz.sh: $t for ${seconds} s (log: $log)"
  set +e
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb/-malloc_limit_mb: a reader asking for
  # more memory than a file of this size can justify is a finding, not a slow run.
  # --ci: a fixed seed, so that CI explores the same inputs on every run (a finding there is new
  # code's, and reproducible); longer runs take a random seed to explore further.
  seed=()
  [ "$ci" = 1 ] && seed=(-seed=1)
  TMPDIR=$scratch "$dir/tests/fuzz/$t" "$corpus" "${dict[@]}" "${seed[@]}" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$out/$t/" ${MARQUEE_FUZZ_FLAGS:-} > "$log" 2>&1
  rc=$?
  set -e
  grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$log" | tail -2 | sed "s/^/  /"
  if [ $rc -ne 0 ]; then
    failed+=("$t")
    echo "fuzz.sh: FINDING in $t (exit $rc); reproducer(s):"
    ls -1 "$out/$t"/{crash,leak,timeout,oom,slow-unit}-* 2>/dev/null | sed 's/^/  /' || true
    grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|terminate called|fuzz_http:' "$log" | sed 's/^/  /' || true
    echo "  reproduce: $dir/tests/fuzz/$t <reproducer>   (full log: $log)"
  fi
done
[ "$keep" = 1 ] && echo "fuzz.sh: scratch corpus kept in $scratch"
echo "fuzz.sh: total $(( $(date +%s) - start )) s; ${#failed[@]} of ${#targets[@]} harnesses with findings${failed[*]:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ]
