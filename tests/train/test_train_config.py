"""The training config: TOML + --set, every key and value checked, exact errors."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
from click.testing import CliRunner

from lutkit.cli import main
from lutkit.errors import ConfigError
from lutkit.train.config import TrainConfig, load_config

ROOT = Path(__file__).resolve().parents[2]
# With no close match, an unknown key's error lists the keys, in the dataclass's order.
KEYS = ", ".join(f.name for f in fields(TrainConfig))


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    return path


def test_shipped_configs_load():
    demo = load_config(ROOT / "pipelines/train/demo.toml")
    assert (demo.name, demo.dataset, demo.vae, demo.stage) == (
        "demo",
        "datasets/demo",
        "default",
        "both",
    )
    ref = load_config(ROOT / "pipelines/train/reference.toml")
    assert (ref.width, ref.res_blocks, ref.lutnet_size) == (128, 5, 33)


def test_toml_and_overrides(tmp_path):
    path = write(tmp_path, 'name = "x"\nepochs = 3\nlr = 1\nresidual = true\n')
    cfg = load_config(path, ["epochs=5", "lr=0.5", "residual=no", "dataset=d"])
    assert (cfg.name, cfg.epochs, cfg.lr, cfg.residual, cfg.dataset) == ("x", 5, 0.5, False, "d")
    assert isinstance(load_config(path).lr, float)  # an integer is a fine float
    assert load_config(None) == TrainConfig()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("epoch = 3\n", "unknown key 'epoch' (did you mean 'epochs'?)"),
        ("flavour = 1\n", f"unknown key 'flavour' (the keys: {KEYS})"),
        ('epochs = "3"\n', "epochs must be an integer, got '3'"),
        ("epochs = 2.5\n", "epochs must be an integer, got 2.5"),
        ("epochs = true\n", "epochs must be an integer, got True"),
        ("residual = 1\n", "residual must be true or false, got 1"),
        ('stage = "all"\n', "stage must be one of recolor, lutnet, both, got 'all'"),
        ("batch_size = 0\n", "batch_size must be at least 1, got 0"),
        ("[train]\nepochs = 1\n", "sections are not supported ([train]): use flat keys"),
        (
            'name = "../x"\n',
            "name must be a plain folder name (letters, digits, . _ -), got '../x'",
        ),
    ],
)
def test_toml_errors(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: {message}"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("foo=1", f"--set: unknown key 'foo' (the keys: {KEYS})"),
        ("warmup=1", "--set: unknown key 'warmup' (did you mean 'warmup_steps'?)"),
        ("epochs", "--set expects key=value, got 'epochs'"),
        ("=3", "--set expects key=value, got '=3'"),
        ("epochs=abc", "--set epochs=abc: epochs must be an integer"),
        ("lr=fast", "--set lr=fast: lr must be a number"),
        ("residual=maybe", "--set residual=maybe: residual must be true or false"),
        ("stage=all", "--set: stage must be one of recolor, lutnet, both, got 'all'"),
        ("lr=0", "--set: lr must be positive, got 0.0"),
        ("clean_share=1.5", "--set: clean_share must be in [0, 1], got 1.5"),
        ("clean_share=-0.1", "--set: clean_share must be in [0, 1], got -0.1"),
    ],
)
def test_override_errors(item, message):
    with pytest.raises(ConfigError) as err:
        load_config(None, [item])
    assert str(err.value) == message


def test_cli_errors_are_one_line(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["train", "--set", "foo=1"])
    assert result.exit_code == 1
    assert result.output == f"Error: --set: unknown key 'foo' (the keys: {KEYS})\n"
    missing = tmp_path / "nope.toml"
    result = runner.invoke(main, ["train", "--config", str(missing)])
    assert result.exit_code == 1
    assert result.output == f"Error: {missing}: config file not found\n"
    result = runner.invoke(main, ["train", "--set", f"dataset={tmp_path}", "--device", "cpu"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1


def test_imports_stay_light():
    code = (
        "import sys, lutkit, lutkit.models, lutkit.train, lutkit.train.config, "
        "lutkit.correct.model, lutkit.train.loop, lutkit.cli.train; "
        "print(sorted(m for m in ('torch', 'diffusers', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
