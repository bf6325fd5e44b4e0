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
the recolor net's (detached) output. ``clean_share`` adds clean pairs (the clean photo
as input and target, :func:`~lutkit.train.data.add_clean_pairs`) to the train split,
drawn with the seed. The split is loaded into memory once (about
0.1 MB per training pair at the default 64-pixel LUT loss).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lutkit.errors import ConfigError
from lutkit.progress import Counter, Progress
from lutkit.train.checkpoint import (
    CONFIG_JSON,
    METRIC_COLUMNS,
    RECOLOR_KEYS,
    SHEET_PNG,
    STATE_JSON,
    check_fresh_folder,
    check_resume,
    format_metric,
    load_checkpoint,
    save_checkpoint,
)
from lutkit.train.config import TrainConfig
from lutkit.train.data import add_clean_pairs, dataset_digest, load_split, resolve_run_latents
from lutkit.train.optim import lr_at, optimizer_state
from lutkit.train.stages import STAGES, batch_of, fit_exposure, validate
from lutkit.train.testsplit import TEST_JSON


@dataclass
class TrainResult:
    run_dir: Path
    epochs_run: int  # epochs trained by this call (0: it was already complete)
    epoch: int  # epochs finished in the current stage
    complete: bool
    metrics: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0


# --------------------------------------------------------------------------- optimisation


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


# --------------------------------------------------------------------------- the loop


