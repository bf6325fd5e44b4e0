"""The methods an evaluation compares: lutkit (fit and net), the baselines, the floor.

A :class:`Method` is a name and a function from a distorted (H, W, 3) image to a
corrected float32 image in [0, 1]. Learned baselines (:class:`~lutkit.models.fcn.
PixelFCN`, :class:`~lutkit.models.ia3dlut.IA3DLUT`) are trained on the training split
of the model's dataset and cached (safetensors + config.json + training.json) in a
folder, keyed by the training data and settings, so a rerun reuses them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from lutkit.errors import LutkitError
from lutkit.images import to_float

TRAINING_JSON = "training.json"
LEARNED = ("fcn", "ia3dlut", "ffcc", "ffcc-tonal")


@dataclass
class Method:
    name: str  # a short id: identity, gray-world, lutkit-fit, fcn, ...
    label: str  # what tables and pictures show
    kind: str  # floor | statistic | learned | lutkit
    correct: Callable[[np.ndarray], np.ndarray]  # (H, W, 3) -> float32 (H, W, 3) in [0, 1]


def classic_methods() -> list[Method]:
    """The floor (identity) and the statistical colour-constancy baselines."""
    from lutkit.models import baselines as b

    return [
        Method("identity", "identity (do nothing)", "floor", lambda x: to_float(x)),
        Method("gray-world", "gray world", "statistic", b.gray_world),
        Method("white-patch", "white patch (max-RGB)", "statistic", b.white_patch),
        Method("shades-of-gray", "shades of gray (p=6)", "statistic", b.shades_of_gray),
        Method("gray-edge", "gray edge (1st order)", "statistic", b.gray_edge),
        Method("gray-pixels", "gray pixels (grayness index)", "statistic", b.gray_pixels),
    ]


def lutkit_methods(run: Any, *, seed: int = 0) -> list[Method]:
    """lutkit's correction with the fitted colour map and (if the run has one) the LUT
    net, one iteration each, exactly as ``lutkit fix`` does it."""
    from lutkit.correct.fix import fix_pixels

    def make(colormap: str) -> Callable[[np.ndarray], np.ndarray]:
        def correct(pixels: np.ndarray) -> np.ndarray:
            out = fix_pixels(run, pixels, colormap=colormap, iterations=1, seed=seed).pixels
            return np.clip(to_float(out), 0.0, 1.0)

        return correct

    methods = [Method("lutkit-fit", "lutkit (fit)", "lutkit", make("fit"))]
    if getattr(run, "lutnet", None) is not None:
        methods.append(Method("lutkit-net", "lutkit (net)", "lutkit", make("net")))
    return methods


# --------------------------------------------------------------------------- learned


def _fcn_method(model: Any) -> Method:
    return Method("fcn", "pixel FCN (U-Net)", "learned", model.correct)


def _lut_method(model: Any) -> Method:
    return Method("ia3dlut", "IA-3DLUT (Zeng 2020)", "learned", model.correct)


def _ffcc_method(model: Any) -> Method:
    cues = " and ".join(c for c, on in (("gray", model.gray), ("bright", model.bright)) if on)
    plus = f" + {cues} pixels" if cues else ""
    if model.bands > 1:
        label = f"FFCC-style{plus}, a light per tonal band ({model.bands}; learned)"
        return Method("ffcc-tonal", label, "learned", model.correct)
    return Method("ffcc", f"FFCC-style illuminant{plus} (learned)", "learned", model.correct)


def train_pairs(dataset: str | os.PathLike[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The (distorted, clean) uint8/uint16 pixels of a dataset's train split."""
    from lutkit.data.png import decode_png
    from lutkit.evaluate.sets import read_rows

    rows = read_rows(dataset, ["train"], ["distorted", "clean"])
    if not rows:
        raise LutkitError("the dataset has no train rows to fit baselines on", path=dataset)
    return [decode_png(r["distorted"]) for r in rows], [decode_png(r["clean"]) for r in rows]


def _data_key(dataset: str | os.PathLike[str]) -> str:
    from lutkit.data.index import load_dataset_json

    doc = load_dataset_json(dataset)
    shards = sorted(s["sha256"] for s in doc["shards"] if s["split"] == "train")
    return hashlib.sha256(json.dumps(shards).encode()).hexdigest()


# Settings added to a baseline's config after models were cached: at the value every
# earlier model had, a setting stays out of the key, so those models are still reused.
_LATER_SETTINGS = {"bands": 1, "gray": False, "bright": False, "colour_loss": "de76"}


