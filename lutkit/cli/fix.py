"""``lutkit fix``: correct full-resolution photos with a trained model."""

from __future__ import annotations

from pathlib import Path

import click

from lutkit.cli.options import (
    images_output_option,
    progress_bars,
    quality_option,
    strength_option,
    to_srgb_option,
)


@click.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True))
@images_output_option
@click.option(
    "--model",
    help="A run folder, or 'default' (the model shipped with lutkit). Without it: the "
    "run under runs/ that finished last, else the shipped default model.",
)
@click.option(
    "--colormap",
    type=click.Choice(["fit", "net"]),
    help="fit: regress a colour map on decoded latents; net: the model's LUT net. "
    "Default: the one the model recorded at export (the shipped model: net), else, for "
    "a run, the one with the lower mean dE2000 on its test split (test.json), else fit; "
    "`lutkit model info` says which.",
)
@click.option(
    "--iterations",
    type=click.IntRange(1, 20),
    default=1,
    show_default=True,
    help="Passes, each predicted from the result of the one before and composed into one "
    "LUT; passes stop early once a further pass would not change the photo (no colour "
    "moves by half an 8-bit level), and the output says how many were made. One is the "
    "default because a further pass re-reads the light from a photo already corrected, "
    "and on the held-out photos of `make eval` (its iteration chart) more passes moved "
    "further from the truth on average (closer on some looks, such as cross-processed film).",
)
@strength_option
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the fitted colour map (--colormap fit: the latent sample and the fit); "
    "the LUT net (net) draws nothing, so it changes nothing there.",
)
@click.option(
    "--export-lut",
    type=click.Path(dir_okay=False),
    help="Also write the correction (iterations composed, strength applied) as a LUT: "
    ".cube, or .3dl, .spi3d or a Hald .png/.tif (baked onto [0, 1]). One input image "
    "only (each photo gets its own correction).",
)
@click.option(
    "--compare",
    is_flag=True,
    help="Also write STEM-compare.jpg (before/after) beside each output "
    "(NAME-compare.jpg, e.g. a.jpg-compare.jpg, where two outputs share a stem). "
    "A folder of inputs skips such a sheet beside its photo.",
)
@quality_option
@to_srgb_option
def fix(
    images,
    output,
    model,
    colormap,
    iterations,
    strength,
    seed,
    export_lut,
    compare,
    quality,
    to_srgb,
) -> None:
    """Remove colour casts and fading; edges and resolution are untouched.

    The correction acts on each file's own encoding: bit depth, EXIF, the ICC profile,
    alpha (where the output format has one) and a TIFF's compression are kept (an Adobe
    RGB photo stays Adobe RGB; which formats take which: docs/luts.md); --to-srgb
    converts to sRGB first, which suits a wide-gamut file better (the model learned on
    sRGB photos and reads the file's values as sRGB). Transparent pixels play no part in
    the correction of the visible ones. A greyscale photo (every visible pixel grey) has
    no cast, nor has a fully transparent image: its pixels are left as they are. Output
    names are checked before any work.

    A photo filled by one strong colour (an orange cat, a cup of coffee) looks to every
    estimator like a cast and is pulled toward grey; --strength or --compare shows how
    far, and the original is the fix when it had no cast.

    \b
    Examples:
      lutkit fix photo.jpg -o fixed.jpg                  # the shipped default model
      lutkit fix photo.jpg -o fixed.jpg --export-lut fix.cube
      lutkit fix scans/ -o fixed/ --iterations 3 --compare
    """
    from lutkit.correct.fix import check_outputs, compare_paths, fix_files
    from lutkit.correct.model import load_run, preferred_colormap, resolve_model
    from lutkit.errors import ConfigError
    from lutkit.images import check_images
    from lutkit.luts.files import expand_images, plan_outputs, written_to

    inputs = expand_images(images, output)
    if not inputs:
        raise ConfigError("no images found", path=", ".join(images))
    pairs = plan_outputs(inputs, output, roots=[Path(p) for p in images])
    check_outputs(pairs, export_lut, compare=compare)  # before the model loads
    check_images(inputs)  # a file that is no image stops the batch before it starts
    path, how = resolve_model(model)
    run = load_run(path)
    colormap = colormap or preferred_colormap(run)
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
        to_srgb=to_srgb,
        progress=progress_bars(unit="img"),
        log=click.echo,
    )
    # On stdout, after the work: stderr carries only an error, on one line.
    click.echo(
        f"wrote {len(written)} image(s) to {written_to(pairs, output)}"
        + (f" and {export_lut}" if export_lut else "")
        + (_sheets(compare_paths(pairs)) if compare else "")
        + f" with model {path} ({how}; colour map {colormap})"
    )


def _sheets(sheets: list[Path]) -> str:
    """The ``--compare`` sheets, for the closing line: the one, or how many."""
    if len(sheets) == 1:
        return f", before/after {sheets[0]}"
    return f", {len(sheets)} before/after sheets (*-compare.jpg)"
