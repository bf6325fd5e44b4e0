"""How sure an evaluation is: intervals from a bootstrap over photos, and how often a
method makes a pair worse than doing nothing.

The pairs of an evaluation set are not independent: a set is built from a few
photographs (lutkit's held-out sets: the 10 photos of the val and test splits), each
giving many pairs, and a correcting method's error depends strongly on the photo. So
the bootstrap resamples *photos* (each with all its pairs, in every set) rather than
pairs; on lutkit's held-out sets an interval from resampled pairs is about 3 to 6 times
too narrow for the correcting methods. Every method is measured on the same draws, so
the ratio of two methods' means gets a paired interval. With ten photos the percentile
intervals are rough (if anything, too narrow).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

DRAWS = 20000
CHUNK = 1000  # draws made at a time (the same stream as all at once), to bound memory
LEVEL = 0.95
WORSE_BY = (0.0, 1.0, 5.0)  # delta E 2000 more than doing nothing's, on one pair
TIE = 1e-3  # delta E 2000: closer than this to doing nothing is a tie (float round trips)
NAN = float("nan")


def _cluster(row: dict[str, Any]) -> str:
    """The photo a row's pair was made from; a pair with no photo name is its own."""
    photo = row.get("photo")
    if photo is None or str(photo) in ("", "None"):
        return f"\0{row.get('set')}/{row.get('id')}"
    return str(photo)


def photo_bootstrap(
    rows: Sequence[dict[str, Any]],
    *,
    key: str = "de2000_mean",
    reference: str | None = None,
    draws: int = DRAWS,
    level: float = LEVEL,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Each method's mean of ``key`` over its rows (all sets: every pair weighs the
    same) and its ``level`` percentile interval from ``draws`` resamplings of the
    photos; with ``reference`` (a method's name), also the ratio of each method's mean
    to the reference's on the same photos, with its interval from the same draws.

    Rows need ``method``, ``set``, ``id``, ``photo`` and ``key`` (strings are read as
    numbers). A pair with no photo name counts as a photo of its own. Where there is
    no interval (fewer than 2 photos, a value that is not finite, a reference mean of
    0), it is NaN. Deterministic for a given ``seed`` (and numpy's generator).

    Returns ``{method: {"mean", "lo", "hi", "photos", ["ratio", "ratio_lo",
    "ratio_hi"]}}`` in the order the methods first appear.
    """
    methods = list(dict.fromkeys(r["method"] for r in rows))
    photos = sorted({_cluster(r) for r in rows})
    if not methods:
        return {}
    index = {p: i for i, p in enumerate(photos)}
    sums = np.zeros((len(methods), len(photos)))
    counts = np.zeros((len(methods), len(photos)))
    finite = np.ones(len(methods), dtype=bool)
    for r in rows:
        m, v = methods.index(r["method"]), float(r[key])
        if not math.isfinite(v):
            finite[m] = False
            continue
        sums[m, index[_cluster(r)]] += v
        counts[m, index[_cluster(r)]] += 1
    ref = methods.index(reference) if reference in methods else None
    # A method with rows for only some photos is compared with the reference on those
    # photos: one more row of sums and counts each, drawn with the others.
    extra: dict[int, int] = {}
    if ref is not None:
        for m in range(len(methods)):
            present = counts[m] > 0
            if not present.all():
                extra[m] = len(sums)
                sums = np.vstack([sums, sums[ref] * present])
                counts = np.vstack([counts, counts[ref] * present])
    rng = np.random.default_rng(seed)
    # A draw is how many times each photo is taken: as many photos, with replacement.
    # Only each draw's sums and counts per row are kept.
    share = np.full(len(photos), 1 / len(photos))
    draw_sums = np.empty((draws, len(sums)))
    draw_counts = np.empty((draws, len(sums)))
    for start in range(0, draws, CHUNK):
        taken = rng.multinomial(len(photos), share, size=min(CHUNK, draws - start))
        draw_sums[start : start + len(taken)] = taken @ sums.T
        draw_counts[start : start + len(taken)] = taken @ counts.T
    tail = (1 - level) / 2 * 100
    out: dict[str, dict[str, float]] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for m, name in enumerate(methods):
            present = counts[m] > 0
            ok = finite[m] and present.sum() >= 2
            boot = draw_sums[:, m] / draw_counts[:, m]
            stats = {
                "mean": float(sums[m].sum() / counts[m].sum()) if finite[m] else NAN,
                "lo": NAN,
                "hi": NAN,
                "photos": float(present.sum()),
            }
            if ok:
                # draws that took none of the method's photos have no mean: left out
                stats["lo"], stats["hi"] = _interval(boot, tail)
            if ref is not None:
                row = extra.get(m, ref)  # the reference on the method's photos: like for like
                rc = counts[row].sum()
                ref_mean = sums[row].sum() / rc if finite[ref] and rc else NAN
                good = finite[ref] and ref_mean != 0
                stats["ratio"] = stats["mean"] / ref_mean if good else NAN
                stats["ratio_lo"] = stats["ratio_hi"] = NAN
                if ok and good:
                    ratio = boot / (draw_sums[:, row] / draw_counts[:, row])
                    stats["ratio_lo"], stats["ratio_hi"] = _interval(ratio, tail)
            out[name] = stats
    return out


def _interval(values: np.ndarray, tail: float) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return NAN, NAN
    return float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))


def worse_than(
    rows: Sequence[dict[str, Any]],
    *,
    floor: str = "identity",
    key: str = "de2000_mean",
    margins: Sequence[float] = WORSE_BY,
) -> dict[str, dict[float, int]]:
    """For each method, on how many pairs (set, id) its ``key`` exceeds the ``floor``
    method's by more than each margin: how often it makes a photo worse than doing
    nothing. Within :data:`TIE` of the floor is a tie (a method that hands the photo
    back through a colour round trip scores a hair off identity). Pairs the floor has
    no row for, and values that are not finite, are not counted."""
    base = {(r["set"], r["id"]): float(r[key]) for r in rows if r["method"] == floor}
    out: dict[str, dict[float, int]] = {}
    for r in rows:
        counts = out.setdefault(r["method"], {float(m): 0 for m in margins})
        b = base.get((r["set"], r["id"]))
        if b is None:
            continue
        for m in margins:
            if float(r[key]) - b > m + TIE:
                counts[float(m)] += 1
    return out
