"""Film colour damage and the optics of old cameras and film.

Colour maps (pixel in -> pixel out, bakeable into a LUT3D): dye fading, cross
processing, chemical stains. Spatial effects (not colour maps): halation, vignetting,
light leaks. Grain, dust, scratches and JPEG re-compression live in
:mod:`lutkit.distort.film_damage` (their op names are ``film.*`` too).

Colour maps are written with elementwise numpy only (no BLAS matrix products, whose
rounding can depend on where a pixel sits in the array), so they are exactly pointwise.
Spatial sizes are fractions of the image diagonal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lutkit.color import linear_to_srgb, srgb_to_linear
from lutkit.distort.base import (
    UNIT,
    Choice,
    Interval,
    OneOf,
    Op,
    Params,
    Uniform,
    clip01,
    register,
)

# A print's density range: sRGB black is taken as the print's maximum density, so
# linear light L maps to transmittance T = T_MIN + (1 - T_MIN) L (and back exactly).
PRINT_DMAX = 2.4
T_MIN = 10.0**-PRINT_DMAX
DENSITY = Interval(0.0, PRINT_DMAX)  # a density added to a print: more is black anyway

# Channel density (rows R, G, B) from unit amounts of each dye (columns cyan, magenta,
# yellow): each dye absorbs mostly its complementary band and a little of the others
# (magenta dyes have the largest unwanted blue absorption).
DYE_MATRIX = ((1.00, 0.08, 0.03), (0.10, 1.00, 0.10), (0.02, 0.22, 1.00))
_DYE_INVERSE = tuple(tuple(float(v) for v in row) for row in np.linalg.inv(DYE_MATRIX))


def round6(v: float) -> float:
    """A parameter value rounded to 6 decimals (what a recorded op stores)."""
    return round(float(v), 6)


def _mix(m, x: np.ndarray) -> np.ndarray:
    """x (..., 3) -> (..., 3) with rows of the 3x3 ``m``, elementwise (exactly pointwise)."""
    c0, c1, c2 = x[..., 0], x[..., 1], x[..., 2]
    return np.stack([r[0] * c0 + r[1] * c1 + r[2] * c2 for r in m], axis=-1)


def print_density(image: np.ndarray) -> np.ndarray:
    """sRGB (..., 3) in [0, 1] -> per-channel print density, float64 in [0, PRINT_DMAX]."""
    lin = np.clip(srgb_to_linear(np.asarray(image, np.float64)), 0.0, 1.0)
    return -np.log10(T_MIN + (1.0 - T_MIN) * lin)


def density_to_srgb(density: np.ndarray) -> np.ndarray:
    """Inverse of :func:`print_density` (densities beyond the range clip): float32 sRGB."""
    lin = (np.power(10.0, -density) - T_MIN) / (1.0 - T_MIN)
    return clip01(linear_to_srgb(np.clip(lin, 0.0, 1.0)))


def to_linear(image: np.ndarray) -> np.ndarray:
    """sRGB (clipped to [0, 1]) -> linear light, float32."""
    return srgb_to_linear(np.clip(np.asarray(image, np.float32), 0.0, 1.0))


def from_linear(lin: np.ndarray) -> np.ndarray:
    """Linear light (clipped to [0, 1]) -> sRGB in [0, 1], float32."""
    return clip01(linear_to_srgb(np.clip(lin, 0.0, 1.0).astype(np.float32)))


def _luminance(lin: np.ndarray) -> np.ndarray:
    return 0.2126 * lin[..., 0] + 0.7152 * lin[..., 1] + 0.0722 * lin[..., 2]


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Pixel-centre coordinates in units of the image diagonal: x (1, W), y (H, 1), W/d, H/d."""
    d = math.hypot(h, w)
    x = ((np.arange(w, dtype=np.float32) + 0.5) / d)[None, :]
    y = ((np.arange(h, dtype=np.float32) + 0.5) / d)[:, None]
    return x, y, w / d, h / d


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of ``sigma`` pixels; wide blurs run on a reduced copy (smooth anyway)."""
    import cv2

    if sigma < 0.3:
        return image.copy()
    h, w = image.shape[:2]
    factor = sigma / 4.0
    if factor < 2.0:
        return cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    sw, sh = max(1, round(w / factor)), max(1, round(h / factor))
    small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma * sw / w, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


# ------------------------------------------------------------------------ colour maps


@dataclass(frozen=True)
class FadeParams(Params):
    age: float  # 0: fresh, 1: fully aged (retention and fog reached)
    retention: tuple[float, float, float]  # cyan, magenta, yellow dye left at age 1
    fog: tuple[float, float, float]  # base + fog density gained by R, G, B at age 1

    # Age 1 is fully aged (more would extrapolate the decay); a retention is the
    # fraction of a dye left (a negative one has no real power).
    domains = {"age": UNIT, "retention": UNIT, "fog": DENSITY}


@register
class Fade(Op):
    """Dye fading of a chromogenic print, in density space.

    Each pixel's channel densities are unmixed into cyan, magenta and yellow dye amounts
    (through a small crosstalk matrix), each dye keeps ``retention ** age`` of itself
    (first-order decay), base + fog density ``fog * age`` is added, and the densities go
    back to sRGB. Dark-stored chromogenic prints lose cyan and yellow faster than
    magenta (the default ranges mostly draw it so): with cyan retention < yellow <
    magenta a mid grey turns reddish magenta (R > B > G); the default ranges also draw
    yellow below cyan, about one time in six, and then mid grey turns bluish (B > R,
    as a print whose yellow dye is the least stable). Blacks lift (lower maximum
    density, less contrast) and whites dim towards yellow (blue fog) or pink (green
    fog). Retention 1 and fog 0 (or age 0) is the identity.
    """

    name = "film.fade"
    family = "film"
    params_type = FadeParams
    description = "dye fading in density space: the reddish-magenta cast of old prints"
    ranges = {
        "age": Uniform(0.4, 1.0),
        "cyan": Uniform(0.35, 0.8),
        "magenta": Uniform(0.75, 1.0),
        "yellow": Uniform(0.5, 0.9),
        "fog": Uniform(0.0, 0.1),
        "fog_tint": Choice(("yellow", "pink", "neutral")),
    }
    range_domains = {"age": UNIT, "cyan": UNIT, "magenta": UNIT, "yellow": UNIT, "fog": DENSITY}

    _FOG_TINTS = {"yellow": (0.25, 0.45, 1.0), "pink": (0.2, 1.0, 0.5), "neutral": (1, 1, 1)}

    def sample(self, rng, ranges):
        age = ranges["age"].draw(rng)
        keep = tuple(round6(ranges[k].draw(rng)) for k in ("cyan", "magenta", "yellow"))
        fog = ranges["fog"].draw(rng)
        tint = self._FOG_TINTS[ranges["fog_tint"].draw(rng)]
        return FadeParams(round6(age), keep, tuple(round6(fog * t) for t in tint))

    def apply(self, image, params):
        dye = _mix(_DYE_INVERSE, print_density(image))
        for i, r in enumerate(params.retention):
            dye[..., i] *= float(r) ** params.age
        density = _mix(DYE_MATRIX, dye)
        for i, f in enumerate(params.fog):
            density[..., i] += float(f) * params.age
        return density_to_srgb(density)

    def label(self, params):
        return f"faded print, age {params.age:.2f}"


@dataclass(frozen=True)
class CrossProcessParams(Params):
    slope: tuple[float, float, float]  # logistic steepness per stop, R G B
    shift: tuple[float, float, float]  # curve centre offset in stops (> 0: darker)
    black: tuple[float, float, float]  # output black per channel
    white: tuple[float, float, float]  # output white per channel
    strength: float  # blend with the original (0: none, 1: full)

    # A slope near 0 makes the normalised curve 0 / 0; a centre more than 4 stops off
    # mid grey leaves the curve flat over the whole image.
    domains = {
        "slope": Interval(0.05, 10.0),
        "shift": Interval(-4.0, 4.0),
        "black": UNIT,
        "white": UNIT,
        "strength": UNIT,
    }


_EPS = 1.0 / 256.0  # flare: the log exposure of black is finite


def _characteristic(lin: np.ndarray, slope: float, shift: float) -> np.ndarray:
    """A film-like S from log exposure (stops around mid grey) to [0, 1], 0 -> 0, 1 -> 1."""
    centre = math.log2(0.18 + _EPS) + 0.6 + shift

    def s(v):
        return 1.0 / (1.0 + np.exp(-slope * (v - centre)))

    lo, hi = s(math.log2(_EPS)), s(math.log2(1.0 + _EPS))
    return (s(np.log2(lin + _EPS)) - lo) / (hi - lo)


@register
class CrossProcess(Op):
    """Slide film (E-6) developed in negative chemistry (C-41), printed as a positive.

    Each channel gets its own characteristic curve in log exposure: steep red and green
    (high contrast, saturated colours), a flatter, shifted blue with a lifted black and a
    lowered white, so shadows go cyan-green-blue and highlights yellow. ``strength``
    blends the result with the original, in sRGB.
    """

    name = "film.cross_process"
    family = "film"
    params_type = CrossProcessParams
    description = "E-6 in C-41: contrasty per-channel curves, cyan shadows, yellow highlights"
    ranges = {"strength": Uniform(0.5, 1.0), "jitter": Uniform(0.0, 0.3)}
    # Jitter 1: slopes within e ** 0.5 of the reference, shifts within a stop.
    range_domains = {"strength": UNIT, "jitter": UNIT}

    # The reference look (R, G, B); sampling jitters around it.
    SLOPE = (1.45, 1.3, 0.8)
    SHIFT = (0.35, -0.15, 0.1)
    BLACK = (0.0, 0.04, 0.14)
    WHITE = (1.0, 1.0, 0.78)

    def sample(self, rng, ranges):
        s = ranges["strength"].draw(rng)
        j = ranges["jitter"].draw(rng)
        slope = np.asarray(self.SLOPE) * np.exp(rng.uniform(-j, j, 3) * 0.5)
        shift = np.asarray(self.SHIFT) + rng.uniform(-j, j, 3)
        black = np.clip(np.asarray(self.BLACK) + rng.uniform(-j, j, 3) * 0.1, 0.0, 0.3)
        white = np.clip(np.asarray(self.WHITE) + rng.uniform(-j, j, 3) * 0.1, 0.6, 1.0)
        return CrossProcessParams(
            *(tuple(round6(v) for v in a) for a in (slope, shift, black, white)), round6(s)
        )

    def apply(self, image, params):
        x = np.clip(np.asarray(image, np.float64), 0.0, 1.0)
        lin = srgb_to_linear(x)
        out = np.empty_like(x)
        for c in range(3):
            curve = _characteristic(lin[..., c], params.slope[c], params.shift[c])
            out[..., c] = params.black[c] + (params.white[c] - params.black[c]) * curve
        return clip01(x + params.strength * (out - x))

    def label(self, params):
        return f"cross-processed {params.strength:.2f}"


@dataclass(frozen=True)
class StainParams(Params):
    transmittance: tuple[float, float, float]  # of the stain layer, per channel
    lift: float  # veil: fraction of white light added before the stain filters it

    domains = {"transmittance": UNIT, "lift": UNIT}  # a filter only takes light away


@register
class Stain(Op):
    """A chemical stain (residual couplers, fixer, sulphide: yellow-brown, or dye
    residues: magenta, cyan) as a coloured filter over the print.

    In linear light: ``out = T * (lift + (1 - lift) * in)`` where ``T = 10 ** -density``
    per channel, so whites take the stain's colour and blacks lift slightly, tinted.
    """

    name = "film.stain"
    family = "film"
    params_type = StainParams
    description = "a yellow-brown, magenta or cyan stain: a transmittance filter in linear light"
    ranges = {
        "density": Uniform(0.05, 0.3),
        "tint": Choice(("yellow", "brown", "magenta", "cyan")),
        "lift": Uniform(0.0, 0.03),
    }
    range_domains = {"density": DENSITY, "lift": UNIT}

    # Relative density of the stain in R, G, B.
    _TINTS = {
        "yellow": (0.05, 0.2, 1.0),
        "brown": (0.35, 0.6, 1.0),
        "magenta": (0.15, 1.0, 0.35),
        "cyan": (1.0, 0.3, 0.15),
    }

    def sample(self, rng, ranges):
        d = ranges["density"].draw(rng)
        tint = self._TINTS[ranges["tint"].draw(rng)]
        lift = ranges["lift"].draw(rng)
        return StainParams(tuple(round6(10.0 ** (-d * w)) for w in tint), round6(lift))

    def apply(self, image, params):
        lin = np.clip(srgb_to_linear(np.asarray(image, np.float64)), 0.0, 1.0)
        veiled = params.lift + (1.0 - params.lift) * lin
        out = np.stack([veiled[..., c] * params.transmittance[c] for c in range(3)], axis=-1)
        return clip01(linear_to_srgb(out))

    def label(self, params):
        return "stain " + "/".join(f"{t:.2f}" for t in params.transmittance)


# ---------------------------------------------------------------- optics (not colour maps)


@dataclass(frozen=True)
class HalationParams(Params):
    threshold: float  # linear luminance above which light halates
    radius: float  # blur sigma, fraction of the image diagonal
    strength: float  # gain of the glow
    tint: tuple[float, float, float]  # colour of the glow (red-orange)

    domains = {
        "threshold": UNIT,
        "radius": UNIT,
        "strength": Interval(0.0, 5.0),  # 5: highlights blown out far around
        "tint": UNIT,
    }


@register
class Halation(Op):
    """Halation: bright light crosses the emulsion, reflects off the film base and comes
    back to expose the nearest layer (red-sensitive) around highlights: a red-orange
    glow. Highlight energy above a threshold (linear luminance) is blurred, tinted and
    added in linear light.
    """

    name = "film.halation"
    family = "film"
    colormap = False
    params_type = HalationParams
    description = "red-orange glow around highlights (light reflected by the film base)"
    ranges = {
        "threshold": Uniform(0.5, 0.85),
        "radius": Uniform(0.004, 0.02),
        "strength": Uniform(0.3, 1.5),
        "green": Uniform(0.1, 0.4),
    }
    range_domains = {
        "threshold": UNIT,
        "radius": UNIT,
        "strength": HalationParams.domains["strength"],
        "green": UNIT,  # the tint is (1, green, green / 5)
    }

    def sample(self, rng, ranges):
        t, r, s, g = (ranges[k].draw(rng) for k in ("threshold", "radius", "strength", "green"))
        return HalationParams(round6(t), round6(r), round6(s), (1.0, round6(g), round6(0.2 * g)))

    def apply(self, image, params):
        lin = to_linear(image)
        h, w = lin.shape[:2]
        knee = max(1.0 - params.threshold, 1e-6)
        energy = np.maximum(_luminance(lin) - params.threshold, 0.0) / knee
        glow = blur(energy.astype(np.float32), params.radius * math.hypot(h, w))
        return from_linear(lin + params.strength * glow[..., None] * np.float32(params.tint))

    def label(self, params):
        return f"halation {params.strength:.2f}"


@dataclass(frozen=True)
class VignetteParams(Params):
    strength: float  # light lost at the far corners (0..1)
    radius: float  # where fall-off starts, fraction of the half diagonal
    softness: float  # width of the fall-off, fraction of the half diagonal
    center: tuple[float, float]  # centre offset, fractions of width and height

    # A strength above 1 would make negative light; the centre stays in the frame.
    domains = {
        "strength": UNIT,
        "radius": Interval(0.0, 2.0),
        "softness": Interval(0.0, 2.0),
        "center": Interval(-0.5, 0.5),
    }


@register
class Vignette(Op):
    """Lens vignetting: light falls off radially (a smoothstep from ``radius`` over
    ``softness``, in units of the half diagonal), multiplying linear light.
    """

    name = "film.vignette"
    family = "film"
    colormap = False
    params_type = VignetteParams
    description = "radial fall-off of light towards the corners"
    ranges = {
        "strength": Uniform(0.15, 0.6),
        "radius": Uniform(0.3, 0.8),
        "softness": Uniform(0.3, 0.9),
        "offset": Uniform(0.0, 0.08),
    }
    range_domains = {
        **{k: VignetteParams.domains[k] for k in ("strength", "radius", "softness")},
        "offset": Interval(0.0, 0.5),
    }

    def sample(self, rng, ranges):
        s, r, soft, off = (ranges[k].draw(rng) for k in self.ranges)
        centre = tuple(round6(v) for v in rng.uniform(-off, off, 2))
        return VignetteParams(round6(s), round6(r), round6(soft), centre)

    def apply(self, image, params):
        lin = to_linear(image)
        x, y, wn, hn = _grid(*lin.shape[:2])
        cx, cy = wn * (0.5 + params.center[0]), hn * (0.5 + params.center[1])
        r = np.hypot(x - cx, y - cy) / 0.5  # 1 at the corners of a centred vignette
        t = np.clip((r - params.radius) / max(params.softness, 1e-6), 0.0, 1.0)
        gain = 1.0 - params.strength * t * t * (3.0 - 2.0 * t)
        return from_linear(lin * gain[..., None])

    def label(self, params):
        return f"vignette {params.strength:.2f}"


@dataclass(frozen=True)
class LightLeakParams(Params):
    edge: str  # left, right, top, bottom
    position: float  # along the edge, 0..1
    size: float  # Gaussian sigma across the edge, fraction of the diagonal
    elongation: float  # sigma along the edge / sigma across (large: a band)
    intensity: float  # peak added linear light
    color: tuple[float, float, float]  # warm: red-orange to yellow

    domains = {
        "edge": OneOf(("left", "right", "top", "bottom")),
        "position": UNIT,
        "size": UNIT,
        "elongation": Interval(0.1, 10.0),
        "intensity": Interval(0.0, 5.0),
        "color": UNIT,
    }


@register
class LightLeak(Op):
    """A light leak: stray light through a camera back or a loading slot fogs the film
    near an edge. A warm anisotropic Gaussian centred just outside an edge is added in
    linear light (a blob, or a band when elongated along the edge).
    """

    name = "film.light_leak"
    family = "film"
    colormap = False
    params_type = LightLeakParams
    description = "a warm soft blob or band of stray light entering from an edge"
    ranges = {
        "edge": Choice(("left", "right", "top", "bottom")),
        "position": Uniform(0.1, 0.9),
        "size": Uniform(0.08, 0.3),
        "elongation": Uniform(1.0, 4.0),
        "intensity": Uniform(0.3, 1.5),
        "warmth": Uniform(0.0, 1.0),  # 0: red-orange, 1: yellow
    }
    range_domains = {
        **{k: LightLeakParams.domains[k] for k in ("position", "size", "elongation", "intensity")},
        "warmth": UNIT,
    }

    _RED, _YELLOW = np.array([1.0, 0.3, 0.05]), np.array([1.0, 0.8, 0.25])

    def sample(self, rng, ranges):
        edge = ranges["edge"].draw(rng)
        pos, size, elong, inten, warm = (
            ranges[k].draw(rng) for k in ("position", "size", "elongation", "intensity", "warmth")
        )
        color = tuple(round6(v) for v in self._RED + warm * (self._YELLOW - self._RED))
        return LightLeakParams(edge, round6(pos), round6(size), round6(elong), round6(inten), color)

    def apply(self, image, params):
        lin = to_linear(image)
        x, y, wn, hn = _grid(*lin.shape[:2])
        out = -0.25 * params.size  # the source sits just outside the frame
        if params.edge in ("left", "right"):
            across = x - (out if params.edge == "left" else wn - out)
            along = y - params.position * hn
        else:
            across = y - (out if params.edge == "top" else hn - out)
            along = x - params.position * wn
        sa = max(params.size, 1e-6)
        sb = sa * max(params.elongation, 1e-6)
        g = np.exp(-0.5 * ((across / sa) ** 2 + (along / sb) ** 2)).astype(np.float32)
        return from_linear(lin + params.intensity * g[..., None] * np.float32(params.color))

    def label(self, params):
        return f"light leak {params.edge} {params.intensity:.2f}"
