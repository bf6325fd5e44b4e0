"""Look at a built dataset: summary, full verification, preview sheet, export to folders."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lutkit.data.index import check_shard, load_dataset_json
from lutkit.data.png import decode_png
from lutkit.data.schema import pairs_schema
from lutkit.errors import ConfigError, ImageError
from lutkit.progress import Progress, each


def dataset_info(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """A dataset's summary as plain JSON-able facts (``lutkit dataset info --json``)."""
    doc = load_dataset_json(folder)
    return {
        "name": doc["name"],
        "lutkit": doc["lutkit"],
        "recipe": f"{doc['recipe']['name']} ({doc['recipe']['sha256'][:12]})",
        "sources": doc["sources"],
        "counts": doc["counts"],
        "shards": len(doc["shards"]),
        "variants": doc["config"]["variants"],
        # views of each photo (a dataset from before --crops / --mosaic had one each)
        "crops": doc["config"].get("crops", 1),
        "mosaic": doc["config"].get("mosaic", 0),
        "splits": doc["config"].get("splits"),
        "size": doc["config"]["size"],
        "seed": doc["config"]["seed"],
    }


def format_dataset_info(facts: dict[str, Any]) -> list[str]:
    """:func:`dataset_info` as lines a person reads (``lutkit dataset info``)."""
    src, counts = facts["sources"], facts["counts"]
    rows = ", ".join(f"{k} {v}" for k, v in counts.items())
    return [
        f"name      {facts['name']}",
        f"built by  lutkit {facts['lutkit']}",
        f"recipe    {facts['recipe']}",
        f"sources   {src['count']} photo(s) from {src['spec']}, {src['rejected']} rejected",
        f"rows      {rows} ({sum(counts.values())} in all)",
        f"shards    {facts['shards']}",
        f"views     {facts['crops']} crop(s) per photo"
        + (f", {facts['mosaic']} mosaic(s) per train photo" if facts["mosaic"] else ""),
        f"variants  {facts['variants']} per view",
        f"size      {facts['size']} x {facts['size']} px",
        f"seed      {facts['seed']}",
    ] + _splits_lines(facts)


def _splits_lines(facts: dict[str, Any]) -> list[str]:
    """How the photos were split: by a manifest's split column, by the fractions, or
    both (the fractions split the photos the column leaves without one)."""
    if not facts["splits"]:
        return []
    fractions = "train {:g}, val {:g}, test {:g}".format(*facts["splits"])
    src = facts["sources"]
    by_manifest = int(src.get("split_by_manifest", 0) or 0)
    if by_manifest and by_manifest >= src["count"]:
        return ["splits    every photo by the manifest's split column"]
    if by_manifest:
        return [
            f"splits    {by_manifest} photo(s) by the manifest's split column, the others "
            f"{fractions}"
        ]
    return [f"splits    {fractions} of the photos"]


