"""Coloured lighting: illuminant changes, named real sources, mixed light, exposure.

The model: the camera was white-balanced for D65 but the scene was lit by another
light, so every colour is carried from D65 white to that light's white by a von
Kries-type chromatic adaptation transform (von Kries, Bradford or CAT02 cone spaces,
from colour-science). Adaptation is linear in XYZ, so in linear sRGB it is one 3x3
matrix; ops decode sRGB, multiply, re-encode and clip. Whites are CIE 1931 2 degree
chromaticities (x, y); D65 is the white of sRGB's own matrix, so RGB (1, 1, 1) is
exactly D65 and adapting D65 -> D65 is exactly the identity.
"""

from __future__ import annotations

import functools
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
    format_number,
    register,
)
from lutkit.errors import ConfigError

CATS = ("Von Kries", "Bradford", "CAT02")
LOCI = ("auto", "planckian", "daylight")
DAYLIGHT_MIN_CCT = 4000.0  # below this the CIE daylight locus is undefined
CCT_LIMITS = (1000.0, 25000.0)
CCT = Interval(*CCT_LIMITS)  # K: what illuminant_xy computes
# CIE 1960 uv distance from the Planckian locus: beyond 0.05 a light has no CCT (CIE 015).
DUV = Interval(-0.05, 0.05)

# Real sources from colour-science's CIE illuminant tables, with what they are.
NAMED_SOURCES: dict[str, str] = {
    "A": "tungsten",
    **{f"FL{i}": "fluorescent" for i in range(1, 7)},
    **{f"FL{i}": "broadband fluorescent" for i in range(7, 10)},
    **{f"FL{i}": "tri-band fluorescent" for i in range(10, 13)},
    "HP1": "sodium",
    "HP2": "colour-enhanced sodium",
    **{f"HP{i}": "metal halide" for i in range(3, 6)},
    **{f"LED-B{i}": "phosphor LED" for i in range(1, 6)},
    "LED-BH1": "hybrid LED",
    "LED-RGB1": "RGB LED",
    "LED-V1": "violet LED",
    "LED-V2": "violet LED",
}


# ------------------------------------------------------------------------ colourimetry


@functools.cache
def _srgb_matrices() -> tuple[np.ndarray, np.ndarray]:
    import colour

    m = np.array(colour.RGB_COLOURSPACES["sRGB"].matrix_RGB_to_XYZ, np.float64)
    return m, np.linalg.inv(m)


def d65_xy() -> tuple[float, float]:
    """The (x, y) white of sRGB's matrix (D65, 4-decimal IEC 61966-2-1 primaries)."""
    w = _srgb_matrices()[0].sum(axis=1)
    return float(w[0] / w.sum()), float(w[1] / w.sum())


def _xy_to_XYZ(xy: tuple[float, float]) -> np.ndarray:
    x, y = xy
    return np.array([x / y, 1.0, (1.0 - x - y) / y], np.float64)


@functools.lru_cache(maxsize=4096)
def illuminant_xy(cct: float, duv: float = 0.0, locus: str = "auto") -> tuple[float, float]:
    """CIE 1931 (x, y) white of a light of correlated colour temperature ``cct`` (K).

    ``duv`` is the signed distance from the locus in CIE 1960 uv (positive: greenish,
    negative: magenta), along the normal of the Planckian locus (Ohno 2013). ``locus``
    is "planckian" (blackbody), "daylight" (CIE D series, 4000 K and above) or "auto"
    (blackbody below 4000 K, daylight from 4000 K).
    """
    import colour

    if not CCT_LIMITS[0] <= cct <= CCT_LIMITS[1]:
        raise ConfigError(f"CCT {cct} K is outside {CCT_LIMITS[0]:.0f}-{CCT_LIMITS[1]:.0f} K")
    if locus not in LOCI:
        raise ConfigError(f"locus {locus!r} is not one of {', '.join(LOCI)}")
    if locus == "auto":
        locus = "planckian" if cct < DAYLIGHT_MIN_CCT else "daylight"
    if locus == "daylight" and cct < DAYLIGHT_MIN_CCT:
        raise ConfigError(f"the CIE daylight locus starts at 4000 K, got {cct} K")
    temp = colour.temperature
    on_locus = temp.CCT_to_uv(np.array([cct, 0.0]), method="Ohno 2013")
    if locus == "planckian":
        uv = temp.CCT_to_uv(np.array([cct, duv]), method="Ohno 2013")
    else:
        # Daylight point, shifted by duv along the Planckian normal at the same CCT.
        shift = temp.CCT_to_uv(np.array([cct, duv]), method="Ohno 2013") - on_locus
        uv = colour.xy_to_UCS_uv(temp.CCT_to_xy_CIE_D(cct)) + shift
    x, y = colour.UCS_uv_to_xy(uv)
    return float(x), float(y)


