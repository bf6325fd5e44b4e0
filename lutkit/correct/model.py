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


MODEL_FILES = (
    "recolor/config.json",
    "recolor/model.safetensors",
    "lutnet/config.json",
    "lutnet/model.safetensors",
    "metrics.csv",
    "test.json",
)
# What an export's folder may hold, and so what a folder must hold no more than to be
# taken for an earlier export, which a new export replaces (TRAINING.md, written by
# hand, is carried over); anything else in it belongs to someone else.
EXPORT_NETS = ("recolor", "lutnet")
EXPORT_NET_FILES = ("config.json", "model.safetensors")
EXPORT_FILES = (CONFIG_JSON, STATE_JSON, "metrics.csv", "test.json", "TRAINING.md")


def export_model(
    run_dir: str | os.PathLike[str], out: str | os.PathLike[str], *, colormap: str
) -> Path:
    """Copy a finished run's model into ``out`` (e.g. lutkit/resources/models/default):
    its config (recording ``colormap`` as the one to use, and no absolute paths), the
    two nets (config.json + safetensors), metrics.csv and test.json. Written beside
    ``out`` and renamed into place, so ``out`` is never half-written.

    ``out`` may be new, an empty folder, or an earlier export (replaced whole); any
    other folder, and one that is, holds or lies inside the run, is refused before
    anything is written. Returns ``out`` (its full path where it is given as ``.``)."""
    import shutil
    import tempfile

    src, dst = Path(run_dir), Path(out)
    try:
        target = dst.resolve()  # `-o .` has no name to write beside
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise LutkitError(f"cannot use this path ({exc})", path=dst) from None
    if dst.name in ("", ".", ".."):
        dst = target
    _check_apart(src, dst, target)
    run = load_run(src)  # a clear error for anything that is not a usable run
    if not run_state(src).get("complete"):
        raise LutkitError("the run has not finished training", path=src, hint="resume it first")
    if colormap not in ("fit", "net") or (colormap == "net" and run.lutnet is None):
        raise ConfigError(f"colormap must be fit or net (a run with a LUT net), not {colormap!r}")
    _check_replaceable(dst, target)
    doc = json.loads((src / CONFIG_JSON).read_text(encoding="utf-8"))
    # The dataset the run was trained on: its recorded absolute path (as `lutkit eval`
    # reads it), else its name, from here.
    trained_at = doc.pop("dataset_path", None)
    dataset = trained_at if trained_at and Path(trained_at).is_dir() else run.config.dataset
    if doc.get("vae_path") and not Path(doc["vae_path"]).resolve().is_relative_to(
        Path.cwd().resolve()
    ):
        doc["vae_path"] = None  # only a VAE inside the project is kept by path
    doc["colormap"] = colormap
    doc["heldout_photos"] = _heldout_photos(dataset)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a model folder is read by everyone
    try:
        (tmp / CONFIG_JSON).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        for name in MODEL_FILES:
            if (src / name).is_file():
                (tmp / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src / name, tmp / name)
        for extra in ("TRAINING.md",):  # kept from an earlier export: written by hand
            if (target / extra).is_file():
                shutil.copyfile(target / extra, tmp / extra)
        (tmp / STATE_JSON).write_text(
            json.dumps({"complete": True, "epoch": run_state(src).get("epoch")}) + "\n",
            encoding="utf-8",
        )
        _move_into_place(tmp, target, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dst


def _check_apart(src: Path, dst: Path, target: Path) -> None:
    """Refuse a model folder that is the run, lies inside it or holds it: replacing it
    would delete the run's resume state (a later `lutkit train` would start afresh)."""
    run = src.resolve()
    hint = "give a folder outside the run, e.g. -o models/NAME"
    if target == run:
        raise LutkitError(
            "the model folder is the run itself; nothing was changed", path=dst, hint=hint
        )
    if target.is_relative_to(run):
        raise LutkitError(
            f"the model folder is inside the run {src}; nothing was changed", path=dst, hint=hint
        )
    if run.is_relative_to(target):
        raise LutkitError(
            f"the model folder holds the run {src}; nothing was changed", path=dst, hint=hint
        )


def _check_replaceable(dst: Path, target: Path) -> None:
    """Refuse an existing ``target`` that is not an empty folder or an earlier export,
    and an earlier export that holds the working folder (replacing it would leave the
    shell in a deleted folder)."""
    if not target.exists():
        return
    if not target.is_dir():
        raise LutkitError(
            "exists and is not a folder; nothing was changed",
            path=dst,
            hint="give a new or empty folder for the model",
        )
    why = _not_an_export(target)
    if why:
        raise LutkitError(
            f"the folder is not empty and is no earlier model export ({why}); nothing was changed",
            path=dst,
            hint="give a new or empty folder: export replaces only a folder it wrote before",
        )
    if Path.cwd().resolve().is_relative_to(target) and any(target.iterdir()):
        raise LutkitError(
            "the earlier export holds the working folder; nothing was changed",
            path=dst,
            hint=f"run it from outside, e.g. -o {target.name} from {target.parent}",
        )


def _not_an_export(folder: Path) -> str | None:
    """Why ``folder`` is not an earlier export (one thing it holds that no export
    writes, or a config.json that is not an exported model's), or None where it is one
    (or is empty)."""
    entries = sorted(os.scandir(folder), key=lambda e: e.name)
    if not entries:
        return None
    for entry in entries:
        if entry.name in EXPORT_NETS and entry.is_dir(follow_symlinks=False):
            for inner in sorted(os.scandir(entry.path), key=lambda e: e.name):
                if inner.name not in EXPORT_NET_FILES or not inner.is_file(follow_symlinks=False):
                    return f"it holds {entry.name}/{inner.name}"
        elif entry.name not in EXPORT_FILES or not entry.is_file(follow_symlinks=False):
            return f"it holds {entry.name}"
    if not (folder / CONFIG_JSON).is_file():
        return f"it has no {CONFIG_JSON}"
    try:
        doc = json.loads((folder / CONFIG_JSON).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        doc = None
    # An export records the colour map to use and the held-out photos: a run does not.
    if not isinstance(doc, dict) or not {"colormap", "heldout_photos"} <= doc.keys():
        return f"its {CONFIG_JSON} is not an exported model's"
    if not (folder / "recolor" / CONFIG_JSON).is_file():
        return "it has no recolor net"
    return None


def _move_into_place(tmp: Path, target: Path, dst: Path) -> bool:
    """Put the finished export ``tmp`` at ``target``; True when it replaced an earlier
    export. Renamed there when ``target`` is new; into it when it is an empty folder (so
    that it stays the same folder, e.g. the working folder of `-o .`), config.json last
    so that no half model loads; and when it is an earlier export, swapped for it by two
    renames, the old one checked again once it is aside (something may have been saved
    into it since the first check) and removed only then. An interruption or a failure
    at any point leaves ``target`` as it was or as the new export, never missing."""
    import shutil

    if not target.exists():
        tmp.rename(target)
        return False
    if not any(target.iterdir()):
        moved: list[Path] = []
        try:
            for entry in sorted(tmp.iterdir(), key=lambda p: p.name == CONFIG_JSON):
                moved.append(target / entry.name)
                entry.rename(target / entry.name)
        except BaseException:
            for path in moved:  # back to empty, as it was
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            raise
        tmp.rmdir()
        return False
    old = tmp.with_name(f"{tmp.name}.old")  # tmp's name is new: so is this one
    try:
        target.rename(old)
        why = _not_an_export(old)
        if why:  # filled since the first check: the user's, put back untouched
            old.rename(target)
            raise LutkitError(
                f"something was saved into the folder during the export ({why}); "
                "nothing was changed",
                path=dst,
                hint="give a new or empty folder: export replaces only a folder it wrote before",
            )
        tmp.rename(target)
    except BaseException:
        # Look at the disk, not at how far the code got: the old folder goes back
        # unless the new one already took its place.
        if old.exists() and not target.exists():
            old.rename(target)
        raise
    finally:
        if old.exists() and target.exists() and not tmp.exists():
            shutil.rmtree(old, ignore_errors=True)  # swapped: the old export goes
    return True


def _heldout_photos(dataset: str) -> list[str]:
    """The sources of a dataset's val and test splits (never trained on), sorted."""
    from lutkit.data.index import load_dataset_json
    from lutkit.data.shards import read_shard

    names: set[str] = set()
    for shard in load_dataset_json(dataset).get("shards", []):
        if shard.get("split") in ("val", "test"):
            names.update(read_shard(dataset, shard, ["source"]).column("source").to_pylist())
    return sorted(names)


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
