"""Catalogue, events and profiles: the package reads what the CLI reads, rejects what it rejects."""
import shutil

import numpy as np
import pytest

import marquee
from conftest import read_csv


def test_catalog_matches_files(catalog, data):
    rows = read_csv(data / "catalog" / "titles.csv")
    assert catalog.num_titles == len(rows) == 150
    assert catalog.title_ids == [r["title_id"] for r in rows]
    assert catalog.num_tags == 40
    v = catalog.tag_vectors
    assert v.shape == (150, 40) and v.dtype == np.float32
    norms = np.linalg.norm(v, axis=1)
    assert np.allclose(norms[norms > 0], 1.0, atol=1e-5)
    with pytest.raises(ValueError):
        v[0, 0] = 1.0  # a read-only view of the engine's matrix
    assert catalog.title_index([rows[3]["title_id"], 7]).tolist() == [3, 7]
    assert catalog.rejects == []


def test_missing_catalog_is_input_error(tmp_path):
    with pytest.raises(marquee.InputError) as e:
        marquee.Catalog.load(tmp_path / "nope")
    assert isinstance(e.value, marquee.Error)


def bad_events(data, tmp_path):
    """events.csv with three bad rows appended; returns (path, their line numbers)."""
    lines = (data / "events.csv").read_text().splitlines()
    header, first = lines[0], lines[1].split(",")
    cols = header.split(",")
    row = dict(zip(cols, first))
    bad = []
    for change in ({"title_id": "no-such-title"}, {"ts": "yesterday"}, {"event": "dance"}):
        r = dict(row, **change)
        bad.append(",".join(r[c] for c in cols))
    path = tmp_path / "events_bad.csv"
    path.write_text("\n".join(lines + bad) + "\n")
    n = len(lines)
    return path, [n + 1, n + 2, n + 3]


def test_events_rejects_equal_cli(catalog, data, tmp_path, cli):
    path, bad_lines = bad_events(data, tmp_path)
    events = marquee.Events.read(path, catalog)
    assert events.rows == len(path.read_text().splitlines()) - 1
    assert len(events) + 3 <= events.rows
    assert [r.line for r in events.rejects] == bad_lines
    assert all(r.file == str(path) for r in events.rejects)
    cli("profile", "--catalog", data / "catalog", "--events", path, "--out", tmp_path / "p.bin",
        "--rejects", tmp_path / "cli_rejects.csv")
    cli_rejects = read_csv(tmp_path / "cli_rejects.csv")
    assert [(int(r["line"]), r["reason"]) for r in cli_rejects] == [(r.line, r.reason) for r in events.rejects]
    a = events.arrays()
    assert set(a) >= {"ts", "user", "title", "type", "position_s", "line"}
    assert len(a["ts"]) == len(events) and a["title"].max() < catalog.num_titles


def test_strict_events_raise_with_file_and_line(catalog, data, tmp_path):
    path, bad_lines = bad_events(data, tmp_path)
    with pytest.raises(marquee.InputError) as e:
        marquee.Events.read(path, catalog, strict=True)
    assert f"events_bad.csv:{bad_lines[0]}" in str(e.value)


def test_profiles_equal_cli(catalog, data, tmp_path, cli, profiles):
    cli("profile", "--catalog", data / "catalog", "--events", data / "events.csv", "--out", tmp_path / "p.bin")
    loaded = marquee.Profiles.load(tmp_path / "p.bin", catalog)
    assert loaded.user_ids == profiles.user_ids
    assert np.array_equal(loaded.vectors, profiles.vectors)
    for u in (0, 17, len(profiles) - 1):
        for a, b in zip(loaded.seen(u), profiles.seen(u)):
            assert np.array_equal(a, b)
    # From Events already read: the same profiles.
    events = marquee.Events.read(data / "events.csv", catalog)
    again = marquee.Profiles.build(catalog, events)
    assert again.user_ids == profiles.user_ids and np.array_equal(again.vectors, profiles.vectors)
    # save() writes what `marquee profile` writes.
    profiles.save(tmp_path / "saved.bin")
    assert (tmp_path / "saved.bin").read_bytes() == (tmp_path / "p.bin").read_bytes()


def test_profiles_of_another_catalog_refused(catalog, data, tmp_path, cli):
    cli("gen", "--users", 50, "--titles", 40, "--tags", 10, "--seed", 3, "--out", tmp_path / "other")
    cli("profile", "--catalog", tmp_path / "other" / "catalog", "--events", tmp_path / "other" / "events.csv",
        "--out", tmp_path / "other.bin")
    with pytest.raises(marquee.InputError):
        marquee.Profiles.load(tmp_path / "other.bin", catalog)
    with pytest.raises(marquee.InputError):
        marquee.Profiles.load(tmp_path / "missing.bin", catalog)


def test_bad_arguments_are_value_errors(catalog, data, profiles):
    with pytest.raises(ValueError):
        marquee.Profiles.build(catalog, data / "events.csv", half_life_days=-1)
    with pytest.raises(ValueError):
        marquee.Profiles.build(catalog, data / "events.csv", as_of="not a time")
    with pytest.raises(ValueError):
        marquee.Profiles.build(catalog, marquee.Events.read(data / "events.csv", catalog), backend="cuda")
    with pytest.raises(ValueError):
        profiles.user_index(["no-such-user"])
    with pytest.raises(ValueError):
        catalog.title_index([10**6])
    with pytest.raises(ValueError):
        catalog.title_index([1.5])
