"""A trained model (a run folder), loaded for use: its config, its nets and (lazily)
its VAE.

``load_run("runs/demo")`` reads what ``lutkit train`` wrote; ``latest_run()`` finds
the most recently finished run (what ``lutkit fix`` uses without ``--model``).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lutkit.errors import ConfigError, LutkitError, LutkitWarning
from lutkit.train.checkpoint import CONFIG_JSON, STATE_JSON
from lutkit.train.config import TrainConfig, config_from_dict

if TYPE_CHECKING:
    from lutkit.models.blend import BlendNet
    from lutkit.models.colormap import LUTNet
    from lutkit.models.recolor import RecolorNet


@dataclass
class Run:
    """A run folder: ``config`` (TrainConfig), ``record`` (VAE fingerprint, dataset,
    latent shape, image size), ``recolor`` (RecolorNet), ``lutnet`` (LUTNet, BlendNet or None),
    and ``vae``, loaded on first use and checked against the recorded fingerprint."""

    path: Path
    config: TrainConfig
    record: dict[str, Any]
    recolor: RecolorNet
    lutnet: LUTNet | BlendNet | None = None
    device: str = "cpu"
    vae_spec: str | None = None  # overrides where the VAE is loaded from
    _vae: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def image_size(self) -> int:
        return int(self.record.get("image_size", 224))

    @property
    def fingerprint(self) -> str | None:
        return self.record.get("vae_fingerprint")

    @property
    def vae(self):
        """The run's AutoencoderKL (loaded once); a different VAE is an error."""
        if self._vae is None:
            from lutkit.latents.vae import load_vae, vae_fingerprint

            spec = self.vae_spec or self.config.vae
            recorded_path = self.record.get("vae_path")
            if self.vae_spec is None and recorded_path and Path(recorded_path).is_dir():
                spec = recorded_path  # a local folder, wherever the command runs from
            vae = load_vae(spec, device=self.device)
            found = vae_fingerprint(vae)
            if self.fingerprint and found != self.fingerprint:
                raise ConfigError(
                    f"the run was trained with VAE {self.fingerprint}, but {spec!r} is {found}",
                    path=self.path,
                    hint="pass the VAE the run was trained with, or retrain",
                )
            self._vae = vae
        return self._vae


def load_run(path: str | os.PathLike[str], *, device: str = "cpu", vae: str | None = None) -> Run:
    """Load a run folder written by ``lutkit train`` (nets in eval mode on ``device``)."""
    from lutkit.device import pick_device
    from lutkit.models.blend import BlendNet
    from lutkit.models.colormap import LUTNet
    from lutkit.models.recolor import RecolorNet

    folder = Path(path)
    config_path = folder / CONFIG_JSON
    if folder.exists() and not folder.is_dir():
        raise LutkitError(
            "a file, not a run folder",
            path=folder,
            hint="give the folder of a run (runs/NAME) or of an exported model",
        )
    if not folder.is_dir():
        raise LutkitError("no such run folder", path=folder, hint="train one with `lutkit train`")
    if not config_path.is_file():
        raise LutkitError(
            f"not a training run (no {CONFIG_JSON})",
            path=folder,
            hint="train one with `lutkit train`",
        )
    try:
        doc = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LutkitError(f"unreadable run config: {exc}", path=config_path) from None
    if not isinstance(doc, dict):
        raise LutkitError("the run config is not a JSON object", path=config_path)
    if "_class_name" in doc:  # a diffusers folder: a VAE (or one of a run's nets)
        raise LutkitError(
            f"this folder holds {doc['_class_name']} weights alone, not a lutkit model or run",
            path=folder,
            hint="give the folder `lutkit train` or `lutkit model export` wrote; "
            "for a VAE, see `lutkit vae info`",
        )
    config = config_from_dict(doc, where=config_path, recorded=True)
    record = {k: v for k, v in doc.items() if k not in config.to_dict()}
    dev = pick_device(device)
    if not (folder / "recolor" / "config.json").is_file():
        raise LutkitError(
            "the run has no recolor net yet (no epoch has finished)",
            path=folder,
            hint="let `lutkit train` finish an epoch",
        )
    recolor = RecolorNet.from_pretrained(folder / "recolor", device=dev)
    lutnet = None
    if (folder / "lutnet" / "config.json").is_file():
        cls = BlendNet if config.lutnet_kind == "blend" else LUTNet
        lutnet = cls.from_pretrained(folder / "lutnet", device=dev)
    return Run(folder, config, record, recolor, lutnet, dev, vae)


