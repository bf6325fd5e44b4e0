"""Film and scan damage: grain, dust, scratches, JPEG re-compression.

None of these is a colour map. Op names are ``film.*`` (the family is film). Random
layouts come from ``np.random.default_rng(params.seed)`` and are drawn in units of the
image (fractions of width, height or diagonal) before any pixel is touched, so the same
params give the same bytes, and the same layout at any size.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np

from lutkit.distort.base import (
    SEED,
    UNIT,
    Choice,
    Interval,
    IntRange,
    OneOf,
    Op,
    Params,
    Uniform,
    clip01,
    register,
)
from lutkit.distort.film import blur, density_to_srgb, from_linear, print_density, round6, to_linear

_SEED = IntRange(0, 2**31 - 1)
_SHIFT = 4  # OpenCV drawing: coordinates carry 4 fractional bits
_ONE = 1 << _SHIFT


def _grain_noise(
    rng: np.random.Generator, h: int, w: int, cell: float, correlation: float
) -> np.ndarray:
    """(h, w, 3) float32 unit-std noise in clumps ``cell`` pixels wide (white noise when
    clumps are smaller than a pixel)."""
    shared = rng.standard_normal((h, w), dtype=np.float32)[..., None]
    own = rng.standard_normal((h, w, 3), dtype=np.float32)
    n = math.sqrt(correlation) * shared + math.sqrt(1.0 - correlation) * own
    if cell < 1.0:
        return n
    n = blur(n, cell / 2.0)
    return n / np.maximum(n.std(axis=(0, 1)), 1e-12)


@dataclass(frozen=True)
class GrainParams(Params):
    amount: float  # density std at density 1 (granularity grows with density)
    size: float  # grain clump size, fraction of the image diagonal
    correlation: float  # 0: independent per layer, 1: the same in R, G and B
    seed: int
    # The grain on a black-and-white photo (every pixel grey): "silver", the same in
    # every channel, or "dye", as on colour film (``correlation`` holds). Every draw
    # says "silver"; a record from before the field has none and replays as "dye",
    # the grain it was made with.
    grey: str = "dye"

    # Clumps wider than a tenth of the diagonal are no longer grain.
    domains = {
        "amount": UNIT,
        "size": Interval(0.0, 0.1),
        "correlation": UNIT,  # the weights are its square root and that of 1 - it
        "seed": SEED,
        "grey": OneOf(("dye", "silver")),
    }


@register
class Grain(Op):
    """Film grain as density noise: each channel's print density gets Gaussian noise
    whose std grows with the density (``amount * D``), in clumps of a size relative to
    the image, partly shared by the three dye layers. Zero at paper white, strongest in
    the mid-tones and shadows, mean-preserving in linear light. On a black-and-white
    photo (every pixel grey) the grain is silver: the same in every channel, whatever
    ``correlation`` says, so the print stays grey (``grey = "silver"``, which every
    draw records; records from before it replay with dye grain, as they were made).
    """

    name = "film.grain"
    family = "film"
    colormap = False
    params_type = GrainParams
    description = "density-dependent film grain, partly correlated between channels"
    ranges = {
        "amount": Uniform(0.03, 0.15),
        "size": Uniform(0.0008, 0.003),
        "correlation": Uniform(0.4, 0.9),
    }
    range_domains = {k: GrainParams.domains[k] for k in ("amount", "size", "correlation")}

    def sample(self, rng, ranges):
        a, s, c = (ranges[k].draw(rng) for k in ("amount", "size", "correlation"))
        return GrainParams(round6(a), round6(s), round6(c), _SEED.draw(rng), "silver")

    def apply(self, image, params):
        h, w = image.shape[:2]
        rng = np.random.default_rng(params.seed)
        cell = params.size * math.hypot(h, w)
        from lutkit.images import is_greyscale

        silver = params.grey == "silver" and is_greyscale(image)
        correlation = 1.0 if silver else params.correlation
        noise = _grain_noise(rng, h, w, cell, correlation).astype(np.float64)
        density = print_density(image)
        # Clumps smaller than a pixel average out: a pixel holds 1 / cell**2 of them.
        sigma = params.amount * density * min(cell, 1.0)
        # 10 ** -(sigma * n) has mean exp((sigma ln 10)^2 / 2); remove it so that the
        # transmittance keeps its mean.
        ln10 = math.log(10.0)
        return density_to_srgb(density + sigma * noise + 0.5 * ln10 * sigma**2)

    def label(self, params):
        return f"grain {params.amount:.2f}"


def _xy(x: float, y: float) -> tuple[int, int]:
    return round(x * _ONE), round(y * _ONE)


def _composite(image: np.ndarray, dark: np.ndarray, bright: np.ndarray) -> np.ndarray:
    """Darken by ``dark`` and brighten towards white by ``bright`` (both (H, W) in
    [0, 1]) in linear light; pixels under neither mask keep their exact value."""
    touched = (dark > 0) | (bright > 0)
    lin = to_linear(image)
    lin = lin * (1.0 - dark[..., None])
    lin = lin + (1.0 - lin) * bright[..., None]
    return clip01(np.where(touched[..., None], from_linear(lin), image))


@dataclass(frozen=True)
class DustParams(Params):
    count: int  # specks
    hairs: int  # hairs and fibres
    size: float  # typical speck radius, fraction of the image diagonal
    opacity: float
    polarity: str  # dark (on a slide or scan), bright (on a print), mixed
    seed: int

    domains = {
        "count": Interval(0, 1000),
        "hairs": Interval(0, 100),
        "size": Interval(0.0, 0.05),
        "opacity": UNIT,
        "polarity": OneOf(("dark", "bright", "mixed")),
        "seed": SEED,
    }


@register
class Dust(Op):
    """Dust and hairs on the film or the scanner glass: small blobs and thin curly
    fibres that block light (dark on a scanned slide or negative-scan positive) or
    leave paper white (bright on a print made from a dusty negative).
    """

    name = "film.dust"
    family = "film"
    colormap = False
    params_type = DustParams
    description = "dust specks and hairs, dark or bright"
    ranges = {
        "count": IntRange(5, 40),
        "hairs": IntRange(0, 4),
        "size": Uniform(0.001, 0.004),
        "opacity": Uniform(0.5, 1.0),
        "polarity": Choice(("dark", "bright", "mixed")),
    }
    range_domains = {k: DustParams.domains[k] for k in ("count", "hairs", "size", "opacity")}

    def sample(self, rng, ranges):
        count, hairs = ranges["count"].draw(rng), ranges["hairs"].draw(rng)
        size, opacity = ranges["size"].draw(rng), ranges["opacity"].draw(rng)
        polarity = ranges["polarity"].draw(rng)
        return DustParams(count, hairs, round6(size), round6(opacity), polarity, _SEED.draw(rng))

    def apply(self, image, params):
        import cv2

        h, w = image.shape[:2]
        d = math.hypot(h, w)
        rng = np.random.default_rng(params.seed)
        masks = [np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)]  # dark, bright

        def target() -> np.ndarray:
            flip = int(rng.integers(2))  # always drawn: the stream is the same for all
            return masks[{"dark": 0, "bright": 1}.get(params.polarity, flip)]

        for _ in range(params.count):
            cx, cy = rng.random(2)
            r = params.size * d * rng.lognormal(0.0, 0.5)
            ratio, angle = rng.uniform(0.4, 1.0), rng.uniform(0.0, 180.0)
            cover = min(1.0, (r / 0.5) ** 2)  # sub-pixel specks: draw 0.5 px, fainter
            axes = _xy(max(r, 0.5), max(r * ratio, 0.5))
            cv2.ellipse(
                target(), _xy(cx * w, cy * h), axes, angle, 0, 360,
                round(255 * cover), -1, cv2.LINE_AA, _SHIFT,
            )  # fmt: skip
        for _ in range(params.hairs):
            cx, cy = rng.random(2)
            heading = rng.uniform(0.0, 2 * math.pi) + np.cumsum(rng.normal(0.0, 0.35, 16))
            step = params.size * d * rng.uniform(1.5, 3.0)
            xs = cx * w + np.cumsum(step * np.cos(heading))
            ys = cy * h + np.cumsum(step * np.sin(heading))
            width = 0.5 * params.size * d
            pts = np.round(np.stack([xs, ys], axis=-1) * _ONE).astype(np.int32)
            cv2.polylines(
                target(), [pts], False, round(255 * min(1.0, width)),
                max(1, round(width)), cv2.LINE_AA, _SHIFT,
            )  # fmt: skip
        dark, bright = (m.astype(np.float32) * np.float32(params.opacity / 255) for m in masks)
        return _composite(image, dark, bright)

    def label(self, params):
        return f"dust {params.count}+{params.hairs}"


@dataclass(frozen=True)
class ScratchesParams(Params):
    count: int
    width: float  # fraction of the image diagonal
    intensity: float  # peak opacity
    polarity: str  # bright (emulsion scratched off a print or slide), dark (a negative)
    seed: int

    domains = {
        "count": Interval(0, 100),
        "width": Interval(0.0, 0.01),
        "intensity": UNIT,
        "polarity": OneOf(("bright", "dark")),
        "seed": SEED,
    }


@register
class Scratches(Op):
    """Scratches along the film path: thin, long, nearly vertical lines that drift and
    break up, bright where the emulsion is scratched off a print or slide, dark where a
    negative was scratched (more light reached the paper).
    """

    name = "film.scratches"
    family = "film"
    colormap = False
    params_type = ScratchesParams
    description = "thin long vertical-ish scratches, bright or dark"
    ranges = {
        "count": IntRange(1, 5),
        "width": Uniform(0.0005, 0.0015),
        "intensity": Uniform(0.3, 0.9),
        "polarity": Choice(("bright", "dark")),
    }
    range_domains = {k: ScratchesParams.domains[k] for k in ("count", "width", "intensity")}

    def sample(self, rng, ranges):
        count, width = ranges["count"].draw(rng), ranges["width"].draw(rng)
        inten, pol = ranges["intensity"].draw(rng), ranges["polarity"].draw(rng)
        return ScratchesParams(count, round6(width), round6(inten), pol, _SEED.draw(rng))

    def apply(self, image, params):
        import cv2

        h, w = image.shape[:2]
        d = math.hypot(h, w)
        rng = np.random.default_rng(params.seed)
        mask = np.zeros((h, w), np.uint8)
        width = params.width * d
        n = 32  # segments per scratch
        for _ in range(params.count):
            x0 = rng.uniform(0.03, 0.97) * w
            y0 = rng.uniform(-0.2, 0.5)
            ys = np.linspace(y0, y0 + rng.uniform(0.5, 1.2), n + 1) * h
            wobble = np.cumsum(rng.normal(0.0, 0.0004, n + 1)) * d
            xs = x0 + rng.normal(0.0, 0.02) * (ys - ys[0]) + wobble
            level = np.clip(1.0 + np.cumsum(rng.normal(0.0, 0.15, n)), 0.2, 1.0)
            level *= rng.random(n) > 0.12  # the scratch breaks up here and there
            value = params.intensity * min(1.0, width) * level
            for i in range(n):
                cv2.line(
                    mask, _xy(xs[i], ys[i]), _xy(xs[i + 1], ys[i + 1]),
                    round(255 * value[i]), max(1, round(width)), cv2.LINE_AA, _SHIFT,
                )  # fmt: skip
        m = mask.astype(np.float32) / np.float32(255)
        zero = np.zeros_like(m)
        return _composite(image, *((m, zero) if params.polarity == "dark" else (zero, m)))

    def label(self, params):
        return f"{params.count} {params.polarity} scratches"


@dataclass(frozen=True)
class JpegParams(Params):
    quality: int  # 1..100 (Pillow's scale; above 95 files grow for little gain)
    subsampling: str  # chroma subsampling: 4:2:0, 4:2:2 or 4:4:4

    domains = {"quality": Interval(1, 100), "subsampling": OneOf(("4:2:0", "4:2:2", "4:4:4"))}


@register
class Jpeg(Op):
    """JPEG re-compression (8-bit, baseline, libjpeg through Pillow): blocking, ringing
    and, with 4:2:0, chroma bleeding. The image is encoded and decoded in memory.
    """

    name = "film.jpeg"
    family = "film"
    colormap = False
    params_type = JpegParams
    description = "JPEG re-compression at a quality"
    ranges = {"quality": IntRange(15, 70), "subsampling": Choice(("4:2:0", "4:4:4"))}
    range_domains = JpegParams.domains  # 4:2:2 too, which the default never draws

    def sample(self, rng, ranges):
        return JpegParams(ranges["quality"].draw(rng), ranges["subsampling"].draw(rng))

    def apply(self, image, params):
        from PIL import Image

        u8 = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
        buf = io.BytesIO()
        sub = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}[params.subsampling]
        Image.fromarray(u8, "RGB").save(buf, "JPEG", quality=params.quality, subsampling=sub)
        buf.seek(0)
        with Image.open(buf) as im:
            out = np.asarray(im.convert("RGB"), dtype=np.float32) / np.float32(255)
        return clip01(out)

    def label(self, params):
        return f"jpeg q{params.quality}"
