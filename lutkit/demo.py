"""``make demo``: the LUT authoring walk-through, end to end, on a bundled photo.

It follows the GIMP workflow of the README with no GIMP needed: the "edit" is a GIMP
Curves preset (written exactly as GIMP 2.10 saves it) applied to the identity Hald
with GIMP's own spline, as GIMP would; then the edited Hald is imported as a .cube,
applied to a photograph, plotted and shown before/after.
"""

from __future__ import annotations

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


def run_lut_demo(out: str | os.PathLike[str], *, photo: str = "grace_hopper") -> DemoResult:
    """Run the walk-through into folder ``out``; returns the files it wrote, by role."""
    from lutkit.fsutil import atomic_write_text
    from lutkit.images import load_image, save_image
    from lutkit.luts.apply import apply_lut
    from lutkit.luts.formats import read_lut, write_lut
    from lutkit.luts.gimp import gimp_curves_config_text, read_gimp_curves
    from lutkit.luts.hald import hald_identity
    from lutkit.luts.inspect import plot_lut
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
