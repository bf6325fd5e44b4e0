"""Building a paired dataset: counts, rejects, readers, determinism, splits, replay,
ground truth and manifests."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from lutkit.data.build import BuildConfig, plan_shards
from lutkit.data.info import preview_dataset, verify_dataset
from lutkit.data.png import decode_png
from lutkit.data.sources import SourceImage, assign_split
from lutkit.data.views import prepare
from lutkit.distort.base import apply_chain, ops_from_json
from lutkit.errors import ConfigError, LutkitWarning
from lutkit.images import from_float, to_float
from tests.data.helpers import (
    BAD,
    COLORMAP_RECIPE,
    GOOD,
    add_photo,
    build,
    make_sources,
    shard_hashes,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The small folder built once with the default recipe and two worker processes."""
    root = tmp_path_factory.mktemp("build")
    src = make_sources(root / "src")
    out = root / "ds"
    result = build(src, out, workers=2)
    return src, out, result


def _rows(out: Path) -> list[dict]:
    return pq.read_table(out / "pairs").to_pylist()


def test_counts_and_rejected(built):
    src, out, result = built
    doc = json.loads((out / "dataset.json").read_text())
    assert sum(result.rows.values()) == len(GOOD) * 2
    assert doc["counts"] == result.rows
    assert sum(s["rows"] for s in doc["shards"]) == len(GOOD) * 2
    with open(out / "rejected.csv", newline="") as f:
        rejected = {r["path"]: r["reason"] for r in csv.DictReader(f)}
    assert set(rejected) == set(BAD)
    assert rejected["empty.jpg"] == "empty file (0 bytes)"
    assert rejected["notes.png"] == "not an image lutkit can read"
    assert "truncated" in rejected["truncated.jpg"]
    rows = _rows(out)
    assert sorted({r["source"] for r in rows}) == sorted(
        ["astronaut.jpg", "chelsea.png", "coffee-rotated.jpg", "more/rocket16.png"]
        + ["more/motorcycle.png"]
    )
    for r in rows:
        assert r["width"] == r["height"] == 64
        assert r["id"] == f"{r['source_sha256'][:16]}-{r['variant']:03d}"


def test_sixteen_bit_and_orientation_survive(built):
    src, out, _ = built
    rows = {r["source"]: r for r in _rows(out) if r["variant"] == 0}
    assert decode_png(rows["more/rocket16.png"]["clean"]).dtype == np.uint16
    assert decode_png(rows["chelsea.png"]["clean"]).dtype == np.uint8
    # The EXIF-rotated coffee is stored as shown: like its pixels turned by hand.
    from PIL import Image

    from lutkit.images import save_image

    raw = np.asarray(Image.open(src / "coffee-rotated.jpg").convert("RGB"))
    save_image(src.parent / "turned.png", np.rot90(raw, k=-1))
    save_image(src.parent / "unturned.png", raw)
    clean = decode_png(rows["coffee-rotated.jpg"]["clean"]).astype(float)
    turned = np.abs(clean - prepare(src.parent / "turned.png", 64)[0]).mean()
    unturned = np.abs(clean - prepare(src.parent / "unturned.png", 64)[0]).mean()
    assert turned < 2 < unturned


def test_readers_agree(built, tmp_path, monkeypatch):
    _, out, _ = built
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import duckdb
    import pandas as pd

    from datasets import load_dataset

    ids = sorted(r["id"] for r in _rows(out))
    assert len(ids) == len(GOOD) * 2

    frame = pd.read_parquet(out / "pairs")
    assert sorted(frame["id"]) == ids
    pattern = str(out / "pairs" / "*.parquet")
    assert duckdb.sql(f"select count(*) from '{pattern}'").fetchall() == [(len(ids),)]
    assert sorted(x[0] for x in duckdb.sql(f"select id from '{pattern}'").fetchall()) == ids
    hf = load_dataset(
        "parquet", data_files=pattern, cache_dir=str(tmp_path / "cache"), split="train"
    )
    assert hf.num_rows == len(ids)
    assert sorted(hf["id"]) == ids
    # The bytes are the same PNGs whoever reads them.
    first = frame.sort_values("id").iloc[0]
    row = hf.filter(lambda r: r["id"] == first["id"])[0]
    assert row["distorted"] == first["distorted"]


