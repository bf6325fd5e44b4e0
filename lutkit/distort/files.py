"""Distort image files from a recipe and a seed, replay recorded parameters, preview
recipes as contact sheets. The CLI's ``lutkit distort`` and ``lutkit recipe`` call these.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from lutkit import __version__
from lutkit.distort.base import (
    PARAMS_SCHEMA,
    OpRecord,
    apply_chain,
    get_op,
    is_colormap,
    ops_from_json,
)
from lutkit.distort.recipe import Recipe, load_recipe
from lutkit.distort.truth import InverseReport, ground_truth
from lutkit.errors import ConfigError, LutkitError
from lutkit.fsutil import (
    atomic_write_text,
    check_distinct_outputs,
    check_writable_outputs,
    output_folders,
    output_group,
)
from lutkit.images import check_save_path, from_float, load_image, to_float
from lutkit.seeds import rng


def distort_image(
    image: np.ndarray, recipe: Recipe, seed: int
) -> tuple[np.ndarray, list[OpRecord]]:
    """Sample ``recipe`` with ``seed`` and apply it to a float32 (H, W, 3) image."""
    records = recipe.sample(rng(seed))
    return apply_chain(image, records), records


def params_document(
    records: list[OpRecord], recipe: str = "", seed: int | None = None
) -> dict[str, Any]:
    """What ``--params-out`` writes: everything needed to replay the ops exactly."""
    return {
        "schema": PARAMS_SCHEMA,
        "lutkit": __version__,
        "recipe": recipe,
        "seed": seed,
        "colormap": is_colormap(records),
        "ops": [r.to_dict() for r in records],
    }


def read_params(path: str | os.PathLike[str]) -> list[OpRecord]:
    """Read a params file written by ``--params-out`` (schema checked)."""
    return read_params_file(path)[0]


def read_params_file(path: str | os.PathLike[str]) -> tuple[list[OpRecord], str, int | None]:
    """A params file's ops (schema checked), and the recipe and seed it records ("" and
    None where absent), so that ``--params-out`` of its replay records them too."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read params: {exc}", path=path) from None
    if not isinstance(data, dict) or "ops" not in data:
        raise ConfigError("not a lutkit params file (no 'ops')", path=path)
    if data.get("schema") != PARAMS_SCHEMA:
        raise ConfigError(
            f"params schema {data.get('schema')!r} is not supported (this lutkit reads "
            f"schema {PARAMS_SCHEMA})",
            path=path,
            hint="re-create the file with this lutkit version",
        )
    records = ops_from_json(json.dumps(data["ops"]), where=str(path))
    recipe, seed = data.get("recipe"), data.get("seed")
    return (
        records,
        recipe if isinstance(recipe, str) else "",
        seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
    )


