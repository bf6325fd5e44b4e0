"""Options shared by several commands."""

from __future__ import annotations

import sys
from typing import Any

import click

interp_option = click.option(
    "--interp",
    type=click.Choice(["tetrahedral", "trilinear"]),
    default="tetrahedral",
    show_default=True,
    help="3D LUT interpolation.",
)

strength_option = click.option(
    "--strength",
    type=click.FloatRange(0.0, 1.0),
    default=1.0,
    show_default=True,
    help="Blend with the identity: 0 = unchanged, 1 = full effect.",
)


ray_address_option = click.option(
    "--ray-address",
    metavar="HOST:PORT",
    help="With --engine ray: join this Ray cluster (default: start a local Ray).",
)


def engine_option(ray_help: str):
    """``--engine local|ray``; ``ray_help`` says what the Ray engine does here."""
    return click.option(
        "--engine",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help=f"ray: {ray_help}",
    )


class progress_bars:  # noqa: N801 (used like a function: `with progress_bars() as bars`)
    """The CLI's side of :class:`lutkit.progress.Progress`: one tqdm bar on stderr per
    task (``what``), hidden when stderr is not a terminal (logs, CI, pipes). A bar
    closes when its task is complete, and every bar when the ``with`` block ends."""

    def __init__(self, unit: str = "it") -> None:
        self.unit = unit
        self.bars: dict[str, Any] = {}
        self.hidden: bool | None = None

    def __call__(self, done: int, total: int | None, what: str) -> None:
        if self.hidden is None:  # tqdm's own rule (disable=None), without importing it
            self.hidden = not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())
        if self.hidden:  # importing tqdm costs 0.1 s: a short command notices
            return
        from tqdm.auto import tqdm

        bar = self.bars.get(what)
        if bar is None:
            bar = self.bars[what] = tqdm(
                total=total,
                desc=what,
                unit=self.unit,
                dynamic_ncols=True,
                leave=False,
                disable=None,  # no bar when stderr is not a terminal
            )
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)
        if total is not None and done >= total:
            bar.close()
            del self.bars[what]

    def __enter__(self) -> progress_bars:
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()
