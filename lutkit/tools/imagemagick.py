"""ImageMagick: find ``magick`` (7) or ``convert`` (6) and run it on one file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from lutkit.tools.process import run_tool


def find_imagemagick() -> str | None:
    """ImageMagick's ``magick`` (7) or ``convert`` (6): the first that says it is."""
    candidates = [shutil.which("magick"), shutil.which("convert-im6.q16"), shutil.which("convert")]
    for exe in candidates:
        if not exe:
            continue
        try:
            out = subprocess.run(
                [exe, "-version"], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if "ImageMagick" in out.stdout:
            return exe
    return None


def run_imagemagick(args: list[str], path: Path) -> None:
    """Run an ImageMagick command line (``args[0]`` is the executable) on ``path``."""
    run_tool(args, "ImageMagick", path)