def source_xy(name: str) -> tuple[float, float]:
    """CIE 1931 2 degree (x, y) white of a named CIE source ("A", "FL2", "HP1", ...)."""
    import colour

    table = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]
    if name not in NAMED_SOURCES or name not in table:
        raise ConfigError(f"unknown light source {name!r}", hint="e.g. A, FL2, HP1, LED-B1")
    x, y = table[name]
    return float(x), float(y)


def _toward(xy_from: tuple[float, float], xy_to: tuple[float, float], t: float):
    # Partway between two whites, linearly in CIE 1976 u'v' (near uniform).
    def uv(xy):
        x, y = xy
        d = -2 * x + 12 * y + 3
        return np.array([4 * x / d, 9 * y / d])

    u, v = (1 - t) * uv(xy_from) + t * uv(xy_to)
    d = 6 * u - 16 * v + 12
    return float(9 * u / d), float(4 * v / d)


def adaptation_matrix(
    white_xy_from: tuple[float, float], white_xy_to: tuple[float, float], cat: str = "Bradford"
) -> np.ndarray:
    """3x3 matrix on linear sRGB that carries white ``white_xy_from`` to ``white_xy_to``.

    Whites are CIE 1931 (x, y); ``cat`` is "Von Kries", "Bradford" or "CAT02" (von Kries
    scaling in that cone space, as ``colour.adaptation.matrix_chromatic_adaptation_VonKries``).
    Apply as ``rgb_linear @ m.T``. Returns a read-only float64 array (it is cached).
    """
    if cat not in CATS:
        raise ConfigError(f"chromatic adaptation {cat!r} is not one of {', '.join(CATS)}")
    a = (float(white_xy_from[0]), float(white_xy_from[1]))
    b = (float(white_xy_to[0]), float(white_xy_to[1]))
    return _adaptation_matrix(a, b, cat)


@functools.lru_cache(maxsize=4096)
def _adaptation_matrix(xy_from, xy_to, cat):
    import colour

    rgb_to_xyz, xyz_to_rgb = _srgb_matrices()
    m_xyz = colour.adaptation.matrix_chromatic_adaptation_VonKries(
        _xy_to_XYZ(xy_from), _xy_to_XYZ(xy_to), transform=cat
    )
    m = xyz_to_rgb @ np.asarray(m_xyz, np.float64) @ rgb_to_xyz
    m.flags.writeable = False
    return m


def light_matrix(white_xy: tuple[float, float], cat: str, strength: float = 1.0) -> np.ndarray:
    """Linear-sRGB matrix of a D65-balanced camera under a light of white ``white_xy``.

    ``strength`` in [0, 1] adapts towards a white partway from D65 (0: no change).
    """
    d65 = d65_xy()
    return adaptation_matrix(d65, _toward(d65, white_xy, float(strength)), cat)


