"""Build a paired dataset: clean photos -> distorted/clean pairs in Parquet shards.

The build is planned up front (sources, splits, shards) and every shard is a pure
function of its plan: a shard holds whole sources (all their variants), rows are
seeded from (dataset seed, source sha256, variant), so adding photos never changes
existing rows (but for ``--mosaic`` views, which tile other train photos: adding or
removing a train photo rebuilds the train shards) and a rerun after an interruption
rebuilds only the missing shards (the resume rule is written down in
:mod:`lutkit.data.index`). Engines run the same per-source function: a local
process pool, or Ray.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import sys
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from lutkit import __version__
from lutkit.data.index import DATASET_JSON, build_lock, write_dataset_json
from lutkit.data.png import encode_png
from lutkit.data.schema import SCHEMA_VERSION, TARGET_LUT_SIZE, pairs_schema
from lutkit.data.shards import (
    LUTS_KEY,
    file_sha256,
    fsync_dir,
    remove_stale_temporaries,
    shard_metadata,
    shard_name,
    shard_num_rows,
    shard_plan_hash,
    write_shard,
)
from lutkit.data.sources import (
    SPLITS,
    Rejected,
    SourceImage,
    assign_split,
    check_output_apart,
    discover,
)
from lutkit.data.views import plan_crops, plan_mosaics, prepare_views
from lutkit.errors import ConfigError, ImageError, LutkitWarning
from lutkit.progress import Counter, Progress


@dataclass(frozen=True)
class BuildConfig:
    source: str
    recipe: str
    out: str
    variants: int = 4
    size: int = 256
    seed: int = 0
    rows_per_shard: int = 256
    splits: tuple[float, float, float] = (0.8, 0.1, 0.1)
    target_lut: str | None = None
    target_strength: float = 1.0
    ground_truth: bool = True
    allow_outside: bool = False
    crops: int = 1  # views per photo: 1 = the centre square; more = random squares too
    min_crop: float = 0.35  # a random crop's side, as a fraction of the short side, at least
    mosaic: int = 0  # more views of each train photo: its crop tiled with other train photos

    def views(self, split: str | None) -> int:
        """Views per source of ``split``: the crops, and for train the mosaics."""
        return self.crops + (self.mosaic if split == "train" else 0)

    def check(self) -> None:
        if self.variants < 1:
            raise ConfigError(f"--variants must be at least 1, got {self.variants}")
        if not 1 <= self.crops <= 1000:
            raise ConfigError(f"--crops must be 1 to 1000, got {self.crops}")
        if not 0.05 <= self.min_crop <= 1.0:
            raise ConfigError(f"--min-crop must be in [0.05, 1], got {self.min_crop}")
        if not 0 <= self.mosaic <= 1000:
            raise ConfigError(f"--mosaic must be 0 to 1000, got {self.mosaic}")
        if not 16 <= self.size <= 4096:
            raise ConfigError(f"--size must be 16 to 4096 pixels, got {self.size}")
        if self.rows_per_shard < 1:
            raise ConfigError(f"--rows-per-shard must be at least 1, got {self.rows_per_shard}")
        if not 0.0 <= self.target_strength <= 1.0:
            raise ConfigError(f"--target-strength must be in [0, 1], got {self.target_strength}")


@dataclass
class ShardPlan:
    split: str
    index: int
    count: int
    sources: list[SourceImage]
    plan_hash: str = ""
    card: tuple[int, ...] = ()  # rows the dataset card will show (their tiles come back)

    @property
    def name(self) -> str:
        return shard_name(self.split, self.index, self.count)


@dataclass
class ShardDone:
    """What building a shard reports: enough for the dataset's index and its card
    without reading the shard back."""

    sha256: str
    rows: int
    rejected: list[Rejected]
    card: dict[int, dict[str, Any]] = field(default_factory=dict)  # row -> card_row


# Called with each pair once it is made: (row index in the source, row, the clean image
# as the row holds it (the styled target with --target-lut), the distorted image).
OnPair = Callable[[int, dict[str, Any], np.ndarray, np.ndarray], None]


@dataclass
class BuildResult:
    out: Path
    shards_written: int
    shards_skipped: int
    rows: dict[str, int] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)


# --------------------------------------------------------------------------- rows


class RowMaker:
    """Everything a worker needs to turn a source image into rows (picklable).
    ``partners``: the train photos (sha256 -> path) whose crops mosaic views tile."""

    def __init__(
        self,
        cfg: BuildConfig,
        recipe_path: str,
        library: str,
        partners: dict[str, Path] | None = None,
        luts_digest: str = "",
    ) -> None:
        self.cfg = cfg
        self.recipe_path = recipe_path
        self.library = library
        self.luts_digest = luts_digest  # written into each shard (LUTS_KEY)
        self.partners = dict(sorted((partners or {}).items()))
        # worker_maker's key: a digest, not the whole list, for every shard
        self.partners_digest = hashlib.sha256(repr(self.partners).encode()).hexdigest()
        self._recipe = None
        self._style = None

    def _setup(self) -> None:
        if self._recipe is not None:
            return
        from lutkit.distort.recipe import load_recipe

        os.environ.setdefault("LUTKIT_LIBRARY", self.library)
        self._recipe = load_recipe(self.recipe_path)
        if self.cfg.target_lut:
            from lutkit.luts.library import Library

            self._style = Library(self.library).load(self.cfg.target_lut)

    def rows(
        self, src: SourceImage, split: str, on_pair: OnPair | None = None
    ) -> list[dict[str, Any]]:
        """The crops x variants rows of one source (ImageError if it cannot be decoded);
        ``on_pair`` sees each pair's pixels, the ones its PNG columns hold."""
        self._setup()
        cfg = self.cfg
        crops = plan_crops(cfg.seed, src.sha256, cfg.crops, cfg.min_crop)
        if split == "train" and cfg.mosaic > 0:
            others = [sha for sha in self.partners if sha != src.sha256]
            crops += plan_mosaics(
                cfg.seed, src.sha256, cfg.mosaic, others, cfg.min_crop, first=len(crops)
            )
        out: list[dict[str, Any]] = []
        views = prepare_views(src.path, cfg.size, crops, self.partners)
        for c, (clean, view) in enumerate(views):
            out += self._view_rows(src, split, clean, view, c, on_pair, len(out))
        return out

    def _view_rows(
        self, src: SourceImage, split: str, clean, crop, c: int, on_pair: OnPair | None, first: int
    ) -> list[dict[str, Any]]:
        """The variants of one view (crop ``c``) of a source; its first row is the
        source's row ``first``."""
        from lutkit.distort.base import apply_chain, is_colormap, ops_to_json
        from lutkit.images import from_float, to_float
        from lutkit.seeds import derive_seed, rng

        cfg = self.cfg
        clean_f = to_float(clean)
        target = clean
        if self._style is not None:
            styled = self._style.apply(clean_f, strength=cfg.target_strength)
            target = from_float(np.clip(styled, 0, 1), clean.dtype)
        target_png = encode_png(target)
        out = []
        for k in range(cfg.variants):
            v = c * cfg.variants + k  # variants are numbered across crops (then mosaics)
            seed = derive_seed(cfg.seed, src.sha256, v)
            records = self._recipe.sample(rng(seed))
            distorted = from_float(apply_chain(clean_f, records), clean.dtype)
            colormap = is_colormap(records)
            lut_values, invertible = None, None
            if colormap and cfg.ground_truth:
                lut_values, invertible = self._truth(records)
            out.append(
                {
                    "id": f"{src.sha256[:16]}-{v:03d}",
                    "source": src.name,
                    "source_sha256": src.sha256,
                    "split": split,
                    "variant": v,
                    "seed": seed,
                    "recipe": self._recipe.name,
                    "ops": ops_to_json(records),
                    "width": cfg.size,
                    "height": cfg.size,
                    "clean": target_png,
                    "distorted": encode_png(distorted),
                    "colormap_only": colormap,
                    "target_lut": lut_values,
                    "target_invertible": invertible,
                    "crop": None if crop is None else crop.to_json(),
                }
            )
            if on_pair is not None:
                on_pair(first + k, out[-1], target, distorted)
        return out

    def _truth(self, records) -> tuple[np.ndarray, float]:
        from lutkit.distort.truth import bake_chain, invert_lut
        from lutkit.luts.model import compose

        inverse, report = invert_lut(bake_chain(records, TARGET_LUT_SIZE))
        if self._style is not None:
            inverse = compose(
                inverse, self._style.blend(self.cfg.target_strength), size=TARGET_LUT_SIZE
            )
        return inverse.table.reshape(-1).astype(np.float16), report.fraction


