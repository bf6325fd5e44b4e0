"""Differentiable LUT application in torch (for training).

Both functions are differentiable with respect to the LUT table and the image, and
batch over LUTs: ``table`` is (N, N, N, 3) or (B, N, N, N, 3) indexed [r, g, b] like
:class:`lutkit.luts.model.LUT3D`; ``image`` is (B, 3, H, W) float in the LUT's domain
(channels first, as torch convolutions want). Inputs outside [lo, hi] are clamped.
:func:`identity_table` is the identity table the learned LUTs start from.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def identity_table(size: int, dtype=torch.float32) -> torch.Tensor:
    """The identity LUT table (size, size, size, 3) indexed [r, g, b] (the torch peer
    of :meth:`lutkit.luts.model.LUT3D.identity`)."""
    ramp = torch.linspace(0.0, 1.0, size, dtype=dtype)
    r, g, b = torch.meshgrid(ramp, ramp, ramp, indexing="ij")
    return torch.stack([r, g, b], dim=-1)


def _batch(table: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    if table.dim() == 4:
        table = table.unsqueeze(0)
    if table.dim() != 5 or table.shape[-1] != 3:
        raise ValueError(f"table must be (N, N, N, 3) or (B, N, N, N, 3), got {tuple(table.shape)}")
    if image.dim() != 4 or image.shape[1] != 3:
        raise ValueError(f"image must be (B, 3, H, W), got {tuple(image.shape)}")
    if table.shape[0] == 1 and image.shape[0] > 1:
        table = table.expand(image.shape[0], *table.shape[1:])
    return table


def _normalise(image: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    return ((image - lo) / (hi - lo)).clamp(0.0, 1.0)


def apply_lut3d_trilinear(
    table: torch.Tensor, image: torch.Tensor, lo: float = 0.0, hi: float = 1.0
) -> torch.Tensor:
    """Trilinear LUT application through ``grid_sample`` (returns (B, 3, H, W))."""
    table = _batch(table, image)
    b, _, h, w = image.shape
    # grid_sample's 5D input is (B, C, D, H, W) and its grid's last axis is (x, y, z)
    # indexing (W, H, D); with the table permuted to (B, 3, b, g, r), (x, y, z) is
    # exactly (r, g, b).
    volume = table.permute(0, 4, 3, 2, 1)
    grid = _normalise(image, lo, hi).permute(0, 2, 3, 1).reshape(b, 1, h, w, 3) * 2.0 - 1.0
    out = F.grid_sample(
        volume, grid.to(volume.dtype), mode="bilinear", padding_mode="border", align_corners=True
    )
    return out.reshape(b, 3, h, w)


def apply_lut3d_tetrahedral(
    table: torch.Tensor, image: torch.Tensor, lo: float = 0.0, hi: float = 1.0
) -> torch.Tensor:
    """Tetrahedral LUT application by gathers (matches the numpy kernel's tetrahedra)."""
    table = _batch(table, image)
    bsz, _, h, w = image.shape
    n = table.shape[1]
    x = _normalise(image, lo, hi) * (n - 1)
    idx = x.detach().floor().clamp(0, n - 2).long()
    f = x - idx.to(x.dtype)  # fractions, differentiable w.r.t. the image
    flat = table.reshape(bsz, n * n * n, 3)
    ir, ig, ib = idx[:, 0], idx[:, 1], idx[:, 2]
    fr, fg, fb = f[:, 0], f[:, 1], f[:, 2]

    def vertex(dr: int, dg: int, db: int) -> torch.Tensor:
        k = ((ir + dr) * n + (ig + dg)) * n + (ib + db)
        k = k.reshape(bsz, -1, 1).expand(-1, -1, 3)
        return torch.gather(flat, 1, k).reshape(bsz, h, w, 3).permute(0, 3, 1, 2)

    c000, c111 = vertex(0, 0, 0), vertex(1, 1, 1)
    c100, c010, c001 = vertex(1, 0, 0), vertex(0, 1, 0), vertex(0, 0, 1)
    c110, c101, c011 = vertex(1, 1, 0), vertex(1, 0, 1), vertex(0, 1, 1)
    fr, fg, fb = fr.unsqueeze(1), fg.unsqueeze(1), fb.unsqueeze(1)
    # The six tetrahedra, selected by the order of the fractions (ties as in numpy).
    cases = [
        ((fr > fg) & (fg > fb), (1 - fr) * c000 + (fr - fg) * c100 + (fg - fb) * c110 + fb * c111),
        (
            (fr > fg) & (fg <= fb) & (fr > fb),
            (1 - fr) * c000 + (fr - fb) * c100 + (fb - fg) * c101 + fg * c111,
        ),
        (
            (fr > fg) & (fg <= fb) & (fr <= fb),
            (1 - fb) * c000 + (fb - fr) * c001 + (fr - fg) * c101 + fg * c111,
        ),
        ((fr <= fg) & (fb > fg), (1 - fb) * c000 + (fb - fg) * c001 + (fg - fr) * c011 + fr * c111),
        (
            (fr <= fg) & (fb <= fg) & (fb > fr),
            (1 - fg) * c000 + (fg - fb) * c010 + (fb - fr) * c011 + fr * c111,
        ),
    ]
    out = (1 - fg) * c000 + (fg - fr) * c010 + (fr - fb) * c110 + fb * c111
    for mask, value in reversed(cases):
        out = torch.where(mask, value, out)
    return out


def apply_lut3d(
    table: torch.Tensor,
    image: torch.Tensor,
    *,
    interp: str = "trilinear",
    lo: float = 0.0,
    hi: float = 1.0,
) -> torch.Tensor:
    """Apply a 3D LUT table to a (B, 3, H, W) image; ``interp`` trilinear|tetrahedral."""
    if interp == "trilinear":
        return apply_lut3d_trilinear(table, image, lo, hi)
    if interp == "tetrahedral":
        return apply_lut3d_tetrahedral(table, image, lo, hi)
    raise ValueError(f"unknown interpolation {interp!r}: use trilinear or tetrahedral")
