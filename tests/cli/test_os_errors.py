"""An OS error while writing is one line: the path (for one of lutkit's temporary
names, the folder it was written in), what the OS said, and what to do."""

from __future__ import annotations

import errno
import os

import pytest

from lutkit.cli import os_error_line


@pytest.mark.parametrize(
    ("code", "filename", "line"),
    [
        (
            errno.EROFS,
            "/data/ro/ds",
            "/data/ro/ds: Read-only file system (choose an output folder you can write to)",
        ),
        (  # a model export's folder, made whole under a hidden name (an ML engineer's
            # trial: the error named that name, not the folder asked for)
            errno.EROFS,
            "/data/ro/.m.4z_n94sh.tmp",
            "/data/ro: cannot write here: Read-only file system (choose an output folder "
            "you can write to)",
        ),
        (
            errno.ENOTDIR,
            "/data/afile/sub",
            "/data/afile/sub: Not a directory (a file is in the way where a folder is "
            "needed: choose another path)",
        ),
        (
            errno.ENOSPC,
            "/data/.out.png.k2j3ab_x.tmp",
            "/data: cannot write here: No space left on device (free some disk space, or "
            "choose another folder)",
        ),
        (errno.EIO, "/data/x.png", "/data/x.png: Input/output error"),
        (  # a user's own hidden name is named as it is (a review)
            errno.EACCES,
            "/photos/.trip.20240101",
            "/photos/.trip.20240101: Permission denied (choose an output folder you can "
            "write to, or check the permissions)",
        ),
    ],
)
def test_an_os_error_is_one_line_with_what_to_do(code, filename, line):
    assert os_error_line(OSError(code, os.strerror(code), filename)) == line


def test_an_os_error_without_a_file_is_what_the_os_said():
    assert os_error_line(OSError(errno.EACCES, os.strerror(errno.EACCES))) == (
        "Permission denied (choose an output folder you can write to, or check the permissions)"
    )
