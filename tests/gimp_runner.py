"""Run GIMP 2.10 headless from tests: ``run_gimp(script)`` and Script-Fu builders.

GIMP runs as ``gimp-console-2.10 -i -n -d -f -b SCRIPT -b (gimp-quit 0)`` with its
arguments as a list (no shell), its user folders pointed at a fresh temporary folder
(so the user's own GIMP settings, fonts and plug-ins neither leak in nor get
touched), and any Script-Fu error turned into an exception carrying GIMP's output.
Each call costs about 2 s of start-up, so build one script that does all the work.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from os import PathLike

from lutkit.errors import ToolError
from lutkit.tools import gimp
from lutkit.tools.gimp import GIMP, scheme_string

# GimpHistogramChannel in GIMP 2.10's PDB (gimp-drawable-curves-spline's "channel").
HISTOGRAM_CHANNELS = {"value": 0, "red": 1, "green": 2, "blue": 3, "alpha": 4}
# GimpPrecision: 32-bit float, perceptual (sRGB-encoded) values.
PRECISION_FLOAT_GAMMA = 650
PRECISION_U8_GAMMA = 150

_FAILED = "batch command experienced an execution error"


class GimpError(RuntimeError):
    """GIMP exited with an error or a Script-Fu command failed."""


def gimp_available() -> bool:
    """True when ``gimp-console-2.10`` is on PATH."""
    return shutil.which(GIMP) is not None


def run_gimp(script: str, timeout: float = 120) -> str:
    """Run one Script-Fu ``script`` in a fresh headless GIMP; return its output.

    Raises ``GimpError`` (with GIMP's stdout and stderr) when GIMP is missing, exits
    non-zero, times out, or reports that the batch command failed.
    """
    exe = shutil.which(GIMP)
    if exe is None:
        raise GimpError(f"{GIMP} is not on PATH")
    try:
        proc = gimp.run_gimp([script], exe=exe, timeout=timeout)
    except ToolError as exc:
        raise GimpError(str(exc)) from exc
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 or _FAILED in output:
        raise GimpError(f"{GIMP} failed (exit {proc.returncode}):\n{output.strip()}")
    return output


# --------------------------------------------------------------------------- Script-Fu


def scheme_floats(values: Sequence[float]) -> str:
    """A Script-Fu vector of floats (always written with a decimal point)."""
    return "#(" + " ".join(repr(float(v)) for v in values) + ")"


def spline_step(channel: str, points: Sequence[tuple[float, float]]) -> str:
    """``gimp-drawable-curves-spline`` with control points in [0, 1].

    Script-Fu hands FLOATARRAY elements to GIMP through a C ``float``: 0.7 arrives as
    0.699999988. Pass float32-exact points where the exact value matters.
    """
    flat = [float(v) for p in points for v in p]
    return (
        f"(gimp-drawable-curves-spline layer {HISTOGRAM_CHANNELS[channel]} "
        f"{len(flat)} {scheme_floats(flat)})"
    )


def spline_step_u8(channel: str, points: Sequence[tuple[int, int]]) -> str:
    """The deprecated ``gimp-curves-spline``: control points as integers 0..255.

    GIMP divides them by 255.0 in double precision, as it does for a legacy
    "# GIMP Curves File", so no float rounding sneaks in.
    """
    flat = [int(v) for p in points for v in p]
    return (
        f"(gimp-curves-spline layer {HISTOGRAM_CHANNELS[channel]} {len(flat)} "
        f"#({' '.join(str(v) for v in flat)}))"
    )


def explicit_step(channel: str, samples: Sequence[float]) -> str:
    """``gimp-drawable-curves-explicit``: a free curve given by its samples."""
    return (
        f"(gimp-drawable-curves-explicit layer {HISTOGRAM_CHANNELS[channel]} "
        f"{len(samples)} {scheme_floats(samples)})"
    )


def curves_job(
    source: str | PathLike[str],
    target: str | PathLike[str],
    steps: Sequence[tuple[str, Sequence[tuple[float, float]]] | str],
    *,
    precision: int | None = None,
) -> str:
    """Script-Fu that loads ``source``, applies curves in order and exports PNG.

    Each step is (channel name, control points in [0, 1]), one
    ``gimp-drawable-curves-spline`` call, or a string from ``spline_step_u8`` /
    ``explicit_step``; they run in the order given. With ``precision`` (e.g.
    ``PRECISION_FLOAT_GAMMA``) the image is converted first, so nothing is rounded
    between steps and the PNG gets 16 bits; otherwise the PNG keeps the source's bit
    depth. The image is flattened first (the layer has no alpha).
    """
    src, dst = scheme_string(source), scheme_string(target)
    calls = []
    if precision is not None:
        calls.append(f"(gimp-image-convert-precision image {int(precision)})")
    for step in steps:
        calls.append(step if isinstance(step, str) else spline_step(*step))
    body = "\n    ".join(calls)
    # file-png-save2: interlace 0, compression 9, no bKGD/gAMA/oFFs/pHYs/tIME/comment,
    # no colour of transparent pixels. The PNG's bit depth follows the image precision.
    return f"""(let* ((image (car (gimp-file-load RUN-NONINTERACTIVE {src} {src})))
       (layer (car (gimp-image-flatten image))))
    {body}
    (file-png-save2 RUN-NONINTERACTIVE image layer {dst} {dst} 0 9 0 0 0 0 0 0 0)
    (gimp-image-delete image))"""


def batch(jobs: Sequence[str]) -> str:
    """Several jobs as one script, for one GIMP start."""
    return "(begin\n" + "\n".join(jobs) + "\n)"