# The set-up row maker of this worker process, by its settings: pool and Ray workers
# are reused, so the recipe (and a style LUT) is loaded once per process, not per task.
_MAKERS: dict[str, RowMaker] = {}


def worker_maker(maker: RowMaker) -> RowMaker:
    """This process's set-up maker with ``maker``'s settings (``maker`` itself, the
    first time). The process keeps freed memory for reuse from then on: the ops
    allocate and free arrays of megabytes per pair (about 15% of their time goes to
    faulting those pages in again otherwise; the same bytes either way)."""
    key = repr((maker.cfg, maker.recipe_path, maker.library, maker.partners_digest))
    if key not in _MAKERS:
        from lutkit.device import keep_freed_memory

        keep_freed_memory()
        _MAKERS.clear()
        _MAKERS[key] = maker
    return _MAKERS[key]


def source_rows(
    maker: RowMaker, src: SourceImage, split: str, on_pair: OnPair | None = None
) -> tuple[list[dict[str, Any]], Rejected | None]:
    """The per-source step both engines run: the source's rows, or why it was rejected."""
    try:
        return maker.rows(src, split, on_pair), None
    except ImageError as exc:
        return [], Rejected(src.name, exc.message)


def make_shard_rows(
    maker: RowMaker, plan: ShardPlan
) -> tuple[list[dict[str, Any]], list[Rejected], dict[int, dict[str, Any]]]:
    """The rows of one shard (sources in plan order, variants in order), its rejects,
    and the card tiles of the rows in ``plan.card`` (made from the pixels in hand)."""
    rows: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    card: dict[int, dict[str, Any]] = {}
    want = set(plan.card)
    for src in plan.sources:
        seen: dict[int, dict[str, Any]] = {}
        keep = partial(_keep_card_row, want, seen, len(rows)) if want else None
        made, bad = source_rows(maker, src, plan.split, keep)
        rows.extend(made)
        if bad is not None:
            rejected.append(bad)
        else:
            card.update(seen)  # a source that failed half-way has no rows, so no tiles
    return rows, rejected, card


