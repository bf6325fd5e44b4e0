from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lutkit.errors import ConfigError
from lutkit.evaluate.set_builder import _plan_recipe_sets, build_eval_sets
from lutkit.evaluate.sets import (
    MANIFEST,
    SETS_JSON,
    EvalSet,
    Pair,
    Reach,
    check_held_out,
    dataset_set,
    load_eval_sets,
    read_manifest,
    same_pairs,
)
from tests.external import imagemagick, require_tool


@pytest.fixture(scope="module")
def sets_dir(tiny_dataset, tmp_path_factory):
    ds, _ = tiny_dataset
    out = tmp_path_factory.mktemp("sets") / "eval"
    build_eval_sets(ds, out, variants=2, tools=())
    return out


def _train_rows(ds):
    return pd.read_parquet(ds / "pairs", columns=["split", "source_sha256", "ops"]).query(
        "split == 'train'"
    )


def test_held_out_sets_share_no_photo_op_or_lut_with_training(tiny_dataset, sets_dir):
    ds, _ = tiny_dataset
    train = _train_rows(ds)
    train_photos = set(train.source_sha256)
    train_ops, train_luts = set(), set()
    for text in train.ops:
        for o in json.loads(text):
            train_ops.add(o["op"])
            if o["op"] == "lut3d.library":
                train_luts.add(o["params"]["lut"])
    recipe_text = json.loads((ds / "dataset.json").read_text())["recipe"]["text"]
    rows = read_manifest(sets_dir)
    names = {r["set"] for r in rows}
    assert "test" in names and any(n.startswith("heldout-") for n in names)
    for r in rows:
        assert r["photo_sha256"] not in train_photos
        if r["set"].startswith("heldout-"):
            for o in json.loads(r["params"])["ops"]:
                if o["op"] == "lut3d.library":
                    assert o["params"]["lut"] not in train_luts
                else:
                    assert o["op"] not in train_ops
                    assert f'"{o["op"]}"' not in recipe_text  # no training recipe names it
    assert check_held_out(sets_dir, ds) == []


def test_a_leaked_photo_is_caught(tiny_dataset, sets_dir, tmp_path):
    import shutil

    ds, _ = tiny_dataset
    copy = tmp_path / "copy"
    shutil.copytree(sets_dir, copy)
    manifest = pd.read_csv(copy / MANIFEST)
    manifest.loc[0, "photo_sha256"] = _train_rows(ds).source_sha256.iloc[0]
    manifest.to_csv(copy / MANIFEST, index=False)
    assert any("is in the training data" in p for p in check_held_out(copy, ds))


def test_families_training_draws_are_not_held_out():
    plans, skipped = _plan_recipe_sets(Reach(ops={"film.cross_process"}))
    assert all(name != "heldout-film-cross-process" for name, _, _ in plans)
    assert any(s.startswith("heldout-film-cross-process") for s in skipped)
    # a training run without film would get the film family as a held-out set
    plans, _ = _plan_recipe_sets(Reach(ops={"lighting.cct"}))
    assert "heldout-film" in [name for name, _, _ in plans]


def test_sets_load_and_a_rerun_is_up_to_date(tiny_dataset, sets_dir):
    ds, _ = tiny_dataset
    sets = load_eval_sets(sets_dir)
    assert all(s.pairs for s in sets)
    for s in sets:
        for p in s.pairs:
            assert p.distorted.shape == p.clean.shape and p.distorted.ndim == 3
    before = (sets_dir / SETS_JSON).stat().st_mtime_ns
    again = build_eval_sets(ds, sets_dir, variants=2, tools=())
    assert again.up_to_date and (sets_dir / SETS_JSON).stat().st_mtime_ns == before
    with pytest.raises(ConfigError, match="no set named 'nope'"):
        load_eval_sets(sets_dir, ["nope"])


def test_same_inputs_give_the_same_bytes(tiny_dataset, sets_dir, tmp_path):
    ds, _ = tiny_dataset
    other = tmp_path / "again"
    build_eval_sets(ds, other, variants=2, tools=())
    for f in sorted(sets_dir.rglob("*.png")):
        assert (other / f.relative_to(sets_dir)).read_bytes() == f.read_bytes()
    assert (other / MANIFEST).read_bytes() == (sets_dir / MANIFEST).read_bytes()


@pytest.mark.external
def test_sets_from_external_tools(tiny_dataset, tmp_path):
    require_tool("ffmpeg")
    imagemagick()
    require_tool("gimp-console-2.10")
    ds, _ = tiny_dataset
    out = tmp_path / "ext"
    result = build_eval_sets(ds, out, variants=3, tools=("ffmpeg", "imagemagick", "gimp"))
    assert {"ffmpeg", "imagemagick", "gimp"} <= set(result.sets)
    for s in load_eval_sets(out, ["ffmpeg", "imagemagick", "gimp"]):
        changed = [abs(p.distorted.astype(int) - p.clean.astype(int)).mean() for p in s.pairs]
        assert min(changed) > 0.5, s.name  # each tool really changed the colours
    assert check_held_out(out, ds) == []


