"""kill -9 at seeded points of ``lutkit dataset build``, ``lutkit latents`` and
``lutkit train``, then resume with the same command.

At every kill point (see killer.py: half-way through writing a file, with the file
written but not renamed, just after a rename) no file under a final name is partial:
every .parquet and .safetensors there reads whole, every .json parses. The resumed
result equals an uninterrupted run: the same shard bytes, the same latents bytes, the
same checkpoint tensors and metrics; no temporary file is left.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.reliability.harness import TIMEOUT_S, _wait, leftovers, lutkit_exe, run_fresh

ROOT = Path(__file__).resolve().parents[2]
PHASES = ("fsync", "before", "after")
KILLS_PER_COMMAND = 3


def _killed_run(args: list[str], spec: str, cwd: Path) -> int:
    env = dict(os.environ, LUTKIT_TEST_KILL=spec, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.killer", *map(str, args)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    code, _, timed_out = _wait(proc.pid, TIMEOUT_S * 3)
    proc.returncode = code
    assert not timed_out
    return code


def kill_points(count: int, seed: int) -> list[str]:
    """``KILLS_PER_COMMAND`` seeded (phase, write number) points spread over a run."""
    rng = np.random.default_rng(seed)
    picks = sorted(rng.choice(np.arange(1, count + 1), KILLS_PER_COMMAND, replace=False))
    return [f"{PHASES[i % len(PHASES)]}:{n}" for i, n in enumerate(picks)]


def assert_nothing_partial(folder: Path) -> None:
    """Every file under a final name is whole (what any reader would open)."""
    import pyarrow.parquet as pq
    from safetensors.numpy import load_file

    for p in folder.rglob("*"):
        if p.name.startswith(".") or not p.is_file():
            continue
        if p.suffix == ".parquet":
            pq.read_table(p)
        elif p.suffix == ".safetensors":
            load_file(p)
        elif p.suffix == ".json":
            json.loads(p.read_text())


def _hashes(folder: Path, pattern: str) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.glob(pattern))
    }


def _tensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(path)


def _same_tensors(a: Path, b: Path) -> None:
    ta, tb = _tensors(a), _tensors(b)
    assert sorted(ta) == sorted(tb)
    for k in ta:
        np.testing.assert_array_equal(ta[k], tb[k], err_msg=f"{a.name}: {k}")


def _crash_and_resume(name, tmp_path, setup, args_for, compare, seed):
    """The common loop: a counted reference run, then each kill point and a resume."""
    ref = tmp_path / "ref"
    setup(ref)
    count_file = tmp_path / "count"
    assert _killed_run(args_for(ref), f"count:{count_file}", ref) == 0
    count = int(count_file.read_text())
    assert count >= KILLS_PER_COMMAND
    points = kill_points(count, seed)
    for spec in points:
        work = tmp_path / spec.replace(":", "-")
        setup(work)
        code = _killed_run(args_for(work), spec, work)
        assert code == -9, f"{name} {spec}: exit {code}, not killed"
        assert_nothing_partial(work)
        resumed = run_fresh(args_for(work), cwd=work, timeout=TIMEOUT_S * 3)
        assert resumed.returncode == 0, f"{name} {spec}: {resumed.stderr}"
        assert not leftovers(work), f"{name} {spec}"
        compare(ref, work)
    return points


# --------------------------------------------------------------------------- commands


def test_dataset_build_survives_kill_9(tmp_path):
    from tests.data.helpers import make_sources

    src = make_sources(tmp_path / "src", bad=False)

    def setup(work: Path) -> None:
        work.mkdir()

    def args(work: Path) -> list[str]:
        return ["dataset", "build", "--source", src, "--recipe", "curves", "--out", work / "ds"] + [
            "--size", "32", "--variants", "2", "--rows-per-shard", "2", "--workers", "1",
        ]  # fmt: skip

    def compare(ref: Path, work: Path) -> None:
        assert _hashes(work / "ds", "pairs/*.parquet") == _hashes(ref / "ds", "pairs/*.parquet")
        doc = json.loads((work / "ds" / "dataset.json").read_text())
        assert doc["shards"] == json.loads((ref / "ds" / "dataset.json").read_text())["shards"]

    points = _crash_and_resume("dataset build", tmp_path, setup, args, compare, seed=1)
    assert len(points) == KILLS_PER_COMMAND


def test_latents_survive_kill_9(tmp_path, tiny_data, tiny_vae_dir):
    pytest.importorskip("diffusers")

    def setup(work: Path) -> None:
        shutil.copytree(tiny_data, work / "ds")
        shutil.rmtree(work / "ds" / "latents")

    def args(work: Path) -> list[str]:
        return ["latents", work / "ds", "--vae", tiny_vae_dir, "--device", "cpu", "--size", "64"]

    def compare(ref: Path, work: Path) -> None:
        got = _hashes(work / "ds", "latents/*/*.parquet")
        assert got and got == _hashes(ref / "ds", "latents/*/*.parquet")

    _crash_and_resume("latents", tmp_path, setup, args, compare, seed=2)


def test_train_survives_kill_9(tmp_path, tiny_data, tiny_vae_dir):
    pytest.importorskip("diffusers")
    from tests.train.helpers import tiny_settings

    def setup(work: Path) -> None:
        work.mkdir()

    def args(work: Path) -> list[str]:
        items = tiny_settings(tiny_data, tiny_vae_dir, work / "runs", epochs=2, fit_steps=5)
        return ["train", *[a for item in items for a in ("--set", item)]]

    def compare(ref: Path, work: Path) -> None:
        a, b = ref / "runs" / "tiny", work / "runs" / "tiny"
        for rel in ("state.safetensors", "recolor/model.safetensors", "lutnet/model.safetensors"):
            _same_tensors(a / rel, b / rel)
        assert (a / "metrics.csv").read_text() == (b / "metrics.csv").read_text()
        assert json.loads((b / "state.json").read_text())["complete"] is True

    _crash_and_resume("train", tmp_path, setup, args, compare, seed=3)


@pytest.mark.parametrize(
    ("command", "point"),
    [
        ("lut-apply", "term:1"),  # SIGTERM half-way through the only write
        ("fix", "term:1"),  # ... through the exported LUT, written first
        ("fix", "term:2"),  # ... through the image, the LUT already renamed into place
    ],
)
def test_sigterm_mid_write_leaves_no_output_and_exits_143(tmp_path, photo, command, point):
    from lutkit.images import save_image

    save_image(tmp_path / "p.png", photo)
    if command == "lut-apply":
        args = ["lut", "apply", "sodium-orange", "p.png", "-o", "out.png"]
    else:
        args = ["fix", "p.png", "-o", "out.png", "--export-lut", "fix.cube"]
    # (no heartbeat progress line on a slow machine: stderr is the one line below)
    env = dict(
        os.environ, LUTKIT_TEST_KILL=point, PYTHONPATH=str(ROOT), LUTKIT_PROGRESS_SECONDS="3600"
    )
    done = subprocess.run(
        [sys.executable, "-m", "tests.reliability.killer", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S * 3,
    )
    assert done.returncode == 143, done.stderr
    assert done.stderr == "Terminated.\n"
    assert not leftovers(tmp_path)
    if command == "fix":  # written in this thread: taken back, with the LUT
        assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png"]
    else:  # written in a worker thread, which the pool lets finish: the whole file
        ref = tmp_path / "ref"
        ref.mkdir()
        save_image(ref / "p.png", photo)
        assert run_fresh(args, cwd=ref).returncode == 0
        assert (tmp_path / "out.png").read_bytes() == (ref / "out.png").read_bytes()


def test_sigterm_to_a_dataset_build_with_workers_stops_it_and_the_rerun_finishes(tmp_path):
    """What `timeout` or a scheduler does: SIGTERM to the whole process group (the
    forked workers too) while shards are being written. The build stops at once with
    143; the temporary shard files it leaves are removed by the rerun, which builds the
    same dataset as an uninterrupted run."""
    import time

    args = ["dataset", "build", "--source", "sample", "--variants", "48", "--size", "224"]
    args += ["--workers", "2", "--rows-per-shard", "64"]
    proc = subprocess.Popen(
        [lutkit_exe(), *args, "--out", "ds"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + TIMEOUT_S
    while not leftovers(tmp_path) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the build ended before a shard was being written"
    os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 143 and err.endswith("Terminated.\n"), err
    resumed = run_fresh([*args, "--out", "ds"], cwd=tmp_path, timeout=TIMEOUT_S * 3)
    assert resumed.returncode == 0, resumed.stderr
    assert not leftovers(tmp_path)
    ref = tmp_path / "ref"
    ref.mkdir()
    assert run_fresh([*args, "--out", "ds"], cwd=ref, timeout=TIMEOUT_S * 3).returncode == 0
    assert _hashes(tmp_path / "ds", "pairs/*.parquet") == _hashes(ref / "ds", "pairs/*.parquet")


def test_a_reader_that_closes_the_pipe_ends_lutkit_quietly(tmp_path):
    """`lutkit lut info X | head -1`: the reader leaves before lutkit writes. A shell
    tool dies of SIGPIPE without a word (status 141); lutkit must not say "Error:
    Broken pipe" and exit 1, nor print a traceback at exit."""
    proc = subprocess.Popen(
        [lutkit_exe(), "lut", "info", "sodium-orange"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # before lutkit has written a byte
    err = proc.stderr.read().decode()
    assert (proc.wait(TIMEOUT_S), err) == (141, "")


def test_ctrl_c_after_a_command_has_finished_changes_nothing(tmp_path):
    """Once a command has written and said everything, a Ctrl-C (in the instant before
    the process ends) has nothing to stop: the program (the console script, ``run``)
    ignores it from then on, rather than ending 130 or with click's "Aborted!" after the
    work is done. Python code that calls ``main`` itself (a test's CliRunner, a notebook,
    a script) keeps its Ctrl-C."""
    code = (
        "import signal, sys\n"
        "from lutkit.cli import main, run\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "try:\n"
        "    main(['lut', 'info', 'sodium-orange'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "said = [signal.getsignal(signal.SIGINT) is signal.SIG_IGN]\n"
        "sys.argv = ['lutkit', 'lut', 'info', 'sodium-orange']\n"
        "try:\n"
        "    run()\n"
        "except SystemExit as exc:\n"
        "    said += [exc.code, signal.getsignal(signal.SIGINT) is signal.SIG_IGN]\n"
        "sys.stderr.write(repr(said))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=TIMEOUT_S,
    )  # fmt: skip
    assert (proc.returncode, proc.stderr) == (0, "[False, 0, True]")
