"""The README is true to the code: every ``lutkit`` command line in its shell blocks
names a real command and real options, both installs are shown as commands, and it
points at nothing outside the repository."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click

from lutkit.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def _shell_lines() -> list[str]:
    text = README.read_text(encoding="utf-8")
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
    lines = _shell_lines()
    assert "pip install ." in lines and "make setup" in lines
    text = README.read_text(encoding="utf-8")
    assert "../shared" not in text and not re.search(r"\btoday\b", text, flags=re.I)
