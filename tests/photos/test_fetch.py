"""Fetching photos without the network: a tiny .deb built here, and the pip copies."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from lutkit.errors import PhotosError
from lutkit.photos import load_manifest, verify
from lutkit.photos.fetch import copy_checked, extract_deb, fetch, pip_source
from tests.external import require_tool
from tests.photos.helpers import fake_photo

PHOTO = b"\xff\xd8 not really a jpeg, but bytes with a known sha256"


def build_deb(root: Path, version: str = "1.0-1") -> Path:
    """A minimal .deb (``dpkg-deb -b``) holding one file under usr/share/lutkit-test/."""
    dpkg = require_tool("dpkg-deb")
    tree = root / "pkg"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        "Package: lutkit-test-photos\n"
        f"Version: {version}\n"
        "Architecture: all\n"
        "Maintainer: lutkit tests <tests@example.invalid>\n"
        "Description: one fake photo\n",
        encoding="utf-8",
    )
    (tree / "usr/share/lutkit-test").mkdir(parents=True)
    (tree / "usr/share/lutkit-test/one.jpg").write_bytes(PHOTO)
    deb = root / f"lutkit-test-photos_{version}_all.deb"
    subprocess.run([dpkg, "-b", str(tree), str(deb)], check=True, capture_output=True)
    return deb


def fake_apt(bin_dir: Path, deb: Path) -> None:
    """An `apt-get` on PATH whose `download` copies ``deb`` into the current folder."""
    bin_dir.mkdir(exist_ok=True)
    apt = bin_dir / "apt-get"
    apt.write_text(f'#!/bin/sh\n[ "$1" = download ] && cp "{deb}" . \n', encoding="utf-8")
    apt.chmod(0o755)


def test_extract_and_copy_from_a_synthetic_deb(tmp_path):
    deb = build_deb(tmp_path)
    root = extract_deb(deb, tmp_path / "x")
    photo = fake_photo("one", PHOTO, path="usr/share/lutkit-test/one.jpg")
    cache = tmp_path / "cache"
    cache.mkdir()
    target = copy_checked(photo, root / photo.path, cache)
    assert target == cache / "one.jpg" and target.read_bytes() == PHOTO
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no temp left


def test_fetch_with_a_fake_apt_then_resume_offline(tmp_path, monkeypatch):
    deb = build_deb(tmp_path)
    fake_apt(tmp_path / "bin", deb)
    dpkg_dir = str(Path(shutil.which("dpkg-deb")).parent)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{dpkg_dir}")
    photo = fake_photo("one", PHOTO, path="usr/share/lutkit-test/one.jpg")
    events = []
    result = fetch(
        tmp_path / "cache", photos=[photo], progress=lambda d, t, w: events.append((d, t, w))
    )
    assert [p.name for p in result.fetched] == ["one"]
    assert result.packages == ["lutkit-test-photos"]
    assert events == [(0, 1, "photos"), (1, 1, "photos")]
    # Everything is cached: no apt-get needed any more, nothing is done.
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    again = fetch(tmp_path / "cache", photos=[photo])
    assert (again.fetched, [p.name for p in again.already]) == ([], ["one"])


def test_a_changed_package_is_named(tmp_path, monkeypatch):
    deb = build_deb(tmp_path, version="2.0-1")
    fake_apt(tmp_path / "bin", deb)
    dpkg_dir = str(Path(shutil.which("dpkg-deb")).parent)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{dpkg_dir}")
    photo = fake_photo("one", b"the bytes of version 1.0-1", path="usr/share/lutkit-test/one.jpg")
    with pytest.raises(
        PhotosError,
        match=r"the package version changed\? the manifest lists "
        r"lutkit-test-photos 1.0-1, this one is 2.0-1",
    ):
        fetch(tmp_path / "cache", photos=[photo])
    assert not (tmp_path / "cache" / "one.jpg").exists()


def test_no_apt_get_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    photo = fake_photo("one", PHOTO)
    with pytest.raises(PhotosError) as info:
        fetch(tmp_path / "cache", photos=[photo])
    assert str(info.value) == (
        "apt-get not found: lutkit photos fetch needs Debian/Ubuntu's apt-get and dpkg-deb; "
        f"or copy the files listed by `lutkit photos list` into {tmp_path / 'cache'}"
    )


def test_unknown_package_says_to_update_the_lists(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    apt = bin_dir / "apt-get"
    apt.write_text(
        "#!/bin/sh\necho 'E: Unable to locate package lutkit-test-photos' >&2\nexit 100\n"
    )
    apt.chmod(0o755)
    (bin_dir / "dpkg-deb").symlink_to(apt)  # present; never reached
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(PhotosError) as info:
        fetch(tmp_path / "cache", photos=[fake_photo("one", PHOTO)])
    assert str(info.value) == (
        "apt-get cannot find package lutkit-test-photos (run `sudo apt-get update` first: "
        "the package lists are missing or old)"
    )


def test_pip_bundled_photos_match_the_manifest(tmp_path):
    # Offline part of a real fetch: the photos inside installed Python packages.
    pip = [p for p in load_manifest() if p.is_pip]
    assert {p.package for p in pip} == {"scikit-image", "matplotlib", "scikit-learn"}
    present = [p for p in pip if p.package != "scikit-learn" or _has("sklearn")]
    for photo in present:
        copy_checked(photo, pip_source(photo), tmp_path)
    report = verify(tmp_path, present)
    assert report.complete and len(report.ok) == len(present)
    assert hashlib.sha256((tmp_path / "astronaut.png").read_bytes()).hexdigest() == next(
        p.sha256 for p in pip if p.name == "astronaut"
    )


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
