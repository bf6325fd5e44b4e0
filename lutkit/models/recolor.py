"""The recolor network: a distorted image's VAE posterior -> the clean image's posterior.

Latents are (B, 2C, h, w): the posterior mean and log-variance of a diffusers
``AutoencoderKL`` concatenated along channels ((B, 8, 28, 28) for a 224x224 image and
an 8x-downsampling VAE with 4 latent channels). The network predicts both halves, so
it learns the variance as well as the mean, and is trained with the KL divergence
between diagonal Gaussians (:func:`kl_loss`).

Models follow diffusers' convention: the constructor arguments are the config, saved
as ``config.json`` beside ``model.safetensors`` (safetensors only, never a pickle).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lutkit.errors import ConfigError, LutkitError

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
# diffusers clamps the posterior's log-variance to the same range.
LOGVAR_MIN, LOGVAR_MAX = -30.0, 20.0


# --------------------------------------------------------------------------- loss


def kl_divergence(
    mean_p: torch.Tensor, logvar_p: torch.Tensor, mean_q: torch.Tensor, logvar_q: torch.Tensor
) -> torch.Tensor:
    """Elementwise KL(p || q) between diagonal Gaussians given by mean and log-variance.

    KL = 0.5 * (logvar_q - logvar_p + (var_p + (mean_p - mean_q)^2) / var_q - 1), in nats,
    the shape of the (broadcast) inputs. Zero where p and q are equal.
    """
    return 0.5 * (
        logvar_q
        - logvar_p
        + (torch.exp(logvar_p - logvar_q) + (mean_p - mean_q) ** 2 * torch.exp(-logvar_q))
        - 1.0
    )


KL_DIRECTIONS = ("pred||clean", "clean||pred")


def kl_loss(
    pred: torch.Tensor, target: torch.Tensor, direction: str = "pred||clean"
) -> torch.Tensor:
    """Mean elementwise KL divergence between (B, 2C, h, w) mean-and-logvar latents.

    ``direction="pred||clean"`` (the method's loss, the default): KL(pred || clean). Its
    mean term is scaled by the clean posterior's precision, so the prediction is pulled
    to the clean mean *and* to the clean (small) variance; a prediction cannot hide a
    wrong mean behind a wide variance, and samples of it decode to a sharp image.
    ``"clean||pred"``: KL(clean || pred), the expected negative log-likelihood of the
    clean latent's samples under the prediction; gentler gradients, but the predicted
    variance widens wherever the mean is unsure.
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    if pred.dim() != 4 or pred.shape[1] % 2:
        raise ValueError(f"expected (B, 2C, h, w) latents, got {tuple(pred.shape)}")
    c = pred.shape[1] // 2
    if direction == "pred||clean":
        return kl_divergence(pred[:, :c], pred[:, c:], target[:, :c], target[:, c:]).mean()
    if direction == "clean||pred":
        return kl_divergence(target[:, :c], target[:, c:], pred[:, :c], pred[:, c:]).mean()
    raise ValueError(f"unknown KL direction {direction!r}: use one of {', '.join(KL_DIRECTIONS)}")


# --------------------------------------------------------------------------- save / load


class PretrainedMixin:
    """``save_pretrained`` / ``from_pretrained`` for a module whose ``config`` is its kwargs."""

    config: dict[str, Any]

    def save_pretrained(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``folder`` (atomically)."""
        from safetensors.torch import save_file

        from lutkit import __version__
        from lutkit.fsutil import atomic_output, atomic_write_text

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().to("cpu").contiguous() for k, v in self.state_dict().items()}  # type: ignore[attr-defined]
        with atomic_output(folder / WEIGHTS_NAME) as tmp:
            # One metadata key: safetensors orders several at random, and the same
            # weights should give the same bytes.
            save_file(state, str(tmp), metadata={"format": "pt"})
        doc = {"_class_name": type(self).__name__, "_lutkit_version": __version__, **self.config}
        atomic_write_text(folder / CONFIG_NAME, json.dumps(doc, indent=2) + "\n")
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike[str], *, device: str = "cpu"):
        """Load a model written by ``save_pretrained`` (eval mode, on ``device``)."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        folder = Path(folder)
        config_path, weights = folder / CONFIG_NAME, folder / WEIGHTS_NAME
        if not config_path.is_file():
            raise LutkitError(f"no {CONFIG_NAME} (not a saved {cls.__name__})", path=folder)
        try:
            doc = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise LutkitError(f"unreadable config: {exc}", path=config_path) from None
        if not isinstance(doc, dict) or doc.get("_class_name") != cls.__name__:
            name = doc.get("_class_name") if isinstance(doc, dict) else None
            raise LutkitError(f"_class_name is {name!r}, not {cls.__name__!r}", path=config_path)
        kwargs = {k: v for k, v in doc.items() if not k.startswith("_")}
        try:
            model = cls(**kwargs)
        except TypeError as exc:
            raise ConfigError(f"bad {cls.__name__} config: {exc}", path=config_path) from None
        if not weights.is_file():
            raise LutkitError(f"no weights ({WEIGHTS_NAME})", path=folder)
        try:
            state = load_file(str(weights))
        except (SafetensorError, OSError, ValueError) as exc:
            raise LutkitError(f"not a readable safetensors file: {exc}", path=weights) from None
        try:
            model.load_state_dict(state, strict=True)  # type: ignore[attr-defined]
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise LutkitError(f"weights do not fit the config: {first}", path=weights) from None
        return model.to(device).eval()  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- network


def _conv_block(cin: int, cout: int, norm: str) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)]
    if norm == "instance":
        layers.append(nn.InstanceNorm2d(cout, affine=True))
    layers.append(nn.ReLU(inplace=True))
    return layers


