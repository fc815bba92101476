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
