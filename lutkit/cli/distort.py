"""``lutkit distort`` and ``lutkit recipe``: distortion ops and recipes."""

from __future__ import annotations

import click

from lutkit.cli.options import to_srgb_option


@click.command()
@click.argument("image", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@click.option("--recipe", help="Recipe name (see `lutkit recipe list`) or a .toml path.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--replay",
    type=click.Path(exists=True, dir_okay=False),
    help="Re-apply the ops recorded in a params file, exactly.",
)
@click.option(
    "--params-out",
    type=click.Path(dir_okay=False),
    help="Write the ops and their parameters as JSON.",
)
@click.option(
    "--truth-lut",
    type=click.Path(dir_okay=False),
    help="Also write the inverse of the ops (the ground-truth correction) as a LUT "
    "(.cube, .3dl, .spi3d, Hald), exact where they can be undone (the command says on how "
    "many of the image's pixels); refused, before anything is written, when an op drawn "
    "is not a colour map (grain, dust, blur: no exact inverse exists).",
)
@to_srgb_option
def distort(
    image: str,
    output: str,
    recipe: str | None,
    seed: int,
    replay: str | None,
    params_out: str | None,
    truth_lut: str | None,
    to_srgb: bool,
) -> None:
    """Distort a photo with a recipe (coloured light, grades, film damage).

    The ops act on the file's own encoding: bit depth, EXIF and the ICC profile are
    kept; --to-srgb converts to sRGB first.

    \b
    Examples:
      lutkit distort photo.jpg -o bad.png --recipe default --seed 7 --params-out p.json
      lutkit distort photo.jpg -o bad-again.png --replay p.json
      lutkit distort photo.jpg -o bad.png --recipe lighting --truth-lut inverse.cube
    """
    from lutkit.distort.files import chain_label, distort_file

    if (recipe is None) == (replay is None):
        both = ", not both" if recipe is not None else ""
        raise click.UsageError(f"give --recipe NAME (with --seed) or --replay PARAMS.json{both}")
    records, truth = distort_file(
        image,
        output,
        recipe=recipe,
        seed=seed,
        replay=replay,
        params_out=params_out,
        to_srgb=to_srgb,
        truth_lut=truth_lut,
    )
    click.echo(f"wrote {output}: " + chain_label(records).replace("\n", "; "))
    if truth is not None:
        if truth.pixels == 1.0:
            click.echo(f"wrote {truth_lut}: the exact inverse; {truth.summary()}")
        else:
            click.echo(
                f"wrote {truth_lut}: the inverse where a colour has one, the nearest colour "
                f"elsewhere; {truth.summary()} (not exact where the distortion clipped "
                "colours or folded them together, nor in the lattice cells beside them)"
            )


@click.group()
def recipe() -> None:
    """List, inspect and preview distortion recipes."""


@recipe.command(name="list")
def list_() -> None:
    """List the recipes with their descriptions.

    \b
    Example:
      lutkit recipe list
    """
    from lutkit.distort.recipe import list_recipes, load_recipe

    for path in list_recipes():
        r = load_recipe(path)
        click.echo(f"{path.stem:<16} {r.description}")


@recipe.command()
def ops() -> None:
    """List every distortion op: whether it is a colour map, what it does, and each
    range a recipe may set, with its default and its valid values.

    \b
    Example:
      lutkit recipe ops
    """
    from lutkit.distort.recipe import describe_ops

    for line in describe_ops():
        click.echo(line)


@recipe.command()
@click.argument("name")
def show(name: str) -> None:
    """Print a recipe's stages and every op it can draw, with its parameter ranges
    (* marks a range the recipe narrows; the rest are the op's defaults).

    \b
    Example:
      lutkit recipe show film
    """
    from lutkit.distort.recipe import describe_recipe, load_recipe

    r = load_recipe(name)
    head = f"{r.name}: {r.description}" if r.description else r.name
    click.echo(f"{head}\nfile: {r.path}\nsha256: {r.sha256}")
    for line in describe_recipe(r):
        click.echo(line)
    click.echo("ops: " + ", ".join(r.ops()))


@recipe.command()
@click.argument("name")
@click.option("--image", type=click.Path(exists=True, dir_okay=False), required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@click.option("--n", "count", type=click.IntRange(1, 256), default=16, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--columns", type=click.IntRange(1, 16), default=4, show_default=True)
def preview(name: str, image: str, output: str, count: int, seed: int, columns: int) -> None:
    """A contact sheet of samples of a recipe on a photo, with the ops under each tile.

    The photo is converted to sRGB through its ICC profile (the sheet has none).

    \b
    Example:
      lutkit recipe preview default --image photo.jpg -o sheet.png --n 16
    """
    from lutkit.distort.files import preview_recipe

    preview_recipe(name, image, output, n=count, seed=seed, columns=columns)
    click.echo(f"wrote {output}")
