from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from lutkit.cli import main
from lutkit.correct.fix import fix_pixels
from lutkit.evaluate import evaluate_model, method_timings
from lutkit.evaluate.set_builder import build_eval_sets
from lutkit.train.baselines import FCNTrainConfig, IA3DLUTTrainConfig, IlluminantTrainConfig
from tests.train.helpers import tiny_settings

FCN_TINY = FCNTrainConfig(width=4, depth=2, epochs=1, size=48)
LUT_TINY = IA3DLUTTrainConfig(lut_size=9, width=4, input_size=64, epochs=1, size=48)
ILL_TINY = IlluminantTrainConfig(bins=16, epochs=1, size=48, view=16)
METHODS = ("identity", "gray-world", "white-patch", "shades-of-gray", "gray-edge", "gray-pixels")
METHODS += ("lutkit-fit", "lutkit-net", "fcn", "ia3dlut", "ffcc", "ffcc-tonal")


@pytest.fixture(scope="module")
def run_dir(tiny_dataset, tmp_path_factory):
    from lutkit.train.config import load_config
    from lutkit.train.loop import train

    ds, vae = tiny_dataset
    out = tmp_path_factory.mktemp("runs")
    train(load_config(None, tiny_settings(ds, vae, out, name="evalrun", epochs=1)), progress=False)
    return out / "evalrun"


@pytest.fixture(scope="module")
def report(tiny_dataset, run_dir, tmp_path_factory):
    ds, _ = tiny_dataset
    root = tmp_path_factory.mktemp("report")
    build_eval_sets(ds, root / "sets", variants=1, tools=())
    rep = evaluate_model(
        run_dir,
        root / "rep",
        sets=root / "sets",
        baselines=("fcn", "ia3dlut", "ffcc", "ffcc-tonal"),
        fcn_config=FCN_TINY,
        lut_config=LUT_TINY,
        illuminant_config=ILL_TINY,
        curve_images=1,
        curve_iterations=2,
        gallery=2,
    )
    return rep, root


def test_report_lists_every_method_and_set_and_its_images_open(report):
    rep, root = report
    out = root / "rep"
    sets = [s.name for s in rep.result.sets]
    assert "test" in sets and any(s.startswith("heldout-") for s in sets)
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {(r["method"], r["set"]) for r in rows} == {
        (m, s) for m in METHODS for s in [*sets, "all"]
    }
    assert all(np.isfinite(float(r["de2000_mean"])) for r in rows)
    md = (out / "results.md").read_text()
    page = (out / "index.html").read_text()
    for s in sets:
        assert f"## {s}" in md and s in page
    for label in ("lutkit (fit)", "lutkit (net)", "pixel FCN", "IA-3DLUT", "gray world", "FFCC"):
        assert label in md and label in page
    images = sorted((out / "images").iterdir())
    assert any(p.name.startswith("gallery-") for p in images)
    assert {"bars-de2000_mean.png", "iterations.png"} <= {p.name for p in images}
    for p in images:
        with Image.open(p) as im:
            im.load()
            assert im.size[0] > 50
        assert f"images/{p.name}" in page  # gallery.jpg too: linked from the gallery
    # gallery.jpg (the README's picture) is every set's first sheet, stacked
    sheets = [out / "images" / f"gallery-{s}-00.jpg" for s in sets]
    firsts = [Image.open(p) for p in sheets if p.exists()]
    assert firsts
    with Image.open(out / "images" / "gallery.jpg") as stacked:
        assert stacked.size == (max(f.size[0] for f in firsts), sum(f.size[1] for f in firsts))
    curve = list(csv.DictReader(open(out / "iterations.csv")))
    assert {r["iterations"] for r in curve} == {"1", "2"}
    assert not list(out.glob(".report-*")) and not list(out.glob("*.tmp"))


