"""The dataset card (README.md) and its contact sheet, written next to the shards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SHEET = "contact-sheet.jpg"
TILE = 200  # the contact sheet's tile side, pixels


def pick_rows(counts: list[int], n: int = 8, seed: int = 0) -> list[tuple[int, int]]:
    """The sample rows of a card: (shard, row) positions, given each shard's row count in
    plan order. Shards without rows are never picked. A pure function of the counts, so
    a build can hand the tiles of the rows it will show to the workers that make them."""
    shards = [k for k, c in enumerate(counts) if c]
    if not shards:
        return []
    from lutkit.seeds import rng

    g = rng(seed)
    take = max(1, min(n, len(shards)))
    per = max(1, n // take)
    picks = []
    for k in g.permutation(len(shards))[:take]:
        picks += [(shards[k], int(i)) for i in g.permutation(counts[shards[k]])[:per]]
    return picks[:n]


def card_row(row: dict[str, Any], tile: int = TILE) -> dict[str, Any]:
    """What the contact sheet shows of a row: its split, ops, and both images as tiles
    (uint8; ``clean`` and ``distorted`` may be PNG bytes or pixels)."""
    from lutkit.data.png import decode_png
    from lutkit.sheets import fit_tile

    def pixels(v):
        return decode_png(v) if isinstance(v, bytes) else v

    return {
        "split": row["split"],
        "ops": row["ops"],
        "clean": fit_tile(pixels(row["clean"]), tile),
        "distorted": fit_tile(pixels(row["distorted"]), tile),
    }


def sample_pairs(
    out: Path,
    doc: dict[str, Any],
    n: int = 8,
    seed: int = 0,
    have: dict[tuple[str, int], dict[str, Any]] | None = None,
) -> list[dict]:
    """``n`` rows picked deterministically across the shards (split, ops, clean and
    distorted as tiles). ``have``: rows already in hand, by (shard file, row index),
    as :func:`card_row` makes them; the others are read from the shards."""
    from lutkit.data.shards import read_shard

    shards = doc["shards"]
    have = have or {}
    tables: dict[int, Any] = {}
    picks = []
    for k, i in pick_rows([s["rows"] for s in shards], n, seed):
        got = have.get((shards[k]["file"], i))
        if got is None:
            if k not in tables:
                tables[k] = read_shard(out, shards[k], ["split", "clean", "distorted", "ops"])
            got = card_row(tables[k].slice(i, 1).to_pylist()[0])
        picks.append(got)
    return picks


def save_pairs_sheet(rows: list[dict], path: Path, title: str) -> Path:
    """A contact sheet of pairs (rows from :func:`sample_pairs`): distorted on the left,
    clean on the right, ops below."""
    from lutkit.distort.base import ops_from_json
    from lutkit.distort.files import chain_label
    from lutkit.sheets import save_contact_sheet

    tiles, labels = [], []
    for row in rows:
        tiles += [row["distorted"], row["clean"]]
        labels += [
            chain_label(ops_from_json(row["ops"], check_domains=False)),
            f"clean ({row['split']})",
        ]
    return save_contact_sheet(path, tiles, labels, columns=4, tile=TILE, title=title)


def _mosaic_column(cfg: dict[str, Any]) -> str:
    if not cfg.get("mosaic", 0):
        return ""
    return (
        '; a mosaic view is `{"mosaic": [tile, ...]}`, each tile `{"sha256", "scale", "x",'
        ' "y", "box"}` (its photo, its crop of the tile\'s shape, and `box` = left, top,'
        " right, bottom as fractions of the square), the first tile the row's own photo"
        " (a later tile names it too where its photo could not be decoded)"
    )


def _mosaic_note(cfg: dict[str, Any]) -> str:
    count = cfg.get("mosaic", 0)
    if not count:
        return ""
    return (
        f"; a train photo also gives {count} mosaic view(s): a crop of it tiled with"
        " crops of 1 or 3 other train photos, each with its own variants"
    )


def _recipe_files_note(doc: dict[str, Any]) -> str:
    if "files" in doc["recipe"]:
        return "its files in `dataset.json`'s `recipe.files`: written out, they load as the same recipe"
    return "full text in `dataset.json`"


def _splits_note(doc: dict[str, Any]) -> str:
    by_hash = f"by source hash ({', '.join(f'{x:g}' for x in doc['config']['splits'])})"
    listed = doc["sources"].get("split_by_manifest", 0)
    if not listed:
        return f"Splits {by_hash}"
    if listed >= doc["sources"]["count"]:
        return "Splits from the manifest's `split` column"
    return (
        f"Splits from the manifest's `split` column for {listed} of the "
        f"{doc['sources']['count']} photos, the rest {by_hash}"
    )


def _library_note(cfg: dict[str, Any]) -> str:
    """The library LUTs the build depends on, as the card's recipe line ends."""
    luts = cfg.get("library_luts") or {}
    target = " and the target LUT's" if cfg.get("target_lut_sha256") else ""
    if not luts and not target:
        return ""
    drawn = f"it can draw {len(luts)} library LUT(s)" if luts else "it draws no library LUT"
    return (
        f"; {drawn}: the sha256 of each{target} file is in dataset.json (`config`), and a "
        "rerun with one of them replaced is refused"
    )


