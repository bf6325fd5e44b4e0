"""``python -m lutkit.bench ...``: the same as ``lutkit bench ...``."""

from lutkit.cli.bench import bench

bench(prog_name="python -m lutkit.bench")
