from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("diffusers")

from lutkit.data.png import decode_png  # noqa: E402
from lutkit.errors import ConfigError, LutkitError  # noqa: E402
from lutkit.latents.encode import encode_dataset  # noqa: E402
from lutkit.latents.loader import iter_batches, resolve_latents  # noqa: E402
from tests.models.helpers import tiny_vae  # noqa: E402


def test_shape_dtype_and_agreement_with_direct_encode(dataset):
    import pyarrow.parquet as pq
    import torch

    from lutkit.latents.vae import center_crop_resize, load_vae

    ds, vae_dir = dataset
    result = encode_dataset(ds, vae=str(vae_dir), batch_size=3, device="cpu", size=64)
    assert result.shards_written >= 2
    folder, meta = resolve_latents(ds, result.fingerprint)
    assert meta["latent_shape"] == [4, 8, 8]
    shard = sorted(folder.glob("*.parquet"))[0]
    table = pq.read_table(shard)
    import pyarrow as pa

    col = table.schema.field("clean_mean").type
    assert pa.types.is_fixed_size_list(col) and col.value_type == pa.float16()
    assert col.list_size == 4 * 8 * 8
    pairs = pq.read_table(ds / "pairs" / shard.name, columns=["id", "clean", "distorted"])
    assert table.column("id").to_pylist() == pairs.column("id").to_pylist()
    vae = load_vae(str(vae_dir))
    img = center_crop_resize(decode_png(pairs.column("distorted")[0].as_py()), 64)
    with torch.no_grad():
        dist = vae.encode(torch.from_numpy(img.transpose(2, 0, 1)[None].copy())).latent_dist
    stored = np.asarray(table.column("distorted_mean")[0].as_py(), np.float32)
    direct = dist.mean[0].numpy().reshape(-1)
    np.testing.assert_allclose(stored, direct, rtol=2e-3, atol=2e-3)  # float16 rounding


def test_readers_pandas_and_duckdb(dataset):
    import duckdb
    import pandas as pd

    ds, vae_dir = dataset
    result = encode_dataset(ds, vae=str(vae_dir), device="cpu", size=64)
    folder = ds / "latents" / result.fingerprint
    df = pd.read_parquet(folder)
    n = duckdb.sql(f"SELECT count(*) FROM '{folder}/*.parquet'").fetchall()[0][0]
    assert len(df) == n == 6


def test_resume_rebuilds_only_missing_shards_with_the_same_bytes(dataset):
    ds, vae_dir = dataset
    result = encode_dataset(ds, vae=str(vae_dir), device="cpu", size=64)
    folder = ds / "latents" / result.fingerprint
    shards = sorted(folder.glob("*.parquet"))
    before = {p.name: p.read_bytes() for p in shards}
    shards[0].unlink()
    again = encode_dataset(ds, vae=str(vae_dir), device="cpu", size=64)
    assert again.shards_written == 1 and again.shards_skipped == len(shards) - 1
    assert {p.name: p.read_bytes() for p in sorted(folder.glob("*.parquet"))} == before


def test_loader_batches_and_pixels(dataset):
    ds, vae_dir = dataset
    encode_dataset(ds, vae=str(vae_dir), device="cpu", size=64)
    batches = list(iter_batches(ds, split="train", batch_size=2, pixels=True, size=64))
    assert batches and batches[0]["clean"].shape[1:] == (8, 8, 8)
    assert batches[0]["distorted_rgb"].shape[1:] == (3, 64, 64)
    # A misspelt split is an error, not an empty loop.
    for wrong in ("validation", "Train"):
        with pytest.raises(ConfigError, match=rf"unknown split '{wrong}': a dataset's splits"):
            next(iter_batches(ds, split=wrong))


def test_mixing_fingerprints_refused(dataset, tmp_path):
    ds, vae_dir = dataset
    first = encode_dataset(ds, vae=str(vae_dir), device="cpu", size=64).fingerprint
    other = tiny_vae(tmp_path / "other", seed=1)
    second = encode_dataset(ds, vae=str(other), device="cpu", size=64).fingerprint
    assert first != second
    with pytest.raises(LutkitError, match="the dataset has latents of 2 VAEs"):
        resolve_latents(ds, None)
    with pytest.raises(LutkitError, match="no latents of VAE 0000 in the dataset"):
        resolve_latents(ds, "0000")
    with pytest.raises(LutkitError, match=r"latents have shape \(4, 8, 8\), the model wants"):
        resolve_latents(ds, first, shape=(4, 28, 28))
    shutil.rmtree(ds / "latents" / second)


def test_corrupted_latents_shard_is_one_error(dataset):
    ds, vae_dir = dataset
    fp = encode_dataset(ds, vae=str(vae_dir), device="cpu", size=64).fingerprint
    shard = sorted((ds / "latents" / fp).glob("train-*.parquet"))[0]
    data = bytearray(shard.read_bytes())
    shard.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(LutkitError, match=r"shard differs from the dataset's index \(sha256\)"):
        list(iter_batches(ds, split="train", fingerprint=fp))
    shard.unlink()  # the next encode redoes it


def test_dataset_without_pairs(tmp_path):
    with pytest.raises(LutkitError, match="not a lutkit dataset"):
        encode_dataset(tmp_path, vae="default", device="cpu")


