"""The examples of docs/python.md run as written (so they cannot rot): docs/examples/*.py."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT


def test_audience_by_segment_plot(data, tmp_path):
    pytest.importorskip("matplotlib")  # python3-matplotlib (scripts/setup.sh installs it)
    out = tmp_path / "segments.png"
    env = dict(os.environ, MPLBACKEND="Agg")
    p = subprocess.run([sys.executable, str(ROOT / "docs/examples/audience_by_segment.py"), data / "catalog",
                        data / "events.csv", "t000005", out, "--segments", "3"],
                       capture_output=True, text=True, env=env, timeout=240)
    assert p.returncode == 0, p.stderr
    lines = [l for l in p.stdout.splitlines() if l.startswith("segment ")]
    assert len(lines) == 3, p.stdout
    expected = [float(l.split(": ", 1)[1].split(" expected", 1)[0]) for l in lines]
    assert expected == sorted(expected, reverse=True)  # largest segment first
    assert sum(expected) > 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 10_000  # a chart, not an empty canvas
