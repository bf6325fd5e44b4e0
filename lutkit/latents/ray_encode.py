"""The Ray engine of ``lutkit latents``: the same batches, encoded by an actor pool.

The work becomes a Ray dataset of jobs, one per encoding batch of a pairs shard (the
batches of :func:`lutkit.latents.encode.batch_bounds`, exactly those the local engine
encodes: a VAE's output depends in its last bits on the batch it was computed in).
An actor pool runs them, one VAE per actor, on one GPU each where the cluster has
GPUs, else on one CPU each. Each actor reads its shards (checked against the index),
decodes and encodes a batch with the local engine's functions, and hands back its
rows, pickled. The driver gathers them per shard and writes a shard, with the common
writer, as soon as all its batches are in: the shards are byte-identical to the local
engine's, and an interrupted run resumes the same way.

The dataset folder must be readable by every node at the same path (a shared file
system), as for ``lutkit dataset build --engine ray``.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lutkit.errors import LutkitError


class _Encoder:
    """A Ray Data actor: one VAE, and the pairs shard it read last."""

    def __init__(
        self, folder: str, vae: str, device: str, dtype: str, size: int, fp: str, threads: int
    ):
        from lutkit.latents.encode import prepare_vae
        from lutkit.latents.vae import vae_fingerprint

        self.folder = Path(folder)
        self.device = device
        self.size = size
        self.fp = fp
        # chunks encoded at once: the CPUs Ray gave this actor (the idle-core count of a
        # local run would let every actor take all of a node's cores)
        self.threads = threads
        self.model = prepare_vae(vae, device, dtype)
        got = vae_fingerprint(self.model)
        if got != fp:  # another VAE under the same name on this node
            raise LutkitError(f"the VAE {vae!r} on a Ray node is {got}, the driver's is {fp}")
        self.name: str | None = None
        self.table = None

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        from lutkit.latents.encode import decoded_batch, encode_batch, read_pairs

        results = []
        for entry_json, start, stop in zip(
            batch["entry"], batch["start"], batch["stop"], strict=True
        ):
            try:
                entry = pickle.loads(entry_json)  # pickle-ok: the driver's own index entry
                if entry["file"] != self.name:
                    self.table, self.name = read_pairs(self.folder, entry), entry["file"]
                part = self.table.slice(int(start), int(stop) - int(start))
                imgs = decoded_batch(
                    part.column("clean").to_pylist(),
                    part.column("distorted").to_pylist(),
                    self.size,
                )
                ids = part.column("id").to_pylist()
                rows = encode_batch(self.model, ids, imgs, self.device, self.fp, self.threads)
                results.append(pickle.dumps((rows, None), protocol=5))
            except LutkitError as exc:  # raised on the driver as itself: one line
                results.append(pickle.dumps(([], exc), protocol=5))
        out = np.empty(len(results), dtype=object)
        out[:] = results
        return {"shard": batch["shard"], "pos": batch["pos"], "result": out}


NO_RESTARTS = {"max_restarts": 0}
"""For the encoder actors. Ray Data restarts a lost actor by default and keeps its
constructor arguments in the object store, and Ray then prints an error-level line at
every run (ray-project/ray#53727) that says nothing about the job. A lost actor fails
the run instead, which a rerun resumes. Ray 2.60 calls this way of passing it
deprecated (with no named parameter for it yet): that notice is for lutkit, not its
users, so :func:`_map_quietly` does not show it."""


def _map_quietly(ds: Any, *args: Any, **kwargs: Any) -> Any:
    """``ds.map_batches(...)`` with :data:`NO_RESTARTS`, without Ray's deprecation
    notice for it (and without changing the process's warning filters)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        return ds.map_batches(*args, **kwargs, **NO_RESTARTS)


def _actors(ray, device: str, workers: int) -> tuple[str, int, dict[str, float]]:
    """(actor device, actor count, resources per actor) for this cluster."""
    from lutkit.errors import ConfigError

    res = ray.cluster_resources()
    gpus, cpus = int(res.get("GPU", 0)), int(res.get("CPU", 1))
    if device in ("auto", "cuda") and gpus:
        return "cuda", workers or gpus, {"num_gpus": 1}
    if device == "cuda":
        raise ConfigError("--device cuda: the Ray cluster has no GPU", hint="use --device cpu")
    if device == "mps":
        raise ConfigError("--device mps is not available on Ray", hint="use --device cpu")
    return "cpu", workers or max(1, cpus), {"num_cpus": 1}


def encode_on_ray(
    plan,
    *,
    vae: str,
    batch_size: int,
    device: str,
    dtype: str,
    size: int,
    tick: Callable[[int], None],
    workers: int = 0,
    address: str | None = None,
) -> int:
    """Encode the shards of ``plan.todo`` on Ray (a local Ray with ``workers`` CPUs, or
    the cluster at ``address``) and write them; returns the number of images encoded."""
    import os

    from lutkit.data.ray_engine import quiet_data, ray_failure, require_ray, start_ray
    from lutkit.latents.encode import batch_bounds, write_latents_shard

    ray = require_ray()
    local_cpus = workers or len(os.sched_getaffinity(0))
    jobs = []
    bounds = []
    for k, entry in enumerate(plan.todo):
        b = batch_bounds(int(entry["rows"]), batch_size)
        bounds.append(b)
        blob = pickle.dumps(entry, protocol=5)
        jobs += [
            {"shard": k, "pos": i, "entry": blob, "start": a, "stop": z}
            for i, (a, z) in enumerate(b)
        ]
    started = start_ray(ray, address, local_cpus)
    images = 0
    try:
        actor_device, count, resources = _actors(ray, device, workers)
        with quiet_data(ray):
            ds = _map_quietly(
                ray.data.from_items(jobs, override_num_blocks=len(jobs)),
                _Encoder,
                fn_constructor_kwargs={
                    "folder": str(Path(plan.folder).resolve()),
                    "vae": vae,
                    "device": actor_device,
                    "dtype": dtype,
                    "size": size,
                    "fp": plan.fingerprint,
                    "threads": int(resources.get("num_cpus", 1)),
                },
                concurrency=count,
                batch_size=1,
                batch_format="numpy",
                **resources,
            )
            pending: dict[int, dict[int, list]] = {}
            for item in ds.iter_rows():
                k, pos = int(item["shard"]), int(item["pos"])
                # pickle-ok: our own actors' results, inside Ray (which pickles anyway)
                rows, error = pickle.loads(item["result"])
                if error is not None:
                    raise error
                tick(2 * len(rows))
                got = pending.setdefault(k, {})
                got[pos] = rows
                if len(got) < len(bounds[k]):
                    continue
                del pending[k]
                shard_rows = [r for i in range(len(bounds[k])) for r in got[i]]
                write_latents_shard(plan, plan.todo[k], shard_rows)
                images += 2 * len(shard_rows)
            if pending:  # Ray Data lost results: never write a shard with holes
                names = ", ".join(plan.todo[k]["file"] for k in sorted(pending))
                raise LutkitError(f"the Ray engine returned incomplete latents shards: {names}")
    except LutkitError:
        raise
    except Exception as exc:  # an actor that could not start, a lost node...
        raise ray_failure(exc) from None
    finally:
        if started:
            ray.shutdown()
    return images
