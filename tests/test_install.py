"""``pip install .`` outside the checkout: a wheel of this checkout, installed into a
fresh venv (no network: ``--no-deps``, with this interpreter's packages on the path
for the core dependencies, and torch, diffusers and Ray made unimportable), runs every
``lut``, ``recipe``, ``distort`` and ``dataset`` command from a folder that is not the
checkout: recipes, the LUT library and the GIMP scripts ship inside the package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

# Imported by a .pth in the fresh venv: the core install must not need these.
_BLOCK = """
import sys

class _NoML:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split(".")[0] in ("torch", "diffusers", "ray"):
            raise ModuleNotFoundError(f"{name} is not part of the core install")
        return None

sys.meta_path.insert(0, _NoML())
"""


def _tracked_copy(dst: Path) -> None:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if out.returncode != 0:
        pytest.skip("not a git checkout: cannot tell the source files apart")
    for name in out.stdout.decode().split("\0"):
        if not name or name.startswith(("tests/", "docs/")) or not (ROOT / name).is_file():
            continue
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, dst / name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ folder of a fresh venv with lutkit installed from a wheel."""
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    _tracked_copy(src)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(
        [*pip, "wheel", str(src), "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "w"],
        check=True,
        env=env,
        cwd=tmp,
    )
    wheel = next((tmp / "w").glob("lutkit-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp / "venv"], check=True)
    py = tmp / "venv" / "bin" / "python"
    subprocess.run(
        [*pip, "--python", py, "install", "--no-deps", "--no-index", "-q", wheel],
        check=True,
        env=env,
    )
    site = Path(
        subprocess.check_output(
            [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        )
        .decode()
        .strip()
    )
    (site / "nomlblock.py").write_text(_BLOCK)
    # The core dependencies from this interpreter (its .pth files, such as an
    # editable lutkit, are not run: a plain path line only extends sys.path).
    (site / "zz_deps.pth").write_text(f"import nomlblock\n{sysconfig.get_paths()['purelib']}\n")
    return tmp / "venv" / "bin"


@pytest.mark.slow
def test_every_core_command_runs_outside_the_checkout(installed, tmp_path):
    import skimage.data
    from PIL import Image

    work = tmp_path / "elsewhere"
    (work / "pics").mkdir(parents=True)
    for name in ("astronaut", "coffee"):
        pixels = getattr(skimage.data, name)()[::8, ::8]
        Image.fromarray(np.ascontiguousarray(pixels)).save(work / "pics" / f"{name}.png")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LUTKIT_LIBRARY")}
    env.pop("LUTKIT_RECIPES", None)

    def lutkit(*args: str) -> str:
        out = subprocess.run(
            [installed / "lutkit", *args], cwd=work, env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, f"lutkit {' '.join(args)}\n{out.stdout}\n{out.stderr}"
        return out.stdout

    where = subprocess.check_output(
        [installed / "python", "-c", "import lutkit; print(lutkit.__file__)"], cwd=work, env=env
    )
    assert str(installed.parent) in where.decode()  # the wheel, not the checkout
    torch = subprocess.run(
        [installed / "python", "-c", "import torch"], env=env, cwd=work, capture_output=True
    )
    assert torch.returncode != 0  # the core install works without it

    assert "sodium-orange" in lutkit("lut", "list")
    assert "lighting" in lutkit("recipe", "list")
    assert "lighting.cct" in lutkit("recipe", "ops")
    assert "stage 1" in lutkit("recipe", "show", "lighting")
    lutkit("lut", "identity", "--size", "9", "-o", "id.cube")
    lutkit("lut", "identity", "--hald", "2", "-o", "id.png")
    assert "3D" in lutkit("lut", "info", "sodium-orange")
    lutkit("lut", "plot", "sodium-orange", "-o", "plot.png")
    lutkit("lut", "convert", "sodium-orange", "s.png", "--level", "4")
    lutkit("lut", "import", "s.png", "-o", "imported.cube")
    lutkit("lut", "apply", "sodium-orange", "pics", "-o", "graded")
    assert len(list((work / "graded").glob("*.png"))) == 2
    lutkit("distort", "pics/coffee.png", "-o", "d.png", "--recipe", "lighting")
    lutkit("distort", "pics/coffee.png", "-o", "d2.png", "--recipe", "lut-library")
    lutkit("recipe", "preview", "film", "--image", "pics/coffee.png", "-o", "s.jpg", "--n", "2")
    build = ["dataset", "build", "--source", "pics", "--out", "ds", "--size", "32"]
    lutkit(*build, "--variants", "1", "--workers", "1", "--splits", "1,0,0")
    assert json.loads(lutkit("dataset", "info", "ds", "--json"))["counts"]["train"] == 2
    assert lutkit("dataset", "info", "ds").startswith("name      ds")
    assert "ok" in lutkit("dataset", "verify", "ds")
    lutkit("dataset", "preview", "ds", "-o", "p.jpg", "--n", "2")
    lutkit("dataset", "export", "ds", "-o", "exported")
    if shutil.which("gimp-console-2.10"):
        lutkit("lut", "build-gimp", "--only", "sodium-orange", "--library", "mine")
        assert (work / "mine" / "sodium-orange.cube").is_file()
