"""The Ray engine writes the same shards as the local engine."""

from __future__ import annotations

import json

import pytest

from lutkit.data.info import preview_dataset
from tests.data.helpers import build, make_sources, shard_hashes

pytest.importorskip("ray.data")
# Ray Data warns about its own deprecated settings when it copies its context.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")


def test_ray_and_local_engines_write_identical_shards(tmp_path):
    src = make_sources(tmp_path / "src")
    local = build(src, tmp_path / "local", workers=2)
    on_ray = build(src, tmp_path / "ray", engine="ray", workers=2)  # a local Ray, 2 CPUs
    assert on_ray.rows == local.rows and on_ray.rejected == local.rejected
    hashes = shard_hashes(tmp_path / "local")
    assert len(hashes) >= 3
    assert shard_hashes(tmp_path / "ray") == hashes
    docs = [json.loads((tmp_path / d / "dataset.json").read_text()) for d in ("ray", "local")]
    assert [d.pop("name") for d in docs] == ["ray", "local"]
    assert docs[0] == docs[1]
    assert (tmp_path / "ray" / "rejected.csv").read_bytes() == (
        tmp_path / "local" / "rejected.csv"
    ).read_bytes()
    preview_dataset(tmp_path / "ray", tmp_path / "preview.jpg")  # the card's rows, read back
    sheet = (tmp_path / "ray" / "contact-sheet.jpg").read_bytes()
    assert (tmp_path / "preview.jpg").read_bytes() == sheet

    # A Ray rerun after a lost shard rebuilds just that shard, the same bytes again.
    lost = sorted((tmp_path / "ray" / "pairs").glob("*.parquet"))[1]
    lost.unlink()
    again = build(src, tmp_path / "ray", engine="ray", workers=2)
    assert (again.shards_written, again.shards_skipped) == (1, len(hashes) - 1)
    assert shard_hashes(tmp_path / "ray") == hashes


def test_ray_writes_the_local_engines_mosaics(tmp_path):
    """Mosaic views tile other train photos: Ray workers read them as local ones do."""
    src = make_sources(tmp_path / "src")
    local, on_ray = tmp_path / "local" / "ds", tmp_path / "ray" / "ds"  # one name: one title
    build(src, local, crops=2, mosaic=1, workers=2)
    build(src, on_ray, crops=2, mosaic=1, engine="ray", workers=2)
    assert shard_hashes(on_ray) == shard_hashes(local)
    for name in ("dataset.json", "README.md", "contact-sheet.jpg"):
        assert (on_ray / name).read_bytes() == (local / name).read_bytes()
