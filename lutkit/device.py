"""The compute device: ``auto`` picks cuda, then mps, then cpu (used by training, latents
and inference alike), and the C allocator's settings for torch on a CPU and for the
dataset build's array work."""

from __future__ import annotations

import os
import sys

from lutkit.errors import ConfigError

# glibc's mallopt() parameters (malloc.h) and what lutkit sets them to.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
KEEP_FREED_BYTES = 256 << 20
_kept: bool | None = None


def pick_device(device: str) -> str:
    """'auto' -> cuda, then mps, then cpu; an explicit device is checked."""
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        device = "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device cuda: no CUDA GPU is available",
            hint='use --device cpu; in a training config, device = "cpu" or --set device=cpu',
        )
    if device == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise ConfigError(
            "device mps: Apple's MPS is not available",
            hint='use --device cpu; in a training config, device = "cpu" or --set device=cpu',
        )
    if device not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"unknown device {device!r}: use auto, cpu, cuda or mps")
    if device == "cpu":
        keep_freed_memory()
    return device


def keep_freed_memory() -> bool:
    """Let the C library's malloc keep freed blocks of up to 256 MiB for reuse.

    A network's forward pass on a CPU allocates and frees tensors of megabytes at every
    layer. By default glibc serves such blocks with mmap and unmaps them when freed (and
    trims its heap), so the next layer faults every page in again and the kernel zeroes
    it: on lutkit's default VAE at 224 that is about a quarter of an encode (and about
    15% of the distortion ops' time in a dataset build at 256 px). Raising the
    mmap and trim thresholds keeps the memory in the process instead (the peak RSS of
    ``lutkit latents`` measured the same on 2 cores). Only where blocks come from changes,
    never a value: the results are the same bytes. It acts on the whole process (glibc
    settings: blocks over 64 MiB allocated in threads other than the main one are still
    mapped), once per process; False where the C library is not glibc, or with
    ``LUTKIT_KEEP_FREED_MEMORY=0``.
    """
    global _kept
    if _kept is not None:
        return _kept
    _kept = False
    if os.environ.get("LUTKIT_KEEP_FREED_MEMORY", "1") == "0" or not sys.platform.startswith(
        "linux"
    ):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: no glibc mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _kept = bool(mallopt(_M_MMAP_THRESHOLD, KEEP_FREED_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES)
    )
    return _kept


def idle_cores(seconds: float = 0.2) -> float | None:
    """How many of the CPUs this process may use sat idle over the next ``seconds``
    (from ``/proc/stat``: the idle and iowait share of each such CPU's time, summed);
    None where there is no ``/proc/stat``."""
    import time

    try:
        mine = {f"cpu{n}" for n in os.sched_getaffinity(0)}
    except AttributeError:  # not Linux
        return None

    def sample() -> dict[str, tuple[int, int]]:
        out = {}
        with open("/proc/stat", encoding="ascii") as f:
            for line in f:
                name, *values = line.split()
                if name in mine:
                    fields = [int(v) for v in values]
                    # (idle + iowait, all but guest time)
                    out[name] = (sum(fields[3:5]), sum(fields[:8]))
        return out

    try:
        before = sample()
        time.sleep(seconds)
        after = sample()
    except (OSError, ValueError):
        return None
    idle = 0.0
    for cpu, (idle1, total1) in after.items():
        idle0, total0 = before.get(cpu, (idle1, total1))
        if total1 > total0:
            idle += (idle1 - idle0) / (total1 - total0)
    return idle if after else None
