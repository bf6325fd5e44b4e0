"""Read GIMP curves presets into a ``LUT1D``, using GIMP 2.10's own spline.

Two file kinds are read:

* the settings text GIMP 2.10 writes for the Curves tool (a serialized
  ``GimpCurvesConfig``): the dialog's "Export Current Settings to File" form, which
  starts with a ``# GIMP ... settings`` comment and lists ``(time 0) (linear no)
  (channel value) (curve ...)`` ... at the top level, and the preset form that GIMP
  keeps in ``~/.config/GIMP/2.10/tool-options/gimp-curves-tool.settings``, where every
  preset is wrapped in ``(GimpCurvesConfig "name" ...)``. GIMP 3 writes the same
  syntax with ``(trc non-linear)`` in place of ``(linear no)``; both are understood.
* the legacy ``# GIMP Curves File``: five lines (value, red, green, blue, alpha) of 17
  ``x y`` integer pairs in 0..255, ``-1 -1`` marking an unused slot.

How GIMP 2.10 applies a curves configuration (app/core/gimpcurve.c, gimpcurve-map.c,
checked against the real ``gimp-console-2.10`` in tests/luts/test_gimp.py); the spline
itself, and the mapping of a value through a tabulated curve, are in
``lutkit.luts.gimp_spline`` (re-exported here):

* a loaded smooth curve is recomputed from its points (GIMP dirties the curve when it
  copies a preset into the tool), so the stored samples are ignored; a free curve is
  its stored samples.
* per pixel, channel c becomes ``value(channel_c(x))``: the red/green/blue curve
  first, then the value curve (the "default" branch of ``gimp_curve_map_pixels``). The
  alpha curve acts on alpha only and is not part of the LUT (kept in ``metadata``).
* with ``(linear no)`` (the default) curves act on the sRGB-encoded values, with
  ``(linear yes)`` on linear light; the LUT then decodes, applies and re-encodes.
  (GIMP's PDB always applies curves perceptually, so only the former is checked
  against GIMP itself.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from lutkit.color import linear_to_srgb, srgb_to_linear
from lutkit.errors import FormatError, LUTError
from lutkit.luts.gimp_sexp import (
    Atom,
    Node,
    describe,
    format_error,
    format_number,
    parse_sexp,
    pick_preset,
    read_counted,
    read_enum,
    read_numbers,
)
from lutkit.luts.gimp_spline import gimp_curve_map, gimp_spline_samples
from lutkit.luts.model import LUT1D, MAX_1D_SIZE
from lutkit.tools.gimp import scheme_string

__all__ = [
    "CHANNELS",
    "GimpCurve",
    "gimp_curve_map",
    "gimp_curves_config_text",
    "gimp_spline_samples",
    "read_gimp_curves",
    "read_gimp_curves_config",
]

Source = str | PathLike[str] | Iterable[str]

#: GIMP's GimpHistogramChannel order, which is also the order of a legacy file's lines.
CHANNELS = ("value", "red", "green", "blue", "alpha")
_LEGACY_HEADER = "# GIMP Curves File"
_LEGACY_POINTS = 17
# The lattice: 16 LUT entries per curve sample, plus one. Every sample position
# k / (n - 1) is then a lattice point, so a single curve (and any channel curve, whose
# kinks sit exactly on sample positions) is reproduced exactly by linear interpolation
# of the LUT; only the kinks of the value curve inside a channel curve's image fall
# between lattice points, and at 1/4080 spacing that costs < 1e-5. With 256 entries
# 8-bit input would be exact but 16-bit input could be off by a few 16-bit levels.
_LATTICE_PER_SAMPLE = 16


@dataclass
class GimpCurve:
    """One channel's curve as GIMP stores it."""

    curve_type: str = "smooth"  # "smooth" or "free"
    points: list[tuple[float, float]] = field(default_factory=lambda: [(0.0, 0.0), (1.0, 1.0)])
    point_types: list[str] = field(default_factory=lambda: ["smooth", "smooth"])
    n_samples: int = 256
    samples: np.ndarray | None = None  # stored samples (used only by free curves)
    line: int | None = None  # where the curve starts in its file

    def tabulate(self) -> np.ndarray:
        """The curve's samples as GIMP uses them, shape (n_samples,) float64 in [0, 1]."""
        if self.curve_type == "free":
            if self.samples is None:
                return np.linspace(0.0, 1.0, self.n_samples)
            return np.asarray(self.samples, dtype=np.float64)
        return gimp_spline_samples(self.points, self.n_samples, point_types=self.point_types)