def test_gallery_shows_the_worst_pairs_of_the_colour_map_fix_uses(report, run_dir, tmp_path):
    # Ranked by what `lutkit fix` gives with the model by default, worst first: a model
    # exported with --colormap net is judged by its net (without a run's choice, fit).
    from lutkit.correct.export import export_model

    rep, root = report
    assert rep.result.rank_method in ("lutkit-fit", "lutkit-net")
    export_model(run_dir, tmp_path / "model", colormap="net")
    net = evaluate_model(
        tmp_path / "model",
        tmp_path / "rep",
        sets=root / "sets",
        set_names=["test"],
        curve_images=0,
        baselines=(),
        gallery=2,
    )
    assert net.result.rank_method == "lutkit-net"
    for result in (rep.result, net.result):
        for s in result.sets:
            rows = [r for r in result.rows if r["set"] == s.name]
            worst = sorted(r["de2000_mean"] for r in rows if r["method"] == result.rank_method)
            shown = [item.score for item in result.gallery[s.name]]
            assert shown == worst[::-1][: len(shown)] and len(shown) == min(2, len(worst))


def test_how_sure_table_matches_the_per_image_rows(report):
    # The intervals and counts of results.md, recomputed from the evaluation's rows.
    from lutkit.evaluate.stats import photo_bootstrap, worse_than

    rep, root = report
    out = root / "rep"
    rows = rep.result.rows
    with open(out / "results.csv", newline="") as f:
        alls = {
            r["method"]: float(r["de2000_mean"]) for r in csv.DictReader(f) if r["set"] == "all"
        }
    stats = ("gray-world", "white-patch", "shades-of-gray", "gray-edge", "gray-pixels")
    ref = min(stats, key=alls.get)
    boot = photo_bootstrap(rows, reference=ref)
    worse = worse_than(rows)
    md = (out / "results.md").read_text()
    section = md[md.index("## How sure (all sets)") : md.index("## Photos that need no fix")]
    labels = {m.name: m.label for m in rep.result.methods}
    pairs = len({(r["set"], r["id"]) for r in rows})
    assert f"ratio to {labels[ref]}" in section and f"pairs made worse (of {pairs})" in section
    lines = {ln.split(" | ")[0][2:]: ln for ln in section.splitlines() if ln.startswith("| ")}
    for name in METHODS:
        b = boot[name]
        counts = ["—"] * 3 if name == "identity" else [str(worse[name][k]) for k in (0, 1, 5)]
        expect = (
            f"| {labels[name]} | {b['mean']:.2f} | {b['lo']:.2f} to {b['hi']:.2f} | "
            f"{b['ratio']:.2f} | {b['ratio_lo']:.2f} to {b['ratio_hi']:.2f} | "
            + " | ".join(counts)
            + " |"
        )
        assert lines[labels[name]] == expect
    assert lines[labels[ref]].split(" | ")[3:5] == ["1.00", "1.00 to 1.00"]
    page = (out / "index.html").read_text()
    assert "How sure (all sets)" in page and f"ratio to {labels[ref]}" in page


