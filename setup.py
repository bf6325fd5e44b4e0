"""Build the C LUT kernels (everything else is in pyproject.toml)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "lutkit.luts._lutc",
            ["lutkit/luts/_lutc.c"],
            extra_compile_args=["-O3", "-std=c99", "-fno-math-errno"],
            libraries=["pthread"],
        )
    ]
)