class ResidualBlock(nn.Module):
    """x + conv-norm-relu-conv-norm(x), reflection padded (CycleGAN's ResnetBlock)."""

    def __init__(self, channels: int, norm: str = "instance") -> None:
        super().__init__()
        layers = _conv_block(channels, channels, norm)
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3)]
        if norm == "instance":
            layers.append(nn.InstanceNorm2d(channels, affine=True))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class RecolorNet(PretrainedMixin, nn.Module):
    """Distorted latent (B, 2C, h, w) -> predicted clean latent (B, 2C, h, w).

    Reflection-padded 3x3 convs ``channels -> width -> 2 width -> 4 width`` with affine
    InstanceNorm and ReLU, ``res_blocks`` residual blocks at 4 width, and a 3x3 conv back
    to ``channels`` (mean then log-variance; the log-variance is clamped to diffusers'
    [-30, 20]). The reference is width 128 (512 in the blocks) and 5 blocks.

    With InstanceNorm every feature is blind to per-channel offsets of the input, so
    the prediction's colours come from the content, not from the cast (the reference
    design). ``residual=True`` adds the input to the output instead (a correction of
    the distorted latent); ``norm="none"`` drops the normalisation.
    """

    def __init__(
        self,
        channels: int = 8,
        width: int = 32,
        res_blocks: int = 5,
        norm: str = "instance",
        residual: bool = False,
    ) -> None:
        super().__init__()
        if channels < 2 or channels % 2:
            raise ConfigError(f"channels must be even (mean and logvar), got {channels}")
        if width < 1 or res_blocks < 0:
            raise ConfigError(f"bad RecolorNet size: width {width}, res_blocks {res_blocks}")
        if norm not in ("instance", "none"):
            raise ConfigError(f"unknown norm {norm!r}: use instance or none")
        self.config = {
            "channels": channels,
            "width": width,
            "res_blocks": res_blocks,
            "norm": norm,
            "residual": residual,
        }
        w = width
        layers = _conv_block(channels, w, norm) + _conv_block(w, 2 * w, norm)
        layers += _conv_block(2 * w, 4 * w, norm)
        layers += [ResidualBlock(4 * w, norm) for _ in range(res_blocks)]
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(4 * w, channels, 3)]
        self.net = nn.Sequential(*layers)
        if residual:
            # Start as the identity: the prediction is the distorted latent itself.
            nn.init.zeros_(self.net[-1].weight)
            nn.init.zeros_(self.net[-1].bias)

    @property
    def channels(self) -> int:
        return int(self.config["channels"])

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        if latent.dim() != 4 or latent.shape[1] != self.channels:
            raise ValueError(
                f"expected (B, {self.channels}, h, w) latents, got {tuple(latent.shape)}"
            )
        out = self.net(latent)
        if self.config["residual"]:
            out = out + latent
        c = self.channels // 2
        return torch.cat([out[:, :c], out[:, c:].clamp(LOGVAR_MIN, LOGVAR_MAX)], dim=1)
