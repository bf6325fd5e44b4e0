"""Every CLI entry point on every bad (or tricky but valid) input of the corpus.

For each (input, entry point) of ``tests/resources/bad/manifest.json``, as a real
child process: a bad input gives exit status 1, exactly one line on stderr that names
the input, no traceback, nothing written (no output, no *.part / .*.tmp, the input
unchanged), a peak RSS under 1.5 GB and an end within 60 s (a hang guard). A valid
tricky input gives exit 0 and a sensible output. Most runs fork from a preloaded
process (see harness.py); the first bad input of every entry point also runs through
the installed ``lutkit`` script in a fresh interpreter.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.reliability.conftest import CORPUS, IMAGE_SIZE, load_manifest
from tests.reliability.entry_points import ENTRY_POINTS, HEAVY, Context
from tests.reliability.harness import MEMORY_LIMIT_MB, Outcome, leftovers, run_fresh, snapshot

MANIFEST = load_manifest()
FILES = {e["file"]: e for e in MANIFEST["files"]}


def _cases() -> list[tuple[str, str, str, str]]:
    """(kind, input name, entry point, expect) for every pair the manifest asks for."""
    cases = []
    for entry in MANIFEST["files"]:
        for ep in entry["entry_points"]:
            expect = entry.get("expect_by", {}).get(ep, entry["expect"])
            cases.append(("file", entry["file"], ep, expect))
    for name in MANIFEST["dataset_cases"]:
        for ep, ok in MANIFEST["dataset_ok"].items():
            cases.append(("dataset", name, ep, "ok" if name in ok else "fail"))
    for name in MANIFEST["run_cases"]:
        for ep in MANIFEST["run_users"]:
            cases.append(("run", name, ep, "fail"))
    return cases


CASES = _cases()
_first_fail: dict[str, str] = {}
for _kind, _name, _ep, _expect in CASES:
    if _expect == "fail":
        _first_fail.setdefault(_ep, _name)
FRESH = {(ep, name) for ep, name in _first_fail.items()}


def test_the_corpus_is_complete():
    """At least 60 inputs, every file on disk is in the manifest and the other way
    round, and every entry point is used."""
    on_disk = {
        str(p.relative_to(CORPUS))
        for p in CORPUS.rglob("*")
        if p.is_file() and p.parent != CORPUS and "vae" not in p.relative_to(CORPUS).parts
    }
    on_disk |= {f"vae/{p.name}" for p in (CORPUS / "vae").iterdir()}
    assert on_disk == set(FILES)
    assert len(FILES) >= 60
    assert {ep for _, _, ep, _ in CASES} == set(ENTRY_POINTS)
    assert {"ok", "fail"} == {e["expect"] for e in FILES.values()}


def _prepare(kind: str, name: str, ep: str, work: Path, request) -> tuple[Path, Context]:
    """Copy the input into ``work/in`` and the good inputs the entry point needs."""
    g = request.getfixturevalue("good")
    ctx = Context(work, g["photo"], g["photos"], g["cube"], image_size=IMAGE_SIZE)
    (work / "in").mkdir(parents=True)
    ctx.out.mkdir()
    if ep in HEAVY or kind != "file":
        ctx.vae = request.getfixturevalue("tiny_vae_dir")
    if ep in ("latents (vae)", "train (vae)"):
        ctx.dataset = work / "good-ds"
        shutil.copytree(request.getfixturevalue("tiny_data"), ctx.dataset)
    if ep == "fix":
        ctx.run = work / "good-run"
        shutil.copytree(request.getfixturevalue("tiny_run"), ctx.run)
    if kind == "file":
        src = CORPUS / name
        if name.startswith("recipes/"):  # includes are resolved beside the file
            shutil.copytree(CORPUS / "recipes", work / "in" / "recipes")
        elif src.is_dir():
            shutil.copytree(src, work / "in" / name)
        else:
            (work / "in" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, work / "in" / name)
        return work / "in" / name, ctx
    from tests.resources.bad.make_corpus import DATASET_CASES, RUN_CASES

    if kind == "dataset":
        target = work / "in" / name
        shutil.copytree(request.getfixturevalue("tiny_data"), target)
        DATASET_CASES[name][1](target)
    else:
        target = work / "in" / name
        shutil.copytree(request.getfixturevalue("tiny_run"), target)
        RUN_CASES[name][1](target)
        ctx.run = target
    return target, ctx


@functools.cache
def _run(path: str):
    """The tiny run, loaded once (every case's copy of it holds the same files)."""
    from lutkit.correct.model import load_run

    return load_run(path)


def _expected_pixels(ep: str, target: Path, ctx: Context, request):
    """What an image-writing entry point must write, computed here in-process with the
    library calls the command stands for; None where the output is a picture of
    something (a plot, a contact sheet)."""
    from lutkit.images import load_image
    from lutkit.luts.apply import apply_lut
    from lutkit.luts.formats import read_lut

    if ep == "lut apply":
        return apply_lut(read_lut(target), load_image(ctx.photo, convert_icc=False).pixels)
    if ep == "lut apply (image)":
        return apply_lut(read_lut(ctx.cube), load_image(target, convert_icc=False).pixels)
    if ep == "distort":
        from lutkit.distort.files import distort_image
        from lutkit.distort.recipe import load_recipe
        from lutkit.images import from_float, to_float

        data = load_image(target, convert_icc=False)  # distort keeps the file's encoding
        out, _ = distort_image(to_float(data.pixels), load_recipe("curves"), 1)
        return from_float(out, data.pixels.dtype)
    if ep == "fix":
        from lutkit.correct.fix import fix_pixels
        from lutkit.correct.model import preferred_colormap

        run = _run(str(request.getfixturevalue("tiny_run")))
        pixels = load_image(target, convert_icc=False).pixels
        return fix_pixels(run, pixels, colormap=preferred_colormap(run), seed=0).pixels
    return None


def _check_ok(out: Outcome, output: Path | None, target: Path, ep: str, ctx: Context, request):
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    if output is None:
        assert out.stdout.strip()
        return
    assert output.exists(), f"{output} was not written"
    if output.suffix == ".cube":
        # lut import / convert: the written .cube maps colours as the input LUT does.
        from lutkit.luts.formats import read_lut

        colours = np.random.default_rng(0).random((1, 4096, 3), dtype=np.float32)
        ours, theirs = read_lut(output).apply(colours), read_lut(target).apply(colours)
        assert np.abs(ours - theirs).max() < 1e-4, f"{ep}: {target.name}"
    elif output.suffix in (".png", ".jpg"):
        from lutkit.images import icc_colour_space, load_image

        written = load_image(output, convert_icc=False).pixels
        expected = _expected_pixels(ep, target, ctx, request)
        if expected is None:  # a plot or a contact sheet: a real picture, not blank
            assert written.ndim == 3 and written.std() > 1, f"{ep}: a blank picture"
        else:
            assert written.shape == expected.shape and written.dtype == expected.dtype, ep
            diff = np.abs(written.astype(np.int64) - expected.astype(np.int64))
            assert diff.max() <= 1, (
                f"{ep} on {target.name}: {diff.max()} levels from the library's result "
                f"({np.count_nonzero(diff.max(axis=-1) > 1)} of {diff.shape[0] * diff.shape[1]} "
                f"pixels off; first at {np.argwhere(diff > 1)[0].tolist()})"
            )
        # lutkit never writes a profile that cannot describe its RGB pixels.
        icc = load_image(output, convert_icc=False).icc
        assert icc is None or icc_colour_space(icc) == "RGB", output


@pytest.mark.parametrize(
    "kind,name,ep,expect", CASES, ids=[f"{ep}:{name}" for _, name, ep, _ in CASES]
)
def test_entry_point_on_input(kind, name, ep, expect, tmp_path, request):
    if ep in HEAVY or kind != "file":
        pytest.importorskip("diffusers")
    target, ctx = _prepare(kind, name, ep, tmp_path / "case", request)
    args, output = ENTRY_POINTS[ep](target, ctx)
    args = [str(a) for a in args]
    watched = [p for p in (target, ctx.dataset, ctx.run) if p is not None]
    before = {str(p): snapshot(p) if p.is_dir() else snapshot(p.parent) for p in watched}
    if (ep, name) in FRESH:
        out = run_fresh(args, cwd=tmp_path)
    else:
        out = request.getfixturevalue("zygote").run(args, cwd=tmp_path)
    where = f"lutkit {' '.join(args)}\nstdout: {out.stdout}\nstderr: {out.stderr}"

    assert not out.timed_out, f"still running after the time limit: {where}"
    assert out.max_rss_mb < MEMORY_LIMIT_MB, f"peak RSS {out.max_rss_mb:.0f} MB: {where}"
    assert not leftovers(tmp_path), where
    if expect == "ok":
        _check_ok(out, output, target, ep, ctx, request)
        return
    assert out.returncode == 1, where
    lines = out.stderr.splitlines()
    assert len(lines) == 1, where
    assert lines[0].startswith("Error: ") and "Traceback" not in out.stderr, where
    # The file, or for a recipe include cycle the chain of recipe names
    named = target.name in lines[0] or (name.startswith("recipes/") and target.stem in lines[0])
    assert named, f"the error does not name {target.name}: {where}"
    assert not ctx.out.exists() or not any(ctx.out.iterdir()), where
    after = {str(p): snapshot(p) if p.is_dir() else snapshot(p.parent) for p in watched}
    assert after == before, f"the inputs changed: {where}"
