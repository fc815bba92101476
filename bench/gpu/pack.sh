#!/usr/bin/env bash
# Builds the GPU check's binaries here (on a CPU machine with nvcc) for sm_90 and gathers them with
# the shared libraries the device machine lacks into build-gpu/carry/ (bin/ + lib/), so the lent
# GPU spends its minutes testing and measuring instead of compiling. The CUDA runtime is linked
# statically; cuBLAS is taken from the device machine's CUDA installation.
# Usage: bench/gpu/pack.sh [extra cmake args]; then carry build-gpu/carry to the device and run
# bench/gpu/check.sh there.
set -euo pipefail
cd "$(dirname "$0")/../.."
./scripts/setup.sh
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DMARQUEE_CUDA_ARCHITECTURES=90 "$@" >/dev/null
cmake --build build-gpu --parallel "$(nproc)" --target marquee marquee_gpu_tests bench_gpu
carry=build-gpu/carry
rm -rf "$carry"
mkdir -p "$carry/bin" "$carry/lib"
for b in build-gpu/marquee build-gpu/tests/marquee_gpu_tests build-gpu/bench/bench_gpu; do
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
du -sh "$carry"
echo "carry: $carry ($(du -sm "$carry" | cut -f1) MiB; the device tool carries at most 64 MiB)"
