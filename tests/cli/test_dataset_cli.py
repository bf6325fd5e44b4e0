"""``lutkit dataset``: build, info, verify, preview and export through the CLI."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from lutkit.cli import main
from tests.data.helpers import GOOD, make_sources

ROWS = len(GOOD) * 2


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    src = make_sources(root / "src")
    out = root / "ds"
    result = invoke(
        "dataset",
        "build",
        "--source",
        src,
        "--out",
        out,
        "--variants",
        "2",
        "--size",
        "64",
        "--rows-per-shard",
        "4",
    )
    assert result.exit_code == 0, result.output
    return src, out, result.stdout


@pytest.fixture()
def copy(dataset, tmp_path):
    """A copy of the built dataset that a test may damage."""
    target = tmp_path / "ds"
    shutil.copytree(dataset[1], target)
    return target


def test_build_and_resume(dataset):
    src, out, output = dataset
    doc = json.loads((out / "dataset.json").read_text())
    counts = ", ".join(f"{k} {v}" for k, v in doc["counts"].items())
    n = len(doc["shards"])
    assert output == (
        f"{out}: {counts} rows; {n} shard(s) written, 0 already complete; 3 rejected\n"
    )
    again = invoke(
        "dataset",
        "build",
        "--source",
        src,
        "--out",
        out,
        "--variants",
        "2",
        "--size",
        "64",
        "--rows-per-shard",
        "4",
    )
    assert again.exit_code == 0
    assert again.stdout.splitlines() == [
        f"all {n} shard(s) already complete: nothing to build",
        f"{out}: {counts} rows; 0 shard(s) written, {n} already complete; 3 rejected",
    ]


def test_info(dataset):
    _, out, _ = dataset
    result = invoke("dataset", "info", out, "--json")
    assert result.exit_code == 0
    facts = json.loads(result.output)
    assert sum(facts["counts"].values()) == ROWS
    assert (facts["variants"], facts["size"], facts["seed"]) == (2, 64, 0)
    assert facts["sources"]["rejected"] == 3
    plain = invoke("dataset", "info", out)
    assert plain.exit_code == 0 and plain.output.startswith(f"name      {out.name}\n")
    # Readable lines, not Python dicts
    assert "{" not in plain.output and "'" not in plain.output
    assert f"rows      {', '.join(f'{k} {v}' for k, v in facts['counts'].items())}" in plain.output
    assert f"({ROWS} in all)" in plain.output
    # how many views of each photo, and the split (an ML engineer's trial missed them)
    assert (facts["crops"], facts["mosaic"]) == (1, 0) and len(facts["splits"]) == 3
    assert "views     1 crop(s) per photo\n" in plain.output
    assert (
        "splits    train {:g}, val {:g}, test {:g} of the photos\n".format(*facts["splits"])
        in plain.output
    )
    assert f"sources   {len(GOOD) + 3} photo(s)" in plain.output or "rejected" in plain.output


def test_no_lock_file_is_left_behind(dataset):
    _, out, _ = dataset
    assert not (out / ".lock").exists()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


def test_verify_ok(dataset):
    _, out, _ = dataset
    result = invoke("dataset", "verify", out)
    assert result.exit_code == 0, result.output
    shards = len(json.loads((out / "dataset.json").read_text())["shards"])
    assert result.output == (
        f"{out}: ok: {shards} shard(s), {ROWS} rows, {2 * ROWS} images decoded\n"
    )


def test_verify_finds_a_flipped_byte(copy):
    shard = sorted((copy / "pairs").glob("*.parquet"))[0]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01
    shard.write_bytes(bytes(data))
    result = invoke("dataset", "verify", copy)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"problem: pairs/{shard.name}: sha256 differs from dataset.json"
    assert lines[-1].startswith(f"Error: {copy}: 1 problem(s) in ")


def test_verify_finds_an_edited_row_count(copy):
    doc = json.loads((copy / "dataset.json").read_text())
    shard = doc["shards"][0]
    shard["rows"] += 1
    (copy / "dataset.json").write_text(json.dumps(doc))
    result = invoke("dataset", "verify", copy, "--no-decode")
    assert result.exit_code == 1
    split = shard["split"]
    real = doc["counts"][split]
    assert result.output.splitlines()[:2] == [
        f"problem: dataset.json: counts say {split} {real}, its shard list {real + 1}",
        f"problem: {shard['file']}: {shard['rows'] - 1} rows, dataset.json says {shard['rows']}",
    ]
    assert "Error: " in result.output.splitlines()[-1]


def test_verify_finds_an_unlisted_shard(copy):
    shard = sorted((copy / "pairs").glob("*.parquet"))[0]
    shutil.copy(shard, copy / "pairs" / "train-00099-of-00100.parquet")
    result = invoke("dataset", "verify", copy, "--no-decode")
    assert result.exit_code == 1
    assert "problem: pairs/train-00099-of-00100.parquet: not listed in dataset.json" in (
        result.output
    )


def test_preview(dataset, tmp_path):
    from lutkit.images import load_image

    _, out, _ = dataset
    sheet = tmp_path / "new" / "sheet.png"  # its folder is made
    result = invoke("dataset", "preview", out, "-o", sheet, "--n", "4")
    assert result.exit_code == 0 and result.output == f"wrote {sheet}\n"
    assert min(load_image(sheet).pixels.shape[:2]) > 100


def test_export_folders(dataset, tmp_path):
    import pyarrow.parquet as pq

    _, out, _ = dataset
    target = tmp_path / "png"
    result = invoke("dataset", "export", out, "--format", "folders", "-o", target)
    assert result.exit_code == 0 and result.output == f"wrote {ROWS} pairs to {target}\n"
    rows = pq.read_table(out / "pairs", columns=["id", "split", "clean"]).to_pylist()
    for kind in ("clean", "distorted"):
        files = sorted(p.relative_to(target / kind) for p in (target / kind).rglob("*.png"))
        assert [str(f) for f in files] == sorted(f"{r['split']}/{r['id']}.png" for r in rows)
    first = rows[0]
    assert (target / "clean" / first["split"] / f"{first['id']}.png").read_bytes() == first["clean"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["info", "{tmp}"],
            "{tmp}: not a lutkit dataset (no dataset.json) (build one with `lutkit dataset build`)",
        ),
        (
            ["build", "--source", "{tmp}/nope", "--out", "{tmp}/ds"],
            "{tmp}/nope: no such folder, glob, manifest or file (use a folder of photos, a "
            "glob, a .csv/.parquet manifest, or 'sample')",
        ),
        (
            ["build", "--source", "sample", "--out", "{tmp}/ds", "--splits", "0.5,0.6,0"],
            "split fractions must be three numbers >= 0 that sum to 1, got '0.5,0.6,0' "
            "(e.g. --splits 0.8,0.1,0.1)",
        ),
        (
            ["build", "--source", "{tmp}", "--out", "{tmp}/ds"],
            "{tmp}: no readable images in the source",
        ),
        (
            ["export", "{tmp}/nothing", "-o", "{tmp}/png"],
            "{tmp}/nothing: no such dataset folder (build one with `lutkit dataset build`)",
        ),
    ],
)
def test_errors_are_one_line(tmp_path, args, message):
    result = CliRunner().invoke(main, ["dataset"] + [a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 1
    assert result.output == f"Error: {message.format(tmp=tmp_path)}\n"
    assert not (tmp_path / "ds").exists()  # a failed build leaves no folder behind


def test_export_onto_a_file_is_refused(dataset, tmp_path):
    _, out, _ = dataset
    (tmp_path / "taken").write_text("x")
    result = invoke("dataset", "export", out, "-o", tmp_path / "taken")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {tmp_path / 'taken'}: the export target exists and is not a folder\n"
    )


def test_a_folder_named_like_a_source_name_gets_a_warning(tmp_path, monkeypatch):
    """`--source sample` is the bundled photos even beside a folder ./sample: said on
    stderr, with the spelling that picks the folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sample").mkdir()
    args = ["dataset", "build", "--source", "sample", "--variants", "1", "--size", "32"]
    result = CliRunner().invoke(main, [*args, "--out", "ds"])
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "warning: --source sample means lutkit's bundled sample photos, not the folder "
        "./sample beside you: for that folder, pass --source ./sample\n"
    )
    assert "train 7, val 1, test 1 rows" in result.stdout