def test_two_builds_are_byte_identical(built, tmp_path):
    src, out, _ = built
    build(src, tmp_path / "again", workers=1)  # another worker count, same bytes
    assert shard_hashes(tmp_path / "again") == shard_hashes(out)
    assert len(shard_hashes(out)) >= 3


def test_dataset_json_keeps_the_recipe_files_to_load_again(built, tmp_path):
    """The recipe and its includes, written out as dataset.json keeps them, load as
    the same recipe (the same hash): a dataset says exactly how to make more of it."""
    from lutkit.distort.recipe import load_recipe

    _, out, _ = built
    doc = json.loads((out / "dataset.json").read_text())["recipe"]
    names = [f["file"] for f in doc["files"]]
    assert names[0] == "default.toml" and len(names) == len(set(names)) > 1
    for f in doc["files"]:
        (tmp_path / f["file"]).write_text(f["text"], encoding="utf-8")
    again = load_recipe(tmp_path / "default.toml")
    assert (again.text, again.sha256) == (doc["text"], doc["sha256"])


def test_a_rerun_builds_a_damaged_shard_again(built, tmp_path):
    """A byte flipped inside a shard leaves its footer (the plan hash) readable: the
    rerun must not take it for complete, as dataset.json's sha256 shows it is not."""
    import shutil

    src, out, _ = built
    copy = tmp_path / "ds"
    shutil.copytree(out, copy)
    victim = sorted((copy / "pairs").glob("*.parquet"))[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    said: list[str] = []
    result = build(src, copy, workers=1, log=said.append)
    assert (
        f"{victim.name}: its bytes differ from those dataset.json records: building it again"
        in said
    )
    assert result.shards_written == 1
    assert shard_hashes(copy) == shard_hashes(out)
    assert verify_dataset(copy).ok


def test_shards_of_a_new_plan_are_not_taken_for_damaged_ones(built, tmp_path):
    """A photo edited, the rerun killed after its new shards but before dataset.json:
    the shards are whole, of the plan dataset.json does not record yet, so the next
    rerun keeps them (comparing them with the old plan's sha256 would rebuild them)."""
    import shutil

    from lutkit.data.sources import assign_split
    from lutkit.fsutil import file_sha256
    from lutkit.images import load_image, save_image

    src, out, _ = built
    edited = tmp_path / "src"
    shutil.copytree(src, edited)
    chelsea = load_image(edited / "chelsea.png").pixels
    split = assign_split(file_sha256(src / "chelsea.png"), (0.8, 0.1, 0.1))
    for k in range(1, 50):  # new bytes in the same split: the same shard names
        save_image(edited / "chelsea.png", chelsea[k:])
        if assign_split(file_sha256(edited / "chelsea.png"), (0.8, 0.1, 0.1)) == split:
            break
    stale = tmp_path / "stale"
    shutil.copytree(out, stale)  # the old build's dataset.json ...
    fresh = tmp_path / "fresh"
    build(edited, fresh, workers=1)
    shutil.rmtree(stale / "pairs")
    shutil.copytree(fresh / "pairs", stale / "pairs")  # ... with the new plan's shards
    said: list[str] = []
    result = build(edited, stale, workers=1, log=said.append)
    assert not [line for line in said if "bytes differ" in line]
    assert result.shards_written == 0
    assert shard_hashes(stale) == shard_hashes(fresh)
    assert set(shard_hashes(fresh)) == set(shard_hashes(out)) != shard_hashes(out)


def test_the_card_shows_what_a_preview_reads_back(built, tmp_path):
    """The card's contact sheet is drawn from tiles the workers made from the pixels in
    hand (a shard that lost a source is read back); ``dataset preview`` draws the same
    rows from the shards on disk: the same picture, byte for byte."""
    _, out, result = built
    assert result.rejected  # the truncated JPEG's shard comes out short
    preview_dataset(out, tmp_path / "preview.jpg")
    assert (tmp_path / "preview.jpg").read_bytes() == (out / "contact-sheet.jpg").read_bytes()


@pytest.mark.parametrize("workers", [1, 2])
def test_the_card_of_a_clean_build_reads_no_shard_back(tmp_path, monkeypatch, workers):
    import lutkit.data.shards

    src = make_sources(tmp_path / "src", bad=False)
    read = lutkit.data.shards.read_shard

    def refuse(*args, **kwargs):
        raise AssertionError("the card read a shard back")

    monkeypatch.setattr(lutkit.data.shards, "read_shard", refuse)
    build(src, tmp_path / "ds", workers=workers)
    monkeypatch.setattr(lutkit.data.shards, "read_shard", read)
    preview_dataset(tmp_path / "ds", tmp_path / "preview.jpg")
    sheet = (tmp_path / "ds" / "contact-sheet.jpg").read_bytes()
    assert (tmp_path / "preview.jpg").read_bytes() == sheet


def test_adding_a_photo_keeps_the_other_rows(built, tmp_path):
    src, out, _ = built
    more = tmp_path / "src"
    shutil.copytree(src, more)
    add_photo(more)
    build(more, tmp_path / "more", workers=2)
    before = {r["id"]: r for r in _rows(out)}
    after = {r["id"]: r for r in _rows(tmp_path / "more")}
    assert len(after) == len(before) + 2
    for key, row in before.items():
        assert after[key] == row, key


def test_splits_hold_whole_sources(built):
    _, out, _ = built
    split_of = {}
    for r in _rows(out):
        assert split_of.setdefault(r["source_sha256"], r["split"]) == r["split"]
    report = verify_dataset(out)
    assert report.ok, report.problems
    assert report.rows == len(GOOD) * 2 and report.images == 2 * report.rows


def test_split_fractions_are_honoured():
    import hashlib

    hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(3000)]
    share = {s: 0 for s in ("train", "val", "test")}
    for h in hashes:
        share[assign_split(h, (0.7, 0.2, 0.1))] += 1
    assert abs(share["train"] / 3000 - 0.7) < 0.03
    assert abs(share["val"] / 3000 - 0.2) < 0.03
    assert abs(share["test"] / 3000 - 0.1) < 0.03
    # Planned shards follow the same rule and never split a source.
    sources = [SourceImage(Path(f"{h}.png"), f"{h}.png", h) for h in hashes[:200]]
    cfg = BuildConfig(source="x", recipe="default", out="y", variants=3, rows_per_shard=30)
    plans = plan_shards(sources, cfg, "recipe")
    seen = [s.sha256 for p in plans for s in p.sources]
    assert sorted(seen) == sorted(hashes[:200])
    for p in plans:
        assert 1 <= len(p.sources) <= 10
        assert all(assign_split(s.sha256, cfg.splits) == p.split for s in p.sources)


