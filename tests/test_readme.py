"""The README is true to the code: every ``lutkit`` command line in its shell blocks
(and docs/'s) names a real command and real options, both installs are shown as
commands, its sections come in a newcomer's order, and it points at nothing outside
the repository."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click

from lutkit.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def _shell_lines(docs: bool = True) -> list[str]:
    """The command lines of the README's (and docs/*.md's) ``sh`` blocks."""
    files = [README, *sorted((README.parent / "docs").glob("*.md"))] if docs else [README]
    text = "\n".join(f.read_text(encoding="utf-8") for f in files)
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            code = line.split("  #")[0].split(" # ")[0].strip()
            if code:
                lines.append(code)
    return lines


def _command(words: list[str]) -> tuple[click.Command, list[str]]:
    ctx = click.Context(main)
    cmd: click.Command = main
    rest = list(words)
    while isinstance(cmd, click.Group) and rest and not rest[0].startswith("-"):
        sub = cmd.get_command(ctx, rest[0])
        assert sub is not None, f"no command {rest[0]!r} in `lutkit {' '.join(words)}`"
        cmd, rest = sub, rest[1:]
    return cmd, rest


def test_every_lutkit_line_names_real_commands_and_options():
    seen = 0
    for line in _shell_lines():
        if not line.startswith("lutkit "):
            continue
        words = shlex.split(line.replace("[", " ").replace("]", " ").replace("|", " "))[1:]
        cmd, rest = _command(words)
        known = {opt for p in cmd.params for opt in getattr(p, "opts", [])}
        for word in rest:
            if word.startswith("--"):
                assert word.split("=")[0] in known, f"`{line}`: {cmd.name} has no {word}"
        seen += 1
    assert seen > 30


def test_both_installs_are_commands_and_nothing_points_outside():
    lines = _shell_lines(docs=False)
    assert "pip install ." in lines and "make setup" in lines
    text = README.read_text(encoding="utf-8")
    assert "../shared" not in text and not re.search(r"\btoday\b", text, flags=re.I)


def test_sections_come_in_a_newcomers_order_and_links_resolve():
    text = README.read_text(encoding="utf-8")
    top = re.findall(r"(?m)^## (.+)$", text)
    assert top == ["Install", "A 2-minute tour", "The pipeline", "Reference"]
    # One picture before the install, and the tour shows the LUT tools and fix.
    assert re.search(r"!\[[^\]]*\]\(docs/[^)]+\)", text.split("## Install")[0])
    tour = text.split("## A 2-minute tour")[1].split("## The pipeline")[0]
    assert "lutkit lut apply" in tour and "lutkit fix" in tour
    pipeline = text.split("## The pipeline")[1].split("## Reference")[0]
    order = ["Paired datasets", "VAE latents", "Training and fixing", "Evaluation against"]
    assert [pipeline.index(f"### {s}") for s in order] == sorted(
        pipeline.index(f"### {s}") for s in order
    )
    root = README.parent
    for doc in [README, *sorted((root / "docs").glob("*.md"))]:
        body = doc.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", body):
            assert (doc.parent / target).exists(), f"{doc.name}: broken link {target}"
        assert "../shared" not in body and not re.search(r"\btoday\b", body, flags=re.I)


def _readme_tables():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "readme_tables", README.parent / "scripts" / "readme_tables.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_eval_tables_are_copies_of_one_report_and_the_copy_round_trips():
    """`make eval` copies its report's three tables into the README and TRAINING.md
    (scripts/readme_tables.py). The two files hold the same tables, a report made of
    those tables changes neither file, and a changed number lands in both."""
    rt = _readme_tables()
    training = README.parent / "lutkit" / "resources" / "models" / "default" / "TRAINING.md"
    targets = {"README": README.read_text(encoding="utf-8")}
    targets["TRAINING"] = training.read_text(encoding="utf-8")
    tables = {}
    for heading, header in rt.HEADERS.items():
        table = rt.table_after(targets["README"], "**What it achieves**", header)
        tables[heading] = table
        if header != "| method | ΔE2000 mean (all) |":  # TRAINING.md has no "how sure"
            assert table == rt.table_after(targets["TRAINING"], "# ", header)
    report = "\n\n".join(f"{h}\n\n" + "\n".join(t) for h, t in tables.items())
    assert rt.copy_tables(report, targets) == targets
    net = next(i for i, row in enumerate(tables["## ΔE2000 mean"]) if "lutkit (net)" in row)
    changed = report.replace(tables["## ΔE2000 mean"][net], "| lutkit (net) | 1 | 2 | 3 |")
    out = rt.copy_tables(changed, targets)
    for name in targets:
        assert "| lutkit (net) | 1 | 2 | 3 |" in out[name]
        assert tables["## ΔE2000 mean"][net] not in out[name]


def test_the_eval_tables_copy_refuses_a_report_whose_columns_changed():
    import pytest

    rt = _readme_tables()
    targets = {"README": README.read_text(encoding="utf-8")}
    report = "\n\n".join(
        f"{h}\n\n{hdr} new column |\n|---|\n| x | 1 |" for h, hdr in rt.HEADERS.items()
    )
    with pytest.raises(SystemExit, match="the report's columns changed"):
        rt.copy_tables(report, targets)


def test_the_eval_tables_copy_refuses_a_report_with_other_methods():
    import pytest

    rt = _readme_tables()
    targets = {"README": README.read_text(encoding="utf-8")}
    tables = [
        rt.table_after(targets["README"], "**What it achieves**", h) for h in rt.HEADERS.values()
    ]
    tables[0] = [row for row in tables[0] if "FFCC" not in row]  # a run without them
    report = "\n\n".join(f"{h}\n\n" + "\n".join(t) for h, t in zip(rt.HEADERS, tables, strict=True))
    with pytest.raises(SystemExit, match="the methods changed"):
        rt.copy_tables(report, targets)
