"""The photo manifest, the cache folder, and checking a cache against the manifest."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from lutkit.errors import PhotosError
from lutkit.fsutil import file_sha256

MANIFEST = Path(__file__).with_name("manifest.json")

# Python distributions whose bundled photos are listed; every other package is Debian's.
PIP_PACKAGES = ("scikit-image", "matplotlib", "scikit-learn")

_FIELDS = (
    "name",
    "package",
    "version",
    "path",
    "sha256",
    "bytes",
    "width",
    "height",
    "author",
    "licence",
    "licence_from",
    "note",
)


@dataclass(frozen=True)
class Photo:
    """One manifest row. ``path`` is inside the .deb, or inside site-packages for pip."""

    name: str
    package: str
    version: str
    path: str
    sha256: str
    bytes: int
    width: int
    height: int
    author: str
    licence: str
    licence_from: str
    note: str = ""

    @property
    def file(self) -> str:
        """The file name in the cache: the stable name plus the original extension."""
        return self.name + Path(self.path).suffix.lower()

    @property
    def is_pip(self) -> bool:
        return self.package in PIP_PACKAGES


def load_manifest(path: str | os.PathLike[str] = MANIFEST) -> list[Photo]:
    """The manifest's photos, in file order; a row with missing or unknown keys is refused."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PhotosError(f"cannot read the photo manifest: {exc}", path=path) from None
    photos = []
    for i, row in enumerate(doc.get("photos", []), start=1):
        keys = set(row)
        if keys != set(_FIELDS):
            wrong = sorted(keys ^ set(_FIELDS))
            raise PhotosError(
                f"photo {i} has missing or unknown keys: {', '.join(wrong)}", path=path
            )
        photos.append(Photo(**row))
    return photos


def cache_dir() -> Path:
    """Where fetched photos live: $LUTKIT_PHOTOS, else $XDG_CACHE_HOME/lutkit/photos,
    else ~/.cache/lutkit/photos (outside any git checkout)."""
    if os.environ.get("LUTKIT_PHOTOS"):
        return Path(os.environ["LUTKIT_PHOTOS"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "lutkit" / "photos"
    return Path.home() / ".cache" / "lutkit" / "photos"


def mismatch_error(photo: Photo, path: Path, actual: str, *, got: str | None = None) -> PhotosError:
    """The one message for a file whose bytes are not the manifest's."""
    version = f"{photo.package} {photo.version}"
    if got and got != photo.version:
        version += f", this one is {got}"
    return PhotosError(
        f"sha256 of {photo.name} is {actual[:12]}..., the manifest says {photo.sha256[:12]}...",
        path=path,
        hint=(
            f"the package version changed? the manifest lists {version}; "
            "`lutkit photos fetch` replaces a damaged file; otherwise update "
            "lutkit/photos/manifest.json (see CURATION.md)"
        ),
    )


@dataclass
class VerifyReport:
    """What :func:`verify` found: photos present and right, missing, or with other bytes."""

    folder: Path
    ok: list[Photo] = field(default_factory=list)
    missing: list[Photo] = field(default_factory=list)
    wrong: list[tuple[Photo, str]] = field(default_factory=list)  # (photo, actual sha256)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.wrong

    def raise_for_problems(self) -> None:
        """Raise one :class:`PhotosError` naming the first problem (wrong bytes first)."""
        if self.wrong:
            photo, actual = self.wrong[0]
            raise mismatch_error(photo, self.folder / photo.file, actual)
        if self.missing:
            names = ", ".join(p.name for p in self.missing[:5])
            more = f" and {len(self.missing) - 5} more" if len(self.missing) > 5 else ""
            raise PhotosError(
                f"{len(self.missing)} of {len(self.missing) + len(self.ok)} photos missing "
                f"in {self.folder}: {names}{more}",
                hint="run `lutkit photos fetch`, or make photos",
            )


def verify(
    folder: str | os.PathLike[str] | None = None, photos: list[Photo] | None = None
) -> VerifyReport:
    """Check every manifest photo in ``folder`` (default :func:`cache_dir`) by sha256."""
    folder = cache_dir() if folder is None else Path(folder)
    report = VerifyReport(folder)
    for photo in load_manifest() if photos is None else photos:
        path = folder / photo.file
        if not path.is_file():
            report.missing.append(photo)
            continue
        actual = file_sha256(path)
        if actual == photo.sha256:
            report.ok.append(photo)
        else:
            report.wrong.append((photo, actual))
    return report


def cached_photos(folder: str | os.PathLike[str] | None = None) -> list[tuple[Photo, Path]]:
    """Every manifest photo in the cache, as (photo, path); an error when any is absent.

    Only presence is checked here (a dataset build hashes every source anyway); use
    :func:`verify` for the bytes.
    """
    folder = cache_dir() if folder is None else Path(folder)
    photos = load_manifest()
    present = [(p, folder / p.file) for p in photos if (folder / p.file).is_file()]
    if not present:
        raise PhotosError(f"no photos in {folder}: run `lutkit photos fetch` (make photos)")
    if len(present) < len(photos):
        missing = [p.name for p in photos if not (folder / p.file).is_file()]
        raise PhotosError(
            f"{len(missing)} of {len(photos)} photos missing in {folder} "
            f"({', '.join(missing[:5])}{'...' if len(missing) > 5 else ''}): "
            "run `lutkit photos fetch` (make photos)"
        )
    return present
