#!/usr/bin/env bash
# Builds the GPU check's binaries here (on a CPU machine with nvcc) for sm_90 and gathers them with
# the shared libraries the device machine lacks into build-gpu/carry/ (bin/ + lib/), so the lent
# GPU spends its minutes testing and measuring instead of compiling. The CUDA runtime is linked
# statically; cuBLAS is taken from the device machine's CUDA installation.
# Usage: bench/gpu/pack.sh [extra cmake args]; then carry build-gpu/carry to the device and run
# bench/gpu/check.sh there. BUILD_DIR=build reuses an existing sm_90 build instead of build-gpu.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${BUILD_DIR:-build-gpu}
./scripts/setup.sh
if [ ! -f "$build/build.ninja" ] || [ $# -gt 0 ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMARQUEE_CUDA_ARCHITECTURES=90 "$@" >/dev/null
fi
cmake --build "$build" --parallel "$(nproc)" --target marquee marquee_gpu_tests marquee_artwork_tests bench_gpu
carry=build-gpu/carry
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
    *) cp -L "$lib" "$carry/lib/" ;;
  esac
done
# The device tool carries at most 64 MiB: ship one compressed archive (OpenBLAS alone is 35 MiB raw).
tar -C build-gpu -cJf build-gpu/carry.tar.xz carry
rm -rf "$carry"
echo "carry: build-gpu/carry.tar.xz ($(du -k build-gpu/carry.tar.xz | cut -f1) KiB); check.sh unpacks it"
