"""Tests that compare against an external tool: skip when it is missing, unless told.

With ``LUTKIT_REQUIRE_EXTERNAL=1`` in the environment (CI that has the tools
installed), a missing tool fails the test instead of skipping it, so a broken install
cannot pass silently.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
from types import ModuleType

import pytest


def require_tool(name: str) -> str:
    """The path of executable ``name``; pytest.skip (or pytest.fail) when absent."""
    path = shutil.which(name)
    if path is not None:
        return path
    message = f"{name} is not installed"
    if os.environ.get("LUTKIT_REQUIRE_EXTERNAL") == "1":
        pytest.fail(f"{message} and LUTKIT_REQUIRE_EXTERNAL=1")
    pytest.skip(message)
    raise AssertionError("unreachable")  # pytest.skip raises


def imagemagick() -> str:
    """ImageMagick's convert (IM6) or magick (IM7): the first that says it is ImageMagick.

    A ``convert`` early on PATH may be a stand-in or Windows' disk tool, so every
    candidate is asked for ``-version``.
    """
    candidates = [shutil.which("magick"), shutil.which("convert-im6.q16"), "/usr/bin/convert"]
    candidates += [
        os.path.join(folder, "convert") for folder in os.environ.get("PATH", "").split(os.pathsep)
    ]
    for exe in candidates:
        if not exe or not os.path.isfile(exe) or not os.access(exe, os.X_OK):
            continue
        try:
            out = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        if "ImageMagick" in out.stdout:
            return exe
    return require_tool("ImageMagick convert")  # skips, or fails when required


def require_module(name: str) -> ModuleType:
    """Import an optional module; skip (or fail with LUTKIT_REQUIRE_EXTERNAL=1) if absent."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if os.environ.get("LUTKIT_REQUIRE_EXTERNAL") == "1":
            pytest.fail(f"{name} is not installed and LUTKIT_REQUIRE_EXTERNAL=1")
        pytest.skip(f"{name} is not installed")
        raise
