"""Tone and channel curves: what colourists' Curves and Levels do to a photo.

Every op here is a global colour map (pixel in -> pixel out).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lutkit.distort.base import (
    UNIT,
    Interval,
    IntRange,
    Op,
    Params,
    Uniform,
    clip01,
    format_number,
    register,
)
from lutkit.errors import ConfigError


def monotone_curve(x: np.ndarray, ys: tuple[float, ...]) -> np.ndarray:
    """A monotone cubic (PCHIP) through evenly spaced knots (0, ys[0]) ... (1, ys[-1]).

    The curve of ``scipy.interpolate.PchipInterpolator`` (Fritsch-Butland slopes,
    scipy's end conditions), evaluated here: the knots are evenly spaced, so a pixel's
    interval is one multiply, not a search (a third of the time at 256 px)."""
    n = len(ys)
    slopes = _pchip_slopes(ys)
    y = np.asarray(ys, np.float64)
    h = 1.0 / (n - 1)
    m = np.diff(y) / h
    # Each interval's cubic in t = x - knot: ((c0 t + c1) t + c2) t + c3.
    c0 = (slopes[:-1] + slopes[1:] - 2 * m) / h**2
    c1 = (3 * m - 2 * slopes[:-1] - slopes[1:]) / h
    v = np.clip(np.asarray(x, np.float64), 0.0, 1.0)
    i = np.minimum((v * (n - 1)).astype(np.intp), n - 2)
    t = v - i * h
    return ((c0[i] * t + c1[i]) * t + slopes[:-1][i]) * t + y[:-1][i]


def _pchip_slopes(ys: tuple[float, ...]) -> np.ndarray:
    """PCHIP's slopes at evenly spaced knots on [0, 1], as scipy computes them."""
    n = len(ys)
    h = 1.0 / (n - 1)
    m = np.diff(np.asarray(ys, np.float64)) / h
    if n == 2:
        return np.array([m[0], m[0]])
    d = np.zeros(n)
    for k in range(1, n - 1):
        # Weighted harmonic mean where the secants agree in sign, else a flat knot.
        if m[k - 1] * m[k] > 0:
            d[k] = 1.0 / ((3 * h / m[k - 1] + 3 * h / m[k]) / (6 * h))
    for end, (m0, m1) in ((0, (m[0], m[1])), (n - 1, (m[-1], m[-2]))):
        e = ((2 * h + h) * m0 - h * m1) / (2 * h)
        if np.sign(e) != np.sign(m0):
            e = 0.0
        elif np.sign(m0) != np.sign(m1) and abs(e) > abs(3 * m0):
            e = 3.0 * m0
        d[end] = e
    return d


def _random_knots(rng: np.random.Generator, n: int, strength: float) -> tuple[float, ...]:
    # Identity knots pushed by up to ``strength``, then sorted so the curve is monotone.
    base = np.linspace(0.0, 1.0, n)
    ys = np.clip(base + rng.uniform(-strength, strength, n), 0.0, 1.0)
    ys = np.maximum.accumulate(ys)
    return tuple(round(float(v), 6) for v in ys)


@dataclass(frozen=True)
class ChannelCurvesParams(Params):
    red: tuple[float, ...]
    green: tuple[float, ...]
    blue: tuple[float, ...]
    master: tuple[float, ...]

    # Knots are output levels at evenly spaced inputs; a curve needs two of them.
    domains = {"red": UNIT, "green": UNIT, "blue": UNIT, "master": UNIT}

    def check(self, where: str = "params") -> None:
        super().check(where)
        for name in ("red", "green", "blue", "master"):
            n = len(getattr(self, name))
            if n < 2:
                raise ConfigError(f"{where}.{name}: a curve needs at least 2 knots, got {n}")


@register
class ChannelCurves(Op):
    name = "curves.channels"
    family = "curves"
    params_type = ChannelCurvesParams
    description = "random monotone curves per channel and on the master (value) curve"
    ranges = {
        "knots": IntRange(4, 6),
        "strength": Uniform(0.03, 0.15),
        "master_strength": Uniform(0.0, 0.08),
    }
    # Knots are clipped to [0, 1] after the push: a push beyond 1 adds nothing.
    range_domains = {"knots": Interval(2, 256), "strength": UNIT, "master_strength": UNIT}

    def sample(self, rng, ranges):
        n = ranges["knots"].draw(rng)
        s = ranges["strength"].draw(rng)
        m = ranges["master_strength"].draw(rng)
        return ChannelCurvesParams(
            _random_knots(rng, n, s),
            _random_knots(rng, n, s),
            _random_knots(rng, n, s),
            _random_knots(rng, n, m),
        )

    def label(self, params):
        dev = max(
            np.abs(np.asarray(ys) - np.linspace(0, 1, len(ys))).max()
            for ys in (params.red, params.green, params.blue)
        )
        return f"channel curves ±{dev:.2f}"

    def apply(self, image, params):
        out = np.empty_like(image, dtype=np.float32)
        for c, ys in enumerate((params.red, params.green, params.blue)):
            out[..., c] = monotone_curve(monotone_curve(image[..., c], ys), params.master)
        return clip01(out)


@dataclass(frozen=True)
class GammaParams(Params):
    gamma: tuple[float, float, float]

    # A gamma <= 0 sends black to white (0 ** 0) or to infinity, and one near 0 does the
    # same in float32; the recipe ranges' widest (0.1..10, each channel within e**1 of
    # it) stays inside 0.01..100.
    domains = {"gamma": Interval(0.01, 100.0)}


@register
class Gamma(Op):
    name = "curves.gamma"
    family = "curves"
    params_type = GammaParams
    description = "a power curve, shared or per channel (wrong transfer function)"
    ranges = {"gamma": Uniform(0.6, 1.6), "per_channel": Uniform(0.0, 0.15)}
    # Beyond 0.1..10 a power curve sends nearly every colour to black or white;
    # per_channel is a log spread: each channel's gamma is within e**per_channel of it.
    range_domains = {"gamma": Interval(0.1, 10.0), "per_channel": UNIT}

    def sample(self, rng, ranges):
        g = ranges["gamma"].draw(rng)
        spread = ranges["per_channel"].draw(rng)
        gs = g * np.exp(rng.uniform(-spread, spread, 3))
        return GammaParams(tuple(round(float(v), 6) for v in gs))

    def label(self, params):
        return "gamma " + "/".join(f"{g:.2f}" for g in params.gamma)

    def apply(self, image, params):
        return clip01(np.power(np.clip(image, 0, 1), np.asarray(params.gamma, np.float32)))


@dataclass(frozen=True)
class ContrastParams(Params):
    amount: float  # > 0: S-curve (more contrast), < 0: flatter
    pivot: float

    # |amount| > 1 overshoots the curve; the pivot is a level (far outside [0, 1] the
    # S's normalisation is 0 / 0).
    domains = {"amount": Interval(-1.0, 1.0), "pivot": UNIT}


@register
class Contrast(Op):
    name = "curves.contrast"
    family = "curves"
    params_type = ContrastParams
    description = "an S-curve (or its flattening) around a pivot"
    ranges = {"amount": Uniform(-0.5, 0.6), "pivot": Uniform(0.4, 0.6)}
    range_domains = ContrastParams.domains

    def sample(self, rng, ranges):
        return ContrastParams(
            round(ranges["amount"].draw(rng), 6), round(ranges["pivot"].draw(rng), 6)
        )

    def label(self, params):
        return f"contrast {params.amount:+.2f}"

    def apply(self, image, params):
        # A logistic S normalised to map 0 -> 0 and 1 -> 1, blended by |amount|.
        x = np.clip(image, 0, 1).astype(np.float64)
        k = 8.0
        p = params.pivot

        def s(v):
            return 1 / (1 + np.exp(-k * (v - p)))

        scurve = (s(x) - s(0)) / (s(1) - s(0))
        if params.amount >= 0:
            out = x + params.amount * (scurve - x)
        else:
            # The inverse S (flattening): interpolate the inverse of the normalised S.
            grid = np.linspace(0, 1, 1025)
            inv = np.interp(x, (s(grid) - s(0)) / (s(1) - s(0)), grid)
            out = x + (-params.amount) * (inv - x)
        return clip01(out)


@dataclass(frozen=True)
class LevelsParams(Params):
    black: float  # output black (lifted blacks > 0)
    white: float  # output white (dulled whites < 1)
    in_black: float  # input black point (crushed shadows > 0)
    in_white: float  # input white point (clipped highlights < 1)

    domains = {"black": UNIT, "white": UNIT, "in_black": UNIT, "in_white": UNIT}

    def check(self, where: str = "params") -> None:
        super().check(where)
        if self.in_black >= self.in_white:  # no input range left: a threshold, not levels
            raise ConfigError(
                f"{where}: in_black must be below in_white, got "
                f"{format_number(self.in_black)} and {format_number(self.in_white)}"
            )


@register
class Levels(Op):
    name = "curves.levels"
    family = "curves"
    params_type = LevelsParams
    description = "lifted blacks / dulled whites, crushed shadows / clipped highlights"
    ranges = {
        "black": Uniform(0.0, 0.12),
        "white": Uniform(0.85, 1.0),
        "in_black": Uniform(0.0, 0.06),
        "in_white": Uniform(0.92, 1.0),
    }
    # the input points kept apart, so that every draw leaves an input range
    range_domains = {
        "black": UNIT,
        "white": UNIT,
        "in_black": Interval(0.0, 0.45),
        "in_white": Interval(0.55, 1.0),
    }

    def sample(self, rng, ranges):
        return LevelsParams(*(round(ranges[k].draw(rng), 6) for k in self.ranges))

    def label(self, params):
        return f"levels {params.black:.2f}-{params.white:.2f}"

    def apply(self, image, params):
        x = (image - params.in_black) / max(params.in_white - params.in_black, 1e-6)
        return clip01(params.black + np.clip(x, 0, 1) * (params.white - params.black))


@dataclass(frozen=True)
class CrosstalkParams(Params):
    # Rows: output R, G, B.
    matrix: tuple[
        tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]
    ]

    domains = {"matrix": Interval(-1.0, 2.0)}


@register
class Crosstalk(Op):
    name = "curves.crosstalk"
    family = "curves"
    params_type = CrosstalkParams
    description = "channel crosstalk: each output channel leaks from the others"
    ranges = {"amount": Uniform(0.02, 0.15)}
    # Rows are normalised to sum 1: an amount of 0.5 could make a row sum 0. Up to 0.25
    # a row sums to at least 0.5, so the matrix stays within [-0.5, 2].
    range_domains = {"amount": Interval(0.0, 0.25)}

    def sample(self, rng, ranges):
        a = ranges["amount"].draw(rng)
        m = np.eye(3) + rng.uniform(-a, a, (3, 3)) * (1 - np.eye(3))
        m = m / m.sum(axis=1, keepdims=True)  # rows sum to 1: greys stay grey-ish
        return CrosstalkParams(tuple(tuple(round(float(v), 6) for v in row) for row in m))

    def label(self, params):
        off = np.abs(np.asarray(params.matrix) - np.eye(3)).max()
        return f"channel crosstalk {off:.2f}"

    def apply(self, image, params):
        m = np.asarray(params.matrix, np.float32)
        return clip01(image @ m.T)
