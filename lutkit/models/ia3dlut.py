"""Image-Adaptive 3D LUT (Zeng et al. 2020), as a baseline.

A small CNN looks at a downsampled copy of the image and predicts the weights of a
few learned basis LUTs; their weighted sum is the image's LUT, applied to the full
resolution photo. Trained end to end through a differentiable LUT apply
(:func:`lutkit.luts.torch_apply.apply_lut3d`, trilinear as in the paper) with the
paper's regularisers: smoothness (total variation of the basis LUTs plus the weights'
L2) and monotonicity. Unlike lutkit's method, it sees pixels, not VAE latents, and it
is trained on the pixel loss only.

Saved like every lutkit model: ``config.json`` + ``model.safetensors``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lutkit.errors import ConfigError, LutkitError
from lutkit.luts.torch_apply import identity_table
from lutkit.models.recolor import PretrainedMixin

if TYPE_CHECKING:
    from lutkit.luts.model import LUT3D


def _first_differences(tables: torch.Tensor) -> list[torch.Tensor]:
    """d[x] = T[x + 1] - T[x] along the r, g and b lattice axes of (K, N, N, N, 3) tables."""
    return [torch.diff(tables, dim=axis) for axis in (1, 2, 3)]


def smoothness(tables: torch.Tensor) -> torch.Tensor:
    """Zeng et al.'s total variation of (K, N, N, N, 3) basis LUTs, summed over them.

    The mean squared first difference along each lattice axis, the two outermost
    differences counted twice (the paper's weights), per LUT, summed over the K LUTs.
    """
    if tables.dim() != 5 or tables.shape[-1] != 3:
        raise ValueError(f"expected (K, N, N, N, 3) tables, got {tuple(tables.shape)}")
    total = tables.new_zeros(())
    for axis, d in zip((1, 2, 3), _first_differences(tables), strict=True):
        weight = torch.ones(d.shape[axis], dtype=d.dtype, device=d.device)
        weight[0] = weight[-1] = 2.0
        shape = [1] * d.dim()
        shape[axis] = -1
        total = total + ((d**2) * weight.view(shape)).mean(dim=(1, 2, 3, 4)).sum()
    return total


def monotonicity(tables: torch.Tensor) -> torch.Tensor:
    """How much (K, N, N, N, 3) basis LUTs decrease along any lattice axis (Zeng et al.):
    the mean of relu(T[x] - T[x + 1]) over all outputs, per LUT, summed. Zero for LUTs
    whose every output grows with every input."""
    total = tables.new_zeros(())
    for d in _first_differences(tables):
        total = total + torch.relu(-d).mean(dim=(1, 2, 3, 4)).sum()
    return total


def _block(cin: int, cout: int, norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.LeakyReLU(0.2)]
    if norm:
        layers.append(nn.InstanceNorm2d(cout, affine=True))
    return layers


class IA3DLUT(PretrainedMixin, nn.Module):
    """Images (B, 3, H, W) in [0, 1] -> basis weights (B, ``basis``) -> LUT tables.

    The paper's classifier: the image resized to ``input_size`` (bilinear), five
    stride-2 3x3 convs (widths w, 2w, 4w, 8w, 8w; LeakyReLU, InstanceNorm on the
    first four), dropout 0.5 and a conv over the remaining ``input_size / 32`` square
    to ``basis`` weights. Basis LUT 0 starts as the identity, the others at zero (the
    paper's initialisation); the LUT of an image is the weighted sum of the basis.
    """

    def __init__(
        self, basis: int = 3, lut_size: int = 33, width: int = 16, input_size: int = 256
    ) -> None:
        super().__init__()
        if not 1 <= basis <= 16 or not 2 <= lut_size <= 65 or width < 1:
            raise ConfigError(
                f"bad IA3DLUT size: basis {basis}, lut_size {lut_size}, width {width}"
            )
        if input_size < 32 or input_size % 32:
            raise ConfigError(f"input_size must be a multiple of 32, got {input_size}")
        self.config = {
            "basis": basis,
            "lut_size": lut_size,
            "width": width,
            "input_size": input_size,
        }
        w = width
        layers = _block(3, w, True) + _block(w, 2 * w, True) + _block(2 * w, 4 * w, True)
        layers += _block(4 * w, 8 * w, True) + _block(8 * w, 8 * w, False)
        layers += [nn.Dropout(0.5), nn.Conv2d(8 * w, basis, input_size // 32)]
        self.classifier = nn.Sequential(*layers)
        # Start at the identity LUT (weight 1 on basis 0): the paper leaves the last
        # conv at its random init, which starts far from any sensible LUT and, on a
        # few dozen pairs, does not recover.
        last = self.classifier[-1]
        nn.init.normal_(last.weight, std=1e-3)
        with torch.no_grad():
            last.bias.zero_()
            last.bias[0] = 1.0
        init = torch.zeros(basis, lut_size, lut_size, lut_size, 3)
        init[0] = identity_table(lut_size)
        self.basis = nn.Parameter(init)

    @property
    def lut_size(self) -> int:
        return int(self.config["lut_size"])

    def weights(self, images: torch.Tensor) -> torch.Tensor:
        """The basis weights (B, basis) of (B, 3, H, W) images."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"expected (B, 3, H, W) images, got {tuple(images.shape)}")
        side = int(self.config["input_size"])
        x = F.interpolate(images, size=(side, side), mode="bilinear", align_corners=False)
        return self.classifier(x).flatten(1)

    def tables(self, weights: torch.Tensor) -> torch.Tensor:
        """(B, basis) weights -> (B, N, N, N, 3) LUT tables indexed [r, g, b]."""
        return torch.einsum("bk,knmlc->bnmlc", weights, self.basis)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(corrected images, weights, tables) of (B, 3, H, W) images."""
        from lutkit.luts.torch_apply import apply_lut3d

        w = self.weights(images)
        tables = self.tables(w)
        return apply_lut3d(tables, images), w, tables

    @torch.no_grad()
    def predict_lut(self, pixels: np.ndarray) -> LUT3D:
        """The LUT3D this model gives one (H, W, 3) image (uint8 / uint16 / float).

        The classifier sees an area-downsampled copy; the table is clipped to [0, 1].
        """
        import cv2

        from lutkit.images import to_float
        from lutkit.luts.model import LUT3D

        img = to_float(np.asarray(pixels))
        if img.ndim != 3 or img.shape[2] != 3:
            raise LutkitError(f"expected an (H, W, 3) image, got shape {img.shape}")
        side = int(self.config["input_size"])
        h, w = img.shape[:2]
        if max(h, w) > 2 * side:  # area first: bilinear alone would alias a big photo
            scale = 2 * side / max(h, w)
            img = cv2.resize(
                img, (max(1, round(w * scale)), max(1, round(h * scale))), cv2.INTER_AREA
            )
        self.eval()
        device = self.basis.device
        x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None].to(device)
        table = self.tables(self.weights(x))[0].clamp(0.0, 1.0).cpu().numpy()
        return LUT3D(table.astype(np.float32), title="IA-3DLUT (Zeng et al. 2020)")

    def correct(self, pixels: np.ndarray) -> np.ndarray:
        """Correct one image at full resolution -> float32 (H, W, 3) in [0, 1]."""
        from lutkit.images import to_float
        from lutkit.luts.apply import apply_lut

        lut = self.predict_lut(pixels)
        return np.clip(apply_lut(lut, to_float(np.asarray(pixels)), interp="trilinear"), 0, 1)


# --------------------------------------------------------------------------- training


def ia3dlut_loss(
    model: IA3DLUT,
    distorted: torch.Tensor,
    clean: torch.Tensor,
    *,
    smooth_weight: float = 1e-4,
    mono_weight: float = 10.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The paper's loss of one batch: (loss, parts)."""
    out, w, _ = model(distorted)
    mse = F.mse_loss(out, clean)
    tv = smoothness(model.basis) + (w**2).mean()
    mono = monotonicity(model.basis)
    loss = mse + smooth_weight * tv + mono_weight * mono
    return loss, {
        "mse": float(mse.detach()),
        "tv": float(tv.detach()),
        "mono": float(mono.detach()),
    }
