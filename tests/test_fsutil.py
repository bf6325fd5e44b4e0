"""lutkit.fsutil: what a killed writer leaves is cleaned by the next write of the same
output, and an output folder that takes no file is refused before any work."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lutkit import fsutil
from lutkit.cli import main
from lutkit.errors import LutkitError
from lutkit.images import save_image


def _hold_locked(path: Path) -> subprocess.Popen:
    """A live writer in another process: it holds ``path`` locked until its stdin
    closes."""
    code = (
        "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600); "
        "fcntl.flock(fd, fcntl.LOCK_EX); print('ready', flush=True); sys.stdin.read()"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline() == "ready\n"
    return child


@pytest.mark.skipif(fsutil.fcntl is None, reason="needs flock")
def test_a_write_removes_the_temporaries_a_killed_writer_left_for_that_output(tmp_path):
    left = tmp_path / ".out.png.abc12_x9.tmp"  # unlocked: its writer is gone
    live = tmp_path / ".out.png.def45678.tmp"  # a second writer of out.png, still running
    other = tmp_path / ".other.png.ghi78901.tmp"  # another output's
    not_ours = tmp_path / ".out.png.backup.tmp"  # not a name atomic_output makes
    for p in (left, other, not_ours):
        p.write_bytes(b"partial")
    writer = _hold_locked(live)
    try:
        with fsutil.atomic_output(tmp_path / "out.png") as tmp:
            assert tmp.exists()  # listed by its own cleanup, but locked: kept
            tmp.write_bytes(b"whole")
        assert live.exists()
    finally:
        writer.stdin.close()
        writer.wait()
    assert (tmp_path / "out.png").read_bytes() == b"whole"
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == sorted(p.name for p in (live, other, not_ours, tmp_path / "out.png"))


@pytest.mark.skipif(fsutil.fcntl is None, reason="needs flock")
def test_each_output_cleans_its_own_leftovers_even_when_one_name_starts_another(tmp_path):
    for name in (".a.qwertyui.tmp", ".a.jpg.asdfghjk.tmp"):
        (tmp_path / name).write_bytes(b"partial")
    for out in ("a", "a.jpg"):  # "a"'s cleanup must not forget a.jpg's leftovers
        with fsutil.atomic_output(tmp_path / out) as tmp:
            tmp.write_bytes(b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "a.jpg"]


def test_a_name_too_long_for_its_temporary_is_refused_before_any_work(tmp_path):
    name = "x" * 238 + ".png"  # 242 bytes: the temporary beside it would be 256
    with pytest.raises(LutkitError) as err:
        fsutil.check_writable_outputs(tmp_path / name)
    assert str(err.value) == (
        f"{tmp_path / name}: file name too long to write (242 bytes) "
        "(keep output names under 242 bytes)"
    )
    fsutil.check_writable_outputs(tmp_path / name[1:])


def test_the_longest_name_a_file_system_takes_still_writes(tmp_path):
    name = "x" * 237 + ".png"  # 241 bytes: with ".", ".XXXXXXXX.tmp" the temporary is 255
    with fsutil.atomic_output(tmp_path / name) as tmp:
        tmp.write_bytes(b"whole")
    assert (tmp_path / name).read_bytes() == b"whole"


def test_a_killed_lut_apply_leaves_a_temporary_that_the_rerun_removes(tmp_path, photo):
    from tests.reliability.harness import leftovers, run_fresh

    save_image(tmp_path / "p.png", photo)
    root = Path(__file__).resolve().parents[1]
    args = ["lut", "apply", "sodium-orange", "p.png", "-o", "out.png"]
    killed = subprocess.run(  # SIGKILLed half-way through its temporary file
        [sys.executable, "-m", "tests.reliability.killer", *args],
        cwd=tmp_path,
        env=dict(os.environ, LUTKIT_TEST_KILL="fsync:1", PYTHONPATH=str(root)),
        capture_output=True,
        timeout=180,
    )
    assert killed.returncode == -9
    assert len(leftovers(tmp_path)) == 1 and not (tmp_path / "out.png").exists()
    assert run_fresh(args, cwd=tmp_path).returncode == 0
    assert not leftovers(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png", "p.png"]


def test_check_writable_outputs_names_the_output_and_the_folder(tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("")
    with pytest.raises(LutkitError) as err:
        fsutil.check_writable_outputs(tmp_path / "afile" / "sub" / "x.png")
    assert str(err.value) == (
        f"{tmp_path / 'afile' / 'sub' / 'x.png'}: cannot write here: {tmp_path / 'afile'} "
        "is not a folder (choose another output path)"
    )
    fsutil.check_writable_outputs(tmp_path / "new" / "deeper" / "x.png", None)  # to be made
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # the probe is gone

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(fsutil.tempfile, "mkstemp", read_only)
    with pytest.raises(LutkitError) as err:
        fsutil.check_writable_outputs(tmp_path / "x.png")
    assert str(err.value) == (
        f"{tmp_path / 'x.png'}: cannot create files in folder {tmp_path}: read-only file "
        "system (choose an output folder you can write to)"
    )


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("command", ["lut-apply", "fix", "distort", "eval"])
def test_an_output_folder_that_takes_no_file_is_refused_before_any_work(
    tmp_path, monkeypatch, photo, command
):
    monkeypatch.chdir(tmp_path)
    save_image(tmp_path / "p.png", photo)
    args = {
        "lut-apply": ["lut", "apply", "sodium-orange", "p.png", "-o", "/proc/x/out.png"],
        # a model that does not exist: the output is refused first, before the model
        "fix": ["fix", "p.png", "-o", "/proc/x/out.png", "--model", "no-such-model"],
        "distort": ["distort", "p.png", "-o", "/proc/x/out.png", "--recipe", "default"],
        # a report folder: refused before the model and the sets are read
        "eval": ["eval", "--model", "default", "--sets", "no-sets", "-o", "/proc/x/out.png"],
    }[command]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.output == (
        "Error: /proc/x/out.png: cannot create files in folder /proc "
        "(choose an output folder you can write to)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png"]


def test_an_image_and_its_side_files_that_fail_leave_no_folder_they_made(tmp_path):
    # Ctrl-C while `fix scans/ -o fixed/` wrote its first image left an empty fixed/.
    from lutkit.fsutil import output_group

    main, side = tmp_path / "fixed" / "a" / "x.png", tmp_path / "luts" / "x.cube"
    with pytest.raises(KeyboardInterrupt), output_group(main, [side]):
        side.write_text("LUT_3D_SIZE 2\n")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    (tmp_path / "fixed").mkdir()
    (tmp_path / "fixed" / "other.png").write_bytes(b"")
    with pytest.raises(KeyboardInterrupt), output_group(main, []):
        raise KeyboardInterrupt
    assert sorted(p.name for p in (tmp_path / "fixed").iterdir()) == ["other.png"]
