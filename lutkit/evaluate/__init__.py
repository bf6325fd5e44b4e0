"""Evaluation against baselines: metrics, held-out sets, methods, reports.

- :mod:`lutkit.evaluate.metrics`: delta E 2000 / 76, PSNR, SSIM, illuminant angle,
  edge preservation.
- :mod:`lutkit.evaluate.sets`: evaluation sets a model never saw (the pairs, reading
  a sets folder back); :mod:`lutkit.evaluate.set_builder` writes them
  (``lutkit eval-sets``); :mod:`lutkit.evaluate.external`: the damage made by ffmpeg,
  ImageMagick and GIMP (run through :mod:`lutkit.tools`).
- :mod:`lutkit.evaluate.methods`: lutkit (fit, net), the baselines and the floor.
- :mod:`lutkit.evaluate.runner` and :mod:`lutkit.evaluate.report`: run them, write the
  report (``lutkit eval``).

:func:`evaluate_model` is what ``lutkit eval`` runs; :func:`method_timings` gives
per-method timing rows for benchmarks. Nothing heavy is imported here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lutkit.progress import Progress

BASELINES_DIR = "baselines"


@dataclass
class EvalReport:
    index: Path
    result: Any  # lutkit.evaluate.runner.EvalResult
    summary: list[dict[str, Any]]


def evaluate_model(
    model: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    sets: str | os.PathLike[str] | None = None,
    set_names: Sequence[str] = (),
    dataset: str | os.PathLike[str] | None = None,
    baselines: Sequence[str] = ("fcn", "ia3dlut", "ffcc"),
    fcn_config: Any = None,
    lut_config: Any = None,
    illuminant_config: Any = None,
    curve_images: int = 2,
    curve_iterations: int = 5,
    gallery: int = 6,
    seed: int = 0,
    device: str = "cpu",
    log: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> EvalReport:
    """Evaluate a trained run against the baselines and write a report into ``out``.

    The pairs: the sets of the evaluation-sets folder ``sets`` (all, or
    ``set_names``), and/or the test split of ``dataset`` (left out, with a ``log``
    line, when a chosen set holds the same pairs: the ``test`` set that
    ``lutkit eval-sets`` made from that dataset). Learned baselines are
    trained on the train split of the run's dataset (or reused from
    ``out/baselines``).
    """
    from lutkit.correct.model import load_run
    from lutkit.errors import ConfigError
    from lutkit.evaluate.methods import classic_methods, learned_baselines, lutkit_methods
    from lutkit.evaluate.report import write_report
    from lutkit.evaluate.runner import evaluate, summarise
    from lutkit.evaluate.sets import dataset_set, load_eval_sets, same_pairs
    from lutkit.fsutil import check_writable_folder

    say = log or (lambda _m: None)
    if sets is None and dataset is None:
        raise ConfigError("nothing to evaluate on", hint="pass --sets DIR and/or --dataset DIR")
    if set_names and sets is None:
        raise ConfigError("--set needs --sets DIR (an evaluation-sets folder)")
    check_writable_folder(out)  # before the evaluation, not after it
    run = load_run(model, device=device)
    chosen = load_eval_sets(sets, set_names or None) if sets is not None else []
    if dataset is not None:
        split = dataset_set(dataset, "test")
        split.name = f"{Path(dataset).resolve().name}-test"
        # `lutkit eval-sets --dataset D` copies D's test split into its `test` set:
        # evaluated twice, those pairs would count twice in "all" and in the counts.
        twin = next((s for s in chosen if same_pairs(s, split)), None)
        if twin is None:
            chosen.insert(0, split)
        else:
            say(
                f"{dataset}: its test split is set {twin.name!r} of {sets} (the same "
                f"pairs): evaluated once, as {twin.name!r}"
            )
    train_data = run.record.get("dataset_path") or run.config.dataset
    methods = classic_methods() + lutkit_methods(run, seed=seed)
    records: dict[str, dict] = {}
    if baselines:
        learned, records = learned_baselines(
            train_data,
            Path(out) / BASELINES_DIR,
            fcn_config=fcn_config,
            lut_config=lut_config,
            illuminant_config=illuminant_config,
            which=tuple(baselines),
            log=say,
        )
        methods += learned
    result = evaluate(
        methods,
        chosen,
        run=run,
        curve_iterations=curve_iterations,
        curve_images=curve_images,
        gallery=gallery,
        seed=seed,
        progress=progress,
    )
    result.training = records
    from lutkit.correct.model import model_label

    index = write_report(result, out, title=Path(out).name, model=model_label(model))
    return EvalReport(index, result, summarise(result.rows))


def method_timings(
    model: str | os.PathLike[str],
    images: Sequence[np.ndarray],
    *,
    baselines: str | os.PathLike[str] | None = None,
    repeats: int = 1,
    device: str = "cpu",
) -> list[dict[str, Any]]:
    """Seconds per image of every method on ``images`` (e.g. a 24 MP photo), for
    benchmarks: lutkit fit and net (one ``fix`` iteration) of the run ``model``, the
    statistical baselines, and the learned baselines found in ``baselines`` (a
    report's ``baselines/`` folder; skipped when absent). Rows: method, label, kind,
    image, width, height, megapixels, seconds, megapixels_per_second."""
    from lutkit.correct.model import load_run
    from lutkit.evaluate.methods import cached_baselines, classic_methods, lutkit_methods
    from lutkit.evaluate.runner import time_methods

    run = load_run(model, device=device)
    methods = classic_methods() + lutkit_methods(run)
    if baselines is not None:
        methods += cached_baselines(baselines)
    return time_methods(methods, images, repeats=repeats)
