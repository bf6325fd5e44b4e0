"""Build the C LUT kernels (everything else is in pyproject.toml)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "lutkit.luts._lutc",
            ["lutkit/luts/_lutc.c"],
            # -ffp-contract=off: no fused multiply-adds, so the vector and the scalar paths
            # round alike (bit-identical results).
            extra_compile_args=["-O3", "-std=c99", "-fno-math-errno", "-ffp-contract=off"],
            libraries=["pthread"],
        )
    ]
)
