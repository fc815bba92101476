#!/usr/bin/env bash
# Builds if needed and runs every test (CTest). GPU tests (label "gpu") skip without a device.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
ctest --test-dir build --output-on-failure --parallel "$(nproc)" "$@"
