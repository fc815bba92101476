"""The Python side of the bindings: keyword defaults of the CLI, rejects as a list, iterators.

Nothing here computes: each function calls one binding of marquee._marquee (python/src/).
"""
import csv
import os
import tempfile
from collections import namedtuple

from . import _marquee

Reject = namedtuple("Reject", "file line reason row")
Reject.__doc__ = "A rejected input row: file, line (1-based), reason, the row's text."

# The jobs' default --max-reject-rate (host/io/rejects.h, kDefaultMaxRejectRate).
DEFAULT_MAX_REJECT_RATE = 0.5


def _read_rejects(path):
    """The rows of a rejects file (file,line,reason,row; host/io/rejects.h) as Reject tuples."""
    if not os.path.exists(path):
        return []
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        rows = list(csv.reader(f))
    return [Reject(r[0], int(r[1]), r[2], r[3] if len(r) > 3 else "") for r in rows[1:] if len(r) >= 3]


def _with_rejects(rejects_path, call):
    """Runs call(path) with a rejects file (`rejects_path`, or a temporary one) and returns
    (result, rejects list)."""
    if rejects_path is not None:
        result = call(os.fspath(rejects_path))
        return result, _read_rejects(os.fspath(rejects_path))
    with tempfile.TemporaryDirectory(prefix="marquee-") as tmp:
        path = os.path.join(tmp, "rejects.csv")
        result = call(path)
        return result, _read_rejects(path)


def load_catalog(dir, strict=False, max_reject_rate=DEFAULT_MAX_REJECT_RATE, rejects_path=None):
    """Loads a catalogue folder (tags, titles, title_tags as .csv or .jsonl; docs/formats.md).

    Bad rows are rejected (``catalog.rejects``, a list of Reject) or, with strict=True, raise
    InputError naming file:line."""
    cat, rejects = _with_rejects(
        rejects_path, lambda p: _marquee.Catalog._load(os.fspath(dir), p, strict, max_reject_rate))
    cat.rejects = rejects
    return cat


def read_events(path, catalog, strict=False, as_of=None, max_reject_rate=DEFAULT_MAX_REJECT_RATE,
                rejects_path=None):
    """Reads an events file (CSV or JSON Lines) against a catalogue, by the rules of docs/formats.md.

    ``events.rejects`` lists the rejected rows; strict=True raises InputError at the first one."""
    events, rejects = _with_rejects(
        rejects_path,
        lambda p: _marquee.Events._read(catalog, os.fspath(path), p, strict, max_reject_rate, as_of))
    events.rejects = rejects
    return events


def build_profiles(catalog, events, half_life_days=0.0, as_of=None, backend="auto", strict=False,
                   max_reject_rate=DEFAULT_MAX_REJECT_RATE, rejects_path=None):
    """Builds every user's profile, as ``marquee profile`` does.

    ``events``: an events file path (read as the CLI reads it; exact duplicates become rejects) or
    an Events already read (built on the CPU from those events; its rejects carry over)."""
    if isinstance(events, _marquee.Events):
        # Read already: strict/rejects applied when they were read; built by the CPU builder.
        if backend not in ("auto", "cpu"):
            raise ValueError(f"backend={backend!r} builds from an events file: pass its path, not an Events")
        if events.catalog is not catalog and events.catalog.fingerprint != catalog.fingerprint:
            raise ValueError("the events were read against another catalogue")
        profiles = _marquee.Profiles._build_from_events(events, half_life_days, as_of)
        profiles.rejects = list(getattr(events, "rejects", []))
        return profiles
    profiles, rejects = _with_rejects(
        rejects_path,
        lambda p: _marquee.Profiles._build_from_file(catalog, os.fspath(events), half_life_days, as_of,
                                                     backend, p, strict, max_reject_rate))
    profiles.rejects = rejects
    return profiles


def train(catalog, data, model="auto", time_budget=300.0, holdout=1, validation_users=3000, seed=42,
          threads=0, backend="auto", half_life_days=0.0, as_of=None, strict=False,
          max_reject_rate=DEFAULT_MAX_REJECT_RATE, rejects_path=None):
    """``marquee train``: tunes every model family (or ``model``) on a held-out split of ``data``
    and refits the best on all of it. Returns a Model (save it with ``model.save(dir)``).

    ``data``: an events file path (split by time: each user's last ``holdout`` titles), an Events
    (its file is read again for the split), or a Profiles (hashed split). The returned model keeps
    the training users: ``model.recommend(user_ids, k)`` folds them in."""
    if isinstance(data, _marquee.Events):
        data = data.path
    trained, rejects = _with_rejects(
        rejects_path,
        lambda p: _marquee._train(catalog, data, model, float(time_budget), holdout, validation_users, seed,
                                  threads, backend, half_life_days, as_of, p, strict, max_reject_rate))
    trained.rejects = rejects
    return trained


