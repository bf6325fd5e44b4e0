"""``lutkit model``: package a trained run as a correction model (the shipped default)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def model() -> None:
    """Package and inspect correction models."""


@model.command(name="export")
@click.argument("run", type=click.Path())
@click.option("-o", "--out", type=click.Path(), required=True, help="The model folder.")
@click.option(
    "--colormap",
    type=click.Choice(["fit", "net"]),
    required=True,
    help="The colour map `lutkit fix` uses with this model by default.",
)
def export(run: str, out: str, colormap: str) -> None:
    """Copy a finished run's nets and config (no resume state, no absolute paths) into
    a model folder that `lutkit fix --model` loads.

    OUT is a new folder, an empty one, or an earlier export (replaced whole, its
    TRAINING.md kept); any other folder, and the run itself, is refused untouched.

    \b
    Example:
      lutkit model export runs/mine -o my-model --colormap net
    """
    from lutkit.correct.export import export_model

    earlier = Path(out).is_dir() and any(Path(out).iterdir())  # checked by export_model
    written = export_model(run, out, colormap=colormap)
    click.echo(f"{'replaced the earlier export' if earlier else 'wrote'} {written}")


@model.command(name="info")
@click.argument("path", required=False)
@click.option(
    "--model",
    "model_option",
    metavar="PATH",
    help="The same as PATH, as `lutkit fix --model` takes it.",
)
def info(path: str | None, model_option: str | None) -> None:
    """Say which model `lutkit fix` would use, and what it is.

    \b
    Examples:
      lutkit model info              # what `lutkit fix` uses without --model
      lutkit model info default      # the model shipped with lutkit
      lutkit model info runs/mine    # a run, or a model folder (or --model runs/mine)
    """
    from lutkit.correct.model import colormap_choice, load_run, resolve_model

    if path is not None and model_option is not None:
        one, other = (Path(resolve_model(p)[0]).resolve() for p in (path, model_option))
        if one != other:
            raise click.UsageError(f"give the model once: {path} or --model {model_option}")
    path = path if path is not None else model_option

    folder, how = resolve_model(path, given="the path given")
    run = load_run(folder)
    lut = type(run.lutnet).__name__ if run.lutnet is not None else "none"
    cands = ", ".join(run.lutnet.candidates) if hasattr(run.lutnet, "candidates") else ""
    click.echo(f"model: {folder} ({how})")
    click.echo(f"VAE: {run.config.vae} (fingerprint {run.fingerprint})")
    click.echo(f"recolor net: width {run.config.width}, {run.config.res_blocks} blocks")
    blend = getattr(run.lutnet, "config", {})
    planes = [p for p, key in (("gray", "gray"), ("brightest", "bright")) if blend.get(key)]
    reads = (
        f"; its FFCC-style candidates read the {' and '.join(planes)} pixels too" if planes else ""
    )
    if blend.get("exposure"):
        reads += "; then one exposure gain"
    click.echo(f"LUT net: {lut}" + (f" over {cands}" if cands else "") + reads)
    choice, why = colormap_choice(run)
    click.echo(f"colour map used by default: {choice} ({why})")
