"""Copy the tables of `make eval`'s report into the README and the model's TRAINING.md.

`make eval` runs this after `lutkit eval`, so the tables a reader sees are the ones the
evaluation wrote, never typed by hand:

    python scripts/readme_tables.py reports/default/results.md README.md \
        lutkit/resources/models/default/TRAINING.md

Each table of the report that starts with one of ``HEADERS`` replaces the table with the
same header row in each target file; a target without that table is left as it is. A
report without one of the tables, a table whose header row no target has (the report's
columns changed) or one whose methods (first column) are not the target's (the prose
beside the tables names them) is an error, and nothing is written. Only the tables are
copied: the numbers quoted in the prose around them are checked by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The first cell of each copied table's header row, with the report section it is under.
HEADERS = {
    "## ΔE2000 mean": "| method | test |",
    "## How sure": "| method | ΔE2000 mean (all) |",
    "## Photos that need no fix": "| method | ΔE2000 from the photo (mean) |",
}


def table_after(text: str, heading: str, header: str) -> list[str]:
    """The lines of the first table under ``heading`` whose header row starts with
    ``header``."""
    lines = text[text.index(heading) :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return lines[start:end]


def swap_table(text: str, header_row: str, table: list[str]) -> str:
    """``text`` with the table whose header row is ``header_row`` replaced by ``table``."""
    lines = text.split("\n")
    if header_row not in lines:
        return text
    start = lines.index(header_row)
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    if _first_cells(lines[start:end]) != _first_cells(table):
        raise SystemExit(
            f"the report's rows under {header_row[:40]!r}... are not the target's "
            f"({', '.join(_first_cells(table))} against "
            f"{', '.join(_first_cells(lines[start:end]))}): the methods changed, and the "
            "prose beside the table names them; put the new table in by hand once"
        )
    return "\n".join(lines[:start] + table + lines[end:])


def _first_cells(table: list[str]) -> list[str]:
    return [row.split("|")[1].strip() for row in table[2:]]


def copy_tables(report: str, targets: dict[str, str]) -> dict[str, str]:
    """Each target's text with the report's tables put in place of its own."""
    tables = []
    for heading, header in HEADERS.items():
        try:
            tables.append(table_after(report, heading, header))
        except (ValueError, StopIteration):
            raise SystemExit(f"the report has no table {header!r} under {heading!r}") from None
    out = dict(targets)
    for table in tables:
        if not any(table[0] in text.split("\n") for text in out.values()):
            raise SystemExit(
                f"no target has a table with the header row {table[0]!r}: the report's "
                "columns changed; put the new table in by hand once"
            )
        out = {name: swap_table(text, table[0], table) for name, text in out.items()}
    return out


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: readme_tables.py REPORT TARGET [TARGET ...]")
    report = Path(argv[0]).read_text(encoding="utf-8")
    targets = {p: Path(p).read_text(encoding="utf-8") for p in argv[1:]}
    for name, text in copy_tables(report, targets).items():
        if text != targets[name]:
            tmp = Path(name).with_name(f".{Path(name).name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(name)
            print(f"readme_tables: updated {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
