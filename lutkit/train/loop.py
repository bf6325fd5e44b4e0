"""The training loop: the recolor net, the LUT net, or both, in one readable function.

``train(cfg)`` reads the dataset's latents (``lutkit latents`` must have encoded it
with the config's VAE), trains, and after every epoch writes the run folder::

    runs/NAME/config.json        the full config + VAE fingerprint, dataset, latent shape
    runs/NAME/recolor/           RecolorNet (config.json + model.safetensors)
    runs/NAME/lutnet/            LUTNet, for stages lutnet and both
    runs/NAME/metrics.csv        per epoch: train/val loss, val delta E 2000
    runs/NAME/before-after.png   distorted | corrected | clean for a few val pairs
    runs/NAME/state.safetensors  resume point: weights, AdamW state, epoch, metrics
    runs/NAME/state.json         the same position in words (epoch, complete)
    runs/NAME/test.json          when complete: test-split delta E 2000 (input, fit, net)

Rerunning with the same name resumes after the last finished epoch, bit for bit on a
CPU (the batches of an epoch come from a generator seeded by (seed, epoch), and the
optimizer state is restored exactly). Stage ``lutnet`` trains a LUT net on top of the
frozen recolor net of the same run; ``both`` trains them together, the LUT net seeing
the recolor net's (detached) output. The split is loaded into memory once (about
0.1 MB per training pair at the default 64-pixel LUT loss).
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lutkit.errors import ConfigError, LutkitError
from lutkit.train.config import TrainConfig
from lutkit.train.data import Split, load_split, resolve_run_latents

STATE_TENSORS = "state.safetensors"
STATE_JSON = "state.json"
METRICS_CSV = "metrics.csv"
SHEET_PNG = "before-after.png"
CONFIG_JSON = "config.json"
METRIC_COLUMNS = (
    "stage",
    "epoch",
    "step",
    "lr",
    "train_kl",
    "train_lut",
    "val_kl",
    "val_lut",
    "val_de_input",
    "val_de_fit",
    "val_de_net",
)
# Keys that may change when a run is resumed; any other change is refused.
_RESUMABLE = ("epochs", "device", "val_images", "fit_steps")
# What the recolor net of a lutnet stage must share with the run that trained it.
_RECOLOR_KEYS = ("dataset", "vae", "width", "res_blocks", "norm", "residual", "kl_direction")


@dataclass
class TrainResult:
    run_dir: Path
    epochs_run: int  # epochs trained by this call (0: it was already complete)
    epoch: int  # epochs finished in the current stage
    complete: bool
    metrics: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0


# --------------------------------------------------------------------------- optimisation


def lr_at(step: int, cfg: TrainConfig, total_steps: int) -> float:
    """Linear warmup, then cosine decay to ``lr * min_lr_ratio`` (or constant)."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / (cfg.warmup_steps + 1)
    if cfg.schedule == "constant":
        return cfg.lr
    min_lr = cfg.lr * cfg.min_lr_ratio
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps))
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (cfg.lr - min_lr)


def make_optimizer(models: list[Any], cfg: TrainConfig, device: str):
    """AdamW; weight decay on conv and linear weights only (not on norms, biases, or
    the basis LUTs, which decay would pull towards black)."""
    import torch

    decay, no_decay = [], []
    for model in models:
        for name, p in model.named_parameters():
            if p.requires_grad:
                (decay if p.dim() >= 2 and name != "basis" else no_decay).append(p)
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    fused = {"fused": True} if device == "cuda" else {}
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.99), **fused)


