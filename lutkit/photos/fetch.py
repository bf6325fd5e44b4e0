"""Fill the photo cache: ``apt-get download`` + ``dpkg-deb -x``, then copy and check.

Only the curated files of the manifest land in the cache; each is checked against its
sha256 before it is written (to a temporary name, then renamed), so an interrupted
fetch resumes where it stopped and the cache never holds a half-written photo. No root
is needed: ``apt-get download`` writes the .deb into the current folder and
``dpkg-deb -x`` unpacks it anywhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lutkit.errors import PhotosError
from lutkit.fsutil import atomic_output, file_sha256
from lutkit.photos.manifest import (
    Photo,
    cache_dir,
    load_manifest,
    mismatch_error,
    verify,
)
from lutkit.progress import Counter, Progress

_NO_TOOL = (
    "{name} not found: lutkit photos fetch needs Debian/Ubuntu's apt-get and dpkg-deb; "
    "or copy the files listed by `lutkit photos list` into {folder}"
)


@dataclass
class FetchResult:
    folder: Path
    already: list[Photo] = field(default_factory=list)  # present and verified before
    fetched: list[Photo] = field(default_factory=list)  # written by this run
    packages: list[str] = field(default_factory=list)  # Debian packages downloaded


def _tool(name: str, folder: Path) -> str:
    path = shutil.which(name)
    if path is None:
        raise PhotosError(_NO_TOOL.format(name=name, folder=folder))
    return path


def download_deb(package: str, into: Path, *, folder: Path) -> Path:
    """``apt-get download PACKAGE`` into ``into``; the .deb's path. No root needed."""
    apt = _tool("apt-get", folder)
    proc = subprocess.run(
        [apt, "download", "-q", package], cwd=into, capture_output=True, text=True, check=False
    )
    debs = sorted(into.glob(f"{package}_*.deb"))
    if proc.returncode != 0 or not debs:
        text = (proc.stderr or proc.stdout).strip()
        if any(
            s in text
            for s in ("Unable to locate package", "has no installation candidate", "Can't select")
        ):
            raise PhotosError(
                f"apt-get cannot find package {package}",
                hint="run `sudo apt-get update` first: the package lists are missing or old",
            )
        last = text.splitlines()[-1] if text else f"exit status {proc.returncode}"
        raise PhotosError(f"apt-get download {package} failed: {last}")
    return debs[-1]


def extract_deb(deb: Path, into: Path, *, folder: Path | None = None) -> Path:
    """``dpkg-deb -x DEB INTO``: unpack a package's files (no root, no install)."""
    dpkg = _tool("dpkg-deb", folder or cache_dir())
    into.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([dpkg, "-x", str(deb), str(into)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise PhotosError(f"dpkg-deb -x failed: {proc.stderr.strip()}", path=deb)
    return into


def deb_version(deb: Path) -> str:
    """The version field of a .deb (``dpkg-deb -f DEB Version``)."""
    dpkg = _tool("dpkg-deb", cache_dir())
    proc = subprocess.run([dpkg, "-f", str(deb), "Version"], capture_output=True, text=True)
    return proc.stdout.strip() or "an unknown version"


def pip_source(photo: Photo) -> Path:
    """Where an installed Python distribution keeps a bundled photo."""
    from lutkit.samples import package_dir

    module, _, rest = photo.path.partition("/")
    base = package_dir(module, photo.package)
    return base / rest


def copy_checked(photo: Photo, source: Path, folder: Path, *, got: str | None = None) -> Path:
    """Copy ``source`` to the cache as ``photo.file`` if its sha256 is the manifest's.

    ``got`` is the package version the file came from, named in the error if it differs.
    """
    if not source.is_file():
        raise PhotosError(
            f"{photo.name}: {photo.path} is not in {photo.package} {got or ''}".rstrip(),
            hint=f"the package version changed? the manifest lists {photo.version}",
        )
    actual = file_sha256(source)
    if actual != photo.sha256:
        raise mismatch_error(photo, source, actual, got=got)
    target = folder / photo.file
    with atomic_output(target) as tmp:
        shutil.copyfile(source, tmp)
    return target


def fetch(
    folder: str | os.PathLike[str] | None = None,
    *,
    progress: Progress | None = None,
    photos: list[Photo] | None = None,
) -> FetchResult:
    """Bring every manifest photo into ``folder`` (default :func:`cache_dir`), checked.

    Photos already present with the right sha256 are skipped, so a second run does
    nothing and an interrupted run resumes. Debian packages are downloaded only when one
    of their photos is missing.
    """
    folder = cache_dir() if folder is None else Path(folder)
    photos = load_manifest() if photos is None else photos
    report = verify(folder, photos)
    result = FetchResult(folder, already=list(report.ok))
    todo = report.missing + [p for p, _ in report.wrong]
    if not todo:
        return result
    folder.mkdir(parents=True, exist_ok=True)
    counter = Counter(progress, len(todo), "photos")

    for photo in [p for p in todo if p.is_pip]:
        copy_checked(photo, pip_source(photo), folder)
        result.fetched.append(photo)
        counter.add()

    by_package: dict[str, list[Photo]] = {}
    for photo in todo:
        if not photo.is_pip:
            by_package.setdefault(photo.package, []).append(photo)
    if by_package:
        _tool("apt-get", folder)
        _tool("dpkg-deb", folder)
    for package, wanted in by_package.items():
        with tempfile.TemporaryDirectory(prefix="lutkit-photos-") as tmp:
            deb = download_deb(package, Path(tmp), folder=folder)
            root = extract_deb(deb, Path(tmp) / "x", folder=folder)
            got = deb_version(deb)
            for photo in wanted:
                copy_checked(photo, root / photo.path, folder, got=got)
                result.fetched.append(photo)
                counter.add()
        result.packages.append(package)
    return result
