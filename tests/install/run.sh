#!/usr/bin/env bash
# Installs a Marquee build into a scratch prefix, builds tests/install/consumer against it with
# find_package(marquee) and checks its output, then runs the installed binary: --version, and (when
# the build embedded the report's JavaScript) a report written from elsewhere with no source tree.
#
#   tests/install/run.sh BUILD_DIR WORK_DIR
#
# ctest (label "install") passes the build's cmake, generator and compiler in MARQUEE_* variables.
set -euo pipefail
build=$(cd "$1" && pwd)
work=$2
here=$(cd "$(dirname "$0")" && pwd)
cmake=${MARQUEE_CMAKE:-cmake}
rm -rf "$work" && mkdir -p "$work" && work=$(cd "$work" && pwd)
prefix=$work/prefix

"$cmake" --install "$build" --prefix "$prefix" > "$work/install.log"
for f in bin/marquee include/marquee/engine/catalog.h include/marquee/engine/scorer.h; do
  [ -f "$prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
ls "$prefix"/lib*/cmake/marquee/marqueeConfig.cmake "$prefix"/lib*/cmake/marquee/marqueeConfigVersion.cmake >/dev/null

gen=()
[ -n "${MARQUEE_GENERATOR:-}" ] && gen+=(-G "$MARQUEE_GENERATOR")
[ -n "${MARQUEE_MAKE_PROGRAM:-}" ] && gen+=("-DCMAKE_MAKE_PROGRAM=$MARQUEE_MAKE_PROGRAM")
[ -n "${MARQUEE_CXX:-}" ] && gen+=("-DCMAKE_CXX_COMPILER=$MARQUEE_CXX")
"$cmake" -S "$here/consumer" -B "$work/consumer" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" > "$work/consumer-configure.log" || { cat "$work/consumer-configure.log"; exit 1; }
"$cmake" --build "$work/consumer" > "$work/consumer-build.log" || { cat "$work/consumer-build.log"; exit 1; }

got=$("$work/consumer/consumer")
want='marquee 0.1.0
user 0: t2 0.96, t0 0.80, t1 0.60
user 1: t0 0.80, t1 0.60, t3 0.00
selector: t3 0.90, t1 0.70'
if [ "$got" != "$want" ]; then
  echo "FAIL: consumer printed"; echo "$got"; echo "expected"; echo "$want"; exit 1
fi
echo "$got"

# The installed binary, run from the scratch folder with no MARQUEE_REPORT_JS_DIR.
bin=$prefix/bin/marquee
version=$("$bin" --version)
[ "$version" = "marquee 0.1.0" ] || { echo "FAIL: --version printed '$version'"; exit 1; }
echo "$version"
if [ "${MARQUEE_REPORT_JS_EMBEDDED:-ON}" = "ON" ]; then
  cd "$work"
  env -u MARQUEE_REPORT_JS_DIR "$bin" --log-level warn gen --users 600 --titles 120 --tags 40 --seed 5 --mean-titles 15 \
    --out d >/dev/null
  t=$(sed -n 2p d/catalog/titles.csv | cut -d, -f1)
  env -u MARQUEE_REPORT_JS_DIR "$bin" --log-level warn project --catalog d/catalog --events d/events.csv --title "$t" \
    --as-new --space tags --backend cpu --out p.json --report p.html >/dev/null
  grep -q '<script data-lib="vega-embed">' p.html || { echo "FAIL: the installed binary's report has no vega-embed"; exit 1; }
  echo "report: $(wc -c < p.html) bytes"
else
  echo "report: skipped (this build has no embedded report JavaScript)"
fi
echo "install: ok"
