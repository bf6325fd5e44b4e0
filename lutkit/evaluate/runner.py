"""Run every method on every evaluation set: metrics per image, timing, the iteration
curve of ``lutkit fix``, the worst cases for the gallery, and how far each method moves
photos that need no fix (the clean side of the pairs)."""

from __future__ import annotations

import hashlib
import heapq
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lutkit.errors import ConfigError
from lutkit.evaluate.methods import Method
from lutkit.evaluate.metrics import METRICS, image_metrics
from lutkit.evaluate.sets import EvalSet
from lutkit.images import from_float, to_float
from lutkit.progress import Counter, Progress

CURVE_ITERATIONS = 5
NO_FIX_SET = "no-fix-needed"  # the set name of the clean-photo rows
RANK_ORDER = ("lutkit-fit", "lutkit-net", "identity")  # "worst" without a run's own choice


@dataclass
class GalleryItem:
    set: str
    id: str
    score: float  # delta E 2000 mean of the ranking method (higher: worse)
    tiles: list[tuple[str, np.ndarray]]  # (label, uint8 image): before, methods, truth


@dataclass
class EvalResult:
    methods: list[Method]
    sets: list[EvalSet]
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per image and method
    clean_rows: list[dict[str, Any]] = field(default_factory=list)  # photos needing no fix
    curve: list[dict[str, Any]] = field(default_factory=list)
    gallery: dict[str, list[GalleryItem]] = field(default_factory=dict)
    rank_method: str = ""
    training: dict[str, dict] = field(default_factory=dict)


def _rank_method(methods: Sequence[Method], run: Any = None) -> str:
    """The method the gallery's "worst" is judged by: the colour map ``lutkit fix``
    uses by default with ``run`` (what a user of the model sees), else RANK_ORDER."""
    names = [m.name for m in methods]
    if run is not None:
        from lutkit.correct.model import preferred_colormap

        preferred = f"lutkit-{preferred_colormap(run)}"
        if preferred in names:
            return preferred
    return next((n for n in RANK_ORDER if n in names), names[0])


def evaluate(
    methods: Sequence[Method],
    sets: Sequence[EvalSet],
    *,
    run: Any = None,
    curve_iterations: int = CURVE_ITERATIONS,
    curve_images: int = 4,
    gallery: int = 6,
    clean: bool = True,
    seed: int = 0,
    progress: Progress | None = None,
) -> EvalResult:
    """Apply every method to every pair of every set and measure it.

    ``rows``: one per (set, pair, method) with :data:`~lutkit.evaluate.metrics.METRICS`
    and ``seconds``. ``curve``: delta E against the number of fix iterations (1 to
    ``curve_iterations``) on the first ``curve_images`` pairs of each set, for the
    run's colour maps (needs ``run``). ``gallery``: the ``gallery`` worst pairs of
    each set by the ranking method (the colour map ``lutkit fix`` uses by default with
    ``run``, else lutkit fit), with every method's output.
    ``clean_rows`` (with ``clean``): :func:`clean_photo_rows`, every method on the
    distinct clean photos of the sets. ``progress`` counts the pairs ("evaluating"), the
    clean photos and the curve ("fix iterations").
    """
    if not methods:
        raise ConfigError("no methods to evaluate")
    if not sets or not any(s.pairs for s in sets):
        raise ConfigError("no evaluation pairs")
    result = EvalResult(list(methods), list(sets), rank_method=_rank_method(methods, run))
    total = sum(len(s.pairs) for s in sets)
    tick = Counter(progress, total, "evaluating").add
    for s in sets:
        heap: list[tuple[float, int, GalleryItem]] = []
        for i, pair in enumerate(s.pairs):
            src = to_float(pair.distorted)
            tiles: list[tuple[str, np.ndarray]] = [("before", from_float(src, np.uint8))]
            score = 0.0
            for m in methods:
                start = time.perf_counter()
                out = m.correct(pair.distorted)
                seconds = time.perf_counter() - start
                metrics = image_metrics(out, pair.clean, pair.distorted)
                h, w = out.shape[:2]
                result.rows.append(
                    {
                        "set": s.name,
                        "id": pair.id,
                        "photo": pair.photo,
                        "method": m.name,
                        **metrics,
                        "seconds": seconds,
                        "megapixels": h * w / 1e6,
                    }
                )
                if m.name == result.rank_method:
                    score = metrics["de2000_mean"]
                tiles.append(
                    (f"{m.label}\ndE2000 {metrics['de2000_mean']:.2f}", from_float(out, np.uint8))
                )
            tiles.append(("truth", from_float(to_float(pair.clean), np.uint8)))
            item = GalleryItem(s.name, pair.id, score, tiles)
            if gallery > 0:
                if len(heap) < gallery:
                    heapq.heappush(heap, (score, -i, item))
                else:
                    heapq.heappushpop(heap, (score, -i, item))
            tick(1)
        result.gallery[s.name] = [it for _, _, it in sorted(heap, key=lambda t: (-t[0], -t[1]))]
    if clean:
        result.clean_rows = clean_photo_rows(methods, sets, progress=progress)
    if run is not None and curve_iterations > 0 and curve_images > 0:
        result.curve = iteration_curve(
            run,
            sets,
            iterations=curve_iterations,
            images=curve_images,
            seed=seed,
            progress=progress,
        )
    return result


