"""Where clean photos come from: a folder, a glob, a manifest, or ``sample``.

Every source image gets the sha256 of its bytes (its identity: duplicates are
dropped, splits and seeds derive from it). Files that cannot be opened as images are
not fatal: they are returned as rejected, with the reason, for ``rejected.csv``.
"""

from __future__ import annotations

import glob as globlib
import os
from dataclasses import dataclass
from pathlib import Path

from lutkit.errors import ConfigError, ImageError
from lutkit.fsutil import file_sha256
from lutkit.images import images_in

SPLITS = ("train", "val", "test")


def check_split(split: str) -> str:
    """``split`` when it is one of :data:`SPLITS`; else a ConfigError naming them (a
    reader asked for ``"validation"`` would otherwise find no rows and say nothing)."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}: a dataset's splits are train, val and test")
    return split


# --source values that name lutkit's own photos rather than a path -> what they mean
NAMED_PHOTO_SOURCES = {
    "sample": "bundled sample photos",
    "photos": "curated training photographs (`lutkit photos fetch`)",
}


@dataclass(frozen=True)
class SourceImage:
    path: Path
    name: str  # the path as recorded in rows (relative to the source root)
    sha256: str
    split: str | None = None  # from a manifest, else assigned by hash


@dataclass(frozen=True)
class Rejected:
    path: str
    reason: str


def _inside(path: Path, root: Path, where: str) -> Path:
    """Refuse manifest paths that escape the manifest's folder (../, absolute)."""
    resolved = (root / path).resolve() if not path.is_absolute() else path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise ConfigError(
            f"path {str(path)!r} is outside the manifest's folder",
            path=where,
            hint="list files inside the folder, or pass --allow-outside",
        )
    return resolved


def _read_manifest(path: Path, allow_outside: bool) -> list[tuple[Path, str, str | None]]:
    import pandas as pd

    from lutkit.data.shards import read_manifest_parquet

    try:
        if path.suffix.lower() == ".parquet":
            frame = read_manifest_parquet(path)
        else:
            frame = pd.read_csv(path)
    except Exception as exc:  # pandas raises many types for bad files
        raise ConfigError(f"cannot read manifest: {exc}", path=path) from None
    if "path" not in frame.columns:
        raise ConfigError("a manifest needs a 'path' column", path=path)
    root = path.parent
    out = []
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        rel = Path(str(row.path))
        where = f"{path}:{i}"
        full = (root / rel).resolve() if allow_outside else _inside(rel, root, where)
        split = getattr(row, "split", None)
        if isinstance(split, str) and split not in SPLITS:
            raise ConfigError(f"split {split!r} is not one of {', '.join(SPLITS)}", path=where)
        out.append((full, str(rel), split if isinstance(split, str) else None))
    return out


