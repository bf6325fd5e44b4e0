"""The VAE layer: loading (folder, default, hub offline), fingerprint, encode/decode."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from lutkit.errors import ConfigError, VAEError  # noqa: E402
from lutkit.latents.vae import (  # noqa: E402
    center_crop_resize,
    decode_mean,
    decode_sample,
    default_vae_dir,
    describe_vae,
    encode_posterior,
    latent_of,
    load_vae,
    prepare_image,
    split_latent,
    vae_fingerprint,
)

# The shipped default VAE on grace_hopper's centre crop (held out from its training)
# measured 19.4 dB and mean delta E 2000 6.4 (mean over all held-out crops: 22.5 dB,
# 5.0; see lutkit/resources/vae/TRAINING.md). The thresholds sit a little below.
DEFAULT_PSNR_MIN = 18.5
DEFAULT_DELTA_E_MAX = 7.5


def tiny_vae(seed: int = 0):
    """A 2-block AutoencoderKL with 4 channels: 32x32 -> 2x16x16, runs in milliseconds."""
    torch.manual_seed(seed)
    return diffusers.AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        block_out_channels=(4, 4),
        layers_per_block=1,
        latent_channels=2,
        norm_num_groups=2,
        sample_size=32,
        mid_block_add_attention=False,
    )


@pytest.fixture()
def tiny_folder(tmp_path):
    folder = tmp_path / "tiny-vae"
    tiny_vae().save_pretrained(folder, safe_serialization=True)
    return folder


def test_folder_loads_through_load_vae(tiny_folder):
    vae = load_vae(str(tiny_folder))
    assert isinstance(vae, diffusers.AutoencoderKL)
    assert not vae.training
    assert all(not p.requires_grad for p in vae.parameters())
    reference = tiny_vae()
    for (name, a), (_, b) in zip(
        sorted(vae.state_dict().items()), sorted(reference.state_dict().items()), strict=True
    ):
        assert torch.equal(a, b), name
    assert describe_vae(vae)["source"] == f"folder {tiny_folder}"
    x = torch.rand(2, 3, 32, 32)
    mean, logvar = encode_posterior(vae, x)
    assert mean.shape == logvar.shape == (2, 2, 16, 16)
    assert latent_of(vae, x).shape == (2, 4, 16, 16)
    split_mean, split_logvar = split_latent(latent_of(vae, x))
    assert torch.equal(split_mean, mean) and torch.equal(split_logvar, logvar)


def test_dtype_by_name(tiny_folder):
    vae = load_vae(tiny_folder, dtype="bfloat16")
    assert next(vae.parameters()).dtype == torch.bfloat16
    mean, _ = encode_posterior(vae, torch.rand(1, 3, 32, 32))
    assert mean.dtype == torch.float32


def test_fingerprint_stable_across_loads_and_changes_with_any_weight(tiny_folder):
    a = vae_fingerprint(load_vae(tiny_folder))
    b = vae_fingerprint(load_vae(tiny_folder))
    assert a == b == vae_fingerprint(tiny_vae())  # built in memory: the same id
    assert len(a) == 16 and int(a, 16) >= 0
    changed = load_vae(tiny_folder)
    with torch.no_grad():
        # the smallest possible change: one float's last bit, in one weight
        p = changed.decoder.conv_out.bias
        p[0] = torch.nextafter(p[0], torch.tensor(10.0))
    assert vae_fingerprint(changed) != a
    assert vae_fingerprint(tiny_vae(seed=1)) != a


def test_fingerprint_ignores_save_metadata_but_not_config(tiny_folder):
    config_path = tiny_folder / "config.json"
    config = json.loads(config_path.read_text())
    base = vae_fingerprint(load_vae(tiny_folder))
    config["_diffusers_version"] = "0.0.1"
    config["_name_or_path"] = "somewhere/else"
    config_path.write_text(json.dumps(config))
    assert vae_fingerprint(load_vae(tiny_folder)) == base
    config["scaling_factor"] = 0.5
    config_path.write_text(json.dumps(config))
    assert vae_fingerprint(load_vae(tiny_folder)) != base


def test_folder_without_config(tmp_path):
    (tmp_path / "diffusion_pytorch_model.safetensors").write_bytes(b"")
    with pytest.raises(VAEError) as err:
        load_vae(tmp_path)
    assert str(err.value) == f"{tmp_path}: no config.json (not a diffusers model folder)"


def test_folder_without_weights(tiny_folder):
    (tiny_folder / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(VAEError) as err:
        load_vae(tiny_folder)
    assert str(err.value) == f"{tiny_folder}: no weights (diffusion_pytorch_model.safetensors)"


def test_config_of_another_class(tiny_folder):
    config_path = tiny_folder / "config.json"
    config = json.loads(config_path.read_text())
    config["_class_name"] = "UNet2DModel"
    config_path.write_text(json.dumps(config))
    with pytest.raises(VAEError) as err:
        load_vae(tiny_folder)
    assert str(err.value) == f"{config_path}: _class_name is 'UNet2DModel', not 'AutoencoderKL'"


def test_missing_folder_and_file_instead_of_folder(tmp_path):
    with pytest.raises(VAEError) as err:
        load_vae(tmp_path / "nope")
    assert str(err.value).startswith(f"{tmp_path / 'nope'}: VAE folder not found (")
    (tmp_path / "file").write_text("x")
    with pytest.raises(VAEError, match="not a folder"):
        load_vae(tmp_path / "file")


def test_pickle_weights_are_refused(tmp_path, monkeypatch):
    vae = tiny_vae()
    # diffusers' pickle format next to the config: refused by name
    pickled = tmp_path / "pickled"
    vae.save_pretrained(pickled, safe_serialization=False)
    assert (pickled / "diffusion_pytorch_model.bin").exists()
    with pytest.raises(VAEError) as err:
        load_vae(pickled)
    assert str(err.value).startswith(
        f"{pickled}: weights are a pickle (diffusion_pytorch_model.bin); "
        "lutkit reads safetensors only ("
    )
    # a pickle wearing the safetensors name: never unpickled, a one-line error
    disguised = tmp_path / "disguised"
    vae.save_pretrained(disguised, safe_serialization=True)
    torch.save(vae.state_dict(), disguised / "diffusion_pytorch_model.safetensors")

    def no_unpickling(*args, **kwargs):
        raise AssertionError("torch.load must not be called")

    monkeypatch.setattr(torch, "load", no_unpickling)
    with pytest.raises(VAEError) as err:
        load_vae(disguised)
    weights = disguised / "diffusion_pytorch_model.safetensors"
    assert str(err.value) == (
        f"{weights}: not a safetensors file (a zip/pickle file); lutkit reads safetensors only"
    )


def test_unknown_hub_id_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(VAEError) as err:
        load_vae("lutkit-tests/no-such-vae")
    assert str(err.value) == (
        "VAE 'lutkit-tests/no-such-vae' is not in the Hugging Face cache and HF_HUB_OFFLINE "
        "is set (run once online, or `huggingface-cli download lutkit-tests/no-such-vae`, "
        "or pass a local folder)"
    )


def test_an_unreachable_hub_is_named_as_such(monkeypatch):
    """Online but with no network: the Hub's connection error, which diffusers reports
    as a missing config.json, is a one-line "cannot reach" (no request is sent: the
    loader is stubbed to fail as huggingface_hub does)."""
    from diffusers import AutoencoderKL

    import lutkit.latents.vae as vae_module

    monkeypatch.setattr(vae_module, "_offline", lambda: False)

    def no_network(*args, **kwargs):
        try:
            raise ConnectionError("Failed to resolve 'huggingface.co'")
        except ConnectionError:
            raise OSError("x/y does not appear to have a file named config.json.") from None

    monkeypatch.setattr(AutoencoderKL, "load_config", no_network)
    with pytest.raises(VAEError) as err:
        load_vae("lutkit-tests/no-such-vae")
    assert str(err.value) == (
        "cannot reach the Hugging Face Hub to load VAE 'lutkit-tests/no-such-vae' (no "
        "network?) (download it once where there is a network, or pass a local folder)"
    )

    def wrong_id(*args, **kwargs):
        raise OSError("x/y is not a local folder and is not a valid model identifier")

    monkeypatch.setattr(AutoencoderKL, "load_config", wrong_id)
    with pytest.raises(VAEError, match="check the id, or pass a local folder"):
        load_vae("lutkit-tests/no-such-vae")


def test_decode_sample_is_seeded(tiny_folder):
    vae = load_vae(tiny_folder)
    mean, logvar = encode_posterior(vae, torch.rand(1, 3, 32, 32))
    a = decode_sample(vae, mean, logvar, torch.Generator().manual_seed(3))
    b = decode_sample(vae, mean, logvar, torch.Generator().manual_seed(3))
    c = decode_sample(vae, mean, logvar, 4)
    assert a.shape == (1, 3, 32, 32)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert torch.equal(decode_sample(vae, mean, logvar, 4), c)
    assert decode_mean(vae, mean).shape == (1, 3, 32, 32)


def test_encode_checks_its_input(tiny_folder):
    vae = load_vae(tiny_folder)
    with pytest.raises(Exception, match=r"expected images of shape \(B, 3, H, W\)"):
        encode_posterior(vae, torch.rand(3, 32, 32))
    with pytest.raises(Exception, match="multiples of 2"):
        encode_posterior(vae, torch.rand(1, 3, 33, 32))


def test_center_crop_resize(photo):
    before = photo.copy()
    out = center_crop_resize(photo[:, :400], 224)  # 512x400 -> centre 400x400 -> 224
    assert out.shape == (224, 224, 3) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert np.array_equal(photo, before)
    t = prepare_image(photo, 224)
    assert tuple(t.shape) == (1, 3, 224, 224) and t.dtype == torch.float32
    small = center_crop_resize(photo[:100, :120], 224)  # enlarged: bicubic, clipped
    assert small.shape == (224, 224, 3) and small.max() <= 1.0


def test_importing_the_module_does_not_import_torch():
    code = (
        "import lutkit.latents.vae, lutkit.train.vae, lutkit.cli.vae, sys; "
        "print('torch' in sys.modules, 'diffusers' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False False"


# --------------------------------------------------------------------------- default VAE

needs_default = pytest.mark.skipif(
    not (default_vae_dir() / "diffusion_pytorch_model.safetensors").is_file(),
    reason="the default VAE is not built (make vae)",
)


@needs_default
def test_default_vae_offline_shapes_and_quality(monkeypatch):
    from lutkit.color import image_delta_e
    from lutkit.evaluate.metrics import psnr
    from lutkit.images import read_image
    from lutkit.latents.vae import tensor_to_images
    from lutkit.latents.vae_eval import HOLDOUT
    from lutkit.samples import sample_photo

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vae = load_vae("default")
    info = describe_vae(vae)
    assert info["downsampling"] == 8 and info["latent_channels"] == 4
    assert (default_vae_dir() / "diffusion_pytorch_model.safetensors").stat().st_size <= 10e6
    assert "grace_hopper" in HOLDOUT
    image = center_crop_resize(read_image(sample_photo("grace_hopper").path), 224)
    mean, logvar = encode_posterior(vae, prepare_image(image))
    assert mean.shape == logvar.shape == (1, 4, 28, 28)
    assert latent_of(vae, prepare_image(image)).shape == (1, 8, 28, 28)
    # the posterior variance is learned: well below the prior's, not pinned to the clamp
    assert -25.0 < float(logvar.mean()) < -1.0
    recon = tensor_to_images(decode_mean(vae, mean))[0]
    assert psnr(image, recon) > DEFAULT_PSNR_MIN
    assert float(image_delta_e(image, recon).mean()) < DEFAULT_DELTA_E_MAX
    sampled = tensor_to_images(decode_sample(vae, mean, logvar, 0))[0]
    assert psnr(image, sampled) > DEFAULT_PSNR_MIN - 1.0


@needs_default
def test_default_vae_fingerprint_matches_training_record():
    record = json.loads((default_vae_dir() / "training.json").read_text())
    assert vae_fingerprint(load_vae()) == record["fingerprint"]


# --------------------------------------------------------------------------- CLI


def test_cli_errors_are_one_line():
    from click.testing import CliRunner

    from lutkit.cli import main

    result = CliRunner().invoke(main, ["vae", "info", "--vae", "/nonexistent"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert result.output.startswith("Error: /nonexistent: VAE folder not found")


def test_cli_info_prints_the_fingerprint(tiny_folder):
    from click.testing import CliRunner

    from lutkit.cli import main

    result = CliRunner().invoke(main, ["vae", "info", "--vae", str(tiny_folder)])
    assert result.exit_code == 0, result.output
    assert f"fingerprint  {vae_fingerprint(load_vae(tiny_folder))}" in result.output
    assert "2 channels, 2x downsampling" in result.output


def test_cli_eval_reports_psnr_and_delta_e(tiny_folder):
    from click.testing import CliRunner

    from lutkit.cli import main

    args = ["vae", "eval", "--vae", str(tiny_folder), "--size", "32", "--crops", "1"]
    result = CliRunner().invoke(main, [*args, "--per-crop"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("VAE ") and "grace_hopper, coffee" in lines[0]
    assert any(line.startswith("clean (2)") for line in lines)
    assert any(line.startswith("distorted (2)") for line in lines)
    per_crop = [ln for ln in lines if ln.startswith("  ") and "PSNR" in ln and "dE" in ln]
    assert len(per_crop) == 4
    assert "PSNR bicubic" in next(ln for ln in lines if ln.startswith("crops"))
    assert lines[-1].startswith("bicubic: the reference, no VAE")


def test_eval_reference_is_the_latent_grid_upsampled_bicubically(tiny_folder):
    """The reference beside a VAE's PSNR: a flat crop comes back exactly; a textured one
    equals an area average written out in numpy, upsampled bicubically, at the tiny VAE's
    grid (2x downsampling: 16x16 for 32 px)."""
    import cv2

    from lutkit.evaluate.metrics import PSNR_CAP, psnr
    from lutkit.latents.vae_eval import evaluate_vae

    flat = np.full((32, 32, 3), 0.4, np.float32)
    textured = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    rows = evaluate_vae(load_vae(str(tiny_folder)), [("flat", flat), ("tex", textured)])["rows"]
    assert rows[0]["psnr_bicubic"] == PSNR_CAP and rows[0]["delta_e_bicubic"] < 1e-3
    small = textured.reshape(16, 2, 16, 2, 3).mean(axis=(1, 3))
    up = np.clip(cv2.resize(small, (32, 32), interpolation=cv2.INTER_CUBIC), 0, 1)
    assert rows[1]["psnr_bicubic"] == pytest.approx(psnr(textured, up), abs=1e-4)


def test_vae_eval_photos_may_be_curated_ones(tmp_path, monkeypatch):
    """``photos:NAME`` reads a curated photograph from the cache (the bytes the bundled
    photo of the same file has); an unknown name and an absent file are one-line
    errors that say what to run."""
    import shutil

    from lutkit.errors import PhotosError
    from lutkit.images import read_image
    from lutkit.latents.vae_eval import load_photos
    from lutkit.photos.manifest import load_manifest
    from lutkit.samples import sample_photo

    monkeypatch.setenv("LUTKIT_PHOTOS", str(tmp_path))
    hopper = next(p for p in load_manifest() if p.name == "grace-hopper")
    with pytest.raises(PhotosError, match=r"photos:grace-hopper is not in .*lutkit photos fetch"):
        load_photos(only=("photos:grace-hopper",))
    (tmp_path / hopper.file).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sample_photo("grace_hopper").path, tmp_path / hopper.file)
    got = load_photos(only=("photos:grace-hopper", "coffee"))
    assert [p.name for p in got] == ["photos:grace-hopper", "coffee"]
    assert np.array_equal(got[0].pixels, read_image(sample_photo("grace_hopper").path))
    with pytest.raises(ConfigError, match="no curated photograph named 'photos:nope'"):
        load_photos(only=("photos:nope",))