@pytest.mark.parametrize(
    ("settings", "photos"),
    [
        ({"variants": 2}, {"train": 2, "val": 2, "test": 2}),  # 5 rows: down to 4
        ({"variants": 6, "crops": 10}, {"train": 1, "val": 1, "test": 1}),  # up to 60 rows
        ({"variants": 2, "mosaic": 1}, {"train": 1, "val": 2, "test": 2}),  # train: 4 a photo
    ],
)
def test_rows_per_shard_is_rounded_to_whole_photos(settings, photos):
    # What `dataset build --help` says of --rows-per-shard N, here with N = 5 (and 20).
    n = 20 if settings.get("crops") else 5
    sources = [
        SourceImage(Path(f"{i}.png"), f"{i}.png", f"{i:064x}", split)
        for k, split in enumerate(("train", "val", "test"))
        for i in range(k * 5, k * 5 + 5)
    ]
    cfg = BuildConfig(source="x", recipe="default", out="y", rows_per_shard=n, **settings)
    for split, per_shard in photos.items():
        sizes = [len(p.sources) for p in plan_shards(sources, cfg, "recipe") if p.split == split]
        full, rest = divmod(5, per_shard)
        assert sizes == [per_shard] * full + ([rest] if rest else []), split


def test_every_row_replays_from_its_ops(built):
    _, out, _ = built
    for row in _rows(out):
        clean = decode_png(row["clean"])
        records = ops_from_json(row["ops"])
        again = from_float(apply_chain(to_float(clean), records), clean.dtype)
        assert np.array_equal(again, decode_png(row["distorted"])), row["id"]


