"""Apply a LUT from the library (by name, tag or at random) at a strength."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from lutkit.distort.base import (
    UNIT,
    Choice,
    Digest,
    Name,
    Op,
    Params,
    Uniform,
    clip01,
    register,
)
from lutkit.errors import ConfigError


def _stamp(path: Path) -> tuple[int, ...]:
    """What tells one file at ``path`` from another: a file replaced by a rename (as
    lutkit writes) has another inode, one rewritten in place another ctime."""
    try:
        st = path.stat()
    except OSError:
        return (0, -1)
    return (st.st_ino, st.st_dev, st.st_ctime_ns, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=64)
def _read(path: str, stamp: tuple[int, ...]):
    from lutkit.luts.formats import read_lut

    return read_lut(path)


@lru_cache(maxsize=256)
def _sha256(path: str, stamp: tuple[int, ...]) -> str:
    from lutkit.fsutil import file_sha256

    return file_sha256(path)


def _digest(root: str, name: str) -> str:
    """The sha256 of the library LUT ``name``'s file, read once per change of it."""
    path = _library(root).path_of(name)
    return _sha256(str(path), _stamp(path))


def _load(root: str, name: str):
    """The library LUT ``name`` and the sha256 of its file, read once per change of the
    file (a LUT replaced in the library is read again, in this process too)."""
    path = _library(root).path_of(name)
    stamp = _stamp(path)
    return _read(str(path), stamp), _sha256(str(path), stamp)


@lru_cache(maxsize=8)
def _index(root: str, stamp: tuple[int, ...]):
    from lutkit.luts.library import Library

    return Library(root)


def _library(root: str):
    """The library at ``root``, its index read once per change of index.toml (a recipe
    samples this op for every row: reading the TOML each time was a fifth of a row)."""
    from lutkit.luts.library import INDEX

    return _index(root, _stamp(Path(root) / INDEX))


def library_luts(names: list[str]) -> dict[str, str]:
    """The sha256 of each named LUT's file in the library (``LUTKIT_LIBRARY``)."""
    root = library_root()
    return {name: _digest(root, name) for name in sorted(names)}


def library_root() -> str:
    from lutkit.luts.library import default_library

    return str(default_library())


@dataclass(frozen=True)
class LibraryLutParams(Params):
    lut: str  # name in the library
    strength: float
    # The sha256 of the LUT's file when the op was drawn: applying the record to another
    # file of that name (the LUT replaced since) is refused. "" in records from before
    # lutkit wrote it: those apply whatever LUT has the name.
    sha256: str = ""

    # The name is looked up when the op is applied; a strength above 1 would
    # extrapolate the look (LUT.blend refuses it).
    domains = {"lut": Name("a LUT name in the library"), "strength": UNIT, "sha256": Digest()}


@register
class LibraryLut(Op):
    name = "lut3d.library"
    family = "lut3d"
    params_type = LibraryLutParams
    description = "a LUT from the library (GIMP-authored looks and casts) at a strength"
    ranges = {
        "names": Choice(("*",)),  # "*": any; otherwise a list of LUT names
        "tags": Choice(("*",)),  # "*": any; otherwise LUTs with any of these tags
        "exclude_tags": Choice(("*",)),  # LUTs with any of these tags are never drawn
        "strength": Uniform(0.5, 1.0),
    }
    range_domains = {"strength": UNIT}

    def candidates(self, ranges) -> list[str]:
        lib = _library(library_root())
        names = lib.names()
        chosen = ranges["names"].options
        if chosen != ("*",):
            missing = [n for n in chosen if n not in lib]
            if missing:
                raise ConfigError(
                    f"no LUT named {missing[0]!r} in the library {lib.root}",
                    hint="see `lutkit lut list`",
                )
            names = sorted(chosen)
        tags = ranges["tags"].options
        if tags != ("*",):
            names = [n for n in names if set(lib.entries[n].tags) & set(tags)]
        excluded = ranges["exclude_tags"].options
        if excluded != ("*",):
            names = [n for n in names if not set(lib.entries[n].tags) & set(excluded)]
        if not names:
            self.check_available()
            raise ConfigError(f"no LUT in the library {lib.root} matches the recipe's choice")
        return names

    def check_available(self) -> None:
        """A one-line error when there is no library to draw from (LUTKIT_LIBRARY names
        a folder that is missing, or holds no LUT), said before any value is blamed."""
        lib = _library(library_root())
        if not lib.root.is_dir():
            raise ConfigError(
                f"the LUT library {lib.root} does not exist",
                hint="point LUTKIT_LIBRARY at a library folder, which `lutkit lut import "
                "--library` makes, or unset it for lutkit's own",
            )
        if not lib.names():
            raise ConfigError(
                f"the LUT library {lib.root} holds no LUT",
                hint="add some with `lutkit lut import --library`",
            )

    def sample(self, rng, ranges):
        names = self.candidates(ranges)
        name = names[int(rng.integers(len(names)))]
        strength = round(ranges["strength"].draw(rng), 6)
        return LibraryLutParams(name, strength, _digest(library_root(), name))

    def apply(self, image, params):
        root = library_root()
        lut, sha256 = _load(root, params.lut)
        if params.sha256 and params.sha256 != sha256:
            raise ConfigError(
                f"the library LUT {params.lut!r} is not the file this record was made with "
                f"(sha256 {params.sha256[:12]}... recorded, {sha256[:12]}... now)",
                path=_library(root).path_of(params.lut),
                hint="put that LUT back (or point LUTKIT_LIBRARY at the library it came "
                "from); a new draw (a recipe and a seed) uses the LUT as it is now",
            )
        out = lut.apply(np.ascontiguousarray(image, np.float32), strength=params.strength)
        return clip01(out)

    def label(self, params):
        return f"LUT {params.lut} {params.strength:.0%}"