# A shard whose every source turned out unreadable has no rows. It is written here,
# not in pairs/, so that it still records its plan (a rerun skips it) and its rejected
# sources, while pairs/ holds only shards with rows: readers such as Hugging Face
# `datasets` refuse a 0-row Parquet file.
EMPTY_SHARDS = ".empty-shards"


def shard_file(out: Path, name: str) -> Path:
    """Where shard ``name`` of a build lies: pairs/, or the empty shards' folder."""
    empty = out / EMPTY_SHARDS / name
    return empty if empty.is_file() else out / "pairs" / name


def write_shard_rows(
    plan: ShardPlan,
    rows: list[dict[str, Any]],
    rejected: list[Rejected],
    out: Path,
    luts_digest: str = "",
) -> str:
    """Write a shard's rows with the common writer (rejected sources go into the
    schema metadata, ``lutkit.rejected``, and ``luts_digest``, the library LUTs the rows
    could draw, into ``lutkit.library_luts``); returns the file's sha256. A shard without
    rows goes to :data:`EMPTY_SHARDS`, never to pairs/."""
    schema = pairs_schema()
    meta = dict(schema.metadata)
    meta[b"lutkit.rejected"] = json.dumps([asdict(r) for r in rejected]).encode()
    if luts_digest:
        meta[LUTS_KEY] = luts_digest.encode()
    folder = out / ("pairs" if rows else EMPTY_SHARDS)
    folder.mkdir(exist_ok=True)
    (out / ("pairs" if not rows else EMPTY_SHARDS) / plan.name).unlink(missing_ok=True)
    return write_shard(rows, folder / plan.name, schema.with_metadata(meta), plan.plan_hash)


def _keep_card_row(
    want: set[int], seen: dict[int, dict[str, Any]], base: int, i: int, row, clean, distorted
) -> None:
    """An :data:`OnPair` for :func:`make_shard_rows`: the card tiles of wanted rows."""
    if base + i in want:
        from lutkit.data.card import card_row

        seen[base + i] = card_row({**row, "clean": clean, "distorted": distorted})


