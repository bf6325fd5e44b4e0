"""Run ``lutkit`` commands as real child processes and measure what they did.

Two ways, both real processes with their own exit status, stderr and memory:

* :func:`run_fresh` starts the installed ``lutkit`` console script (a fresh Python).
* :class:`Zygote` is one helper process that imports lutkit, torch and diffusers once
  and forks a child per command (the fork runs ``lutkit.cli.main`` with the argv, its
  stdout/stderr in files). It makes hundreds of bad-input runs affordable on a small
  machine: a fresh interpreter that imports torch costs seconds, a fork milliseconds.

Both report the exit status, stdout, stderr, the child's peak RSS (``wait4``) and
whether it hit the time limit (then its whole process group is SIGKILLed).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

TIMEOUT_S = 60.0  # a hang guard, not a speed assertion
MEMORY_LIMIT_MB = 1536.0


@dataclass
class Outcome:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    max_rss_mb: float
    timed_out: bool


def _wait(pid: int, timeout: float) -> tuple[int, float, bool]:
    """wait4 the child (SIGKILL its group after ``timeout``): (status, peak MB, timed out)."""
    deadline = time.monotonic() + timeout
    timed_out = False
    delay = 0.002
    while True:
        got, status, usage = os.wait4(pid, os.WNOHANG)
        if got == pid:
            break
        if time.monotonic() > deadline and not timed_out:
            timed_out = True
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    code = os.waitstatus_to_exitcode(status)
    return code, usage.ru_maxrss / 1024.0, timed_out  # ru_maxrss is in KiB on Linux


def lutkit_exe() -> str:
    exe = Path(sys.executable).parent / "lutkit"
    return str(exe) if exe.is_file() else shutil.which("lutkit") or "lutkit"


# A forked child inherits its parent's peak RSS (Linux keeps it across exec), so a
# child of a big pytest process would look big. The command is therefore started by a
# small launcher process, which reports the peak RSS of its own child.
_LAUNCHER = r"""
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(128 - code if code < 0 else code)  # a signal death N as 128 + N, like a shell
"""


def run_fresh(args: list[str], *, cwd: Path, timeout: float = TIMEOUT_S) -> Outcome:
    """``lutkit ARGS`` as a new process (the console script), in its own session."""
    return run_measured([lutkit_exe(), *args], cwd=cwd, timeout=timeout)


def run_measured(argv: list[str], *, cwd: Path, timeout: float = TIMEOUT_S) -> Outcome:
    """Any command as a new process in its own session, its peak RSS measured."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile() as rss_file,
    ):
        proc = subprocess.Popen(
            [sys.executable, "-S", "-c", _LAUNCHER, rss_file.name, *argv],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        code, _, timed_out = _wait(proc.pid, timeout)
        proc.returncode = code  # reaped by wait4 above; keep Popen from waiting again
        if code > 128:  # the launcher passes on a signal death as 128 + N
            code = -(code - 128)
        text = Path(rss_file.name).read_text()
        rss = int(text) / 1024.0 if text else float("inf")
        out.seek(0)
        err.seek(0)
        return Outcome(
            argv,
            code,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            rss,
            timed_out,
        )


# --------------------------------------------------------------------------- zygote

_ZYGOTE_SOURCE = r"""
import json, os, sys, time, signal, traceback
import lutkit.cli
for mod in ("lut", "distort", "dataset", "latents", "train", "fix", "vae"):
    __import__("lutkit.cli." + mod)
import numpy, PIL.Image, pyarrow.parquet, torch, diffusers, safetensors.torch  # noqa
sys.path.insert(0, os.environ["ZYGOTE_HARNESS_DIR"])
from harness import _wait

for line in sys.stdin:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setsid()
            os.chdir(req["cwd"])
            out = os.open(req["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            err = os.open(req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            nul = os.open(os.devnull, os.O_RDONLY)
            os.dup2(nul, 0); os.dup2(out, 1); os.dup2(err, 2)
            sys.stdin = open(0, closefd=False)
            sys.stdout = open(1, "w", closefd=False)
            sys.stderr = open(2, "w", closefd=False)
            sys.argv = ["lutkit", *req["argv"]]
            try:
                lutkit.cli.main.main(req["argv"], prog_name="lutkit", standalone_mode=True)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:
                traceback.print_exc()
                code = 1
        finally:
            try:
                sys.stdout.flush(); sys.stderr.flush()
            finally:
                os._exit(code)
    code, rss, timed_out = _wait(pid, req["timeout"])
    print(json.dumps({"code": code, "rss": rss, "timed_out": timed_out}), flush=True)
"""


class Zygote:
    """A preloaded lutkit that forks one real child process per command."""

    def __init__(self) -> None:
        env = dict(os.environ, ZYGOTE_HARNESS_DIR=str(Path(__file__).parent))
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE_SOURCE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._lock = threading.Lock()
        self._tmp = Path(tempfile.mkdtemp(prefix="lutkit-zygote-"))

    def run(self, args: list[str], *, cwd: Path, timeout: float = TIMEOUT_S) -> Outcome:
        with self._lock:
            out, err = self._tmp / "stdout", self._tmp / "stderr"
            req = {
                "argv": [str(a) for a in args],
                "cwd": str(cwd),
                "stdout": str(out),
                "stderr": str(err),
                "timeout": timeout,
            }
            assert self._proc.stdin is not None and self._proc.stdout is not None
            self._proc.stdin.write(json.dumps(req) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
            if not line:
                raise RuntimeError("the zygote process died")
            rep = json.loads(line)
            return Outcome(
                req["argv"],
                rep["code"],
                out.read_text("utf-8", "replace"),
                err.read_text("utf-8", "replace"),
                rep["rss"],
                rep["timed_out"],
            )

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)
        shutil.rmtree(self._tmp, ignore_errors=True)


# --------------------------------------------------------------------------- checks


def snapshot(folder: Path) -> dict[str, str]:
    """relative path -> sha256 (or '<dir>') of everything under ``folder``."""
    import hashlib

    out: dict[str, str] = {}
    if not folder.exists():
        return out
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = "<dir>" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def leftovers(folder: Path) -> list[str]:
    """Temporary or partial files anywhere under ``folder``."""
    return sorted(
        str(p)
        for p in folder.rglob("*")
        if p.name.endswith(".part") or (p.name.startswith(".") and p.name.endswith(".tmp"))
    )
