"""Build the C LUT kernels, and ship the data the commands need (everything else is in
pyproject.toml)."""

import shutil
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent

# Folders of the checkout that the commands need at run time, copied into the package
# (lutkit/resources/NAME) when it is built, so that `pip install .` works from any
# folder; lutkit.shipped finds them (name -> checkout folder, files).
SHIPPED = {
    "luts": ("luts", ["*.cube", "index.toml", "gimp/*.scm"]),
    "recipes": ("pipelines/recipes", ["*.toml"]),
    "train": ("pipelines/train", ["*.toml"]),
}


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        for name, (folder, patterns) in SHIPPED.items():
            src = ROOT / folder
            for pattern in patterns:
                for f in sorted(src.glob(pattern)):
                    dst = Path(self.build_lib, "lutkit", "resources", name, f.relative_to(src))
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(f, dst)


setup(
    cmdclass={"build_py": BuildPyWithData},
    ext_modules=[
        Extension(
            "lutkit.luts._lutc",
            ["lutkit/luts/_lutc.c"],
            # -ffp-contract=off: no fused multiply-adds, so the vector and the scalar paths
            # round alike (bit-identical results).
            extra_compile_args=["-O3", "-std=c99", "-fno-math-errno", "-ffp-contract=off"],
            libraries=["pthread"],
        )
    ],
)
