"""The LUT library: a folder of .cube files with an ``index.toml`` describing each.

``index.toml`` holds one ``[[lut]]`` table per LUT: name, file, tags, source, licence
and how it was made. Names are unique; files live beside the index.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lutkit.errors import ConfigError, FormatError
from lutkit.fsutil import atomic_write_text
from lutkit.luts.model import LUT1D, LUT3D, ShaperLUT3D

INDEX = "index.toml"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def default_library() -> Path:
    """``LUTKIT_LIBRARY``, else the ``luts/`` folder of a source checkout or the copy
    shipped inside the installed package (:mod:`lutkit.shipped`), else ./luts."""
    from lutkit.shipped import shipped_folder

    env = os.environ.get("LUTKIT_LIBRARY")
    if env:
        return Path(env)
    return shipped_folder("luts") or Path("luts")


def resolve_lut(
    name_or_path: str | os.PathLike[str], library: str | os.PathLike[str] | None = None
) -> Path:
    """The file of a LUT given by path or by library name (``lutkit lut list``).

    A path that exists (a file, or a pipe such as ``<(cat x.cube)``) wins over a
    library name; neither is a one-line error."""
    path = Path(name_or_path)
    if path.is_dir():
        raise ConfigError("is a folder, not a LUT file", path=path)
    if path.exists():
        return path
    lib = Library(library if library is not None else default_library())
    if str(name_or_path) in lib:
        return lib.path_of(str(name_or_path))
    if path.suffix or len(path.parts) > 1:  # meant as a file: library names are bare
        raise ConfigError(
            "no such file",
            path=path,
            hint="check the path; `lutkit lut list` names the library's LUTs",
        )
    raise ConfigError(
        "no such LUT file, and no LUT of that name in the library",
        path=path,
        hint="see `lutkit lut list` for the library's names; --library DIR for your own",
    )


def read_lut_or_name(
    name_or_path: str | os.PathLike[str], library: str | os.PathLike[str] | None = None
) -> LUT1D | LUT3D | ShaperLUT3D:
    """Read a LUT given by path or by library name (a path wins)."""
    from lutkit.luts.formats import read_lut

    return read_lut(resolve_lut(name_or_path, library))


@dataclass
class LibraryEntry:
    name: str
    file: str
    tags: list[str] = field(default_factory=list)
    source: str = ""
    licence: str = ""
    made: str = ""
    title: str = ""


class Library:
    """A LUT library folder (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.index_path = self.root / INDEX
        self.entries: dict[str, LibraryEntry] = {}
        if self.index_path.is_file():
            self._load()

    def _load(self) -> None:
        try:
            data = tomllib.loads(self.index_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise FormatError(f"invalid TOML: {exc}", path=self.index_path) from None
        known = set(LibraryEntry.__dataclass_fields__)
        for i, item in enumerate(data.get("lut", [])):
            unknown = set(item) - known
            if unknown:
                raise FormatError(
                    f"entry {i + 1} has unknown key(s) {sorted(unknown)}", path=self.index_path
                )
            if "name" not in item or "file" not in item:
                raise FormatError(f"entry {i + 1} needs a name and a file", path=self.index_path)
            entry = LibraryEntry(**item)
            if entry.name in self.entries:
                raise FormatError(f"duplicate LUT name {entry.name!r}", path=self.index_path)
            if Path(entry.file).is_absolute() or ".." in Path(entry.file).parts:
                raise FormatError(
                    f"entry {entry.name!r}: file {entry.file!r} must stay inside the library",
                    path=self.index_path,
                )
            self.entries[entry.name] = entry

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def names(self, tag: str | None = None) -> list[str]:
        """Names of the LUTs (with ``tag`` if given), sorted."""
        return sorted(n for n, e in self.entries.items() if tag is None or tag in e.tags)

    def tags(self) -> list[str]:
        """Every tag some LUT has, sorted."""
        return sorted({t for e in self.entries.values() for t in e.tags})

    def check_tag(self, tag: str) -> None:
        """Raise a one-line error naming the tags there are when no LUT has ``tag``
        (almost always a typo, which an empty list would hide)."""
        tags = self.tags()
        if tag in tags:
            return
        if not self.entries:
            raise ConfigError(
                f"no LUT is tagged {tag!r}: the library has no LUTs",
                path=self.root,
                hint="add some with `lutkit lut import`",
            )
        from difflib import get_close_matches

        close = get_close_matches(tag, tags, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        hint += f"the tags are: {', '.join(tags)}" if tags else "the library has no tags"
        raise ConfigError(f"no LUT is tagged {tag!r}", path=self.index_path, hint=hint)

    def path_of(self, name: str) -> Path:
        if name not in self.entries:
            raise ConfigError(
                f"no LUT named {name!r} in the library",
                path=self.index_path,
                hint="see `lutkit lut list`",
            )
        return self.root / self.entries[name].file

    def load(self, name: str) -> LUT1D | LUT3D | ShaperLUT3D:
        """Read the LUT called ``name``."""
        from lutkit.luts.formats import read_lut

        return read_lut(self.path_of(name))

    def check_name(self, name: str, *, replace: bool = False) -> None:
        """Raise the error :meth:`add` would raise for ``name``: not a valid LUT name,
        or already in the library without ``replace``. Lets a caller refuse before it
        writes anything else."""
        if not _NAME.match(name):
            raise ConfigError(
                f"invalid LUT name {name!r}",
                hint="use lower-case letters, digits, '.', '_' and '-'",
            )
        if name in self.entries and not replace:
            raise ConfigError(
                f"the library already has a LUT named {name!r}",
                path=self.index_path,
                hint="choose another --name or pass --replace",
            )

    def add(
        self,
        name: str,
        lut: LUT1D | LUT3D | ShaperLUT3D,
        *,
        tags: list[str] | None = None,
        source: str = "",
        licence: str = "",
        made: str = "",
        replace: bool = False,
        precision: int | None = None,
    ) -> Path:
        """Write ``lut`` as ``NAME.cube`` in the library and register it in the index.

        ``precision``: decimals in the .cube (default: bit-exact float32).
        """
        from lutkit.luts.cube import write_cube

        self.check_name(name, replace=replace)  # before the folder is made (and again below)
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / f"{name}.cube"
        with self._locked():
            # what other writers added since this library was read stays in the index
            self.entries = {}
            if self.index_path.is_file():
                self._load()
            self.check_name(name, replace=replace)
            write_cube(lut, target, title=lut.title or name, precision=precision)
            self.entries[name] = LibraryEntry(
                name=name,
                file=target.name,
                tags=sorted(set(tags or [])),
                source=source,
                licence=licence,
                made=made,
                title=lut.title or name,
            )
            self.save()
        return target

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer of the index at a time (imports run side by side, a build beside
        an import): an exclusive lock on ``.index.lock`` in the library, where the file
        system has locks."""
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; the last writer wins
            yield
            return
        with open(self.root / ".index.lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def save(self) -> None:
        """Rewrite ``index.toml`` (atomically), entries sorted by name."""
        lines = ["# The lutkit LUT library: one [[lut]] table per .cube file in this folder."]
        if (self.index_path.parent / "gimp").is_dir():  # lutkit's own library
            lines += [
                "# Maintained by `lutkit lut import --library`; `make luts` re-authors the",
                "# GIMP-made LUTs from the scripts in gimp/.",
            ]
        else:
            lines += ["# Maintained by `lutkit lut import --library`."]
        lines.append("")
        for name in sorted(self.entries):
            lines.append("[[lut]]")
            for key, value in asdict(self.entries[name]).items():
                if value in ("", []) and key not in ("name", "file"):
                    continue
                lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
            lines.append("")
        atomic_write_text(self.index_path, "\n".join(lines))