def test_latents_are_the_same_bytes_at_any_thread_count(dataset, tmp_path, monkeypatch):
    # `lutkit latents` encodes as many chunks at once as there are idle cores when it
    # starts: the default VAE's latents must not depend on that count.
    import torch

    from lutkit.latents import encode

    ds, _ = dataset
    threads = torch.get_num_threads()
    used: list[int] = []
    real = encode.encode_batch

    def spy(model, ids, imgs, dev, fp, workers=1):
        used.append(workers)
        return real(model, ids, imgs, dev, fp, workers)

    monkeypatch.setattr(encode, "encode_batch", spy)
    outs = []
    try:
        for n in ("1", "2"):
            copy = tmp_path / f"threads-{n}"
            shutil.copytree(ds, copy, ignore=shutil.ignore_patterns("latents"))
            monkeypatch.setenv("LUTKIT_THREADS", n)
            used.clear()
            result = encode_dataset(copy, vae="default", device="cpu", batch_size=4)
            assert used and set(used) == {int(n)}  # 8 images a batch: 2 chunks of 4
            assert torch.get_num_threads() == 1  # each chunk on one torch thread
            folder = copy / "latents" / result.fingerprint
            outs.append({p.name: p.read_bytes() for p in sorted(folder.glob("*.parquet"))})
    finally:
        torch.set_num_threads(threads)
    assert outs[0] and outs[0] == outs[1]


def test_the_cli_says_what_it_encoded_and_that_a_rerun_had_nothing_left(dataset, tmp_path):
    from click.testing import CliRunner

    from lutkit.cli import main

    ds, vae_dir = dataset
    copy = tmp_path / "ds"
    shutil.copytree(ds, copy, ignore=shutil.ignore_patterns("latents"))
    args = ["latents", str(copy), "--vae", str(vae_dir), "--device", "cpu", "--size", "64"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    # 6 pairs, a clean and a distorted image each
    assert " 12 images at " in first.stdout and "0 already complete" in first.stdout
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    folder = first.stdout.split(":")[0]
    fp = folder.rsplit("/", 1)[1]
    assert again.stdout == (
        f"{folder}: 0 shard(s) written, 3 already complete; nothing left to encode (VAE {fp})\n"
    )


def test_another_size_into_the_same_latents_folder_is_refused(dataset, tmp_path):
    # it used to count the shards of the first size as done and write the new size
    # (and its latent shape) into the index over them
    ds, vae_dir = dataset
    copy = tmp_path / "ds"
    shutil.copytree(ds, copy, ignore=shutil.ignore_patterns("latents"))
    opts = {"vae": str(vae_dir), "device": "cpu"}
    first = encode_dataset(copy, size=64, **opts)
    index = (first.folder / "_latents.json").read_bytes()
    with pytest.raises(ConfigError) as err:
        encode_dataset(copy, size=32, **opts)
    assert str(err.value) == (
        f"{first.folder}: the latents there were encoded at --size 64, not 32 (give --size "
        "64 to resume them, or move the folder away to encode at 32)"
    )
    assert (first.folder / "_latents.json").read_bytes() == index
    # the same is found from the shards alone (a run stopped before its index)
    (first.folder / "_latents.json").unlink()
    with pytest.raises(ConfigError, match="encoded at --size 64, not 32"):
        encode_dataset(copy, size=32, **opts)
    assert encode_dataset(copy, size=64, **opts).shards_written == 0


def test_dataset_verify_checks_the_latents_against_their_index_and_their_pairs(dataset, tmp_path):
    # `dataset verify` looked at the pairs only: a damaged latents shard, or latents of
    # pairs rebuilt since (dataset build --force), passed it and surfaced in training.
    from click.testing import CliRunner

    from lutkit.cli import main
    from lutkit.data.build import BuildConfig, build_dataset
    from lutkit.data.info import verify_dataset

    ds, vae_dir = dataset
    copy = tmp_path / "ds"
    shutil.copytree(ds, copy, ignore=shutil.ignore_patterns("latents"))
    fp = encode_dataset(copy, vae=str(vae_dir), device="cpu", size=64).fingerprint
    ok = CliRunner().invoke(main, ["dataset", "verify", str(copy)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.endswith(f"; latents {fp}: 3 shard(s)\n")

    latents = copy / "latents" / fp
    first, second = sorted(latents.glob("*.parquet"))[:2]
    first.write_bytes(first.read_bytes()[:-8])  # damaged
    (latents / "stray.parquet").write_bytes(b"")
    problems = verify_dataset(copy, decode=False).problems
    assert problems == [
        f"latents/{fp}/stray.parquet: not listed in _latents.json (a shard of pairs that are "
        f"gone is removed by `lutkit latents` with this VAE ({fp}); another, delete it)",
        f"latents/{fp}/{first.name}: sha256 differs from _latents.json",
    ]
    (latents / "stray.parquet").unlink()
    first.unlink()

    # the pairs rebuilt with another seed: every latents shard left is stale
    cfg = BuildConfig(
        source=str(ds.parent / "photos"), recipe="curves", out=str(copy), variants=2, size=64,
        rows_per_shard=2, splits=(0.5, 0.25, 0.25), seed=1,
    )  # fmt: skip
    build_dataset(cfg, workers=1, force=True)
    problems = verify_dataset(copy, decode=False).problems
    assert f"latents/{fp}/{first.name}: missing" in problems
    assert (
        f"latents/{fp}/{second.name}: encodes other bytes than pairs/{second.name} (rebuilt "
        "since): rerun `lutkit latents`"
    ) in problems
    (latents / "stray.parquet").write_bytes(b"")  # (a shard of an earlier plan's name)
    encode_dataset(copy, vae=str(vae_dir), device="cpu", size=64)  # the rerun mends it
    assert verify_dataset(copy).ok and not (latents / "stray.parquet").exists()
