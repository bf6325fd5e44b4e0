"""The Ray engine: the same per-source function and the same shard writer, on Ray Data.

The build becomes a Ray dataset of jobs, one per source image, each carrying its
shard and its index within the shard. ``map_batches`` runs the per-source step
(:func:`lutkit.data.build.source_rows`, the one the local engine runs) on the
cluster's CPUs and hands back each source's rows, pickled, so the Python values reach
the writer untouched. The driver gathers them per shard and, as soon as a shard has
all its sources, writes it with the common writer in plan order (sources in order,
variants in order): both engines write byte-identical shards, and a shard is on disk
as soon as it is complete, so an interrupted Ray build resumes like a local one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lutkit.errors import ConfigError, LutkitError

if TYPE_CHECKING:
    from lutkit.data.build import ShardDone

MAX_BLOCKS = 4096


def require_ray():
    """The ``ray`` module, or a clear error when the ``scale`` extra is missing."""
    try:
        import ray
        import ray.data  # noqa: F401 (the [data] extra)
    except ImportError:
        raise ConfigError(
            "the Ray engine needs ray[data]", hint="pip install 'lutkit[scale]'"
        ) from None
    return ray


def _make_rows(batch: dict[str, Any], maker) -> dict[str, Any]:
    """The ``map_batches`` step: one source's rows (or its rejection) per job.

    A lutkit error (a bad recipe on a worker, say) travels back in the result and is
    raised on the driver as itself, so the CLI still prints one line.
    """
    import numpy as np

    from lutkit.data.build import source_rows, worker_maker
    from lutkit.data.sources import SourceImage

    maker = worker_maker(maker)
    results = []
    for path, name, sha, split in zip(
        batch["path"], batch["source"], batch["sha256"], batch["split"], strict=True
    ):
        src = SourceImage(Path(str(path)), str(name), str(sha))
        try:
            rows, rejected = source_rows(maker, src, str(split))
            results.append(pickle.dumps((rows, rejected, None), protocol=5))
        except LutkitError as exc:
            results.append(pickle.dumps(([], None, exc), protocol=5))
    out = np.empty(len(results), dtype=object)
    out[:] = results
    return {"shard": batch["shard"], "pos": batch["pos"], "result": out}


def _jobs(todo) -> list[dict[str, Any]]:
    return [
        {
            "shard": k,
            "name": plan.name,
            "pos": i,
            "path": str(src.path),
            "source": src.name,
            "sha256": src.sha256,
            "split": plan.split,
        }
        for k, plan in enumerate(todo)
        for i, src in enumerate(plan.sources)
    ]


def _worker_env() -> dict[str, str]:
    # lutkit settings (LUTKIT_MAX_PIXELS, LUTKIT_LIBRARY...) follow the driver; each
    # worker is one core, so no nested kernel threads.
    env = {k: v for k, v in os.environ.items() if k.startswith("LUTKIT_")}
    env["LUTKIT_THREADS"] = "1"
    return env


def start_ray(ray, address: str | None, workers: int) -> bool:
    """Start a local Ray (``workers`` CPUs) or join ``address``; True if we started it.
    The workers' output is not forwarded to the driver: what a user should see comes
    back as results (``lutkit train`` relays rank 0's lines itself)."""
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {
        "log_to_driver": False,
        "logging_level": logging.WARNING,
        "runtime_env": {"env_vars": _worker_env()},
    }
    # A local Ray turns on token authentication (the safe default) and says so at every
    # start: a notice about Ray, not about the job, so it is not shown for a Ray that
    # lutkit starts for itself. Joining a cluster shows what Ray has to say.
    notice = logging.getLogger("ray._private.authentication.authentication_token_setup")
    quiet = notice.level
    if address:
        _check_reachable(address)
        kwargs["address"] = address
    else:
        kwargs.update(num_cpus=max(1, workers), include_dashboard=False)
        notice.setLevel(logging.ERROR)
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise LutkitError(
            f"cannot start or reach {where}: {exc}",
            hint="check --ray-address, or leave it out for a local Ray",
        ) from None
    finally:
        notice.setLevel(quiet)
    return True


def check_address_form(address: str) -> None:
    """A one-line error for a --ray-address that is no address a driver can join: a web
    address (the dashboard's), or an IPv6 address without brackets. Nothing is
    contacted."""
    if address.lower().startswith(("http://", "https://")):
        raise ConfigError(
            f"--ray-address {address} is a web address (Ray's dashboard and job API), "
            "which a driver does not join",
            hint="give the head node's HOST:PORT, e.g. HEAD:6379 (ray://HEAD:10001 for Ray Client)",
        )
    hostport = address.removeprefix("ray://")
    if (hostport.count(":") > 1 and "[" not in hostport) or (
        hostport.startswith("[") and not hostport.rpartition("]:")[2].isdigit()
    ):
        raise ConfigError(
            f"--ray-address {address}: an IPv6 host goes in brackets, before the port",
            hint="e.g. [fe80::1]:6379",
        )


def _check_reachable(address: str) -> None:
    """A one-line error, in seconds, when nothing listens at a HOST:PORT address (Ray
    itself retries for minutes); other forms ("auto", none with a port) go to Ray."""
    import socket

    check_address_form(address)
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as exc:
        why = (exc.strerror or str(exc) or type(exc).__name__).lower()
        raise LutkitError(
            f"cannot reach the Ray cluster at {address}: {why}",
            hint="check --ray-address: the head node's HOST:PORT, e.g. HEAD:6379; or "
            "leave it out for a local Ray",
        ) from None


def ray_failure(exc: BaseException, what: str = "the Ray engine") -> LutkitError:
    """A one-line error for a failure inside Ray: the lutkit error a worker raised (Ray
    wraps it, keeping it as a cause), or the last line of what Ray reports."""
    seen = set()
    todo: list[Any] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, LutkitError):
            return e
        todo += [getattr(e, "cause", None), e.__cause__, e.__context__]
        todo += list((getattr(e, "worker_failures", None) or {}).values())
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return LutkitError(f"{what} failed: {lines[-1] if lines else type(exc).__name__}")


