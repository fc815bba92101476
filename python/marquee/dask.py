"""The nightly score across machines on Dask distributed (docs/scale.md).

    python3 -m marquee.dask score --scheduler ADDR|local --catalog D --model-dir M \\
        --events F --top K --out DIR/ --partitions N

One task per part of `marquee score --out DIR/` (host/io/output_dir.h): each task reads its slice
of users from the profiles file and the model from shared storage, writes its part atomically with
its sidecar, and returns the part's rows and sha256; no data passes between tasks. The driver then
writes `_manifest.json` and `_SUCCESS` with the same code as the one-machine run, so the parts are
byte-identical to `marquee score --out DIR/ --partitions N`. With --events, one task first builds
the profiles file into DIR/_work/ (kept for reruns while the inputs are unchanged). A worker that
dies has its task re-run elsewhere by the scheduler; a rerun of the command redoes only the parts
that are missing or fail their sha256.

GPUs: one worker process per GPU, each started with its own CUDA_VISIBLE_DEVICES and
`--resources GPU=1`; pass --resources GPU=1 here so that each task holds one GPU.

Importing this module does not need Dask; running it does (Debian: apt-get install python3-distributed).
"""
import argparse
import json
import os
import struct
import sys

MISSING_DASK = ("marquee.dask needs Dask distributed, which is not installed: "
                "apt-get install python3-distributed (Debian 12), or pip install distributed")


def _distributed():
    """The `distributed` package, or a clear error saying how to install it."""
    try:
        import distributed  # noqa: F401
    except ImportError as e:
        raise RuntimeError(MISSING_DASK) from e
    return distributed


def profile_users(path):
    """Users in a profiles file (its header: magic, version u32, dim u32, users u64; docs/formats.md)."""
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != b"MRQPROF1":
        raise ValueError(f"{path} is not a Marquee profiles file")
    return struct.unpack_from("<Q", head, 16)[0]


def _file_key(path):
    st = os.stat(path)
    return [os.path.abspath(path), st.st_size, st.st_mtime_ns]


def build_profiles_task(catalog, events, out, memory_budget, spill_dir, backend):
    """Runs on a worker: the profiles file of `events` at `out` (atomic), within `memory_budget` bytes."""
    from marquee import _marquee
    return _marquee._build_profiles_file(catalog, events, out, memory_budget, spill_dir, backend)


def score_part_task(a, part):
    """Runs on a worker: part `part` of a.out (skipped when already complete and verified).
    Returns the part's record: rows, bytes, sha256, users."""
    from marquee import _marquee
    r = _marquee._score_part(a["catalog"], "", a["profiles"], a["model_dir"], a["model"], a["top"], a["out"],
                             a["format"], a["partitions"], part, a["backend"], a["threads"], a["batch"], 0, "")
    return r["parts"][0]


def _profiles(client, a, resources):
    """--profiles as given, or the profiles of --events built once by a task into DIR/_work/."""
    if a.profiles:
        return a.profiles
    work = os.path.join(a.out, "_work")
    os.makedirs(work, exist_ok=True)
    path, key_path = os.path.join(work, "profiles.bin"), os.path.join(work, "profiles.json")
    key = {"catalog": sorted(_file_key(os.path.join(a.catalog, f)) for f in os.listdir(a.catalog)),
           "events": _file_key(a.events)}
    if os.path.exists(path) and os.path.exists(key_path):
        with open(key_path) as f:
            if json.load(f) == key:
                return path
    budget = _size(a.memory_budget) if a.memory_budget else 0
    client.submit(build_profiles_task, a.catalog, a.events, path, budget, work, a.backend,
                  resources=resources, pure=False).result()
    tmp = key_path + ".tmp.%d" % os.getpid()
    with open(tmp, "w") as f:
        json.dump(key, f)
    os.replace(tmp, key_path)
    return path


def _size(text):
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    t = text.strip().upper().rstrip("B").rstrip("I")
    num = t.rstrip("KMGT")
    return int(float(num) * units[t[len(num):]])