def distort_file(
    image: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    recipe: str | None = None,
    seed: int = 0,
    replay: str | os.PathLike[str] | None = None,
    params_out: str | os.PathLike[str] | None = None,
    to_srgb: bool = False,
    truth_lut: str | os.PathLike[str] | None = None,
) -> tuple[list[OpRecord], InverseReport | None]:
    """Distort one image file (8/16-bit kept, EXIF kept); returns the applied ops and,
    with ``truth_lut``, the report of their inverse, written there as a LUT.

    The ops act on the file's own encoding and its ICC profile is kept; with
    ``to_srgb`` the pixels are converted to sRGB first and written without a profile.
    Ops that are not all colour maps have no exact inverse: asking for ``truth_lut``
    then is an error, raised before anything is written.
    """
    if (recipe is None) == (replay is None):
        raise ConfigError("give a recipe (with a seed) or a params file to replay")
    check_save_path(output)
    if truth_lut is not None:
        from lutkit.luts.formats import check_lut_path

        check_lut_path(truth_lut)
    check_distinct_outputs(output, truth_lut, params_out)
    # the recipe or the params file first: its errors say more than a folder's would
    rec = load_recipe(recipe) if replay is None else None
    records, name, seed_used = read_params_file(replay) if replay is not None else ([], "", None)
    check_writable_outputs(output, truth_lut, params_out)
    data = load_image(image, keep_alpha=True, convert_icc=to_srgb)  # alpha kept, as fix does
    pixels = to_float(data.pixels)
    # What is under fully transparent pixels is not in the picture: black there for the
    # ops (a glow or a blur must not carry it into what shows), and kept as it was.
    hidden = None if data.alpha is None else np.asarray(data.alpha) == 0
    if hidden is not None and hidden.any():
        pixels[hidden] = 0.0
    if rec is None:
        out = apply_chain(pixels, records)  # (name, seed: what the params file records)
    else:
        out, records = distort_image(pixels, rec, seed)
        name, seed_used = rec.name, seed
    truth = None
    if truth_lut is not None:
        truth = ground_truth(records)
        if truth is None:
            spatial = sorted({r.op for r in records if not get_op(r.op).colormap})
            raise ConfigError(
                f"no exact inverse: the ops drawn include {', '.join(spatial)}, which are "
                "not colour maps",
                path=truth_lut,
                hint="try another --seed, or a recipe of colour maps only ("
                + ", ".join(colormap_recipes())
                + ")",
            )
    written = from_float(out, data.pixels.dtype)
    if hidden is not None and hidden.any():
        written[hidden] = data.pixels[hidden]
    if truth is not None:  # measured on the visible pixels as written (what it meets)
        exact = truth[1].mask(to_float(written))
        shown = exact if hidden is None or not hidden.any() else exact[~hidden]
        truth[1].pixels = float(shown.mean()) if shown.size else 1.0
    # The side files, then the image, as one output: nothing is left when any fails.
    with output_group(output, [truth_lut, params_out]):
        if truth is not None and truth_lut is not None:
            from lutkit.luts.formats import export_options, write_lut

            write_lut(truth[0], truth_lut, **export_options(truth[0], truth_lut))
        if params_out is not None:
            doc = params_document(records, name, seed_used)
            atomic_write_text(params_out, json.dumps(doc, indent=2) + "\n")
        from lutkit.luts.files import tiff_compression, write_image_data

        # as `lut apply` and `fix` write: alpha, EXIF, the profile, dpi, the comment and
        # a TIFF's compression kept
        written_data = data.with_pixels(written)
        write_image_data(Path(output), written_data, 95, tiff_compression(Path(image), "keep"))
    return records, (truth[1] if truth is not None else None)


def chain_label(records: list[OpRecord]) -> str:
    if not records:
        return "(no op drawn)"
    return "\n".join(get_op(r.op).label(r.params) for r in records)


def preview_recipe(
    recipe: str,
    image: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    n: int = 16,
    seed: int = 0,
    tile: int = 240,
    columns: int = 4,
) -> Path:
    """A contact sheet of ``n`` samples of ``recipe`` on ``image``, labelled with the
    ops drawn; the first tile is the original."""
    import cv2

    from lutkit.seeds import derive_seed
    from lutkit.sheets import save_contact_sheet

    rec = load_recipe(recipe)
    pixels = to_float(load_image(image).pixels)
    h, w = pixels.shape[:2]
    scale = (tile * 1.5) / max(h, w)
    if scale < 1:  # ops are resolution independent: preview on a small copy
        pixels = cv2.resize(
            pixels, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
        )
    tiles, labels = [pixels], ["original"]
    for k in range(n):
        out, records = distort_image(pixels, rec, derive_seed(seed, k))
        tiles.append(out)
        labels.append(chain_label(records))
    with output_folders(output):
        return save_contact_sheet(
            output,
            tiles,
            labels,
            columns=columns,
            tile=tile,
            title=f"recipe {rec.name}: {n} samples (seed {seed})",
        )


def colormap_recipes() -> list[str]:
    """The names of the recipes whose every op is a colour map (so a distortion drawn
    from them always has a ground-truth LUT)."""
    from lutkit.distort.recipe import list_recipes

    names = []
    for path in list_recipes():
        try:
            rec = load_recipe(path)
        except LutkitError:
            continue
        if all(get_op(op).colormap for op in rec.ops()):
            names.append(rec.name)
    return sorted(names)
