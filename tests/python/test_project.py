"""marquee.project returns the JSON of `marquee project` on the same data."""
import json

import pytest

import marquee


def test_project_equals_cli(catalog, data, tmp_path, cli):
    title = catalog.title_ids[11]
    args = dict(space="tags", top=20)
    result = marquee.project(catalog, events=data / "events.csv", as_new=[title], **args)
    cli("project", "--catalog", data / "catalog", "--events", data / "events.csv", "--title", title, "--as-new",
        "--space", "tags", "--top", 20, "--out", tmp_path / "p.json")
    expected = json.loads((tmp_path / "p.json").read_text())
    for r in (result, expected):
        r.pop("users_file")
    assert result == expected
    assert result["titles"][0]["title_id"] == title


def test_project_errors(catalog, data, tmp_path):
    with pytest.raises(ValueError):
        marquee.project(catalog, as_new=["t000001"])  # no events or profiles
    with pytest.raises(ValueError):
        marquee.project(catalog, events=data / "events.csv", as_new=["t000001"], space="colour")
    bad = tmp_path / "new.csv"
    bad.write_text("title_id,tag,weight\nnew1,no-such-tag,0.5\n")
    with pytest.raises(marquee.InputError):
        marquee.project(catalog, events=data / "events.csv", new_titles=bad, strict=True)


def test_segments_equal_cli(catalog, data, tmp_path, cli):
    result = marquee.segments(catalog, 4, events=data / "events.csv", seed=9, backend="cpu")
    cli("segment", "--catalog", data / "catalog", "--events", data / "events.csv", "-k", 4, "--seed", 9,
        "--backend", "cpu", "--out", tmp_path / "s.csv")
    rows = (tmp_path / "s.csv").read_text().splitlines()[1:]
    assert result["user_ids"] == [r.split(",")[0] for r in rows]
    assert result["segment"].tolist() == [int(r.split(",")[1]) for r in rows]
    assert set(result["segment"].tolist()) <= {-1, 0, 1, 2, 3}
    assert len(set(result["segment"].tolist()) - {-1}) == 4  # every segment has users
    summary = json.loads((tmp_path / "s.json").read_text())
    for key in ("user_ids", "segment"):
        result.pop(key)
    for key in ("assignments", "centroids", "mean"):  # files of the CLI's run; the package's were temporary
        assert key not in result
        summary.pop(key, None)
    assert result == summary


def test_segments_errors(catalog, data):
    with pytest.raises(ValueError):
        marquee.segments(catalog, 4)  # no events or profiles
    with pytest.raises(ValueError):
        marquee.segments(catalog, 0, events=data / "events.csv")