def _losses(stage: str, recolor, lutnet, batch: dict[str, Any], cfg: TrainConfig):
    """(total loss, {"kl": .., "lut": ..}) of one batch."""
    import torch

    from lutkit.models.colormap import lutnet_loss
    from lutkit.models.recolor import kl_loss

    parts: dict[str, Any] = {}
    if stage == "lutnet":
        with torch.no_grad():
            fixed = recolor(batch["distorted"])
    else:
        fixed = recolor(batch["distorted"])
        parts["kl"] = kl_loss(fixed, batch["clean"], cfg.kl_direction)
    if stage != "recolor":
        # The LUT net learns from the recolor net's prediction, as it will see it at
        # fix time, but does not train the recolor net: that stays a pure KL fit.
        tables = lutnet(batch["distorted"], fixed.detach())
        parts["lut"], _ = lutnet_loss(
            tables,
            batch["distorted_rgb"],
            batch["clean_rgb"],
            tv_weight=cfg.tv_weight,
            mono_weight=cfg.mono_weight,
        )
    if stage == "recolor":
        total = parts["kl"]
    elif stage == "lutnet":
        total = parts["lut"]
    else:
        total = parts["kl"] + cfg.lut_weight * parts["lut"]
    return total, parts


def _batch(split: Split, idx, device: str) -> dict[str, Any]:
    batch = {"distorted": split.distorted[idx].to(device), "clean": split.clean[idx].to(device)}
    if split.distorted_rgb is not None:
        batch["distorted_rgb"] = split.distorted_rgb[idx].to(device)
        batch["clean_rgb"] = split.clean_rgb[idx].to(device)
    return batch


# --------------------------------------------------------------------------- evaluation


def evaluate(
    stage: str, recolor, lutnet, vae, val: Split, cfg: TrainConfig, device: str
) -> tuple[dict[str, float], list[np.ndarray], list[str]]:
    """Val losses and delta E 2000 after correction; also the before/after tiles."""
    import torch

    from lutkit.color import image_delta_e
    from lutkit.correct.predict import fit_correction, net_correction

    recolor.eval()
    if lutnet is not None:
        lutnet.eval()
    sums: dict[str, float] = {}
    with torch.no_grad():
        for start in range(0, len(val), cfg.batch_size):
            idx = torch.arange(start, min(start + cfg.batch_size, len(val)))
            _, parts = _losses(stage, recolor, lutnet, _batch(val, idx, device), cfg)
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(idx)
        metrics = {f"val_{k}": v / len(val) for k, v in sums.items()}
        if stage == "lutnet":
            metrics["val_kl"] = float("nan")  # the recolor net is frozen: not measured
        k = len(val.full_distorted)
        original = val.distorted[:k].to(device)
        fixed = recolor(original)
        luts: dict[str, list] = {}
        if stage != "lutnet":
            luts["fit"] = fit_correction(
                vae,
                original,
                fixed,
                method=cfg.fit_method,
                seed=cfg.seed,
                lut_size=33,
                steps=cfg.fit_steps,
            )
        if stage != "recolor":
            luts["net"] = net_correction(lutnet, original, fixed, lut_size=lutnet.lut_size)
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


# --------------------------------------------------------------------------- checkpoints


def _optimizer_tensors(opt) -> tuple[dict[str, Any], dict[str, Any]]:
    """AdamW's state_dict -> (flat tensors for safetensors, JSON-able rest)."""
    sd = opt.state_dict()
    tensors, plain = {}, {"param_groups": sd["param_groups"], "state": {}}
    for idx, st in sd["state"].items():
        plain["state"][str(idx)] = {}
        for key, value in st.items():
            if hasattr(value, "detach"):
                tensors[f"optim.{idx}.{key}"] = value.detach().to("cpu").contiguous()
            else:
                plain["state"][str(idx)][key] = value
    return tensors, plain


def _optimizer_state(tensors: dict[str, Any], plain: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in plain["state"].items()}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    return {"state": state, "param_groups": plain["param_groups"]}


