#!/usr/bin/env python3
"""marquee.knn against faiss.IndexFlatIP and numpy (X @ Y.T + argpartition), same data, same run.

Exact inner-product top-K of random float32 matrices (docs/python.md, docs/benchmarks.md):

    PYTHONPATH=build/python /usr/bin/python3 bench/python_knn.py [--users 100000] [--titles 20000]
        [--dim 128] [--k 50] [--rounds 2] [--threads 0]

Needs python3-numpy and python3-faiss (Debian). Each round times the three peers one after the
other (interleaved, so a noisy neighbour hits all of them), wall and CPU seconds, and checks that
they return the same top-K sets (scores within float tolerance; equal-score order may differ).
"""
import argparse
import os
import platform
import time

import numpy as np

import marquee

try:
    import faiss
except ImportError:  # the comparison is skipped, not the whole run
    faiss = None


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def numpy_topk(q, x, k, chunk=8192):
    """X @ Y.T in chunks of users (the full 100k x 20k score matrix would be 8 GB), argpartition,
    then a sort of the K kept."""
    idx = np.empty((q.shape[0], k), dtype=np.int64)
    sc = np.empty((q.shape[0], k), dtype=np.float32)
    for a in range(0, q.shape[0], chunk):
        s = q[a:a + chunk] @ x.T
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        ps = np.take_along_axis(s, part, axis=1)
        order = np.argsort(-ps, axis=1, kind="stable")
        idx[a:a + chunk] = np.take_along_axis(part, order, axis=1)
        sc[a:a + chunk] = np.take_along_axis(ps, order, axis=1)
    return idx, sc


def same_sets(a_idx, a_sc, b_idx, b_sc, tol=1e-3):
    """Fraction of rows whose top-K id sets agree, and the largest score difference rank by rank."""
    same = np.mean([set(r1) == set(r2) for r1, r2 in zip(a_idx, b_idx)])
    return same, float(np.max(np.abs(a_sc - b_sc)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--titles", type=int, default=20_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0, help="0: every core, for all three")
    a = ap.parse_args()

    rng = np.random.default_rng(7)
    q = rng.standard_normal((a.users, a.dim), dtype=np.float32)
    x = rng.standard_normal((a.titles, a.dim), dtype=np.float32)
    threads = a.threads or os.cpu_count()
    if faiss is not None:
        faiss.omp_set_num_threads(threads)
        index = faiss.IndexFlatIP(a.dim)
        index.add(x)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"# {time.strftime('%Y-%m-%d')} {cpu}, {os.cpu_count()} cores, threads={threads}; "
          f"numpy {np.__version__}, faiss {getattr(faiss, '__version__', 'absent')}, marquee {marquee.__version__}")
    print(f"# {a.users} users x {a.titles} titles x {a.dim} dims, K = {a.k}")
    print(f"{'round':>5} {'peer':<16} {'wall s':>8} {'cpu s':>8} {'users/s':>10}")
    results = {}
    for r in range(a.rounds):
        peers = [("marquee.knn", lambda: marquee.knn(q, x, a.k, backend="cpu", threads=a.threads)),
                 ("numpy", lambda: numpy_topk(q, x, a.k))]
        if faiss is not None:
            peers.insert(1, ("faiss.IndexFlatIP", lambda: tuple(reversed(index.search(q, a.k)))))
        for name, fn in peers:
            (idx, sc), wall, cpu_s = timed(fn)
            results.setdefault(name, []).append((wall, cpu_s))
            if r == 0:
                results[name + "/out"] = (np.asarray(idx), np.asarray(sc))
            print(f"{r:>5} {name:<16} {wall:>8.2f} {cpu_s:>8.2f} {a.users / wall:>10.0f}")
    ours = results["marquee.knn/out"]
    for name in [p for p in ("faiss.IndexFlatIP", "numpy") if p in results]:
        same, diff = same_sets(*ours, *results[name + "/out"])
        best = min(w for w, _ in results[name])
        best_ours = min(w for w, _ in results["marquee.knn"])
        cpu_ratio = min(c for _, c in results[name]) / min(c for _, c in results["marquee.knn"])
        print(f"# vs {name}: {best / best_ours:.2f}x wall (best of {a.rounds}), {cpu_ratio:.2f}x CPU time; "
              f"same top-{a.k} set for {100 * same:.2f} % of users, max score difference {diff:.2e}")


if __name__ == "__main__":
    main()