# --------------------------------------------------------------------------- reading


def read_gimp_curves(source: Source, *, name: str | None = None, size: int | None = None) -> LUT1D:
    """Read a GIMP curves preset (settings text or legacy file) into a ``LUT1D``.

    ``source`` is a path or a list of lines. ``name`` picks a preset from a file that
    holds several ``(GimpCurvesConfig "name" ...)`` entries (default: the first).
    Channel c of the result is ``value(channel_c(x))``, the composition GIMP applies.
    ``size`` defaults to 16 * (n_samples - 1) + 1 (4081), on which GIMP's own linear
    interpolation between samples is reproduced (see ``_LATTICE_PER_SAMPLE``).
    Errors are ``FormatError`` with the path (or ``<lines>``) and line.
    """
    curves, linear, title, _path = _read(source, name)
    n_max = max(c.n_samples for c in curves.values())
    size = size or min(_LATTICE_PER_SAMPLE * (n_max - 1) + 1, MAX_1D_SIZE)
    x = np.linspace(0.0, 1.0, size)
    # Linear-light curves: GIMP hands the operation "RGBA float" (linear) pixels.
    x_in = srgb_to_linear(x) if linear else x
    value = curves["value"].tabulate()
    table = np.empty((size, 3))
    for c, channel in enumerate(("red", "green", "blue")):
        table[:, c] = gimp_curve_map(value, gimp_curve_map(curves[channel].tabulate(), x_in))
    if linear:
        table = linear_to_srgb(table)
    metadata: dict[str, Any] = {"source": "gimp-curves", "linear": linear}
    alpha = curves["alpha"].tabulate()
    if not np.allclose(alpha, np.linspace(0.0, 1.0, alpha.shape[0]), atol=1e-12):
        metadata["alpha_samples"] = alpha.tolist()
    return LUT1D(table, None, title, metadata)


def read_gimp_curves_config(
    source: Source, *, name: str | None = None
) -> tuple[dict[str, GimpCurve], bool]:
    """Parse a GIMP curves file into ({channel: GimpCurve}, linear) without baking.

    Every channel of ``CHANNELS`` is present; channels the file leaves out are the
    identity. ``linear`` is True when the curves act on linear light.
    """
    curves, linear, _title, _path = _read(source, name)
    return curves, linear


def _read(source: Source, name: str | None) -> tuple[dict[str, GimpCurve], bool, str, str]:
    path, text = _load_text(source)
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise FormatError("empty file", path=path, hint="expected a GIMP curves file")
    head = lines[first].strip()
    stem = "" if path == "<lines>" else Path(path).stem
    if head == _LEGACY_HEADER:
        if name is not None:
            raise FormatError(
                f"a legacy '{_LEGACY_HEADER}' holds one preset, it has no preset named {name!r}",
                path=path,
                line=first + 1,
            )
        return _read_legacy(lines, first, path), False, stem, path
    if not (head.startswith("(") or re.fullmatch(r"#\s*(GIMP\b.*settings|settings)\s*", head)):
        raise FormatError(
            f"not a GIMP curves file: the first line is {head[:60]!r}",
            path=path,
            line=first + 1,
            hint=f"expected '{_LEGACY_HEADER}' or a GIMP curves tool settings file",
        )
    nodes = parse_sexp(text, path)
    presets = [n for n in nodes if n.head == "GimpCurvesConfig"]
    if presets:
        node = pick_preset(presets, name, path)
        title = node.items[1].value if len(node.items) > 1 and node.items[1].quoted else ""
        body = node.items[2:] if len(node.items) > 1 and node.items[1].quoted else node.items[1:]
        curves, linear = _read_config(body, path, node.line)
        return curves, linear, title or stem, path
    if name is not None:
        raise FormatError(
            f"no preset named {name!r}: the file holds one bare curves configuration",
            path=path,
            line=first + 1,
        )
    curves, linear = _read_config(nodes, path, first + 1)
    return curves, linear, stem, path