def save_checkpoint(
    run_dir: Path, stage: str, recolor, lutnet, opt, position: dict[str, Any], rows: list
) -> None:
    """Write the models, the resume state, metrics.csv and state.json (each atomically;
    state.safetensors is the truth a resume reads)."""
    from safetensors.torch import save_file

    from lutkit.fsutil import atomic_output, atomic_write_text

    if stage != "lutnet":
        recolor.save_pretrained(run_dir / "recolor")
    if stage != "recolor":
        lutnet.save_pretrained(run_dir / "lutnet")
    tensors, plain = _optimizer_tensors(opt)
    for prefix, model in (("recolor", recolor), ("lutnet", lutnet)):
        if model is not None and not (prefix == "recolor" and stage == "lutnet"):
            for k, v in model.state_dict().items():
                tensors[f"{prefix}.{k}"] = v.detach().to("cpu").contiguous()
    meta = {**position, "stage": stage, "optimizer": plain, "metrics": rows}
    with atomic_output(run_dir / STATE_TENSORS) as tmp:
        save_file(tensors, str(tmp), metadata={"lutkit": json.dumps(meta)})
    write_metrics(run_dir / METRICS_CSV, rows)
    atomic_write_text(
        run_dir / STATE_JSON, json.dumps({**position, "stage": stage}, indent=2) + "\n"
    )


def load_checkpoint(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(tensors, metadata) of the resume state, or None when the run has none."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = run_dir / STATE_TENSORS
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})["lutkit"])
        tensors = load_file(str(path))
    except (SafetensorError, OSError, KeyError, ValueError) as exc:
        raise LutkitError(
            f"unreadable resume state: {exc}",
            path=path,
            hint="delete the run folder to start again",
        ) from None
    return tensors, meta


