"""``lutkit eval-sets`` and ``lutkit eval``: held-out sets, and a model against baselines."""

from __future__ import annotations

import click


@click.command("eval-sets")
@click.option(
    "--dataset",
    type=click.Path(file_okay=False),
    required=True,
    help="The training dataset: its val/test photos are the held-out photos.",
)
@click.option("-o", "--out", type=click.Path(file_okay=False), required=True)
@click.option(
    "--variants",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Distortions per held-out photo and set.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--photo-splits",
    default="val,test",
    show_default=True,
    help="Where the held-out photos come from: val, test or both.",
)
@click.option(
    "--tools",
    default="ffmpeg,imagemagick,gimp",
    show_default=True,
    help="External tools to make sets with (missing ones are skipped).",
)
@click.option("--force", is_flag=True, help="Rebuild even when up to date.")
def eval_sets(dataset, out, variants, seed, photo_splits, tools, force) -> None:
    """Build evaluation sets the model never saw: the test split, distortion families
    left out of training, and damage made by ffmpeg, ImageMagick and GIMP.

    \b
    Example:
      lutkit eval-sets --dataset datasets/demo -o datasets/demo-eval
    """
    from lutkit.evaluate.set_builder import build_eval_sets

    result = build_eval_sets(
        dataset,
        out,
        variants=variants,
        seed=seed,
        photo_splits=tuple(s.strip() for s in photo_splits.split(",") if s.strip()),
        tools=[t.strip() for t in tools.split(",") if t.strip()],
        force=force,
        log=lambda m: click.echo(m, err=True),
    )
    state = "up to date" if result.up_to_date else "written"
    sets = ", ".join(f"{n} {c}" for n, c in result.sets.items())
    click.echo(f"{result.out}: {state}: {sets}")
    for msg in result.skipped if result.up_to_date else []:
        click.echo(f"skipped {msg}", err=True)


@click.command("eval")
@click.option(
    "--model",
    type=click.Path(file_okay=False),
    required=True,
    help="A run folder written by `lutkit train`, or 'default' (the shipped model).",
)
@click.option(
    "--sets",
    "sets_dir",
    type=click.Path(file_okay=False),
    help="An evaluation-sets folder (`lutkit eval-sets`).",
)
@click.option("--set", "set_names", multiple=True, help="Only these sets (repeatable).")
@click.option(
    "--dataset",
    type=click.Path(file_okay=False),
    help="Also evaluate this dataset's test split; left out (with a message) when a set of "
    "--sets holds the same pairs, as the 'test' set that `lutkit eval-sets` made from this "
    "dataset does, so that no pair counts twice.",
)
@click.option(
    "-o", "--out", type=click.Path(file_okay=False), required=True, help="The report folder."
)
@click.option(
    "--baselines",
    default="fcn,ia3dlut,ffcc",
    show_default=True,
    help="Learned baselines to train (or reuse), comma-separated; '' for none: the pixel "
    "FCN, Image-Adaptive 3D LUT, and the FFCC-style illuminant estimator alone (ffcc; "
    "ffcc-tonal: a light per tonal band).",
)
@click.option(
    "--baseline-epochs",
    type=click.IntRange(1, 10000),
    help="Epochs of the learned baselines (default: theirs).",
)
@click.option(
    "--curve-images",
    type=click.IntRange(0, 1000),
    default=2,
    show_default=True,
    help="Pairs per set in the fix-iterations curve (0: no curve).",
)
@click.option(
    "--gallery",
    type=click.IntRange(0, 100),
    default=6,
    show_default=True,
    help="Worst cases per set in the gallery (judged by the colour map fix uses with the model).",
)
@click.option("--seed", type=int, default=0, show_default=True)
def eval_cmd(
    model,
    sets_dir,
    set_names,
    dataset,
    out,
    baselines,
    baseline_epochs,
    curve_images,
    gallery,
    seed,
) -> None:
    """Evaluate a trained model against baselines on held-out sets; write a report
    (results.md / .csv, index.html with charts and a gallery).

    \b
    Examples:
      lutkit eval --model runs/demo --sets datasets/demo-eval -o reports/demo
      lutkit eval --model runs/demo --sets datasets/demo-eval --set gimp -o reports/gimp
      lutkit eval --model runs/demo --dataset datasets/demo -o reports/demo-test
    """
    from dataclasses import replace

    from lutkit.errors import ConfigError
    from lutkit.evaluate import evaluate_model
    from lutkit.evaluate.methods import LEARNED
    from lutkit.train.baselines import (
        FCNTrainConfig,
        IA3DLUTTrainConfig,
        IlluminantTrainConfig,
    )

    # each named once, in the order given (a name twice was two rows of the same model)
    which = tuple(dict.fromkeys(b.strip() for b in baselines.split(",") if b.strip()))
    unknown = [b for b in which if b not in LEARNED]
    if unknown:
        raise ConfigError(f"unknown baseline {unknown[0]!r}: choose from {', '.join(LEARNED)}")
    fcn_cfg, lut_cfg, ill_cfg = FCNTrainConfig(), IA3DLUTTrainConfig(), IlluminantTrainConfig()
    if baseline_epochs:
        fcn_cfg = replace(fcn_cfg, epochs=baseline_epochs)
        lut_cfg = replace(lut_cfg, epochs=baseline_epochs)
        ill_cfg = replace(ill_cfg, epochs=baseline_epochs)
    from lutkit.cli.options import progress_bars
    from lutkit.correct.model import resolve_model

    with progress_bars(unit="img") as bars:
        report = evaluate_model(
            resolve_model(model)[0],
            out,
            sets=sets_dir,
            set_names=set_names,
            dataset=dataset,
            baselines=which,
            fcn_config=fcn_cfg,
            lut_config=lut_cfg,
            illuminant_config=ill_cfg,
            curve_images=curve_images,
            gallery=gallery,
            seed=seed,
            log=lambda m: click.echo(m, err=True),
            progress=bars,
        )
    click.echo(f"wrote {report.index} and {report.index.with_name('results.md')}")
