"""The training config: one dataclass, read from TOML, overridden with ``--set key=value``.

Every key is checked: an unknown key (in the file or in ``--set``) is an error naming
it, and every value must have the type of its default (an integer where a float is
expected is fine). The full config is saved in the run folder (``config.json``) with
what the run was trained on: the VAE's fingerprint, the dataset and the latent shape.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from lutkit.errors import ConfigError

STAGES = ("recolor", "lutnet", "both")
SCHEDULES = ("cosine", "constant")
DEVICES = ("auto", "cpu", "cuda", "mps")
LUTNET_KINDS = ("basis", "blend")
COLOUR_LOSS_NAMES = ("de76", "de2000")  # lutkit.models.colormap.COLOUR_LOSSES
BLEND_CANDIDATES = (
    "identity,gray-world,shades-of-gray,white-patch,gray-edge,illuminant,levels,sog-levels,latent"
)
# Every candidate lutkit.models.blend has (the default above leaves out the newest).
KNOWN_BLEND_CANDIDATES = BLEND_CANDIDATES.replace(",latent", ",illuminant-tonal,latent")
# What a run records beside the config (config.json); not settable.
RECORD_KEYS = (
    "vae_fingerprint",
    "vae_path",
    "dataset_path",
    "dataset_digest",  # the sha256 of its pairs shards (lutkit.train.data.dataset_digest)
    "latent_shape",
    "image_size",
    "lutkit_version",
    "heldout_photos",  # an exported model: the photos its training never saw
    "colormap",  # the colour map `lutkit fix` uses by default (the one the eval shows wins)
)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass
class TrainConfig:
    """Everything a training run needs; the defaults are a small CPU-sized model."""

    name: str = "run"  # the run folder: {out}/{name}
    dataset: str = "datasets/demo"
    vae: str = "default"  # "default", a local AutoencoderKL folder, or a hub id
    stage: str = "both"  # recolor | lutnet (needs a trained recolor net) | both (jointly)
    epochs: int = 20
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 0.01  # AdamW, on conv and linear weights only
    schedule: str = "cosine"  # cosine (after a linear warmup) | constant
    warmup_steps: int = 20
    min_lr_ratio: float = 0.1  # the cosine ends at lr * min_lr_ratio
    grad_clip: float = 1.0  # 0 = off
    # recolor net (reference: width 128, res_blocks 5)
    width: int = 32
    res_blocks: int = 5
    norm: str = "instance"  # instance | none
    residual: bool = False
    kl_direction: str = "pred||clean"  # the method's KL(pred || clean) | clean||pred
    # LUT net
    lutnet_width: int = 16
    lutnet_basis: int = 3
    lutnet_size: int = 17
    lutnet_pixels: int = 64  # side of the training images for the LUT loss (0 = full)
    lut_weight: float = 1.0  # stage both: loss = KL + lut_weight * LUT loss
    tv_weight: float = 0.01
    mono_weight: float = 10.0
    # The kind of LUT net: "basis" (weights of learned basis LUTs, from the latents) or
    # "blend" (lutkit.models.blend: weights over candidate corrections, one of which,
    # "latent", is a basis LUT net of the sizes above).
    lutnet_kind: str = "basis"
    blend_candidates: str = BLEND_CANDIDATES  # comma-separated, identity first
    blend_hidden: int = 32  # the shared scorer's hidden units
    blend_pixels: int = 32  # side of the view the estimates are made on
    blend_gray: bool = False  # the FFCC-style candidates also read the grayest pixels
    blend_bright: bool = False  # ... and the brightest pixels
    # An exposure stage after the blend (lutkit.models.exposure): a ridge regression from
    # the blended view's highlights to one gain, fitted in closed form on the train split
    # when the last epoch ends.
    blend_exposure: bool = False
    # Which pairs score each learned candidate on its own (the blend itself is scored on
    # all): "all", or "damaged": only the pairs whose input differs from the target, so
    # that the clean pairs teach the blend to leave a photo alone without also teaching
    # every estimator to hold back.
    blend_own_loss: str = "all"
    # The colour difference the LUT net is trained on (the blend and its learned
    # candidates, or the basis-LUT net): "de76" (CIE76, Euclidean in L*a*b*) or "de2000"
    # (CIEDE2000, the metric `make eval` reports).
    colour_loss: str = "de76"
    # Clean pairs: this share of the training pairs again, with the clean photo as both
    # input and target (drawn with the seed), so that the model learns to leave a
    # photo that needs no fix alone. 0 = none. They are part of the train split from
    # the start (the input statistics, the train loss, the steps of an epoch).
    clean_share: float = 0.0
    # validation
    # The fitted colour map as val and test.json score it: mlp | poly, and the Adam steps
    # of each MLP. `lutkit fix` always fits an MLP of 400 steps (MLP_STEPS), so a run's
    # "fit" scores match fix's exactly only at mlp / 400 (the choice between fit and net
    # that fix makes from test.json is approximate otherwise).
    fit_method: str = "mlp"
    fit_steps: int = 400
    val_images: int = 4  # val pairs in the delta E columns and the before/after sheet
    seed: int = 0
    out: str = "runs"
    device: str = "auto"  # auto | cpu | cuda | mps

    def check(self) -> TrainConfig:
        """Raise :class:`ConfigError` for a value out of range; returns self."""
        choices = {
            "stage": STAGES,
            "schedule": SCHEDULES,
            "device": DEVICES,
            "norm": ("instance", "none"),
            "fit_method": ("mlp", "poly"),
            "kl_direction": ("pred||clean", "clean||pred"),
            "lutnet_kind": LUTNET_KINDS,
            "blend_own_loss": ("all", "damaged"),
            "colour_loss": COLOUR_LOSS_NAMES,
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(
                    f"{key} must be one of {', '.join(allowed)}, got {getattr(self, key)!r}"
                )
        minimum = {
            "epochs": 1,
            "batch_size": 1,
            "width": 1,
            "res_blocks": 0,
            "warmup_steps": 0,
            "lutnet_width": 1,
            "lutnet_basis": 1,
            "lutnet_size": 2,
            "lutnet_pixels": 0,
            "val_images": 1,
            "fit_steps": 1,
            "blend_hidden": 1,
            "blend_pixels": 8,
        }
        for key, low in minimum.items():
            if getattr(self, key) < low:
                raise ConfigError(f"{key} must be at least {low}, got {getattr(self, key)}")
        for key in ("weight_decay", "grad_clip", "lut_weight", "tv_weight", "mono_weight"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key} must not be negative, got {getattr(self, key)}")
        if not self.lr > 0:
            raise ConfigError(f"lr must be positive, got {self.lr}")
        if not 0 <= self.clean_share <= 1:
            raise ConfigError(f"clean_share must be in [0, 1], got {self.clean_share}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.lutnet_kind == "blend":
            known = KNOWN_BLEND_CANDIDATES.split(",")
            names = self.candidates
            unknown = [n for n in names if n not in known]
            if unknown or not names or names[0] != "identity" or len(set(names)) != len(names):
                raise ConfigError(
                    f"blend_candidates must start with identity and name each of "
                    f"{', '.join(known)} at most once, got {self.blend_candidates!r}"
                )
        if self.lutnet_size > 65:
            raise ConfigError(f"lutnet_size must be at most 65, got {self.lutnet_size}")
        if not _NAME.fullmatch(self.name):
            raise ConfigError(
                f"name must be a plain folder name (letters, digits, . _ -), got {self.name!r}"
            )
        return self

    @property
    def candidates(self) -> list[str]:
        """The blend's candidates, in order."""
        return [n.strip() for n in self.blend_candidates.split(",") if n.strip()]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def run_dir(self) -> Path:
        return Path(self.out) / self.name


