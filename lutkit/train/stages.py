"""The training stages, in one place: what each stage trains, its loss, its models,
and how it is measured on the validation split.

``recolor`` trains the recolor net alone (KL loss); ``lutnet`` trains a LUT net on
top of the frozen recolor net of the same run (it continues a finished ``recolor``
stage); ``both`` trains them together, the LUT net seeing the recolor net's
(detached) output, with loss KL + ``lut_weight`` x LUT loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lutkit.errors import ConfigError
from lutkit.train.config import TrainConfig
from lutkit.train.data import Split


@dataclass(frozen=True)
class Stage:
    name: str
    trains_recolor: bool  # else the run's recolor net is loaded, frozen
    lutnet: bool  # a LUT net is trained (and the pixels are needed)

    def continues(self, saved: str, complete: bool) -> bool:
        """Whether this stage may start on a run whose resume state holds stage
        ``saved`` (a lutnet stage follows a finished recolor stage)."""
        return saved == "recolor" and self.name == "lutnet" and complete

    def check_run(self, run_dir: Path) -> None:
        """Refuse a lutnet stage without a trained recolor net in the run folder."""
        if not self.trains_recolor and not (run_dir / "recolor" / "model.safetensors").is_file():
            raise ConfigError(
                "stage lutnet needs a trained recolor net in the run folder",
                path=run_dir / "recolor",
                hint="train stage recolor (or both) with this name first",
            )

    def build_models(self, cfg: TrainConfig, run_dir: Path, channels: int, train: Split, device):
        """(recolor, lutnet or None, the models the optimizer trains), on ``device``."""
        import torch

        from lutkit.models.colormap import LUTNet
        from lutkit.models.recolor import RecolorNet

        if not self.trains_recolor:
            recolor = RecolorNet.from_pretrained(run_dir / "recolor", device=device)
            recolor.requires_grad_(False)
            if recolor.channels != channels:
                raise ConfigError(
                    f"the recolor net takes {recolor.channels} channels, the latents have "
                    f"{channels}",
                    path=run_dir / "recolor",
                )
        else:
            recolor = RecolorNet(channels, cfg.width, cfg.res_blocks, cfg.norm, cfg.residual)
        lutnet = None
        if self.lutnet and cfg.lutnet_kind == "blend":
            lutnet = build_blend(cfg, channels, train, recolor)
        elif self.lutnet:
            lutnet = LUTNet(channels, cfg.lutnet_width, cfg.lutnet_basis, cfg.lutnet_size)
            both = torch.cat([train.distorted, train.clean], dim=1)
            lutnet.set_input_stats(both.mean(dim=(0, 2, 3)), both.std(dim=(0, 2, 3)))
        trained = ([recolor] if self.trains_recolor else []) + (
            [lutnet] if lutnet is not None else []
        )
        recolor.to(device)
        if lutnet is not None:
            lutnet.to(device)
        return recolor, lutnet, trained

    def losses(self, recolor, lutnet, batch: dict[str, Any], cfg: TrainConfig):
        """(total loss, {"kl": .., "lut": ..}) of one batch."""
        import torch

        from lutkit.models.colormap import lutnet_loss
        from lutkit.models.recolor import kl_loss

        parts: dict[str, Any] = {}
        if not self.trains_recolor:
            with torch.no_grad():
                fixed = recolor(batch["distorted"])
        else:
            fixed = recolor(batch["distorted"])
            parts["kl"] = kl_loss(fixed, batch["clean"], cfg.kl_direction)
        if self.lutnet and cfg.lutnet_kind == "blend":
            parts["lut"] = blend_loss(lutnet, batch, fixed.detach(), cfg)
        elif self.lutnet:
            # The LUT net learns from the recolor net's prediction, as it will see it at
            # fix time, but does not train the recolor net: that stays a pure KL fit.
            tables = lutnet(batch["distorted"], fixed.detach())
            parts["lut"], _ = lutnet_loss(
                tables,
                batch["distorted_rgb"],
                batch["clean_rgb"],
                tv_weight=cfg.tv_weight,
                mono_weight=cfg.mono_weight,
                colour_loss=cfg.colour_loss,
            )
        if not self.lutnet:
            total = parts["kl"]
        elif not self.trains_recolor:
            total = parts["lut"]
        else:
            total = parts["kl"] + cfg.lut_weight * parts["lut"]
        return total, parts


STAGES = {
    "recolor": Stage("recolor", trains_recolor=True, lutnet=False),
    "lutnet": Stage("lutnet", trains_recolor=False, lutnet=True),
    "both": Stage("both", trains_recolor=True, lutnet=True),
}


def build_blend(cfg: TrainConfig, channels: int, train: Split, recolor):
    """A :class:`~lutkit.models.blend.BlendNet` with its inputs standardised on (up to
    512 evenly spaced) training pairs: the latent candidate's latents, the scorer's
    features."""
    import torch

    from lutkit.models.blend import BlendNet

    latent = None
    if "latent" in cfg.candidates:
        latent = {
            "channels": channels,
            "width": cfg.lutnet_width,
            "basis": cfg.lutnet_basis,
            "lut_size": cfg.lutnet_size,
        }
    net = BlendNet(
        cfg.candidates,
        cfg.blend_hidden,
        cfg.blend_pixels,
        latent,
        gray=cfg.blend_gray,
        exposure=cfg.blend_exposure,
        bright=cfg.blend_bright,
    )
    if net.latent is not None:
        both = torch.cat([train.distorted, train.clean], dim=1)
        net.latent.set_input_stats(both.mean(dim=(0, 2, 3)), both.std(dim=(0, 2, 3)))
    pick = torch.arange(0, len(train), max(1, len(train) // 512))
    with torch.no_grad():
        latents = (train.distorted[pick], recolor(train.distorted[pick]))
        view = net.view(train.distorted_rgb[pick])
        est = net.estimates(view, latents)
        feats = net.features(view, net.apply_candidates(est, view))
    net.set_feature_stats(feats.reshape(-1, feats.shape[-1]))
    return net


def needs_no_fix(rgb, clean):
    """(B,) bool: the pairs whose input is their target, pixel for pixel (the clean pairs
    of ``clean_share``, and a recipe draw that changed nothing)."""
    return (rgb == clean).flatten(1).all(dim=1)


def fit_exposure(net, recolor, split: Split, batch_size: int, device: str) -> dict[str, float]:
    """Fit a blend's exposure stage (:class:`~lutkit.models.exposure.ExposureStage`) on
    every pair of ``split``: the features of the blend's output, and the one gain that
    brings that output closest to the clean pixels. Returns how well it fits (the mean
    absolute log gain error, before and after)."""
    import torch

    from lutkit.models.exposure import VIEW, exposure_features, oracle_log_gain

    net.eval()
    recolor.eval()
    feats, targets, clean = [], [], []
    with torch.no_grad():
        for start in range(0, len(split), batch_size):
            idx = torch.arange(start, min(start + batch_size, len(split)))
            batch = batch_of(split, idx, device)
            rgb = batch["distorted_rgb"]
            w, est = net.weights(net.view(rgb), (batch["distorted"], recolor(batch["distorted"])))
            out = net.render(w, est, rgb)
            # at the stage's own view size (the default lutnet_pixels) it reads that output
            small = out if rgb.shape[-1] == VIEW else net.exposure_view(w, est, rgb)
            feats.append(exposure_features(small).cpu())
            targets.append(oracle_log_gain(out, batch["clean_rgb"]).cpu())
            clean.append(needs_no_fix(rgb, batch["clean_rgb"]).cpu())
    f, t, c = torch.cat(feats), torch.cat(targets), torch.cat(clean)
    net.exposure.fit(f, t, c)
    with torch.no_grad():
        pred = net.exposure.shrink(net.exposure.regress(f.to(net.exposure.shift))).cpu()
    return {
        "exposure_error_before": float(t.abs().mean()),
        "exposure_error_after": float((pred - t).abs().mean()),
        "exposure_deadzone": float(net.exposure.deadzone),
    }


def blend_loss(net, batch: dict[str, Any], fixed, cfg: TrainConfig):
    """Mean delta E (``colour_loss``: CIE76 or CIEDE2000) of the blend against the clean
    pixels. The learned candidates (the illuminant nets, the latent LUT net) are each
    also scored on their own, so that each learns to correct and the scorer learns when
    to trust it (with ``blend_own_loss = "damaged"`` on the pairs that need a fix only:
    those whose input differs from the target); the latent LUT net adds its smoothness
    and monotonicity terms."""
    from lutkit.models.blend import LEARNED_CANDIDATES
    from lutkit.models.colormap import COLOUR_LOSSES, lut_monotonicity, lut_smoothness

    rgb, clean = batch["distorted_rgb"], batch["clean_rgb"]
    w, est = net.weights(net.view(rgb), (batch["distorted"], fixed))
    outputs = net.apply_candidates(est, rgb)
    blend = (outputs * w.view(*w.shape, 1, 1, 1)).sum(dim=1)
    delta_e = COLOUR_LOSSES[cfg.colour_loss]
    loss = delta_e(blend, clean)
    own = slice(None)
    if cfg.blend_own_loss == "damaged":
        own = ~needs_no_fix(rgb, clean)
    scored, target = outputs[own], clean[own]
    for k, name in enumerate(net.candidates):
        if name in LEARNED_CANDIDATES and len(target):
            loss = loss + delta_e(scored[:, k], target)
    if "tables" in est:
        tables = est["tables"]
        loss = loss + cfg.tv_weight * lut_smoothness(tables)
        loss = loss + cfg.mono_weight * lut_monotonicity(tables)
    return loss


def batch_of(split: Split, idx, device: str) -> dict[str, Any]:
    """The rows ``idx`` of a split, on ``device``."""
    batch = {"distorted": split.distorted[idx].to(device), "clean": split.clean[idx].to(device)}
    if split.distorted_rgb is not None:
        batch["distorted_rgb"] = split.distorted_rgb[idx].to(device)
        batch["clean_rgb"] = split.clean_rgb[idx].to(device)
    return batch


def validate(
    stage: str, recolor, lutnet, vae, val: Split, cfg: TrainConfig, device: str
) -> tuple[dict[str, float], list[np.ndarray], list[str]]:
    """Val losses and delta E 2000 after correction; also the before/after tiles."""
    import torch

    from lutkit.color import image_delta_e
    from lutkit.correct.predict import fit_correction, net_correction

    recolor.eval()
    if lutnet is not None:
        lutnet.eval()
    st = STAGES[stage]
    sums: dict[str, float] = {}
    with torch.no_grad():
        for start in range(0, len(val), cfg.batch_size):
            idx = torch.arange(start, min(start + cfg.batch_size, len(val)))
            _, parts = st.losses(recolor, lutnet, batch_of(val, idx, device), cfg)
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(idx)
        metrics = {f"val_{k}": v / len(val) for k, v in sums.items()}
        if not st.trains_recolor:
            metrics["val_kl"] = float("nan")  # the recolor net is frozen: not measured
        k = len(val.full_distorted)
        original = val.distorted[:k].to(device)
        fixed = recolor(original)
        luts: dict[str, list] = {}
        if st.trains_recolor:
            luts["fit"] = fit_correction(
                vae,
                original,
                fixed,
                method=cfg.fit_method,
                seed=cfg.seed,
                lut_size=33,
                steps=cfg.fit_steps,
            )
        if st.lutnet:
            view = torch.from_numpy(val.full_distorted[:k]).permute(0, 3, 1, 2).to(device)
            size = 33 if cfg.lutnet_kind == "blend" else lutnet.lut_size
            luts["net"] = net_correction(lutnet, original, fixed, lut_size=size, pixels=view)
    des: dict[str, list[float]] = {"input": []}
    tiles, labels = [], []
    for i in range(k):
        dist, clean = val.full_distorted[i], val.full_clean[i]
        des["input"].append(float(image_delta_e(dist, clean).mean()))
        row = [(dist, f"distorted  dE {des['input'][-1]:.2f}")]
        for name, lut_list in luts.items():
            out = np.clip(lut_list[i].apply(dist), 0.0, 1.0)
            des.setdefault(name, []).append(float(image_delta_e(out, clean).mean()))
            row.append((out, f"{name}  dE {des[name][-1]:.2f}"))
        row.append((clean, "clean"))
        tiles += [t for t, _ in row]
        labels += [lb for _, lb in row]
    for name, values in des.items():
        metrics[f"val_de_{name}"] = float(np.mean(values))
    return metrics, tiles, labels
