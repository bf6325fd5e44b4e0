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

import contextlib
import logging
import os
import signal
import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lutkit.errors import ConfigError, LutkitWarning
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
    lines = config["lines"]

    def put(item: Any) -> None:
        with contextlib.suppress(Exception):  # a lost log line must not stop the training
            lines.put(item)

    say = put if rank == 0 else None
    with warnings.catch_warnings():
        if rank == 0:  # a lutkit warning reaches the driver's stderr as a `warning:` line
            warnings.simplefilter("always", LutkitWarning)
            show = warnings.showwarning

            def relay(message, category, *args, **kwargs) -> None:
                if issubclass(category, LutkitWarning):
                    put((WARNING, str(message)))
                else:
                    show(message, category, *args, **kwargs)

            warnings.showwarning = relay
        train(
            cfg,
            log=say,
            stop_after=config["stop_after"],
            test_split=config["test_split"],
            dist=DataParallel(rank, world, device),
        )


WARNING = "warning"  # a relayed line that is a warning: (WARNING, text)


def _relay(lines, log: Callable[[str], None], stop: threading.Event) -> None:
    """Print what rank 0 puts on ``lines`` (its progress lines and warnings) until
    ``stop`` is set and the queue is empty. Ray's own forwarding of the workers' output
    is off: it printed every line twice (stdout and stderr), with colour codes and a
    prefix, among Ray's internal actors' messages."""
    from queue import Empty

    while True:
        try:
            item = lines.get(timeout=0.2)
        except Empty:
            if stop.is_set():
                return
            continue
        except Exception:  # the queue's actor is gone (Ray shut down)
            return
        try:
            if isinstance(item, tuple) and item[:1] == (WARNING,):
                warnings.warn(item[1], LutkitWarning, stacklevel=1)
            else:
                log(str(item))
        except OSError:  # stdout closed (`| head`): keep draining, print no more
            log = _drop


def train_on_ray(
    cfg: TrainConfig,
    *,
    workers: int = 2,
    address: str | None = None,
    use_gpu: bool | None = None,
    stop_after: int | None = None,
    test_split: bool = True,
    log: Callable[[str], None] | None = None,
):
    """Train (or resume) ``cfg``'s run with ``workers`` data-parallel ranks on a local
    Ray (``workers`` CPUs) or the cluster at ``address``; ``use_gpu`` (default: when
    the cluster has GPUs and the config's device allows) gives each rank a GPU.
    ``log`` hears rank 0's progress lines (the local loop's); its warnings are warned
    here. Returns the run's :class:`lutkit.train.loop.TrainResult`, read from the run
    folder.
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
    started = start_ray(ray, address, workers)
    storage = Path(tempfile.mkdtemp(prefix="lutkit-ray-train-"))
    relay: threading.Thread | None = None
    stop = threading.Event()
    interrupted = threading.Event()
    sigint = signal.getsignal(signal.SIGINT)
    try:
        from ray.util.queue import Queue

        lines = Queue(actor_options={"num_cpus": 0})
        relay = threading.Thread(target=_relay, args=(lines, log or _drop, stop), daemon=True)
        relay.start()
        gpus = int(ray.cluster_resources().get("GPU", 0))
        if use_gpu is None:
            use_gpu = bool(gpus) and cfg.device in ("auto", "cuda")
        if cfg.device == "cuda" and not gpus:
            raise ConfigError("device cuda: the Ray cluster has no GPU", hint="use device cpu")
        cpus = int(ray.cluster_resources().get("CPU", 1))
        trainer = _interruptible(TorchTrainer, ray, interrupted)(
            _worker,
            train_loop_config={
                "cfg": cfg,
                "cwd": os.getcwd(),
                "use_gpu": use_gpu,
                "threads": 1 if address is None else max(1, cpus // workers),
                "stop_after": stop_after,
                "test_split": test_split,
                "lines": lines,
            },
            torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
            scaling_config=_scaling(
                ScalingConfig,
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
            if interrupted.is_set():
                raise KeyboardInterrupt from None
            raise ray_failure(exc, "the Ray training") from None
        finally:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, sigint)  # Ray Train leaves its own handler
        if interrupted.is_set():  # aborted: the run folder holds the last finished epoch
            raise KeyboardInterrupt
    finally:
        stop.set()
        if relay is not None:
            relay.join()  # every line rank 0 sent is printed before the summary
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


def _scaling(scaling_config: type, **kwargs: Any) -> Any:
    """A ScalingConfig whose coordinator takes no CPU: Ray Train v1 (older Rays, or
    ``RAY_TRAIN_V2_ENABLED=0``) reserves one by default, which a local Ray of ``workers``
    CPUs does not have, so the run would wait for it forever; v2's takes none and
    refuses the key."""
    try:
        return scaling_config(**kwargs, trainer_resources={"CPU": 0})
    except DeprecationWarning:  # v2
        return scaling_config(**kwargs)


def _drop(_line: str) -> None:
    pass


def _interruptible(base: type, ray: Any, interrupted: threading.Event) -> type:
    """``base`` (Ray Train's TorchTrainer) with lutkit's Ctrl-C: the first aborts the
    run as Ray Train does (its workers stop, the run folder keeps the last finished
    epoch) and sets ``interrupted``, so that ``lutkit train`` ends with "Interrupted."
    and status 130 like the local engine; a second stops waiting for the abort. Ray
    Train's own handler exits 0 or 1 without a word, and stays installed after
    ``fit``. Ray Train v1 (older Ray, or ``RAY_TRAIN_V2_ENABLED=0``) has no such hook
    and pickles the trainer's class, which this one's closure cannot be: it gets
    ``base`` as it is, and keeps Ray's own Ctrl-C."""
    if not hasattr(base, "_register_sigint_handler"):
        return base

    class Trainer(base):  # type: ignore[misc, valid-type]
        def _register_sigint_handler(self, controller: Any) -> None:
            def on_sigint(signum: int, frame: object) -> None:
                if interrupted.is_set():
                    raise KeyboardInterrupt
                interrupted.set()
                with contextlib.suppress(Exception):  # the controller may be gone
                    ray.get(controller.abort.remote())

            signal.signal(signal.SIGINT, on_sigint)

    return Trainer


def _position(cfg: TrainConfig) -> int:
    """Epochs the run folder holds of ``cfg``'s stage (0: none)."""
    import json

    from lutkit.train.checkpoint import STATE_JSON

    try:
        state = json.loads((cfg.run_dir / STATE_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    return int(state.get("epoch", 0)) if state.get("stage") == cfg.stage else 0
