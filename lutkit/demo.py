"""``make demo``: the LUT authoring walk-through, end to end, on a bundled photo.

It follows the GIMP workflow of the README with no GIMP needed: the "edit" is a GIMP
Curves preset (written exactly as GIMP 2.10 saves it) applied to the identity Hald
with GIMP's own spline, as GIMP would; then the edited Hald is imported as a .cube,
applied to a photograph, plotted and shown before/after.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# A warm "golden hour" grade: lifted reds, a gentle S on value, cooler shadows.
DEMO_CURVES = {
    "value": [(0.0, 0.0), (0.25, 0.2), (0.75, 0.8), (1.0, 1.0)],
    "red": [(0.0, 0.02), (0.5, 0.58), (1.0, 1.0)],
    "green": [(0.0, 0.0), (0.5, 0.52), (1.0, 0.98)],
    "blue": [(0.0, 0.04), (0.5, 0.42), (1.0, 0.9)],
}


@dataclass
class DemoResult:
    files: dict[str, Path] = field(default_factory=dict)  # role -> path
    max_diff: int = 0  # levels between the Hald round trip and the curves applied directly
    mean_diff: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)  # fix demo: mean delta E 2000


def run_lut_demo(out: str | os.PathLike[str], *, photo: str = "grace_hopper") -> DemoResult:
    """Run the walk-through into folder ``out``; returns the files it wrote, by role."""
    from lutkit.fsutil import atomic_write_text
    from lutkit.images import load_image, save_image
    from lutkit.luts.apply import apply_lut
    from lutkit.luts.formats import read_lut, write_lut
    from lutkit.luts.gimp import gimp_curves_config_text, read_gimp_curves
    from lutkit.luts.hald import hald_identity
    from lutkit.luts.info import plot_lut
    from lutkit.samples import sample_photo
    from lutkit.sheets import save_contact_sheet

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    # 1. The identity Hald a user would open in GIMP.
    identity = hald_identity(8, np.uint16)
    files["identity"] = save_image(out / "identity.png", identity)

    # 2. The edit: a Curves preset as GIMP saves it, applied to the Hald as GIMP does.
    files["curves"] = atomic_write_text(
        out / "golden-hour.curves", gimp_curves_config_text(DEMO_CURVES, preset="golden hour")
    )
    curves = read_gimp_curves(files["curves"])
    files["edited"] = save_image(out / "identity-edited.png", apply_lut(curves, identity))

    # 3. Import the edited Hald as a .cube.
    look = read_lut(files["edited"])
    look.title = "golden hour"
    files["cube"] = write_lut(look, out / "golden-hour.cube")

    # 4. Apply it to a photograph, full and at half strength.
    src = load_image(sample_photo(photo).path)
    graded = apply_lut(read_lut(files["cube"]), src.pixels)
    half = apply_lut(look, src.pixels, strength=0.5)
    files["photo"] = save_image(out / f"{photo}.png", src.pixels)
    files["graded"] = save_image(out / f"{photo}-golden-hour.png", graded)

    # 5. Pictures: the LUT's plot and a before/after sheet.
    files["plot"] = plot_lut(look, out / "golden-hour-plot.png")
    direct = apply_lut(curves, src.pixels)
    diff = np.abs(graded.astype(int) - direct.astype(int))
    files["sheet"] = save_contact_sheet(
        out / "before-after.png",
        [src.pixels, half, graded],
        ["before", "golden hour at 50%", "golden hour (Hald -> .cube -> apply)"],
        columns=3,
        tile=360,
        title=f"lutkit demo: a GIMP curves look through a Hald CLUT, on {photo}",
    )
    return DemoResult(files, int(diff.max()), float(diff.mean()))


def _test_photo(run) -> tuple[str, Path]:
    """(name, path) of a photo the run never trained on: one of the held-out photos an
    exported model records (the shipped model lists them, so every machine picks the
    same one), else one of its dataset's test split; taking one that ships with
    lutkit's dependencies."""
    from lutkit.data.index import load_dataset_json
    from lutkit.data.shards import read_shard
    from lutkit.errors import ConfigError
    from lutkit.samples import sample_photos

    dataset = Path(run.config.dataset)
    names: set[str] = set(run.record.get("heldout_photos") or [])
    if not names:
        doc = load_dataset_json(dataset)
        for shard in doc.get("shards", []):
            if shard.get("split") == "test":
                table = read_shard(dataset, shard, ["source"])
                names.update(table.column("source").to_pylist())
    bundled = {p.name: p.path for p in sample_photos()}
    for name in sorted(names):
        plain = name.split(":", 1)[-1].replace("-", "_")
        if plain in bundled:
            return plain, Path(bundled[plain])
        if Path(name).is_file():
            return Path(name).stem, Path(name)
    raise ConfigError(
        "no photo of the run's test split can be found",
        path=dataset,
        hint="build the dataset with `make data` (bundled photos) or pass --photo",
    )


