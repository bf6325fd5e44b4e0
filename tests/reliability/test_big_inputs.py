"""Inputs too big to keep in the repository, made on the fly: a gigabyte of comment
lines in a .cube, streamed from a generator (library) or through a named pipe (CLI).
Memory must follow the table the file declares, not the file."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from tests.reliability.harness import MEMORY_LIMIT_MB, run_fresh, run_measured

GIB = 1 << 30
COMMENT = b"# " + b"padding " * 124 + b"\n"  # a 995-byte comment line
TABLE = "LUT_3D_SIZE 2\n" + "".join(
    f"{r} {g} {b}\n" for b in (0, 1) for g in (0, 1) for r in (0, 1)
)


def _feed(fifo: Path, tail: bytes) -> threading.Thread:
    """Write 1 GiB of comment lines and then ``tail`` into ``fifo`` on a thread."""
    block = COMMENT * ((1 << 20) // len(COMMENT))

    def write() -> None:
        try:
            with open(fifo, "wb") as f:
                for _ in range(GIB // len(block) + 1):
                    f.write(block)
                f.write(tail)
        except BrokenPipeError:  # the reader stopped early, which is allowed
            pass

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_read_cube_streams_a_gigabyte_of_comments_from_a_generator(tmp_path):
    """In a child process (to measure its peak RSS): read_cube over a generator of
    1 GiB of comment lines and a 2^3 table keeps only the table."""
    code = f"""
from lutkit.luts.cube import read_cube
line = "# " + "padding " * 124
def lines():
    for _ in range({GIB} // len(line)):
        yield line
    yield from {TABLE!r}.splitlines()
lut = read_cube(lines())
assert lut.size == 2 and len(lut.metadata["comments"]) == 1000, lut
"""
    out = run_measured([sys.executable, "-c", code], cwd=tmp_path, timeout=120)
    assert not out.timed_out and out.returncode == 0, out.stderr
    assert out.max_rss_mb < 400  # MB: the interpreter, numpy and a tiny table


def test_cli_reads_a_gigabyte_of_comments_through_a_pipe(tmp_path):
    fifo = tmp_path / "huge.cube"
    os.mkfifo(fifo)
    writer = _feed(fifo, TABLE.encode())
    out = run_fresh(["lut", "info", str(fifo)], cwd=tmp_path, timeout=120)
    writer.join(timeout=30)
    assert not out.timed_out and out.returncode == 0, out.stderr
    assert "3D" in out.stdout
    assert out.max_rss_mb < 400 < MEMORY_LIMIT_MB


def test_cli_refuses_a_gigabyte_of_comments_without_a_table(tmp_path):
    fifo = tmp_path / "comments.cube"
    os.mkfifo(fifo)
    writer = _feed(fifo, b"")
    out = run_fresh(["lut", "convert", str(fifo), str(tmp_path / "x.cube")], cwd=tmp_path)
    writer.join(timeout=30)
    assert not out.timed_out and out.returncode == 1
    assert out.stderr == (
        f"Error: {fifo}: no LUT_3D_SIZE or LUT_1D_SIZE line and no table "
        "(not a .cube file, or an empty one)\n"
    )
    assert out.max_rss_mb < 400
    assert sorted(p.name for p in tmp_path.iterdir()) == ["comments.cube"]


def test_cli_refuses_a_gigabyte_line(tmp_path):
    """One line of 1 GiB (no line end): refused once it passes 1 MiB."""
    fifo = tmp_path / "line.cube"
    os.mkfifo(fifo)

    def write() -> None:
        try:
            with open(fifo, "wb") as f:
                f.write(b"LUT_3D_SIZE 2\n")
                for _ in range(1024):
                    f.write(b"0" * (1 << 20))
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    out = run_fresh(["lut", "info", str(fifo)], cwd=tmp_path)
    writer.join(timeout=30)
    assert out.returncode == 1 and out.max_rss_mb < 400
    assert out.stderr == (
        f"Error: {fifo}: line 2 is over 1048576 bytes long (not a .cube file, or a damaged one)\n"
    )
