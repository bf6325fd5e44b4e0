"""Evaluation sets: (distorted, clean) pairs a model never saw while it trained.

This module holds the sets' contract: :class:`Pair` and :class:`EvalSet`, a dataset's
split as a set (:func:`dataset_set`), what training could reach
(:func:`training_reach`), and reading a sets folder back (:func:`load_eval_sets`,
:func:`check_held_out`). :mod:`lutkit.evaluate.set_builder` writes the folders
(``lutkit eval-sets``); its docstring describes the sets and the folder layout.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lutkit.errors import ConfigError, LutkitError

SETS_JSON = "eval-sets.json"
MANIFEST = "manifest.csv"
SCHEMA = 1
FAMILY_RECIPES = ("lighting", "curves", "film", "lut-library")
HELDOUT_RECIPE = "heldout"
LIBRARY_OP = "lut3d.library"
MANIFEST_COLUMNS = (
    "set",
    "id",
    "photo",
    "photo_sha256",
    "photo_split",
    "tool",
    "params",
    "distorted",
    "clean",
)


@dataclass
class Pair:
    """One evaluation pair: uint8/uint16 (H, W, 3) pixels and where they came from."""

    id: str
    distorted: np.ndarray
    clean: np.ndarray
    photo: str = ""
    photo_sha256: str = ""
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvalSet:
    name: str
    family: str  # "test split", "held-out recipe", "external tool"
    description: str
    pairs: list[Pair]


@dataclass
class Reach:
    """What training saw: photos (sha256), ops and library LUTs, from the train rows
    and from everything the training recipe can draw."""

    photos: set[str] = field(default_factory=set)
    ops: set[str] = field(default_factory=set)
    luts: set[str] = field(default_factory=set)
    recipe: str = ""
    recipe_checked: bool = False  # the recipe file matched dataset.json's hash

    def to_json(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "recipe_checked": self.recipe_checked,
            "photos": sorted(self.photos),
            "ops": sorted(self.ops),
            "luts": sorted(self.luts),
        }


# --------------------------------------------------------------------------- dataset rows


def read_rows(
    dataset: str | os.PathLike[str], splits: Iterable[str], columns: list[str]
) -> list[dict[str, Any]]:
    """The rows of ``splits`` of a dataset (only ``columns``), in shard order."""
    from lutkit.data.index import load_dataset_json
    from lutkit.data.shards import read_shard_rows
    from lutkit.data.sources import check_split

    wanted = {check_split(s) for s in splits}
    folder = Path(dataset)
    doc = load_dataset_json(folder)
    rows: list[dict[str, Any]] = []
    for shard in doc["shards"]:
        if shard["split"] not in wanted:
            continue
        if not (folder / shard["file"]).is_file():
            raise ConfigError(
                "a shard listed in dataset.json is missing",
                path=folder / shard["file"],
                hint="rebuild the dataset (`lutkit dataset build`)",
            )
        rows += read_shard_rows(folder, shard, columns)
    return rows


def dataset_set(dataset: str | os.PathLike[str], split: str = "test") -> EvalSet:
    """A dataset's split as an evaluation set (its rows' distorted and clean pixels)."""
    from lutkit.data.png import decode_png

    cols = ["id", "source", "source_sha256", "ops", "distorted", "clean"]
    rows = read_rows(dataset, [split], cols)
    if not rows:
        raise ConfigError(f"the dataset has no {split} rows", path=dataset)
    pairs = [
        Pair(
            r["id"],
            decode_png(r["distorted"]),
            decode_png(r["clean"]),
            r["source"],
            r["source_sha256"],
            {"ops": json.loads(r["ops"])},
        )
        for r in rows
    ]
    return EvalSet(
        split, "test split", f"the {split} split of {Path(dataset).name} (training recipe)", pairs
    )


def same_pairs(a: EvalSet, b: EvalSet) -> bool:
    """Whether two sets hold exactly the same pairs: the same pair ids, each with the
    same distorted and clean pixels (names and descriptions aside)."""
    if sorted(p.id for p in a.pairs) != sorted(p.id for p in b.pairs):
        return False
    # Ids alone are not enough: a dataset rebuilt with another recipe or seed keeps them.
    theirs = {p.id: p for p in b.pairs}
    return all(
        np.array_equal(p.distorted, theirs[p.id].distorted)
        and np.array_equal(p.clean, theirs[p.id].clean)
        for p in a.pairs
    )


def _row_luts(ops: list[dict[str, Any]]) -> set[str]:
    return {str(o["params"]["lut"]) for o in ops if o.get("op") == LIBRARY_OP}


def training_reach(dataset: str | os.PathLike[str]) -> Reach:
    """What the training split of ``dataset`` contains, and what its recipe can draw."""
    from lutkit.data.index import load_dataset_json
    from lutkit.distort.recipe import load_recipe

    doc = load_dataset_json(dataset)
    reach = Reach(recipe=doc["recipe"]["name"])
    for row in read_rows(dataset, ["train"], ["source_sha256", "ops"]):
        reach.photos.add(row["source_sha256"])
        ops = json.loads(row["ops"])
        reach.ops.update(str(o["op"]) for o in ops)
        reach.luts.update(_row_luts(ops))
    try:
        recipe = load_recipe(reach.recipe)
    except LutkitError:
        return reach
    if recipe.sha256 == doc["recipe"]["sha256"]:
        reach.recipe_checked = True
        ops, luts = recipe_reach(recipe)
        reach.ops |= ops
        reach.luts |= luts
    return reach


def recipe_reach(recipe: Any) -> tuple[set[str], set[str]]:
    """Every op and library LUT a loaded recipe can draw (includes resolved)."""
    ops: set[str] = set()
    luts: set[str] = set()
    for stage in recipe.stages:
        for step in stage.steps:
            o, lt = step_reach(step)
            ops |= o
            luts |= lt
    return ops, luts


def step_reach(step: Any) -> tuple[set[str], set[str]]:
    from lutkit.distort.base import merged

    if step.include is not None:
        return recipe_reach(step.include)
    luts: set[str] = set()
    if step.op.name == LIBRARY_OP:
        luts = set(step.op.candidates(merged(step.op, step.ranges)))
    return {step.op.name}, luts


# --------------------------------------------------------------------------- loading


def read_sets_json(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """A sets folder's eval-sets.json, checked."""
    path = Path(folder) / SETS_JSON
    if not path.is_file():
        raise ConfigError(
            "not an evaluation-sets folder (no eval-sets.json)",
            path=folder,
            hint="build one with `lutkit eval-sets` (`make eval-sets`)",
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LutkitError(f"eval-sets.json is unreadable: {exc}", path=path) from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or "sets" not in doc:
        raise ConfigError("eval-sets.json has another schema", path=path, hint="rebuild it")
    return doc


def read_manifest(folder: str | os.PathLike[str]) -> list[dict[str, str]]:
    path = Path(folder) / MANIFEST
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except OSError as exc:
        raise LutkitError(f"cannot read the manifest: {exc}", path=path) from None


def load_eval_sets(
    folder: str | os.PathLike[str], names: Iterable[str] | None = None
) -> list[EvalSet]:
    """The sets of a folder written by :func:`build_eval_sets` (all, or ``names``)."""
    from lutkit.images import load_image

    folder = Path(folder)
    doc = read_sets_json(folder)
    known = [s["name"] for s in doc["sets"]]
    chosen = list(dict.fromkeys(names)) if names else known
    missing = [n for n in chosen if n not in known]
    if missing:
        raise ConfigError(
            f"no set named {missing[0]!r}", path=folder, hint=f"it has {', '.join(known)}"
        )
    by_set: dict[str, list[Pair]] = {n: [] for n in chosen}
    for row in read_manifest(folder):
        if row["set"] not in by_set:
            continue
        by_set[row["set"]].append(
            Pair(
                row["id"],
                load_image(folder / row["distorted"]).pixels,
                load_image(folder / row["clean"]).pixels,
                row["photo"],
                row["photo_sha256"],
                {"tool": row["tool"], **json.loads(row["params"])},
            )
        )
    meta = {s["name"]: s for s in doc["sets"]}
    return [EvalSet(n, meta[n]["family"], meta[n]["description"], by_set[n]) for n in chosen]


def check_held_out(folder: str | os.PathLike[str], dataset: str | os.PathLike[str]) -> list[str]:
    """Problems that would make a set not held out from ``dataset``'s training data:
    a photo of a set in the train split, or (for held-out recipe sets) an op or LUT
    that a training row used or the training recipe can draw. Empty when honest."""
    reach = training_reach(dataset)
    problems = []
    for row in read_manifest(folder):
        where = f"{row['set']}/{row['id']}"
        if row["photo_sha256"] in reach.photos:
            problems.append(f"{where}: photo {row['photo']} is in the training data")
        if not row["set"].startswith("heldout-"):
            continue
        ops = json.loads(row["params"]).get("ops", [])
        for name in sorted(({str(o["op"]) for o in ops} - {LIBRARY_OP}) & reach.ops):
            problems.append(f"{where}: op {name} is in the training data or recipe")
        for name in sorted(_row_luts(ops) & reach.luts):
            problems.append(f"{where}: LUT {name} is in the training data or recipe")
    return problems
