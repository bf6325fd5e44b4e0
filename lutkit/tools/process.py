"""Run an external tool: an argument list (no shell), no stdin, output captured, a
timeout, and any failure as one :class:`~lutkit.errors.ToolError` naming the file."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from lutkit.errors import ToolError

TIMEOUT = 300.0


def run_tool(
    args: list[str], what: str, path: Path, *, timeout: float = TIMEOUT, **kwargs: Any
) -> subprocess.CompletedProcess:
    """Run ``args``; raise ToolError (``what`` failed on ``path``) when it cannot start,
    times out or exits non-zero (with the last line it said)."""
    try:
        proc = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            **kwargs,
        )
    except subprocess.TimeoutExpired:
        raise ToolError(f"{what} did not finish within {timeout:g} s", path=path) from None
    except OSError as exc:
        raise ToolError(f"cannot run {what}: {exc}", path=path) from None
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip().splitlines()
        raise ToolError(
            f"{what} failed (exit {proc.returncode}): {said[-1] if said else 'no output'}",
            path=path,
        )
    return proc