def run_fix_demo(
    out: str | os.PathLike[str],
    model: str | os.PathLike[str],
    *,
    photo: str | None = None,
    recipe: str = "heldout",
    seed: int = 1,
) -> DemoResult:
    """Distort a photo the run never saw with a recipe it never trained on, fix it with
    both colour maps, export the fit's correction as a .cube and show before/after.

    ``photo``: a bundled photo's name (default: one of the run's test split).
    """
    from lutkit.color import image_delta_e
    from lutkit.correct.fix import fix_pixels
    from lutkit.correct.model import load_run
    from lutkit.distort.base import apply_chain
    from lutkit.distort.files import params_document
    from lutkit.distort.recipe import load_recipe
    from lutkit.fsutil import atomic_write_text
    from lutkit.images import from_float, load_image, save_image, to_float
    from lutkit.luts.formats import write_lut
    from lutkit.samples import sample_photo
    from lutkit.seeds import rng
    from lutkit.sheets import save_contact_sheet

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    run = load_run(model)
    name, path = (photo, sample_photo(photo).path) if photo else _test_photo(run)
    clean = load_image(path).pixels
    clean_f = to_float(clean)
    drawn = load_recipe(recipe)
    records = drawn.sample(rng(seed))
    distorted = from_float(np.clip(apply_chain(clean_f, records), 0, 1), clean.dtype)
    files: dict[str, Path] = {}
    files["distorted"] = save_image(out / f"{name}-{recipe}.png", distorted)
    files["ops"] = atomic_write_text(
        out / f"{name}-{recipe}.ops.json",
        json.dumps(params_document(records, drawn.name, seed), indent=2) + "\n",
    )
    tiles, labels = [clean, distorted], ["clean (never trained on)", f"distorted ({recipe})"]
    scores = {"input": float(image_delta_e(to_float(distorted), clean_f).mean())}
    labels[1] += f"  dE {scores['input']:.2f}"
    for colormap in ("fit", "net"):
        if colormap == "net" and run.lutnet is None:
            continue
        result = fix_pixels(run, distorted, colormap=colormap)
        files[f"fixed-{colormap}"] = save_image(out / f"{name}-fixed-{colormap}.png", result.pixels)
        files[f"cube-{colormap}"] = write_lut(result.lut, out / f"{name}-fix-{colormap}.cube")
        tiles.append(result.pixels)
        scores[colormap] = float(image_delta_e(to_float(result.pixels), clean_f).mean())
        labels.append(f"lutkit fix ({colormap})  dE {scores[colormap]:.2f}")
    files["sheet"] = save_contact_sheet(
        out / "fix-before-after.png",
        tiles,
        labels,
        columns=len(tiles),
        tile=360,
        title=f"lutkit fix with run {run.name}: {name}, recipe {recipe} (seed {seed})",
    )
    return DemoResult(files, scores=scores)