def _load_text(source: Source) -> tuple[str, str]:
    """Return (path for messages, text with '\\n' line ends)."""
    if isinstance(source, (str, PathLike)):
        path = str(source)
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise FormatError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FormatError(
                f"not a text file (byte {exc.start} is not UTF-8)",
                path=path,
                hint="expected a GIMP curves settings file",
            ) from None
    elif isinstance(source, (bytes, bytearray)):
        raise TypeError("read_gimp_curves takes a path or a list of lines, not bytes")
    else:
        path = "<lines>"
        items = list(source)
        if not all(isinstance(item, str) for item in items):
            raise TypeError("read_gimp_curves takes a path or an iterable of str lines")
        text = "\n".join(item.rstrip("\r\n") for item in items)
    return path, text.replace("\r\n", "\n").replace("\r", "\n")


# ----------------------------------------------------------------- the legacy format


def _read_legacy(lines: list[str], first: int, path: str) -> dict[str, GimpCurve]:
    """Five lines of 17 "x y" pairs, 0..255 (gimp_curves_config_load_cruft)."""
    tokens: list[tuple[str, int]] = []
    for lineno, line in enumerate(lines[first + 1 :], start=first + 2):
        tokens.extend((tok, lineno) for tok in line.split())
    need = 2 * _LEGACY_POINTS * len(CHANNELS)
    if len(tokens) < need:
        where = tokens[-1][1] if tokens else first + 1
        raise FormatError(
            f"a legacy GIMP curves file needs {need} numbers "
            f"(5 curves of {_LEGACY_POINTS} x y pairs), found {len(tokens)}",
            path=path,
            line=where,
        )
    if len(tokens) > need:
        raise FormatError(
            f"unexpected data after the 5 curves: {tokens[need][0]!r}",
            path=path,
            line=tokens[need][1],
        )
    curves: dict[str, GimpCurve] = {}
    for c, channel in enumerate(CHANNELS):
        points: list[tuple[float, float]] = []
        for j in range(_LEGACY_POINTS):
            k = 2 * (c * _LEGACY_POINTS + j)
            (xs, line), (ys, _) = tokens[k], tokens[k + 1]
            x, y = _legacy_int(xs, line, path), _legacy_int(ys, line, path)
            if x == -1:  # an unused slot: GIMP skips every point with x < 0
                continue
            for v, axis in ((x, "x"), (y, "y")):
                if not 0 <= v <= 255:
                    message = f"{channel} curve point {j + 1}: {axis} = {v} is outside 0..255"
                    raise format_error(path, line, message, "unused points are written as -1 -1")
            points.append((x / 255.0, y / 255.0))
        if not points:
            raise FormatError(
                f"the {channel} curve has no points (all 17 are -1 -1)",
                path=path,
                line=tokens[2 * c * _LEGACY_POINTS][1],
            )
        curves[channel] = GimpCurve("smooth", points, ["smooth"] * len(points))
    return curves


def _legacy_int(token: str, line: int, path: str) -> int:
    try:
        return int(token)
    except ValueError:
        raise FormatError(f"expected an integer, found {token!r}", path=path, line=line) from None


# ------------------------------------------------------------ the settings (S-exp) format