def build_shard(maker: RowMaker, plan: ShardPlan, out: Path) -> ShardDone:
    """Make and write one shard."""
    rows, rejected, card = make_shard_rows(maker, plan)
    written = write_shard_rows(plan, rows, rejected, out, maker.luts_digest)
    return ShardDone(written, len(rows), rejected, card)


# --------------------------------------------------------------------------- plan


def plan_shards(sources: list[SourceImage], cfg: BuildConfig, recipe_sha: str) -> list[ShardPlan]:
    """Split sources by hash, group whole sources into shards of ~rows_per_shard rows."""
    by_split: dict[str, list[SourceImage]] = {"train": [], "val": [], "test": []}
    for s in sources:
        by_split[s.split or assign_split(s.sha256, cfg.splits)].append(s)
    plans = []
    common = json.dumps(
        [
            SCHEMA_VERSION,
            recipe_sha,
            cfg.seed,
            cfg.size,
            cfg.variants,
            cfg.target_lut,
            cfg.target_strength,
            cfg.ground_truth,
            TARGET_LUT_SIZE,
        ]
        # More crops than the centre square change the rows; one keeps earlier plans.
        + ([cfg.crops, cfg.min_crop] if cfg.crops > 1 else [])
    )
    for split, items in by_split.items():
        per_shard = max(1, cfg.rows_per_shard // (cfg.variants * cfg.views(split)))
        chunks = [items[i : i + per_shard] for i in range(0, len(items), per_shard)]
        # A mosaic tiles other train photos: adding one changes every train shard (val
        # and test have no mosaics: their shards stay as they were). Once per split.
        tiled = b""
        if split == "train" and cfg.mosaic > 0:
            tiled = json.dumps(["mosaic", cfg.mosaic]).encode()
            tiled += "".join(sorted(x.sha256 for x in items)).encode()
        for i, chunk in enumerate(chunks):
            plan = ShardPlan(split, i, len(chunks), chunk)
            h = hashlib.sha256(common.encode())
            h.update(tiled)
            h.update(plan.name.encode())
            for s in chunk:
                h.update(s.sha256.encode())
                h.update(s.name.encode())
            plan.plan_hash = h.hexdigest()
            plans.append(plan)
    return plans


# Settings that change the rows: a rerun with other values is refused (or --force).
_KEPT = {
    "recipe_sha256": "recipe",
    "seed": "seed",
    "size": "size",
    "variants": "number of variants",
    "target_lut": "target LUT",
    "target_strength": "target strength",
    "ground_truth": "ground-truth setting",
    "splits": "split setting",
    "rows_per_shard": "rows-per-shard setting",
    "crops": "number of crops",
    "min_crop": "smallest crop",
    "mosaic": "number of mosaics",
    "library_luts": "library LUT",
    "target_lut_sha256": "file of the target LUT",
}
# What a dataset.json written before a setting existed means by it.
_KEPT_DEFAULTS = {"crops": 1, "min_crop": 0.35, "mosaic": 0}
# Recorded since a later lutkit, and not known for a dataset.json from before it.
_KEPT_UNKNOWN_BEFORE = {"library_luts", "target_lut_sha256"}
TARGET_KEY = "target:"  # the --target-lut style among a build's LUTs (no LUT name has ":")


def luts_digest(luts: dict[str, str]) -> str:
    """One sha256 of the library LUTs a build draws from (name -> file sha256), "" for
    none: what each shard records (LUTS_KEY)."""
    if not luts:
        return ""
    return hashlib.sha256(json.dumps(luts, sort_keys=True).encode()).hexdigest()


def _other_luts(path: Path, digest: str) -> bool:
    """A shard whose rows were made with other library LUTs than ``digest`` names (one
    made before lutkit recorded them says nothing, and is kept)."""
    try:
        recorded = shard_metadata(path).get(LUTS_KEY)
    except Exception:  # unreadable: the sha256 check of a kept shard catches it
        return False
    return recorded is not None and recorded.decode() != digest


def _changed_lut(old: Any, now: Any) -> str:
    """The first library LUT whose file differs between two ``library_luts`` records."""
    old, now = old or {}, now or {}
    names = sorted(n for n in set(old) | set(now) if old.get(n) != now.get(n))
    if not names:
        return ""
    name = names[0]
    how = "added" if name not in old else "removed" if name not in now else "replaced"
    return f" ({name!r} {how} since)"


def _check_existing(
    out: Path, cfg: BuildConfig, recipe_sha: str, force: bool, luts: dict[str, str]
) -> bool:
    """Refuse to mix settings in one folder (the library LUTs the recipe draws from
    among them: their files' sha256); with ``force``, clear the old dataset. False when
    the dataset there is kept and its dataset.json, from before lutkit recorded the
    library LUTs, does not say which files its rows drew."""
    meta_path = out / DATASET_JSON
    if not meta_path.is_file():
        return True
    try:
        old = json.loads(meta_path.read_text())["config"]
        if not isinstance(old, dict):
            raise TypeError
        now = _config_json(cfg, recipe_sha, luts)
        changed = [
            k
            for k in _KEPT
            if not (k in _KEPT_UNKNOWN_BEFORE and k not in old)
            and old.get(k, _KEPT_DEFAULTS.get(k)) != now.get(k, _KEPT_DEFAULTS.get(k))
        ]
    except (OSError, ValueError, KeyError, TypeError):
        if not force:
            raise ConfigError(
                "dataset.json is unreadable", path=meta_path, hint="pass --force to rebuild"
            ) from None
        changed = ["unreadable"]
    if changed and not force:
        what = _KEPT[changed[0]]
        if changed[0] == "library_luts":
            what += _changed_lut(old.get("library_luts"), now.get("library_luts"))
        raise ConfigError(
            f"a dataset built with another {what} is in this folder",
            path=out,
            hint="use another --out, or --force to replace it",
        )
    if changed:
        # dataset.json first: if this build is interrupted, a plain rerun resumes it
        # instead of being refused against settings whose shards are gone.
        meta_path.unlink()
        shutil.rmtree(out / "pairs", ignore_errors=True)
        return True
    return all(k in old for k in _KEPT_UNKNOWN_BEFORE if k in now)


def _config_json(cfg: BuildConfig, recipe_sha: str, luts: dict[str, str]) -> dict[str, Any]:
    data = asdict(cfg)
    data["splits"] = list(cfg.splits)
    data["recipe_sha256"] = recipe_sha
    data.pop("out")
    if not cfg.mosaic:
        data.pop("mosaic")  # a build without mosaics writes what it did before they existed
    drawn = {k: v for k, v in luts.items() if not k.startswith(TARGET_KEY)}
    if drawn:  # the sha256 of each library LUT the recipe can draw, by name
        data["library_luts"] = drawn
    target = [v for k, v in luts.items() if k.startswith(TARGET_KEY)]
    if target:  # and of the --target-lut style's file
        data["target_lut_sha256"] = target[0]
    return data


# --------------------------------------------------------------------------- build

# An engine builds the shards of its plans and reports each one, by shard name.
Engine = Callable[
    [RowMaker, list[ShardPlan], Path, int, Callable[[int], None]], dict[str, ShardDone]
]


def build_dataset(
    cfg: BuildConfig,
    *,
    workers: int = 0,
    engine: str = "local",
    force: bool = False,
    ray_address: str | None = None,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build (or finish building) the dataset described by ``cfg``; see the module doc.

    ``progress`` counts the rows written ("pairs"); ``log`` hears that a build resumes.
    The processes that make rows (this one, with one worker) keep freed memory for reuse
    from then on (:func:`lutkit.device.keep_freed_memory`, a setting of the process).
    """
    from lutkit.distort.recipe import load_recipe
    from lutkit.luts.library import default_library

    cfg.check()
    if engine not in ("local", "ray"):
        raise ConfigError(f"unknown engine {engine!r}: use local or ray")
    if engine == "ray":
        from lutkit.data.ray_engine import require_ray

        require_ray()  # before any work: a missing extra is a clear error at once
        if ray_address:
            from lutkit.data.ray_engine import check_address_form

            check_address_form(ray_address)
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise ConfigError("the output exists and is not a folder", path=out)
    check_output_apart(cfg.source, cfg.out)  # before the lock makes the folder
    recipe = load_recipe(cfg.recipe)
    recipe_sha = recipe.sha256
    luts = recipe.library_luts()
    if cfg.target_lut:  # the style of every clean side is a library LUT too
        from lutkit.distort.lut3d import library_luts

        target = library_luts([cfg.target_lut])[cfg.target_lut]
        luts = dict(sorted({**luts, f"{TARGET_KEY}{cfg.target_lut}": target}.items()))
    digest = luts_digest(luts)
    with build_lock(out):
        known = _check_existing(out, cfg, recipe_sha, force, luts)
        sources, rejected = discover(cfg.source, allow_outside=cfg.allow_outside, exclude=out)
        if not sources:
            raise ConfigError("no readable images in the source", path=cfg.source)
        plans = plan_shards(sources, cfg, recipe_sha)
        mark_card_rows(plans, cfg)
        pairs = out / "pairs"
        pairs.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(pairs)
        remove_stale_temporaries(out / EMPTY_SHARDS)
        remove_stale_temporaries(out)  # dataset.json, README.md, ... of a killed build
        expected = {p.name for p in plans}
        for stale in [*pairs.glob("*.parquet"), *(out / EMPTY_SHARDS).glob("*.parquet")]:
            if stale.name not in expected:
                stale.unlink()  # from an earlier plan (e.g. before photos were added)
        todo = [p for p in plans if shard_plan_hash(shard_file(out, p.name)) != p.plan_hash]
        remade = {p.name for p in todo}
        other = [
            p
            for p in plans
            if p.name not in remade and _other_luts(shard_file(out, p.name), digest)
        ]
        for p in other:  # kept by a killed build, a library LUT replaced since
            if log is not None:
                log(f"{p.name}: made with other library LUTs: building it again")
        todo += other
        building = {p.name for p in todo}
        damaged = _damaged_shards(out, [p for p in plans if p.name not in building])
        for name in sorted(damaged):
            if log is not None:
                log(
                    f"{name}: its bytes differ from those {DATASET_JSON} records: building it again"
                )
        todo += [p for p in plans if p.name in damaged]
        train = {s.sha256: s.path for p in plans if p.split == "train" for s in p.sources}
        maker = RowMaker(
            cfg,
            str(recipe.path),
            str(default_library().resolve()),
            train if cfg.mosaic else None,
            digest,
        )
        total = sum(len(p.sources) * cfg.views(p.split) for p in todo) * cfg.variants
        skipped = len(plans) - len(todo)
        if skipped and log is not None:
            if todo:
                log(f"resuming: {skipped} shard(s) already complete")
            else:  # a rerun of a finished build
                log(f"all {skipped} shard(s) already complete: nothing to build")
        tick = Counter(progress, total, "pairs").add
        workers = workers or _cpus()
        if engine == "ray":
            from lutkit.data.ray_engine import run_ray

            done = run_ray(maker, todo, out, workers, tick, address=ray_address)
        else:
            done = _run_local(maker, todo, out, workers, tick)
        fsync_dir(pairs)
        if not known and len(todo) < len(plans):
            luts = {}  # kept rows of unknown LUT files: dataset.json does not name them
        result = _finish(out, cfg, recipe, luts, plans, sources, rejected, done)
        result.shards_written, result.shards_skipped = len(todo), len(plans) - len(todo)
        warn_empty_splits(plans, cfg, result.rows)
        return result


def warn_empty_splits(plans: list[ShardPlan], cfg: BuildConfig, rows: dict[str, int]) -> list[str]:
    """Say at build time, not when training fails, which splits are empty: those that
    got no photo, with how many photos it takes for each to get one (splits are drawn
    by photo, not by row), and those whose every photo was unreadable. Each is a
    :class:`LutkitWarning`, said once the build is done, so that a failed build still
    ends in one line. Returns the messages."""
    photos = dict.fromkeys(SPLITS, 0)
    for p in plans:
        photos[p.split] += len(p.sources)
    total = sum(photos.values())
    listed = sum(1 for p in plans for s in p.sources if s.split)  # split from a manifest
    said = []
    for split, fraction in zip(SPLITS, cfg.splits, strict=True):
        needed = "; `lutkit train` needs val pairs" if split == "val" else ""
        if not photos[split] and total and listed == total and fraction > 0:
            said.append(
                f"no photo in the {split} split: the manifest's 'split' column puts none "
                f"of the {total} photo(s) there{needed}"
            )
        elif not photos[split] and fraction > 0:
            manifest = (
                "a 'split' in the manifest for some of them"
                if listed
                else "a manifest with a 'split' column"
            )
            said.append(
                f"no photo in the {split} split ({total} photo(s), {fraction:g} of "
                f"them go to {split}): give at least {int(np.ceil(1 / fraction))} photos for "
                f"one to land there on average, or {manifest}{needed}"
            )
        elif photos[split] and not rows.get(split):
            said.append(
                f"no rows in the {split} split: its {photos[split]} photo(s) were "
                f"all unreadable (see rejected.csv){needed}"
            )
    for message in said:
        warnings.warn(message, LutkitWarning, stacklevel=3)
    return said


def _damaged_shards(out: Path, complete: list[ShardPlan]) -> set[str]:
    """The shards among ``complete`` (whole files of the current plan) whose bytes are
    not those the last finished build recorded in dataset.json for the same plan:
    damaged since (a flipped byte leaves the plan hash in the footer readable). A shard
    dataset.json does not list for this plan (the build that made it never finished, or
    an older lutkit's dataset.json, which records no plan) is taken as it is: it was
    renamed into place whole."""
    try:
        recorded = {
            Path(e["file"]).name: (e["sha256"], e.get("plan_hash"))
            for e in json.loads((out / DATASET_JSON).read_text(encoding="utf-8"))["shards"]
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()
    damaged = set()
    for p in complete:
        sha, plan = recorded.get(p.name, (None, None))
        path = shard_file(out, p.name)
        if sha and plan == p.plan_hash and path.parent.name == "pairs":
            if file_sha256(path) != sha:
                damaged.add(p.name)
    return damaged


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what this process may use (containers)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


_CAN_FORK = "fork" in multiprocessing.get_all_start_methods()


def _worker_init(parent: int) -> None:
    # Each worker is one process on one core: no nested kernel threads. (Not OpenCV's:
    # cv2.setNumThreads in a forked worker deadlocks on the pool the parent started.)
    os.environ["LUTKIT_THREADS"] = "1"
    # Ctrl-C reaches the whole process group: the build alone stops its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this worker when the build process ``parent`` dies.

    A worker forked from the build holds its folder's lock (``flock`` is shared across
    fork): after ``kill -9`` of the build, orphaned workers would keep it, and every
    rerun would be refused as "another build is running". Linux only (``prctl``);
    elsewhere a killed build's workers end when their queue closes.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the build died before the prctl took hold
        os._exit(1)


def _build_one(maker: RowMaker, plan: ShardPlan, out: Path) -> ShardDone:
    return build_shard(worker_maker(maker), plan, out)


def _run_local(maker, todo, out, workers, tick) -> dict[str, ShardDone]:
    done: dict[str, ShardDone] = {}
    if workers <= 1 or len(todo) <= 1:
        for plan in todo:
            done[plan.name] = _build_one(maker, plan, out)
            tick(done[plan.name].rows)
        return done
    from concurrent.futures import ProcessPoolExecutor

    # fork, whatever the platform's default (Python 3.14's is forkserver): a worker is a
    # child of the build, which _die_with_parent checks, and starts with its state.
    fork = multiprocessing.get_context("fork") if _CAN_FORK else None  # (not on Windows)
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=fork, initializer=_worker_init, initargs=(os.getpid(),)
    ) as pool:
        futures = {pool.submit(_build_one, maker, p, out): p for p in todo}
        pending = set(futures)
        try:
            _collect(futures, pending, done, tick)
        except BaseException as exc:
            if not isinstance(exc, Exception):
                # Ctrl-C, SIGTERM: stop now (a failed shard lets the running ones
                # finish). The workers stop mid-shard; what they were writing is a
                # hidden temporary file that the rerun removes.
                _stop_workers(pool)
                pool.shutdown(wait=True, cancel_futures=True)
            raise
    return done


def _stop_workers(pool) -> None:
    """Stop the pool's workers mid-shard, so that its shutdown cannot hang.

    A worker stopped while it sends a result leaves half a message in the result pipe,
    and the pool's manager thread would wait for the rest forever (and shutdown, and
    the interpreter's exit, for that thread). Once the workers are gone, closing this
    process's end of the pipe for writing turns the wait into end-of-file: the manager
    then takes the pool as broken and ends.
    """
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for proc in procs:
        proc.terminate()
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    if writer is not None:  # first: a second Ctrl-C during the joins leaves it closed
        writer.close()
    for proc in procs:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()


def _collect(
    futures: dict[Any, ShardPlan],
    pending: set[Any],
    done: dict[str, ShardDone],
    tick: Callable[[int], None],
) -> None:
    from concurrent.futures import FIRST_COMPLETED, wait

    while pending:
        # each shard counts as it lands (FIRST_EXCEPTION would wait for them all)
        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
        for f in finished:
            exc = f.exception()
            if exc is not None:
                for other in pending:
                    other.cancel()
                raise exc
            done[futures[f].name] = f.result()
            tick(done[futures[f].name].rows)


def mark_card_rows(plans: list[ShardPlan], cfg: BuildConfig) -> None:
    """Tell each plan which of its rows the dataset card will show, if every shard gets
    the rows its plan expects. A source that fails to decode shortens its shard, and then
    the card's picks (drawn from the real row counts) move: the rows they land on that no
    worker handed back are read from the shards, as are those of shards an earlier run
    built."""
    from lutkit.data.card import pick_rows

    picks = pick_rows([len(p.sources) * cfg.variants * cfg.views(p.split) for p in plans])
    for k, plan in enumerate(plans):
        plan.card = tuple(i for j, i in picks if j == k)


def _finish(
    out: Path,
    cfg: BuildConfig,
    recipe,
    luts: dict[str, str],
    plans,
    sources,
    rejected,
    done: dict[str, ShardDone],
) -> BuildResult:
    """Index the shards (``done``: those this run built; the others are read back) and
    write dataset.json, rejected.csv and the card."""
    shards, counts = [], {"train": 0, "val": 0, "test": 0}
    all_rejected = list(rejected)
    have = {}
    for p in plans:
        report = done.get(p.name) or _shard_report(shard_file(out, p.name))
        all_rejected += report.rejected
        if not report.rows:
            continue  # every source unreadable: no shard in pairs/ (see EMPTY_SHARDS)
        counts[p.split] += report.rows
        shards.append(
            {
                "file": f"pairs/{p.name}",
                "split": p.split,
                "rows": report.rows,
                "sha256": report.sha256,
                "plan_hash": p.plan_hash,  # what it was built from (a rerun's check)
            }
        )
        have.update({(f"pairs/{p.name}", i): tile for i, tile in report.card.items()})
    doc = {
        "schema": SCHEMA_VERSION,
        "lutkit": __version__,
        "name": out.resolve().name,
        "config": _config_json(cfg, recipe.sha256, luts),
        "recipe": {
            "name": recipe.name,
            "sha256": recipe.sha256,  # of the text
            "text": recipe.text,  # the recipe's file, then each include's, as hashed
            **(
                {"files": [{"file": name, "text": text} for name, text in recipe.files]}
                if recipe.files is not None
                else {}  # no layout of files reproduces it (see Recipe.files)
            ),
        },
        "sources": {
            "spec": cfg.source,
            "count": len(sources),
            "rejected": len(all_rejected),
            "split_by_manifest": sum(1 for s in sources if s.split),
        },
        "counts": counts,
        "target_lut_size": TARGET_LUT_SIZE,
        "shards": shards,
    }
    _write_rejected(out, all_rejected)
    write_dataset_json(out, doc)
    from lutkit.data.card import write_card

    write_card(out, doc, have)
    return BuildResult(out, 0, 0, counts, all_rejected)


def _shard_report(path: Path) -> ShardDone:
    """What a shard built by an earlier run holds, read from its file."""
    meta = shard_metadata(path)
    rejected = [Rejected(**r) for r in json.loads(meta.get(b"lutkit.rejected", b"[]"))]
    rows = shard_num_rows(path)
    return ShardDone(file_sha256(path) if rows else "", rows, rejected)


def _write_rejected(out: Path, rejected: list[Rejected]) -> None:
    import csv
    import io

    from lutkit.fsutil import atomic_write_text

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["path", "reason"])
    for r in sorted(rejected, key=lambda r: r.path):
        w.writerow([r.path, r.reason])
    atomic_write_text(out / "rejected.csv", buf.getvalue())