def _replay_note(cfg: dict[str, Any]) -> str:
    """What a replay of a row's library LUT checks, where the rows can have one."""
    if not cfg.get("library_luts"):
        return ""
    return (
        " A `lut3d.library` op records\nthe sha256 of its LUT's file: replayed with another"
        " file of that name (the LUT replaced\nin the library since), it is refused rather"
        " than giving other pixels."
    )


def write_card(
    out: Path, doc: dict[str, Any], have: dict[tuple[str, int], dict[str, Any]] | None = None
) -> Path:
    """Write the card (README.md) and its contact sheet; ``have``: see :func:`sample_pairs`."""
    from lutkit.fsutil import atomic_write_text

    rows = sample_pairs(out, doc, have=have)
    if rows:
        save_pairs_sheet(rows, out / SHEET, f"{doc['name']}: distorted | clean")
    cfg = doc["config"]
    counts = doc["counts"]
    total = sum(counts.values())
    text = f"""# {doc["name"]}

Paired distorted/clean photos made by lutkit {doc["lutkit"]} (`lutkit dataset build`).

![pairs: distorted on the left, clean on the right]({SHEET})

| split | rows |
|---|---:|
| train | {counts["train"]} |
| val | {counts["val"]} |
| test | {counts["test"]} |
| **all** | **{total}** |

- Sources: `{doc["sources"]["spec"]}`, {doc["sources"]["count"]} photos ({doc["sources"]["rejected"]} rejected, see `rejected.csv`)
- Recipe: `{doc["recipe"]["name"]}` (sha256 `{doc["recipe"]["sha256"][:16]}...`, {_recipe_files_note(doc)}){_library_note(cfg)}
- {cfg.get("crops", 1)} view(s) per photo (the centre square{", then random squares of at least " + format(cfg.get("min_crop", 0.35), "g") + " of the short side" if cfg.get("crops", 1) > 1 else ""}{_mosaic_note(cfg)}) x {cfg["variants"]} variants at {cfg["size"]}x{cfg["size"]}, seed {cfg["seed"]}
- {_splits_note(doc)}: all variants of a photo are in one split; a split without rows has no shard
- Colour: sRGB; photos with an ICC profile were converted to sRGB through it (littleCMS), and the PNGs carry no profile
- Target styling: {f"`{cfg['target_lut']}` at {cfg['target_strength']:g}" if cfg["target_lut"] else "none (the clean image is the original)"}

## Columns (`pairs/*.parquet`, zstd)

| column | type | meaning |
|---|---|---|
| id | string | `<source sha256[:16]>-<variant, zero-padded to 3 digits>` |
| source, source_sha256 | string | the clean photo and the sha256 of its file |
| split | string | train / val / test |
| variant, seed | int | the variant number and the seed its ops were drawn with |
| recipe, ops | string | the recipe name and the JSON of every op with its parameters |
| width, height | int | image size |
| clean, distorted | binary | PNG bytes (8- or 16-bit RGB, sRGB) |
| colormap_only | bool | the distortion is a pure colour map (no grain, dust, mixed light...) |
| target_lut | float16[{doc["target_lut_size"]}^3*3] | the true correction, `[r][g][b][rgb]`, null if not a colour map |
| target_invertible | float | share of that LUT's lattice where the distortion is invertible |
| crop | string | the view: JSON `{{"scale", "x", "y"}}` (side as a fraction of the short side, position in [0, 1]); null for the centre square{_mosaic_column(cfg)} |

Every row can be reproduced: `lutkit distort clean.png -o out.png --replay ops.json`
with its `ops` (wrapped as `{{"schema": 1, "ops": ...}}`).{_replay_note(cfg)}

## Reading

```python
import pandas as pd
df = pd.read_parquet("pairs")                            # pandas / pyarrow

import duckdb
duckdb.sql("SELECT split, count(*) FROM 'pairs/*.parquet' GROUP BY split")

from datasets import load_dataset                         # Hugging Face
ds = load_dataset("parquet", data_files={{"train": "pairs/train-*.parquet"}})
```
"""
    return atomic_write_text(out / "README.md", text)