def _read_config(
    body: Sequence[Atom | Node], path: str, line: int
) -> tuple[dict[str, GimpCurve], bool]:
    """Interpret the properties of one GimpCurvesConfig."""
    curves = {channel: GimpCurve() for channel in CHANNELS}
    linear = False
    channel = "value"
    found = False
    for node in body:
        if not isinstance(node, Node) or node.head is None:
            raise format_error(
                path, node, f"expected a (property value) list, found {describe(node)}"
            )
        if node.head == "channel":
            channel = read_enum(node, CHANNELS, path)
        elif node.head == "linear":
            linear = read_enum(node, ("yes", "no"), path) == "yes"
        elif node.head == "trc":  # GIMP 3
            linear = read_enum(node, ("linear", "non-linear", "perceptual"), path) == "linear"
        elif node.head == "curve":
            curves[channel] = _read_curve(node, channel, path)
            found = True
        # time, gimp-clip, gimp-region, gimp-mode, gimp-opacity, gimp-gamma-hack and
        # any future base property do not change the curves.
    if not found:
        raise format_error(
            path, line, "no (curve ...) in the file", "is this a GIMP curves tool settings file?"
        )
    return curves, linear


def _read_curve(node: Node, channel: str, path: str) -> GimpCurve:
    what = f"{channel} curve"
    props: dict[str, Node] = {}
    for item in node.items[1:]:
        if not isinstance(item, Node) or item.head is None:
            raise format_error(
                path, item, f"{what}: expected a (property value) list, found {describe(item)}"
            )
        props[item.head] = item
    curve = GimpCurve(line=node.line)
    if "curve-type" in props:
        curve.curve_type = read_enum(props["curve-type"], ("smooth", "free"), path)
    if "n-samples" in props:
        p = props["n-samples"]
        n = read_numbers(p, what, path, count=1)[0]
        if not (256 <= n <= 4096 and n == int(n)):
            raise format_error(
                path,
                p,
                f"{what}: n-samples must be an integer from 256 to 4096, got {format_number(n)}",
            )
        curve.n_samples = int(n)
    if "samples" in props:
        p = props["samples"]
        values = read_counted(p, what, path)
        if len(values) != curve.n_samples:
            raise format_error(
                path, p, f"{what}: {len(values)} samples but n-samples is {curve.n_samples}"
            )
        for v in values:
            if not 0.0 <= v <= 1.0:
                raise format_error(path, p, f"{what}: sample {format_number(v)} is outside [0, 1]")
        curve.samples = np.asarray(values)
    elif curve.curve_type == "free":
        raise format_error(path, node, f"{what} is a free curve with no (samples ...)")
    if curve.curve_type == "smooth":
        curve.points, curve.point_types = _read_points(props, node, what, path)
    else:  # GIMP keeps no control points for a free curve
        curve.points, curve.point_types = [], []
    return curve


def _read_points(
    props: dict[str, Node], node: Node, what: str, path: str
) -> tuple[list[tuple[float, float]], list[str]]:
    if "points" not in props:
        raise format_error(path, node, f"{what}: a smooth curve needs (points ...)")
    p = props["points"]
    values = read_counted(p, what, path)
    if len(values) % 2:
        raise format_error(
            path,
            p,
            f"{what}: odd number of point coordinates ({len(values)})",
            "points are listed as x y pairs",
        )
    if "n-points" in props:
        n_points = read_numbers(props["n-points"], what, path, count=1)[0]
        if n_points != len(values) // 2:
            raise format_error(
                path,
                props["n-points"],
                f"{what}: n-points is {format_number(n_points)} but points holds {len(values) // 2} points",
            )
    points: list[tuple[float, float]] = []
    for x, y in zip(values[0::2], values[1::2], strict=True):
        if x == y == -1.0:
            continue  # an unused slot of GIMP 2.8's fixed 17 points
        for v, axis in ((x, "x"), (y, "y")):
            if not 0.0 <= v <= 1.0:
                raise format_error(
                    path,
                    p,
                    f"{what}: point {axis} = {format_number(v)} is outside [0, 1]",
                    "unused points are written as -1 -1",
                )
        # gimpcurve.c: x never decreases along the list.
        points.append((max(x, points[-1][0]) if points else x, y))
    if not points:
        raise format_error(path, p, f"{what}: a smooth curve needs at least one point")
    if "point-types" not in props:
        return points, ["smooth"] * len(points)
    q = props["point-types"]
    words = [a.value if isinstance(a, Atom) else "" for a in q.items[2:]]
    count = q.items[1] if len(q.items) > 1 else None
    if not isinstance(count, Atom) or count.value != str(len(words)):
        raise format_error(
            path, q, f"{what}: (point-types ...) must start with its count, {len(words)}"
        )
    for w in words:
        if w not in ("smooth", "corner"):
            raise format_error(
                path, q, f"{what}: unknown point type {w!r}", "a point type is smooth or corner"
            )
    if len(words) != len(points):
        raise format_error(path, q, f"{what}: {len(words)} point types for {len(points)} points")
    return points, words


