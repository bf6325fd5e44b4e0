"""``lutkit photos`` and ``dataset build --source photos`` through the CLI (no network)."""

from __future__ import annotations

from click.testing import CliRunner

from lutkit.cli import main
from lutkit.photos import load_manifest


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def test_path_follows_lutkit_photos(tmp_path):
    result = invoke("photos", "path", env={"LUTKIT_PHOTOS": str(tmp_path / "p")})
    assert result.exit_code == 0 and result.output == f"{tmp_path / 'p'}\n"


def test_list_shows_every_photo_and_whether_cached(tmp_path):
    first = load_manifest()[0]
    (tmp_path / first.file).write_bytes(b"x")
    result = invoke("photos", "list", "--cache", tmp_path)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(load_manifest()) + 2
    assert lines[1].split()[:3] == [first.name, first.package, "yes"]
    assert lines[2].split()[2] == "no"
    assert lines[1].endswith(f"  {first.licence}")
    # the columns line up: every row's author starts where the header's does
    at = lines[0].index("author")
    for line, p in zip(lines[1:-1], load_manifest(), strict=True):
        assert line[at:].startswith(p.author), line


def test_verify_an_empty_cache_fails_in_one_line(tmp_path):
    n = len(load_manifest())
    result = invoke("photos", "verify", "--cache", tmp_path)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {n} of {n} photos missing in {tmp_path}: ")
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


def test_fetch_without_apt_get(tmp_path):
    # Without apt-get (PATH holds nothing), one line saying what to do instead.
    cache = tmp_path / "cache"
    result = invoke("photos", "fetch", "--cache", cache, env={"PATH": str(tmp_path / "empty")})
    assert result.exit_code == 1
    assert result.output.endswith(
        "Error: apt-get not found: lutkit photos fetch needs Debian/Ubuntu's apt-get and "
        f"dpkg-deb; or copy the files listed by `lutkit photos list` into {cache}\n"
    )


def test_dataset_from_an_empty_photo_cache(tmp_path):
    cache = tmp_path / "photos"
    result = invoke(
        "dataset",
        "build",
        "--source",
        "photos",
        "--out",
        tmp_path / "ds",
        env={"LUTKIT_PHOTOS": str(cache)},
    )
    assert result.exit_code == 1
    assert (
        result.output == f"Error: no photos in {cache}: run `lutkit photos fetch` (make photos)\n"
    )
    assert not (tmp_path / "ds").exists()
