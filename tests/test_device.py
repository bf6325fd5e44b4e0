"""lutkit.device: the device choice, the CPU allocator setting and the idle-core count."""

from __future__ import annotations

import os

import pytest

from lutkit import device


def test_cpu_is_picked_and_keeps_freed_memory(monkeypatch):
    pytest.importorskip("torch")
    calls = []
    monkeypatch.setattr(device, "keep_freed_memory", lambda: calls.append(1) or True)
    assert device.pick_device("cpu") == "cpu"
    import torch

    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert device.pick_device("auto") == "cpu"  # auto on a CPU machine: set too
        assert len(calls) == 2
    with pytest.raises(device.ConfigError, match="unknown device 'tpu'"):
        device.pick_device("tpu")


def test_keep_freed_memory_is_once_per_process_and_can_be_turned_off(monkeypatch):
    monkeypatch.setattr(device, "_kept", None)
    monkeypatch.setenv("LUTKIT_KEEP_FREED_MEMORY", "0")
    assert device.keep_freed_memory() is False
    monkeypatch.delenv("LUTKIT_KEEP_FREED_MEMORY")
    assert device.keep_freed_memory() is False  # decided once: the first call's answer
    monkeypatch.setattr(device, "_kept", None)
    on = device.keep_freed_memory()
    assert on is (os.path.exists("/proc/self/maps") and _glibc())
    assert device.keep_freed_memory() is on


def _glibc() -> bool:
    import ctypes

    try:
        return hasattr(ctypes.CDLL("libc.so.6"), "mallopt")
    except OSError:
        return False


def test_idle_cores_counts_only_this_process_cpus(monkeypatch, tmp_path):
    if not hasattr(os, "sched_getaffinity") or not os.path.exists("/proc/stat"):
        pytest.skip("Linux only")
    idle = device.idle_cores(0.05)
    assert idle is not None and 0.0 <= idle <= len(os.sched_getaffinity(0)) + 1e-9
    # A made-up /proc/stat: CPUs 0 and 1 are this process's; cpu0 idle all the time,
    # cpu1 busy all the time, cpu2 (not ours) idle: one idle core.
    samples = iter(
        [
            "cpu 0 0 0 0 0 0 0 0\ncpu0 0 0 0 100 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0\n"
            "cpu2 0 0 0 100 0 0 0 0\n",
            "cpu 0 0 0 0 0 0 0 0\ncpu0 0 0 0 200 0 0 0 0\ncpu1 100 0 0 0 0 0 0 0\n"
            "cpu2 0 0 0 200 0 0 0 0\n",
        ]
    )
    real_open = open

    def fake_open(path, *a, **k):
        if path == "/proc/stat":
            f = tmp_path / "stat"
            f.write_text(next(samples))
            return real_open(f, *a, **k)
        return real_open(path, *a, **k)

    monkeypatch.setattr("builtins.open", fake_open)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert device.idle_cores(0) == pytest.approx(1.0)

    def no_stat(path, *a, **k):
        raise FileNotFoundError(path)

    monkeypatch.setattr("builtins.open", no_stat)
    assert device.idle_cores(0) is None
