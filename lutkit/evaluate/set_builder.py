"""Build evaluation sets: (distorted, clean) pairs a model never saw while it trained.

``build_eval_sets(dataset, out)`` writes a folder of sets made from the *held-out
photos* of a training dataset (the photos of its val and test splits: training
never takes a gradient step on them):

- ``test``: the dataset's test split as it is (the training recipe, unseen photos);
- ``heldout-OP``: one set per option of the ``heldout`` recipe (cross-processed film,
  the library LUTs tagged ``heldout``) whose ops and LUTs the training recipe cannot
  draw and no training row used, and one per family recipe (``lighting``, ``curves``,
  ``film``, ``lut-library``) that training left out entirely;
- ``ffmpeg``, ``imagemagick``, ``gimp``: colour damage made by tools outside lutkit
  (:mod:`lutkit.evaluate.external`); a tool that is not installed is skipped with a
  message.

The folder::

    eval-sets.json    what was built from what (dataset, training reach, sets, skips)
    manifest.csv      one row per pair: set, id, photo, photo_sha256, photo_split,
                      tool, params (JSON), distorted, clean (file names)
    SET/ID-distorted.png, SET/ID-clean.png

It is written beside the destination and renamed into place when complete; a rerun
with the same inputs and settings finds it up to date and does nothing; one with
other settings or inputs rebuilds it, and its ``log`` says what changed. The sets are
read back with :func:`lutkit.evaluate.sets.load_eval_sets`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lutkit.errors import ConfigError, LutkitError
from lutkit.evaluate.sets import (
    FAMILY_RECIPES,
    HELDOUT_RECIPE,
    LIBRARY_OP,
    MANIFEST,
    MANIFEST_COLUMNS,
    SCHEMA,
    SETS_JSON,
    Reach,
    dataset_set,
    read_rows,
    recipe_reach,
    step_reach,
    training_reach,
)
from lutkit.fsutil import check_writable_outputs


def held_out_photos(
    dataset: str | os.PathLike[str], splits: Iterable[str] = ("val", "test")
) -> list[tuple[str, str, str, np.ndarray]]:
    """(name, sha256, split, clean pixels) of each photo of ``splits``, once, by name."""
    from lutkit.data.png import decode_png

    seen: dict[str, tuple[str, str, str, np.ndarray]] = {}
    for row in read_rows(dataset, splits, ["source", "source_sha256", "split", "clean"]):
        if row["source_sha256"] not in seen:
            seen[row["source_sha256"]] = (
                row["source"],
                row["source_sha256"],
                row["split"],
                decode_png(row["clean"]),
            )
    return sorted(seen.values(), key=lambda p: p[0])


def _shared(ops: set[str], luts: set[str], reach: Reach) -> set[str]:
    """The ops and LUTs of a candidate set that training saw or could draw. Applying a
    library LUT is a mechanism, not a family: for it, the LUTs themselves count."""
    return ((ops - {LIBRARY_OP}) & reach.ops) | (luts & reach.luts)


def _plan_recipe_sets(reach: Reach) -> tuple[list[tuple[str, str, Any]], list[str]]:
    """(set name, description, step or recipe) of the honest held-out recipe sets, and
    a message for each candidate left out because training could draw it."""
    from lutkit.distort.recipe import load_recipe

    plans: list[tuple[str, str, Any]] = []
    skipped: list[str] = []
    heldout = load_recipe(HELDOUT_RECIPE)
    for stage in heldout.stages:
        for step in stage.steps:
            ops, luts = step_reach(step)
            if ops == {LIBRARY_OP}:
                name = "heldout-luts"
            else:
                name = "heldout-" + "-".join(sorted(ops)).replace(".", "-").replace("_", "-")
            shared = sorted(_shared(ops, luts, reach))
            if shared:
                skipped.append(f"{name}: training can draw {', '.join(shared)}; not held out")
                continue
            what = f"{', '.join(sorted(ops))}" + (f" ({', '.join(sorted(luts))})" if luts else "")
            plans.append((name, f"held-out recipe option: {what}", step))
    for family in FAMILY_RECIPES:
        recipe = load_recipe(family)
        ops, luts = recipe_reach(recipe)
        if _shared(ops, luts, reach):
            continue  # training draws this family: not a held-out set
        plans.append((f"heldout-{family}", f"the {family} recipe, left out of training", recipe))
    return plans, skipped


def _planned_luts(plans: list[tuple[str, str, Any]]) -> dict[str, str]:
    """The sha256 of each library LUT the planned sets can draw, by name."""
    from lutkit.distort.lut3d import library_luts
    from lutkit.distort.recipe import Recipe

    names: set[str] = set()
    for _, _, what in plans:
        names |= (recipe_reach(what) if isinstance(what, Recipe) else step_reach(what))[1]
    return library_luts(sorted(names)) if names else {}


def _inputs(dataset: Path, tools: dict[str, str | None], luts: dict[str, str]) -> dict[str, Any]:
    """What the sets are made from besides the settings: the dataset's shards, the
    installed tools and the recipes (recorded, so that a rebuild can say why)."""
    from lutkit.data.index import load_dataset_json
    from lutkit.distort.recipe import load_recipe

    shards = json.dumps([s["sha256"] for s in load_dataset_json(dataset)["shards"]])
    names = (HELDOUT_RECIPE, *FAMILY_RECIPES)
    recipes = [load_recipe(n) for n in names]
    return {
        "shards": shards,
        "dataset": hashlib.sha256(shards.encode()).hexdigest(),
        "installed": sorted(k for k, v in tools.items() if v),
        "recipes": {n: r.sha256 for n, r in zip(names, recipes, strict=True)},
        # the sha256 of each library LUT the planned sets can draw (not in the key: sets
        # made before lutkit recorded them stay up to date; compared where recorded)
        "library_luts": dict(sorted(luts.items())),
    }


def _other_luts(old: dict[str, Any], inputs: dict[str, Any]) -> list[str]:
    """The library LUTs that differ from those the sets in a folder were made with (none
    where the folder does not say: made before lutkit recorded them)."""
    before = (old.get("inputs") or {}).get("library_luts") if isinstance(old, dict) else None
    if not isinstance(before, dict):
        return []
    now = inputs["library_luts"]
    return sorted(n for n in set(before) | set(now) if before.get(n) != now.get(n))


def _settings_key(settings: dict[str, Any], inputs: dict[str, Any]) -> str:
    h = hashlib.sha256()
    h.update(inputs["shards"].encode())
    h.update(json.dumps(settings, sort_keys=True).encode())
    h.update(json.dumps(inputs["installed"]).encode())
    for sha in inputs["recipes"].values():
        h.update(sha.encode())
    return h.hexdigest()


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "none"
    return "none" if value is None else str(value)


def _why_rebuilt(old: Any, dataset: Path, settings: dict[str, Any], inputs: dict[str, Any]) -> str:
    """What differs from the sets a folder holds: ``variants 2 -> 3``, the dataset..."""
    if not isinstance(old, dict) or not isinstance(old.get("settings"), dict):
        return "its eval-sets.json is unreadable"
    was = old["settings"]
    why = [
        f"{k.replace('_', '-')} {_text(was.get(k))} -> {_text(v)}"
        for k, v in settings.items()
        if was.get(k) != v
    ]
    before = old.get("inputs")
    if not isinstance(before, dict):  # written before the inputs were recorded
        return ", ".join(why) or "the dataset, the recipes or the installed tools changed"
    if before.get("dataset") != inputs["dataset"]:
        path = (old.get("dataset") or {}).get("path")
        moved = path is not None and path != str(dataset)
        why.append(f"dataset {path} -> {dataset}" if moved else "the dataset changed")
    if before.get("installed") != inputs["installed"]:
        why.append(
            f"installed tools {_text(before.get('installed'))} -> {_text(inputs['installed'])}"
        )
    recipes = before.get("recipes") or {}
    why += [f"recipe {n} changed" for n, sha in inputs["recipes"].items() if recipes.get(n) != sha]
    why += [f"library LUT {n} added, removed or replaced" for n in _other_luts(old, inputs)]
    return ", ".join(why) or "the inputs changed"


@dataclass
class SetsResult:
    out: Path
    sets: dict[str, int]  # name -> pairs
    skipped: list[str]
    up_to_date: bool = False


def build_eval_sets(
    dataset: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    variants: int = 4,
    seed: int = 0,
    photo_splits: tuple[str, ...] = ("val", "test"),
    tools: Iterable[str] = ("ffmpeg", "imagemagick", "gimp"),
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> SetsResult:
    """Build the evaluation sets of ``dataset`` into ``out`` (see the module doc).

    ``variants`` distortions per held-out photo and set, seeded by (``seed``, set,
    photo sha256, variant). ``tools`` limits the external tools tried.
    """
    from lutkit.evaluate.external import TOOLS, find_tools

    dataset, out = Path(dataset), Path(out)
    if variants < 1:
        raise ConfigError(f"--variants must be at least 1, got {variants}")
    bad = [s for s in photo_splits if s not in ("val", "test")]
    if bad or not photo_splits:
        raise ConfigError(f"held-out photos come from val and/or test, not {bad or 'nothing'}")
    wanted = list(dict.fromkeys(tools))
    unknown = [t for t in wanted if t not in TOOLS]
    if unknown:
        raise ConfigError(f"unknown tool {unknown[0]!r}: choose from {', '.join(TOOLS)}")
    say = log or (lambda _m: None)
    found = {t: p for t, p in find_tools().items() if t in wanted}
    settings = {
        "schema": SCHEMA,
        "variants": variants,
        "seed": seed,
        "photo_splits": list(photo_splits),
        "tools": wanted,
    }
    reach = training_reach(dataset)
    plans, why_skipped = _plan_recipe_sets(reach)
    inputs = _inputs(dataset, found, _planned_luts(plans))
    key = _settings_key(settings, inputs)
    if not force and (out / SETS_JSON).is_file():
        try:
            old = json.loads((out / SETS_JSON).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        if isinstance(old, dict) and old.get("key") == key and not _other_luts(old, inputs):
            return SetsResult(out, dict(old.get("counts", {})), list(old.get("skipped", [])), True)
        # Not refused (`make eval-sets` rebuilds when the dataset changes), but said:
        # reports made on the old sets no longer match them.
        why = _why_rebuilt(old, dataset, settings, inputs)
        say(f"{out}: rebuilding the sets ({why}); reports made on the old sets are stale")
    if out.exists() and not (out / SETS_JSON).is_file() and any(out.iterdir()):
        raise ConfigError(
            "the output folder exists and is not an evaluation-sets folder",
            path=out,
            hint="choose another -o",
        )
    check_writable_outputs(out)  # made beside it, then renamed: before any work
    photos = held_out_photos(dataset, photo_splits)
    if not photos:
        raise ConfigError(f"the dataset has no {'/'.join(photo_splits)} photos", path=dataset)
    leaked = [p[0] for p in photos if p[1] in reach.photos]
    if leaked:
        raise LutkitError(f"photo {leaked[0]} is in the train split too", path=dataset)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        rows: list[dict[str, Any]] = []
        skipped: list[str] = []
        rows += _write_test_set(dataset, tmp)
        skipped += why_skipped
        for name, description, what in plans:
            rows += _write_recipe_set(tmp, name, description, what, photos, variants, seed)
        for tool in wanted:
            exe = found.get(tool)
            if exe is None:
                msg = f"{tool}: not installed, set skipped"
                skipped.append(msg)
                say(msg)
                continue
            rows += _write_tool_set(tmp, tool, exe, photos, variants, seed)
        for msg in why_skipped:
            say(msg)
        counts: dict[str, int] = {}
        for r in rows:
            counts[r["set"]] = counts.get(r["set"], 0) + 1
        descriptions = {r["set"]: (r.pop("_family"), r.pop("_description")) for r in rows}
        doc = {
            "schema": SCHEMA,
            "key": key,
            "dataset": {"path": str(dataset), "name": dataset.resolve().name},
            "settings": settings,
            "inputs": {k: v for k, v in inputs.items() if k != "shards"},
            "training": reach.to_json(),
            "held_out_photos": [
                {"name": n, "sha256": s, "split": sp, "width": px.shape[1], "height": px.shape[0]}
                for n, s, sp, px in photos
            ],
            "sets": [
                {"name": n, "family": f, "description": d, "pairs": counts[n]}
                for n, (f, d) in descriptions.items()
            ],
            "counts": counts,
            "skipped": skipped,
        }
        _write_manifest(tmp / MANIFEST, rows)
        (tmp / SETS_JSON).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SetsResult(out, counts, skipped)


def _swap_in(tmp: Path, out: Path) -> None:
    """Replace ``out`` by the finished ``tmp`` folder (old one moved aside, then removed)."""
    os.chmod(tmp, 0o755)
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _save_pair(folder: Path, pid: str, distorted: np.ndarray, clean: np.ndarray) -> tuple[str, str]:
    from lutkit.images import save_image

    folder.mkdir(exist_ok=True)
    d, c = f"{pid}-distorted.png", f"{pid}-clean.png"
    save_image(folder / d, distorted)
    save_image(folder / c, clean)
    return f"{folder.name}/{d}", f"{folder.name}/{c}"


def _row(name, family, description, pid, photo, tool, params, files) -> dict[str, Any]:
    return {
        "set": name,
        "id": pid,
        "photo": photo[0],
        "photo_sha256": photo[1],
        "photo_split": photo[2],
        "tool": tool,
        "params": json.dumps(params, sort_keys=True),
        "distorted": files[0],
        "clean": files[1],
        "_family": family,
        "_description": description,
    }


def _write_test_set(dataset: Path, tmp: Path) -> list[dict[str, Any]]:
    test = dataset_set(dataset, "test")
    rows = []
    for p in test.pairs:
        files = _save_pair(tmp / "test", p.id, p.distorted, p.clean)
        photo = (p.photo, p.photo_sha256, "test")
        rows.append(
            _row("test", test.family, test.description, p.id, photo, "lutkit", p.info, files)
        )
    return rows


def _write_recipe_set(tmp, name, description, what, photos, variants, seed) -> list[dict]:
    from lutkit.distort.base import apply_chain, ops_to_json
    from lutkit.images import from_float, to_float
    from lutkit.seeds import derive_seed, rng

    rows = []
    for photo in photos:
        clean = photo[3]
        for v in range(variants):
            g = rng(derive_seed(seed, name, photo[1], v))
            records = what.sample(g)
            distorted = from_float(apply_chain(to_float(clean), records), clean.dtype)
            pid = f"{photo[1][:16]}-{v:03d}"
            files = _save_pair(tmp / name, pid, distorted, clean)
            params = {"ops": json.loads(ops_to_json(records))}
            rows.append(
                _row(name, "held-out recipe", description, pid, photo, "lutkit", params, files)
            )
    return rows


_TOOL_TEXT = {
    "ffmpeg": "ffmpeg colortemperature filter (warm or cool light)",
    "imagemagick": "ImageMagick -modulate, -colorize, -color-matrix, -level",
    "gimp": "GIMP 2.10 Script-Fu Curves and Color Balance",
}


def _write_tool_set(tmp, tool, exe, photos, variants, seed) -> list[dict]:
    from lutkit.evaluate import external
    from lutkit.images import load_image, save_image
    from lutkit.seeds import derive_seed, rng

    folder = tmp / tool
    folder.mkdir()
    work = tmp / f".work-{tool}"
    work.mkdir()
    jobs = []
    for photo in photos:
        src = work / f"{photo[1][:16]}.png"
        if not src.exists():
            # 8-bit in: every tool reads it the same way.
            save_image(src, photo[3], bit_depth=8)
        for v in range(variants):
            g = rng(derive_seed(seed, tool, photo[1], v))
            if tool == "ffmpeg":
                params = external.sample_ffmpeg(g)
            elif tool == "imagemagick":
                params = external.sample_imagemagick(g, v)
            else:
                params = external.sample_gimp(g, v)
            pid = f"{photo[1][:16]}-{v:03d}"
            jobs.append((photo, pid, src, work / f"{pid}.png", params))
    if tool == "gimp":
        external.run_gimp_batch(exe, [(s, d, p) for _, _, s, d, p in jobs])
    for _, _, src, dst, params in jobs:
        if tool == "ffmpeg":
            external.run_ffmpeg(exe, src, dst, params)
        elif tool == "imagemagick":
            external.run_imagemagick(exe, src, dst, params)
    rows = []
    for photo, pid, src, dst, params in jobs:
        # Re-encoded by lutkit: tools stamp dates into PNGs; the pixels are theirs.
        distorted = load_image(dst).pixels
        clean = load_image(src).pixels
        if distorted.shape != clean.shape:
            raise LutkitError(f"{tool} changed the image size", path=dst)
        distorted = np.ascontiguousarray(distorted[..., :3])
        files = _save_pair(folder, pid, distorted, clean)
        rows.append(_row(tool, "external tool", _TOOL_TEXT[tool], pid, photo, tool, params, files))
    shutil.rmtree(work)
    return rows


def _write_manifest(path: Path, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(MANIFEST_COLUMNS), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r[k] for k in MANIFEST_COLUMNS})
    path.write_text(buf.getvalue(), encoding="utf-8")
