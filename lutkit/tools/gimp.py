"""GIMP 2.10 headless: the one runner and the one Script-Fu string quoter.

GIMP runs as ``gimp-console-2.10 -i -n -d -f -b CMD ... -b (gimp-quit 0)`` with its
arguments as a list (no shell) and its user folders in a fresh folder
(:func:`gimp_env`), so the user's own GIMP settings, fonts and plug-ins neither leak
in nor get touched. Each start costs about 2 s: put all the work in one run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

from lutkit.errors import ToolError

GIMP = "gimp-console-2.10"


def find_gimp(exe: str = GIMP) -> str | None:
    """GIMP's console executable, or None when it is not on PATH."""
    return shutil.which(exe)


def scheme_string(text: str | PathLike[str]) -> str:
    """``text`` as a Script-Fu string literal (backslashes and quotes escaped); GIMP's
    settings files read strings the same way. A NUL cannot be written (ValueError)."""
    text = os.fspath(text)
    if "\x00" in text:
        raise ValueError("a Script-Fu string cannot hold a NUL character")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def gimp_env(home: Path) -> dict[str, str]:
    """GIMP's user folders inside ``home``: the user's own settings never leak in."""
    env = dict(os.environ)
    env.update(
        HOME=str(home / "home"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_DATA_HOME=str(home / "data"),
        GIMP2_DIRECTORY=str(home / "gimp2"),
        GEGL_SWAP=str(home / "swap"),
    )
    env.pop("DISPLAY", None)
    for sub in ("home", "config", "cache", "data", "swap"):
        (home / sub).mkdir(exist_ok=True)
    return env


def run_gimp(
    commands: Sequence[str],
    *,
    exe: str = GIMP,
    home: Path | None = None,
    timeout: float = 300.0,
    path: str | PathLike[str] | None = None,
) -> subprocess.CompletedProcess:
    """Run the Script-Fu ``commands`` (one ``-b`` each, then ``(gimp-quit 0)``) in one
    headless GIMP start, in ``home`` (a fresh temporary folder when None: every path in
    the commands must then be absolute). Returns the finished process whatever its exit
    status (callers judge GIMP's output); raises ToolError, naming ``path``, when GIMP
    cannot start or does not finish within ``timeout`` seconds."""
    args = [exe, "-i", "-n", "-d", "-f"]
    for command in commands:
        args += ["-b", command]
    args += ["-b", "(gimp-quit 0)"]
    with tempfile.TemporaryDirectory(prefix="lutkit-gimp-") as tmp:
        work = Path(tmp) if home is None else home
        try:
            return subprocess.run(
                args,
                env=gimp_env(work),
                cwd=work,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise ToolError(f"{GIMP} did not finish within {timeout:g} s", path=path) from None
        except OSError as exc:
            raise ToolError(f"cannot run {GIMP}: {exc}", path=path) from None
