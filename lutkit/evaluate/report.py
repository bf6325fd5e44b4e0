"""Write an evaluation report: tables (CSV, Markdown), charts, a gallery and index.html.

A report folder::

    index.html         the report (static: opens from disk, no scripts, no network)
    results.csv        every method x set x metric (means) and seconds per image
    results.md         the same as Markdown: delta E 2000 per method and set, how
                       sure that is (intervals from a bootstrap over the photos, the
                       ratio to the best statistical baseline, and how many pairs each
                       method makes worse than doing nothing), how far each method
                       moves photos that need no fix, then a table per set with every
                       metric
    per-image.csv      every image x method x metric
    no-fix.csv         every method on the distinct clean photos of the sets (set
                       no-fix-needed): how far it moves a photo that needs no fix
    iterations.csv     delta E against the number of `lutkit fix` iterations
    report.json        what was evaluated: model, sets, methods, baseline training
    images/            bar charts, the iteration curve, gallery sheets (PNG / JPEG);
                       gallery.jpg: each set's first sheet, stacked
    baselines/         the learned baselines (kept between runs; not replaced)

Everything but ``baselines/`` is written into a temporary folder first and moved into
place when complete, so a failed run leaves the previous report as it was.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lutkit.evaluate.metrics import METRICS
from lutkit.evaluate.runner import EvalResult, summarise
from lutkit.evaluate.stats import DRAWS, LEVEL, TIE, WORSE_BY, photo_bootstrap, worse_than

FILES = (
    "results.csv",
    "results.md",
    "per-image.csv",
    "no-fix.csv",
    "iterations.csv",
    "report.json",
)
CHART_METRICS = ("de2000_mean", "edge_ssim", "angular_error")
SURE_TITLE = "How sure (all sets)"
NO_FIX_TITLE = "Photos that need no fix"


def _csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def _fmt(key: str, value: float) -> str:
    if key == "seconds":
        return f"{value:.3f}"
    if key in ("ssim", "edge_ssim"):
        return f"{value:.3f}"
    return f"{value:.2f}"


Sureness = tuple[str, list[str], list[list[str]]]  # a note, a table head, its rows


def _num(value: float) -> str:
    return "—" if not np.isfinite(value) else f"{value:.2f}"


def _span(lo: float, hi: float) -> str:
    return "—" if not (np.isfinite(lo) and np.isfinite(hi)) else f"{lo:.2f} to {hi:.2f}"


def sureness(result: EvalResult, summary: list[dict[str, Any]]) -> Sureness:
    """How sure the "all" column is: a note, the table's head and its rows (one per
    method: mean delta E 2000, its interval from a bootstrap over photos, the ratio to
    the best statistical baseline with its paired interval, and the pairs made worse
    than doing nothing by more than each margin of :data:`WORSE_BY`)."""
    labels = {m.name: m.label for m in result.methods}
    stats = [m.name for m in result.methods if m.kind == "statistic"]
    alls = {r["method"]: r["de2000_mean"] for r in summary if r["set"] == "all"}
    finite = [n for n in stats if n in alls and np.isfinite(alls[n])]
    ref = min(finite, key=lambda n: alls[n], default=None)
    floor = next((m.name for m in result.methods if m.kind == "floor"), None)
    boot = photo_bootstrap(result.rows, reference=ref)
    worse = worse_than(result.rows, floor=floor) if floor is not None else {}
    pairs = len({(r["set"], r["id"]) for r in result.rows})
    unnamed = len(
        {(r["set"], r["id"]) for r in result.rows if str(r.get("photo") or "") in ("", "None")}
    )
    photos = int(max((b["photos"] for b in boot.values()), default=0))
    pct = f"{LEVEL * 100:g} %"
    head = ["method", "ΔE2000 mean (all)", f"{pct} interval of the mean"]
    if ref is not None:
        head += [f"ratio to {labels[ref]}", f"{pct} interval of the ratio"]
    if floor is not None:
        head += [
            f"pairs made worse (of {pairs})" if m == 0 else f"by > {m:g} ΔE2000" for m in WORSE_BY
        ]
    rows = []
    for m in result.methods:
        b = boot.get(m.name)
        if b is None:
            continue
        cells = [labels[m.name], _num(b["mean"]), _span(b["lo"], b["hi"])]
        if ref is not None:
            cells += [_num(b["ratio"]), _span(b["ratio_lo"], b["ratio_hi"])]
        if floor is not None:
            counts = worse.get(m.name, {})
            cells += ["—" if m.name == floor else str(counts[float(k)]) for k in WORSE_BY]
        rows.append(cells)
    note = (
        "The intervals resample photographs, each with all its pairs in every set, not "
        f"pairs ({DRAWS} draws, seed 0): a correcting method's error depends strongly on "
        "the photo. They cover the choice of photographs only (the sets, their tools and "
        "sizes are fixed), and the mean weighs every pair the same, so a photo with more "
        f"pairs weighs more. Here: {pairs} pairs from {photos} "
        + ("photograph" if photos == 1 else "photographs")
        + ("; with fewer than 2 there is no interval (—)" if photos < 2 else "")
        + ("; with this few the intervals are rough" if 2 <= photos < 30 else "")
        + "."
    )
    if unnamed:
        note += (
            f" {unnamed} pairs name no photograph and count as one each: for them the"
            " interval is only as wide as a bootstrap over pairs, which is too narrow."
        )
    if ref is not None:
        note += (
            f" Every method is measured on the same draws, so its ratio to {labels[ref]},"
            " the best statistical baseline on all sets, has a paired interval."
        )
    if floor is not None:
        margins = " and ".join(f"{m:g}" for m in WORSE_BY if m)
        note += (
            " Pairs made worse: on how many pairs the method's mean ΔE2000 is higher than"
            f" that of {labels[floor]} by more than {TIE:g}; by > {margins} ΔE2000: by more than"
            " that (about 1 is just noticeable, 5 clearly visible; a mean over the image"
            " can hide damage in one part of it)."
        )
    return note, head, rows


def no_fix(result: EvalResult) -> Sureness | None:
    """How far each method moves photos that need no fix (the evaluation's clean rows):
    a note, the table's head and its rows (one per method but the floor: the mean delta
    E 2000 from the clean photo, its interval from a bootstrap over photos, and on how
    many of them it changes the photo by more than each margin of :data:`WORSE_BY`).
    None without clean rows."""
    rows = result.clean_rows
    if not rows:
        return None
    labels = {m.name: m.label for m in result.methods}
    floor = next((m.name for m in result.methods if m.kind == "floor"), None)
    boot = photo_bootstrap(rows)
    crops = len({r["id"] for r in rows})
    photos = int(max((b["photos"] for b in boot.values()), default=0))
    pct = f"{LEVEL * 100:g} %"
    head = ["method", "ΔE2000 from the photo (mean)", f"{pct} interval"]
    head += [f"images changed (of {crops})" if m == 0 else f"by > {m:g} ΔE2000" for m in WORSE_BY]
    table = []
    for m in result.methods:
        mine = [r for r in rows if r["method"] == m.name]
        if m.name == floor or not mine:
            continue
        b = boot[m.name]
        values = np.array([float(r["de2000_mean"]) for r in mine])
        counts = [str(int(np.sum(values > k + TIE))) for k in WORSE_BY]
        table.append([labels[m.name], _num(b["mean"]), _span(b["lo"], b["hi"]), *counts])
    unnamed = len({r["id"] for r in rows if str(r.get("photo") or "") in ("", "None")})
    note = (
        "Every method applied to the clean side of the pairs, each distinct clean image"
        f" once: {crops} images from {photos} "
        + ("photograph" if photos == 1 else "photographs")
        + ", each one that needs no fix. The ΔE2000 is how far the method moves the image"
        " (doing nothing: 0); a photographer who runs a correction on a photo that is"
        " already right wants it left alone. The intervals resample photographs, each"
        " with all its images, as above"
        + ("; with fewer than 2 there is no interval (—)" if photos < 2 else "")
        + (f"; {unnamed} images name no photograph and count as one each" if unnamed else "")
        + f". Images changed: by more than {TIE:g} ΔE2000 (and by more than each margin)."
    )
    return note, head, table


def markdown_tables(
    result: EvalResult,
    summary: list[dict[str, Any]],
    sure: Sureness | None = None,
    clean: Sureness | None = None,
) -> str:
    """The Markdown of the report's tables (with ``sure``, the "how sure" table; with
    ``clean``, the table of photos that need no fix)."""
    labels = {m.name: m.label for m in result.methods}
    sets = [s.name for s in result.sets] + ["all"]
    by = {(r["method"], r["set"]): r for r in summary}
    lines = ["## ΔE2000 mean (lower is better)", ""]
    lines.append("| method | " + " | ".join(sets) + " |")
    lines.append("|---|" + "---:|" * len(sets))
    for m in result.methods:
        cells = []
        for s in sets:
            values = [by[(o.name, s)]["de2000_mean"] for o in result.methods if (o.name, s) in by]
            v = by.get((m.name, s), {}).get("de2000_mean")
            text = "" if v is None else f"{v:.2f}"
            if v is not None and v == min(values):
                text = f"**{text}**"
            cells.append(text)
        lines.append(f"| {labels[m.name]} | " + " | ".join(cells) + " |")
    counts = ", ".join(f"{s.name} {len(s.pairs)}" for s in result.sets)
    lines += ["", f"Images per set: {counts}. Best per column in bold.", ""]
    for title, table in ((SURE_TITLE, sure), (NO_FIX_TITLE, clean)):
        if table is not None:
            note, head, rows = table
            lines += [f"## {title}", "", note, ""]
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|---|" + "---:|" * (len(head) - 1))
            lines += ["| " + " | ".join(r) + " |" for r in rows]
            lines.append("")
    keys = [*METRICS, "seconds"]
    for s in sets:
        lines += [f"## {s}", ""]
        heads = [METRICS[k][0] + (f" ({METRICS[k][1]})" if METRICS[k][1] else "") for k in METRICS]
        lines.append("| method | " + " | ".join([*heads, "s / image"]) + " |")
        lines.append("|---|" + "---:|" * len(keys))
        for m in result.methods:
            r = by.get((m.name, s))
            if r is not None:
                cells = [_fmt(k, r[k]) for k in keys]
                lines.append(f"| {labels[m.name]} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _figure(width: float, height: float):
    """A matplotlib Figure on the Agg canvas (no pyplot, no display, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save_png(fig, path: Path) -> None:
    # No "Software" tag: the same numbers give the same bytes.
    fig.savefig(path, format="png", metadata={"Software": None}, bbox_inches="tight")


def method_colours(n: int) -> list[tuple[float, float, float, float]]:
    """``n`` colours that tell methods (or sets) apart: matplotlib's default cycle has
    10, and a report compares 11 or more (tab20's dark shades first, then its light)."""
    from matplotlib import colormaps

    tab20 = colormaps["tab20"].colors
    order = [*tab20[0::2], *tab20[1::2]]
    return [(*order[i % len(order)], 1.0) for i in range(n)]


def bar_chart(result: EvalResult, summary: list[dict[str, Any]], key: str, path: Path) -> Path:
    """Grouped bars: one group per set (family), one bar per method."""
    by = {(r["method"], r["set"]): r[key] for r in summary}
    sets = [s.name for s in result.sets]
    methods = result.methods
    fig = _figure(max(6.0, 1.3 * len(sets) + 2), 4.0)
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / len(methods)
    x = np.arange(len(sets))
    colours = method_colours(len(methods))
    for i, m in enumerate(methods):
        values = [by.get((m.name, s), np.nan) for s in sets]
        offset = (i - (len(methods) - 1) / 2) * width
        ax.bar(x + offset, values, width, label=m.label, color=colours[i])
    label, unit, better = METRICS[key]
    ax.set_xticks(x, sets, rotation=20, ha="right")
    ax.set_ylabel(f"{label}{f' ({unit})' if unit else ''}, {better} is better")
    ax.set_title(f"{label} per evaluation set")
    # beside the bars, not over them
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    ax.grid(axis="y", alpha=0.3)
    _save_png(fig, path)
    return path


def curve_chart(curve: list[dict[str, Any]], path: Path) -> Path:
    """ΔE2000 against the number of fix iterations, one line per set and colour map."""
    fig = _figure(7.0, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    keys = list(dict.fromkeys((r["set"], r["colormap"]) for r in curve))
    sets = list(dict.fromkeys(s for s, _ in keys))
    colours = method_colours(len(sets))  # a colour per set, a line style per map
    for s, cmap in keys:
        pts = [r for r in curve if r["set"] == s and r["colormap"] == cmap]
        ax.plot(
            [r["iterations"] for r in pts],
            [r["de2000_mean"] for r in pts],
            marker="o",
            linestyle="-" if cmap == "fit" else "--",
            color=colours[sets.index(s)],
            label=f"{s} ({cmap})",
        )
    ax.set_xlabel("lutkit fix --iterations")
    ax.set_ylabel("ΔE2000 mean, lower is better")
    ax.set_title("ΔE2000 against the number of fix iterations")
    ax.set_xticks(sorted({r["iterations"] for r in curve}))
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    ax.grid(alpha=0.3)
    _save_png(fig, path)
    return path


def _html_table(md_rows: list[list[str]], head: list[str]) -> str:
    out = ["<table><thead><tr>"]
    out += [f"<th>{html.escape(h)}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for row in md_rows:
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


_CSS = """body{font-family:sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}
b{color:#060} img{max-width:100%} .note{color:#555;font-size:13px}"""


def _index_html(
    result: EvalResult,
    summary: list[dict[str, Any]],
    charts: list[str],
    gallery: list,
    info: dict,
    sure: Sureness | None = None,
    clean: Sureness | None = None,
) -> str:
    labels = {m.name: m.label for m in result.methods}
    by = {(r["method"], r["set"]): r for r in summary}
    sets = [s.name for s in result.sets] + ["all"]
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>lutkit evaluation: {esc(info['title'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>lutkit evaluation: {esc(info['title'])}</h1>",
        f"<p class='note'>model <code>{esc(info['model'])}</code>; sets: "
        + ", ".join(
            f"<b>{esc(s.name)}</b> ({len(s.pairs)} images: {esc(s.description)})"
            for s in result.sets
        )
        + ". Lower ΔE and angle are better; higher PSNR, SSIM and edge SSIM are better. "
        "Edge SSIM compares the luminance gradients of the output with those of its input: "
        "what a method keeps of the photo's detail.</p>",
        "<h2>ΔE2000 mean per method and set</h2>",
    ]
    rows = []
    for m in result.methods:
        cells = [esc(labels[m.name])]
        for s in sets:
            values = [by[(o.name, s)]["de2000_mean"] for o in result.methods if (o.name, s) in by]
            v = by.get((m.name, s), {}).get("de2000_mean")
            text = "" if v is None else f"{v:.2f}"
            cells.append(f"<b>{text}</b>" if v is not None and v == min(values) else text)
        rows.append(cells)
    parts.append(_html_table(rows, ["method", *sets]))
    for title, table in ((SURE_TITLE, sure), (NO_FIX_TITLE, clean)):
        if table is not None:
            note, head, rows = table
            parts.append(f"<h2>{esc(title)}</h2>")
            parts.append(f"<p class='note'>{esc(note)}</p>")
            parts.append(_html_table([[esc(c) for c in r] for r in rows], head))
    for c in charts:
        parts.append(f"<p><img src='{esc(c)}' alt='{esc(c)}'></p>")
    keys = [*METRICS, "seconds"]
    heads = ["method", *(METRICS[k][0] for k in METRICS), "s / image"]
    for s in sets:
        parts.append(f"<h3>{esc(s)}</h3>")
        rows = [
            [esc(labels[m.name])] + [_fmt(k, by[(m.name, s)][k]) for k in keys]
            for m in result.methods
            if (m.name, s) in by
        ]
        parts.append(_html_table(rows, heads))
    parts.append("<h2>Gallery: worst cases first</h2>")
    parts.append(
        f"<p class='note'>Ranked by the ΔE2000 of {esc(labels.get(result.rank_method, ''))}; "
        "each row: before, every method (with its ΔE2000), truth. "
        "<a href='images/gallery.jpg'>Every set's worst case on one page</a>.</p>"
    )
    for set_name, items in gallery:
        parts.append(f"<h3>{esc(set_name)}</h3>")
        for file, item in items:
            parts.append(
                f"<p><img src='{esc(file)}' alt='{esc(item.id)}' loading='lazy'><br>"
                f"<span class='note'>{esc(item.id)}</span></p>"
            )
    for name, record in result.training.items():
        parts.append(
            f"<p class='note'>{esc(name)}: {record.get('pairs')} training pairs, "
            f"{record['config'].get('epochs')} epochs, "
            f"{record.get('seconds_per_epoch', 0):.2f} s per epoch"
            f"{' (reused)' if record.get('reused') else ''}.</p>"
        )
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_report(
    result: EvalResult, out: str | os.PathLike[str], *, title: str, model: str = ""
) -> Path:
    """Write the report folder (see the module doc); returns index.html's path."""
    from lutkit.fsutil import atomic_write_text
    from lutkit.images import save_image
    from lutkit.sheets import contact_sheet

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(result.rows)
    sure = sureness(result, summary) if result.rows else None
    clean = no_fix(result)
    tmp = Path(tempfile.mkdtemp(prefix=".report-", suffix=".tmp", dir=out))
    try:
        images = tmp / "images"
        images.mkdir()
        charts = []
        for key in CHART_METRICS:
            bar_chart(result, summary, key, images / f"bars-{key}.png")
            charts.append(f"images/bars-{key}.png")
        if result.curve:
            curve_chart(result.curve, images / "iterations.png")
            charts.append("images/iterations.png")
        gallery, firsts = [], []
        for s in result.sets:
            items = []
            for k, item in enumerate(result.gallery.get(s.name, [])):
                file = f"images/gallery-{s.name}-{k:02d}.jpg"
                tiles = [t for _, t in item.tiles]
                sheet = contact_sheet(
                    tiles, [lb for lb, _ in item.tiles], columns=len(tiles), tile=200
                )
                save_image(tmp / file, sheet, quality=88)
                items.append((file, item))
                if k == 0:
                    firsts.append(sheet)
            gallery.append((s.name, items))
        if firsts:  # every set's first sheet, one above the other: the README's picture
            width = max(f.shape[1] for f in firsts)
            padded = [np.pad(f, ((0, 0), (0, width - f.shape[1]), (0, 0))) for f in firsts]
            save_image(images / "gallery.jpg", np.concatenate(padded), quality=85)
        cols = ["method", "set", "images", *METRICS, "seconds", "megapixels"]
        (tmp / "results.csv").write_text(_csv(summary, cols), encoding="utf-8")
        (tmp / "results.md").write_text(
            f"# lutkit evaluation: {title}\n\nModel: `{model}`\n\n"
            + markdown_tables(result, summary, sure, clean)
            + "\n",
            encoding="utf-8",
        )
        per_image = ["set", "id", "photo", "method", *METRICS, "seconds", "megapixels"]
        (tmp / "per-image.csv").write_text(_csv(result.rows, per_image), encoding="utf-8")
        (tmp / "no-fix.csv").write_text(_csv(result.clean_rows, per_image), encoding="utf-8")
        curve_cols = ["set", "colormap", "iterations", "de2000_mean", "images"]
        (tmp / "iterations.csv").write_text(_csv(result.curve, curve_cols), encoding="utf-8")
        doc = {
            "title": title,
            "model": model,
            "methods": [{"name": m.name, "label": m.label, "kind": m.kind} for m in result.methods],
            "sets": [
                {
                    "name": s.name,
                    "family": s.family,
                    "description": s.description,
                    "images": len(s.pairs),
                }
                for s in result.sets
            ],
            "ranked_by": result.rank_method,
            "baselines": result.training,
        }
        (tmp / "report.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        info = {"title": title, "model": model}
        page = _index_html(result, summary, charts, gallery, info, sure, clean)
        # Move into place: the images folder as a whole, then the tables, index.html last.
        old = None
        if (out / "images").exists():
            old = out / f".images-old-{os.getpid()}"
            os.replace(out / "images", old)
        os.replace(images, out / "images")
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        for name in FILES:
            os.replace(tmp / name, out / name)
        atomic_write_text(out / "index.html", page)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / "index.html"
