"""marquee.dask (docs/scale.md): a LocalCluster of 2 worker processes scores a generated set while one
worker is killed with SIGKILL as soon as the first part file appears; the run still finishes, the
parts are byte-identical to the one-machine `marquee score --out DIR/`, every user is in exactly one
part, and no temporary file is left."""
import argparse
import csv
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import marquee.dask as mdask

PARTS = 8


def _args(**kw):
    a = argparse.Namespace(scheduler="local", workers=2, catalog=None, events=None, profiles=None, model_dir=None,
                           model="tags", top=5, out=None, partitions=PARTS, format="csv", backend="cpu", threads=1,
                           batch=32, memory_budget="", resources=None, retries=2)
    for k, v in kw.items():
        setattr(a, k, v)
    return a


def test_the_module_imports_without_dask_and_says_what_is_missing(monkeypatch):
    # The module was imported above; running it without `distributed` must say how to get it.
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(RuntimeError, match="apt-get install python3-distributed"):
        mdask._distributed()


@pytest.fixture(autouse=True)
def _keep_environment():
    """Dask's nanny sets OMP_NUM_THREADS=1 and others in this process's environment for the workers it
    spawns; later tests (threads=0: all cores) must not inherit them."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def bigger(tmp_path_factory, cli):
    d = tmp_path_factory.mktemp("dask-data")
    cli("gen", "--users", 3000, "--titles", 600, "--tags", 60, "--seed", 3, "--out", d)
    return d


def test_a_killed_worker_does_not_change_the_parts(bigger, tmp_path, cli):
    distributed = pytest.importorskip("distributed")
    catalog, events = str(bigger / "catalog"), str(bigger / "events.csv")
    serial = tmp_path / "serial"
    cli("score", "--model", "tags", "--backend", "cpu", "--catalog", catalog, "--events", events, "--top", 5,
        "--partitions", PARTS, "--out", f"{serial}/")

    out = tmp_path / "dask"
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    killed = []

    def kill_one_worker_at_first_part():
        pids = client.run(os.getpid)  # worker address -> pid
        deadline = time.time() + 60
        while time.time() < deadline and not list(out.glob("part-*.csv")):
            time.sleep(0.005)
        victim = sorted(pids.values())[0]
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)

    try:
        watcher = threading.Thread(target=kill_one_worker_at_first_part)
        watcher.start()
        manifest = mdask.score(_args(catalog=catalog, events=events, out=str(out)), client=client)
        watcher.join()
    finally:
        client.close()
        cluster.close()
    assert killed, "no worker was killed"
    assert manifest["rows"] > 0 and len(manifest["parts"]) == PARTS
    assert (out / "_SUCCESS").exists()
    for p in range(PARTS):
        name = f"part-{p:05d}.csv"
        assert (out / name).read_bytes() == (serial / name).read_bytes(), name
    # Every user of the events exactly once over the parts (users without usable events: unscored).
    users = []
    for p in range(PARTS):
        with open(out / f"part-{p:05d}.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        users += list(dict.fromkeys(r["user_id"] for r in rows))
        for u in out.glob(f"_unscored-{p:05d}.csv"):
            with open(u, newline="") as f:
                users += [r["user_id"] for r in csv.DictReader(f)]
    with open(events, newline="") as f:
        expected = {r["user_id"] for r in csv.DictReader(f)}
    assert len(users) == len(set(users)) and set(users) == expected
    assert not [str(p) for p in out.rglob("*.tmp.*")]

    # A rerun redoes nothing: every part is kept (verified), the manifest is the same.
    before = {p: p.read_bytes() for p in out.glob("part-*.csv")}
    mtimes = {p: p.stat().st_mtime_ns for p in before}
    (out / "part-00003.csv").unlink()
    again = mdask.score(_args(catalog=catalog, events=events, out=str(out), workers=1))
    assert again == manifest
    assert {p: p.read_bytes() for p in out.glob("part-*.csv")} == before
    assert all(p.stat().st_mtime_ns == mtimes[p] for p in before if p.name != "part-00003.csv")


def test_the_command_line_runs(bigger, tmp_path):
    pytest.importorskip("distributed")
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-m", "marquee.dask", "score", "--scheduler", "local", "--workers", "1",
                        "--catalog", str(bigger / "catalog"), "--events", str(bigger / "events.csv"), "--top", "3",
                        "--out", str(tmp_path / "o") + "/", "--partitions", "2", "--backend", "cpu"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "rows in 2 parts" in r.stdout
    assert (tmp_path / "o" / "_SUCCESS").exists()
