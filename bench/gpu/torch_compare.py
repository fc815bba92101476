#!/usr/bin/env python3
"""The PyTorch peer for bench_gpu, on the same shapes, in the same run (bench/gpu/check.sh).

  select_k : torch.topk over a materialised rows x cols fp32 score matrix, per K.
  scoring  : users x 20k titles x D, K = 100: matmul + mask of ~20 watched titles per user + topk,
             in user batches, inputs uploaded from host memory as Marquee's are.
Writes JSON to the path given as the first argument. Exits 0 with {"skipped": ...} when torch or
a CUDA device is missing.
"""
import json
import sys
import time


def main(out_path):
    try:
        import torch
    except ImportError as e:
        json.dump({"skipped": f"torch not importable: {e}"}, open(out_path, "w"))
        return
    if not torch.cuda.is_available():
        json.dump({"skipped": "torch sees no CUDA device"}, open(out_path, "w"))
        return
    dev = torch.device("cuda")
    res = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "select_k": [], "scoring": []}

    def timed(fn, reps=5):
        fn()
        torch.cuda.synchronize()
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(reps):
            fn()
        stop.record()
        torch.cuda.synchronize()
        return start.elapsed_time(stop) / reps / 1e3

    rows, cols = 16384, 20000
    scores = torch.rand(rows, cols, device=dev) - 0.5
    for k in (1, 32, 100, 256, 1000, 5000):
        s = timed(lambda: torch.topk(scores, k, dim=1, sorted=True))
        res["select_k"].append({"k": k, "seconds": s, "GBps": rows * cols * 4 / s / 1e9})
    del scores

    users, titles, k, batch = 1_000_000, 20000, 100, 65536
    for dim in (256, 1000):
        for dtype_name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            t = torch.rand(titles, dim, device=dev, dtype=torch.float32).to(dtype)
            u_host = (torch.rand(users, dim) - 0.5).pin_memory()
            base = (torch.arange(users) * 7919) % (titles - 400)
            watched = (base[:, None] + torch.arange(20)[None, :] * 20).pin_memory()

            def run():
                for b0 in range(0, users, batch):
                    u = u_host[b0:b0 + batch].to(dev, non_blocking=True).to(dtype)
                    s = (u @ t.T).float()
                    s.scatter_(1, watched[b0:b0 + batch].to(dev, non_blocking=True), float("-inf"))
                    torch.topk(s, k, dim=1)

            torch.cuda.synchronize()
            t0 = time.perf_counter()
            run()
            torch.cuda.synchronize()
            secs = time.perf_counter() - t0
            res["scoring"].append({"dim": dim, "precision": dtype_name, "seconds": secs, "users_per_s": users / secs})
            del t, u_host, watched
    json.dump(res, open(out_path, "w"), indent=2)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "torch.json")