def clean_photo_rows(
    methods: Sequence[Method], sets: Sequence[EvalSet], *, progress: Progress | None = None
) -> list[dict[str, Any]]:
    """Every method applied to each distinct clean image of the sets (a photo that needs
    no fix; several pairs of a set often share one), measured against that image: how
    far a method moves a photo it should leave alone. Rows as :func:`evaluate`'s, with
    set :data:`NO_FIX_SET` and the id ``SET/ID`` of the first pair with that image."""
    seen: dict[tuple[Any, str], tuple[str, Any]] = {}
    for s in sets:
        for pair in s.pairs:
            digest = hashlib.sha256(np.ascontiguousarray(pair.clean).tobytes()).hexdigest()
            seen.setdefault((pair.photo, digest), (f"{s.name}/{pair.id}", pair))
    tick = Counter(progress, len(seen), "photos that need no fix").add
    rows = []
    for pair_id, pair in seen.values():
        for m in methods:
            start = time.perf_counter()
            out = m.correct(pair.clean)
            seconds = time.perf_counter() - start
            h, w = out.shape[:2]
            rows.append(
                {
                    "set": NO_FIX_SET,
                    "id": pair_id,
                    "photo": pair.photo,
                    "method": m.name,
                    **image_metrics(out, pair.clean, pair.clean),
                    "seconds": seconds,
                    "megapixels": h * w / 1e6,
                }
            )
        tick(1)
    return rows


def iteration_curve(
    run: Any,
    sets: Sequence[EvalSet],
    *,
    iterations: int = CURVE_ITERATIONS,
    images: int = 4,
    seed: int = 0,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Mean delta E 2000 after 1..``iterations`` fix iterations, per set and colour map
    (the first ``images`` pairs of each set), from the same iterations as ``lutkit fix``
    (:func:`lutkit.correct.fix.iterate_corrections`)."""
    from lutkit.correct.fix import iterate_corrections
    from lutkit.evaluate.metrics import delta_e_stats
    from lutkit.luts.apply import apply_lut

    colormaps = ["fit"] + (["net"] if getattr(run, "lutnet", None) is not None else [])
    chosen = [(s, s.pairs[:images]) for s in sets]
    total = sum(len(p) for _, p in chosen) * len(colormaps)
    tick = Counter(progress, total, "fix iterations").add
    rows = []
    for s, pairs in chosen:
        for cmap in colormaps:
            sums = np.zeros(iterations)
            for pair in pairs:
                luts = iterate_corrections(
                    run, pair.distorted, colormap=cmap, iterations=iterations, seed=seed
                )
                for k, lut in enumerate(luts):
                    out = apply_lut(lut, pair.distorted)
                    sums[k] += delta_e_stats(out, pair.clean)["de2000_mean"]
                tick(1)
            for k in range(iterations):
                rows.append(
                    {
                        "set": s.name,
                        "colormap": cmap,
                        "iterations": k + 1,
                        "de2000_mean": float(sums[k] / len(pairs)),
                        "images": len(pairs),
                    }
                )
    return rows


def summarise(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean of every metric and of the seconds per image, per (method, set), in the
    order first seen; plus an ``all`` set per method (every image of every set)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["method"], r["set"]), []).append(r)
        groups.setdefault((r["method"], "all"), []).append(r)
    out = []
    for (method, set_name), items in groups.items():
        row: dict[str, Any] = {"method": method, "set": set_name, "images": len(items)}
        for key in (*METRICS, "seconds", "megapixels"):
            row[key] = float(np.mean([it[key] for it in items]))
        out.append(row)
    order = {m: i for i, m in enumerate(dict.fromkeys(r["method"] for r in rows))}
    sets = {s: i for i, s in enumerate(dict.fromkeys(r["set"] for r in rows))}
    sets["all"] = len(sets)
    return sorted(out, key=lambda r: (order[r["method"]], sets[r["set"]]))


def time_methods(
    methods: Sequence[Method], images: Sequence[np.ndarray], *, repeats: int = 1
) -> list[dict[str, Any]]:
    """Wall-clock seconds of each method on each image (the best of ``repeats``):
    rows of method, label, kind, image (index), width, height, megapixels, seconds,
    megapixels_per_second."""
    rows = []
    for m in methods:
        for i, img in enumerate(images):
            best = float("inf")
            for _ in range(max(1, repeats)):
                start = time.perf_counter()
                m.correct(img)
                best = min(best, time.perf_counter() - start)
            h, w = img.shape[:2]
            rows.append(
                {
                    "method": m.name,
                    "label": m.label,
                    "kind": m.kind,
                    "image": i,
                    "width": w,
                    "height": h,
                    "megapixels": h * w / 1e6,
                    "seconds": best,
                    "megapixels_per_second": h * w / 1e6 / best if best > 0 else float("inf"),
                }
            )
    return rows
