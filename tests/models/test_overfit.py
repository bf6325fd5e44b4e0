"""Both nets can learn: on 16 pairs they overfit (the sanity check of any training setup)."""

from __future__ import annotations

import numpy as np
import torch

from lutkit.color import image_delta_e
from lutkit.correct.predict import net_correction
from lutkit.latents.vae import images_to_tensor, latent_of, load_vae
from lutkit.models.colormap import LUTNet, lutnet_loss
from lutkit.models.recolor import RecolorNet, kl_loss
from tests.models.helpers import make_pairs

STEPS = 80
# Trained, the LUT net takes the mean delta E 2000 of the 16 pairs from 9.77 to 2.00;
# untrained it leaves 9.74. It must remove most of the error, not merely some.
LUT_FRACTION = 0.35


def mean_delta_e(lutnet: LUTNet, source, fixed, dist: np.ndarray, clean: np.ndarray) -> float:
    """Mean delta E 2000 against ``clean`` of the distorted images corrected by the LUTs
    ``lutnet`` predicts (through the inference path, ``net_correction``)."""
    luts = net_correction(lutnet.eval(), source, fixed, lut_size=9)
    return float(
        np.mean(
            [
                image_delta_e(np.clip(lut.apply(d), 0, 1), c).mean()
                for lut, d, c in zip(luts, dist, clean, strict=True)
            ]
        )
    )


def test_recolor_and_lut_nets_overfit_16_pairs(vae_dir):
    clean, dist = make_pairs(16, 64)
    vae = load_vae(str(vae_dir))
    clean_t, dist_t = images_to_tensor(clean), images_to_tensor(dist)
    target, source = latent_of(vae, clean_t), latent_of(vae, dist_t)

    torch.manual_seed(0)
    recolor = RecolorNet(8, width=16, res_blocks=2)
    opt = torch.optim.Adam(recolor.parameters(), lr=3e-3)
    with torch.no_grad():
        kl_before = kl_loss(recolor(source), target).item()
    for _ in range(STEPS):
        loss = kl_loss(recolor(source), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        fixed = recolor(source)
    kl_after = kl_loss(fixed, target).item()

    def new_lutnet() -> LUTNet:
        torch.manual_seed(1)
        net = LUTNet(8, width=8, basis=3, lut_size=9)
        both = torch.cat([source, target], dim=1)
        net.set_input_stats(both.mean(dim=(0, 2, 3)), both.std(dim=(0, 2, 3)))
        return net

    lutnet = new_lutnet()
    opt = torch.optim.Adam(lutnet.parameters(), lr=3e-3)
    for _ in range(STEPS):
        loss, _ = lutnet_loss(lutnet(source, fixed), dist_t, clean_t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    de_before = np.mean([image_delta_e(d, c).mean() for d, c in zip(dist, clean, strict=True)])
    de_after = mean_delta_e(lutnet, source, fixed, dist, clean)
    de_untrained = mean_delta_e(new_lutnet(), source, fixed, dist, clean)
    numbers = (
        f"KL {kl_before:.4g} -> {kl_after:.4g}, delta E {de_before:.2f} -> {de_after:.2f} "
        f"(untrained LUT net {de_untrained:.2f})"
    )
    assert kl_after < kl_before / 10, numbers
    assert de_after < LUT_FRACTION * de_before, numbers
    # The negative control: an untrained LUT net must fail the same check.
    assert not de_untrained < LUT_FRACTION * de_before, numbers