def _cache_key(data_key: str, name: str, config: Any) -> str:
    settings = asdict(config)
    for key, before in _LATER_SETTINGS.items():
        if key in settings and settings[key] == before and type(settings[key]) is type(before):
            del settings[key]
    text = json.dumps([data_key, name, settings], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _load_cached(folder: Path, cls: Any, key: str | None) -> tuple[Any, dict] | None:
    """The cached model and its training record, if it is there, readable and (when
    ``key`` is given) trained on the same data with the same settings."""
    try:
        record = json.loads((folder / TRAINING_JSON).read_text(encoding="utf-8"))
        if key is not None and record.get("key") != key:
            return None
        return cls.from_pretrained(folder), record
    except (OSError, ValueError, LutkitError):
        return None


def learned_baselines(
    dataset: str | os.PathLike[str],
    cache: str | os.PathLike[str],
    *,
    fcn_config: Any = None,
    lut_config: Any = None,
    illuminant_config: Any = None,
    which: tuple[str, ...] = LEARNED,
    log: Callable[[str], None] | None = None,
) -> tuple[list[Method], dict[str, dict]]:
    """The learned baselines, trained on ``dataset``'s train split or loaded from
    ``cache``/NAME when trained there before on the same data and settings.

    Returns the methods and each one's training record (config, losses,
    ``seconds_per_epoch``, whether it was reused).
    """
    from lutkit.fsutil import atomic_write_text
    from lutkit.models.blend import TONAL_BANDS
    from lutkit.models.fcn import PixelFCN
    from lutkit.models.ia3dlut import IA3DLUT
    from lutkit.models.illuminant import IlluminantNet
    from lutkit.train.baselines import (
        FCNTrainConfig,
        IA3DLUTTrainConfig,
        IlluminantTrainConfig,
        train_fcn,
        train_ia3dlut,
        train_illuminant,
    )

    say = log or (lambda _m: None)
    specs = {
        "fcn": (PixelFCN, fcn_config or FCNTrainConfig(), train_fcn, _fcn_method),
        "ia3dlut": (IA3DLUT, lut_config or IA3DLUTTrainConfig(), train_ia3dlut, _lut_method),
        "ffcc": (
            IlluminantNet,
            illuminant_config or IlluminantTrainConfig(),
            train_illuminant,
            _ffcc_method,
        ),
        "ffcc-tonal": (
            IlluminantNet,
            replace(illuminant_config or IlluminantTrainConfig(), bands=TONAL_BANDS),
            train_illuminant,
            _ffcc_method,
        ),
    }
    data_key = _data_key(dataset)
    pairs: tuple[list[np.ndarray], list[np.ndarray]] | None = None
    methods, records = [], {}
    for name in which:
        cls, cfg, train, wrap = specs[name]
        key = _cache_key(data_key, name, cfg)
        folder = Path(cache) / name
        cached = _load_cached(folder, cls, key)
        if cached is not None:
            model, record = cached
            record = {**record, "reused": True}
            say(f"{name}: reusing the model trained before ({folder})")
        else:
            if pairs is None:
                pairs = train_pairs(dataset)
            say(f"{name}: training on {len(pairs[0])} pairs ({cfg.epochs} epochs)")
            model, record = train(*pairs, cfg)
            record = {**record, "key": key, "dataset": str(dataset)}
            model.save_pretrained(folder)
            atomic_write_text(folder / TRAINING_JSON, json.dumps(record, indent=2) + "\n")
            record = {**record, "reused": False}
        methods.append(wrap(model))
        records[name] = record
    return methods, records


def cached_baselines(cache: str | os.PathLike[str]) -> list[Method]:
    """The learned baselines already trained in ``cache`` (whatever their data), for
    timing; none when nothing is there."""
    from lutkit.models.fcn import PixelFCN
    from lutkit.models.ia3dlut import IA3DLUT
    from lutkit.models.illuminant import IlluminantNet

    out = []
    for name, cls, wrap in (
        ("fcn", PixelFCN, _fcn_method),
        ("ia3dlut", IA3DLUT, _lut_method),
        ("ffcc", IlluminantNet, _ffcc_method),
        ("ffcc-tonal", IlluminantNet, _ffcc_method),
    ):
        found = _load_cached(Path(cache) / name, cls, None)
        if found is not None:
            out.append(wrap(found[0]))
    return out
