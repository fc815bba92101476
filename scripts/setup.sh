#!/usr/bin/env bash
# Installs Marquee's build dependencies from Debian 12 packages when any is missing.
# The CUDA toolkit is not installed here: the build uses /usr/local/cuda when present and is
# CPU-only otherwise.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libopenblas-dev libfaiss-dev
  libgtest-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libhowardhinnant-date-dev libcsv-dev
  libboost-dev libcpp-httplib-dev libssl-dev zlib1g-dev libzstd-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  pybind11-dev python3-dev python3-numpy python3-pytest python3-matplotlib
  python3-distributed  # marquee.dask (docs/scale.md)
  chromium  # scripts/check_reports.sh draws the HTML reports headlessly (skipped without it)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm for the report's JavaScript below: Debian's nodejs/npm when no npm is on the machine.
command -v npm >/dev/null || missing+=(nodejs npm)
# The HTML report of `marquee project --report` inlines Vega-Lite (npm: vega@6, vega-lite@6,
# vega-embed@7, pinned in host/report/js/package-lock.json) so that the page opens offline.
install_report_js() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/host/report/js"
  if [ ! -f "$dir/node_modules/vega-embed/build/vega-embed.min.js" ]; then
    echo "setup: installing the report's Vega-Lite into $dir/node_modules"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  install_report_js
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_report_js
