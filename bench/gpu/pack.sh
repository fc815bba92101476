#!/usr/bin/env bash
# Builds the device check's binaries here (a CPU machine with nvcc and the build's -dev packages;
# this script installs nothing) for sm_90 and packs them, with the shared libraries the device machine
# lacks, into build-gpu/carry.tar.xz (carry/bin, carry/lib, carry/MANIFEST.txt). The device machine
# has no FAISS/GTest/Benchmark -dev packages, so this archive is what runs there: carry it and run
# bench/gpu/check.sh (docs/gpu.md "The device check"). The CUDA runtime is linked statically; cuBLAS
# is taken from the device machine's CUDA installation.
# Usage: bench/gpu/pack.sh [extra cmake args]. BUILD_DIR=DIR reuses an existing sm_90 build there
# (default build-gpu).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${BUILD_DIR:-build-gpu}
carry="build-gpu/carry"
archive="build-gpu/carry.tar.xz"

for tool in cmake ninja strip ldd tar xz git; do
  command -v "$tool" >/dev/null || { echo "pack: $tool not found (scripts/setup.sh lists the build tools)" >&2; exit 1; }
done
if [ ! -f "$build/build.ninja" ] || [ $# -gt 0 ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMARQUEE_CUDA_ARCHITECTURES=90 "$@" >/dev/null
fi
grep -q '^MARQUEE_CUDA_ARCHITECTURES:STRING=.*90' "$build/CMakeCache.txt" ||
  { echo "pack: $build is not configured for sm_90 (MARQUEE_CUDA_ARCHITECTURES)" >&2; exit 1; }
grep -q 'libmarquee_kernels\.a' "$build/build.ninja" ||
  { echo "pack: $build has no CUDA backend (nvcc not found at configure time)" >&2; exit 1; }
grep -q 'bench/bench_gpu' "$build/build.ninja" ||
  { echo "pack: $build has no bench_gpu target (Google Benchmark, libbenchmark-dev, not found)" >&2; exit 1; }
cmake --build "$build" --parallel "$(nproc)" --target marquee marquee_gpu_tests marquee_artwork_tests bench_gpu

rm -rf "$carry"
mkdir -p "$carry/bin" "$carry/lib"
for b in "$build/marquee" "$build/tests/marquee_gpu_tests" "$build/tests/marquee_artwork_tests" "$build/bench/bench_gpu"; do
  strip -o "$carry/bin/$(basename "$b")" "$b"
done
# Everything they link dynamically except glibc's own libraries and the CUDA toolkit's (present there).
for b in "$carry"/bin/*; do
  ldd "$b" | awk '/=> \//{print $3}'
done | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libcublas*|libcudart*|libcuda.so*) ;;
    libcusolver*|libcusparse*|libnvJitLink*) ;;  # the toolkit's too (EASE's inverse)
    *) cp -L "$lib" "$carry/lib/" ;;
  esac
done
{
  echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' + uncommitted changes')"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) in $build, sm_90, $(/usr/local/cuda/bin/nvcc --version 2>/dev/null | tail -1)"
  echo "needs from the device machine: $(for b in "$carry"/bin/*; do ldd "$b"; done | awk '/libcublas|libcusolver/{print $1}' | sort -u | tr '\n' ' ')"
} >"$carry/MANIFEST.txt"
# The device tool carries at most 64 MiB with the working tree: one compressed archive (OpenBLAS
# alone is 35 MiB raw). check.sh unpacks it.
tar -C build-gpu -cJf "$archive" carry
rm -rf "$carry"
echo "carry: $archive ($(du -k "$archive" | cut -f1) KiB); run there: bench/gpu/check.sh (carry: [\"$archive\"])"
