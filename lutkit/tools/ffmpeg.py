"""ffmpeg: find it on PATH and run it on one file."""

from __future__ import annotations

import shutil
from pathlib import Path

from lutkit.tools.process import run_tool

FFMPEG = "ffmpeg"


def find_ffmpeg() -> str | None:
    """ffmpeg's executable, or None when it is not installed."""
    return shutil.which(FFMPEG)


def run_ffmpeg(args: list[str], path: Path) -> None:
    """Run an ffmpeg command line (``args[0]`` is the executable) on ``path``."""
    run_tool(args, "ffmpeg", path)