# --------------------------------------------------------------------------- writing


def gimp_curves_config_text(
    curves: Mapping[str, Sequence[tuple[float, float]] | np.ndarray],
    *,
    curve_type: str = "smooth",
    point_types: Mapping[str, Sequence[str]] | None = None,
    linear: bool = False,
    preset: str | None = None,
) -> str:
    """A GimpCurvesConfig settings text as GIMP 2.10 writes it, samples included.

    ``curves`` maps channel names (value, red, green, blue, alpha) to (x, y) control
    points in [0, 1]; channels left out are GIMP's default identity curve. With
    ``curve_type="free"`` a channel's entry may also be a 1D array of samples (the
    points are then only used to compute samples, and GIMP stores no points for a free
    curve). ``point_types`` gives "smooth"/"corner" per point. Without ``preset`` the
    text is the dialog's exported file; with it, a one-preset
    ``gimp-curves-tool.settings`` file whose entry is named ``preset``.
    """
    if curve_type not in ("smooth", "free"):
        raise LUTError(f"curve_type must be 'smooth' or 'free', got {curve_type!r}")
    unknown = set(curves) - set(CHANNELS)
    if unknown:
        raise LUTError(f"unknown channel {sorted(unknown)[0]!r}: use one of {', '.join(CHANNELS)}")
    point_types = point_types or {}
    props = [
        "(time 0)",
        "(gimp-clip adjust)",
        "(gimp-region selection)",
        "(gimp-mode replace)",
        "(gimp-opacity 1)",
        "(gimp-gamma-hack no)",
        f"(linear {'yes' if linear else 'no'})",
    ]
    for channel in CHANNELS:
        props.append(f"(channel {channel})")
        props.append(_curve_text(channel, curves, curve_type, point_types))
    if preset is None:
        return (
            "# GIMP 'Curves' settings\n\n" + "\n".join(props) + "\n\n# end of 'Curves' settings\n"
        )
    body = "\n".join("    " + line for p in props for line in p.split("\n"))
    return (
        f"# settings\n\n(GimpCurvesConfig {scheme_string(preset)}\n{body})\n\n# end of settings\n"
    )


def _curve_text(
    channel: str,
    curves: Mapping[str, Sequence[tuple[float, float]] | np.ndarray],
    curve_type: str,
    point_types: Mapping[str, Sequence[str]],
) -> str:
    given = curves.get(channel)
    this_type = curve_type if given is not None else "smooth"
    if isinstance(given, np.ndarray) and given.ndim == 1:
        if this_type != "free":
            raise LUTError(f"{channel}: samples can only be given for a free curve")
        samples = np.asarray(given, dtype=np.float64)
        points: list[tuple[float, float]] = []
    else:
        points = [
            (float(x), float(y)) for x, y in (given if given is not None else [(0, 0), (1, 1)])
        ]
        samples = gimp_spline_samples(points, 256, point_types=point_types.get(channel))
    types = list(point_types.get(channel, ["smooth"] * len(points)))
    if this_type == "free":
        points, types = [], []
    lines = [
        f"(curve-type {this_type})",
        f"(n-points {len(points)})",
        "(points " + " ".join([str(2 * len(points))] + [_num(v) for p in points for v in p]) + ")",
        "(point-types " + " ".join([str(len(types))] + types) + ")",
        f"(n-samples {samples.shape[0]})",
        "(samples " + " ".join([str(samples.shape[0])] + [_num(v) for v in samples]) + ")",
    ]
    return "(curve\n" + "\n".join("    " + line for line in lines) + ")"


def _num(v: float) -> str:
    """A double as g_ascii_dtostr writes it (printf "%.17g")."""
    return f"{float(v):.17g}"
