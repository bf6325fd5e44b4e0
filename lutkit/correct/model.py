"""A trained model (a run folder), loaded for use: its config, its nets and (lazily)
its VAE.

``load_run("runs/demo")`` reads what ``lutkit train`` wrote; ``latest_run()`` finds
the most recently finished run (what ``lutkit fix`` uses without ``--model``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lutkit.errors import ConfigError, LutkitError
from lutkit.train.checkpoint import CONFIG_JSON, STATE_JSON
from lutkit.train.config import TrainConfig, config_from_dict

if TYPE_CHECKING:
    from lutkit.models.colormap import LUTNet
    from lutkit.models.recolor import RecolorNet


@dataclass
class Run:
    """A run folder: ``config`` (TrainConfig), ``record`` (VAE fingerprint, dataset,
    latent shape, image size), ``recolor`` (RecolorNet), ``lutnet`` (LUTNet or None),
    and ``vae``, loaded on first use and checked against the recorded fingerprint."""

    path: Path
    config: TrainConfig
    record: dict[str, Any]
    recolor: RecolorNet
    lutnet: LUTNet | None = None
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
    from lutkit.models.colormap import LUTNet
    from lutkit.models.recolor import RecolorNet

    folder = Path(path)
    config_path = folder / CONFIG_JSON
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
        lutnet = LUTNet.from_pretrained(folder / "lutnet", device=dev)
    return Run(folder, config, record, recolor, lutnet, dev, vae)


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