@pytest.mark.parametrize("source", ["chelsea.png", "more/rocket16.png"])
def test_replay_through_the_cli(built, tmp_path, monkeypatch, source):
    from lutkit.cli import main
    from lutkit.images import load_image

    _, out, _ = built
    row = next(r for r in _rows(out) if r["source"] == source and r["variant"] == 1)
    monkeypatch.chdir(tmp_path)
    Path("clean.png").write_bytes(row["clean"])
    Path("p.json").write_text(json.dumps({"schema": 1, "ops": json.loads(row["ops"])}))
    result = CliRunner().invoke(
        main, ["distort", "clean.png", "-o", "out.png", "--replay", "p.json"]
    )
    assert result.exit_code == 0, result.output
    assert np.array_equal(load_image("out.png").pixels, decode_png(row["distorted"]))


def test_target_lut_moves_distorted_towards_clean(tmp_path):
    """The stored correction is the inverse of the recorded ops: where the distortion
    is invertible it takes the distorted pixels back to clean, and over whole images
    it brings them closer whenever most of the image is invertible."""
    from lutkit.color import image_delta_e
    from lutkit.distort.truth import bake_chain, invert_lut
    from lutkit.luts.model import LUT3D

    src = make_sources(tmp_path / "src", bad=False)
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(COLORMAP_RECIPE)
    out = tmp_path / "ds"
    build(src, out, recipe=str(recipe), workers=2)
    rows = _rows(out)
    assert len(rows) == len(GOOD) * 2
    total_before = total_after = 0.0
    for row in rows:
        assert row["colormap_only"] and row["target_lut"] is not None
        lut = LUT3D(np.asarray(row["target_lut"], np.float32).reshape(17, 17, 17, 3))
        inverse, report = invert_lut(bake_chain(ops_from_json(row["ops"]), 17))
        assert np.array_equal(inverse.table.astype(np.float16).astype(np.float32), lut.table)
        assert row["target_invertible"] == pytest.approx(report.fraction)
        clean = to_float(decode_png(row["clean"]))
        distorted = to_float(decode_png(row["distorted"]))
        before = image_delta_e(distorted, clean)
        after = image_delta_e(lut.apply(distorted), clean)
        inside = report.mask(distorted)
        if inside.any():
            assert after[inside].mean() < 0.3 * before[inside].mean(), row["id"]
        if inside.mean() >= 0.5:
            assert after.mean() < 0.5 * before.mean(), row["id"]
        total_before += before.mean()
        total_after += after.mean()
    assert total_after < 0.5 * total_before


def test_manifest_with_splits_and_a_missing_file(tmp_path):
    src = make_sources(tmp_path / "src", bad=False)
    (src / "list.csv").write_text(
        "path,split\nastronaut.jpg,test\nchelsea.png,val\nmissing.png,train\nmore/rocket16.png,\n"
    )
    out = tmp_path / "ds"
    result = build(src / "list.csv", out, variants=1, ground_truth=False)
    by_source = {r["source"]: r["split"] for r in _rows(out)}
    assert by_source["astronaut.jpg"] == "test" and by_source["chelsea.png"] == "val"
    assert set(by_source) == {"astronaut.jpg", "chelsea.png", "more/rocket16.png"}
    assert [(r.path, r.reason) for r in result.rejected] == [("missing.png", "file not found")]
    assert "missing.png,file not found" in (out / "rejected.csv").read_text()
    # The card says where the splits came from: the rocket's empty cell is drawn by hash.
    assert (
        "- Splits from the manifest's `split` column for 2 of the 3 photos, the rest by "
        "source hash (0.8, 0.1, 0.1): all variants"
    ) in (out / "README.md").read_text()


def test_manifest_rows_of_one_photo_in_two_splits(tmp_path):
    """One file listed twice, or two copies of one photo, with different splits: the
    first row is kept, and the rejected line says which split won."""
    import shutil

    src = make_sources(tmp_path / "src", bad=False)
    shutil.copy(src / "chelsea.png", src / "copy.png")
    shutil.copy(src / "astronaut.jpg", src / "copy.jpg")
    (src / "list.csv").write_text(
        "path,split\nchelsea.png,val\nchelsea.png,test\ncopy.png,train\nastronaut.jpg,\n"
        "copy.jpg,test\n"
    )
    result = build(src / "list.csv", tmp_path / "ds", variants=1, ground_truth=False)
    assert {r["source"]: r["split"] for r in _rows(tmp_path / "ds")}["chelsea.png"] == "val"
    assert [(r.path, r.reason) for r in result.rejected] == [
        (
            "chelsea.png",
            "listed twice (the manifest gives it split val there, split test here: val kept)",
        ),
        (
            "copy.png",
            "duplicate of chelsea.png (the manifest gives it split val there, split train "
            "here: val kept)",
        ),
        (
            "copy.jpg",
            "duplicate of astronaut.jpg (the manifest gives it no split there, split test "
            "here: a split drawn by hash kept)",
        ),
    ]


