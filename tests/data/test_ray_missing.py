"""Without Ray, ``--engine ray`` is a clear error. This runs whether or not Ray is
installed (test_ray.py, which needs Ray, skips without it)."""

from __future__ import annotations

import sys

import pytest

from lutkit.errors import ConfigError
from tests.data.helpers import build, make_sources


def test_missing_ray_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    src = make_sources(tmp_path / "src", bad=False)
    with pytest.raises(ConfigError) as err:
        build(src, tmp_path / "ds", engine="ray")
    assert str(err.value) == "the Ray engine needs ray[data] (pip install 'lutkit[scale]')"
    assert not (tmp_path / "ds").exists()
