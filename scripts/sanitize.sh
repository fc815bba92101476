#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (clang, CPU-only) in
# ./build-asan, then ctest on it. GPU tests (label "gpu") skip as they do without a device.
#
#   scripts/sanitize.sh [ctest arguments...]      e.g. scripts/sanitize.sh -L unit
#
# Any sanitizer report aborts the test that hit it (-fno-sanitize-recover, halt_on_error), so a
# report is a failed test; its stack is in the ctest output (--output-on-failure) and in
# build-asan/Testing/Temporary/LastTest.log. Leaks are reported too (LeakSanitizer).
# Environment: MARQUEE_JOBS (build and ctest parallelism, default: min(nproc, 2)),
# CC/CXX (default clang/clang++), MARQUEE_ASAN_DIR (default build-asan).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
dir=${MARQUEE_ASAN_DIR:-build-asan}
jobs=${MARQUEE_JOBS:-$(( $(nproc) < 2 ? $(nproc) : 2 ))}
export CC=${CC:-clang} CXX=${CXX:-clang++}
if ! "$CXX" --version 2>/dev/null | grep -qi clang; then
  echo "sanitize.sh: needs clang (CXX=$CXX is not clang); install clang and libclang-rt-dev" >&2
  exit 2
fi

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
start=$(date +%s)
# Configured every time (a few seconds): an existing folder gets these settings too.
mkdir -p "$dir"
cmake -S . -B "$dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
    -DCMAKE_CXX_FLAGS="$san" -DCMAKE_C_FLAGS="$san" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DMARQUEE_ENABLE_CUDA=OFF -DMARQUEE_BUILD_TESTS=ON -DMARQUEE_BUILD_BENCH=OFF -DMARQUEE_BUILD_PYTHON=OFF > "$dir/configure.log" || { cat "$dir/configure.log"; exit 1; }

# Sanitizer settings for everything below, the tests' child processes (the `marquee` binary)
# included. The suppressions cover third-party code only, never Marquee's.
supp="$root/$dir/lsan.supp"
mkdir -p "$dir"
cat > "$supp" <<'SUPP'
# Third-party runtimes that keep allocations alive until exit (not Marquee code).
leak:libomp.so
leak:libgomp.so
leak:libopenblas
SUPP
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
# tests/install builds a consumer against the installed (instrumented) engine: CMake takes these
# for that fresh build directory, so the consumer links the sanitizer runtimes too.
export CXXFLAGS="$san" LDFLAGS="-fsanitize=address,undefined"

cmake --build "$dir" --parallel "$jobs"
built=$(date +%s)
echo "sanitize.sh: build took $(( built - start )) s"

set +e
ctest --test-dir "$dir" --output-on-failure --parallel "$jobs" "$@"
rc=$?
set -e
echo "sanitize.sh: ctest took $(( $(date +%s) - built )) s, total $(( $(date +%s) - start )) s (exit $rc)"
exit $rc
