"""Distortion recipes: named, composable lists of stages, read from TOML.

A recipe file (``pipelines/recipes/NAME.toml``)::

    name = "lighting"
    description = "Coloured light sources"

    [[stage]]                 # runs with probability p (default 1)
    p = 1.0
    [[stage.choose]]          # ... one of these, by weight
    op = "lighting.cct"
    weight = 3
    cct = [2000, 12000]       # narrow an op's ranges: [min, max], a list, or a value
    [[stage.choose]]
    include = "film"          # or a whole other recipe

    [[stage]]
    op = "curves.gamma"
    p = 0.3

Everything is checked on load; errors name the file and the key. Sampling draws from
one ``numpy.random.Generator`` in a fixed order, so (recipe, seed) -> the same ops.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lutkit.distort.base import Op, OpRecord, Range, get_op, merged, parse_range
from lutkit.errors import ConfigError, LutkitError

_TOP_KEYS = {"name", "description", "stage", "tags"}
_STAGE_KEYS = {"p", "choose", "op", "include", "weight"}


def recipes_dir() -> Path:
    """``LUTKIT_RECIPES``, else ``pipelines/recipes`` of a source checkout or the copy
    shipped inside the installed package (:mod:`lutkit.shipped`), else
    ./pipelines/recipes."""
    from lutkit.shipped import shipped_folder

    env = os.environ.get("LUTKIT_RECIPES")
    if env:
        return Path(env)
    return shipped_folder("recipes") or Path("pipelines") / "recipes"


@dataclass
class Step:
    """One thing a stage can do: an op with narrowed ranges, or another recipe."""

    op: Op | None = None
    ranges: dict[str, Range] = field(default_factory=dict)
    include: Recipe | None = None
    weight: float = 1.0

    def sample(self, rng: np.random.Generator) -> list[OpRecord]:
        if self.include is not None:
            return self.include.sample(rng)
        assert self.op is not None  # set by the loader
        return [OpRecord(self.op.name, self.op.sample(rng, merged(self.op, self.ranges)))]


@dataclass
class Stage:
    p: float
    steps: list[Step]

    def sample(self, rng: np.random.Generator) -> list[OpRecord]:
        # Always draw both numbers, so a stage's randomness does not depend on p.
        coin = rng.random()
        pick = rng.random()
        if coin >= self.p:
            return []
        weights = np.array([s.weight for s in self.steps], dtype=np.float64)
        k = int(np.searchsorted(np.cumsum(weights / weights.sum()), pick, side="right"))
        return self.steps[min(k, len(self.steps) - 1)].sample(rng)


@dataclass
class Recipe:
    name: str
    description: str
    stages: list[Stage]
    path: Path | None = None
    text: str = ""  # this file's text followed by every included file's text
    tags: list[str] = field(default_factory=list)
    # (path, text) of this file and each file it includes, at any depth, once each, the
    # paths relative to this file's folder as the includes name them: written out so,
    # they load as this recipe (the same text and hash; dataset.json keeps them). None
    # where no such layout exists: an include by an absolute path or one outside the
    # folder, or two different files at one path.
    files: list[tuple[str, str]] | None = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def sample(self, rng: np.random.Generator) -> list[OpRecord]:
        """Draw a chain of ops (possibly empty if every stage's coin says no)."""
        out: list[OpRecord] = []
        for stage in self.stages:
            out.extend(stage.sample(rng))
        return out

    def library_luts(self) -> dict[str, str]:
        """The sha256 of the file of every library LUT this recipe can draw (the
        candidates of its ``lut3d.library`` steps, includes resolved), by name; {} when
        it draws none. A dataset records it, and a resumed build compares it."""
        from lutkit.distort.lut3d import library_luts

        names = self._library_names()
        return library_luts(sorted(names)) if names else {}

    def _library_names(self) -> set[str]:
        names: set[str] = set()
        for stage in self.stages:
            for step in stage.steps:
                if step.include is not None:
                    names |= step.include._library_names()
                elif step.op is not None and hasattr(step.op, "candidates"):
                    names.update(step.op.candidates(merged(step.op, step.ranges)))
        return names

    def ops(self) -> list[str]:
        """Every op this recipe can draw, includes resolved."""
        names: set[str] = set()
        for stage in self.stages:
            for step in stage.steps:
                if step.op is not None:
                    names.add(step.op.name)
                elif step.include is not None:
                    names.update(step.include.ops())
        return sorted(names)


def format_range(r: Range) -> str:
    """A range as a person reads it: ``lo..hi``, one value, or the choices."""
    from lutkit.distort.base import Choice

    if isinstance(r, Choice):
        shown = ", ".join(str(o) for o in r.options[:8])
        more = f", ... ({len(r.options)} in all)" if len(r.options) > 8 else ""
        return f"one of [{shown}{more}]"
    lo, hi = (f"{v:g}" if isinstance(v, float) else str(v) for v in (r.lo, r.hi))
    return lo if lo == hi else f"{lo}..{hi}"


def describe_recipe(recipe: Recipe) -> list[str]:
    """The lines of ``lutkit recipe show``: every stage, its probability, and each op it
    can draw with its parameter ranges (the recipe's narrowed ones marked ``*``)."""
    lines = []
    for i, stage in enumerate(recipe.stages, start=1):
        many = len(stage.steps) > 1
        total = sum(s.weight for s in stage.steps)
        head = f"stage {i} (p = {stage.p:g})"
        lines.append(f"{head}: one of {len(stage.steps)}, by weight" if many else f"{head}:")
        for step in stage.steps:
            share = f"{step.weight / total:.0%} " if many else ""
            if step.include is not None:
                sub = step.include
                lines.append(
                    f"  {share}include {sub.name} ({len(sub.stages)} stage(s): "
                    f"{', '.join(sub.ops())}; `lutkit recipe show {sub.name}`)"
                )
                continue
            assert step.op is not None  # set by the loader
            lines.append(f"  {share}{step.op.name}")
            for key, r in merged(step.op, step.ranges).items():
                mark = "*" if key in step.ranges else " "
                lines.append(f"    {mark}{key} = {format_range(r)}")
    return lines


def describe_ops() -> list[str]:
    """The lines of ``lutkit recipe ops``: every op, whether it is a colour map, what
    it does, and each range key with its default and the values a recipe may give it."""
    from lutkit.distort.base import Choice, all_ops

    lines = []
    for name, op in all_ops().items():
        kind = "colour map" if op.colormap else "spatial"
        lines.append(f"{name:<22} {kind:<10} {op.description}")
        for key, r in op.ranges.items():
            if isinstance(r, Choice) and r.options == ("*",):  # any value: a filter
                lines.append(f"    {key} = *  (no filter; a recipe may give a list)")
                continue
            domain = op.range_domains.get(key)
            valid = f"  (must be {domain.describe()})" if domain is not None else ""
            lines.append(f"    {key} = {format_range(r)}{valid}")
    return lines


def list_recipes(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    folder = Path(folder) if folder is not None else recipes_dir()
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []


def resolve_recipe_path(name_or_path: str | os.PathLike[str], *, here: bool = True) -> Path:
    """A recipe file from a path, or a name in the recipes folder. ``here``: a name
    that is a file in the current folder is named in the error (not for an include,
    which looks beside its own file)."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or len(p.parts) > 1:  # a path; a bare word is a recipe name
        if not p.is_file():
            raise ConfigError("recipe file not found", path=p)
        return p
    candidate = recipes_dir() / f"{name_or_path}.toml"
    if candidate.is_file():
        return candidate
    known = ", ".join(x.stem for x in list_recipes()) or "none"
    hint = f"known recipes: {known}"
    if here and Path(f"{name_or_path}.toml").is_file():  # one's own, named without .toml
        hint = f"a name is looked up in {recipes_dir()}; give the file here as {name_or_path}.toml"
    raise ConfigError(f"no recipe named {str(name_or_path)!r}", hint=hint)


def load_recipe(name_or_path: str | os.PathLike[str], _seen: tuple[Path, ...] = ()) -> Recipe:
    """Load and validate a recipe by name or path (includes resolved, cycles refused)."""
    path = resolve_recipe_path(name_or_path).resolve()
    if path in _seen:
        chain = " -> ".join(p.stem for p in (*_seen, path))
        raise ConfigError(f"recipe includes itself: {chain}", path=_seen[-1])
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise ConfigError("recipe is not UTF-8 text", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", path=path) from None
    return _build(data, path, text, (*_seen, path))


def _build(data: dict[str, Any], path: Path, text: str, seen: tuple[Path, ...]) -> Recipe:
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ConfigError(
            f"unknown key {sorted(unknown)[0]!r}",
            path=path,
            hint=f"a recipe has {', '.join(sorted(_TOP_KEYS))}",
        )
    stages_data = data.get("stage", [])
    if not isinstance(stages_data, list) or not stages_data:
        raise ConfigError("a recipe needs at least one [[stage]]", path=path)
    texts = [text]
    files = _Layout(path.name, text)
    stages = []
    for i, sd in enumerate(stages_data, start=1):
        where = f"stage {i}"
        if not isinstance(sd, dict):
            raise ConfigError(
                f"{where}: expected a table of keys, got {sd!r}",
                path=path,
                hint="write each stage as [[stage]] followed by its keys: op = ..., p = ...",
            )
        # With an op, its range keys sit beside p: _step checks those, naming the op.
        bad = set() if "op" in sd else set(sd) - _STAGE_KEYS
        if "choose" in sd and ("op" in sd or "include" in sd):
            raise ConfigError(f"{where}: use either 'choose' or 'op'/'include'", path=path)
        if bad:
            raise ConfigError(f"{where}: unknown key {sorted(bad)[0]!r}", path=path)
        if "weight" in sd:
            raise ConfigError(
                f"{where}.weight: a weight belongs to an option of [[stage.choose]]",
                path=path,
                hint="a stage of one op or include happens with its p",
            )
        p = sd.get("p", 1.0)
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
            raise ConfigError(
                f"{where}.p: a probability is a number in [0, 1], got {p!r}", path=path
            )
        raw = sd["choose"] if "choose" in sd else [sd]
        if not isinstance(raw, list) or not raw:
            raise ConfigError(f"{where}.choose: needs at least one option", path=path)
        steps = [
            _step(s, path, f"{where}.choose[{k}]" if "choose" in sd else where, seen, texts, files)
            for k, s in enumerate(raw, start=1)
        ]
        stages.append(Stage(float(p), steps))
    name = data.get("name", path.stem)
    tags = data.get("tags", [])
    description = data.get("description", "")
    for key, value in (("name", name), ("description", description)):
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}", path=path)
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConfigError(
            f"tags: expected a list of strings, got {tags!r}",
            path=path,
            hint='write tags = ["lighting"]',
        )
    return Recipe(
        name,
        description,
        stages,
        path,
        "\n".join(texts),
        list(tags),
        files.items(),
    )


class _Layout:
    """The files of a recipe and its includes by path from its folder (see
    :attr:`Recipe.files`)."""

    def __init__(self, name: str, text: str) -> None:
        self.files: dict[str, str] | None = {name: text}

    def add(self, rel: str | None, sub: Recipe) -> None:
        """Add the included recipe ``sub``, named ``rel`` from this folder (None: a path
        no layout can hold), with the files it includes, from its own folder."""
        if self.files is None:
            return
        if rel is None or sub.files is None:
            self.files = None
            return
        base = posixpath.dirname(rel)
        for k, (name, text) in enumerate(sub.files):
            where = posixpath.normpath(rel if k == 0 else posixpath.join(base, name))
            if where == ".." or where.startswith("../") or posixpath.isabs(where):
                self.files = None  # outside the folder
                return
            if self.files.setdefault(where, text) != text:
                self.files = None  # two different files at one path
                return

    def items(self) -> list[tuple[str, str]] | None:
        return None if self.files is None else list(self.files.items())


def _step(
    sd: Any,
    path: Path,
    where: str,
    seen: tuple[Path, ...],
    texts: list[str],
    files: _Layout,
) -> Step:
    if not isinstance(sd, dict):
        raise ConfigError(f"{where}: expected a table of keys, got {sd!r}", path=path)
    option = ".choose[" in where  # an option of choose: a weight, never a p
    if option and "p" in sd:
        raise ConfigError(
            f"{where}.p: an option of choose has a weight, not a p",
            path=path,
            hint="give the stage its p, beside choose, or the option its weight",
        )
    weight = sd.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
        raise ConfigError(f"{where}.weight: must be a positive number, got {weight!r}", path=path)
    if "include" in sd:
        extra = set(sd) - {"include", "weight", "p"}
        if extra:
            raise ConfigError(
                f"{where}: unknown key {sorted(extra)[0]!r} beside include", path=path
            )
        target = str(sd["include"])
        if not target.endswith(".toml"):
            sibling = path.parent / f"{target}.toml"
            target_path: str | Path = sibling if sibling.is_file() else target
        else:
            target_path = path.parent / target
        try:
            resolve_recipe_path(target_path, here=False)
        except ConfigError as exc:
            raise ConfigError(
                f"{where}: include {target!r}: {exc.message}", path=path, hint=exc.hint
            ) from None
        sub = load_recipe(target_path, seen)
        texts.append(sub.text)
        if target.endswith(".toml"):  # a path from this file's folder
            parts = Path(target).parts
            # "sub/../b.toml" walks through sub/, which a layout of files may not have
            through = any(a != ".." and b == ".." for a, b in zip(parts, parts[1:], strict=False))
            rel = None if Path(target).is_absolute() or through else Path(target).as_posix()
        else:  # a name: a sibling file, else the library's (written out: a sibling)
            rel = f"{target}.toml" if len(Path(target).parts) == 1 else None
        files.add(rel, sub)
        return Step(include=sub, weight=float(weight))
    if "op" not in sd:
        raise ConfigError(f"{where}: needs 'op' or 'include'", path=path)
    op = get_op(str(sd["op"]), f"{path}: {where}")
    ranges = {}
    for key, value in sd.items():
        # beside the op: its weight (an option of choose) or its stage's p (a stage)
        if key in ("op", "weight") or (key == "p" and not option):
            continue
        if key == "choose":
            raise ConfigError(f"{where}: a choose inside an option of choose", path=path)
        if key not in op.ranges:
            raise ConfigError(
                f"{where}: {op.name} has no parameter {key!r}",
                path=path,
                hint=f"it takes {', '.join(sorted(op.ranges)) or 'none'}",
            )
        domain = op.range_domains.get(key)
        ranges[key] = parse_range(op.ranges[key], value, f"{path}: {where}.{key}", domain)
    _check_corners(op, ranges, path, where)
    return Step(op=op, ranges=ranges, weight=float(weight))


def _check_corners(op: Op, ranges: dict[str, Range], path: Path, where: str) -> None:
    """Refuse values the op cannot use (an unknown LUT name, a mix of values the
    domains allow one by one) now, with the file and key, rather than when a sample
    happens to hit them: the op is sampled at both ends of every narrowed range, and
    with every listed choice, its parameters checked against their domains (so that
    every row replays) and applied to a 2x2 grey image."""
    from lutkit.distort.base import Choice, IntRange, Uniform

    numeric = {k: r for k, r in ranges.items() if isinstance(r, Uniform | IntRange)}
    choices = {k: r for k, r in ranges.items() if isinstance(r, Choice)}
    trials: list[tuple[str, dict[str, Range]]] = []
    for end in ("lo", "hi") if numeric else ():
        fixed = {k: type(r)(getattr(r, end), getattr(r, end)) for k, r in numeric.items()}
        trials.append((f"the {'low' if end == 'lo' else 'high'} end of {', '.join(fixed)}", fixed))
    for key, choice in choices.items():
        for option in choice.options[:64]:
            trials.append((f"{key} = {option!r}", {key: Choice((option,))}))
    available = getattr(op, "check_available", None)
    if available is not None:  # what the op draws from (a LUT library) is there
        try:
            available()
        except LutkitError as exc:
            raise ConfigError(
                f"{where}: {op.name}: {exc.message}", path=path, hint=exc.hint
            ) from None
    grey = np.full((2, 2, 3), 0.5, np.float32)
    for label, fixed in trials:
        try:
            with np.errstate(all="ignore"):
                params = op.sample(np.random.default_rng(0), merged(op, {**ranges, **fixed}))
                params.check(op.name)
                out = op.apply(grey, params)
            if not np.all(np.isfinite(out)):
                raise ValueError("the result is not finite")
        except (LutkitError, ValueError, ArithmeticError) as exc:
            message = exc.message if isinstance(exc, LutkitError) else str(exc)
            raise ConfigError(
                f"{where}: {op.name} fails with {label}: {message}",
                path=path,
                hint="change the value; `lutkit recipe ops` lists every op's ranges",
            ) from None