def discover(
    spec: str, *, allow_outside: bool = False, exclude: Path | None = None
) -> tuple[list[SourceImage], list[Rejected]]:
    """Find source images for ``spec`` (folder, glob, CSV/Parquet manifest, or ``sample``).

    Returns the images (sorted by sha256) and the rejected files (unreadable, or a
    duplicate of an earlier file). Only a cheap header check is done here; decoding
    problems surface when a photo is prepared and are rejected then. Files under
    ``exclude`` (the dataset being built, when it sits inside a source folder) are
    skipped.
    """
    from PIL import Image, UnidentifiedImageError

    entries: list[tuple[Path, str, str | None]]
    if spec == "sample":  # sample and photos: the names of NAMED_PHOTO_SOURCES
        from lutkit.samples import sample_photos

        entries = [(p.path, f"sample:{p.name}", None) for p in sample_photos()]
    elif spec == "photos":  # the training photographs of `lutkit photos fetch`
        from lutkit.photos import cached_photos

        entries = [(path, f"photos:{p.name}", None) for p, path in cached_photos()]
    else:
        p = Path(spec)
        if p.is_dir():
            entries = [(f, str(f.relative_to(p)), None) for f in images_in(p)]
        elif p.is_file() and p.suffix.lower() in (".csv", ".parquet"):
            entries = _read_manifest(p, allow_outside)
        elif any(ch in spec for ch in "*?["):
            entries = [
                (Path(f), f, None)
                for f in sorted(globlib.glob(spec, recursive=True))
                if Path(f).is_file()
            ]
        elif p.is_file():
            entries = [(p, p.name, None)]
        else:
            raise ConfigError(
                "no such folder, glob, manifest or file",
                path=spec,
                hint="use a folder of photos, a glob, a .csv/.parquet manifest, or 'sample'",
            )
    if exclude is not None:
        skip = exclude.resolve()
        kept = [e for e in entries if not e[0].resolve().is_relative_to(skip)]
        if entries and not kept:  # a glob or a manifest of the output folder's files
            raise ConfigError(
                "every source photo lies in the output folder",
                path=exclude,
                hint="give --out another folder",
            )
        entries = kept
    images: dict[str, SourceImage] = {}
    rejected: list[Rejected] = []
    for path, name, split in entries:
        try:
            if not path.is_file():
                raise ImageError("file not found")
            if path.stat().st_size == 0:
                raise ImageError("empty file (0 bytes)")
            Image.MAX_IMAGE_PIXELS = None
            with Image.open(path) as im:
                im.size  # noqa: B018 (header only)
            sha = file_sha256(path)
        except ImageError as exc:
            rejected.append(Rejected(name, exc.message))
            continue
        except UnidentifiedImageError:
            rejected.append(Rejected(name, "not an image lutkit can read"))
            continue
        except OSError as exc:
            rejected.append(Rejected(name, f"cannot read: {exc.strerror or exc}"))
            continue
        if sha in images:
            first = images[sha]
            why = "listed twice" if name == first.name else f"duplicate of {first.name}"
            if split != first.split:  # two rows of a manifest that disagree
                there = f"split {first.split}" if first.split else "no split"
                here = f"split {split}" if split else "no split"
                kept = first.split or "a split drawn by hash"
                why += f" (the manifest gives it {there} there, {here} here: {kept} kept)"
            rejected.append(Rejected(name, why))
            continue
        images[sha] = SourceImage(path, name, sha, split)
    return sorted(images.values(), key=lambda s: s.sha256), rejected


def check_output_apart(spec: str, out: str | os.PathLike[str]) -> None:
    """Refuse an output folder that is a source folder or holds one: the build skips
    the files under its output, so it would find no photo. An output folder inside
    the source folder is fine (skipped)."""
    if spec in NAMED_PHOTO_SOURCES or not Path(spec).is_dir():
        return
    source, target = Path(spec).resolve(), Path(out).resolve()
    if source == target:
        raise ConfigError(
            "the output folder is the source folder", path=out, hint="give --out another folder"
        )
    if source.is_relative_to(target):
        raise ConfigError(
            f"the output folder holds the source folder {spec}",
            path=out,
            hint="give --out another folder",
        )


def assign_split(sha256: str, fractions: tuple[float, float, float]) -> str:
    """train / val / test from the source's hash: all variants of a photo share it."""
    u = int(sha256[:12], 16) / float(16**12)
    train, val, _ = fractions
    if u < train:
        return "train"
    if u < train + val:
        return "val"
    return "test"


def parse_fractions(text: str) -> tuple[float, float, float]:
    """'0.8,0.1,0.1' -> (0.8, 0.1, 0.1), checked."""
    try:
        parts = tuple(float(x) for x in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or any(p < 0 for p in parts) or abs(sum(parts) - 1) > 1e-6:
        raise ConfigError(
            f"split fractions must be three numbers >= 0 that sum to 1, got {text!r}",
            hint="e.g. --splits 0.8,0.1,0.1",
        )
    return parts  # type: ignore[return-value]


def relpath(path: Path, start: Path) -> str:
    return os.path.relpath(path, start)