@contextlib.contextmanager
def quiet_data(ray) -> Iterator[None]:
    """No Ray Data progress bars or execution banners (lutkit shows its own bar)."""
    ctx = ray.data.DataContext.get_current()
    names = ("enable_progress_bars", "print_on_execution_start", "enable_auto_log_stats")
    saved = {n: getattr(ctx, n) for n in names if hasattr(ctx, n)}
    for n in saved:
        setattr(ctx, n, False)
    logger = logging.getLogger("ray.data")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
        for n, v in saved.items():
            setattr(ctx, n, v)


def run_ray(
    maker,
    todo,
    out: Path,
    workers: int,
    tick: Callable[[int], None],
    address: str | None = None,
) -> dict[str, ShardDone]:
    """Build the shards of ``todo`` on Ray Data (a local Ray with ``workers`` CPUs, or
    the cluster at ``address``); same arguments and report as the local engine."""
    ray = require_ray()
    if not todo:
        return {}
    from lutkit.data.build import ShardDone, write_shard_rows
    from lutkit.data.card import card_row

    jobs = _jobs(todo)
    started = start_ray(ray, address, workers)
    done: dict[str, ShardDone] = {}
    try:
        with quiet_data(ray):
            # One block per source (up to a cap): each source is its own task, so
            # results stream back as they are made and spread over the cluster.
            blocks = min(len(jobs), MAX_BLOCKS)
            ds = ray.data.from_items(jobs, override_num_blocks=blocks).map_batches(
                _make_rows,
                fn_kwargs={"maker": maker},
                batch_size=1,
                batch_format="numpy",
                num_cpus=1,
            )
            pending: dict[int, dict[int, tuple]] = {}
            for item in ds.iter_rows():
                k, pos = int(item["shard"]), int(item["pos"])
                # pickle-ok: our own workers' results, inside Ray (which pickles anyway)
                rows, rejected, error = pickle.loads(item["result"])
                if error is not None:
                    raise error
                tick(len(rows))
                got = pending.setdefault(k, {})
                got[pos] = (rows, rejected)
                plan = todo[k]
                if len(got) < len(plan.sources):
                    continue
                del pending[k]
                parts = [got[i] for i in range(len(plan.sources))]
                rows = [row for made, _ in parts for row in made]
                bad = [bad for _, bad in parts if bad is not None]
                card = {i: card_row(rows[i]) for i in plan.card if i < len(rows)}
                done[plan.name] = ShardDone(
                    write_shard_rows(plan, rows, bad, out, maker.luts_digest), len(rows), bad, card
                )
            if pending:  # Ray Data lost results: never write a shard with holes
                names = ", ".join(todo[k].name for k in sorted(pending))
                raise LutkitError(f"the Ray engine returned incomplete shards: {names}")
    finally:
        if started:
            ray.shutdown()
    return done
