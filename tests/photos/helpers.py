"""Fake manifest rows for the photo tests."""

from __future__ import annotations

import hashlib

from lutkit.photos.manifest import Photo


def fake_photo(name: str, data: bytes, **kw) -> Photo:
    row = dict(
        name=name,
        package="lutkit-test-photos",
        version="1.0-1",
        path=f"usr/share/lutkit-test/{name}.jpg",
        sha256=hashlib.sha256(data).hexdigest(),
        bytes=len(data),
        width=400,
        height=400,
        author="nobody",
        licence="CC0-1.0",
        licence_from="usr/share/doc/lutkit-test-photos/copyright",
        note="",
    )
    row.update(kw)
    return Photo(**row)
