"""Interrupted and refused builds: kill -9 and resume, the folder lock, changed
settings, an output that is a file, a full disk."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from lutkit.cli import main
from lutkit.data.index import build_lock
from lutkit.data.info import preview_dataset, verify_dataset
from lutkit.errors import ConfigError, LutkitError
from tests.data.helpers import COLORMAP_RECIPE, build, make_sources, shard_hashes

SETTINGS = {"variants": 2, "size": 64, "rows_per_shard": 2}  # one photo per shard


def _cli_args(src, out) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from lutkit.cli import main; main()",
        "dataset",
        "build",
        "--source",
        str(src),
        "--out",
        str(out),
        "--variants",
        "2",
        "--size",
        "64",
        "--rows-per-shard",
        "2",
        "--workers",
        "2",
    ]


def _all_readable(folder) -> list[str]:
    names = []
    for p in sorted(folder.glob("*.parquet")):
        pq.read_metadata(p)  # raises on a partial file
        names.append(p.name)
    return names


def _wait_until_unlocked(out, timeout: float = 30) -> None:
    """The killed build's worker processes die a moment after it (and hold its lock
    until they do)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with build_lock(out):
                return
        except ConfigError:
            time.sleep(0.05)
    raise AssertionError("the killed build's processes still hold the lock")


