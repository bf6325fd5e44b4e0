"""`lutkit train` end to end on a tiny dataset: run folder, resume, determinism, stages."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from lutkit.cli import main
from lutkit.correct.model import latest_run, load_run
from lutkit.errors import ConfigError, LutkitError
from lutkit.train.config import load_config
from lutkit.train.loop import train
from tests.models.helpers import tiny_vae
from tests.train.helpers import tiny_settings


def config(tiny_dataset, out, **extra):
    ds, vae = tiny_dataset
    return load_config(None, tiny_settings(ds, vae, out, **extra))


def rows(run_dir):
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_cli_writes_the_run_folder_and_resumes_without_redoing(tiny_dataset, tmp_path):
    ds, vae = tiny_dataset
    toml = tmp_path / "tiny.toml"
    toml.write_text('name = "cli"\nepochs = 2\n')
    args = ["train", "--config", str(toml)]
    for item in tiny_settings(ds, vae, tmp_path / "runs", name="cli"):
        args += ["--set", item]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / "cli"
    assert "complete, 2 epoch(s) trained" in result.output
    for name in (
        "config.json",
        "metrics.csv",
        "before-after.png",
        "state.json",
        "state.safetensors",
    ):
        assert (run / name).is_file(), name
    for net in ("recolor", "lutnet"):
        assert sorted(p.name for p in (run / net).iterdir()) == ["config.json", "model.safetensors"]
    saved = json.loads((run / "config.json").read_text())
    assert saved["dataset_path"] == str(ds.resolve()) and len(saved["vae_fingerprint"]) == 16
    assert saved["latent_shape"] == [4, 8, 8] and saved["image_size"] == 64
    table = rows(run)
    assert [r["epoch"] for r in table] == ["1", "2"] and {r["stage"] for r in table} == {"both"}
    for key in (
        "train_kl",
        "train_lut",
        "val_kl",
        "val_lut",
        "val_de_input",
        "val_de_fit",
        "val_de_net",
    ):
        assert all(float(r[key]) >= 0 for r in table), key
    from lutkit.images import read_image

    assert read_image(run / "before-after.png").shape[1] > 4 * 64  # 4 tiles a row
    # The finished run is scored on the test split: test.json, every test pair once,
    # and its "input" column is the distorted-vs-clean delta E of the stored pixels.
    report = json.loads((run / "test.json").read_text())
    counts = json.loads((ds / "dataset.json").read_text())["counts"]
    assert report["pairs"] == counts["test"] == len(report["per_pair"])
    assert set(report["de"]) == {"input", "fit", "net"}
    assert "test split (" in result.output
    from lutkit.color import image_delta_e
    from lutkit.latents.loader import iter_batches

    direct = []
    for batch in iter_batches(ds, split="test", batch_size=8, pixels=True, size=64):
        d, c = batch["distorted_rgb"].numpy(), batch["clean_rgb"].numpy()
        direct += [
            float(image_delta_e(a.transpose(1, 2, 0), b.transpose(1, 2, 0)).mean())
            for a, b in zip(d, c, strict=True)
        ]
    assert report["de"]["input"] == pytest.approx(np.mean(direct), rel=1e-6)

    before = {p.name: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
    again = CliRunner().invoke(main, args, catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert "already trained 2 epoch(s)" in again.output and "0 epoch(s) trained" in again.output
    assert {p.name: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()} == before
    # A run stopped after its last epoch, before the test split was scored, is scored
    # by the rerun (the same report) and trains nothing.
    scored = (run / "test.json").read_text()
    (run / "test.json").unlink()
    third = CliRunner().invoke(main, args, catch_exceptions=False)
    assert third.exit_code == 0, third.output
    assert "0 epoch(s) trained" in third.output and "test split (" in third.output
    # A test.json older than the run's last checkpoint (a later stage stopped before
    # scoring) is scored again too.
    os.utime(run / "test.json", ns=(1, 1))
    fourth = CliRunner().invoke(main, args, catch_exceptions=False)
    assert fourth.exit_code == 0 and "test split (" in fourth.output, fourth.output
    drop = ("seconds",)
    assert {
        k: v for k, v in json.loads((run / "test.json").read_text()).items() if k not in drop
    } == {k: v for k, v in json.loads(scored).items() if k not in drop}


def test_identical_runs_and_an_interrupted_run_give_identical_results(tiny_dataset, tmp_path):
    straight = train(config(tiny_dataset, tmp_path / "a"), progress=False)
    twin = train(config(tiny_dataset, tmp_path / "b"), progress=False)
    first = train(config(tiny_dataset, tmp_path / "c"), progress=False, stop_after=1)
    assert (first.epochs_run, first.epoch, first.complete) == (1, 1, False)
    rest = train(config(tiny_dataset, tmp_path / "c"), progress=False)
    assert (rest.epochs_run, rest.epoch, rest.complete) == (1, 2, True)
    for other in (twin, rest):
        assert (other.run_dir / "metrics.csv").read_text() == (
            straight.run_dir / "metrics.csv"
        ).read_text()
        for net in ("recolor", "lutnet"):
            weights = f"{net}/model.safetensors"
            assert (other.run_dir / weights).read_bytes() == (
                straight.run_dir / weights
            ).read_bytes()


def test_lutnet_stage_on_a_finished_recolor_stage(tiny_dataset, tmp_path):
    out = tmp_path / "runs"
    with pytest.raises(ConfigError) as err:
        train(config(tiny_dataset, out, stage="lutnet"), progress=False)
    assert str(err.value) == (
        f"{out / 'tiny' / 'recolor'}: stage lutnet needs a trained recolor net in the run "
        "folder (train stage recolor (or both) with this name first)"
    )
    train(config(tiny_dataset, out, stage="recolor", epochs=1), progress=False)
    run = load_run(out / "tiny")
    assert run.lutnet is None and run.config.stage == "recolor"
    recolor_bytes = (out / "tiny" / "recolor" / "model.safetensors").read_bytes()
    result = train(config(tiny_dataset, out, stage="lutnet", epochs=1), progress=False)
    assert result.complete
    assert (out / "tiny" / "recolor" / "model.safetensors").read_bytes() == recolor_bytes
    table = rows(out / "tiny")
    assert [(r["stage"], r["epoch"]) for r in table] == [("recolor", "1"), ("lutnet", "1")]
    assert table[0]["val_de_fit"] and not table[0]["val_de_net"]
    assert table[1]["val_de_net"] and not table[1]["val_de_fit"]
    assert load_run(out / "tiny").lutnet is not None
    with pytest.raises(ConfigError, match="the run holds a 'lutnet' stage; stage 'recolor'"):
        train(config(tiny_dataset, out, stage="recolor", epochs=1), progress=False)


def test_a_changed_config_is_refused(tiny_dataset, tmp_path):
    train(config(tiny_dataset, tmp_path, epochs=1, stage="recolor"), progress=False, stop_after=1)
    more = train(config(tiny_dataset, tmp_path, epochs=2, stage="recolor"), progress=False)
    assert more.epochs_run == 1 and more.epoch == 2  # more epochs: allowed
    with pytest.raises(ConfigError) as err:
        train(config(tiny_dataset, tmp_path, epochs=3, stage="recolor", width=8), progress=False)
    assert str(err.value) == (
        f"{tmp_path / 'tiny'}: the run was trained with width = 4, not 8 "
        "(use another name, or delete the run folder to start again)"
    )


def test_a_run_from_before_a_new_key_resumes_with_its_default(tiny_dataset, tmp_path):
    # A run folder written before clean_share existed has no such key in config.json: it
    # was trained with the default, so it resumes; another value is refused.
    train(config(tiny_dataset, tmp_path, epochs=1, stage="recolor"), progress=False)
    path = tmp_path / "tiny" / "config.json"
    saved = json.loads(path.read_text())
    del saved["clean_share"]
    path.write_text(json.dumps(saved))
    with pytest.raises(ConfigError) as err:
        train(config(tiny_dataset, tmp_path, epochs=2, stage="recolor", clean_share=0.5))
    assert str(err.value) == (
        f"{tmp_path / 'tiny'}: the run was trained with clean_share = 0.0, not 0.5 "
        "(use another name, or delete the run folder to start again)"
    )
    more = train(config(tiny_dataset, tmp_path, epochs=2, stage="recolor"), progress=False)
    assert more.epochs_run == 1 and more.complete


def test_clean_pairs_are_the_clean_side_drawn_with_the_seed():
    import torch

    from lutkit.train.data import Split, add_clean_pairs

    g = torch.Generator().manual_seed(0)
    lat_d, lat_c = torch.randn(10, 8, 4, 4, generator=g), torch.randn(10, 8, 4, 4, generator=g)
    rgb_d, rgb_c = torch.rand(10, 3, 6, 6, generator=g), torch.rand(10, 3, 6, 6, generator=g)
    split = Split(lat_d, lat_c, rgb_d, rgb_c)
    assert add_clean_pairs(split, 0.0, 1) is split
    more = add_clean_pairs(split, 0.3, 1)
    assert len(more) == 13
    assert torch.equal(more.distorted[:10], lat_d) and torch.equal(more.clean[:10], lat_c)
    assert torch.equal(more.distorted_rgb[:10], rgb_d)
    assert torch.equal(more.distorted[10:], more.clean[10:])
    assert torch.equal(more.distorted_rgb[10:], more.clean_rgb[10:])
    picked = [next(i for i in range(10) if torch.equal(lat_c[i], x)) for x in more.clean[10:]]
    assert len(set(picked)) == 3  # without replacement
    assert all(torch.equal(more.clean_rgb[10 + k], rgb_c[i]) for k, i in enumerate(picked))
    again = add_clean_pairs(split, 0.3, 1)
    assert torch.equal(again.distorted, more.distorted)
    other = add_clean_pairs(split, 0.3, 2)
    assert not torch.equal(other.distorted[10:], more.distorted[10:])
    assert len(add_clean_pairs(split, 1.0, 1)) == 20


def test_clean_share_trains_on_more_pairs(tiny_dataset, tmp_path):
    plain = train(config(tiny_dataset, tmp_path, name="plain", epochs=1), progress=False)
    more = train(
        config(tiny_dataset, tmp_path, name="more", epochs=1, clean_share=1.0), progress=False
    )
    saved = json.loads((tmp_path / "more" / "config.json").read_text())
    assert saved["clean_share"] == 1.0 and more.complete
    # twice the pairs: twice the steps in the epoch (the batches of 4 split them evenly)
    assert int(more.metrics[-1]["step"]) == 2 * int(plain.metrics[-1]["step"])


def test_missing_latents_say_what_to_run(tiny_dataset, tmp_path):
    other = tiny_vae(tmp_path / "other-vae", seed=1)
    ds, _ = tiny_dataset
    cfg = load_config(None, tiny_settings(ds, other, tmp_path / "runs"))
    with pytest.raises(ConfigError) as err:
        train(cfg, progress=False)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{ds}: no latents of VAE ")
    assert message.endswith(f"(run `lutkit latents {ds} --vae {other}` first)")


def test_load_run_latest_run_and_the_vae_check(tiny_dataset, tmp_path, photo):
    from lutkit.correct.predict import predict_correction
    from lutkit.latents.vae import vae_fingerprint

    out = tmp_path / "runs"
    assert latest_run(out) is None
    train(config(tiny_dataset, out, name="old", epochs=1), progress=False)
    train(config(tiny_dataset, out, name="new", epochs=1), progress=False)
    train(config(tiny_dataset, out, name="unfinished"), progress=False, stop_after=1)
    assert latest_run(out) == out / "new"
    run = load_run(out / "new")
    assert vae_fingerprint(run.vae) == run.fingerprint and run.image_size == 64
    lut = predict_correction(run, photo, size=run.image_size, lut_size=17)
    assert lut.size == 17 and np.isfinite(lut.table).all()
    assert predict_correction(run, photo, colormap="net", size=64).size == 33
    wrong = load_run(out / "new", vae=str(tiny_vae(tmp_path / "wrong", seed=2)))
    with pytest.raises(ConfigError, match=f"the run was trained with VAE {run.fingerprint}, but"):
        _ = wrong.vae
    with pytest.raises(LutkitError, match="not a training run"):
        load_run(tmp_path)
    # A VAE folder (diffusers config.json) is named for what it is.
    vae_dir = tiny_vae(tmp_path / "a-vae", seed=4)
    with pytest.raises(
        LutkitError, match="this folder holds AutoencoderKL weights alone, not a lutkit"
    ):
        load_run(vae_dir)


def test_a_run_named_after_another_models_folder_is_refused(tiny_dataset, tmp_path):
    """`--set name=X` where runs/X holds a VAE: one-line error, the VAE untouched; a run's
    own config.json with no resume state (stopped in its first epoch) starts again."""
    out = tmp_path / "runs"
    vae_dir = tiny_vae(out / "tiny", seed=3)
    before = {p.name: p.read_bytes() for p in vae_dir.iterdir()}
    with pytest.raises(ConfigError) as err:
        train(config(tiny_dataset, out, epochs=1), progress=False)
    assert str(err.value) == (
        f"{out / 'tiny'}: the folder holds a config.json that is a diffusers model's: "
        "training would overwrite it (choose another run name (--set name=...), or move "
        "that folder)"
    )
    assert {p.name: p.read_bytes() for p in vae_dir.iterdir()} == before
    fresh = tmp_path / "again"
    train(config(tiny_dataset, fresh, epochs=1), progress=False)
    (fresh / "tiny" / "state.safetensors").unlink()
    assert train(config(tiny_dataset, fresh, epochs=1), progress=False).complete


def test_latents_of_rebuilt_pairs_are_refused_and_a_run_does_not_resume_on_other_pairs(
    tiny_dataset, tmp_path
):
    """An ML engineer's trial: after `dataset build --force` with another seed, `train`
    trained the recolor net on the old latents (the rows' ids still matched) while its
    pixels were the new pairs; and a run resumed on a rebuilt dataset mixed the two."""
    import re
    import shutil

    from lutkit.data.build import BuildConfig, build_dataset
    from lutkit.latents.encode import encode_dataset

    ds, vae = tiny_dataset
    copy = tmp_path / "ds"
    shutil.copytree(ds, copy)
    out = tmp_path / "runs"
    train(config((copy, vae), out, name="first", epochs=1), progress=False)
    rebuild = BuildConfig(
        source=str(ds.parent / "photos"),
        recipe="default",
        out=str(copy),
        variants=2,
        size=64,
        splits=(0.5, 0.25, 0.25),
        seed=7,
    )
    build_dataset(rebuild, workers=1, force=True)
    with pytest.raises(ConfigError) as err:
        train(config((copy, vae), out, name="second", epochs=1), progress=False)
    assert re.fullmatch(
        rf"{re.escape(str(copy))}: latents/\w+/(\w+)-00000-of-\d+\.parquet encodes other "
        r"pairs than pairs/\1-00000-of-\d+\.parquet \(the dataset was rebuilt since they were "
        rf"encoded\) \(rerun `lutkit latents {re.escape(str(copy))} --vae "
        rf"{re.escape(str(vae))} --size 64`: it encodes the pairs made since\)",
        str(err.value),
    ), str(err.value)
    assert not (out / "second").exists()
    encode_dataset(copy, vae=str(vae), device="cpu", size=64)
    with pytest.raises(ConfigError) as err:
        train(config((copy, vae), out, name="first", epochs=2), progress=False)
    assert str(err.value) == (
        f"{out / 'first'}: the run was trained on other pairs of {copy} (the dataset was "
        "rebuilt or grew since): resuming would mix two datasets in one run (use another "
        "name, or delete the run folder to start again)"
    )
    assert train(config((copy, vae), out, name="second", epochs=1), progress=False).complete


def test_a_file_or_a_folder_of_other_files_is_no_run_folder(tiny_dataset, tmp_path):
    ds, _ = tiny_dataset
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError) as err:
        train(config(tiny_dataset, tmp_path / "afile", name="r", epochs=1), progress=False)
    assert str(err.value) == (
        f"{tmp_path / 'afile' / 'r'}: {tmp_path / 'afile'} is a file, not a folder: the run "
        "cannot be written there (choose another run name (--set name=...) or --set out=FOLDER)"
    )
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "r").write_text("x")
    with pytest.raises(ConfigError, match=r"runs/r is a file, not a folder"):
        train(config(tiny_dataset, tmp_path / "runs", name="r", epochs=1), progress=False)
    # A dataset folder (no config.json of a run) is not written into.
    import shutil

    shutil.copytree(ds, tmp_path / "o" / "victim")
    before = sorted(p.name for p in (tmp_path / "o" / "victim").iterdir())
    with pytest.raises(ConfigError) as err:
        train(config(tiny_dataset, tmp_path / "o", name="victim", epochs=1), progress=False)
    assert str(err.value).startswith(
        f"{tmp_path / 'o' / 'victim'}: the folder holds files of its own ("
    )
    assert str(err.value).endswith(
        "): training would write among them (choose another run name (--set name=...), "
        "or move that folder)"
    )
    assert sorted(p.name for p in (tmp_path / "o" / "victim").iterdir()) == before


def test_a_dataset_without_test_pairs_says_why_there_is_no_test_json(tiny_dataset, tmp_path):
    from lutkit.data.build import BuildConfig, build_dataset
    from lutkit.latents.encode import encode_dataset

    ds, vae = tiny_dataset
    cfg = BuildConfig(
        source=str(ds.parent / "photos"),
        recipe="default",
        out=str(tmp_path / "ds"),
        variants=1,
        size=64,
        splits=(0.75, 0.25, 0.0),
    )
    build_dataset(cfg, workers=1)
    encode_dataset(tmp_path / "ds", vae=str(vae), device="cpu", size=64)
    said = []
    run = train(
        config((tmp_path / "ds", vae), tmp_path / "runs", epochs=1), log=said.append, progress=False
    )
    assert run.complete and not (run.run_dir / "test.json").exists()
    assert said[-1] == (
        "the dataset has no test pairs: no test.json (lutkit fix then uses the fitted map)"
    )
