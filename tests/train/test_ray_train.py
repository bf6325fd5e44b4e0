"""``lutkit train --engine ray``: data-parallel on Ray Train, 2 CPU ranks (gloo)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ray.train.torch")

from lutkit.train.config import load_config  # noqa: E402
from lutkit.train.loop import train  # noqa: E402
from lutkit.train.ray_train import DataParallel, train_on_ray  # noqa: E402
from tests.train.helpers import tiny_settings  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# Two ranks compute the local run's gradient up to float rounding (the loss of each
# rank's half of a batch, weighted by its share, averaged by DDP); after 3 epochs the
# validation delta E 2000 of both colour maps stays this close to the local run's.
DE_TOLERANCE = 0.05


def config(tiny_dataset, out, **extra):
    ds, vae = tiny_dataset
    return load_config(None, tiny_settings(ds, vae, out, epochs=3, **extra))


def test_shares_are_the_global_batch_and_weights_give_its_mean():
    import torch

    losses = torch.rand(7, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for world in (2, 3):
        ranks = [DataParallel(r, world, "cpu") for r in range(world)]
        idx = torch.randperm(7, generator=torch.Generator().manual_seed(world))
        shares = [dp.share(idx) for dp in ranks]
        assert sorted(torch.cat([s for s, _ in shares]).tolist()) == list(range(7))
        # DDP averages the ranks' gradients: sum(weight_r * mean_r) / world = global mean
        blended = sum(w * losses[s].mean() for s, w in shares) / world
        assert float(blended) == pytest.approx(float(losses.mean()), rel=1e-12)
    lone = [
        dp.share(torch.arange(1)) for dp in (DataParallel(0, 2, "cpu"), DataParallel(1, 2, "cpu"))
    ]
    assert [w for _, w in lone] == [2.0, 0.0] and len(lone[1][0]) == 1


def test_two_ray_ranks_match_one_process_and_resume(tiny_dataset, tmp_path, local_ray):
    local = train(config(tiny_dataset, tmp_path / "local"), progress=False, test_split=False)
    cfg = config(tiny_dataset, tmp_path / "ray")
    # interrupted after one epoch (what a kill between epochs leaves), then resumed
    first = train_on_ray(cfg, workers=2, stop_after=1, test_split=False)
    assert (first.epoch, first.complete, first.epochs_run) == (1, False, 1)
    state = json.loads((cfg.run_dir / "state.json").read_text())
    assert state["epoch"] == 1 and not state["complete"]
    said: list[str] = []
    again = train_on_ray(cfg, workers=2, test_split=False, log=said.append)
    assert (again.epoch, again.complete, again.epochs_run) == (3, True, 2)
    # rank 0's lines, each once, in order (Ray's own forwarding printed them twice)
    assert said[0].startswith(f"{cfg.run_dir}: stage both,") and said[0].endswith("epochs 2..3")
    assert [line.split()[:2] for line in said[1:]] == [["epoch", "2"], ["epoch", "3"]]
    assert [r["epoch"] for r in again.metrics] == ["1", "2", "3"]
    assert again.metrics[0] == first.metrics[0]  # the resumed run kept epoch 1's row
    for key in ("val_de_fit", "val_de_net"):
        want, got = float(local.metrics[-1][key]), float(again.metrics[-1][key])
        assert abs(got - want) <= DE_TOLERANCE, (key, got, want)
    for key in ("train_kl", "val_kl"):
        want, got = float(local.metrics[-1][key]), float(again.metrics[-1][key])
        assert got == pytest.approx(want, rel=0.02), key
    assert (cfg.run_dir / "recolor" / "model.safetensors").is_file()
    assert (cfg.run_dir / "lutnet" / "model.safetensors").is_file()
    # a finished Ray run is finished for the local engine too: same files, same rule
    assert train(cfg, progress=False).epochs_run == 0


def test_a_run_named_after_a_vae_folder_is_refused_before_ray_starts(tmp_path):
    """The driver checks the run folder before any cluster starts (one-line error)."""
    from lutkit.errors import ConfigError
    from tests.models.helpers import tiny_vae

    vae_dir = tiny_vae(tmp_path / "runs" / "tiny", seed=3)
    cfg = load_config(None, tiny_settings(tmp_path / "no-dataset", vae_dir, tmp_path / "runs"))
    with pytest.raises(ConfigError, match="a diffusers model's: training would overwrite it"):
        train_on_ray(cfg, workers=2)


def test_ctrl_c_stops_a_ray_run_that_resumes(tiny_dataset, tmp_path):
    """Ctrl-C during `lutkit train --engine ray`: "Interrupted." and status 130, as the
    local engine (Ray Train's own handler exits 0 or 1 without a word); the run folder
    holds the epochs finished, and the same command resumes from them."""
    import signal
    import subprocess
    import sys
    import threading

    ds, vae = tiny_dataset
    args = [sys.executable, "-c", "from lutkit.cli import main; main()", "train"]
    for item in tiny_settings(ds, vae, tmp_path / "runs", epochs=1000):
        args += ["--set", item]
    args += ["--engine", "ray", "--workers", "2"]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A job started in the background of a shell script ignores SIGINT, and a child
        # inherits that: give it Ctrl-C's default, as a terminal's foreground job has.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    watchdog = threading.Timer(300, proc.kill)  # a hung run fails the test, not CI
    watchdog.start()
    try:
        lines = []
        for line in proc.stdout:  # the driver prints rank 0's lines as they come
            lines.append(line)
            if line.startswith("epoch 2 "):
                proc.send_signal(signal.SIGINT)
                break
        out, err = proc.communicate(timeout=120)
    finally:
        watchdog.cancel()
        proc.kill()
    assert proc.returncode == 130, err
    assert err.splitlines()[-1] == "Interrupted."
    assert "Token authentication" not in err  # Ray's notice at every local start
    state = json.loads((tmp_path / "runs" / "tiny" / "state.json").read_text())
    assert 2 <= state["epoch"] < 1000 and not state["complete"]
    cfg = load_config(None, tiny_settings(ds, vae, tmp_path / "runs", epochs=state["epoch"] + 1))
    assert train(cfg, progress=False, test_split=False).epochs_run == 1  # resumed