def apply_linear_matrix(image: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Multiply a float (H, W, 3) sRGB image by a 3x3 matrix in linear light; clipped."""
    lin = srgb_to_linear(np.asarray(image, np.float32))
    return clip01(linear_to_srgb(lin @ np.asarray(m, np.float32).T))


def _draw_cct(rng: np.random.Generator, r) -> float:
    # Uniform in mireds (1e6 / K): equal steps look about equally different.
    if isinstance(r, Uniform) and r.lo != r.hi:
        return round(1e6 / rng.uniform(1e6 / r.hi, 1e6 / r.lo), 1)
    return round(float(r.draw(rng)), 1)


def _light_xy(source: str, cct: float, duv: float, locus: str = "auto"):
    return illuminant_xy(cct, duv, locus) if source == "cct" else source_xy(source)


def _light_label(source: str, cct: float, duv: float) -> str:
    return f"{cct:.0f}K {duv:+.3f}" if source == "cct" else source


def _strength_label(strength: float) -> str:
    return "" if strength >= 1 else f" {strength:.0%}"


# ------------------------------------------------------------------------------- ops


@dataclass(frozen=True)
class CCTParams(Params):
    cct: float  # K
    duv: float  # CIE 1960 uv distance from the locus (+ green, - magenta)
    locus: str  # auto | planckian | daylight
    cat: str  # Von Kries | Bradford | CAT02
    strength: float  # 0: no change, 1: full adaptation to the light's white

    # A strength above 1 would adapt past the light's white (towards no real light).
    domains = {"cct": CCT, "duv": DUV, "locus": OneOf(LOCI), "cat": OneOf(CATS), "strength": UNIT}

    def check(self, where: str = "params") -> None:
        super().check(where)
        if self.locus == "daylight" and self.cct < DAYLIGHT_MIN_CCT:
            raise ConfigError(
                f"{where}.cct: the daylight locus starts at 4000 K, got {format_number(self.cct)}"
            )


@register
class IlluminantCCT(Op):
    name = "lighting.cct"
    family = "lighting"
    params_type = CCTParams
    description = "light of another colour temperature and tint on a D65-balanced camera"
    ranges = {
        "cct": Uniform(2000.0, 12000.0),
        "duv": Uniform(-0.02, 0.02),
        "locus": Choice(LOCI),
        "cat": Choice(CATS),
        "strength": Uniform(0.3, 1.0),
    }
    range_domains = {"cct": CCT, "duv": DUV, "strength": UNIT}

    def sample(self, rng, ranges):
        cct = _draw_cct(rng, ranges["cct"])
        duv = round(ranges["duv"].draw(rng), 6)
        locus = ranges["locus"].draw(rng)
        if locus == "daylight" and cct < DAYLIGHT_MIN_CCT:
            locus = "planckian"
        return CCTParams(
            cct, duv, locus, ranges["cat"].draw(rng), round(ranges["strength"].draw(rng), 6)
        )

    def apply(self, image, params):
        xy = illuminant_xy(params.cct, params.duv, params.locus)
        return apply_linear_matrix(image, light_matrix(xy, params.cat, params.strength))

    def label(self, params):
        return f"{params.cct:.0f}K {params.duv:+.3f} {params.cat}" + _strength_label(
            params.strength
        )


@dataclass(frozen=True)
class NamedParams(Params):
    source: str  # a key of NAMED_SOURCES, e.g. "FL2"
    cat: str
    strength: float

    domains = {"source": OneOf(tuple(NAMED_SOURCES)), "cat": OneOf(CATS), "strength": UNIT}


@register
class NamedLight(Op):
    name = "lighting.named"
    family = "lighting"
    params_type = NamedParams
    description = "a real source (tungsten, fluorescent, sodium, LED) on a D65-balanced camera"
    ranges = {
        "source": Choice(tuple(NAMED_SOURCES)),
        "cat": Choice(CATS),
        "strength": Uniform(0.5, 1.0),
    }
    range_domains = {"strength": UNIT}

    def sample(self, rng, ranges):
        return NamedParams(
            ranges["source"].draw(rng),
            ranges["cat"].draw(rng),
            round(ranges["strength"].draw(rng), 6),
        )

    def apply(self, image, params):
        m = light_matrix(source_xy(params.source), params.cat, params.strength)
        return apply_linear_matrix(image, m)

    def label(self, params):
        kind = NAMED_SOURCES.get(params.source, "")
        return f"{params.source} {kind}".strip() + _strength_label(params.strength)


@dataclass(frozen=True)
class MixedParams(Params):
    source_a: str  # "cct" (use cct_a, duv_a) or a named source
    cct_a: float
    duv_a: float
    source_b: str
    cct_b: float
    duv_b: float
    cat: str
    strength: float
    mask: str  # linear (A -> B along angle) | radial (a blob of B inside A)
    center: tuple[float, float]  # (x, y), fractions of width and height
    angle: float  # degrees, image axes (x right, y down); linear only
    radius: float  # fraction of the longer side; radial only
    softness: float  # transition width, fraction of the longer side

    # A named light's cct and duv are unused (0): its CCT is checked only for "cct".
    domains = {
        "source_a": OneOf(("cct", *NAMED_SOURCES)),
        "cct_a": Interval(0.0, CCT_LIMITS[1]),
        "duv_a": DUV,
        "source_b": OneOf(("cct", *NAMED_SOURCES)),
        "cct_b": Interval(0.0, CCT_LIMITS[1]),
        "duv_b": DUV,
        "cat": OneOf(CATS),
        "strength": UNIT,
        "mask": OneOf(("linear", "radial")),
        "center": UNIT,  # the boundary (or the blob) crosses the frame
        "angle": Interval(-360.0, 360.0),
        "radius": Interval(0.0, 1.5),  # 1.5: past the farthest corner from any centre
        "softness": Interval(0.0, 2.0),
    }

    def check(self, where: str = "params") -> None:
        super().check(where)
        for light in ("a", "b"):
            if getattr(self, f"source_{light}") == "cct":
                cct = getattr(self, f"cct_{light}")
                if not CCT.contains(cct):
                    raise ConfigError(
                        f"{where}.cct_{light}: must be {CCT.describe()} when source_{light} "
                        f"is 'cct', got {format_number(cct)}"
                    )


def mixing_mask(shape: tuple[int, int], params: MixedParams) -> np.ndarray:
    """Weight of light B per pixel, float32 (H, W) in [0, 1] (0: only light A)."""
    h, w = shape
    size = float(max(h, w))
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    dx = (x + 0.5 - params.center[0] * w) / size
    dy = (y + 0.5 - params.center[1] * h) / size
    if params.mask == "linear":
        a = np.deg2rad(params.angle)
        d = dx * np.float32(np.cos(a)) + dy * np.float32(np.sin(a))
    elif params.mask == "radial":
        d = params.radius - np.hypot(dx, dy)
    else:
        raise ConfigError(f"mixed lighting mask {params.mask!r} is not linear or radial")
    t = np.clip(d / max(params.softness, 1e-6) + 0.5, 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)  # smoothstep


@register
class MixedLight(Op):
    name = "lighting.mixed"
    family = "lighting"
    colormap = False
    params_type = MixedParams
    description = "two lights blended across the frame (window daylight and a lamp)"
    ranges = {
        "named_share": Uniform(0.5, 0.5),  # chance that a light is a named source
        "source": Choice(tuple(NAMED_SOURCES)),
        "cct": Uniform(2000.0, 12000.0),
        "duv": Uniform(-0.01, 0.01),
        "cat": Choice(CATS),
        "strength": Uniform(0.5, 1.0),
        "mask": Choice(("linear", "radial")),
        "center": Uniform(0.2, 0.8),
        "angle": Uniform(0.0, 360.0),
        "radius": Uniform(0.15, 0.5),
        "softness": Uniform(0.2, 0.8),
    }
    range_domains = {
        "named_share": UNIT,
        "cct": CCT,
        "duv": DUV,
        **{
            k: MixedParams.domains[k] for k in ("strength", "center", "angle", "radius", "softness")
        },
    }

    def sample(self, rng, ranges):
        lights = []
        for _ in range(2):
            named = rng.random() < ranges["named_share"].draw(rng)
            if named:
                lights += [ranges["source"].draw(rng), 0.0, 0.0]
            else:
                cct = _draw_cct(rng, ranges["cct"])
                lights += ["cct", cct, round(ranges["duv"].draw(rng), 6)]

        def draw(key):
            v = ranges[key].draw(rng)
            return round(v, 6) if isinstance(v, float) else v

        cat, strength, mask = draw("cat"), draw("strength"), draw("mask")
        center = (draw("center"), draw("center"))
        return MixedParams(
            *lights, cat, strength, mask, center, draw("angle"), draw("radius"), draw("softness")
        )

    def apply(self, image, params):
        lin = srgb_to_linear(np.asarray(image, np.float32))
        wb = mixing_mask(lin.shape[:2], params)[..., None]
        out = np.zeros_like(lin)
        for src, cct, duv, weight in (
            (params.source_a, params.cct_a, params.duv_a, 1 - wb),
            (params.source_b, params.cct_b, params.duv_b, wb),
        ):
            m = light_matrix(_light_xy(src, cct, duv), params.cat, params.strength)
            out += weight * (lin @ m.astype(np.float32).T)  # light adds linearly
        return clip01(linear_to_srgb(out))

    def label(self, params):
        a = _light_label(params.source_a, params.cct_a, params.duv_a)
        b = _light_label(params.source_b, params.cct_b, params.duv_b)
        return f"{a} / {b} {params.mask}"


@dataclass(frozen=True)
class ExposureParams(Params):
    stops: float  # exposure error in stops (EV): +1 doubles the light

    # 10 stops turn any 8-bit photo black or white (and 2 ** 1100 overflows).
    domains = {"stops": Interval(-10.0, 10.0)}


@register
class Exposure(Op):
    name = "lighting.exposure"
    family = "lighting"
    params_type = ExposureParams
    description = "under- or over-exposure in linear light, highlights clip per channel"
    ranges = {"stops": Uniform(-2.0, 1.5)}
    range_domains = ExposureParams.domains

    def sample(self, rng, ranges):
        return ExposureParams(round(ranges["stops"].draw(rng), 6))

    def apply(self, image, params):
        lin = srgb_to_linear(np.asarray(image, np.float32)) * np.float32(2.0**params.stops)
        return clip01(linear_to_srgb(np.clip(lin, 0.0, 1.0)))

    def label(self, params):
        return f"{params.stops:+.2f} EV"
