"""Commands whose optional dependency is missing (the light `pip install .`) say which
extra to install in one line, instead of a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lutkit.images import save_image


def _hide(tmp_path: Path, *names: str) -> str:
    """A folder that, first on PYTHONPATH, makes ``import NAME`` fail as if NAME were
    not installed."""
    shim = tmp_path / "shim"
    for name in names:
        pkg = shim / name
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text(
            f"raise ModuleNotFoundError(\"No module named '{name}'\", name={name!r})\n"
        )
    return str(shim)


@pytest.mark.parametrize(
    "args,extra,name",
    [
        (["fix", "photo.png", "-o", "out.png"], "ml", "torch"),
        (["model", "info", "default"], "ml", "torch"),
        (["latents", "datasets/none"], "ml", "torch"),
        (["demo", "--out", "d", "--model", "default"], "ml", "torch"),
    ],
)
def test_a_missing_extra_is_one_line(tmp_path, args, extra, name):
    save_image(tmp_path / "photo.png", np.full((32, 32, 3), 128, np.uint8))
    env = dict(os.environ)
    repo = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([_hide(tmp_path, "torch", "diffusers"), repo])
    out = subprocess.run(
        [sys.executable, "-c", "from lutkit.cli import main; main()", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1, out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.startswith(f"Error: this command needs {name}, which is not installed")
    assert f"pip install 'lutkit[{extra}]'" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png", "shim"]  # nothing written
