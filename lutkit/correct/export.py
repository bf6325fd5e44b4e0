"""``lutkit model export``: a finished run's model copied into a model folder (e.g. the
shipped ``lutkit/resources/models/default``), which holds only what ``lutkit fix``
needs; written beside the folder and swapped in, never over a folder it did not write.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from lutkit.correct.model import load_run, run_state
from lutkit.errors import ConfigError, LutkitError
from lutkit.train.checkpoint import CONFIG_JSON, STATE_JSON

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
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
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
