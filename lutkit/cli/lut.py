"""``lutkit lut``: create, import, convert, apply, inspect and plot LUTs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from lutkit.cli.options import (
    images_output_option,
    interp_option,
    progress_bars,
    quality_option,
    strength_option,
    to_srgb_option,
)
from lutkit.errors import ConfigError
from lutkit.fsutil import check_writable_outputs, output_folders

# Where LUT names (not paths) are looked up, for the commands that read a LUT.
library_option = click.option(
    "--library",
    type=click.Path(exists=True, file_okay=False),
    help="Look LUT names up in this library folder (default: $LUTKIT_LIBRARY, else lutkit's own).",
)


@click.group()
def lut() -> None:
    """Create, import, convert, apply, inspect and plot LUTs.

    Wherever a command takes a LUT file, a name from the library (`lutkit lut list`)
    works too; a file of that name wins.

    \b
    The GIMP workflow:
      lutkit lut identity --hald 8 -o identity.png     # open it in GIMP, edit, export
      lutkit lut import identity-edited.png -o look.cube
      lutkit lut apply look.cube photos/ -o graded/
    """


@lut.command()
@click.option("--hald", "level", type=click.IntRange(2, 16), help="Hald level (2-16).")
@click.option("--size", type=click.IntRange(2, 256), help="Lattice size per side (.cube).")
@click.option(
    "--bit-depth",
    type=click.Choice(["8", "16"]),
    default="16",
    show_default=True,
    help="Bit depth of a Hald image.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
def identity(level: int | None, size: int | None, bit_depth: str, output: str) -> None:
    """Write an identity LUT: a Hald image to edit in GIMP, or a .cube.

    \b
    Examples:
      lutkit lut identity --hald 8 -o identity.png
      lutkit lut identity --size 33 -o identity.cube
    """
    import numpy as np

    from lutkit.images import save_image
    from lutkit.luts.formats import write_lut
    from lutkit.luts.hald import hald_identity
    from lutkit.luts.model import LUT3D

    if (level is None) == (size is None):
        raise click.UsageError("give exactly one of --hald LEVEL or --size N")
    is_hald = Path(output).suffix.lower() in (".png", ".tif", ".tiff")
    if size is not None and is_hald:
        # A Hald image holds a LEVEL^2 lattice: write what was asked, or refuse.
        level = round(size**0.5)
        if level * level != size or not 2 <= level <= 16:
            raise ConfigError(
                f"a Hald image holds a LEVEL^2 lattice (4, 9, 16, ..., 256), not {size}^3",
                path=output,
                hint=f"use --hald LEVEL, or write {Path(output).stem}.cube",
            )
    if level is not None:
        if not is_hald:
            raise ConfigError("a Hald image must be written as .png or .tif", path=output)
        dtype = np.uint16 if bit_depth == "16" else np.uint8
        with output_folders(output):
            save_image(output, hald_identity(level, dtype))
        click.echo(
            f"wrote {output}: identity Hald level {level} ({level**3}x{level**3} px, "
            f"{level * level}^3 LUT, {bit_depth}-bit)"
        )
    else:
        with output_folders(output):
            write_lut(LUT3D.identity(size), output)
        click.echo(f"wrote {output}: identity {size}^3 LUT")


@lut.command(name="import")
@click.argument("source")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Output LUT (.cube, or .png for a Hald). Optional with --library.",
)
@click.option("--size", type=click.IntRange(2, 256), help="Resample a 3D LUT to this size.")
@click.option("--name", help="Name in the library (default: the file name).")
@click.option(
    "--tags",
    default="",
    help="Comma-separated tags in lower case, as names are, e.g. lighting,green.",
)
@click.option(
    "--library",
    type=click.Path(file_okay=False),
    help="Register the LUT in this library folder (e.g. luts/).",
)
@click.option("--source-note", default="", help="Where the LUT came from (library index).")
@click.option("--licence", default="", help="Licence of the LUT (library index).")
@click.option("--made", default="", help="How it was made (library index).")
@click.option("--replace", is_flag=True, help="Replace a library entry of the same name.")
def import_(
    source: str,
    output: str | None,
    size: int | None,
    name: str | None,
    tags: str,
    library: str | None,
    source_note: str,
    licence: str,
    made: str,
    replace: bool,
) -> None:
    """Import a LUT made elsewhere: a Hald image edited in GIMP, a .cube, or a GIMP
    curves preset.

    \b
    Examples:
      lutkit lut import identity-edited.png -o warm.cube
      lutkit lut import warm.curves --library luts/ --name warm --tags colourist,warm
    """
    from lutkit.luts.bake import resample_checked
    from lutkit.luts.formats import write_lut
    from lutkit.luts.library import Library, read_lut_or_name
    from lutkit.luts.model import LUT1D

    if output is None and library is None:
        raise click.UsageError("give -o OUTPUT, --library DIR, or both")
    lib = Library(library) if library is not None else None
    lut_obj = read_lut_or_name(source)
    if name is None:
        name = Path(source).stem.lower().replace(" ", "-")
    elif not name.strip():  # (it fell back to the file's name, or wrote no TITLE)
        raise ConfigError(
            f"invalid LUT name {name!r}",
            hint="leave --name out for the file's name, or give one",
        )
    if lib is not None:  # refuse a bad or taken name before -o writes anything
        lib.check_name(name, replace=replace)
        for tag in (t.strip() for t in tags.split(",")):
            if tag != tag.lower():  # a recipe's tags and `lut list --tag` match exactly
                raise ConfigError(
                    f"invalid tag {tag!r}: tags are lower case, as names are",
                    hint=f"use {tag.lower()!r}",
                )
    if size is not None and (isinstance(lut_obj, LUT1D) or lut_obj.size != size):
        # the warning names what keeps the smaller lattice: -o, else the library's copy
        where = output or Path(library or ".", f"{name}.cube")
        lut_obj = resample_checked(lut_obj, size, where)
    if not lut_obj.title:
        lut_obj.title = name
    if output is not None:
        with output_folders(output):
            write_lut(lut_obj, output)
        click.echo(f"wrote {output}")
    if lib is not None:
        tag_list = [t.strip() for t in tags.split(",") if t.strip()]
        existed = name in lib
        written = lib.add(
            name,
            lut_obj,
            tags=tag_list,
            source=source_note or Path(source).name,
            licence=licence,
            made=made,
            replace=replace,
        )
        how = "replaced" if existed else "added"
        click.echo(f"{how} {name!r} {'in' if existed else 'to'} {library} ({written.name})")


@lut.command()
@click.argument("source")
@click.argument("destination", type=click.Path(dir_okay=False))
@click.option(
    "--size",
    type=click.IntRange(2, 256),
    help="Resample a 3D LUT to this size (a 1D LUT: bake it). For a Hald image, a level "
    "squared (64 = --level 8).",
)
@click.option("--level", type=click.IntRange(2, 16), help="Hald level when writing a Hald.")
@click.option(
    "--bit-depth",
    type=click.Choice(["8", "10", "12", "16"]),
    help="Bit depth of a Hald (8 or 16, default 16) or of a .3dl table (10, 12 or 16, default 12).",
)
@click.option(
    "--flavour",
    type=click.Choice(["lustre", "discreet"]),
    help=".3dl flavour: Autodesk Lustre (3DMESH header; the default) or Discreet/Flame "
    "(what ffmpeg reads, at --size 17).",
)
@library_option
def convert(
    source: str,
    destination: str,
    size: int | None,
    level: int | None,
    bit_depth: str | None,
    flavour: str | None,
    library: str | None,
) -> None:
    """Convert between LUT formats (.cube, .3dl, .spi3d, Hald .png/.tif, GIMP curves
    -> any but GIMP curves).

    \b
    Examples:
      lutkit lut convert look.cube look-hald.png --level 8
      lutkit lut convert look.cube look.3dl --flavour discreet --bit-depth 12
      lutkit lut convert look.3dl look.spi3d
    """
    from lutkit.luts.bake import resample_checked
    from lutkit.luts.formats import write_lut
    from lutkit.luts.library import read_lut_or_name

    ext = Path(destination).suffix.lower()
    hald = ext in (".png", ".tif", ".tiff")
    # Options the destination's format has no use for are refused, not ignored.
    for given, option, where in (
        (level, "--level", hald),
        (flavour, "--flavour", ext == ".3dl"),
        (bit_depth, "--bit-depth", hald or ext == ".3dl"),
    ):
        if given is not None and not where:
            raise click.UsageError(
                f"{option} does not apply to a {ext or 'file without extension'} "
                f"({option} is for {'.3dl' if option == '--flavour' else 'Hald images'}"
                f"{' and .3dl' if option == '--bit-depth' else ''})"
            )
    if hald and size is not None:
        # A Hald image's lattice is its level squared: --size names a level or nothing.
        named = math.isqrt(size) if math.isqrt(size) ** 2 == size else None
        if named is None or not 2 <= named <= 16:
            raise click.UsageError(
                f"--size {size} is no Hald lattice (a level squared: 4, 9, 16, ..., 256); "
                "give --level"
            )
        if level is not None and level != named:
            raise click.UsageError(
                f"--size {size} is Hald level {named}, not --level {level}: give one of them"
            )
        level, size = named, None
    check_writable_outputs(destination)  # before a resample says what it loses
    lut_obj = read_lut_or_name(source, library)
    if size is not None:
        ffmpeg = ext == ".3dl" and flavour == "discreet" and size == 17
        needed = "ffmpeg reads a Discreet .3dl at 17^3 only" if ffmpeg else ""
        lut_obj = resample_checked(lut_obj, size, destination, needed=needed)
    kw: dict = {}
    if hald:
        if bit_depth not in (None, "8", "16"):
            raise ConfigError(f"a Hald image is 8 or 16 bits, not {bit_depth}", path=destination)
        kw = {"level": level, "bit_depth": int(bit_depth or 16)}
    elif ext == ".3dl":
        if bit_depth == "8":
            raise ConfigError("a .3dl table is 10, 12 or 16 bits, not 8", path=destination)
        kw = {"flavour": flavour or "lustre", "bit_depth": int(bit_depth or 12)}
    with output_folders(destination):
        write_lut(lut_obj, destination, **kw)
    click.echo(f"wrote {destination}")


@lut.command()
@click.argument("lut_path", metavar="LUT")
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True))
@images_output_option
@interp_option
@strength_option
@quality_option
@to_srgb_option
@click.option(
    "--compression",
    type=click.Choice(["keep", "none", "deflate", "lzw", "packbits"]),
    default="keep",
    show_default=True,
    help="TIFF outputs: keep the input TIFF's compression (deflate for other inputs), "
    "or choose one.",
)
@library_option
def apply(
    lut_path: str,
    images: tuple[str, ...],
    output: str,
    interp: str,
    strength: float,
    quality: int | None,
    to_srgb: bool,
    compression: str,
    library: str | None,
) -> None:
    """Apply a LUT to images or folders; 8/16-bit depth, EXIF, ICC and alpha are kept.

    The LUT acts on each file's own encoding and its ICC profile is written back
    unchanged (an Adobe RGB photo stays Adobe RGB, as in ffmpeg, GIMP and Resolve);
    --to-srgb converts to sRGB through the profile first and writes no profile.

    \b
    Examples:
      lutkit lut apply look.cube photo.jpg -o photo-graded.jpg
      lutkit lut apply look.cube photos/ -o graded/ --strength 0.7
      lutkit lut apply sodium-orange photo.jpg -o sodium.jpg    # a library LUT
      lutkit lut apply look.cube scans/*.tif -o graded/ --compression lzw
      lutkit lut apply my-look photo.jpg -o mine.jpg --library mylib/   # your library
    """
    from lutkit.images import check_images
    from lutkit.luts.files import apply_to_files, expand_images, plan_outputs, written_to
    from lutkit.luts.library import read_lut_or_name

    lut_obj = read_lut_or_name(lut_path, library)
    inputs = expand_images(images, output)
    if not inputs:
        raise ConfigError("no images found", path=", ".join(images))
    pairs = plan_outputs(inputs, output, roots=[Path(p) for p in images])
    check_images(inputs)  # a file that is no image stops the batch before it starts
    written = apply_to_files(
        lut_obj,
        pairs,
        interp=interp,
        strength=strength,
        quality=quality,
        to_srgb=to_srgb,
        progress=progress_bars(unit="img"),
        compression=compression,
    )
    click.echo(f"wrote {len(written)} image(s) to {written_to(pairs, output)}")


@lut.command()
@click.argument("lut_path", metavar="LUT")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@library_option
def info(lut_path: str, as_json: bool, library: str | None) -> None:
    """Print a LUT's kind, size, domain, output range and how far it is from identity:
    the change over its lattice in 8-bit levels, and CIEDE2000 on the 24 patches of a
    ColorChecker (sRGB).

    \b
    Example:
      lutkit lut info look.cube
    """
    from lutkit.luts.formats import read_lut
    from lutkit.luts.info import describe, format_info
    from lutkit.luts.library import resolve_lut

    path = resolve_lut(lut_path, library)  # the library is read once, here
    facts = {"file": str(path), **describe(read_lut(path))}
    click.echo(json.dumps(facts, indent=2) if as_json else format_info(facts))


@lut.command()
@click.argument("lut_path", metavar="LUT")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@library_option
def plot(lut_path: str, output: str, library: str | None) -> None:
    """Plot a LUT: curves for 1D; neutral axis, primary ramps and a hue chart for 3D;
    for both, the 24 ColorChecker patches before and after. The title is the LUT's name.

    \b
    Example:
      lutkit lut plot look.cube -o look.png
    """
    from lutkit.luts.formats import read_lut
    from lutkit.luts.info import plot_lut
    from lutkit.luts.library import resolve_lut

    path = resolve_lut(lut_path, library)  # the library is read once, here
    lut_obj = read_lut(path)
    with output_folders(output):
        plot_lut(lut_obj, output, title=path.stem)
    click.echo(f"wrote {output}")


@lut.command(name="list")
@click.option(
    "--tag",
    help="Only LUTs with this tag. A tag no LUT has is an error that names the tags there are.",
)
@click.option("--library", type=click.Path(exists=True, file_okay=False), help="Library folder.")
def list_(tag: str | None, library: str | None) -> None:
    """List the LUTs in the library, with their tags.

    A --tag that no LUT has is an error (exit 1) naming the library's tags, since it is
    almost always a typo; an empty library lists nothing and exits 0.

    \b
    Example:
      lutkit lut list --tag lighting
    """
    from lutkit.luts.library import Library, default_library

    lib = Library(library or default_library())
    if tag is not None:
        lib.check_tag(tag)
    names = lib.names(tag)
    if not names:
        click.echo(f"no LUTs in {lib.root}")  # a --tag that matches none raised above
        return
    width = max(len(n) for n in names)
    missing = []
    for n in names:
        note = ""
        if not lib.path_of(n).is_file():
            missing.append(n)
            note = f"  (missing: {lib.entries[n].file})"
        click.echo(f"{n:<{width}}  {', '.join(lib.entries[n].tags)}{note}".rstrip())
    if missing:
        import warnings

        from lutkit.errors import LutkitWarning

        warnings.warn(
            f"{lib.index_path}: {len(missing)} LUT(s) listed without their file "
            f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}): import "
            "them again with `lutkit lut import --library --replace`, or remove their "
            "entries from index.toml",
            LutkitWarning,
            stacklevel=1,
        )


@lut.command(name="build-gimp")
@click.option(
    "--scripts",
    type=click.Path(file_okay=False),
    help="Folder of Script-Fu LUT scripts (NAME.scm). Default: the library's gimp/ "
    "scripts (the checkout's luts/gimp, or the copy shipped with lutkit).",
)
@click.option(
    "--library",
    type=click.Path(file_okay=False),
    default="luts",
    show_default=True,
    help="Library folder to write NAME.cube and index.toml into.",
)
@click.option("--only", "only", multiple=True, metavar="NAME", help="Only this LUT (repeatable).")
@click.option(
    "--sheet",
    type=click.Path(dir_okay=False),
    help="Also write a contact sheet of the whole library on a photo (e.g. .jpg).",
)
def build_gimp(scripts: str | None, library: str, only: tuple[str, ...], sheet: str | None) -> None:
    """Re-author the GIMP-made LUTs: run GIMP 2.10 headless on the Script-Fu files
    and import the results into the library (needs gimp-console-2.10).

    \b
    Examples:
      lutkit lut build-gimp --scripts luts/gimp --library luts
      lutkit lut build-gimp --only green-fluorescent --only sodium-orange
      lutkit lut build-gimp --sheet docs/lut-library.jpg
    """
    import time

    from lutkit.luts.gimp_build import build_gimp_library, save_library_sheet
    from lutkit.luts.library import default_library

    scripts = scripts or str(default_library() / "gimp")
    start = time.perf_counter()
    names = build_gimp_library(scripts, library, names=list(only) or None)
    took = time.perf_counter() - start
    click.echo(f"re-authored {len(names)} LUT(s) into {library} in {took:.1f} s")
    if sheet is not None:
        save_library_sheet(library, sheet)
        click.echo(f"wrote {sheet}")