def test_a_missing_tool_skips_its_set(tiny_dataset, tmp_path, monkeypatch):
    from lutkit.evaluate import external

    ds, _ = tiny_dataset
    monkeypatch.setattr(external, "find_tools", lambda: {t: None for t in external.TOOLS})
    said = []
    result = build_eval_sets(ds, tmp_path / "none", variants=1, tools=("ffmpeg",), log=said.append)
    assert "ffmpeg" not in result.sets
    assert said == ["ffmpeg: not installed, set skipped"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_output_folder_that_takes_no_file_is_refused_before_the_sets_are_made(tiny_dataset):
    from lutkit.errors import LutkitError

    ds, _ = tiny_dataset
    with pytest.raises(LutkitError) as err:
        build_eval_sets(ds, Path("/proc/x/eval"), variants=1, tools=())
    assert str(err.value) == (
        "/proc/x/eval: cannot create files in folder /proc "
        "(choose an output folder you can write to)"
    )


def test_the_test_set_holds_the_same_pairs_as_the_dataset_test_split(tiny_dataset, sets_dir):
    ds, _ = tiny_dataset
    (test,) = load_eval_sets(sets_dir, ["test"])
    split = dataset_set(ds, "test")
    assert same_pairs(test, split) and same_pairs(split, test)
    assert not any(same_pairs(s, split) for s in load_eval_sets(sets_dir) if s.name != "test")
    with pytest.raises(ConfigError, match="unknown split 'validation'"):
        dataset_set(ds, "validation")


def test_same_pairs_needs_the_same_ids_and_pixels():
    rng = np.random.default_rng(0)
    a, b, c = (rng.integers(0, 256, (4, 4, 3), dtype=np.uint8) for _ in range(3))
    one = EvalSet("one", "test split", "", [Pair("p1", a, b), Pair("p2", b, c)])
    reordered = EvalSet("two", "external tool", "x", [Pair("p2", b.copy(), c), Pair("p1", a, b)])
    assert same_pairs(one, reordered)
    # a dataset rebuilt with another recipe keeps its ids, not its distorted pixels
    redone = EvalSet("one", "test split", "", [Pair("p1", c, b), Pair("p2", b, c)])
    assert not same_pairs(one, redone)
    assert not same_pairs(one, EvalSet("one", "test split", "", [Pair("p1", a, b)]))
    assert not same_pairs(one, EvalSet("one", "", "", [Pair("p1", a, b), Pair("p3", b, c)]))


def _eval_sets(ds, out, variants):
    from click.testing import CliRunner

    from lutkit.cli import main

    args = ["eval-sets", "--dataset", ds, "-o", out, "--variants", variants, "--tools", ""]
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return [line for line in res.stderr.splitlines() if "rebuilding" in line]


def test_a_rebuild_with_other_settings_or_inputs_says_why(tiny_dataset, tmp_path):
    # Not refused (`make eval-sets` rebuilds after the dataset changes), but not silent.
    ds, _ = tiny_dataset
    out = tmp_path / "eval"
    tail = "; reports made on the old sets are stale"
    assert _eval_sets(ds, out, 1) == []
    assert _eval_sets(ds, out, 1) == []  # up to date
    assert _eval_sets(ds, out, 2) == [f"{out}: rebuilding the sets (variants 1 -> 2){tail}"]
    doc = json.loads((out / SETS_JSON).read_text())
    heldout = [n for n in doc["counts"] if n.startswith("heldout-")]
    assert heldout and all(doc["counts"][n] == 2 * len(doc["held_out_photos"]) for n in heldout)

    def edit(change):
        doc = json.loads((out / SETS_JSON).read_text())
        change(doc)
        (out / SETS_JSON).write_text(json.dumps(doc))

    edit(lambda doc: doc.update(key="other", inputs={**doc["inputs"], "dataset": "other"}))
    assert _eval_sets(ds, out, 2) == [f"{out}: rebuilding the sets (the dataset changed){tail}"]
    edit(lambda doc: doc["dataset"].update(path="datasets/old"))
    edit(lambda doc: doc.update(key="other", inputs={**doc["inputs"], "dataset": "other"}))
    assert _eval_sets(ds, out, 2) == [
        f"{out}: rebuilding the sets (dataset datasets/old -> {ds}){tail}"
    ]
    edit(lambda doc: doc.update(key="other", inputs={**doc["inputs"], "installed": ["gimp"]}))
    assert _eval_sets(ds, out, 2) == [
        f"{out}: rebuilding the sets (installed tools gimp -> none){tail}"
    ]
    # a library LUT the held-out recipes draw, replaced since (the key says nothing of
    # it: a folder from before lutkit recorded the LUTs stays up to date)
    luts = json.loads((out / SETS_JSON).read_text())["inputs"]["library_luts"]
    assert luts and all(len(sha) == 64 for sha in luts.values())
    first = sorted(luts)[0]
    edit(lambda doc: doc["inputs"]["library_luts"].update({first: "0" * 64}))
    assert _eval_sets(ds, out, 2) == [
        f"{out}: rebuilding the sets (library LUT {first} added, removed or replaced){tail}"
    ]
    edit(lambda doc: doc["inputs"].pop("library_luts"))
    assert _eval_sets(ds, out, 2) == []  # up to date
    # a folder written before the inputs were recorded
    edit(lambda doc: (doc.update(key="other"), doc.pop("inputs")))
    assert _eval_sets(ds, out, 2) == [
        f"{out}: rebuilding the sets (the dataset, the recipes or the installed tools "
        f"changed){tail}"
    ]
    (out / SETS_JSON).write_text("{")
    assert _eval_sets(ds, out, 2) == [
        f"{out}: rebuilding the sets (its eval-sets.json is unreadable){tail}"
    ]
