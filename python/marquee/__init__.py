"""Marquee from Python: catalogue, events, profiles, models and exact top-K, numpy in and out.

    import marquee
    cat = marquee.Catalog.load("data/catalog")
    model = marquee.train(cat, "data/events.csv", time_budget=60)
    titles, scores = model.recommend(["u0000001", "u0000002"], k=10)
    idx, sc = marquee.knn(queries, vectors, k=50)

See docs/python.md. Errors: ValueError (bad arguments), marquee.InputError (bad input, with
file:line), marquee.BackendError (a backend failed or is unavailable). Every call that computes
releases the GIL.
"""
from ._marquee import (  # noqa: F401
    BackendError,
    Catalog,
    Error,
    Events,
    InputError,
    Model,
    Profiles,
    __version__,
    devices,
    knn,
    set_log_level,
)
from . import _wrappers
from ._wrappers import Reject, project, segments, train  # noqa: F401

# The constructors with the CLI's defaults (python/marquee/_wrappers.py).
Catalog.load = staticmethod(_wrappers.load_catalog)
Events.read = staticmethod(_wrappers.read_events)
Profiles.build = staticmethod(_wrappers.build_profiles)
Model.recommend_all = _wrappers.recommend_all
_wrappers._fold_in_profiles = Model.fold_in
Model.fold_in = _wrappers.fold_in

__all__ = [
    "BackendError", "Catalog", "Error", "Events", "InputError", "Model", "Profiles", "Reject",
    "__version__", "devices", "knn", "project", "segments", "set_log_level", "train",
]
