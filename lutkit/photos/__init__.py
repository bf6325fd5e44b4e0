"""Training photographs: curated photos from named Debian packages and Python packages.

- ``manifest.json`` (data): one row per photo: package, version, path inside the
  package, sha256, size, author and licence. ``CURATION.md`` beside it says what was
  kept, what was left out and why.
- :mod:`lutkit.photos.manifest`: reading the manifest, the cache folder
  (``$LUTKIT_PHOTOS``, else ``$XDG_CACHE_HOME/lutkit/photos``, else
  ``~/.cache/lutkit/photos``), and verifying a cache against the manifest.
- :mod:`lutkit.photos.fetch`: filling the cache: ``apt-get download`` and
  ``dpkg-deb -x`` for the Debian packages (no root needed), a copy for the photos that
  ship inside scikit-image, matplotlib and scikit-learn; every file checked by sha256.

Photographs from any other wallpaper package are never used by lutkit: they stay
unseen, for independent checks.
"""

from __future__ import annotations

from lutkit.photos.manifest import (
    Photo,
    VerifyReport,
    cache_dir,
    cached_photos,
    load_manifest,
    verify,
)

__all__ = ["Photo", "VerifyReport", "cache_dir", "cached_photos", "load_manifest", "verify"]
