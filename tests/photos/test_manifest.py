"""The committed photo manifest, the cache folder rules, and verifying a cache."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from lutkit.errors import PhotosError
from lutkit.photos import cache_dir, cached_photos, load_manifest, verify
from lutkit.photos.manifest import MANIFEST, PIP_PACKAGES
from tests.photos.helpers import fake_photo

DEBIAN = {
    "lomiri-wallpapers-16.04",
    "lomiri-wallpapers-20.04",
    "plasma-workspace-wallpapers",
    "gnome-backgrounds",
    "libjxl-testdata",
}


def test_every_row_is_complete_and_names_are_unique():
    photos = load_manifest()
    assert 30 <= len(photos) <= 50
    for p in photos:
        assert re.fullmatch(r"[0-9a-f]{64}", p.sha256), p.name
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", p.name), p.name
        for text in (p.package, p.version, p.path, p.author, p.licence, p.licence_from):
            assert text.strip(), p.name
        assert p.package in DEBIAN | set(PIP_PACKAGES), p.package
        assert min(p.width, p.height) >= 400 and p.bytes > 0, p.name
        assert not Path(p.path).is_absolute() and ".." not in Path(p.path).parts
    assert len({p.name for p in photos}) == len(photos)
    assert len({p.file for p in photos}) == len(photos)
    assert len({p.sha256 for p in photos}) == len(photos)


def test_only_the_named_packages_are_drawn():
    # Photographs from any other wallpaper package stay unseen, for independent checks.
    assert {p.package for p in load_manifest()} <= DEBIAN | set(PIP_PACKAGES)


def test_curation_notes_list_every_photo():
    notes = MANIFEST.with_name("CURATION.md").read_text(encoding="utf-8")
    for p in load_manifest():
        assert f"`{p.name}`" in notes, p.name


def test_a_row_with_a_missing_key_is_refused(tmp_path):
    bad = tmp_path / "manifest.json"
    bad.write_text('{"photos": [{"name": "x"}]}', encoding="utf-8")
    with pytest.raises(PhotosError, match="photo 1 has missing or unknown keys: author"):
        load_manifest(bad)


def test_cache_dir_rules(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LUTKIT_PHOTOS", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cache_dir() == tmp_path / "home" / ".cache" / "lutkit" / "photos"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "lutkit" / "photos"
    monkeypatch.setenv("LUTKIT_PHOTOS", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


def test_verify_a_fake_cache(tmp_path):
    good, other = fake_photo("good", b"good bytes"), fake_photo("bad", b"expected bytes")
    gone = fake_photo("gone", b"never written")
    (tmp_path / "good.jpg").write_bytes(b"good bytes")
    (tmp_path / "bad.jpg").write_bytes(b"other bytes")
    report = verify(tmp_path, [good, other, gone])
    assert [p.name for p in report.ok] == ["good"]
    assert [p.name for p in report.missing] == ["gone"]
    assert [(p.name, sha) for p, sha in report.wrong] == [
        ("bad", hashlib.sha256(b"other bytes").hexdigest())
    ]
    with pytest.raises(PhotosError) as info:
        report.raise_for_problems()
    actual = hashlib.sha256(b"other bytes").hexdigest()
    assert str(info.value) == (
        f"{tmp_path / 'bad.jpg'}: sha256 of bad is {actual[:12]}..., the manifest says "
        f"{other.sha256[:12]}... (the package version changed? the manifest lists "
        "lutkit-test-photos 1.0-1; `lutkit photos fetch` replaces a damaged file; otherwise "
        "update lutkit/photos/manifest.json (see CURATION.md))"
    )


def test_verify_reports_missing_photos(tmp_path):
    report = verify(tmp_path, [fake_photo("a", b"a"), fake_photo("b", b"b")])
    assert not report.complete
    with pytest.raises(PhotosError) as info:
        report.raise_for_problems()
    assert str(info.value) == (
        f"2 of 2 photos missing in {tmp_path}: a, b (run `lutkit photos fetch`, or make photos)"
    )


def test_cached_photos_of_an_empty_cache(tmp_path):
    with pytest.raises(PhotosError) as info:
        cached_photos(tmp_path)
    assert str(info.value) == f"no photos in {tmp_path}: run `lutkit photos fetch` (make photos)"