def train(
    cfg: TrainConfig,
    *,
    log: Callable[[str], None] | None = None,
    progress: Progress | None = None,
    stop_after: int | None = None,
    test_split: bool = True,
    dist: Any = None,
) -> TrainResult:
    """Train (or resume) the run ``cfg.out / cfg.name``; see the module doc.

    ``log`` receives one line per epoch; ``stop_after`` trains at most that many epochs
    in this call (a rerun resumes). When the run completes, its test split is scored
    into ``test.json`` (:mod:`lutkit.train.testsplit`; ``test_split=False`` skips it,
    as does a dataset without test pairs). Raises :class:`ConfigError` for a dataset without
    latents of the VAE, a lutnet stage without a recolor net, or a changed config.

    ``dist`` makes this call one rank of a data-parallel run
    (:class:`lutkit.train.ray_train.DataParallel`, on Ray Train): each rank computes
    its share of every batch, gradients are averaged (DDP), and rank 0 alone
    validates and writes the run folder. Without it, the local run is unchanged.
    """
    import torch

    from lutkit import __version__
    from lutkit.data.shards import remove_stale_temporaries
    from lutkit.device import pick_device
    from lutkit.fsutil import atomic_write_text
    from lutkit.latents.vae import load_vae, vae_fingerprint
    from lutkit.seeds import derive_seed
    from lutkit.sheets import save_contact_sheet

    say = log or (lambda line: None)
    main = dist is None or dist.rank == 0
    cfg.check()
    t0 = time.perf_counter()
    device = pick_device(cfg.device)
    stage = cfg.stage
    st = STAGES[stage]
    run_dir = cfg.run_dir

    # -- the VAE and its latents of the dataset
    vae = load_vae(cfg.vae, device=device)
    fingerprint = vae_fingerprint(vae)
    meta = resolve_run_latents(cfg, fingerprint)
    digest = dataset_digest(cfg.dataset)
    shape, size = tuple(meta["latent_shape"]), int(meta["image_size"])
    channels = 2 * shape[0]

    # -- where are we: fresh, resuming, or a lutnet stage on a finished recolor run
    checkpoint = load_checkpoint(run_dir)
    if checkpoint is None:
        check_fresh_folder(run_dir)
    rows: list[dict[str, str]] = []
    start_epoch, step = 0, 0
    resume = None
    if checkpoint is not None:
        tensors, state = checkpoint
        if state["stage"] == stage:
            check_resume(run_dir, cfg, fingerprint, digest=digest)
            resume, start_epoch, step = tensors, int(state["epoch"]), int(state["step"])
            rows = list(state["metrics"])
        elif st.continues(state["stage"], bool(state.get("complete"))):
            check_resume(run_dir, cfg, fingerprint, keys=RECOLOR_KEYS, digest=digest)
            rows = list(state["metrics"])  # keep the recolor epochs' rows
        else:
            raise ConfigError(
                f"the run holds a {state['stage']!r} stage; stage {stage!r} cannot continue it",
                path=run_dir,
                hint="use another name; stage lutnet follows a finished recolor stage",
            )
        if resume is not None and start_epoch >= cfg.epochs:
            say(f"{run_dir}: already trained {start_epoch} epoch(s) of stage {stage}")
            if test_split and main and _unscored(run_dir):
                _test_report(run_dir, progress, say)  # stopped after training, before it
            return TrainResult(run_dir, 0, start_epoch, True, rows, time.perf_counter() - t0)
    st.check_run(run_dir)
    if dist is not None:
        dist.barrier()  # every rank has read the resume state before rank 0 rewrites it

    # -- reproducibility: every random number below comes from this seed
    deterministic = torch.are_deterministic_algorithms_enabled()
    if device == "cpu":
        torch.use_deterministic_algorithms(True)
    torch.manual_seed(cfg.seed)
    try:
        # -- data
        train_split = load_split(
            cfg, "train", fingerprint, size=size, pixels=st.lutnet, progress=progress
        )
        train_split = add_clean_pairs(
            train_split, cfg.clean_share, derive_seed(cfg.seed, "clean-pairs")
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
        recolor, lutnet, trained = st.build_models(cfg, run_dir, channels, train_split, device)
        opt = make_optimizer(trained, cfg, device)
        if resume is not None:
            for prefix, model in (("recolor", recolor), ("lutnet", lutnet)):
                if any(model is m for m in trained):
                    cut = len(prefix) + 1
                    sd = {k[cut:]: v for k, v in resume.items() if k.startswith(prefix + ".")}
                    model.load_state_dict(sd, strict=True)
            opt.load_state_dict(optimizer_state(resume, checkpoint[1]["optimizer"]))
            if getattr(lutnet, "exposure", None) is not None:
                lutnet.exposure.reset()  # fitted again when the (new) last epoch ends

        step_losses = st.losses if dist is None else dist.step_losses(st, recolor, lutnet)

        # -- the run folder: the full config and what it was trained on
        record = {
            "vae_fingerprint": fingerprint,
            "vae_path": str(Path(cfg.vae).resolve()) if Path(cfg.vae).is_dir() else None,
            "dataset_path": str(Path(cfg.dataset).resolve()),
            "dataset_digest": digest,
            "latent_shape": list(shape),
            "image_size": size,
            "lutkit_version": __version__,
        }
        if main:
            run_dir.mkdir(parents=True, exist_ok=True)
            for folder in (run_dir, run_dir / "recolor", run_dir / "lutnet"):
                remove_stale_temporaries(folder)  # left by a killed run
            atomic_write_text(
                run_dir / CONFIG_JSON, json.dumps({**cfg.to_dict(), **record}, indent=2)
            )

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
            counter = Counter(progress, steps_per_epoch, f"epoch {epoch + 1}/{cfg.epochs}")
            for i in range(steps_per_epoch):
                idx = order[i * cfg.batch_size : (i + 1) * cfg.batch_size]
                lr = lr_at(
                    step,
                    lr=cfg.lr,
                    total_steps=total_steps,
                    warmup_steps=cfg.warmup_steps,
                    min_lr_ratio=cfg.min_lr_ratio,
                    schedule=cfg.schedule,
                    warmup="nets",
                )
                for group in opt.param_groups:
                    group["lr"] = lr
                mine, weight = (idx, 1) if dist is None else dist.share(idx)
                loss, parts = step_losses(recolor, lutnet, batch_of(train_split, mine, device), cfg)
                opt.zero_grad(set_to_none=True)
                (loss if dist is None else loss * weight).backward()
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(
                        [p for g in opt.param_groups for p in g["params"]], cfg.grad_clip
                    )
                opt.step()
                step += 1
                for k, v in parts.items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(mine) * (weight > 0)
                counter.add()
            if dist is not None:
                sums = dist.all_sum(sums)
            train_metrics = {f"train_{k}": v / n for k, v in sums.items()}
            epochs_run += 1
            if not main:
                dist.barrier()  # rank 0 validates and saves
                continue
            done = epoch + 1 == cfg.epochs
            if done and getattr(lutnet, "exposure", None) is not None:
                fitted = fit_exposure(lutnet, recolor, train_split, cfg.batch_size, device)
                say(
                    "exposure stage fitted on {n} train pairs: mean |log gain error| "
                    "{exposure_error_before:.4f} -> {exposure_error_after:.4f}, dead zone "
                    "{exposure_deadzone:.4f}".format(n=n, **fitted)
                )
            val_metrics, tiles, labels = validate(stage, recolor, lutnet, vae, val, cfg, device)
            row = {"stage": stage, "epoch": epoch + 1, "step": step, "lr": lr}
            row.update(train_metrics)
            row.update(val_metrics)
            rows.append({c: format_metric(row.get(c)) for c in METRIC_COLUMNS})
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
            if dist is not None:
                dist.barrier()
    finally:
        torch.use_deterministic_algorithms(deterministic)
    state = (
        json.loads((run_dir / STATE_JSON).read_text()) if (run_dir / STATE_JSON).is_file() else {}
    )
    if state.get("complete") and epochs_run and test_split and main:
        _test_report(run_dir, progress, say)
    return TrainResult(
        run_dir,
        epochs_run,
        int(state.get("epoch", 0)),
        bool(state.get("complete", False)),
        rows,
        time.perf_counter() - t0,
    )


def _unscored(run_dir: Path) -> bool:
    """No ``test.json``, or one older than the last checkpoint (a stage that continued
    the run, such as lutnet after recolor, stopped before scoring)."""
    test, state = run_dir / TEST_JSON, run_dir / STATE_JSON
    if not test.is_file():
        return True
    return state.is_file() and test.stat().st_mtime_ns < state.stat().st_mtime_ns


def _test_report(run_dir: Path, progress: Progress | None, say) -> None:
    """Score the complete run on its test split (``test.json``) and say the result."""
    from lutkit.train.testsplit import write_test_report

    report = write_test_report(run_dir, progress=progress)
    if report is None:
        say("the dataset has no test pairs: no test.json (lutkit fix then uses the fitted map)")
        return
    de = " / ".join(f"{k} {v:.2f}" for k, v in report["de"].items())
    say(f"test split ({report['pairs']} pairs): delta E 2000 {de}")


def _summary(row: dict[str, str], seconds: float) -> str:
    parts = [f"epoch {row['epoch']}"]
    for key in ("train_kl", "train_lut", "val_kl", "val_lut"):
        if row[key]:
            parts.append(f"{key} {float(row[key]):.4g}")
    de = [f"{k[7:]} {float(row[k]):.2f}" for k in METRIC_COLUMNS[8:] if row[k]]
    if de:
        parts.append("val dE " + " / ".join(de))
    return "  ".join(parts) + f"  ({seconds:.1f} s)"