def test_an_empty_split_is_a_warning_line_on_stderr(tmp_path):
    """The build's own warnings reach the user as the CLI prints every LutkitWarning:
    one ``warning:`` line each on stderr, the summary alone on stdout."""
    src = make_sources(tmp_path / "src", bad=False)
    for extra in GOOD[1:]:
        next(src.rglob(extra)).unlink()
    out = tmp_path / "ds"
    result = CliRunner().invoke(
        main, ["dataset", "build", "--source", str(src), "--out", str(out), "--size", "32"]
    )
    assert result.exit_code == 0, result.output
    tail = "give at least 10 photos for one to land there on average, or a manifest with a 'split' column"
    assert result.stderr.splitlines() == [
        f"warning: no photo in the val split (1 photo(s), 0.1 of them go to val): {tail}; "
        "`lutkit train` needs val pairs",
        f"warning: no photo in the test split (1 photo(s), 0.1 of them go to test): {tail}",
    ]
    assert result.stdout.startswith(f"{out}: train ")


def test_an_output_folder_that_is_or_holds_the_source_folder_is_refused(tmp_path, monkeypatch):
    # The build skips the files under its output folder: a source folder there would
    # give "no readable images". An output folder inside the source folder is fine.
    monkeypatch.chdir(tmp_path)
    make_sources(tmp_path / "scratch" / "p3", bad=False)
    before = sorted(tmp_path.rglob("*"))
    args = ["dataset", "build", "--source", "scratch/p3", "--variants", "1", "--size", "32"]
    for out, message in [
        ("scratch/p3", "scratch/p3: the output folder is the source folder"),
        ("scratch/./p3/", "scratch/./p3/: the output folder is the source folder"),
        ("scratch", "scratch: the output folder holds the source folder scratch/p3"),
        (".", ".: the output folder holds the source folder scratch/p3"),
    ]:
        result = CliRunner().invoke(main, [*args, "--out", out])
        assert result.exit_code == 1
        assert result.output == f"Error: {message} (give --out another folder)\n"
    assert sorted(tmp_path.rglob("*")) == before  # no lock file, no pairs/
    for _ in range(2):  # the second finds the first's files (its contact sheet) skipped
        result = CliRunner().invoke(main, [*args, "--out", "scratch/p3/ds"])
        assert result.exit_code == 0, result.output
    assert result.stdout.endswith("; 0 shard(s) written, 2 already complete; 0 rejected\n")
    assert (
        json.loads((tmp_path / "scratch/p3/ds/dataset.json").read_text())["sources"]["count"] == 5
    )


