"""``lutkit fix``: correct full-resolution photos with a trained model."""

from __future__ import annotations

from pathlib import Path

import click

from lutkit.cli.options import progress_bars, strength_option


@click.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "-o", "--output", type=click.Path(), required=True, help="Output file (one image) or folder."
)
@click.option(
    "--model",
    type=click.Path(file_okay=False),
    help="A run folder (default: the last one `make train` finished).",
)
@click.option(
    "--colormap",
    type=click.Choice(["fit", "net"]),
    default="fit",
    show_default=True,
    help="fit: regress a colour map on decoded latents; net: the LUT net.",
)
@click.option("--iterations", type=click.IntRange(1, 20), default=1, show_default=True)
@strength_option
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--export-lut",
    type=click.Path(dir_okay=False),
    help="Write the correction (iterations composed) as a .cube.",
)
@click.option("--compare", is_flag=True, help="Also write OUTPUT-compare.jpg (before/after).")
@click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True)
def fix(
    images, output, model, colormap, iterations, strength, seed, export_lut, compare, quality
) -> None:
    """Remove colour casts and fading; edges and resolution are untouched.

    \b
    Examples:
      lutkit fix photo.jpg -o fixed.jpg --export-lut fix.cube
      lutkit fix scans/ -o fixed/ --iterations 3 --compare
    """
    from lutkit.correct.fix import fix_files
    from lutkit.correct.model import latest_run, load_run
    from lutkit.errors import ConfigError
    from lutkit.luts.files import expand_images, plan_outputs

    if model is None:
        found = latest_run()
        if found is None:
            raise ConfigError(
                "no trained model found in runs/",
                hint="run `make train`, or pass --model runs/NAME",
            )
        model = str(found)
    run = load_run(model)
    inputs = expand_images(images)
    if not inputs:
        raise ConfigError("no images found", path=", ".join(images))
    pairs = plan_outputs(inputs, output, roots=[Path(p) for p in images])
    written = fix_files(
        run,
        pairs,
        colormap=colormap,
        iterations=iterations,
        strength=strength,
        seed=seed,
        export_lut=export_lut,
        compare=compare,
        quality=quality,
        progress=progress_bars(unit="img"),
    )
    # On stdout, after the work: stderr carries only an error, on one line.
    click.echo(
        f"wrote {len(written)} image(s) to {output}"
        + (f" and {export_lut}" if export_lut else "")
        + f" with model {model}"
    )