def test_manifest_outside_its_folder(tmp_path):
    src = make_sources(tmp_path / "src", bad=False)
    manifest = src / "more" / "list.csv"
    manifest.write_text("path\n../chelsea.png\nrocket16.png\n")
    with pytest.raises(ConfigError) as err:
        build(manifest, tmp_path / "ds", variants=1, ground_truth=False)
    assert str(err.value) == (
        f"{manifest}:2: path '../chelsea.png' is outside the manifest's folder "
        "(list files inside the folder, or pass --allow-outside)"
    )
    assert not (tmp_path / "ds" / "pairs").exists()
    result = build(manifest, tmp_path / "ds", variants=1, ground_truth=False, allow_outside=True)
    assert sum(result.rows.values()) == 2


def test_dataset_inside_the_source_folder_is_not_a_source(tmp_path):
    src = make_sources(tmp_path / "src", bad=False)
    shutil.rmtree(src / "more")
    first = build(src, src / "ds", variants=1, ground_truth=False)
    assert (src / "ds" / "contact-sheet.jpg").is_file()
    again = build(src, src / "ds", variants=1, ground_truth=False)
    assert again.shards_written == 0 and again.rows == first.rows


def test_crops_give_seeded_recorded_views(built, tmp_path):
    """--crops N: the centre square (crop null, the same rows as without crops) then
    N - 1 random squares, each recorded and giving its own variants; deterministic."""
    src, plain, _ = built
    out = tmp_path / "crops"
    build(src, out, crops=3, min_crop=0.5)
    rows = _rows(out)
    by_source: dict[str, list[dict]] = {}
    for r in rows:
        by_source.setdefault(r["source"], []).append(r)
    assert len(rows) == len(GOOD) * 3 * 2
    centre = {r["id"]: r for r in _rows(plain)}
    for items in by_source.values():
        items.sort(key=lambda r: r["variant"])
        assert [r["variant"] for r in items] == list(range(6))
        for r in items[:2]:  # the centre square: exactly the rows of a plain build
            assert r["crop"] is None
            assert r["clean"] == centre[r["id"]]["clean"]
            assert r["distorted"] == centre[r["id"]]["distorted"]
        crops = [json.loads(r["crop"]) for r in items[2:]]
        assert crops[0] == crops[1] and crops[2] == crops[3] and crops[0] != crops[2]
        for c in crops:
            assert set(c) == {"scale", "x", "y"}
            assert 0.5 <= c["scale"] <= 1 and 0 <= c["x"] <= 1 and 0 <= c["y"] <= 1
        # Another view of the photo: not the centre square's pixels.
        assert items[2]["clean"] != items[0]["clean"]
        # Each row replays from its ops on its own clean view.
        r = items[4]
        clean = decode_png(r["clean"])
        again = from_float(apply_chain(to_float(clean), ops_from_json(r["ops"])), clean.dtype)
        assert np.array_equal(again, decode_png(r["distorted"]))
    doc = json.loads((out / "dataset.json").read_text())
    assert doc["config"]["crops"] == 3 and doc["config"]["min_crop"] == 0.5
    again = tmp_path / "again"
    build(src, again, crops=3, min_crop=0.5)
    assert shard_hashes(again) == shard_hashes(out)


def test_crop_matches_the_recorded_square(tmp_path):
    """A recorded crop is the square it says: cut by hand and resized, it matches."""
    import cv2

    from lutkit.data.views import Crop
    from lutkit.images import save_image

    rng = np.random.default_rng(0)
    photo = (rng.random((90, 150, 3)) * 255).astype(np.uint8)
    save_image(tmp_path / "p.png", photo)
    crop = Crop(scale=0.5, x=1.0, y=0.0)
    got = prepare(tmp_path / "p.png", 32, [crop])[0]
    side = 45
    square = photo[0:side, 150 - side : 150]
    want = cv2.resize(square, (32, 32), interpolation=cv2.INTER_AREA)
    assert np.array_equal(got, want)