def default_model_dir() -> Path:
    """The correction model shipped inside the package (``make model`` reproduces it)."""
    return Path(__file__).resolve().parent.parent / "resources" / "models" / "default"


def model_label(path: str | os.PathLike[str]) -> str:
    """How reports name a model: ``default`` for the shipped one, else its path as given
    (relative to the working folder where it lies inside it): no absolute path of this
    machine ends up in a report that is committed."""
    folder = Path(path).resolve()
    if folder == default_model_dir().resolve():
        return "default (the model shipped with lutkit)"
    try:
        return str(folder.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def resolve_model(
    spec: str | os.PathLike[str] | None,
    root: str | os.PathLike[str] = "runs",
    *,
    given: str = "--model",
):
    """Which model ``lutkit fix`` uses: ``spec`` if given ("default": the shipped one),
    else the run under ``root`` that finished last, else the shipped default model.
    Returns (path, how it was chosen); ``given`` names where ``spec`` came from (the
    option, or a command's argument). A run that has not finished training is used,
    with a :class:`LutkitWarning` that says how far it got."""
    if spec is not None and str(spec) != "default":
        folder = Path(spec)
        _warn_if_unfinished(folder)
        return folder, given
    if spec is None:
        found = latest_run(root)
        if found is not None:
            return found, f"the last run finished under {root}/"
    folder = default_model_dir()
    if not (folder / CONFIG_JSON).is_file():
        raise LutkitError(
            "the default model is missing from this installation",
            path=folder,
            hint="reinstall lutkit, run `make model`, or pass --model runs/NAME",
        )
    return folder, "the default model shipped with lutkit"


def _warn_if_unfinished(folder: Path) -> None:
    """Warn when ``folder`` is a run whose state.json says its training is unfinished (a
    folder without one, e.g. not a run at all, is left to :func:`load_run`)."""
    state = run_state(folder)
    if not state or state.get("complete"):
        return
    epoch, epochs = state.get("epoch"), state.get("epochs")
    done = (
        f"has finished epoch {epoch} of {epochs} only"
        if isinstance(epoch, int) and isinstance(epochs, int)
        else "has not finished training"
    )
    warnings.warn(f"{folder} {done} (rerun lutkit train to finish it)", LutkitWarning, stacklevel=3)


def preferred_colormap(run: Run) -> str:
    """The colour map a run is best used with (:func:`colormap_choice`)."""
    return colormap_choice(run)[0]


def colormap_choice(run: Run) -> tuple[str, str]:
    """The colour map ``fix`` uses without ``--colormap``, and why: the one recorded as
    ``colormap`` in the model's config.json (``model export --colormap``: the shipped
    model records what its evaluation showed); for a run, the one with the lower mean
    ΔE2000 on its test split (``test.json``, written when training completes: the
    photos it never trained on); else fit."""
    choice = run.record.get("colormap")
    if choice in ("fit", "net"):
        if choice == "net" and run.lutnet is None:
            return "fit", "it has no LUT net"
        return choice, "recorded when it was exported"
    if run.lutnet is None:
        return "fit", "it has no LUT net"
    from lutkit.train.testsplit import TEST_JSON

    test, state = run.path / TEST_JSON, run.path / STATE_JSON
    try:
        if state.is_file() and test.stat().st_mtime_ns < state.stat().st_mtime_ns:
            return "fit", f"its {TEST_JSON} predates its last checkpoint"
        doc = json.loads(test.read_text(encoding="utf-8"))
        fit, net = float(doc["de"]["fit"]), float(doc["de"]["net"])
    except (OSError, ValueError, KeyError, TypeError):
        return "fit", f"no test-split scores of both maps ({TEST_JSON}) to choose by"
    if not (math.isfinite(fit) and math.isfinite(net)):
        return "fit", f"no test-split scores of both maps ({TEST_JSON}) to choose by"
    scores = f"mean ΔE2000 on its test split: net {net:.2f}, fit {fit:.2f}"
    return ("net" if net < fit else "fit"), scores


def run_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The run's state.json (epoch, epochs, complete, updated), or {} when absent."""
    try:
        doc = json.loads((Path(path) / STATE_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def latest_run(root: str | os.PathLike[str] = "runs") -> Path | None:
    """The most recently finished complete run under ``root``, or None."""
    base = Path(root)
    if not base.is_dir():
        return None
    best: tuple[float, str] | None = None
    found = None
    for folder in base.iterdir():
        state = run_state(folder)
        if not state.get("complete") or not (folder / "recolor" / "config.json").is_file():
            continue
        key = (float(state.get("updated", 0.0)), folder.name)
        if best is None or key > best:
            best, found = key, folder
    return found
