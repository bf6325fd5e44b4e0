"""GIMP's settings syntax (GimpConfig): S-expressions, tokenized and nested with their
line numbers, and the readers of typed values that give line-precise errors. Used by
:mod:`lutkit.luts.gimp` to read curves presets."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lutkit.errors import FormatError


@dataclass
class Atom:
    value: str
    line: int
    quoted: bool = False

    @property
    def head(self) -> None:
        return None


@dataclass
class Node:
    items: list[Atom | Node]
    line: int

    @property
    def head(self) -> str | None:
        first = self.items[0] if self.items else None
        return first.value if isinstance(first, Atom) and not first.quoted else None


TOKEN = re.compile(r'\s+|#[^\n]*|\(|\)|"(?:[^"\\\n]|\\.)*"|"|[^\s()"#]+')


def parse_sexp(text: str, path: str) -> list[Atom | Node]:
    """Tokenize and nest GimpConfig's S-expressions, keeping line numbers."""
    stack: list[Node] = [Node([], 0)]
    line = 1
    pos = 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if m is None:  # cannot happen: the pattern matches any character
            raise FormatError("cannot tokenize", path=path, line=line)
        tok = m.group()
        pos = m.end()
        if tok == "(":
            node = Node([], line)
            stack[-1].items.append(node)
            stack.append(node)
        elif tok == ")":
            if len(stack) == 1:
                raise FormatError("unexpected ')' with no '(' open", path=path, line=line)
            stack.pop()
        elif tok == '"':
            raise FormatError("unterminated string", path=path, line=line)
        elif tok.startswith('"'):
            value = re.sub(r"\\(.)", lambda g: {"n": "\n", "t": "\t"}.get(g[1], g[1]), tok[1:-1])
            stack[-1].items.append(Atom(value, line, quoted=True))
        elif not tok[0].isspace() and tok[0] != "#":
            stack[-1].items.append(Atom(tok, line))
        line += tok.count("\n")
    if len(stack) > 1:
        opened = stack[-1]
        what = opened.head or "("
        raise FormatError(
            f"'({what}' opened here is never closed",
            path=path,
            line=opened.line,
            hint="the file is truncated or a ')' is missing",
        )
    return stack[0].items


def format_error(
    path: str, where: Atom | Node | int | None, message: str, hint: str | None = None
) -> FormatError:
    """A FormatError at ``where`` (a node or a line number)."""
    line = where if isinstance(where, int) or where is None else where.line
    return FormatError(message, path=path, line=line, hint=hint)


def describe(node: Atom | Node | None) -> str:
    if node is None:
        return "nothing"
    if isinstance(node, Atom):
        return repr(node.value)
    return f"({node.head or ''} ...)"


def read_enum(node: Node, allowed: Sequence[str], path: str) -> str:
    args = node.items[1:]
    if len(args) != 1 or not isinstance(args[0], Atom) or args[0].value not in allowed:
        got = " ".join(describe(a) for a in args) or "nothing"
        raise format_error(
            path, node, f"({node.head} ...) must be one of {', '.join(allowed)}, got {got}"
        )
    return args[0].value


def read_numbers(node: Node, what: str, path: str, count: int | None = None) -> list[float]:
    out = []
    for item in node.items[1:]:
        try:
            v = float(item.value) if isinstance(item, Atom) and not item.quoted else math.nan
        except ValueError:
            v = math.nan
        if not math.isfinite(v):
            raise format_error(
                path, item, f"{what}: ({node.head} ...) expects numbers, found {describe(item)}"
            )
        out.append(v)
    if count is not None and len(out) != count:
        raise format_error(
            path, node, f"{what}: ({node.head} ...) takes {count} number, found {len(out)}"
        )
    return out


def read_counted(node: Node, what: str, path: str) -> list[float]:
    """An array property ``(name COUNT v1 v2 ...)``: check COUNT, return the values."""
    numbers = read_numbers(node, what, path)
    if not numbers or numbers[0] != int(numbers[0]) or numbers[0] < 0:
        raise format_error(path, node, f"{what}: ({node.head} ...) must start with its count")
    declared, values = int(numbers[0]), numbers[1:]
    if declared != len(values):
        raise format_error(
            path,
            node,
            f"{what}: ({node.head} {declared} ...) declares {declared} values but has {len(values)}",
        )
    return values


def format_number(v: float) -> str:
    return str(int(v)) if v == int(v) else f"{v:g}"


def pick_preset(presets: list[Node], name: str | None, path: str) -> Node:
    """The preset named ``name`` among ``(Class "name" ...)`` entries (the first when
    ``name`` is None)."""

    def preset_name(node: Node) -> str | None:
        second = node.items[1] if len(node.items) > 1 else None
        return second.value if isinstance(second, Atom) and second.quoted else None

    if name is None:
        return presets[0]
    for node in presets:
        if preset_name(node) == name:
            return node
    found = ", ".join(repr(preset_name(n) or "") for n in presets)
    raise FormatError(f"no preset named {name!r}; the file holds {found}", path=path)