@dataclass
class VerifyReport:
    shards: int = 0
    rows: int = 0
    images: int = 0
    problems: list[str] = field(default_factory=list)
    latents: dict[str, int] = field(default_factory=dict)  # VAE fingerprint -> shards checked

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_dataset(
    folder: str | os.PathLike[str], *, decode: bool = True, progress: Progress | None = None
) -> VerifyReport:
    """Check every shard against dataset.json (presence, sha256, rows, schema, split),
    the counts against the shard list, that no other shard lies in pairs/, that ids
    are unique, that no source is in two splits, and decode every image; then each
    VAE's latents (:func:`verify_latents`)."""
    from lutkit.data.shards import file_sha256, read_shard_file

    folder = Path(folder)
    doc = load_dataset_json(folder)
    report = VerifyReport()
    expected_schema = pairs_schema()
    ids: set[str] = set()
    split_of: dict[str, str] = {}
    shards = doc["shards"]
    listed = {(folder / s["file"]).resolve() for s in shards}
    for extra in sorted((folder / "pairs").glob("*.parquet")):
        if extra.resolve() not in listed:
            report.problems.append(f"pairs/{extra.name}: not listed in dataset.json")
    for split, n in doc["counts"].items():
        listed_rows = sum(s["rows"] for s in shards if s["split"] == split)
        if n != listed_rows:
            report.problems.append(
                f"dataset.json: counts say {split} {n}, its shard list {listed_rows}"
            )
    for s in each(shards, progress, "verifying"):
        path = folder / s["file"]
        report.shards += 1
        if not path.is_file():
            report.problems.append(f"{s['file']}: missing")
            continue
        if file_sha256(path) != s["sha256"]:
            report.problems.append(f"{s['file']}: sha256 differs from dataset.json")
            continue
        try:
            table = read_shard_file(path)  # checked above, problems reported
        except Exception as exc:  # pyarrow raises several types for corrupt files
            report.problems.append(f"{s['file']}: unreadable ({exc})")
            continue
        if not table.schema.remove_metadata().equals(expected_schema.remove_metadata()):
            report.problems.append(f"{s['file']}: schema differs from this lutkit's")
            continue
        if table.num_rows != s["rows"]:
            report.problems.append(
                f"{s['file']}: {table.num_rows} rows, dataset.json says {s['rows']}"
            )
        cols = ["id", "split", "source_sha256", "width", "height"]
        for row in table.select(cols).to_pylist():
            report.rows += 1
            if row["split"] != s["split"]:
                report.problems.append(
                    f"{s['file']}: row {row['id']} is in {row['split']}, the shard in {s['split']}"
                )
            if row["id"] in ids:
                report.problems.append(f"{s['file']}: duplicate id {row['id']}")
            ids.add(row["id"])
            prev = split_of.setdefault(row["source_sha256"], row["split"])
            if prev != row["split"]:
                report.problems.append(
                    f"{s['file']}: source {row['source_sha256'][:12]} is in {prev} and {row['split']}"
                )
        if decode:
            for i, row in enumerate(
                table.select(["id", "clean", "distorted", "width", "height"]).to_pylist()
            ):
                for col in ("clean", "distorted"):
                    try:
                        img = decode_png(row[col])
                    except ImageError:
                        report.problems.append(
                            f"{s['file']}: row {i} ({row['id']}) {col} does not decode"
                        )
                        continue
                    report.images += 1
                    if img.shape[:2] != (row["height"], row["width"]):
                        report.problems.append(f"{s['file']}: row {i} {col} has the wrong size")
    verify_latents(folder, doc, report)
    return report


def verify_latents(folder: Path, doc: dict[str, Any], report: VerifyReport) -> None:
    """Check the latents of every VAE (``latents/FINGERPRINT/``) against their index
    (``_latents.json``: presence, sha256, rows, split) and against the pairs they encode:
    a latents shard made from other bytes than the pairs shard dataset.json lists now is
    stale (training would pair it with rows it was not made from). A pairs shard with no
    latents yet is not a problem (``lutkit latents`` resumes)."""
    import json

    from lutkit.data.shards import file_sha256, shard_metadata, shard_num_rows
    from lutkit.latents.encode import LATENTS_JSON, SOURCE_KEY

    pairs = {Path(s["file"]).name: s for s in doc["shards"]}
    for sub in sorted(p for p in (folder / "latents").glob("*") if p.is_dir()):
        where = f"latents/{sub.name}"
        index = sub / LATENTS_JSON
        try:
            shards = json.loads(index.read_text(encoding="utf-8"))["shards"]
            listed = {str(e["file"]): e for e in shards}
        except FileNotFoundError:
            if any(sub.glob("*.parquet")):
                report.problems.append(
                    f"{where}: shards without {LATENTS_JSON} (an interrupted run: rerun "
                    "`lutkit latents`)"
                )
            continue
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            report.problems.append(f"{where}/{LATENTS_JSON}: unreadable ({exc})")
            continue
        report.latents[sub.name] = 0
        for extra in sorted(sub.glob("*.parquet")):
            if extra.name not in listed:
                report.problems.append(
                    f"{where}/{extra.name}: not listed in {LATENTS_JSON} (a shard of pairs "
                    f"that are gone is removed by `lutkit latents` with this VAE ({sub.name}); "
                    "another, delete it)"
                )
        for name, entry in listed.items():
            path, shard = sub / name, f"{where}/{name}"
            report.latents[sub.name] += 1
            if Path(name).name != name or not path.is_file():
                report.problems.append(f"{shard}: missing")
                continue
            if file_sha256(path) != entry.get("sha256"):
                report.problems.append(f"{shard}: sha256 differs from {LATENTS_JSON}")
                continue
            source = pairs.get(name)
            if source is None:
                report.problems.append(
                    f"{shard}: encodes pairs/{name}, which dataset.json does not list"
                )
                continue
            try:
                made_from = shard_metadata(path).get(SOURCE_KEY, b"").decode()
                rows = shard_num_rows(path)
            except Exception as exc:  # pyarrow raises several types for corrupt files
                report.problems.append(f"{shard}: unreadable ({exc})")
                continue
            if made_from != source["sha256"]:
                report.problems.append(
                    f"{shard}: encodes other bytes than pairs/{name} (rebuilt since): "
                    "rerun `lutkit latents`"
                )
            elif rows != source["rows"] or entry.get("rows") != rows:
                report.problems.append(f"{shard}: {rows} rows, pairs/{name} has {source['rows']}")
            elif entry.get("split") != source["split"]:
                report.problems.append(
                    f"{shard}: in {entry.get('split')}, pairs/{name} in {source['split']}"
                )


