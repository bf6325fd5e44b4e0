"""``lutkit dataset``: build, inspect, verify, preview and export paired datasets."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import click

from lutkit.cli.options import (
    check_ray_address,
    engine_option,
    progress_bars,
    ray_address_option,
)
from lutkit.errors import LutkitWarning


@click.group()
def dataset() -> None:
    """Build and inspect paired distorted/clean datasets (Parquet shards)."""


@dataset.command()
@click.option(
    "--source",
    required=True,
    help="A folder of photos, a glob, a CSV/Parquet manifest, 'sample' (bundled photos) "
    "or 'photos' (the training photographs: lutkit photos fetch).",
)
@click.option("--recipe", default="default", show_default=True, help="Distortion recipe.")
# Paths are checked by the library, so a wrong one is a one-line error, not usage.
@click.option("--out", type=click.Path(), required=True, help="Dataset folder.")
@click.option(
    "--variants",
    type=click.IntRange(1, 1000),
    default=4,
    show_default=True,
    help="Distorted variants per photo.",
)
@click.option(
    "--size",
    type=click.IntRange(16, 4096),
    default=256,
    show_default=True,
    help="Working size (square crop); 224 for the VAE.",
)
@click.option(
    "--crops",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="Views per photo: the centre square, then random squares (seeded, recorded in "
    "the 'crop' column); each view gets --variants distortions.",
)
@click.option(
    "--min-crop",
    type=click.FloatRange(0.05, 1.0),
    default=0.35,
    show_default=True,
    help="Smallest random crop, as a fraction of the photo's short side (a mosaic "
    "tile's: of the largest region of the tile's shape).",
)
@click.option(
    "--mosaic",
    type=click.IntRange(0, 1000),
    default=0,
    show_default=True,
    help="More views of each train photo: its random crop tiled with crops of 1 or 3 "
    "other train photos (repeated when there are fewer), each of the view's --variants "
    "distortions drawn over the whole square (seeded, recorded in the 'crop' column; "
    "val and test stay single photos).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--rows-per-shard",
    type=click.IntRange(1),
    default=256,
    show_default=True,
    metavar="N",
    help="About N rows per Parquet shard. Shards hold whole photos: max(1, N // a "
    "photo's rows) photos each, a photo's rows being --variants x views (--crops, plus "
    "--mosaic for train photos). So N is rounded down to whole photos, or up to one "
    "photo's rows when it is smaller (20 with --variants 6 --crops 10: 60-row shards); "
    "the last shard of a split holds the rest.",
)
@click.option(
    "--splits",
    default="0.8,0.1,0.1",
    show_default=True,
    help="train,val,test fractions (by source hash).",
)
@click.option("--target-lut", help="Style the clean targets with this library LUT.")
@click.option("--target-strength", type=click.FloatRange(0, 1), default=1.0, show_default=True)
@click.option("--no-ground-truth", is_flag=True, help="Do not store the true correction LUT.")
@click.option(
    "--workers",
    type=click.IntRange(0),
    default=0,
    help="Worker processes, or the CPUs of a local Ray (0: all cores).",
)
@engine_option("the same per-photo function on Ray Data (same shards).")
@ray_address_option
@click.option("--force", is_flag=True, help="Replace a dataset built with other settings.")
@click.option("--allow-outside", is_flag=True, help="Allow manifest paths outside its folder.")
def build(
    source,
    recipe,
    out,
    variants,
    size,
    crops,
    min_crop,
    mosaic,
    seed,
    rows_per_shard,
    splits,
    target_lut,
    target_strength,
    no_ground_truth,
    workers,
    engine,
    ray_address,
    force,
    allow_outside,
) -> None:
    """Build pairs from clean photos; rerun the same command to resume.

    Photos with an ICC profile are converted to sRGB through it (littleCMS): a
    dataset's PNGs are sRGB and carry no profile. A photo whose profile cannot be
    used is listed in rejected.csv. Splits are drawn by photo: a split that gets no
    photo is a warning (with how many photos it takes), and an empty split writes no
    shard.

    \b
    Examples:
      lutkit dataset build --source sample --recipe default --out datasets/demo
      lutkit dataset build --source ~/photos --recipe film --out datasets/film --variants 8
      lutkit dataset build --source photos --crops 8 --variants 6 --size 224 --out datasets/photos
    """
    from lutkit.data.build import BuildConfig, build_dataset
    from lutkit.data.sources import NAMED_PHOTO_SOURCES, parse_fractions

    check_ray_address(engine, ray_address)
    cfg = BuildConfig(
        source=source,
        recipe=recipe,
        out=out,
        variants=variants,
        size=size,
        crops=crops,
        min_crop=min_crop,
        mosaic=mosaic,
        seed=seed,
        rows_per_shard=rows_per_shard,
        splits=parse_fractions(splits),
        target_lut=target_lut,
        target_strength=target_strength,
        ground_truth=not no_ground_truth,
        allow_outside=allow_outside,
    )
    named = NAMED_PHOTO_SOURCES.get(source)
    if named is not None and Path(source).is_dir():
        warnings.warn(
            f"--source {source} means lutkit's {named}, not the folder "
            f"./{source} beside you: for that folder, pass --source ./{source}",
            LutkitWarning,
            stacklevel=1,
        )
    with progress_bars(unit="pair") as bars:
        result = build_dataset(
            cfg,
            workers=workers,
            engine=engine,
            force=force,
            ray_address=ray_address,
            progress=bars,
            log=click.echo,
        )
    counts = ", ".join(f"{k} {v}" for k, v in result.rows.items())
    click.echo(
        f"{out}: {counts} rows; {result.shards_written} shard(s) written, "
        f"{result.shards_skipped} already complete; {len(result.rejected)} rejected"
    )


@dataset.command()
@click.argument("folder", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")
def info(folder: str, as_json: bool) -> None:
    """Summarise a dataset: recipe, sources, rows per split, shards, settings.

    \b
    Examples:
      lutkit dataset info datasets/demo
      lutkit dataset info datasets/demo --json
    """
    from lutkit.data.info import dataset_info, format_dataset_info

    facts = dataset_info(folder)
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return
    for line in format_dataset_info(facts):
        click.echo(line)


@dataset.command()
@click.argument("folder", type=click.Path())
@click.option("--no-decode", is_flag=True, help="Skip decoding every image.")
def verify(folder: str, no_decode: bool) -> None:
    """Check every shard against dataset.json and decode every image, then the latents
    of each VAE against their index and the pairs they encode.

    \b
    Example:
      lutkit dataset verify datasets/demo
    """
    from lutkit.data.info import verify_dataset

    report = verify_dataset(folder, decode=not no_decode, progress=progress_bars(unit="shard"))
    # The problems are the report (stdout); stderr gets the one-line error below.
    for p in report.problems:
        click.echo(f"problem: {p}")
    summary = f"{report.shards} shard(s), {report.rows} rows, {report.images} images decoded"
    for fp, n in report.latents.items():
        summary += f"; latents {fp}: {n} shard(s)"
    if not report.ok:
        raise click.ClickException(f"{folder}: {len(report.problems)} problem(s) in {summary}")
    click.echo(f"{folder}: ok: {summary}")


@dataset.command()
@click.argument("folder", type=click.Path())
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@click.option("--n", "count", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def preview(folder: str, output: str, count: int, seed: int) -> None:
    """A contact sheet of random pairs (distorted | clean, with the ops).

    \b
    Example:
      lutkit dataset preview datasets/demo -o pairs.jpg
    """
    from lutkit.data.info import preview_dataset

    preview_dataset(folder, output, n=count, seed=seed)
    click.echo(f"wrote {output}")


@dataset.command()
@click.argument("folder", type=click.Path())
@click.option(
    "--format", "fmt", type=click.Choice(["folders"]), default="folders", show_default=True
)
@click.option("-o", "--output", type=click.Path(), required=True)
def export(folder: str, fmt: str, output: str) -> None:
    """Export to clean/ and distorted/ PNG folders for tools that want files. The
    output folder must be new, empty, or an earlier export (which is replaced whole).

    \b
    Example:
      lutkit dataset export datasets/demo --format folders -o demo-png/
    """
    from lutkit.data.info import export_folders

    n = export_folders(folder, output, progress=progress_bars(unit="shard"))
    click.echo(f"wrote {n} pair{'' if n == 1 else 's'} to {output}")
