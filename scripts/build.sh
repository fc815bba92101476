#!/usr/bin/env bash
# Configures (once) and builds Marquee into ./build. Extra arguments go to the configure step,
# e.g. scripts/build.sh -DMARQUEE_CUDA_ARCHITECTURES="80;90" or -DMARQUEE_ENABLE_CUDA=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
"./scripts/setup.sh"
if [ ! -f build/build.ninja ] || [ $# -gt 0 ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
fi
cmake --build build --parallel "$(nproc)"