def preview_dataset(
    folder: str | os.PathLike[str], output: str | os.PathLike[str], *, n: int = 8, seed: int = 0
) -> Path:
    from lutkit.data.card import sample_pairs, save_pairs_sheet
    from lutkit.fsutil import output_folders

    folder = Path(folder)
    doc = load_dataset_json(folder)
    for s in doc["shards"]:  # a damaged dataset is an error, whichever rows are picked
        check_shard(folder, s)
    rows = sample_pairs(folder, doc, n=n, seed=seed)
    if not rows:
        raise ConfigError("the dataset has no rows", path=folder)
    with output_folders(output):
        return save_pairs_sheet(rows, Path(output), f"{doc['name']}: distorted | clean")


EXPORT_FOLDERS = ("clean", "distorted")


def export_folders(
    folder: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
) -> int:
    """Write clean/ and distorted/ PNG folders (``{split}/{id}.png``); returns rows.

    ``output`` must be new, empty, or an earlier export (clean/ and distorted/ only):
    pairs of another dataset or of an earlier build are never left among the new ones.
    The new folders are written whole inside ``output`` under hidden names and then
    take the place of the earlier ones, so an interrupted export leaves the earlier
    export (or nothing), not half of one; ``output`` itself (a symlink's target, its
    permissions) is kept. A rerun removes what an interrupted one left."""
    import shutil
    import tempfile

    from lutkit.data.shards import read_shard_file

    folder, output = Path(folder), Path(output)
    doc = load_dataset_json(folder)
    if output.exists() and not output.is_dir():
        raise ConfigError("the export target exists and is not a folder", path=output)
    if output.resolve().is_relative_to(folder.resolve()):
        raise ConfigError(
            "the export target is inside the dataset",
            path=output,
            hint="export to a folder outside it, e.g. demo-png/",
        )
    if output.is_dir():
        others = sorted(
            p.name
            for p in output.iterdir()
            if p.name not in EXPORT_FOLDERS and not p.name.startswith(_EXPORT_TMP)
        )
        if others:
            raise ConfigError(
                f"the export target is not empty and is no earlier export (it holds "
                f"{', '.join(others[:3])}{', ...' if len(others) > 3 else ''}): nothing was "
                "written",
                path=output,
                hint="export to a new or empty folder",
            )
    shards = doc["shards"]
    paths = [check_shard(folder, s) for s in shards]  # all of them before writing anything
    n = 0
    made = not output.exists()
    output.mkdir(parents=True, exist_ok=True)
    for left in output.glob(f"{_EXPORT_TMP}*"):  # an interrupted export's
        shutil.rmtree(left, ignore_errors=True)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_EXPORT_TMP, suffix=".tmp", dir=output))
        try:
            for path in each(paths, progress, "exporting"):
                table = read_shard_file(path, columns=["id", "split", "clean", "distorted"])
                for row in table.to_pylist():
                    for col in EXPORT_FOLDERS:
                        target = tmp / col / row["split"] / f"{row['id']}.png"
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(row[col])
                    n += 1
            for col in EXPORT_FOLDERS:  # an empty dataset still exports both folders
                (tmp / col).mkdir(exist_ok=True)
                (tmp / col).chmod(0o777 & ~_umask())  # mkdtemp's parent is private
                if (output / col).exists():
                    (output / col).rename(tmp / f"{col}.old")
                (tmp / col).rename(output / col)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # the earlier export's folders too
    except BaseException:
        if made and not any(output.iterdir()):
            output.rmdir()  # the folder this export made, left empty
        raise
    return n


_EXPORT_TMP = ".export."  # the hidden folder an export is written in, inside its target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
