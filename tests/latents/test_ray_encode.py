"""``lutkit latents --engine ray`` writes the same shards as the local engine."""

from __future__ import annotations

import hashlib
import shutil
import sys

import pytest

pytest.importorskip("diffusers")
pytest.importorskip("ray.data")

from lutkit.errors import ConfigError  # noqa: E402
from lutkit.latents.encode import encode_dataset  # noqa: E402

# Ray Data warns about its own deprecated settings when it copies its context.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")


def _hashes(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*"))}


def test_ray_actors_write_the_local_engines_bytes_and_resume(dataset, tmp_path, local_ray):
    ds, vae_dir = dataset
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    for copy in (local, on_ray):
        shutil.copytree(ds, copy, ignore=shutil.ignore_patterns("latents"))
    opts = {"vae": str(vae_dir), "batch_size": 1, "device": "cpu", "size": 64}
    a = encode_dataset(local, **opts)
    # two CPU actors on a local Ray; one-row batches: every shard is gathered from two
    b = encode_dataset(on_ray, engine="ray", workers=2, **opts)
    assert a.fingerprint == b.fingerprint and a.images == b.images > 0
    want = _hashes(a.folder)
    assert len(want) >= 4  # three or more shards and the index
    assert _hashes(b.folder) == want

    lost = sorted(b.folder.glob("*.parquet"))[1]
    lost.unlink()
    again = encode_dataset(on_ray, engine="ray", workers=2, **opts)
    assert (again.shards_written, again.images) == (1, 4)
    assert _hashes(b.folder) == want


def test_missing_ray_is_a_clear_error(dataset, tmp_path, monkeypatch):
    ds, vae_dir = dataset
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ConfigError) as err:
        encode_dataset(ds, vae=str(vae_dir), device="cpu", size=64, engine="ray")
    assert str(err.value) == "the Ray engine needs ray[data] (pip install 'lutkit[scale]')"


def test_the_actors_are_not_restarted_and_rays_notice_is_hidden_here_only():
    # Ray calls max_restarts in map_batches' kwargs deprecated; lutkit hid the notice by
    # a filter that stayed in the process for every later warning of its kind.
    import warnings

    from lutkit.latents.ray_encode import _map_quietly

    class Data:
        def map_batches(self, fn, **kwargs):
            warnings.warn("`ray_remote_args` is deprecated, use ...", DeprecationWarning, 2)
            return kwargs

    filters = list(warnings.filters)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        assert _map_quietly(Data(), len, batch_size=1) == {"batch_size": 1, "max_restarts": 0}
        assert not said
        warnings.warn("`ray_remote_args` is deprecated", DeprecationWarning, 1)
        assert len(said) == 1  # shown again outside
    assert warnings.filters == filters
