#!/usr/bin/env python3
"""A title's projected audience by viewer segment, as a bar chart (docs/python.md).

    PYTHONPATH=build/python /usr/bin/python3 docs/examples/audience_by_segment.py \
        CATALOG_DIR EVENTS_FILE TITLE_ID OUT.png [--segments 5]

Projects TITLE_ID as if it were unreleased (from its tags only), cuts the viewers into segments
(k-means over their taste vectors, as `marquee project --trailers` does) and plots, per segment, the
expected viewers with the tags a trailer for that segment would emphasise as its label.
"""
import argparse

import matplotlib

matplotlib.use("Agg")  # files, not windows: works on servers and in CI
import matplotlib.pyplot as plt

import marquee


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("catalog")
    ap.add_argument("events")
    ap.add_argument("title")
    ap.add_argument("out")
    ap.add_argument("--segments", type=int, default=5)
    a = ap.parse_args()

    cat = marquee.Catalog.load(a.catalog)
    result = marquee.project(cat, events=a.events, as_new=[a.title], trailers=a.segments, space="tags")
    title = result["titles"][0]
    segments = sorted(title["segments"], key=lambda s: -s["expected"])
    labels = [", ".join(e["tag"] for e in s["emphasis"][:2]) or "(no distinctive tags)" for s in segments]
    expected = [s["expected"] for s in segments]

    fig, ax = plt.subplots(figsize=(9, 0.6 * len(segments) + 1.5))
    ax.barh(range(len(segments)), expected, color="#4c78a8")
    ax.set_yticks(range(len(segments)), [f"segment {s['segment']}: {l}" for s, l in zip(segments, labels)])
    ax.invert_yaxis()
    ax.set_xlabel("expected viewers")
    audience = title["audience"]
    ax.set_title(f"{title['name'] or title['title_id']}: {audience['expected']:.0f} expected viewers "
                 f"(95 % {audience['lo95']:.0f}-{audience['hi95']:.0f})")
    fig.tight_layout()
    fig.savefig(a.out, dpi=120)
    for s, l in zip(segments, labels):
        print(f"segment {s['segment']}: {s['expected']:.1f} expected viewers, lift {s['lift']:.2f} ({l})")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