def test_bad_crop_settings_are_refused():
    with pytest.raises(ConfigError, match="--crops must be 1 to 1000, got 0"):
        BuildConfig(source="s", recipe="default", out="o", crops=0).check()
    with pytest.raises(ConfigError, match=r"--min-crop must be in \[0.05, 1\], got 2"):
        BuildConfig(source="s", recipe="default", out="o", min_crop=2.0).check()


def _by_split(rows: list[dict]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r["split"], set()).add(r["source_sha256"])
    return out


@pytest.fixture(scope="module")
def mosaics(built, tmp_path_factory):
    """``built``'s photos with 2 crops, and the same with 2 mosaic views more."""
    src = built[0]
    root = tmp_path_factory.mktemp("mosaic")
    build(src, root / "plain", crops=2, workers=2)
    build(src, root / "mosaic", crops=2, mosaic=2, workers=2)
    return src, root / "plain", root / "mosaic"


def test_mosaics_add_recorded_train_views_and_change_no_other_row(mosaics, tmp_path):
    """--mosaic M: each train photo gets M more views (its crop tiled with crops of
    other train photos, recorded in 'crop'), numbered after its crops; val and test get
    none; every other row is the plain build's, byte for byte; deterministic."""
    src, plain, mosaic = mosaics
    before = {r["id"]: r for r in _rows(plain)}
    rows = _rows(mosaic)
    splits = _by_split(rows)
    assert len(splits["train"]) >= 2
    extra = [r for r in rows if r["id"] not in before]
    assert len(extra) == len(splits["train"]) * 2 * 2  # 2 mosaics x 2 variants
    for r in rows:
        if r["id"] in before:
            for key in ("clean", "distorted", "ops", "crop", "seed", "target_lut"):
                assert r[key] == before[r["id"]][key]
    mixed = 0
    for r in extra:
        assert r["split"] == "train" and r["variant"] in (4, 5, 6, 7)
        tiles = json.loads(r["crop"])["mosaic"]
        assert len(tiles) in (2, 4)
        assert tiles[0]["sha256"] == r["source_sha256"]
        # other train photos (a tile whose photo cannot be decoded, as the truncated
        # JPEG here, is cut from the row's own photo, and says so)
        assert {t["sha256"] for t in tiles} <= splits["train"]
        mixed += len({t["sha256"] for t in tiles}) > 1
        area = sum((t["box"][2] - t["box"][0]) * (t["box"][3] - t["box"][1]) for t in tiles)
        assert area == pytest.approx(1.0)
        clean = decode_png(r["clean"])
        again = from_float(apply_chain(to_float(clean), ops_from_json(r["ops"])), clean.dtype)
        assert np.array_equal(again, decode_png(r["distorted"]))
    assert mixed >= len(extra) // 2
    doc = json.loads((mosaic / "dataset.json").read_text())
    assert doc["config"]["mosaic"] == 2
    assert "mosaic" not in json.loads((plain / "dataset.json").read_text())["config"]
    assert "2 mosaic view(s)" in (mosaic / "README.md").read_text()
    build(src, tmp_path / "again", crops=2, mosaic=2, workers=1)
    assert shard_hashes(tmp_path / "again") == shard_hashes(mosaic)
    # val and test have no mosaics: their shard files are the plain build's
    kept = {k: v for k, v in shard_hashes(plain).items() if not k.startswith("train")}
    assert kept and all(shard_hashes(mosaic)[k] == v for k, v in kept.items())
    preview_dataset(mosaic, tmp_path / "preview.jpg")
    assert (tmp_path / "preview.jpg").read_bytes() == (mosaic / "contact-sheet.jpg").read_bytes()


def test_mosaics_resume_and_follow_the_train_photos(mosaics, tmp_path):
    """A rerun skips every shard; when a train photo changes, every train shard is
    rebuilt (their mosaics tile it) to what a fresh build writes; val and test stay."""
    from lutkit.images import load_image, save_image

    src, _, mosaic = mosaics
    again = build(src, mosaic, crops=2, mosaic=2, workers=2)
    assert again.shards_written == 0
    changed = tmp_path / "src"
    shutil.copytree(src, changed)
    photo = changed / "chelsea.png"  # a train photo; the others keep their files
    save_image(photo, load_image(photo).pixels[::-1].copy())
    grown = tmp_path / "grown"
    shutil.copytree(mosaic, grown)
    redo = build(changed, grown, crops=2, mosaic=2, workers=2)
    build(changed, tmp_path / "fresh", crops=2, mosaic=2, workers=2)
    assert shard_hashes(grown) == shard_hashes(tmp_path / "fresh")
    before = shard_hashes(mosaic)
    trains = [k for k in before if k.startswith("train")]
    # every train shard (and the truncated JPEG's empty one) rebuilt, val and test kept
    assert len(trains) >= 3 and redo.shards_skipped == len(before) - len(trains)
    assert all(shard_hashes(grown)[k] == before[k] for k in before if k not in trains)


