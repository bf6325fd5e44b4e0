"""A run whose LUT net is the blend net (lutnet_kind = "blend"): trains, resumes, fixes
photos, and exports as a model that `lutkit fix` loads."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from lutkit.cli import main
from lutkit.correct.export import export_model
from lutkit.correct.fix import fix_pixels
from lutkit.correct.model import load_run, preferred_colormap
from lutkit.errors import ConfigError
from lutkit.models.blend import BlendNet
from lutkit.train.config import load_config
from lutkit.train.loop import train
from tests.train.helpers import tiny_settings

CANDIDATES = "identity,gray-world,shades-of-gray,white-patch,gray-edge,illuminant,levels,latent"


@pytest.fixture(scope="module")
def blend_run(tiny_dataset, tmp_path_factory):
    ds, vae = tiny_dataset
    out = tmp_path_factory.mktemp("runs")
    items = tiny_settings(
        ds,
        vae,
        out,
        name="blend",
        lutnet_kind="blend",
        blend_candidates=CANDIDATES,
        blend_exposure=True,
        clean_share=0.5,
    )
    result = train(load_config(None, items), progress=False)
    return out / "blend", result, items


def test_the_blend_run_trains_and_scores_its_net(blend_run):
    run_dir, result, _ = blend_run
    assert result.complete and result.epochs_run == 2
    last = result.metrics[-1]
    for key in ("train_lut", "val_lut", "val_de_input", "val_de_fit", "val_de_net"):
        assert np.isfinite(float(last[key])), key
    run = load_run(run_dir)
    assert isinstance(run.lutnet, BlendNet) and run.lutnet.candidates == CANDIDATES.split(",")
    stage = run.lutnet.exposure  # fitted when the last epoch ended, saved with the blend
    assert run.lutnet.config["exposure"] is True and bool((stage.scale != 1).any())
    assert float(stage.deadzone) > 0  # from the clean pairs
    assert json.loads((run_dir / "test.json").read_text())["de"]["net"] >= 0


def test_a_rerun_is_complete_and_changes_nothing(blend_run):
    run_dir, _, items = blend_run
    before = (run_dir / "lutnet" / "model.safetensors").read_bytes()
    again = train(load_config(None, items), progress=False)
    assert again.epochs_run == 0 and again.complete
    assert (run_dir / "lutnet" / "model.safetensors").read_bytes() == before


def test_fix_with_the_blend_net_matches_its_exported_cube(blend_run, photo, tmp_path):
    run = load_run(blend_run[0])
    result = fix_pixels(run, photo, colormap="net")
    assert result.pixels.shape == photo.shape and result.lut.size == 33
    assert np.array_equal(result.pixels, result.lut.apply(photo))


def test_export_makes_a_model_fix_uses_by_name(blend_run, photo, tmp_path, monkeypatch):
    from lutkit.images import load_image, save_image

    run_dir = blend_run[0]
    out = export_model(run_dir, tmp_path / "model", colormap="net")
    doc = json.loads((out / "config.json").read_text())
    assert doc["colormap"] == "net" and "dataset_path" not in doc
    assert doc["heldout_photos"] and all(isinstance(n, str) for n in doc["heldout_photos"])
    assert not (out / "state.safetensors").exists()
    model = load_run(out)
    assert preferred_colormap(model) == "net"
    a = fix_pixels(load_run(run_dir), photo, colormap="net").pixels
    b = fix_pixels(model, photo, colormap="net").pixels
    assert np.array_equal(a, b)
    monkeypatch.chdir(tmp_path)
    save_image(tmp_path / "p.png", photo[:64, :64])
    res = CliRunner().invoke(main, ["fix", "p.png", "-o", "f.png", "--model", str(out)])
    assert res.exit_code == 0, res.output
    assert res.output.strip().endswith("(--model; colour map net)")
    assert load_image(tmp_path / "f.png").pixels.shape == (64, 64, 3)


def test_bad_blend_settings_are_one_line_errors(tiny_dataset, tmp_path):
    ds, vae = tiny_dataset
    items = tiny_settings(ds, vae, tmp_path, lutnet_kind="blend", blend_candidates="gray-world")
    with pytest.raises(ConfigError, match="blend_candidates must start with identity"):
        load_config(None, items)
    with pytest.raises(ConfigError, match="lutnet_kind must be one of basis, blend"):
        load_config(None, tiny_settings(ds, vae, tmp_path, lutnet_kind="mlp"))


def test_export_refuses_an_unfinished_run(tiny_dataset, tmp_path):
    ds, vae = tiny_dataset
    items = tiny_settings(ds, vae, tmp_path / "runs", name="half", epochs=3)
    train(load_config(None, items), progress=False, stop_after=1, test_split=False)
    with pytest.raises(Exception, match="has not finished training"):
        export_model(tmp_path / "runs" / "half", tmp_path / "m", colormap="fit")
    assert not (tmp_path / "m").exists()


def test_the_blend_settings_reach_the_net_by_name(tiny_dataset, tmp_path, monkeypatch):
    """`blend_gray`, `blend_exposure` and `blend_bright` from the config reach BlendNet
    as the keywords of the same names (a swapped pair would train another model)."""
    import lutkit.models.blend as blend_module
    from lutkit.train.stages import build_blend

    seen = {}

    class Stop(Exception):
        pass

    def capture(*args, **kwargs):
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(blend_module, "BlendNet", capture)
    ds, vae = tiny_dataset
    for gray, exposure, bright in ((True, False, True), (False, True, False)):
        items = tiny_settings(
            ds,
            vae,
            tmp_path,
            lutnet_kind="blend",
            blend_candidates="identity,illuminant,illuminant-tonal",
            blend_gray=gray,
            blend_exposure=exposure,
            blend_bright=bright,
        )
        with pytest.raises(Stop):
            build_blend(load_config(None, items), 8, None, None)
        assert seen == {"gray": gray, "exposure": exposure, "bright": bright}
