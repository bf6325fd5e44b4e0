"""The benchmark suites and the report: ``run_suite("all", output="reports/bench.md")``."""

from __future__ import annotations

import os
from pathlib import Path

SUITES = ("lut", "distort", "dataset", "latents", "train", "all")


def run_suite(
    suite: str = "all",
    *,
    repeat: int = 5,
    folder_images: int = 6,
    output: str | os.PathLike[str] | None = None,
) -> str:
    """Run one suite (or ``all``), printing each table as it is measured; returns the
    report (Markdown, headed by the machine and versions), also written to ``output``."""
    from lutkit.bench.measure import machine_header
    from lutkit.errors import ConfigError

    if suite not in SUITES:
        raise ConfigError(f"unknown benchmark suite {suite!r}: choose from {', '.join(SUITES)}")
    parts = []
    if suite in ("lut", "all"):
        from lutkit.bench.lut import bench_lut, print_table

        rows = bench_lut(repeat, folder_images)
        parts.append(print_table(rows, "lutkit tetrahedral uint8"))
        print()
    if suite in ("distort", "all"):
        from lutkit.bench.pipeline import bench_distort

        parts.append(bench_distort(repeat))
        print()
    if suite in ("dataset", "all"):
        from lutkit.bench.pipeline import bench_dataset

        parts.append(bench_dataset())
        print()
    if suite in ("latents", "all"):
        from lutkit.bench.pipeline import bench_latents

        parts.append(bench_latents())
        print()
    if suite in ("train", "all"):
        from lutkit.bench.train import bench_train

        parts.append(bench_train())
    text = "\n\n".join([machine_header(), *parts])
    if output:
        from lutkit.fsutil import atomic_write_text

        Path(output).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(output, text + "\n")
    return text