def test_mosaics_keep_every_other_row_of_photos_decoded_at_reduced_size(tmp_path):
    """The bundled photos include large JPEGs, which are decoded at reduced size: the
    squares' decode must not follow the mosaic tiles' (nor the other way round)."""
    from lutkit.data.build import build_dataset

    def rows(out: Path, mosaic: int) -> dict[str, dict]:
        cfg = BuildConfig(
            source="sample",
            recipe="default",
            out=str(out),
            variants=1,
            size=64,
            crops=1,
            min_crop=0.2,
            mosaic=mosaic,
        )
        build_dataset(cfg, workers=1)
        return {r["id"]: r for r in _rows(out)}

    plain, mosaic = rows(tmp_path / "plain", 0), rows(tmp_path / "mosaic", 2)
    assert len(mosaic) > len(plain)
    for key, r in plain.items():
        assert mosaic[key]["clean"] == r["clean"] and mosaic[key]["distorted"] == r["distorted"]


def test_mosaic_tiles_are_the_photos_they_name(mosaics):
    """Each tile of a mosaic row, cut from its photo by hand (Pillow, another
    resampler) by the recorded crop and box, matches the row's clean image."""
    from PIL import Image

    from lutkit.images import load_image

    src, _, mosaic = mosaics
    photos = {}
    for path in sorted(src.rglob("*")):
        if path.suffix in (".jpg", ".png"):
            try:
                photos[hashlib.sha256(path.read_bytes()).hexdigest()] = load_image(path).pixels
            except Exception:
                pass  # the unreadable files
    checked = 0
    for r in _rows(mosaic):
        if not (r["crop"] or "").startswith('{"mosaic"'):
            continue
        clean = decode_png(r["clean"]).astype(np.float64)
        size = clean.shape[0]
        for t in json.loads(r["crop"])["mosaic"]:
            left, top, right, bottom = (round(v * size) for v in t["box"])
            w, h = right - left, bottom - top
            pixels = photos[t["sha256"]]
            if pixels.dtype == np.uint16:
                pixels = (pixels / 257 + 0.5).astype(np.uint8)
            ph, pw = pixels.shape[:2]
            rw, rh = (ph * w / h, ph) if pw * h > ph * w else (pw, pw * h / w)
            rw, rh = max(1, round(rw * t["scale"])), max(1, round(rh * t["scale"]))
            y0, x0 = round((ph - rh) * t["y"]), round((pw - rw) * t["x"])
            region = Image.fromarray(pixels[y0 : y0 + rh, x0 : x0 + rw, :3])
            want = np.asarray(region.resize((w, h), Image.LANCZOS), np.float64)
            got = clean[top:bottom, left:right]
            if got.max() > 255:
                got = got / 257
            # resampled by another library from a full decode: close, and much closer
            # than the same tile turned upside down
            err = np.abs(got - want).mean()
            assert err < 6.0 and err < 0.5 * np.abs(got - want[::-1, ::-1]).mean()
            checked += 1
    assert checked >= 8


def test_a_mosaic_tile_whose_photo_cannot_be_read_is_cut_from_the_row_photo(tmp_path):
    from lutkit.data.views import Crop, Mosaic, Tile, prepare_views
    from lutkit.images import save_image

    rng = np.random.default_rng(0)
    save_image(tmp_path / "a.png", (rng.random((60, 80, 3)) * 255).astype(np.uint8))
    (tmp_path / "b.png").write_text("not a picture\n")
    crop = Crop(0.5, 0.0, 0.0)
    view = Mosaic((Tile("a", crop, (0, 0, 0.5, 1)), Tile("b", crop, (0.5, 0, 1, 1))))
    ((image, used),) = prepare_views(tmp_path / "a.png", 32, [view], {"b": tmp_path / "b.png"})
    assert [t.sha256 for t in used.tiles] == ["a", "a"]
    assert np.array_equal(image[:, :16], image[:, 16:])  # the same crop of a, twice
    assert json.loads(used.to_json())["mosaic"][1]["sha256"] == "a"