def test_a_glob_of_the_output_folders_photos_is_refused(tmp_path, monkeypatch):
    # As a source folder: the build skips files under its output, so a glob (or a
    # manifest) of only those would give "no readable images in the source".
    monkeypatch.chdir(tmp_path)
    make_sources(tmp_path / "pics", bad=False)
    args = ["dataset", "build", "--source", "pics/*.png", "--variants", "1", "--size", "32"]
    result = CliRunner().invoke(main, [*args, "--out", "pics"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: pics: every source photo lies in the output folder (give --out another folder)\n"
    )


def test_rows_per_shard_help_says_how_it_is_rounded():
    result = invoke("dataset", "build", "--help")
    text = " ".join(result.output.split())
    assert (
        "--rows-per-shard N About N rows per Parquet shard. Shards hold whole photos: "
        "max(1, N // a photo's rows) photos each, a photo's rows being --variants x views "
        "(--crops, plus --mosaic for train photos). So N is rounded down to whole photos, "
        "or up to one photo's rows when it is smaller (20 with --variants 6 --crops 10: "
        "60-row shards); the last shard of a split holds the rest."
    ) in text


def test_export_into_the_dataset_itself_is_refused(dataset):
    # it wrote clean/ and distorted/ among the shards, and verify still said ok
    _, out, _ = dataset
    for target in (out, out / "png"):
        result = invoke("dataset", "export", out, "-o", target)
        assert result.exit_code == 1
        assert result.output == (
            f"Error: {target}: the export target is inside the dataset (export to a "
            "folder outside it, e.g. demo-png/)\n"
        )
    assert not (out / "clean").exists() and not (out / "png").exists()


def test_export_replaces_an_earlier_export_and_refuses_a_folder_of_other_files(dataset, tmp_path):
    # An ML engineer's trial: exporting into an earlier export of another dataset left its
    # pairs among the new ones, and a dataset folder took clean/ and distorted/.
    _, out, _ = dataset
    target = tmp_path / "png"
    stale = target / "clean" / "train" / "from-another-dataset.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"x")
    result = invoke("dataset", "export", out, "-o", target)
    assert result.exit_code == 0, result.output
    assert not stale.exists() and sorted(p.name for p in target.iterdir()) == [
        "clean",
        "distorted",
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries
    other = tmp_path / "other"
    other.mkdir()
    (other / "dataset.json").write_text("{}")
    result = invoke("dataset", "export", out, "-o", other)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {other}: the export target is not empty and is no earlier export (it holds "
        "dataset.json): nothing was written (export to a new or empty folder)\n"
    )
    assert sorted(p.name for p in other.iterdir()) == ["dataset.json"]


def test_info_says_when_a_manifest_split_the_photos(tmp_path):
    # A review: info printed the default fractions where a manifest's split column
    # had placed every photo.
    src = make_sources(tmp_path / "src", bad=False)
    splits = ["train", "train", "train", "val", "test"]
    rows = [f"{name},{split}" for name, split in zip(GOOD, splits, strict=True)]
    (src / "m.csv").write_text("path,split\n" + "\n".join(rows) + "\n")
    (src / "half.csv").write_text("path,split\n" + "\n".join([*rows[:2], *GOOD[2:]]) + "\n")
    for manifest, line in (
        ("m.csv", "splits    every photo by the manifest's split column\n"),
        (
            "half.csv",
            "splits    2 photo(s) by the manifest's split column, the others train 0.8, "
            "val 0.1, test 0.1\n",
        ),
    ):
        out = tmp_path / manifest
        built = invoke(
            "dataset", "build", "--source", src / manifest, "--out", out, "--variants", "1",
            "--size", "32",
        )  # fmt: skip
        assert built.exit_code == 0, built.output
        assert line in invoke("dataset", "info", out).output