def recommend_all(self, k=10, batch=16384, exclude="watched", profiles=None, backend="auto"):
    """Every user's top-k, batch by batch, in profile order: yields (user_ids, titles, scores) with
    titles int64 [n, k] and scores float32 [n, k] (``recommend``'s arrays). Memory: one batch."""
    if batch < 1:
        raise ValueError(f"batch must be at least 1; got {batch}")
    source = profiles if profiles is not None else self.profiles
    if source is None:
        raise ValueError("this model holds no users (it was loaded): pass profiles=")
    users = source.user_ids
    for first in range(0, len(users), batch):
        last = min(first + batch, len(users))
        titles, scores = self.recommend(range(first, last), k, exclude, source, backend)
        yield users[first:last], titles, scores


def project(catalog, events=None, profiles=None, new_titles=None, as_new=(), out=None, users_out=None,
            top=100, all_users=False, segments=None, trailers=0, space="hybrid", model_dir=None,
            backend="auto", batch=16384, threads=0, seed=42, calibration_titles=64, calibration_users=20000,
            comparables=10, cohorts=10, min_fans=20, fan_weight=0.5, kmeans_seed=1234, half_life_days=0.0,
            as_of=None, strict=False, max_reject_rate=DEFAULT_MAX_REJECT_RATE, rejects_path=None):
    """``marquee project``: the projected audience of titles not yet released. Returns the JSON
    result as a dict (written to ``out`` too when given; users to ``users_out``).

    ``catalog``: a Catalog or its folder; ``events`` / ``profiles``: file paths (the job streams
    them); ``new_titles``: a title_tags-shaped file, or ``as_new``: catalogue title ids."""
    catalog_dir = catalog.dir if isinstance(catalog, _marquee.Catalog) else os.fspath(catalog)
    if isinstance(as_new, str):
        as_new = [as_new]
    fs = lambda p: "" if p is None else os.fspath(p)
    with tempfile.TemporaryDirectory(prefix="marquee-project-") as tmp:
        out_path = fs(out) or os.path.join(tmp, "projection.json")
        users_path = fs(users_out) or (os.path.join(tmp, "projection.users.csv") if out is None else "")
        rejects = fs(rejects_path) or os.path.join(tmp, "projection.rejects.csv")
        result = _marquee._project(catalog_dir, fs(events), fs(profiles), fs(new_titles), list(as_new), out_path,
                                   users_path, top, all_users, fs(segments), trailers, space, fs(model_dir),
                                   backend, batch, threads, seed, calibration_titles, calibration_users,
                                   comparables, cohorts, min_fans, fan_weight, kmeans_seed, half_life_days, as_of,
                                   rejects, strict, max_reject_rate)
    return result


def segments(catalog, k, events=None, profiles=None, out=None, seed=1234, iterations=25, center=True,
             backend="auto", batch=16384, half_life_days=0.0, as_of=None, strict=False,
             max_reject_rate=DEFAULT_MAX_REJECT_RATE, rejects_path=None):
    """``marquee segment``: spherical k-means of the users into ``k`` segments. Returns the JSON
    summary as a dict (each segment's size, top tags and titles; centroids) with two more keys:
    ``user_ids`` (list) and ``segment`` (int64 array, -1 for users without usable signal), read from
    the user_id,segment CSV (written to ``out`` too when given, with its side files)."""
    import numpy as np
    catalog_dir = catalog.dir if isinstance(catalog, _marquee.Catalog) else os.fspath(catalog)
    fs = lambda p: "" if p is None else os.fspath(p)
    with tempfile.TemporaryDirectory(prefix="marquee-segment-") as tmp:
        out_path = fs(out) or os.path.join(tmp, "segments.csv")
        rejects = fs(rejects_path) or os.path.join(tmp, "segments.rejects.csv")
        result = _marquee._segment(catalog_dir, fs(events), fs(profiles), k, out_path, seed, iterations, center,
                                   backend, batch, half_life_days, as_of, rejects, strict, max_reject_rate)
        with open(out_path, newline="") as f:
            rows = list(csv.DictReader(f))
    if out is None:  # the files named there were temporary and are gone
        for key in ("assignments", "centroids", "mean"):
            result.pop(key, None)
    result["user_ids"] = [r["user_id"] for r in rows]
    result["segment"] = np.array([int(r["segment"]) for r in rows], dtype=np.int64)
    return result


_fold_in_profiles = None  # the binding's Model.fold_in(users, profiles=None), set by __init__


def fold_in(self, users, profiles=None, events=None, half_life_days=0.0, as_of=None):
    """The users' vectors in the model's space (n x dim float32), folded in from their engagement:
    the exact ALS user half-step for behaviour and hybrid (implicit's recalculate_user), the
    interaction row for EASE, the tag profile for tags. ``events``: an Events or an events file
    whose users are folded in (today's events against last week's model); else ``profiles``, else
    the users the model was trained or loaded with."""
    if events is not None:
        if profiles is not None:
            raise ValueError("fold_in takes events= or profiles=, not both")
        profiles = build_profiles(self.catalog, events, half_life_days=half_life_days, as_of=as_of)
    return _fold_in_profiles(self, users, profiles)
