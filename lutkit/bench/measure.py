"""What every benchmark shares: the timer, the LUT they apply and the machine header."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def median_time(fn: Callable[[], object], repeat: int, *, warmup: bool = True) -> float:
    """The median wall time of ``repeat`` calls of ``fn`` (after one untimed call, the
    warm-up: compilation, caches, unless ``warmup`` is False)."""
    if warmup:
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def round_robin(
    runs: dict[str, Callable[[], object]], rounds: int, *, warmup: bool = True
) -> dict[str, float]:
    """Median wall time of each of ``runs``, timed in turn (A B C ... A B C ...) for
    ``rounds`` rounds, after one untimed call of each unless ``warmup`` is False: a
    shared machine's speed drifts, and this way every run sees the same drift."""
    if warmup:
        for fn in runs.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(v) for name, v in times.items()}


def grade_lut(size: int = 33):
    """A smooth 33^3 colour grade with cross-channel terms (the LUT every benchmark applies)."""
    from lutkit.luts.model import LUT3D

    def grade(rgb: np.ndarray) -> np.ndarray:
        r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
        return np.clip(
            np.stack(
                [0.9 * r**0.8 + 0.08 * g, 0.15 * r + 0.8 * g**1.1, 0.8 * b**1.2 + 0.1 * r], -1
            ),
            0,
            1,
        )

    return LUT3D.from_function(grade, size, title="bench grade")


def _load_line() -> str:
    """The machine's load as the run starts: shared cores change every ratio that sets
    a multi-threaded method against a single-threaded one."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "Load: unknown."
    cores = os.cpu_count() or 1
    return f"Load at the start: {one:.2f} (1 min), {five:.2f} (5 min) on {cores} cores" + (
        ": busy, ratios of multi-threaded methods will be low." if one > cores / 2 else "."
    )


def machine_header() -> str:
    """Where and with what the numbers were measured (the head of reports/bench.md)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for pkg in ("lutkit", "numpy", "torch", "diffusers", "pillow", "opencolorio", "colour-science"):
        try:
            versions.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            versions.append(f"{pkg} (not installed)")
    return "\n".join(
        [
            "# lutkit benchmarks",
            "",
            f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} on {platform.node() or 'this machine'}: "
            f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}.",
            "",
            _load_line(),
            "",
            "Versions: " + ", ".join(versions) + ".",
            "",
            "Every ratio compares methods measured in the same run on the same input.",
        ]
    )