_FIELDS = {f.name: f for f in fields(TrainConfig)}
_TYPES = {name: type(getattr(TrainConfig(), name)) for name in _FIELDS}
_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _unknown(key: str) -> str:
    close = difflib.get_close_matches(key, list(_FIELDS), n=1)
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?)"
    return f"unknown key {key!r} (the keys: {', '.join(_FIELDS)})"


def _check_type(key: str, value: Any) -> Any:
    """The value if it has the key's type (an int passes as a float); TypeError if not."""
    want = _TYPES[key]
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if want is int and isinstance(value, bool):
        raise TypeError
    if not isinstance(value, want):
        raise TypeError
    return value


def config_from_dict(
    data: dict[str, Any],
    *,
    where: str | os.PathLike[str] | None = None,
    recorded: bool = False,
) -> TrainConfig:
    """A checked TrainConfig from a dict; ``recorded``: a run's config.json, whose
    :data:`RECORD_KEYS` are skipped."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        if recorded and key in RECORD_KEYS:
            continue
        if key not in _FIELDS:
            raise ConfigError(_unknown(key), path=where)
        try:
            values[key] = _check_type(key, value)
        except TypeError:
            raise ConfigError(
                f"{key} must be {_TYPE_WORDS[_TYPES[key]]}, got {value!r}", path=where
            ) from None
    try:
        return TrainConfig(**values).check()
    except ConfigError as exc:
        raise ConfigError(exc.message, path=where, hint=exc.hint) from None


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` -> (key, value typed like the key's default)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set expects key=value, got {text!r}")
    if key not in _FIELDS:
        raise ConfigError(f"--set: {_unknown(key)}")
    want, raw = _TYPES[key], raw.strip()
    try:
        if want is bool:
            lowered = raw.lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return key, lowered in ("true", "1", "yes")
        return key, want(raw)
    except ValueError:
        raise ConfigError(f"--set {text}: {key} must be {_TYPE_WORDS[want]}") from None


def load_config(
    path: str | os.PathLike[str] | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> TrainConfig:
    """Read a TOML config (flat ``key = value`` lines; None: the defaults), then apply
    ``--set key=value`` overrides; everything checked."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError("config file not found", path=p)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"not valid TOML: {exc}", path=p) from None
        for key, value in data.items():
            if isinstance(value, dict):
                raise ConfigError(f"sections are not supported ([{key}]): use flat keys", path=p)
    cfg = config_from_dict(data, where=path)
    changes = dict(parse_override(item) for item in overrides)
    if not changes:
        return cfg
    try:
        return replace(cfg, **changes).check()
    except ConfigError as exc:
        raise ConfigError(f"--set: {exc.message}", hint=exc.hint) from None