def test_mosaic_settings(built, tmp_path):
    with pytest.raises(ConfigError, match="--mosaic must be 0 to 1000, got -1"):
        BuildConfig(source="s", recipe="default", out="o", mosaic=-1).check()
    src = built[0]
    build(src, tmp_path / "ds", crops=2, variants=1)
    with pytest.raises(ConfigError, match="another number of mosaics is in this folder"):
        build(src, tmp_path / "ds", crops=2, variants=1, mosaic=1)


def _second_waits_for_the_first(maker, plan, out: Path):
    """A stand-in shard builder: shard 0 lands at once; shard 1 waits (up to 30 s) for
    the marker that counting shard 0 leaves, and says in its row count whether it came."""
    import time

    from lutkit.data.build import ShardDone

    if plan.index == 0:
        return ShardDone("0", 1, [])
    deadline = time.monotonic() + 30
    while not (out / "counted").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return ShardDone("1", 2 if (out / "counted").exists() else 0, [])


def test_local_workers_count_each_shard_as_it_lands(tmp_path, monkeypatch):
    """Progress moves while shards are still being built, not all at the end."""
    import lutkit.data.build as b

    monkeypatch.setattr(b, "_build_one", _second_waits_for_the_first)
    plans = [b.ShardPlan("train", i, 2, []) for i in range(2)]
    counted = []

    def tick(rows: int) -> None:
        counted.append(rows)
        (tmp_path / "counted").touch()

    done = b._run_local(None, plans, tmp_path, 2, tick)
    assert sorted(counted) == [1, 2] and done[plans[1].name].rows == 2


def test_an_all_unreadable_split_writes_no_shard_and_loads_in_datasets(tmp_path, monkeypatch):
    # 3 photos in train, 3 files that only fail when decoded planned into val
    # (a manifest's split column), 3 rows per shard: val gets no rows, so no shard,
    # a warning, and Hugging Face `datasets` loads every shard of pairs/.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    from datasets import load_dataset

    src = make_sources(tmp_path / "src", bad=False)
    whole = (src / "astronaut.jpg").read_bytes()
    lines = ["path,split"]
    for name in ("astronaut.jpg", "chelsea.png", "more/motorcycle.png"):
        lines.append(f"{name},train")
    for k in range(3):
        (src / f"cut{k}.jpg").write_bytes(whole[: len(whole) // (k + 2)])
        lines.append(f"cut{k}.jpg,val")
    (src / "photos.csv").write_text("\n".join(lines) + "\n")
    from lutkit.data.build import build_dataset

    cfg = BuildConfig(
        source=str(src / "photos.csv"),
        recipe="default",
        out=str(tmp_path / "ds"),
        variants=1,
        size=32,
        rows_per_shard=3,
    )
    with pytest.warns(LutkitWarning) as caught:
        result = build_dataset(cfg, workers=1)
    said = [str(w.message) for w in caught]
    assert result.rows == {"train": 3, "val": 0, "test": 0}
    assert len(result.rejected) == 3
    assert sorted(p.name for p in (tmp_path / "ds" / "pairs").iterdir()) == [
        "train-00000-of-00001.parquet"
    ]
    assert said[0] == (
        "no rows in the val split: its 3 photo(s) were all unreadable (see rejected.csv); "
        "`lutkit train` needs val pairs"
    )
    assert said[1] == (
        "no photo in the test split: the manifest's 'split' column puts none of the "
        "6 photo(s) there"
    )
    card = (tmp_path / "ds" / "README.md").read_text()
    assert "- Splits from the manifest's `split` column: all variants" in card
    assert len(said) == 2
    assert verify_dataset(tmp_path / "ds").ok
    hf = load_dataset(
        "parquet",
        data_files=str(tmp_path / "ds" / "pairs" / "*.parquet"),
        cache_dir=str(tmp_path / "cache"),
        split="train",
    )
    assert hf.num_rows == 3
    # A rerun finds every shard complete, the empty one too.
    with pytest.warns(LutkitWarning):
        again = build_dataset(cfg, workers=1)
    assert (again.shards_written, again.shards_skipped) == (0, 2)
    assert len(again.rejected) == 3
