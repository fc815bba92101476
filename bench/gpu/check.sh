#!/usr/bin/env bash
# The device check: on a machine with an NVIDIA GPU, run the GPU tests, compute-sanitizer memcheck
# on a small case, and the GPU benchmarks against PyTorch, writing logs and a results table under
# $OUT (default ./gpu-results). Uses a carried build (bench/gpu/pack.sh) when build-gpu/carry.tar.xz
# (or build-gpu/carry) exists, and otherwise configures and builds here. Aims at well under 8 minutes on an H200.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-./gpu-results}
mkdir -p "$OUT"
log() { echo "[check $(date +%H:%M:%S)] $*" | tee -a "$OUT/check.log"; }

if [ -f build-gpu/carry.tar.xz ] && [ ! -x build-gpu/carry/bin/marquee ]; then
  tar -C build-gpu -xJf build-gpu/carry.tar.xz
fi
if [ -x build-gpu/carry/bin/marquee ]; then
  BIN=build-gpu/carry/bin
  export LD_LIBRARY_PATH="$PWD/build-gpu/carry/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
  log "using the carried build in build-gpu/carry"
else
  log "no carried build: configuring and building (needs cmake, ninja and the Debian -dev packages)"
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.')
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DMARQUEE_CUDA_ARCHITECTURES="${arch:-90}" \
    >"$OUT/build.log" 2>&1 && cmake --build build-gpu --parallel "$(nproc)" \
    --target marquee marquee_gpu_tests marquee_artwork_tests bench_gpu >>"$OUT/build.log" 2>&1 ||
    { log "build failed (see build.log)"; exit 1; }
  mkdir -p build-gpu/bin
  cp build-gpu/marquee build-gpu/tests/marquee_gpu_tests build-gpu/tests/marquee_artwork_tests build-gpu/bench/bench_gpu \
    build-gpu/bin/
  BIN=build-gpu/bin
fi

status=0
nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv | tee "$OUT/nvidia-smi.csv"
log "self-test"
"$BIN/marquee" devices --self-test 2>&1 | tee "$OUT/devices.txt" || status=1

log "gpu tests"
timeout 240 "$BIN/marquee_gpu_tests" --gtest_output="json:$OUT/gpu_tests.json" >"$OUT/gpu_tests.log" 2>&1 || status=1
tail -n 30 "$OUT/gpu_tests.log"
# The artwork chooser's GPU test lives with the artwork tests (it shares their random catalogues).
timeout 120 "$BIN/marquee_artwork_tests" --gtest_filter='ArtworkGpu.*' --gtest_output="json:$OUT/artwork_gpu_tests.json" \
  >"$OUT/artwork_gpu_tests.log" 2>&1 || status=1
tail -n 5 "$OUT/artwork_gpu_tests.log"

if command -v compute-sanitizer >/dev/null || [ -x /usr/local/cuda/bin/compute-sanitizer ]; then
  cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  log "compute-sanitizer memcheck (small cases)"
  timeout 180 "$cs" --tool memcheck --error-exitcode 9 "$BIN/marquee_gpu_tests" \
    --gtest_filter='*u37_t333_k1*:*u50_t2000_k257*:*ExactTies*:CudaBackend.*' >"$OUT/memcheck.log" 2>&1 || status=1
  tail -n 5 "$OUT/memcheck.log"
else
  log "compute-sanitizer not found: memcheck skipped" | tee "$OUT/memcheck.log"
fi

log "benchmarks"
timeout 240 "$BIN/bench_gpu" --benchmark_format=json --benchmark_out="$OUT/bench_gpu.json" \
  --benchmark_out_format=json >"$OUT/bench_gpu.log" 2>&1 || status=1
tail -n 20 "$OUT/bench_gpu.log"
log "torch peer"
timeout 180 python3 bench/gpu/torch_compare.py "$OUT/torch.json" >"$OUT/torch.log" 2>&1 || status=1

python3 bench/gpu/report.py "$OUT" >"$OUT/results.md" 2>>"$OUT/check.log" && cat "$OUT/results.md"
log "done (status $status)"
exit $status
