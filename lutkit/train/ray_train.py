"""``lutkit train --engine ray``: the training loop, data-parallel on Ray Train.

Ray Train's ``TorchTrainer`` starts ``workers`` ranks (one GPU each where the cluster
has GPUs, with NCCL; else one CPU each, with gloo) and each runs
:func:`lutkit.train.loop.train` with a :class:`DataParallel`: the same config, the
same batches (every global batch is the local run's, split across the ranks), the
step's losses through ``DistributedDataParallel`` so that gradients are averaged,
weighted by each rank's share, into exactly the local run's gradient up to rounding.
Rank 0 validates and writes the run folder (config, weights, resume state, metrics),
so a Ray run resumes like a local one, from the same files, on either engine.

The run folder and the dataset must be on storage that every node reads and writes
at the same path (a shared file system).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lutkit.errors import ConfigError
from lutkit.train.config import TrainConfig


class DataParallel:
    """One rank's view of a data-parallel run (``torch.distributed`` initialised)."""

    def __init__(self, rank: int, world: int, device: str) -> None:
        self.rank, self.world, self.device = rank, world, device

    def share(self, idx):
        """(this rank's rows of the global batch ``idx``, its loss weight). The weight
        makes DDP's average of the ranks' gradients the gradient of the global batch's
        mean loss; a rank left without rows computes one row at weight 0."""
        mine = idx[self.rank :: self.world]
        if len(mine) == 0:
            return idx[:1], 0.0
        return mine, self.world * len(mine) / len(idx)

    def step_losses(self, stage, recolor, lutnet) -> Callable:
        """``stage.losses`` computed through DDP (gradients averaged over the ranks)."""
        import torch
        from torch.nn.parallel import DistributedDataParallel

        class Step(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.recolor, self.lutnet = recolor, lutnet

            def forward(self, batch, cfg):
                return stage.losses(self.recolor, self.lutnet, batch, cfg)

        ids = [torch.device(self.device).index or 0] if self.device.startswith("cuda") else None
        # static_graph: the same parameters take part in every step (a stage's frozen
        # recolor net takes none), so DDP needs no search for unused ones.
        ddp = DistributedDataParallel(Step(), device_ids=ids, static_graph=True)
        return lambda _recolor, _lutnet, batch, cfg: ddp(batch, cfg)

    def all_sum(self, sums: dict[str, float]) -> dict[str, float]:
        """Each value summed over the ranks (same keys on every rank)."""
        import torch
        import torch.distributed as tdist

        keys = sorted(sums)
        t = torch.tensor([sums[k] for k in keys], dtype=torch.float64, device=self.device)
        tdist.all_reduce(t)
        return dict(zip(keys, t.tolist(), strict=True))

    def barrier(self) -> None:
        import torch.distributed as tdist

        tdist.barrier()


def _worker(config: dict[str, Any]) -> None:
    """One Ray Train rank: the local loop with a :class:`DataParallel`."""
    import ray.train
    import torch

    from lutkit.train.loop import train

    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    os.chdir(config["cwd"])  # the config's relative paths mean what they meant to the driver
    cfg = config["cfg"]
    device = "cpu"
    if config["use_gpu"]:
        import ray.train.torch

        device = str(ray.train.torch.get_device())
        torch.cuda.set_device(device)
    else:
        torch.set_num_threads(max(1, int(config["threads"])))
    cfg.device = "cuda" if device.startswith("cuda") else "cpu"
    say = (lambda line: print(line, flush=True)) if rank == 0 else None
    train(
        cfg,
        log=say,
        stop_after=config["stop_after"],
        test_split=config["test_split"],
        dist=DataParallel(rank, world, device),
    )


def train_on_ray(
    cfg: TrainConfig,
    *,
    workers: int = 2,
    address: str | None = None,
    use_gpu: bool | None = None,
    stop_after: int | None = None,
    test_split: bool = True,
):
    """Train (or resume) ``cfg``'s run with ``workers`` data-parallel ranks on a local
    Ray (``workers`` CPUs) or the cluster at ``address``; ``use_gpu`` (default: when
    the cluster has GPUs and the config's device allows) gives each rank a GPU.
    Returns the run's :class:`lutkit.train.loop.TrainResult`, read from the run folder.
    """
    import shutil
    import time

    from lutkit.data.ray_engine import ray_failure, require_ray, start_ray
    from lutkit.train.checkpoint import check_fresh_folder, load_checkpoint
    from lutkit.train.loop import TrainResult

    ray = require_ray()
    try:
        from ray.train import RunConfig, ScalingConfig
        from ray.train.torch import TorchConfig, TorchTrainer
    except ImportError:
        raise ConfigError(
            "the Ray training engine needs ray[train]", hint="pip install 'lutkit[scale]'"
        ) from None
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    cfg.check()
    if load_checkpoint(cfg.run_dir) is None:
        check_fresh_folder(cfg.run_dir)  # here, before a cluster starts, not in every rank
    t0 = time.perf_counter()
    before = _position(cfg)
    started = start_ray(ray, address, workers, logs=True)
    storage = Path(tempfile.mkdtemp(prefix="lutkit-ray-train-"))
    try:
        gpus = int(ray.cluster_resources().get("GPU", 0))
        if use_gpu is None:
            use_gpu = bool(gpus) and cfg.device in ("auto", "cuda")
        if cfg.device == "cuda" and not gpus:
            raise ConfigError("device cuda: the Ray cluster has no GPU", hint="use device cpu")
        cpus = int(ray.cluster_resources().get("CPU", 1))
        trainer = TorchTrainer(
            _worker,
            train_loop_config={
                "cfg": cfg,
                "cwd": os.getcwd(),
                "use_gpu": use_gpu,
                "threads": 1 if address is None else max(1, cpus // workers),
                "stop_after": stop_after,
                "test_split": test_split,
            },
            torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
            scaling_config=ScalingConfig(
                num_workers=workers,
                use_gpu=use_gpu,
                resources_per_worker={"GPU": 1} if use_gpu else {"CPU": 1},
            ),
            run_config=RunConfig(name=cfg.name, storage_path=str(storage)),
        )
        logging.getLogger("ray.train").setLevel(logging.ERROR)
        try:
            trainer.fit()
        except Exception as exc:  # a rank's lutkit error, a lost node...
            raise ray_failure(exc, "the Ray training") from None
    finally:
        shutil.rmtree(storage, ignore_errors=True)
        if started:
            ray.shutdown()
    checkpoint = load_checkpoint(cfg.run_dir)
    state = checkpoint[1] if checkpoint else {}
    epoch = _position(cfg)
    return TrainResult(
        cfg.run_dir,
        epoch - before,
        epoch,
        bool(state.get("complete", False)) and state.get("stage") == cfg.stage,
        list(state.get("metrics", [])),
        time.perf_counter() - t0,
    )


def _position(cfg: TrainConfig) -> int:
    """Epochs the run folder holds of ``cfg``'s stage (0: none)."""
    import json

    from lutkit.train.checkpoint import STATE_JSON

    try:
        state = json.loads((cfg.run_dir / STATE_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    return int(state.get("epoch", 0)) if state.get("stage") == cfg.stage else 0