def score(a, client=None):
    """The driver: parts as tasks, then the manifest and _SUCCESS. Returns the manifest (a dict)."""
    distributed = _distributed()
    from marquee import _marquee
    if not a.out.endswith("/"):
        a.out += "/"
    os.makedirs(a.out, exist_ok=True)
    own = client is None
    if own:
        if a.scheduler == "local":
            client = distributed.Client(distributed.LocalCluster(
                n_workers=a.workers or os.cpu_count(), threads_per_worker=1, processes=True))
        else:
            client = distributed.Client(a.scheduler)
    try:
        resources = dict(r.split("=") for r in a.resources) if a.resources else None
        resources = {k: float(v) for k, v in resources.items()} if resources else None
        args = {"catalog": a.catalog, "profiles": _profiles(client, a, resources), "model_dir": a.model_dir or "",
                "model": a.model, "top": a.top, "out": a.out, "format": a.format, "partitions": a.partitions,
                "backend": a.backend, "threads": a.threads, "batch": a.batch}
        futures = client.map(score_part_task, [args] * a.partitions, range(a.partitions),
                             resources=resources, pure=False, retries=a.retries)
        records = client.gather(futures)
    finally:
        if own:
            client.close()
    ext = "csv" if a.format in ("csv", "auto") else "jsonl"
    with open(os.path.join(a.out, "_parts", "part-00000.json")) as f:
        run = json.load(f)["run"]
    manifest = _marquee._finish_parts(a.out, json.dumps(run), a.partitions, ext)
    for r, m in zip(records, manifest["parts"]):
        if r["sha256"] != m["sha256"]:  # a part rewritten after its task returned: never expected
            raise RuntimeError(f"{m['file']}: changed after its task finished")
    return manifest


def _parser():
    p = argparse.ArgumentParser(prog="python3 -m marquee.dask", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score", help="top-K titles for every user, one Dask task per part")
    s.add_argument("--scheduler", required=True, help="scheduler address (tcp://host:8786) or 'local'")
    s.add_argument("--workers", type=int, default=0, help="with --scheduler local: worker processes (0: one per core)")
    s.add_argument("--catalog", required=True)
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--events", help="events file (profiles are built once by a task into DIR/_work/)")
    src.add_argument("--profiles", help="profiles file from `marquee profile`")
    s.add_argument("--model-dir", help="model folder from `marquee train` (else --model)")
    s.add_argument("--model", default="tags", help="without --model-dir: tags (the default here)")
    s.add_argument("--top", "-k", type=int, required=True)
    s.add_argument("--out", required=True, help="output folder (shared storage every worker sees)")
    s.add_argument("--partitions", type=int, required=True, help="parts, one task each")
    s.add_argument("--format", default="csv", choices=["csv", "jsonl"])
    s.add_argument("--backend", default="auto", help="auto|cpu|cuda")
    s.add_argument("--threads", type=int, default=0, help="CPU threads per task (0: all the worker's cores)")
    s.add_argument("--batch", type=int, default=16384, help="users per batch inside a task")
    s.add_argument("--memory-budget", default="", help="for the profiles task, e.g. 4G (docs/scale.md)")
    s.add_argument("--resources", action="append", help="per task, e.g. GPU=1 (workers started with --resources GPU=1)")
    s.add_argument("--retries", type=int, default=2, help="re-runs of a task that raised (a lost worker is separate)")
    return p


def main(argv=None):
    a = _parser().parse_args(argv)
    if not a.model_dir and a.model == "auto":
        raise SystemExit("--model auto is not available here: train once with `marquee train` and pass --model-dir")
    try:
        manifest = score(a)
    except RuntimeError as e:
        if str(e) == MISSING_DASK:
            raise SystemExit(str(e))
        raise
    print(f"{manifest['users']} users, {manifest['rows']} rows in {len(manifest['parts'])} parts -> {a.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
