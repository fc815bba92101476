#!/usr/bin/env python3
"""Turns bench_gpu.json + torch.json (bench/gpu/check.sh outputs) into a Markdown results table."""
import json
import os
import sys

out = sys.argv[1]


def load(name):
    try:
        return json.load(open(os.path.join(out, name)))
    except Exception:
        return {}


bench = load("bench_gpu.json")
torch = load("torch.json")
peak_gbps = float(os.environ.get("PEAK_GBPS", "4800"))  # H200 HBM3e

print("## Top-K selection over a materialised 16384 x 20000 fp32 matrix\n")
print("| K | path | Marquee GB/s | % of HBM peak | torch.topk GB/s | ratio |")
print("|---|---|---|---|---|---|")
tsel = {r["k"]: r for r in torch.get("select_k", [])}
for b in bench.get("benchmarks", []):
    if not b["name"].startswith("BM_SelectK") or "error_message" in b:
        continue
    k = int(b["k"])
    ours = b["GBps"]
    peer = tsel.get(k, {}).get("GBps")
    print(f"| {k} | {b.get('label', '')} | {ours:.0f} | {100 * ours / peak_gbps:.0f}% | "
          f"{peer:.0f} | {ours / peer:.2f}x |" if peer else f"| {k} | {b.get('label', '')} | {ours:.0f} | "
          f"{100 * ours / peak_gbps:.0f}% | - | - |")

print("\n## Full scoring: 1M users x 20k titles, K = 100 (upload + GEMM + exclusion + top-K + download)\n")
print("| dims | precision | Marquee users/s | GEMM TFLOP/s | torch users/s | ratio |")
print("|---|---|---|---|---|---|")
tsc = {(r["dim"], r["precision"]): r for r in torch.get("scoring", [])}
for b in bench.get("benchmarks", []):
    if not b["name"].startswith("BM_FullScoring") or "error_message" in b:
        continue
    dim = int(b["name"].split("/")[2])
    prec = b.get("label", "")
    ours = b["users_per_s"]
    peer = tsc.get((dim, prec), {}).get("users_per_s")
    ratio = f"{ours / peer:.2f}x" if peer else "-"
    print(f"| {dim} | {prec} | {ours:,.0f} | {b['gemm_tflops']:.0f} | {peer:,.0f} | {ratio} |" if peer else
          f"| {dim} | {prec} | {ours:,.0f} | {b['gemm_tflops']:.0f} | - | - |")
print("\n## Profile building (20M events, 500k users, 20k titles x 500 tags)\n")
print("| backend | events/s |")
print("|---|---|")
for b in bench.get("benchmarks", []):
    if b["name"].startswith("BM_ProfileBuild") and "error_message" not in b:
        print(f"| {b.get('label', '')} | {b['events_per_s']:,.0f} |")
if "skipped" in torch:
    print(f"\ntorch peer skipped: {torch['skipped']}")
