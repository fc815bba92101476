"""Shared fixtures of the Python package tests: a small generated data set (`marquee gen`) and the
`marquee` binary of the same build, to compare the package with the CLI.

Run by CTest (label "python") with PYTHONPATH=<build>/python and MARQUEE_BIN=<build>/marquee; by
hand: PYTHONPATH=build-py/python MARQUEE_BIN=build-py/marquee python3 -m pytest tests/python
"""
import csv
import os
import subprocess
from pathlib import Path

import pytest

import marquee

ROOT = Path(__file__).resolve().parents[2]


def _marquee_bin():
    env = os.environ.get("MARQUEE_BIN")
    if env:
        if not Path(env).is_file():
            pytest.fail(f"MARQUEE_BIN={env} does not exist: build the `marquee` target first")
        return env
    for build in ("build-py", "build"):
        candidate = ROOT / build / "marquee"
        if candidate.is_file():
            return str(candidate)
    pytest.fail("no marquee binary: set MARQUEE_BIN")


@pytest.fixture(scope="session")
def cli():
    """cli(*args) runs the marquee binary; returns its stdout (raises with stderr on failure)."""
    binary = _marquee_bin()

    def run(*args, check=True):
        p = subprocess.run([binary, "--log-level", "warn", *map(str, args)], capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError(f"marquee {' '.join(map(str, args))} -> {p.returncode}\n{p.stderr}")
        return p
    return run


@pytest.fixture(scope="session")
def data(tmp_path_factory, cli):
    """A generated data set: DIR/catalog, DIR/events.csv (400 users, 150 titles, 40 tags)."""
    d = tmp_path_factory.mktemp("data")
    cli("gen", "--users", 400, "--titles", 150, "--tags", 40, "--seed", 7, "--out", d)
    return d


@pytest.fixture(scope="session")
def catalog(data):
    return marquee.Catalog.load(data / "catalog")


@pytest.fixture(scope="session")
def profiles(catalog, data):
    return marquee.Profiles.build(catalog, data / "events.csv")


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
