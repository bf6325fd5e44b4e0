"""Run the ``lutkit`` CLI and SIGKILL the process at a chosen point of its writing.

    LUTKIT_TEST_KILL=PHASE:N python -m tests.reliability.killer ARGS...

Every file lutkit writes goes through ``lutkit.fsutil.atomic_output``: the data is
written to a temporary name, fsynced, then ``os.replace``d onto the final name. The
N-th of those writes (1-based, counted in this process) is where the process kills
itself with a real SIGKILL (no cleanup, no finally blocks, no atexit):

* ``fsync:N``  - half-way through writing the temporary file (it is cut to half);
* ``before:N`` - the temporary file is complete, the rename has not happened;
* ``after:N``  - just after the rename.

``term:N`` sends the process a SIGTERM (a scheduler's or ``timeout``'s stop) half-way
through the N-th write instead, and lets it run on: what lutkit does with it is its own.

``count:PATH`` kills nothing and writes the number of renames to PATH at exit, so a
test can spread its kill points over a whole run.
"""

from __future__ import annotations

import os
import signal
import stat
import sys


def _install(spec: str) -> None:
    phase, _, value = spec.partition(":")
    real_replace, real_fsync = os.replace, os.fsync
    seen = {"replace": 0, "fsync": 0}

    if phase == "count":
        import atexit

        atexit.register(lambda: open(value, "w").write(str(seen["replace"])))

        def counting_replace(src, dst, *a, **kw):
            seen["replace"] += 1
            return real_replace(src, dst, *a, **kw)

        os.replace = counting_replace
        return
    target = int(value)

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def replace(src, dst, *a, **kw):
        seen["replace"] += 1
        if phase == "before" and seen["replace"] == target:
            die()
        result = real_replace(src, dst, *a, **kw)
        if phase == "after" and seen["replace"] == target:
            die()
        return result

    def fsync(fd):
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # a folder's fsync: not a write
            return real_fsync(fd)
        seen["fsync"] += 1
        if phase == "fsync" and seen["fsync"] == target:
            size = os.fstat(fd).st_size
            os.ftruncate(fd, size // 2)  # a writer killed half-way
            die()
        if phase == "term" and seen["fsync"] == target:
            os.kill(os.getpid(), signal.SIGTERM)
        return real_fsync(fd)

    os.replace = replace
    os.fsync = fsync


def main() -> None:
    _install(os.environ["LUTKIT_TEST_KILL"])
    from lutkit.cli import main as cli

    cli.main(sys.argv[1:], prog_name="lutkit")


if __name__ == "__main__":
    main()