def test_no_fix_table_is_every_method_on_each_distinct_clean_photo(report):
    # The clean rows: each method on each distinct clean image of the sets, measured
    # against it; the table of results.md recomputed from them.
    import hashlib

    from lutkit.evaluate.stats import photo_bootstrap

    rep, root = report
    out = root / "rep"
    distinct = {
        (p.photo, hashlib.sha256(np.ascontiguousarray(p.clean).tobytes()).hexdigest())
        for s in rep.result.sets
        for p in s.pairs
    }
    rows = rep.result.clean_rows
    assert {r["set"] for r in rows} == {"no-fix-needed"}
    ids = {r["id"] for r in rows}
    assert len(ids) == len(distinct) < sum(len(s.pairs) for s in rep.result.sets)
    for name in METHODS:
        mine = [r for r in rows if r["method"] == name]
        assert sorted(r["id"] for r in mine) == sorted(ids)
    assert all(r["de2000_mean"] == 0 for r in rows if r["method"] == "identity")
    assert any(r["de2000_mean"] > 0.001 for r in rows if r["method"] == "gray-world")
    first = next(r for r in rows if r["method"] == "gray-world")
    set_name, pair_id = first["id"].split("/", 1)
    pair = next(
        p for s in rep.result.sets if s.name == set_name for p in s.pairs if p.id == pair_id
    )
    method = next(m for m in rep.result.methods if m.name == "gray-world")
    expect = fix_metrics(method.correct(pair.clean), pair.clean)
    assert first["de2000_mean"] == pytest.approx(expect)
    with open(out / "no-fix.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    md = (out / "results.md").read_text()
    section = md[md.index("## Photos that need no fix") : md.index("## test")]
    labels = {m.name: m.label for m in rep.result.methods}
    lines = {ln.split(" | ")[0][2:]: ln for ln in section.splitlines() if ln.startswith("| ")}
    assert labels["identity"] not in lines and f"images changed (of {len(ids)})" in section
    boot = photo_bootstrap(rows)
    for name in METHODS[1:]:
        b = boot[name]
        values = np.array([r["de2000_mean"] for r in rows if r["method"] == name])
        counts = [str(int(np.sum(values > k + 0.001))) for k in (0, 1, 5)]
        expect_line = (
            f"| {labels[name]} | {b['mean']:.2f} | {b['lo']:.2f} to {b['hi']:.2f} | "
            + " | ".join(counts)
            + " |"
        )
        assert lines[labels[name]] == expect_line
    assert "Photos that need no fix" in (out / "index.html").read_text()


def test_clean_photo_rows_keep_each_distinct_clean_image_once():
    # Two sets share a clean image; one photo has two different clean crops.
    from lutkit.evaluate.methods import Method
    from lutkit.evaluate.runner import clean_photo_rows
    from lutkit.evaluate.sets import EvalSet, Pair

    rng = np.random.default_rng(0)
    a, b, c = (rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(3))
    d = np.zeros((8, 8, 3), np.uint8)
    one = EvalSet("one", "test split", "", [Pair("p1", d, a, "x"), Pair("p2", d, b, "x")])
    two = EvalSet("two", "external tool", "", [Pair("q1", d, a, "x"), Pair("q2", d, c, "y")])
    calls = []

    def darker(img):
        calls.append(img)
        return img.astype(np.float32) / 255 * 0.5

    rows = clean_photo_rows([Method("half", "half", "statistic", darker)], [one, two])
    assert [(r["id"], r["photo"]) for r in rows] == [
        ("one/p1", "x"),
        ("one/p2", "x"),
        ("two/q2", "y"),
    ]
    assert len(calls) == 3 and all(x is y for x, y in zip(calls, (a, b, c), strict=True))
    assert all(r["set"] == "no-fix-needed" and r["de2000_mean"] > 1 for r in rows)


def fix_metrics(output, clean):
    from lutkit.evaluate.metrics import delta_e_stats

    return delta_e_stats(output, clean)["de2000_mean"]


def test_rerun_reuses_the_baselines_and_gives_the_same_numbers(report, run_dir):
    rep, root = report
    again = evaluate_model(
        run_dir,
        root / "rep",
        sets=root / "sets",
        set_names=["test"],
        fcn_config=FCN_TINY,
        lut_config=LUT_TINY,
        illuminant_config=ILL_TINY,
        curve_images=0,
        gallery=1,
    )
    assert all(r["reused"] for r in again.result.training.values())
    first = {(r["method"], r["id"]): r for r in rep.result.rows if r["set"] == "test"}
    for r in again.result.rows:
        old = first[(r["method"], r["id"])]
        assert r["de2000_mean"] == old["de2000_mean"] and r["edge_ssim"] == old["edge_ssim"]


def test_iteration_curve_steps_are_fix_iterations(run_dir, photo):
    # The curve applies the k-th LUT of the one iteration generator; it must be what
    # `lutkit fix --iterations k` gives.
    from lutkit.correct.fix import iterate_corrections
    from lutkit.correct.model import load_run
    from lutkit.luts.apply import apply_lut

    run = load_run(run_dir)
    img = photo[:96, :128]
    luts = list(iterate_corrections(run, img, colormap="net", iterations=2))
    assert len(luts) == 2
    for k, lut in enumerate(luts, start=1):
        out = apply_lut(lut, img)
        assert np.array_equal(out, fix_pixels(run, img, colormap="net", iterations=k).pixels)
    big = np.ascontiguousarray(np.tile(photo, (2, 2, 1))[:900, :700])  # preview path
    (lut,) = iterate_corrections(run, big, colormap="fit", iterations=1)
    assert np.array_equal(
        apply_lut(lut, big),
        fix_pixels(run, big, colormap="fit", iterations=1).pixels,
    )


def test_method_timings_rows(run_dir, report, photo):
    _, root = report
    rows = method_timings(run_dir, [photo[:64, :80]], baselines=root / "rep" / "baselines")
    assert {r["method"] for r in rows} == set(METHODS)
    # Speed itself lives in the benchmarks: here only that each row has its fields.
    assert all(isinstance(r["seconds"], float) for r in rows)
    assert all(r["megapixels"] == 64 * 80 / 1e6 for r in rows)


def test_cli_errors_are_one_line(tmp_path, run_dir):
    runner = CliRunner()
    res = runner.invoke(main, ["eval", "--model", str(run_dir), "-o", str(tmp_path / "r")])
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "Error: nothing to evaluate on (pass --sets DIR and/or --dataset DIR)" in res.output
    res = runner.invoke(main, ["eval-sets", "--dataset", str(tmp_path), "-o", str(tmp_path / "s")])
    assert res.exit_code != 0 and "not a lutkit dataset" in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()
    res = runner.invoke(
        main, ["eval", "--model", str(run_dir), "--sets", str(tmp_path), "-o", str(tmp_path / "r")]
    )
    assert res.exit_code != 0 and "no eval-sets.json" in res.output


def test_the_dataset_test_split_already_in_the_sets_is_evaluated_once(
    report, run_dir, tiny_dataset, tmp_path
):
    # `eval-sets --dataset D` holds D's test split as its `test` set; `--dataset D` asks
    # for the same pairs again: they must count once in "all" and in the pair counts.
    ds, _ = tiny_dataset
    _, root = report
    out = tmp_path / "r"
    args = ["eval", "--model", run_dir, "--sets", root / "sets", "--set", "test"]
    args += ["--dataset", ds, "-o", out, "--baselines", "", "--curve-images", "0"]
    res = CliRunner().invoke(main, [str(a) for a in [*args, "--gallery", "0"]])
    assert res.exit_code == 0, res.output
    assert res.stderr == (
        f"{ds}: its test split is set 'test' of {root / 'sets'} (the same pairs): "
        "evaluated once, as 'test'\n"
    )
    with open(out / "results.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["method"] == "identity"]
    pairs = len(pd.read_parquet(ds / "pairs", columns=["split"]).query("split == 'test'"))
    assert {r["set"] for r in rows} == {"test", "all"}
    assert all(int(r["images"]) == pairs for r in rows)


def test_bar_chart_methods_have_their_own_colours_and_the_legend_leaves_the_bars(
    tmp_path, monkeypatch
):
    # 11 methods outran matplotlib's 10-colour cycle (identity and a baseline were the
    # same blue), and the legend covered the bars of some sets
    from types import SimpleNamespace

    from lutkit.evaluate import report as rep

    assert len(set(rep.method_colours(20))) == 20
    methods = [SimpleNamespace(name=f"m{i}", label=f"method {i}") for i in range(11)]
    sets = [SimpleNamespace(name=f"set{k}") for k in range(6)]
    summary = [
        {"method": m.name, "set": s.name, "de2000_mean": 5.0 + i + k}
        for i, m in enumerate(methods)
        for k, s in enumerate(sets)
    ]
    seen = {}

    def keep(fig, path):
        seen["fig"] = fig

    monkeypatch.setattr(rep, "_save_png", keep)
    rep.bar_chart(SimpleNamespace(sets=sets, methods=methods), summary, "de2000_mean", tmp_path)
    (ax,) = seen["fig"].axes
    colours = {tuple(p.get_facecolor()) for p in ax.patches}
    assert len(colours) == 11
    fig = seen["fig"]
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1  # right of the plot, over no bar