def write_metrics(path: Path, rows: list[dict[str, str]]) -> None:
    from lutkit.fsutil import atomic_write_text

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=METRIC_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _check_resume(run_dir: Path, cfg: TrainConfig, fingerprint: str, keys=None) -> None:
    """Refuse to resume a run whose saved config (other than in _RESUMABLE) or VAE
    differs."""
    try:
        saved = json.loads((run_dir / CONFIG_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise LutkitError(
            "the run has a resume state but no readable config.json",
            path=run_dir,
            hint="delete the run folder to start again",
        ) from None
    if saved.get("vae_fingerprint", fingerprint) != fingerprint:
        raise ConfigError(
            f"the run was trained with VAE {saved['vae_fingerprint']}, "
            f"but {cfg.vae!r} is now {fingerprint}",
            path=run_dir,
            hint="use another name, or delete the run folder to start again",
        )
    now = cfg.to_dict()
    for key in keys or now:
        if key in _RESUMABLE or key == "stage":
            continue
        if saved.get(key) != now[key]:
            raise ConfigError(
                f"the run was trained with {key} = {saved.get(key)!r}, not {now[key]!r}",
                path=run_dir,
                hint="use another name, or delete the run folder to start again",
            )


# --------------------------------------------------------------------------- the loop


def train(
    cfg: TrainConfig,
    *,
    log: Callable[[str], None] | None = None,
    progress: bool = True,
    stop_after: int | None = None,
    test_split: bool = True,
) -> TrainResult:
    """Train (or resume) the run ``cfg.out / cfg.name``; see the module doc.

    ``log`` receives one line per epoch; ``stop_after`` trains at most that many epochs
    in this call (a rerun resumes). When the run completes, its test split is scored
    into ``test.json`` (:mod:`lutkit.train.testsplit`; ``test_split=False`` skips it,
    as does a dataset without test pairs). Raises :class:`ConfigError` for a dataset without
    latents of the VAE, a lutnet stage without a recolor net, or a changed config.
    """
    import torch
    from tqdm.auto import tqdm

    from lutkit import __version__
    from lutkit.data.shards import remove_stale_temporaries
    from lutkit.device import pick_device
    from lutkit.fsutil import atomic_write_text
    from lutkit.latents.vae import load_vae, vae_fingerprint
    from lutkit.models.colormap import LUTNet
    from lutkit.models.recolor import RecolorNet
    from lutkit.seeds import derive_seed
    from lutkit.sheets import save_contact_sheet

    say = log or (lambda line: None)
    cfg.check()
    t0 = time.perf_counter()
    device = pick_device(cfg.device)
    stage = cfg.stage
    run_dir = cfg.run_dir

    # -- the VAE and its latents of the dataset
    vae = load_vae(cfg.vae, device=device)
    fingerprint = vae_fingerprint(vae)
    meta = resolve_run_latents(cfg, fingerprint)
    shape, size = tuple(meta["latent_shape"]), int(meta["image_size"])
    channels = 2 * shape[0]

    # -- where are we: fresh, resuming, or a lutnet stage on a finished recolor run
    checkpoint = load_checkpoint(run_dir)
    rows: list[dict[str, str]] = []
    start_epoch, step = 0, 0
    resume = None
    if checkpoint is not None:
        tensors, state = checkpoint
        if state["stage"] == stage:
            _check_resume(run_dir, cfg, fingerprint)
            resume, start_epoch, step = tensors, int(state["epoch"]), int(state["step"])
            rows = list(state["metrics"])
        elif state["stage"] == "recolor" and stage == "lutnet" and state.get("complete"):
            _check_resume(run_dir, cfg, fingerprint, keys=_RECOLOR_KEYS)
            rows = list(state["metrics"])  # keep the recolor epochs' rows
        else:
            raise ConfigError(
                f"the run holds a {state['stage']!r} stage; stage {stage!r} cannot continue it",
                path=run_dir,
                hint="use another name; stage lutnet follows a finished recolor stage",
            )
        if resume is not None and start_epoch >= cfg.epochs:
            say(f"{run_dir}: already trained {start_epoch} epoch(s) of stage {stage}")
            return TrainResult(run_dir, 0, start_epoch, True, rows, time.perf_counter() - t0)
    if stage == "lutnet" and not (run_dir / "recolor" / "model.safetensors").is_file():
        raise ConfigError(
            "stage lutnet needs a trained recolor net in the run folder",
            path=run_dir / "recolor",
            hint="train stage recolor (or both) with this name first",
        )

    # -- reproducibility: every random number below comes from this seed
    deterministic = torch.are_deterministic_algorithms_enabled()
    if device == "cpu":
        torch.use_deterministic_algorithms(True)
    torch.manual_seed(cfg.seed)
    try:
        # -- data
        needs_pixels = stage != "recolor"
        train_split = load_split(
            cfg, "train", fingerprint, size=size, pixels=needs_pixels, progress=progress
        )
        val = load_split(
            cfg,
            "val",
            fingerprint,
            size=size,
            pixels=True,
            keep_full=cfg.val_images,
            progress=progress,
        )

        # -- models
        if stage == "lutnet":
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
        if stage != "recolor":
            lutnet = LUTNet(channels, cfg.lutnet_width, cfg.lutnet_basis, cfg.lutnet_size)
            both = torch.cat([train_split.distorted, train_split.clean], dim=1)
            lutnet.set_input_stats(both.mean(dim=(0, 2, 3)), both.std(dim=(0, 2, 3)))
        trained = ([] if stage == "lutnet" else [recolor]) + (
            [lutnet] if lutnet is not None else []
        )
        recolor.to(device)
        if lutnet is not None:
            lutnet.to(device)
        opt = make_optimizer(trained, cfg, device)
        if resume is not None:
            for prefix, model in (("recolor", recolor), ("lutnet", lutnet)):
                if any(model is m for m in trained):
                    cut = len(prefix) + 1
                    sd = {k[cut:]: v for k, v in resume.items() if k.startswith(prefix + ".")}
                    model.load_state_dict(sd, strict=True)
            opt.load_state_dict(_optimizer_state(resume, checkpoint[1]["optimizer"]))

        # -- the run folder: the full config and what it was trained on
        run_dir.mkdir(parents=True, exist_ok=True)
        for folder in (run_dir, run_dir / "recolor", run_dir / "lutnet"):
            remove_stale_temporaries(folder)  # left by a killed run
        record = {
            "vae_fingerprint": fingerprint,
            "vae_path": str(Path(cfg.vae).resolve()) if Path(cfg.vae).is_dir() else None,
            "dataset_path": str(Path(cfg.dataset).resolve()),
            "latent_shape": list(shape),
            "image_size": size,
            "lutkit_version": __version__,
        }
        atomic_write_text(run_dir / CONFIG_JSON, json.dumps({**cfg.to_dict(), **record}, indent=2))

        # -- train
        n = len(train_split)
        steps_per_epoch = math.ceil(n / cfg.batch_size)
        total_steps = cfg.epochs * steps_per_epoch
        say(
            f"{run_dir}: stage {stage}, {n} train / {len(val)} val pairs, latents "
            f"{channels}x{shape[1]}x{shape[2]}, device {device}, epochs {start_epoch + 1}.."
            f"{cfg.epochs}"
        )
        epochs_run = 0
        for epoch in range(start_epoch, cfg.epochs):
            if stop_after is not None and epochs_run >= stop_after:
                break
            te = time.perf_counter()
            for model in trained:
                model.train()
            gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "epoch", epoch))
            order = torch.randperm(n, generator=gen)
            sums: dict[str, float] = {}
            bar = tqdm(
                total=steps_per_epoch,
                desc=f"epoch {epoch + 1}/{cfg.epochs}",
                leave=False,
                disable=None if progress else True,
            )
            for i in range(steps_per_epoch):
                idx = order[i * cfg.batch_size : (i + 1) * cfg.batch_size]
                lr = lr_at(step, cfg, total_steps)
                for group in opt.param_groups:
                    group["lr"] = lr
                loss, parts = _losses(stage, recolor, lutnet, _batch(train_split, idx, device), cfg)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(
                        [p for g in opt.param_groups for p in g["params"]], cfg.grad_clip
                    )
                opt.step()
                step += 1
                for k, v in parts.items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(idx)
                bar.set_postfix(loss=f"{float(loss.detach()):.4g}", lr=f"{lr:.2e}")
                bar.update(1)
            bar.close()
            train_metrics = {f"train_{k}": v / n for k, v in sums.items()}
            val_metrics, tiles, labels = evaluate(stage, recolor, lutnet, vae, val, cfg, device)
            row = {"stage": stage, "epoch": epoch + 1, "step": step, "lr": lr}
            row.update(train_metrics)
            row.update(val_metrics)
            rows.append({c: _fmt(row.get(c)) for c in METRIC_COLUMNS})
            epochs_run += 1
            done = epoch + 1 == cfg.epochs
            position = {
                "epoch": epoch + 1,
                "epochs": cfg.epochs,
                "step": step,
                "complete": done,
                "updated": time.time(),
            }
            save_checkpoint(run_dir, stage, recolor, lutnet, opt, position, rows)
            per_row = 2 + len([k for k in ("val_de_fit", "val_de_net") if k in val_metrics])
            save_contact_sheet(
                run_dir / SHEET_PNG,
                tiles,
                labels,
                columns=per_row,
                tile=min(size, 224),
                title=f"{cfg.name}: stage {stage}, epoch {epoch + 1}/{cfg.epochs}",
            )
            say(_summary(rows[-1], time.perf_counter() - te))
    finally:
        torch.use_deterministic_algorithms(deterministic)
    state = (
        json.loads((run_dir / STATE_JSON).read_text()) if (run_dir / STATE_JSON).is_file() else {}
    )
    if state.get("complete") and epochs_run and test_split:
        from lutkit.train.testsplit import write_test_report

        report = write_test_report(run_dir, progress=progress)
        if report is not None:
            de = " / ".join(f"{k} {v:.2f}" for k, v in report["de"].items())
            say(f"test split ({report['pairs']} pairs): delta E 2000 {de}")
    return TrainResult(
        run_dir,
        epochs_run,
        int(state.get("epoch", 0)),
        bool(state.get("complete", False)),
        rows,
        time.perf_counter() - t0,
    )


def _summary(row: dict[str, str], seconds: float) -> str:
    parts = [f"epoch {row['epoch']}"]
    for key in ("train_kl", "train_lut", "val_kl", "val_lut"):
        if row[key]:
            parts.append(f"{key} {float(row[key]):.4g}")
    de = [f"{k[7:]} {float(row[k]):.2f}" for k in METRIC_COLUMNS[8:] if row[k]]
    if de:
        parts.append("val dE " + " / ".join(de))
    return "  ".join(parts) + f"  ({seconds:.1f} s)"
