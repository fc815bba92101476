#!/usr/bin/env bash
# Issue #16's CPU matrix: dims 32/64/128/256 x K 10/50/100/1000, Marquee's paths against FAISS
# (bench_faiss_compare, same data, interleaved) and against numpy (bench/python_knn.py: X @ Y.T +
# argpartition), with the FMA peak and SGEMM's square-product rate measured in each run.
#
#   bench/cpu_matrix.sh [USERS=20000] [OUT=bench-matrix] [BUILD=build]
#
# Writes OUT/faiss_D_K.json, OUT/numpy_D_K.txt and OUT/summary.md (the table for docs/benchmarks.md).
set -euo pipefail
USERS=${1:-20000}
OUT=${2:-bench-matrix}
BUILD=${3:-build}
DIMS=${DIMS:-"32 64 128 256"}
KS=${KS:-"10 50 100 1000"}
mkdir -p "$OUT"
{
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
  echo "# flags: $(grep -o 'avx512[a-z_0-9]*\|avx2\|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.txt"
for d in $DIMS; do
  for k in $KS; do
    echo "== dims $d, K $k"
    "$BUILD/bench/bench_faiss_compare" --users "$USERS" --titles 20000 --tags "$d" --k "$k" --repeat 2 \
      --naive-users 50 --json "$OUT/faiss_${d}_${k}.json" > "$OUT/faiss_${d}_${k}.txt" || echo "   (agreement FAILED: see $OUT/faiss_${d}_${k}.txt)"
    PYTHONPATH="$BUILD/python" /usr/bin/python3 bench/python_knn.py --users "$USERS" --dim "$d" --k "$k" --rounds 2 \
      > "$OUT/numpy_${d}_${k}.txt"
  done
done
/usr/bin/python3 - "$OUT" <<'PY'
import glob, json, os, re, sys
out = sys.argv[1]
rows = []
for f in sorted(glob.glob(os.path.join(out, "faiss_*.json")), key=lambda p: tuple(map(int, re.findall(r"\d+", os.path.basename(p))))):
    j = json.load(open(f))
    d, k = j["shape"]["tags"], j["shape"]["k"]
    m = j["methods"]
    peak, gemm = j["machine"]["fma_peak_gflops"], j["machine"]["sgemm_2048_gflops"]
    flops = 2.0 * j["shape"]["titles"] * d
    dense, faiss_ = m["marquee_dense"], m["faiss"]
    txt = open(os.path.join(out, f"numpy_{d}_{k}.txt")).read()
    np_ratio = re.search(r"vs numpy: ([\d.]+)x wall.*?([\d.]+)x CPU", txt)
    bf16 = m.get("marquee_dense_bf16")
    rows.append("| {} | {} | {:,.0f} | {:.2f}x | {:.2f}x | {} | {:.0f} % | {:.0f} % | {:,.0f} ({:.2f}x) | {} | {} |".format(
        d, k, dense["users_per_s"], dense["users_per_s"] / faiss_["users_per_s"],
        dense["users_per_s"] / m["marquee_dense_blas"]["users_per_s"],
        f"{np_ratio.group(1)}x ({np_ratio.group(2)}x cpu)" if np_ratio else "?",
        100 * dense["users_per_s"] * flops / 1e9 / peak, 100 * dense["users_per_s"] * flops / 1e9 / gemm,
        m["marquee_sparse"]["users_per_s"], m["marquee_sparse"]["users_per_s"] / faiss_["users_per_s"],
        f"{bf16['users_per_s']:,.0f} (recall {j.get('bf16_recall', float('nan')):.3f})" if bf16 else "-",
        "PASS" if j["agreement"]["pass"] else "FAIL"))
head = ("| dims | K | dense users/s | vs FAISS | vs BLAS tiles | marquee.knn vs numpy | of FMA peak | of SGEMM | "
        "sparse (tags) users/s (vs FAISS) | bf16 users/s | same top-K |\n|---|---|---|---|---|---|---|---|---|---|---|")
open(os.path.join(out, "summary.md"), "w").write(open(os.path.join(out, "machine.txt")).read() + "\n" + head + "\n" + "\n".join(rows) + "\n")
print(open(os.path.join(out, "summary.md")).read())
PY