@pytest.mark.parametrize("group", [True, False], ids=["with-its-workers", "alone"])
def test_kill_and_resume_equals_an_uninterrupted_build(tmp_path, group):
    """``kill -9`` of the build's process group, or of the build alone: its orphaned
    workers (which share the folder's lock) must die with it, or every rerun would be
    refused as "another build is running"."""
    src = make_sources(tmp_path / "src")
    out = tmp_path / "ds"
    proc = subprocess.Popen(
        _cli_args(src, out),
        start_new_session=True,  # its own process group: kill the workers with it
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    seen: list[str] = []
    deadline = time.monotonic() + 120
    try:
        while not seen and proc.poll() is None and time.monotonic() < deadline:
            if (out / "pairs").is_dir():
                seen = _all_readable(out / "pairs")
            time.sleep(0.005)
    finally:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        try:
            _wait_until_unlocked(out)
        finally:
            if not group:  # were the workers to outlive it: leave no orphans behind
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
    assert seen, proc.stderr.read().decode()
    assert not (out / "dataset.json").exists(), "the build finished before it was killed"
    for command in ("info", "verify"):  # a reader of the unfinished build is told what to do
        told = CliRunner().invoke(main, ["dataset", command, str(out)])
        assert (told.exit_code, told.output) == (
            1,
            f"Error: {out}: an unfinished build (no dataset.json yet: it is written last) "
            "(rerun the `lutkit dataset build` that made it: it resumes where it stopped)\n",
        )
    done = _all_readable(out / "pairs")  # every shard present right after the kill opens
    assert set(seen) <= set(done)

    said: list[str] = []
    result = build(src, out, workers=2, log=said.append, **SETTINGS)
    assert result.shards_skipped >= len(seen)
    assert said == [f"resuming: {result.shards_skipped} shard(s) already complete"]
    # six shards: five photos and the truncated JPEG (rejected when decoded, in an
    # empty shard that records it, kept out of pairs/ where readers would choke on it)
    assert result.shards_written + result.shards_skipped == len(shard_hashes(out)) + 1 == 6
    assert len(list((out / ".empty-shards").glob("*.parquet"))) == 1
    assert not [p for p in (out / "pairs").iterdir() if p.suffix != ".parquet"]
    build(src, tmp_path / "whole", workers=2, **SETTINGS)
    assert shard_hashes(out) == shard_hashes(tmp_path / "whole")
    assert verify_dataset(out).ok
    # The card of the resumed build: tiles from this run's shards and the earlier run's.
    preview_dataset(out, tmp_path / "preview.jpg")
    assert (tmp_path / "preview.jpg").read_bytes() == (out / "contact-sheet.jpg").read_bytes()


_HALF_SENT = r"""
import gc, os, signal, struct, threading, time, types
from concurrent.futures import ProcessPoolExecutor

import lutkit.data.build as b


def build_one(maker, plan, out):
    if plan.name == "stuck":  # stopped while it sends its result: half a message
        pool = next(o for o in gc.get_objects() if isinstance(o, ProcessPoolExecutor))
        os.write(pool._result_queue._writer.fileno(), struct.pack("!i", 1 << 20) + b"x" * 16)
    time.sleep(600)


b._build_one = build_one
# Python's own Ctrl-C handler, even where this runs in a shell script's background job
# (which starts with SIGINT ignored, and hands that down)
signal.signal(signal.SIGINT, signal.default_int_handler)
plans = [types.SimpleNamespace(name=n) for n in ("stuck", "slow")]
threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGINT)).start()  # Ctrl-C
try:
    b._run_local(None, plans, None, 2, lambda rows: None)
except KeyboardInterrupt:
    print("stopped")
"""


def test_ctrl_c_while_a_worker_sends_its_shard_stops_the_build(tmp_path):
    """Ctrl-C stops the workers mid-shard; one stopped while it sends its result leaves
    half a message in the pool's result pipe. The build used to hang there for ever (the
    pool's shutdown waited on a thread that waited for the rest of the message): it
    must end, with KeyboardInterrupt (the CLI's "Interrupted.", status 130)."""
    proc = subprocess.run(
        [sys.executable, "-c", _HALF_SENT], cwd=tmp_path, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert (proc.returncode, proc.stdout) == (0, "stopped\n"), proc.stderr


@pytest.fixture()
def small(tmp_path):
    """A quick finished build: five photos, one variant, no ground truth."""
    src = make_sources(tmp_path / "src", bad=False)
    out = tmp_path / "ds"
    build(src, out, variants=1, ground_truth=False)
    return src, out


def test_a_second_build_at_once_is_refused(small):
    src, out = small
    with build_lock(out):
        with pytest.raises(ConfigError) as err:
            build(src, out, variants=1, ground_truth=False)
    assert str(err.value) == (
        f"{out}: another build is running in this folder "
        "(wait for it to finish, or build into another folder)"
    )
    again = build(src, out, variants=1, ground_truth=False)  # the lock is free again
    assert again.shards_written == 0


def test_changed_settings_are_refused_unless_forced(small, tmp_path):
    src, out = small
    before = shard_hashes(out)
    with pytest.raises(ConfigError) as err:
        build(src, out, variants=1, ground_truth=False, seed=1)
    assert str(err.value) == (
        f"{out}: a dataset built with another seed is in this folder "
        "(use another --out, or --force to replace it)"
    )
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(COLORMAP_RECIPE)
    with pytest.raises(ConfigError) as err:
        build(src, out, variants=1, ground_truth=False, recipe=str(recipe))
    assert str(err.value) == (
        f"{out}: a dataset built with another recipe is in this folder "
        "(use another --out, or --force to replace it)"
    )
    assert shard_hashes(out) == before  # nothing touched
    result = build(src, out, variants=1, ground_truth=False, seed=1, force=True)
    assert result.shards_skipped == 0 and shard_hashes(out) != before
    assert verify_dataset(out).ok


def test_a_rerun_after_a_library_lut_was_replaced_is_refused(tmp_path, monkeypatch):
    # Each row records its library LUT's sha256, dataset.json every LUT the recipe can
    # draw: a resumed build after `lut import --replace` would have mixed two looks under
    # one name (and a finished one's rerun said "nothing to build" over stale rows).
    import json
    import shutil
    from pathlib import Path

    from lutkit.distort.lut3d import library_root
    from lutkit.fsutil import file_sha256

    lib = tmp_path / "lib"
    lib.mkdir()
    names = ("cool-grade", "warm-grade")
    for name in names:
        shutil.copy(Path(library_root()) / f"{name}.cube", lib / f"{name}.cube")
    (lib / "index.toml").write_text(
        "".join(f'[[lut]]\nname = "{n}"\nfile = "{n}.cube"\n' for n in names)
    )
    cool = (lib / "cool-grade.cube").read_bytes()
    monkeypatch.setenv("LUTKIT_LIBRARY", str(lib))
    recipe = tmp_path / "looks.toml"
    recipe.write_text('[[stage]]\nop = "lut3d.library"\n')
    src, out = make_sources(tmp_path / "src", bad=False), tmp_path / "ds"
    settings = {"variants": 2, "ground_truth": False, "recipe": str(recipe)}
    build(src, out, **settings)
    doc = json.loads((out / "dataset.json").read_text())
    shas = {n: file_sha256(lib / f"{n}.cube") for n in names}
    assert doc["config"]["library_luts"] == shas
    card = (out / "README.md").read_text()
    assert "can draw 2 library LUT(s)" in card and "refused rather than giving" in card
    drawn = [
        op["params"]
        for r in pq.read_table(out / "pairs").to_pylist()
        for op in json.loads(r["ops"])
    ]
    assert drawn and all(p["sha256"] == shas[p["lut"]] for p in drawn)
    assert build(src, out, **settings).shards_written == 0  # the same library: nothing to do
    before = shard_hashes(out)

    (lib / "cool-grade.cube").write_bytes((lib / "warm-grade.cube").read_bytes())
    with pytest.raises(ConfigError) as err:
        build(src, out, **settings)
    assert str(err.value) == (
        f"{out}: a dataset built with another library LUT ('cool-grade' replaced since) is "
        "in this folder (use another --out, or --force to replace it)"
    )
    assert shard_hashes(out) == before
    # A killed build (no dataset.json yet) resumed after the replacement: the shards it
    # kept were made with the old file, so they are made again, not mixed in.
    killed = tmp_path / "killed"
    shutil.copytree(out, killed)
    (killed / "dataset.json").unlink()
    sorted((killed / "pairs").glob("*.parquet"))[0].unlink()
    said = []
    result = build(src, killed, **settings, log=said.append)
    assert (
        result.shards_skipped == 0 and len(said) == 2 and "made with other library LUTs" in said[0]
    )
    new = {n: file_sha256(lib / f"{n}.cube") for n in names}
    rows = pq.read_table(killed / "pairs").to_pylist()
    assert all(
        op["params"]["sha256"] == new[op["params"]["lut"]]
        for r in rows
        for op in json.loads(r["ops"])
    )
    assert json.loads((killed / "dataset.json").read_text())["config"]["library_luts"] == new
    # A dataset from before lutkit recorded the LUTs (neither dataset.json nor its shards
    # say which files they drew) is kept, and dataset.json does not claim to know them.
    import lutkit.data.build as build_module

    old = tmp_path / "old"
    monkeypatch.setattr(build_module, "luts_digest", lambda luts: "")
    build(src, old, **settings)
    monkeypatch.undo()
    monkeypatch.setenv("LUTKIT_LIBRARY", str(lib))
    doc = json.loads((old / "dataset.json").read_text())
    doc["config"].pop("library_luts")
    (old / "dataset.json").write_text(json.dumps(doc))
    (lib / "cool-grade.cube").write_bytes(cool)  # put back: a change all the same
    assert build(src, old, **settings).shards_written == 0
    assert "library_luts" not in json.loads((old / "dataset.json").read_text())["config"]
    assert "sha256 of its LUT" not in (old / "README.md").read_text()  # its rows have none
    assert verify_dataset(old).ok


def test_a_rerun_after_the_target_luts_file_was_replaced_is_refused(tmp_path, monkeypatch):
    # The --target-lut style of every clean side is a library LUT too.
    import json
    import shutil
    from pathlib import Path

    from lutkit.distort.lut3d import library_root
    from lutkit.fsutil import file_sha256

    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("cool-grade", "warm-grade"):
        shutil.copy(Path(library_root()) / f"{name}.cube", lib / f"{name}.cube")
    (lib / "index.toml").write_text(
        "".join(f'[[lut]]\nname = "{n}"\nfile = "{n}.cube"\n' for n in ("cool-grade", "warm-grade"))
    )
    monkeypatch.setenv("LUTKIT_LIBRARY", str(lib))
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(COLORMAP_RECIPE)
    src, out = make_sources(tmp_path / "src", bad=False), tmp_path / "ds"
    settings = {
        "variants": 1,
        "ground_truth": False,
        "recipe": str(recipe),
        "target_lut": "cool-grade",
    }
    build(src, out, **settings)
    config = json.loads((out / "dataset.json").read_text())["config"]
    assert config["target_lut_sha256"] == file_sha256(lib / "cool-grade.cube")
    assert "library_luts" not in config  # the recipe draws none
    assert "and the target LUT's file is in dataset.json" in (out / "README.md").read_text()
    (lib / "cool-grade.cube").write_bytes((lib / "warm-grade.cube").read_bytes())
    with pytest.raises(ConfigError) as err:
        build(src, out, **settings)
    assert str(err.value) == (
        f"{out}: a dataset built with another file of the target LUT is in this folder "
        "(use another --out, or --force to replace it)"
    )


def test_output_that_is_a_file(tmp_path):
    src = make_sources(tmp_path / "src", bad=False)
    target = tmp_path / "taken"
    target.write_text("a file\n")
    result = CliRunner().invoke(
        main, ["dataset", "build", "--source", str(src), "--out", str(target)]
    )
    assert result.exit_code == 1
    assert result.output == f"Error: {target}: the output exists and is not a folder\n"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_full_disk_is_a_clear_error_and_leaves_no_partial_shard(tmp_path, monkeypatch, workers):
    import pyarrow.parquet

    def full_disk(table, where, **kwargs):
        with open(where, "wb") as f:
            f.write(b"PAR1 half a shard")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pyarrow.parquet, "write_table", full_disk)
    src = make_sources(tmp_path / "src", bad=False)
    out = tmp_path / "ds"
    result = CliRunner().invoke(
        main,
        ["dataset", "build", "--source", str(src), "--out", str(out), "--size", "64"]
        + ["--variants", "1", "--no-ground-truth", "--workers", workers],
    )
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {out}/pairs/")
    assert lines[0].endswith(
        ": cannot write shard: No space left on device "
        "(free some space, then rerun the same command to resume)"
    )
    assert not out.exists()  # nothing was written, so not even the folder is left
    with pytest.raises(LutkitError):  # the library raises the same error
        build(src, out, variants=1, ground_truth=False)
